// Numbers as the reports print them: about three significant figures for measurements, two
// decimals for ratios, and the shortest exact text for the durations handed to netload.
#pragma once

#include <optional>
#include <string>

namespace compare {

// "1234567", "123", "12.3", "1.23"; "-" when there is no value.
std::string formatValue(std::optional<double> value);
// " ±4%" (a spread of 0.04), " ±0.5%" below 1 %; empty when there is none.
std::string formatSpread(std::optional<double> spread);
// "0.97x"; "-" when there is no value.
std::string formatRatio(std::optional<double> ratio);
// "0.5", "2", "0.05": a command-line argument.
std::string formatArgument(double value);

}  // namespace compare
