// netload's command line (a fixed contract that benchmark scripts rely on; --help prints it): the
// options of one run and their parser. A bad argument ends the program with status 2 and a message
// naming the flag, so everything after parsing may assume values that are in range and consistent
// with the mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netload {

enum class Mode { kPingpong, kRr, kCps, kStream, kIdle };

std::string_view modeName(Mode mode);

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;      // 0: not given (then path is)
  std::string path;  // unix-domain socket instead of TCP
  Mode mode = Mode::kPingpong;
  std::size_t connections = 1;   // pingpong, rr, stream, idle
  std::size_t concurrency = 32;  // cps
  std::size_t size = 16384;      // pingpong, rr: message size; stream: write size
  double durationS = 5;
  double warmupS = 1;
  std::optional<std::uint64_t> count;  // pingpong/rr: round trips; cps: connections; stream: bytes
  std::optional<int> serverPid;
  bool json = false;
  bool quiet = false;
  bool progress = false;  // --progress: the progress line even when stderr is not a terminal
};

// Parses argv. --help prints the usage on stdout and exits 0; a bad argument prints a message on
// stderr and exits 2.
Options parseOptions(int argc, char** argv);

}  // namespace netload
