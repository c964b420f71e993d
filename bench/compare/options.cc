#include "bench/compare/options.h"

#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace compare {

namespace {

constexpr std::string_view kKnownPeers[] = {"ours", "raw", "libuv", "asio", "node"};

struct Defaults {
  int rounds;
  double durationSeconds;
  double warmupSeconds;
  double idleHoldSeconds;
  int idleConnections;
};
// 37 measurements a round: 7 cells x 5 servers, and the wheel cell's two.
constexpr Defaults kFull{3, 0.6, 0.3, 0.3, 5000};
constexpr Defaults kQuick{1, 0.1, 0.05, 0.05, 300};

void usage(std::FILE* out) {
  std::fputs(
      "usage: bench-compare [options]\n"
      "Runs our echo-server and its peers (bench/peers/) under netload, side by side, and writes\n"
      "results.md, results.json and throughput.png.\n"
      "  --rounds N         rounds of every cell; medians are taken over them (default 3)\n"
      "  --duration SEC     measured window of each measurement (default 0.6)\n"
      "  --warmup SEC       load before each window (default 0.3)\n"
      "  --quick            1 round of 0.1 s windows and 300 idle connections: a smoke test\n"
      "  --peers LIST       comma-separated servers among ours,raw,libuv,asio,node (default all)\n"
      "  --out DIR          where the reports go (default build/bench)\n"
      "  --bin DIR          where echo-server, netload and peers/ are (default: this program's directory)\n"
      "  --netload PATH     the load generator (default DIR/netload)\n"
      "  --node-script PATH Node's peer (default bench/peers/node_echo.js)\n"
      "  --help             this text\n",
      out);
}

[[noreturn]] void badArgument(const std::string& message) {
  std::fprintf(stderr, "bench-compare: %s (see --help)\n", message.c_str());
  std::exit(2);
}

double positiveNumber(const char* flag, const char* value) {
  char* end = nullptr;
  const double number = std::strtod(value, &end);
  if (*value == '\0' || *end != '\0' || !(number > 0) || number > 3600) {
    badArgument(std::string(flag) + " needs a number of seconds above 0, got '" + value + "'");
  }
  return number;
}

int positiveCount(const char* flag, const char* value) {
  char* end = nullptr;
  const long number = std::strtol(value, &end, 10);
  if (*value == '\0' || *end != '\0' || number < 1 || number > 1000) {
    badArgument(std::string(flag) + " needs a whole number from 1 to 1000, got '" + value + "'");
  }
  return static_cast<int>(number);
}

std::vector<std::string> peerList(const char* value) {
  std::vector<std::string> peers;
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string name(rest.substr(0, comma));
    bool known = false;
    for (std::string_view peer : kKnownPeers) known = known || peer == name;
    if (!known) badArgument("--peers: unknown server '" + name + "'; the servers are ours,raw,libuv,asio,node");
    peers.push_back(name);
    if (comma == std::string_view::npos) return peers;
    rest = rest.substr(comma + 1);
  }
}

std::string ownDirectory() {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return ".";
  const std::string path(self, static_cast<std::size_t>(length));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

Options parseOptions(int argc, char** argv) {
  Options options;
  bool quick = false;
  std::optional<int> rounds;
  std::optional<double> duration;
  std::optional<double> warmup;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (flag == "--quick") {
      quick = true;
      continue;
    }
    if (i + 1 >= argc) badArgument(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--rounds") {
      rounds = positiveCount("--rounds", value);
    } else if (flag == "--duration") {
      duration = positiveNumber("--duration", value);
    } else if (flag == "--warmup") {
      warmup = positiveNumber("--warmup", value);
    } else if (flag == "--peers") {
      options.peers = peerList(value);
    } else if (flag == "--out") {
      options.outDirectory = value;
    } else if (flag == "--bin") {
      options.binDirectory = value;
    } else if (flag == "--netload") {
      options.netload = value;
    } else if (flag == "--node-script") {
      options.nodeScript = value;
    } else {
      badArgument("unknown option " + flag);
    }
  }
  const Defaults& defaults = quick ? kQuick : kFull;
  options.rounds = rounds.value_or(defaults.rounds);
  options.durationSeconds = duration.value_or(defaults.durationSeconds);
  options.warmupSeconds = warmup.value_or(defaults.warmupSeconds);
  options.idleHoldSeconds = defaults.idleHoldSeconds;
  options.idleConnections = defaults.idleConnections;
  if (options.peers.empty()) options.peers.assign(std::begin(kKnownPeers), std::end(kKnownPeers));
  if (options.outDirectory.empty()) options.outDirectory = "build/bench";
  if (options.binDirectory.empty()) options.binDirectory = ownDirectory();
  if (options.netload.empty()) options.netload = options.binDirectory + "/netload";
  if (options.nodeScript.empty()) options.nodeScript = "bench/peers/node_echo.js";
  return options;
}

}  // namespace compare
