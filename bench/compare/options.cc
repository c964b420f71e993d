#include "bench/compare/options.h"

#include <getopt.h>
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "tools/common/command_line.h"

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
// 37 measurements a round: 7 cells x 5 servers, and the wheel cell's two. Five rounds of 0.8 s
// windows (about 1.3 s a measurement with the warm-up and the server's start) take about four
// minutes; three rounds of 0.6 s moved by 15 % from run to run.
constexpr Defaults kFull{5, 0.8, 0.3, 0.3, 5000};
constexpr Defaults kQuick{1, 0.1, 0.05, 0.05, 300};

void usage(std::FILE* out) {
  std::fputs(
      "usage: bench-compare [options]\n"
      "Runs our echo-server and its peers (bench/peers/) under netload, side by side, and writes\n"
      "results.md, results.json and throughput.png.\n"
      "  --rounds N         rounds of every cell; medians are taken over them (default 5)\n"
      "  --duration SEC     measured window of each measurement (default 0.8)\n"
      "  --warmup SEC       load before each window (default 0.3)\n"
      "  --quick            1 round of 0.1 s windows and 300 idle connections: a smoke test\n"
      "  --peers LIST       comma-separated servers among ours,raw,libuv,asio,node (default all)\n"
      "  --out DIR          where the reports go (default build/bench)\n"
      "  --bin DIR          where echo-server, netload and peers/ are (default: this program's "
      "directory)\n"
      "  --netload PATH     the load generator (default DIR/netload)\n"
      "  --node-script PATH Node's peer (default bench/peers/node_echo.js)\n"
      "  --help             this text\n"
      "  --version          the version\n"
      "Options take their value as --rounds 5 or --rounds=5 (short forms: -r -d -w -q -p -o -b -n "
      "-s -h -V).\n",
      out);
}

[[noreturn]] void badArgument(const std::string& message) {
  std::fprintf(stderr, "bench-compare: %s (see --help)\n", message.c_str());
  std::exit(2);
}

double positiveNumber(const char* flag, const char* value) {
  const std::optional<double> number = tools::decimalNumber(value, 0, 3600);
  if (!number || !(*number > 0)) {
    badArgument(std::string(flag) + " needs a number of seconds above 0, got '" + value + "'");
  }
  return *number;
}

int positiveCount(const char* flag, const char* value) {
  const std::optional<std::uint64_t> number = tools::wholeNumber(value, 1, 1000);
  if (!number) {
    badArgument(std::string(flag) + " needs a whole number from 1 to 1000, got '" + value + "'");
  }
  return static_cast<int>(*number);
}

std::vector<std::string> peerList(const char* value) {
  std::vector<std::string> peers;
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string name(rest.substr(0, comma));
    bool known = false;
    for (std::string_view peer : kKnownPeers) known = known || peer == name;
    if (!known)
      badArgument("--peers: unknown server '" + name +
                  "'; the servers are ours,raw,libuv,asio,node");
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
  static const option kLongOptions[] = {{"rounds", required_argument, nullptr, 'r'},
                                        {"duration", required_argument, nullptr, 'd'},
                                        {"warmup", required_argument, nullptr, 'w'},
                                        {"quick", no_argument, nullptr, 'q'},
                                        {"peers", required_argument, nullptr, 'p'},
                                        {"out", required_argument, nullptr, 'o'},
                                        {"bin", required_argument, nullptr, 'b'},
                                        {"netload", required_argument, nullptr, 'n'},
                                        {"node-script", required_argument, nullptr, 's'},
                                        {"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'V'},
                                        {nullptr, 0, nullptr, 0}};
  Options options;
  bool quick = false;
  std::optional<int> rounds;
  std::optional<double> duration;
  std::optional<double> warmup;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, ":r:d:w:qp:o:b:n:s:hV", kLongOptions, nullptr)) != -1;) {
    switch (c) {
      case 'h':
        usage(stdout);
        std::exit(0);
      case 'V':
        std::printf("bench-compare (reactornet) %s\n", tools::kVersion);
        std::exit(0);
      case 'q':
        quick = true;
        break;
      case 'r':
        rounds = positiveCount("--rounds", optarg);
        break;
      case 'd':
        duration = positiveNumber("--duration", optarg);
        break;
      case 'w':
        warmup = positiveNumber("--warmup", optarg);
        break;
      case 'p':
        options.peers = peerList(optarg);
        break;
      case 'o':
        options.outDirectory = optarg;
        break;
      case 'b':
        options.binDirectory = optarg;
        break;
      case 'n':
        options.netload = optarg;
        break;
      case 's':
        options.nodeScript = optarg;
        break;
      default: {
        // getopt_long's '?' (unknown option) or ':' (no value), named as written.
        const std::string written = argv[optind - 1];
        const bool shortOption = optopt > 0 && optopt < 128 && !written.starts_with("--");
        const std::string name = shortOption ? std::string("-") + static_cast<char>(optopt)
                                             : written.substr(0, written.find('='));
        badArgument(c == ':' ? name + " needs a value" : "unknown option " + name);
      }
    }
  }
  if (optind < argc) badArgument(std::string("unexpected argument '") + argv[optind] + "'");
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
