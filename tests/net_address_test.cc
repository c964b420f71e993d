// Addresses and errors: Node's isIP family, port validation, sockaddr round trips, and error
// messages formatted as Node formats them.
#include <gtest/gtest.h>

#include <cerrno>

#include "net/address.h"
#include "net/error.h"

namespace net {
namespace {

TEST(Address, IsIpMatchesNode) {
  EXPECT_EQ(isIP("127.0.0.1"), 4);
  EXPECT_EQ(isIP("255.255.255.255"), 4);
  EXPECT_EQ(isIP("::1"), 6);
  EXPECT_EQ(isIP("fe80::1%eth0"), 6);
  EXPECT_EQ(isIP("::ffff:127.0.0.1"), 6);
  for (const char* bad : {"", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", "localhost", "::1%", ":::",
                          "1..2.3"}) {
    EXPECT_EQ(isIP(bad), 0) << bad;
  }
  EXPECT_TRUE(isIPv4("10.0.0.1"));
  EXPECT_FALSE(isIPv4("::1"));
  EXPECT_TRUE(isIPv6("2001:db8::1"));
  EXPECT_FALSE(isIPv6("10.0.0.1"));
}

TEST(Address, PortsOutsideZeroTo65535AreRejectedWithNodesMessage) {
  EXPECT_NO_THROW(validatePort(0));
  EXPECT_NO_THROW(validatePort(65535));
  try {
    validatePort(70000);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), "ERR_SOCKET_BAD_PORT");
    EXPECT_STREQ(error.what(), "Port should be >= 0 and < 65536. Received type number (70000).");
  }
  EXPECT_THROW(validatePort(-1), Error);
}

TEST(Address, NumericAddressesRoundTrip) {
  auto v4 = SocketAddress::fromIp("127.0.0.1", 3000);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->info(), (AddressInfo{"127.0.0.1", "IPv4", 3000}));
  auto v6 = SocketAddress::fromIp("::1", 80);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->info(), (AddressInfo{"::1", "IPv6", 80}));
  v6->setPort(81);
  EXPECT_EQ(v6->info().port, 81);
  EXPECT_FALSE(SocketAddress::fromIp("localhost", 80));
  auto path = SocketAddress::fromPath("/tmp/x.sock");
  EXPECT_EQ(path.info(), (AddressInfo{"/tmp/x.sock", "", 0}));
}

TEST(Address, PathLongerThanSunPathIsRejected) {
  try {
    SocketAddress::fromPath(std::string(300, 'p'));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), "ERR_INVALID_ARG_VALUE");
  }
}

TEST(Error, SystemErrorsAreFormattedAsNodeFormatsThem) {
  Error refused = Error::fromSystem(ECONNREFUSED, "connect", "127.0.0.1", 1);
  EXPECT_STREQ(refused.what(), "connect ECONNREFUSED 127.0.0.1:1");
  EXPECT_EQ(refused.code(), "ECONNREFUSED");
  EXPECT_EQ(refused.errnum(), ECONNREFUSED);
  EXPECT_EQ(refused.syscall(), "connect");
  EXPECT_EQ(refused.port(), 1);
  Error inUse = Error::fromSystemDescribed(EADDRINUSE, "listen", "::", 3000);
  EXPECT_STREQ(inUse.what(), "listen EADDRINUSE: address already in use :::3000");
  Error reset = Error::fromSystem(ECONNRESET, "read");
  EXPECT_STREQ(reset.what(), "read ECONNRESET");
  Error lookup = Error::fromLookup("ENOTFOUND", "example.invalid");
  EXPECT_STREQ(lookup.what(), "getaddrinfo ENOTFOUND example.invalid");
  EXPECT_EQ(lookup.hostname(), "example.invalid");
  EXPECT_EQ(errnoName(EPIPE), "EPIPE");
}

}  // namespace
}  // namespace net
