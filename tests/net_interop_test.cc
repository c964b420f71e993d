// net::Socket and net::Server against a real Node.js peer (`node` on PATH, Node 20 or newer):
// bulk echo both ways, half-close in both directions, automatic end without allowHalfOpen,
// resets, and idle timeouts. Node is both the reference implementation and the other end of the
// connection; each scenario is checked from both sides. Runs against every backend.
//
// The Node scripts print one line per fact ("RECEIVED 8388608 OK", "CLOSE false"); the test reads
// those lines through its own loop (tests/node_peer.h), never blocking the sockets under test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/loop_test_support.h"
#include "tests/node_peer.h"
#include "tests/splitmix64.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

constexpr std::uint32_t kFnv32Offset = 2166136261u;
constexpr std::uint64_t kFnv64Offset = 14695981039346656037ull;

// FNV-1a, continued from `hash` over `bytes` (the Node scripts compute the 32-bit one too).
std::uint32_t fnv1a32(std::uint32_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 16777619u;
  return hash;
}

std::uint64_t fnv1a64(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

std::string pseudoRandomBytes(std::uint64_t seed, std::size_t size) {
  SplitMix64 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random.next());
  return bytes;
}

// Shared by the Node scripts that need reproducible data or the hash above.
constexpr std::string_view kJsHelpers = R"js(
const mulberry32 = (seed) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
};
const pseudoRandomBytes = (seed, size) => {
  const next = mulberry32(seed);
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = next() & 0xff;
  return bytes;
};
const fnv1a32 = (hash, bytes) => {
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 16777619);
  return hash >>> 0;
};
const FNV32_OFFSET = 2166136261;
)js";

std::string withHelpers(std::string_view script) { return std::string(kJsHelpers).append(script); }

// Records a socket's events in order. Counts data instead of keeping it unless asked to.
struct EventLog {
  std::vector<std::string> events;
  std::string data;
  std::uint64_t dataBytes = 0;
  std::vector<Error> errors;
  std::string errorText;
  int closes = 0;
  int drains = 0;
  int timeouts = 0;

  void attach(Socket& socket, bool keepData = true) {
    socket.on("connect", [this] { events.push_back("connect"); });
    socket.on("ready", [this] { events.push_back("ready"); });
    socket.on("data", [this, keepData](std::string_view chunk) {
      dataBytes += chunk.size();
      if (keepData) data.append(chunk);
    });
    socket.on("end", [this] { events.push_back("end"); });
    socket.on("finish", [this] { events.push_back("finish"); });
    socket.on("drain", [this] { ++drains; });
    socket.on("timeout", [this] {
      ++timeouts;
      events.push_back("timeout");
    });
    socket.on("error", [this](const Error& error) {
      events.push_back("error");
      errorText += std::string(error.what()) + "\n";
      errors.push_back(error);
    });
    socket.on("close", [this](bool hadError) {
      ++closes;
      events.push_back(hadError ? "close(true)" : "close(false)");
    });
  }
  bool closed() const { return closes > 0; }
};

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

class NodeInteropTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override {
    if (NodePeer::nodePath().empty()) {
      GTEST_SKIP() << "`node` is not on PATH: these tests need Node.js 20 or newer as the peer";
    }
  }

  reactor::Loop loop{GetParam().make()};

  // Listens on 127.0.0.1 with a free port; returns the port (0 after a failed assertion).
  int listenOnLoopback(Server& server) {
    bool listening = false;
    server.listen(0, "127.0.0.1", [&] { listening = true; });
    EXPECT_TRUE(waitUntil([&] { return listening; }));
    return listening ? server.address().port : 0;
  }

  bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    return runUntil(loop, done, limit);
  }

  // Runs the loop for `ms`, to see that nothing more happens.
  void runFor(std::int64_t ms) {
    bool expired = false;
    reactor::Timeout timer = loop.setTimeout([&] { expired = true; }, ms);
    waitUntil([&] { return expired; }, std::chrono::milliseconds(ms + 1000));
    loop.clearTimeout(timer);
  }

  // After a test: nothing of ours may keep the loop alive (the Node peer's pipes do not count).
  void expectLoopDrains(Server* server) {
    if (server != nullptr) server->close();
    EXPECT_TRUE(runToCompletion(loop));
  }
};

// ---- 1. our echo server, a Node client ------------------------------------------------------

