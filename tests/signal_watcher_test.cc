// reactor::SignalWatcher's contract: delivery on the loop thread, one call per delivery, several
// watchers per signal and per loop, several loops in several threads, ref/unref liveness, the
// previous disposition restored after the last watcher, reentrant stops, and the signals that
// cannot be watched. Signals are raised with raise(), kill() and pthread_kill(); the loop is driven
// until the callback ran. Runs against every backend.
#include "reactor/signal_watcher.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/loop_test_support.h"
#include "tests/test_backends.h"

namespace reactor {
namespace {

using namespace testing_support;

class SignalWatcherTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  Loop loop{GetParam().make()};
};

std::atomic<int> previousHandlerCalls{0};
void previousHandler(int) { ++previousHandlerCalls; }

// Installs previousHandler for `signo` for the test's duration, then the default again.
class PreviousDisposition {
 public:
  explicit PreviousDisposition(int signo) : signo_(signo) {
    previousHandlerCalls = 0;
    struct sigaction action {};
    action.sa_handler = previousHandler;
    sigaction(signo_, &action, nullptr);
  }
  ~PreviousDisposition() { signal(signo_, SIG_DFL); }

 private:
  int signo_;
};

TEST_P(SignalWatcherTest, CallbackRunsOnTheLoopThreadOncePerDelivery) {
  std::vector<int> seen;
  std::thread::id thread;
  SignalWatcher watcher(loop, SIGUSR1, [&](int signo) {
    seen.push_back(signo);
    thread = std::this_thread::get_id();
  });
  EXPECT_TRUE(watcher.active());
  EXPECT_EQ(watcher.signal(), SIGUSR1);
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.size() == 1; }));
  EXPECT_EQ(seen, std::vector<int>{SIGUSR1});
  EXPECT_EQ(thread, std::this_thread::get_id());

  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.size() == 3; }));
}

TEST_P(SignalWatcherTest, EveryWatcherOfTheSignalIsCalledAndOnlyThose) {
  int first = 0, second = 0, other = 0;
  SignalWatcher a(loop, SIGUSR1, [&](int) { ++first; });
  SignalWatcher b(loop, SIGUSR1, [&](int) { ++second; });
  SignalWatcher c(loop, SIGUSR2, [&](int) { ++other; });
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return first == 1 && second == 1; }));
  EXPECT_EQ(other, 0);

  a.stop();
  EXPECT_FALSE(a.active());
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return second == 2 && other == 1; }));
  EXPECT_EQ(first, 1);
}

TEST_P(SignalWatcherTest, ReferencedWatcherKeepsRunGoingUntilTheSignalCame) {
  std::optional<SignalWatcher> watcher;
  int calls = 0;
  watcher.emplace(loop, SIGUSR1, [&](int) {
    ++calls;
    watcher->stop();
  });
  EXPECT_TRUE(watcher->hasRef());
  EXPECT_TRUE(loop.alive());
  // After the timer, only the watcher is left to keep run() going.
  loop.setTimeout([] { raise(SIGUSR1); }, 1);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loop.alive());
}

TEST_P(SignalWatcherTest, UnreferencedWatcherDoesNotKeepTheLoopAlive) {
  int calls = 0;
  SignalWatcher watcher(loop, SIGUSR1, [&](int) { ++calls; });
  watcher.unref();
  EXPECT_FALSE(watcher.hasRef());
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(calls, 0);

  // Still delivered while something else runs the loop.
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return calls == 1; }));
  watcher.ref();
  EXPECT_TRUE(loop.alive());
  watcher.stop();
  EXPECT_FALSE(loop.alive());
}

TEST_P(SignalWatcherTest, PreviousDispositionIsBackWhenTheLastWatcherGoes) {
  PreviousDisposition previous(SIGUSR2);
  int calls = 0;
  {
    SignalWatcher first(loop, SIGUSR2, [&](int) { ++calls; });
    {
      SignalWatcher second(loop, SIGUSR2, [&](int) { ++calls; });
    }
    ASSERT_EQ(raise(SIGUSR2), 0);
    ASSERT_TRUE(runUntil(loop, [&] { return calls == 1; }));
    EXPECT_EQ(previousHandlerCalls, 0);
  }
  EXPECT_FALSE(loop.alive());
  ASSERT_EQ(raise(SIGUSR2), 0);
  EXPECT_EQ(previousHandlerCalls, 1);
  EXPECT_EQ(calls, 1);
}

