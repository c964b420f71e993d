#include "net/error.h"

#include <cerrno>
#include <cstring>

namespace net {

namespace {

// libuv's wording of the errors a socket meets (Node prints it in listen errors); strerror()'s,
// lower-cased, for the rest.
std::string describe(int errnum) {
  switch (errnum) {
    case EADDRINUSE: return "address already in use";
    case EADDRNOTAVAIL: return "address not available";
    case EACCES: return "permission denied";
    case EAFNOSUPPORT: return "address family not supported";
    case EINVAL: return "invalid argument";
    case ENOENT: return "no such file or directory";
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by peer";
    case EMFILE: return "too many open files";
    case ENFILE: return "file table overflow";
    case EPIPE: return "broken pipe";
    case ETIMEDOUT: return "connection timed out";
    case ENOTSOCK: return "socket operation on non-socket";
    case ENOTSUP: return "operation not supported on socket";
    default: {
      std::string text = std::strerror(errnum);
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      return text;
    }
  }
}

std::string hostPort(const std::string& address, std::optional<int> port) {
  if (address.empty()) return {};
  return port ? " " + address + ":" + std::to_string(*port) : " " + address;
}

}  // namespace

std::string errnoName(int errnum) {
#if defined(__GLIBC__)
  if (const char* name = strerrorname_np(errnum)) return name;
  return "UNKNOWN";
#else
  switch (errnum) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTSUP: return "ENOTSUP";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    default: return "UNKNOWN";
  }
#endif
}

Error Error::fromSystem(int errnum, std::string syscall, std::string address, std::optional<int> port) {
  return withErrno(errnum, std::move(syscall), {}, std::move(address), port);
}

Error Error::fromSystemDescribed(int errnum, std::string syscall, std::string address,
                                 std::optional<int> port) {
  return withErrno(errnum, std::move(syscall), ": " + describe(errnum), std::move(address), port);
}

Error Error::withErrno(int errnum, std::string syscall, const std::string& description, std::string address,
                       std::optional<int> port) {
  std::string code = errnoName(errnum);
  Error error(code, syscall + " " + code + description + hostPort(address, port));
  error.errnum_ = errnum;
  error.syscall_ = std::move(syscall);
  error.address_ = std::move(address);
  error.port_ = port;
  return error;
}

Error Error::fromLookup(std::string code, std::string hostname) {
  Error error(code, "getaddrinfo " + code + " " + hostname);
  error.syscall_ = "getaddrinfo";
  error.hostname_ = std::move(hostname);
  return error;
}

}  // namespace net
