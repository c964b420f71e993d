#include "bench/compare/markdown_report.h"

#include <algorithm>

#include "bench/compare/format.h"

namespace compare {

namespace {

bool oursRan(const Run& run) {
  return std::any_of(run.peers.begin(), run.peers.end(),
                     [](const Server& s) { return s.name == "ours"; });
}

void writeHeader(std::ostream& out, const Run& run) {
  const RunSettings& s = run.settings;
  out << "# Our echo-server side by side with its peers\n\n"
      << s.rounds << (s.rounds == 1 ? " round" : " rounds") << "; each measurement "
      << formatArgument(s.warmupSeconds) << " s of warm-up, then "
      << formatArgument(s.durationSeconds) << " s measured (idle: connections held "
      << formatArgument(s.idleHoldSeconds)
      << " s); every value is the median over the rounds, and ±N% beside it the "
      << "spread: how far the farthest round lies from that median. Two servers whose values lie "
         "within each "
      << "other's spread are not told apart by this run. " << run.pinning << ".\n\n"
      << "The `vs` columns are ours against each peer, above 1 when ours is ahead: ours / peer for "
         "throughput, "
         "peer / ours for latency, CPU and memory. The first row of a cell is the metric it is "
         "judged by.\n\n";
}

void writeCellTable(std::ostream& out, const Run& run) {
  const bool withRatios = oursRan(run);
  out << "| cell | metric |";
  for (const Server& server : run.peers) out << " " << server.title << " |";
  if (withRatios) {
    for (const Server& server : run.peers) {
      if (server.name != "ours") out << " vs " << server.title << " |";
    }
  }
  out << "\n|---|---|";
  for (const Server& server : run.peers)
    out << "---:|" << (withRatios && server.name != "ours" ? "---:|" : "");
  out << "\n";
  for (const Cell& cell : run.cells) {
    if (cell.wheel) continue;
    for (std::size_t m = 0; m < cell.metrics.size(); ++m) {
      const Metric metric = cell.metrics[m];
      out << "| " << (m == 0 ? cell.title : "") << " | " << describe(metric).label << " |";
      for (const Server& server : run.peers) {
        out << " " << formatValue(run.results.median(cell.id, server.name, metric))
            << formatSpread(run.results.spread(cell.id, server.name, metric)) << " |";
      }
      if (withRatios) {
        const auto ours = run.results.median(cell.id, "ours", metric);
        for (const Server& server : run.peers) {
          if (server.name == "ours") continue;
          out << " "
              << formatRatio(
                     advantage(metric, ours, run.results.median(cell.id, server.name, metric)))
              << " |";
        }
      }
      out << "\n";
    }
  }
}

void writeWheelTable(std::ostream& out, const Run& run) {
  const auto wheel =
      std::find_if(run.cells.begin(), run.cells.end(), [](const Cell& c) { return c.wheel; });
  if (wheel == run.cells.end() || !oursRan(run)) return;
  out << "\n## Timer wheel: " << wheel->title << "\n\n"
      << "| metric | ours | " << run.oursWithTimeout.title
      << " | with vs without |\n|---|---:|---:|---:|\n";
  for (const Metric metric : wheel->metrics) {
    const auto without = run.results.median(wheel->id, "ours", metric);
    const auto with = run.results.median(wheel->id, run.oursWithTimeout.name, metric);
    out << "| " << describe(metric).label << " | " << formatValue(without)
        << formatSpread(run.results.spread(wheel->id, "ours", metric)) << " | " << formatValue(with)
        << formatSpread(run.results.spread(wheel->id, run.oursWithTimeout.name, metric)) << " | "
        << formatRatio(advantage(metric, with, without)) << " |\n";
  }
}

void writeTargets(std::ostream& out, const Run& run) {
  out << "\n## Targets (issue 4)\n\n| target | measured | verdict |\n|---|---|---|\n";
  for (const TargetResult& target : run.targets) {
    out << "| " << target.target << " | " << target.measured << " | ";
    if (target.verdict == Verdict::kNotMeasured) {
      out << verdictText(target.verdict);
    } else {
      out << "**" << verdictText(target.verdict) << "**";
    }
    out << " |\n";
  }
}

void writeOmissions(std::ostream& out, const Run& run) {
  if (!run.skipped.empty()) out << "\nSkipped servers:\n\n";
  for (const Server& server : run.skipped)
    out << "- " << server.name << ": " << server.unavailable << "\n";
  std::vector<Server> everyone = run.peers;
  everyone.push_back(run.oursWithTimeout);
  bool first = true;
  for (const Cell& cell : run.cells) {
    for (const Server& server : everyone) {
      for (const Sample& sample : run.results.samples(cell.id, server.name)) {
        if (sample.ok) continue;
        if (first) out << "\nFailed measurements (left out of the medians):\n\n";
        first = false;
        out << "- " << cell.id << ", " << server.name << ", round " << sample.round + 1 << ": "
            << sample.error << "\n";
      }
    }
  }
}

}  // namespace

void writeMarkdownReport(std::ostream& out, const Run& run) {
  writeHeader(out, run);
  writeCellTable(out, run);
  writeWheelTable(out, run);
  writeTargets(out, run);
  writeOmissions(out, run);
}

}  // namespace compare
