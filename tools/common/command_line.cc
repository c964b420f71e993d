#include "tools/common/command_line.h"

#include <getopt.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tools {

std::optional<std::uint64_t> wholeNumber(std::string_view text, std::uint64_t min,
                                         std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t number = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (number > (UINT64_MAX - digit) / 10) return std::nullopt;
    number = number * 10 + digit;
  }
  if (number < min || number > max) return std::nullopt;
  return number;
}

std::optional<double> decimalNumber(std::string_view text, double min, double max) {
  bool digit = false;
  bool point = false;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digit || text.size() > 64) return std::nullopt;
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  const double number = std::strtod(copy.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(number) || number < min || number > max) {
    return std::nullopt;
  }
  return number;
}

std::string getoptError(int result, char** argv) {
  // optind has moved past the argument getopt_long was looking at (for a missing value too).
  const std::string written = optind > 0 ? argv[optind - 1] : "";
  const bool shortOption = optopt > 0 && optopt < 128 && !written.starts_with("--");
  const std::string name = shortOption ? std::string("-") + static_cast<char>(optopt)
                                       : written.substr(0, written.find('='));
  if (result == ':') return name + " needs a value";
  if (!shortOption && written.starts_with("--") && written.find('=') != std::string::npos) {
    return "unknown option " + name + ", or one that takes no value";
  }
  return "unknown option " + name;
}

void printVersion(const char* program) {
  std::printf("%s (reactornet) %s\n", program, kVersion);
}

}  // namespace tools
