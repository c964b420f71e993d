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
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "net/net.h"
#include "tools/common/command_line.h"
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
      "  -H, --host HOST             address to listen on (default 127.0.0.1; :: or 0.0.0.0 for "
      "all)\n"
      "  -p, --port N                TCP port, 0 to 65535 (default 0: pick a free one)\n"
      "  -U, --path PATH             listen on a unix-domain socket instead\n"
      "  -m, --mode echo|discard     send every byte back (default), or drop it\n"
      "  -t, --idle-timeout MS       end connections idle for MS milliseconds (1 to 2147483647;\n"
      "                              0, the default, never)\n"
      "  -A, --allow-half-open       keep writing after the peer ends its side\n"
      "  -c, --max-connections N     refuse connections beyond N (0 to 2147483647)\n"
      "  -b, --backend epoll|kqueue  poller backend (only the platform's own is built in)\n"
      "  -h, --help                  this text\n"
      "  -V, --version               the version\n"
      "Options take their value as --port 9000, --port=9000 or -p 9000.\n"
      "Accepted TCP connections use TCP_NODELAY (no Nagle delay), as the benchmark peers do.\n"
      "The first line on stdout is 'listening on HOST:PORT' (or the path). Each refused "
      "connection\n"
      "is logged on stderr: 'echo-server: drop ADDRESS:PORT (REASON)'.\n"
      "Exit status: 0 after SIGINT or SIGTERM, 1 when the server failed, 2 for bad arguments.\n",
      out);
}

[[noreturn]] void badArgument(const std::string& message) {
  std::fprintf(stderr, "echo-server: %s (see --help)\n", message.c_str());
  std::exit(2);
}

std::uint64_t numberArgument(const char* flag, const char* value, std::uint64_t max) {
  const std::optional<std::uint64_t> number = tools::wholeNumber(value, 0, max);
  if (!number) {
    badArgument(std::string(flag) + " needs a whole number from 0 to " + std::to_string(max) +
                ", got '" + value + "'");
  }
  return *number;
}

Options parse(int argc, char** argv) {
  static const option kLongOptions[] = {{"host", required_argument, nullptr, 'H'},
                                        {"port", required_argument, nullptr, 'p'},
                                        {"path", required_argument, nullptr, 'U'},
                                        {"mode", required_argument, nullptr, 'm'},
                                        {"idle-timeout", required_argument, nullptr, 't'},
                                        {"allow-half-open", no_argument, nullptr, 'A'},
                                        {"max-connections", required_argument, nullptr, 'c'},
                                        {"backend", required_argument, nullptr, 'b'},
                                        {"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'V'},
                                        {nullptr, 0, nullptr, 0}};
  Options options;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, ":H:p:U:m:t:Ac:b:hV", kLongOptions, nullptr)) != -1;) {
    switch (c) {
      case 'h':
        usage(stdout);
        std::exit(0);
      case 'V':
        tools::printVersion("echo-server");
        std::exit(0);
      case 'A':
        options.allowHalfOpen = true;
        break;
      case 'H':
        if (*optarg == '\0') badArgument("--host needs a host name or address");
        options.host = optarg;
        break;
      case 'p':
        options.port = static_cast<int>(numberArgument("--port", optarg, 65535));
        break;
      case 'U':
        if (*optarg == '\0') badArgument("--path needs a path");
        options.path = optarg;
        break;
      case 'm':
        if (std::strcmp(optarg, "echo") != 0 && std::strcmp(optarg, "discard") != 0) {
          badArgument(std::string("--mode is echo or discard, got '") + optarg + "'");
        }
        options.discard = std::strcmp(optarg, "discard") == 0;
        break;
      case 't':
        // The loop's longest timer is 2^31 - 1 ms.
        options.idleTimeoutMs =
            static_cast<std::int64_t>(numberArgument("--idle-timeout", optarg, INT32_MAX));
        break;
      case 'c':
        options.maxConnections =
            static_cast<int>(numberArgument("--max-connections", optarg, INT32_MAX));
        break;
      case 'b':
        if (std::strcmp(optarg, reactor::Loop::forThisThread().backendName()) != 0) {
          badArgument(std::string("backend '") + optarg +
                      "' is not built in here (this build has " +
                      reactor::Loop::forThisThread().backendName() + ")");
        }
        break;
      default:
        badArgument(tools::getoptError(c, argv));
    }
  }
  if (optind < argc) badArgument(std::string("unexpected argument '") + argv[optind] + "'");
  return options;
}

int serve(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options options = parse(argc, argv);
  reactor::Loop& loop = reactor::Loop::forThisThread();

  net::ServerOptions serverOptions;
  serverOptions.allowHalfOpen = options.allowHalfOpen;
  serverOptions.noDelay = true;
  auto server = net::createServer(serverOptions, [&](const std::shared_ptr<net::Socket>& socket) {
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
    std::fprintf(stderr, "echo-server: drop %s:%d (%s)\n", drop.remoteAddress.c_str(),
                 drop.remotePort, drop.reason.c_str());
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

}  // namespace

int main(int argc, char** argv) {
  try {
    return serve(argc, argv);
  } catch (const std::exception& error) {  // out of memory, or a bug: say so rather than abort
    std::fprintf(stderr, "echo-server: %s\n", error.what());
    return 1;
  }
}
