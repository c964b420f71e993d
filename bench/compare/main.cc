// bench-compare: our echo-server side by side with the peer servers of bench/peers/ under
// netload, the comparison of issue 4. `make bench` runs it after the micro-benchmarks; see
// BUILD.md, "Reading the comparison", for what it writes and how to read it.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/compare/json_report.h"
#include "bench/compare/markdown_report.h"
#include "bench/compare/options.h"
#include "bench/compare/run.h"
#include "bench/compare/runner.h"
#include "bench/compare/throughput_chart.h"

namespace {

using namespace compare;

constexpr int kServerCore = 0;
constexpr int kLoadCore = 1;

// Pins the server and netload to cores of their own when this process may use both; otherwise
// they run unpinned and the report says so.
std::string placeOnCores(RunSettings& settings) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_ISSET(kServerCore, &allowed) &&
      CPU_ISSET(kLoadCore, &allowed)) {
    settings.serverCpu = kServerCore;
    settings.loadCpu = kLoadCore;
    return "Server pinned to core " + std::to_string(kServerCore) + ", netload to core " +
           std::to_string(kLoadCore);
  }
  return "Not pinned: cores " + std::to_string(kServerCore) + " and " + std::to_string(kLoadCore) +
         " are not both available to this process, so server and netload share cores";
}

bool writeFile(const std::filesystem::path& path, void (*write)(std::ostream&, const Run&),
               const Run& run) {
  std::ofstream out(path);
  write(out, run);
  out.close();
  if (!out) std::cerr << "bench-compare: cannot write " << path.string() << "\n";
  return static_cast<bool>(out);
}

// True when every server measured at least once in every cell it takes part in.
bool everyCellMeasured(const Run& run) {
  for (const Cell& cell : run.cells) {
    for (const Server& server : contendersOf(cell, run.peers, run.oursWithTimeout)) {
      const auto& samples = run.results.samples(cell.id, server.name);
      if (std::none_of(samples.begin(), samples.end(), [](const Sample& s) { return s.ok; }))
        return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout (`bench-compare | head`) must not kill the driver between starting a server
  // and stopping it.
  signal(SIGPIPE, SIG_IGN);
  const Options options = parseOptions(argc, argv);
  Run run;
  run.settings.rounds = options.rounds;
  run.settings.durationSeconds = options.durationSeconds;
  run.settings.warmupSeconds = options.warmupSeconds;
  run.settings.idleHoldSeconds = options.idleHoldSeconds;
  run.settings.netload = options.netload;
  run.pinning = placeOnCores(run.settings);
  if (access(options.netload.c_str(), X_OK) != 0) {
    std::cerr << "bench-compare: the load generator " << options.netload
              << " is not built (make builds it)\n";
    return 1;
  }

  const ServerLocations where{options.binDirectory, options.nodeScript};
  for (Server& server : knownPeers(where)) {
    if (std::find(options.peers.begin(), options.peers.end(), server.name) == options.peers.end())
      continue;
    if (server.unavailable.empty()) {
      run.peers.push_back(std::move(server));
    } else {
      std::cout << "bench-compare: skipping " << server.name << ": " << server.unavailable
                << std::endl;
      run.skipped.push_back(std::move(server));
    }
  }
  if (run.peers.empty()) {
    std::cerr << "bench-compare: none of the servers asked for can run here\n";
    return 1;
  }
  run.oursWithTimeout = oursWithIdleTimeout(where);
  run.cells = issueCells(options.idleConnections);

  std::error_code error;
  std::filesystem::create_directories(options.outDirectory, error);
  if (error) {
    std::cerr << "bench-compare: cannot create " << options.outDirectory << ": " << error.message()
              << "\n";
    return 1;
  }

  std::cout << "bench-compare: " << run.cells.size() << " cells, " << run.peers.size()
            << (run.peers.size() == 1 ? " server, " : " servers, ") << run.settings.rounds
            << (run.settings.rounds == 1 ? " round. " : " rounds. ") << run.pinning << "."
            << std::endl;
  run.results = runComparison(run.cells, run.peers, run.oursWithTimeout, run.settings, std::cout);
  run.targets = evaluateTargets(run.cells, run.results);

  const std::filesystem::path out = options.outDirectory;
  bool written = writeFile(out / "results.md", writeMarkdownReport, run);
  written = writeFile(out / "results.json", writeJsonReport, run) && written;
  std::cout << "\n";
  writeMarkdownReport(std::cout, run);
  std::cout << "\nwrote " << (out / "results.md").string() << " and "
            << (out / "results.json").string() << "\n"
            << drawThroughputChart(run, options.outDirectory) << std::endl;
  if (!everyCellMeasured(run)) {
    std::cerr
        << "bench-compare: some server has no successful measurement in some cell (see above)\n";
    return 1;
  }
  return written ? 0 : 1;
}
