#include "net/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <system_error>
#include <utility>

#include "net/error.h"

namespace net {

namespace {

LookupResult resolve(const std::string& host, int family) {
  LookupResult result;
  addrinfo hints{};
  hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* answers = nullptr;
  const int status = getaddrinfo(host.c_str(), nullptr, &hints, &answers);
  for (addrinfo* answer = answers; answer != nullptr; answer = answer->ai_next) {
    result.addresses.push_back(SocketAddress::fromSockaddr(answer->ai_addr, answer->ai_addrlen));
  }
  if (answers != nullptr) freeaddrinfo(answers);
  if (status == EAI_AGAIN) {
    result.errorCode = "EAI_AGAIN";
  } else if (status != 0 || result.addresses.empty()) {
    result.errorCode = "ENOTFOUND";
  }
  return result;
}

}  // namespace

void lookup(reactor::Loop& loop, std::string host, int family, std::function<void(LookupResult)> done) {
  if (host.find('\0') != std::string::npos) {
    // getaddrinfo would read only the name before the NUL (Node then connects to that name): such
    // a host is not found, and is answered on a later tick like any lookup.
    loop.post([done = std::move(done)] { done(LookupResult{"ENOTFOUND", {}}); });
    return;
  }
  try {
    loop.offload([host = std::move(host), family] { return resolve(host, family); }, done);
  } catch (const std::system_error& failure) {
    // No thread to resolve on (EAGAIN: the process is at its thread limit): the lookup fails as
    // getaddrinfo's own resource failures do, on a later tick.
    loop.post([done = std::move(done), code = errnoName(failure.code().value())] { done(LookupResult{code, {}}); });
  }
}

}  // namespace net
