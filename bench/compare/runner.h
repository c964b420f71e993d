// Running the comparison: each measurement starts one server pinned to its core, reads its port
// from its first line, runs netload pinned to the other core against it, and stops the server
// by its PID; rounds repeat the whole set of cells.
//
// Within a round every cell is measured once per contender, back to back, and the order of the
// contenders turns by one place from cell to cell and from round to round: no server is always
// first (on a cold machine) or always right after the same neighbour, so a slow drift of the
// machine's load spreads over all of them instead of favouring one. Everything is bounded in
// time: a server that does not announce its port, a netload that does not finish, a server that
// ignores SIGTERM are each given a few seconds and then killed, and the measurement is recorded
// as failed with the reason.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "bench/compare/cells.h"
#include "bench/compare/results.h"
#include "bench/compare/servers.h"

namespace compare {

struct RunSettings {
  int rounds = 1;
  double durationSeconds = 1;    // measured window of each measurement
  double warmupSeconds = 0.2;    // load before the window, not measured
  double idleHoldSeconds = 0.2;  // how long the idle cell holds its connections open
  std::string netload;           // path of the netload binary
  int serverCpu = -1;            // core of the server; negative: not pinned
  int loadCpu = -1;              // core of netload; negative: not pinned
};

// The servers that take part in `cell`: the peers, or for the wheel cell ours without and with
// the idle timeout (none when ours is not among the peers).
std::vector<Server> contendersOf(const Cell& cell, const std::vector<Server>& peers,
                                 const Server& oursWithTimeout);

// Runs `settings.rounds` rounds of every cell and returns every sample; one line per measurement
// goes to `progress` as it completes.
Results runComparison(const std::vector<Cell>& cells, const std::vector<Server>& peers,
                      const Server& oursWithTimeout, const RunSettings& settings,
                      std::ostream& progress);

}  // namespace compare
