// net::Socket: Node's net.Socket in C++, a nonblocking TCP or unix-domain stream on a reactor::Loop.
//
// State machine (net/README.md draws it): fresh -> connecting -> open -> destroyed, with the two
// directions of an open socket ending independently (half-close): 'end' when the peer's FIN is
// read, 'finish' when our FIN is sent after the queued writes. Events, in Node's order: 'lookup',
// 'connect', 'ready', 'data'*, 'end', 'finish', 'timeout', 'drain', 'error', 'close' (last, once).
//
// Ownership: sockets are always held by std::shared_ptr (create(), createConnection(), a server's
// 'connection' event). While its name is looked up, the lookup holds the socket; once a descriptor
// is watched (connecting or open) the socket holds a reference to itself, so the loop keeps it
// alive even when the program drops every pointer. destroy() hands that reference to the tick that
// emits 'close', which releases it after 'close', whether a listener throws or the loop is
// destroyed before the tick runs. A pointer the program keeps stays valid after 'close' (the socket
// is then inert: writes fail with ERR_STREAM_DESTROYED).
// Raw pointers: the socket refers to its loop, which must outlive it or close it first: ~Loop
// closes a watched socket without events (IoHandler::onLoopClosing), and from then on the socket
// may only be dropped. An accepted socket refers to its server, which stays alive while it counts
// the socket (net/server.h); the socket stops being counted, and forgets the server, when destroyed.
//
// Errors: bad arguments throw net::Error at the call. Failures later on (connect, read, write)
// destroy the socket and emit 'error', then 'close(true)'. An 'error' with no listener is thrown
// out of the loop's run() after 'close' has been emitted, as Node's uncaught exception would end
// the process.
//
// Reentrancy: any listener may call any method, destroy() and end() included, and may drop the
// last reference to the socket: every entry point from the loop holds a reference until it returns.
// Threading: the socket belongs to its loop's thread.
//
// Bad input (tests/net_bad_input_test.cc has one row per case), as Node 20 unless listed below:
// ERR_SOCKET_BAD_PORT, ERR_OUT_OF_RANGE (negative timeout, fd below -1), ERR_INVALID_FD_TYPE (an fd
// that is not a stream socket) are thrown at the call; a host that cannot be resolved, whatever
// its spelling ("300.1.1.1", "not a host!"), fails later with 'lookup' and 'error' ENOTFOUND;
// write() after end() gives ERR_STREAM_WRITE_AFTER_END, after destroy() ERR_STREAM_DESTROYED; a
// second end() or destroy(), and pause(), resume(), setTimeout(), setNoDelay(), setKeepAlive() on a
// destroyed socket, do nothing.
// Differences from Node, and why:
//  - connect() on a socket that is connecting, open or destroyed throws ERR_SOCKET_CONNECTING and
//    leaves the socket alone. Node 20 reuses the object: on an open socket it emits 'connect' and
//    'ready' again over the same connection, on a connecting one it destroys the socket with
//    EALREADY. Neither is something a program means to do.
//  - A unix path that does not fit sun_path throws ERR_INVALID_ARG_VALUE, as Node's documentation
//    says; Node 20 truncates it and fails to connect (ENOENT).
//  - A host with a NUL byte in it is not found (ENOTFOUND); Node 20 looks up the part before it.
//  - SocketOptions::fd must be a stream socket; Node also wraps a pipe (here: "Unsupported fd
//    type: PIPE").
//  - There is no setEncoding(): 'data' hands out bytes (std::string_view into the read buffer),
//    which a listener decodes as it needs; Node's decoding into strings is a JavaScript concern.
//  - There is no NaN or Infinity in setTimeout(std::int64_t) (Node rejects both with
//    ERR_OUT_OF_RANGE). Timeouts beyond 2^31 - 1 ms are honoured in full, in steps of at most
//    that; Node truncates them to 2^31 - 1 with a warning.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.h"
#include "net/error.h"
#include "net/event_emitter.h"
#include "net/write_queue.h"
#include "reactor/loop.h"

