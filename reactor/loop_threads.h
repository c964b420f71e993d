// reactor::LoopThreads: N threads, each running its own loop, for a program that uses more than
// one core (a loop per core, as libuv programs, Asio's io_context per thread and muduo's loop
// thread pool do).
//
// Each thread's loop is its default loop, Loop::forThisThread(): inside a callback posted to a
// thread, net::createServer() and net::createConnection() without a loop argument land on that
// thread's loop. Each loop holds a Loop::KeepAlive until stop(), so an idle thread waits for work
// instead of returning.
//
//   reactor::LoopThreads threads(4);
//   for (std::size_t i = 0; i < threads.size(); ++i)
//     threads.post(i, [] { net::createServer(serve)->listen({.port = 3000, .reusePort = true}); });
//   ...
//   threads.stop();  // once the servers are closed: each loop finishes its work, threads joined
//
// Stopping: stop() releases every keep-alive, so each loop's run() returns once nothing referenced
// is left on it, as a Node process exits when its last handle closes; stop() then joins every
// thread. So close what runs on the loops first (servers, connections), or stop() waits for it.
// No loop is destroyed before every loop's run() has returned, so a callback on one loop may post
// to another until the end; a callback posted to a loop whose run() has returned is destroyed
// without running (let what it captures own its resources, so nothing leaks).
//
// Threading: post(), loop() and size() may be called from any thread; stop() from one thread at a
// time, and not from one of the pool's own threads (it would join itself: std::logic_error). A Loop& from loop() is valid
// until stop() returns and, as any loop, may only be used on its own thread, except its post().
// An exception that escapes a callback ends the program (std::terminate), as an uncaught exception
// ends a Node process.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "reactor/loop.h"

namespace reactor {

class LoopThreads {
 public:
  // Starts `count` threads and returns once each one's loop is running. Throws
  // std::invalid_argument for 0.
  explicit LoopThreads(std::size_t count);
  ~LoopThreads();  // stop()
  LoopThreads(const LoopThreads&) = delete;
  LoopThreads& operator=(const LoopThreads&) = delete;

  std::size_t size() const { return workers_.size(); }
  Loop& loop(std::size_t index) const;
  std::vector<Loop*> loops() const;  // every thread's loop, in index order
  // Runs `fn` on thread `index`'s loop (Loop::post()). Throws std::out_of_range for a bad index.
  void post(std::size_t index, std::function<void()> fn) const { loop(index).post(std::move(fn)); }

  // Lets every loop finish its work, then joins the threads (see above). Later calls do nothing.
  void stop();

 private:
  struct Worker;
  std::vector<std::unique_ptr<Worker>> workers_;
  struct Shared;
  std::unique_ptr<Shared> shared_;
  bool stopped_ = false;
};

}  // namespace reactor
