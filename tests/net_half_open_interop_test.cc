// Half-open connections against a real Node.js peer, the cases tests/net_interop_test.cc leaves
// out: there, Node's client ends first against our server, and our client ends first against
// Node's server. Here the other way round in each role:
//  - Node's server ends first: our client with allowHalfOpen keeps writing after 'end' (Node reads
//    it all); without allowHalfOpen it ends by itself right after 'end'.
//  - our server ends first, with and without allowHalfOpen: the half-open Node client keeps
//    writing after our FIN, and our server reads every byte before it closes.
// The bytes follow a pattern both sides compute (byte i is (31 i + i / 512) mod 256), so each end
// checks what it received byte for byte. Runs against every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/node_peer.h"
#include "tests/poll_until.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

constexpr std::size_t kPatternBytes = 1 << 20;

char patternByte(std::size_t i) { return static_cast<char>((i * 31 + i / 512) & 0xff); }

// Checks received bytes against the pattern, in order.
struct PatternCheck {
  std::size_t received = 0;
  std::optional<std::size_t> firstMismatch;
  void add(std::string_view chunk) {
    for (char c : chunk) {
      if (!firstMismatch && c != patternByte(received)) firstMismatch = received;
      ++received;
    }
  }
};

constexpr std::string_view kJsPattern = R"js(
const patternByte = (i) => (i * 31 + Math.floor(i / 512)) & 0xff;
const checker = () => {
  const state = { received: 0, firstMismatch: -1 };
  state.add = (chunk) => {
    for (let k = 0; k < chunk.length; k++, state.received++) {
      if (state.firstMismatch < 0 && chunk[k] !== patternByte(state.received)) state.firstMismatch = state.received;
    }
  };
  state.verdict = () => (state.firstMismatch < 0 ? 'OK' : `BAD_AT_${state.firstMismatch}`);
  return state;
};
const writePattern = (socket, total, done) => {
  let offset = 0;
  const pump = () => {
    while (offset < total) {
      const size = Math.min(64 * 1024, total - offset);
      const chunk = Buffer.alloc(size);
      for (let k = 0; k < size; k++) chunk[k] = patternByte(offset + k);
      offset += size;
      if (!socket.write(chunk)) { socket.once('drain', pump); return; }
    }
    done();
  };
  pump();
};
)js";

std::string withPattern(std::string_view script) { return std::string(kJsPattern).append(script); }

// Records a socket's events in order; data is checked against the pattern, or kept as text.
struct EventLog {
  std::vector<std::string> events;
  std::string text;
  PatternCheck pattern;
  std::string stateAtEnd;
  void attach(Socket& socket, bool patterned) {
    socket.on("connect", [this] { events.push_back("connect"); });
    socket.on("ready", [this] { events.push_back("ready"); });
    socket.on("data", [this, patterned](std::string_view chunk) {
      if (patterned) {
        pattern.add(chunk);
      } else {
        text.append(chunk);
      }
    });
    socket.on("end", [this, &socket] {
      events.push_back("end");
      stateAtEnd = socket.readyState();
    });
    socket.on("finish", [this] { events.push_back("finish"); });
    socket.on("error", [this](const Error& error) { events.push_back(std::string("error ") + error.what()); });
    socket.on("close", [this](bool hadError) { events.push_back(hadError ? "close(true)" : "close(false)"); });
  }
  bool closed() const { return !events.empty() && events.back().starts_with("close"); }
};

// Writes the pattern with backpressure, then ends.
void writePatternThenEnd(Socket& socket, std::size_t& offset) {
  while (offset < kPatternBytes) {
    std::string chunk(std::min<std::size_t>(64 * 1024, kPatternBytes - offset), '\0');
    for (std::size_t k = 0; k < chunk.size(); ++k) chunk[k] = patternByte(offset + k);
    offset += chunk.size();
    if (!socket.write(std::move(chunk))) {
      socket.once("drain", [&socket, &offset] { writePatternThenEnd(socket, offset); });
      return;
    }
  }
  socket.end();
}

class NodeHalfOpenTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override {
    if (NodePeer::nodePath().empty()) GTEST_SKIP() << "`node` is not on PATH: these tests need Node.js 20 as the peer";
  }
  reactor::Loop loop{GetParam().make()};
};

// ---- Node's server ends first ----------------------------------------------------------------

