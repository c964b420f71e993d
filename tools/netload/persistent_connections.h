// PersistentConnections: the workload of pingpong, rr, stream and idle. It opens N connections,
// at most kOpeningAtOnce at a time, and once every attempt has finished starts the mode's traffic
// on all of them together:
//   pingpong  one block each; every byte received is written straight back
//   rr        one block each; when all of it is back, the latency is recorded and the next goes
//   stream    blocks written until write() returns false, resumed on 'drain'
//   idle      nothing
//
// Hot path: each connection's listeners are created once, when it is opened, and capture only
// raw pointers (the connection record, the socket that owns the listener, this workload). A data
// event costs the counter updates, one comparison with --count, and the write of the view it
// received (rr: one clock read and a histogram increment). Nothing is allocated per message.
//
// Ownership: the connection records live in a vector sized once, so their addresses are stable;
// each holds its socket. stop() destroys every socket; their listeners, which the sockets own,
// return at once from then on.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "net/socket.h"
#include "tools/netload/options.h"
#include "tools/netload/workload.h"

namespace netload {

class PersistentConnections final : public Workload {
 public:
  PersistentConnections(reactor::Loop& loop, const Options& options, net::ConnectOptions target,
                        Meter& meter, RunControl& control);

  void start() override;
  void stop() override;
  std::size_t openConnections() const override { return live_; }

 private:
  static constexpr std::size_t kOpeningAtOnce = 256;

  struct Connection {
    std::shared_ptr<net::Socket> socket;
    std::size_t awaiting = 0;  // rr: bytes of the current response still to come
    Clock::time_point sentAt;  // rr: when the current request went out
    bool open = false;
    bool failed = false;  // its error has been counted
  };

  void openNext();
  void attachTraffic(Connection& connection);
  void onClosed(Connection& connection);
  void attemptFinished();
  void beginTraffic(Connection& connection);
  void sendRequest(Connection& connection, Clock::time_point now);
  void pump(Connection& connection);

  reactor::Loop& loop_;
  const Mode mode_;
  const std::size_t size_;
  const net::ConnectOptions target_;
  Meter& meter_;
  RunControl& control_;
  const std::string block_;
  const std::size_t writesPerTurn_;  // stream: writes before yielding to other connections
  std::vector<Connection> connections_;
  std::size_t launched_ = 0;
  std::size_t finished_ = 0;  // attempts that connected or failed
  std::size_t live_ = 0;
  bool stopped_ = false;
};

}  // namespace netload
