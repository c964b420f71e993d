// net::BlockList against what Node 20's net.BlockList does (every expected value below was printed
// by node): rules and how they are listed, the edges of ranges and subnets, IPv4-mapped IPv6
// addresses across families, Node's errors; and ServerOptions::blockList refusing clients before
// 'connection'.
#include "net/block_list.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/thrown_by.h"

namespace net {
namespace {

using reactor::testing_support::Fd;
using reactor::testing_support::runUntil;


TEST(BlockList, ListsRulesNewestFirstInNodesFormat) {
  BlockList list;
  EXPECT_TRUE(list.rules().empty());
  list.addAddress("123.123.123.123");
  list.addAddress("::1", "ipv6");
  list.addRange("10.0.0.1", "10.0.0.10");
  list.addRange("2001:db8::1", "2001:db8::ff", "ipv6");
  list.addSubnet("192.168.0.0", 16);
  list.addSubnet("8592:757c:efae:4e45::", 64, "ipv6");
  list.addAddress("1.2.3.4", "ipv4");
  list.addAddress("::ffff:5.6.7.8", "ipv6");
  list.addAddress("2001:0DB8:0000::0001", "ipv6");  // printed in canonical form
  EXPECT_EQ(list.rules(), (std::vector<std::string>{
                              "Address: IPv6 2001:db8::1",
                              "Address: IPv6 ::ffff:5.6.7.8",
                              "Address: IPv4 1.2.3.4",
                              "Subnet: IPv6 8592:757c:efae:4e45::/64",
                              "Subnet: IPv4 192.168.0.0/16",
                              "Range: IPv6 2001:db8::1-2001:db8::ff",
                              "Range: IPv4 10.0.0.1-10.0.0.10",
                              "Address: IPv6 ::1",
                              "Address: IPv4 123.123.123.123",
                          }));
}

TEST(BlockList, CanonicalFormsTypesInAnyCaseAndZones) {
  BlockList list;
  list.addSubnet("FE80:0::", 10, "IPv6");
  list.addRange("0:0::1", "::00ff", "ipv6");
  list.addAddress("0:0:0:0:0:ffff:102:304", "IPV6");
  list.addAddress("::1.2.3.4", "ipv6");
  list.addAddress("fe80::1%eth0", "ipv6");  // the zone is accepted and not kept
  list.addSubnet("1.2.3.4", 16);             // the host bits stay as given
  EXPECT_EQ(list.rules(), (std::vector<std::string>{
                              "Subnet: IPv4 1.2.3.4/16",
                              "Address: IPv6 fe80::1",
                              "Address: IPv6 ::1.2.3.4",
                              "Address: IPv6 ::ffff:1.2.3.4",
                              "Range: IPv6 ::1-::ff",
                              "Subnet: IPv6 fe80::/10",
                          }));
  EXPECT_TRUE(list.check("1.2.200.1"));
  EXPECT_TRUE(list.check("fe80::1%lo", "ipv6"));
}

TEST(BlockList, AddressesMatchExactly) {
  BlockList list;
  list.addAddress("123.123.123.123");
  list.addAddress("2001:db8::1", "ipv6");
  EXPECT_TRUE(list.check("123.123.123.123"));
  EXPECT_FALSE(list.check("123.123.123.122"));
  EXPECT_FALSE(list.check("123.123.123.124"));
  EXPECT_TRUE(list.check("2001:db8:0::1", "ipv6"));
  EXPECT_FALSE(list.check("2001:db8::2", "ipv6"));
}

TEST(BlockList, RangesIncludeBothEnds) {
  BlockList list;
  list.addRange("10.0.0.1", "10.0.0.10");
  list.addRange("2001:db8::1", "2001:db8::ff", "ipv6");
  EXPECT_FALSE(list.check("10.0.0.0"));
  EXPECT_TRUE(list.check("10.0.0.1"));
  EXPECT_TRUE(list.check("10.0.0.5"));
  EXPECT_TRUE(list.check("10.0.0.10"));
  EXPECT_FALSE(list.check("10.0.0.11"));
  EXPECT_FALSE(list.check("2001:db8::", "ipv6"));
  EXPECT_TRUE(list.check("2001:db8::1", "ipv6"));
  EXPECT_TRUE(list.check("2001:db8::ff", "ipv6"));
  EXPECT_FALSE(list.check("2001:db8::100", "ipv6"));

  BlockList single;
  single.addRange("10.0.0.1", "10.0.0.1");
  EXPECT_TRUE(single.check("10.0.0.1"));
  BlockList everything;
  everything.addRange("0.0.0.0", "255.255.255.255");
  everything.addRange("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ipv6");
  EXPECT_TRUE(everything.check("0.0.0.0"));
  EXPECT_TRUE(everything.check("255.255.255.255"));
  EXPECT_TRUE(everything.check("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ipv6"));
}

TEST(BlockList, SubnetsCoverExactlyTheirPrefix) {
  BlockList list;
  list.addSubnet("192.168.0.0", 16);
  list.addSubnet("8592:757c:efae:4e45::", 64, "ipv6");
  EXPECT_FALSE(list.check("192.167.255.255"));
  EXPECT_TRUE(list.check("192.168.0.0"));
  EXPECT_TRUE(list.check("192.168.255.255"));
  EXPECT_FALSE(list.check("192.169.0.0"));
  EXPECT_TRUE(list.check("8592:757c:efae:4e45:ffff:ffff:ffff:ffff", "ipv6"));
  EXPECT_FALSE(list.check("8592:757c:efae:4e46::", "ipv6"));
  EXPECT_FALSE(list.check("8592:757c:efae:4e44:ffff:ffff:ffff:ffff", "ipv6"));

  BlockList half;
  half.addSubnet("128.0.0.0", 1);  // a prefix that ends inside a byte
  EXPECT_FALSE(half.check("127.255.255.255"));
  EXPECT_TRUE(half.check("128.0.0.0"));
  BlockList odd;
  odd.addSubnet("10.0.0.64", 27);
  EXPECT_FALSE(odd.check("10.0.0.63"));
  EXPECT_TRUE(odd.check("10.0.0.95"));
  EXPECT_FALSE(odd.check("10.0.0.96"));
  BlockList all;
  all.addSubnet("0.0.0.0", 0);
  EXPECT_TRUE(all.check("255.255.255.255"));
  BlockList host;
  host.addSubnet("1.1.1.1", 32);
  EXPECT_TRUE(host.check("1.1.1.1"));
  EXPECT_FALSE(host.check("1.1.1.0"));
}

// Every row was checked with node: new BlockList, one rule, check(address, type).
struct CrossFamilyCase {
  const char* rule;  // "address X", "range X Y", "subnet X N", each followed by its type
  const char* ruleType;
  const char* address;
  const char* type;
  bool blocked;
};

void addRule(BlockList& list, const CrossFamilyCase& row) {
  std::string text = row.rule;
  std::vector<std::string> words;
  for (std::size_t start = 0, space; start < text.size(); start = space + 1) {
    space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    words.push_back(text.substr(start, space - start));
  }
  if (words[0] == "address") list.addAddress(words[1], row.ruleType);
  if (words[0] == "range") list.addRange(words[1], words[2], row.ruleType);
  if (words[0] == "subnet") list.addSubnet(words[1], std::stoi(words[2]), row.ruleType);
}

TEST(BlockList, Ipv4MappedAddressesAcrossFamiliesAsNodeDoes) {
  const CrossFamilyCase cases[] = {
      {"address 123.123.123.123", "ipv4", "::ffff:7b7b:7b7b", "ipv6", true},
      {"address 123.123.123.123", "ipv4", "::ffff:123.123.123.123", "ipv6", true},
      {"address 1.2.3.4", "ipv4", "0:0:0:0:0:ffff:0102:0304", "ipv6", true},
      {"address 1.2.3.4", "ipv4", "::FFFF:1.2.3.4", "ipv6", true},
      {"address 1.2.3.4", "ipv4", "::1.2.3.4", "ipv6", false},  // IPv4-compatible is not mapped
      {"address ::ffff:5.6.7.8", "ipv6", "5.6.7.8", "ipv4", true},
      {"address ::1.2.3.4", "ipv6", "1.2.3.4", "ipv4", false},
      {"address ::1", "ipv6", "0.0.0.1", "ipv4", false},
      {"range 10.0.0.1 10.0.0.10", "ipv4", "::ffff:10.0.0.5", "ipv6", true},
      {"range 10.0.0.1 10.0.0.10", "ipv4", "::ffff:10.0.0.11", "ipv6", false},
      {"range 0.0.0.0 255.255.255.255", "ipv4", "::1", "ipv6", false},
      {"range ::ffff:1.0.0.0 ::ffff:1.0.0.255", "ipv6", "1.0.0.7", "ipv4", true},
      {"range ::ffff:1.0.0.0 ::ffff:1.0.0.255", "ipv6", "1.0.1.7", "ipv4", false},
      {"range :: ffff::", "ipv6", "1.0.1.7", "ipv4", false},  // unmapped bounds: not comparable
      {"range ::ffff:1.0.0.0 ffff::", "ipv6", "1.0.0.7", "ipv4", false},
      {"range ::1 ::ffff:1.1.1.1", "ipv6", "::ffff:1.0.0.0", "ipv6", true},
      {"range ::1 ::ffff:1.1.1.1", "ipv6", "1.0.0.0", "ipv4", false},
      {"subnet 192.168.0.0 16", "ipv4", "::ffff:192.168.1.1", "ipv6", true},
      {"subnet 0.0.0.0 0", "ipv4", "::ffff:1.2.3.4", "ipv6", true},
      {"subnet 0.0.0.0 0", "ipv4", "::1", "ipv6", false},
      {"subnet 1.2.3.4 32", "ipv4", "::ffff:1.2.3.4", "ipv6", true},
      {"subnet ::ffff:0:0 96", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet ::ffff:1.2.0.0 112", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet ::ffff:1.2.0.0 112", "ipv6", "1.3.3.4", "ipv4", false},
      {"subnet :: 0", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet :: 8", "ipv6", "1.2.3.4", "ipv4", true},  // the mapped form starts with 8 zero bits
      {"subnet :: 96", "ipv6", "1.2.3.4", "ipv4", false},
      {"subnet ::ffff:0:0 95", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet 1:: 16", "ipv6", "1.2.3.4", "ipv4", false},
      {"subnet ::ffff:1.2.3.4 128", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet ::ffff:1.2.3.5 128", "ipv6", "1.2.3.4", "ipv4", false},
      {"subnet ::ffff:1.2.3.5 127", "ipv6", "1.2.3.4", "ipv4", true},
      {"subnet ::ffff:1.2.3.5 126", "ipv6", "1.2.3.8", "ipv4", false},
  };
  for (const auto& row : cases) {
    BlockList list;
    addRule(list, row);
    EXPECT_EQ(list.check(row.address, row.type), row.blocked)
        << row.rule << " (" << row.ruleType << ") vs " << row.address << " (" << row.type << ")";
  }
}

TEST(BlockList, CheckNeverThrowsAndBlocksNothingItCannotRead) {
  BlockList list;
  list.addAddress("1.1.1.1");
  list.addSubnet("::", 0, "ipv6");
  EXPECT_FALSE(list.check("nope"));
  EXPECT_FALSE(list.check("nope", "ipv6"));
  EXPECT_FALSE(list.check("01.1.1.1"));  // leading zeros are not dotted decimal
  EXPECT_FALSE(list.check("1.1.1.1", "ipv5"));
  EXPECT_FALSE(list.check("1.1.1.1", "ipv6"));  // not an IPv6 address
  EXPECT_FALSE(list.check("::1"));              // not an IPv4 address
  EXPECT_FALSE(list.check(""));
}

TEST(BlockList, BadRulesThrowNodesErrors) {
  BlockList list;
  auto expectError = [](const std::optional<Error>& error, const char* code, const char* message) {
    ASSERT_TRUE(error.has_value()) << code;
    EXPECT_EQ(error->code(), code);
    EXPECT_STREQ(error->what(), message);
  };
  const char* invalid = "Invalid socket address";
  expectError(thrownBy([&] { list.addAddress("300.1.1.1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("zz::", "ipv6"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("::1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("1.2.3.4", "ipv6"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress(""); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress(" 1.1.1.1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("01.1.1.1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("1.2.3.4%eth0"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addRange("x", "1.1.1.1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addRange("1.1.1.1", "y"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addRange("1.1.1.1", "::1"); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addSubnet("::", 64); }), "ERR_INVALID_ADDRESS", invalid);
  expectError(thrownBy([&] { list.addAddress("1.2.3.4", "ipv5"); }), "ERR_INVALID_ARG_VALUE",
              "The property 'options.family' is invalid. Received 'ipv5'");
  expectError(thrownBy([&] { list.addAddress("1.2.3.4", ""); }), "ERR_INVALID_ARG_VALUE",
              "The property 'options.family' is invalid. Received ''");
  expectError(thrownBy([&] { list.addRange("10.0.0.10", "10.0.0.1"); }), "ERR_INVALID_ARG_VALUE",
              "The argument 'start' must come before end. Received SocketAddress { address: '10.0.0.10', port: 0, "
              "family: 'ipv4', flowlabel: 0 }");
  expectError(thrownBy([&] { list.addRange("0:0::0002", "::1", "ipv6"); }), "ERR_INVALID_ARG_VALUE",
              "The argument 'start' must come before end. Received SocketAddress { address: '::2', port: 0, "
              "family: 'ipv6', flowlabel: 0 }");
  expectError(thrownBy([&] { list.addSubnet("1.1.1.1", 33); }), "ERR_OUT_OF_RANGE",
              "The value of \"prefix\" is out of range. It must be >= 0 && <= 32. Received 33");
  expectError(thrownBy([&] { list.addSubnet("1.1.1.1", -1); }), "ERR_OUT_OF_RANGE",
              "The value of \"prefix\" is out of range. It must be >= 0 && <= 32. Received -1");
  expectError(thrownBy([&] { list.addSubnet("::", 129, "ipv6"); }), "ERR_OUT_OF_RANGE",
              "The value of \"prefix\" is out of range. It must be >= 0 && <= 128. Received 129");
  EXPECT_TRUE(list.rules().empty());  // nothing half-added
}

TEST(BlockList, ChecksSocketAddressesTheSystemGives) {
  BlockList list;
  list.addAddress("127.0.0.2");
  EXPECT_TRUE(list.check(*SocketAddress::fromIp("127.0.0.2", 80)));
  EXPECT_TRUE(list.check(*SocketAddress::fromIp("::ffff:127.0.0.2", 80)));  // a dual-stack peer
  EXPECT_FALSE(list.check(*SocketAddress::fromIp("127.0.0.1", 80)));
  EXPECT_FALSE(list.check(SocketAddress::fromPath("/tmp/some.sock")));
  EXPECT_FALSE(list.check(SocketAddress()));
}

// --- ServerOptions::blockList ---------------------------------------------------------------------

// A blocking client from `from` (any 127/8 address is loopback on Linux) to `to`:port.
Fd connectFrom(const char* from, const char* to, int port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, from, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, to, &remote.sin_addr);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0 ||
      connect(fd.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0) {
    return Fd();
  }
  return fd;
}

// Whether the peer closed the connection (EOF or reset) within 5 s; poll()s, never sleeps.
bool seesConnectionClosed(const Fd& fd) {
  pollfd watched{fd.get(), POLLIN, 0};
  if (poll(&watched, 1, 5000) != 1) return false;
  char byte;
  const ssize_t n = recv(fd.get(), &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

struct Refusals {
  std::vector<std::shared_ptr<Socket>> connections;
  std::vector<DropInfo> drops;
};

std::shared_ptr<Server> recordingServer(reactor::Loop& loop, std::shared_ptr<const BlockList> blockList,
                                        Refusals& seen) {
  ServerOptions options;
  options.blockList = std::move(blockList);
  auto server = Server::create(loop, options, [&seen](std::shared_ptr<Socket> socket) {
    seen.connections.push_back(std::move(socket));
  });
  server->on("drop", [&seen](const DropInfo& info) { seen.drops.push_back(info); });
  return server;
}

void closeAndWait(reactor::Loop& loop, Refusals& seen, Server& server) {
  for (auto& socket : seen.connections) socket->destroy();
  bool closed = false;
  server.close([&](const Error*) { closed = true; });
  EXPECT_TRUE(runUntil(loop, [&] { return closed; }));
}

TEST(ServerBlockList, BlockedClientIsClosedWithoutConnectionAndOthersAreServed) {
  reactor::Loop loop;
  auto blockList = std::make_shared<BlockList>();
  blockList->addAddress("127.0.0.2");
  Refusals seen;
  auto server = recordingServer(loop, blockList, seen);
  server->listen(0, "127.0.0.1");
  const int port = server->address().port;

  Fd blocked = connectFrom("127.0.0.2", "127.0.0.1", port);
  ASSERT_GE(blocked.get(), 0);
  const char hello[] = "hello";
  ASSERT_EQ(send(blocked.get(), hello, sizeof hello, MSG_NOSIGNAL), static_cast<ssize_t>(sizeof hello));
  ASSERT_TRUE(runUntil(loop, [&] { return seen.drops.size() == 1; }));
  EXPECT_TRUE(seen.connections.empty());
  EXPECT_EQ(seen.drops[0].reason, "blockList");
  EXPECT_EQ(seen.drops[0].remoteAddress, "127.0.0.2");
  EXPECT_EQ(seen.drops[0].remoteFamily, "IPv4");
  EXPECT_EQ(seen.drops[0].localAddress, "127.0.0.1");
  EXPECT_EQ(seen.drops[0].localPort, port);
  EXPECT_TRUE(seesConnectionClosed(blocked));

  Fd allowed = connectFrom("127.0.0.1", "127.0.0.1", port);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.connections.size() == 1; }));
  EXPECT_EQ(seen.connections[0]->remoteAddress(), "127.0.0.1");
  EXPECT_EQ(seen.drops.size(), 1u);

  // The server shares the program's list: a rule added later applies to later connections.
  blockList->addSubnet("127.0.0.0", 8);
  Fd nowBlocked = connectFrom("127.0.0.1", "127.0.0.1", port);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.drops.size() == 2; }));
  EXPECT_EQ(seen.connections.size(), 1u);
  EXPECT_TRUE(seesConnectionClosed(nowBlocked));
  closeAndWait(loop, seen, *server);
}

TEST(ServerBlockList, Ipv4RuleBlocksAnIpv4ClientOfADualStackServer) {
  reactor::Loop loop;
  auto blockList = std::make_shared<BlockList>();
  blockList->addAddress("127.0.0.2");
  Refusals seen;
  auto server = recordingServer(loop, blockList, seen);
  server->listen(0);
  if (server->address().family != "IPv6") {
    closeAndWait(loop, seen, *server);
    GTEST_SKIP() << "no IPv6 on this machine: the server is not dual-stack";
  }
  const int port = server->address().port;
  Fd blocked = connectFrom("127.0.0.2", "127.0.0.1", port);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.drops.size() == 1; }));
  EXPECT_EQ(seen.drops[0].remoteAddress, "::ffff:127.0.0.2");  // as Node reports it, and checks it
  EXPECT_EQ(seen.drops[0].reason, "blockList");
  EXPECT_TRUE(seesConnectionClosed(blocked));
  Fd allowed = connectFrom("127.0.0.1", "127.0.0.1", port);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.connections.size() == 1; }));
  closeAndWait(loop, seen, *server);
}

TEST(ServerBlockList, BlockedBeforeMaxConnectionsAndUnixClientsPass) {
  reactor::Loop loop;
  auto blockList = std::make_shared<BlockList>();
  blockList->addSubnet("0.0.0.0", 0);
  Refusals seen;
  auto server = recordingServer(loop, blockList, seen);
  server->setMaxConnections(0);
  server->listen(0, "127.0.0.1");
  Fd client = connectFrom("127.0.0.1", "127.0.0.1", server->address().port);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.drops.size() == 1; }));
  EXPECT_EQ(seen.drops[0].reason, "blockList");
  closeAndWait(loop, seen, *server);

  // A unix-domain peer has no IP address: the list does not apply.
  const std::string path = "/tmp/net-block-list-test-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  Refusals unixSeen;
  auto unixServer = recordingServer(loop, blockList, unixSeen);
  unixServer->listen(path);
  ConnectOptions toPath;
  toPath.path = path;
  auto unixClient = createConnection(loop, toPath);
  ASSERT_TRUE(runUntil(loop, [&] { return unixSeen.connections.size() == 1; }));
  EXPECT_TRUE(unixSeen.drops.empty());
  unixClient->destroy();
  closeAndWait(loop, unixSeen, *unixServer);
}

}  // namespace
}  // namespace net