// Half-open: says "bye" and ends at once, then reads until the client ends.
constexpr std::string_view kEndingServer = R"js(
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  const check = checker();
  socket.end('bye');
  socket.on('data', (chunk) => check.add(chunk));
  socket.on('end', () => out('GOT', check.received, check.verdict()));
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeHalfOpenTest, NodeServerEndsFirstAndOurHalfOpenClientKeepsWriting) {
  NodePeer node(loop, withPattern(kEndingServer));
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  SocketOptions options;
  options.allowHalfOpen = true;
  auto client = Socket::create(loop, options);
  EventLog log;
  log.attach(*client, /*patterned=*/false);
  std::size_t offset = 0;
  client->on("end", [&] { writePatternThenEnd(*client, offset); });
  client->connect(static_cast<int>(port), "127.0.0.1");
  ASSERT_TRUE(pollUntil(loop, [&] { return log.closed(); }, 15s)) << node.transcript();

  EXPECT_EQ(log.text, "bye");
  EXPECT_EQ(log.stateAtEnd, "writeOnly");
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "end", "finish", "close(false)"}));
  EXPECT_EQ(client->bytesWritten(), kPatternBytes);
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false") << node.transcript();
  EXPECT_EQ(node.lineStartingWith("GOT"), "GOT " + std::to_string(kPatternBytes) + " OK") << node.transcript();
  EXPECT_FALSE(node.lineStartingWith("ERROR")) << node.transcript();
}

TEST_P(NodeHalfOpenTest, NodeServerEndsFirstAndOurClientWithoutAllowHalfOpenEndsByItself) {
  NodePeer node(loop, withPattern(kEndingServer));
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client, /*patterned=*/false);
  client->connect(static_cast<int>(port), "127.0.0.1");
  ASSERT_TRUE(pollUntil(loop, [&] { return log.closed(); }, 10s)) << node.transcript();

  EXPECT_EQ(log.text, "bye");
  EXPECT_EQ(log.stateAtEnd, "writeOnly");  // 'end' comes first; the automatic end() follows it
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "end", "finish", "close(false)"}));
  EXPECT_EQ(client->bytesWritten(), 0u);
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false") << node.transcript();
  EXPECT_EQ(node.lineStartingWith("GOT"), "GOT 0 OK") << node.transcript();
}

// ---- our server ends first -------------------------------------------------------------------

// Half-open client: once the server's FIN is read, writes the pattern, then ends.
constexpr std::string_view kWritingAfterEndClient = R"js(
const [port, total] = argv.map(Number);
const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
let got = '';
socket.setEncoding('latin1');
socket.on('data', (chunk) => { got += chunk; });
socket.on('end', () => {
  out('END', got, socket.readyState);
  writePattern(socket, total, () => socket.end());
});
socket.on('finish', () => out('FINISH'));
socket.on('error', (e) => out('ERROR', e.code, e.syscall));
socket.on('close', (hadError) => out('CLOSE', hadError));
)js";

TEST_P(NodeHalfOpenTest, OurServerEndsFirstAndStillReadsEverythingTheHalfOpenNodeClientSends) {
  for (bool allowHalfOpen : {false, true}) {
    SCOPED_TRACE(allowHalfOpen ? "our server with allowHalfOpen" : "our server without allowHalfOpen");
    ServerOptions options;
    options.allowHalfOpen = allowHalfOpen;
    EventLog serverSide;
    std::string stateAfterEnd;
    std::shared_ptr<Socket> accepted;
    auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
      accepted = socket;
      serverSide.attach(*socket, /*patterned=*/true);
      socket->end("over");
      stateAfterEnd = socket->readyState();
    });
    bool listening = false;
    server->listen(0, "127.0.0.1", [&] { listening = true; });
    ASSERT_TRUE(pollUntil(loop, [&] { return listening; }));
    NodePeer node(loop, withPattern(kWritingAfterEndClient),
                  {std::to_string(server->address().port), std::to_string(kPatternBytes)});
    ASSERT_TRUE(pollUntil(loop, [&] { return serverSide.closed() && node.lineStartingWith("CLOSE"); }, 15s))
        << node.transcript();

    EXPECT_EQ(stateAfterEnd, "readOnly");
    EXPECT_EQ(serverSide.events, (std::vector<std::string>{"finish", "end", "close(false)"}));
    EXPECT_EQ(serverSide.pattern.received, kPatternBytes);
    EXPECT_FALSE(serverSide.pattern.firstMismatch) << "first wrong byte at " << *serverSide.pattern.firstMismatch;
    EXPECT_EQ(accepted->bytesRead(), kPatternBytes);
    EXPECT_EQ(node.lines(), (std::vector<std::string>{"END over writeOnly", "FINISH", "CLOSE false"}))
        << node.transcript();
    bool closed = false;
    server->close([&](const Error*) { closed = true; });
    EXPECT_TRUE(pollUntil(loop, [&] { return closed; }));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, NodeHalfOpenTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
