// Node's EventEmitter for C++: listeners are registered with Node's event names as strings
// (`socket->on("data", ...)`), several per event, called in registration order.
//
// Each emitter names itself and declares its events and their signatures as template arguments,
// for example `class Socket : public EventEmitter<Socket, Event<"data", void(std::string_view)>>`.
// A listener may take the event's arguments; the emitter and then the event's arguments, which is
// Node's `this` made explicit (`[](Socket& socket, std::string_view data) { socket.write(data); }`,
// a listener that captures nothing and so costs nothing beyond its node); or nothing. A listener
// whose signature fits none of these, or an event name the emitter does not have, is rejected when
// it is registered (net::Error ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE), never when the event
// fires; emitting an undeclared event or wrong arguments does not compile.
//
// Differences from Node, for C++ reasons:
//  - on()/once()/prependListener() return a ListenerId, which off() takes: C++ callables cannot be
//    compared, so the id replaces Node's "pass the same function again". No chaining.
//  - A listener removed while an event is being emitted is not called later in that emit (Node
//    would still call it): a C++ listener is often removed because what it captured is going away.
//    Listeners added during an emit are not called by it, as in Node.
//
// Reentrancy: a listener may add or remove any listener, itself included. The emitter must stay
// alive while it emits; owners that a listener may release (sockets, servers) hold a reference to
// themselves for the duration. Single-threaded, like the loop it belongs to.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "net/error.h"

namespace net {

// A string literal usable as a template argument: Event<"data", ...>.
template <std::size_t N>
struct EventName {
  char text[N];
  constexpr EventName(const char (&literal)[N]) { std::copy_n(literal, N, text); }
  constexpr std::string_view view() const { return {text, N - 1}; }
};

template <EventName Name, class Signature>
struct Event;

template <EventName Name, class... Args>
struct Event<Name, void(Args...)> {
  static constexpr std::string_view name = Name.view();
  using Values = std::tuple<std::decay_t<Args>...>;
  template <class F>
  static constexpr bool takesArguments = std::is_invocable_v<F&, std::decay_t<Args>&...>;
  template <class F, class Emitter>
  static constexpr bool takesEmitterAndArguments = std::is_invocable_v<F&, Emitter&, std::decay_t<Args>&...>;
  template <class F, class Emitter>
  static constexpr bool accepts = takesArguments<F> || takesEmitterAndArguments<F, Emitter> || std::is_invocable_v<F&>;
};

using ListenerId = std::uint64_t;

// `Owner` (the derived class, for a hook without a virtual table: a pointer fewer per socket) may
// define `void listenerAdded(std::string_view event)`, called after each listener is added (Node's
// 'newListener', for the owner only: a socket starts reading when its first 'data' listener
// arrives). A private hook needs `friend EventEmitter;` in the owner.
template <class Owner, class... Events>
class EventEmitter {
 public:
  template <class F>
  ListenerId on(std::string_view event, F&& listener) {
    return add(event, std::forward<F>(listener), false, false);
  }
  template <class F>
  ListenerId addListener(std::string_view event, F&& listener) {
    return add(event, std::forward<F>(listener), false, false);
  }
  template <class F>
  ListenerId once(std::string_view event, F&& listener) {
    return add(event, std::forward<F>(listener), true, false);
  }
  template <class F>
  ListenerId prependListener(std::string_view event, F&& listener) {
    return add(event, std::forward<F>(listener), false, true);
  }
  template <class F>
  ListenerId prependOnceListener(std::string_view event, F&& listener) {
    return add(event, std::forward<F>(listener), true, true);
  }

  // Removes the listener `id` registered for `event`; false if there is none.
  bool off(std::string_view event, ListenerId id) { return removeWhere(indexOf(event), id); }
  bool removeListener(std::string_view event, ListenerId id) { return off(event, id); }
  void removeAllListeners(std::string_view event) { removeWhere(indexOf(event), 0); }
  void removeAllListeners() { removeWhere(kAnyEvent, 0); }

  std::size_t listenerCount(std::string_view event) const {
    const std::size_t index = indexOf(event);
    std::size_t count = 0;
    for (const Listener* l = head_; l; l = l->next) count += l->event == index && !l->removed;
    return count;
  }

 protected:
  EventEmitter() = default;
  ~EventEmitter() {
    while (head_) delete std::exchange(head_, head_->next);
  }

  // Calls every listener of event `Name` with `args`; returns whether there was any (Node's emit).
  template <EventName Name, class... A>
  bool emit(A&&... args) {
    constexpr std::size_t index = compileTimeIndexOf(Name.view());
    static_assert(index < sizeof...(Events), "this emitter has no such event");
    using E = std::tuple_element_t<index, std::tuple<Events...>>;
    typename E::Values values(std::forward<A>(args)...);
    if (!head_) return false;
    bool called = false;
    ++emitDepth_;
    struct EndOfEmit {
      EventEmitter& emitter;
      ~EndOfEmit() {
        if (--emitter.emitDepth_ == 0 && emitter.needsCompaction_) emitter.compact();
      }
    } endOfEmit{*this};
    // Nodes are not freed during an emit, and those added by it have larger ids than any present
    // when it began: the walk calls exactly the listeners that were there.
    const ListenerId newest = lastId_;
    for (Listener* listener = head_; listener; listener = listener->next) {
      if (listener->event == index && !listener->removed && listener->id <= newest) {
        called = true;
        if (listener->once) {
          listener->removed = true;
          needsCompaction_ = true;
        }
        listener->call(&values, static_cast<Owner&>(*this));
      }
    }
    return called;
  }

