#include "bench/compare/cells.h"

namespace compare {

namespace {

constexpr double kMebibyte = 1024.0 * 1024.0;

std::optional<double> field(const Fields& netload, std::string_view name) {
  const auto found = netload.find(name);
  if (found == netload.end()) return std::nullopt;
  return found->second;
}

// numerator / denominator, when both are there and above zero. A server CPU time of zero is below
// the kernel's accounting tick (10 ms), not free: no value is better than a wrong one.
std::optional<double> perUnit(std::optional<double> numerator, std::optional<double> denominator,
                              double scale) {
  if (!numerator || !denominator || *numerator <= 0 || *denominator <= 0) return std::nullopt;
  return *numerator * scale / *denominator;
}

Cell pingpong(std::string_view id, int connections, int size, std::string title) {
  return Cell{std::string(id),
              std::move(title),
              {"--mode", "pingpong", "--connections", std::to_string(connections), "--size",
               std::to_string(size)},
              true,
              {size >= 1024 ? Metric::kMibPerSecond : Metric::kMessagesPerSecond,
               Metric::kServerCpuPerMib}};
}

}  // namespace

const MetricInfo& describe(Metric metric) {
  static const MetricInfo kInfo[] = {
      {"MiB/s", "mib_per_s", true},
      {"messages/s", "messages_per_s", true},
      {"p50 latency us", "p50_us", false},
      {"p99 latency us", "p99_us", false},
      {"connections/s", "connects_per_s", true},
      {"server CPU us/MiB", "server_cpu_us_per_mib", false},
      {"server CPU us/connection", "server_cpu_us_per_connection", false},
      {"server RSS bytes/connection", "server_rss_bytes_per_connection", false},
  };
  return kInfo[static_cast<int>(metric)];
}

std::optional<double> metricValue(Metric metric, const Fields& netload) {
  switch (metric) {
    case Metric::kMibPerSecond:
      return field(netload, "mib_per_s");
    case Metric::kMessagesPerSecond:
      return field(netload, "messages_per_s");
    case Metric::kLatencyP50:
      return field(netload, "latency_us.p50");
    case Metric::kLatencyP99:
      return field(netload, "latency_us.p99");
    case Metric::kConnectsPerSecond:
      return field(netload, "connects_per_s");
    case Metric::kServerCpuPerMib:
      return perUnit(field(netload, "server_cpu_s"), field(netload, "bytes"), 1e6 * kMebibyte);
    case Metric::kServerCpuPerConnection:
      return perUnit(field(netload, "server_cpu_s"), field(netload, "connects"), 1e6);
    case Metric::kRssPerConnection:
      return field(netload, "server_rss_per_connection_bytes");
  }
  return std::nullopt;
}

std::vector<Cell> issueCells(int idleConnections) {
  std::vector<Cell> cells = {
      pingpong(kPingpong1x16k, 1, 16384, "pingpong 1 x 16 KiB"),
      pingpong(kPingpong100x16k, 100, 16384, "pingpong 100 x 16 KiB"),
      pingpong(kPingpong1000x16k, 1000, 16384, "pingpong 1000 x 16 KiB"),
      pingpong(kPingpong100x64, 100, 64, "pingpong 100 x 64 B"),
      Cell{std::string(kRequestResponse1x64),
           "request-response 1 x 64 B",
           {"--mode", "rr", "--connections", "1", "--size", "64"},
           true,
           {Metric::kLatencyP50, Metric::kLatencyP99}},
      Cell{std::string(kConnectsPerSecond32),
           "connect-echo-close, 32 in flight",
           {"--mode", "cps", "--concurrency", "32"},
           true,
           {Metric::kServerCpuPerConnection, Metric::kConnectsPerSecond}},
      Cell{std::string(kIdle),
           "idle " + std::to_string(idleConnections) + " connections",
           {"--mode", "idle", "--connections", std::to_string(idleConnections)},
           false,
           {Metric::kRssPerConnection}},
  };
  Cell wheel =
      pingpong(kWheel, 100, 16384, "pingpong 100 x 16 KiB, setTimeout(30 s) on every socket");
  wheel.wheel = true;
  cells.push_back(std::move(wheel));
  return cells;
}

}  // namespace compare
