#!/usr/bin/env bash
# `make install` as a user of the library meets it, in seconds: installs into a temporary PREFIX
# (and a DESTDIR), then builds and runs
#   - a program through pkg-config, with the shared libraries and with the archives, compiled as
#     C++23 (pkg-config's Cflags must not pull the standard down to C++20);
#   - a CMake consumer: find_package(reactornet CONFIG REQUIRED) and reactornet::net, also C++23;
#   - shared objects that link each archive (the archives are position-independent) and the
#     shared libraries, loaded by a program;
# checks the installed names (ours alone), the sonames and the tools in PREFIX/bin; that
# `make install` would build nothing it does not install; and that `make uninstall` leaves nothing.
# Run by `make test` (make install-test); BUILD, MAKE and CXX come from make, with defaults here.
set -euo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
CXX=${CXX:-g++}
BUILD=${BUILD:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/reactornet-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
failures=0
# grep reads everything (no -q): an early exit would kill the writer with SIGPIPE under pipefail.
fail() { echo "install_test: FAIL: $*" >&2; failures=$((failures + 1)); }
step() { echo "install_test: $* ($SECONDS s)"; }

step "make install PREFIX=$prefix"
"$MAKE" --no-print-directory -s install PREFIX="$prefix" BUILD="$BUILD" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "make install"; exit 1; }

# --- the installed names --------------------------------------------------------------------------
for f in include/reactornet/net/net.h include/reactornet/reactor/loop.h \
  lib/libreactornet_reactor.a lib/libreactornet_net.a \
  lib/libreactornet_reactor.so lib/libreactornet_reactor.so.0 lib/libreactornet_net.so lib/libreactornet_net.so.0 \
  lib/pkgconfig/reactornet-reactor.pc lib/pkgconfig/reactornet-net.pc \
  lib/cmake/reactornet/reactornetConfig.cmake lib/cmake/reactornet/reactornetConfigVersion.cmake \
  bin/reactornet-echo-server bin/reactornet-netload bin/reactornet-netcat; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
for f in include/net include/reactor lib/libnet.a lib/libreactor.a lib/pkgconfig/net.pc lib/pkgconfig/reactor.pc; do
  [ ! -e "$prefix/$f" ] || fail "$f is installed: a name that is not ours alone"
done
for l in reactor net; do
  soname=$(objdump -p "$prefix/lib/libreactornet_$l.so" | awk '$1 == "SONAME" { print $2 }')
  [ "$soname" = "libreactornet_$l.so.0" ] || fail "libreactornet_$l.so has soname '$soname'"
done
objdump -p "$prefix/lib/libreactornet_net.so" | grep 'NEEDED *libreactornet_reactor.so.0' >/dev/null ||
  fail "libreactornet_net.so does not name libreactornet_reactor.so.0 as NEEDED"
"$prefix/bin/reactornet-echo-server" --version | grep '^echo-server (reactornet) ' >/dev/null || fail "echo-server --version"

# --- pkg-config -------------------------------------------------------------------------------------
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags reactornet-net)
case " $cflags " in *-std=*) fail "pkg-config --cflags reactornet-net forces a standard: $cflags" ;; esac
case " $cflags " in *" -I$prefix/include/reactornet "*) ;; *) fail "Cflags lack -I$prefix/include/reactornet: $cflags" ;; esac

