#include "net/server_group.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

namespace net {

namespace {

// A connection on its way to a worker: closed with the posted callback if that never runs.
struct HandedOff {
  explicit HandedOff(int descriptor) : fd(descriptor) {}
  HandedOff(const HandedOff&) = delete;
  HandedOff& operator=(const HandedOff&) = delete;
  ~HandedOff() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

// Runs `fn` when the last copy of the callbacks holding it goes, whether they ran or not.
class OnRelease {
 public:
  explicit OnRelease(std::function<void()> fn) : fn_(std::move(fn)) {}
  ~OnRelease() { fn_(); }
  OnRelease(const OnRelease&) = delete;
  OnRelease& operator=(const OnRelease&) = delete;

 private:
  std::function<void()> fn_;
};

// getConnections' tally, on the home loop. Whatever touches the home loop is released there, by
// the last answer: the worker-side copies of the pointer may be the last to go.
struct Tally {
  std::size_t pending;
  std::size_t total = 0;
  std::function<void(const Error*, std::size_t)> cb;
  reactor::Loop::KeepAlive keepAlive;
};

}  // namespace

std::shared_ptr<ServerGroup> ServerGroup::create(std::vector<reactor::Loop*> workers, ServerGroupOptions options,
                                                 ConnectionListener onConnection, DropListener onDrop) {
  return create(reactor::Loop::forThisThread(), std::move(workers), std::move(options), std::move(onConnection),
                std::move(onDrop));
}

std::shared_ptr<ServerGroup> ServerGroup::create(reactor::Loop& home, std::vector<reactor::Loop*> workers,
                                                 ServerGroupOptions options, ConnectionListener onConnection,
                                                 DropListener onDrop) {
  if (workers.empty() || std::find(workers.begin(), workers.end(), nullptr) != workers.end()) {
    throw Error("ERR_INVALID_ARG_VALUE", "The argument 'workers' must hold at least one loop, and no null one.");
  }
  std::shared_ptr<ServerGroup> group(
      new ServerGroup(home, std::move(workers), std::move(options), std::move(onConnection), std::move(onDrop)));
  // The listening servers report to the home loop: the acceptor is there already, the workers'
  // (kReusePort) post. A group that is gone by then is not told.
  std::weak_ptr<ServerGroup> weak = group;
  if (group->acceptor_) {
    group->acceptor_->on("listening", [weak] {
      if (auto self = weak.lock()) self->workerListened(self->acceptor_->address());
    });
    group->acceptor_->on("error", [weak](const Error& error) {
      if (auto self = weak.lock()) self->workerFailed(error);
    });
  } else {
    for (Worker& worker : group->workers_) {
      worker.server->on("listening", [weak, &home, server = worker.server.get()] {
        home.post([weak, address = server->address()] {
          if (auto self = weak.lock()) self->workerListened(address);
        });
      });
      worker.server->on("error", [weak, &home](const Error& error) {
        home.post([weak, error] {
          if (auto self = weak.lock()) self->workerFailed(error);
        });
      });
    }
  }
  return group;
}

ServerGroup::ServerGroup(reactor::Loop& home, std::vector<reactor::Loop*> workers, ServerGroupOptions options,
                         ConnectionListener onConnection, DropListener onDrop)
    : home_(home), balancing_(options.balancing) {
  ServerOptions workerOptions = options.server;
  if (balancing_ == Balancing::kHandOff) {
    acceptor_ = Server::create(home_, options.server);
    acceptor_->handOff_ = [this](int fd) { handOff(fd); };
    if (onDrop) acceptor_->on("drop", onDrop);
    workerOptions.blockList = nullptr;  // checked by the acceptor already
  }
  for (reactor::Loop* loop : workers) {
    auto server = Server::create(*loop, workerOptions);
    server->setMaxConnections(options.maxConnectionsPerLoop);
    if (onConnection) server->on("connection", onConnection);
    if (onDrop) server->on("drop", onDrop);
    workers_.push_back({loop, std::move(server)});
  }
}

ServerGroup::~ServerGroup() = default;

// --- listening ------------------------------------------------------------------------------------

ServerGroup& ServerGroup::listen(const ListenOptions& options, std::function<void()> cb) {
  if (state_ != State::kIdle) {
    throw Error("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.");
  }
  if (balancing_ == Balancing::kReusePort && !options.path.empty()) {
    throw Error("ERR_INVALID_ARG_VALUE",
                "The argument 'options' can not set path with Balancing::kReusePort: a unix socket cannot be shared");
  }
  Server::validate(options);
  if (acceptor_) acceptor_->listen(options);
  if (cb) once("listening", std::move(cb));
  state_ = State::kStarting;
  self_ = shared_from_this();
  keepAlive_ = reactor::Loop::KeepAlive(home_);
  if (acceptor_) {
    pending_ = 1;
    return *this;
  }
  // The first worker binds (and picks the port, if 0); the others then bind the same one.
  listenOptions_ = options;
  listenOptions_.reusePort = true;
  pending_ = workers_.size();
  listenWorker(0, listenOptions_);
  return *this;
}

void ServerGroup::listenWorker(std::size_t index, ListenOptions options) {
  workers_[index].loop->post([server = workers_[index].server, options = std::move(options)] {
    server->listen(options);  // validated on the home loop already
  });
}

void ServerGroup::workerListened(const AddressInfo& address) {
  if (state_ != State::kStarting) return;  // closed meanwhile
  if (pending_ == workers_.size() && !acceptor_) {
    address_ = address;
    listenOptions_.port = address.port;
    for (std::size_t i = 1; i < workers_.size(); ++i) listenWorker(i, listenOptions_);
  }
  if (acceptor_) address_ = address;
  if (--pending_ > 0) return;
  state_ = State::kListening;
  emit<"listening">();
}

void ServerGroup::workerFailed(const Error& error) {
  if (state_ == State::kStarting) {
    // As a server whose listen failed, the group stops: what did listen closes, 'close' follows.
    state_ = State::kClosing;
    closeWorkers();
  } else if (state_ != State::kListening) {
    return;  // a second failure of the same listen
  }
  if (!emit<"error">(error)) throw error;
}

// --- connections ----------------------------------------------------------------------------------

void ServerGroup::handOff(int fd) {
  Worker& worker = workers_[nextWorker_];
  nextWorker_ = (nextWorker_ + 1) % workers_.size();
  worker.loop->post([server = worker.server, connection = std::make_shared<HandedOff>(fd)] {
    server->admit(std::exchange(connection->fd, -1));
  });
}

void ServerGroup::getConnections(std::function<void(const Error*, std::size_t)> cb) {
  auto tally = std::make_shared<Tally>(Tally{workers_.size(), 0, std::move(cb), reactor::Loop::KeepAlive(home_)});
  for (Worker& worker : workers_) {
    worker.loop->post([server = worker.server, tally, home = &home_] {
      server->getConnections([tally, home](const Error*, std::size_t count) {
        home->post([tally, count] {
          tally->total += count;
          if (--tally->pending > 0) return;
          tally->keepAlive.reset();
          auto cb = std::move(tally->cb);
          cb(nullptr, tally->total);
        });
      });
    });
  }
}

AddressInfo ServerGroup::address() const {
  if (acceptor_) return acceptor_->address();  // bound by listen() itself, as a single server's
  return state_ == State::kListening ? address_ : AddressInfo{};
}

// --- closing --------------------------------------------------------------------------------------

ServerGroup& ServerGroup::close(std::function<void(const Error*)> cb) {
  const bool running = state_ == State::kStarting || state_ == State::kListening;
  if (cb) {
    once("close", [cb = std::move(cb), running] {
      if (running) return cb(nullptr);
      const Error error("ERR_SERVER_NOT_RUNNING", "Server is not running.");
      cb(&error);
    });
  }
  if (state_ == State::kIdle) {
    home_.nextTick([self = shared_from_this()] { self->emit<"close">(); });  // as Node's
  } else if (running) {
    state_ = State::kClosing;
    closeWorkers();
  }
  return *this;
}

void ServerGroup::closeWorkers() {
  pending_ = workers_.size() + (acceptor_ ? 1 : 0);
  if (acceptor_) {
    acceptor_->close([weak = weak_from_this()](const Error*) {
      if (auto self = weak.lock()) self->workerClosed();
    });
  }
  // Each worker takes this after every hand-off made before it (posts run in order), and none can
  // follow: the acceptor stopped above. The worker answers when its server's 'close' listener is
  // released after 'close', or when its loop ended without taking the request: the group does
  // not wait for a loop that is gone.
  for (Worker& worker : workers_) {
    auto answer = std::make_shared<OnRelease>([weak = weak_from_this(), home = &home_] {
      home->post([weak] {
        if (auto self = weak.lock()) self->workerClosed();
      });
    });
    worker.loop->post([server = worker.server, answer] { server->close([answer](const Error*) {}); });
  }
}

void ServerGroup::workerClosed() {
  if (--pending_ > 0) return;
  state_ = State::kIdle;
  address_ = {};
  keepAlive_.reset();
  std::shared_ptr<ServerGroup> self = std::move(self_);
  emit<"close">();
}

}  // namespace net
