// A long stream through a write queue that never empties: 1 GiB written through one net::Socket
// whose queue is kept topped up above what the kernel can hold, to a reader that keeps up only
// just. The memory such a socket holds must follow what is queued, not what was sent: heap in use
// (tests/heap_in_use.h), and resident memory in a normal build, stay within a few hundred KiB of
// their level after a warm-up, while the stream arrives intact.
//
// The setup makes the queue's life one long episode: both kernel buffers are fixed small (16 KiB
// asked for, so at most about 64 KiB in flight), the queue is topped up to at least 128 KiB after
// every loop iteration in writes of 32 KiB (moved and viewed in turn), and the high-water mark is
// far above that, so write() keeps returning true and no 'drain' ever comes. The reader takes at
// most 64 KiB per iteration. The test counts the iterations after which the queue was empty while
// the stream was still being written: none may be, or the test would not test what it says.
//
// Runs on the default backend only: what it holds to account is the socket's queue, which does not
// depend on the poller, and it moves a gibibyte through loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "net/socket.h"
#include "reactor/loop.h"
#include "tests/checking_reader.h"
#include "tests/heap_in_use.h"
#include "tests/seeded_bytes.h"
#include "tests/small_buffer_pair.h"
#include "tools/common/process_stats.h"

namespace net {
namespace {

using namespace reactor::testing_support;
using namespace std::chrono_literals;

constexpr std::uint64_t kStreamBytes = std::uint64_t{1} << 30;
constexpr std::uint64_t kWarmUpBytes = 32 << 20;
constexpr int kKernelBufferBytes = 16 * 1024;
constexpr std::size_t kQueueFloor = 128 * 1024;
constexpr std::size_t kWriteSize = 32 * 1024;
constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kHeapGrowthLimit = 384 * 1024;
constexpr std::size_t kResidentGrowthLimit = 512 * 1024;
constexpr int kResidentCheckPeriod = 256;  // iterations: /proc is read, not a counter
constexpr auto kTimeLimit = 120s;
constexpr std::uint64_t kSeed = 1;

TEST(LongStreamTest, QueueThatNeverEmptiesHoldsOnlyWhatIsQueued) {
  reactor::Loop loop;
  SocketPair pair = smallBufferTcpPair(kKernelBufferBytes, kKernelBufferBytes);
  CheckingReader reader(pair.peer.get(), kSeed);
  SocketOptions options;
  options.fd = pair.local.release();
  options.highWaterMark = 64 << 20;
  auto socket = Socket::create(loop, options);
  bool finished = false;
  socket->on("finish", [&] { finished = true; });

  SeededBytes stream(kSeed);
  std::string viewed(kWriteSize, '\0');
  std::uint64_t written = 0;
  std::uint64_t writes = 0;
  bool refused = false;  // write() returned false
  auto topUp = [&] {
    while (written < kStreamBytes && socket->writableLength() < kQueueFloor) {
      const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kWriteSize, kStreamBytes - written));
      bool belowHighWaterMark;
      if (writes++ % 2 == 0) {
        std::string moved(size, '\0');
        stream.fill(moved.data(), size);
        belowHighWaterMark = socket->write(std::move(moved));
      } else {
        stream.fill(viewed.data(), size);
        belowHighWaterMark = socket->write(std::string_view(viewed.data(), size));
      }
      refused = refused || !belowHighWaterMark;
      written += size;
    }
    if (written == kStreamBytes && !socket->writableEnded()) socket->end();
  };

  std::optional<std::size_t> heapAfterWarmUp, residentAfterWarmUp;
  std::size_t heapPeak = 0, residentPeak = 0;
  std::uint64_t iterations = 0, iterationsWhileWriting = 0, emptyWhileWriting = 0;
  // Returns at the first failure; the socket is destroyed after it either way.
  const auto streamThrough = [&] {
    const auto deadline = std::chrono::steady_clock::now() + kTimeLimit;
    topUp();
    while (!reader.ended()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << reader.received() << " of " << kStreamBytes << " bytes received in time";
      loop.setImmediate([] {});  // the poll only looks: the reader is not the loop's to wait for
      loop.runOnce();
      ++iterations;
      reader.readOnce(kReadSize);
      if (written < kStreamBytes) {
        ++iterationsWhileWriting;
        if (socket->writableLength() == 0) ++emptyWhileWriting;
        topUp();
      }

      if (!heapAfterWarmUp && written >= kWarmUpBytes) {
        heapAfterWarmUp = heapInUse();
        residentAfterWarmUp = tools::residentSetBytes();
      }
      if (!heapAfterWarmUp) continue;
      if (const auto heap = heapInUse()) {
        heapPeak = std::max(heapPeak, *heap);
        // Stops at the first excess: a queue that keeps what it sent would otherwise hold the gibibyte.
        ASSERT_LE(*heap, *heapAfterWarmUp + kHeapGrowthLimit)
            << "heap grew by " << *heap - *heapAfterWarmUp << " bytes over " << (written - kWarmUpBytes) / 1024
            << " KiB streamed after the warm-up, with " << socket->writableLength() << " bytes queued";
      }
  #if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
      // A sanitizer's shadow memory and quarantine make resident memory say nothing about the socket.
      if (residentAfterWarmUp && iterations % kResidentCheckPeriod == 0) {
        if (const auto resident = tools::residentSetBytes()) {
          residentPeak = std::max(residentPeak, *resident);
          ASSERT_LE(*resident, *residentAfterWarmUp + kResidentGrowthLimit)
              << "resident memory grew by " << *resident - *residentAfterWarmUp << " bytes over "
              << (written - kWarmUpBytes) / 1024 << " KiB streamed after the warm-up";
        }
      }
  #endif
    }
  };
  streamThrough();
  socket->destroy();
  loop.run();
  if (HasFatalFailure()) return;

  EXPECT_EQ(reader.received(), kStreamBytes);
  EXPECT_FALSE(reader.firstMismatch().has_value())
      << "the stream differs at byte " << reader.firstMismatch().value_or(0);
  EXPECT_EQ(reader.failure(), 0);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(refused) << "write() returned false: the high-water mark was reached";
  EXPECT_EQ(emptyWhileWriting, 0u) << "the queue emptied after " << emptyWhileWriting << " of "
                                   << iterationsWhileWriting << " iterations: the stream was not one long episode";
  if (heapAfterWarmUp) {
    RecordProperty("heap_growth_bytes", std::to_string(heapPeak > *heapAfterWarmUp ? heapPeak - *heapAfterWarmUp : 0));
  }
  if (residentAfterWarmUp && residentPeak > 0) {
    RecordProperty("resident_growth_bytes",
                   std::to_string(residentPeak > *residentAfterWarmUp ? residentPeak - *residentAfterWarmUp : 0));
  }
  RecordProperty("iterations", std::to_string(iterations));
}

}  // namespace
}  // namespace net
