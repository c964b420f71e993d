// asio_echo: the standalone Asio peer of the side-by-side benchmark.
//
// The echo server of Asio's own examples, given the settings a tuned single-threaded Asio
// program uses: one io_context run by one thread and told so (concurrency hint 1, which lets the
// scheduler keep completed handlers on a thread-private queue), a session object per connection
// that owns a 64 KiB buffer and keeps itself alive through the shared_ptr its handlers hold, and
// async_read_some followed by async_write of exactly what was read. Asio attempts both operations
// speculatively before it waits on epoll, and recycles the memory of its handlers per thread, so
// steady-state echo does not allocate. The error_code overloads are used throughout: no exception
// on a reset connection. TCP_NODELAY is set on every connection, as in every peer.
//
//   asio_echo [--port N] [--mode echo|discard]
//
// Listens on 127.0.0.1:N (0, the default, lets the kernel pick) and prints
// "listening on 127.0.0.1:PORT" as its first line. SIGINT or SIGTERM ends it with status 0.
#include <asio.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "peer_args.h"

namespace {

using asio::ip::tcp;

bool discard = false;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() {
    std::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    read();
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](std::error_code ec, std::size_t n) {
                              if (ec) return;  // end of stream or error: the session ends
                              if (discard) {
                                self->read();
                              } else {
                                self->write(n);
                              }
                            });
  }

  void write(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                      [self = shared_from_this()](std::error_code ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  tcp::socket socket_;
  std::array<char, 64 * 1024> buffer_;
};

class Server {
 public:
  Server(asio::io_context& io, unsigned short port)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port)) {}

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
      if (!acceptor_.is_open()) return;  // closed by a signal
      if (!ec) std::make_shared<Session>(std::move(socket))->start();
      accept();
    });
  }

  void close() {
    std::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  peer_args args;
  const int status =
      peer_parse_args(argc, argv, "asio_echo", "Standalone Asio echo server on 127.0.0.1.", &args);
  if (status >= 0) return status;
  const int port = args.port;
  discard = args.discard != 0;

  try {
    asio::io_context io(1);
    Server server(io, static_cast<unsigned short>(port));
    std::printf("listening on 127.0.0.1:%u\n", server.port());
    std::fflush(stdout);
    server.accept();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) {
      server.close();
      io.stop();  // the sessions' pending handlers, and with them the sessions, are destroyed
    });

    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "asio_echo: %s\n", e.what());
    return 1;
  }
  return 0;
}
