#include "tests/node_peer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "tests/loop_test_support.h"

namespace reactor::testing_support {
namespace {

// Runs before every script. `out` prints one line (Node writes to a pipe synchronously on Linux, so
// a line printed right before process.exit() is not lost). stdin carries the test's commands, one
// per line, to the listeners registered with onCommand(); it is unreferenced, so it does not keep
// the process alive, and its EOF (the test process went away) makes the process exit.
constexpr std::string_view kPrelude = R"js('use strict';
const net = require('net');
const crypto = require('crypto');
const argv = process.argv.slice(1);
const out = (...words) => { process.stdout.write(words.join(' ') + '\n'); };
process.on('uncaughtException', (e) => {
  out('EXCEPTION', (e && e.code) || '-', String(e && e.message).replace(/\n/g, ' '));
  process.exit(1);
});
const commandListeners = [];
const onCommand = (listener) => { commandListeners.push(listener); };
let commandText = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  commandText += chunk;
  for (let newline; (newline = commandText.indexOf('\n')) >= 0;) {
    const line = commandText.slice(0, newline);
    commandText = commandText.slice(newline + 1);
    for (const listener of commandListeners) listener(line);
  }
});
process.stdin.on('end', () => { process.stderr.write('stdin ended\n'); process.exit(0); });
process.stdin.on('error', (e) => { process.stderr.write(`stdin error ${e.code}\n`); process.exit(0); });
process.on('exit', (code) => process.stderr.write(`exit ${code}\n`));
if (typeof process.stdin.unref === 'function') process.stdin.unref();
)js";

constexpr std::size_t kMaxKeptStderr = 256 * 1024;

[[noreturn]] void throwErrno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void closeQuietly(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string NodePeer::nodePath() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view rest = path;
  while (true) {
    const std::size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/node";
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

NodePeer::NodePeer(Loop& loop, std::string_view script, const std::vector<std::string>& args) : loop_(loop) {
  const std::string node = nodePath();
  if (node.empty()) throw std::runtime_error("node is not on PATH");

  // Everything the child needs is prepared before fork(): after it, the child may only make
  // async-signal-safe calls (the test process may have other threads).
  std::string code(kPrelude);
  code.append(script);
  std::vector<std::string> words{node, "-e", code};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  // stdin is a socket pair rather than a pipe so that send() can refuse SIGPIPE (MSG_NOSIGNAL)
  // when the process has exited.
  int in[2], out[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) throwErrno("socketpair");
  if (::pipe2(out, O_CLOEXEC) < 0) {
    const int saved = errno;
    ::close(in[0]), ::close(in[1]);
    throw std::system_error(saved, std::generic_category(), "pipe2");
  }
  if (::pipe2(err, O_CLOEXEC) < 0) {
    const int saved = errno;
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    throw std::system_error(saved, std::generic_category(), "pipe2");
  }
  sigset_t noSignals;
  sigemptyset(&noSignals);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child: stdin, stdout and stderr become the pipes (dup2 clears close-on-exec on them);
    // every other descriptor is closed so that no socket of the test stays open in the child.
    ::dup2(in[1], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
#if defined(__linux__)
    ::close_range(3, ~0u, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before the request took effect
#else
    (void)parent;
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
#endif
    ::sigprocmask(SIG_SETMASK, &noSignals, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const int forkErrno = errno;
  ::close(in[1]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(in[0]), ::close(out[0]), ::close(err[0]);
    throw std::system_error(forkErrno, std::generic_category(), "fork");
  }
  pid_ = pid;
  stdin_ = in[0];
  for (auto [pipe, fd] : {std::pair{&stdout_, out[0]}, std::pair{&stderr_, err[0]}}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    pipe->owner = this;
    pipe->fd = fd;
    loop_.watch(fd, *pipe);
    loop_.setReferenced(fd, false);  // the child alone never keeps the loop running
    loop_.setInterest(fd, kWantRead);
  }
}

NodePeer::~NodePeer() {
  closePipe(stdout_);
  closePipe(stderr_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  closeQuietly(stdin_);
}

bool NodePeer::send(std::string_view line) {
  std::string text(line);
  text.push_back('\n');
  std::string_view rest = text;
  while (!rest.empty() && stdin_ >= 0) {
    const ssize_t n = ::send(stdin_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // the process is gone
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return rest.empty();
}

void NodePeer::Pipe::onReady(std::uint8_t) { owner->readFrom(*this); }

void NodePeer::readFrom(Pipe& pipe) {
  char buffer[16 * 1024];
  const ssize_t n = ::read(pipe.fd, buffer, sizeof buffer);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) closePipe(pipe);
    return;
  }
  if (n == 0) {
    if (&pipe == &stdout_ && !pipe.pending.empty()) lines_.push_back(std::exchange(pipe.pending, {}));
    closePipe(pipe);
    return;
  }
  if (&pipe == &stderr_) {
    if (pipe.pending.size() < kMaxKeptStderr) pipe.pending.append(buffer, static_cast<std::size_t>(n));
    return;
  }
  pipe.pending.append(buffer, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (std::size_t newline; (newline = pipe.pending.find('\n', start)) != std::string::npos; start = newline + 1) {
    lines_.emplace_back(pipe.pending, start, newline - start);
  }
  pipe.pending.erase(0, start);
}

void NodePeer::closePipe(Pipe& pipe) {
  if (pipe.fd < 0) return;
  if (loop_.watching(pipe.fd)) loop_.unwatch(pipe.fd);
  closeQuietly(pipe.fd);
}

std::optional<std::string> NodePeer::lineStartingWith(std::string_view prefix) const {
  for (const auto& line : lines_) {
    if (std::string_view(line).starts_with(prefix)) return line;
  }
  return std::nullopt;
}

std::optional<std::string> NodePeer::waitForLine(std::string_view prefix, std::chrono::milliseconds limit) {
  runUntil(loop_, [&] { return lineStartingWith(prefix).has_value() || outputEnded(); }, limit);
  return lineStartingWith(prefix);
}

long long NodePeer::waitForNumber(std::string_view prefix, std::chrono::milliseconds limit) {
  auto line = waitForLine(prefix, limit);
  if (!line) return -1;
  std::string_view rest = std::string_view(*line).substr(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  char* end = nullptr;
  const std::string word(rest.substr(0, rest.find(' ')));
  const long long value = std::strtoll(word.c_str(), &end, 10);
  return end != word.c_str() && *end == '\0' ? value : -1;
}

std::string NodePeer::transcript() {
  // Whatever is in the pipes already, without waiting: a failure message wants all of it.
  for (Pipe* pipe : {&stdout_, &stderr_}) {
    for (int i = 0; i < 64 && pipe->fd >= 0; ++i) {
      const std::size_t before = pipe->pending.size() + lines_.size();
      readFrom(*pipe);
      if (pipe->fd >= 0 && pipe->pending.size() + lines_.size() == before) break;
    }
  }
  std::string text = "node (pid " + std::to_string(pid_) + ") printed:\n";
  for (const auto& line : lines_) text += "  | " + line + "\n";
  if (!stdout_.pending.empty()) text += "  | " + stdout_.pending + " (no newline)\n";
  if (!stderr_.pending.empty()) text += "node stderr:\n" + stderr_.pending;
  return text;
}

}  // namespace reactor::testing_support
