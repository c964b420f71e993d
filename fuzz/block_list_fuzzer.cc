// Fuzz target: net::BlockList (net/block_list.h). Explores rule parsing (addAddress, addRange,
// addSubnet with their type and prefix arguments) and check() on raw and well-formed IPv4/IPv6
// text, and checks that rules are added exactly when no net::Error is thrown, that each rule blocks
// the addresses it was made from, that more rules never unblock an address, and that checking text
// and checking a SocketAddress agree. fuzz/block_list_driver.h describes the input and invariants.
#include <cstddef>
#include <cstdint>

#include "fuzz/block_list_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::exploreBlockListInput({data, size});
  return 0;
}
