// pollUntil: runUntil (tests/loop_test_support.h) with a periodic tick, for conditions that
// depend on something the loop cannot see (another process, a raw socket the test drives itself)
// and that the condition itself may advance (read a peer, top up its sends). The tick bounds every
// poll, so the condition is checked at least every `periodMs`, and an idle loop can never block
// past the deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "reactor/loop.h"
#include "tests/loop_test_support.h"

namespace reactor::testing_support {

inline bool pollUntil(Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s,
                      std::int64_t periodMs = 2) {
  Timeout tick = loop.setInterval([] {}, periodMs);
  const bool held = runUntil(loop, done, limit);
  loop.clearInterval(tick);
  return held;
}

}  // namespace reactor::testing_support