TEST_P(SignalWatcherTest, CallbackMayStopOthersAndStartNewOnes) {
  int firstCalls = 0, victimCalls = 0, lateCalls = 0;
  std::optional<SignalWatcher> victim;
  std::optional<SignalWatcher> late;
  SignalWatcher first(loop, SIGUSR1, [&](int) {
    ++firstCalls;
    victim.reset();  // destroyed before its turn in this dispatch: not called
    if (!late) late.emplace(loop, SIGUSR1, [&](int) { ++lateCalls; });
  });
  victim.emplace(loop, SIGUSR1, [&](int) { ++victimCalls; });
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return firstCalls == 1; }));
  EXPECT_EQ(victimCalls, 0);
  EXPECT_EQ(lateCalls, 0);  // created during the dispatch: waits for the next delivery

  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return lateCalls == 1; }));
  EXPECT_EQ(firstCalls, 2);
}

TEST_P(SignalWatcherTest, LastWatcherMayStopItselfInItsCallback) {
  PreviousDisposition previous(SIGUSR1);
  std::optional<SignalWatcher> watcher;
  int calls = 0;
  watcher.emplace(loop, SIGUSR1, [&](int) {
    ++calls;
    watcher.reset();
  });
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return calls == 1; }));
  EXPECT_FALSE(loop.alive());
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(previousHandlerCalls, 1);
}

TEST_P(SignalWatcherTest, SignalsThatCannotBeWatchedThrowAndLeaveNothingBehind) {
  for (int signo : {SIGKILL, SIGSTOP, 0, -1, NSIG, 1000}) {
    EXPECT_THROW(SignalWatcher(loop, signo, [](int) {}), std::invalid_argument) << signo;
  }
#if defined(__GLIBC__)
  // The C library keeps the first real-time signals for its threads, and refuses them a handler.
  EXPECT_THROW(SignalWatcher(loop, __SIGRTMIN, [](int) {}), std::invalid_argument);
#endif
  EXPECT_FALSE(loop.alive());
  std::string message;
  try {
    SignalWatcher(loop, SIGKILL, [](int) {});
  } catch (const std::invalid_argument& error) {
    message = error.what();
  }
  EXPECT_EQ(message, "reactor::SignalWatcher: SIGKILL cannot be caught or watched");
}

TEST_P(SignalWatcherTest, LoopsInSeveralThreadsAllSeeEveryDelivery) {
  const TestBackend backend = GetParam();
  std::atomic<int> otherCalls{0};
  std::latch otherWatching(1);
  std::latch mainSaw(1);
  std::atomic<bool> otherSawBoth{false};
  std::thread other([&] {
    Loop otherLoop(backend.make());
    SignalWatcher watcher(otherLoop, SIGUSR2, [&](int) { ++otherCalls; });
    otherWatching.count_down();
    otherSawBoth = runUntil(otherLoop, [&] { return otherCalls == 2; });
    mainSaw.wait();  // the watcher stays until the main thread is done with the signal
  });
  otherWatching.wait();

  int calls = 0;
  SignalWatcher watcher(loop, SIGUSR2, [&](int) { ++calls; });
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);  // any thread may take it
  ASSERT_TRUE(runUntil(loop, [&] { return calls == 1; }));
  ASSERT_EQ(pthread_kill(other.native_handle(), SIGUSR2), 0);  // taken by the other thread
  EXPECT_TRUE(runUntil(loop, [&] { return calls == 2; }));
  mainSaw.count_down();
  other.join();
  EXPECT_TRUE(otherSawBoth);
}

INSTANTIATE_TEST_SUITE_P(Backends, SignalWatcherTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace reactor
