// Reading the one JSON object netload prints as its last line, and writing JSON strings.
//
// netload's object holds numbers, strings and one nested object (latency_us). The reader checks
// the whole text against JSON's grammar and keeps the numbers, nested keys joined with a dot
// ("latency_us.p99"), so that the rest of the driver looks a field up by name and never deals
// with JSON's structure. The text itself is kept by the caller and copied verbatim into
// results.json, which is why nothing but the numbers is needed here.
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace compare {

using Fields = std::map<std::string, double, std::less<>>;

// The numbers of the JSON object `text`, or nullopt with `error` set when it is not one JSON
// object (with nothing after it but spaces).
std::optional<Fields> readNumberFields(std::string_view text, std::string& error);

// `text` as a JSON string literal, quotes included.
void writeJsonString(std::ostream& out, std::string_view text);

}  // namespace compare
