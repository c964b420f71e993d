#include "fuzz/socket_driver.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/byte_reader.h"
#include "fuzz/invariant.h"
#include "net/socket.h"
#include "reactor/loop.h"

namespace fuzz {

namespace {

constexpr int kMaxCalls = 256;
constexpr std::size_t kMaxBytesWrittenPerInput = 1 << 20;
constexpr int kMaxFinalIterations = 64;
constexpr std::int64_t kWatchdogMs = 1000;
constexpr std::size_t kMaxWriteSize = 64 * 4096;
constexpr std::size_t kPatternPeriod = 65521;  // prime: a chunk out of place shows unless a multiple of it

// The events an added listener may hang on, and those whose listeners may all be removed (never
// 'data' or 'close': the bookkeeping there is what the invariants rest on).
constexpr std::array<std::string_view, 7> kListenableEvents = {"data", "end", "finish", "drain",
                                                               "timeout", "error", "close"};
constexpr std::array<std::string_view, 5> kClearableEvents = {"timeout", "drain", "finish", "error", "end"};

int openDescriptors() {
#if defined(__linux__)
  DIR* directory = opendir("/proc/self/fd");
#else
  DIR* directory = opendir("/dev/fd");
#endif
  FUZZ_CHECK(directory != nullptr);
  int count = 0;
  while (readdir(directory) != nullptr) ++count;
  closedir(directory);
  return count;
}

// `size` bytes of end `writer`'s stream from `position` on: a pseudo-random pattern, so that a
// lost, repeated or reordered chunk shows.
std::string_view streamBytes(int writer, std::uint64_t position, std::size_t size) {
  static const std::array<std::string, 2> patterns = [] {
    std::array<std::string, 2> made;
    for (std::size_t w = 0; w < made.size(); ++w) {
      made[w].resize(kPatternPeriod + kMaxWriteSize);
      for (std::size_t k = 0; k < made[w].size(); ++k) {
        std::uint64_t z = (k % kPatternPeriod) * 0x9E3779B97F4A7C15ull + w;
        z = (z ^ (z >> 29)) * 0xBF58476D1CE4E5B9ull;
        made[w][k] = static_cast<char>(z ^ (z >> 32));
      }
    }
    return made;
  }();
  FUZZ_CHECK(size <= kMaxWriteSize);
  return std::string_view(patterns[static_cast<std::size_t>(writer)]).substr(position % kPatternPeriod, size);
}

struct FdPair {
  int first;
  int second;
};

struct LoopbackListener {
  int fd;
  sockaddr_in address;
};

// One listening socket on 127.0.0.1 for the whole process, created before any input counts its
// descriptors: a listener per input would leave a port in TIME_WAIT for every TCP input.
const std::optional<LoopbackListener>& loopbackListener() {
  static const std::optional<LoopbackListener> listener = []() -> std::optional<LoopbackListener> {
    LoopbackListener bound{::socket(AF_INET, SOCK_STREAM, 0), {}};
    bound.address.sin_family = AF_INET;
    bound.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto* name = reinterpret_cast<sockaddr*>(&bound.address);
    socklen_t length = sizeof bound.address;
    if (bound.fd < 0 || ::bind(bound.fd, name, length) < 0 || ::listen(bound.fd, 8) < 0 ||
        getsockname(bound.fd, name, &length) < 0) {
      if (bound.fd >= 0) ::close(bound.fd);
      return std::nullopt;
    }
    return bound;
  }();
  return listener;
}

std::optional<FdPair> tcpPair() {
  const auto& listener = loopbackListener();
  if (!listener) return std::nullopt;
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (client < 0) return std::nullopt;
  if (::connect(client, reinterpret_cast<const sockaddr*>(&listener->address), sizeof listener->address) < 0) {
    ::close(client);
    return std::nullopt;
  }
  const int accepted = ::accept(listener->fd, nullptr, nullptr);
  sockaddr_in clientName{}, acceptedPeer{};
  socklen_t clientLength = sizeof clientName, peerLength = sizeof acceptedPeer;
  getsockname(client, reinterpret_cast<sockaddr*>(&clientName), &clientLength);
  if (accepted >= 0) getpeername(accepted, reinterpret_cast<sockaddr*>(&acceptedPeer), &peerLength);
  if (accepted < 0 || clientName.sin_port != acceptedPeer.sin_port) {  // not ours: an earlier input's leftover
    if (accepted >= 0) ::close(accepted);
    ::close(client);
    return std::nullopt;
  }
  return FdPair{accepted, client};
}

std::optional<FdPair> unixPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) return std::nullopt;
  return FdPair{fds[0], fds[1]};
}

