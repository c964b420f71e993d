#include "tests/loop_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace reactor::testing_support {

namespace {
[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }
}  // namespace

bool runUntil(Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  Timeout guard = loop.setTimeout([] {}, limit.count());
  bool held = done();
  while (!held && std::chrono::steady_clock::now() < deadline) {
    loop.runOnce();
    held = done();
  }
  loop.clearTimeout(guard);
  return held;
}

bool runToCompletion(Loop& loop, std::chrono::milliseconds limit) {
  std::mutex mutex;
  std::condition_variable finished;
  bool returned = false;
  bool watchdogFired = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!finished.wait_for(lock, limit, [&] { return returned; })) {
      watchdogFired = true;
      loop.post([&loop] { loop.stop(); });
    }
  });
  loop.run();
  {
    std::lock_guard lock(mutex);
    returned = true;
  }
  finished.notify_one();
  watchdog.join();
  return !watchdogFired;
}

SocketPair::SocketPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) fail("socketpair");
  a = fds[0];
  b = fds[1];
}

SocketPair::~SocketPair() {
  if (a >= 0) close(a);
  if (b >= 0) close(b);
}

TcpPair::TcpPair() {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0 || listen(listener, 1) < 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    close(listener);
    fail("bind/listen");
  }
  client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0 || connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    close(listener);
    fail("connect");
  }
  server = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  close(listener);
  if (server < 0) fail("accept4");
}

TcpPair::~TcpPair() {
  if (client >= 0) close(client);
  if (server >= 0) close(server);
}

}  // namespace reactor::testing_support
