// One program of the comparison (a server, netload, gnuplot) run as a child process.
//
// The child is pinned to one core before it runs anything: the affinity is set between fork() and
// exec(), so every thread the program later starts (Node's, for one) inherits it, exactly as
// `taskset -c N` would. Its stdout is a pipe read against deadlines, so a program that hangs
// costs a bounded wait, never a hung run; stderr is shared with ours, so its complaints reach the
// person watching. It is ended by its PID only: SIGTERM, a bounded wait, then SIGKILL. Whatever
// is still running when the object goes is killed and reaped, and a child whose driver dies is
// killed by the kernel (PR_SET_PDEATHSIG), so no run of the driver leaves a process behind.
// Not thread-safe; the driver is single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace compare {

using Clock = std::chrono::steady_clock;

// The directories of PATH are searched for `name` (as execvp would); its full path, or empty.
std::string findInPath(const std::string& name);

class Process {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) pinned to `cpu`, or unpinned when `cpu`
  // is negative. Throws std::system_error when the process cannot be created; a program that
  // cannot be executed exits with status 127 after saying why on stderr.
  Process(const std::vector<std::string>& argv, int cpu);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of stdout (without its newline), or nullopt at end of output or at the deadline.
  std::optional<std::string> nextLine(Clock::time_point deadline);
  // Every line of stdout not yet returned, up to the end of output or the deadline.
  std::vector<std::string> remainingLines(Clock::time_point deadline);
  // Waits until the process exits and reaps it: its wait status, or nullopt at the deadline.
  std::optional<int> waitForExit(Clock::time_point deadline);
  // SIGTERM, then up to `grace` for it to exit, then SIGKILL. True when it exited within the grace.
  bool stop(std::chrono::milliseconds grace);

 private:
  bool readSome(Clock::time_point deadline);
  void killAndReap();

  pid_t pid_ = -1;
  int pidfd_ = -1;   // readable once the process has exited: a wait with a timeout, no polling loop
  int output_ = -1;  // read end of the stdout pipe
  std::string pending_;
  std::vector<std::string> lines_;
  std::size_t returned_ = 0;  // lines_[0, returned_) were handed out by nextLine()
  bool endOfOutput_ = false;
  bool reaped_ = false;
};

// "exited with status 3", "killed by signal 9": a wait status in words, for messages.
std::string describeWaitStatus(int status);

}  // namespace compare
