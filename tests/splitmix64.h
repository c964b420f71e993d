// splitmix64: a small, fast, reproducible random generator for tests and benchmarks. The same seed
// gives the same stream on every platform, so a failing randomized test can be replayed and two
// benchmarked structures can be fed identical inputs.
#pragma once

#include <cstdint>

namespace reactor::testing_support {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n) (Lemire's multiply-shift, without the rejection step: the bias is at most
  // n / 2^64); n == 0 means the full 64-bit range.
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) return next();
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // True with probability p / 100.
  bool percent(unsigned p) { return below(100) < p; }

 private:
  std::uint64_t state_;
};

}  // namespace reactor::testing_support
