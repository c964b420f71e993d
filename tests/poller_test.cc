// The Poller contract (reactor/poller.h), checked directly against every backend this machine can
// run: level triggering, interest changes, token round trip, FIN versus reset, many descriptors,
// and wake(). Nothing here sleeps: conditions that depend on the kernel are awaited with wait()
// itself, in a loop bounded by kDeadline.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "reactor/poller.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"

namespace reactor {
namespace {

using Clock = std::chrono::steady_clock;
using testing_support::SocketPair;
using testing_support::tcpPair;
using testing_support::TestBackend;
using testing_support::unixPair;

constexpr auto kDeadline = std::chrono::seconds(2);

// High bits set on purpose: a backend that truncates the token to 32 bits, or loses the sign of
// udata, fails the equality checks.
std::uint64_t tokenFor(int fd, std::uint32_t generation = 0x8badf00du) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}

void writeByte(int fd) {
  char c = 'x';
  ASSERT_EQ(write(fd, &c, 1), 1);
}

// One wait(), summarized per token: the flags of all its events or-ed, and how many events.
struct Batch {
  std::size_t total = 0;
  std::map<std::uint64_t, std::uint8_t> flags;
  std::map<std::uint64_t, int> events;
};

class PollerTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override { poller_ = GetParam().make(); }

  Batch waitOnce(int timeoutMs, std::size_t capacity = 64) {
    std::vector<ReadyEvent> out(capacity);
    Batch batch;
    batch.total = poller_->wait(out, timeoutMs);
    EXPECT_LE(batch.total, capacity);
    for (std::size_t i = 0; i < batch.total && i < capacity; ++i) {
      batch.flags[out[i].token] |= out[i].flags;
      ++batch.events[out[i].token];
    }
    return batch;
  }

  // Waits until one batch reports all of `want` for `token`; returns that batch's flags for it,
  // or what the last batch had if the deadline passed first.
  std::uint8_t waitFor(std::uint64_t token, std::uint8_t want) {
    const auto deadline = Clock::now() + kDeadline;
    std::uint8_t flags = 0;
    do {
      Batch batch = waitOnce(20);
      flags = batch.flags[token];
      if ((flags & want) == want) break;
    } while (Clock::now() < deadline);
    return flags;
  }

  std::unique_ptr<Poller> poller_;
};

TEST_P(PollerTest, WaitZeroReturnsZeroWhenNothingIsReady) {
  SocketPair p = unixPair();
  poller_->setInterest(p.local.get(), tokenFor(p.local.get()), kNoInterest, kWantRead);
  const auto start = Clock::now();
  EXPECT_EQ(waitOnce(0).total, 0u);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
}

TEST_P(PollerTest, ReadableWhilePeerDataIsUnconsumed) {
  SocketPair p = unixPair();
  const std::uint64_t token = tokenFor(p.local.get());
  poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead);
  EXPECT_EQ(waitOnce(0).total, 0u);

  ASSERT_EQ(write(p.peer.get(), "hello", 5), 5);
  EXPECT_EQ(waitFor(token, kReadable), kReadable);
  // Level-triggered: nothing new arrived, yet the data is still there, so it is reported again.
  EXPECT_EQ(waitOnce(0).flags[token], kReadable);

  char buf[16];
  ASSERT_EQ(read(p.local.get(), buf, sizeof buf), 5);
  EXPECT_EQ(waitOnce(0).total, 0u);
}

TEST_P(PollerTest, WritableImmediately) {
  SocketPair p = unixPair();
  const std::uint64_t token = tokenFor(p.local.get());
  poller_->setInterest(p.local.get(), token, kNoInterest, kWantWrite);
  Batch batch = waitOnce(0);
  EXPECT_EQ(batch.total, 1u);
  EXPECT_EQ(batch.flags[token], kWritable);
}

TEST_P(PollerTest, RemovingInterestStopsReports) {
  SocketPair p = unixPair();
  const std::uint64_t token = tokenFor(p.local.get());
  poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead | kWantWrite);
  writeByte(p.peer.get());
  EXPECT_EQ(waitFor(token, kReadable | kWritable), kReadable | kWritable);

  poller_->setInterest(p.local.get(), token, kWantRead | kWantWrite, kNoInterest);
  EXPECT_EQ(waitOnce(0).total, 0u);
  // Registering again works: the removal left nothing half-registered behind.
  poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead);
  EXPECT_EQ(waitOnce(0).flags[token], kReadable);
}

