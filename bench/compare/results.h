// Every measurement of a comparison run, kept per cell and server in the order taken, and the
// summaries the reports print: medians over rounds, and our advantage over a peer.
//
// Medians, not means: on a shared machine one round in a few is disturbed by other work, and
// the median of the rounds ignores it where a mean would not. A failed measurement is kept
// (results.json shows it) but takes no part in a median.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/compare/cells.h"
#include "bench/compare/json_fields.h"

namespace compare {

struct Sample {
  int round = 0;
  bool ok = false;
  std::string error;  // why it failed; empty when ok
  std::string
      netloadJson;  // netload's result line verbatim: valid JSON whenever `fields` was read from it
  Fields fields;
  bool serverKilled = false;  // the server ignored SIGTERM for the grace period and was killed
};

class Results {
 public:
  void add(const std::string& cellId, const std::string& server, Sample sample);
  // The samples of one server in one cell, in round order; empty when it never ran there.
  const std::vector<Sample>& samples(const std::string& cellId, const std::string& server) const;
  // The median of `metric` over the successful samples; nullopt when there are none.
  std::optional<double> median(const std::string& cellId, const std::string& server,
                               Metric metric) const;
  // How far the successful samples stray from that median: the farthest one's distance from it, as
  // a fraction of it (0.04: every round within 4 %). nullopt with fewer than two samples.
  std::optional<double> spread(const std::string& cellId, const std::string& server,
                               Metric metric) const;

 private:
  std::vector<double> values(const std::string& cellId, const std::string& server,
                             Metric metric) const;

  std::map<std::pair<std::string, std::string>, std::vector<Sample>> samples_;
};

// How many times better ours is than the peer's, so that above 1 always means ours is ahead:
// ours / peer for a higher-is-better metric, peer / ours for a lower-is-better one.
std::optional<double> advantage(Metric metric, std::optional<double> ours,
                                std::optional<double> peer);

}  // namespace compare
