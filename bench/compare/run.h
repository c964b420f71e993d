// Everything one comparison run produced, as the report writers take it: how it was run, which
// servers took part and which were skipped (and why), every sample, and the targets' verdicts.
// A plain aggregate, filled by main and only read afterwards.
#pragma once

#include <string>
#include <vector>

#include "bench/compare/cells.h"
#include "bench/compare/results.h"
#include "bench/compare/runner.h"
#include "bench/compare/servers.h"
#include "bench/compare/targets.h"

namespace compare {

struct Run {
  RunSettings settings;
  std::string pinning;  // how server and netload were placed on cores, in words
  std::vector<Cell> cells;
  std::vector<Server> peers;    // the servers that ran, in column order; "ours" first when it ran
  Server oursWithTimeout;       // the wheel cell's second contender
  std::vector<Server> skipped;  // asked for but not runnable here; `unavailable` says why
  Results results;
  std::vector<TargetResult> targets;
};

}  // namespace compare
