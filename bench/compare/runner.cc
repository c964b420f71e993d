#include "bench/compare/runner.h"

#include <algorithm>
#include <exception>
#include <iomanip>
#include <optional>

#include "bench/compare/format.h"
#include "bench/compare/process.h"

namespace compare {

namespace {

using namespace std::chrono_literals;

constexpr auto kStartupTimeout = 10s;    // Node's first start on a busy machine takes a while
constexpr auto kStopGrace = 3s;          // after SIGTERM, before SIGKILL
constexpr auto kNetloadExtraTime = 30s;  // beyond warm-up and window: connecting and closing
constexpr std::string_view kListeningOn = "listening on ";

struct Endpoint {
  std::string host;
  std::string port;
};

// "listening on 127.0.0.1:4000" or "listening on [::1]:4000".
std::optional<Endpoint> endpointFrom(const std::string& line) {
  if (!line.starts_with(kListeningOn)) return std::nullopt;
  const std::string address = line.substr(kListeningOn.size());
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return Endpoint{host, address.substr(colon + 1)};
}

std::vector<std::string> netloadCommand(const Cell& cell, const Endpoint& server, pid_t serverPid,
                                        const RunSettings& settings) {
  std::vector<std::string> argv = {settings.netload, "--host", server.host, "--port", server.port};
  argv.insert(argv.end(), cell.loadArguments.begin(), cell.loadArguments.end());
  const double duration = cell.warmsUp ? settings.durationSeconds : settings.idleHoldSeconds;
  const double warmup = cell.warmsUp ? settings.warmupSeconds : 0;
  argv.insert(argv.end(),
              {"--duration", formatArgument(duration), "--warmup", formatArgument(warmup),
               "--server-pid", std::to_string(serverPid), "--json", "--quiet"});
  return argv;
}

// Reads netload's result line into `sample`, or says in `sample.error` why there is none.
void readNetloadResult(Process& netload, Clock::time_point deadline, Sample& sample) {
  std::vector<std::string> lines = netload.remainingLines(deadline);
  const std::optional<int> status = netload.waitForExit(deadline);
  if (!status) {
    sample.error = "netload did not finish in time and was killed";
    return;
  }
  if (*status != 0) {
    sample.error = "netload " + describeWaitStatus(*status);
    return;
  }
  std::erase_if(lines, [](const std::string& line) {
    return line.find_first_not_of(" \t\r") == std::string::npos;
  });
  if (lines.empty()) {
    sample.error = "netload printed no result";
    return;
  }
  std::string error;
  std::optional<Fields> fields = readNumberFields(lines.back(), error);
  if (!fields) {
    sample.error = "netload's last line is not a JSON object (" + error + "): " + lines.back();
    return;
  }
  sample.netloadJson = lines.back();
  sample.fields = std::move(*fields);
  const auto errors = sample.fields.find("errors");
  if (errors != sample.fields.end() && errors->second > 0) {
    sample.error = "netload counted " + formatValue(errors->second) + " connection errors";
    return;
  }
  sample.ok = true;
}

Sample measure(const Cell& cell, const Server& server, const RunSettings& settings, int round) {
  Sample sample;
  sample.round = round;
  std::vector<std::string> serverArgv = server.argv;
  serverArgv.insert(serverArgv.end(), {"--port", "0", "--mode", "echo"});
  try {
    Process serverProcess(serverArgv, settings.serverCpu);
    const std::optional<std::string> first = serverProcess.nextLine(Clock::now() + kStartupTimeout);
    const std::optional<Endpoint> endpoint = first ? endpointFrom(*first) : std::nullopt;
    if (!endpoint) {
      sample.error = first ? "server's first line is not 'listening on HOST:PORT': " + *first
                           : "server did not print 'listening on HOST:PORT'";
    } else {
      const auto seconds =
          settings.warmupSeconds + settings.durationSeconds + settings.idleHoldSeconds;
      const auto deadline =
          Clock::now() + kNetloadExtraTime +
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
      Process netload(netloadCommand(cell, *endpoint, serverProcess.pid(), settings),
                      settings.loadCpu);
      readNetloadResult(netload, deadline, sample);
    }
    sample.serverKilled = !serverProcess.stop(kStopGrace);
  } catch (const std::exception& error) {
    sample.ok = false;
    sample.error = error.what();
  }
  return sample;
}

void reportSample(std::ostream& progress, int round, int rounds, const Cell& cell,
                  const Server& server, const Sample& sample) {
  progress << "round " << round + 1 << "/" << rounds << "  " << std::left << std::setw(28)
           << cell.id << std::setw(14) << server.name << std::right;
  if (sample.ok) {
    const Metric primary = cell.metrics.front();
    progress << formatValue(metricValue(primary, sample.fields)) << " " << describe(primary).label;
  } else {
    progress << "FAILED: " << sample.error;
  }
  if (sample.serverKilled) {
    progress << "  (server ignored SIGTERM for " << kStopGrace.count() << " s and was killed)";
  }
  progress << std::endl;
}

}  // namespace

std::vector<Server> contendersOf(const Cell& cell, const std::vector<Server>& peers,
                                 const Server& oursWithTimeout) {
  if (!cell.wheel) return peers;
  const auto ours =
      std::find_if(peers.begin(), peers.end(), [](const Server& s) { return s.name == "ours"; });
  if (ours == peers.end()) return {};
  return {*ours, oursWithTimeout};
}

Results runComparison(const std::vector<Cell>& cells, const std::vector<Server>& peers,
                      const Server& oursWithTimeout, const RunSettings& settings,
                      std::ostream& progress) {
  Results results;
  for (int round = 0; round < settings.rounds; ++round) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      std::vector<Server> order = contendersOf(cells[c], peers, oursWithTimeout);
      if (order.empty()) continue;
      std::rotate(order.begin(),
                  order.begin() + static_cast<std::ptrdiff_t>((round + c) % order.size()),
                  order.end());
      for (const Server& server : order) {
        Sample sample = measure(cells[c], server, settings, round);
        reportSample(progress, round, settings.rounds, cells[c], server, sample);
        results.add(cells[c].id, server.name, std::move(sample));
      }
    }
  }
  return results;
}

}  // namespace compare
