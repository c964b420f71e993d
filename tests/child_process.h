// Programs of this project run as child processes by tests: the binary is found next to the test
// binary (build/bin/, or the sanitizer build's equivalent); its stdout is read with poll() against
// a deadline (no sleeping; a hung child fails the test instead of hanging it); it is killed
// (SIGKILL) and reaped by PID when the object goes, pass or fail.
//
// With Streams::kAll the test also holds the child's stdin and stderr: stdin is one end of a socket
// pair (so that writing to a child that has exited fails with EPIPE instead of raising SIGPIPE in
// the test process), and stderr is read alongside stdout by every wait. Writing to stdin reads the
// child's output meanwhile, so that a child that answers while it reads never blocks the test on a
// full pipe, nor the test it. Single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace testing_support {

using Clock = std::chrono::steady_clock;

// `relative` resolved against the directory of the running test binary.
std::string siblingBinary(const std::string& relative);

class ChildProcess {
 public:
  // Which standard streams of the child the test holds. stdout always; with kStdout the child's
  // stdin and stderr are the test process's own.
  enum class Streams { kStdout, kAll };

  ChildProcess(const std::string& program, const std::vector<std::string>& args, Streams streams = Streams::kStdout);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Complete stdout lines, without their newline.
  const std::vector<std::string>& lines() const { return lines_; }
  bool printed(std::string_view line) const;
  // The first line printed that starts with `prefix`, if any.
  std::optional<std::string> lineStartingWith(std::string_view prefix) const;
  // Everything read so far from stdout, and from stderr (Streams::kAll), byte for byte.
  const std::string& output() const { return stdout_.bytes; }
  const std::string& errorOutput() const { return stderr_.bytes; }

  // Reads until `done()` holds (true), or the output ends or the deadline passes (false).
  bool waitUntil(const std::function<bool()>& done, Clock::time_point deadline);
  // Reads until `line` has been printed (true), or stdout ends or the deadline passes (false).
  bool waitForLine(std::string_view line, Clock::time_point deadline);
  // Reads until a line starting with `prefix` has been printed; that line, or nullopt.
  std::optional<std::string> waitForLineStartingWith(std::string_view prefix, Clock::time_point deadline);
  // Reads to the end of the output and reaps the process; its wait status, or nullopt at the deadline.
  std::optional<int> waitForExit(Clock::time_point deadline);
  void signal(int number) const;
  // Sends SIGTERM and waits: true when the process then exits with status 0 before the deadline,
  // as every tool must.
  bool exitsCleanlyOnSigterm(Clock::time_point deadline);
  // For reading /proc/PID; the process stays this object's to kill and reap.
  pid_t pid() const { return pid_; }

  // Streams::kAll only. Writes all of `data` to the child's stdin, reading its output meanwhile;
  // false at the deadline or when the child no longer reads its stdin.
  bool writeToStdin(std::string_view data, Clock::time_point deadline);
  // The child reads end of file from its stdin.
  void closeStdin();

  std::string transcript() const;

 private:
  struct Captured {
    int fd = -1;  // -1 when not captured or once end of file was read
    std::string bytes;
  };

  // One poll, and one read from each ready output, waiting at most until the deadline; also
  // returns when stdin becomes writable if `orStdinWritable`. False at the deadline or when nothing
  // is left to wait for.
  bool readSome(Clock::time_point deadline, bool orStdinWritable = false);
  void readFrom(Captured& stream);

  pid_t pid_ = -1;
  int stdin_ = -1;
  Captured stdout_;
  Captured stderr_;
  std::vector<std::string> lines_;
  std::size_t unfinishedLine_ = 0;  // where in stdout_.bytes the line not yet ended begins
  std::optional<int> exitStatus_;
};

// The port in the "listening on 127.0.0.1:PORT" line our tools print first, once printed; nullopt
// if the output ends or the deadline passes before.
std::optional<int> waitForLoopbackPort(ChildProcess& process, Clock::time_point deadline);

// What a forked copy of the test process reports. `body` runs in a child made by fork() alone, so
// it may change process-wide state (resource limits, signal dispositions) without touching the
// test; the text it returns (or "exception: ..." if it throws) comes back through a pipe. The child
// is killed if it has not finished by the deadline.
struct ForkedReport {
  std::string text;
  int status = 0;  // the child's wait status
};
ForkedReport runForked(const std::function<std::string()>& body, Clock::time_point deadline);

}  // namespace testing_support
