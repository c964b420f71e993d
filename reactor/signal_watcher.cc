#include "reactor/signal_watcher.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace reactor {

// One per loop with watchers: the pipe the handler writes to, and the loop's watchers.
class SignalChannel final : private IoHandler, public std::enable_shared_from_this<SignalChannel> {
 public:
  // The channel of `loop`, created on first use.
  static std::shared_ptr<SignalChannel> of(Loop& loop);

  explicit SignalChannel(Loop& loop);
  ~SignalChannel();
  SignalChannel(const SignalChannel&) = delete;
  SignalChannel& operator=(const SignalChannel&) = delete;

  void add(SignalWatcher& watcher);
  void remove(SignalWatcher& watcher);
  void referenceChanged(bool referenced);

  // Called by the signal handler, with the handler lock held: async-signal-safe.
  void deliver(int signo);

 private:
  void onReady(std::uint8_t ready) override;
  void dispatch(int signo);
  void updateReferenced();

  Loop& loop_;
  int readFd_ = -1;
  int writeFd_ = -1;
  // Read by the handler; written with the handler lock held.
  std::uint32_t watching_[NSIG] = {};
  std::atomic<std::uint32_t> caught_[NSIG] = {};
  // Loop thread only. Entries of watchers stopped during a dispatch become null until it ends.
  std::vector<SignalWatcher*> watchers_;
  std::size_t referencedWatchers_ = 0;
  bool dispatching_ = false;
};

namespace {

// What the handler reads: the channels of every loop. Writers hold the handler lock with every
// signal blocked in their thread, so no handler can interrupt them and spin on it forever; the
// handler runs with every signal blocked too (sa_mask), so handlers never nest.
std::atomic_flag handlerLock = ATOMIC_FLAG_INIT;
std::vector<SignalChannel*> handlerChannels;

class HandlerLock {
 public:
  HandlerLock() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
    while (handlerLock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~HandlerLock() {
    handlerLock.clear(std::memory_order_release);
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  HandlerLock(const HandlerLock&) = delete;
  HandlerLock& operator=(const HandlerLock&) = delete;

 private:
  sigset_t saved_;
};

void onSignal(int signo) {
  const int savedErrno = errno;
  while (handlerLock.test_and_set(std::memory_order_acquire)) {
  }
  for (SignalChannel* channel : handlerChannels) channel->deliver(signo);
  handlerLock.clear(std::memory_order_release);
  errno = savedErrno;
}

// The rest of the process-wide state, touched only outside handlers, under registryMutex (taken
// before the handler lock when both are needed).
struct Disposition {
  std::size_t watchers = 0;
  struct sigaction previous {};
};
std::mutex registryMutex;
std::unordered_map<Loop*, std::weak_ptr<SignalChannel>> channelsByLoop;
Disposition dispositions[NSIG];

std::string describe(int signo) {
  if (signo == SIGKILL) return "SIGKILL";
  if (signo == SIGSTOP) return "SIGSTOP";
  return "signal " + std::to_string(signo);
}

void validate(int signo) {
  if (signo < 1 || signo >= NSIG) {
    throw std::invalid_argument("reactor::SignalWatcher: " + std::to_string(signo) + " is not a signal number (1.." +
                                std::to_string(NSIG - 1) + ")");
  }
  if (signo == SIGKILL || signo == SIGSTOP) {
    throw std::invalid_argument("reactor::SignalWatcher: " + describe(signo) + " cannot be caught or watched");
  }
}

// Installs the handler for the first watcher of `signo` in the process. registryMutex held.
void addDisposition(int signo) {
  Disposition& disposition = dispositions[signo];
  if (disposition.watchers == 0) {
    struct sigaction action {};
    action.sa_handler = onSignal;
    sigfillset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signo, &action, &disposition.previous) != 0) {
      throw std::invalid_argument("reactor::SignalWatcher: " + describe(signo) + " cannot be watched (the system "
                                  "refuses a handler for it)");
    }
  }
  ++disposition.watchers;
}

// Restores the previous disposition when the last watcher of `signo` goes. registryMutex held.
void removeDisposition(int signo) {
  Disposition& disposition = dispositions[signo];
  if (--disposition.watchers == 0) sigaction(signo, &disposition.previous, nullptr);
}

}  // namespace

// --- the channel ----------------------------------------------------------------------------------

std::shared_ptr<SignalChannel> SignalChannel::of(Loop& loop) {
  std::lock_guard lock(registryMutex);
  std::weak_ptr<SignalChannel>& known = channelsByLoop[&loop];
  std::shared_ptr<SignalChannel> channel = known.lock();
  if (!channel) {
    channel = std::make_shared<SignalChannel>(loop);
    known = channel;
  }
  return channel;
}

