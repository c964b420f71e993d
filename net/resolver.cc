#include "net/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <memory>
#include <thread>

namespace net {

void lookup(reactor::Loop& loop, std::string host, int family, std::function<void(LookupResult)> done) {
  if (host.find('\0') != std::string::npos) {
    // getaddrinfo would read only the name before the NUL (Node then connects to that name): such
    // a host is not found, and is answered on a later tick like any lookup.
    loop.post([done = std::move(done)] { done(LookupResult{"ENOTFOUND", {}}); });
    return;
  }
  struct Request {
    reactor::Loop::KeepAlive hold;
    reactor::Loop* loop;
    std::string host;
    int family;
    std::function<void(LookupResult)> done;
    LookupResult result;
  };
  auto request = std::make_shared<Request>(
      Request{reactor::Loop::KeepAlive(loop), &loop, std::move(host), family, std::move(done), {}});
  std::thread([request]() mutable {
    addrinfo hints{};
    hints.ai_family = request->family == 4 ? AF_INET : request->family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* answers = nullptr;
    const int status = getaddrinfo(request->host.c_str(), nullptr, &hints, &answers);
    for (addrinfo* answer = answers; answer != nullptr; answer = answer->ai_next) {
      request->result.addresses.push_back(SocketAddress::fromSockaddr(answer->ai_addr, answer->ai_addrlen));
    }
    if (answers != nullptr) freeaddrinfo(answers);
    if (status == EAI_AGAIN) {
      request->result.errorCode = "EAI_AGAIN";
    } else if (status != 0 || request->result.addresses.empty()) {
      request->result.errorCode = "ENOTFOUND";
    }
    // The request moves into the posted callback: its last reference, and the KeepAlive in it,
    // are then released on the loop thread.
    reactor::Loop* target = request->loop;
    target->post([request = std::move(request)] { request->done(std::move(request->result)); });
  }).detach();
}

}  // namespace net
