#include "net/socket.h"

#include "net/first_exception.h"
#include "net/resolver.h"
#include "net/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace net {

namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
constexpr std::size_t kMaxIovecs = 64;
// Loop timers take at most 2^31 - 1 ms (Node's TIMEOUT_MAX; more would mean 1 ms): a longer idle
// timeout is waited for in steps of at most this.
constexpr std::int64_t kMaxTimerDelayMs = 2147483647;

// Node raises shorter autoSelectFamilyAttemptTimeout values to this.
constexpr int kMinAttemptTimeoutMs = 10;

// One read buffer per thread, lent to 'data' listeners as a view: an idle socket owns no buffer.
// Reads never nest (a listener cannot make the loop read), so one buffer per thread suffices.
thread_local char readBuffer[kReadBufferSize];

bool wouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// Linux refuses TCP_KEEPIDLE above this (MAX_TCP_KEEPIDLE, about nine hours) with EINVAL, which
// would leave the system's default in force; a longer delay is clamped to it.
constexpr int kMaxKeepIdleSeconds = 32767;

// setKeepAlive()'s initial delay as TCP_KEEPIDLE seconds (at least 1; 0 means the system's default).
std::uint16_t keepAliveIdleSeconds(int initialDelayMs) {
  if (initialDelayMs <= 0) return 0;
  return static_cast<std::uint16_t>(std::clamp(initialDelayMs / 1000, 1, kMaxKeepIdleSeconds));
}

Error destroyedError() {
  return Error("ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed");
}

// Node's autoSelectFamily order: alternate the families, starting with the first one returned.
std::vector<SocketAddress> interleaveFamilies(std::vector<SocketAddress> addresses) {
  if (addresses.empty()) return addresses;
  const int first = addresses.front().family();
  std::vector<SocketAddress> same, other, result;
  for (auto& address : addresses) (address.family() == first ? same : other).push_back(address);
  for (std::size_t i = 0; i < std::max(same.size(), other.size()); ++i) {
    if (i < same.size()) result.push_back(same[i]);
    if (i < other.size()) result.push_back(other[i]);
  }
  return result;
}

// Node's name for the kind of descriptor `fd` is (its guessHandleType), for a descriptor that is
// not a stream socket; nullptr for a stream socket, TCP or unix-domain.
const char* unsupportedDescriptorType(int fd) {
  struct stat status {};
  if (fstat(fd, &status) < 0) return "UNKNOWN";
  if (S_ISSOCK(status.st_mode)) {
    int type = 0;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) < 0) return "UNKNOWN";
    if (type == SOCK_STREAM) return nullptr;
    return type == SOCK_DGRAM ? "UDP" : "UNKNOWN";
  }
  if (S_ISFIFO(status.st_mode)) return "PIPE";  // Node would read it; here a stream is a socket
  if (isatty(fd)) return "TTY";
  if (S_ISREG(status.st_mode) || S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode)) return "FILE";
  return "UNKNOWN";
}

Error connectError(int err, const SocketAddress& address) {
  AddressInfo info = address.info();
  if (address.family() == AF_UNIX) return Error::fromSystem(err, "connect", info.address);
  return Error::fromSystem(err, "connect", info.address, info.port);
}

}  // namespace

// Owned by its socket while connecting: the attempt timer's callback may use the socket's `this`,
// since ~Connector closes the timer.
struct Socket::Connector {
  ConnectOptions options;
  std::vector<SocketAddress> addresses;
  std::size_t next = 0;  // addresses[next - 1] is the attempt in progress
  bool lookedUp = false;
  std::optional<Error> lastError;
  reactor::Timeout attemptTimer;
  ~Connector() { attemptTimer.close(); }
};

// An intrusive timer (reactor/intrusive_timer.h): re-arming it costs no allocation and no lookup,
// and a connection with a timeout pays for no timer record or callable besides. Owned by its socket,
// which the back pointer therefore never outlives.
struct Socket::IdleTimeout final : reactor::IntrusiveTimer {
  explicit IdleTimeout(Socket& socket) : socket(socket) {}
  // Not armed once the loop is gone (~Loop unlinks every timer): then the loop is not touched.
  ~IdleTimeout() {
    if (armed()) socket.loop_.cancelTimer(*this);
  }
  void expired() override { socket.onIdleTimer(); }

