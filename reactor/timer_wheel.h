// The timer wheel: the loop's timers, filed by due time in a hierarchical timing wheel.
//
// Role: the loop (reactor/loop.h) keeps every pending timer here. It arms, re-arms and cancels
// timers as the program asks, asks nextWakeTime() how long the poller may block, and after each
// wait drains what has come due with `while (Entry* e = wheel.popExpired(now)) fire(e);`. Time is a
// plain 64-bit count of ticks; the loop uses milliseconds, and the table below is written for that.
//
// Ownership: entries are intrusive nodes owned by the caller, who embeds Entry in (or derives it
// into) its timer object. The wheel only links and unlinks them: it never allocates, never copies
// and never frees. An armed entry must be cancelled before it is destroyed (~Entry asserts this in
// builds without NDEBUG; with NDEBUG it compiles to nothing). Destroying the wheel unlinks whatever
// is still armed, which leaves those entries not armed and safe to destroy afterwards.
//
// Threading: none. A wheel and its entries belong to one thread (the loop's).
//
// Reentrancy: between two popExpired() calls the caller may arm, re-arm or cancel any entry,
// including the one just returned and entries that are due within the same advance; the next call
// sees the change. So a timer callback run from the pop loop may cancel a later timer that is
// already due (it will not come out), re-arm itself for later (a repeating timer), or arm a timer
// whose due is <= now() (it comes out of this same pop loop, behind the entries already expired).
//
// Scheme: Varghese & Lauck's scheme 7, a hierarchical wheel with cascading. 11 levels of 64 slots
// cover the full 64-bit range, so there is no overflow list and no due time is out of range. Slots
// are indexed by absolute time: an entry goes to the level of the highest bit in which its due and
// the wheel's now() differ (level = bit / 6), in slot (due >> 6 * level) & 63. Every entry on a
// level therefore shares with now() all the bits above that level, and its slot index there is
// strictly greater than now()'s. Each level keeps a 64-bit occupancy bitmap, so the next non-empty
// slot is one count-trailing-zeros away, and popExpired() jumps straight from one event time to the
// next instead of stepping through empty ticks (reaching a timer an hour away takes one step per
// level it passes through: 3 to 5). When time reaches the start of a higher-level slot, that slot
// is cascaded: its entries are re-filed, in list order, into the lower levels (or straight onto the
// expired list when their due is that very tick). An entry moves down at most once per level, so
// cascading costs amortised O(1) per entry (at most 10 moves), and arm, re-arm and cancel are O(1)
// list operations.
//
//   Level  Bits of due  Slot granularity          Holds dues less than this far ahead  Lateness
//     0      0..5       1 ms                      64 ms                                0 ticks
//     1      6..11      64 ms                     4,096 ms (~4.1 s)                    0 ticks
//     2     12..17      4,096 ms (~4.1 s)         2^18 ms  (~4.4 min)                  0 ticks
//     3     18..23      2^18 ms  (~4.4 min)       2^24 ms  (~4.7 h)                    0 ticks
//     4     24..29      2^24 ms  (~4.7 h)         2^30 ms  (~12.4 days)                0 ticks
//     5     30..35      2^30 ms  (~12.4 days)     2^36 ms  (~2.2 years)                0 ticks
//     6     36..41      2^36 ms  (~2.2 years)     2^42 ms  (~139 years)                0 ticks
//     7     42..47      2^42 ms  (~139 years)     2^48 ms  (~8,900 years)              0 ticks
//     8     48..53      2^48 ms  (~8,900 years)   2^54 ms  (~571,000 years)            0 ticks
//     9     54..59      2^54 ms  (~571,000 y)     2^60 ms  (~36.5 million years)       0 ticks
//    10     60..63      2^60 ms  (~36.5 My)       2^64 ms  (~585 million years)        0 ticks
//
// (Level 10 has only 16 usable slots: bits 60..63. "Less than this far ahead" is a bound, not the
// rule: the level is chosen by the highest differing bit, so with now() = 4095 a due of 4096 is
// filed on level 2 although it is 1 ms away. It is cascaded, and fires, at exactly 4096.)
//
// Lateness: none from the wheel. Granularity only decides when a slot is cascaded, never when an
// entry fires: every entry comes out of popExpired() at exactly its due tick (the first call whose
// `now` is >= due) and never before. The only lateness is the caller's: rounding to whole ticks
// (the loop rounds due times up to the next millisecond, so a timer never fires early) and the
// loop's own latency between the due time and the popExpired() call.
//
// Why not the alternatives: a binary heap (libuv's choice) costs O(log n) per arm, cancel and
// expiry, and at a million timers each of those walks cache-missing levels (bench/ compares the
// two). The Linux kernel's current wheel (kernel/time/timer.c) does not cascade: an entry stays in
// its coarse slot and fires late by up to about 1/8 of its timeout, which is fine for timeouts
// that almost never fire but would break the loop's contract that timers fire at their due time
// and in due-time order.
//
// Order: entries come out in due-time order; entries with the same due come out in the order they
// were armed (a re-arm counts as a new arm). An entry armed with due <= now() counts as due at
// now(): it comes out of the next popExpired() call, behind any entries already expired.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace reactor {

