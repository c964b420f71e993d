// The result of one run and its final line: one JSON object (--json) or the same keys as
// key=value pairs (latency as p50_us=...). Fields that mean nothing for a mode are absent, and
// rates are derived here from the counts and the window's length, so they always agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netload {

struct LatencySummary {  // microseconds
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

struct Result {
  std::string_view mode;
  std::uint64_t connections = 0;  // cps: connections in flight at once
  std::optional<std::uint64_t> size;
  double durationS = 0;  // the measured window (idle: how long the connections were held)
  std::optional<std::uint64_t> messages;
  std::optional<std::uint64_t> bytes;
  std::uint64_t connects = 0;
  bool connectsRate = true;  // idle opens its connections before the window: no rate
  std::uint64_t errors = 0;
  std::optional<LatencySummary> latency;
  double clientCpuS = 0;
  std::optional<double> serverCpuS;
  std::optional<std::int64_t> serverRssBytes;
  std::optional<std::int64_t> serverRssBeforeBytes;
  std::optional<std::int64_t> serverRssPerConnectionBytes;
};

std::string formatJson(const Result& result);
// Why a run whose result was printed still failed (netload then exits 1): errors occurred, or the
// window saw no work (nothing echoed, no round trip, no connection). Nothing for a good run.
std::optional<std::string> failureOf(const Result& result);
std::string formatKeyValues(const Result& result);

}  // namespace netload
