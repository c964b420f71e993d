// Turns a fuzzer's input into values, front to back. An exhausted reader yields zeros and empty
// text instead of failing, so every input, however short, is a valid program for a driver and
// libFuzzer never wastes runs on rejected inputs. Header-only; no ownership of the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace fuzz {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool empty() const { return bytes_.empty(); }

  std::uint8_t byte() {
    if (bytes_.empty()) return 0;
    const std::uint8_t value = bytes_.front();
    bytes_ = bytes_.subspan(1);
    return value;
  }

  // Little-endian from the next sizeof(T) bytes (fewer if the input ends).
  template <class T>
  T integer() {
    static_assert(std::is_integral_v<T>);
    std::make_unsigned_t<T> value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<std::make_unsigned_t<T>>(byte()) << (8 * i);
    return static_cast<T>(value);
  }

  // Everything not read yet, as text; the reader is then empty.
  std::string_view rest() {
    const std::string_view text(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
    bytes_ = {};
    return text;
  }

 private:
  std::span<const std::uint8_t> bytes_;
};

}  // namespace fuzz
