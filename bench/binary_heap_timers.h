// A binary min-heap timer queue: the baseline that bench/timer_wheel_bench.cc measures the wheel
// against. It is not part of the library.
//
// What it is: the structure libuv (and many other loops) keep their timers in, a binary heap
// ordered by (due, arm sequence), so that equal dues come out in arm order as they do from the
// wheel. This one is an array of pointers to intrusive entries, each entry holding its own index in
// the array: insert, remove-any and pop-min are O(log n) sift-ups and sift-downs, and remove-any
// finds its entry in O(1) through the index. libuv links its heap nodes with parent/child pointers
// instead, which walks O(log n) pointers on every insert even when nothing moves; the array form is
// the stronger baseline, so the comparison does not flatter the wheel.
//
// Why it is here: to check, with numbers, the claim in reactor/timer_wheel.h that the wheel is the
// better choice at the timer counts a server reaches (10^5 to 10^6 idle-connection timeouts), and
// to notice if a change to the wheel ever loses that.
//
// Interface shape: as TimerWheel (arm, cancel, popExpired(now), nextWakeTime, now, size), so the
// benchmarks are written once for both. One difference: an entry armed with a due already past
// comes out ahead of entries due at now() (the wheel treats it as due at now()). The array grows
// with std::vector: call reserve() first if allocation must stay out of a measurement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace bench {

class BinaryHeapTimers {
 public:
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    bool armed() const { return index_ != kNotInHeap; }
    std::uint64_t due() const { return due_; }

   private:
    friend class BinaryHeapTimers;
    static constexpr std::size_t kNotInHeap = static_cast<std::size_t>(-1);

    std::uint64_t due_ = 0;
    std::uint64_t sequence_ = 0;  // tie-break: arm order
    std::size_t index_ = kNotInHeap;
  };

  explicit BinaryHeapTimers(std::uint64_t now = 0) : now_(now) {}
  ~BinaryHeapTimers() {
    for (Entry* e : heap_) e->index_ = Entry::kNotInHeap;
  }
  BinaryHeapTimers(const BinaryHeapTimers&) = delete;
  BinaryHeapTimers& operator=(const BinaryHeapTimers&) = delete;

  void reserve(std::size_t n) { heap_.reserve(n); }

  // Files `e` at `due`, or moves it there if already armed. O(log n).
  void arm(Entry& e, std::uint64_t due) {
    const bool wasArmed = e.armed();
    const std::uint64_t oldDue = e.due_;
    e.due_ = due;
    e.sequence_ = sequence_++;
    if (!wasArmed) {
      e.index_ = heap_.size();
      heap_.push_back(&e);
      siftUp(e.index_);
    } else if (due < oldDue) {
      siftUp(e.index_);
    } else {
      siftDown(e.index_);  // a later due, or the same one with a later sequence
    }
  }

  // Unfiles `e`; no-op if not armed. O(log n).
  void cancel(Entry& e) {
    if (!e.armed()) return;
    const std::size_t i = e.index_;
    Entry* last = heap_.back();
    heap_.pop_back();
    e.index_ = Entry::kNotInHeap;
    if (last == &e) return;
    place(last, i);
    // The moved entry may belong above or below its new position.
    if (i > 0 && less(last, heap_[parent(i)])) {
      siftUp(i);
    } else {
      siftDown(i);
    }
  }

  // Advances time towards `now` (never backwards) and returns the next entry due at or before it,
  // removed from the heap, or nullptr. O(log n) per entry returned.
  Entry* popExpired(std::uint64_t now) {
    if (now > now_) now_ = now;
    if (heap_.empty() || heap_.front()->due_ > now_) return nullptr;
    Entry* top = heap_.front();
    cancel(*top);
    return top;
  }

  std::optional<std::uint64_t> nextWakeTime() const {
    if (heap_.empty()) return std::nullopt;
    const std::uint64_t due = heap_.front()->due_;
    return due > now_ ? due : now_;
  }

  std::uint64_t now() const { return now_; }
  std::size_t size() const { return heap_.size(); }

 private:
  static std::size_t parent(std::size_t i) { return (i - 1) / 2; }

  static bool less(const Entry* a, const Entry* b) {
    return a->due_ < b->due_ || (a->due_ == b->due_ && a->sequence_ < b->sequence_);
  }

  void place(Entry* e, std::size_t i) {
    heap_[i] = e;
    e->index_ = i;
  }

  void siftUp(std::size_t i) {
    Entry* e = heap_[i];
    while (i > 0) {
      const std::size_t p = parent(i);
      if (!less(e, heap_[p])) break;
      place(heap_[p], i);
      i = p;
    }
    place(e, i);
  }

  void siftDown(std::size_t i) {
    Entry* e = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], e)) break;
      place(heap_[child], i);
      i = child;
    }
    place(e, i);
  }

  std::vector<Entry*> heap_;
  std::uint64_t now_;
  std::uint64_t sequence_ = 0;
};

}  // namespace bench
