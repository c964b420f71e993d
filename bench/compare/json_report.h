// results.json: the whole run for programs, every round's raw numbers included. Per cell and
// server it holds the medians the Markdown report shows and, per round, netload's own result
// object copied verbatim (so fields this driver does not use are not lost), or the error of a
// failed measurement. The settings, the servers with their command lines, the skipped servers
// and the targets' verdicts complete it.
#pragma once

#include <ostream>

#include "bench/compare/run.h"

namespace compare {

void writeJsonReport(std::ostream& out, const Run& run);

}  // namespace compare
