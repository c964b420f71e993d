// The fuzz targets' one way to report a broken invariant: a message on stderr, then a trap, so
// that libFuzzer saves the input that caused it and the regression test replaying the same driver
// under g++ stops at the same place with the same message. Never an exception: the drivers catch
// net::Error on purpose, and a violation must not be mistaken for one.
#pragma once

#include <cstdio>

namespace fuzz {

// The input being replayed, named by a violation's message. libFuzzer saves the input instead; the
// regression test, which replays many inputs in one process, labels each.
inline thread_local const char* replayedInput = nullptr;

class ReplayLabel {
 public:
  explicit ReplayLabel(const char* name) { replayedInput = name; }
  ~ReplayLabel() { replayedInput = nullptr; }
  ReplayLabel(const ReplayLabel&) = delete;
  ReplayLabel& operator=(const ReplayLabel&) = delete;
};

[[noreturn]] inline void violated(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", file, line, what);
  if (replayedInput != nullptr) std::fprintf(stderr, "  while replaying: %s\n", replayedInput);
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace fuzz

// A macro so that the message names the condition and its place without extra arguments.
#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::fuzz::violated(#condition, __FILE__, __LINE__))
