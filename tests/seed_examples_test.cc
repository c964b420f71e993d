// The seed examples (tools/examples/seed_server.cc and seed_client.cc) run as real processes
// against each other: what each prints must be what the Node programs they translate print.
//
// The binaries are found next to this test binary (build/bin/examples/, or the sanitizer build's
// equivalent). Each child's stdout is a pipe read with poll() against a deadline: no sleeping, and
// a hung child fails the test instead of hanging it. Children are killed and reaped by PID when
// the test ends, pass or fail.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tests/child_process.h"

namespace {

using namespace std::chrono_literals;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;

// A TCP port nobody listens on right now: bound to port 0, read back, released.
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throw std::system_error(errno, std::generic_category(), "freePort");
  }
  close(fd);
  return ntohs(address.sin_port);
}

TEST(SeedExamples, ClientAndServerPrintWhatTheNodeProgramsPrint) {
  const auto deadline = Clock::now() + 10s;
  const std::string port = std::to_string(freePort());

  ChildProcess server(siblingBinary("examples/seed_server"), {port});
  ASSERT_TRUE(server.waitForLine("server is running", deadline)) << "server printed:\n" << server.transcript();

  // The client sends "this is client" on connect, gets "this is server", falls idle; after three
  // seconds its timeout ends the connection with "end", and the server's side closes in turn.
  ChildProcess client(siblingBinary("examples/seed_client"), {port});
  std::optional<int> clientStatus = client.waitForExit(deadline);
  ASSERT_TRUE(clientStatus.has_value()) << "the client did not finish; it printed:\n" << client.transcript();
  EXPECT_TRUE(WIFEXITED(*clientStatus) && WEXITSTATUS(*clientStatus) == 0) << "status " << *clientStatus;
  EXPECT_EQ(client.lines(),
            (std::vector<std::string>{"server_data:this is server", "client:客户端超时", "client close"}))
      << client.transcript();

  ASSERT_TRUE(server.waitForLine("client is close", deadline)) << "server printed:\n" << server.transcript();
  EXPECT_EQ(server.lines(), (std::vector<std::string>{"server is running", "client_data:this is client",
                                                      "client_data:end", "client is close"}))
      << server.transcript();
}

}  // namespace
