#include "reactor/kqueue_poller.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace reactor {
namespace {

// EVFILT_USER idents name no descriptor, so any value is free; this kqueue has only one.
constexpr std::uintptr_t kWakeIdent = 1;
constexpr std::size_t kMaxEventsPerWait = 1024;

static_assert(sizeof(void*) >= sizeof(std::uint64_t),
              "a token travels in udata and needs all 64 bits to survive the round trip");

[[noreturn]] void throwErrno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void* toUdata(std::uint64_t token) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(token));
}

std::uint64_t toToken(void* udata) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(udata));
}

std::uint8_t fromKevent(const struct kevent& ev) {
  // EV_ERROR only comes back for a change that failed; its data is the errno, not a condition.
  if (ev.flags & EV_ERROR) return kError;
  std::uint8_t flags = ev.filter == EVFILT_READ ? kReadable : kWritable;
  if (ev.flags & EV_EOF) {
    flags |= kPeerClosed;
    // fflags is the pending socket error: a reset, not an orderly FIN. Flag both directions so
    // that whichever handler runs next makes the read() or write() that reports it.
    if (ev.fflags != 0) flags |= kError | kReadable | kWritable;
  }
  return flags;
}

}  // namespace

KqueuePoller::KqueuePoller()
    : kq_(kqueue()), kernelEvents_(std::make_unique<struct kevent[]>(kMaxEventsPerWait)) {
  if (kq_ < 0) throwErrno("kqueue");
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  if (kevent(kq_, &ev, 1, nullptr, 0, nullptr) < 0) {
    int saved = errno;
    close(kq_);
    throw std::system_error(saved, std::generic_category(), "kevent");
  }
}

KqueuePoller::~KqueuePoller() { close(kq_); }

void KqueuePoller::setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) {
  const std::uint8_t changed = from ^ to;
  struct kevent changes[2];
  int n = 0;
  if (changed & kWantRead) {
    EV_SET(&changes[n], fd, EVFILT_READ, (to & kWantRead) ? EV_ADD : EV_DELETE, 0, 0,
           toUdata(token));
    ++n;
  }
  if (changed & kWantWrite) {
    EV_SET(&changes[n], fd, EVFILT_WRITE, (to & kWantWrite) ? EV_ADD : EV_DELETE, 0, 0,
           toUdata(token));
    ++n;
  }
  // No room for receipts: the kernel stops at the first failing change and reports it as -1.
  if (n > 0 && kevent(kq_, changes, n, nullptr, 0, nullptr) < 0) throwErrno("kevent");
}

std::size_t KqueuePoller::wait(std::span<ReadyEvent> out, int timeoutMs) {
  int capacity = static_cast<int>(std::min(out.size(), kMaxEventsPerWait));
  struct timespec ts {};
  const struct timespec* timeout = nullptr;
  if (timeoutMs >= 0) {
    ts.tv_sec = timeoutMs / 1000;
    ts.tv_nsec = static_cast<long>(timeoutMs % 1000) * 1'000'000L;
    timeout = &ts;
  }
  int n = kevent(kq_, nullptr, 0, kernelEvents_.get(), capacity, timeout);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throwErrno("kevent");
  }
  std::size_t count = 0;
  for (int i = 0; i < n; ++i) {
    const struct kevent& ev = kernelEvents_[i];
    if (ev.filter == EVFILT_USER) continue;  // the wake-up; EV_CLEAR has already reset it
    out[count++] = ReadyEvent{toToken(ev.udata), fromKevent(ev)};
  }
  return count;
}

void KqueuePoller::wake() {
  struct kevent ev;
  EV_SET(&ev, kWakeIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  // Cannot fail while the poller lives (the event was registered by the constructor), and any
  // thread may call this, where there is nobody to throw to.
  [[maybe_unused]] int r = kevent(kq_, &ev, 1, nullptr, 0, nullptr);
}

}  // namespace reactor
