// The kqueue emulation checked against kevent(2) directly, so that a kqueue backend failure on
// Linux can be told apart from an emulation bug. Only meaningful where the emulation is built.
#if defined(REACTOR_TEST_KQUEUE_EMULATION)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <vector>

#include "tests/kqueue_emulation/sys/event.h"

namespace {

using Clock = std::chrono::steady_clock;

const timespec kPoll{0, 0};

void* udataOf(std::uintptr_t value) { return reinterpret_cast<void*>(value); }

class KqueueEmulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kq_ = kqueue();
    ASSERT_GE(kq_, 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv_), 0);
  }
  void TearDown() override {
    for (int fd : {kq_, sv_[0], sv_[1]}) {
      if (fd >= 0) close(fd);
    }
  }

  int change(std::uintptr_t ident, short filter, unsigned short flags, unsigned fflags = 0,
             void* udata = nullptr) {
    struct kevent ev;
    EV_SET(&ev, ident, filter, flags, fflags, 0, udata);
    return kevent(kq_, &ev, 1, nullptr, 0, nullptr);
  }

  std::vector<struct kevent> poll() {
    std::vector<struct kevent> out(16);
    int n = kevent(kq_, nullptr, 0, out.data(), static_cast<int>(out.size()), &kPoll);
    EXPECT_GE(n, 0);
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
  }

  int kq_ = -1;
  int sv_[2] = {-1, -1};
};

TEST_F(KqueueEmulationTest, DeletingAnUnregisteredFilterIsENOENT) {
  errno = 0;
  EXPECT_EQ(change(sv_[0], EVFILT_READ, EV_DELETE), -1);
  EXPECT_EQ(errno, ENOENT);

  // With room in the event list the error comes back as an entry instead, the change echoed.
  struct kevent ev, out[2];
  EV_SET(&ev, sv_[0], EVFILT_WRITE, EV_DELETE, 0, 0, udataOf(42));
  ASSERT_EQ(kevent(kq_, &ev, 1, out, 2, &kPoll), 1);
  EXPECT_EQ(out[0].flags, EV_ERROR);
  EXPECT_EQ(out[0].data, ENOENT);
  EXPECT_EQ(out[0].ident, static_cast<std::uintptr_t>(sv_[0]));
  EXPECT_EQ(out[0].filter, EVFILT_WRITE);
  EXPECT_EQ(out[0].udata, udataOf(42));
}

TEST_F(KqueueEmulationTest, BadDescriptorIsEBADFAndReceiptReportsSuccess) {
  int closed = dup(sv_[0]);
  ASSERT_GE(closed, 0);
  close(closed);
  errno = 0;
  EXPECT_EQ(change(closed, EVFILT_READ, EV_ADD), -1);
  EXPECT_EQ(errno, EBADF);

  struct kevent ev, out[1];
  EV_SET(&ev, sv_[0], EVFILT_READ, EV_ADD | EV_RECEIPT, 0, 0, nullptr);
  ASSERT_EQ(kevent(kq_, &ev, 1, out, 1, &kPoll), 1);
  EXPECT_EQ(out[0].flags, EV_ERROR);
  EXPECT_EQ(out[0].data, 0);
}

TEST_F(KqueueEmulationTest, UserEventWithClearFiresOncePerTrigger) {
  ASSERT_EQ(change(7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, udataOf(0xfeedull << 48)), 0);
  EXPECT_TRUE(poll().empty());

  ASSERT_EQ(change(7, EVFILT_USER, 0, NOTE_TRIGGER, udataOf(0xfeedull << 48)), 0);
  ASSERT_EQ(change(7, EVFILT_USER, 0, NOTE_TRIGGER, udataOf(0xfeedull << 48)), 0);
  auto events = poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].ident, 7u);
  EXPECT_EQ(events[0].filter, EVFILT_USER);
  EXPECT_EQ(events[0].udata, udataOf(0xfeedull << 48));
  EXPECT_TRUE(poll().empty());

  // Without EV_CLEAR a triggered user event stays active.
  ASSERT_EQ(change(8, EVFILT_USER, EV_ADD, NOTE_TRIGGER), 0);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(poll().size(), 1u);
}

