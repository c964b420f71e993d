// echo-server: the library's echo (or discard) server, for trying it by hand and for benchmarks.
//
// Honours backpressure: when write() returns false the connection is paused until 'drain', so a
// peer that does not read cannot make the server buffer without bound. SIGINT/SIGTERM close the
// server, let open connections finish, and after a grace period exit with what is left, which the
// kernel closes. The server keeps no list of its connections for that: an idle connection costs
// what the library needs for it and nothing more.
//
// Accepted TCP connections get TCP_NODELAY (ServerOptions::noDelay), as every peer server of the
// benchmarks does: a small echo goes out at once instead of waiting on Nagle's algorithm. It
// listens on 127.0.0.1 unless --host says otherwise.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "net/net.h"
#include "tools/common/signal_watch.h"

namespace {

constexpr std::int64_t kShutdownGraceMs = 5000;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;
  bool discard = false;
  std::int64_t idleTimeoutMs = 0;
  bool allowHalfOpen = false;
  int maxConnections = -1;
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: echo-server [options]\n"
      "  --host HOST             address to listen on (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
      "  --port N                TCP port (default 0: pick a free one)\n"
      "  --path PATH             listen on a unix-domain socket instead\n"
      "  --mode echo|discard     send every byte back (default), or drop it\n"
      "  --idle-timeout MS       end connections idle for MS milliseconds\n"
      "  --allow-half-open       keep writing after the peer ends its side\n"
      "  --max-connections N     refuse connections beyond N\n"
      "  --backend epoll|kqueue  poller backend (only the platform's own is built in)\n"
      "  --help                  this text\n"
      "Accepted TCP connections use TCP_NODELAY (no Nagle delay), as the benchmark peers do.\n"
      "The first line on stdout is 'listening on HOST:PORT' (or the path). Each refused connection\n"
      "is logged on stderr: 'echo-server: drop ADDRESS:PORT (REASON)'.\n",
      out);
}

long numberArgument(const char* flag, const char* value) {
  char* end = nullptr;
  long number = std::strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || number < 0) {
    std::fprintf(stderr, "echo-server: %s needs a non-negative number, got '%s'\n", flag, value);
    std::exit(2);
  }
  return number;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (flag == "--allow-half-open") {
      options.allowHalfOpen = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "echo-server: %s needs a value (see --help)\n", flag.c_str());
      std::exit(2);
    }
    const char* value = argv[++i];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<int>(numberArgument("--port", value));
    } else if (flag == "--path") {
      options.path = value;
    } else if (flag == "--mode") {
      if (std::strcmp(value, "echo") != 0 && std::strcmp(value, "discard") != 0) {
        std::fprintf(stderr, "echo-server: --mode is echo or discard, got '%s'\n", value);
        std::exit(2);
      }
      options.discard = std::strcmp(value, "discard") == 0;
    } else if (flag == "--idle-timeout") {
      options.idleTimeoutMs = numberArgument("--idle-timeout", value);
    } else if (flag == "--max-connections") {
      options.maxConnections = static_cast<int>(numberArgument("--max-connections", value));
    } else if (flag == "--backend") {
      if (std::strcmp(value, reactor::Loop::forThisThread().backendName()) != 0) {
        std::fprintf(stderr, "echo-server: backend '%s' is not built in here (this build has %s)\n", value,
                     reactor::Loop::forThisThread().backendName());
        std::exit(2);
      }
    } else {
      std::fprintf(stderr, "echo-server: unknown option %s (see --help)\n", flag.c_str());
      std::exit(2);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options options = parse(argc, argv);
  reactor::Loop& loop = reactor::Loop::forThisThread();

  net::ServerOptions serverOptions;
  serverOptions.allowHalfOpen = options.allowHalfOpen;
  serverOptions.noDelay = true;
  auto server = net::createServer(serverOptions, [&](std::shared_ptr<net::Socket> socket) {
    // Listeners take the socket as an argument rather than capture it: a listener that captures
    // nothing adds nothing to its node, and a connection costs that much less (net/README.md).
    socket->on("error", [](const net::Error&) {});  // a reset peer is routine for a server
    if (options.idleTimeoutMs > 0) {
      socket->setTimeout(options.idleTimeoutMs);
      socket->once("timeout", [](net::Socket& idle) { idle.end(); });
    }
    if (options.discard) {
      socket->on("data", [](std::string_view) {});
      return;
    }
    socket->on("data", [](net::Socket& connection, std::string_view data) {
      if (!connection.write(data)) {
        connection.pause();
        connection.once("drain", [](net::Socket& drained) { drained.resume(); });
      }
    });
  });
  if (options.maxConnections >= 0) server->setMaxConnections(options.maxConnections);
  // Connections the server refuses (maxConnections, or shed for want of descriptors) are logged.
  server->on("drop", [](const net::DropInfo& drop) {
    std::fprintf(stderr, "echo-server: drop %s:%d (%s)\n", drop.remoteAddress.c_str(), drop.remotePort,
                 drop.reason.c_str());
  });
  server->on("error", [](const net::Error& error) {
    std::fprintf(stderr, "echo-server: %s\n", error.what());
    std::exit(1);
  });

  tools::SignalWatch shutdownOnSignal(loop, [&] {
    server->close();
    reactor::Timeout grace = loop.setTimeout(
        [] {
          std::fflush(nullptr);
          std::_Exit(0);
        },
        kShutdownGraceMs);
    grace.unref();  // connections that end sooner let the program exit sooner
  });

  auto announce = [&] {
    net::AddressInfo address = server->address();
    if (address.family.empty()) {
      std::cout << "listening on " << address.address << std::endl;
    } else if (address.family == "IPv6") {
      std::cout << "listening on [" << address.address << "]:" << address.port << std::endl;
    } else {
      std::cout << "listening on " << address.address << ":" << address.port << std::endl;
    }
  };
  try {
    if (!options.path.empty()) {
      server->listen(options.path, announce);
    } else {
      server->listen(options.port, options.host, announce);
    }
  } catch (const net::Error& error) {
    std::fprintf(stderr, "echo-server: %s\n", error.what());
    return 2;
  }
  loop.run();
  return 0;
}
