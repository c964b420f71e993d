// A model test of the write path: a seeded random program drives one net::Socket, and a small
// reference model says what the socket must have done, checked as it happens.
//
// The program, per seed: the socket wraps one end of a loopback TCP pair (small kernel buffers
// for most seeds, a high-water mark from 1 KiB to 256 KiB), and each step makes at most one call
// on it, then lets the peer read, then runs one loop iteration that does not wait:
//  - write(): 0 bytes to 1 MiB, mostly small; moved (std::string&&) or viewed (std::string_view);
//    with a callback or without; a callback may write again, end() or destroy the socket, with or
//    without an error; a 'drain' listener does the same, writing again most of the time;
//  - end(), destroy(), destroy(error), now and then;
//  - the peer (the other end, a raw descriptor) reads in random sizes, and pauses for a while now
//    and then.
// Then end(), the peer reads everything, and the socket is destroyed. Writes are never made after
// end() on a live socket: that is an error of the program, whose callbacks Node 20 itself reports
// out of write order.
//
// The model knows the stream of accepted bytes (writes made while the socket was neither ended nor
// destroyed), which write each byte belongs to, which callbacks ran and how, and how far the peer
// read. It checks:
//  - bytes: the peer receives the accepted stream in order, all of it unless the socket was
//    destroyed, and otherwise a prefix that holds at least every byte whose callback said success;
//  - callbacks: each runs exactly once, never inside write(), in write order; with success, or
//    with the error that ended the socket (ERR_STREAM_DESTROYED for a plain destroy() and for
//    writes made after it), and never success after a failure; those of accepted writes before
//    'close';
//  - 'drain' only after a write() that returned false, once for it, with the queue empty, and not
//    missing while the queue is empty (once end() is called the model neither expects nor forbids
//    it: Node 20 emits none then, this library one);
//  - 'finish' once, after end(), after every callback, with the queue empty, never once destroyed;
//    'error' only for destroy(error); 'close' once and last;
//  - at every quiescent point (right after an iteration, every tick run): writableLength() is the
//    accepted bytes less those handed to the kernel. The model cannot see the kernel, but it knows
//    that at least the bytes up to the last successful callback, and those the peer read, went
//    out, and that the last byte of a write whose callback has not run did not: the queue is
//    within those bounds;
//  - heap in use (tests/heap_in_use.h) at most its level before the first step plus the writes
//    that may still be queued, whole (from the oldest not known to be sent on), plus a fixed slack.
//
// A failure names its seed; the stream of calls of a seed is the same on every run, what the
// kernel takes at each call may vary a little.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/socket.h"
#include "tests/checking_reader.h"
#include "tests/heap_in_use.h"
#include "tests/loop_test_support.h"
#include "tests/seeded_bytes.h"
#include "tests/small_buffer_pair.h"
#include "tests/socket_pairs.h"
#include "tests/splitmix64.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

constexpr int kSeeds = 200;
constexpr int kSteps = 60;
constexpr std::size_t kMaxWrites = 400;  // per seed, those of callbacks and 'drain' included
constexpr std::size_t kMaxWriteSize = 1 << 20;
constexpr std::size_t kHeapSlack = 256 * 1024;
constexpr auto kFinalPhaseLimit = 5s;
constexpr const char* kModelErrorCode = "EMODEL";

// What a write callback or a 'drain' listener does to the socket, re-entrantly.
enum class Reaction { kNothing, kWrite, kEnd, kDestroy, kDestroyWithError };

struct Write {
  std::uint64_t start;  // where its first byte is in the stream of accepted bytes
  std::size_t size;
  bool accepted;        // made while the socket was neither ended nor destroyed
  bool withCallback;
  Reaction reaction;    // of its callback
  int calls = 0;
  std::uint64_t end() const { return start + size; }
};

