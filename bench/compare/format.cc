#include "bench/compare/format.h"

#include <cmath>
#include <cstdio>

namespace compare {

std::string formatValue(std::optional<double> value) {
  if (!value) return "-";
  const double magnitude = std::fabs(*value);
  const int decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, *value);
  return text;
}

std::string formatSpread(std::optional<double> spread) {
  if (!spread) return "";
  const double percent = *spread * 100;
  char text[64];
  std::snprintf(text, sizeof text, " \u00b1%.*f%%", percent < 1 ? 1 : 0, percent);
  return text;
}

std::string formatRatio(std::optional<double> ratio) {
  if (!ratio) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.2fx", *ratio);
  return text;
}

std::string formatArgument(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace compare
