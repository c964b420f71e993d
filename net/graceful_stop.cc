#include "net/graceful_stop.h"

#include <signal.h>

#include <utility>

namespace net {

GracefulStop::GracefulStop(std::shared_ptr<ServerGroup> group, std::int64_t graceMs,
                           std::function<void(bool drained)> done)
    : group_(std::move(group)),
      graceMs_(graceMs),
      done_(std::move(done)),
      terminate_(group_->loop(), SIGTERM, [this](int) { begin(); }),
      interrupt_(group_->loop(), SIGINT, [this](int) { begin(); }) {
  terminate_.unref();
  interrupt_.unref();
}

GracefulStop::~GracefulStop() { group_->loop().clearTimeout(grace_); }

void GracefulStop::begin() {
  terminate_.stop();
  interrupt_.stop();
  grace_ = group_->loop().setTimeout([this] { finish(false); }, graceMs_);
  group_->close([weak = std::weak_ptr<GracefulStop*>(self_)](const Error*) {
    if (auto self = weak.lock()) (*self)->finish(true);
  });
}

void GracefulStop::finish(bool drained) {
  if (!done_) return;
  group_->loop().clearTimeout(grace_);
  auto done = std::move(done_);
  done_ = nullptr;
  done(drained);
}

}  // namespace net
