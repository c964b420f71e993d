#include "tests/loop_test_support.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace reactor::testing_support {

bool runUntil(Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // The guard is due `limit` after the loop's cached time: a stale cache would make it fire early,
  // and the loop could then block with nothing armed, past the deadline.
  loop.updateTime();
  Timeout guard = loop.setTimeout([] {}, limit.count());
  bool held = done();
  while (!held && std::chrono::steady_clock::now() < deadline) {
    loop.runOnce();
    held = done();
  }
  loop.clearTimeout(guard);
  return held;
}

bool runToCompletion(Loop& loop, std::chrono::milliseconds limit) {
  std::mutex mutex;
  std::condition_variable finished;
  bool returned = false;
  bool watchdogFired = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!finished.wait_for(lock, limit, [&] { return returned; })) {
      watchdogFired = true;
      loop.post([&loop] { loop.stop(); });
    }
  });
  loop.run();
  {
    std::lock_guard lock(mutex);
    returned = true;
  }
  finished.notify_one();
  watchdog.join();
  return !watchdogFired;
}

}  // namespace reactor::testing_support
