// Through the chaos proxy (tests/chaos_proxy.h) to the echo-server tool (a child process): 200
// connections send seeded random bytes in writes of random sizes while the proxy fragments them
// down to single bytes, delays and coalesces them, and resets a tenth of the connections at a
// random point. Every connection the proxy leaves alone must deliver every byte, in order; every
// connection it resets must fail cleanly: one 'error' (ECONNRESET, or EPIPE if a write meets the
// reset first), then 'close(true)', and nothing after. Which connections are reset is fixed by the
// seed, so the outcome of each connection is known in advance and the counts must add up.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "reactor/loop.h"
#include "tests/chaos_proxy.h"
#include "tests/child_process.h"
#include "tests/echo_check_client.h"
#include "tests/poll_until.h"
#include "tools/common/process_stats.h"

namespace reactor::testing_support {
namespace {

using ::testing_support::ChildProcess;
using ::testing_support::Clock;
using ::testing_support::siblingBinary;
using tools::openDescriptorCount;

constexpr std::size_t kConnections = 200;
constexpr std::size_t kBytesPerConnection = 128 * 1024;

TEST(ChaosProxyTest, UntouchedConnectionsDeliverEveryByteInOrderAndResetOnesFailCleanly) {
  ChildProcess server(siblingBinary("echo-server"), {"--port", "0"});
  const auto listening = ::testing_support::waitForLoopbackPort(server, Clock::now() + 10s);
  ASSERT_TRUE(listening) << server.transcript();
  Loop loop;
  ChaosOptions options;
  options.upstreamPort = *listening;
  options.seed = 20240607;
  options.resetPercent = 10;
  options.resetWithinBytes = kBytesPerConnection - 1;  // always before the last byte: every reset is seen
  ChaosProxy proxy(loop, options);
  const auto descriptorsBefore = openDescriptorCount();

  // One at a time, so that the proxy accepts client i as its i-th connection.
  std::vector<std::unique_ptr<EchoCheckClient>> clients;
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<EchoCheckClient>(loop, 0xC4A05ull << 20 | i, kBytesPerConnection));
    clients.back()->connect(proxy.port());
    ASSERT_TRUE(pollUntil(loop, [&] { return proxy.accepted() == i + 1; })) << "connection " << i;
  }
  for (auto& client : clients) client->start();
  ASSERT_TRUE(pollUntil(loop, [&] {
    for (const auto& client : clients) {
      if (!client->closed()) return false;
    }
    return true;
  }, 60s)) << "not every connection closed";
  pollUntil(loop, [] { return false; }, 20ms);  // nothing may follow 'close'

  std::size_t intact = 0, failedCleanly = 0, expectedResets = 0;
  for (std::size_t i = 0; i < kConnections; ++i) {
    const EchoCheckClient& client = *clients[i];
    if (proxy.resets(i)) {
      ++expectedResets;
      EXPECT_TRUE(client.failedCleanly()) << "connection " << i << " (reset): " << client.describe();
      const std::string code = client.error() ? client.error()->code() : "none";
      EXPECT_TRUE(code == "ECONNRESET" || code == "EPIPE") << "connection " << i << ": " << client.describe();
      failedCleanly += client.failedCleanly();
    } else {
      EXPECT_TRUE(client.intact()) << "connection " << i << ": " << client.describe();
      intact += client.intact();
    }
  }
  EXPECT_GT(expectedResets, 0u);
  EXPECT_LT(expectedResets, kConnections / 5);
  EXPECT_EQ(intact, kConnections - expectedResets);
  EXPECT_EQ(failedCleanly, expectedResets);
  EXPECT_EQ(proxy.resetsDone(), expectedResets);
  // The chaos happened: many pieces, single bytes among them, and delays.
  const ChaosStats& stats = proxy.stats();
  EXPECT_GT(stats.singleBytePieces, kConnections);
  EXPECT_GT(stats.delayedPieces, kConnections);
  std::printf("chaos: %zu intact, %zu reset (all clean); %zu pieces, %zu of one byte, %zu delayed\n", intact,
              failedCleanly, stats.pieces, stats.singleBytePieces, stats.delayedPieces);

  EXPECT_TRUE(pollUntil(loop, [&] { return proxy.open() == 0; })) << proxy.open() << " proxied connections left";
  clients.clear();
  EXPECT_EQ(openDescriptorCount(), descriptorsBefore);
  EXPECT_TRUE(server.exitsCleanlyOnSigterm(Clock::now() + 10s)) << server.transcript();
}

}  // namespace
}  // namespace reactor::testing_support
