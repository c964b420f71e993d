// net::Server: Node's net.Server in C++, a listening TCP or unix-domain socket on a reactor::Loop
// that turns every accepted connection into a net::Socket and emits it as 'connection'.
//
// Lifecycle: listen() opens, binds and starts listening at once for a numeric host or a path (a
// host name is resolved first, off the loop thread); 'listening' follows on the next tick, and a
// failure (EADDRINUSE, EACCES, ...) comes as 'error' on the next tick, the server then being back
// where it was before listen(). close() stops accepting at once; 'close' is emitted only when every
// connection this server accepted has emitted its own 'close', as in Node. Events: 'listening',
// 'connection', 'drop', 'error', 'close'.
//
// Ownership: servers are always held by std::shared_ptr (create(), createServer()). A listening
// server holds a reference to itself, so the loop keeps it alive when the program drops its
// pointers; the reference moves into the tick that emits 'close', which waits until the listener
// is closed and every connection it accepted is destroyed. So accepted sockets point back at the
// server with a plain pointer, and call onConnectionClosed() when destroyed (as Node counts them:
// getConnections() and maxConnections see a destroyed connection gone at once, before its
// 'close'); the server never owns them (the program does, or their own self-reference while open).
// A server whose loop is destroyed closes its listener without events and is released with the
// loop's queued callbacks (IoHandler::onLoopClosing).
//
// Errors: bad arguments throw net::Error at the call (ERR_SOCKET_BAD_PORT, ERR_OUT_OF_RANGE,
// ERR_INVALID_ARG_VALUE, ERR_SERVER_ALREADY_LISTEN). Later failures are emitted as 'error'; an
// 'error' with no listener is thrown out of the loop's run() once the server's state is settled.
//
// Reentrancy: any listener may call any method (close(), listen() again after 'close', ...) and
// may drop the last pointer to the server: every entry point from the loop holds a reference to
// the server until it returns. Threading: the server belongs to its loop's thread.
//
// Refusing connections: every accepted connection is checked, before any byte is read from it and
// before 'connection', first against ServerOptions::blockList (its peer address; unix-domain
// connections have none and pass), then against maxConnections. A refused connection is closed at
// once (its client sees the connection closed) and reported as 'drop' with a DropInfo whose reason
// says why. Node 22's blockList option closes blocked connections without any event; 'drop' here
// lets a server log them, and a program with no 'drop' listener sees Node's behaviour.
//
// Accepting: the server watches the listening descriptor for reading (level-triggered) and, per
// readiness event, accepts at most kAcceptsPerEvent connections, so that a flood on one listener
// cannot starve the other descriptors of the loop; what is left is reported again next iteration.
//
// Descriptor exhaustion (EMFILE/ENFILE from accept): a level-triggered listener whose pending
// connection cannot be accepted would be reported ready forever and spin the loop. The process
// keeps one spare descriptor open on /dev/null; when accept runs out of descriptors, the spare is
// closed, the pending connections are accepted and closed at once (their clients see the
// connection closed), and the spare is opened again. The server keeps running, and reports every
// connection shed this way as 'drop', with its addresses and DropInfo::reason "EMFILE" or "ENFILE"
// (Node, through libuv, sheds them the same way but says nothing; a server that silently refuses
// clients is hard to diagnose). Should the spare be unavailable, the server stops watching for a
// short while (kAcceptRetryDelayMs) and retries; the connections then wait in the backlog.
// Other accept failures: a connection that died while queued (ECONNABORTED, EPROTO, ...) or EINTR
// is skipped; anything else (ENOMEM, ENOBUFS) is emitted as 'error' with syscall "accept", as Node
// does, and accepting pauses for kAcceptRetryDelayMs for the same reason.
//
// Differences from Node, and why:
//  - listen() with a numeric host binds synchronously (Node resolves even numeric hosts with an
//    asynchronous lookup), so listening() and address() are valid right after listen().
//  - "localhost" is taken to be 127.0.0.1 without a lookup.
//  - maxConnections: negative (the default) means no limit and 0 refuses every connection; Node 20
//    reads 0 as "no limit" and any negative value as "refuse all", which is easy to trip over.
//  - A negative backlog throws ERR_OUT_OF_RANGE; Node 20 hands it to the kernel unchecked.
//  - 'drop' for a unix-domain connection carries a DropInfo with the paths; Node passes nothing.
//  - 'drop' is also emitted for connections refused by the block list or shed for want of
//    descriptors (see above), and DropInfo::reason tells the causes apart; Node has no reason.
//  - Unix-domain listen errors carry no port (Node sets port to -1 there).
//  - A unix path that does not fit sun_path is rejected at the call (ERR_INVALID_ARG_VALUE); Node
//    truncates it silently.
//  - address() returns an empty AddressInfo where Node returns null (a TCP server not listening).
//  - ListenOptions::exclusive is accepted and ignored: it only matters for Node's cluster module.
//
// Unix-domain sockets: a file already at the path (a stale socket file included) makes listen()
// fail with EADDRINUSE, as in Node: it is never unlinked behind the program's back. A missing
// directory fails with EACCES (Node's mapping of ENOENT). The socket file is created with the
// permissions bind() gives it, 0777 masked by the process umask (with the usual 022, only the owner
// may connect: connecting needs write permission). readableAll/writableAll add read/write
// permission for everyone afterwards, as Node's do. The server unlinks its file when it closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/address.h"
#include "net/block_list.h"
#include "net/error.h"
#include "net/event_emitter.h"
#include "net/socket.h"
#include "reactor/loop.h"

