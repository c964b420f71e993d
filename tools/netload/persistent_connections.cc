#include "tools/netload/persistent_connections.h"

#include <algorithm>

namespace netload {

namespace {

// stream yields to the loop after about this many bytes, so timers and the other connections run.
constexpr std::size_t kStreamBytesPerTurn = std::size_t{256} << 10;

}  // namespace

PersistentConnections::PersistentConnections(reactor::Loop& loop, const Options& options,
                                             net::ConnectOptions target, Meter& meter,
                                             RunControl& control)
    : loop_(loop),
      mode_(options.mode),
      size_(options.size),
      target_(std::move(target)),
      meter_(meter),
      control_(control),
      block_(options.mode == Mode::kIdle ? 0 : options.size, 'x'),
      writesPerTurn_(std::max<std::size_t>(1, kStreamBytesPerTurn / options.size)),
      connections_(options.connections) {}

void PersistentConnections::start() {
  while (launched_ < connections_.size() && launched_ < kOpeningAtOnce) openNext();
}

void PersistentConnections::openNext() {
  Connection& connection = connections_[launched_++];
  Connection* record = &connection;
  connection.socket = net::Socket::create(loop_);
  net::Socket& socket = *connection.socket;
  socket.on("connect", [this, record] {
    if (stopped_) return;
    record->open = true;
    ++live_;
    attemptFinished();
  });
  socket.on("error", [this, record](const net::Error& error) {
    if (stopped_) return;
    record->failed = true;
    control_.connectionError(error.what());
  });
  socket.on("close", [this, record] { onClosed(*record); });
  attachTraffic(connection);
  socket.connect(target_);
}

void PersistentConnections::attachTraffic(Connection& connection) {
  net::Socket* socket = connection.socket.get();
  Connection* record = &connection;
  switch (mode_) {
    case Mode::kPingpong:
      socket->on("data", [this, socket](std::string_view data) {
        meter_.bytes += data.size();
        socket->write(data);
        if (meter_.bytes >= meter_.countLimit) control_.countReached();
      });
      break;
    case Mode::kRr:
      socket->on("data", [this, record](std::string_view data) {
        meter_.bytes += data.size();
        if (data.size() > record->awaiting) {
          record->failed = true;
          control_.connectionError("rr: the server sent back more than it was sent");
          record->socket->destroy();
          return;
        }
        record->awaiting -= data.size();
        if (record->awaiting != 0) return;
        const Clock::time_point now = Clock::now();
        if (meter_.inWindow)
          meter_.latency.record(static_cast<std::uint64_t>((now - record->sentAt).count()));
        if (++meter_.roundTrips >= meter_.countLimit) {
          control_.countReached();
          return;
        }
        sendRequest(*record, now);
      });
      break;
    case Mode::kStream:
      socket->on("drain", [this, record] {
        if (!stopped_) pump(*record);
      });
      // stream never reads what comes back: a server that echoes fills both directions' buffers
      // and then stalls, and the window would measure nothing. Say so at the first byte instead.
      socket->on("data", [this](std::string_view) {
        if (stopped_) return;
        control_.abort(
            "--mode stream: the server sent data back; stream measures one-way throughput and "
            "needs a server "
            "that discards what it receives (echo-server --mode discard)");
      });
      break;
    case Mode::kIdle:
    case Mode::kCps:
      break;
  }
}

void PersistentConnections::onClosed(Connection& connection) {
  if (stopped_) return;
  if (!connection.open) {  // the attempt failed; its error was counted
    attemptFinished();
    return;
  }
  connection.open = false;
  --live_;
  if (!connection.failed) control_.connectionError("a connection was closed by the server");
  if (live_ == 0 && finished_ == connections_.size()) control_.allConnectionsLost();
}

void PersistentConnections::attemptFinished() {
  ++finished_;
  if (launched_ < connections_.size()) openNext();
  if (finished_ < connections_.size()) return;
  if (live_ == 0) {
    control_.abort("no connection could be opened");
    return;
  }
  for (Connection& connection : connections_) {
    if (connection.open) beginTraffic(connection);
    if (stopped_) return;
  }
  control_.loadStarted();
}

void PersistentConnections::beginTraffic(Connection& connection) {
  switch (mode_) {
    case Mode::kPingpong:
      connection.socket->write(block_);
      break;
    case Mode::kRr:
      sendRequest(connection, Clock::now());
      break;
    case Mode::kStream:
      pump(connection);
      break;
    case Mode::kIdle:
    case Mode::kCps:
      break;
  }
}

void PersistentConnections::sendRequest(Connection& connection, Clock::time_point now) {
  connection.awaiting = size_;
  connection.sentAt = now;
  connection.socket->write(block_);
}

void PersistentConnections::pump(Connection& connection) {
  if (!connection.open) return;  // lost since the last turn
  for (std::size_t i = 0; i < writesPerTurn_; ++i) {
    const bool belowHighWaterMark = connection.socket->write(block_);
    meter_.bytes += size_;
    if (meter_.bytes >= meter_.countLimit) {
      control_.countReached();
      return;
    }
    if (!belowHighWaterMark) return;  // 'drain' calls pump() again
  }
  // The kernel kept taking everything: let the loop run timers and the other connections first.
  loop_.setImmediate([this, record = &connection] {
    if (!stopped_) pump(*record);
  });
}

void PersistentConnections::stop() {
  stopped_ = true;
  for (Connection& connection : connections_) {
    if (connection.socket) connection.socket->destroy();
  }
}

}  // namespace netload