constexpr std::string_view kBulkEchoClient = R"js(
const [port, total, seed] = argv.map(Number);
const data = pseudoRandomBytes(seed, total);
const expected = crypto.createHash('sha256').update(data).digest('hex');
out('SENT', total, fnv1a32(FNV32_OFFSET, data));
const sizes = mulberry32(seed + 1);
const hash = crypto.createHash('sha256');
let received = 0;
let offset = 0;
let drains = 0;
const socket = net.connect(port, '127.0.0.1');
const pump = () => {
  while (offset < total) {
    const size = Math.min(1 + (sizes() % 65536), total - offset);
    const more = socket.write(data.subarray(offset, offset + size));
    offset += size;
    if (!more) { drains++; socket.once('drain', pump); return; }
  }
  socket.end();
};
socket.on('connect', pump);
socket.on('data', (chunk) => { hash.update(chunk); received += chunk.length; });
socket.on('end', () => {
  out('RECEIVED', received, hash.digest('hex') === expected ? 'OK' : 'MISMATCH', 'drains', drains);
});
socket.on('error', (e) => out('ERROR', e.code, e.syscall));
socket.on('close', (hadError) => out('CLOSE', hadError));
)js";

TEST_P(NodeInteropTest, OurEchoServerReturnsEightMebibytesToANodeClient) {
  constexpr std::size_t kTotal = 8u << 20;
  std::vector<std::shared_ptr<Socket>> accepted;
  EventLog serverSide;
  std::uint32_t receivedHash = kFnv32Offset;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    accepted.push_back(socket);
    serverSide.attach(*socket, /*keepData=*/false);
    Socket* raw = socket.get();
    socket->on("data", [raw, &receivedHash](std::string_view chunk) {
      receivedHash = fnv1a32(receivedHash, chunk);
      raw->write(chunk);
    });
  });
  const int port = listenOnLoopback(*server);
  ASSERT_GT(port, 0);
  NodePeer node(loop, withHelpers(kBulkEchoClient), {std::to_string(port), std::to_string(kTotal), "20240601"});
  ASSERT_TRUE(waitUntil([&] { return serverSide.closed() && node.lineStartingWith("CLOSE"); }, 20s))
      << node.transcript() << "server side: " << join(serverSide.events);

  EXPECT_EQ(node.lineStartingWith("RECEIVED").value_or("").substr(0, 20), "RECEIVED 8388608 OK ")
      << node.transcript();
  EXPECT_EQ(node.lineStartingWith("SENT"), "SENT 8388608 " + std::to_string(receivedHash)) << node.transcript();
  EXPECT_EQ(node.lineStartingWith("CLOSE"), "CLOSE false") << node.transcript();
  EXPECT_FALSE(node.lineStartingWith("ERROR")) << node.transcript();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0]->bytesRead(), kTotal);
  EXPECT_EQ(accepted[0]->bytesWritten(), kTotal);
  EXPECT_EQ(serverSide.dataBytes, kTotal);
  // Node ended first; without allowHalfOpen our side ended by itself once the echo was out.
  EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
  expectLoopDrains(server.get());
}

// ---- 2. a Node echo server, our client ------------------------------------------------------

// Echoes with pipe(), which honours backpressure both ways. It reads nothing before the test
// sends "GO": the kernel buffers fill, so our writer is certain to meet backpressure.
constexpr std::string_view kPipeEchoServer = R"js(
const server = net.createServer({ pauseOnConnect: true }, (socket) => {
  onCommand((command) => { if (command === 'GO') socket.pipe(socket); });
  socket.on('end', () => out('END', socket.bytesRead));
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => {
    out('CLOSE', hadError, socket.bytesRead, socket.bytesWritten);
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeInteropTest, OurClientStreamsEightMebibytesThroughANodeEchoServer) {
  constexpr std::size_t kTotal = 8u << 20;
  NodePeer node(loop, kPipeEchoServer);
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();

  const std::string sent = pseudoRandomBytes(0x5eed, kTotal);
  SplitMix64 sizes(99);
  std::uint64_t sentHash = kFnv64Offset;
  std::uint64_t receivedHash = kFnv64Offset;
  std::size_t received = 0;
  std::optional<std::size_t> firstMismatch;
  std::size_t offset = 0;
  int backpressured = 0;

  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client, /*keepData=*/false);
  client->on("data", [&](std::string_view chunk) {
    receivedHash = fnv1a64(receivedHash, chunk);
    if (!firstMismatch) {
      if (received + chunk.size() > sent.size()) {
        firstMismatch = sent.size();
      } else if (std::memcmp(chunk.data(), sent.data() + received, chunk.size()) != 0) {
        std::size_t i = 0;
        while (chunk[i] == sent[received + i]) ++i;
        firstMismatch = received + i;
      }
    }
    received += chunk.size();
  });
  std::function<void()> pump = [&] {
    while (offset < sent.size()) {
      const std::size_t size = std::min<std::size_t>(1 + sizes.below(64 * 1024), sent.size() - offset);
      const std::string_view piece = std::string_view(sent).substr(offset, size);
      sentHash = fnv1a64(sentHash, piece);
      offset += size;
      if (!client->write(piece)) {
        if (++backpressured == 1) {
          EXPECT_TRUE(node.send("GO"));
        }
        EXPECT_GE(client->writableLength(), client->writableHighWaterMark());
        client->once("drain", [&] { pump(); });
        return;
      }
    }
    client->end();
  };
  client->connect(static_cast<int>(port), "127.0.0.1", [&] { pump(); });
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 20s))
      << "received " << received << " of " << kTotal << "; events: " << join(log.events) << "\n"
      << node.transcript();

  EXPECT_FALSE(firstMismatch) << "first wrong byte at offset " << *firstMismatch;
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(receivedHash, sentHash);
  EXPECT_GT(backpressured, 0);
  EXPECT_EQ(log.drains, backpressured);  // one 'drain' per write() that returned false
  EXPECT_EQ(client->bytesWritten(), kTotal);
  EXPECT_EQ(client->bytesRead(), kTotal);
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "finish", "end", "close(false)"}));
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false 8388608 8388608") << node.transcript();
  EXPECT_EQ(node.lineStartingWith("END"), "END 8388608") << node.transcript();
  expectLoopDrains(nullptr);
}

