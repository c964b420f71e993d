#include "reactor/loop_threads.h"

#include <latch>
#include <stdexcept>
#include <string>
#include <thread>

namespace reactor {

struct LoopThreads::Worker {
  std::thread thread;
  Loop* loop = nullptr;
  Loop::KeepAlive keepAlive;  // touched on the worker's thread only
};

struct LoopThreads::Shared {
  explicit Shared(std::size_t count) : running(static_cast<std::ptrdiff_t>(count)),
                                       returned(static_cast<std::ptrdiff_t>(count)) {}
  std::latch running;   // every loop exists and holds its keep-alive
  std::latch returned;  // every run() has returned: from then on no loop posts to another
};

LoopThreads::LoopThreads(std::size_t count) {
  if (count == 0) throw std::invalid_argument("reactor::LoopThreads: the thread count must be at least 1");
  shared_ = std::make_unique<Shared>(count);
  workers_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->thread = std::thread([worker = worker.get(), shared = shared_.get()] {
      Loop& loop = Loop::forThisThread();
      worker->loop = &loop;
      worker->keepAlive = Loop::KeepAlive(loop);
      shared->running.count_down();
      loop.run();
      // The loop is destroyed when this thread exits; the others may still post to it until then.
      shared->returned.arrive_and_wait();
    });
    workers_.push_back(std::move(worker));
  }
  shared_->running.wait();
}

LoopThreads::~LoopThreads() { stop(); }

Loop& LoopThreads::loop(std::size_t index) const {
  if (index >= workers_.size()) {
    throw std::out_of_range("reactor::LoopThreads: no loop " + std::to_string(index) + " of " +
                            std::to_string(workers_.size()));
  }
  return *workers_[index]->loop;
}

std::vector<Loop*> LoopThreads::loops() const {
  std::vector<Loop*> all;
  for (const auto& worker : workers_) all.push_back(worker->loop);
  return all;
}

void LoopThreads::stop() {
  if (stopped_) return;
  for (const auto& worker : workers_) {
    if (worker->thread.get_id() == std::this_thread::get_id()) {
      throw std::logic_error("reactor::LoopThreads: stop() called from one of its own threads");
    }
  }
  stopped_ = true;
  for (const auto& worker : workers_) {
    worker->loop->post([worker = worker.get()] { worker->keepAlive.reset(); });
  }
  for (const auto& worker : workers_) worker->thread.join();
}

}  // namespace reactor
