// Addresses: Node's isIP/isIPv4/isIPv6, port validation, and SocketAddress, the one place where
// text addresses become sockaddr structures and back.
//
// AddressInfo is Node's address object ({ address, family, port }). For a unix-domain socket Node
// returns the path as a bare string; here it is AddressInfo{path, "", 0}: the empty family tells
// code written for TCP that the address is no IP address.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace net {

// 4 for an IPv4 address in dotted-decimal form, 6 for an IPv6 address (a zone index such as
// "fe80::1%eth0" allowed), 0 otherwise; as Node's net.isIP.
int isIP(std::string_view input);
bool isIPv4(std::string_view input);
bool isIPv6(std::string_view input);

struct AddressInfo {
  std::string address;  // "127.0.0.1", "::1", or a unix socket's path
  std::string family;   // "IPv4", "IPv6", or "" for a unix socket
  int port = 0;
  friend bool operator==(const AddressInfo&, const AddressInfo&) = default;
};

// Throws net::Error ERR_SOCKET_BAD_PORT unless 0 <= port <= 65535, with Node's message.
void validatePort(long long port);

class SocketAddress {
 public:
  SocketAddress() = default;

  // A numeric IPv4 or IPv6 address (no name lookup); nullopt if `ip` is not one.
  static std::optional<SocketAddress> fromIp(std::string_view ip, int port);
  // A copy of an address the system produced (getaddrinfo, accept).
  static SocketAddress fromSockaddr(const sockaddr* address, socklen_t length);
  // A unix-domain path; throws net::Error ERR_INVALID_ARG_VALUE if it does not fit sun_path.
  static SocketAddress fromPath(std::string_view path);
  // The local or the peer address of a socket; an empty SocketAddress if the call fails.
  static SocketAddress localOf(int fd);
  static SocketAddress peerOf(int fd);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return length_ == 0 ? AF_UNSPEC : storage_.ss_family; }
  bool empty() const { return length_ == 0; }

  // Sets the port of an IPv4 or IPv6 address.
  void setPort(int port);

  AddressInfo info() const;
  // "IPv4" / "IPv6" / "".
  std::string familyName() const;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace net