// ---- 3. half-close, both directions ----------------------------------------------------------

// Answers only after the client's FIN, with what it received, then ends.
constexpr std::string_view kHalfOpenServer = R"js(
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  let received = 0;
  let hash = FNV32_OFFSET;
  socket.on('data', (chunk) => { received += chunk.length; hash = fnv1a32(hash, chunk); });
  socket.on('end', () => {
    out('SERVER_END', received, socket.readyState);
    socket.write(`got ${received} bytes, fnv ${hash}`);
    socket.end(' - bye');
  });
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeInteropTest, OurClientEndsFirstAndStillReadsTheNodeServersReply) {
  constexpr std::size_t kTotal = 1u << 20;
  NodePeer node(loop, withHelpers(kHalfOpenServer));
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();

  const std::string payload = pseudoRandomBytes(3, kTotal);
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client);
  std::string stateAtFinish;
  client->on("finish", [&] { stateAtFinish = client->readyState(); });
  client->connect(static_cast<int>(port), "127.0.0.1", [&] {
    client->write(payload);  // most of it is still queued when end() is called: FIN waits for it
    client->end();
    EXPECT_EQ(client->readyState(), "readOnly");
  });
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 10s)) << join(log.events) << "\n" << node.transcript();

  const std::string expected = "got " + std::to_string(kTotal) + " bytes, fnv " +
                               std::to_string(fnv1a32(kFnv32Offset, payload)) + " - bye";
  EXPECT_EQ(log.data, expected);
  EXPECT_EQ(stateAtFinish, "readOnly");
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "finish", "end", "close(false)"}));
  EXPECT_EQ(node.lineStartingWith("SERVER_END"), "SERVER_END 1048576 writeOnly") << node.transcript();
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false") << node.transcript();
  EXPECT_FALSE(node.lineStartingWith("ERROR")) << node.transcript();
  expectLoopDrains(nullptr);
}

constexpr std::string_view kEndingClient = R"js(
const [port] = argv.map(Number);
let got = '';
const socket = net.connect(port, '127.0.0.1', () => socket.end('question'));
socket.setEncoding('utf8');
socket.on('data', (chunk) => { got += chunk; });
socket.on('finish', () => out('FINISH'));
socket.on('end', () => out('GOT', got));
socket.on('error', (e) => out('ERROR', e.code, e.syscall));
socket.on('close', (hadError) => out('CLOSE', hadError));
)js";

TEST_P(NodeInteropTest, NodeClientEndsFirstAndOurHalfOpenServerAnswersAfterEnd) {
  EventLog serverSide;
  std::string stateAtEnd;
  ServerOptions options;
  options.allowHalfOpen = true;
  auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
    serverSide.attach(*socket);
    socket->on("end", [&, socket] {
      stateAtEnd = socket->readyState();
      // Answer a little later: the half-open connection must stay up across loop iterations.
      loop.setTimeout([&, socket] {
        socket->write("answer to " + serverSide.data);
        socket->end(", over");
      }, 20);
    });
  });
  const int port = listenOnLoopback(*server);
  ASSERT_GT(port, 0);
  NodePeer node(loop, kEndingClient, {std::to_string(port)});
  ASSERT_TRUE(waitUntil([&] { return serverSide.closed() && node.lineStartingWith("CLOSE"); }, 10s))
      << join(serverSide.events) << "\n" << node.transcript();

  EXPECT_EQ(serverSide.data, "question");
  EXPECT_EQ(stateAtEnd, "writeOnly");
  EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
  EXPECT_EQ(node.lines(), (std::vector<std::string>{"FINISH", "GOT answer to question, over", "CLOSE false"}))
      << node.transcript();
  expectLoopDrains(server.get());
}

