// reactor::IntrusiveTimer: a timer that lives inside the object it serves, for objects that exist by
// the thousand and re-arm a timer all their life (a socket's idle timeout).
//
// A Timeout (reactor/timers.h) is a handle to a record the loop keeps, with a std::function in it:
// the right shape for a program's timers. An object that needs one timer for as long as it lives
// can instead derive from IntrusiveTimer: the wheel then links the object itself, so arming,
// re-arming and cancelling (Loop::armTimer, Loop::cancelTimer) allocate nothing and cost no record,
// no callable and no handle lookup. When it comes due the loop calls expired(), in the timers phase,
// in due-time order with every other timer.
//
// Ownership: the owner's. It must be cancelled before it is destroyed (the wheel's entry asserts so
// in builds without NDEBUG); a loop destroyed first leaves it not armed. An intrusive timer never
// keeps the loop alive, like a Node timer after unref().
//
// Threading: the loop's thread only. Reentrancy: expired() may re-arm or cancel this timer or any
// other, and may destroy the object it belongs to, provided nothing touches it afterwards.
#pragma once

#include "reactor/timer_wheel.h"

namespace reactor {

class IntrusiveTimer : private TimerWheel::Entry {
 public:
  // Waiting to expire, or expired and about to run.
  bool armed() const { return Entry::armed(); }

 protected:
  IntrusiveTimer() = default;
  ~IntrusiveTimer() = default;

 private:
  friend class TimerQueue;
  virtual void expired() = 0;
};

}  // namespace reactor