TEST_F(KqueueEmulationTest, UserEventFflagsCombineAsRequested) {
  ASSERT_EQ(change(1, EVFILT_USER, EV_ADD | EV_CLEAR, NOTE_FFCOPY | 0x5), 0);
  ASSERT_EQ(change(1, EVFILT_USER, 0, NOTE_FFOR | 0x2), 0);
  ASSERT_EQ(change(1, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFAND | 0x6), 0);
  auto events = poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].fflags, 0x6u);
}

TEST_F(KqueueEmulationTest, ReadDataCountsBytesAndWriteDataCountsRoom) {
  ASSERT_EQ(change(sv_[0], EVFILT_READ, EV_ADD, 0, udataOf(1)), 0);
  ASSERT_EQ(change(sv_[0], EVFILT_WRITE, EV_ADD, 0, udataOf(2)), 0);
  ASSERT_EQ(write(sv_[1], "hello", 5), 5);

  // One descriptor, two knotes: one event per filter, each with its own udata.
  auto events = poll();
  ASSERT_EQ(events.size(), 2u);
  for (const struct kevent& ev : events) {
    if (ev.filter == EVFILT_READ) {
      EXPECT_EQ(ev.udata, udataOf(1));
      EXPECT_EQ(ev.data, 5);
    } else {
      EXPECT_EQ(ev.filter, EVFILT_WRITE);
      EXPECT_EQ(ev.udata, udataOf(2));
      EXPECT_GT(ev.data, 0);
    }
    EXPECT_EQ(ev.flags & EV_EOF, 0);
  }
  ASSERT_EQ(write(sv_[1], "1234567", 7), 7);
  ASSERT_EQ(change(sv_[0], EVFILT_WRITE, EV_DISABLE), 0);
  events = poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].filter, EVFILT_READ);
  EXPECT_EQ(events[0].data, 12);
}

TEST_F(KqueueEmulationTest, ListenerDataIsThePendingConnectionCount) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ASSERT_EQ(change(listener, EVFILT_READ, EV_ADD), 0);
  int clients[2];
  for (int& c : clients) {
    c = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  std::int64_t pending = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (pending != 2 && Clock::now() < deadline) {
    struct kevent out[1];
    timespec shortWait{0, 10'000'000};
    if (kevent(kq_, nullptr, 0, out, 1, &shortWait) == 1) pending = out[0].data;
  }
  EXPECT_EQ(pending, 2);
  for (int fd : {clients[0], clients[1], listener}) close(fd);
}

TEST_F(KqueueEmulationTest, ShutdownIsEofWithoutErrorAndDeleteStopsReports) {
  ASSERT_EQ(change(sv_[0], EVFILT_READ, EV_ADD), 0);
  ASSERT_EQ(shutdown(sv_[1], SHUT_WR), 0);
  auto events = poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].flags & EV_EOF, 0);
  EXPECT_EQ(events[0].fflags, 0u);

  ASSERT_EQ(change(sv_[0], EVFILT_READ, EV_DELETE), 0);
  EXPECT_TRUE(poll().empty());
}

TEST_F(KqueueEmulationTest, OneshotReportsOnceThenIsGone) {
  ASSERT_EQ(change(sv_[0], EVFILT_WRITE, EV_ADD | EV_ONESHOT), 0);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_TRUE(poll().empty());
  errno = 0;
  EXPECT_EQ(change(sv_[0], EVFILT_WRITE, EV_DELETE), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(KqueueEmulationTest, ClearOnADescriptorFilterIsRefusedRatherThanApproximated) {
  errno = 0;
  EXPECT_EQ(change(sv_[0], EVFILT_READ, EV_ADD | EV_CLEAR), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_TRUE(poll().empty());
}

TEST_F(KqueueEmulationTest, ClosedKqueueIsEBADF) {
  int kq = kqueue();
  ASSERT_GE(kq, 0);
  ASSERT_EQ(close(kq), 0);
  struct kevent out[1];
  errno = 0;
  EXPECT_EQ(kevent(kq, nullptr, 0, out, 1, &kPoll), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace

#endif  // REACTOR_TEST_KQUEUE_EMULATION
