// net::EventEmitter: Node's listener semantics with typed events.
#include "net/event_emitter.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace net {
namespace {

class Emitter : public EventEmitter<Emitter, Event<"ping", void(int)>, Event<"text", void(std::string_view)>,
                                    Event<"bare", void()>> {
 public:
  using EventEmitter::emit;
  std::vector<std::string> added;

 private:
  friend EventEmitter;
  void listenerAdded(std::string_view event) { added.emplace_back(event); }
};

std::string codeOf(auto&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.code();
  }
  return "no error";
}

TEST(EventEmitter, ListenersRunInRegistrationOrderWithTheEventsArguments) {
  Emitter emitter;
  std::string order;
  emitter.on("ping", [&](int value) { order += "a" + std::to_string(value); });
  emitter.on("ping", [&] { order += "b"; });  // a listener may ignore the arguments
  emitter.prependListener("ping", [&](int) { order += "p"; });
  EXPECT_TRUE(emitter.emit<"ping">(7));
  EXPECT_EQ(order, "pa7b");
  EXPECT_FALSE(emitter.emit<"bare">());
  EXPECT_EQ(emitter.added, (std::vector<std::string>{"ping", "ping", "ping"}));
}

TEST(EventEmitter, OnceListenerRunsOnce) {
  Emitter emitter;
  int calls = 0;
  emitter.once("bare", [&] { ++calls; });
  emitter.emit<"bare">();
  emitter.emit<"bare">();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(emitter.listenerCount("bare"), 0u);
}

TEST(EventEmitter, OffRemovesByIdAndRemoveAllListenersClears) {
  Emitter emitter;
  int calls = 0;
  ListenerId first = emitter.on("bare", [&] { ++calls; });
  emitter.on("bare", [&] { calls += 10; });
  EXPECT_TRUE(emitter.off("bare", first));
  EXPECT_FALSE(emitter.off("bare", first));
  emitter.emit<"bare">();
  EXPECT_EQ(calls, 10);
  emitter.on("ping", [](int) {});
  emitter.removeAllListeners("bare");
  EXPECT_EQ(emitter.listenerCount("bare"), 0u);
  EXPECT_EQ(emitter.listenerCount("ping"), 1u);
  emitter.removeAllListeners();
  EXPECT_EQ(emitter.listenerCount("ping"), 0u);
}

TEST(EventEmitter, WrongSignatureOrUnknownEventIsRejectedAtRegistration) {
  Emitter emitter;
  EXPECT_EQ(codeOf([&] { emitter.on("ping", [](std::string) {}); }), "ERR_INVALID_ARG_TYPE");
  EXPECT_EQ(codeOf([&] { emitter.on("text", [](int, int) {}); }), "ERR_INVALID_ARG_TYPE");
  EXPECT_EQ(codeOf([&] { emitter.on("nope", [] {}); }), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(codeOf([&] { emitter.listenerCount("nope"); }), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(emitter.listenerCount("ping"), 0u);
}

// Node calls a listener with the emitter as `this`; here a listener may take it as its first
// parameter instead of capturing it.
TEST(EventEmitter, ListenerMayTakeTheEmitterBeforeTheEventsArguments) {
  Emitter emitter;
  std::vector<std::pair<const Emitter*, int>> pings;
  int bare = 0;
  emitter.on("ping", [&](Emitter& self, int value) { pings.emplace_back(&self, value); });
  emitter.on("bare", [&](const Emitter& self) { bare += &self == &emitter; });
  EXPECT_EQ(codeOf([&] { emitter.on("ping", [](int, Emitter&) {}); }), "ERR_INVALID_ARG_TYPE");
  emitter.emit<"ping">(3);
  emitter.emit<"bare">();
  EXPECT_EQ(pings, (std::vector<std::pair<const Emitter*, int>>{{&emitter, 3}}));
  EXPECT_EQ(bare, 1);
}

TEST(EventEmitter, ListenersAddedDuringAnEmitWaitForTheNextOne) {
  Emitter emitter;
  int late = 0;
  emitter.on("bare", [&] {
    emitter.on("bare", [&] { ++late; });
    emitter.prependListener("bare", [&] { ++late; });
  });
  emitter.emit<"bare">();
  EXPECT_EQ(late, 0);
  EXPECT_EQ(emitter.listenerCount("bare"), 3u);
}

TEST(EventEmitter, PrependsDuringAnEmitGoToTheFrontAfterIt) {
  Emitter emitter;
  std::string order;
  bool first = true;
  emitter.on("bare", [&] {
    order += 'a';
    if (!std::exchange(first, false)) return;
    emitter.prependListener("bare", [&] { order += 'b'; });
    emitter.prependListener("bare", [&] { order += 'c'; });
  });
  emitter.emit<"bare">();
  EXPECT_EQ(order, "a");
  emitter.emit<"bare">();
  EXPECT_EQ(order, "acba");  // as if each had been prepended at once: the latest first
}

TEST(EventEmitter, ListenerRemovedDuringAnEmitIsNotCalledLater) {
  Emitter emitter;
  int calls = 0;
  ListenerId second = 0;
  emitter.on("bare", [&] { emitter.off("bare", second); });
  second = emitter.on("bare", [&] { ++calls; });
  emitter.emit<"bare">();
  EXPECT_EQ(calls, 0);
}

TEST(EventEmitter, ListenerMayRemoveItselfWhileRunning) {
  Emitter emitter;
  int calls = 0;
  ListenerId self = 0;
  self = emitter.on("text", [&](std::string_view text) {
    ++calls;
    emitter.off("text", self);
    EXPECT_EQ(text, "still valid");  // its own captures survive until it returns
  });
  emitter.emit<"text">(std::string_view("still valid"));
  emitter.emit<"text">(std::string_view("not delivered"));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace net
