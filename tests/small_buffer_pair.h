// smallBufferTcpPair(): a connected TCP pair over 127.0.0.1 whose kernel buffers are fixed small,
// for tests that need a stream to back up into the writer's queue after a few kilobytes rather
// than after the megabytes Linux's autotuning would otherwise grant a reader that keeps up.
//
// `local` (the end a test writes through) has SO_SNDBUF set, `peer` (the end it reads) SO_RCVBUF;
// the kernel doubles both for its bookkeeping, and setting them turns autotuning off for them. The
// receive buffer is set on the listening socket, so that the accepted end has it before the
// handshake announces its window: shrunk afterwards, below a window already announced, it would
// make the kernel drop data and wait for retransmissions. Both ends are non-blocking and
// close-on-exec, owned as tests/socket_pairs.h's pairs are.
#pragma once

#include "tests/socket_pairs.h"

namespace reactor::testing_support {

// Throws std::system_error on failure.
SocketPair smallBufferTcpPair(int sendBufferBytes, int receiveBufferBytes);

}  // namespace reactor::testing_support
