// kqueue over epoll; see sys/event.h for what this can and cannot stand in for.
//
// A kqueue is an epoll instance plus an eventfd for EVFILT_USER. Knotes live in a per-kqueue
// table; the read and write knotes of one descriptor share one epoll registration whose event
// mask is the union of the enabled ones, and one epoll event is split back into one kevent per
// active filter. The epoll registration carries the descriptor, never udata, so the table is the
// only place udata lives.
#include "tests/kqueue_emulation/sys/event.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// epoll data of the eventfd; descriptor registrations carry the (non-negative) descriptor.
constexpr std::uint64_t kUserEventsKey = UINT64_MAX;
constexpr std::size_t kMaxEpollEvents = 1024;
// Reported in fflags when the kernel flags a pending socket error: reading the real one with
// SO_ERROR would clear it, and the application's next read() would then miss it.
constexpr unsigned kStandInSocketError = EIO;

struct Knote {
  unsigned short flags = 0;  // EV_ONESHOT / EV_CLEAR as registered; echoed in every report
  bool enabled = true;
  void* udata = nullptr;
  unsigned sfflags = 0;
  std::int64_t sdata = 0;
  bool triggered = false;  // EVFILT_USER
};

struct FdKnotes {
  std::optional<Knote> read;
  std::optional<Knote> write;
  std::uint32_t registered = 0;  // epoll mask in the kernel; 0 = not in the epoll set
  // Which open file the knotes belong to: closing a descriptor drops its knotes on a real kqueue,
  // which shows here as the same number now naming another file.
  dev_t dev = 0;
  ino_t ino = 0;
  bool socket = false;
};

struct Kqueue {
  int epollFd = -1;
  int userFd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  std::mutex mutex;  // kevent() may run on several threads at once (a wake-up from another one)
  std::unordered_map<int, FdKnotes> fds;
  std::map<std::uintptr_t, Knote> users;

  ~Kqueue() {
    // epollFd belongs to the application, which closed it already; the eventfd is ours.
    if (userFd >= 0) close(userFd);
  }
};

std::mutex gTableMutex;
std::unordered_map<int, std::shared_ptr<Kqueue>> gTable;

bool names(int fd, dev_t dev, ino_t ino) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

std::shared_ptr<Kqueue> lookup(int kq) {
  std::lock_guard lock(gTableMutex);
  auto it = gTable.find(kq);
  if (it == gTable.end() || !names(kq, it->second->dev, it->second->ino)) return nullptr;
  return it->second;
}

void signalUser(Kqueue& q) {
  std::uint64_t one = 1;
  // EAGAIN: the counter is saturated, so the eventfd is readable already.
  [[maybe_unused]] ssize_t r = write(q.userFd, &one, sizeof one);
}

// Brings the epoll registration of fd in line with its enabled knotes. A descriptor with none
// leaves the epoll set, since epoll would report hang-ups for it regardless of the mask.
int syncEpoll(Kqueue& q, int fd, FdKnotes& entry) {
  std::uint32_t want = 0;
  if (entry.read && entry.read->enabled) want |= EPOLLIN | EPOLLRDHUP;
  if (entry.write && entry.write->enabled) want |= EPOLLOUT;
  if (want == entry.registered) return 0;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  int rc;
  if (want == 0) {
    rc = epoll_ctl(q.epollFd, EPOLL_CTL_DEL, fd, &ev);
    if (rc < 0 && (errno == ENOENT || errno == EBADF)) rc = 0;  // closed: epoll forgot it
  } else if (entry.registered == 0) {
    rc = epoll_ctl(q.epollFd, EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && errno == EEXIST) rc = epoll_ctl(q.epollFd, EPOLL_CTL_MOD, fd, &ev);
  } else {
    rc = epoll_ctl(q.epollFd, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0 && errno == ENOENT) rc = epoll_ctl(q.epollFd, EPOLL_CTL_ADD, fd, &ev);
  }
  if (rc < 0) return errno;
  entry.registered = want;
  return 0;
}