  Socket& socket;
  std::int64_t ms = 0;
  std::uint64_t lastActivityMs = 0;  // the loop's time at the last read or write
};

Socket::Socket(reactor::Loop& loop, const SocketOptions& options)
    : loop_(loop), allowHalfOpen_(options.allowHalfOpen), highWaterMark_(options.highWaterMark) {}

Socket::~Socket() {
  if (fd_ >= 0) {
    if (loop_.watching(fd_)) loop_.unwatch(fd_);
    ::close(fd_);
  }
  if (selfHeld_) {
    std::destroy_at(&strongSelf_);
  } else {
    std::destroy_at(&weakSelf_);
  }
}

std::shared_ptr<Socket> Socket::shared_from_this() {
  return selfHeld_ ? strongSelf_ : std::shared_ptr<Socket>(weakSelf_);
}

std::weak_ptr<Socket> Socket::weak_from_this() { return selfHeld_ ? std::weak_ptr<Socket>(strongSelf_) : weakSelf_; }

void Socket::holdSelf() {
  if (selfHeld_) return;
  std::shared_ptr<Socket> self(weakSelf_);
  std::destroy_at(&weakSelf_);
  std::construct_at(&strongSelf_, std::move(self));
  selfHeld_ = true;
}

void Socket::releaseSelf() {
  if (!selfHeld_) return;
  std::shared_ptr<Socket> last = std::move(strongSelf_);
  std::destroy_at(&strongSelf_);
  std::construct_at(&weakSelf_, last);
  selfHeld_ = false;
  // `last` may be the final reference: nothing may touch the socket after it goes.
}

std::shared_ptr<Socket> Socket::create(SocketOptions options) {
  return create(reactor::Loop::forThisThread(), std::move(options));
}

std::shared_ptr<Socket> Socket::allocate(reactor::Loop& loop, const SocketOptions& options) {
  // One allocation for the socket and its control block (the constructor is private).
  struct Allocated final : Socket {
    Allocated(reactor::Loop& loop, const SocketOptions& options) : Socket(loop, options) {}
  };
  std::shared_ptr<Socket> socket = std::make_shared<Allocated>(loop, options);
  socket->weakSelf_ = socket;
  return socket;
}

std::shared_ptr<Socket> Socket::create(reactor::Loop& loop, SocketOptions options) {
  if (options.fd < -1) {
    throw Error("ERR_OUT_OF_RANGE", "The value of \"fd\" is out of range. It must be >= 0 && <= 2147483647. Received " +
                                        std::to_string(options.fd));
  }
  if (const char* type = options.fd >= 0 ? unsupportedDescriptorType(options.fd) : nullptr) {
    throw Error("ERR_INVALID_FD_TYPE", std::string("Unsupported fd type: ") + type);
  }
  std::shared_ptr<Socket> socket = allocate(loop, options);
  if (options.fd >= 0) {
    int flags = fcntl(options.fd, F_GETFL);
    fcntl(options.fd, F_SETFL, flags | O_NONBLOCK);
    socket->fd_ = options.fd;
    socket->readEnded_ = !options.readable;
    socket->endCalled_ = socket->finSent_ = !options.writable;
    socket->becomeOpen();
  }
  return socket;
}

std::shared_ptr<Socket> Socket::fromAccepted(reactor::Loop& loop, int fd, Server& server,
                                             const ServerOptions& options) {
  SocketOptions socketOptions;
  socketOptions.allowHalfOpen = options.allowHalfOpen;
  socketOptions.highWaterMark = options.highWaterMark;
  std::shared_ptr<Socket> socket = allocate(loop, socketOptions);
  socket->fd_ = fd;
  socket->server_ = &server;
  if (options.pauseOnConnect) socket->flowing_ = Flowing::kNo;
  socket->noDelay_ = options.noDelay;
  socket->keepAlive_ = options.keepAlive;
  socket->keepAliveIdleSeconds_ = keepAliveIdleSeconds(options.keepAliveInitialDelay);
  socket->becomeOpen();
  return socket;
}

// --- connecting ---------------------------------------------------------------------------------

Socket& Socket::connect(int port, std::string host, std::function<void()> connectListener) {
  ConnectOptions options;
  options.port = port;
  options.host = std::move(host);
  return connect(options, std::move(connectListener));
}

