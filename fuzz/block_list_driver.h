// What the BlockList fuzz target does with one input, shared by the libFuzzer entry point
// (fuzz/block_list_fuzzer.cc) and the regression test that replays the corpus under g++
// (tests/fuzz_regressions_test.cc).
//
// The input is a program on one net::BlockList: addAddress, addRange, addSubnet and check, with
// type arguments "ipv4", "ipv6", odd cases of them or arbitrary text, prefixes from -16 to 239, and
// addresses that are either raw text from the input or 4/16 input bytes formatted as an address
// (so that most rules are valid and their matching logic is reached). Invariants (a violation
// traps, fuzz/invariant.h):
//  - add* either adds exactly one rule, listed first by rules() under its kind, or throws a
//    net::Error with one of Node's codes for it and adds nothing; check() never throws;
//  - a rule blocks what it was made from: an address itself, a range both its ends, a subnet its
//    network address;
//  - adding rules never unblocks an address that was blocked;
//  - check(text, type) agrees with check(SocketAddress) for every address valid for its type.
#pragma once

#include <cstdint>
#include <span>

namespace fuzz {

void exploreBlockListInput(std::span<const std::uint8_t> input);

}  // namespace fuzz