cat >"$work/app.cc" <<'CC'
// Compiled as C++23: the installed headers and pkg-config's flags must leave the standard alone.
#include <cstdio>
#include "net/net.h"
static_assert(__cplusplus > 202002L, "compiled below C++23: the standard was overridden");
int main() {
  auto server = net::createServer([](std::shared_ptr<net::Socket> socket) { socket->end(); });
  server->listen(0, "127.0.0.1", [&] {
    std::printf("listening %d\n", server->address().port);
    server->close();
  });
  reactor::Loop::forThisThread().run();
  std::puts("app ok");
}
CC
cat >"$work/plugin_reactor.cc" <<'CC'
#include "reactor/loop.h"
extern "C" int pluginReactor() {
  int fired = 0;
  reactor::Loop& loop = reactor::Loop::forThisThread();  // the thread_local that needed -fPIC
  loop.setTimeout([&] { fired = 1; }, 1);
  loop.run();
  return fired;
}
CC
cat >"$work/plugin_net.cc" <<'CC'
#include "net/net.h"
extern "C" int pluginNet() { return net::isIP("127.0.0.1") == 4 && net::isIPv6("::1") ? 1 : 0; }
CC
cat >"$work/host.cc" <<'CC'
// Loads each shared object given and calls its function, which must return 1.
#include <dlfcn.h>
#include <cstdio>
int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    void* library = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (!library) { std::fprintf(stderr, "%s\n", dlerror()); return 1; }
    auto call = reinterpret_cast<int (*)()>(dlsym(library, argv[i + 1]));
    if (!call || call() != 1) { std::fprintf(stderr, "%s: %s failed\n", argv[i], argv[i + 1]); return 1; }
  }
  std::puts("host ok");
}
CC
step "compiling the consumers (pkg-config's flags, C++23 and C++20)"
# Each source is compiled once, in parallel, and linked in every way below.
# shellcheck disable=SC2046
$CXX -std=c++23 -fPIC $(pkg-config --cflags reactornet-net) -c "$work/app.cc" -o "$work/app.o" &
$CXX -std=c++20 -fPIC $(pkg-config --cflags reactornet-reactor) -c "$work/plugin_reactor.cc" -o "$work/plugin_reactor.o" &
$CXX -std=c++20 -fPIC $(pkg-config --cflags reactornet-net) -c "$work/plugin_net.cc" -o "$work/plugin_net.o" &
$CXX -c "$work/host.cc" -o "$work/host.o" &
for job in 1 2 3 4; do wait -n || fail "a consumer did not compile"; done

step "a program through pkg-config, with the shared libraries and with the archives"
# shellcheck disable=SC2046
$CXX "$work/app.o" $(pkg-config --libs reactornet-net) -Wl,-rpath,"$prefix/lib" -o "$work/app_shared" &&
  "$work/app_shared" | grep 'app ok' >/dev/null || fail "pkg-config shared consumer"
ldd "$work/app_shared" | grep "$prefix/lib/libreactornet_net.so.0" >/dev/null || fail "app_shared does not use the installed .so"
# shellcheck disable=SC2046
$CXX "$work/app.o" "$prefix/lib/libreactornet_net.a" "$prefix/lib/libreactornet_reactor.a" \
  $(pkg-config --libs-only-other reactornet-net) -o "$work/app_static" &&
  "$work/app_static" | grep 'app ok' >/dev/null || fail "pkg-config static consumer"

step "shared objects linking libreactornet_reactor.a, libreactornet_net.a, and the .so files"
$CXX -shared "$work/plugin_reactor.o" "$prefix/lib/libreactornet_reactor.a" -pthread \
  -o "$work/plugin_reactor_static.so" || fail "a shared object cannot link libreactornet_reactor.a"
$CXX -shared "$work/plugin_net.o" "$prefix/lib/libreactornet_net.a" "$prefix/lib/libreactornet_reactor.a" -pthread \
  -o "$work/plugin_net_static.so" || fail "a shared object cannot link libreactornet_net.a"
$CXX -shared "$work/plugin_net.o" -L"$prefix/lib" -lreactornet_net -lreactornet_reactor -pthread \
  -Wl,-rpath,"$prefix/lib" -o "$work/plugin_net_shared.so" || fail "a shared object cannot link libreactornet_net.so"
$CXX -shared "$work/plugin_reactor.o" -L"$prefix/lib" -lreactornet_reactor -pthread \
  -Wl,-rpath,"$prefix/lib" -o "$work/plugin_reactor_shared.so" || fail "a shared object cannot link libreactornet_reactor.so"