// Mostly kernel buffers of 4 to 32 KiB, so that writes queue often; now and then the defaults.
SocketPair connectedPair(SplitMix64& random) {
  if (random.percent(20)) return tcpPair();
  const int sendBuffer = 4096 << random.below(4);
  return smallBufferTcpPair(sendBuffer, 4096 << random.below(4));
}

class ModelRun {
 public:
  ModelRun(reactor::Loop& loop, std::uint64_t seed);
  void run();

 private:
  // The program.
  void step();
  bool mayWrite() const { return (destroyed_ || !ended_) && writes_.size() < kMaxWrites; }
  void write(SplitMix64& random);
  void end();
  void destroy(bool withError);
  void react(Reaction reaction);
  void peerStep();
  void iterate();
  bool drive(const char* what, const std::function<bool()>& done);
  void finishUp();

  // The model.
  void onCallback(std::size_t index, const Error* error);
  void onDrain();
  void onFinish();
  void onClose(bool hadError);
  std::size_t oldestCallbackOwed();
  void checkQuiescent();
  void checkHeap(std::uint64_t mayHold);

  reactor::Loop& loop_;
  SplitMix64 random_;     // the program's steps
  SplitMix64 reactions_;  // what callbacks and listeners do: apart, so that their timing does not
                          // change the steps
  SeededBytes stream_;    // the accepted bytes, in order
  std::string scratch_ = std::string(kMaxWriteSize, '\0');  // what viewed writes point into
  SocketPair pair_;
  CheckingReader peer_;
  std::shared_ptr<Socket> socket_;

  std::vector<Write> writes_;
  std::uint64_t accepted_ = 0;      // bytes of accepted writes
  std::uint64_t succeededUpTo_ = 0;  // the end of the last write whose callback said success
  std::size_t nextCallback_ = 0;    // no callback before this write is owed
  bool insideWrite_ = false;
  bool ended_ = false;
  bool destroyed_ = false;
  bool destroyedWithError_ = false;
  bool writeFailed_ = false;
  bool awaitingDrain_ = false;
  bool closed_ = false;
  int finishes_ = 0;
  int errors_ = 0;
  int pauseLeft_ = 0;
  std::optional<std::size_t> heapBaseline_;
};

ModelRun::ModelRun(reactor::Loop& loop, std::uint64_t seed)
    : loop_(loop),
      random_(seed),
      reactions_(~seed),
      stream_(seed),
      pair_(connectedPair(random_)),
      peer_(pair_.peer.get(), seed) {
  writes_.reserve(kMaxWrites);
  SocketOptions options;
  options.fd = pair_.local.release();
  options.highWaterMark = std::size_t{1024} << (2 * random_.below(5));
  socket_ = Socket::create(loop_, options);
  socket_->on("drain", [this] { onDrain(); });
  socket_->on("finish", [this] { onFinish(); });
  socket_->on("error", [this](const Error& error) {
    EXPECT_FALSE(closed_) << "'error' after 'close'";
    EXPECT_TRUE(destroyedWithError_) << "'error' " << error.code() << " without destroy(error)";
    EXPECT_EQ(error.code(), kModelErrorCode);
    EXPECT_EQ(++errors_, 1) << "'error' twice";
  });
  socket_->on("close", [this](bool hadError) { onClose(hadError); });
  heapBaseline_ = heapInUse();
}

void ModelRun::run() {
  for (int n = 0; n < kSteps && !::testing::Test::HasFailure(); ++n) step();
  if (!::testing::Test::HasFailure()) finishUp();
  // Whatever happened, nothing of this run may outlive it: its callbacks hold `this`.
  destroy(false);
  for (int n = 0; n < 3; ++n) iterate();
}

// --- the program --------------------------------------------------------------------------------

void ModelRun::step() {
  const std::uint64_t roll = random_.below(1000);
  if (roll < 500) {
    if (mayWrite()) write(random_);
  } else if (roll < 510) {
    end();
  } else if (roll < 514) {
    destroy(false);
  } else if (roll < 518) {
    destroy(true);
  }  // otherwise only the peer and the loop move
  peerStep();
  iterate();
  checkQuiescent();
}

