#include "reactor/epoll_poller.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <system_error>

namespace reactor {
namespace {

constexpr std::uint64_t kWakeToken = std::numeric_limits<std::uint64_t>::max();
constexpr std::size_t kMaxEventsPerWait = 1024;

[[noreturn]] void throwErrno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::uint32_t toEpoll(std::uint8_t interest) {
  std::uint32_t events = 0;
  if (interest & kWantRead) events |= EPOLLIN | EPOLLRDHUP;
  if (interest & kWantWrite) events |= EPOLLOUT;
  return events;
}

std::uint8_t fromEpoll(std::uint32_t events) {
  std::uint8_t flags = 0;
  if (events & EPOLLIN) flags |= kReadable;
  if (events & EPOLLOUT) flags |= kWritable;
  if (events & EPOLLRDHUP) flags |= kPeerClosed;
  if (events & EPOLLHUP) flags |= kPeerClosed | kReadable | kWritable;
  if (events & EPOLLERR) flags |= kError | kReadable | kWritable;
  return flags;
}

}  // namespace

EpollPoller::EpollPoller()
    : epollFd_(epoll_create1(EPOLL_CLOEXEC)), wakeFd_(-1), kernelEvents_(kMaxEventsPerWait) {
  if (epollFd_ < 0) throwErrno("epoll_create1");
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    int saved = errno;
    close(epollFd_);
    throw std::system_error(saved, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev) < 0) {
    int saved = errno;
    close(wakeFd_);
    close(epollFd_);
    throw std::system_error(saved, std::generic_category(), "epoll_ctl");
  }
}

EpollPoller::~EpollPoller() {
  close(wakeFd_);
  close(epollFd_);
}

void EpollPoller::setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) {
  if (from == to) return;
  epoll_event ev{};
  ev.events = toEpoll(to);
  ev.data.u64 = token;
  int op = from == kNoInterest ? EPOLL_CTL_ADD : to == kNoInterest ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (epoll_ctl(epollFd_, op, fd, &ev) < 0) throwErrno("epoll_ctl");
}

std::size_t EpollPoller::wait(std::span<ReadyEvent> out, int timeoutMs) {
  int capacity = static_cast<int>(std::min(out.size(), kernelEvents_.size()));
  int n = epoll_wait(epollFd_, kernelEvents_.data(), capacity, timeoutMs);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throwErrno("epoll_wait");
  }
  std::size_t count = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = kernelEvents_[i];
    if (ev.data.u64 == kWakeToken) {
      std::uint64_t drained;
      [[maybe_unused]] ssize_t r = read(wakeFd_, &drained, sizeof drained);
      continue;
    }
    out[count++] = ReadyEvent{ev.data.u64, fromEpoll(ev.events)};
  }
  return count;
}

void EpollPoller::wake() {
  std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending already.
  [[maybe_unused]] ssize_t r = write(wakeFd_, &one, sizeof one);
}

}  // namespace reactor
