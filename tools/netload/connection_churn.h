// ConnectionChurn: the cps workload. C slots each run one connection at a time: connect, write
// one byte, read it back, close; the slot's next connection starts when the previous one's
// 'close' comes, so at most C are open, and a failure is replaced like a success. Each connection
// costs a socket and its listeners (that is what cps measures); nothing else is allocated.
//
// When the first C attempts all fail before any succeeded, the server is not there: the run is
// aborted rather than spinning on refused connections.
//
// Ownership: the slots live in a vector sized once; a slot holds its current socket, and the
// listeners of that socket point at the slot. stop() destroys the sockets in flight and starts
// no more.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "net/socket.h"
#include "tools/netload/workload.h"

namespace netload {

class ConnectionChurn final : public Workload {
 public:
  ConnectionChurn(reactor::Loop& loop, std::size_t concurrency, net::ConnectOptions target,
                  Meter& meter, RunControl& control);

  void start() override;
  void stop() override;
  std::size_t openConnections() const override { return 0; }

 private:
  struct Slot {
    std::shared_ptr<net::Socket> socket;
    bool replied = false;  // the current connection got its byte back
    bool failed = false;   // the current connection's error has been counted
  };

  void launch(Slot& slot);
  void onClosed(Slot& slot);

  reactor::Loop& loop_;
  const net::ConnectOptions target_;
  Meter& meter_;
  RunControl& control_;
  std::vector<Slot> slots_;
  std::uint64_t failures_ = 0;
  bool stopped_ = false;
};

}  // namespace netload
