#include "bench/compare/json_fields.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace compare {

namespace {

// Recursive descent over one JSON value; numbers found inside objects are added to `fields`.
class Reader {
 public:
  Reader(std::string_view text, Fields& fields) : text_(text), fields_(fields) {}

  bool document() {
    skipSpace();
    if (peek() != '{' || !value("")) return false;
    skipSpace();
    return at_ == text_.size() || fail("text after the object");
  }
  const std::string& error() const { return error_; }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skipSpace() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(at_);
    return false;
  }
  bool expect(char c) {
    skipSpace();
    if (peek() != c) return fail(std::string("expected '") + c + "'");
    ++at_;
    return true;
  }

  // `key` is the dotted name this value is stored under, when it is a number.
  bool value(const std::string& key) {
    skipSpace();
    const char c = peek();
    if (c == '{') return object(key);
    if (c == '[') return array();
    if (c == '"') return string(nullptr);
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number(key);
    for (std::string_view word : {"true", "false", "null"}) {
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return true;
      }
    }
    return fail("expected a value");
  }

  bool object(const std::string& key) {
    ++at_;  // '{'
    skipSpace();
    if (peek() == '}') return ++at_, true;
    while (true) {
      std::string name;
      skipSpace();
      if (!string(&name) || !expect(':')) return false;
      std::string path = key;
      if (!path.empty()) path += '.';
      path += name;
      if (!value(path)) return false;
      skipSpace();
      if (peek() == '}') return ++at_, true;
      if (!expect(',')) return false;
    }
  }

  bool array() {
    ++at_;  // '['
    skipSpace();
    if (peek() == ']') return ++at_, true;
    while (true) {
      if (!value("")) return false;  // numbers in arrays have no name to be found by
      skipSpace();
      if (peek() == ']') return ++at_, true;
      if (!expect(',')) return false;
    }
  }

  // Escapes are skipped over, not decoded: netload's keys are plain ASCII.
  bool string(std::string* into) {
    if (peek() != '"') return fail("expected a string");
    ++at_;
    while (at_ < text_.size() && text_[at_] != '"') {
      if (text_[at_] == '\\') ++at_;
      if (into != nullptr && at_ < text_.size()) into->push_back(text_[at_]);
      ++at_;
    }
    if (at_ >= text_.size()) return fail("unterminated string");
    ++at_;
    return true;
  }

  bool number(const std::string& key) {
    const std::string digits(text_.substr(at_, text_.find_first_of(",}] \t\r\n", at_) - at_));
    char* end = nullptr;
    const double parsed = std::strtod(digits.c_str(), &end);
    if (digits.empty() || end != digits.c_str() + digits.size())
      return fail("bad number '" + digits + "'");
    at_ += digits.size();
    if (!key.empty()) fields_[key] = parsed;
    return true;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  Fields& fields_;
  std::string error_;
};

}  // namespace

std::optional<Fields> readNumberFields(std::string_view text, std::string& error) {
  Fields fields;
  Reader reader(text, fields);
  if (reader.document()) return fields;
  error = reader.error().empty() ? "not a JSON object" : reader.error();
  return std::nullopt;
}

void writeJsonString(std::ostream& out, std::string_view text) {
  out << '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out << '\\' << c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out << escaped;
    } else {
      out << c;
    }
  }
  out << '"';
}

}  // namespace compare
