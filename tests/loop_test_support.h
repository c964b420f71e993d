// Helpers for tests that drive a loop: never sleep, run the loop until a condition holds, within a
// deadline that turns a hang into a failed assertion.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "reactor/loop.h"

namespace reactor::testing_support {

using namespace std::chrono_literals;

// Runs iterations until `done()` holds or `limit` passes; returns whether it held. A guard timer
// bounds every poll, so this returns even when no event ever comes.
bool runUntil(Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s);

// Runs loop.run() with a watchdog thread that stops it after `limit`. Returns true when run()
// returned by itself (the loop was no longer alive) before the watchdog fired.
bool runToCompletion(Loop& loop, std::chrono::milliseconds limit = 5s);

// Records every onReady call; optionally runs an action inside it.
struct RecordingHandler : IoHandler {
  int calls = 0;
  std::uint8_t lastReady = 0;
  std::uint8_t allReady = 0;
  std::function<void(std::uint8_t)> action;
  void onReady(std::uint8_t ready) override {
    ++calls;
    lastReady = ready;
    allReady |= ready;
    if (action) action(ready);
  }
};

}  // namespace reactor::testing_support