TEST_P(PollerTest, InterestChangesFromReadToWriteToBoth) {
  SocketPair p = unixPair();
  const std::uint64_t token = tokenFor(p.local.get());
  writeByte(p.peer.get());  // readable and writable from here on; interest decides what is seen

  poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead);
  EXPECT_EQ(waitFor(token, kReadable), kReadable);

  poller_->setInterest(p.local.get(), token, kWantRead, kWantWrite);
  EXPECT_EQ(waitOnce(0).flags[token], kWritable);

  poller_->setInterest(p.local.get(), token, kWantWrite, kWantRead | kWantWrite);
  Batch both = waitOnce(0);
  EXPECT_EQ(both.flags[token], kReadable | kWritable);
  EXPECT_EQ(both.flags.size(), 1u);

  poller_->setInterest(p.local.get(), token, kWantRead | kWantWrite, kWantRead);
  EXPECT_EQ(waitOnce(0).flags[token], kReadable);
}

TEST_P(PollerTest, TokenRoundTripsExactly) {
  std::vector<SocketPair> pairs;
  std::set<std::uint64_t> tokens;
  const std::uint32_t generations[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 1u};
  for (std::uint32_t generation : generations) {
    SocketPair& p = pairs.emplace_back(unixPair());
    const std::uint64_t token = tokenFor(p.local.get(), generation);
    tokens.insert(token);
    poller_->setInterest(p.local.get(), token, kNoInterest, kWantWrite);
  }
  std::set<std::uint64_t> seen;
  Batch batch = waitOnce(0);
  for (const auto& [token, flags] : batch.flags) seen.insert(token);
  EXPECT_EQ(seen, tokens);
}

TEST_P(PollerTest, PeerShutdownIsPeerClosedWithoutError) {
  for (bool tcp : {false, true}) {
    SCOPED_TRACE(tcp ? "tcp" : "unix");
    SocketPair p = tcp ? tcpPair() : unixPair();
    const std::uint64_t token = tokenFor(p.local.get());
    poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead);
    ASSERT_EQ(shutdown(p.peer.get(), SHUT_WR), 0);

    EXPECT_EQ(waitFor(token, kReadable | kPeerClosed), kReadable | kPeerClosed);
    char c;
    EXPECT_EQ(read(p.local.get(), &c, 1), 0);
    poller_->setInterest(p.local.get(), token, kWantRead, kNoInterest);
  }
}

TEST_P(PollerTest, PeerResetIsError) {
  SocketPair p = tcpPair();
  const std::uint64_t token = tokenFor(p.local.get());
  poller_->setInterest(p.local.get(), token, kNoInterest, kWantRead);
  linger abortive{1, 0};
  ASSERT_EQ(setsockopt(p.peer.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive), 0);
  p.peer.reset();  // close() with a zero linger sends RST instead of FIN

  const std::uint8_t flags = waitFor(token, kError);
  EXPECT_EQ(flags & (kError | kReadable | kWritable), kError | kReadable | kWritable);
  // The poller must leave the error pending for the socket layer to read.
  char c;
  EXPECT_EQ(read(p.local.get(), &c, 1), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

// Keeps RLIMIT_NOFILE high enough for `needed` descriptors for one test, then restores it.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(rlim_t needed) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    if (saved_.rlim_cur != RLIM_INFINITY && saved_.rlim_cur < needed) {
      rlimit raised = saved_;
      raised.rlim_cur =
          saved_.rlim_max == RLIM_INFINITY ? needed : std::min(needed, saved_.rlim_max);
      changed_ = setrlimit(RLIMIT_NOFILE, &raised) == 0;
    }
  }
  ~DescriptorLimit() {
    if (changed_) setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  bool changed_ = false;
};

constexpr int kManyPairs = 500;

class ManyPairs {
 public:
  explicit ManyPairs(Poller& poller) {
    for (int i = 0; i < kManyPairs; ++i) {
      SocketPair& p = pairs_.emplace_back(unixPair());
      const std::uint64_t token =
          tokenFor(p.local.get(), 0xc0de0000u + static_cast<std::uint32_t>(i));
      tokens.insert(token);
      poller.setInterest(p.local.get(), token, kNoInterest, kWantRead);
      writeByte(p.peer.get());
    }
  }
  std::set<std::uint64_t> tokens;

