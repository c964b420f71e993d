// net::BlockList: Node's net.BlockList, a list of rules (single addresses, inclusive ranges and
// subnets, IPv4 or IPv6) that an address is checked against. A server refuses connections from
// the addresses its ServerOptions::blockList matches.
//
// Families: every method takes Node's type argument, "ipv4" (the default) or "ipv6", in any case.
// IPv4 and IPv6 meet through IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), exactly as in Node:
//  - an address rule matches the same address written in the other family (1.2.3.4 and
//    ::ffff:1.2.3.4 match each other, whichever is the rule);
//  - a range compares an address of the other family only when the IPv6 side is mapped: an IPv4
//    address is inside an IPv6 range only if both bounds are mapped addresses around it;
//  - an IPv4 subnet contains a mapped IPv6 address whose IPv4 part it contains; an IPv6 subnet
//    contains an IPv4 address whose mapped form it contains (so ::/8 contains every IPv4 address,
//    as in Node).
// A zone index ("fe80::1%eth0") is accepted and ignored.
//
// Errors, Node's: an address that is not a valid address of the given type throws net::Error
// ERR_INVALID_ADDRESS, an unknown type ERR_INVALID_ARG_VALUE, a range whose start is after its end
// ERR_INVALID_ARG_VALUE, a prefix outside 0..32 (0..128) ERR_OUT_OF_RANGE. check() never throws: an
// address or type it cannot read is simply not blocked (false), as in Node.
//
// Threading: a plain value with no synchronisation. A server reads it on its loop's thread when a
// connection arrives, so rules may be added while the server runs only on that thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.h"

namespace net {

class BlockList {
 public:
  // Blocks one address.
  void addAddress(std::string_view address, std::string_view type = "ipv4");
  // Blocks every address from `start` to `end`, both included.
  void addRange(std::string_view start, std::string_view end, std::string_view type = "ipv4");
  // Blocks the addresses whose first `prefix` bits are those of `network` (its other bits are
  // ignored: 10.1.2.3/8 is 10.0.0.0/8, and is listed as given, as Node does).
  void addSubnet(std::string_view network, int prefix, std::string_view type = "ipv4");

  // Whether any rule matches the address.
  bool check(std::string_view address, std::string_view type = "ipv4") const;
  // The same for an address the system produced (a connection's peer); false for a unix-domain one.
  bool check(const SocketAddress& address) const;

  // The rules, newest first, as Node prints them: "Address: IPv4 1.2.3.4",
  // "Range: IPv6 ::1-::ff", "Subnet: IPv4 10.0.0.0/8"; addresses in canonical form.
  std::vector<std::string> rules() const;

 private:
  struct Ip {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // an IPv4 address uses the first 4
    std::size_t size() const { return v6 ? 16 : 4; }
  };
  enum class Kind : std::uint8_t { kAddress, kRange, kSubnet };
  struct Rule {
    Kind kind;
    Ip first;       // the address, the range's start, or the network
    Ip last;        // the range's end
    int prefix = 0; // the subnet's prefix length
    std::string description;
  };

  // The address of an IPv4 or IPv6 SocketAddress; nullopt for any other family.
  static std::optional<Ip> ipOf(const SocketAddress& address);
  // Throws ERR_INVALID_ADDRESS unless `text` is an address of `family`; also gives its canonical text.
  static Ip parse(std::string_view text, bool v6, std::string* canonical);
  static bool matches(const Rule& rule, const Ip& address);

  std::vector<Rule> rules_;  // oldest first
};

}  // namespace net
