// The seed examples (tools/examples/seed_server.cc and seed_client.cc) run as real processes
// against each other: what each prints must be what the Node programs they translate print.
//
// The binaries are found next to this test binary (build/bin/examples/, or the sanitizer build's
// equivalent). Each child's stdout is a pipe read with poll() against a deadline: no sleeping, and
// a hung child fails the test instead of hanging it. Children are killed and reaped by PID when
// the test ends, pass or fail.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string siblingBinary(const std::string& relative) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return relative;
  std::string path(self, static_cast<std::size_t>(length));
  return path.substr(0, path.rfind('/') + 1) + relative;
}

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

// A child process whose stdout is collected line by line. Killed (SIGKILL) and reaped on
// destruction unless it has exited already.
class ChildProcess {
 public:
  ChildProcess(const std::string& program, const std::vector<std::string>& args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    output_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<std::string> argvStorage{program};
    argvStorage.insert(argvStorage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argvStorage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int err = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (err != 0) {
      close(output_);
      throw std::system_error(err, std::generic_category(), "posix_spawn " + program);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exitStatus_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(output_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::vector<std::string>& lines() const { return lines_; }
  bool printed(std::string_view line) const {
    for (const auto& printedLine : lines_) {
      if (printedLine == line) return true;
    }
    return false;
  }

  // Reads until `line` has been printed (true), or stdout ends or the deadline passes (false).
  bool waitForLine(std::string_view line, Clock::time_point deadline) {
    while (!printed(line)) {
      if (!readSome(deadline)) return false;
    }
    return true;
  }

  // Reads to the end of stdout and reaps the process; its exit status, or nullopt at the deadline.
  std::optional<int> waitForExit(Clock::time_point deadline) {
    while (readSome(deadline)) {
    }
    if (!endOfOutput_) return std::nullopt;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    exitStatus_ = status;
    return status;
  }

  std::string transcript() const {
    std::string text;
    for (const auto& line : lines_) text += "  | " + line + "\n";
    return text + (pending_.empty() ? "" : "  | " + pending_ + " (no newline)\n");
  }

 private:
  // One read, waiting at most until the deadline; false at end of output or at the deadline.
  bool readSome(Clock::time_point deadline) {
    if (endOfOutput_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return false;
    pollfd watched{output_, POLLIN, 0};
    const int ready = poll(&watched, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buffer[4096];
    const ssize_t n = read(output_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      endOfOutput_ = true;
      return false;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t newline; (newline = pending_.find('\n')) != std::string::npos;) {
      lines_.push_back(pending_.substr(0, newline));
      pending_.erase(0, newline + 1);
    }
    return true;
  }

  pid_t pid_ = -1;
  int output_ = -1;
  std::string pending_;
  std::vector<std::string> lines_;
  bool endOfOutput_ = false;
  std::optional<int> exitStatus_;
};

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