 private:
  std::vector<SocketPair> pairs_;
};

TEST_P(PollerTest, ManyDescriptorsAreEachReportedOncePerWait) {
  DescriptorLimit limit(2 * kManyPairs + 64);
  ManyPairs many(*poller_);
  ASSERT_EQ(many.tokens.size(), static_cast<std::size_t>(kManyPairs));

  for (int round = 0; round < 2; ++round) {  // the second round: still ready, level-triggered
    Batch batch = waitOnce(0, 1024);
    EXPECT_EQ(batch.total, static_cast<std::size_t>(kManyPairs));
    std::set<std::uint64_t> seen;
    for (const auto& [token, count] : batch.events) {
      EXPECT_EQ(count, 1) << std::hex << token;
      seen.insert(token);
    }
    EXPECT_EQ(seen, many.tokens);
  }
}

TEST_P(PollerTest, ManyDescriptorsAreAllReportedThroughASmallSpan) {
  DescriptorLimit limit(2 * kManyPairs + 64);
  ManyPairs many(*poller_);
  ASSERT_EQ(many.tokens.size(), static_cast<std::size_t>(kManyPairs));

  constexpr std::size_t kSpan = 64;
  std::set<std::uint64_t> seen;
  const auto deadline = Clock::now() + kDeadline;
  while (seen != many.tokens && Clock::now() < deadline) {
    Batch batch = waitOnce(0, kSpan);
    EXPECT_EQ(batch.total, kSpan);  // 500 are ready: every wait fills the span
    for (const auto& [token, count] : batch.events) {
      EXPECT_EQ(count, 1);
      EXPECT_EQ(many.tokens.count(token), 1u);
      seen.insert(token);
    }
  }
  EXPECT_EQ(seen, many.tokens);
}

#if defined(__linux__)
// True once thread `tid` sleeps in the kernel, i.e. is blocked inside wait().
bool isSleeping(long tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'S';
}
#endif

TEST_P(PollerTest, WakeFromAnotherThreadEndsABlockingWait) {
  // If wake() were broken, wait(-1) would never return; the rescue pair turns that into a failure.
  SocketPair rescue = unixPair();
  poller_->setInterest(rescue.local.get(), tokenFor(rescue.local.get()), kNoInterest, kWantRead);

  std::mutex mutex;
  std::condition_variable cv;
  bool returned = false;
  std::atomic<long> waiterTid{0};
  std::thread waker([&] {
    while (waiterTid.load() == 0) std::this_thread::yield();
#if defined(__linux__)
    // Make it a wake-up of a wait in progress, not of the next one, where the system tells.
    const auto blockedBy = Clock::now() + kDeadline;
    while (!isSleeping(waiterTid.load()) && Clock::now() < blockedBy) std::this_thread::yield();
#endif
    poller_->wake();
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, kDeadline, [&] { return returned; })) writeByte(rescue.peer.get());
  });

#if defined(__linux__)
  waiterTid.store(static_cast<long>(syscall(SYS_gettid)));
#else
  waiterTid.store(1);
#endif
  std::array<ReadyEvent, 16> out;
  const std::size_t n = poller_->wait(out, -1);
  {
    std::lock_guard lock(mutex);
    returned = true;
  }
  cv.notify_one();
  waker.join();
  EXPECT_EQ(n, 0u) << "either the wake-up was reported as an event or only the rescue ended it";
}

TEST_P(PollerTest, WakeBeforeWaitEndsTheNextWaitOnce) {
  poller_->wake();
  poller_->wake();  // wake-ups pending at once collapse into one

  auto start = Clock::now();
  EXPECT_EQ(waitOnce(2000).total, 0u);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));

  // Consumed: the following wait runs to its timeout instead of returning at once.
  start = Clock::now();
  EXPECT_EQ(waitOnce(30).total, 0u);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(20));
}

INSTANTIATE_TEST_SUITE_P(Backends, PollerTest,
                         ::testing::ValuesIn(reactor::testing_support::testBackends()),
                         reactor::testing_support::backendTestName);

}  // namespace
}  // namespace reactor
