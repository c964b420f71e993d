#!/usr/bin/env bash
# The README's first command, `make deps bench-deps bench`, installs libuv and Asio and must then
# build their peers in the same invocation. That broke when bench/peers.mk asked pkg-config while
# make read the Makefile, before bench-deps had run. This replays the peers' build logic without
# touching the machine: pkg-config looks only at a folder of this test, the Asio header is a path
# of this test, and the compilers are a stub that records its command line and makes the file.
#   1. nothing installed: `make peers` skips libuv_echo and asio_echo and says why;
#   2. one invocation, `make bench-deps peers`, whose bench-deps "installs" both (writes libuv.pc and
#      asio.hpp): both peers must be built, with libuv's flags from pkg-config.
# Run by `make test` (make peers-test); seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
work=$(mktemp -d "${TMPDIR:-/tmp}/reactornet-peers-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "peers_test: FAIL: $*" >&2; failures=$((failures + 1)); }

mkdir -p "$work/pkgconfig" "$work/include"
cat >"$work/cc" <<'SH'
#!/bin/sh
# A compiler stub: logs its arguments, creates the -o file.
echo "$*" >>"${0%/*}/compiler.log"
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then : >"$2"; chmod +x "$2"; fi; shift; done
SH
chmod +x "$work/cc"
# bench-deps as this test's: "installs" the peers' libraries into the test's folders.
cat >"$work/fake-deps.mk" <<MK
bench-deps:
	printf 'Name: libuv\nDescription: stub\nVersion: 1.44.2\nCflags: -DSTUB_LIBUV_CFLAGS\nLibs: -lstub_uv\n' >$work/pkgconfig/libuv.pc
	touch $work/include/asio.hpp
MK
export PKG_CONFIG_LIBDIR=$work/pkgconfig PKG_CONFIG_PATH=
args=(--no-print-directory CC="$work/cc" CXX="$work/cc" BUILD="$work/build" PEERS_ASIO_HEADER="$work/include/asio.hpp")
peers=$work/build/bin/peers

echo "peers_test: nothing installed: make peers"
"$MAKE" "${args[@]}" peers >"$work/absent.log" 2>&1 || { cat "$work/absent.log" >&2; fail "make peers failed"; }
grep -q "peers: skipping libuv_echo: libuv not found by pkg-config" "$work/absent.log" || fail "no line says libuv_echo is skipped"
grep -q "peers: skipping asio_echo: .* not found" "$work/absent.log" || fail "no line says asio_echo is skipped"
[ -x "$peers/raw_epoll_echo" ] || fail "raw_epoll_echo was not built"
[ ! -e "$peers/libuv_echo" ] && [ ! -e "$peers/asio_echo" ] || fail "a peer was built without its library"

echo "peers_test: installed by the same invocation: make bench-deps peers"
"$MAKE" -f Makefile -f "$work/fake-deps.mk" "${args[@]}" bench-deps peers >"$work/present.log" 2>&1 ||
  { cat "$work/present.log" >&2; fail "make bench-deps peers failed"; }
[ -x "$peers/libuv_echo" ] || { cat "$work/present.log" >&2; fail "libuv_echo was not built after bench-deps installed libuv"; }
[ -x "$peers/asio_echo" ] || { cat "$work/present.log" >&2; fail "asio_echo was not built after bench-deps installed Asio"; }
grep -q -- "-DSTUB_LIBUV_CFLAGS .*libuv_echo.c.*-lstub_uv" "$work/compiler.log" ||
  fail "libuv_echo was not compiled with pkg-config's flags for libuv"
if grep -q "skipping" "$work/present.log"; then fail "a peer was skipped after bench-deps installed it"; fi

if [ "$failures" -ne 0 ]; then
  echo "peers_test: $failures check(s) failed" >&2
  exit 1
fi
echo "peers_test: all checks passed"
