// Node's EventEmitter for C++: listeners are registered with Node's event names as strings
// (`socket->on("data", ...)`), several per event, called in registration order.
//
// Each emitter declares its events and their signatures as template arguments, for example
// Event<"data", void(std::string_view)>. A listener may take the event's arguments or none. A
// listener whose signature fits neither, or an event name the emitter does not have, is rejected
// when it is registered (net::Error ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE), never when the
// event fires; emitting an undeclared event or wrong arguments does not compile.
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
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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
  template <class F>
  static constexpr bool accepts = takesArguments<F> || std::is_invocable_v<F&>;
};

using ListenerId = std::uint64_t;

template <class... Events>
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
    return static_cast<std::size_t>(std::count_if(listeners_.begin(), listeners_.end(),
                                                  [&](const auto& l) { return l->event == index && l->call; }));
  }

 protected:
  EventEmitter() = default;
  ~EventEmitter() = default;

  // Calls every listener of event `Name` with `args`; returns whether there was any (Node's emit).
  template <EventName Name, class... A>
  bool emit(A&&... args) {
    constexpr std::size_t index = compileTimeIndexOf(Name.view());
    static_assert(index < sizeof...(Events), "this emitter has no such event");
    using E = std::tuple_element_t<index, std::tuple<Events...>>;
    typename E::Values values(std::forward<A>(args)...);
    bool called = false;
    ++emitDepth_;
    struct EndOfEmit {
      EventEmitter& emitter;
      ~EndOfEmit() {
        if (--emitter.emitDepth_ == 0 && emitter.needsCompaction_) emitter.compact();
      }
    } endOfEmit{*this};
    for (std::size_t i = 0, count = listeners_.size(); i < count; ++i) {
      Listener& listener = *listeners_[i];  // stable: listeners are heap nodes, only compacted after
      if (listener.event != index || !listener.call) continue;
      called = true;
      if (listener.once) {
        auto call = std::move(listener.call);
        listener.call = nullptr;
        needsCompaction_ = true;
        call(&values);
      } else {
        listener.call(&values);
      }
    }
    return called;
  }

  bool hasListeners(std::string_view event) const { return listenerCount(event) > 0; }

  // Called after a listener was added (Node's 'newListener', for the owner only): a socket starts
  // reading when its first 'data' listener arrives.
  virtual void listenerAdded(std::string_view event) { (void)event; }

 private:
  static constexpr std::size_t kAnyEvent = sizeof...(Events);

  struct Listener {
    std::size_t event;
    bool once;
    bool deferredPrepend;  // prepended during an emit: moves to the front when it ends
    ListenerId id;
    std::function<void(void*)> call;  // empty once removed; the node is freed outside any emit
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
    ListenerId id = ++lastId_;
    std::function<void(void*)> call;
    std::size_t position = 0;
    ((position++ == index ? (call = wrap<Events>(std::forward<F>(listener), event), 0) : 0), ...);
    // A prepend during an emit would shift the emit's indices: it is appended, marked, and moved
    // to the front when the emit is over.
    const bool deferPrepend = prepend && emitDepth_ > 0;
    auto node = std::make_unique<Listener>(Listener{index, once, deferPrepend, id, std::move(call)});
    if (prepend && !deferPrepend) {
      listeners_.insert(listeners_.begin(), std::move(node));
    } else {
      listeners_.push_back(std::move(node));
    }
    needsCompaction_ = needsCompaction_ || deferPrepend;
    listenerAdded(event);
    return id;
  }

  template <class E, class F>
  static std::function<void(void*)> wrap(F&& listener, std::string_view event) {
    using Fn = std::decay_t<F>;
    if constexpr (!E::template accepts<Fn>) {
      throw Error("ERR_INVALID_ARG_TYPE",
                  "The listener for event \"" + std::string(event) + "\" does not take the event's arguments");
    } else {
      return [fn = Fn(std::forward<F>(listener))](void* values) mutable {
        if constexpr (E::template takesArguments<Fn>) {
          std::apply(fn, *static_cast<typename E::Values*>(values));
        } else {
          fn();
        }
      };
    }
  }

  // Removes listeners of `event` (any event: kAnyEvent) with this id (any id: 0).
  bool removeWhere(std::size_t event, ListenerId id) {
    bool removed = false;
    for (auto& listener : listeners_) {
      if ((event == kAnyEvent || listener->event == event) && (id == 0 || listener->id == id) && listener->call) {
        listener->call = nullptr;
        removed = true;
      }
    }
    needsCompaction_ = needsCompaction_ || removed;
    if (emitDepth_ == 0 && needsCompaction_) compact();
    return removed;
  }

  void compact() {
    std::erase_if(listeners_, [](const auto& listener) { return !listener->call; });
    // Deferred prepends go to the front, the latest first, as if each had been inserted there.
    auto deferred = std::stable_partition(listeners_.begin(), listeners_.end(),
                                          [](const auto& listener) { return !listener->deferredPrepend; });
    std::reverse(deferred, listeners_.end());
    for (auto it = deferred; it != listeners_.end(); ++it) (*it)->deferredPrepend = false;
    std::rotate(listeners_.begin(), deferred, listeners_.end());
    needsCompaction_ = false;
  }

  std::vector<std::unique_ptr<Listener>> listeners_;
  ListenerId lastId_ = 0;
  unsigned emitDepth_ = 0;
  bool needsCompaction_ = false;  // removed listeners or deferred prepends are waiting
};

}  // namespace net
