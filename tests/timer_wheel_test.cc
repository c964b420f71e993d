#include "reactor/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "tests/splitmix64.h"

namespace reactor {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

struct Timer : TimerWheel::Entry {
  int id = 0;
};

int idOf(TimerWheel::Entry* e) { return e == nullptr ? -1 : static_cast<Timer*>(e)->id; }

// Pops everything due at `now` and returns the ids in the order they came out.
std::vector<int> drain(TimerWheel& wheel, std::uint64_t now) {
  std::vector<int> ids;
  while (TimerWheel::Entry* e = wheel.popExpired(now)) {
    EXPECT_FALSE(e->armed());
    ids.push_back(idOf(e));
  }
  return ids;
}

std::uint64_t addSat(std::uint64_t a, std::uint64_t b) { return a > kMax - b ? kMax : a + b; }

// --- basics ------------------------------------------------------------------------------------

TEST(TimerWheel, EmptyWheel) {
  TimerWheel wheel(1000);
  EXPECT_EQ(wheel.now(), 1000u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.nextWakeTime(), std::nullopt);
  EXPECT_EQ(wheel.popExpired(5000), nullptr);
  EXPECT_EQ(wheel.now(), 5000u);
  EXPECT_EQ(wheel.popExpired(10), nullptr);  // never backwards
  EXPECT_EQ(wheel.now(), 5000u);
  EXPECT_EQ(wheel.popExpired(kMax), nullptr);
  EXPECT_EQ(wheel.now(), kMax);
}

TEST(TimerWheel, ArmCancelSize) {
  Timer a, b;
  TimerWheel wheel;
  EXPECT_FALSE(a.armed());
  wheel.arm(a, 100);
  EXPECT_TRUE(a.armed());
  EXPECT_EQ(a.due(), 100u);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.arm(a, 200);  // re-arm: moves, does not add
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(a.due(), 200u);
  wheel.arm(b, 150);
  EXPECT_EQ(wheel.size(), 2u);
  wheel.cancel(b);
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(wheel.size(), 1u);
  wheel.cancel(b);  // no-op
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.popExpired(199), nullptr);
  EXPECT_EQ(wheel.popExpired(200), &a);
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.popExpired(200), nullptr);
}

TEST(TimerWheel, DestructorUnlinksArmedEntries) {
  Timer a, b, c;
  {
    TimerWheel wheel(10);
    wheel.arm(a, 11);
    wheel.arm(b, 1u << 30);
    wheel.arm(c, 5);  // expired, not popped
    EXPECT_TRUE(a.armed() && b.armed() && c.armed());
  }
  EXPECT_FALSE(a.armed());
  EXPECT_FALSE(b.armed());
  EXPECT_FALSE(c.armed());
  TimerWheel other;  // the entries can be used again
  other.arm(a, 1);
  EXPECT_EQ(other.popExpired(1), &a);
}

TEST(TimerWheel, ExpiredEntryCanBeCancelledOrMovedBeforeItIsPopped) {
  Timer a, b, c;
  TimerWheel wheel;
  wheel.arm(a, 10);
  wheel.arm(b, 10);
  wheel.arm(c, 10);
  Timer* first = static_cast<Timer*>(wheel.popExpired(10));
  ASSERT_EQ(first, &a);  // b and c are now on the expired list
  wheel.cancel(b);
  wheel.arm(c, 20);
  EXPECT_EQ(wheel.popExpired(10), nullptr);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.popExpired(19), nullptr);
  EXPECT_EQ(wheel.popExpired(20), &c);
}

// --- lateness ----------------------------------------------------------------------------------

