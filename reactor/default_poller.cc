// Picks the backend at compile time: the loop never names a platform.
#include "reactor/poller.h"

#if defined(__linux__)
#include "reactor/epoll_poller.h"
#else
#include "reactor/kqueue_poller.h"
#endif

namespace reactor {

std::unique_ptr<Poller> makeDefaultPoller() {
#if defined(__linux__)
  return std::make_unique<EpollPoller>();
#else
  return std::make_unique<KqueuePoller>();
#endif
}

}  // namespace reactor
