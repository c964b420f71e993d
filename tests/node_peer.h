// NodePeer: a Node.js process (`node -e <script> <args>...`) as the other end of a connection in a
// test. Its stdout is read line by line through the test's loop, so waiting for a line never
// blocks the sockets under test; its stderr is kept for failure messages.
//
// Lifetime: the child is killed (SIGKILL) and reaped by its PID when the NodePeer is destroyed, so
// a failed assertion never leaves a process behind. Should the test process die without running
// destructors, the child still goes: on Linux it asked for SIGKILL on its parent's death, and
// every script starts with a prelude that exits when its stdin (connected to the test) reaches EOF.
//
// The loop must outlive the NodePeer (declare the peer after the loop). Single-threaded, like the
// loop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/loop.h"

namespace reactor::testing_support {

class NodePeer {
 public:
  // The path of `node` found on PATH, or "" when there is none.
  static std::string nodePath();

  // Starts `node -e <prelude + script> <args>...`. The prelude defines `net`, `crypto`, `argv`
  // (the args), `out(...words)`, which prints one line to stdout, and `onCommand(listener)`, which
  // receives each line sent with send(). An uncaught exception prints "EXCEPTION <code> <message>"
  // and exits with status 1. Throws std::runtime_error (or std::system_error) when the process
  // cannot be started.
  NodePeer(Loop& loop, std::string_view script, const std::vector<std::string>& args = {});
  ~NodePeer();
  NodePeer(const NodePeer&) = delete;
  NodePeer& operator=(const NodePeer&) = delete;

  // Sends one line to the script's onCommand() listeners (blocking; lines are short). False if
  // the process is gone.
  bool send(std::string_view line);

  // Complete lines printed so far, without their newline.
  const std::vector<std::string>& lines() const { return lines_; }
  // The first line that starts with `prefix`, if one was printed.
  std::optional<std::string> lineStartingWith(std::string_view prefix) const;
  // Runs the loop until a line starting with `prefix` is printed, stdout reaches EOF, or `limit`
  // passes; returns the line.
  std::optional<std::string> waitForLine(std::string_view prefix,
                                         std::chrono::milliseconds limit = std::chrono::seconds(10));
  // The word after `prefix` in the line waitForLine(prefix) returns, as a number; -1 if none.
  long long waitForNumber(std::string_view prefix, std::chrono::milliseconds limit = std::chrono::seconds(10));

  // stdout reached EOF: the process exited or closed it.
  bool outputEnded() const { return stdout_.fd < 0; }
  pid_t pid() const { return pid_; }
  // Everything the process printed so far (reading what is in the pipes already, without
  // waiting), for failure messages.
  std::string transcript();

 private:
  struct Pipe final : IoHandler {
    NodePeer* owner = nullptr;
    int fd = -1;
    std::string pending;  // bytes read but not yet split into lines (stdout) or kept (stderr)
    void onReady(std::uint8_t ready) override;
  };

  void readFrom(Pipe& pipe);
  void closePipe(Pipe& pipe);

  Loop& loop_;
  pid_t pid_ = -1;
  int stdin_ = -1;  // our end of the child's stdin (a socket pair); closed last, after the kill
  Pipe stdout_;
  Pipe stderr_;
  std::vector<std::string> lines_;
};

}  // namespace reactor::testing_support
