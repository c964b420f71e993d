#include "net/block_list.h"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "net/error.h"

namespace net {

namespace {

// "ipv4" -> false, "ipv6" -> true, in any case; nullopt for anything else.
std::optional<bool> readType(std::string_view type) {
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "ipv4") return false;
  if (lower == "ipv6") return true;
  return std::nullopt;
}

bool requireType(std::string_view type) {
  if (auto v6 = readType(type)) return *v6;
  throw Error("ERR_INVALID_ARG_VALUE", "The property 'options.family' is invalid. Received '" + std::string(type) + "'");
}

Error invalidAddress() { return Error("ERR_INVALID_ADDRESS", "Invalid socket address"); }

std::string familyName(bool v6) { return v6 ? "IPv6" : "IPv4"; }

enum class Order { kLess, kSame, kGreater, kIncomparable };

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// The comparisons Node's block list makes: within a family byte by byte; across families only
// through an IPv4-mapped IPv6 address, compared by its IPv4 part.
Order compare(const std::uint8_t* a, bool aV6, const std::uint8_t* b, bool bV6) {
  if (aV6 != bV6) {
    const std::uint8_t* v6 = aV6 ? a : b;
    if (std::memcmp(v6, kMappedPrefix, sizeof kMappedPrefix) != 0) return Order::kIncomparable;
    if (aV6) a += 12;
    if (bV6) b += 12;
  }
  const int sign = std::memcmp(a, b, aV6 && bV6 ? 16 : 4);
  return sign < 0 ? Order::kLess : sign > 0 ? Order::kGreater : Order::kSame;
}

// Whether the first `bits` bits of `a` and `b` agree.
bool samePrefix(const std::uint8_t* a, const std::uint8_t* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, static_cast<std::size_t>(whole)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<BlockList::Ip> BlockList::ipOf(const SocketAddress& address) {
  Ip ip;
  if (address.family() == AF_INET) {
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr, 4);
  } else if (address.family() == AF_INET6) {
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr, 16);
  } else {
    return std::nullopt;
  }
  return ip;
}

BlockList::Ip BlockList::parse(std::string_view text, bool v6, std::string* canonical) {
  const bool ofFamily = v6 ? isIPv6(text) : isIPv4(text);
  std::optional<SocketAddress> address = ofFamily ? SocketAddress::fromIp(text, 0) : std::nullopt;
  if (!address) throw invalidAddress();
  if (canonical != nullptr) *canonical = address->info().address;
  return *ipOf(*address);
}

bool BlockList::matches(const Rule& rule, const Ip& address) {
  const std::uint8_t* candidate = address.bytes.data();
  switch (rule.kind) {
    case Kind::kAddress:
      return compare(candidate, address.v6, rule.first.bytes.data(), rule.first.v6) == Order::kSame;
    case Kind::kRange: {
      const Order fromStart = compare(candidate, address.v6, rule.first.bytes.data(), rule.first.v6);
      const Order toEnd = compare(candidate, address.v6, rule.last.bytes.data(), rule.last.v6);
      return (fromStart == Order::kSame || fromStart == Order::kGreater) &&
             (toEnd == Order::kSame || toEnd == Order::kLess);
    }
    case Kind::kSubnet:
      if (rule.first.v6 == address.v6) return samePrefix(candidate, rule.first.bytes.data(), rule.prefix);
      if (rule.first.v6) {
        // An IPv4 address against an IPv6 network: its mapped form.
        std::uint8_t mapped[16];
        std::memcpy(mapped, kMappedPrefix, sizeof kMappedPrefix);
        std::memcpy(mapped + 12, candidate, 4);
        return samePrefix(mapped, rule.first.bytes.data(), rule.prefix);
      }
      // An IPv6 address against an IPv4 network: only a mapped one, by its IPv4 part.
      return std::memcmp(candidate, kMappedPrefix, sizeof kMappedPrefix) == 0 &&
             samePrefix(candidate + 12, rule.first.bytes.data(), rule.prefix);
  }
  return false;
}

void BlockList::addAddress(std::string_view address, std::string_view type) {
  const bool v6 = requireType(type);
  std::string text;
  Rule rule{Kind::kAddress, parse(address, v6, &text), {}, 0, {}};
  rule.description = "Address: " + familyName(v6) + " " + text;
  rules_.push_back(std::move(rule));
}

void BlockList::addRange(std::string_view start, std::string_view end, std::string_view type) {
  const bool v6 = requireType(type);
  std::string startText, endText;
  Rule rule{Kind::kRange, parse(start, v6, &startText), parse(end, v6, &endText), 0, {}};
  if (compare(rule.first.bytes.data(), v6, rule.last.bytes.data(), v6) == Order::kGreater) {
    throw Error("ERR_INVALID_ARG_VALUE", "The argument 'start' must come before end. Received SocketAddress { address: '" +
                                             startText + "', port: 0, family: '" + (v6 ? "ipv6" : "ipv4") +
                                             "', flowlabel: 0 }");
  }
  rule.description = "Range: " + familyName(v6) + " " + startText + "-" + endText;
  rules_.push_back(std::move(rule));
}

void BlockList::addSubnet(std::string_view network, int prefix, std::string_view type) {
  const bool v6 = requireType(type);
  std::string text;
  Rule rule{Kind::kSubnet, parse(network, v6, &text), {}, prefix, {}};  // Node checks the address first
  const int maxPrefix = v6 ? 128 : 32;
  if (prefix < 0 || prefix > maxPrefix) {
    throw Error("ERR_OUT_OF_RANGE", "The value of \"prefix\" is out of range. It must be >= 0 && <= " +
                                        std::to_string(maxPrefix) + ". Received " + std::to_string(prefix));
  }
  rule.description = "Subnet: " + familyName(v6) + " " + text + "/" + std::to_string(prefix);
  rules_.push_back(std::move(rule));
}

bool BlockList::check(std::string_view address, std::string_view type) const {
  const std::optional<bool> v6 = readType(type);
  if (!v6 || !(*v6 ? isIPv6(address) : isIPv4(address))) return false;
  const Ip ip = parse(address, *v6, nullptr);
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& rule) { return matches(rule, ip); });
}

bool BlockList::check(const SocketAddress& address) const {
  const std::optional<Ip> ip = ipOf(address);
  return ip && std::any_of(rules_.begin(), rules_.end(), [&](const Rule& rule) { return matches(rule, *ip); });
}

std::vector<std::string> BlockList::rules() const {
  std::vector<std::string> descriptions;
  descriptions.reserve(rules_.size());
  for (auto rule = rules_.rbegin(); rule != rules_.rend(); ++rule) descriptions.push_back(rule->description);
  return descriptions;
}

}  // namespace net