void shrinkBuffers(int fd) {
  const int size = 4096;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

// What the driver knows about one end. Its outgoing stream is the concatenation of the writes it
// accepted; `received` counts the other end's stream delivered to this end's 'data' listener.
struct Side {
  std::shared_ptr<net::Socket> owner;  // the program's pointer, until dropped
  std::weak_ptr<net::Socket> socket;
  std::uint64_t accepted = 0;
  std::uint64_t received = 0;
  bool listeningForData = false;
  bool awaitingDrain = false;
  bool errorHeard = false;
  bool closed = false;
  int errors = 0;
  int ends = 0;
  int finishes = 0;
  int callbacksOwedBeforeClose = 0;  // of writes made before destroy()
  std::deque<std::size_t> callbacksInOrder;  // tickets of accepted writes' callbacks not run yet
  bool writeFailed = false;                  // an accepted write's callback got an error
  std::vector<std::pair<std::string_view, net::ListenerId>> addedListeners;
};

class Session {
 public:
  void run(ByteReader& input);

 private:
  void open(ByteReader& input);
  void call(std::uint8_t code, ByteReader& input);
  void closeAndCheck();

  std::shared_ptr<net::Socket> socketOf(int side) const;
  void listenForData(int side);
  void resume(int side);
  void addBookkeeping(int side, bool handleErrors);
  void addReactingListener(int side, std::string_view event, std::uint8_t reaction);
  void react(int side, std::uint8_t reaction);
  void write(int side, std::size_t size, bool withCallback, bool viewed = false,
             std::optional<std::uint8_t> reaction = std::nullopt);
  void iterate(int times);
  void advance(int ms);
  template <class Run>
  void runCatchingUnhandled(Run&& run);

  reactor::Loop loop_;  // first: destroyed after the sockets
  std::array<Side, 2> sides_;
  std::vector<bool> callbackRan_;
  int unhandledErrorsExpected_ = 0;
  int unhandledErrorsThrown_ = 0;
  std::size_t bytesLeft_ = kMaxBytesWrittenPerInput;
  int timeLeftMs_ = kTimeBudgetMs;
};

std::shared_ptr<net::Socket> Session::socketOf(int side) const {
  const Side& s = sides_[static_cast<std::size_t>(side)];
  return s.owner ? s.owner : s.socket.lock();
}

void Session::run(ByteReader& input) {
  open(input);
  for (int n = 0; n < kMaxCalls && !input.empty(); ++n) call(input.byte(), input);
  closeAndCheck();
}

// Setup: byte 0 bit 0 TCP, bit 1 small kernel buffers, bits 2-3 allowHalfOpen, bits 4-5 no
// 'error' listener, bits 6-7 no 'data' listener until one is added or the end resumed (per end);
// byte 1 each end's high-water mark.
void Session::open(ByteReader& input) {
  const std::uint8_t flags = input.byte();
  const std::uint8_t marks = input.byte();
  std::optional<FdPair> fds = (flags & 1) ? tcpPair() : std::nullopt;
  if (!fds) fds = unixPair();
  FUZZ_CHECK(fds.has_value());
  for (int i = 0; i < 2; ++i) {
    const int fd = i == 0 ? fds->first : fds->second;
    if (flags & 2) shrinkBuffers(fd);
    net::SocketOptions options;
    options.fd = fd;
    options.allowHalfOpen = (flags >> (2 + i)) & 1;
    const int markBits = (marks >> (4 * i)) & 0x0f;
    if (markBits != 0) options.highWaterMark = std::size_t{1} << markBits;
    Side& side = sides_[static_cast<std::size_t>(i)];
    side.owner = net::Socket::create(loop_, options);
    side.socket = side.owner;
    addBookkeeping(i, !((flags >> (4 + i)) & 1));
    if (!((flags >> (6 + i)) & 1)) listenForData(i);
  }
}

void Session::listenForData(int i) {
  Side& side = sides_[static_cast<std::size_t>(i)];
  if (side.listeningForData) return;
  const auto socket = socketOf(i);
  if (!socket) return;
  side.listeningForData = true;
  socket->on("data", [this, i](std::string_view data) {
    Side& reader = sides_[static_cast<std::size_t>(i)];
    const Side& writer = sides_[static_cast<std::size_t>(1 - i)];
    FUZZ_CHECK(!reader.closed);
    FUZZ_CHECK(reader.received + data.size() <= writer.accepted);
    FUZZ_CHECK(data == streamBytes(1 - i, reader.received, data.size()));
    reader.received += data.size();
  });
}

// Data flows to whoever listens once resumed, so the bookkeeping listener comes first.
void Session::resume(int i) {
  listenForData(i);
  if (const auto socket = socketOf(i)) socket->resume();
}

void Session::addBookkeeping(int i, bool handleErrors) {
  const auto socket = socketOf(i);
  net::Socket* raw = socket.get();  // listeners die with the socket, so a raw pointer is enough
  Side& side = sides_[static_cast<std::size_t>(i)];
  socket->on("end", [this, i] {
    Side& reader = sides_[static_cast<std::size_t>(i)];
    const Side& writer = sides_[static_cast<std::size_t>(1 - i)];
    FUZZ_CHECK(!reader.closed);
    FUZZ_CHECK(++reader.ends == 1);
    // The writer's FIN follows all its accepted bytes, unless it was destroyed (data dropped).
    const auto writerSocket = writer.socket.lock();
    if (writerSocket && !writerSocket->destroyed() && reader.listeningForData) {
      FUZZ_CHECK(reader.received == writer.accepted);
    }
  });
  socket->on("finish", [&side, raw] {
    FUZZ_CHECK(!side.closed);
    FUZZ_CHECK(++side.finishes == 1);
    FUZZ_CHECK(raw->writableEnded());
  });
  socket->on("drain", [&side] {
    FUZZ_CHECK(!side.closed);
    FUZZ_CHECK(side.awaitingDrain);
    side.awaitingDrain = false;
  });
  socket->on("timeout", [&side, raw] {
    FUZZ_CHECK(!side.closed);
    FUZZ_CHECK(raw->timeout() > 0);
  });
  if (handleErrors) {
    socket->on("error", [&side] {
      FUZZ_CHECK(!side.closed);
      FUZZ_CHECK(++side.errors == 1);
      side.errorHeard = true;
    });
  }
  socket->on("close", [this, &side, raw](bool hadError) {
    FUZZ_CHECK(!side.closed);
    side.closed = true;
    FUZZ_CHECK(raw->destroyed());
    FUZZ_CHECK(side.callbacksOwedBeforeClose == 0);
    if (!hadError) FUZZ_CHECK(!side.errorHeard);
    if (hadError && !side.errorHeard) ++unhandledErrorsExpected_;  // thrown out of the loop next
  });
  for (const std::string_view never : {"connect", "ready", "lookup"}) {
    socket->on(never, [] { violated("an open socket connected or looked up", __FILE__, __LINE__); });
  }
}

void Session::addReactingListener(int i, std::string_view event, std::uint8_t reaction) {
  const auto socket = socketOf(i);
  if (!socket) return;
  if (event == "data") listenForData(i);  // the bookkeeping listener must hear the first byte too
  auto self = std::make_shared<net::ListenerId>(0);
  const net::ListenerId id = socket->on(event, [this, i, event, reaction, self] {
    if (event == "error") sides_[static_cast<std::size_t>(i)].errorHeard = true;
    if (reaction % 12 == 11) {  // the listener removes itself
      if (const auto socket = socketOf(i)) socket->off(event, *self);
      return;
    }
    react(i, reaction);
  });
  *self = id;
  sides_[static_cast<std::size_t>(i)].addedListeners.emplace_back(event, id);
}

// What an added listener or a write callback does when called: a call on its own socket, made
// re-entrantly (reaction % 12 == 11, a listener removing itself, is the listener's own).
void Session::react(int i, std::uint8_t reaction) {
  const auto socket = socketOf(i);
  if (!socket) return;
  switch (reaction % 12) {
    case 0: break;
    case 1: socket->pause(); break;
    case 2: resume(i); break;
    case 3: socket->end(); break;
    case 4: socket->destroy(); break;
    case 5: socket->destroy(net::Error("EFUZZ", "destroyed by a listener")); break;
    case 6: write(i, std::size_t{reaction} / 12 * 97, false); break;
    case 7: socket->setTimeout(1); break;
    case 8: socket->setTimeout(0); break;
    case 9: sides_[static_cast<std::size_t>(i)].owner.reset(); break;
    case 10: socket->destroySoon(); break;
  }
}

// A write of the next `size` bytes of the side's stream, moved (a string of its own) or viewed (a
// view into the pattern); its callback, if any, checks that it runs once and in order, then reacts.
void Session::write(int i, std::size_t size, bool withCallback, bool viewed, std::optional<std::uint8_t> reaction) {
  const auto socket = socketOf(i);
  if (!socket) return;
  Side& side = sides_[static_cast<std::size_t>(i)];
  size = std::min(size, bytesLeft_);
  bytesLeft_ -= size;
  const bool accepted = !socket->destroyed() && !socket->writableEnded();
  const std::string_view data = streamBytes(i, side.accepted, size);
  if (accepted) side.accepted += size;
  net::WriteCallback callback;
  if (withCallback) {
    const std::size_t ticket = callbackRan_.size();
    callbackRan_.push_back(false);
    const bool owedBeforeClose = !socket->destroyed();
    if (owedBeforeClose) ++side.callbacksOwedBeforeClose;
    // Callbacks of accepted writes come in write order; those of writes refused after end() may
    // overtake them (the refusal is reported at once, the queue's failures with the destroy).
    if (accepted) side.callbacksInOrder.push_back(ticket);
    callback = [this, i, &side, ticket, owedBeforeClose, accepted, reaction](const net::Error* error) {
      FUZZ_CHECK(!callbackRan_[ticket]);
      callbackRan_[ticket] = true;
      if (owedBeforeClose) {
        FUZZ_CHECK(!side.closed);
        --side.callbacksOwedBeforeClose;
      }
      if (accepted) {
        FUZZ_CHECK(!side.callbacksInOrder.empty() && side.callbacksInOrder.front() == ticket);
        side.callbacksInOrder.pop_front();
        FUZZ_CHECK(error != nullptr || !side.writeFailed);  // no success after a failure
        if (error != nullptr) side.writeFailed = true;
      }
      if (reaction) react(i, *reaction);
    };
  }
  const bool belowHighWaterMark = viewed ? socket->write(data, std::move(callback))
                                         : socket->write(std::string(data), std::move(callback));
  if (accepted && !belowHighWaterMark && !socket->destroyed()) side.awaitingDrain = true;
}

template <class Run>
void Session::runCatchingUnhandled(Run&& run) {
  try {
    run();
  } catch (const net::Error&) {
    ++unhandledErrorsThrown_;  // an 'error' nobody listened to, as Node's uncaught exception
  }
}

// Loop iterations that do not wait: a pending immediate makes the poll only look.
void Session::iterate(int times) {
  for (int n = 0; n < times; ++n) {
    loop_.setImmediate([] {});
    runCatchingUnhandled([&] { loop_.runOnce(); });
  }
}

// Real time passing, for the idle timeouts: the loop runs until a timer `ms` from now fires.
void Session::advance(int ms) {
  ms = std::min(ms, timeLeftMs_);
  if (ms <= 0) return iterate(1);
  timeLeftMs_ -= ms;
  bool due = false;
  reactor::Timeout deadline = loop_.setTimeout(
      [&] {
        due = true;
        loop_.stop();
      },
      ms);
  while (!due && loop_.alive()) runCatchingUnhandled([&] { loop_.run(); });
  deadline.close();
}

// One call: low nibble what, bit 4 which end, bits 5-7 a small parameter; some take a byte more.
// A write takes its size (0 to 191 bytes, or up to kMaxWriteSize in 64 steps); its parameter's
// bit 0 asks for a callback, bit 1 for a callback that reacts (one byte more: what it does, as a
// listener's reaction), bit 2 for a viewed rather than a moved string.
void Session::call(std::uint8_t code, ByteReader& input) {
  const int i = (code >> 4) & 1;
  const int parameter = code >> 5;
  const auto socket = socketOf(i);
  switch (code & 0x0f) {
    case 0: {
      const std::uint8_t size = input.byte();
      const bool reacting = parameter & 2;
      const std::optional<std::uint8_t> reaction = reacting ? std::optional(input.byte()) : std::nullopt;
      write(i, size < 192 ? size : std::size_t{size - 191u} * kMaxWriteSize / 64, (parameter & 1) || reacting,
            parameter & 4, reaction);
      break;
    }
    case 1: if (socket) socket->end(); break;
    case 2: if (socket) socket->destroy(); break;
    case 3: if (socket) socket->destroy(net::Error("EFUZZ", "destroyed by the program")); break;
    case 4: if (socket) socket->pause(); break;
    case 5: resume(i); break;
    case 6: if (socket) socket->setTimeout(parameter % 4); break;
    case 7: addReactingListener(i, kListenableEvents[static_cast<std::size_t>(parameter % 7)], input.byte()); break;
    case 8: {
      const auto& added = sides_[static_cast<std::size_t>(i)].addedListeners;
      const std::uint8_t which = input.byte();
      if (socket && !added.empty()) {
        const auto& [event, id] = added[which % added.size()];
        socket->off(event, id);
      }
      break;
    }
    case 9: if (socket) socket->removeAllListeners(kClearableEvents[static_cast<std::size_t>(parameter % 5)]); break;
    case 10: sides_[static_cast<std::size_t>(i)].owner.reset(); break;
    case 11: iterate(parameter % 4 + 1); break;
    case 12: advance(parameter % 3 + 1); break;
    case 13: if (socket) socket->destroySoon(); break;
    case 14: listenForData(i); break;
    case 15:
      if (socket) (parameter & 1) ? socket->ref() : socket->unref();
      break;
  }
}

void Session::closeAndCheck() {
  for (int i = 0; i < 2; ++i) {
    if (const auto socket = socketOf(i)) socket->destroy();
  }
  for (int n = 0; n < kMaxFinalIterations && !(sides_[0].closed && sides_[1].closed); ++n) iterate(1);
  FUZZ_CHECK(sides_[0].closed && sides_[1].closed);

  // Unreferenced, so it does not keep the loop alive; it only fires if the loop fails to stop.
  reactor::Timeout watchdog = loop_.setTimeout(
      [] { violated("the loop still runs after both sockets closed", __FILE__, __LINE__); }, kWatchdogMs);
  watchdog.unref();
  while (loop_.alive()) runCatchingUnhandled([&] { loop_.run(); });
  watchdog.close();

  FUZZ_CHECK(unhandledErrorsThrown_ == unhandledErrorsExpected_);
  FUZZ_CHECK(std::all_of(callbackRan_.begin(), callbackRan_.end(), [](bool ran) { return ran; }));
  for (Side& side : sides_) {
    side.owner.reset();
    FUZZ_CHECK(side.socket.expired());
  }
}

}  // namespace

void exploreSocketInput(std::span<const std::uint8_t> input) {
  loopbackListener();  // before counting: it lives as long as the process
  const int descriptorsBefore = openDescriptors();
  {
    ByteReader reader(input);
    Session session;
    session.run(reader);
  }
  FUZZ_CHECK(openDescriptors() == descriptorsBefore);
}

}  // namespace fuzz
