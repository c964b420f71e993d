// bench-compare's command line. Defaults fit the whole run in about four minutes on a two-core
// machine; --quick shrinks everything for tests, and explicit --rounds, --duration or --warmup
// win over --quick whatever their order. Bad arguments end the program with status 2 and a
// message naming the flag.
#pragma once

#include <string>
#include <vector>

namespace compare {

struct Options {
  int rounds = 0;
  double durationSeconds = 0;
  double warmupSeconds = 0;
  double idleHoldSeconds = 0;
  int idleConnections = 0;
  std::vector<std::string> peers;  // server names, from --peers; every known peer by default
  std::string outDirectory;        // results.md, results.json, throughput.png
  std::string binDirectory;        // echo-server, netload, peers/
  std::string netload;
  std::string nodeScript;
};

Options parseOptions(int argc, char** argv);

}  // namespace compare
