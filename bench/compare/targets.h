// The targets issue 4 sets for our server, each judged met or not met from the medians of a run
// (or "not measured" when a server it needs was skipped or failed).
#pragma once

#include <string>
#include <vector>

#include "bench/compare/cells.h"
#include "bench/compare/results.h"

namespace compare {

enum class Verdict { kMet, kNotMet, kNotMeasured };

struct TargetResult {
  std::string target;    // what the issue asks, in words
  std::string measured;  // the numbers the verdict rests on
  Verdict verdict;
};

std::string_view verdictText(Verdict verdict);  // "met", "not met", "not measured"

std::vector<TargetResult> evaluateTargets(const std::vector<Cell>& cells, const Results& results);

}  // namespace compare
