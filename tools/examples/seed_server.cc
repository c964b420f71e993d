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
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "net/net.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 3000;

  auto server = net::Server::create();
  server->on("connection", [](std::shared_ptr<net::Socket> socket) {
    socket->on("data", [](std::string_view res) { std::cout << "client_data:" << res << std::endl; });
    socket->write("this is server");
    socket->on("close", [] { std::cout << "client is close" << std::endl; });
  });
  server->listen(port, [] { std::cout << "server is running" << std::endl; });

  reactor::Loop::forThisThread().run();
}
