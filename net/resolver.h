// Host name lookup that never blocks the loop: getaddrinfo runs on a short-lived thread
// (Loop::offload) and the answer comes back to the loop thread, where `done` runs. The lookup keeps
// the loop alive until `done` has run. A loop destroyed meanwhile destroys `done` uncalled, on its
// own thread; the lookup's thread then finishes without touching it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/address.h"
#include "reactor/loop.h"

namespace net {

struct LookupResult {
  std::string errorCode;                // "" on success, else Node's code: ENOTFOUND, EAI_AGAIN, ...
  std::vector<SocketAddress> addresses;  // in the resolver's order; ports are 0
};

// family: 0 (any), 4 or 6. A host with a NUL byte in it is not found (ENOTFOUND) without a lookup.
void lookup(reactor::Loop& loop, std::string host, int family, std::function<void(LookupResult)> done);

}  // namespace net
