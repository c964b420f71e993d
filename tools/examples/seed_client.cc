// The client of the notes that started this project, translated line for line from Node:
//
//   var net = require("net");
//   var clientSockert = new net.Socket();
//   clientSockert.setTimeout(3000, function() {
//       console.log("client:客户端超时");
//       clientSockert.end("end");
//   });
//   clientSockert.connect(3000, "127.0.0.1", () => {
//       clientSockert.write("this is client");
//   });
//
// plus two listeners, so that a run shows what came back: "server_data:" + data, "client close".
// The timeout fires after three idle seconds ("客户端超时": the client timed out).
//
// Usage: seed_client [port]   (3000 by default)
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "net/net.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 3000;

  auto clientSockert = net::Socket::create();
  clientSockert->setTimeout(3000, [&clientSockert] {
    std::cout << "client:客户端超时" << std::endl;
    clientSockert->end("end");
  });

  clientSockert->connect(port, "127.0.0.1", [&clientSockert] { clientSockert->write("this is client"); });
  clientSockert->on("data", [](std::string_view data) { std::cout << "server_data:" << data << std::endl; });
  clientSockert->on("close", [] { std::cout << "client close" << std::endl; });

  reactor::Loop::forThisThread().run();
}