// Due times at and around every level boundary, plus the top of the range.
std::vector<std::uint64_t> boundaryDues() {
  std::vector<std::uint64_t> dues = {1, 2, 62, 63};
  for (unsigned bit = 6; bit < 64; bit += 6) {
    const std::uint64_t b = std::uint64_t{1} << bit;
    for (std::uint64_t d : {b - 1, b, b + 1, 2 * b - 1, 2 * b, 63 * b, 63 * b + 1}) {
      dues.push_back(d);
    }
  }
  const std::uint64_t top = std::uint64_t{1} << 63;
  for (std::uint64_t d : {top, top + 1, kMax - 64, kMax - 1, kMax}) {
    dues.push_back(d);
  }
  return dues;
}

// Arms one entry at `due` from `start`, jumps to 70 ticks before it, then steps tick by tick (and
// follows nextWakeTime) up to the due: it must come out exactly at the due tick, never before.
void expectFiresExactlyAt(std::uint64_t start, std::uint64_t due) {
  SCOPED_TRACE(::testing::Message() << "start " << start << " due " << due);
  Timer t;
  TimerWheel wheel(start);
  wheel.arm(t, due);
  ASSERT_EQ(due > start, wheel.nextWakeTime() > std::optional<std::uint64_t>(start));
  std::uint64_t at = start;
  if (due - start > 70) {
    at = due - 70;
    ASSERT_EQ(wheel.popExpired(at), nullptr);
  }
  while (at < due) {
    std::optional<std::uint64_t> wake = wheel.nextWakeTime();
    ASSERT_TRUE(wake.has_value());
    ASSERT_LE(*wake, due);
    ASSERT_GT(*wake, wheel.now());
    ASSERT_EQ(wheel.popExpired(at), nullptr) << "fired early at " << at;
    ASSERT_EQ(wheel.now(), at);
    ++at;
  }
  ASSERT_EQ(wheel.popExpired(due), &t);
  ASSERT_EQ(wheel.now(), due);
  ASSERT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, FiresExactlyAtDueAroundLevelBoundaries) {
  for (std::uint64_t due : boundaryDues()) {
    ASSERT_NO_FATAL_FAILURE(expectFiresExactlyAt(0, due));
    ASSERT_NO_FATAL_FAILURE(expectFiresExactlyAt(due - 1, due));  // one tick, across the boundary
    if (due > 1000) {
      ASSERT_NO_FATAL_FAILURE(expectFiresExactlyAt(due - 1000, due));
      ASSERT_NO_FATAL_FAILURE(expectFiresExactlyAt(due / 2 + 3, due));
    }
  }
}

TEST(TimerWheel, LargeJumpsStopOnlyAtDue) {
  // Jumps that end just before the due, from far away, then exactly at it.
  for (std::uint64_t due : boundaryDues()) {
    SCOPED_TRACE(due);
    Timer t;
    TimerWheel wheel;
    wheel.arm(t, due);
    for (std::uint64_t gap = std::uint64_t{1} << 62; gap > 0; gap >>= 1) {
      if (gap < due) {
        ASSERT_EQ(wheel.popExpired(due - gap), nullptr);
      }
    }
    ASSERT_EQ(wheel.popExpired(due), &t);
  }
}

TEST(TimerWheel, OverdueEntryComesOutWhenTimeJumpsPastIt) {
  for (std::uint64_t due : boundaryDues()) {
    Timer t;
    TimerWheel wheel;
    wheel.arm(t, due);
    EXPECT_EQ(wheel.popExpired(kMax), &t);
    EXPECT_EQ(wheel.now(), due);  // while it comes out, now() is its due
    EXPECT_EQ(wheel.popExpired(kMax), nullptr);
    EXPECT_EQ(wheel.now(), kMax);
  }
}

// --- nextWakeTime ------------------------------------------------------------------------------

