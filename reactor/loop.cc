#include "reactor/loop.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace reactor {

namespace {

constexpr std::size_t kReadyEventsPerPoll = 1024;

std::uint64_t monotonicNowNs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// Finds the queued immediate with this id in a queue ordered by id.
std::function<void()>* findImmediate(auto& queue, std::uint64_t id) {
  auto it = std::lower_bound(queue.begin(), queue.end(), id,
                             [](const auto& queued, std::uint64_t wanted) { return queued.id < wanted; });
  return it != queue.end() && it->id == id ? &it->fn : nullptr;
}

}  // namespace

Loop::Loop(std::unique_ptr<Poller> poller)
    : poller_(std::move(poller)), nowNs_(monotonicNowNs()), timers_(nowNs_),
      readyEvents_(kReadyEventsPerPoll), workerLink_(std::make_shared<WorkerLink>()) {
  if (!poller_) throw std::invalid_argument("reactor::Loop needs a poller");
  workerLink_->loop = this;
}

Loop::~Loop() {
  {
    std::lock_guard cutOffWorkers(workerLink_->mutex);
    workerLink_->loop = nullptr;
  }
  { std::lock_guard waitForPostsInFlight(postMutex_); }
  closeHandlers();
  dropPendingCallbacks();
}

void Loop::closeHandlers() {
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) {
    IoHandler* handler = fds_[fd].handler;
    if (handler == nullptr) continue;
    handler->onLoopClosing();
    if (fds_[fd].handler == handler) unwatch(static_cast<int>(fd));
  }
}

// Destroying a callback may release the last reference to an object (a socket) whose destructor
// calls back into the loop, so the loop is still whole while they go, and it repeats until nothing
// is left.
void Loop::dropPendingCallbacks() {
  while (true) {
    std::vector<std::function<void()>> dropped;
    for (auto& fn : ticks_) dropped.push_back(std::move(fn));
    ticks_.clear();
    for (auto* queue : {&immediates_, &runningImmediates_}) {
      for (auto& immediate : *queue) dropped.push_back(std::move(immediate.fn));
      queue->clear();
    }
    liveImmediates_ = 0;
    for (auto& fn : posted_) dropped.push_back(std::move(fn));
    posted_.clear();
    for (auto& fn : runningPosted_) dropped.push_back(std::move(fn));
    runningPosted_.clear();
    for (auto& [id, completion] : offloaded_) dropped.push_back(std::move(completion));
    offloaded_.clear();
    timers_.dropCallbacks(dropped);
    if (dropped.empty()) return;
  }
}

Loop& Loop::forThisThread() {
  thread_local Loop loop;
  return loop;
}

void Loop::updateTime() { nowNs_ = monotonicNowNs(); }

bool Loop::alive() const {
  if (referencedFds_ > 0 || keepAlives_ > 0 || timers_.referencedCount() > 0 || liveImmediates_ > 0 ||
      !ticks_.empty() || !offloaded_.empty()) {
    return true;
  }
  std::lock_guard lock(postMutex_);
  return !posted_.empty();
}

void Loop::throwIfRunning() const {
  if (running_) throw std::logic_error("reactor::Loop: run() or runOnce() called from a callback");
}

void Loop::run() {
  throwIfRunning();
  while (!stopRequested_ && alive()) runOnce();
  stopRequested_ = false;
}

bool Loop::runOnce() {
  throwIfRunning();
  running_ = true;
  struct NotRunning {
    bool& running;
    ~NotRunning() { running = false; }
  } notRunning{running_};
  // Ticks queued outside any callback (before the loop ran) are work done: the poll then only
  // looks, so that runOnce() returns to a caller that waits for what they did.
  const bool ranTicks = !ticks_.empty();
  runTicks();
  poll(ranTicks ? 0 : pollTimeoutMs());
  runPosted();
  runTimers();
  runImmediates();
  return alive();
}

void Loop::stop() { stopRequested_ = true; }

int Loop::pollTimeoutMs() const {
  if (stopRequested_ || liveImmediates_ > 0 || !alive()) return 0;
  auto untilTimer = timers_.msUntilNextWake();
  if (!untilTimer) return -1;
  return static_cast<int>(std::min<std::uint64_t>(*untilTimer, INT_MAX));
}

void Loop::runTimers() {
  while (true) {
    bool ran = false;
    runCallback([&] { ran = timers_.runNextDue(); });
    if (!ran) break;
  }
}

void Loop::poll(int timeoutMs) {
  std::size_t count = poller_->wait(readyEvents_, timeoutMs);
  updateTime();
  for (std::size_t i = 0; i < count; ++i) {
    const ReadyEvent event = readyEvents_[i];
    const auto fd = static_cast<std::uint32_t>(event.token);
    const auto generation = static_cast<std::uint32_t>(event.token >> 32);
    if (fd >= fds_.size()) continue;
    FdSlot& current = fds_[fd];
    // A mismatch means the descriptor was unwatched (and maybe reused) earlier in this batch.
    if (current.handler == nullptr || current.generation != generation) continue;
    const std::uint8_t ready = event.flags & (current.interest | kPeerClosed | kError);
    if (ready == 0) continue;
    runCallback([&] { current.handler->onReady(ready); });
  }
}

