// netcat: OpenBSD nc's common flags on this library. Connects to HOST PORT (or, with -l, accepts a
// connection on [HOST] PORT) over TCP, or over a unix-domain socket with -U, and pipes stdin to
// the peer and the peer to stdout. The flags keep nc's meanings:
//   -l         listen instead of connecting (one connection; -k for one after another)
//   -p PORT    with -l the port to listen on (as Debian's nc takes it); else the source port
//   -N         shut down our side (send FIN) when stdin ends; without it stdin's end changes
//   nothing -U         unix-domain socket -v         say on stderr when a connection is made or
//   received -w SECS    give up on a connection not made, or idle, after SECS seconds (not with -l)
//   -k         with -l, accept another connection when one ends, instead of exiting
//   -z         connect and close at once, sending nothing: exit 0 if something listens
// The peer ending its side does not end ours: stdin still goes to it until stdin ends (then our
// side ends, -N or not: nothing can come any more) or the connection closes. The program exits
// when the connection has closed on both sides.
//
// stdout carries what the peer sent, byte for byte, and nothing else: errors, -v's lines and, with
// -l, the line 'listening on ADDRESS' (which tells the port picked for port 0; nc prints nothing
// there) go to stderr. A listening netcat binds 127.0.0.1 unless given a host: nothing off this
// machine reaches it by accident.
// Exit status: 0 when the connection closed (with -z: something listens), 1 when the connection
// failed or timed out (the message carries Node's code, such as ECONNREFUSED), 2 for bad arguments.
//
// stdin may be a terminal, a pipe or a regular file (which epoll cannot watch), so it is read by a
// helper thread that hands each chunk to the loop with post() and waits until the socket has taken
// it ('drain' when write() returned false): memory stays bounded when the network is slow. That
// thread may be blocked in read() when the program is done, so the program ends with _Exit():
// exit() would destroy the loop under a thread that may still post to it.
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/net.h"
#include "tools/common/command_line.h"

namespace {

constexpr std::uint64_t kMaxWaitSeconds =
    INT32_MAX / 1000;  // the loop's longest timer is 2^31 - 1 ms

void usage(std::FILE* out) {
  std::fputs(
      "usage: netcat [-Nvz] [-p SOURCE_PORT] [-w SECS] HOST PORT\n"
      "       netcat -l [-kNv] [-p PORT] [HOST] [PORT]\n"
      "       netcat [-l] [-kNvz] [-w SECS] -U PATH\n"
      "  -l         listen and accept one connection instead of connecting; HOST is 127.0.0.1\n"
      "             by default (give :: or 0.0.0.0 to listen on all interfaces), PORT 0 picks a\n"
      "             free port; 'listening on ADDRESS' goes to stderr once listening\n"
      "  -p PORT    with -l: the port to listen on; else the local (source) port to connect from\n"
      "  -N         shut down the connection's sending side when stdin ends (else stdin's end\n"
      "             changes nothing, as with nc)\n"
      "  -U         PATH is a unix-domain socket\n"
      "  -v         verbose: say on stderr when a connection is made or received\n"
      "  -w SECS    a connection not made, or idle, for SECS seconds (1 to 2147483) is given\n"
      "             up; not with -l\n"
      "  -k         with -l: when a connection ends, accept the next one instead of exiting;\n"
      "             a connection arriving while one is open is refused\n"
      "  -z         connect and close at once without sending anything (is something listening?)\n"
      "  -h, --help     this text\n"
      "  -V, --version  the version\n"
      "PORT is a number from 0 (with -l: pick one) to 65535. What the peer sends goes to stdout,\n"
      "and only that: messages go to stderr. netcat exits once the connection has closed.\n"
      "Exit status: 0 done, 1 the connection failed or timed out, 2 bad arguments.\n",
      out);
}

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "netcat: %s (see --help)\n", message.c_str());
  std::exit(2);
}

// Ends the program from the loop thread (see the file comment for why not exit()).
[[noreturn]] void finish(int status) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(status);
}

struct Arguments {
  bool listen = false;
  bool keepListening = false;  // -k
  bool shutdownOnEof = false;  // -N
  bool verbose = false;        // -v
  bool scan = false;           // -z
  std::int64_t waitMs = 0;     // -w, 0: none
  std::string path;            // -U: a unix-domain socket; empty for TCP
  std::string host;
  int port = 0;
  int sourcePort = 0;  // -p without -l
};

int parsePort(const std::string& what, const std::string& text) {
  const std::optional<std::uint64_t> port = tools::wholeNumber(text, 0, 65535);
  if (!port) usageError(what + " must be a number from 0 to 65535, got '" + text + "'");
  return static_cast<int>(*port);
}