std::size_t writeSize(SplitMix64& random) {
  const std::uint64_t roll = random.below(100);
  if (roll < 10) return 0;
  if (roll < 65) return 1 + random.below(256);
  if (roll < 90) return 1 + random.below(16 * 1024);
  if (roll < 98) return 1 + random.below(128 * 1024);
  return 1 + random.below(kMaxWriteSize);
}

Reaction callbackReaction(SplitMix64& random) {
  const std::uint64_t roll = random.below(100);
  if (roll < 8) return Reaction::kWrite;
  if (roll < 10) return Reaction::kEnd;
  if (roll < 12) return Reaction::kDestroy;
  if (roll < 14) return Reaction::kDestroyWithError;
  return Reaction::kNothing;
}

void ModelRun::write(SplitMix64& random) {
  const std::size_t size = writeSize(random);
  const bool withCallback = random.percent(60);
  const Reaction reaction = withCallback ? callbackReaction(random) : Reaction::kNothing;
  const bool moved = random.percent(50);

  const bool accepted = !destroyed_ && !ended_;
  const std::size_t index = writes_.size();
  writes_.push_back(Write{accepted_, size, accepted, withCallback, reaction});
  std::string owned(moved ? size : 0, '\0');
  char* data = moved ? owned.data() : scratch_.data();
  if (accepted) {
    stream_.fill(data, size);  // a rejected write's bytes never reach the peer
    accepted_ += size;
  }
  WriteCallback callback;
  if (withCallback) callback = [this, index](const Error* error) { onCallback(index, error); };

  insideWrite_ = true;
  const bool belowHighWaterMark = moved ? socket_->write(std::move(owned), std::move(callback))
                                        : socket_->write(std::string_view(data, size), std::move(callback));
  insideWrite_ = false;
  if (accepted && !belowHighWaterMark) awaitingDrain_ = true;
}

void ModelRun::end() {
  ended_ = true;
  socket_->end();
}

void ModelRun::destroy(bool withError) {
  if (!destroyed_) {
    destroyed_ = true;
    destroyedWithError_ = withError;
  }
  if (withError) {
    socket_->destroy(Error(kModelErrorCode, "destroyed by the model"));
  } else {
    socket_->destroy();
  }
}

void ModelRun::react(Reaction reaction) {
  switch (reaction) {
    case Reaction::kNothing: break;
    case Reaction::kWrite:
      if (mayWrite()) write(reactions_);
      break;
    case Reaction::kEnd: end(); break;
    case Reaction::kDestroy: destroy(false); break;
    case Reaction::kDestroyWithError: destroy(true); break;
  }
}

// A few reads of random sizes, or none for a while.
void ModelRun::peerStep() {
  if (pauseLeft_ > 0) {
    --pauseLeft_;
    return;
  }
  if (random_.percent(5)) {
    pauseLeft_ = 1 + static_cast<int>(random_.below(20));
    return;
  }
  for (std::uint64_t reads = 1 + random_.below(3); reads > 0; --reads) {
    const std::uint64_t roll = random_.below(10);
    const std::size_t limit = roll < 2 ? 64 : roll < 6 ? 4096 : CheckingReader::kMaxRead;
    peer_.readOnce(1 + random_.below(limit));
  }
}

// One iteration that does not wait: a pending immediate makes the poll only look.
void ModelRun::iterate() {
  loop_.setImmediate([] {});
  loop_.runOnce();
}

// Iterates, the model checking after each, until `done` holds; a failure when `what` did not
// happen within the limit. False then, or once the model has found a failure.
bool ModelRun::drive(const char* what, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kFinalPhaseLimit;
  while (!done()) {
    if (::testing::Test::HasFailure()) return false;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << what << " did not happen: " << peer_.received() << " of " << accepted_
                    << " accepted bytes received" << (peer_.ended() ? " and the FIN" : "") << ", writableLength() "
                    << socket_->writableLength() << ", 'finish' " << finishes_ << " times, "
                    << (closed_ ? "closed" : destroyed_ ? "destroyed" : "open") << ", the oldest callback owed write "
                    << oldestCallbackOwed() << " of " << writes_.size();
      return false;
    }
    iterate();
    checkQuiescent();
  }
  return true;
}

