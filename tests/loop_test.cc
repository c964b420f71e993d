// The loop's contract: liveness (ref/unref), phases and their order, descriptor events, stale
// events in a batch, reentrancy, cross-thread posts. Runs against every backend.
#include "reactor/loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"

namespace reactor {
namespace {

using namespace testing_support;

class LoopTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  Loop loop{GetParam().make()};
};

void writeByte(int fd) { ASSERT_EQ(::write(fd, "x", 1), 1); }

TEST_P(LoopTest, RunReturnsAtOnceWhenNothingIsReferenced) {
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(LoopTest, ArmedTimerKeepsLoopAliveUntilItFires) {
  bool fired = false;
  loop.setTimeout([&] { fired = true; }, 5);
  EXPECT_TRUE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(fired);
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, UnrefedTimerDoesNotKeepLoopAlive) {
  bool fired = false;
  Timeout timeout = loop.setTimeout([&] { fired = true; }, 60'000);
  EXPECT_TRUE(timeout.hasRef());
  timeout.unref();
  EXPECT_FALSE(timeout.hasRef());
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_FALSE(fired);
  timeout.ref();
  EXPECT_TRUE(loop.alive());
  timeout.close();
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, WatchedDescriptorKeepsLoopAliveUnlessUnreferenced) {
  SocketPair pair = unixPair();
  const int fd = pair.local.get();
  RecordingHandler handler;
  loop.watch(fd, handler);
  EXPECT_TRUE(loop.alive());
  loop.setReferenced(fd, false);
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  loop.setReferenced(fd, true);
  EXPECT_TRUE(loop.alive());
  loop.unwatch(fd);
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, KeepAliveHoldsLoopUntilReset) {
  Loop::KeepAlive hold(loop);
  EXPECT_TRUE(loop.alive());
  Loop::KeepAlive moved = std::move(hold);
  EXPECT_TRUE(loop.alive());
  moved.reset();
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, ReadableDescriptorIsReportedUntilDrained) {
  SocketPair pair = unixPair();
  const int fd = pair.local.get();
  RecordingHandler handler;
  loop.watch(fd, handler);
  loop.setInterest(fd, kWantRead);
  writeByte(pair.peer.get());
  ASSERT_TRUE(runUntil(loop, [&] { return handler.calls > 0; }));
  EXPECT_EQ(handler.lastReady, kReadable);
  // Level-triggered: still readable on the next iteration because nothing was read.
  int before = handler.calls;
  ASSERT_TRUE(runUntil(loop, [&] { return handler.calls > before; }));
  char byte;
  ASSERT_EQ(::read(fd, &byte, 1), 1);
  before = handler.calls;
  loop.setTimeout([] {}, 1);
  loop.runOnce();
  EXPECT_EQ(handler.calls, before);
  loop.unwatch(fd);
}

TEST_P(LoopTest, InterestSelectsWhatIsReported) {
  SocketPair pair = unixPair();
  const int fd = pair.local.get();
  RecordingHandler handler;
  loop.watch(fd, handler);
  loop.setInterest(fd, kWantWrite);
  ASSERT_TRUE(runUntil(loop, [&] { return handler.calls > 0; }));
  EXPECT_EQ(handler.lastReady, kWritable);
  writeByte(pair.peer.get());
  loop.setInterest(fd, kWantRead | kWantWrite);
  handler.allReady = 0;  // kqueue reports the two directions as separate events
  ASSERT_TRUE(runUntil(loop, [&] { return handler.allReady == (kReadable | kWritable); }));
  loop.setInterest(fd, kNoInterest);
  EXPECT_EQ(loop.interest(fd), kNoInterest);
  int before = handler.calls;
  loop.setTimeout([] {}, 1);
  loop.runOnce();
  EXPECT_EQ(handler.calls, before);
  loop.unwatch(fd);
}

TEST_P(LoopTest, PeerFinIsToldApartFromReset) {
  SocketPair fin = tcpPair();
  SocketPair reset = tcpPair();
  RecordingHandler finHandler;
  RecordingHandler resetHandler;
  loop.watch(fin.local.get(), finHandler);
  loop.setInterest(fin.local.get(), kWantRead);
  loop.watch(reset.local.get(), resetHandler);
  loop.setInterest(reset.local.get(), kWantRead);

  ASSERT_EQ(::shutdown(fin.peer.get(), SHUT_WR), 0);
  linger abort{1, 0};
  ASSERT_EQ(::setsockopt(reset.peer.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort), 0);
  reset.peer.reset();  // close() with a zero linger sends RST instead of FIN

  ASSERT_TRUE(runUntil(loop, [&] { return finHandler.calls > 0 && resetHandler.calls > 0; }));
  EXPECT_TRUE(finHandler.allReady & kPeerClosed);
  EXPECT_TRUE(finHandler.allReady & kReadable);
  EXPECT_FALSE(finHandler.allReady & kError);
  EXPECT_TRUE(resetHandler.allReady & kError);
  loop.unwatch(fin.local.get());
  loop.unwatch(reset.local.get());
}

// Two ready descriptors in one batch: whichever handler runs first closes the other descriptor and
// at once opens a socket that gets the same number and is watched by a third handler. The stale
// event of the closed descriptor must reach neither its old handler nor the new owner.
TEST_P(LoopTest, StaleEventInBatchNeverReachesNewOwnerOfReusedDescriptor) {
  SocketPair first = unixPair();
  SocketPair second = unixPair();
  RecordingHandler firstHandler;
  RecordingHandler secondHandler;
  RecordingHandler newOwner;
  Fd reused;
  auto closeOtherAndReuse = [&](Fd& other) {
    if (reused.get() >= 0) return;
    const int otherFd = other.get();
    loop.unwatch(otherFd);
    ::close(other.release());  // closed now, by hand: the next socket() must get its number
    reused.reset(::socket(AF_UNIX, SOCK_STREAM, 0));  // lowest free number: otherFd
    ASSERT_EQ(reused.get(), otherFd);
    loop.watch(reused.get(), newOwner);
    loop.setInterest(reused.get(), kWantRead | kWantWrite);
  };
  firstHandler.action = [&](std::uint8_t) { closeOtherAndReuse(second.local); };
  secondHandler.action = [&](std::uint8_t) { closeOtherAndReuse(first.local); };
  loop.watch(first.local.get(), firstHandler);
  loop.watch(second.local.get(), secondHandler);
  loop.setInterest(first.local.get(), kWantRead);
  loop.setInterest(second.local.get(), kWantRead);
  writeByte(first.peer.get());
  writeByte(second.peer.get());
  // Make sure both are ready before the batch is taken.
  while (true) {
    ASSERT_NO_FATAL_FAILURE(loop.runOnce());
    if (reused.get() >= 0) break;
  }
  EXPECT_EQ(firstHandler.calls + secondHandler.calls, 1);
  EXPECT_EQ(newOwner.calls, 0);

  loop.unwatch(reused.get());
  for (const SocketPair* pair : {&first, &second}) {  // the victim's local end is already closed
    const int fd = pair->local.get();
    if (fd >= 0 && loop.watching(fd)) loop.unwatch(fd);
  }
}

TEST_P(LoopTest, ManyDescriptorsAreEachReportedOncePerIteration) {
  constexpr int kPairs = 2000;  // more than one poll batch
  std::vector<SocketPair> pairs;
  std::vector<RecordingHandler> handlers(kPairs);
  for (int i = 0; i < kPairs; ++i) {
    const SocketPair& pair = pairs.emplace_back(unixPair());
    loop.watch(pair.local.get(), handlers[i]);
    loop.setInterest(pair.local.get(), kWantRead);
    writeByte(pair.peer.get());
  }
  auto reported = [&] {
    int count = 0;
    for (const auto& handler : handlers) count += handler.calls > 0;
    return count;
  };
  ASSERT_TRUE(runUntil(loop, [&] { return reported() == kPairs; }));
  for (const auto& handler : handlers) EXPECT_LE(handler.calls, 2);
  for (const SocketPair& pair : pairs) loop.unwatch(pair.local.get());
}

TEST_P(LoopTest, HandlerMayDestroyItselfAndAnotherReadyHandler) {
  struct SelfDestroying : IoHandler {
    Loop& loop;
    SocketPair pair = unixPair();
    std::unique_ptr<SelfDestroying>* owner;
    std::unique_ptr<SelfDestroying>* other = nullptr;
    int* calls;
    SelfDestroying(Loop& l, std::unique_ptr<SelfDestroying>* o, int* c) : loop(l), owner(o), calls(c) {
      loop.watch(pair.local.get(), *this);
      loop.setInterest(pair.local.get(), kWantRead);
      EXPECT_EQ(::write(pair.peer.get(), "x", 1), 1);
    }
    ~SelfDestroying() { loop.unwatch(pair.local.get()); }
    void onReady(std::uint8_t) override {
      ++*calls;
      if (other != nullptr) other->reset();
      owner->reset();  // destroys *this; nothing below may touch members
    }
  };
  int calls = 0;
  std::unique_ptr<SelfDestroying> first;
  std::unique_ptr<SelfDestroying> second;
  first = std::make_unique<SelfDestroying>(loop, &first, &calls);
  second = std::make_unique<SelfDestroying>(loop, &second, &calls);
  first->other = &second;
  second->other = &first;
  ASSERT_TRUE(runUntil(loop, [&] { return !first && !second; }));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, TimersRunInDueTimeOrder) {
  std::string order;
  loop.setTimeout([&] { order += 'c'; }, 30);
  loop.setTimeout([&] { order += 'a'; }, 10);
  loop.setTimeout([&] { order += 'b'; }, 20);
  loop.setTimeout([&] { order += 'd'; }, 30);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(order, "abcd");
}

TEST_P(LoopTest, TimerNeverFiresBeforeItsDelay) {
  for (int delay : {1, 2, 5, 17}) {
    auto start = std::chrono::steady_clock::now();
    loop.updateTime();
    std::chrono::steady_clock::duration elapsed{};
    loop.setTimeout([&] { elapsed = std::chrono::steady_clock::now() - start; }, delay);
    ASSERT_TRUE(runToCompletion(loop));
    EXPECT_GE(elapsed, std::chrono::milliseconds(delay)) << "delay " << delay;
  }
}

TEST_P(LoopTest, DelayBelowOneOrAboveMaximumBecomesOneMillisecond) {
  int fired = 0;
  for (std::int64_t delay : {std::int64_t{0}, std::int64_t{-5}, std::int64_t{1} << 40}) {
    loop.setTimeout([&] { ++fired; }, delay);
  }
  ASSERT_TRUE(runUntil(loop, [&] { return fired == 3; }, 2s));
}

TEST_P(LoopTest, CallbackMayClearATimerDueInTheSameIteration) {
  bool secondFired = false;
  Timeout second;
  loop.setTimeout([&] { second.close(); }, 5);
  second = loop.setTimeout([&] { secondFired = true; }, 5);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_FALSE(secondFired);
}

TEST_P(LoopTest, IntervalRepeatsUntilItClearsItself) {
  int runs = 0;
  Timeout interval;
  interval = loop.setInterval(
      [&] {
        if (++runs == 3) loop.clearInterval(interval);
      },
      1);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(runs, 3);
}

TEST_P(LoopTest, RefreshFromInsideItsCallbackRearmsAOneShotTimer) {
  int runs = 0;
  Timeout timeout;
  timeout = loop.setTimeout(
      [&] {
        if (++runs < 3) timeout.refresh();
      },
      1);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(runs, 3);
  timeout.refresh();  // spent: a no-op
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, TimerCallbackMayDestroyTheObjectOwningIt) {
  struct Owner {
    Loop& loop;
    Timeout timeout;
    explicit Owner(Loop& l) : loop(l) {}
    ~Owner() { timeout.close(); }
  };
  auto owner = std::make_unique<Owner>(loop);
  auto resource = std::make_shared<int>(7);
  std::weak_ptr<int> watch = resource;
  owner->timeout = loop.setTimeout([&owner, resource] { owner.reset(); EXPECT_EQ(*resource, 7); }, 1);
  resource.reset();
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(owner, nullptr);
  EXPECT_TRUE(watch.expired());
}

// An intrusive timer records what happened to it; `onExpired` decides what it does then.
struct RecordingTimer final : IntrusiveTimer {
  explicit RecordingTimer(Loop& loop) : loop(loop) {}
  ~RecordingTimer() { loop.cancelTimer(*this); }
  void expired() override {
    ++expirations;
    if (onExpired) onExpired();
  }
  Loop& loop;
  int expirations = 0;
  std::function<void()> onExpired;
};

TEST_P(LoopTest, IntrusiveTimerExpiresInDueTimeOrderWithOtherTimers) {
  std::string order;
  RecordingTimer timer(loop);
  timer.onExpired = [&] { order += 'i'; };
  loop.setTimeout([&] { order += 'a'; }, 10);
  loop.armTimer(timer, 20);
  loop.setTimeout([&] { order += 'b'; }, 30);
  EXPECT_TRUE(timer.armed());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(order, "aib");
  EXPECT_EQ(timer.expirations, 1);
  EXPECT_FALSE(timer.armed());
}

TEST_P(LoopTest, IntrusiveTimerMovesWhenReArmedAndNeverFiresOnceCancelled) {
  std::string order;
  RecordingTimer moved(loop), cancelled(loop);
  moved.onExpired = [&] { order += 'm'; };
  loop.armTimer(moved, 1);
  loop.armTimer(cancelled, 5);
  loop.setTimeout([&] { order += 'a'; }, 10);
  loop.armTimer(moved, 20);  // re-armed before it came due: only the later expiry counts
  loop.cancelTimer(cancelled);
  loop.cancelTimer(cancelled);  // not armed: a no-op
  loop.setTimeout([] {}, 30);   // keeps the loop alive past the moved timer
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(order, "am");
  EXPECT_EQ(cancelled.expirations, 0);
}

TEST_P(LoopTest, IntrusiveTimerDoesNotKeepTheLoopAlive) {
  RecordingTimer timer(loop);
  loop.armTimer(timer, 60'000);
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(timer.expirations, 0);
  EXPECT_TRUE(timer.armed());  // still waiting: ~RecordingTimer cancels it
}

TEST_P(LoopTest, IntrusiveTimerMayReArmItselfOrDestroyItsOwnerWhenItExpires) {
  auto owner = std::make_unique<RecordingTimer>(loop);
  RecordingTimer* raw = owner.get();
  owner->onExpired = [&] {
    if (raw->expirations < 3) {
      loop.armTimer(*raw, 1);
    } else {
      owner.reset();  // the timer is gone when expired() returns
    }
  };
  loop.armTimer(*owner, 1);
  EXPECT_TRUE(runUntil(loop, [&] { return owner == nullptr; }, 2s));
}

TEST_P(LoopTest, ImmediatesRunAfterPollAndThoseQueuedDuringTheCheckPhaseWaitAnIteration) {
  std::string order;
  loop.setImmediate([&] {
    order += '1';
    loop.setImmediate([&] { order += '3'; });
  });
  loop.setImmediate([&] { order += '2'; });
  Immediate cleared = loop.setImmediate([&] { order += 'x'; });
  loop.clearImmediate(cleared);
  loop.runOnce();
  EXPECT_EQ(order, "12");
  loop.runOnce();
  EXPECT_EQ(order, "123");
  EXPECT_FALSE(loop.alive());
}

TEST_P(LoopTest, NextTickRunsRightAfterTheCurrentCallback) {
  std::string order;
  loop.setTimeout(
      [&] {
        order += 'a';
        loop.nextTick([&] {
          order += 'b';
          loop.nextTick([&] { order += 'c'; });
        });
      },
      1);
  loop.setTimeout([&] { order += 'd'; }, 1);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(order, "abcd");
}

TEST_P(LoopTest, TickQueuedOutsideACallbackRunsInTheNextIteration) {
  bool ran = false;
  loop.nextTick([&] { ran = true; });
  EXPECT_TRUE(loop.alive());
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(ran);
}

TEST_P(LoopTest, StopFromCallbackEndsRunAndRunResumes) {
  int runs = 0;
  Timeout interval = loop.setInterval(
      [&] {
        if (++runs % 3 == 0) loop.stop();
      },
      1);
  loop.run();
  EXPECT_EQ(runs, 3);
  EXPECT_TRUE(loop.alive());
  loop.run();
  EXPECT_EQ(runs, 6);
  interval.close();
}

TEST_P(LoopTest, RunFromInsideACallbackIsRejected) {
  bool threw = false;
  loop.setTimeout(
      [&] {
        try {
          loop.run();
        } catch (const std::logic_error&) {
          threw = true;
        }
      },
      1);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(threw);
}

TEST_P(LoopTest, ExceptionFromCallbackPropagatesAndLoopStaysUsable) {
  bool later = false;
  loop.setTimeout([] { throw std::runtime_error("boom"); }, 1);
  loop.setTimeout([&] { later = true; }, 2);
  EXPECT_THROW(loop.run(), std::runtime_error);
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(later);
}

TEST_P(LoopTest, ImmediatesLeftByAThrowingImmediateRunBeforeLaterOnes) {
  std::string order;
  loop.setImmediate([] { throw std::runtime_error("A"); });
  loop.setImmediate([&] { order += 'B'; });
  Immediate cleared = loop.setImmediate([&] { order += 'x'; });
  loop.setImmediate([&] { order += 'C'; });
  EXPECT_THROW(loop.run(), std::runtime_error);
  loop.setImmediate([&] { order += 'D'; });
  loop.clearImmediate(cleared);  // still found among the leftovers
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(order, "BCD");
}

TEST_P(LoopTest, OffloadedWorkAnswersOnTheLoopThreadAndKeepsTheLoopAlive) {
  const std::thread::id loopThread = std::this_thread::get_id();
  std::thread::id workedOn, answeredOn;
  int answer = 0;
  loop.offload(
      [&workedOn] {
        workedOn = std::this_thread::get_id();
        return 42;
      },
      [&](int result) {
        answeredOn = std::this_thread::get_id();
        answer = result;
      });
  EXPECT_TRUE(loop.alive());
  loop.run();  // returns only once the answer is in
  EXPECT_EQ(answer, 42);
  EXPECT_NE(workedOn, loopThread);
  EXPECT_EQ(answeredOn, loopThread);
}

// A loop destroyed while its offloaded work runs (a slow name lookup) destroys the completion on
// its own thread, and the worker, once done, finds no loop to post to: under AddressSanitizer a
// worker that still reached the loop would be a use after free.
TEST_P(LoopTest, OffloadedWorkOutlivingItsLoopNeverTouchesIt) {
  // The result reports its own destruction: the last thing the worker does with it.
  struct Result {
    std::shared_ptr<std::promise<void>> destroyed;
    explicit Result(std::shared_ptr<std::promise<void>> p) : destroyed(std::move(p)) {}
    Result(Result&& other) noexcept = default;
    ~Result() {
      if (destroyed) destroyed->set_value();
    }
  };
  auto destroyed = std::make_shared<std::promise<void>>();
  std::future<void> resultGone = destroyed->get_future();
  std::promise<void> loopGone;
  std::shared_future<void> loopGoneSignal = loopGone.get_future().share();
  bool doneDestroyed = false;
  struct SetOnDestruction {
    bool* flag;
    ~SetOnDestruction() { *flag = true; }
  };
  {
    Loop doomed(GetParam().make());
    auto guard = std::make_shared<SetOnDestruction>(SetOnDestruction{&doneDestroyed});
    doomed.offload(
        [loopGoneSignal, destroyed]() mutable {
          loopGoneSignal.wait();
          return Result(std::exchange(destroyed, nullptr));
        },
        [guard](Result) { ADD_FAILURE() << "done ran although its loop was destroyed"; });
  }
  EXPECT_TRUE(doneDestroyed) << "the completion must be destroyed with its loop, on its thread";
  loopGone.set_value();
  EXPECT_EQ(resultGone.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

TEST_P(LoopTest, PostsFromManyThreadsAllArriveInPerThreadOrder) {
  constexpr int kThreads = 8;
  constexpr int kPostsPerThread = 100'000;
  std::vector<int> lastSeen(kThreads, -1);
  int received = 0;
  bool ordered = true;
  Loop::KeepAlive hold(loop);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPostsPerThread; ++i) {
        loop.post([&, t, i] {
          ordered = ordered && lastSeen[t] == i - 1;
          lastSeen[t] = i;
          if (++received == kThreads * kPostsPerThread) hold.reset();
        });
      }
    });
  }
  bool completed = runToCompletion(loop, 60s);
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(completed);
  EXPECT_EQ(received, kThreads * kPostsPerThread);
  EXPECT_TRUE(ordered);
}

TEST_P(LoopTest, PostWakesABlockedPoll) {
  Loop::KeepAlive hold(loop);
  bool ran = false;
  std::thread poster([&] { loop.post([&] { ran = true; hold.reset(); }); });
  EXPECT_TRUE(runToCompletion(loop));
  poster.join();
  EXPECT_TRUE(ran);
}

// Records the timeout of every wait() and never blocks, to observe the loop's wake-up schedule.
class ScheduleRecordingPoller final : public Poller {
 public:
  explicit ScheduleRecordingPoller(std::unique_ptr<Poller> inner, std::vector<int>& timeouts)
      : inner_(std::move(inner)), timeouts_(timeouts) {}
  void setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) override {
    inner_->setInterest(fd, token, from, to);
  }
  std::size_t wait(std::span<ReadyEvent> out, int timeoutMs) override {
    timeouts_.push_back(timeoutMs);
    return inner_->wait(out, 0);
  }
  void wake() override { inner_->wake(); }
  const char* name() const override { return inner_->name(); }

 private:
  std::unique_ptr<Poller> inner_;
  std::vector<int>& timeouts_;
};

TEST_P(LoopTest, IdleLoopSleepsUntilItsOnlyTimerIsNear) {
  std::vector<int> timeouts;
  Loop recorded(std::make_unique<ScheduleRecordingPoller>(GetParam().make(), timeouts));
  constexpr int kHour = 3'600'000;
  recorded.setTimeout([] {}, kHour);
  recorded.runOnce();
  ASSERT_EQ(timeouts.size(), 1u);
  // One sleep covers the whole hour (the loop time may have moved by a millisecond).
  EXPECT_GE(timeouts[0], kHour - 1);
}

TEST_P(LoopTest, ManyTimersDueLaterDoNotShortenTheSleep) {
  std::vector<int> timeouts;
  Loop recorded(std::make_unique<ScheduleRecordingPoller>(GetParam().make(), timeouts));
  for (int i = 0; i < 10'000; ++i) recorded.setTimeout([] {}, 10'000 + i % 100);
  recorded.runOnce();
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_GE(timeouts[0], 10'000 - 1);
}

TEST_P(LoopTest, PollDoesNotBlockWhileImmediatesArePending) {
  std::vector<int> timeouts;
  Loop recorded(std::make_unique<ScheduleRecordingPoller>(GetParam().make(), timeouts));
  recorded.setTimeout([] {}, 60'000);
  recorded.setImmediate([] {});
  recorded.runOnce();
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_EQ(timeouts[0], 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoopTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace reactor