TEST(TimerWheel, NextWakeTimeReachesAnHourAwayInAFewWakes) {
  constexpr std::uint64_t kHour = 3'600'000;
  for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{12'345}, std::uint64_t{1} << 40,
                              (std::uint64_t{1} << 42) - 1, kMax - 2 * kHour}) {
    SCOPED_TRACE(start);
    Timer t;
    TimerWheel wheel(start);
    EXPECT_EQ(wheel.nextWakeTime(), std::nullopt);
    const std::uint64_t due = start + kHour;
    wheel.arm(t, due);
    int wakes = 0;
    TimerWheel::Entry* fired = nullptr;
    while (fired == nullptr) {
      std::optional<std::uint64_t> wake = wheel.nextWakeTime();
      ASSERT_TRUE(wake.has_value());
      ASSERT_LE(*wake, due);
      ASSERT_GT(*wake, wheel.now());
      ASSERT_EQ(wheel.popExpired(*wake - 1), nullptr);  // nothing to do before the wake time
      fired = wheel.popExpired(*wake);
      ++wakes;
      ASSERT_LE(wakes, 11);
    }
    EXPECT_EQ(fired, &t);
    EXPECT_EQ(wheel.now(), due);
    // The slot remembers the lowest due filed in it, so the first wake is the due itself.
    EXPECT_EQ(wakes, 1);
    EXPECT_EQ(wheel.nextWakeTime(), std::nullopt);
  }
}

