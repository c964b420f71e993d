// throughput.png: pingpong throughput with 16 KiB messages against the number of connections
// (1, 100, 1000), one line per server, drawn by gnuplot from the run's medians. The gnuplot
// script is kept beside the picture (throughput.gp, data included) so that the chart can be
// redrawn or restyled without running the benchmark again. pngcairo is used when gnuplot has
// it, its plain png terminal otherwise.
#pragma once

#include <string>

#include "bench/compare/run.h"

namespace compare {

// Writes `directory`/throughput.gp and draws `directory`/throughput.png; a line saying what was
// written, or why the chart was skipped (no gnuplot) or failed.
std::string drawThroughputChart(const Run& run, const std::string& directory);

}  // namespace compare
