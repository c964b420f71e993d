#include "tools/netload/report.h"

#include <cstdio>
#include <functional>

namespace netload {

namespace {

struct Field {
  std::string_view key;
  std::string value;
  bool text = false;     // a JSON string
  bool latency = false;  // inside "latency_us" (JSON), suffixed "_us" (key=value)
};

std::string integer(std::int64_t value) {
  return std::to_string(value);
}

std::string decimal(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

double perSecond(double count, double seconds) {
  return seconds > 0 ? count / seconds : 0;
}

// Every field of `result`, in the order of the contract.
void forEachField(const Result& r, const std::function<void(const Field&)>& emit) {
  emit({"tool", "netload", true});
  emit({"mode", std::string(r.mode), true});
  emit({"connections", integer(static_cast<std::int64_t>(r.connections))});
  if (r.size) emit({"size", integer(static_cast<std::int64_t>(*r.size))});
  emit({"duration_s", decimal(r.durationS, 3)});
  if (r.messages) {
    emit({"messages", integer(static_cast<std::int64_t>(*r.messages))});
    emit({"messages_per_s", decimal(perSecond(static_cast<double>(*r.messages), r.durationS), 1)});
  }
  if (r.bytes) {
    emit({"bytes", integer(static_cast<std::int64_t>(*r.bytes))});
    emit({"mib_per_s",
          decimal(perSecond(static_cast<double>(*r.bytes) / (1 << 20), r.durationS), 1)});
  }
  emit({"connects", integer(static_cast<std::int64_t>(r.connects))});
  if (r.connectsRate)
    emit({"connects_per_s", decimal(perSecond(static_cast<double>(r.connects), r.durationS), 1)});
  emit({"errors", integer(static_cast<std::int64_t>(r.errors))});
  if (r.latency) {
    emit({"p50", decimal(r.latency->p50, 1), false, true});
    emit({"p90", decimal(r.latency->p90, 1), false, true});
    emit({"p99", decimal(r.latency->p99, 1), false, true});
    emit({"p999", decimal(r.latency->p999, 1), false, true});
    emit({"max", decimal(r.latency->max, 1), false, true});
  }
  emit({"client_cpu_s", decimal(r.clientCpuS, 3)});
  if (r.serverCpuS) emit({"server_cpu_s", decimal(*r.serverCpuS, 2)});
  if (r.serverRssBytes) emit({"server_rss_bytes", integer(*r.serverRssBytes)});
  if (r.serverRssBeforeBytes) emit({"server_rss_before_bytes", integer(*r.serverRssBeforeBytes)});
  if (r.serverRssPerConnectionBytes) {
    emit({"server_rss_per_connection_bytes", integer(*r.serverRssPerConnectionBytes)});
  }
}

}  // namespace

std::string formatJson(const Result& result) {
  std::string line = "{";
  bool inLatency = false;
  forEachField(result, [&](const Field& field) {
    if (inLatency && !field.latency) line += "}";
    if (line.size() > 1) line += ",";
    if (field.latency && !inLatency) line += "\"latency_us\":{";
    inLatency = field.latency;
    line += "\"" + std::string(field.key) + "\":";
    line += field.text ? "\"" + field.value + "\"" : field.value;
  });
  if (inLatency) line += "}";
  return line + "}";
}

std::optional<std::string> failureOf(const Result& result) {
  if (result.errors > 0) {
    return std::to_string(result.errors) + (result.errors == 1 ? " error" : " errors") +
           " in the run (connections refused, reset or closed by the server; the first is shown "
           "above)";
  }
  const bool noWork = result.mode == "rr" ? result.messages.value_or(0) == 0
                      : result.mode == "cps" || result.mode == "idle"
                          ? result.connects == 0
                          : result.bytes.value_or(0) == 0;
  if (noWork) {
    return "no work was done in the " + decimal(result.durationS, 3) + " s window (" +
           (result.mode == "idle"  ? std::string("no connection was open")
            : result.mode == "cps" ? std::string("no connection completed")
                                   : std::string("nothing came back from the server")) +
           ")";
  }
  return std::nullopt;
}

std::string formatKeyValues(const Result& result) {
  std::string line;
  forEachField(result, [&](const Field& field) {
    if (!line.empty()) line += " ";
    line += std::string(field.key) + (field.latency ? "_us=" : "=") + field.value;
  });
  return line;
}

}  // namespace netload