$CXX "$work/host.o" -ldl -o "$work/host"
"$work/host" "$work/plugin_reactor_static.so" pluginReactor "$work/plugin_net_static.so" pluginNet \
  "$work/plugin_net_shared.so" pluginNet "$work/plugin_reactor_shared.so" pluginReactor | grep 'host ok' >/dev/null ||
  fail "the shared objects did not load and run"

# --- CMake -------------------------------------------------------------------------------------------
if command -v cmake >/dev/null; then
  mkdir -p "$work/cmake"
  cp "$work/app.cc" "$work/cmake/app.cc"
  cat >"$work/cmake/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(reactornet_consumer CXX)
set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(reactornet 0.1 CONFIG REQUIRED)
add_executable(app app.cc)
target_link_libraries(app PRIVATE reactornet::net)
add_executable(app_static app.cc)
target_link_libraries(app_static PRIVATE reactornet::net_static)
CMAKE
  step "CMake consumer: find_package(reactornet), reactornet::net and reactornet::net_static, C++23"
  if cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_COMPILER="$(command -v "${CXX%% *}")" >"$work/cmake.log" 2>&1 &&
    cmake --build "$work/cmake/build" -j 2 >>"$work/cmake.log" 2>&1; then
    "$work/cmake/build/app" | grep 'app ok' >/dev/null || fail "the CMake consumer (shared) did not run"
    ldd "$work/cmake/build/app" | grep "$prefix/lib/libreactornet_net.so.0" >/dev/null || fail "the CMake consumer is not linked to the .so"
    "$work/cmake/build/app_static" | grep 'app ok' >/dev/null || fail "the CMake consumer (static) did not run"
  else
    cat "$work/cmake.log" >&2
    fail "the CMake consumer did not configure or build"
  fi
else
  echo "install_test: SKIPPED the CMake consumer: cmake is not installed (make deps installs it)"
fi

# --- make install builds only what it installs --------------------------------------------------
step "make -n install from an empty build directory"
"$MAKE" --no-print-directory -n install PREFIX="$work/never" BUILD="$work/fresh-build" >"$work/dry-run.log" 2>&1 ||
  { cat "$work/dry-run.log" >&2; fail "make -n install"; }
if grep -E -e '-lbenchmark|-lgtest|_bench|reactor_tests|bench-compare|peers/' "$work/dry-run.log" >/dev/null; then
  grep -E -e '-lbenchmark|-lgtest|_bench|reactor_tests|bench-compare|peers/' "$work/dry-run.log" | head -3 >&2
  fail "make install would build what it does not install"
fi

# --- DESTDIR and uninstall ------------------------------------------------------------------------
step "make install DESTDIR=... and make uninstall"
"$MAKE" --no-print-directory -s install DESTDIR="$work/stage" PREFIX=/opt/reactornet BUILD="$BUILD" >/dev/null 2>&1 ||
  fail "make install DESTDIR"
grep -q '^prefix=/opt/reactornet$' "$work/stage/opt/reactornet/lib/pkgconfig/reactornet-net.pc" 2>/dev/null ||
  fail "with DESTDIR, the .pc file names the staging directory instead of PREFIX"
"$MAKE" --no-print-directory -s uninstall DESTDIR="$work/stage" PREFIX=/opt/reactornet BUILD="$BUILD" >/dev/null 2>&1 ||
  fail "make uninstall DESTDIR"
"$MAKE" --no-print-directory -s uninstall PREFIX="$prefix" BUILD="$BUILD" >/dev/null 2>&1 || fail "make uninstall"
left=$(find "$prefix" "$work/stage" \( -type f -o -type l \) 2>/dev/null | head -5)
[ -z "$left" ] || fail "make uninstall left: $left"
[ ! -e "$prefix/include/reactornet" ] || fail "make uninstall left include/reactornet/"

if [ "$failures" -ne 0 ]; then
  echo "install_test: $failures check(s) failed" >&2
  exit 1
fi
echo "install_test: all checks passed"