namespace net {

class Server;
struct ServerOptions;

struct SocketOptions {
  int fd = -1;                   // wrap an existing connected stream socket (owned from then on); -1: none
  bool allowHalfOpen = false;    // false: our side ends automatically once the peer's FIN is read
  bool readable = true;          // with fd: whether to read from it
  bool writable = true;          // with fd: whether writes are allowed
  std::size_t highWaterMark = 16 * 1024;  // write() returns false once this much is queued
};

// Node's `lookup` connect option: resolves `host` (family 0, 4 or 6) in place of getaddrinfo, and
// calls `done` with an error or with numeric addresses, at once or later on the loop thread.
using LookupFunction = std::function<void(const std::string& host, int family,
                                          std::function<void(const Error*, std::vector<std::string>)> done)>;

struct ConnectOptions {
  static constexpr int kNoPort = INT_MIN;
  int port = kNoPort;              // TCP: required, 0..65535 (neither a port nor a path: ERR_MISSING_ARGS)
  std::string host = "localhost";  // a name (resolved off the loop thread) or a numeric address
  std::string path;                // unix-domain socket instead of TCP
  std::string localAddress;        // bind before connecting
  int localPort = 0;               // 0..65535 (ERR_SOCKET_BAD_PORT otherwise; Node 20 truncates it)
  int family = 0;                  // 0 (any), 4 or 6
  bool noDelay = false;
  bool keepAlive = false;
  int keepAliveInitialDelay = 0;   // milliseconds
  std::int64_t timeout = 0;        // setTimeout() once connected; 0: none
  bool autoSelectFamily = true;    // try every resolved address in turn (Node 20's default)
  bool allowHalfOpen = false;      // createConnection(): the new socket's SocketOptions::allowHalfOpen
  int autoSelectFamilyAttemptTimeout = 250;  // milliseconds per attempt while others remain; >= 1, 10 at least
  LookupFunction lookup;           // empty: getaddrinfo off the loop thread
};

class Socket : public EventEmitter<Socket, Event<"lookup", void(const Error*, std::string_view, int, std::string_view)>,
                                   Event<"connect", void()>, Event<"ready", void()>,
                                   Event<"data", void(std::string_view)>, Event<"end", void()>,
                                   Event<"finish", void()>, Event<"drain", void()>, Event<"timeout", void()>,
                                   Event<"error", void(const Error&)>, Event<"close", void(bool)>>,
               private reactor::IoHandler {
 public:
  // With options.fd, throws ERR_OUT_OF_RANGE for an fd below -1 and ERR_INVALID_FD_TYPE ("Unsupported
  // fd type: FILE", PIPE, TTY, UDP or UNKNOWN for a closed one) unless it is a stream socket; the
  // descriptor then stays the caller's.
  static std::shared_ptr<Socket> create(SocketOptions options = {});
  static std::shared_ptr<Socket> create(reactor::Loop& loop, SocketOptions options = {});
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  Socket& connect(int port, std::string host = "localhost", std::function<void()> connectListener = {});
  Socket& connect(int port, std::function<void()> connectListener);
  Socket& connect(std::string path, std::function<void()> connectListener = {});
  Socket& connect(const ConnectOptions& options, std::function<void()> connectListener = {});

  // Queues `data` (sending at once what the kernel takes; copying only the rest). Returns false
  // once the queued bytes reach the high-water mark; 'drain' follows when the queue empties.
  // `callback` runs exactly once, in write order: with success when the last byte has been handed
  // to the kernel (on the next tick for a write sent at once, an empty one included), or with the
  // error that ended the socket (ERR_STREAM_DESTROYED after a plain destroy()) for a write that
  // never went out. A callback that destroys the socket does not keep the later writes whose bytes
  // went out in the same system call from hearing success. (A loop destroyed first destroys the
  // callbacks still owed uncalled, as it does every queued callback.)
  bool write(std::string_view data, WriteCallback callback = {});
  bool write(std::string&& data, WriteCallback callback = {});
  // A null `data` throws ERR_STREAM_NULL_VALUES, as Node's write(null) does.
  bool write(const char* data, WriteCallback callback = {});
  // Sends FIN once the queued data is out ('finish'); `callback` listens for 'finish'.
  Socket& end(std::function<void()> callback = {});
  Socket& end(std::string_view data, std::function<void()> callback = {});
  // Closes at once, dropping queued data; 'error' (if given) then 'close' follow on the next tick.
  Socket& destroy();
  Socket& destroy(Error error);
  // end(), then destroy() once the queued data is out.
  Socket& destroySoon();

  // As Node's readable side: until the first 'data' listener or resume(), one read's worth of data
  // is kept and reading waits (an end of stream with nothing unread is still noticed); then data
  // flows to the listeners. pause() stops reading, so TCP flow control takes over; nothing read is
  // ever dropped.
  Socket& pause();
  Socket& resume();
  bool isPaused() const { return flowing_ == Flowing::kNo; }

  // 'timeout' after `ms` without reading or writing; the socket stays open. 0 disables; negative
  // throws ERR_OUT_OF_RANGE; any positive value works (INT64_MAX: practically never).
  Socket& setTimeout(std::int64_t ms, std::function<void()> callback = {});
  std::int64_t timeout() const;
  Socket& setNoDelay(bool noDelay = true);
  Socket& setKeepAlive(bool enable = false, int initialDelayMs = 0);

  // Liveness, as Node's: a socket keeps its loop running only while it is active (connecting,
  // reading, or with a write queued) and referenced. A paused socket with nothing to send, or one
  // holding a read nobody listens for yet, does not; unref() takes an active one out too.
  Socket& ref();
  Socket& unref();

  AddressInfo address() const;
  std::string remoteAddress() const;  // "" when not connected
  std::string remoteFamily() const;
  int remotePort() const;             // 0 when not connected
  std::string localAddress() const;
  std::string localFamily() const;
  int localPort() const;

  std::uint64_t bytesRead() const { return bytesRead_; }
  // What write() and end() accepted, queued bytes included (Node's count), not what the kernel took.
  std::uint64_t bytesWritten() const { return bytesWritten_; }
  std::size_t bufferSize() const { return writeQueue_.bytes(); }
  std::size_t writableLength() const { return writeQueue_.bytes(); }
  std::size_t writableHighWaterMark() const { return highWaterMark_; }
  // "opening", "open", "readOnly", "writeOnly" or "closed" (Node says "open" for a fresh socket,
  // an accident of its stream flags; a socket with no connection is "closed" here).
  std::string_view readyState() const;
  bool pending() const { return state_ != State::kOpen; }
  bool connecting() const { return state_ == State::kConnecting; }
  bool destroyed() const { return state_ == State::kDestroyed; }
  bool allowHalfOpen() const { return allowHalfOpen_; }
  bool writableEnded() const { return endCalled_; }
  bool writableFinished() const { return finished_; }
  bool readableEnded() const { return readEnded_; }

  reactor::Loop& loop() const { return loop_; }

  // As std::enable_shared_from_this's: std::bad_weak_ptr once nothing owns the socket any more.
  std::shared_ptr<Socket> shared_from_this();
  std::weak_ptr<Socket> weak_from_this();

 private:
  friend class Server;
  friend EventEmitter;
  enum class State : std::uint8_t { kFresh, kConnecting, kOpen, kDestroyed };
  // Node's readableFlowing: unset until a 'data' listener, resume() or pause() decides.
  enum class Flowing : std::uint8_t { kUnset, kYes, kNo };
  struct Connector;    // name lookup and the connection attempts, alive while connecting
  struct IdleTimeout;  // setTimeout()'s state, allocated by its first call

  Socket(reactor::Loop& loop, const SocketOptions& options);
  static std::shared_ptr<Socket> allocate(reactor::Loop& loop, const SocketOptions& options);
  // A connection accepted by `server`, open from the start.
  static std::shared_ptr<Socket> fromAccepted(reactor::Loop& loop, int fd, Server& server,
                                              const ServerOptions& options);

  void onReady(std::uint8_t ready) override;
  void listenerAdded(std::string_view event);  // called by EventEmitter
  void finishConnect();
  void becomeOpen();
  void startLookup(const std::string& host, int family);
  void lookupDone(const std::string& host, const Error* error, std::vector<SocketAddress> addresses);
  void attemptNext();
  void readOnce();
  void onPeerEnded();
  void flush();
  bool writeImpl(std::string_view data, std::string* owned, WriteCallback& callback);
  void maybeFinish();
  void updateInterest();
  void touch();
  void onIdleTimer();
  void destroyWith(std::optional<Error> error);
  void closeDescriptor();  // the part of destroying that emits nothing
  void onLoopClosing() override;
  void rejectWrite(Error error, WriteCallback& callback);
  void connectAttemptFailed(Error error);
  void applyNoDelay();
  void applyKeepAlive();
  void armIdleTimer(std::int64_t delayMs);
  void holdSelf();
  void releaseSelf();  // may destroy the socket

  reactor::Loop& loop_;
  int fd_ = -1;
  // State and flags as bits, and setTimeout()'s state out of line: an idle connection's size is
  // what a server pays per connection (net/README.md, "Memory per connection").
  State state_ : 2 = State::kFresh;
  Flowing flowing_ : 2 = Flowing::kUnset;
  bool allowHalfOpen_ : 1;
  bool readEnded_ : 1 = false;   // the peer's FIN was read ('end')
  bool endCalled_ : 1 = false;   // end() was called: no more writes
  bool finSent_ : 1 = false;     // our FIN is out
  bool finished_ : 1 = false;    // 'finish' was emitted
  bool needDrain_ : 1 = false;
  bool referenced_ : 1 = true;
  bool idleTimerExpired_ : 1 = false;
  bool noDelay_ : 1 = false;
  bool keepAlive_ : 1 = false;
  bool selfHeld_ : 1 = false;    // which member of the union below is alive
  std::uint16_t keepAliveIdleSeconds_ = 0;  // TCP_KEEPIDLE to set with keep-alive; 0: the system's
  std::size_t highWaterMark_;
  std::unique_ptr<std::string> unconsumed_;  // one read taken before any 'data' listener; null when idle
  WriteQueue writeQueue_;
  std::uint64_t bytesRead_ = 0;
  std::uint64_t bytesWritten_ = 0;
  std::unique_ptr<IdleTimeout> idle_;  // null until setTimeout()
  std::unique_ptr<Connector> connector_;
  // The server that accepted this connection, if any: it keeps itself alive while it counts the
  // connection, that is until this socket's 'close' (net/server.h).
  Server* server_ = nullptr;
  // The socket's reference to itself, in two words where std::enable_shared_from_this and a
  // shared_ptr member would take four: weak while the socket is fresh or closed (what
  // shared_from_this() locks), strong while it is connecting or open, so that the loop keeps it
  // alive whatever the program holds.
  union {
    std::weak_ptr<Socket> weakSelf_{};
    std::shared_ptr<Socket> strongSelf_;
  };
};

// Node's net.createConnection / net.connect: a new socket, connecting.
std::shared_ptr<Socket> createConnection(int port, std::string host = "localhost",
                                         std::function<void()> connectListener = {});
std::shared_ptr<Socket> createConnection(std::string path, std::function<void()> connectListener = {});
std::shared_ptr<Socket> createConnection(const ConnectOptions& options, std::function<void()> connectListener = {});
std::shared_ptr<Socket> createConnection(reactor::Loop& loop, const ConnectOptions& options,
                                         std::function<void()> connectListener = {});
inline std::shared_ptr<Socket> connect(int port, std::string host = "localhost",
                                       std::function<void()> connectListener = {}) {
  return createConnection(port, std::move(host), std::move(connectListener));
}
inline std::shared_ptr<Socket> connect(std::string path, std::function<void()> connectListener = {}) {
  return createConnection(std::move(path), std::move(connectListener));
}
inline std::shared_ptr<Socket> connect(const ConnectOptions& options, std::function<void()> connectListener = {}) {
  return createConnection(options, std::move(connectListener));
}

}  // namespace net
