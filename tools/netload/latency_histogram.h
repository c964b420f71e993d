// LatencyHistogram: round-trip times in nanoseconds, in log-linear buckets (as HdrHistogram
// does): exact below 256 ns, and above that every power of two is split into 128 buckets, so a
// reported percentile is within 1/256 (0.4%) of a true sample. Recording is an index computation
// and one increment into a fixed array: no allocation, whatever the number of samples.
// Header-only, so that the tests use it as it is without linking netload.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace netload {

class LatencyHistogram {
 public:
  void record(std::uint64_t nanoseconds) {
    ++counts_[bucketOf(nanoseconds)];
    ++count_;
    max_ = std::max(max_, nanoseconds);
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }

  // The sample at quantile q (0 < q <= 1): the middle of its bucket, never above the maximum; 0
  // when nothing was recorded.
  std::uint64_t quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
      seen += counts_[bucket];
      if (seen >= rank) return std::min(max_, lowestIn(bucket) + widthOf(bucket) / 2);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBucketBits = 8;
  static constexpr std::uint64_t kExact = 1u
                                          << kSubBucketBits;  // values below are their own bucket
  static constexpr std::uint64_t kHalf = kExact / 2;          // buckets per power of two above
  static constexpr std::size_t kBuckets = (64 - kSubBucketBits + 1) * kHalf + kHalf;

  // Above kExact, a value 2^e <= v < 2^(e+1) keeps its top kSubBucketBits bits: v >> shift lies
  // in [kHalf, kExact), and each shift owns the next kHalf bucket numbers.
  static std::size_t bucketOf(std::uint64_t value) {
    if (value < kExact) return static_cast<std::size_t>(value);
    const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - kSubBucketBits;
    return static_cast<std::size_t>(shift * kHalf + (value >> shift));
  }
  static std::uint64_t lowestIn(std::size_t bucket) {
    if (bucket < kExact) return bucket;
    const std::uint64_t shift = bucket / kHalf - 1;
    return (bucket - shift * kHalf) << shift;
  }
  static std::uint64_t widthOf(std::size_t bucket) {
    return bucket < kExact ? 1 : std::uint64_t{1} << (bucket / kHalf - 1);
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace netload