// Ends at once, then checks the length and hash of everything it receives. It reads nothing
// before the test sends "GO", so that the sender is certain to meet backpressure.
constexpr std::string_view kEndingReceiver = R"js(
const [port] = argv.map(Number);
let received = 0;
let hash = FNV32_OFFSET;
const socket = net.connect(port, '127.0.0.1', () => socket.end());
socket.on('data', (chunk) => { received += chunk.length; hash = fnv1a32(hash, chunk); });
socket.pause();
const holdUntilGo = setInterval(() => {}, 60000);  // a paused socket alone does not keep Node alive
onCommand((command) => {
  if (command !== 'GO') return;
  clearInterval(holdUntilGo);
  socket.resume();
});
socket.on('end', () => out('GOT', received, hash));
socket.on('error', (e) => out('ERROR', e.code, e.syscall));
socket.on('close', (hadError) => out('CLOSE', hadError));
)js";

TEST_P(NodeInteropTest, OurHalfOpenServerStreamsFourMebibytesAfterTheNodeClientEnded) {
  constexpr std::size_t kTotal = 4u << 20;
  const std::string reply = pseudoRandomBytes(11, kTotal);
  EventLog serverSide;
  std::vector<std::string> statesWhileWriting;
  int backpressured = 0;
  ServerOptions options;
  options.allowHalfOpen = true;
  std::shared_ptr<Socket> accepted;
  std::size_t offset = 0;
  std::optional<NodePeer> node;
  std::function<void()> pump = [&] {
    statesWhileWriting.emplace_back(accepted->readyState());
    while (offset < reply.size()) {
      const std::size_t size = std::min<std::size_t>(256 * 1024, reply.size() - offset);
      const bool more = accepted->write(std::string_view(reply).substr(offset, size));
      offset += size;
      if (!more) {
        if (++backpressured == 1) {
          EXPECT_TRUE(node->send("GO"));
        }
        accepted->once("drain", [&] { pump(); });
        return;
      }
    }
    if (backpressured == 0) {
      EXPECT_TRUE(node->send("GO"));  // no backpressure (a failure below): let Node read anyway
    }
    accepted->end();
  };
  auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
    accepted = socket;
    serverSide.attach(*socket);
    socket->on("end", [&] { pump(); });
  });
  const int port = listenOnLoopback(*server);
  ASSERT_GT(port, 0);
  node.emplace(loop, withHelpers(kEndingReceiver), std::vector<std::string>{std::to_string(port)});
  ASSERT_TRUE(waitUntil([&] { return serverSide.closed() && node->lineStartingWith("CLOSE"); }, 15s))
      << join(serverSide.events) << "\n" << serverSide.errorText << node->transcript();

  EXPECT_EQ(node->lineStartingWith("GOT"), "GOT " + std::to_string(kTotal) + " " +
                                               std::to_string(fnv1a32(kFnv32Offset, reply)))
      << node->transcript();
  EXPECT_EQ(node->lineStartingWith("CLOSE"), "CLOSE false") << node->transcript();
  EXPECT_GT(backpressured, 0);
  for (const auto& state : statesWhileWriting) EXPECT_EQ(state, "writeOnly");
  EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
  EXPECT_EQ(accepted->bytesWritten(), kTotal);
  expectLoopDrains(server.get());
}

// Ends inside the 'end' listener, the usual way to answer a peer that has finished: Node's sockets
// emit 'finish' (and run end()'s callback) before 'close' there, with or without allowHalfOpen.
TEST_P(NodeInteropTest, EndCalledInsideTheEndListenerStillEmitsFinish) {
  for (bool allowHalfOpen : {true, false}) {
    SCOPED_TRACE(allowHalfOpen ? "allowHalfOpen" : "no allowHalfOpen");
    EventLog serverSide;
    int endCallbacks = 0;
    ServerOptions options;
    options.allowHalfOpen = allowHalfOpen;
    auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
      serverSide.attach(*socket);
      Socket* raw = socket.get();
      socket->on("end", [&, raw] { raw->end("answer", [&] { ++endCallbacks; }); });
    });
    const int port = listenOnLoopback(*server);
    ASSERT_GT(port, 0);
    NodePeer node(loop, kEndingClient, {std::to_string(port)});
    ASSERT_TRUE(waitUntil([&] { return serverSide.closed() && node.lineStartingWith("CLOSE"); }))
        << join(serverSide.events) << "\n" << node.transcript();
    EXPECT_EQ(node.lines(), (std::vector<std::string>{"FINISH", "GOT answer", "CLOSE false"})) << node.transcript();
    EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
    EXPECT_EQ(endCallbacks, 1);
    expectLoopDrains(server.get());
  }
}

// ---- 4. without allowHalfOpen our side ends by itself ---------------------------------------

constexpr std::string_view kByeClient = R"js(
const [port] = argv.map(Number);
const socket = net.connect(port, '127.0.0.1', () => socket.end('bye'));
socket.on('data', (chunk) => out('DATA', chunk.length));
socket.on('end', () => out('END'));
socket.on('error', (e) => out('ERROR', e.code, e.syscall));
socket.on('close', (hadError) => out('CLOSE', hadError));
)js";