class TimerWheel {
 public:
  // Intrusive node: the owner embeds (or derives from) it. No allocation ever happens in the wheel.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() { assert(!armed() && "an armed TimerWheel::Entry must be cancelled first"); }

    // Filed in the wheel, or expired but not yet popped.
    bool armed() const { return next_ != nullptr; }
    // The due time last given to arm(), unchanged even if it was already past. Valid while armed.
    std::uint64_t due() const { return due_; }

   private:
    friend class TimerWheel;
    static constexpr std::uint16_t kNotFiled = 0xFFFF;

    Entry* prev_ = nullptr;  // circular list of its slot, through the slot's sentinel head;
    Entry* next_ = nullptr;  // both null when not armed
    std::uint64_t due_ = 0;
    std::uint16_t slot_ = kNotFiled;  // level * 64 + index, or kExpiredList: O(1) cancel
  };

  explicit TimerWheel(std::uint64_t now = 0);
  // Entries still armed are unlinked (left not armed); nothing is fired.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Files `e` to come out at `due`; moves it if it is already armed (same as cancel, then arm). A
  // due <= now() means expired: the entry is returned by the next popExpired(). O(1).
  void arm(Entry& e, std::uint64_t due);

  // Unfiles `e`. No-op if it is not armed. O(1).
  void cancel(Entry& e);

  // Advances the wheel's time towards `now` (never backwards) and returns the next entry whose due
  // is <= max(now(), `now`), already disarmed, or nullptr when none is left (now() is then
  // max(now(), `now`)). Between calls the caller may arm, re-arm and cancel anything (see above).
  // While entries are coming out, now() is the due of the entry just returned (for one armed
  // already expired: the time it was armed at), so arming relative to now() inside the loop works.
  // Typical use: while (Entry* e = wheel.popExpired(now)) fire(e);
  Entry* popExpired(std::uint64_t now);

  // When to call popExpired() next: now() if an expired entry is waiting, else the lowest due
  // filed in the first non-empty slot since that slot was last empty. Never later than the
  // earliest due, and equal to it unless the entry that set it was cancelled or re-armed: then a
  // popExpired() at this time returns nothing (it cascades) and the next answer is exact. So a
  // sleeping loop wakes once for a timer an hour away. std::nullopt when empty. O(1).
  std::optional<std::uint64_t> nextWakeTime() const;

  std::uint64_t now() const { return now_; }
  // Armed entries, expired ones not yet popped included.
  std::size_t size() const { return size_; }

 private:
  static constexpr unsigned kBitsPerLevel = 6;
  static constexpr unsigned kSlotsPerLevel = 1u << kBitsPerLevel;
  static constexpr unsigned kLevels = 11;  // ceil(64 / 6): the whole 64-bit range
  static constexpr std::uint16_t kExpiredList = kLevels * kSlotsPerLevel;

  // Puts an unlinked entry on the list its due and now_ call for.
  void file(Entry& e);
  // Takes a linked entry off its list, keeping the bitmaps right; leaves its links dangling.
  void unlink(Entry& e);
  // The time at which slot `index` of `level` begins, for the current now_.
  std::uint64_t slotStart(unsigned level, unsigned index) const;

  std::uint64_t now_;
  std::size_t size_ = 0;
  std::uint64_t occupied_[kLevels] = {};  // bit i of level L: slot L*64+i is non-empty
  std::uint32_t levelsOccupied_ = 0;      // bit L: occupied_[L] != 0
  Entry heads_[kLevels * kSlotsPerLevel + 1];  // sentinel per slot, then the expired list's
  std::uint64_t earliestFiled_[kLevels * kSlotsPerLevel] = {};  // lower bound of each slot's dues
};

}  // namespace reactor
