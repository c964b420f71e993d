#include "tools/netload/options.h"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "net/address.h"
#include "net/error.h"
#include "tools/common/command_line.h"
#include "tools/common/process_stats.h"

namespace netload {

namespace {

constexpr std::uint64_t kMaxConnections = 1'000'000;
constexpr std::uint64_t kMaxSize = 256ull << 20;  // one block of this size is allocated per run
constexpr double kMaxSeconds =
    1e6;  // warm-up + duration stay below the loop's longest timer (2^31-1 ms)

void usage(std::FILE* out) {
  std::fputs(
      "usage: netload --port N | --path PATH [options]\n"
      "Load generator for echo servers, built on this project's net library.\n"
      "  -H, --host HOST        server address (default 127.0.0.1)\n"
      "  -p, --port N           server TCP port, 1 to 65535 (required unless --path)\n"
      "  -U, --path PATH        unix-domain socket instead\n"
      "  -m, --mode MODE        pingpong | rr | cps | stream | idle (default pingpong)\n"
      "  -c, --connections N    connections, 1 to 1000000 (pingpong, rr, stream, idle; default 1)\n"
      "  -C, --concurrency C    cps: connections in flight at once, 1 to 1000000 (default 32)\n"
      "  -s, --size BYTES       message size (pingpong, rr) or write size (stream); default "
      "16384;\n"
      "                         suffixes K/KiB (1024) and M/MiB; at most 256 MiB\n"
      "  -d, --duration SEC     measured window in seconds (default 5; fractions allowed)\n"
      "  -w, --warmup SEC       seconds of load before the window starts (default 1; 0 allowed)\n"
      "  -n, --count N          stop after N messages (pingpong, rr: round trips in the window;\n"
      "                         cps: connections; stream: bytes) even if the duration is not up\n"
      "  -P, --server-pid PID   report the server's CPU seconds and RSS over the window (/proc)\n"
      "  -j, --json             final line is one JSON object (else key=value pairs)\n"
      "  -q, --quiet            no progress line (by default it is shown when stderr is a "
      "terminal)\n"
      "      --progress         a progress line every second even when stderr is not a terminal\n"
      "                         (then one line each, for CI logs)\n"
      "  -h, --help             this text\n"
      "  -V, --version          the version\n"
      "Options take their value as --port 9000, --port=9000 or -p 9000.\n"
      "Exit status: 0 after a run that did work without errors; 1 when the run could not be done\n"
      "(nothing to connect to), when any error occurred (a connection refused, reset or closed by\n"
      "the server: the result line is still printed, with errors=N), or when no work was done in\n"
      "the window (nothing came back: the reason goes to stderr); 2 on a bad argument.\n"
      "Modes:\n"
      "  pingpong  each connection sends one block; every byte received is written back\n"
      "  rr        each connection sends a block, waits for all of it back, records the latency\n"
      "  cps       connect, write 1 byte, read it back, close; C such connections in flight\n"
      "  stream    write blocks as fast as backpressure allows (server in discard mode)\n"
      "  idle      open N connections, hold them for the duration (no warm-up); with\n"
      "            --server-pid, the server's RSS per connection once it has settled\n",
      out);
}

[[noreturn]] void badArgument(const std::string& message) {
  std::fprintf(stderr, "netload: %s (see --help)\n", message.c_str());
  std::exit(2);
}

std::uint64_t wholeNumber(std::string_view flag, const std::string& value, std::uint64_t min,
                          std::uint64_t max) {
  const std::optional<std::uint64_t> number = tools::wholeNumber(value, min, max);
  if (!number) {
    badArgument(std::string(flag) + " needs a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + value + "'");
  }
  return *number;
}

// "16384", "16K", "16KiB", "1M", "1MiB".
std::size_t byteCount(std::string_view flag, const std::string& value) {
  std::size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  const std::string suffix = value.substr(digits);
  std::uint64_t unit = 1;
  if (suffix == "K" || suffix == "KiB") {
    unit = 1024;
  } else if (suffix == "M" || suffix == "MiB") {
    unit = std::uint64_t{1} << 20;
  } else if (!suffix.empty()) {
    badArgument(std::string(flag) + " needs a byte count such as 16384, 16K or 1MiB, got '" +
                value + "'");
  }
  const std::optional<std::uint64_t> number =
      tools::wholeNumber(value.substr(0, digits), 1, kMaxSize / unit);
  if (!number) {
    badArgument(std::string(flag) +
                " needs a byte count from 1 to 256 MiB such as 16384, 16K or 1MiB, got '" + value +
                "'");
  }
  return static_cast<std::size_t>(*number * unit);
}

double seconds(std::string_view flag, const std::string& value, bool zeroAllowed) {
  const std::optional<double> number = tools::decimalNumber(value, 0, kMaxSeconds);
  if (!number || (*number == 0 && !zeroAllowed)) {
    badArgument(std::string(flag) + " needs a number of seconds " +
                (zeroAllowed ? "from 0" : "above 0") + " to 1000000, fractions allowed, got '" +
                value + "'");
  }
  return *number;
}

Mode parseMode(const std::string& value) {
  for (Mode m : {Mode::kPingpong, Mode::kRr, Mode::kCps, Mode::kStream, Mode::kIdle}) {
    if (value == modeName(m)) return m;
  }
  badArgument("--mode is pingpong, rr, cps, stream or idle, got '" + value + "'");
}

}  // namespace

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kPingpong:
      return "pingpong";
    case Mode::kRr:
      return "rr";
    case Mode::kCps:
      return "cps";
    case Mode::kStream:
      return "stream";
    case Mode::kIdle:
      return "idle";
  }
  return "?";
}