Socket& Socket::connect(int port, std::function<void()> connectListener) {
  return connect(port, "localhost", std::move(connectListener));
}

Socket& Socket::connect(std::string path, std::function<void()> connectListener) {
  ConnectOptions options;
  options.path = std::move(path);
  return connect(options, std::move(connectListener));
}

Socket& Socket::connect(const ConnectOptions& options, std::function<void()> connectListener) {
  if (state_ != State::kFresh) {
    throw Error("ERR_SOCKET_CONNECTING", "Socket is already connecting or connected; create a new one");
  }
  std::optional<SocketAddress> direct;
  std::string host = options.host.empty() ? "localhost" : options.host;
  if (!options.path.empty()) {
    direct = SocketAddress::fromPath(options.path);
  } else if (options.port == ConnectOptions::kNoPort) {
    throw Error("ERR_MISSING_ARGS", "The \"options\" or \"port\" or \"path\" argument must be specified");
  } else {
    validatePort(options.port);
    if (options.family != 0 && options.family != 4 && options.family != 6) {
      throw Error("ERR_INVALID_ARG_VALUE",
                  "The property 'options.family' must be one of: 0, 4, 6. Received " + std::to_string(options.family));
    }
    if (!options.localAddress.empty() && isIP(options.localAddress) == 0) {
      throw Error("ERR_INVALID_IP_ADDRESS", "Invalid IP address: " + options.localAddress);
    }
    if (options.localPort < 0 || options.localPort > 65535) {
      // Node 20 hands it to the system truncated to 16 bits, binding some other port.
      throw Error("ERR_SOCKET_BAD_PORT", "options.localPort should be >= 0 and < 65536. Received type number (" +
                                             std::to_string(options.localPort) + ").");
    }
    if (options.autoSelectFamilyAttemptTimeout < 1) {
      throw Error("ERR_OUT_OF_RANGE",
                  "The value of \"options.autoSelectFamilyAttemptTimeout\" is out of range. It must be >= 1 && <= "
                  "2147483647. Received " + std::to_string(options.autoSelectFamilyAttemptTimeout));
    }
    direct = SocketAddress::fromIp(host, options.port);
  }
  if (options.timeout != 0) setTimeout(options.timeout);
  if (connectListener) once("connect", std::move(connectListener));
  // As Node: the options add to what setNoDelay()/setKeepAlive() asked for before connect().
  if (options.noDelay) noDelay_ = true;
  if (options.keepAlive) {
    keepAlive_ = true;
    keepAliveIdleSeconds_ = keepAliveIdleSeconds(options.keepAliveInitialDelay);
  }
  state_ = State::kConnecting;
  connector_ = std::make_unique<Connector>();
  connector_->options = options;
  if (direct) {
    connector_->addresses.push_back(*direct);
    attemptNext();
  } else {
    startLookup(host, options.family);
  }
  return *this;
}

// Until the answer comes, the lookup's completion holds the socket, rather than the socket itself:
// a loop destroyed meanwhile destroys the completion, and with it the socket nobody else holds.
void Socket::startLookup(const std::string& host, int family) {
  const LookupFunction custom = connector_->options.lookup;  // a copy: done() may end the connector
  if (!custom) {
    lookup(loop_, host, family, [socket = shared_from_this(), host](LookupResult result) {
      if (result.errorCode.empty()) {
        socket->lookupDone(host, nullptr, std::move(result.addresses));
      } else {
        const Error error = Error::fromLookup(result.errorCode, host);
        socket->lookupDone(host, &error, {});
      }
    });
    return;
  }
  // A custom lookup may call `done` more than once: only the first call counts.
  auto pending = std::make_shared<std::shared_ptr<Socket>>(shared_from_this());
  custom(host, family, [pending, host](const Error* error, std::vector<std::string> answers) {
    const std::shared_ptr<Socket> socket = std::exchange(*pending, nullptr);
    if (!socket) return;
    std::vector<SocketAddress> addresses;
    for (const auto& answer : answers) {
      if (auto address = SocketAddress::fromIp(answer, 0)) addresses.push_back(*address);
    }
    if (error == nullptr && addresses.empty()) {
      const Error invalid("ERR_INVALID_IP_ADDRESS", "Invalid IP address from lookup for " + host);
      socket->lookupDone(host, &invalid, {});
      return;
    }
    socket->lookupDone(host, error, std::move(addresses));
  });
}

