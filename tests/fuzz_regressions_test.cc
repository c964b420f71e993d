// The fuzz targets' drivers (fuzz/*_driver.h) under the normal build: every committed corpus file
// (fuzz/corpus/<target>/) is replayed through its driver, and the inputs with which the fuzzers
// found bugs are replayed by name below. A broken invariant traps with its message and the input's
// name, as under libFuzzer. The corpus is found from this file's path, so the suite runs from the
// checkout's root (as `make test` does).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/address_driver.h"
#include "fuzz/block_list_driver.h"
#include "fuzz/invariant.h"
#include "fuzz/socket_driver.h"

namespace {

using Driver = void (*)(std::span<const std::uint8_t>);

std::span<const std::uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::filesystem::path corpusOf(std::string_view target) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus" / target;
}

// Replays every file of the target's committed corpus; returns how many.
int replayCorpus(std::string_view target, Driver driver) {
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpusOf(target))) {
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string input{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    const std::string name = entry.path().string();
    const fuzz::ReplayLabel label(name.c_str());
    driver(bytesOf(input));
    ++replayed;
  }
  return replayed;
}

// An address input: the port (8 bytes, little-endian), a socklen (2 bytes), then the text.
std::string addressInput(std::string_view text) { return std::string(10, '\0') + std::string(text); }

struct Regression {
  const char* found;  // what the fuzzer found, fixed since
  Driver driver;
  std::string input;
};

const Regression kRegressions[] = {
    {"isIPv6 took an address with a NUL inside for the part before the NUL (inet_pton reads a C string)",
     fuzz::exploreAddressInput, addressInput(std::string_view("::1\0x", 5))},
    {"isIPv6 took any zone index; Node's is letters, digits, '-', '.' and ':' only", fuzz::exploreAddressInput,
     addressInput("fe80::1%a b")},
    // Both ends without a 'data' listener; A writes a byte, B keeps it unread; B is destroyed and
    // closes; then a 'data' listener on B got the kept byte, after 'close'.
    {"a socket destroyed with unread data emitted it after 'close' to a 'data' listener added later",
     fuzz::exploreSocketInput, std::string("\xc0\x00\x00\x01\x6b\x32\x2b\x1e", 8)},
    {"a write callback that destroyed the socket kept the later writes sent by the same sendmsg from "
     "ever hearing back",
     fuzz::exploreSocketInput, std::string("\x02\x00\x60\xff\x04\x20\x0a\xa0\x0a", 9) + std::string(40, '\x6b')},
};

TEST(FuzzRegressions, InputsThatOnceBrokeAnInvariantNoLongerDo) {
  for (const Regression& regression : kRegressions) {
    const fuzz::ReplayLabel label(regression.found);
    regression.driver(bytesOf(regression.input));
  }
}

TEST(FuzzCorpus, EveryAddressInputKeepsItsInvariants) {
  EXPECT_GE(replayCorpus("address", fuzz::exploreAddressInput), 5);
}

TEST(FuzzCorpus, EveryBlockListInputKeepsItsInvariants) {
  EXPECT_GE(replayCorpus("block_list", fuzz::exploreBlockListInput), 5);
}

TEST(FuzzCorpus, EverySocketInputKeepsItsInvariants) {
  EXPECT_GE(replayCorpus("socket", fuzz::exploreSocketInput), 5);
}

}  // namespace
