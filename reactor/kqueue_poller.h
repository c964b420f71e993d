// The BSD and macOS backend: one kqueue, level-triggered, plus an EVFILT_USER event for wake().
//
// kqueue keeps one registration (knote) per descriptor and filter, so read and write interest are
// two independent knotes: an interest change adds or deletes only the filters whose bit changed,
// and a descriptor ready both ways comes back as two events in one batch, one per filter, which
// the loop merges by token. Descriptor filters never get EV_CLEAR, so a knote stays active while
// its condition holds, exactly like the epoll backend.
//
// The token travels in udata, which is written only when a filter is added: a filter already
// present keeps the token it was added with. The loop must therefore keep a descriptor's token
// unchanged while the descriptor has any interest (a new token is fine after kNoInterest).
//
// EV_EOF alone is a FIN (or a half that can no longer send); EV_EOF with a nonzero fflags carries
// the socket error, which is what tells a reset from a FIN here. The wake event is registered with
// EV_CLEAR so that one trigger ends exactly one wait; wait() consumes it and never reports it.
//
// <sys/event.h> stays out of this header: the tests include it on Linux, where the kqueue API is
// provided only to reactor/kqueue_poller.cc, by the emulation in tests/kqueue_emulation/.
#pragma once

#include <memory>

#include "reactor/poller.h"

struct kevent;

namespace reactor {

class KqueuePoller final : public Poller {
 public:
  KqueuePoller();
  ~KqueuePoller() override;
  KqueuePoller(const KqueuePoller&) = delete;
  KqueuePoller& operator=(const KqueuePoller&) = delete;

  void setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) override;
  std::size_t wait(std::span<ReadyEvent> out, int timeoutMs) override;
  void wake() override;
  const char* name() const override { return "kqueue"; }

 private:
  int kq_;
  std::unique_ptr<struct ::kevent[]> kernelEvents_;
};

}  // namespace reactor