void Socket::lookupDone(const std::string& host, const Error* error, std::vector<SocketAddress> addresses) {
  if (state_ != State::kConnecting || !connector_) return;
  auto self = shared_from_this();
  if (error != nullptr) {
    emit<"lookup">(error, std::string_view{}, 0, host);
    destroyWith(*error);
    return;
  }
  Connector& connector = *connector_;
  connector.lookedUp = true;
  connector.addresses = connector.options.autoSelectFamily ? interleaveFamilies(std::move(addresses))
                                                           : std::vector<SocketAddress>{addresses.front()};
  for (auto& address : connector.addresses) address.setPort(connector.options.port);
  attemptNext();
}

void Socket::attemptNext() {
  auto self = shared_from_this();
  holdSelf();  // from here on a descriptor is watched, and the loop keeps the socket
  while (state_ == State::kConnecting && connector_->next < connector_->addresses.size()) {
    Connector& connector = *connector_;
    const SocketAddress address = connector.addresses[connector.next++];
    if (connector.lookedUp) {
      AddressInfo info = address.info();
      emit<"lookup">(nullptr, info.address, address.family() == AF_INET6 ? 6 : 4, connector.options.host);
      if (state_ != State::kConnecting) return;
    }
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      connector.lastError = Error::fromSystem(errno, "socket");
      continue;
    }
    if (!connector.options.localAddress.empty() || connector.options.localPort != 0) {
      std::string local = connector.options.localAddress.empty()
                              ? (address.family() == AF_INET6 ? "::" : "0.0.0.0")
                              : connector.options.localAddress;
      auto bindAddress = SocketAddress::fromIp(local, connector.options.localPort);
      if (!bindAddress || ::bind(fd, bindAddress->get(), bindAddress->length()) < 0) {
        connector.lastError = Error::fromSystem(bindAddress ? errno : EINVAL, "bind", local, connector.options.localPort);
        ::close(fd);
        continue;
      }
    }
    if (::connect(fd, address.get(), address.length()) < 0 && errno != EINPROGRESS) {
      connector.lastError = connectError(errno, address);
      ::close(fd);
      continue;
    }
    // Even a connection that completed at once is reported through the poller, so that 'connect'
    // is never emitted inside connect(), before the caller could add listeners.
    fd_ = fd;
    loop_.watch(fd_, *this);
    updateInterest();
    if (connector.next < connector.addresses.size() && connector.options.autoSelectFamily) {
      connector.attemptTimer = loop_.setTimeout(
          [this, address] { connectAttemptFailed(connectError(ETIMEDOUT, address)); },
          std::max(connector.options.autoSelectFamilyAttemptTimeout, kMinAttemptTimeoutMs));
    }
    return;
  }
  if (state_ == State::kConnecting) {
    destroyWith(connector_->lastError.value_or(Error("ERR_SOCKET_CONNECTION_FAILED", "No address to connect to")));
  }
}

void Socket::connectAttemptFailed(Error error) {
  auto self = shared_from_this();
  connector_->attemptTimer.close();
  loop_.unwatch(fd_);
  ::close(std::exchange(fd_, -1));
  connector_->lastError = std::move(error);
  attemptNext();
}

void Socket::finishConnect() {
  int err = 0;
  socklen_t length = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &length) < 0) err = errno;
  if (err != 0) {
    connectAttemptFailed(connectError(err, connector_->addresses[connector_->next - 1]));
    return;
  }
  connector_.reset();
  becomeOpen();
  // Node emits both unconditionally, even when a 'connect' listener destroyed the socket.
  emit<"connect">();
  emit<"ready">();
  if (state_ != State::kOpen) return;
  if (!writeQueue_.empty()) {
    flush();
  } else {
    maybeFinish();
  }
}

void Socket::becomeOpen() {
  state_ = State::kOpen;
  holdSelf();
  if (!loop_.watching(fd_)) loop_.watch(fd_, *this);
  // A new connection has the kernel's defaults (both off): only what was asked for costs a call.
  if (noDelay_) applyNoDelay();
  if (keepAlive_) applyKeepAlive();
  updateInterest();
}