TEST_P(NodeInteropTest, WithoutAllowHalfOpenOurServerEndsWhenTheNodeClientEnds) {
  EventLog serverSide;
  std::string stateAtEnd;
  std::vector<std::shared_ptr<Socket>> accepted;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    accepted.push_back(socket);
    serverSide.attach(*socket);
    Socket* raw = socket.get();
    socket->on("end", [&, raw] { stateAtEnd = raw->readyState(); });
  });
  const int port = listenOnLoopback(*server);
  ASSERT_GT(port, 0);
  NodePeer node(loop, kByeClient, {std::to_string(port)});
  ASSERT_TRUE(waitUntil([&] { return serverSide.closed() && node.lineStartingWith("CLOSE"); }, 10s))
      << join(serverSide.events) << "\n" << node.transcript();

  EXPECT_EQ(serverSide.data, "bye");
  EXPECT_EQ(stateAtEnd, "writeOnly");  // 'end' comes first; the automatic end() follows it
  EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0]->bytesRead(), 3u);
  EXPECT_EQ(accepted[0]->bytesWritten(), 0u);
  EXPECT_TRUE(accepted[0]->destroyed());
  EXPECT_EQ(node.lines(), (std::vector<std::string>{"END", "CLOSE false"})) << node.transcript();
  expectLoopDrains(server.get());
}

// ---- 5. resets -------------------------------------------------------------------------------

// Once the client has said something, sends until `limit` bytes are handed to its socket, then
// resets the connection. (Waiting for the client matters: a reset that arrives before the client
// has seen its connection complete fails the connection instead, "connect ECONNRESET", in Node as
// in ours.)
constexpr std::string_view kResettingSender = R"js(
const [limit] = argv.map(Number);
const server = net.createServer((socket) => {
  if (typeof socket.resetAndDestroy !== 'function') { out('NO_RESET'); return; }
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  const pump = () => {
    while (written < limit) {
      written += chunk.length;
      if (!socket.write(chunk)) { socket.once('drain', pump); return; }
    }
    out('RESET', written);
    socket.resetAndDestroy();
  };
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
  socket.once('data', pump);
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

// Reads until it has `limit` bytes, then resets the connection.
constexpr std::string_view kResettingReceiver = R"js(
const [limit] = argv.map(Number);
const server = net.createServer((socket) => {
  if (typeof socket.resetAndDestroy !== 'function') { out('NO_RESET'); return; }
  let received = 0;
  socket.on('data', (chunk) => {
    received += chunk.length;
    if (received >= limit && !socket.destroyed) {
      out('RESET', received);
      socket.resetAndDestroy();
    }
  });
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeInteropTest, NodeResetsWhileSendingAndOurClientGetsOneEconnreset) {
  NodePeer node(loop, kResettingSender, {std::to_string(1 << 20)});
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client, /*keepData=*/false);
  client->connect(static_cast<int>(port), "127.0.0.1", [&] { client->write(std::string_view("go")); });
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 10s)) << join(log.events) << "\n" << node.transcript();
  if (node.lineStartingWith("NO_RESET")) GTEST_SKIP() << "this Node has no socket.resetAndDestroy()";
  runFor(50);  // nothing may follow 'close'

  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "error", "close(true)"}));
  ASSERT_EQ(log.errors.size(), 1u);
  EXPECT_EQ(log.errors[0].code(), "ECONNRESET");
  EXPECT_EQ(log.errors[0].syscall(), "read");
  EXPECT_STREQ(log.errors[0].what(), "read ECONNRESET");
  EXPECT_EQ(log.closes, 1);
  EXPECT_TRUE(client->destroyed());
  EXPECT_LE(client->bytesRead(), 1u << 20);
  EXPECT_TRUE(node.lineStartingWith("RESET")) << node.transcript();
  expectLoopDrains(nullptr);
}