// end(), then the peer reads everything; the socket is destroyed after 'finish' (or by a callback
// before it). Then the peer reads what the kernel still had, up to the FIN.
void ModelRun::finishUp() {
  end();
  const bool finished = drive("'finish' and the FIN after end()", [this] {
    peer_.readAvailable();
    return destroyed_ || (finishes_ == 1 && peer_.ended());
  });
  if (!finished) return;
  if (!destroyed_) {
    EXPECT_EQ(peer_.received(), accepted_) << "the FIN came before every accepted byte";
    destroy(false);
  }
  const bool closed = drive("'close' and every callback", [this] {
    return closed_ && oldestCallbackOwed() == writes_.size();
  });
  if (!closed) return;
  const bool ended = drive("the FIN of the destroyed socket", [this] {
    peer_.readAvailable();
    return peer_.ended() || peer_.failure() != 0;
  });
  if (!ended) return;
  EXPECT_EQ(peer_.failure(), 0) << "the peer's read failed";
  EXPECT_LE(peer_.received(), accepted_) << "the peer got bytes of writes that were not accepted";
  EXPECT_GE(peer_.received(), succeededUpTo_) << "a callback said success for bytes the peer never got";
  EXPECT_FALSE(peer_.firstMismatch().has_value()) << "the stream differs at byte " << peer_.firstMismatch().value_or(0);
  EXPECT_EQ(errors_, destroyedWithError_ ? 1 : 0);
}

// --- the model ----------------------------------------------------------------------------------

std::size_t ModelRun::oldestCallbackOwed() {
  while (nextCallback_ < writes_.size() &&
         (!writes_[nextCallback_].withCallback || writes_[nextCallback_].calls > 0)) {
    ++nextCallback_;
  }
  return nextCallback_;
}

void ModelRun::onCallback(std::size_t index, const Error* error) {
  Write& write = writes_[index];
  const std::string outcome = error != nullptr ? error->code() : "success";
  EXPECT_FALSE(insideWrite_) << "write " << index << ": callback called inside write()";
  EXPECT_EQ(index, oldestCallbackOwed()) << "write " << index << ": callback out of write order";
  EXPECT_EQ(++write.calls, 1) << "write " << index << ": callback called again, with " << outcome;
  if (!write.accepted) {
    EXPECT_EQ(outcome, "ERR_STREAM_DESTROYED") << "write " << index << " made after destroy()";
  } else if (error == nullptr) {
    EXPECT_FALSE(writeFailed_) << "write " << index << ": success after an earlier write failed";
    succeededUpTo_ = write.end();
  } else {
    writeFailed_ = true;
    EXPECT_TRUE(destroyed_) << "write " << index << " failed with " << outcome << " on a live socket";
    EXPECT_EQ(outcome, destroyedWithError_ ? kModelErrorCode : "ERR_STREAM_DESTROYED") << "write " << index;
  }
  if (write.accepted) {
    EXPECT_FALSE(closed_) << "write " << index << ": callback after 'close'";
  }
  react(write.reaction);
}

Reaction drainReaction(SplitMix64& random) {
  const std::uint64_t roll = random.below(100);
  if (roll < 70) return Reaction::kWrite;
  if (roll < 73) return Reaction::kEnd;
  if (roll < 76) return Reaction::kDestroy;
  if (roll < 79) return Reaction::kDestroyWithError;
  return Reaction::kNothing;
}