// Both fail harmlessly (EOPNOTSUPP) on a unix-domain socket, where they mean nothing.
void Socket::applyNoDelay() {
  int on = noDelay_ ? 1 : 0;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void Socket::applyKeepAlive() {
  int keepAlive = keepAlive_ ? 1 : 0;
  setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &keepAlive, sizeof keepAlive);
  if (keepAlive_ && keepAliveIdleSeconds_ > 0) {
    int seconds = keepAliveIdleSeconds_;
#if defined(TCP_KEEPIDLE)
    setsockopt(fd_, IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
#elif defined(TCP_KEEPALIVE)
    setsockopt(fd_, IPPROTO_TCP, TCP_KEEPALIVE, &seconds, sizeof seconds);
#endif
  }
}

// --- readiness ----------------------------------------------------------------------------------

void Socket::onReady(std::uint8_t ready) {
  auto self = shared_from_this();  // a listener may drop the last reference
  if (state_ == State::kConnecting) {
    finishConnect();
    return;
  }
  if (state_ != State::kOpen) return;
  if (ready & reactor::kWritable) {
    flush();
    if (state_ != State::kOpen) return;
  }
  // A hang-up or an error is reported whatever the interest: while a read is kept unconsumed,
  // reading more would overwrite it, or report the end before it. The hang-up waits; it cannot
  // spin meanwhile, since with read interest off the descriptor is only polled for a pending write,
  // which the same event lets fail or progress.
  if ((ready & (reactor::kReadable | reactor::kPeerClosed | reactor::kError)) && flowing_ != Flowing::kNo &&
      !readEnded_ && !unconsumed_) {
    readOnce();
  }
}

void Socket::updateInterest() {
  if (fd_ < 0 || !loop_.watching(fd_)) return;
  std::uint8_t interest = reactor::kNoInterest;
  if (state_ == State::kConnecting) {
    interest = reactor::kWantWrite;
  } else if (state_ == State::kOpen) {
    // Before anyone listens, one read is taken and kept (Node's readable buffer); then reading
    // waits, so the kernel applies flow control and an end of stream is still noticed.
    const bool wantRead = flowing_ != Flowing::kNo && !unconsumed_;
    if (wantRead && !readEnded_) interest |= reactor::kWantRead;
    if (!writeQueue_.empty()) interest |= reactor::kWantWrite;
  }
  loop_.setInterest(fd_, interest);
  // Node's liveness: a socket keeps the loop running only while it is active (connecting, reading
  // or writing), and referenced. A paused socket with nothing to send, or one holding unread data
  // nobody listens for, lets the program end.
  loop_.setReferenced(fd_, referenced_ && interest != reactor::kNoInterest);
}

void Socket::readOnce() {
  const ssize_t n = ::read(fd_, readBuffer, kReadBufferSize);
  if (n > 0) {
    bytesRead_ += static_cast<std::uint64_t>(n);
    touch();
    const std::string_view data(readBuffer, static_cast<std::size_t>(n));
    if (flowing_ == Flowing::kYes) {
      emit<"data">(data);
    } else {
      unconsumed_ = std::make_unique<std::string>(data);
      updateInterest();
    }
    return;
  }
  if (n == 0) {
    onPeerEnded();
    return;
  }
  if (!wouldBlock(errno)) destroyWith(Error::fromSystem(errno, "read"));
}

void Socket::onPeerEnded() {
  readEnded_ = true;
  updateInterest();
  emit<"end">();
  if (state_ != State::kOpen) return;
  if (finished_) {
    destroy();  // our side had finished already: both directions are done
  } else if (!allowHalfOpen_) {
    end();  // the 'finish' tick destroys the socket, the peer having ended
  }
}

void Socket::listenerAdded(std::string_view event) {
  if (event == "data" && flowing_ == Flowing::kUnset) resume();
}

Socket& Socket::pause() {
  flowing_ = Flowing::kNo;
  updateInterest();
  return *this;
}

Socket& Socket::resume() {
  flowing_ = Flowing::kYes;
  if (unconsumed_) {
    // Delivered on the next tick, as Node's resume() does, so listeners added after it hear it.
    loop_.nextTick([self = shared_from_this()] {
      if (self->flowing_ != Flowing::kYes || !self->unconsumed_) return;
      const std::unique_ptr<std::string> data = std::move(self->unconsumed_);
      self->emit<"data">(std::string_view(*data));
      self->updateInterest();
    });
    return *this;
  }
  updateInterest();
  return *this;
}

// --- writing ------------------------------------------------------------------------------------

bool Socket::write(std::string_view data, WriteCallback callback) { return writeImpl(data, nullptr, callback); }

bool Socket::write(std::string&& data, WriteCallback callback) { return writeImpl(data, &data, callback); }

bool Socket::write(const char* data, WriteCallback callback) {
  if (data == nullptr) throw Error("ERR_STREAM_NULL_VALUES", "May not write null values to stream");
  return writeImpl(data, nullptr, callback);
}

bool Socket::writeImpl(std::string_view data, std::string* owned, WriteCallback& callback) {
  if (state_ == State::kDestroyed) {
    rejectWrite(destroyedError(), callback);
    return false;
  }
  if (endCalled_) {
    rejectWrite(Error("ERR_STREAM_WRITE_AFTER_END", "write after end"), callback);
    return false;
  }
  if (state_ == State::kFresh) {
    rejectWrite(Error("ERR_SOCKET_CLOSED", "Socket is closed"), callback);
    return false;
  }
  bytesWritten_ += data.size();  // as Node counts: what write() accepted, queued bytes included
  std::size_t sent = 0;
  if (state_ == State::kOpen && writeQueue_.empty()) {
    // Nothing is queued: hand the data to the kernel now, and copy only what it did not take. An
    // empty write is complete at once, without a system call.
    const ssize_t n = data.empty() ? 0 : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && !wouldBlock(errno)) {
      Error error = Error::fromSystem(errno, "write");
      if (callback) loop_.nextTick([callback = std::move(callback), error] { callback(&error); });
      destroyWith(std::move(error));
      return false;
    }
    sent = n > 0 ? static_cast<std::size_t>(n) : 0;
    if (sent > 0) touch();
    if (sent == data.size()) {
      if (callback) loop_.nextTick([callback = std::move(callback)] { callback(nullptr); });
      return true;
    }
  }
  writeQueue_.push(owned != nullptr ? std::move(*owned) : std::string(data), sent, std::move(callback));
  updateInterest();
  const bool belowHighWaterMark = writeQueue_.bytes() < highWaterMark_;
  if (!belowHighWaterMark) needDrain_ = true;
  return belowHighWaterMark;
}

