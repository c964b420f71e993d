#include "tests/test_backends.h"

#if defined(__linux__)
#include "reactor/epoll_poller.h"
#endif
#if !defined(__linux__) || defined(REACTOR_TEST_KQUEUE_EMULATION)
#include "reactor/kqueue_poller.h"
#endif

namespace reactor::testing_support {

std::vector<TestBackend> testBackends() {
  std::vector<TestBackend> backends;
#if defined(__linux__)
  backends.push_back({"epoll", []() -> std::unique_ptr<Poller> { return std::make_unique<EpollPoller>(); }});
#endif
#if !defined(__linux__) || defined(REACTOR_TEST_KQUEUE_EMULATION)
  backends.push_back({"kqueue", []() -> std::unique_ptr<Poller> { return std::make_unique<KqueuePoller>(); }});
#endif
  return backends;
}

std::string backendTestName(const ::testing::TestParamInfo<TestBackend>& info) {
  return info.param.name;
}

}  // namespace reactor::testing_support
