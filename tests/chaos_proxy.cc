#include "tests/chaos_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "tests/splitmix64.h"

namespace reactor::testing_support {

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
constexpr int kAcceptsPerEvent = 64;

// The seed of everything decided about connection `index`.
std::uint64_t connectionSeed(std::uint64_t seed, std::size_t index) {
  return SplitMix64(seed ^ (0x9E3779B97F4A7C15ull * (index + 1))).next();
}

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

int pendingError(int fd) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return errno;
  return error;
}

bool wouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

}  // namespace

struct ChaosProxy::Connection {
  struct Endpoint final : IoHandler {
    Connection* connection = nullptr;
    int fd = -1;
    void onReady(std::uint8_t ready) override { connection->onReady(*this, ready); }
  };

  // One direction of the relay: bytes read from `from`, queued, sent to `to` piece by piece.
  struct Direction {
    Direction(Endpoint& from, Endpoint& to) : from(&from), to(&to) {}
    Endpoint* from;
    Endpoint* to;
    std::string buffer;
    std::size_t head = 0;       // buffer[0, head) has been sent
    std::size_t chosen = 0;     // size of the next piece once chosen (and delayed, maybe)
    std::size_t pieceLeft = 0;  // bytes of the piece being sent that are still to go
    bool waitingTimer = false;
    bool waitingWritable = false;
    bool sourceEnded = false;
    bool finSent = false;
    std::uint64_t forwarded = 0;
    Timeout timer;
    std::size_t buffered() const { return buffer.size() - head; }
  };

  Connection(ChaosProxy& proxy, std::size_t index, int clientFd)
      : proxy(proxy), loop(proxy.loop_), pieces(connectionSeed(proxy.options_.seed, index) ^ 0x5eed) {
    SplitMix64 fate(connectionSeed(proxy.options_.seed, index));
    willReset = fate.percent(proxy.options_.resetPercent);
    resetAt = 1 + fate.below(proxy.options_.resetWithinBytes);
    client.connection = server.connection = this;
    client.fd = clientFd;
    loop.watch(client.fd, client);
    server.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const sockaddr_in upstream = loopback(proxy.options_.upstreamPort);
    if (server.fd < 0 ||
        (::connect(server.fd, reinterpret_cast<const sockaddr*>(&upstream), sizeof upstream) < 0 &&
         errno != EINPROGRESS)) {
      if (server.fd >= 0) ::close(std::exchange(server.fd, -1));
      abort(false);
      return;
    }
    loop.watch(server.fd, server);
    updateInterest();
  }

  ~Connection() { release(); }

  bool open() const { return client.fd >= 0 || server.fd >= 0; }

