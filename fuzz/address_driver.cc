#include "fuzz/address_driver.h"

#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/byte_reader.h"
#include "fuzz/invariant.h"
#include "fuzz/node_ip_grammar.h"
#include "net/address.h"
#include "net/error.h"

namespace fuzz {

namespace {

// Whether `call` throws a net::Error with `code`; false if it returns. Other exceptions escape.
template <class Call>
bool throwsNetError(Call&& call, std::string_view code) {
  try {
    call();
    return false;
  } catch (const net::Error& error) {
    FUZZ_CHECK(error.code() == code);
    return true;
  }
}

void checkIpClassification(std::string_view text) {
  const bool v4 = net::isIPv4(text);
  const bool v6 = net::isIPv6(text);
  FUZZ_CHECK(!(v4 && v6));
  FUZZ_CHECK(net::isIP(text) == (v4 ? 4 : v6 ? 6 : 0));
  FUZZ_CHECK(v4 == nodeIsIPv4(text));
  FUZZ_CHECK(v6 == nodeIsIPv6(text));
}

void checkPortValidation(long long port) {
  const bool rejected = throwsNetError([&] { net::validatePort(port); }, "ERR_SOCKET_BAD_PORT");
  FUZZ_CHECK(rejected == (port < 0 || port > 65535));
}

// The address bytes of an IPv4 or IPv6 SocketAddress, for comparing two of them.
std::string_view addressBytes(const net::SocketAddress& address) {
  if (address.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address.get());
    return {reinterpret_cast<const char*>(&v4->sin_addr), sizeof v4->sin_addr};
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.get());
  return {reinterpret_cast<const char*>(&v6->sin6_addr), sizeof v6->sin6_addr};
}

void checkIpRoundTrip(std::string_view text, int port) {
  const std::optional<net::SocketAddress> address = net::SocketAddress::fromIp(text, port);
  const int version = net::isIP(text);
  FUZZ_CHECK(address.has_value() == (version != 0));
  if (!address) return;
  FUZZ_CHECK(address->family() == (version == 4 ? AF_INET : AF_INET6));
  FUZZ_CHECK(address->length() == (version == 4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
  const net::AddressInfo info = address->info();
  FUZZ_CHECK(info.family == (version == 4 ? "IPv4" : "IPv6"));
  FUZZ_CHECK(info.family == address->familyName());
  FUZZ_CHECK(info.port == port);
  // Node accepts only canonical dotted decimal, which is what formatting gives back.
  if (version == 4) FUZZ_CHECK(info.address == text);
  const std::optional<net::SocketAddress> again = net::SocketAddress::fromIp(info.address, port);
  FUZZ_CHECK(again.has_value() && net::isIP(info.address) == version);
  FUZZ_CHECK(addressBytes(*again) == addressBytes(*address));

  net::SocketAddress moved = *address;
  const int otherPort = (port * 7 + 1) & 0xffff;
  moved.setPort(otherPort);
  FUZZ_CHECK(moved.info().port == otherPort && moved.info().address == info.address);
}

void checkPath(std::string_view text) {
  std::optional<net::SocketAddress> address;
  const bool rejected =
      throwsNetError([&] { address = net::SocketAddress::fromPath(text); }, "ERR_INVALID_ARG_VALUE");
  FUZZ_CHECK(rejected == (text.empty() || text.size() >= sizeof(sockaddr_un::sun_path)));
  if (rejected) return;
  const net::AddressInfo info = address->info();
  FUZZ_CHECK(address->family() == AF_UNIX && info.family.empty() && info.port == 0);
  FUZZ_CHECK(text.starts_with(info.address));
}

void checkRawSockaddr(std::string_view bytes, socklen_t length) {
  sockaddr_storage raw{};
  std::memcpy(&raw, bytes.data(), std::min(bytes.size(), sizeof raw));
  const net::SocketAddress address = net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&raw), length);
  FUZZ_CHECK(address.length() == std::min<socklen_t>(length, sizeof raw));
  const net::AddressInfo info = address.info();
  if (address.family() == AF_INET) FUZZ_CHECK(net::isIPv4(info.address));
  if (address.family() == AF_INET6) FUZZ_CHECK(net::isIPv6(info.address));
}

}  // namespace

void exploreAddressInput(std::span<const std::uint8_t> input) {
  ByteReader reader(input);
  const auto port = reader.integer<long long>();
  const auto length = reader.integer<std::uint16_t>();
  const std::string_view text = reader.rest();

  checkIpClassification(text);
  checkPortValidation(port);
  checkIpRoundTrip(text, static_cast<int>(port & 0xffff));
  checkPath(text);
  checkRawSockaddr(text, length);
}

}  // namespace fuzz
