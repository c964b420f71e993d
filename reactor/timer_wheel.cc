#include "reactor/timer_wheel.h"

#include <bit>

namespace reactor {

// Invariants, between any two public calls:
//  - every armed entry is on exactly one list: the expired list if it was due at or before the
//    time it was last filed, else slot (level, (due >> 6 * level) & 63) of the level of the
//    highest bit in which due and now_ differ. So all entries of a level agree with now_ above
//    that level, and their slot index there is greater than now_'s (no slot is ever "behind").
//  - therefore a lower level's non-empty slots all begin before any higher level's, and the next
//    event is the first set bit of the lowest non-empty level.
//  - earliestFiled_ of a non-empty slot is the lowest due filed in it since it was last empty:
//    >= the slot's start and <= the due of every entry on it (a cancel may leave it too low).
//  - all entries with the same due are on the same list, in the order they were armed. Filing
//    appends; a cascade at time t re-files a slot into lower levels that are empty at that moment
//    (any entry on them would be due before t, and t is the next event), and the expired list is
//    empty whenever time advances, so appending keeps that order.

TimerWheel::TimerWheel(std::uint64_t now) : now_(now) {
  for (Entry& head : heads_) head.prev_ = head.next_ = &head;
}

TimerWheel::~TimerWheel() {
  for (Entry& head : heads_) {
    Entry* e = head.next_;
    while (e != &head) {
      Entry* next = e->next_;
      e->prev_ = e->next_ = nullptr;
      e->slot_ = Entry::kNotFiled;
      e = next;
    }
    head.prev_ = head.next_ = nullptr;
  }
}

void TimerWheel::arm(Entry& e, std::uint64_t due) {
  if (e.armed()) {
    unlink(e);
  } else {
    ++size_;
  }
  e.due_ = due;
  file(e);
}

void TimerWheel::cancel(Entry& e) {
  if (!e.armed()) return;
  unlink(e);
  e.prev_ = e.next_ = nullptr;
  e.slot_ = Entry::kNotFiled;
  --size_;
}

TimerWheel::Entry* TimerWheel::popExpired(std::uint64_t now) {
  Entry& expired = heads_[kExpiredList];
  for (;;) {
    if (expired.next_ != &expired) {
      Entry* e = expired.next_;
      unlink(*e);
      e->prev_ = e->next_ = nullptr;
      e->slot_ = Entry::kNotFiled;
      --size_;
      return e;
    }
    if (now_ >= now) return nullptr;
    if (levelsOccupied_ == 0) {
      now_ = now;
      return nullptr;
    }
    const unsigned level = static_cast<unsigned>(std::countr_zero(levelsOccupied_));
    const unsigned index = static_cast<unsigned>(std::countr_zero(occupied_[level]));
    const std::uint64_t start = slotStart(level, index);
    if (start > now) {
      // Nothing begins in (now_, now]: every entry keeps its slot, since no slot start is crossed.
      now_ = now;
      return nullptr;
    }
    now_ = start;
    // Detach the whole slot, then re-file its entries in order. On level 0 they are all due at
    // `start` and go to the expired list; from higher levels they spread over the lower levels.
    Entry& head = heads_[level * kSlotsPerLevel + index];
    Entry* e = head.next_;
    Entry* back = head.prev_ != e ? head.prev_ : nullptr;
    head.prev_->next_ = nullptr;
    head.prev_ = head.next_ = &head;
    occupied_[level] &= ~(std::uint64_t{1} << index);
    if (occupied_[level] == 0) levelsOccupied_ &= ~(std::uint32_t{1} << level);
    while (e != nullptr) {
      // A long slot is a pointer chase through entries scattered in memory, one cache miss after
      // another. `back` walks the list from the tail towards `e` and prefetches each entry it
      // reaches, so that two chains of misses are in flight and the second half is already cached
      // when `e` gets there. It stays strictly ahead of `e` (re-filed entries have new links) and
      // stops when they meet.
      if (back != nullptr && back != e && back->prev_ != e) {
        back = back->prev_;
        __builtin_prefetch(back);
      } else {
        back = nullptr;
      }
      Entry* next = e->next_;
      file(*e);
      e = next;
    }
  }
}

std::optional<std::uint64_t> TimerWheel::nextWakeTime() const {
  const Entry& expired = heads_[kExpiredList];
  if (expired.next_ != &expired) return now_;
  if (levelsOccupied_ == 0) return std::nullopt;
  const unsigned level = static_cast<unsigned>(std::countr_zero(levelsOccupied_));
  const unsigned index = static_cast<unsigned>(std::countr_zero(occupied_[level]));
  // The slot's own start would do, but a higher-level slot starts long before its entries are due;
  // the lowest due filed in it is still a lower bound, and usually the exact answer.
  return earliestFiled_[level * kSlotsPerLevel + index];
}

void TimerWheel::file(Entry& e) {
  std::uint16_t slot;
  if (e.due_ <= now_) {
    slot = kExpiredList;
  } else {
    // due_ > now_, so they differ and the highest differing bit is set in due_, clear in now_.
    const unsigned level = static_cast<unsigned>(std::bit_width(e.due_ ^ now_) - 1) / kBitsPerLevel;
    const unsigned index =
        static_cast<unsigned>(e.due_ >> (level * kBitsPerLevel)) & (kSlotsPerLevel - 1);
    const std::uint64_t bit = std::uint64_t{1} << index;
    slot = static_cast<std::uint16_t>(level * kSlotsPerLevel + index);
    if ((occupied_[level] & bit) == 0 || e.due_ < earliestFiled_[slot]) earliestFiled_[slot] = e.due_;
    occupied_[level] |= bit;
    levelsOccupied_ |= std::uint32_t{1} << level;
  }
  Entry& head = heads_[slot];
  Entry* tail = head.prev_;
  e.prev_ = tail;
  e.next_ = &head;
  e.slot_ = slot;
  tail->next_ = &e;
  head.prev_ = &e;
}

void TimerWheel::unlink(Entry& e) {
  Entry* prev = e.prev_;
  Entry* next = e.next_;
  prev->next_ = next;
  next->prev_ = prev;
  // In a circular list with a sentinel, prev == next only if e was its one entry (both are then
  // the head): the slot is now empty.
  if (prev == next && e.slot_ != kExpiredList) {
    const unsigned level = e.slot_ / kSlotsPerLevel;
    const unsigned index = e.slot_ % kSlotsPerLevel;
    occupied_[level] &= ~(std::uint64_t{1} << index);
    if (occupied_[level] == 0) levelsOccupied_ &= ~(std::uint32_t{1} << level);
  }
}

std::uint64_t TimerWheel::slotStart(unsigned level, unsigned index) const {
  const unsigned shift = level * kBitsPerLevel;
  // The bits above this level come from now_. The top level has none: its mask would need a
  // shift by 66, which is undefined, so it is spelled out.
  const std::uint64_t above =
      level + 1 < kLevels ? now_ & ~((std::uint64_t{1} << (shift + kBitsPerLevel)) - 1) : 0;
  return above | (std::uint64_t{index} << shift);
}

}  // namespace reactor
