// Node's isIPv4/isIPv6 as a second, independent implementation: a direct reading of the regular
// expressions in Node 20's lib/internal/net.js (canonical dotted decimal; eight groups of 1-4 hex
// digits, or fewer with one "::" standing for at least one zero group, the last two groups
// optionally written as dotted decimal; an optional zone "%[0-9a-zA-Z-.:]+"). The address fuzz
// target compares net::isIPv4/isIPv6 with these on every input, so any disagreement with Node is
// a finding. Deliberately shares no code with net/address.cc.
#pragma once

#include <string_view>

namespace fuzz {

bool nodeIsIPv4(std::string_view text);
bool nodeIsIPv6(std::string_view text);

}  // namespace fuzz
