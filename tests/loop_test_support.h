// Helpers for tests that drive a loop: never sleep, run the loop until a condition holds, within a
// deadline that turns a hang into a failed assertion.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <utility>

#include "reactor/loop.h"

namespace reactor::testing_support {

using namespace std::chrono_literals;

// Runs iterations until `done()` holds or `limit` passes; returns whether it held. A guard timer
// bounds every poll, so this returns even when no event ever comes.
bool runUntil(Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s);

// Runs loop.run() with a watchdog thread that stops it after `limit`. Returns true when run()
// returned by itself (the loop was no longer alive) before the watchdog fired.
bool runToCompletion(Loop& loop, std::chrono::milliseconds limit = 5s);

// A connected AF_UNIX stream pair, closed on destruction (a side set to -1 is left alone).
struct SocketPair {
  int a = -1;
  int b = -1;
  SocketPair();
  ~SocketPair();
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

// A connected TCP pair over 127.0.0.1 (client, accepted server side), closed on destruction.
struct TcpPair {
  int client = -1;
  int server = -1;
  TcpPair();
  ~TcpPair();
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;
};

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