void applyEnable(Knote& kn, unsigned short flags) {
  if (flags & EV_ENABLE) {
    kn.enabled = true;
  } else if (flags & EV_DISABLE) {
    kn.enabled = false;
  }
}

int changeFdFilter(Kqueue& q, const struct kevent& ch) {
  if (ch.ident > static_cast<std::uintptr_t>(INT_MAX)) return EBADF;
  const int fd = static_cast<int>(ch.ident);
  struct stat st;
  if (fstat(fd, &st) < 0) return EBADF;
  auto it = q.fds.find(fd);
  if (it != q.fds.end() && (it->second.dev != st.st_dev || it->second.ino != st.st_ino)) {
    q.fds.erase(it);
    it = q.fds.end();
  }
  if (it == q.fds.end()) {
    if (!(ch.flags & EV_ADD)) return ENOENT;
    FdKnotes fresh;
    fresh.dev = st.st_dev;
    fresh.ino = st.st_ino;
    fresh.socket = S_ISSOCK(st.st_mode);
    it = q.fds.emplace(fd, fresh).first;
  }
  FdKnotes& entry = it->second;
  const FdKnotes before = entry;
  std::optional<Knote>& kn = ch.filter == EVFILT_READ ? entry.read : entry.write;
  int error = 0;
  if (!kn) {
    if (!(ch.flags & EV_ADD)) {
      error = ENOENT;
    } else if (ch.flags & EV_CLEAR) {
      error = EINVAL;  // see sys/event.h: not emulated for descriptors
    } else {
      kn.emplace();
      kn->flags = ch.flags & EV_ONESHOT;
    }
  } else if (ch.flags & EV_DELETE) {
    kn.reset();
  }
  if (!error && kn) {
    kn->udata = ch.udata;
    kn->sfflags = ch.fflags;
    kn->sdata = ch.data;
    applyEnable(*kn, ch.flags);
  }
  if (!error) error = syncEpoll(q, fd, entry);
  if (error) entry = before;
  if (!entry.read && !entry.write) q.fds.erase(fd);
  return error;
}

int changeUserFilter(Kqueue& q, const struct kevent& ch) {
  auto it = q.users.find(ch.ident);
  if (it == q.users.end()) {
    if (!(ch.flags & EV_ADD)) return ENOENT;
    it = q.users.emplace(ch.ident, Knote{}).first;
    it->second.flags = ch.flags & (EV_ONESHOT | EV_CLEAR);
  } else if (ch.flags & EV_DELETE) {
    q.users.erase(it);
    return 0;
  }
  Knote& kn = it->second;
  kn.udata = ch.udata;
  if (ch.fflags & NOTE_TRIGGER) kn.triggered = true;
  const unsigned value = ch.fflags & NOTE_FFLAGSMASK;
  switch (ch.fflags & NOTE_FFCTRLMASK) {
    case NOTE_FFAND: kn.sfflags &= value; break;
    case NOTE_FFOR: kn.sfflags |= value; break;
    case NOTE_FFCOPY: kn.sfflags = value; break;
    default: break;  // NOTE_FFNOP
  }
  kn.sdata = ch.data;
  applyEnable(kn, ch.flags);
  if (kn.enabled && kn.triggered) signalUser(q);
  return 0;
}

int applyChange(Kqueue& q, const struct kevent& ch) {
  switch (ch.filter) {
    case EVFILT_READ:
    case EVFILT_WRITE: return changeFdFilter(q, ch);
    case EVFILT_USER: return changeUserFilter(q, ch);
    default: return EINVAL;
  }
}

std::int64_t readableBytes(int fd, bool socket) {
  if (socket) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) {
      // For a TCP listener Linux reports the accept backlog in tcpi_unacked.
      tcp_info info{};
      len = sizeof info;
      if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) return info.tcpi_unacked;
      return 1;
    }
  }
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

