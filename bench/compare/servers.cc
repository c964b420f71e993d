#include "bench/compare/servers.h"

#include <unistd.h>

#include "bench/compare/process.h"

namespace compare {

namespace {

Server builtProgram(std::string name, std::string title, const std::string& path,
                    const std::string& howToBuild) {
  Server server{std::move(name), std::move(title), {path}, {}};
  if (access(path.c_str(), X_OK) != 0)
    server.unavailable = path + " is not built (" + howToBuild + ")";
  return server;
}

Server nodePeer(const std::string& script) {
  const std::string node = findInPath("node");
  Server server{"node", "Node.js", {node.empty() ? "node" : node, script}, {}};
  if (node.empty()) {
    server.unavailable = "node is not installed (make bench-deps installs it)";
  } else if (access(script.c_str(), R_OK) != 0) {
    server.unavailable =
        script + " not found (run from the repository's root, or pass --node-script)";
  }
  return server;
}

}  // namespace

std::vector<Server> knownPeers(const ServerLocations& where) {
  const std::string peers = where.binDirectory + "/peers/";
  return {
      builtProgram("ours", "ours", where.binDirectory + "/echo-server", "make"),
      builtProgram("raw", "raw epoll", peers + "raw_epoll_echo", "make peers"),
      builtProgram("libuv", "libuv", peers + "libuv_echo", "make bench-deps peers"),
      builtProgram("asio", "Asio", peers + "asio_echo", "make bench-deps peers"),
      nodePeer(where.nodeScript),
  };
}

Server oursWithIdleTimeout(const ServerLocations& where) {
  Server server = builtProgram("ours+timeout", "ours, setTimeout(30 s)",
                               where.binDirectory + "/echo-server", "make");
  server.argv.insert(server.argv.end(), {"--idle-timeout", "30000"});
  return server;
}

}  // namespace compare
