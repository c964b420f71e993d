// net::GracefulStop: a SIGTERM or SIGINT closes the group on every loop and reports whether the
// connections finished within the grace period; the previous dispositions are back afterwards.
#include "net/graceful_stop.h"

#include <signal.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "reactor/loop_threads.h"
#include "tests/poll_until.h"
#include "tests/socket_pairs.h"

namespace net {
namespace {

using namespace reactor::testing_support;

class GracefulStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    group = ServerGroup::create(loop, threads.loops(), {}, [](std::shared_ptr<Socket> socket) {
      socket->on("data", [](Socket& self, std::string_view data) { self.write(data); });
    });
    group->on("close", [this] { ++closeEvents; });
    ListenOptions options;
    options.host = "127.0.0.1";
    bool listening = false;
    group->listen(options, [&] { listening = true; });
    ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  }
  void TearDown() override {
    if (group->listening()) {  // a test that failed half-way: stop() would wait for the group
      group->close();
      EXPECT_TRUE(pollUntil(loop, [&] { return closeEvents > 0; }));
    }
    threads.stop();
  }

  static bool handlerIsDefault(int signo) {
    struct sigaction current {};
    sigaction(signo, nullptr, &current);
    return current.sa_handler == SIG_DFL;
  }

  reactor::Loop loop;
  reactor::LoopThreads threads{2};
  std::shared_ptr<ServerGroup> group;
  int closeEvents = 0;
};

TEST_F(GracefulStopTest, SigtermWithNoConnectionsDrainsAtOnce) {
  std::optional<bool> drained;
  GracefulStop stop(group, 60'000, [&](bool d) { drained = d; });
  EXPECT_FALSE(handlerIsDefault(SIGTERM));
  ASSERT_EQ(raise(SIGTERM), 0);
  ASSERT_TRUE(pollUntil(loop, [&] { return drained.has_value(); }));
  EXPECT_TRUE(*drained);
  EXPECT_FALSE(group->listening());
  EXPECT_EQ(closeEvents, 1);
  EXPECT_TRUE(handlerIsDefault(SIGTERM));
  EXPECT_TRUE(handlerIsDefault(SIGINT));
}

TEST_F(GracefulStopTest, SigintWithAConnectionStillOpenEndsTheGracePeriodUndrained) {
  Fd client = connectBlocking(group->address().port);
  ASSERT_EQ(::send(client.get(), "x", 1, 0), 1);
  char echoed = 0;
  ASSERT_TRUE(pollUntil(loop, [&] { return ::recv(client.get(), &echoed, 1, MSG_DONTWAIT) == 1; }));

  std::optional<bool> drained;
  GracefulStop stop(group, 30, [&](bool d) { drained = d; });
  ASSERT_EQ(raise(SIGINT), 0);
  ASSERT_TRUE(pollUntil(loop, [&] { return drained.has_value(); }));
  EXPECT_FALSE(*drained);
  EXPECT_FALSE(group->listening());
  EXPECT_EQ(closeEvents, 0);
  // The connection was left alone: still served, and the group closes once it ends.
  ASSERT_EQ(::send(client.get(), "y", 1, 0), 1);
  ASSERT_TRUE(pollUntil(loop, [&] { return ::recv(client.get(), &echoed, 1, MSG_DONTWAIT) == 1; }));
  EXPECT_EQ(echoed, 'y');
  client = Fd();
  ASSERT_TRUE(pollUntil(loop, [&] { return closeEvents == 1; }));
}

TEST_F(GracefulStopTest, NoSignalNoStop) {
  std::optional<bool> drained;
  {
    GracefulStop stop(group, 10, [&](bool d) { drained = d; });
    EXPECT_FALSE(pollUntil(loop, [&] { return drained.has_value(); }, std::chrono::milliseconds(30)));
    EXPECT_TRUE(group->listening());
  }
  EXPECT_TRUE(handlerIsDefault(SIGTERM));
  group->close();
  ASSERT_TRUE(pollUntil(loop, [&] { return closeEvents == 1; }));
}

}  // namespace
}  // namespace net