void Socket::rejectWrite(Error error, WriteCallback& callback) {
  if (callback) loop_.nextTick([callback = std::move(callback), error] { callback(&error); });
  // As in Node: a write after end() is an error of the socket; one after destroy() only of the write.
  if (error.code() != "ERR_STREAM_DESTROYED") destroyWith(std::move(error));
}

void Socket::flush() {
  std::size_t written = 0;
  if (writeQueue_.bytes() > 0) {  // a queue of empty writes only completes them, with no call
    iovec chunks[kMaxIovecs];
    const std::size_t count = writeQueue_.gather(chunks, kMaxIovecs);
    msghdr message{};
    message.msg_iov = chunks;
    message.msg_iovlen = count;
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);  // writev() cannot suppress SIGPIPE
    if (n < 0) {
      if (!wouldBlock(errno)) destroyWith(Error::fromSystem(errno, "write"));
      return;
    }
    written = static_cast<std::size_t>(n);
    touch();
  }
  std::vector<WriteCallback> completed;
  writeQueue_.consume(written, completed);
  updateInterest();
  // Every completed write's bytes are with the kernel: each callback hears success, even when an
  // earlier one destroyed the socket (the writes still queued then hear the error instead).
  FirstException thrown;
  for (auto& callback : completed) thrown.run([&] { callback(nullptr); });
  thrown.rethrow();
  if (state_ != State::kOpen || !writeQueue_.empty()) return;
  if (needDrain_) {
    needDrain_ = false;
    emit<"drain">();
    if (state_ != State::kOpen) return;
  }
  maybeFinish();
}

Socket& Socket::end(std::function<void()> callback) {
  if (callback) once("finish", std::move(callback));
  if (state_ == State::kDestroyed || endCalled_) return *this;
  endCalled_ = true;
  if (state_ == State::kOpen) maybeFinish();
  return *this;
}