  bool hasListeners(std::string_view event) const { return listenerCount(event) > 0; }

 private:
  static constexpr std::size_t kAnyEvent = sizeof...(Events);

  // One heap node per listener, the callable stored in it: a listener costs one allocation of a
  // few words plus its captures. A removed node keeps its callable until no emit is running, so a
  // listener that removes itself keeps its captures until it returns.
  struct Listener {
    Listener(std::size_t event, bool once, ListenerId id) : id(id), event(event), once(once), removed(false) {}
    virtual ~Listener() = default;
    virtual void call(void* values, Owner& emitter) = 0;
    Listener* next = nullptr;
    ListenerId id : 54;
    ListenerId event : 8;
    ListenerId once : 1;
    ListenerId removed : 1;
  };
  static_assert(sizeof...(Events) < 256, "an event index takes 8 bits");

  template <class E, class Fn>
  struct ListenerFor final : Listener {
    ListenerFor(std::size_t event, bool once, ListenerId id, Fn&& fn)
        : Listener(event, once, id), fn(std::move(fn)) {}
    void call(void* values, Owner& emitter) override {
      auto& arguments = *static_cast<typename E::Values*>(values);
      if constexpr (E::template takesArguments<Fn>) {
        std::apply(fn, arguments);
      } else if constexpr (E::template takesEmitterAndArguments<Fn, Owner>) {
        std::apply([&](auto&... each) { fn(emitter, each...); }, arguments);
      } else {
        fn();
      }
    }
    [[no_unique_address]] Fn fn;  // a listener that captures nothing adds nothing to its node
  };

  static constexpr std::size_t compileTimeIndexOf(std::string_view name) {
    std::size_t index = 0;
    std::size_t found = sizeof...(Events);
    ((Events::name == name ? found = index : 0, ++index), ...);
    return found;
  }

  static std::size_t indexOf(std::string_view event) {
    std::size_t index = compileTimeIndexOf(event);
    if (index == kAnyEvent) {
      throw Error("ERR_INVALID_ARG_VALUE", "The event \"" + std::string(event) + "\" is not emitted by this object");
    }
    return index;
  }

  template <class F>
  ListenerId add(std::string_view event, F&& listener, bool once, bool prepend) {
    const std::size_t index = indexOf(event);
    const ListenerId id = ++lastId_;
    Listener* node = nullptr;
    std::size_t position = 0;
    ((position++ == index ? (node = make<Events>(index, once, id, std::forward<F>(listener), event), 0) : 0), ...);
    // Appending walks the list: an emitter has a handful of listeners, and a tail pointer would
    // cost every idle socket a word.
    Listener** link = &head_;
    if (!prepend) {
      while (*link) link = &(*link)->next;
    }
    node->next = *link;
    *link = node;
    if constexpr (requires(Owner& owner) { owner.listenerAdded(event); }) {
      static_cast<Owner&>(*this).listenerAdded(event);
    }
    return id;
  }

  template <class E, class F>
  static Listener* make(std::size_t index, bool once, ListenerId id, F&& listener, std::string_view event) {
    using Fn = std::decay_t<F>;
    if constexpr (!E::template accepts<Fn, Owner>) {
      throw Error("ERR_INVALID_ARG_TYPE",
                  "The listener for event \"" + std::string(event) + "\" does not take the event's arguments");
    } else {
      return new ListenerFor<E, Fn>(index, once, id, Fn(std::forward<F>(listener)));
    }
  }

  // Removes listeners of `event` (any event: kAnyEvent) with this id (any id: 0).
  bool removeWhere(std::size_t event, ListenerId id) {
    bool removed = false;
    for (Listener* l = head_; l; l = l->next) {
      if ((event == kAnyEvent || l->event == event) && (id == 0 || l->id == id) && !l->removed) {
        l->removed = true;
        removed = true;
      }
    }
    needsCompaction_ = needsCompaction_ || removed;
    if (emitDepth_ == 0 && needsCompaction_) compact();
    return removed;
  }

  void compact() {
    for (Listener** link = &head_; *link;) {
      if ((*link)->removed) {
        delete std::exchange(*link, (*link)->next);
      } else {
        link = &(*link)->next;
      }
    }
    needsCompaction_ = false;
  }

  Listener* head_ = nullptr;  // registration order, prepends at the front
  // One word: 2^47 ids outlast any program, and 2^16 nested emits of one emitter any stack.
  ListenerId lastId_ : 47 = 0;
  ListenerId emitDepth_ : 16 = 0;
  ListenerId needsCompaction_ : 1 = 0;  // removed listeners are waiting to be freed
};

}  // namespace net
