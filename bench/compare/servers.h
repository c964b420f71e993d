// The servers the comparison runs: our echo-server and the peers of bench/peers/, where to find
// each one, and why one that cannot run here is skipped.
//
// Every server takes `--port 0 --mode echo|discard` and prints `listening on HOST:PORT` as its
// first line (bench/peers/README.md); the cell adds those arguments, a server only knows its
// program. Plain values: no process is started here.
#pragma once

#include <string>
#include <vector>

namespace compare {

struct Server {
  std::string name;               // short name used on the command line and in results.json
  std::string title;              // column heading in results.md and the chart's legend
  std::vector<std::string> argv;  // the program and its fixed arguments
  std::string unavailable;        // why it cannot run on this machine; empty when it can
};

struct ServerLocations {
  std::string binDirectory;  // holds echo-server, netload and peers/
  std::string nodeScript;    // bench/peers/node_echo.js
};

// ours, raw, libuv, asio, node: the columns of the report, in this order.
std::vector<Server> knownPeers(const ServerLocations& where);

// Our echo-server with a 30 s idle timeout on every connection: the "wheel" cell's contender,
// which measures what arming and refreshing one timer per socket costs under load.
Server oursWithIdleTimeout(const ServerLocations& where);

}  // namespace compare
