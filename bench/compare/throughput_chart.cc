#include "bench/compare/throughput_chart.h"

#include <fstream>
#include <string_view>

#include "bench/compare/format.h"
#include "bench/compare/process.h"

namespace compare {

namespace {

using namespace std::chrono_literals;

constexpr auto kGnuplotTimeout = 20s;

// Ours stands out (thick, red); the floor is a dashed grey line, a reference more than a rival.
struct LineStyle {
  std::string_view server;
  std::string_view colour;
  double width;
  int dash;  // gnuplot dashtype: 1 solid, 2 dashed
};
constexpr LineStyle kStyles[] = {{"ours", "#c0392b", 2.5, 1},
                                 {"raw", "#606060", 1.6, 2},
                                 {"libuv", "#2471a3", 1.6, 1},
                                 {"asio", "#1e8449", 1.6, 1},
                                 {"node", "#b9770e", 1.6, 1}};
constexpr LineStyle kOtherStyle{"", "#8e44ad", 1.6, 1};

const LineStyle& styleOf(const Server& server) {
  for (const LineStyle& style : kStyles) {
    if (style.server == server.name) return style;
  }
  return kOtherStyle;
}

void writeScript(std::ostream& out, const Run& run, const std::string& picture) {
  out << "# Pingpong throughput, 16 KiB messages, by connection count: redraw with `gnuplot "
         "throughput.gp`.\n"
      << "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
      << "  set terminal pngcairo size 960,600 font \"sans,12\" linewidth 1.5\n"
      << "} else {\n"
      << "  set terminal png size 960,600\n"
      << "}\n"
      << "set output \"" << picture << "\"\n"
      << "set title \"pingpong with 16 KiB messages: median of " << run.settings.rounds << " round"
      << (run.settings.rounds == 1 ? "" : "s") << ", server on one core (higher is better)\"\n"
      << "set xlabel \"connections\"\n"
      << "set ylabel \"MiB/s echoed back to the client\"\n"
      << "set logscale x\n"
      << "set xrange [0.6:1600]\n"
      << "set xtics (\"1\" 1, \"10\" 10, \"100\" 100, \"1000\" 1000)\n"
      << "set yrange [0:*]\n"
      << "set offsets 0, 0, graph 0.08, 0\n"
      << "set grid\n"
      << "set key outside right center box Left reverse spacing 1.4\n"
      << "set datafile missing \"-\"\n"
      << "$throughput << EOD\n"
      << "# connections";
  for (const Server& server : run.peers) out << ", " << server.name;
  out << ": MiB/s\n";
  for (const CurvePoint& point : kThroughputCurve) {
    out << point.connections;
    for (const Server& server : run.peers) {
      const auto median =
          run.results.median(std::string(point.cellId), server.name, Metric::kMibPerSecond);
      out << " " << (median ? formatArgument(*median) : "-");
    }
    out << "\n";
  }
  out << "EOD\n";
  for (std::size_t i = 0; i < run.peers.size(); ++i) {
    const Server& server = run.peers[i];
    const LineStyle& style = styleOf(server);
    out << (i == 0 ? "plot $throughput" : ", \\\n     ''") << " using 1:" << i + 2
        << " with linespoints pointtype 7 pointsize 1.3 linecolor rgb \"" << style.colour
        << "\" linewidth " << formatArgument(style.width) << " dashtype " << style.dash
        << " title \"" << server.title << (server.name == "raw" ? " (floor)" : "") << "\"";
  }
  out << "\n";
}

// gnuplot refuses to draw a plot without a single point.
bool anyPoint(const Run& run) {
  for (const CurvePoint& point : kThroughputCurve) {
    for (const Server& server : run.peers) {
      if (run.results.median(std::string(point.cellId), server.name, Metric::kMibPerSecond))
        return true;
    }
  }
  return false;
}

}  // namespace

std::string drawThroughputChart(const Run& run, const std::string& directory) {
  const std::string gnuplot = findInPath("gnuplot");
  if (gnuplot.empty())
    return "chart skipped: gnuplot is not installed (make bench-deps installs it)";
  if (!anyPoint(run)) return "chart skipped: no pingpong 16 KiB cell has a successful measurement";
  const std::string script = directory + "/throughput.gp";
  const std::string picture = directory + "/throughput.png";
  {
    std::ofstream out(script);
    writeScript(out, run, "throughput.png");
    if (!out) return "chart failed: cannot write " + script;
  }
  // The script names its picture relative to its own directory, so gnuplot moves there before it
  // reads the script (its arguments run in order).
  Process process({gnuplot, "-e", "cd '" + directory + "'", "throughput.gp"}, -1);
  const auto status = process.waitForExit(Clock::now() + kGnuplotTimeout);
  if (!status) return "chart failed: gnuplot did not finish within 20 s";
  if (*status != 0)
    return "chart failed: gnuplot " + describeWaitStatus(*status) + " (its message is above)";
  return "wrote " + picture;
}

}  // namespace compare
