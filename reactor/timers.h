// Node's timers (setTimeout, setInterval, refresh, ref/unref) on top of the timer wheel, and the
// queue that runs them together with intrusive timers (reactor/intrusive_timer.h).
//
// TimerQueue owns one record per live timer in a pool that only grows (a deque, so records never
// move) and recycles freed records through a free list: after warm-up, arming a timer allocates
// nothing but what std::function needs for a large capture. A `Timeout` is a small copyable handle
// (record index + generation), so a handle to a timer that fired or was cleared is recognised and
// every operation on it is a harmless no-op, as clearTimeout() on a spent timer is in Node.
//
// Time: delays are in milliseconds, as in Node: a delay below 1, or above 2^31-1, becomes 1. Due
// times are rounded up to the next whole millisecond of the loop's clock, so a timer never fires
// before its delay has passed (measured from the loop's cached time when it was armed).
//
// Threading and reentrancy: loop thread only. A callback may clear, refresh or re-arm any timer,
// itself included, arm new ones, or destroy what owns it; a callback that clears its own interval
// stops it. While a callback runs, its record stays reserved so refresh() from inside it re-arms it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "reactor/intrusive_timer.h"
#include "reactor/timer_wheel.h"

namespace reactor {

class TimerQueue;

// Node's Timeout object: returned by setTimeout/setInterval. It points at its loop's queue: once the
// loop is destroyed a handle may only be dropped, not used.
class Timeout {
 public:
  Timeout() = default;

  void ref();
  void unref();
  bool hasRef() const;
  // Re-arms the timer for its full delay from the loop's current time. No-op on a spent timer.
  Timeout& refresh();
  // Same as clearTimeout(*this).
  void close();

  friend bool operator==(const Timeout&, const Timeout&) = default;

 private:
  friend class TimerQueue;
  Timeout(TimerQueue* queue, std::uint32_t index, std::uint32_t generation)
      : queue_(queue), index_(index), generation_(generation) {}

  TimerQueue* queue_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint32_t generation_ = 0;
};

class TimerQueue {
 public:
  // The clock is the loop's cached time in nanoseconds; the queue reads it on every arm.
  explicit TimerQueue(const std::uint64_t& nowNs);
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  Timeout setTimeout(std::function<void()> callback, std::int64_t delayMs);
  Timeout setInterval(std::function<void()> callback, std::int64_t delayMs);
  void clear(const Timeout& timeout);

  // Arms or re-arms an intrusive timer (reactor/intrusive_timer.h) to expire `delayMs` from the
  // current time, the delay taken as setTimeout() takes it; cancel() is a no-op when it is not armed.
  void arm(IntrusiveTimer& timer, std::int64_t delayMs);
  void cancel(IntrusiveTimer& timer);

  // Runs the next timer due at the current time, in due-time order; false when none is due.
  bool runNextDue();

  // Milliseconds from the current time until the queue may have work (0: now), or nullopt.
  std::optional<std::uint64_t> msUntilNextWake() const;

  // Clears every Timeout, moving its callback to `dropped` (for the loop's destructor, which
  // destroys them while everything they might touch still exists).
  void dropCallbacks(std::vector<std::function<void()>>& dropped);

  // Armed timers that keep the loop alive.
  std::size_t referencedCount() const { return referenced_; }

 private:
  friend class Timeout;

  // A Timeout's state: an intrusive timer whose expiry runs the callback with Node's semantics.
  struct Record final : IntrusiveTimer {
    TimerQueue* queue = nullptr;
    std::function<void()> callback;
    std::uint64_t delayMs = 0;
    std::uint32_t index = 0;
    std::uint32_t generation = 0;
    bool repeat = false;
    bool referenced = true;
    bool inUse = false;

   private:
    void expired() override { queue->fire(*this); }
  };

  static std::int64_t normalizeDelay(std::int64_t delayMs);
  std::uint64_t nowMs() const { return nowNs_ / 1'000'000; }
  Timeout add(std::function<void()> callback, std::int64_t delayMs, bool repeat);
  Record* find(const Timeout& timeout);
  const Record* find(const Timeout& timeout) const;
  std::uint64_t dueAfter(std::uint64_t delayMs) const;
  void arm(Record& record);
  void fire(Record& record);
  void disarm(Record& record);
  void release(Record& record);
  void setReferenced(Record& record, bool referenced);

  const std::uint64_t& nowNs_;
  std::deque<Record> records_;
  TimerWheel wheel_;  // after records_: destroyed first, it unlinks the records still armed
  std::vector<std::uint32_t> freeRecords_;
  std::size_t referenced_ = 0;
};

}  // namespace reactor