Socket& Socket::end(std::string_view data, std::function<void()> callback) {
  if (!data.empty()) write(data);
  return end(std::move(callback));
}

void Socket::maybeFinish() {
  if (!endCalled_ || finSent_ || state_ != State::kOpen || !writeQueue_.empty()) return;
  finSent_ = true;
  // When the peer has ended already, the 'finish' tick closes the descriptor, and close() sends
  // the FIN itself (nothing is left unread after an end of stream, so it is a FIN, not a reset):
  // a server answering clients that hang up first saves a system call per connection.
  if (!readEnded_ && ::shutdown(fd_, SHUT_WR) < 0 && errno != ENOTCONN) {
    destroyWith(Error::fromSystem(errno, "shutdown"));
    return;
  }
  // 'finish' comes on the next tick, so that listeners added right after end() still hear it.
  loop_.nextTick([self = shared_from_this()] {
    if (self->state_ != State::kOpen) return;
    self->finished_ = true;
    self->emit<"finish">();
    if (self->state_ == State::kOpen && self->readEnded_) self->destroy();
  });
}

Socket& Socket::destroySoon() {
  if (state_ == State::kDestroyed) return *this;
  if (finished_) return destroy();
  once("finish", [this] { destroy(); });
  return end();
}

// --- closing ------------------------------------------------------------------------------------

Socket& Socket::destroy() {
  destroyWith(std::nullopt);
  return *this;
}

Socket& Socket::destroy(Error error) {
  destroyWith(std::move(error));
  return *this;
}

void Socket::closeDescriptor() {
  state_ = State::kDestroyed;
  connector_.reset();
  idle_.reset();
  unconsumed_.reset();  // a destroyed socket emits no more 'data', as in Node
  if (fd_ >= 0) {
    if (loop_.watching(fd_)) loop_.unwatch(fd_);
    ::close(std::exchange(fd_, -1));
  }
}

void Socket::destroyWith(std::optional<Error> error) {
  if (state_ == State::kDestroyed) return;
  auto self = shared_from_this();
  // The writes that never went out hear the error, or, as in Node, why there was none to hear.
  Error writeError = error                            ? *error
                     : state_ == State::kConnecting ? Error("ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
                                                            "Socket closed before the connection was established")
                                                    : destroyedError();
  closeDescriptor();
  std::vector<WriteCallback> abandoned = writeQueue_.clear();
  // The server counts open connections, as Node's does: it stops counting this one now, and its
  // own 'close' (when it is closing) is queued before this socket's, as in Node.
  if (server_) std::exchange(server_, nullptr)->onConnectionClosed();
  // The self-reference moves into the tick that emits 'close': whatever happens to the tick (a
  // listener that throws, or a loop destroyed before it runs), the socket is released with it.
  releaseSelf();
  // Node emits 'error' and 'close' on the next tick: listeners added right after destroy() hear them.
  loop_.nextTick([self, error = std::move(error), writeError = std::move(writeError), abandoned = std::move(abandoned)] {
    FirstException thrown;
    for (const auto& callback : abandoned) thrown.run([&] { callback(&writeError); });
    bool unhandled = false;
    thrown.run([&] { unhandled = error && !self->emit<"error">(*error); });
    thrown.run([&] { self->emit<"close">(error.has_value()); });
    self->removeAllListeners();  // listeners often capture the socket: break the cycle
    thrown.rethrow();
    if (unhandled) throw *error;
  });
}

void Socket::onLoopClosing() {
  // No event can be delivered any more: close, forget the callbacks, and let go of the socket.
  auto self = shared_from_this();
  closeDescriptor();
  writeQueue_.clear();
  if (server_) std::exchange(server_, nullptr)->onConnectionClosed();
  removeAllListeners();
  releaseSelf();
}

// --- timeouts -----------------------------------------------------------------------------------

Socket& Socket::setTimeout(std::int64_t ms, std::function<void()> callback) {
  if (state_ == State::kDestroyed) return *this;  // as Node: no timer, not even a check of `ms`
  if (ms < 0) {
    throw Error("ERR_OUT_OF_RANGE",
                "The value of \"msecs\" is out of range. It must be a non-negative finite number. Received " +
                    std::to_string(ms));
  }
  idleTimerExpired_ = false;
  if (ms == 0) {
    idle_.reset();
    return *this;
  }
  if (!idle_) idle_ = std::make_unique<IdleTimeout>(*this);
  idle_->ms = ms;
  if (callback) once("timeout", std::move(callback));
  idle_->lastActivityMs = loop_.now();
  armIdleTimer(ms);
  return *this;
}