TEST_P(NodeInteropTest, NodeResetsWhileReceivingAndOurWritingClientGetsOneEconnreset) {
  NodePeer node(loop, kResettingReceiver, {std::to_string(1 << 20)});
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client, /*keepData=*/false);  // its 'data' listener keeps our side reading
  const std::string chunk(64 * 1024, 'b');
  int writes = 0;
  int callbacks = 0;
  int failedWrites = 0;
  std::function<void()> pump = [&] {
    while (!client->destroyed()) {
      ++writes;
      const bool more = client->write(chunk, [&](const Error* error) {
        ++callbacks;
        failedWrites += error != nullptr;
      });
      if (!more) {
        if (!client->destroyed()) client->once("drain", [&] { pump(); });
        return;
      }
    }
  };
  // Pumping starts in 'ready', so that the events before the reset are always 'connect', 'ready'.
  client->on("ready", [&] { pump(); });
  client->connect(static_cast<int>(port), "127.0.0.1");
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 10s)) << join(log.events) << "\n" << node.transcript();
  if (node.lineStartingWith("NO_RESET")) GTEST_SKIP() << "this Node has no socket.resetAndDestroy()";
  runFor(50);

  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "error", "close(true)"}));
  ASSERT_EQ(log.errors.size(), 1u);
  // Whichever call meets the reset first reports it: a read, or a write of the queued data.
  EXPECT_EQ(log.errors[0].code(), "ECONNRESET") << log.errors[0].what();
  EXPECT_TRUE(log.errors[0].syscall() == "read" || log.errors[0].syscall() == "write") << log.errors[0].what();
  EXPECT_EQ(log.closes, 1);
  EXPECT_GE(client->bytesWritten(), 1u << 20);
  // Every write's callback ran: with success once handed to the kernel, or with the error.
  EXPECT_EQ(callbacks, writes);
  RecordProperty("failed_writes", failedWrites);
  EXPECT_TRUE(node.lineStartingWith("RESET")) << node.transcript();
  expectLoopDrains(nullptr);
}

// Sends until the connection goes away; reports how it went.
constexpr std::string_view kEndlessSender = R"js(
const server = net.createServer((socket) => {
  const chunk = Buffer.alloc(64 * 1024, 0x63);
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk)) {}
    if (!socket.destroyed) socket.once('drain', pump);
  };
  socket.on('end', () => out('END'));
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
  pump();
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeInteropTest, OurClientDestroysMidTransferAndNodeSeesTheConnectionClose) {
  NodePeer node(loop, kEndlessSender);
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client, /*keepData=*/false);
  client->on("data", [&](std::string_view) {
    if (client->bytesRead() >= 256 * 1024) client->destroy();  // unread data left: the kernel resets
  });
  client->connect(static_cast<int>(port), "127.0.0.1");
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 10s)) << join(log.events) << "\n" << node.transcript();
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "close(false)"}));
  EXPECT_TRUE(log.errors.empty());

  const auto closeLine = node.waitForLine("CLOSE");
  ASSERT_TRUE(closeLine) << node.transcript();
  // Node learns it from its next read or write: ECONNRESET (or EPIPE), then close(true).
  if (auto error = node.lineStartingWith("ERROR")) {
    EXPECT_TRUE(error->starts_with("ERROR ECONNRESET ") || error->starts_with("ERROR EPIPE ")) << node.transcript();
    EXPECT_EQ(*closeLine, "CLOSE true") << node.transcript();
  }
  RecordProperty("node_saw", node.lineStartingWith("ERROR").value_or(node.lineStartingWith("END").value_or("-")));
  expectLoopDrains(nullptr);
}

// ---- 6. idle timeout -------------------------------------------------------------------------

constexpr std::string_view kSilentServer = R"js(
const server = net.createServer((socket) => {
  out('CONNECTED');
  socket.on('data', (chunk) => out('DATA', chunk.length));
  socket.on('end', () => out('END', socket.bytesRead));
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError); server.close(); });
});
server.listen(0, '127.0.0.1', () => out('LISTENING', server.address().port));
)js";

TEST_P(NodeInteropTest, IdleTimeoutAgainstASilentNodeServerLeavesTheSocketOpen) {
  NodePeer node(loop, kSilentServer);
  const long long port = node.waitForNumber("LISTENING");
  ASSERT_GT(port, 0) << node.transcript();
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client);
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration idleFor{};
  std::string stateAtTimeout;
  client->on("timeout", [&] {
    idleFor = std::chrono::steady_clock::now() - start;
    stateAtTimeout = client->readyState();
  });
  client->connect(static_cast<int>(port), "127.0.0.1");
  client->setTimeout(100);
  ASSERT_TRUE(waitUntil([&] { return log.timeouts > 0 || log.closed(); }, 5s)) << node.transcript();
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "timeout"}));
  EXPECT_EQ(stateAtTimeout, "open");
  EXPECT_GE(idleFor, 95ms);  // the loop's clock has millisecond granularity
  EXPECT_LT(idleFor, 2s);
  EXPECT_FALSE(client->destroyed());
  EXPECT_EQ(node.waitForLine("CONNECTED"), "CONNECTED") << node.transcript();

  client->end();
  ASSERT_TRUE(waitUntil([&] { return log.closed(); }, 5s)) << join(log.events) << "\n" << node.transcript();
  EXPECT_EQ(node.waitForLine("END"), "END 0") << node.transcript();
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false") << node.transcript();
  // Node's server was not half-open: its automatic end() answers ours.
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "timeout", "finish", "end", "close(false)"}));
  EXPECT_EQ(log.timeouts, 1);
  EXPECT_EQ(log.dataBytes, 0u);
  expectLoopDrains(nullptr);
}

