#include "fuzz/node_ip_grammar.h"

#include <cstddef>

namespace fuzz {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool isZoneCharacter(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == ':';
}

// One part of v4Seg: 0-255, one to three digits, no leading zero.
bool isDecimalOctet(std::string_view part) {
  if (part.empty() || part.size() > 3) return false;
  for (char c : part) {
    if (!isDigit(c)) return false;
  }
  if (part.size() > 1 && part[0] == '0') return false;
  int value = 0;
  for (char c : part) value = value * 10 + (c - '0');
  return value <= 255;
}

bool isHexGroup(std::string_view group) {
  if (group.empty() || group.size() > 4) return false;
  for (char c : group) {
    if (!isHexDigit(c)) return false;
  }
  return true;
}

// How many 16-bit groups the colon-separated `run` spells (a dotted-decimal tail counts two, and
// only where `mayEndInIPv4`); -1 if it is malformed. An empty run is zero groups.
int countGroups(std::string_view run, bool mayEndInIPv4) {
  if (run.empty()) return 0;
  int groups = 0;
  while (true) {
    const std::size_t colon = run.find(':');
    const std::string_view group = run.substr(0, colon);
    if (colon == std::string_view::npos) {
      if (isHexGroup(group)) return groups + 1;
      if (mayEndInIPv4 && nodeIsIPv4(group)) return groups + 2;
      return -1;
    }
    if (!isHexGroup(group)) return -1;
    ++groups;
    run.remove_prefix(colon + 1);
  }
}

}  // namespace

bool nodeIsIPv4(std::string_view text) {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    const bool last = part == 3;
    if (last != (dot == std::string_view::npos)) return false;
    if (!isDecimalOctet(text.substr(0, dot))) return false;
    if (!last) text.remove_prefix(dot + 1);
  }
  return true;
}

bool nodeIsIPv6(std::string_view text) {
  if (const std::size_t percent = text.find('%'); percent != std::string_view::npos) {
    const std::string_view zone = text.substr(percent + 1);
    if (zone.empty()) return false;
    for (char c : zone) {
      if (!isZoneCharacter(c)) return false;
    }
    text = text.substr(0, percent);
  }
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) return countGroups(text, true) == 8;
  if (text.find("::", gap + 1) != std::string_view::npos) return false;
  const int head = countGroups(text.substr(0, gap), false);
  const int tail = countGroups(text.substr(gap + 2), true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

}  // namespace fuzz
