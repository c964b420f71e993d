// A loop torn down by its thread as soon as run() returns, when run() returned because of a
// callback another thread posted: that post() must be over by then. Were post() to release its
// mutex before calling the poller's wake(), the loop thread could take the callback in between,
// run it, return from run() and destroy the loop while the posting thread is about to call, or is
// inside, wake() on the destroyed poller: with epoll, a read of freed memory and an 8-byte write to
// a closed eventfd, or to whatever descriptor has reused its number by then (ThreadSanitizer saw
// it as a race between EpollPoller::wake() and ~EpollPoller()).
//
// The test makes the interleaving certain rather than lucky: its poller's wake() holds the posting
// thread until the poller is destroyed (or 500 ms pass), and records whether that happened. With
// the race closed (wake() called under the mutex, and ~Loop waiting for posts in flight), the loop
// cannot be destroyed while a wake() runs, the wait times out and the test passes.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "reactor/loop.h"

namespace reactor {
namespace {

using namespace std::chrono_literals;

// The platform's poller, except for wake(), which waits for the poller's destruction.
class HeldWakePoller final : public Poller {
 public:
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool destroyed = false;
    bool wakeOutlivedPoller = false;
  };

  explicit HeldWakePoller(std::shared_ptr<Shared> shared) : inner_(makeDefaultPoller()), shared_(std::move(shared)) {}
  ~HeldWakePoller() override {
    std::lock_guard lock(shared_->mutex);
    shared_->destroyed = true;
    shared_->changed.notify_all();
  }

  void setInterest(int fd, std::uint64_t token, std::uint8_t from, std::uint8_t to) override {
    inner_->setInterest(fd, token, from, to);
  }
  std::size_t wait(std::span<ReadyEvent> out, int timeoutMs) override { return inner_->wait(out, timeoutMs); }
  // The loop under test iterates on a timer, so it needs no wake-up: this only watches.
  void wake() override {
    const std::shared_ptr<Shared> shared = shared_;  // the poller may be gone when the wait ends
    std::unique_lock lock(shared->mutex);
    shared->changed.wait_for(lock, 500ms, [&] { return shared->destroyed; });
    shared->wakeOutlivedPoller = shared->destroyed;
  }
  const char* name() const override { return "held-wake"; }

 private:
  std::unique_ptr<Poller> inner_;
  std::shared_ptr<Shared> shared_;
};

TEST(LoopTeardown, PostIsOverBeforeTheLoopItStoppedCanBeDestroyed) {
  auto shared = std::make_shared<HeldWakePoller::Shared>();
  std::promise<Loop*> started;
  std::thread runner([&] {
    auto loop = std::make_unique<Loop>(std::make_unique<HeldWakePoller>(shared));
    {
      Loop::KeepAlive alive(*loop);
      loop->setInterval([] {}, 1);  // iterates every millisecond without a wake-up
      started.set_value(loop.get());
      loop->run();
    }
    loop.reset();  // as a thread does when its loop has stopped
  });
  Loop* loop = started.get_future().get();
  loop->post([loop] { loop->stop(); });
  runner.join();
  EXPECT_FALSE(shared->wakeOutlivedPoller)
      << "Loop::post() was still inside wake() when the loop it posted to had been destroyed";
}

}  // namespace
}  // namespace reactor
