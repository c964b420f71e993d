#include "bench/compare/json_report.h"

#include <cstdio>

#include "bench/compare/json_fields.h"

namespace compare {

namespace {

void writeNumber(std::ostream& out, std::optional<double> value) {
  if (!value) {
    out << "null";
    return;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.10g", *value);
  out << text;
}

void writeStrings(std::ostream& out, const std::vector<std::string>& strings) {
  out << "[";
  for (std::size_t i = 0; i < strings.size(); ++i) {
    if (i > 0) out << ", ";
    writeJsonString(out, strings[i]);
  }
  out << "]";
}

void writeSettings(std::ostream& out, const Run& run) {
  const RunSettings& s = run.settings;
  out << "  \"settings\": {\"rounds\": " << s.rounds << ", \"duration_s\": ";
  writeNumber(out, s.durationSeconds);
  out << ", \"warmup_s\": ";
  writeNumber(out, s.warmupSeconds);
  out << ", \"idle_hold_s\": ";
  writeNumber(out, s.idleHoldSeconds);
  out << ", \"server_cpu\": " << s.serverCpu << ", \"load_cpu\": " << s.loadCpu
      << ", \"pinning\": ";
  writeJsonString(out, run.pinning);
  out << ", \"netload\": ";
  writeJsonString(out, s.netload);
  out << "},\n";
}

void writeServers(std::ostream& out, const Run& run) {
  std::vector<Server> everyone = run.peers;
  everyone.push_back(run.oursWithTimeout);
  out << "  \"servers\": [";
  for (std::size_t i = 0; i < everyone.size(); ++i) {
    out << (i > 0 ? ",\n    " : "\n    ") << "{\"name\": ";
    writeJsonString(out, everyone[i].name);
    out << ", \"title\": ";
    writeJsonString(out, everyone[i].title);
    out << ", \"argv\": ";
    writeStrings(out, everyone[i].argv);
    out << "}";
  }
  out << "\n  ],\n  \"skipped\": [";
  for (std::size_t i = 0; i < run.skipped.size(); ++i) {
    out << (i > 0 ? ", " : "") << "{\"name\": ";
    writeJsonString(out, run.skipped[i].name);
    out << ", \"reason\": ";
    writeJsonString(out, run.skipped[i].unavailable);
    out << "}";
  }
  out << "],\n";
}

void writeSample(std::ostream& out, const Sample& sample) {
  out << "{\"round\": " << sample.round + 1 << ", \"ok\": " << (sample.ok ? "true" : "false");
  if (!sample.error.empty()) {
    out << ", \"error\": ";
    writeJsonString(out, sample.error);
  }
  if (sample.serverKilled) out << ", \"server_killed\": true";
  if (!sample.netloadJson.empty()) out << ", \"netload\": " << sample.netloadJson;
  out << "}";
}

void writeCell(std::ostream& out, const Run& run, const Cell& cell,
               const std::vector<Server>& contenders) {
  out << "    {\"id\": ";
  writeJsonString(out, cell.id);
  out << ", \"title\": ";
  writeJsonString(out, cell.title);
  out << ", \"netload_arguments\": ";
  writeStrings(out, cell.loadArguments);
  out << ", \"metrics\": [";
  for (std::size_t m = 0; m < cell.metrics.size(); ++m) {
    out << (m > 0 ? ", " : "");
    writeJsonString(out, describe(cell.metrics[m]).jsonName);
  }
  out << "],\n     \"servers\": {";
  for (std::size_t i = 0; i < contenders.size(); ++i) {
    const Server& server = contenders[i];
    out << (i > 0 ? ",\n       " : "\n       ");
    writeJsonString(out, server.name);
    out << ": {\"medians\": {";
    for (std::size_t m = 0; m < cell.metrics.size(); ++m) {
      out << (m > 0 ? ", " : "");
      writeJsonString(out, describe(cell.metrics[m]).jsonName);
      out << ": ";
      writeNumber(out, run.results.median(cell.id, server.name, cell.metrics[m]));
    }
    out << "}, \"spreads\": {";
    for (std::size_t m = 0; m < cell.metrics.size(); ++m) {
      out << (m > 0 ? ", " : "");
      writeJsonString(out, describe(cell.metrics[m]).jsonName);
      out << ": ";
      writeNumber(out, run.results.spread(cell.id, server.name, cell.metrics[m]));
    }
    out << "},\n         \"rounds\": [";
    const std::vector<Sample>& samples = run.results.samples(cell.id, server.name);
    for (std::size_t r = 0; r < samples.size(); ++r) {
      out << (r > 0 ? ",\n                    " : "");
      writeSample(out, samples[r]);
    }
    out << "]}";
  }
  out << "}}";
}

void writeTargets(std::ostream& out, const Run& run) {
  out << "  \"targets\": [";
  for (std::size_t i = 0; i < run.targets.size(); ++i) {
    const TargetResult& target = run.targets[i];
    out << (i > 0 ? ",\n    " : "\n    ") << "{\"target\": ";
    writeJsonString(out, target.target);
    out << ", \"measured\": ";
    writeJsonString(out, target.measured);
    out << ", \"verdict\": ";
    writeJsonString(out, verdictText(target.verdict));
    out << "}";
  }
  out << "\n  ]\n";
}

}  // namespace

void writeJsonReport(std::ostream& out, const Run& run) {
  out << "{\n  \"tool\": \"bench-compare\",\n";
  writeSettings(out, run);
  writeServers(out, run);
  out << "  \"cells\": [\n";
  bool first = true;
  for (const Cell& cell : run.cells) {
    const std::vector<Server> contenders = contendersOf(cell, run.peers, run.oursWithTimeout);
    if (contenders.empty()) continue;
    out << (first ? "" : ",\n");
    first = false;
    writeCell(out, run, cell, contenders);
  }
  out << "\n  ],\n";
  writeTargets(out, run);
  out << "}\n";
}

}  // namespace compare