void Loop::post(std::function<void()> fn) {
  // wake() runs under the lock: once the loop thread has taken `fn`, run it and returned from
  // run(), its owner may destroy the loop, and ~Loop takes this lock first, so no wake() can still
  // be on its way to a destroyed poller.
  std::lock_guard lock(postMutex_);
  posted_.push_back(std::move(fn));
  if (!std::exchange(wakePending_, true)) poller_->wake();
}

void Loop::runPosted() {
  {
    std::lock_guard lock(postMutex_);
    if (posted_.empty()) return;
    std::move(posted_.begin(), posted_.end(), std::back_inserter(runningPosted_));
    posted_.clear();
    wakePending_ = false;
  }
  while (!runningPosted_.empty()) {
    std::function<void()> fn = std::move(runningPosted_.front());
    runningPosted_.pop_front();
    runCallback(fn);
  }
}

void Loop::completeOffload(std::uint64_t id) {
  auto found = offloaded_.find(id);
  std::function<void()> completion = std::move(found->second);
  offloaded_.erase(found);
  completion();
}

void Loop::nextTick(std::function<void()> fn) { ticks_.push_back(std::move(fn)); }

void Loop::runTicks() {
  while (!ticks_.empty()) {
    std::function<void()> fn = std::move(ticks_.front());
    ticks_.pop_front();
    fn();
  }
}

Immediate Loop::setImmediate(std::function<void()> fn) {
  std::uint64_t id = nextImmediateId_++;
  immediates_.push_back({id, std::move(fn)});
  ++liveImmediates_;
  return Immediate(id);
}

void Loop::clearImmediate(const Immediate& immediate) {
  auto* fn = findImmediate(runningImmediates_, immediate.id_);
  if (fn == nullptr) fn = findImmediate(immediates_, immediate.id_);
  if (fn == nullptr || !*fn) return;
  *fn = nullptr;
  --liveImmediates_;
}

void Loop::runImmediates() {
  // Immediates queued while this phase runs wait for the next iteration, as in Node. Those left
  // over by a callback that threw are older than any queued since, so they stay in front.
  if (runningImmediates_.empty()) {
    runningImmediates_.swap(immediates_);
  } else {
    std::move(immediates_.begin(), immediates_.end(), std::back_inserter(runningImmediates_));
    immediates_.clear();
  }
  while (!runningImmediates_.empty()) {
    std::function<void()> fn = std::move(runningImmediates_.front().fn);
    runningImmediates_.pop_front();
    if (!fn) continue;
    --liveImmediates_;
    runCallback(fn);
  }
}

Loop::FdSlot& Loop::slot(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size() ||
      fds_[static_cast<std::size_t>(fd)].handler == nullptr) {
    throw std::invalid_argument("reactor::Loop: descriptor " + std::to_string(fd) + " is not watched");
  }
  return fds_[static_cast<std::size_t>(fd)];
}

bool Loop::watching(int fd) const {
  return fd >= 0 && static_cast<std::size_t>(fd) < fds_.size() &&
         fds_[static_cast<std::size_t>(fd)].handler != nullptr;
}

void Loop::watch(int fd, IoHandler& handler) {
  if (fd < 0) throw std::invalid_argument("reactor::Loop: negative descriptor");
  if (watching(fd)) throw std::logic_error("reactor::Loop: descriptor " + std::to_string(fd) + " is watched already");
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 1);
  FdSlot& watched = fds_[static_cast<std::size_t>(fd)];
  watched.handler = &handler;
  watched.interest = kNoInterest;
  watched.referenced = true;
  ++referencedFds_;
}

void Loop::setInterest(int fd, std::uint8_t interest) {
  FdSlot& watched = slot(fd);
  if (watched.interest == interest) return;
  poller_->setInterest(fd, token(fd, watched.generation), watched.interest, interest);
  watched.interest = interest;
}

void Loop::setReferenced(int fd, bool referenced) {
  FdSlot& watched = slot(fd);
  if (watched.referenced == referenced) return;
  watched.referenced = referenced;
  referenced ? ++referencedFds_ : --referencedFds_;
}

void Loop::unwatch(int fd) {
  FdSlot& watched = slot(fd);
  const FdSlot old = watched;
  if (old.referenced) --referencedFds_;
  // The slot is forgotten before the kernel is told, so that it stays consistent if that throws.
  watched = FdSlot{nullptr, old.generation + 1, kNoInterest, false};
  if (old.interest != kNoInterest) {
    poller_->setInterest(fd, token(fd, old.generation), old.interest, kNoInterest);
  }
}

}  // namespace reactor