SignalChannel::SignalChannel(Loop& loop) : loop_(loop) {
  int ends[2];
  if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  readFd_ = ends[0];
  writeFd_ = ends[1];
  loop_.watch(readFd_, *this);
  loop_.setReferenced(readFd_, false);  // until a referenced watcher comes
  loop_.setInterest(readFd_, kWantRead);
  HandlerLock lock;
  handlerChannels.push_back(this);
}

SignalChannel::~SignalChannel() {
  {
    std::lock_guard lock(registryMutex);
    // The entry is this channel's: another could only replace it on this loop's thread, after this.
    channelsByLoop.erase(&loop_);
    HandlerLock handlerLocked;
    std::erase(handlerChannels, this);
  }
  loop_.unwatch(readFd_);
  ::close(readFd_);
  ::close(writeFd_);
}

void SignalChannel::add(SignalWatcher& watcher) {
  {
    std::lock_guard lock(registryMutex);
    addDisposition(watcher.signo_);
    HandlerLock handlerLocked;
    ++watching_[watcher.signo_];
  }
  watchers_.push_back(&watcher);
  if (watcher.referenced_) ++referencedWatchers_;
  updateReferenced();
}

void SignalChannel::remove(SignalWatcher& watcher) {
  {
    std::lock_guard lock(registryMutex);
    {
      HandlerLock handlerLocked;
      --watching_[watcher.signo_];
    }
    removeDisposition(watcher.signo_);
  }
  auto it = std::find(watchers_.begin(), watchers_.end(), &watcher);
  if (dispatching_) {
    *it = nullptr;  // compacted when the dispatch ends: its indices stay valid meanwhile
  } else {
    watchers_.erase(it);
  }
  if (watcher.referenced_) --referencedWatchers_;
  updateReferenced();
}

void SignalChannel::referenceChanged(bool referenced) {
  referenced ? ++referencedWatchers_ : --referencedWatchers_;
  updateReferenced();
}

void SignalChannel::updateReferenced() { loop_.setReferenced(readFd_, referencedWatchers_ > 0); }

void SignalChannel::deliver(int signo) {
  if (watching_[signo] == 0) return;
  caught_[signo].fetch_add(1, std::memory_order_relaxed);
  const char byte = 0;
  // A full pipe already holds a wake-up; the count carries the delivery.
  [[maybe_unused]] const ssize_t written = ::write(writeFd_, &byte, 1);
}

void SignalChannel::onReady(std::uint8_t) {
  // The last watcher may go in a callback: the channel outlives this dispatch.
  std::shared_ptr<SignalChannel> self = shared_from_this();
  // Drained before the counts are read: a delivery in between is counted now and wakes the loop
  // once more for nothing, rather than being counted with no wake-up left to report it.
  char drained[64];
  while (::read(readFd_, drained, sizeof drained) > 0) {
  }
  struct Dispatching {
    SignalChannel& channel;
    explicit Dispatching(SignalChannel& c) : channel(c) { channel.dispatching_ = true; }
    ~Dispatching() {
      channel.dispatching_ = false;
      std::erase(channel.watchers_, nullptr);
    }
  } dispatching(*this);
  for (int signo = 1; signo < NSIG; ++signo) {
    // One at a time, so that an exception leaves the deliveries it did not reach counted.
    while (caught_[signo].load(std::memory_order_relaxed) > 0) {
      caught_[signo].fetch_sub(1, std::memory_order_relaxed);
      dispatch(signo);
    }
  }
}

void SignalChannel::dispatch(int signo) {
  // Watchers added by a callback are past `count`: they wait for the next delivery.
  const std::size_t count = watchers_.size();
  for (std::size_t i = 0; i < count; ++i) {
    SignalWatcher* watcher = watchers_[i];
    if (watcher != nullptr && watcher->signo_ == signo) watcher->callback_(signo);
  }
}

// --- the watcher ----------------------------------------------------------------------------------

SignalWatcher::SignalWatcher(Loop& loop, int signo, Callback callback)
    : signo_(signo), callback_(std::move(callback)) {
  validate(signo);
  std::shared_ptr<SignalChannel> channel = SignalChannel::of(loop);
  channel->add(*this);
  channel_ = std::move(channel);
}

SignalWatcher::~SignalWatcher() { stop(); }

void SignalWatcher::stop() {
  if (!channel_) return;
  std::shared_ptr<SignalChannel> channel = std::move(channel_);
  channel->remove(*this);
}

SignalWatcher& SignalWatcher::ref() {
  if (!referenced_ && channel_) channel_->referenceChanged(true);
  referenced_ = true;
  return *this;
}

SignalWatcher& SignalWatcher::unref() {
  if (referenced_ && channel_) channel_->referenceChanged(false);
  referenced_ = false;
  return *this;
}

}  // namespace reactor
