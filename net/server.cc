#include "net/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <utility>
#include <vector>

#include "net/resolver.h"

namespace net {

namespace {

// The spare descriptor of the EMFILE technique (see server.h). One per process, because the
// descriptor limit is per process; the mutex serialises servers running on different threads.
std::mutex spareMutex;
int spareDescriptor = -1;

void ensureSpareDescriptor() {
  std::lock_guard lock(spareMutex);
  if (spareDescriptor < 0) spareDescriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// accept4() errors after which the next pending connection may well be fine. On Linux, network
// errors already pending on the new connection are reported by accept itself.
bool acceptMayContinue(int err) {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

void validateListenPort(int port) {
  if (port < 0 || port > 65535) {
    // Node names the option in listen()'s message.
    throw Error("ERR_SOCKET_BAD_PORT",
                "options.port should be >= 0 and < 65536. Received type number (" + std::to_string(port) + ").");
  }
}

void validateBacklog(int backlog) {
  if (backlog < 0) {
    throw Error("ERR_OUT_OF_RANGE", "The value of \"backlog\" is out of range. It must be >= 0 && <= 2147483647. "
                                    "Received " + std::to_string(backlog));
  }
}

Error notRunning() { return Error("ERR_SERVER_NOT_RUNNING", "Server is not running."); }

// Node reports the port of a listen error only when it is not 0.
Error listenError(int err, const SocketAddress& address) {
  AddressInfo info = address.info();
  if (info.port == 0) return Error::fromSystemDescribed(err, "listen", info.address);
  return Error::fromSystemDescribed(err, "listen", info.address, info.port);
}

// ListenOptions::reusePort on `fd`: 0, or the errno to fail listen() with. FreeBSD's plain
// SO_REUSEPORT hands every connection to the last listener bound; its _LB variant balances.
// Elsewhere outside Linux the option does not balance either, so the answer is ENOTSUP, as libuv
// (and so Node) gives.
int enableReusePort(int fd) {
#if defined(__linux__)
  const int option = SO_REUSEPORT;
#elif defined(SO_REUSEPORT_LB)
  const int option = SO_REUSEPORT_LB;
#else
  const int option = -1;
#endif
  if (option < 0) return ENOTSUP;
  const int on = 1;
  return setsockopt(fd, SOL_SOCKET, option, &on, sizeof on) == 0 ? 0 : errno;
}

bool isAbstractPath(const std::string& path) { return !path.empty() && path[0] == '\0'; }

// What 'drop' tells about a connection the server refuses: its addresses, and why.
DropInfo dropInfoOf(int fd, std::string reason) {
  AddressInfo local = SocketAddress::localOf(fd).info();
  AddressInfo remote = SocketAddress::peerOf(fd).info();
  return DropInfo{local.address, local.port, local.family, remote.address, remote.port, remote.family,
                  std::move(reason)};
}

}  // namespace

Server::Server(reactor::Loop& loop, const ServerOptions& options) : loop_(loop), options_(options) {
  if (options_.keepAliveInitialDelay < 0) options_.keepAliveInitialDelay = 0;
}

Server::~Server() {
  // Only reached with the listener open if the server was never closed and its self-reference was
  // broken some other way; keep the descriptor table clean anyway.
  acceptRetry_.close();
  closeListener();
}

std::shared_ptr<Server> Server::create(ServerOptions options, ConnectionListener connectionListener) {
  return create(reactor::Loop::forThisThread(), std::move(options), std::move(connectionListener));
}

std::shared_ptr<Server> Server::create(reactor::Loop& loop, ServerOptions options,
                                       ConnectionListener connectionListener) {
  std::shared_ptr<Server> server(new Server(loop, options));
  if (connectionListener) server->on("connection", std::move(connectionListener));
  return server;
}

// --- listen -------------------------------------------------------------------------------------

Server& Server::listen(int port, std::string host, int backlog, std::function<void()> cb) {
  ListenOptions options;
  options.port = port;
  options.host = std::move(host);
  options.backlog = backlog;
  return listen(options, std::move(cb));
}

Server& Server::listen(int port, std::function<void()> cb) { return listen(port, "", 511, std::move(cb)); }

Server& Server::listen(int port, std::string host, std::function<void()> cb) {
  return listen(port, std::move(host), 511, std::move(cb));
}

Server& Server::listen(std::string path, std::function<void()> cb) {
  ListenOptions options;
  options.path = std::move(path);
  return listen(options, std::move(cb));
}

void Server::validate(const ListenOptions& options) {
  validateBacklog(options.backlog);
  validateListenPort(options.port);  // even beside a path, as Node checks it
  if (!options.path.empty()) {
    SocketAddress::fromPath(options.path);  // throws ERR_INVALID_ARG_VALUE when it does not fit
    if (isAbstractPath(options.path) && (options.readableAll || options.writableAll)) {
      throw Error("ERR_INVALID_ARG_VALUE",
                  "The argument 'options' can not set readableAll or writableAll to true when path is abstract "
                  "unix socket");
    }
  }
}

Server& Server::listen(const ListenOptions& options, std::function<void()> cb) {
  if (fd_ >= 0) {
    throw Error("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.");
  }
  validate(options);
  const int backlog = options.backlog == 0 ? 511 : options.backlog;  // Node: `backlog || 511`
  if (cb) once("listening", std::move(cb));
  ++listenGeneration_;  // a lookup still running for an earlier listen() is superseded
  if (options.path.empty()) pipeName_.clear();
  if (!options.path.empty()) {
    listenOnPath(options.path, backlog, options.readableAll, options.writableAll);
  } else if (options.host.empty()) {
    listenOnDefaultAddress(options.port, {backlog, options.ipv6Only, options.reusePort});
  } else {
    listenOnHost(options.host, options.port, {backlog, options.ipv6Only, options.reusePort});
  }
  return *this;
}

void Server::listenOnHost(const std::string& host, int port, BindOptions bind) {
  const std::string numeric = host == "localhost" ? "127.0.0.1" : host;
  if (auto address = SocketAddress::fromIp(numeric, port)) {
    listenOnAddress(*address, bind);
    return;
  }
  // A name: resolved off the loop thread. The lookup holds the server (and keeps the loop alive)
  // until its answer is back; an answer for a superseded listen() or a close() is ignored.
  lookup(loop_, host, 0,
         [self = shared_from_this(), generation = listenGeneration_, host, port, bind](LookupResult result) {
           if (generation != self->listenGeneration_ || self->fd_ >= 0) return;
           if (!result.errorCode.empty()) {
             self->emitError(Error::fromLookup(result.errorCode, host));
             return;
           }
           SocketAddress address = result.addresses.front();
           address.setPort(port);
           self->listenOnAddress(address, bind);
         });
}

int Server::openListener(const SocketAddress& address, BindOptions bind, int& failure) {
  const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    failure = errno;
    return -1;
  }
  const int on = 1;
  const int v6only = bind.ipv6Only ? 1 : 0;
  const bool tcp = address.family() != AF_UNIX;
  if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  if (tcp && bind.reusePort && (failure = enableReusePort(fd)) != 0) {
    ::close(fd);
    return -1;
  }
  if (::bind(fd, address.get(), address.length()) < 0 || ::listen(fd, bind.backlog) < 0) {
    failure = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

void Server::listenOnDefaultAddress(int port, BindOptions bind) {
  // Node tries the IPv6 wildcard first and falls back to IPv4 when IPv6 is unusable. An address in
  // use is not "unusable": it is reported against "::", as Node does.
  SocketAddress anyV6 = *SocketAddress::fromIp("::", port);
  int failure = 0;
  const int fd = openListener(anyV6, bind, failure);
  if (fd >= 0) {
    startListening(fd);
  } else if (failure == EADDRINUSE || failure == ENOTSUP) {
    failListenLater(listenError(failure, anyV6));
  } else {
    listenOnAddress(*SocketAddress::fromIp("0.0.0.0", port), {bind.backlog, false, bind.reusePort});
  }
}

void Server::listenOnAddress(const SocketAddress& address, BindOptions bind) {
  int failure = 0;
  const int fd = openListener(address, bind, failure);
  if (fd < 0) {
    failListenLater(listenError(failure, address));
    return;
  }
  startListening(fd);
}

void Server::listenOnPath(const std::string& path, int backlog, bool readableAll, bool writableAll) {
  pipeName_ = path;
  int failure = 0;
  const int fd = openListener(SocketAddress::fromPath(path), {backlog, false, false}, failure);
  if (fd < 0) {
    // Node (libuv) reports a missing directory as EACCES.
    failListenLater(Error::fromSystemDescribed(failure == ENOENT ? EACCES : failure, "listen", path));
    return;
  }
  if (!isAbstractPath(path)) ownedSocketFile_ = path;
  mode_t wanted = 0;
  if (readableAll) wanted |= S_IRUSR | S_IRGRP | S_IROTH;
  if (writableAll) wanted |= S_IWUSR | S_IWGRP | S_IWOTH;
  struct stat status {};
  if (wanted != 0 && (::stat(path.c_str(), &status) < 0 || ::chmod(path.c_str(), status.st_mode | wanted) < 0)) {
    // Node throws this one at the call, having closed the listener.
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    ownedSocketFile_.clear();
    throw Error::fromSystem(err, "uv_pipe_chmod");
  }
  startListening(fd);
}

void Server::startListening(int fd) {
  fd_ = fd;
  loop_.watch(fd_, *this);
  loop_.setInterest(fd_, reactor::kWantRead);
  if (!referenced_) loop_.setReferenced(fd_, false);
  self_ = shared_from_this();
  ensureSpareDescriptor();
  // As Node: 'listening' on the next tick, unless the server was closed in between.
  loop_.nextTick([self = self_] {
    if (self->fd_ >= 0) self->emit<"listening">();
  });
}

void Server::failListenLater(Error error) {
  loop_.nextTick([self = shared_from_this(), error = std::move(error)] { self->emitError(error); });
}

void Server::emitError(const Error& error) {
  if (!emit<"error">(error)) throw error;
}

// --- accepting ----------------------------------------------------------------------------------

void Server::onReady(std::uint8_t) {
  auto self = shared_from_this();
  acceptPending();
}

void Server::acceptPending() {
  // A listener may close the server, or close it and listen again, while this runs.
  const std::uint64_t generation = listenGeneration_;
  for (int i = 0; i < kAcceptsPerEvent && fd_ >= 0 && generation == listenGeneration_; ++i) {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client >= 0) {
      admit(client);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (acceptMayContinue(err)) continue;
    if (err == EMFILE || err == ENFILE) {
      shedPendingConnections(err);
      return;
    }
    // Out of memory or buffers: report it as Node does, and give the system a moment instead of
    // being told again at once by the level-triggered poller.
    pauseAccepting();
    emitError(Error::fromSystem(err, "accept"));
    return;
  }
}

void Server::admit(int fd) {
  if (options_.blockList && options_.blockList->check(SocketAddress::peerOf(fd))) {
    refuse(fd, "blockList");
    return;
  }
  if (handOff_) {
    handOff_(fd);
    return;
  }
  if (maxConnections_ >= 0 && connections_ >= static_cast<std::size_t>(maxConnections_)) {
    refuse(fd, "maxConnections");
    return;
  }
  std::shared_ptr<Socket> socket = Socket::fromAccepted(loop_, fd, *this, options_);
  ++connections_;
  emit<"connection">(std::move(socket));
}

void Server::refuse(int fd, std::string reason) {
  DropInfo info = dropInfoOf(fd, std::move(reason));
  ::close(fd);
  emit<"drop">(info);
}

void Server::shedPendingConnections(int err) {
  std::vector<DropInfo> shed;
  {
    std::lock_guard lock(spareMutex);
    if (spareDescriptor < 0) {
      // No spare to give up (another thread holds it, or it could not be reopened): stop watching
      // for a moment rather than be woken for the same connection in every iteration.
      pauseAccepting();
      return;
    }
    ::close(spareDescriptor);
    spareDescriptor = -1;
    for (int i = 0; i < kAcceptsPerEvent; ++i) {
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        shed.push_back(dropInfoOf(client, errnoName(err)));
        ::close(client);
      } else if (!acceptMayContinue(errno)) {
        break;
      }
    }
    spareDescriptor = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  // Reported once the descriptors are settled and the lock is released: listeners may do anything.
  for (const DropInfo& info : shed) emit<"drop">(info);
}

void Server::pauseAccepting() {
  if (fd_ < 0) return;
  loop_.setInterest(fd_, reactor::kNoInterest);
  acceptRetry_.close();
  acceptRetry_ = loop_.setTimeout(
      [weak = weak_from_this(), generation = listenGeneration_] {
        auto self = weak.lock();
        if (!self || self->fd_ < 0 || generation != self->listenGeneration_) return;
        ensureSpareDescriptor();
        self->loop_.setInterest(self->fd_, reactor::kWantRead);
      },
      kAcceptRetryDelayMs);
  acceptRetry_.unref();  // the listening descriptor decides whether the loop stays alive
}

// --- closing ------------------------------------------------------------------------------------

Server& Server::close(std::function<void(const Error*)> cb) {
  ++listenGeneration_;  // a lookup still running will not start listening
  if (cb) {
    if (fd_ >= 0) {
      once("close", [cb = std::move(cb)] { cb(nullptr); });
    } else {
      once("close", [cb = std::move(cb)] {
        const Error error = notRunning();
        cb(&error);
      });
    }
  }
  closeListener();
  emitCloseIfDrained();
  return *this;
}

void Server::closeListener() {
  acceptRetry_.close();
  if (fd_ < 0) return;
  if (loop_.watching(fd_)) loop_.unwatch(fd_);
  ::close(std::exchange(fd_, -1));
  if (!ownedSocketFile_.empty()) ::unlink(std::exchange(ownedSocketFile_, {}).c_str());
}

void Server::onConnectionClosed() {
  if (connections_ > 0) --connections_;
  emitCloseIfDrained();
}

void Server::emitCloseIfDrained() {
  if (fd_ >= 0 || connections_ > 0) return;
  // The self-reference moves into the tick: should the tick never run (its loop destroyed first),
  // the server is released with it. A 'close' listener may listen again, taking a new one.
  loop_.nextTick([self = self_ ? std::move(self_) : shared_from_this()] { self->emit<"close">(); });
}

void Server::onLoopClosing() {
  // Silently: the 'close' this queues is destroyed with the loop, and the server with it once its
  // connections, closing too, have let go of it.
  closeListener();
  emitCloseIfDrained();
}

// --- queries ------------------------------------------------------------------------------------

void Server::getConnections(std::function<void(const Error*, std::size_t)> cb) const {
  loop_.nextTick([cb = std::move(cb), count = connections_] { cb(nullptr, count); });
}

AddressInfo Server::address() const {
  if (!pipeName_.empty()) return AddressInfo{pipeName_, "", 0};
  if (fd_ < 0) return {};
  return SocketAddress::localOf(fd_).info();
}

Server& Server::ref() {
  referenced_ = true;
  if (fd_ >= 0) loop_.setReferenced(fd_, true);
  return *this;
}

Server& Server::unref() {
  referenced_ = false;
  if (fd_ >= 0) loop_.setReferenced(fd_, false);
  return *this;
}

// --- factories ----------------------------------------------------------------------------------

std::shared_ptr<Server> createServer(ServerOptions options, ConnectionListener connectionListener) {
  return Server::create(std::move(options), std::move(connectionListener));
}

std::shared_ptr<Server> createServer(ConnectionListener connectionListener) {
  return Server::create(ServerOptions{}, std::move(connectionListener));
}

std::shared_ptr<Server> createServer(reactor::Loop& loop, ServerOptions options,
                                     ConnectionListener connectionListener) {
  return Server::create(loop, std::move(options), std::move(connectionListener));
}

}  // namespace net
