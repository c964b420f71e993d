// netcat: connect to (or, with -l, accept one connection on) a TCP or unix-domain socket and pipe
// stdin to it and it to stdout. When stdin ends, our side of the connection ends (as `nc -N`);
// the program exits when the peer has ended its side too.
//
// stdout carries what the peer sent, byte for byte, and nothing else: errors and, with -l, the
// line 'listening on ADDRESS' (which tells the port picked for port 0) go to stderr. A listening
// netcat binds 127.0.0.1 unless given a host: nothing off this machine reaches it by accident.
// Exit status: 0 when both sides ended, 1 when the connection failed (the message carries Node's
// code, such as ECONNREFUSED), 2 for bad arguments.
//
// stdin may be a terminal, a pipe or a regular file (which epoll cannot watch), so it is read by a
// helper thread that hands each chunk to the loop with post() and waits until the socket has taken
// it ('drain' when write() returned false): memory stays bounded when the network is slow. That
// thread may be blocked in read() when the program is done, so the program ends with _Exit():
// exit() would destroy the loop under a thread that may still post to it.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/net.h"

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: netcat HOST PORT\n"
      "       netcat -l [HOST] PORT\n"
      "       netcat [-l] -U PATH\n"
      "  -l       listen and accept one connection instead of connecting; HOST is 127.0.0.1\n"
      "           by default (give :: or 0.0.0.0 to listen on all interfaces), PORT 0 picks a\n"
      "           free port; 'listening on ADDRESS' goes to stderr once listening\n"
      "  -U PATH  use a unix-domain socket\n"
      "  --help   this text\n"
      "stdin goes to the peer; when it ends, our side is half-closed. What the peer sends goes to\n"
      "stdout, and only that: messages go to stderr. netcat exits once both sides have ended.\n"
      "Exit status: 0 done, 1 the connection failed, 2 bad arguments.\n",
      out);
}

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "netcat: %s (see --help)\n", message.c_str());
  std::exit(2);
}

// Ends the program from the loop thread (see the file comment for why not exit()).
[[noreturn]] void finish(int status) {
  std::fflush(stdout);
  std::_Exit(status);
}

struct Arguments {
  bool listen = false;
  std::string path;  // a unix-domain socket; empty for TCP
  std::string host;
  int port = 0;
};

int parsePort(const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(text) > 65535) usageError("PORT must be a number from 0 to 65535, got '" + text + "'");
  return std::stoi(text);
}

Arguments parse(int argc, char** argv) {
  Arguments arguments;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (arg == "-l") {
      arguments.listen = true;
    } else if (arg == "-U") {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') usageError("-U needs a PATH");
      arguments.path = argv[++i];
    } else if (arg.size() > 1 && arg[0] == '-') {
      usageError("unknown option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  if (!arguments.path.empty()) {
    if (!positional.empty()) usageError("-U PATH takes no HOST or PORT, got '" + positional.front() + "'");
    return arguments;
  }
  if (arguments.listen && positional.size() == 1) positional.insert(positional.begin(), "127.0.0.1");
  if (positional.size() != 2) usageError(arguments.listen ? "-l needs [HOST] PORT" : "expected HOST PORT");
  arguments.host = positional[0];
  arguments.port = parsePort(positional[1]);
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

void pipeStdinTo(reactor::Loop& loop, std::shared_ptr<net::Socket> socket, Handoff& handoff) {
  std::thread([&loop, socket, &handoff] {
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // end of input; a read error ends it as well, there being nothing more to send
        loop.post([socket] { socket->end(); });
        return;
      }
      loop.post([socket, &handoff, chunk = std::string(buffer, static_cast<std::size_t>(n))]() mutable {
        if (socket->destroyed() || socket->write(std::move(chunk))) {
          handoff.release();
        } else {
          socket->once("drain", [&handoff] { handoff.release(); });
        }
      });
      handoff.wait();
    }
  }).detach();
}

void attach(const std::shared_ptr<net::Socket>& socket, int& status) {
  socket->on("data", [](std::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0) {
      std::fprintf(stderr, "netcat: writing to stdout: %s\n", std::strerror(errno));
      finish(1);
    }
  });
  socket->on("error", [&status](const net::Error& error) {
    std::fprintf(stderr, "netcat: %s\n", error.what());
    status = 1;
  });
  socket->on("close", [&status](bool) { finish(status); });
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Arguments arguments = parse(argc, argv);
  reactor::Loop& loop = reactor::Loop::forThisThread();
  Handoff handoff;
  int status = 0;
  try {
    if (arguments.listen) {
      net::ServerOptions options;
      options.allowHalfOpen = true;  // the peer's end leaves ours to stdin
      auto server = net::createServer(options);
      server->on("connection", [&, raw = server.get()](std::shared_ptr<net::Socket> socket) {
        raw->close();  // one connection, as nc -l
        attach(socket, status);
        pipeStdinTo(loop, socket, handoff);
      });
      server->on("error", [](const net::Error& error) {
        std::fprintf(stderr, "netcat: %s\n", error.what());
        finish(1);
      });
      auto announce = [raw = server.get()] { std::fprintf(stderr, "listening on %s\n", describe(raw->address()).c_str()); };
      if (arguments.path.empty()) {
        server->listen(arguments.port, arguments.host, announce);
      } else {
        server->listen(arguments.path, announce);
      }
    } else {
      net::SocketOptions options;
      options.allowHalfOpen = true;  // the peer's end leaves ours to stdin
      auto socket = net::Socket::create(options);
      attach(socket, status);
      // A raw pointer: the socket keeps this listener until it connects, and must not keep itself.
      auto start = [&loop, raw = socket.get(), &handoff] { pipeStdinTo(loop, raw->shared_from_this(), handoff); };
      if (arguments.path.empty()) {
        socket->connect(arguments.port, arguments.host, start);
      } else {
        socket->connect(arguments.path, start);
      }
    }
  } catch (const net::Error& error) {
    std::fprintf(stderr, "netcat: %s\n", error.what());
    return 2;
  }
  loop.run();
  finish(status);
}