Options parseOptions(int argc, char** argv) {
  enum : int { kProgress = 256 };
  static const option kLongOptions[] = {{"host", required_argument, nullptr, 'H'},
                                        {"port", required_argument, nullptr, 'p'},
                                        {"path", required_argument, nullptr, 'U'},
                                        {"mode", required_argument, nullptr, 'm'},
                                        {"connections", required_argument, nullptr, 'c'},
                                        {"concurrency", required_argument, nullptr, 'C'},
                                        {"size", required_argument, nullptr, 's'},
                                        {"duration", required_argument, nullptr, 'd'},
                                        {"warmup", required_argument, nullptr, 'w'},
                                        {"count", required_argument, nullptr, 'n'},
                                        {"server-pid", required_argument, nullptr, 'P'},
                                        {"json", no_argument, nullptr, 'j'},
                                        {"quiet", no_argument, nullptr, 'q'},
                                        {"progress", no_argument, nullptr, kProgress},
                                        {"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'V'},
                                        {nullptr, 0, nullptr, 0}};
  Options options;
  opterr = 0;
  for (int c;
       (c = getopt_long(argc, argv, ":H:p:U:m:c:C:s:d:w:n:P:jqhV", kLongOptions, nullptr)) != -1;) {
    const std::string value = optarg != nullptr ? optarg : "";
    switch (c) {
      case 'h':
        usage(stdout);
        std::exit(0);
      case 'V':
        tools::printVersion("netload");
        std::exit(0);
      case 'j':
        options.json = true;
        break;
      case 'q':
        options.quiet = true;
        break;
      case kProgress:
        options.progress = true;
        break;
      case 'H':
        if (value.empty()) badArgument("--host needs a host name or address");
        options.host = value;
        break;
      case 'p':
        options.port = static_cast<int>(wholeNumber("--port", value, 1, 65535));
        break;
      case 'U':
        try {
          net::SocketAddress::fromPath(value);
        } catch (const net::Error& error) {
          badArgument("--path: " + std::string(error.what()));
        }
        options.path = value;
        break;
      case 'm':
        options.mode = parseMode(value);
        break;
      case 'c':
        options.connections = wholeNumber("--connections", value, 1, kMaxConnections);
        break;
      case 'C':
        options.concurrency = wholeNumber("--concurrency", value, 1, kMaxConnections);
        break;
      case 's':
        options.size = byteCount("--size", value);
        break;
      case 'd':
        options.durationS = seconds("--duration", value, false);
        break;
      case 'w':
        options.warmupS = seconds("--warmup", value, true);
        break;
      case 'n':
        options.count = wholeNumber("--count", value, 1, UINT64_MAX);
        break;
      case 'P': {
        const int pid = static_cast<int>(wholeNumber("--server-pid", value, 1, INT32_MAX));
        if (!tools::cpuSeconds(pid)) {
          std::string message = "--server-pid ";
          message += value;
          message += ": no such process (cannot read /proc/";
          message += value;
          message += "/stat)";
          badArgument(message);
        }
        options.serverPid = pid;
        break;
      }
      default:
        badArgument(tools::getoptError(c, argv));
    }
  }
  if (optind < argc) badArgument(std::string("unexpected argument '") + argv[optind] + "'");
  if (options.quiet && options.progress) badArgument("--quiet and --progress exclude each other");
  if (options.port == 0 && options.path.empty()) badArgument("--port or --path is required");
  if (options.port != 0 && !options.path.empty())
    badArgument("--port and --path exclude each other");
  if (options.count && options.mode == Mode::kIdle)
    badArgument("--count does not apply to --mode idle");
  return options;
}

}  // namespace netload