Arguments parse(int argc, char** argv) {
  static const option kLongOptions[] = {{"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'V'},
                                        {nullptr, 0, nullptr, 0}};
  Arguments arguments;
  bool unix = false;
  std::optional<std::string> portOption;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, ":hVlkNUvzp:w:", kLongOptions, nullptr)) != -1;) {
    switch (c) {
      case 'h':
        usage(stdout);
        std::exit(0);
      case 'V':
        tools::printVersion("netcat");
        std::exit(0);
      case 'l':
        arguments.listen = true;
        break;
      case 'k':
        arguments.keepListening = true;
        break;
      case 'N':
        arguments.shutdownOnEof = true;
        break;
      case 'U':
        unix = true;
        break;
      case 'v':
        arguments.verbose = true;
        break;
      case 'z':
        arguments.scan = true;
        break;
      case 'p':
        portOption = optarg;
        break;
      case 'w': {
        const std::optional<std::uint64_t> seconds = tools::wholeNumber(optarg, 1, kMaxWaitSeconds);
        if (!seconds) {
          usageError("-w needs a whole number of seconds from 1 to " +
                     std::to_string(kMaxWaitSeconds) + ", got '" + optarg + "'");
        }
        arguments.waitMs = static_cast<std::int64_t>(*seconds) * 1000;
        break;
      }
      default:
        usageError(tools::getoptError(c, argv));
    }
  }
  std::vector<std::string> positional(argv + optind, argv + argc);
  if (arguments.keepListening && !arguments.listen) usageError("-k needs -l");
  if (arguments.listen && arguments.scan) usageError("-l and -z exclude each other");
  if (arguments.listen && arguments.waitMs > 0) usageError("-w does not apply to -l");
  if (unix) {
    if (portOption) usageError("-p does not apply to -U");
    if (positional.size() != 1) usageError("-U needs one PATH");
    if (positional[0].empty()) usageError("-U needs a PATH");
    arguments.path = positional[0];
    return arguments;
  }
  if (arguments.listen) {
    // nc -l [HOST] PORT, or Debian's nc -l -p PORT [HOST].
    if (portOption) {
      if (positional.size() > 1)
        usageError("-l -p PORT takes at most a HOST, got '" + positional.back() + "'");
      positional.push_back(*portOption);
    }
    if (positional.size() == 1) positional.insert(positional.begin(), "127.0.0.1");
    if (positional.size() != 2)
      usageError(positional.empty() ? "-l needs a PORT" : "-l takes [HOST] PORT");
  } else {
    if (portOption) arguments.sourcePort = parsePort("-p", *portOption);
    if (positional.size() != 2) usageError("expected HOST PORT");
  }
  if (positional[0].empty()) usageError("HOST must not be empty");
  arguments.host = positional[0];
  arguments.port = parsePort("PORT", positional[1]);
  return arguments;
}

std::string describe(const net::AddressInfo& address) {
  if (address.family.empty()) return address.address;  // a unix-domain socket's path
  const std::string host = address.family == "IPv6" ? "[" + address.address + "]" : address.address;
  return host + ":" + std::to_string(address.port);
}

// Blocks the reading thread until the loop says the last chunk was taken.
class Handoff {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    taken_.wait(lock, [this] { return ready_; });
    ready_ = false;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      ready_ = true;
    }
    taken_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable taken_;
  bool ready_ = false;
};

// The connection of the moment and stdin's way to it; everything but the reading thread's loop
// belongs to the loop thread.
class Session {
 public:
  Session(reactor::Loop& loop, const Arguments& arguments) : loop_(loop), arguments_(arguments) {}

