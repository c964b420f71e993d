// Fuzz target: the socket API driven by the input. Two net::Sockets over one connected pair (unix
// or TCP loopback) on one reactor::Loop receive a sequence of writes, ends, destroys, pauses,
// resumes, timeouts, re-entrant listeners added and removed, dropped pointers and bounded loop
// runs. Checks that bytes arrive in order as a prefix of what was written, that 'close' comes once
// and last, that every write callback runs once and in write order, that the loop stops, and that
// no socket object or descriptor outlives the input. fuzz/socket_driver.h describes the input and
// every invariant.
#include <cstddef>
#include <cstdint>

#include "fuzz/socket_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::exploreSocketInput({data, size});
  return 0;
}
