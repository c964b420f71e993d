// reactor::SignalWatcher: a POSIX signal delivered as a callback on a loop's thread, as Node's
// process.on('SIGINT', ...) and libuv's uv_signal_t.
//
// How: while any watcher of a signal exists in the process, the signal's disposition is a handler
// of ours; the disposition it replaced is put back when the last watcher of that signal goes. Each
// loop with watchers has one channel: a non-blocking pipe whose read end the loop watches as an
// ordinary descriptor, plus a count of deliveries per signal. The handler (async-signal-safe: an
// atomic increment and a write()) bumps the count and writes a byte to the pipe of every loop that
// watches the signal; the loop wakes, drains the pipe and calls the watchers, once per delivery
// counted, on its own thread, between the callbacks of its poll phase.
//
// Why a self-pipe rather than signalfd (Linux) or EVFILT_SIGNAL (kqueue): signalfd only sees a
// signal that every thread of the process blocks, which a library cannot impose on its program or
// on the threads other libraries start; EVFILT_SIGNAL is kqueue-only. A handler writing to a pipe
// needs no signal mask, works in every thread, and looks the same to both poller backends, so one
// implementation is tested on both. Its cost (a write per delivery and per watching loop) is
// nothing at the rate signals come.
//
// Semantics: several watchers of one signal, on one loop or on several loops in several threads,
// are all called for every delivery. Deliveries the kernel merges (a standard signal raised twice
// while pending) arrive as one, as with any handler; those of different signals caught between two
// polls are dispatched in signal-number order. A watcher keeps its loop alive unless
// unref()'d. Watching SIGSEGV, SIGBUS, SIGFPE or SIGILL only makes sense for a signal sent with
// kill(): a real fault would execute again as soon as the handler returns.
//
// Errors: a signal that cannot be watched throws std::invalid_argument at construction: SIGKILL,
// SIGSTOP, a number outside 1..NSIG-1, or one the system refuses a handler for (the C library's
// reserved real-time signals). A pipe that cannot be created throws std::system_error.
//
// Ownership and threading: a watcher belongs to its loop's thread; construct, stop and destroy it
// there, and before the loop is destroyed. It is neither copyable nor movable (its loop's channel
// points at it). The process-wide state (dispositions, channels) is guarded internally, so
// watchers on different loops may come and go concurrently.
//
// Reentrancy: a callback may stop or destroy any watcher, itself included, and create new ones; a
// watcher stopped during a dispatch is not called afterwards, and one created during it waits for
// the next delivery. An exception thrown by a callback propagates out of run(); deliveries not yet
// dispatched stay counted and are dispatched with the next one.
#pragma once

#include <functional>
#include <memory>

#include "reactor/loop.h"

namespace reactor {

class SignalChannel;

class SignalWatcher {
 public:
  using Callback = std::function<void(int signo)>;

  // Watches `signo` on `loop` from now on; `callback` gets the signal number.
  SignalWatcher(Loop& loop, int signo, Callback callback);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Stops watching (the callback is not called again); a no-op when stopped already.
  void stop();
  bool active() const { return channel_ != nullptr; }
  int signal() const { return signo_; }

  // An unreferenced watcher does not keep the loop alive, as unref() in Node and libuv.
  SignalWatcher& ref();
  SignalWatcher& unref();
  bool hasRef() const { return referenced_; }

 private:
  friend class SignalChannel;

  const int signo_;
  Callback callback_;
  bool referenced_ = true;
  std::shared_ptr<SignalChannel> channel_;  // null once stopped
};

}  // namespace reactor