// ---- unix-domain sockets ---------------------------------------------------------------------

constexpr std::string_view kUnixEchoServer = R"js(
const [path] = argv;
const server = net.createServer((socket) => {
  socket.pipe(socket);
  socket.on('error', (e) => out('ERROR', e.code, e.syscall));
  socket.on('close', (hadError) => { out('CLOSE', hadError, socket.bytesRead); server.close(); });
});
server.listen(path, () => out('LISTENING', JSON.stringify(server.address())));
)js";

TEST_P(NodeInteropTest, OurClientTalksToANodeServerOnAUnixSocket) {
  const std::string path =
      ::testing::TempDir() + "net_interop_" + std::to_string(::getpid()) + "_" + GetParam().name + ".sock";
  ::unlink(path.c_str());
  NodePeer node(loop, kUnixEchoServer, {path});
  ASSERT_TRUE(node.waitForLine("LISTENING")) << node.transcript();
  const std::string payload = pseudoRandomBytes(5, 256 * 1024);
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client);
  client->connect(path, [&] { client->end(payload); });
  ASSERT_TRUE(waitUntil([&] { return log.closed(); })) << join(log.events) << "\n" << node.transcript();
  EXPECT_TRUE(log.data == payload) << "echoed " << log.data.size() << " of " << payload.size() << " bytes";
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready", "finish", "end", "close(false)"}));
  EXPECT_EQ(client->remotePort(), 0);
  EXPECT_EQ(node.waitForLine("CLOSE"), "CLOSE false " + std::to_string(payload.size())) << node.transcript();
  ::unlink(path.c_str());
  expectLoopDrains(nullptr);
}

// ---- event order: the same scenarios run by a Node client and by ours -------------------------

// An echo server, plus a Node client running each scenario against it and printing the events it
// saw: "ORDER <scenario> <event>,<event>,...". Our client runs the same scenarios (orderScenarios
// below) against the same server, and must see the same events in the same order.
constexpr std::string_view kEventOrderReference = R"js(
const scenarios = {
  endBeforeConnect: (c) => { c.write('early'); c.end(); },
  endInData: (c) => { c.on('connect', () => c.write('ping')); c.on('data', () => c.end()); },
  destroyBeforeConnect: (c) => c.destroy(),
  destroyInData: (c) => { c.on('connect', () => c.write('ping')); c.on('data', () => c.destroy()); },
  destroyInConnect: (c) => c.on('connect', () => c.destroy()),
  destroyWithErrorInConnect: (c) => c.on('connect', () => {
    const error = new Error('test error');
    error.code = 'ETEST';
    c.destroy(error);
  }),
  writeAfterEndInConnect: (c) => c.on('connect', () => { c.end(); c.write('late', () => {}); }),
};
const server = net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}); });
server.listen(0, '127.0.0.1', async () => {
  out('LISTENING', server.address().port);
  for (const name of argv) {
    await new Promise((resolve) => {
      const c = new net.Socket();
      const events = [];
      for (const e of ['connect', 'ready', 'data', 'end', 'finish', 'drain', 'timeout']) c.on(e, () => events.push(e));
      c.on('error', (e) => events.push('error:' + e.code));
      c.on('close', (hadError) => {
        events.push(`close(${hadError})`);
        out('ORDER', name, events.join(','));
        resolve();
      });
      c.connect(server.address().port, '127.0.0.1');
      scenarios[name](c);
    });
  }
  out('DONE');
});
)js";

struct OrderScenario {
  const char* name;
  std::function<void(const std::shared_ptr<Socket>&)> setup;  // right after connect(), as in Node
};

const std::vector<OrderScenario>& orderScenarios() {
  static const std::vector<OrderScenario> scenarios{
      {"endBeforeConnect",
       [](const std::shared_ptr<Socket>& c) {
         c->write(std::string_view("early"));
         c->end();
       }},
      {"endInData",
       [](const std::shared_ptr<Socket>& c) {
         Socket* raw = c.get();
         c->on("connect", [raw] { raw->write(std::string_view("ping")); });
         c->on("data", [raw] { raw->end(); });
       }},
      {"destroyBeforeConnect", [](const std::shared_ptr<Socket>& c) { c->destroy(); }},
      {"destroyInData",
       [](const std::shared_ptr<Socket>& c) {
         Socket* raw = c.get();
         c->on("connect", [raw] { raw->write(std::string_view("ping")); });
         c->on("data", [raw] { raw->destroy(); });
       }},
      // Destroyed inside a 'connect' listener: Node still emits 'ready'.
      {"destroyInConnect",
       [](const std::shared_ptr<Socket>& c) {
         Socket* raw = c.get();
         c->on("connect", [raw] { raw->destroy(); });
       }},
      {"destroyWithErrorInConnect",
       [](const std::shared_ptr<Socket>& c) {
         Socket* raw = c.get();
         c->on("connect", [raw] { raw->destroy(Error("ETEST", "test error")); });
       }},
      {"writeAfterEndInConnect",
       [](const std::shared_ptr<Socket>& c) {
         Socket* raw = c.get();
         c->on("connect", [raw] {
           raw->end();
           raw->write(std::string_view("late"), [](const Error*) {});
         });
       }},
  };
  return scenarios;
}