  // A connection was made (or accepted): it gets stdin from now on.
  void attach(const std::shared_ptr<net::Socket>& socket) {
    current_ = socket;
    net::Socket* raw = socket.get();
    socket->on("data", [](std::string_view data) {
      if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() ||
          std::fflush(stdout) != 0) {
        std::fprintf(stderr, "netcat: writing to stdout: %s\n", std::strerror(errno));
        finish(1);
      }
    });
    socket->on("error", [this](const net::Error& error) {
      std::fprintf(stderr, "netcat: %s\n", error.what());
      status_ = 1;
    });
    socket->on("end", [this, raw] {
      // Nothing more comes from the peer: once stdin has ended too, our side ends (-N or not),
      // and the connection closes, as nc exits then.
      if (current_.get() != raw) return;
      peerEnded_ = true;
      if (stdinEnded_) raw->end();
    });
    socket->on("close", [this, raw](bool) { closed(raw); });
    peerEnded_ = false;
    if (stdinEnded_ && arguments_.shutdownOnEof) socket->end();
  }

  // The connection is up: stdin starts flowing to it (the reading thread starts once).
  void connected() {
    if (readerStarted_) return;
    readerStarted_ = true;
    // The loop cannot see the reading thread: until stdin ends, it stays alive for it, as Node's
    // process.stdin keeps a program running (a connection with nothing to do does not).
    stdinOpen_ = reactor::Loop::KeepAlive(loop_);
    std::thread([this] { readStdin(); }).detach();
  }

  int status() const { return status_; }

 private:
  void closed(net::Socket* socket) {
    if (current_.get() != socket) return;
    current_.reset();
    if (awaitingDrain_) {  // the reading thread waits on a socket that is gone
      awaitingDrain_ = false;
      handoff_.release();
    }
    if (!arguments_.keepListening) finish(status_);
  }

  void readStdin() {
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // end of input; a read error ends it as well, there being nothing more to send
        loop_.post([this] { stdinEnded(); });
        return;
      }
      loop_.post([this, chunk = std::string(buffer, static_cast<std::size_t>(n))]() mutable {
        take(std::move(chunk));
      });
      handoff_.wait();
    }
  }

  void take(std::string chunk) {
    if (!current_ || current_->destroyed() || current_->write(std::move(chunk))) {
      handoff_.release();  // no connection (between two with -k): the chunk is dropped, as nc does
      return;
    }
    awaitingDrain_ = true;
    current_->once("drain", [this] {
      if (!awaitingDrain_) return;
      awaitingDrain_ = false;
      handoff_.release();
    });
  }

  void stdinEnded() {
    stdinEnded_ = true;
    stdinOpen_.reset();
    if ((arguments_.shutdownOnEof || peerEnded_) && current_) current_->end();
  }

  reactor::Loop& loop_;
  const Arguments& arguments_;
  Handoff handoff_;
  std::shared_ptr<net::Socket> current_;
  bool readerStarted_ = false;
  reactor::Loop::KeepAlive stdinOpen_;
  bool awaitingDrain_ = false;
  bool stdinEnded_ = false;
  bool peerEnded_ = false;  // the current connection's peer has ended its side
  int status_ = 0;
};

std::string target(const Arguments& arguments) {
  return arguments.path.empty() ? arguments.host + " " + std::to_string(arguments.port)
                                : arguments.path;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Arguments arguments = parse(argc, argv);
  reactor::Loop& loop = reactor::Loop::forThisThread();
  Session session(loop, arguments);
  bool connected = false;  // -w: whether a timeout is the connect's or an idle connection's
  try {
    if (arguments.listen) {
      net::ServerOptions options;
      options.allowHalfOpen = true;  // the peer's end leaves ours to stdin
      auto server = net::createServer(options);
      // -k: one connection at a time; one arriving meanwhile is refused.
      if (arguments.keepListening) server->setMaxConnections(1);
      server->on("connection", [&, raw = server.get()](const std::shared_ptr<net::Socket>& socket) {
        if (!arguments.keepListening) raw->close();  // one connection, as nc -l
        if (arguments.verbose) {
          std::fprintf(
              stderr, "Connection received on %s\n",
              describe({socket->remoteAddress(), socket->remoteFamily(), socket->remotePort()})
                  .c_str());
        }
        session.attach(socket);
        session.connected();
      });
      server->on("error", [](const net::Error& error) {
        std::fprintf(stderr, "netcat: %s\n", error.what());
        finish(1);
      });
      auto announce = [raw = server.get()] {
        std::fprintf(stderr, "listening on %s\n", describe(raw->address()).c_str());
      };
      if (arguments.path.empty()) {
        server->listen(arguments.port, arguments.host, announce);
      } else {
        server->listen(arguments.path, announce);
      }
    } else {
      net::SocketOptions options;
      options.allowHalfOpen = true;  // the peer's end leaves ours to stdin
      net::ConnectOptions connect;
      if (arguments.path.empty()) {
        connect.host = arguments.host;
        connect.port = arguments.port;
        connect.localPort = arguments.sourcePort;
      } else {
        connect.path = arguments.path;
      }
      auto socket = net::Socket::create(options);
      net::Socket* raw = socket.get();
      if (arguments.waitMs > 0) {
        socket->setTimeout(arguments.waitMs, [raw, &arguments, &connected] {
          if (!connected) {
            std::fprintf(stderr, "netcat: connect to %s: timed out after %lld s\n",
                         target(arguments).c_str(),
                         static_cast<long long>(arguments.waitMs / 1000));
            finish(1);
          }
          raw->destroy();  // idle for -w seconds: done, as nc
        });
      }
      session.attach(socket);
      // A raw pointer: the socket keeps this listener until it connects, and must not keep itself.
      socket->connect(connect, [&session, &arguments, &connected, raw] {
        connected = true;
        if (arguments.verbose) {
          std::fprintf(stderr, "Connection to %s port [%s] succeeded!\n", target(arguments).c_str(),
                       arguments.path.empty() ? "tcp/*" : "unix");
        }
        if (arguments.scan) {
          raw->destroy();
          return;
        }
        session.connected();
      });
    }
  } catch (const net::Error& error) {
    std::fprintf(stderr, "netcat: %s\n", error.what());
    return 2;
  }
  loop.run();
  finish(session.status());
}
