// net::GracefulStop: SIGTERM or SIGINT stops a ServerGroup gracefully. Every loop stops accepting,
// the open connections get a grace period to finish, then `done(drained)` runs on the group's home
// loop: drained is true when the group emitted 'close' within the period (every connection has
// closed: stop the LoopThreads and return 0 from main), false when some were still open (end the
// process, for instance with std::_Exit(0): the kernel closes them, whereas LoopThreads::stop()
// would wait for them).
//
//   net::GracefulStop stop(group, 5000, [&](bool drained) { if (!drained) std::_Exit(0); });
//   group->loop().run();  // returns once the group has closed
//   threads.stop();
//
// The signal watchers are unreferenced (waiting for a signal keeps no loop alive), and they stop at
// the first signal, which puts the previous dispositions back: a second Ctrl-C ends a stop that
// takes too long. Threading: belongs to the home loop's thread, like the group. Destroying it
// before `done` ran cancels the stop's pending parts (the group may still close).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "net/server_group.h"
#include "reactor/signal_watcher.h"

namespace net {

class GracefulStop {
 public:
  GracefulStop(std::shared_ptr<ServerGroup> group, std::int64_t graceMs, std::function<void(bool drained)> done);
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

 private:
  void begin();
  void finish(bool drained);

  std::shared_ptr<ServerGroup> group_;
  std::int64_t graceMs_;
  std::function<void(bool)> done_;
  reactor::SignalWatcher terminate_;
  reactor::SignalWatcher interrupt_;
  reactor::Timeout grace_;
  // Callbacks that may outlive this object (the group's 'close') hold a weak pointer to it.
  std::shared_ptr<GracefulStop*> self_ = std::make_shared<GracefulStop*>(this);
};

}  // namespace net