void ModelRun::onDrain() {
  EXPECT_FALSE(closed_) << "'drain' after 'close'";
  EXPECT_FALSE(destroyed_) << "'drain' on a destroyed socket";
  EXPECT_TRUE(awaitingDrain_) << "'drain' without a write() that returned false, or twice for one";
  EXPECT_EQ(socket_->writableLength(), 0u) << "'drain' with bytes queued";
  awaitingDrain_ = false;
  const Reaction reaction = drainReaction(reactions_);
  for (std::uint64_t writes = reaction == Reaction::kWrite ? 1 + reactions_.below(3) : 1; writes > 0; --writes) {
    react(reaction);
  }
}

void ModelRun::onFinish() {
  EXPECT_FALSE(closed_) << "'finish' after 'close'";
  EXPECT_FALSE(destroyed_) << "'finish' on a destroyed socket";
  EXPECT_TRUE(ended_) << "'finish' without end()";
  EXPECT_EQ(++finishes_, 1) << "'finish' twice";
  EXPECT_EQ(oldestCallbackOwed(), writes_.size()) << "'finish' before the callback of write " << oldestCallbackOwed();
  EXPECT_EQ(socket_->writableLength(), 0u) << "'finish' with bytes queued";
}

void ModelRun::onClose(bool hadError) {
  EXPECT_FALSE(closed_) << "'close' twice";
  EXPECT_TRUE(destroyed_) << "'close' without destroy()";
  EXPECT_EQ(hadError, destroyedWithError_);
  closed_ = true;
  for (std::size_t i = 0; i < writes_.size(); ++i) {
    if (writes_[i].accepted && writes_[i].withCallback) {
      EXPECT_EQ(writes_[i].calls, 1) << "the callback of write " << i << " had not run at 'close'";
    }
  }
}

void ModelRun::checkQuiescent() {
  EXPECT_EQ(socket_->destroyed(), destroyed_);
  if (destroyed_) return checkHeap(0);
  // Bytes known to be out: up to the last successful callback, and whatever the peer read.
  const std::uint64_t sentAtLeast = std::max(succeededUpTo_, peer_.received());
  const std::size_t queued = socket_->writableLength();
  EXPECT_LE(queued, accepted_ - sentAtLeast) << "writableLength() counts bytes known to be sent";
  // The last byte of a write whose callback is owed is not out (for an empty write: the byte
  // before it), so everything from there on is queued. The oldest owed callback bounds it best.
  if (const std::size_t owed = oldestCallbackOwed(); owed < writes_.size()) {
    EXPECT_GE(queued, accepted_ - writes_[owed].end() + 1)
        << "the callback of write " << owed << " (" << writes_[owed].size << " bytes) is owed, but not its bytes";
  }
  if (awaitingDrain_ && !ended_) {
    EXPECT_GT(queued, 0u) << "the queue emptied after write() returned false, and no 'drain' came";
  }
  const auto oldestUnsent = std::find_if(writes_.begin(), writes_.end(),
                                         [&](const Write& write) { return write.end() > sentAtLeast; });
  checkHeap(oldestUnsent == writes_.end() ? 0 : accepted_ - oldestUnsent->start);
}

// `mayHold`: the bytes of the writes the socket may still hold, whole (from the oldest not known to
// be sent on).
void ModelRun::checkHeap(std::uint64_t mayHold) {
  const std::optional<std::size_t> heap = heapInUse();
  if (!heap || !heapBaseline_) return;
  const std::size_t grown = *heap > *heapBaseline_ ? *heap - *heapBaseline_ : 0;
  EXPECT_LE(grown, mayHold + kHeapSlack) << "the heap holds more than the writes that may still be queued ("
                                         << mayHold << " bytes of " << accepted_ << " accepted)";
}

class WriteModelTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  reactor::Loop loop{GetParam().make()};
};

TEST_P(WriteModelTest, RandomProgramsKeepToTheModel) {
  for (std::uint64_t seed = 1; seed <= kSeeds && !HasFailure(); ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    ModelRun(loop, seed).run();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteModelTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