std::int64_t Socket::timeout() const { return idle_ ? idle_->ms : 0; }

void Socket::armIdleTimer(std::int64_t delayMs) {
  // An intrusive timer never keeps the loop alive: nor does a socket timeout in Node.
  loop_.armTimer(*idle_, std::min(delayMs, kMaxTimerDelayMs));
}

void Socket::touch() {
  // Called on every read and write: with a timeout set, a store, and a branch that is taken once per
  // expired timeout.
  if (!idle_) return;
  idle_->lastActivityMs = loop_.now();
  if (idleTimerExpired_) {
    idleTimerExpired_ = false;
    armIdleTimer(idle_->ms);
  }
}

void Socket::onIdleTimer() {
  auto self = shared_from_this();
  const std::int64_t timeoutMs = idle_->ms;
  const auto idleMs = static_cast<std::int64_t>(loop_.now() - idle_->lastActivityMs);
  if (idleMs < timeoutMs) {
    armIdleTimer(timeoutMs - idleMs);  // activity since: expire that much later
    return;
  }
  idleTimerExpired_ = true;
  emit<"timeout">();
}

// --- options and properties ---------------------------------------------------------------------

Socket& Socket::setNoDelay(bool noDelay) {
  noDelay_ = noDelay;
  if (state_ == State::kOpen) applyNoDelay();
  return *this;
}

Socket& Socket::setKeepAlive(bool enable, int initialDelayMs) {
  keepAlive_ = enable;
  keepAliveIdleSeconds_ = keepAliveIdleSeconds(initialDelayMs);
  if (state_ == State::kOpen) applyKeepAlive();
  return *this;
}

Socket& Socket::ref() {
  referenced_ = true;
  updateInterest();
  return *this;
}

Socket& Socket::unref() {
  referenced_ = false;
  updateInterest();
  return *this;
}

AddressInfo Socket::address() const { return fd_ >= 0 ? SocketAddress::localOf(fd_).info() : AddressInfo{}; }

std::string Socket::remoteAddress() const {
  return state_ == State::kOpen ? SocketAddress::peerOf(fd_).info().address : std::string();
}
std::string Socket::remoteFamily() const {
  return state_ == State::kOpen ? SocketAddress::peerOf(fd_).familyName() : std::string();
}
int Socket::remotePort() const { return state_ == State::kOpen ? SocketAddress::peerOf(fd_).info().port : 0; }
std::string Socket::localAddress() const { return address().address; }
std::string Socket::localFamily() const { return address().family; }
int Socket::localPort() const { return address().port; }

std::string_view Socket::readyState() const {
  switch (state_) {
    case State::kConnecting:
      return "opening";
    case State::kOpen: {
      const bool readable = !readEnded_;
      const bool writable = !endCalled_;
      if (readable && writable) return "open";
      if (readable) return "readOnly";
      if (writable) return "writeOnly";
      return "closed";
    }
    default:
      return "closed";
  }
}

// --- factories ----------------------------------------------------------------------------------

std::shared_ptr<Socket> createConnection(int port, std::string host, std::function<void()> connectListener) {
  ConnectOptions options;
  options.port = port;
  options.host = std::move(host);
  return createConnection(options, std::move(connectListener));
}

std::shared_ptr<Socket> createConnection(std::string path, std::function<void()> connectListener) {
  ConnectOptions options;
  options.path = std::move(path);
  return createConnection(options, std::move(connectListener));
}

std::shared_ptr<Socket> createConnection(const ConnectOptions& options, std::function<void()> connectListener) {
  return createConnection(reactor::Loop::forThisThread(), options, std::move(connectListener));
}

std::shared_ptr<Socket> createConnection(reactor::Loop& loop, const ConnectOptions& options,
                                         std::function<void()> connectListener) {
  auto socket = Socket::create(loop, SocketOptions{.allowHalfOpen = options.allowHalfOpen});
  socket->connect(options, std::move(connectListener));
  return socket;
}

}  // namespace net