namespace net {

struct ServerOptions {
  bool allowHalfOpen = false;    // given to every accepted socket
  bool pauseOnConnect = false;   // accepted sockets start paused (no reading until resume())
  bool noDelay = false;          // setNoDelay(true) on every accepted socket
  bool keepAlive = false;        // setKeepAlive(true, keepAliveInitialDelay) on every accepted socket
  int keepAliveInitialDelay = 0; // milliseconds; negative means 0
  std::size_t highWaterMark = 16 * 1024;  // the accepted sockets' write high-water mark
  // Connections from addresses this list matches are refused (see "Refusing connections"). Shared:
  // the program may keep its own pointer and add rules later, on the server's loop thread only; the
  // server keeps the list alive as long as the server lives. Null: nothing is blocked.
  std::shared_ptr<const BlockList> blockList;
};

struct ListenOptions {
  int port = 0;           // TCP port, 0..65535; 0 picks a free one
  std::string host;       // "" = Node's default: "::" (dual-stack) when IPv6 works, else "0.0.0.0"
  std::string path;       // a unix-domain socket path instead of TCP
  int backlog = 511;      // listen() queue length; 0 means the default
  bool exclusive = false; // only meaningful for Node's cluster module: ignored
  bool ipv6Only = false;  // an IPv6 listener does not accept IPv4 connections
  bool readableAll = false;  // unix socket file readable by everyone
  bool writableAll = false;  // unix socket file writable (connectable) by everyone
  // Node 22.12's reusePort: several TCP listeners, in this process or others, bind one port and
  // the kernel spreads the connections over them (SO_REUSEPORT on Linux, SO_REUSEPORT_LB on
  // FreeBSD). Where the system cannot balance (macOS, OpenBSD, NetBSD), listen fails with 'error'
  // ENOTSUP ("listen ENOTSUP: operation not supported on socket 0.0.0.0:3000"), as Node's does.
  // Every listener sharing the port must set it. Ignored for a unix-domain path, as in Node.
  bool reusePort = false;
};

// The argument of Node's 'drop' event: the addresses of a connection the server refused. For a
// unix-domain connection the addresses are the paths (often empty) and the ports 0.
struct DropInfo {
  std::string localAddress;
  int localPort = 0;
  std::string localFamily;
  std::string remoteAddress;
  int remotePort = 0;
  std::string remoteFamily;
  // Why: "maxConnections", "blockList", or "EMFILE"/"ENFILE" (shed for want of descriptors).
  std::string reason;
};

using ConnectionListener = std::function<void(std::shared_ptr<Socket>)>;

class Server final : public EventEmitter<Server, Event<"listening", void()>, Event<"connection", void(std::shared_ptr<Socket>)>,
                                   Event<"close", void()>, Event<"error", void(const Error&)>,
                                   Event<"drop", void(const DropInfo&)>>,
               public std::enable_shared_from_this<Server>,
               private reactor::IoHandler {
 public:
  // Most connections accepted per readiness event (see "Accepting" above).
  static constexpr int kAcceptsPerEvent = 64;
  // How long accepting pauses when descriptors are exhausted and no spare can be freed.
  static constexpr std::int64_t kAcceptRetryDelayMs = 100;

  // A server on the calling thread's default loop, or on `loop`. `connectionListener`, if given, is
  // registered for 'connection'.
  static std::shared_ptr<Server> create(ServerOptions options = {}, ConnectionListener connectionListener = {});
  static std::shared_ptr<Server> create(reactor::Loop& loop, ServerOptions options = {},
                                        ConnectionListener connectionListener = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts listening. `cb`, if given, is registered once for 'listening'. Throws net::Error
  // ERR_SERVER_ALREADY_LISTEN if the server is listening already, ERR_SOCKET_BAD_PORT for a port
  // outside 0..65535, ERR_OUT_OF_RANGE for a negative backlog, ERR_INVALID_ARG_VALUE for a bad path.
  // A listen() whose host name is still being resolved is superseded by the next one, as in Node.
  Server& listen(int port, std::string host = "", int backlog = 511, std::function<void()> cb = {});
  Server& listen(int port, std::function<void()> cb);
  Server& listen(int port, std::string host, std::function<void()> cb);
  Server& listen(std::string path, std::function<void()> cb = {});  // unix-domain
  Server& listen(const ListenOptions& options, std::function<void()> cb = {});

  // Stops accepting at once; 'close' follows when every accepted connection has closed. `cb` is
  // registered once for 'close' and gets nullptr, or ERR_SERVER_NOT_RUNNING when the server was
  // not listening (in which case 'close' is still emitted, on the next tick, as in Node).
  Server& close(std::function<void(const Error*)> cb = {});

  // The number of open connections accepted by this server, passed to `cb` on the next tick.
  void getConnections(std::function<void(const Error*, std::size_t)> cb) const;

  // Node's { address, family, port } (the real port after listen(0)); AddressInfo{path, "", 0} for
  // a unix-domain server (still after close, as in Node); an empty AddressInfo when not listening.
  AddressInfo address() const;
  bool listening() const { return fd_ >= 0; }

  // Connections beyond this many open ones are closed at once and reported as 'drop'. Negative:
  // no limit (the default); 0 refuses every connection.
  int maxConnections() const { return maxConnections_; }
  Server& setMaxConnections(int maxConnections) {
    maxConnections_ = maxConnections;
    return *this;
  }

  // An unreferenced server does not keep the loop running (also when unref() precedes listen()).
  Server& ref();
  Server& unref();

  reactor::Loop& loop() const { return loop_; }

 private:
  friend class Socket;
  friend class ServerGroup;

  Server(reactor::Loop& loop, const ServerOptions& options);

  // Throws what listen() throws for bad options, before anything is opened.
  static void validate(const ListenOptions& options);

  // Called by a socket this server accepted, when that socket is destroyed.
  void onConnectionClosed();

  void onReady(std::uint8_t ready) override;
  void onLoopClosing() override;

  // How a TCP listener is bound, besides its address.
  struct BindOptions {
    int backlog;
    bool ipv6Only;
    bool reusePort;
  };
  void listenOnHost(const std::string& host, int port, BindOptions bind);
  void listenOnDefaultAddress(int port, BindOptions bind);
  // Opens, binds and listens; returns the descriptor, or -1 with `failure` set to errno.
  int openListener(const SocketAddress& address, BindOptions bind, int& failure);
  void listenOnAddress(const SocketAddress& address, BindOptions bind);
  void listenOnPath(const std::string& path, int backlog, bool readableAll, bool writableAll);
  void startListening(int fd);
  void failListenLater(Error error);
  void closeListener();

  void acceptPending();
  void admit(int fd);
  void refuse(int fd, std::string reason);
  void shedPendingConnections(int err);
  void pauseAccepting();
  void emitCloseIfDrained();
  void emitError(const Error& error);

  reactor::Loop& loop_;
  ServerOptions options_;
  int fd_ = -1;                 // the listening descriptor, -1 when not listening
  std::string pipeName_;        // the unix path given to the last listen(path), for address()
  std::string ownedSocketFile_; // the socket file this server created and unlinks on close
  bool referenced_ = true;
  // Bumped by every listen() and close(): a lookup that finishes under an older id was superseded.
  std::uint64_t listenGeneration_ = 0;
  std::size_t connections_ = 0;
  int maxConnections_ = -1;
  reactor::Timeout acceptRetry_;
  std::shared_ptr<Server> self_;  // held from listening until 'close': the loop keeps the server alive
  // Set by a ServerGroup whose loops share this listener: it takes each admitted connection (past
  // the block list) instead of a socket made here, and counts it on the loop that serves it.
  std::function<void(int fd)> handOff_;
};

// Node's net.createServer.
std::shared_ptr<Server> createServer(ServerOptions options = {}, ConnectionListener connectionListener = {});
std::shared_ptr<Server> createServer(ConnectionListener connectionListener);
std::shared_ptr<Server> createServer(reactor::Loop& loop, ServerOptions options = {},
                                     ConnectionListener connectionListener = {});

}  // namespace net
