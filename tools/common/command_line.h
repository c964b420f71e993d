// What the command-line tools share to read their arguments: strict, range-checked numbers and
// getopt_long's error cases turned into one message each, and the project's version.
//
// The tools parse with getopt_long (so "--port=9000", "--port 9000" and "-p 9000" all work) with
// an optstring that starts with ':' and opterr = 0, and hand getopt_long's '?' and ':' results to
// getoptError(), which names the option as the user wrote it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tools {

// The project's version, printed by every tool's --version (and the installed libraries' version,
// which the Makefile reads from this line).
inline constexpr const char* kVersion = "0.1.0";

// A whole number of decimal digits only (no sign, no blanks, no suffix) within [min, max];
// nothing when empty, not a number, negative, or out of range (overflow included).
std::optional<std::uint64_t> wholeNumber(std::string_view text, std::uint64_t min,
                                         std::uint64_t max);

// A decimal number such as "2", "0.5" or ".25" (digits and at most one point; no sign, exponent,
// "inf" or "nan") within [min, max].
std::optional<double> decimalNumber(std::string_view text, double min, double max);

// The message for getopt_long's '?' (unknown option) or ':' (option without its value), naming the
// option as it appeared in argv.
std::string getoptError(int result, char** argv);

// "NAME (reactornet) VERSION" on stdout.
void printVersion(const char* program);

}  // namespace tools
