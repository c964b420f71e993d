// No SIGPIPE: writing to a connection whose peer has closed, or reset it, fails the socket with
// EPIPE or ECONNRESET and never raises SIGPIPE, whose default action would end the process. The
// scenarios run in a forked child with SIGPIPE explicitly at its default action and unblocked,
// so that a send() without MSG_NOSIGNAL would kill the child: the test sees that as a death by
// signal rather than losing the whole test binary. Each scenario reports the error the socket
// emitted; on a unix-domain socket whose peer is gone the kernel answers EPIPE (the very case
// that raises SIGPIPE), once on the direct send() of write() and once on the gathered sendmsg()
// of queued data.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/socket.h"
#include "tests/child_process.h"
#include "tests/poll_until.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

// What one scenario saw: "<error code> <syscall>", or what went wrong instead.
using Outcome = std::string;

// Watches a socket until it closes; writes `chunk` whenever nothing is queued, so that a socket
// whose peer is gone is certain to try the kernel again.
Outcome writeUntilClosed(reactor::Loop& loop, const std::shared_ptr<Socket>& socket) {
  std::optional<Error> error;
  bool closed = false;
  socket->on("error", [&](const Error& e) { error = e; });
  socket->on("close", [&](bool) { closed = true; });
  const std::string chunk(16 * 1024, 'p');
  if (!pollUntil(loop, [&] {
        if (!socket->destroyed() && socket->writableLength() == 0) socket->write(std::string_view(chunk));
        return closed;
      })) {
    return "never failed";
  }
  return error ? error->code() + " " + error->syscall() : "closed without an error";
}

// A unix-domain socket whose peer has closed: write() hands the data to the kernel at once.
Outcome unixPeerClosedDirectWrite(reactor::Loop& loop) {
  SocketPair pair = unixPair();
  SocketOptions options;
  options.fd = pair.local.release();
  auto socket = Socket::create(loop, options);
  pair.peer.reset();
  return writeUntilClosed(loop, socket);
}

// A unix-domain client whose first write is queued while it connects; the server accepts and
// closes before the client's loop runs, so the queued bytes meet the closed peer in sendmsg().
Outcome unixPeerClosedQueuedWrite(reactor::Loop& loop, const std::string& path) {
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ::unlink(path.c_str());
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 ||
      ::listen(listener.get(), 1) < 0) {
    return std::string("listen: ") + std::strerror(errno);
  }
  auto socket = Socket::create(loop);
  socket->connect(path);
  socket->write(std::string_view("queued while connecting"));
  Fd accepted(::accept(listener.get(), nullptr, nullptr));
  accepted.reset();
  ::unlink(path.c_str());
  return writeUntilClosed(loop, socket);
}

// TCP: the peer closes (FIN, then RST when our data arrives), or resets at once (SO_LINGER 0).
// allowHalfOpen keeps our side writing after the FIN (else it would end, cleanly, by itself).
Outcome tcpPeerGone(reactor::Loop& loop, bool reset) {
  SocketPair pair = tcpPair();
  SocketOptions options;
  options.fd = pair.local.release();
  options.allowHalfOpen = true;
  auto socket = Socket::create(loop, options);
  if (reset) {
    const linger abortive{1, 0};
    setsockopt(pair.peer.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  }
  pair.peer.reset();
  return writeUntilClosed(loop, socket);
}

// Runs in the child: SIGPIPE at its default action, then every scenario; one line each.
std::string runScenarios(const TestBackend& backend, const std::string& path) {
  signal(SIGPIPE, SIG_DFL);
  sigset_t pipeSignal;
  sigemptyset(&pipeSignal);
  sigaddset(&pipeSignal, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &pipeSignal, nullptr);
  reactor::Loop loop{backend.make()};
  std::string report;
  report += "unix closed, write: " + unixPeerClosedDirectWrite(loop) + "\n";
  report += "unix closed, queued: " + unixPeerClosedQueuedWrite(loop, path) + "\n";
  report += "tcp closed: " + tcpPeerGone(loop, false) + "\n";
  report += "tcp reset: " + tcpPeerGone(loop, true) + "\n";
  return report;
}

class FaultSigpipeTest : public ::testing::TestWithParam<TestBackend> {};

TEST_P(FaultSigpipeTest, WritingToAClosedOrResetPeerFailsTheSocketAndRaisesNoSigpipe) {
  const std::string path = ::testing::TempDir() + "fault_sigpipe_" + std::to_string(getpid()) + ".sock";
  const auto [text, status] = testing_support::runForked([&] { return runScenarios(GetParam(), path); },
                                                          std::chrono::steady_clock::now() + std::chrono::seconds(20));
  EXPECT_FALSE(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE) << "SIGPIPE killed the child\n" << text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << text;
  // On a unix-domain socket the kernel answers EPIPE, the error that comes with SIGPIPE. Over TCP
  // the peer's RST usually arrives first and the write fails with ECONNRESET instead.
  EXPECT_NE(text.find("unix closed, write: EPIPE write\n"), std::string::npos) << text;
  EXPECT_NE(text.find("unix closed, queued: EPIPE write\n"), std::string::npos) << text;
  for (const char* tcpCase : {"tcp closed: ", "tcp reset: "}) {
    const std::string prefix = tcpCase;
    EXPECT_TRUE(text.find(prefix + "ECONNRESET write\n") != std::string::npos ||
                text.find(prefix + "EPIPE write\n") != std::string::npos)
        << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultSigpipeTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
