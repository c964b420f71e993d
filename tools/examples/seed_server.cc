// The server of the notes that started this project, translated line for line from Node:
//
//   var net = require("net");
//   var server = new net.Server();
//   server.on("connection", socket => {
//       socket.on("data", res => { console.log("client_data:" + res); });
//       socket.write("this is server");
//       socket.on("close", () => { console.log("client is close"); });
//   });
//   server.listen(3000, () => { console.log("server is running"); });
//
// Usage: seed_server [port]   (3000 by default)
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/net.h"
#include "tools/common/command_line.h"

namespace {

// [port]: 3000 by default, else a number from 0 to 65535.
int portArgument(int argc, char** argv) {
  if (argc < 2) return 3000;
  const std::optional<std::uint64_t> port =
      argc == 2 ? tools::wholeNumber(argv[1], 0, 65535) : std::nullopt;
  if (!port) {
    std::cerr << "usage: seed_server [port]   (port: 0 to 65535, default 3000)" << std::endl;
    std::exit(2);
  }
  return static_cast<int>(*port);
}

int run(int argc, char** argv) {
  const int port = portArgument(argc, argv);

  auto server = net::Server::create();
  server->on("connection", [](const std::shared_ptr<net::Socket>& socket) {
    socket->on("data",
               [](std::string_view res) { std::cout << "client_data:" << res << std::endl; });
    socket->write("this is server");
    socket->on("close", [] { std::cout << "client is close" << std::endl; });
  });
  server->listen(port, [] { std::cout << "server is running" << std::endl; });

  reactor::Loop::forThisThread().run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "seed_server: " << error.what() << std::endl;
    return 1;
  }
}
