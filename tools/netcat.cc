// netcat: connect to (or, with -l, accept one connection on) a TCP or unix-domain socket and pipe
// stdin to it and it to stdout. When stdin ends, our side of the connection ends (as `nc -N`);
// the program exits when the peer has ended too.
//
// stdin may be a terminal, a pipe or a regular file (which epoll cannot watch), so it is read by a
// helper thread that hands each chunk to the loop with post() and waits until the socket has taken
// it ('drain' when write() returned false): memory stays bounded when the network is slow.
#include <signal.h>
#include <unistd.h>

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
      "usage: netcat [-l] HOST PORT\n"
      "       netcat [-l] -U PATH\n"
      "  -l       listen and accept one connection instead of connecting\n"
      "           (HOST 127.0.0.1 by default: give :: or 0.0.0.0 to listen on all interfaces)\n"
      "  -U PATH  use a unix-domain socket\n"
      "  --help   this text\n"
      "stdin goes to the peer; when it ends, our side is half-closed. What the peer sends goes to stdout.\n",
      out);
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
      ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0) {
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
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
  });
  socket->on("error", [&status](const net::Error& error) {
    std::fprintf(stderr, "netcat: %s\n", error.what());
    status = 1;
  });
  // Exit rather than return: the stdin thread may still be blocked in read().
  socket->on("close", [&status] { std::exit(status); });
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  bool listen = false;
  std::string path;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "-l") {
      listen = true;
    } else if (arg == "-U" && i + 1 < argc) {
      path = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "netcat: unknown option %s (see --help)\n", arg.c_str());
      return 2;
    } else {
      positional.push_back(arg);
    }
  }
  if (path.empty() && positional.size() == 1 && listen) positional.insert(positional.begin(), "127.0.0.1");
  if (path.empty() && positional.size() != 2) {
    usage(stderr);
    return 2;
  }
  reactor::Loop& loop = reactor::Loop::forThisThread();
  Handoff handoff;
  int status = 0;
  try {
    if (listen) {
      std::shared_ptr<net::Server> server;
      server = net::createServer([&](std::shared_ptr<net::Socket> socket) {
        server->close();  // one connection, as nc -l
        attach(socket, status);
        pipeStdinTo(loop, socket, handoff);
      });
      server->on("error", [](const net::Error& error) {
        std::fprintf(stderr, "netcat: %s\n", error.what());
        std::exit(1);
      });
      if (path.empty()) {
        server->listen(std::stoi(positional[1]), positional[0]);
      } else {
        server->listen(path);
      }
    } else {
      auto socket = net::Socket::create();
      attach(socket, status);
      auto start = [&loop, socket, &handoff] { pipeStdinTo(loop, socket, handoff); };
      if (path.empty()) {
        socket->connect(std::stoi(positional[1]), positional[0], start);
      } else {
        socket->connect(path, start);
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "netcat: %s\n", error.what());
    return 2;
  }
  loop.run();
  return status;
}
