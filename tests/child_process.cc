#include "tests/child_process.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

extern char** environ;

namespace testing_support {

using namespace std::chrono_literals;

std::string siblingBinary(const std::string& relative) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return relative;
  std::string path(self, static_cast<std::size_t>(length));
  return path.substr(0, path.rfind('/') + 1) + relative;
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args) {
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

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exitStatus_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(output_);
}

bool ChildProcess::printed(std::string_view line) const { return lineStartingWith(line) == line; }

std::optional<std::string> ChildProcess::lineStartingWith(std::string_view prefix) const {
  for (const auto& line : lines_) {
    if (line.starts_with(prefix)) return line;
  }
  return std::nullopt;
}

bool ChildProcess::waitForLine(std::string_view line, Clock::time_point deadline) {
  while (!printed(line)) {
    if (!readSome(deadline)) return false;
  }
  return true;
}

std::optional<std::string> ChildProcess::waitForLineStartingWith(std::string_view prefix, Clock::time_point deadline) {
  while (!lineStartingWith(prefix)) {
    if (!readSome(deadline)) return std::nullopt;
  }
  return lineStartingWith(prefix);
}

std::optional<int> ChildProcess::waitForExit(Clock::time_point deadline) {
  while (readSome(deadline)) {
  }
  if (!endOfOutput_) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exitStatus_ = status;
  return status;
}

void ChildProcess::signal(int number) const {
  if (pid_ > 0 && !exitStatus_) kill(pid_, number);
}

std::string ChildProcess::transcript() const {
  std::string text;
  for (const auto& line : lines_) text += "  | " + line + "\n";
  return text + (pending_.empty() ? "" : "  | " + pending_ + " (no newline)\n");
}

// One read, waiting at most until the deadline; false at end of output or at the deadline.
bool ChildProcess::readSome(Clock::time_point deadline) {
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

}  // namespace testing_support
