// tools::SignalWatch: SIGINT and SIGTERM as a callback on the loop thread, for the command-line
// tools. The signal handler only writes one byte to a pipe the loop watches; the watch is
// unreferenced, so waiting for a signal never keeps the loop alive. After the first signal (or
// stop()) the default disposition is back, so a second Ctrl-C ends a run that does not stop by
// itself. One instance per process.
#pragma once

#include <functional>

#include "reactor/loop.h"

namespace tools {

class SignalWatch : private reactor::IoHandler {
 public:
  SignalWatch(reactor::Loop& loop, std::function<void()> onSignal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  void stop();

 private:
  void onReady(std::uint8_t ready) override;

  reactor::Loop& loop_;
  std::function<void()> onSignal_;
  int pipe_[2] = {-1, -1};
};

}  // namespace tools
