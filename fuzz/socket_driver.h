// What the socket fuzz target does with one input, shared by the libFuzzer entry point
// (fuzz/socket_fuzzer.cc) and the regression test that replays the corpus under g++
// (tests/fuzz_regressions_test.cc).
//
// Two net::Sockets wrap the ends of one connected pair (AF_UNIX or TCP over 127.0.0.1) on a
// reactor::Loop of their own. The first two bytes choose the transport and each end's options; the
// rest is a program of calls: write (sizes from the input, 0 included; a moved string or a view;
// with a callback or without, a callback that may react as a listener does), end, destroy,
// destroy(error), pause, resume, setTimeout(0-3 ms), destroySoon, ref/unref, listeners added
// (reacting with one of those calls, re-entrantly: end, destroy, destroy(error), a write...) and
// removed, the program's pointer dropped, and the loop run for a few iterations or a few
// milliseconds (at most kTimeBudgetMs per input: the loop has no fake clock).
// Then both ends are destroyed and the loop is run to its end.
//
// Invariants (a violation traps, fuzz/invariant.h):
//  - each end receives a prefix of the bytes the other end's accepted writes carried, in order;
//    on 'end', while the writer is still open, all of them;
//  - 'close' comes exactly once per socket, and no event after it; 'error' at most once and only
//    before it; close(hadError) is true exactly when an error was heard or thrown out of the loop;
//    'end' and 'finish' at most once, 'finish' only after end(), 'drain' only after write() said
//    false, 'timeout' only while a timeout is set; never 'connect', 'ready' or 'lookup';
//  - every write callback runs exactly once, and those of writes made before destroy() run
//    before 'close'; those of accepted writes (made while the socket was neither ended nor
//    destroyed) run in write order, and none says success after one said failure;
//  - only net::Error leaves the loop, and only for an 'error' nobody listened to;
//  - the loop stops once both sockets are closed; then no socket object is left alive and no
//    descriptor is left open (/proc/self/fd counted before and after).
#pragma once

#include <cstdint>
#include <span>

namespace fuzz {

inline constexpr int kTimeBudgetMs = 4;

void exploreSocketInput(std::span<const std::uint8_t> input);

}  // namespace fuzz
