#include "reactor/timers.h"

#include <utility>

namespace reactor {

namespace {
constexpr std::int64_t kMaxDelayMs = 2147483647;  // Node's TIMEOUT_MAX: 2^31 - 1
constexpr std::uint64_t kNsPerMs = 1'000'000;
}  // namespace

void Timeout::ref() {
  if (queue_ == nullptr) return;
  if (auto* record = queue_->find(*this)) queue_->setReferenced(*record, true);
}

void Timeout::unref() {
  if (queue_ == nullptr) return;
  if (auto* record = queue_->find(*this)) queue_->setReferenced(*record, false);
}

bool Timeout::hasRef() const {
  if (queue_ == nullptr) return false;
  const auto* record = queue_->find(*this);
  return record != nullptr && record->referenced;
}

Timeout& Timeout::refresh() {
  if (queue_ == nullptr) return *this;
  if (auto* record = queue_->find(*this)) queue_->arm(*record);
  return *this;
}

void Timeout::close() {
  if (queue_ != nullptr) queue_->clear(*this);
}

TimerQueue::TimerQueue(const std::uint64_t& nowNs) : nowNs_(nowNs), wheel_(nowNs / kNsPerMs) {}

std::int64_t TimerQueue::normalizeDelay(std::int64_t delayMs) {
  return delayMs >= 1 && delayMs <= kMaxDelayMs ? delayMs : 1;
}

Timeout TimerQueue::setTimeout(std::function<void()> callback, std::int64_t delayMs) {
  return add(std::move(callback), delayMs, false);
}

Timeout TimerQueue::setInterval(std::function<void()> callback, std::int64_t delayMs) {
  return add(std::move(callback), delayMs, true);
}

Timeout TimerQueue::add(std::function<void()> callback, std::int64_t delayMs, bool repeat) {
  std::uint32_t index;
  if (freeRecords_.empty()) {
    index = static_cast<std::uint32_t>(records_.size());
    Record& added = records_.emplace_back();
    added.index = index;
    added.queue = this;
  } else {
    index = freeRecords_.back();
    freeRecords_.pop_back();
  }
  Record& record = records_[index];
  record.callback = std::move(callback);
  record.delayMs = static_cast<std::uint64_t>(normalizeDelay(delayMs));
  record.repeat = repeat;
  record.referenced = true;
  record.inUse = true;
  arm(record);
  return Timeout(this, index, record.generation);
}

TimerQueue::Record* TimerQueue::find(const Timeout& timeout) {
  if (timeout.index_ >= records_.size()) return nullptr;
  Record& record = records_[timeout.index_];
  return record.inUse && record.generation == timeout.generation_ ? &record : nullptr;
}

const TimerQueue::Record* TimerQueue::find(const Timeout& timeout) const {
  return const_cast<TimerQueue*>(this)->find(timeout);
}

std::uint64_t TimerQueue::dueAfter(std::uint64_t delayMs) const {
  // Round up: the timer must not fire before delayMs has passed since nowNs_.
  return (nowNs_ + delayMs * kNsPerMs + kNsPerMs - 1) / kNsPerMs;
}

void TimerQueue::arm(Record& record) {
  if (!record.armed() && record.referenced) ++referenced_;
  wheel_.arm(record, dueAfter(record.delayMs));
}

void TimerQueue::arm(IntrusiveTimer& timer, std::int64_t delayMs) {
  wheel_.arm(timer, dueAfter(static_cast<std::uint64_t>(normalizeDelay(delayMs))));
}

void TimerQueue::cancel(IntrusiveTimer& timer) { wheel_.cancel(timer); }

void TimerQueue::disarm(Record& record) {
  if (!record.armed()) return;
  if (record.referenced) --referenced_;
  wheel_.cancel(record);
}

void TimerQueue::release(Record& record) {
  disarm(record);
  record.inUse = false;
  ++record.generation;
  freeRecords_.push_back(record.index);
  // Destroyed last: the callback's captures may own the object that cleared this timer.
  std::function<void()> dropped = std::move(record.callback);
}

void TimerQueue::clear(const Timeout& timeout) {
  if (timeout.queue_ != this) return;
  if (auto* record = find(timeout)) release(*record);
}

void TimerQueue::setReferenced(Record& record, bool referenced) {
  if (record.referenced == referenced) return;
  if (record.armed()) referenced ? ++referenced_ : --referenced_;
  record.referenced = referenced;
}

bool TimerQueue::runNextDue() {
  TimerWheel::Entry* entry = wheel_.popExpired(nowMs());
  if (entry == nullptr) return false;
  static_cast<IntrusiveTimer&>(*entry).expired();
  return true;
}

void TimerQueue::fire(Record& record) {
  if (record.referenced) --referenced_;
  // The callback runs from a local: it may clear this timer, which resets the record's callback.
  const std::uint32_t generation = record.generation;
  std::function<void()> callback = std::move(record.callback);
  // `record` stays valid (the deque never moves records); it is still ours if nobody cleared it.
  auto stillOurs = [&] { return record.inUse && record.generation == generation; };
  try {
    callback();
  } catch (...) {
    if (stillOurs()) release(record);
    throw;
  }
  if (!stillOurs()) return;
  if (record.repeat && !record.armed()) arm(record);
  if (record.armed()) {
    record.callback = std::move(callback);
  } else {
    release(record);
  }
}

void TimerQueue::dropCallbacks(std::vector<std::function<void()>>& dropped) {
  for (Record& record : records_) {
    if (!record.inUse) continue;
    dropped.push_back(std::move(record.callback));
    release(record);
  }
}

std::optional<std::uint64_t> TimerQueue::msUntilNextWake() const {
  auto wake = wheel_.nextWakeTime();
  if (!wake) return std::nullopt;
  std::uint64_t now = nowMs();
  return *wake > now ? *wake - now : 0;
}

}  // namespace reactor