std::int64_t writableBytes(int fd, bool socket) {
  int capacity = 0;
  int queued = 0;
  if (socket) {
    socklen_t len = sizeof capacity;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &capacity, &len) < 0) return 0;
    if (ioctl(fd, SIOCOUTQ, &queued) < 0) queued = 0;
  } else {
    capacity = fcntl(fd, F_GETPIPE_SZ);
    if (capacity < 0) return 0;
    if (ioctl(fd, FIONREAD, &queued) < 0) queued = 0;
  }
  return std::max(0, capacity - queued);
}

struct kevent fdEvent(int fd, short filter, const Knote& kn) {
  struct kevent out {};
  out.ident = static_cast<std::uintptr_t>(fd);
  out.filter = filter;
  out.flags = kn.flags;
  out.udata = kn.udata;
  return out;
}

// Splits one epoll event into one kevent per active enabled filter, as far as room allows (what
// does not fit is still level-triggered and comes back in a later call).
int splitFdEvent(Kqueue& q, const epoll_event& ev, struct kevent* out, int room) {
  const int fd = static_cast<int>(ev.data.u64);
  auto it = q.fds.find(fd);
  if (it == q.fds.end()) return 0;
  FdKnotes& entry = it->second;
  const std::uint32_t e = ev.events;
  const unsigned error = (entry.socket && (e & EPOLLERR)) ? kStandInSocketError : 0;
  int count = 0;
  bool dropped = false;
  if (entry.read && entry.read->enabled && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
      count < room) {
    struct kevent& k = out[count++] = fdEvent(fd, EVFILT_READ, *entry.read);
    k.data = readableBytes(fd, entry.socket);
    if (e & (EPOLLRDHUP | EPOLLHUP)) {
      k.flags |= EV_EOF;
      k.fflags = error;
    }
    if (entry.read->flags & EV_ONESHOT) {
      entry.read.reset();
      dropped = true;
    }
  }
  // A socket with a transient error (EPOLLERR alone) can still send; a pipe whose reader is gone
  // reports EPOLLERR alone and cannot.
  const std::uint32_t cannotSend = entry.socket ? EPOLLHUP : (EPOLLHUP | EPOLLERR);
  if (entry.write && entry.write->enabled && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) &&
      count < room) {
    struct kevent& k = out[count++] = fdEvent(fd, EVFILT_WRITE, *entry.write);
    k.data = writableBytes(fd, entry.socket);
    if (e & cannotSend) {
      k.flags |= EV_EOF;
      k.fflags = error;
    }
    if (entry.write->flags & EV_ONESHOT) {
      entry.write.reset();
      dropped = true;
    }
  }
  if (dropped) {
    syncEpoll(q, fd, entry);
    if (!entry.read && !entry.write) q.fds.erase(it);
  }
  return count;
}

int collectUserEvents(Kqueue& q, struct kevent* out, int room) {
  std::uint64_t drained;
  [[maybe_unused]] ssize_t r = read(q.userFd, &drained, sizeof drained);
  int count = 0;
  bool stillActive = false;
  for (auto it = q.users.begin(); it != q.users.end();) {
    Knote& kn = it->second;
    if (!kn.enabled || !kn.triggered) {
      ++it;
      continue;
    }
    if (count == room) {
      stillActive = true;
      break;
    }
    struct kevent& k = out[count++];
    k = {};
    k.ident = it->first;
    k.filter = EVFILT_USER;
    k.flags = kn.flags;
    k.fflags = kn.sfflags;
    k.data = kn.sdata;
    k.udata = kn.udata;
    if (kn.flags & EV_ONESHOT) {
      it = q.users.erase(it);
      continue;
    }
    if (kn.flags & EV_CLEAR) {
      kn.triggered = false;
    } else {
      stillActive = true;  // level-triggered: reported again by every call until deleted
    }
    ++it;
  }
  // The eventfd was drained above: make the next epoll_wait see what is still owed.
  if (stillActive) signalUser(q);
  return count;
}

