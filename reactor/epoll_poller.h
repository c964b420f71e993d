// The Linux backend: one epoll instance, level-triggered, plus an eventfd for wake().
//
// Interest maps to EPOLLIN | EPOLLRDHUP (read) and EPOLLOUT (write); EPOLLRDHUP is always asked for
// with read interest so that a peer's FIN is told apart from a reset (EPOLLERR). A descriptor whose
// interest drops to none is deleted from the set (EPOLL_CTL_DEL), never left in it with no events.
// The eventfd is registered under a token the loop never uses and is drained inside wait().
#pragma once

#include <sys/epoll.h>

#include <vector>

#include "reactor/poller.h"

namespace reactor {

class EpollPoller final : public Poller {
 public:
  EpollPoller();
  ~EpollPoller() override;
  EpollPoller(const EpollPoller&) = delete;
  EpollPoller& operator=(const EpollPoller&) = delete;

  void setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) override;
  std::size_t wait(std::span<ReadyEvent> out, int timeoutMs) override;
  void wake() override;
  const char* name() const override { return "epoll"; }

 private:
  int epollFd_;
  int wakeFd_;
  std::vector<epoll_event> kernelEvents_;
};

}  // namespace reactor
