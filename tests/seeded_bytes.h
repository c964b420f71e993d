// SeededBytes: an endless, reproducible byte stream drawn from SplitMix64 (tests/splitmix64.h).
// The same seed gives the same bytes however the stream is cut into pieces, so a sender and a
// checker can each hold one with the same seed: the sender fills its writes, the checker fills the
// bytes it expects next and compares, and neither keeps the whole stream in memory.
//
// Whole 8-byte words are copied at once; only a piece that starts or ends inside a word pays for
// single bytes. Single-threaded, like any generator object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tests/splitmix64.h"

namespace reactor::testing_support {

class SeededBytes {
 public:
  explicit SeededBytes(std::uint64_t seed) : random_(seed) {}

  // Writes the next `size` bytes of the stream to `out`.
  void fill(char* out, std::size_t size) {
    while (size > 0 && left_ > 0) takeByte(out, size);
    for (; size >= sizeof word_; out += sizeof word_, size -= sizeof word_) {
      const std::uint64_t word = random_.next();
      std::memcpy(out, &word, sizeof word);
    }
    if (size == 0) return;
    word_ = random_.next();
    left_ = sizeof word_;
    while (size > 0) takeByte(out, size);
  }

 private:
  void takeByte(char*& out, std::size_t& size) {
    *out++ = static_cast<char>(word_);
    word_ >>= 8;
    --left_;
    --size;
  }

  SplitMix64 random_;
  std::uint64_t word_ = 0;
  unsigned left_ = 0;  // bytes of word_ not handed out yet (the low ones come first)
};

}  // namespace reactor::testing_support