// When the entry that set a slot's wake time is cancelled, the wake comes early once per level on
// the way down (the slot is cascaded), never later than the remaining entry's due.
TEST(TimerWheel, CancellingTheEarliestEntryCostsAtMostOneEarlyWakePerLevel) {
  constexpr std::uint64_t kHour = 3'600'000;
  Timer cancelled, kept;
  TimerWheel wheel(0);
  wheel.arm(cancelled, kHour);
  wheel.arm(kept, kHour + 60'000);
  wheel.cancel(cancelled);
  int wakes = 0;
  TimerWheel::Entry* fired = nullptr;
  while (fired == nullptr) {
    std::optional<std::uint64_t> wake = wheel.nextWakeTime();
    ASSERT_TRUE(wake.has_value());
    ASSERT_LE(*wake, kept.due());
    fired = wheel.popExpired(*wake);
    ASSERT_LE(++wakes, 11);
  }
  EXPECT_EQ(fired, &kept);
  EXPECT_LE(wakes, 4);  // an hour is on level 3
}

TEST(TimerWheel, NextWakeTimeIsNowWhileSomethingIsExpired) {
  Timer a, b;
  TimerWheel wheel(50);
  wheel.arm(a, 40);
  EXPECT_EQ(wheel.nextWakeTime(), std::optional<std::uint64_t>(50));
  wheel.arm(b, 60);
  EXPECT_EQ(wheel.popExpired(50), &a);
  EXPECT_EQ(wheel.nextWakeTime(), std::optional<std::uint64_t>(60));
  wheel.cancel(b);
  EXPECT_EQ(wheel.nextWakeTime(), std::nullopt);
}

// --- reentrancy --------------------------------------------------------------------------------

TEST(TimerWheel, CancellingAnEntryDueInTheSameAdvanceKeepsItIn) {
  Timer a, b, c;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  TimerWheel wheel;
  wheel.arm(a, 10);
  wheel.arm(b, 10);      // same tick: already expired when a comes out
  wheel.arm(c, 5000);    // later in the same advance, on another level
  std::vector<int> fired;
  while (TimerWheel::Entry* e = wheel.popExpired(10'000)) {
    fired.push_back(idOf(e));
    if (e == &a) {
      wheel.cancel(b);
      wheel.cancel(c);
    }
  }
  EXPECT_EQ(fired, std::vector<int>({1}));
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.now(), 10'000u);
}

TEST(TimerWheel, ReArmingThePoppedEntryRepeats) {
  Timer t;
  TimerWheel wheel;
  wheel.arm(t, 7);
  std::vector<std::uint64_t> firedAt;
  while (TimerWheel::Entry* e = wheel.popExpired(100)) {
    firedAt.push_back(wheel.now());
    wheel.arm(*e, wheel.now() + 30);  // an interval timer, re-armed from its callback
  }
  EXPECT_EQ(firedAt, std::vector<std::uint64_t>({7, 37, 67, 97}));
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(t.due(), 127u);
  wheel.cancel(t);
}

TEST(TimerWheel, ArmingAnExpiredDueInsideThePopLoopComesOutInTheSameLoop) {
  Timer a, b, c, d;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  d.id = 4;
  TimerWheel wheel;
  wheel.arm(a, 100);
  wheel.arm(b, 100);
  wheel.arm(d, 150);
  std::vector<int> fired;
  while (TimerWheel::Entry* e = wheel.popExpired(200)) {
    fired.push_back(idOf(e));
    if (e == &a) wheel.arm(c, 3);  // in the past: behind b, which is already expired, before d
  }
  EXPECT_EQ(fired, std::vector<int>({1, 2, 3, 4}));

  // After the loop: it is returned by the very next call.
  wheel.arm(c, 200);
  EXPECT_EQ(wheel.popExpired(200), &c);
  wheel.arm(c, 0);
  EXPECT_EQ(wheel.popExpired(0), &c);  // even when asked for an earlier time
  EXPECT_EQ(wheel.now(), 200u);
}

TEST(TimerWheel, ArmingInsideThePopLoopForLaterInTheSameAdvance) {
  Timer a, b;
  a.id = 1;
  b.id = 2;
  TimerWheel wheel;
  wheel.arm(a, 10);
  std::vector<std::pair<int, std::uint64_t>> fired;
  while (TimerWheel::Entry* e = wheel.popExpired(1'000'000)) {
    fired.push_back({idOf(e), wheel.now()});
    if (e == &a) wheel.arm(b, 70'000);  // several levels up from now() = 10, still in this advance
  }
  EXPECT_EQ(fired, (std::vector<std::pair<int, std::uint64_t>>{{1, 10}, {2, 70'000}}));
}

// --- tie order ---------------------------------------------------------------------------------

TEST(TimerWheel, SameDueComesOutInArmOrderAcrossCascades) {
  constexpr int kCount = 1000;
  constexpr std::uint64_t kDue = (std::uint64_t{1} << 20) + 12'345;  // level 3 from 0
  std::vector<Timer> timers(2 * kCount);
  for (int i = 0; i < 2 * kCount; ++i) timers[i].id = i;
  std::vector<Timer> late(10);
  for (int i = 0; i < 10; ++i) late[i].id = 10'000 + i;
  TimerWheel wheel;
  // Interleave the tied entries with others on their way down the levels.
  for (int i = 0; i < kCount; ++i) {
    wheel.arm(timers[i], kDue);
    wheel.arm(timers[kCount + i], kDue - 100 - static_cast<std::uint64_t>(i) * 977);
  }
  // Re-arming moves an entry to the back of its due.
  wheel.arm(timers[0], kDue);
  // Advance partway, so that the tied ones have cascaded (level 3 -> 2 at 2^20, 2 -> 0 at
  // kDue - 57), and arm more with the same due: they go behind the earlier ones although those
  // moved levels since.
  EXPECT_EQ(drain(wheel, kDue - 100).size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < 5; ++i) wheel.arm(late[i], kDue);
  EXPECT_EQ(drain(wheel, kDue - 30), std::vector<int>());
  for (int i = 5; i < 10; ++i) wheel.arm(late[i], kDue);
  std::vector<int> expected;
  for (int i = 1; i < kCount; ++i) expected.push_back(i);
  expected.push_back(0);
  for (int i = 0; i < 10; ++i) expected.push_back(10'000 + i);
  EXPECT_EQ(drain(wheel, kDue - 1), std::vector<int>());
  EXPECT_EQ(drain(wheel, kDue), expected);
}

// --- randomized model check ----------------------------------------------------------------------

// The wheel against a std::map keyed by (effective due, arm sequence number). An entry armed with
// due <= now() is due at now(): that is its effective due.
class ModelCheck {
 public:
  static constexpr int kTimers = 1024;

  explicit ModelCheck(std::uint64_t seed) : rng_(seed), timers_(kTimers), keys_(kTimers) {
    for (int i = 0; i < kTimers; ++i) timers_[i].id = i;
    wheel_.emplace(0);
  }

  void run(long operations) {
    for (long op = 0; op < operations; ++op) {
      ASSERT_NO_FATAL_FAILURE(step()) << "operation " << op;
    }
    ASSERT_NO_FATAL_FAILURE(advance(kMax));
    ASSERT_EQ(wheel_->size(), 0u);
  }

  long popped() const { return popped_; }
  long epochs() const { return epochs_; }

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;  // effective due, arm sequence

  TimerWheel& wheel() { return *wheel_; }

  void step() {
    const std::uint64_t r = rng_.below(100);
    if (r < 55) {
      armOne(static_cast<int>(rng_.below(kTimers)));
    } else if (r < 70) {
      cancelOne(static_cast<int>(rng_.below(kTimers)));
    } else {
      ASSERT_NO_FATAL_FAILURE(advance(nextTarget()));
    }
    ASSERT_EQ(wheel().size(), reference_.size());
    ASSERT_NO_FATAL_FAILURE(checkNextWake());
    // Once time is near the top of the range, start over with a fresh wheel somewhere else.
    if (wheel().now() > kMax - (std::uint64_t{1} << 40) && ++opsNearTop_ > 200) {
      ASSERT_NO_FATAL_FAILURE(advance(kMax));
      ASSERT_EQ(wheel().size(), 0u);
      ASSERT_TRUE(reference_.empty());
      wheel_.reset();
      wheel_.emplace(freshStart());
      opsNearTop_ = 0;
      ++epochs_;
    }
  }

  std::uint64_t freshStart() {
    switch (rng_.below(4)) {
      case 0: return 0;
      case 1: return rng_.below(std::uint64_t{1} << 40);
      case 2: return (std::uint64_t{1} << 63) - rng_.below(5000);
      default: return rng_.below(kMax - (std::uint64_t{1} << 41));
    }
  }

  // A due time for an arm at the wheel's current time, mixing everything the wheel must handle.
  std::uint64_t randomDue() {
    const std::uint64_t now = wheel().now();
    const std::uint64_t r = rng_.below(100);
    std::uint64_t due;
    if (r < 25) {
      due = addSat(now, rng_.below(64));
    } else if (r < 45) {
      due = addSat(now, rng_.below(4096));
    } else if (r < 60) {  // anywhere on a random level
      const unsigned level = static_cast<unsigned>(rng_.below(11));
      const unsigned bits = level == 10 ? 64 : 6 * level + 6;
      due = addSat(now, rng_.below(bits == 64 ? 0 : std::uint64_t{1} << bits));
    } else if (r < 70) {  // at or next to a boundary of a random level
      const unsigned shift = 6 * static_cast<unsigned>(1 + rng_.below(10));
      const std::uint64_t base = (now >> shift) + 1 + rng_.below(3);
      due = base > (kMax >> shift) ? kMax : base << shift;
      switch (rng_.below(3)) {
        case 0: due = due - 1; break;
        case 1: due = addSat(due, 1); break;
        default: break;
      }
    } else if (r < 80 && !recentDues_.empty()) {  // a tie with an earlier arm
      due = recentDues_[rng_.below(recentDues_.size())];
    } else if (r < 85) {  // in the past
      due = now - std::min(now, rng_.below(1000));
    } else if (r < 90) {
      due = kMax - rng_.below(1000);
    } else {  // up to a couple of years ahead
      due = addSat(now, rng_.below(std::uint64_t{1} << 36));
    }
    if (recentDues_.size() < 16) {
      recentDues_.push_back(due);
    } else {
      recentDues_[rng_.below(16)] = due;
    }
    return due;
  }

  std::uint64_t nextTarget() {
    const std::uint64_t now = wheel().now();
    const std::uint64_t r = rng_.below(10'000);
    if (r < 3500) return addSat(now, rng_.below(4));
    if (r < 6000) return addSat(now, rng_.below(65));
    if (r < 7500) return addSat(now, rng_.below(5000));
    if (r < 8500) return addSat(now, rng_.below(std::uint64_t{1} << 24));  // hours
    if (r < 9100) return addSat(now, rng_.below(std::uint64_t{1} << 36));  // years
    if (r < 9950 && !reference_.empty()) {  // exactly at, or just before, the next due
      const std::uint64_t due = reference_.begin()->first.first;
      return due - (due > now ? rng_.below(2) : 0);
    }
    if (r < 9995) return addSat(now, rng_.below(std::uint64_t{1} << 62));
    return kMax - rng_.below(std::uint64_t{1} << 20);  // near the end of time
  }

  void armOne(int id) {
    const std::uint64_t due = randomDue();
    if (timers_[id].armed()) reference_.erase(keys_[id]);
    wheel().arm(timers_[id], due);
    keys_[id] = {std::max(due, wheel().now()), sequence_++};
    reference_.emplace(keys_[id], id);
  }

  void cancelOne(int id) {
    if (timers_[id].armed()) reference_.erase(keys_[id]);
    wheel().cancel(timers_[id]);
  }

  void advance(std::uint64_t target) {
    const std::uint64_t before = wheel().now();
    // Time never goes back: asked for an earlier time, the wheel still hands out what is expired.
    const std::uint64_t until = std::max(before, target);
    while (TimerWheel::Entry* e = wheel().popExpired(target)) {
      ASSERT_FALSE(reference_.empty());
      const auto first = reference_.begin();
      ASSERT_LE(first->first.first, until) << "popped id " << idOf(e) << " due " << e->due()
                                            << " now " << wheel().now() << " from " << before;
      ASSERT_EQ(idOf(e), first->second) << "due " << first->first.first;
      ASSERT_EQ(wheel().now(), first->first.first);
      ASSERT_FALSE(e->armed());
      reference_.erase(first);
      ++popped_;
      // Sometimes act from inside the pop loop, as a timer callback would.
      if (rng_.percent(10)) {
        const int id = rng_.percent(50) ? idOf(e) : static_cast<int>(rng_.below(kTimers));
        if (rng_.percent(75)) {
          armOne(id);
        } else {
          cancelOne(id);
        }
      }
    }
    ASSERT_TRUE(reference_.empty() || reference_.begin()->first.first > until);
    ASSERT_EQ(wheel().now(), until);
  }

  void checkNextWake() {
    const std::optional<std::uint64_t> wake = wheel().nextWakeTime();
    if (reference_.empty()) {
      ASSERT_EQ(wake, std::nullopt);
      return;
    }
    ASSERT_TRUE(wake.has_value());
    ASSERT_LE(*wake, reference_.begin()->first.first);
    ASSERT_GE(*wake, wheel().now());
  }

  testing_support::SplitMix64 rng_;
  std::vector<Timer> timers_;  // declared before the wheel: it is destroyed first
  std::vector<Key> keys_;
  std::optional<TimerWheel> wheel_;
  std::map<Key, int> reference_;
  std::vector<std::uint64_t> recentDues_;
  std::uint64_t sequence_ = 0;
  long opsNearTop_ = 0;
  long popped_ = 0;
  long epochs_ = 0;
};

TEST(TimerWheel, RandomizedAgainstReferenceModel) {
  ModelCheck model(0x5EED'7135'0001ull);
  ASSERT_NO_FATAL_FAILURE(model.run(1'000'000));
  RecordProperty("popped", static_cast<int>(model.popped()));
  RecordProperty("epochs", static_cast<int>(model.epochs()));
  EXPECT_GT(model.popped(), 100'000);
  EXPECT_GT(model.epochs(), 2);
}

}  // namespace
}  // namespace reactor
