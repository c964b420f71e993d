// The timer wheel against a binary heap (bench/binary_heap_timers.h) at 1k, 100k and 1M live
// timers. Each benchmark starts from `live` timers armed at random dues in [1 ms, 60 s] (fixed
// seed) and keeps them live:
//   ArmCancel  per iteration: arm one extra timer at a random due in [1 ms, 60 s], cancel it.
//   ReArm      per iteration: move a random live timer to a new random due in [1 ms, 60 s].
//   ArmExpire  per iteration: arm a short timer due in 1..64 ms, advance time by 1 ms and pop what
//              is due: the short timers and the live timers' share of expirations, each of the
//              latter re-armed 60 s ahead, like a server's idle timeout. As the live timers
//              start uniform over 60 s, that keeps their expiration rate steady at live / 60,000
//              per ms from the first iteration, whatever the iteration count. Items are
//              expirations.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/binary_heap_timers.h"
#include "reactor/timer_wheel.h"
#include "tests/splitmix64.h"

namespace {

constexpr std::uint64_t kSeed = 0x7E57'0F'7133'0001ull;
constexpr std::uint64_t kMaxDelayMs = 60'000;

// splitmix64 is cheap next to the operations measured, and the same seed gives both queues the
// same stream.
using Rng = reactor::testing_support::SplitMix64;

std::uint64_t randomDelay(Rng& rng) {
  return 1 + rng.below(kMaxDelayMs);
}

// `live` entries armed at random dues, plus `spare` unarmed ones, allocated once per run.
template <class Queue>
struct Timers {
  using Entry = typename Queue::Entry;

  Timers(std::size_t live, std::size_t spare) : rng(kSeed), entries(live + spare) {
    if constexpr (requires(Queue & q) { q.reserve(live); }) queue.reserve(live + spare);
    for (std::size_t i = 0; i < live; ++i) queue.arm(entries[i], randomDelay(rng));
  }

  Rng rng;
  std::vector<Entry> entries;  // before the queue: the queue goes first and unlinks them
  Queue queue;
};

template <class Queue>
void armCancel(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  Timers<Queue> t(live, 1);
  auto& extra = t.entries[live];
  for (auto _ : state) {
    t.queue.arm(extra, t.queue.now() + randomDelay(t.rng));
    t.queue.cancel(extra);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Queue>
void reArm(benchmark::State& state) {
  const auto live = static_cast<std::size_t>(state.range(0));
  Timers<Queue> t(live, 0);
  for (auto _ : state) {
    auto& e = t.entries[t.rng.below(live)];
    t.queue.arm(e, t.queue.now() + randomDelay(t.rng));
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Queue>
void armExpire(benchmark::State& state) {
  constexpr std::size_t kShort = 128;  // reused round robin: each has expired long before reuse
  const auto live = static_cast<std::size_t>(state.range(0));
  Timers<Queue> t(live, kShort);
  std::uint64_t now = t.queue.now();
  std::size_t nextShort = 0;
  std::int64_t expired = 0;
  for (auto _ : state) {
    t.queue.arm(t.entries[live + nextShort], now + 1 + t.rng.below(64));
    nextShort = (nextShort + 1) % kShort;
    ++now;
    while (auto* e = t.queue.popExpired(now)) {
      ++expired;
      const auto index = static_cast<std::size_t>(e - t.entries.data());
      if (index < live) t.queue.arm(*e, now + kMaxDelayMs);
    }
  }
  state.SetItemsProcessed(expired);
  state.counters["expired_per_ms"] =
      benchmark::Counter(static_cast<double>(expired) / static_cast<double>(state.iterations()));
}

using bench::BinaryHeapTimers;
using reactor::TimerWheel;

void BM_Wheel_ArmCancel(benchmark::State& state) {
  armCancel<TimerWheel>(state);
}
void BM_Heap_ArmCancel(benchmark::State& state) {
  armCancel<BinaryHeapTimers>(state);
}
void BM_Wheel_ReArm(benchmark::State& state) {
  reArm<TimerWheel>(state);
}
void BM_Heap_ReArm(benchmark::State& state) {
  reArm<BinaryHeapTimers>(state);
}
void BM_Wheel_ArmExpire(benchmark::State& state) {
  armExpire<TimerWheel>(state);
}
void BM_Heap_ArmExpire(benchmark::State& state) {
  armExpire<BinaryHeapTimers>(state);
}

#define TIMER_COUNTS Arg(1'000)->Arg(100'000)->Arg(1'000'000)
BENCHMARK(BM_Wheel_ArmCancel)->TIMER_COUNTS;
BENCHMARK(BM_Heap_ArmCancel)->TIMER_COUNTS;
BENCHMARK(BM_Wheel_ReArm)->TIMER_COUNTS;
BENCHMARK(BM_Heap_ReArm)->TIMER_COUNTS;
BENCHMARK(BM_Wheel_ArmExpire)->TIMER_COUNTS;
BENCHMARK(BM_Heap_ArmExpire)->TIMER_COUNTS;

}  // namespace

BENCHMARK_MAIN();