int collect(Kqueue& q, struct kevent* out, int nevents, const struct timespec* timeout) {
  std::optional<Clock::time_point> deadline;
  if (timeout != nullptr) {
    auto total = std::chrono::seconds(timeout->tv_sec) + std::chrono::nanoseconds(timeout->tv_nsec);
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(total);
  }
  std::vector<epoll_event> ready(std::min<std::size_t>(static_cast<std::size_t>(nevents),
                                                       kMaxEpollEvents));
  for (;;) {
    int waitMs = -1;
    if (deadline) {
      auto left = std::max(*deadline - Clock::now(), Clock::duration::zero());
      // Rounded up: a wait that ends early would look like a spurious empty return.
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(left);
      waitMs = static_cast<int>(std::min<std::int64_t>(ms.count(), INT_MAX));
    }
    int n = epoll_wait(q.epollFd, ready.data(), static_cast<int>(ready.size()), waitMs);
    if (n < 0) return -1;  // EINTR included, as kevent(2) reports it
    int count = 0;
    {
      std::lock_guard lock(q.mutex);
      bool userReady = false;
      for (int i = 0; i < n; ++i) {
        if (ready[i].data.u64 == kUserEventsKey) {
          userReady = true;
        } else {
          count += splitFdEvent(q, ready[i], out + count, nevents - count);
        }
      }
      if (userReady) count += collectUserEvents(q, out + count, nevents - count);
    }
    // Nothing survived the split (a knote changed on another thread, or a spurious wake-up):
    // keep waiting for what is left of the timeout, as the real call would.
    if (count > 0 || (deadline && Clock::now() >= *deadline)) return count;
  }
}

}  // namespace

extern "C" int kqueue(void) {
  int epollFd = epoll_create1(EPOLL_CLOEXEC);
  if (epollFd < 0) return -1;
  auto q = std::make_shared<Kqueue>();
  q->epollFd = epollFd;
  q->userFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kUserEventsKey;
  struct stat st;
  if (q->userFd < 0 || epoll_ctl(epollFd, EPOLL_CTL_ADD, q->userFd, &ev) < 0 ||
      fstat(epollFd, &st) < 0) {
    int saved = errno;
    close(epollFd);
    errno = saved;
    return -1;
  }
  q->dev = st.st_dev;
  q->ino = st.st_ino;
  std::lock_guard lock(gTableMutex);
  // Reclaim the kqueues whose descriptor was closed since (their number is free or reused).
  std::erase_if(gTable, [](const auto& entry) {
    return !names(entry.first, entry.second->dev, entry.second->ino);
  });
  gTable[epollFd] = std::move(q);
  return epollFd;
}

extern "C" int kevent(int kq, const struct kevent* changelist, int nchanges,
                      struct kevent* eventlist, int nevents, const struct timespec* timeout) {
  if (nchanges < 0 || nevents < 0 ||
      (timeout != nullptr &&
       (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1'000'000'000L))) {
    errno = EINVAL;
    return -1;
  }
  std::shared_ptr<Kqueue> q = lookup(kq);
  if (!q) {
    errno = EBADF;
    return -1;
  }
  int receipts = 0;
  {
    std::lock_guard lock(q->mutex);
    for (int i = 0; i < nchanges; ++i) {
      struct kevent change = changelist[i];
      int error = applyChange(*q, change);
      if (error == 0 && !(change.flags & EV_RECEIPT)) continue;
      if (receipts == nevents) {
        if (error == 0) continue;
        // No room to report it: fail the call, leaving the later changes unapplied.
        errno = error;
        return -1;
      }
      change.flags = EV_ERROR;
      change.data = error;
      eventlist[receipts++] = change;
    }
  }
  // Like the kernel, a call that reported change results returns them without waiting.
  if (receipts > 0 || nevents == 0) return receipts;
  return collect(*q, eventlist, nevents, timeout);
}
