#include "net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <net/if.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "net/error.h"

namespace net {

namespace {

// Node accepts only canonical dotted decimal: four parts, 0..255, no leading zeros.
bool isDottedDecimal(std::string_view input) {
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    std::size_t start = i;
    int value = 0;
    while (i < input.size() && input[i] >= '0' && input[i] <= '9' && i - start < 3) {
      value = value * 10 + (input[i] - '0');
      ++i;
    }
    std::size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && input[start] == '0')) return false;
    ++parts;
    if (parts < 4) {
      if (i >= input.size() || input[i] != '.') return false;
      ++i;
    }
  }
  return i == input.size();
}

// Node's zone index: one or more ASCII letters, digits, '-', '.' or ':'.
bool isZoneIndex(std::string_view zone) {
  return !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == ':';
  });
}

}  // namespace

bool isIPv4(std::string_view input) { return isDottedDecimal(input); }

bool isIPv6(std::string_view input) {
  std::string_view address = input;
  if (auto percent = input.find('%'); percent != std::string_view::npos) {
    if (!isZoneIndex(input.substr(percent + 1))) return false;
    address = input.substr(0, percent);
  }
  // inet_pton reads a C string: a NUL inside would end the address early.
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN || address.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string text(address);
  in6_addr parsed;
  return inet_pton(AF_INET6, text.c_str(), &parsed) == 1;
}

int isIP(std::string_view input) {
  if (isIPv4(input)) return 4;
  if (isIPv6(input)) return 6;
  return 0;
}

void validatePort(long long port) {
  if (port < 0 || port > 65535) {
    throw Error("ERR_SOCKET_BAD_PORT",
                "Port should be >= 0 and < 65536. Received type number (" + std::to_string(port) + ").");
  }
}

std::optional<SocketAddress> SocketAddress::fromIp(std::string_view ip, int port) {
  SocketAddress result;
  if (isIPv4(ip)) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, std::string(ip).c_str(), &v4->sin_addr);
    result.length_ = sizeof(sockaddr_in);
    return result;
  }
  if (isIPv6(ip)) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    std::string text(ip.substr(0, ip.find('%')));
    inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr);
    if (auto percent = ip.find('%'); percent != std::string_view::npos) {
      std::string zone(ip.substr(percent + 1));
      v6->sin6_scope_id = if_nametoindex(zone.c_str());
      if (v6->sin6_scope_id == 0) v6->sin6_scope_id = static_cast<std::uint32_t>(std::strtoul(zone.c_str(), nullptr, 10));
    }
    result.length_ = sizeof(sockaddr_in6);
    return result;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::fromPath(std::string_view path) {
  SocketAddress result;
  auto* un = reinterpret_cast<sockaddr_un*>(&result.storage_);
  if (path.empty() || path.size() >= sizeof un->sun_path) {
    throw Error("ERR_INVALID_ARG_VALUE", "The argument 'path' must be a non-empty string shorter than " +
                                             std::to_string(sizeof un->sun_path) + " bytes. Received '" +
                                             std::string(path) + "'");
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  result.length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return result;
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* address, socklen_t length) {
  SocketAddress result;
  result.length_ = std::min<socklen_t>(length, sizeof result.storage_);
  std::memcpy(&result.storage_, address, result.length_);
  return result;
}

void SocketAddress::setPort(int port) {
  const auto networkPort = htons(static_cast<std::uint16_t>(port));
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = networkPort;
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = networkPort;
}

SocketAddress SocketAddress::localOf(int fd) {
  SocketAddress result;
  socklen_t length = sizeof result.storage_;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&result.storage_), &length) == 0) result.length_ = length;
  return result;
}

SocketAddress SocketAddress::peerOf(int fd) {
  SocketAddress result;
  socklen_t length = sizeof result.storage_;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&result.storage_), &length) == 0) result.length_ = length;
  return result;
}

std::string SocketAddress::familyName() const {
  switch (family()) {
    case AF_INET: return "IPv4";
    case AF_INET6: return "IPv6";
    default: return "";
  }
}

AddressInfo SocketAddress::info() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET: {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage_);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
      return {text, "IPv4", ntohs(v4->sin_port)};
    }
    case AF_INET6: {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
      return {text, "IPv6", ntohs(v6->sin6_port)};
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
      std::size_t max = length_ > offsetof(sockaddr_un, sun_path) ? length_ - offsetof(sockaddr_un, sun_path) : 0;
      return {std::string(un->sun_path, strnlen(un->sun_path, max)), "", 0};
    }
    default:
      return {};
  }
}

}  // namespace net
