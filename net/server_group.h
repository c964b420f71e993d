// net::ServerGroup: one port served by several loops, each in its own thread, every connection
// living its whole life on one loop. Two ways, because each wins somewhere:
//  - Balancing::kReusePort: a listener with ListenOptions::reusePort on every worker loop; the
//    kernel spreads the connections, nothing crosses threads (Linux, FreeBSD; elsewhere listen
//    fails with ENOTSUP).
//  - Balancing::kHandOff: one listener on the group's home loop accepts, and hands each connection
//    to the next worker loop in turn (a post() of the descriptor); even balance, on every platform,
//    as Node's cluster does by default.
// Either way, each worker loop has a net::Server of its own that counts, limits and emits the
// connections it serves ('connection' and 'drop' run on that loop's thread). net/README.md says
// what getConnections, maxConnections, close() and 'drop' mean for a group.
//
//   reactor::LoopThreads threads(4);
//   auto group = net::ServerGroup::create(threads.loops(), {}, serve);  // serve runs on the workers
//   group->listen(options, [] { std::puts("listening"); });
//   reactor::Loop::forThisThread().run();  // the home loop, until the group has closed
//
// Threads: the group belongs to its home loop (the creating thread's default loop unless given):
// create, listen(), close(), getConnections() and address() are called on its thread, and
// 'listening', 'error' and 'close' are emitted there. The connection and drop listeners are called
// on the worker loops' threads, several at a time: they must not touch shared state without a lock.
// Every worker loop must keep running until the group has emitted 'close' (LoopThreads' loops do
// until stop()), and the home loop too, which the group keeps alive from listen() until 'close'.
//
// Hand-off in flight: a connection handed to a worker is owned by the posted callback until the
// worker's server takes it, so a worker loop that ends with hand-offs queued closes them (their
// clients see the connection closed); nothing leaks. A worker takes its hand-offs in order, and
// close() reaches each worker after every hand-off made before it, so none arrives after 'close'.
// A worker loop that ends before it took the close request counts as closed.
//
// Ownership: held by std::shared_ptr (create()); from listen() until 'close' the group holds a
// reference to itself, so the program may drop its pointers. Errors: bad arguments throw net::Error
// at the call (what Server::listen throws, and ERR_INVALID_ARG_VALUE for a unix path with
// kReusePort or for no worker loops). A listen that fails later on
// any loop emits 'error' on the home loop (thrown out of its run() with no listener), and the group
// then closes what did listen: 'close' follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "net/address.h"
#include "net/error.h"
#include "net/event_emitter.h"
#include "net/server.h"
#include "reactor/loop.h"

namespace net {

enum class Balancing { kReusePort, kHandOff };

struct ServerGroupOptions {
  ServerOptions server;                   // as for one server; applied on every loop
  Balancing balancing = Balancing::kHandOff;
  int maxConnectionsPerLoop = -1;         // each worker's server's maxConnections (negative: no limit)
};

using DropListener = std::function<void(const DropInfo&)>;

class ServerGroup final : public EventEmitter<ServerGroup, Event<"listening", void()>, Event<"close", void()>,
                                              Event<"error", void(const Error&)>>,
                          public std::enable_shared_from_this<ServerGroup> {
 public:
  // A group serving on `workers` (at least one), at home on the calling thread's default loop or on
  // `home`. `onConnection` and `onDrop` are called on the worker that serves or refuses.
  static std::shared_ptr<ServerGroup> create(std::vector<reactor::Loop*> workers, ServerGroupOptions options,
                                             ConnectionListener onConnection, DropListener onDrop = {});
  static std::shared_ptr<ServerGroup> create(reactor::Loop& home, std::vector<reactor::Loop*> workers,
                                             ServerGroupOptions options, ConnectionListener onConnection,
                                             DropListener onDrop = {});
  ~ServerGroup();
  ServerGroup(const ServerGroup&) = delete;
  ServerGroup& operator=(const ServerGroup&) = delete;

  // Starts listening on every loop; 'listening' (and `cb`) once every loop listens. TCP only with
  // kReusePort; kHandOff also takes a unix path.
  ServerGroup& listen(const ListenOptions& options, std::function<void()> cb = {});
  // Stops accepting on every loop: at once with kHandOff (one listener), and with kReusePort as
  // soon as each worker takes the request. 'close' (and `cb`, with nullptr) follows once, when
  // every loop's connections have closed. Not listening: `cb` gets ERR_SERVER_NOT_RUNNING, and
  // 'close' comes on the next tick, as a single server's.
  ServerGroup& close(std::function<void(const Error*)> cb = {});
  // The open connections of every loop, summed, passed to `cb` on the home loop.
  void getConnections(std::function<void(const Error*, std::size_t)> cb);

  // The shared address: with kHandOff the listener's, as Server::address() (so right after listen()
  // for a numeric host); with kReusePort once 'listening' was emitted. Empty when not listening.
  AddressInfo address() const;
  bool listening() const { return state_ == State::kListening; }
  std::size_t size() const { return workers_.size(); }
  reactor::Loop& loop() const { return home_; }  // the home loop

 private:
  enum class State : std::uint8_t { kIdle, kStarting, kListening, kClosing };
  struct Worker {
    reactor::Loop* loop;
    std::shared_ptr<Server> server;  // used on `loop`'s thread only, once created
  };

  ServerGroup(reactor::Loop& home, std::vector<reactor::Loop*> workers, ServerGroupOptions options,
              ConnectionListener onConnection, DropListener onDrop);

  void handOff(int fd);
  void listenWorker(std::size_t index, ListenOptions options);
  // The answers of the workers' (and the acceptor's) servers, on the home loop.
  void workerListened(const AddressInfo& address);
  void workerFailed(const Error& error);
  void closeWorkers();
  void workerClosed();

  reactor::Loop& home_;
  std::vector<Worker> workers_;
  Balancing balancing_;
  std::shared_ptr<Server> acceptor_;  // kHandOff: the listener, on the home loop
  State state_ = State::kIdle;
  AddressInfo address_;
  ListenOptions listenOptions_;   // kReusePort: what the workers after the first listen with
  std::size_t pending_ = 0;       // workers (and acceptor) yet to answer the current listen or close
  std::size_t nextWorker_ = 0;    // kHandOff: round robin
  reactor::Loop::KeepAlive keepAlive_;
  std::shared_ptr<ServerGroup> self_;  // held from listen() until 'close'
};

}  // namespace net
