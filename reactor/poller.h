// The poller: the only platform-specific part of the loop.
//
// A backend translates interest in "readable" / "writable" on a descriptor into the kernel's terms
// (epoll_ctl, kevent) and hands ready events back; it decides nothing. The loop (reactor/loop.h)
// owns the per-descriptor state and passes the previous and the new interest on every change, so a
// backend keeps no table of its own. Every backend is level-triggered: a descriptor stays ready
// until the condition is consumed. That costs a system call to turn write interest on and off, but
// it makes pause() a plain interest change (the kernel then applies TCP flow control), lets the
// loop read once per descriptor per iteration (fairness without starvation), and needs no "drain
// until EAGAIN" discipline in the socket layer. See reactor/README.md.
//
// Tokens: the loop registers each descriptor with an opaque 64-bit token and gets it back with
// every event. The loop puts a generation count in it, which is how an event for a descriptor that
// was closed and reused earlier in the same batch is recognised as stale.
//
// Threading: one poller belongs to one loop and is used from the loop's thread only, except wake(),
// which any thread may call at any time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace reactor {

// What a descriptor is watched for. A descriptor with no interest is removed from the kernel set:
// hang-up and error conditions are reported by the kernel even without interest, and level
// triggering would repeat them every iteration.
enum Interest : std::uint8_t {
  kNoInterest = 0,
  kWantRead = 1 << 0,
  kWantWrite = 1 << 1,
};

// What happened, as bits. kPeerClosed and kError let the socket layer tell a FIN from a reset:
//   peer sent FIN             -> kReadable | kPeerClosed          (read() will return 0)
//   peer reset / socket error -> kError | kReadable | kWritable   (read() or write() fails)
// A hang-up of both directions (EPOLLHUP) is kPeerClosed | kReadable | kWritable, so that the next
// read() or write() tells the whole story. kReadable and kWritable have the values of kWantRead and
// kWantWrite; the loop masks them with the current interest before a handler sees them.
enum Ready : std::uint8_t {
  kReadable = kWantRead,
  kWritable = kWantWrite,
  kPeerClosed = 1 << 2,
  kError = 1 << 3,
};

struct ReadyEvent {
  std::uint64_t token;
  std::uint8_t flags;  // Ready bits
};

class Poller {
 public:
  virtual ~Poller() = default;

  // Changes the interest of fd from `from` to `to` (registering on kNoInterest -> something,
  // unregistering on something -> kNoInterest). Throws std::system_error if the kernel refuses.
  virtual void setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) = 0;

  // Waits up to timeoutMs (-1: forever, 0: do not block) and writes ready events into `out`.
  // Returns how many were written. A wake() or a signal ends the wait early with 0 or more events.
  virtual std::size_t wait(std::span<ReadyEvent> out, int timeoutMs) = 0;

  // Ends a wait() in progress, or the next one if none is. Thread-safe, async-signal-safe.
  virtual void wake() = 0;

  virtual const char* name() const = 0;
};

// The backend this platform builds into libreactor.a: epoll on Linux, kqueue on the BSDs and macOS.
std::unique_ptr<Poller> makeDefaultPoller();

}  // namespace reactor
