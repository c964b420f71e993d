// The event loop: one per thread, driving descriptors, timers, immediates and cross-thread posts.
//
// Phases of one iteration (reactor/README.md explains each):
//   1. poll       wait for I/O (not at all if immediates, a due timer or a stop are pending; until
//                 the next timer otherwise), update the cached time, call the handler of every
//                 ready descriptor
//   2. posted     run the callbacks other threads handed over with post(), in posting order
//   3. timers     run every timer due at the cached time, in due-time order
//   4. check      run the immediates queued before this phase began (setImmediate)
// After every single callback of any phase, the nextTick queue is drained (Node's process.nextTick).
// run() repeats iterations while the loop is alive: something referenced remains (a watched
// descriptor, an armed timer, a KeepAlive, offloaded work), or an immediate or a post is pending; unref() takes a
// descriptor or a timer out of that count, as in Node.
//
// Ownership: the loop owns its poller, its timers and the queued callbacks. It does not own the
// descriptors it watches, nor their handlers: an owner must unwatch() before it closes a
// descriptor (close() first would let the kernel hand the number to a new socket that the stale
// registration then mislabels) and before the handler dies.
//
// Destruction: a loop may be destroyed with work still pending, as soon as run() has returned (or
// when its thread exits, for forThisThread()). ~Loop first cuts off the threads that work for it
// (offload(), below: they never touch the loop again), then calls onLoopClosing() on the handler
// of every descriptor still watched, so that sockets and servers close without events and let go
// of themselves, then destroys the queued callbacks (ticks, immediates, posts, timers, offloaded
// completions) on its own thread, while everything they might touch still exists. Intrusive timers
// are left not armed. What must not happen is using a Timeout handle, or calling a loop member,
// after the loop is gone.
//
// Threading: every member must be called on the thread running the loop, except post(), which any
// thread may call at any time. One loop per thread; Loop::forThisThread() is an optional default.
//
// Reentrancy: any callback may unwatch or destroy the handler that is running, unwatch or close
// other descriptors, clear or arm timers, or call stop(). An event for a descriptor unwatched
// earlier in the same batch is dropped, even when the number was reused and watched again within
// the batch: each registration carries a generation count in its token. An exception thrown by a
// callback propagates out of run(); the events it had not yet reached are delivered again by the
// level-triggered poller, and queued callbacks stay queued.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "reactor/poller.h"
#include "reactor/timers.h"

namespace reactor {

// Receives readiness for one descriptor. `ready` holds Ready bits (reactor/poller.h); kReadable and
// kWritable only as far as the current interest asks for them.
class IoHandler {
 public:
  virtual void onReady(std::uint8_t ready) = 0;
  // The loop is being destroyed with this descriptor watched: release whatever depends on the
  // loop, without calling back into the program (no event could be delivered). The loop unwatches
  // the descriptor afterwards if the handler did not. The handler may destroy itself.
  virtual void onLoopClosing() {}

 protected:
  ~IoHandler() = default;
};

// Node's Immediate object: returned by setImmediate, accepted by clearImmediate.
class Immediate {
 public:
  Immediate() = default;
  friend bool operator==(const Immediate&, const Immediate&) = default;

 private:
  friend class Loop;
  explicit Immediate(std::uint64_t id) : id_(id) {}
  std::uint64_t id_ = 0;
};

class Loop {
 public:
  explicit Loop(std::unique_ptr<Poller> poller = makeDefaultPoller());
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // The calling thread's default loop, created on first use and destroyed when the thread exits.
  static Loop& forThisThread();

  // Runs iterations until the loop is no longer alive or stop() is called. run() and runOnce()
  // throw std::logic_error when called from inside a callback of this loop.
  void run();
  // Runs one iteration: waits for I/O or the next timer (not at all if the loop is not alive),
  // then runs whatever is ready or due. Returns alive().
  bool runOnce();
  // Makes run() return after the current iteration, whose poll phase then does not block.
  void stop();
  bool alive() const;

  // The loop's cached monotonic time in milliseconds, updated once per iteration, when the poll
  // returns. updateTime() refreshes it by hand (after a long computation in a callback).
  std::uint64_t now() const { return nowNs_ / 1'000'000; }
  void updateTime();

  // Thread-safe: queues `fn` to run on the loop thread in the posted phase and wakes the poll. A
  // pending post keeps the loop alive; posts made after the loop object is destroyed are a bug.
  void post(std::function<void()> fn);

  // Runs `work()` on a thread of its own, then `done(result)` on this loop's thread, in the posted
  // phase; the loop stays alive until `done` has run. If the loop is destroyed first, `done` is
  // destroyed with it, on the loop's thread, and the result on the worker's thread, which never
  // touches the loop: so `work` and its result must be plain data, safe to destroy on any thread
  // (what belongs to the loop goes into `done`); `work` must not throw. Loop thread only; throws
  // std::system_error when no thread can be started.
  template <class Work, class Done>
  void offload(Work work, Done done);

  // Runs `fn` right after the callback that is running now returns, before the loop continues;
  // called outside any callback, at the start of the next iteration. Pending ticks keep it alive.
  void nextTick(std::function<void()> fn);

