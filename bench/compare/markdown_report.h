// results.md: the run as a person reads it. One table with the cells as rows (one row per metric,
// the cell's primary metric first) and the servers as columns, each value the median over the
// rounds, followed by our advantage over each peer; the timer wheel's own small table; the
// targets with their verdicts; the servers that were skipped and the measurements that failed.
#pragma once

#include <ostream>

#include "bench/compare/run.h"

namespace compare {

void writeMarkdownReport(std::ostream& out, const Run& run);

}  // namespace compare
