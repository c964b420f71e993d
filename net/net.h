// Node's net module in C++, in one include: addresses and errors, block lists, sockets, servers, and
// createConnection/createServer. Programs run the thread's loop afterwards:
//
//   auto server = net::createServer([](std::shared_ptr<net::Socket> socket) { socket->end("hi\n"); });
//   server->listen(3000);
//   reactor::Loop::forThisThread().run();
#pragma once

#include "net/address.h"
#include "net/block_list.h"
#include "net/error.h"
#include "net/event_emitter.h"
#include "net/server.h"
#include "net/socket.h"
#include "reactor/loop.h"