  Timeout setTimeout(std::function<void()> fn, std::int64_t delayMs) {
    return timers_.setTimeout(std::move(fn), delayMs);
  }
  Timeout setInterval(std::function<void()> fn, std::int64_t delayMs) {
    return timers_.setInterval(std::move(fn), delayMs);
  }
  void clearTimeout(const Timeout& timeout) { timers_.clear(timeout); }
  void clearInterval(const Timeout& timeout) { timers_.clear(timeout); }
  // Timers embedded in their owner (reactor/intrusive_timer.h): arm or re-arm `timer` to expire
  // `delayMs` from the cached time (delays as setTimeout takes them); cancel a no-op if not armed.
  void armTimer(IntrusiveTimer& timer, std::int64_t delayMs) { timers_.arm(timer, delayMs); }
  void cancelTimer(IntrusiveTimer& timer) { timers_.cancel(timer); }
  Immediate setImmediate(std::function<void()> fn);
  void clearImmediate(const Immediate& immediate);

  // Descriptors. watch() registers fd with no interest; setInterest() turns reading and writing on
  // and off (no system call when nothing changes); unwatch() forgets it. A watched descriptor keeps
  // the loop alive unless setReferenced(fd, false).
  void watch(int fd, IoHandler& handler);
  void setInterest(int fd, std::uint8_t interest);
  std::uint8_t interest(int fd) const { return fds_[static_cast<std::size_t>(fd)].interest; }
  void setReferenced(int fd, bool referenced);
  void unwatch(int fd);
  bool watching(int fd) const;

  // Holds the loop alive for work it cannot see. It points at its loop: it must be released, on the
  // loop's thread, before the loop is destroyed (offload() is the safe way to wait for a thread).
  class KeepAlive {
   public:
    KeepAlive() = default;
    explicit KeepAlive(Loop& loop) : loop_(&loop) { ++loop.keepAlives_; }
    KeepAlive(KeepAlive&& other) noexcept : loop_(std::exchange(other.loop_, nullptr)) {}
    KeepAlive& operator=(KeepAlive&& other) noexcept {
      if (this != &other) {
        reset();
        loop_ = std::exchange(other.loop_, nullptr);
      }
      return *this;
    }
    ~KeepAlive() { reset(); }
    void reset() {
      if (loop_ != nullptr) --std::exchange(loop_, nullptr)->keepAlives_;
    }

   private:
    Loop* loop_ = nullptr;
  };

  const char* backendName() const { return poller_->name(); }

 private:
  struct FdSlot {
    IoHandler* handler = nullptr;
    std::uint32_t generation = 0;
    std::uint8_t interest = kNoInterest;
    bool referenced = false;
  };
  struct QueuedImmediate {
    std::uint64_t id;
    std::function<void()> fn;
  };
  // What offload()'s threads hold of the loop: they post through it while `loop` is set, which
  // ~Loop clears under `mutex` before anything else.
  struct WorkerLink {
    std::mutex mutex;
    Loop* loop;
    void postCompletion(std::uint64_t id) {
      std::lock_guard lock(mutex);
      if (loop != nullptr) loop->post([loop = loop, id] { loop->completeOffload(id); });
    }
  };

  static std::uint64_t token(int fd, std::uint32_t generation) {
    return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
  }
  FdSlot& slot(int fd);
  void throwIfRunning() const;
  int pollTimeoutMs() const;
  void runTimers();
  void poll(int timeoutMs);
  void runPosted();
  void runImmediates();
  void runTicks();
  void completeOffload(std::uint64_t id);
  void closeHandlers();
  void dropPendingCallbacks();
  template <class Fn>
  void runCallback(Fn&& fn) {
    fn();
    if (!ticks_.empty()) runTicks();
  }

  std::unique_ptr<Poller> poller_;
  std::uint64_t nowNs_ = 0;
  TimerQueue timers_;
  std::vector<FdSlot> fds_;
  std::vector<ReadyEvent> readyEvents_;
  std::size_t referencedFds_ = 0;
  std::size_t keepAlives_ = 0;
  bool running_ = false;
  bool stopRequested_ = false;

  std::deque<std::function<void()>> ticks_;

  std::deque<QueuedImmediate> immediates_;         // queued for the next check phase
  std::deque<QueuedImmediate> runningImmediates_;  // the check phase in progress
  std::uint64_t nextImmediateId_ = 1;
  std::size_t liveImmediates_ = 0;

  mutable std::mutex postMutex_;
  std::vector<std::function<void()>> posted_;
  std::deque<std::function<void()>> runningPosted_;
  bool wakePending_ = false;  // guarded by postMutex_: a wake() is on its way to the poll

  std::shared_ptr<WorkerLink> workerLink_;
  // offload()ed work whose answer has not come back: its completion (which owns `done`) by id.
  std::unordered_map<std::uint64_t, std::function<void()>> offloaded_;
  std::uint64_t nextOffloadId_ = 1;
};

template <class Work, class Done>
void Loop::offload(Work work, Done done) {
  using Result = std::invoke_result_t<Work&>;
  // Written by the worker before it posts, read by the loop after: the post orders the two.
  auto result = std::make_shared<std::optional<Result>>();
  const std::uint64_t id = nextOffloadId_++;
  offloaded_.emplace(id, [result, done = std::move(done)]() mutable { done(std::move(**result)); });
  try {
    std::thread([link = workerLink_, result, id, work = std::move(work)]() mutable {
      result->emplace(work());
      link->postCompletion(id);
    }).detach();
  } catch (...) {
    offloaded_.erase(id);
    throw;
  }
}

}  // namespace reactor