  void onReady(Endpoint& endpoint, std::uint8_t ready) {
    if (closed) return;
    if (&endpoint == &server && !upstreamConnected) {
      if (pendingError(server.fd) != 0) {
        abort(false);
        return;
      }
      upstreamConnected = true;
      const int on = 1;
      setsockopt(client.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      setsockopt(server.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      pump(up);
      if (!closed) updateInterest();
      return;
    }
    // A reset (or any socket error) from one side is relayed as a reset to the other.
    if ((ready & kError) && pendingError(endpoint.fd) != 0) {
      abort(false);
      return;
    }
    Direction& inbound = &endpoint == &client ? up : down;
    Direction& outbound = &endpoint == &client ? down : up;
    if (ready & (kReadable | kPeerClosed)) readInto(inbound);
    if (!closed && (ready & kWritable) && outbound.waitingWritable) {
      outbound.waitingWritable = false;
      pump(outbound);
    }
    if (!closed) updateInterest();
  }

  void readInto(Direction& direction) {
    const std::size_t space = proxy.options_.bufferLimit - std::min(direction.buffered(), proxy.options_.bufferLimit);
    if (direction.sourceEnded || space == 0) return;
    char bytes[kReadSize];
    const ssize_t n = ::read(direction.from->fd, bytes, std::min(space, sizeof bytes));
    if (n > 0) {
      direction.buffer.append(bytes, static_cast<std::size_t>(n));
    } else if (n == 0) {
      direction.sourceEnded = true;
    } else if (!wouldBlock(errno)) {
      abort(false);
      return;
    }
    pump(direction);
  }

  // Log-uniform from 1 byte to largestPiece.
  std::size_t pieceSize() {
    std::size_t bits = 0;
    while ((std::size_t{2} << bits) <= proxy.options_.largestPiece) ++bits;
    const std::size_t range = std::size_t{1} << pieces.below(bits + 1);
    return std::min<std::size_t>(1 + pieces.below(range), proxy.options_.largestPiece);
  }

  // Sends pieces while the destination takes them and no timer holds the next one back.
  void pump(Direction& direction) {
    while (!closed && upstreamConnected && !direction.waitingTimer && !direction.waitingWritable) {
      if (direction.pieceLeft == 0) {
        if (direction.buffered() == 0) {
          if (direction.sourceEnded && !direction.finSent) {
            direction.finSent = true;
            ::shutdown(direction.to->fd, SHUT_WR);
            if (up.finSent && down.finSent) finish();
          }
          return;
        }
        if (direction.chosen == 0) {
          direction.chosen = pieceSize();
          if (pieces.percent(proxy.options_.delayPercent)) {
            ++proxy.stats_.delayedPieces;
            direction.waitingTimer = true;
            const auto delayMs = static_cast<std::int64_t>(1 + pieces.below(proxy.options_.longestDelayMs));
            direction.timer = loop.setTimeout([this, &direction] {
              direction.waitingTimer = false;
              pump(direction);
              if (!closed) updateInterest();
            }, delayMs);
            return;
          }
        }
        direction.pieceLeft = std::min(std::exchange(direction.chosen, 0), direction.buffered());
        if (&direction == &up && willReset) {
          direction.pieceLeft = std::min<std::size_t>(direction.pieceLeft, resetAt - direction.forwarded);
        }
      }
      const ssize_t n =
          ::send(direction.to->fd, direction.buffer.data() + direction.head, direction.pieceLeft, MSG_NOSIGNAL);
      if (n < 0) {
        if (wouldBlock(errno)) {
          direction.waitingWritable = true;
        } else {
          abort(false);
        }
        return;
      }
      const auto sent = static_cast<std::size_t>(n);
      ++proxy.stats_.pieces;
      proxy.stats_.singleBytePieces += sent == 1;
      direction.head += sent;
      direction.pieceLeft -= sent;
      direction.forwarded += sent;
      if (direction.head == direction.buffer.size()) {
        direction.buffer.clear();
        direction.head = 0;
      } else if (direction.head >= kReadSize) {
        direction.buffer.erase(0, direction.head);
        direction.head = 0;
      }
      if (&direction == &up && willReset && direction.forwarded >= resetAt) {
        abort(true);
        return;
      }
      if (direction.pieceLeft > 0) direction.waitingWritable = true;
    }
  }

  void updateInterest() {
    const std::size_t limit = proxy.options_.bufferLimit;
    std::uint8_t clientInterest = kNoInterest;
    if (!up.sourceEnded && up.buffered() < limit) clientInterest |= kWantRead;
    if (down.waitingWritable) clientInterest |= kWantWrite;
    std::uint8_t serverInterest = kWantWrite;  // while connecting: completion shows as writable
    if (upstreamConnected) {
      serverInterest = up.waitingWritable ? kWantWrite : kNoInterest;
      if (!down.sourceEnded && down.buffered() < limit) serverInterest |= kWantRead;
    }
    loop.setInterest(client.fd, clientInterest);
    loop.setInterest(server.fd, serverInterest);
  }

  // Both directions have carried their FIN: close normally.
  void finish() {
    closed = true;
    release();
  }

  // SO_LINGER 0 on both sides, then close: both peers see RST.
  void abort(bool onPurpose) {
    closed = true;
    const linger abortive{1, 0};
    for (Endpoint* endpoint : {&client, &server}) {
      if (endpoint->fd >= 0) setsockopt(endpoint->fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    }
    if (onPurpose) ++proxy.resetsDone_;
    release();
  }

  void release() {
    up.timer.close();
    down.timer.close();
    for (Endpoint* endpoint : {&client, &server}) {
      if (endpoint->fd < 0) continue;
      if (loop.watching(endpoint->fd)) loop.unwatch(endpoint->fd);
      ::close(std::exchange(endpoint->fd, -1));
    }
    std::string().swap(up.buffer);
    std::string().swap(down.buffer);
  }

  ChaosProxy& proxy;
  Loop& loop;
  SplitMix64 pieces;
  bool willReset = false;
  std::uint64_t resetAt = 0;
  bool upstreamConnected = false;
  bool closed = false;
  Endpoint client;
  Endpoint server;
  Direction up{client, server};
  Direction down{server, client};
};

ChaosProxy::ChaosProxy(Loop& loop, ChaosOptions options) : loop_(loop), options_(options) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      ::listen(listener_, 511) < 0 || getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    const int error = errno;
    if (listener_ >= 0) ::close(listener_);
    throw std::system_error(error, std::generic_category(), "chaos proxy listen");
  }
  port_ = ntohs(address.sin_port);
  loop_.watch(listener_, *this);
  loop_.setInterest(listener_, kWantRead);
}

ChaosProxy::~ChaosProxy() {
  connections_.clear();
  loop_.unwatch(listener_);
  ::close(listener_);
}

bool ChaosProxy::resets(std::size_t index) const {
  return SplitMix64(connectionSeed(options_.seed, index)).percent(options_.resetPercent);
}

std::size_t ChaosProxy::open() const {
  return static_cast<std::size_t>(
      std::count_if(connections_.begin(), connections_.end(), [](const auto& c) { return c->open(); }));
}

void ChaosProxy::onReady(std::uint8_t) {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a failure the next readiness retries
    connections_.push_back(std::make_unique<Connection>(*this, connections_.size(), fd));
  }
}

}  // namespace reactor::testing_support
