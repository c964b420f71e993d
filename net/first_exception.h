// net::FirstException: runs a series of program callbacks that must all run (the write callbacks
// a destroyed socket owes, its 'error' and 'close') even when one of them throws. Each call is
// made; the first exception is kept and rethrown once the series is over, so it still propagates
// out of the loop's run() as any callback's exception does, and the later ones are dropped.
#pragma once

#include <exception>
#include <utility>

namespace net {

class FirstException {
 public:
  template <class Fn>
  void run(Fn&& fn) noexcept {
    try {
      std::forward<Fn>(fn)();
    } catch (...) {
      if (!first_) first_ = std::current_exception();
    }
  }
  void rethrow() {
    if (first_) std::rethrow_exception(std::exchange(first_, nullptr));
  }

 private:
  std::exception_ptr first_;
};

}  // namespace net