class NodeInteropEventOrderTest : public NodeInteropTest {
 protected:
  // Runs the named scenarios in Node and here; expects the same events, scenario by scenario.
  void expectSameOrderAsNode(const std::vector<std::string>& names) {
    NodePeer node(loop, kEventOrderReference, names);
    const long long port = node.waitForNumber("LISTENING");
    ASSERT_GT(port, 0) << node.transcript();
    ASSERT_TRUE(node.waitForLine("DONE")) << node.transcript();
    for (const auto& name : names) {
      auto scenario = std::find_if(orderScenarios().begin(), orderScenarios().end(),
                                   [&](const OrderScenario& s) { return name == s.name; });
      ASSERT_NE(scenario, orderScenarios().end()) << name;
      std::vector<std::string> events;
      bool closed = false;
      auto client = Socket::create(loop);
      for (const char* event : {"connect", "ready", "data", "end", "finish", "drain", "timeout"}) {
        client->on(event, [&events, event] { events.push_back(event); });
      }
      client->on("error", [&](const Error& error) { events.push_back("error:" + error.code()); });
      client->on("close", [&](bool hadError) {
        events.push_back(hadError ? "close(true)" : "close(false)");
        closed = true;
      });
      client->connect(static_cast<int>(port), "127.0.0.1");
      scenario->setup(client);
      ASSERT_TRUE(waitUntil([&] { return closed; })) << name << ": " << join(events);
      std::string ours;
      for (const auto& event : events) ours += (ours.empty() ? "" : ",") + event;
      EXPECT_EQ("ORDER " + name + " " + ours, node.lineStartingWith("ORDER " + name + " ").value_or("(none)"))
          << "left: our client, right: Node's";
    }
    expectLoopDrains(nullptr);
  }
};

TEST_P(NodeInteropEventOrderTest, EndAndDestroyGiveNodesEventOrder) {
  expectSameOrderAsNode({"endBeforeConnect", "endInData", "destroyBeforeConnect", "destroyInData"});
}

// Node emits 'connect' and then 'ready' unconditionally, even when a 'connect' listener has
// destroyed the socket (or ended it and written after the end).
TEST_P(NodeInteropEventOrderTest, DestroyedInsideConnectListenerStillEmitsReady) {
  expectSameOrderAsNode({"destroyInConnect", "destroyWithErrorInConnect", "writeAfterEndInConnect"});
}

// ---- many Node clients at once ---------------------------------------------------------------

// `count` clients at once, each sending its own pseudo-random 64 KiB and checking the echo.
constexpr std::string_view kManyClients = R"js(
const [port, count, size] = argv.map(Number);
let pending = count;
let failures = 0;
for (let i = 0; i < count; i++) {
  const data = pseudoRandomBytes(1000 + i, size);
  const chunks = [];
  const socket = net.connect(port, '127.0.0.1', () => socket.end(data));
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', (e) => { out('ERROR', i, e.code, e.syscall); });
  socket.on('close', (hadError) => {
    if (hadError || !Buffer.concat(chunks).equals(data)) { failures++; out('FAILED', i); }
    if (--pending === 0) out('DONE', count - failures, 'of', count);
  });
}
)js";

TEST_P(NodeInteropTest, OurServerEchoesToManyConcurrentNodeClients) {
  constexpr int kClients = 40;
  constexpr int kSize = 64 * 1024;
  int connections = 0;
  int cleanCloses = 0;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    ++connections;
    Socket* raw = socket.get();
    socket->on("data", [raw](std::string_view chunk) { raw->write(chunk); });
    socket->on("close", [&](bool hadError) { cleanCloses += !hadError; });
  });
  const int port = listenOnLoopback(*server);
  ASSERT_GT(port, 0);
  NodePeer node(loop, withHelpers(kManyClients),
                {std::to_string(port), std::to_string(kClients), std::to_string(kSize)});
  const auto done = node.waitForLine("DONE", 15s);
  EXPECT_EQ(done, "DONE 40 of 40") << node.transcript();
  ASSERT_TRUE(waitUntil([&] { return cleanCloses == kClients; }, 5s)) << cleanCloses << " clean closes";
  EXPECT_EQ(connections, kClients);
  expectLoopDrains(server.get());
}

INSTANTIATE_TEST_SUITE_P(Backends, NodeInteropTest, ::testing::ValuesIn(testBackends()), backendTestName);
INSTANTIATE_TEST_SUITE_P(Backends, NodeInteropEventOrderTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
