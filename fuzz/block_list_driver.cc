#include "fuzz/block_list_driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/byte_reader.h"
#include "fuzz/invariant.h"
#include "net/address.h"
#include "net/block_list.h"
#include "net/error.h"

namespace fuzz {

namespace {

constexpr int kMaxCalls = 64;
constexpr std::size_t kMaxProbes = 32;

struct Address {
  std::string text;
  std::string type;
};

// Byte: bit 7 set, a well-formed address from the next 4 (bit 6 clear) or 16 bytes, written in
// lower or upper case (bit 5), with a zone (bit 4); clear, raw text of (byte & 0x3f) bytes. The
// type follows: "ipv4"/"ipv6" as the address's family suggests, another case of them, the other
// family, or up to 5 raw bytes.
Address readAddress(ByteReader& input) {
  const std::uint8_t how = input.byte();
  Address address;
  bool v6 = false;
  if (how & 0x80) {
    v6 = (how & 0x40) != 0;
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < (v6 ? 16u : 4u); ++i) bytes[i] = input.byte();
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    address.text = text;
    if (how & 0x20) {
      for (char& c : address.text) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
    }
    if (v6 && (how & 0x10)) address.text += "%eth0";
  } else {
    for (std::size_t i = 0, length = how & 0x3fu; i < length && !input.empty(); ++i) {
      address.text += static_cast<char>(input.byte());
    }
    v6 = net::isIPv6(address.text);
  }
  switch (input.byte() % 8) {
    case 0: address.type = "IPv6"; break;
    case 1: address.type = "IPV4"; break;
    case 2: address.type = v6 ? "ipv4" : "ipv6"; break;
    case 3:
      for (int i = 0, length = input.byte() % 6; i < length; ++i) address.type += static_cast<char>(input.byte());
      break;
    default: address.type = v6 ? "ipv6" : "ipv4"; break;
  }
  return address;
}

bool validFor(const Address& address) {
  std::string lower;
  for (char c : address.type) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "ipv4") return net::isIPv4(address.text);
  if (lower == "ipv6") return net::isIPv6(address.text);
  return false;
}

class Program {
 public:
  void run(ByteReader& input) {
    for (int n = 0; n < kMaxCalls && !input.empty(); ++n) call(input);
  }

 private:
  void call(ByteReader& input) {
    const std::uint8_t code = input.byte();
    switch (code % 4) {
      case 0: {
        const Address address = readAddress(input);
        if (add([&] { list_.addAddress(address.text, address.type); }, "Address: ")) {
          FUZZ_CHECK(list_.check(address.text, address.type));
        }
        break;
      }
      case 1: {
        const Address start = readAddress(input);
        const Address end = readAddress(input);
        if (add([&] { list_.addRange(start.text, end.text, start.type); }, "Range: ")) {
          FUZZ_CHECK(list_.check(start.text, start.type) && list_.check(end.text, start.type));
        }
        break;
      }
      case 2: {
        const Address network = readAddress(input);
        const int prefix = static_cast<int>(input.byte()) - 16;
        if (add([&] { list_.addSubnet(network.text, prefix, network.type); }, "Subnet: ")) {
          FUZZ_CHECK(list_.check(network.text, network.type));
        }
        break;
      }
      case 3:
        probe(readAddress(input));
        break;
    }
  }

  // Runs one add*; checks that it added exactly one rule of `kind`, or threw one of Node's errors
  // and added nothing; and that what was blocked stays blocked. Returns whether it added.
  template <class Add>
  bool add(Add&& addRule, std::string_view kind) {
    const std::size_t before = list_.rules().size();
    bool added = true;
    try {
      addRule();
    } catch (const net::Error& error) {
      FUZZ_CHECK(error.code() == "ERR_INVALID_ADDRESS" || error.code() == "ERR_INVALID_ARG_VALUE" ||
                 error.code() == "ERR_OUT_OF_RANGE");
      added = false;
    }
    const std::vector<std::string> rules = list_.rules();
    FUZZ_CHECK(rules.size() == before + (added ? 1 : 0));
    if (added) FUZZ_CHECK(rules.front().starts_with(kind));
    for (const Address& blocked : blocked_) FUZZ_CHECK(list_.check(blocked.text, blocked.type));
    return added;
  }

  void probe(const Address& address) {
    const bool blocked = list_.check(address.text, address.type);
    if (validFor(address)) {
      const std::optional<net::SocketAddress> socketAddress = net::SocketAddress::fromIp(address.text, 0);
      FUZZ_CHECK(socketAddress.has_value());
      FUZZ_CHECK(list_.check(*socketAddress) == blocked);
    } else {
      FUZZ_CHECK(!blocked);
    }
    if (blocked && blocked_.size() < kMaxProbes) blocked_.push_back(address);
  }

  net::BlockList list_;
  std::vector<Address> blocked_;  // addresses seen blocked, which must stay so
};

}  // namespace

void exploreBlockListInput(std::span<const std::uint8_t> input) {
  ByteReader reader(input);
  Program program;
  program.run(reader);
}

}  // namespace fuzz
