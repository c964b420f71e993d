// reactor::LoopThreads' contract: one loop per thread, each the thread's default loop, posts run
// on their thread, stop() lets each loop finish its work and joins, and bad use is refused.
#include "reactor/loop_threads.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace reactor {
namespace {

using namespace std::chrono_literals;

TEST(LoopThreadsTest, EachThreadRunsItsOwnDefaultLoop) {
  LoopThreads threads(3);
  ASSERT_EQ(threads.size(), 3u);
  std::mutex mutex;
  std::condition_variable ran;
  std::set<std::thread::id> ids;
  int defaultLoopMatches = 0;
  for (std::size_t i = 0; i < threads.size(); ++i) {
    threads.post(i, [&, i] {
      std::lock_guard lock(mutex);
      ids.insert(std::this_thread::get_id());
      if (&Loop::forThisThread() == &threads.loop(i)) ++defaultLoopMatches;
      ran.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(ran.wait_for(lock, 5s, [&] { return ids.size() == 3; }));
  EXPECT_EQ(defaultLoopMatches, 3);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(LoopThreadsTest, StopLetsEachLoopFinishItsWork) {
  bool timerFired = false;  // written on the pool's thread, read after stop() joined it
  LoopThreads threads(2);
  threads.post(1, [&] { Loop::forThisThread().setTimeout([&] { timerFired = true; }, 20); });
  threads.stop();
  EXPECT_TRUE(timerFired);
  threads.stop();  // a second stop does nothing
}

TEST(LoopThreadsTest, IdleThreadsWaitUntilStopped) {
  LoopThreads threads(2);
  std::mutex mutex;
  std::condition_variable ran;
  int runs = 0;
  // The loops went idle right after starting; each still takes work.
  for (std::size_t i = 0; i < threads.size(); ++i) {
    threads.post(i, [&] {
      std::lock_guard lock(mutex);
      ++runs;
      ran.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  EXPECT_TRUE(ran.wait_for(lock, 5s, [&] { return runs == 2; }));
}

TEST(LoopThreadsTest, BadUseIsRefused) {
  EXPECT_THROW(LoopThreads(0), std::invalid_argument);
  LoopThreads threads(1);
  EXPECT_THROW(threads.loop(1), std::out_of_range);
  EXPECT_THROW(threads.post(1, [] {}), std::out_of_range);

  std::mutex mutex;
  std::condition_variable answered;
  std::optional<std::string> fromOwnThread;
  threads.post(0, [&] {
    std::string what;
    try {
      threads.stop();
    } catch (const std::logic_error& error) {
      what = error.what();
    }
    std::lock_guard lock(mutex);
    fromOwnThread = what;
    answered.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(answered.wait_for(lock, 5s, [&] { return fromOwnThread.has_value(); }));
  }
  EXPECT_EQ(*fromOwnThread, "reactor::LoopThreads: stop() called from one of its own threads");
  threads.stop();
}

}  // namespace
}  // namespace reactor
