#include "tests/echo_check_client.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace reactor::testing_support {

namespace {

constexpr std::size_t kLargestWrite = 64 * 1024;

// Scratch space shared by the clients of a thread: a write's bytes are copied by the socket when
// it cannot send them at once, and the expected bytes are compared and forgotten.
char* scratch() {
  thread_local std::vector<char> buffer(kLargestWrite);
  return buffer.data();
}

}  // namespace

EchoCheckClient::EchoCheckClient(Loop& loop, std::uint64_t seed, std::size_t totalBytes)
    : socket_(net::Socket::create(loop)),
      total_(totalBytes),
      outgoing_(seed),
      expected_(seed),
      writeSizes_(seed ^ 0x5151'7e57'0000'0001ull) {
  socket_->on("connect", [this] {
    connected_ = true;
    if (started_) pump();
  });
  socket_->on("data", [this](std::string_view chunk) {
    eventAfterClose_ |= closed();
    check(chunk);
  });
  socket_->on("error", [this](const net::Error& error) {
    eventAfterClose_ |= closed();
    ++errors_;
    error_ = error;
  });
  socket_->on("close", [this](bool hadError) {
    eventAfterClose_ |= closed();
    ++closes_;
    closedWithError_ = hadError;
  });
}

EchoCheckClient::~EchoCheckClient() {
  socket_->removeAllListeners();
  socket_->destroy();
}

void EchoCheckClient::connect(int port, const std::string& host) { socket_->connect(port, host); }

void EchoCheckClient::start() {
  started_ = true;
  if (connected_) pump();
}

void EchoCheckClient::pump() {
  while (written_ < total_ && !socket_->destroyed()) {
    const std::size_t size = std::min<std::size_t>(1 + writeSizes_.below(std::uint64_t{1} << writeSizes_.below(17)),
                                                   total_ - written_);
    outgoing_.fill(scratch(), size);
    written_ += size;
    if (!socket_->write(std::string_view(scratch(), size))) {
      socket_->once("drain", [this] { pump(); });
      return;
    }
  }
  if (written_ == total_) socket_->end();
}

void EchoCheckClient::check(std::string_view chunk) {
  while (!chunk.empty()) {
    if (checked_ == total_) {
      firstMismatch_ = firstMismatch_.value_or(checked_);  // more came back than was sent
      return;
    }
    const std::size_t size = std::min({chunk.size(), kLargestWrite, total_ - checked_});
    expected_.fill(scratch(), size);
    if (!firstMismatch_ && std::memcmp(scratch(), chunk.data(), size) != 0) {
      firstMismatch_ = checked_ + static_cast<std::size_t>(
                                      std::mismatch(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(size),
                                                    scratch()).first -
                                      chunk.begin());
    }
    checked_ += size;
    chunk.remove_prefix(size);
  }
}

bool EchoCheckClient::intact() const {
  return closes_ == 1 && !closedWithError_ && errors_ == 0 && checked_ == total_ && !firstMismatch_ &&
         !eventAfterClose_;
}

bool EchoCheckClient::failedCleanly() const {
  return closes_ == 1 && closedWithError_ && errors_ == 1 && !eventAfterClose_;
}

std::string EchoCheckClient::describe() const {
  std::string text = "wrote " + std::to_string(written_) + " of " + std::to_string(total_) + ", checked " +
                     std::to_string(checked_);
  if (firstMismatch_) text += ", first wrong byte at " + std::to_string(*firstMismatch_);
  if (error_) text += ", error " + std::string(error_->what());
  text += ", errors " + std::to_string(errors_) + ", closes " + std::to_string(closes_);
  if (closes_ > 0) text += closedWithError_ ? " (hadError)" : " (clean)";
  if (eventAfterClose_) text += ", an event after close";
  return text;
}

}  // namespace reactor::testing_support
