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
# Whether libuv and Asio are installed is decided when the peers' recipes run, not when make
# reads this file: `make deps bench-deps bench` installs them in the same invocation, before the
# recipes run (tests/peers_test.sh checks it). A peer whose library is missing is skipped with a
# line that says so, and tried again by the next make.

BUILD    ?= build
CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -pthread
LDFLAGS  ?= -pthread
# The C peers take the same optimisation level and warnings as the rest of the project.
PEERS_CFLAGS ?= -std=gnu11 $(or $(OPT),-O2) -g -Wall -Wextra -Werror $(SANFLAGS)

PEERS_DIR := $(BUILD)/bin/peers
PEERS_ASIO_HEADER ?= /usr/include/asio.hpp
PEERS_DEBIAN_PACKAGES := libuv1-dev libasio-dev gnuplot
PKG_CONFIG ?= pkg-config

PEER_BINS := $(PEERS_DIR)/raw_epoll_echo $(PEERS_DIR)/libuv_echo $(PEERS_DIR)/asio_echo
# When the same make installs the peers' packages (bench-deps, or deps), that comes first, -j or not.
PEERS_AFTER := $(filter deps bench-deps,$(MAKECMDGOALS))

.PHONY: peers

peers: $(PEER_BINS)

$(PEERS_DIR)/raw_epoll_echo: bench/peers/raw_epoll_echo.c bench/peers/peer_args.h | $(PEERS_AFTER)
	@mkdir -p $(@D)
	$(CC) $(PEERS_CFLAGS) $< $(LDFLAGS) -o $@

# No file is made when libuv is missing, so the next make tries again.
$(PEERS_DIR)/libuv_echo: bench/peers/libuv_echo.c bench/peers/peer_args.h | $(PEERS_AFTER)
	@mkdir -p $(@D)
	@if $(PKG_CONFIG) --exists libuv 2>/dev/null; then \
	  cmd="$(CC) $(PEERS_CFLAGS) $$($(PKG_CONFIG) --cflags libuv) $< $(LDFLAGS) $$($(PKG_CONFIG) --libs libuv) -o $@"; \
	  echo "$$cmd"; $$cmd; \
	else \
	  echo "peers: skipping libuv_echo: libuv not found by pkg-config (make bench-deps installs libuv1-dev)"; \
	fi

$(PEERS_DIR)/asio_echo: bench/peers/asio_echo.cc bench/peers/peer_args.h | $(PEERS_AFTER)
	@mkdir -p $(@D)
	@if [ -e $(PEERS_ASIO_HEADER) ]; then \
	  cmd="$(CXX) $(CPPFLAGS) $(CXXFLAGS) $< $(LDFLAGS) -o $@"; \
	  echo "$$cmd"; $$cmd; \
	else \
	  echo "peers: skipping asio_echo: $(PEERS_ASIO_HEADER) not found (make bench-deps installs libasio-dev)"; \
	fi
