// Programs of this project run as child processes by tests: the binary is found next to the test
// binary (build/bin/, or the sanitizer build's equivalent); its stdout is read line by line with
// poll() against a deadline (no sleeping; a hung child fails the test instead of hanging it); it is
// killed (SIGKILL) and reaped by PID when the object goes, pass or fail.
#pragma once

#include <sys/types.h>

#include <chrono>
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
  ChildProcess(const std::string& program, const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::vector<std::string>& lines() const { return lines_; }
  bool printed(std::string_view line) const;
  // The first line printed that starts with `prefix`, if any.
  std::optional<std::string> lineStartingWith(std::string_view prefix) const;

  // Reads until `line` has been printed (true), or stdout ends or the deadline passes (false).
  bool waitForLine(std::string_view line, Clock::time_point deadline);
  // Reads until a line starting with `prefix` has been printed; that line, or nullopt.
  std::optional<std::string> waitForLineStartingWith(std::string_view prefix, Clock::time_point deadline);
  // Reads to the end of stdout and reaps the process; its wait status, or nullopt at the deadline.
  std::optional<int> waitForExit(Clock::time_point deadline);
  void signal(int number) const;

  std::string transcript() const;

 private:
  bool readSome(Clock::time_point deadline);

  pid_t pid_ = -1;
  int output_ = -1;
  std::string pending_;
  std::vector<std::string> lines_;
  bool endOfOutput_ = false;
  std::optional<int> exitStatus_;
};

}  // namespace testing_support
