# Peer echo servers for the side-by-side benchmark: raw epoll (the floor), libuv, standalone Asio.
# Node's peer, bench/peers/node_echo.js, needs no build.
#
# Included by the root Makefile (after it sets BUILD, CXXFLAGS, CPPFLAGS and LDFLAGS, whose values
# it then uses), or on its own, with defaults of its own:  make -f bench/peers.mk BUILD=build
#
#   make peers        builds every peer whose library is installed into $(BUILD)/bin/peers/,
#                     and says which were skipped and why
#   make bench-deps   (root Makefile) installs the Debian packages the peers need
#
# PEER_BINS lists the binaries that this machine can build; PEERS_SKIPPED the ones it cannot.

BUILD    ?= build
CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -pthread
LDFLAGS  ?= -pthread
# The C peers take the same optimisation level and warnings as the rest of the project.
PEERS_CFLAGS ?= -std=gnu11 $(or $(OPT),-O2) -g -Wall -Wextra -Werror $(SANFLAGS)

PEERS_DIR := $(BUILD)/bin/peers
PEERS_ASIO_HEADER ?= /usr/include/asio.hpp
PEERS_DEBIAN_PACKAGES := libuv1-dev libasio-dev gnuplot

PEER_BINS     := $(PEERS_DIR)/raw_epoll_echo
PEERS_SKIPPED :=
ifeq ($(shell pkg-config --exists libuv 2>/dev/null && echo yes),yes)
  PEER_BINS += $(PEERS_DIR)/libuv_echo
  PEERS_LIBUV_CFLAGS := $(shell pkg-config --cflags libuv)
  PEERS_LIBUV_LIBS   := $(shell pkg-config --libs libuv)
else
  PEERS_SKIPPED += libuv_echo
endif
ifneq ($(wildcard $(PEERS_ASIO_HEADER)),)
  PEER_BINS += $(PEERS_DIR)/asio_echo
else
  PEERS_SKIPPED += asio_echo
endif

.PHONY: peers

peers: $(PEER_BINS)
ifneq ($(filter libuv_echo,$(PEERS_SKIPPED)),)
	@echo "peers: skipping libuv_echo: libuv not found by pkg-config (make bench-deps installs libuv1-dev)"
endif
ifneq ($(filter asio_echo,$(PEERS_SKIPPED)),)
	@echo "peers: skipping asio_echo: $(PEERS_ASIO_HEADER) not found (make bench-deps installs libasio-dev)"
endif

$(PEERS_DIR)/raw_epoll_echo: bench/peers/raw_epoll_echo.c bench/peers/peer_args.h
	@mkdir -p $(@D)
	$(CC) $(PEERS_CFLAGS) $< $(LDFLAGS) -o $@

$(PEERS_DIR)/libuv_echo: bench/peers/libuv_echo.c bench/peers/peer_args.h
	@mkdir -p $(@D)
	$(CC) $(PEERS_CFLAGS) $(PEERS_LIBUV_CFLAGS) $< $(LDFLAGS) $(PEERS_LIBUV_LIBS) -o $@

$(PEERS_DIR)/asio_echo: bench/peers/asio_echo.cc bench/peers/peer_args.h
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< $(LDFLAGS) -o $@
