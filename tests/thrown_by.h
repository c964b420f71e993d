// thrownBy(f): the net::Error that calling `f` throws, or nullopt when it returns, for tests that
// check an error's code and message rather than only that something was thrown.
#pragma once

#include <optional>
#include <utility>

#include "net/error.h"

namespace net {

template <class F>
std::optional<Error> thrownBy(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const Error& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace net
