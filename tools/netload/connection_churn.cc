#include "tools/netload/connection_churn.h"

namespace netload {

ConnectionChurn::ConnectionChurn(reactor::Loop& loop, std::size_t concurrency,
                                 net::ConnectOptions target, Meter& meter, RunControl& control)
    : loop_(loop),
      target_(std::move(target)),
      meter_(meter),
      control_(control),
      slots_(concurrency) {}

void ConnectionChurn::start() {
  for (Slot& slot : slots_) launch(slot);
  control_.loadStarted();
}

void ConnectionChurn::launch(Slot& slot) {
  slot.replied = slot.failed = false;
  slot.socket = net::Socket::create(loop_);
  net::Socket* socket = slot.socket.get();
  Slot* current = &slot;
  socket->on("connect", [socket] { socket->write(std::string_view("x", 1)); });
  socket->on("data", [this, socket, current](std::string_view data) {
    current->replied = true;
    socket->destroy();
    meter_.bytes += data.size();
    if (++meter_.connects >= meter_.countLimit) control_.countReached();
  });
  socket->on("error", [this, current](const net::Error& error) {
    if (stopped_) return;
    current->failed = true;
    ++failures_;
    control_.connectionError(error.what());
  });
  socket->on("close", [this, current] { onClosed(*current); });
  socket->connect(target_);
}

void ConnectionChurn::onClosed(Slot& slot) {
  if (stopped_) return;
  if (!slot.replied && !slot.failed) {
    ++failures_;
    control_.connectionError("a connection was closed by the server before its byte came back");
  }
  if (meter_.connects == 0 && failures_ >= slots_.size()) {
    control_.abort("no connection could be made");
    return;
  }
  launch(slot);
}

void ConnectionChurn::stop() {
  stopped_ = true;
  for (Slot& slot : slots_) {
    if (slot.socket) slot.socket->destroy();
  }
}

}  // namespace netload
