#include "tests/child_process.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <system_error>

extern char** environ;

namespace testing_support {

using namespace std::chrono_literals;

namespace {

void closeEach(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

std::string siblingBinary(const std::string& relative) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return relative;
  std::string path(self, static_cast<std::size_t>(length));
  return path.substr(0, path.rfind('/') + 1) + relative;
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args, Streams streams) {
  // Every descriptor is close-on-exec, so that no other child inherits the test's ends (a child
  // holding our end of another child's stdin would keep that stdin from ever ending).
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 ||
      (streams == Streams::kAll &&
       (pipe2(err, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0))) {
    const int saved = errno;
    closeEach({out[0], out[1], err[0], err[1], in[0], in[1]});
    throw std::system_error(saved, std::generic_category(), "pipe for " + program);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  if (streams == Streams::kAll) {
    posix_spawn_file_actions_adddup2(&actions, in[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  }
  std::vector<std::string> argvStorage{program};
  argvStorage.insert(argvStorage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argvStorage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int failure = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  closeEach({out[1], err[1], in[1]});
  if (failure != 0) {
    closeEach({out[0], err[0], in[0]});
    throw std::system_error(failure, std::generic_category(), "posix_spawn " + program);
  }
  stdout_.fd = out[0];
  stderr_.fd = err[0];
  stdin_ = in[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exitStatus_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  closeEach({stdin_, stdout_.fd, stderr_.fd});
}

bool ChildProcess::printed(std::string_view line) const { return lineStartingWith(line) == line; }

std::optional<std::string> ChildProcess::lineStartingWith(std::string_view prefix) const {
  for (const auto& line : lines_) {
    if (line.starts_with(prefix)) return line;
  }
  return std::nullopt;
}

bool ChildProcess::waitUntil(const std::function<bool()>& done, Clock::time_point deadline) {
  while (!done()) {
    if (!readSome(deadline)) return false;
  }
  return true;
}

bool ChildProcess::waitForLine(std::string_view line, Clock::time_point deadline) {
  return waitUntil([&] { return printed(line); }, deadline);
}

std::optional<std::string> ChildProcess::waitForLineStartingWith(std::string_view prefix, Clock::time_point deadline) {
  if (!waitUntil([&] { return lineStartingWith(prefix).has_value(); }, deadline)) return std::nullopt;
  return lineStartingWith(prefix);
}

std::optional<int> ChildProcess::waitForExit(Clock::time_point deadline) {
  if (exitStatus_) return exitStatus_;
  while (readSome(deadline)) {
  }
  if (stdout_.fd >= 0 || stderr_.fd >= 0) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exitStatus_ = status;
  return status;
}

void ChildProcess::signal(int number) const {
  if (pid_ > 0 && !exitStatus_) kill(pid_, number);
}

bool ChildProcess::exitsCleanlyOnSigterm(Clock::time_point deadline) {
  signal(SIGTERM);
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's runtime (in the child, built like this test) may hold back a signal that
  // arrives outside a blocking call until one returns: a child that then sleeps in epoll_wait with
  // no timer armed would never see it. A SIGTERM sent while it sleeps is taken at once, and the
  // first with it. Only the sanitized build repeats the signal; a normal one must exit on the first.
  for (Clock::time_point retry = Clock::now() + 1s; retry < deadline; retry += 1s) {
    if (waitForExit(retry)) break;
    signal(SIGTERM);
  }
#endif
  const std::optional<int> status = waitForExit(deadline);
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

bool ChildProcess::writeToStdin(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (stdin_ < 0) return false;
    const ssize_t n = send(stdin_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return false;  // the child has closed its stdin or exited
    } else if (!readSome(deadline, true)) {
      return false;
    }
  }
  return true;
}

void ChildProcess::closeStdin() {
  closeEach({stdin_});
  stdin_ = -1;
}

std::string ChildProcess::transcript() const {
  std::string text;
  for (const auto& line : lines_) text += "  | " + line + "\n";
  if (unfinishedLine_ < stdout_.bytes.size()) text += "  | " + stdout_.bytes.substr(unfinishedLine_) + " (no newline)\n";
  if (!stderr_.bytes.empty()) text += "  stderr:\n" + stderr_.bytes;
  return text;
}

bool ChildProcess::readSome(Clock::time_point deadline, bool orStdinWritable) {
  pollfd watched[3];
  nfds_t count = 0;
  for (const Captured* stream : {&stdout_, &stderr_}) {
    if (stream->fd >= 0) watched[count++] = pollfd{stream->fd, POLLIN, 0};
  }
  if (orStdinWritable && stdin_ >= 0) watched[count++] = pollfd{stdin_, POLLOUT, 0};
  if (count == 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left <= 0ms) return false;
  const int ready = poll(watched, count, static_cast<int>(left.count()));
  if (ready < 0 && errno == EINTR) return true;
  if (ready <= 0) return false;
  for (nfds_t i = 0; i < count; ++i) {
    if (watched[i].revents == 0) continue;
    if (watched[i].fd == stdout_.fd) readFrom(stdout_);
    if (watched[i].fd == stderr_.fd) readFrom(stderr_);
  }
  return true;
}

// Called when poll() reported the descriptor readable (or hung up), so read() does not block.
void ChildProcess::readFrom(Captured& stream) {
  char buffer[64 * 1024];
  const ssize_t n = read(stream.fd, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    closeEach({stream.fd});
    stream.fd = -1;
    return;
  }
  stream.bytes.append(buffer, static_cast<std::size_t>(n));
  if (&stream != &stdout_) return;
  for (std::size_t newline; (newline = stream.bytes.find('\n', unfinishedLine_)) != std::string::npos;) {
    lines_.push_back(stream.bytes.substr(unfinishedLine_, newline - unfinishedLine_));
    unfinishedLine_ = newline + 1;
  }
}

std::optional<int> waitForLoopbackPort(ChildProcess& process, Clock::time_point deadline) {
  constexpr std::string_view kListeningOn = "listening on 127.0.0.1:";
  const auto line = process.waitForLineStartingWith(kListeningOn, deadline);
  if (!line) return std::nullopt;
  return std::stoi(line->substr(kListeningOn.size()));
}

ForkedReport runForked(const std::function<std::string()>& body, Clock::time_point deadline) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  const pid_t child = fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    close(report[0]);
    std::string text;
    try {
      text = body();
    } catch (const std::exception& error) {
      text = std::string("exception: ") + error.what();
    }
    for (std::size_t sent = 0; sent < text.size();) {
      const ssize_t n = write(report[1], text.data() + sent, text.size() - sent);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(report[1]);
  ForkedReport result;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd watched{report[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&watched, 1, static_cast<int>(left.count())) != 1) break;
    char buffer[512];
    const ssize_t n = read(report[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.text.append(buffer, static_cast<std::size_t>(n));
  }
  close(report[0]);
  kill(child, SIGKILL);  // our own child: a no-op once it has exited
  waitpid(child, &result.status, 0);
  return result;
}

}  // namespace testing_support
