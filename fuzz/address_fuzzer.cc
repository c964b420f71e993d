// Fuzz target: address and host parsing (net/address.h). Explores isIP/isIPv4/isIPv6,
// validatePort, SocketAddress::fromIp/fromPath/fromSockaddr/setPort/info on arbitrary bytes, and
// checks that the classification matches Node's grammar, that parsed addresses format back to text
// naming the same address, and that nothing throws but the documented net::Error.
// fuzz/address_driver.h describes the input layout and every invariant.
#include <cstddef>
#include <cstdint>

#include "fuzz/address_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::exploreAddressInput({data, size});
  return 0;
}
