// The receiving end of a stream under test, checked as it arrives against the SeededBytes stream
// (tests/seeded_bytes.h) of the writer's seed, so that a byte lost, repeated or out of place shows
// while nothing received is kept: a test can push gigabytes through it.
//  - StreamChecker takes the chunks a listener hears ('data' of a net::Socket);
//  - CheckingReader reads a raw non-blocking descriptor, only when the test says so and in the
//    sizes it says, as a peer that reads slowly or pauses. It does not own the descriptor.
// Both allocate only in their constructor (tests that measure the heap create them before their
// baseline). Single-threaded.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "tests/seeded_bytes.h"

namespace reactor::testing_support {

class StreamChecker {
 public:
  static constexpr std::size_t kMaxChunk = 256 * 1024;

  explicit StreamChecker(std::uint64_t seed) : expected_(seed), reference_(kMaxChunk) {}

  // Compares `chunk` with the next bytes of the stream.
  void take(std::string_view chunk) {
    for (std::size_t offset = 0; offset < chunk.size(); offset += kMaxChunk) {
      takePiece(chunk.substr(offset, kMaxChunk));
    }
  }

  std::uint64_t received() const { return received_; }
  // Where the stream first differed from the expected bytes, if it did.
  std::optional<std::uint64_t> firstMismatch() const { return firstMismatch_; }

 private:
  void takePiece(std::string_view piece) {
    expected_.fill(reference_.data(), piece.size());
    if (!firstMismatch_ && std::memcmp(piece.data(), reference_.data(), piece.size()) != 0) {
      const auto at = std::mismatch(piece.begin(), piece.end(), reference_.begin());
      firstMismatch_ = received_ + static_cast<std::uint64_t>(at.first - piece.begin());
    }
    received_ += piece.size();
  }

  SeededBytes expected_;
  std::vector<char> reference_;
  std::uint64_t received_ = 0;
  std::optional<std::uint64_t> firstMismatch_;
};

class CheckingReader {
 public:
  static constexpr std::size_t kMaxRead = StreamChecker::kMaxChunk;

  CheckingReader(int fd, std::uint64_t seed) : fd_(fd), checker_(seed), buffer_(kMaxRead) {}

  // One read() of at most `max` bytes (at most kMaxRead); returns the bytes read: 0 when nothing
  // was ready, the stream has ended, or the read failed (see failure()).
  std::size_t readOnce(std::size_t max = kMaxRead) {
    if (ended_ || failure_ != 0 || max == 0) return 0;
    const ssize_t n = ::read(fd_, buffer_.data(), std::min(max, kMaxRead));
    if (n == 0) ended_ = true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) failure_ = errno;
    if (n <= 0) return 0;
    checker_.take(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
    return static_cast<std::size_t>(n);
  }

  // Reads until the kernel has nothing more ready; returns the bytes read.
  std::size_t readAvailable() {
    std::size_t total = 0;
    while (const std::size_t n = readOnce()) total += n;
    return total;
  }

  std::uint64_t received() const { return checker_.received(); }
  std::optional<std::uint64_t> firstMismatch() const { return checker_.firstMismatch(); }
  bool ended() const { return ended_; }    // the writer's FIN was read
  int failure() const { return failure_; }  // the errno of a failed read (ECONNRESET...), 0 if none

 private:
  int fd_;
  StreamChecker checker_;
  std::vector<char> buffer_;
  bool ended_ = false;
  int failure_ = 0;
};

}  // namespace reactor::testing_support
