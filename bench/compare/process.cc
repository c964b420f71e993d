#include "bench/compare/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>

namespace compare {

namespace {

// Milliseconds left until `deadline` for poll(), never negative.
int millisecondsUntil(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Runs in the child between fork() and exec(): only async-signal-safe calls.
[[noreturn]] void execPinned(char* const* argv, int cpu, int outputWriteEnd, pid_t parent) {
  // Should the driver die without stopping it (killed, or its terminal gone), the child dies too
  // instead of serving on forever; the check closes the race with a parent that died already.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  signal(SIGPIPE, SIG_DFL);  // the driver ignores SIGPIPE; the programs it runs get the default
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      static const char message[] = "bench-compare: sched_setaffinity failed in the child\n";
      [[maybe_unused]] ssize_t n = write(STDERR_FILENO, message, sizeof message - 1);
      _exit(127);
    }
  }
  if (dup2(outputWriteEnd, STDOUT_FILENO) < 0) _exit(127);
  execvp(argv[0], argv);
  static const char message[] = "bench-compare: cannot execute ";
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, message, sizeof message - 1);
  n = write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
  n = write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

}  // namespace

std::string findInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view directories = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!directories.empty()) {
    const std::size_t colon = directories.find(':');
    std::string_view directory = directories.substr(0, colon);
    directories =
        colon == std::string_view::npos ? std::string_view{} : directories.substr(colon + 1);
    std::string candidate = std::string(directory.empty() ? "." : directory) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

Process::Process(const std::vector<std::string>& argv, int cpu) {
  std::vector<std::string> storage = argv;
  std::vector<char*> pointers;
  pointers.reserve(storage.size() + 1);
  for (auto& arg : storage) pointers.push_back(arg.data());
  pointers.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    throw std::system_error(error, std::generic_category(), "fork");
  }
  if (pid_ == 0) execPinned(pointers.data(), cpu, fds[1], parent);
  close(fds[1]);
  output_ = fds[0];
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) {
    const int error = errno;
    killAndReap();
    close(output_);
    throw std::system_error(error, std::generic_category(), "pidfd_open");
  }
}

Process::~Process() {
  if (!reaped_) killAndReap();
  close(pidfd_);
  close(output_);
}

void Process::killAndReap() {
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

std::optional<std::string> Process::nextLine(Clock::time_point deadline) {
  while (returned_ == lines_.size()) {
    if (!readSome(deadline)) return std::nullopt;
  }
  return lines_[returned_++];
}

std::vector<std::string> Process::remainingLines(Clock::time_point deadline) {
  while (readSome(deadline)) {
  }
  std::vector<std::string> rest(lines_.begin() + static_cast<std::ptrdiff_t>(returned_),
                                lines_.end());
  if (endOfOutput_ && !pending_.empty())
    rest.push_back(std::exchange(pending_, {}));  // no final newline
  returned_ = lines_.size();
  return rest;
}

std::optional<int> Process::waitForExit(Clock::time_point deadline) {
  if (reaped_) return std::nullopt;
  pollfd watched{pidfd_, POLLIN, 0};
  while (true) {
    const int ready = poll(&watched, 1, millisecondsUntil(deadline));
    if (ready > 0) break;
    if (ready == 0) return std::nullopt;
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll(pidfd)");
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  reaped_ = true;
  return status;
}

bool Process::stop(std::chrono::milliseconds grace) {
  if (reaped_) return true;
  kill(pid_, SIGTERM);
  if (waitForExit(Clock::now() + grace)) return true;
  killAndReap();
  return false;
}

// One read, waiting at most until the deadline; false at end of output or at the deadline.
bool Process::readSome(Clock::time_point deadline) {
  if (endOfOutput_) return false;
  pollfd watched{output_, POLLIN, 0};
  const int ready = poll(&watched, 1, millisecondsUntil(deadline));
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

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace compare
