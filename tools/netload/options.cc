#include "tools/netload/options.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>

#include "net/address.h"
#include "net/error.h"
#include "tools/common/process_stats.h"

namespace netload {

namespace {

constexpr std::uint64_t kMaxConnections = 1'000'000;
constexpr std::uint64_t kMaxSize = 256ull << 20;  // one block of this size is allocated per run
constexpr double kMaxSeconds = 1e6;  // warm-up + duration stay below the loop's longest timer (2^31-1 ms)

void usage(std::FILE* out) {
  std::fputs(
      "usage: netload --port N | --path PATH [options]\n"
      "Load generator for echo servers, built on this project's net library.\n"
      "  --host HOST            server address (default 127.0.0.1)\n"
      "  --port N               server TCP port (required unless --path)\n"
      "  --path PATH            unix-domain socket instead\n"
      "  --mode MODE            pingpong | rr | cps | stream | idle (default pingpong)\n"
      "  --connections N        connections (pingpong, rr, stream, idle; default 1)\n"
      "  --concurrency C        cps: connections in flight at once (default 32)\n"
      "  --size BYTES           message size (pingpong, rr) or write size (stream); default 16384;\n"
      "                         suffixes K/KiB (1024) and M/MiB\n"
      "  --duration SEC         measured window in seconds (default 5; fractions allowed)\n"
      "  --warmup SEC           seconds of load before the window starts (default 1; 0 allowed)\n"
      "  --count N              stop after N messages (pingpong, rr: round trips in the window;\n"
      "                         cps: connections; stream: bytes) even if the duration is not up\n"
      "  --server-pid PID       report the server's CPU seconds and RSS over the window (/proc)\n"
      "  --json                 final line is one JSON object (else key=value pairs)\n"
      "  --quiet                no progress line (it is shown only when stderr is a terminal)\n"
      "  --help                 this text\n"
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

std::uint64_t wholeNumber(std::string_view flag, const std::string& value, std::uint64_t min, std::uint64_t max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || errno == ERANGE || number < min || number > max) {
    badArgument(std::string(flag) + " needs a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + value + "'");
  }
  return number;
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
    unit = 1024 * 1024;
  } else if (!suffix.empty()) {
    badArgument(std::string(flag) + " needs a byte count such as 16384, 16K or 1MiB, got '" + value + "'");
  }
  const std::uint64_t number = wholeNumber(flag, value.substr(0, digits), 1, kMaxSize / unit);
  return static_cast<std::size_t>(number * unit);
}

double seconds(std::string_view flag, const std::string& value, bool zeroAllowed) {
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(number) || number < 0 || (number == 0 && !zeroAllowed) ||
      number > kMaxSeconds) {
    badArgument(std::string(flag) + " needs a number of seconds " + (zeroAllowed ? "(0 or more" : "(above 0") +
                ", fractions allowed), got '" + value + "'");
  }
  return number;
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
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (flag == "--json" || flag == "--quiet") {
      (flag == "--json" ? options.json : options.quiet) = true;
      continue;
    }
    static constexpr std::string_view kTakesValue[] = {"--host",     "--port",     "--path",   "--mode",
                                                        "--connections", "--concurrency", "--size", "--duration",
                                                        "--warmup",   "--count",    "--server-pid"};
    if (std::find(std::begin(kTakesValue), std::end(kTakesValue), flag) == std::end(kTakesValue)) {
      badArgument(flag.starts_with("-") ? "unknown option " + flag : "unexpected argument '" + flag + "'");
    }
    if (i + 1 >= argc) badArgument(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--host") {
      if (value.empty()) badArgument("--host needs a host name or address");
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<int>(wholeNumber(flag, value, 1, 65535));
    } else if (flag == "--path") {
      try {
        net::SocketAddress::fromPath(value);
      } catch (const net::Error& error) {
        badArgument("--path: " + std::string(error.what()));
      }
      options.path = value;
    } else if (flag == "--mode") {
      options.mode = parseMode(value);
    } else if (flag == "--connections") {
      options.connections = wholeNumber(flag, value, 1, kMaxConnections);
    } else if (flag == "--concurrency") {
      options.concurrency = wholeNumber(flag, value, 1, kMaxConnections);
    } else if (flag == "--size") {
      options.size = byteCount(flag, value);
    } else if (flag == "--duration") {
      options.durationS = seconds(flag, value, false);
    } else if (flag == "--warmup") {
      options.warmupS = seconds(flag, value, true);
    } else if (flag == "--count") {
      options.count = wholeNumber(flag, value, 1, UINT64_MAX);
    } else if (flag == "--server-pid") {
      const int pid = static_cast<int>(wholeNumber(flag, value, 1, INT32_MAX));
      if (!tools::cpuSeconds(pid)) {
        badArgument("--server-pid " + value + ": no such process (cannot read /proc/" + value + "/stat)");
      }
      options.serverPid = pid;
    }
  }
  if (options.port == 0 && options.path.empty()) badArgument("--port or --path is required");
  if (options.port != 0 && !options.path.empty()) badArgument("--port and --path exclude each other");
  if (options.count && options.mode == Mode::kIdle) badArgument("--count does not apply to --mode idle");
  return options;
}

}  // namespace netload
