// Loop micro-benchmarks: the fixed cost of an iteration with nothing to do, of dispatching a
// ready descriptor, and of post() from another thread (throughput of the cross-thread queue).
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "reactor/loop.h"

namespace {

using reactor::Loop;

void BM_Loop_EmptyIteration(benchmark::State& state) {
  Loop loop;
  Loop::KeepAlive hold(loop);
  loop.setImmediate([] {});  // so that the first poll does not block
  for (auto _ : state) {
    loop.setImmediate([] {});
    loop.runOnce();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Loop_EmptyIteration);

struct CountingHandler : reactor::IoHandler {
  std::int64_t calls = 0;
  void onReady(std::uint8_t) override { ++calls; }
};

// One always-readable descriptor: the cost of poll + dispatch of one event, per iteration.
void BM_Loop_ReadyDescriptorDispatch(benchmark::State& state) {
  Loop loop;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0)
    state.SkipWithError("socketpair");
  CountingHandler handler;
  loop.watch(fds[0], handler);
  loop.setInterest(fds[0], reactor::kWantRead);
  [[maybe_unused]] ssize_t n = write(fds[1], "x", 1);
  for (auto _ : state) loop.runOnce();
  loop.unwatch(fds[0]);
  close(fds[0]);
  close(fds[1]);
  state.SetItemsProcessed(handler.calls);
}
BENCHMARK(BM_Loop_ReadyDescriptorDispatch);

// Another thread posts as fast as it can; the loop thread runs them. Items: posts delivered.
void BM_Loop_PostThroughput(benchmark::State& state) {
  constexpr std::int64_t kBatch = 100'000;
  for (auto _ : state) {
    Loop loop;
    std::int64_t received = 0;
    auto hold = std::make_unique<Loop::KeepAlive>(loop);
    std::thread poster([&] {
      for (std::int64_t i = 0; i < kBatch; ++i) {
        loop.post([&] {
          if (++received == kBatch) hold.reset();
        });
      }
    });
    loop.run();
    poster.join();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Loop_PostThroughput)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
