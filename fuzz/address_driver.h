// What the address fuzz target does with one input, shared by the libFuzzer entry point
// (fuzz/address_fuzzer.cc) and the regression test that replays the corpus under g++
// (tests/fuzz_regressions_test.cc).
//
// The input is a port (8 bytes), a socklen (2 bytes), then text. Every function of net/address.h
// that takes user text or numbers runs on it, and a broken invariant traps (fuzz/invariant.h):
//  - isIP/isIPv4/isIPv6 agree with each other and with Node's own grammar (fuzz/node_ip_grammar.h);
//  - validatePort throws net::Error ERR_SOCKET_BAD_PORT exactly outside 0..65535;
//  - SocketAddress::fromIp accepts exactly what isIP accepts, and the address it makes formats
//    back (info()) to text that parses to the same address, family and port;
//  - fromPath throws net::Error exactly for an empty path or one too long for sun_path;
//  - fromSockaddr copies any bytes safely and info() of the copy never reads outside it.
// Any exception other than the net::Error a function documents escapes and fails the run.
#pragma once

#include <cstdint>
#include <span>

namespace fuzz {

void exploreAddressInput(std::span<const std::uint8_t> input);

}  // namespace fuzz
