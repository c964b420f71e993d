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
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
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
    std::cerr << "usage: seed_client [port]   (port: 0 to 65535, default 3000)" << std::endl;
    std::exit(2);
  }
  return static_cast<int>(*port);
}

int run(int argc, char** argv) {
  const int port = portArgument(argc, argv);

  auto clientSockert = net::Socket::create();
  clientSockert->setTimeout(3000, [&clientSockert] {
    std::cout << "client:客户端超时" << std::endl;
    clientSockert->end("end");
  });

  clientSockert->connect(port, "127.0.0.1",
                         [&clientSockert] { clientSockert->write("this is client"); });
  clientSockert->on(
      "data", [](std::string_view data) { std::cout << "server_data:" << data << std::endl; });
  clientSockert->on("close", [] { std::cout << "client close" << std::endl; });

  reactor::Loop::forThisThread().run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "seed_client: " << error.what() << std::endl;
    return 1;
  }
}
