// Node's error objects, in C++: every failure the net layer reports is a net::Error carrying
// Node's `code` ("ECONNREFUSED", "ERR_SOCKET_BAD_PORT", ...) and, for system errors, the failed
// system call and the address involved, with Node's message format.
//
// Bad arguments are thrown at the call as net::Error (Node throws TypeError/RangeError there).
// Failures that happen later arrive as an 'error' event with a net::Error; an 'error' with no
// listener is thrown out of the loop's run(), the C++ counterpart of Node's uncaught exception.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace net {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}

  // A failed system call, formatted as Node does for sockets: "connect ECONNREFUSED 127.0.0.1:1".
  static Error fromSystem(int errnum, std::string syscall, std::string address = {},
                          std::optional<int> port = {});
  // The same with libuv's description, as Node formats listen errors:
  // "listen EADDRINUSE: address already in use :::3000".
  static Error fromSystemDescribed(int errnum, std::string syscall, std::string address = {},
                                   std::optional<int> port = {});
  // A failed name lookup: "getaddrinfo ENOTFOUND example.invalid".
  static Error fromLookup(std::string code, std::string hostname);

  // Node's code: an errno name (ECONNRESET) or an ERR_* code.
  const std::string& code() const { return code_; }
  // The errno value (positive, as in C; Node shows it negated). 0 for ERR_* errors.
  int errnum() const { return errnum_; }
  const std::string& syscall() const { return syscall_; }
  const std::string& address() const { return address_; }
  std::optional<int> port() const { return port_; }
  const std::string& hostname() const { return hostname_; }

 private:
  static Error withErrno(int errnum, std::string syscall, const std::string& description, std::string address,
                         std::optional<int> port);

  std::string code_;
  int errnum_ = 0;
  std::string syscall_;
  std::string address_;
  std::optional<int> port_;
  std::string hostname_;
};

// The symbolic name of an errno value ("ECONNRESET"); "UNKNOWN" when it has none.
std::string errnoName(int errnum);

}  // namespace net
