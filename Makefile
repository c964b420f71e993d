# GNU make build for the reactor and net libraries. See BUILD.md for targets and layout.
#
#   make                      the libraries (build/lib/libreactornet_*.{a,so}), tools and benchmarks
#   make test                 build and run the GoogleTest suite, then the install/package checks
#   make bench                build and run the benchmarks and the side-by-side comparison
#   make soak                 ten minutes of load, faults and timers (SOAK_SECONDS=600)
#   make install PREFIX=/usr/local    libraries, headers, pkg-config and CMake files, tools
#   make uninstall PREFIX=/usr/local  removes what install installed
#   make test SAN=address,undefined   same targets, sanitized, under build/san-address-undefined/

CXX      ?= g++
AR       ?= ar
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR   ?= $(PREFIX)/bin
# Installed tools are named $(TOOL_PREFIX)echo-server, ...: see BUILD.md ("Installing").
TOOL_PREFIX ?= reactornet-
SAN      ?=
OPT      ?= -O2

comma := ,
ifeq ($(SAN),)
  BUILD := build
  SANFLAGS :=
else
  BUILD := build/san-$(subst $(comma),-,$(SAN))
  SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CPPFLAGS += -I.
CXXFLAGS += -std=c++20 $(OPT) -g -Wall -Wextra -Werror -pthread $(SANFLAGS)
DEPFLAGS  = -MMD -MP
LDFLAGS  += -pthread $(SANFLAGS)

UNAME := $(shell uname -s)

# The version of the libraries and tools, kept in one place: tools/common/command_line.h.
VERSION := $(shell sed -n 's/.*kVersion = "\([0-9.]*\)".*/\1/p' tools/common/command_line.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

# --- libreactornet_reactor: the loop, the wheel and the platform's poller backend ------------------
REACTOR_SRC := $(filter-out reactor/epoll_poller.cc reactor/kqueue_poller.cc,$(wildcard reactor/*.cc))
ifeq ($(UNAME),Linux)
  REACTOR_SRC += reactor/epoll_poller.cc
else
  REACTOR_SRC += reactor/kqueue_poller.cc
endif
REACTOR_OBJ := $(REACTOR_SRC:%.cc=$(BUILD)/obj/%.o)
LIBREACTOR  := $(BUILD)/lib/libreactornet_reactor.a

# --- libreactornet_net: Node's net module on the loop ----------------------------------------------
NET_SRC := $(wildcard net/*.cc)
NET_OBJ := $(NET_SRC:%.cc=$(BUILD)/obj/%.o)
LIBNET  := $(BUILD)/lib/libreactornet_net.a
LIBS    := $(LIBNET) $(LIBREACTOR)

# The libraries' objects are compiled once, position-independent, and both the archives and the
# shared libraries are made from them: an archive linked into a shared object works (BUILD.md).
$(REACTOR_OBJ) $(NET_OBJ): CXXFLAGS += -fPIC
# Objects compiled before that (or with other flags) are rebuilt: the flags are kept in a stamp
# file, rewritten only when they change, on which the library objects depend.
LIB_FLAGS := $(CXX) $(CPPFLAGS) $(CXXFLAGS) -fPIC
LIB_FLAGS_STAMP := $(BUILD)/obj/library-flags
ifneq ($(shell cat $(LIB_FLAGS_STAMP) 2>/dev/null),$(LIB_FLAGS))
  $(shell mkdir -p $(BUILD)/obj && echo '$(LIB_FLAGS)' > $(LIB_FLAGS_STAMP))
endif
$(REACTOR_OBJ) $(NET_OBJ): $(LIB_FLAGS_STAMP)
SHLIB_REACTOR := $(BUILD)/lib/libreactornet_reactor.so.$(VERSION)
SHLIB_NET     := $(BUILD)/lib/libreactornet_net.so.$(VERSION)
SHLIBS        := $(SHLIB_NET) $(SHLIB_REACTOR)

# --- programs: tools/*.cc and tools/examples/*.cc, one binary each --------------------------------
TOOL_SRC := $(wildcard tools/*.cc) $(wildcard tools/examples/*.cc)
TOOL_BIN := $(patsubst tools/%.cc,$(BUILD)/bin/%,$(TOOL_SRC))
# The tools `make install` puts into $(BINDIR), as $(TOOL_PREFIX)NAME.
INSTALLED_TOOLS := echo-server netload netcat
INSTALLED_TOOL_BIN := $(INSTALLED_TOOLS:%=$(BUILD)/bin/%)

# --- tests: one GoogleTest binary, run against every backend this machine can exercise ----------
TEST_SRC := $(wildcard tests/*.cc)
TEST_OBJ := $(TEST_SRC:%.cc=$(BUILD)/obj/%.o)
ifeq ($(UNAME),Linux)
  # The kqueue backend is compiled a second time against the epoll-based emulation in
  # tests/kqueue_emulation/, so that the whole suite runs on both backends here.
  KQEMU_OBJ := $(BUILD)/obj/tests/kqueue_emulation/kqueue_poller.o \
               $(BUILD)/obj/tests/kqueue_emulation/kqueue_emulation.o
  TEST_CPPFLAGS := -DREACTOR_TEST_KQUEUE_EMULATION
endif
TEST_BIN := $(BUILD)/bin/reactor_tests
GTEST_LIBS := -lgmock -lgtest_main -lgtest

# --- fuzzing: libFuzzer targets, built with clang into build/fuzz/ (BUILD.md, "Fuzzing") ----------
# fuzz/*_fuzzer.cc are the entry points; the other fuzz/*.cc are the drivers behind them, which the
# test binary links too, so that `make test` replays the committed corpus through them.
FUZZ_CXX   ?= clang++
FUZZ_TIME  ?= 60
FUZZ_BUILD ?= build/fuzz
FUZZ_DEBIAN_PACKAGES := clang libclang-rt-14-dev
FUZZ_DRIVER_SRC := $(filter-out %_fuzzer.cc,$(wildcard fuzz/*.cc))
FUZZ_TARGETS := $(patsubst fuzz/%_fuzzer.cc,%,$(wildcard fuzz/*_fuzzer.cc))
FUZZ_OBJ := $(patsubst %.cc,$(FUZZ_BUILD)/obj/%.o,$(REACTOR_SRC) $(NET_SRC) $(FUZZ_DRIVER_SRC))
# -O1 as libFuzzer advises; UBSan findings abort as ASan's do, so that libFuzzer keeps the input.
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_OBJ += $(FUZZ_DRIVER_SRC:%.cc=$(BUILD)/obj/%.o)

.PHONY: fuzz fuzz-deps
fuzz-deps:
	@$(call install_missing,$(FUZZ_DEBIAN_PACKAGES))

$(FUZZ_BUILD)/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(DEPFLAGS) -c $< -o $@

$(FUZZ_BUILD)/bin/%_fuzzer: $(FUZZ_BUILD)/obj/fuzz/%_fuzzer.o $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer,address,undefined $^ -o $@

# Each target runs FUZZ_TIME seconds. New inputs go to build/fuzz/corpus/<target>/; the committed
# fuzz/corpus/<target>/ is read as seeds. A crash fails make; its input is in build/fuzz/artifacts/.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/%_fuzzer)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t && echo "== $$t ($(FUZZ_TIME) s)" && \
	  $(FUZZ_BUILD)/bin/$${t}_fuzzer -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t || exit 1; \
	done

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

# --- benchmarks ---------------------------------------------------------------------------------
BENCH_SRC := $(wildcard bench/*_bench.cc)
BENCH_BIN := $(BENCH_SRC:bench/%.cc=$(BUILD)/bin/%)
BENCH_MIN_TIME ?= 0.2
# The side-by-side comparison of our echo-server with the peers of bench/peers/ (bench/compare/).
COMPARE_SRC := $(wildcard bench/compare/*.cc)
COMPARE_OBJ := $(COMPARE_SRC:%.cc=$(BUILD)/obj/%.o)
COMPARE_BIN := $(BUILD)/bin/bench-compare
COMPARE_ARGS ?=

# --- soak: minutes of mixed load, faults and timers against echo-server (not in CI) --------------
SOAK_SECONDS ?= 600
SOAK_OBJ := $(addprefix $(BUILD)/obj/tests/,soak/soak.o chaos_proxy.o echo_check_client.o child_process.o)
SOAK_BIN := $(BUILD)/bin/soak

# Debian packages a fresh machine needs (installed by `make deps`, skipped when present).
# cmake and pkg-config: `make test` builds a consumer of the installed package with each.
DEBIAN_PACKAGES := g++ make libgtest-dev libgmock-dev libbenchmark-dev cmake pkg-config

.PHONY: all test bench soak deps bench-deps install uninstall install-test peers-test clean
# Objects built through a pattern chain (tools, benchmarks) are kept, so a second make with nothing
# changed does nothing. (A global .SECONDARY would also make the archives' objects intermediate, and
# a missing one, such as a newly added source, would then never be compiled.)
.PRECIOUS: $(BUILD)/obj/%.o $(FUZZ_BUILD)/obj/%.o
.DEFAULT_GOAL := all
all: $(LIBS) $(SHLIBS) $(BENCH_BIN) $(TOOL_BIN) $(COMPARE_BIN)

# $(call install_missing,PACKAGES): apt-get installs those of PACKAGES that are not installed.
# sudo (when not root) would drop DEBIAN_FRONTEND from the environment, so env sets it after.
install_missing = missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "already installed: $(1)"; else \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); echo "installing:" $$missing; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; fi

deps:
	@$(call install_missing,$(DEBIAN_PACKAGES))

# The peers of the side-by-side benchmark (bench/peers/), and what they need.
include bench/peers.mk
bench-deps:
	@$(call install_missing,$(PEERS_DEBIAN_PACKAGES) $(if $(shell command -v node),,nodejs))

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(TEST_CPPFLAGS) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/tests/kqueue_emulation/kqueue_poller.o: reactor/kqueue_poller.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -Itests/kqueue_emulation $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBREACTOR): $(REACTOR_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(LIBNET): $(NET_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# lib*.so.VERSION with the soname lib*.so.SOVERSION, and the two links to it.
$(SHLIB_REACTOR): $(REACTOR_OBJ)
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-soname,libreactornet_reactor.so.$(SOVERSION) $(LDFLAGS) $^ -o $@
	ln -sf $(@F) $(@D)/libreactornet_reactor.so.$(SOVERSION)
	ln -sf $(@F) $(@D)/libreactornet_reactor.so

$(SHLIB_NET): $(NET_OBJ) $(SHLIB_REACTOR)
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-soname,libreactornet_net.so.$(SOVERSION) -Wl,-rpath,'$$ORIGIN' $(LDFLAGS) $(NET_OBJ) $(SHLIB_REACTOR) -o $@
	ln -sf $(@F) $(@D)/libreactornet_net.so.$(SOVERSION)
	ln -sf $(@F) $(@D)/libreactornet_net.so

# What several tools share (tools/common/), as an archive: each tool links only what it uses.
# The tests and the soak link it too, for its /proc readers.
TOOL_COMMON_OBJ := $(patsubst %.cc,$(BUILD)/obj/%.o,$(wildcard tools/common/*.cc))
TOOL_COMMON_LIB := $(BUILD)/lib/libtools.a
$(TOOL_COMMON_LIB): $(TOOL_COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(TEST_BIN): $(TEST_OBJ) $(KQEMU_OBJ) $(TOOL_COMMON_LIB) $(LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(TEST_OBJ) $(KQEMU_OBJ) $(TOOL_COMMON_LIB) $(LIBS) $(GTEST_LIBS) -o $@

# The tests run the example and tool programs (and bench-compare), so those are built first.
# The raw epoll floor needs no library: bench_compare_test runs bench-compare against it.
test: $(TEST_BIN) $(TOOL_BIN) $(COMPARE_BIN) $(PEERS_DIR)/raw_epoll_echo
	$(TEST_BIN) $(TEST_ARGS)
	@$(MAKE) --no-print-directory install-test peers-test

# Installs into a temporary PREFIX and builds consumers of it: pkg-config, CMake, shared objects
# (tests/install_test.sh). Sanitized builds skip it: their libraries need the sanitizer runtime.
ifeq ($(SAN),)
install-test: $(LIBS) $(SHLIBS) $(INSTALLED_TOOL_BIN)
	BUILD=$(BUILD) CXX="$(CXX)" tests/install_test.sh
else
install-test:
	@echo "install-test: skipped under SAN=$(SAN) (run it in the normal build)"
endif

# The peers' availability is decided when their recipes run (tests/peers_test.sh).
peers-test:
	tests/peers_test.sh

$(BUILD)/bin/%_bench: $(BUILD)/obj/bench/%_bench.o $(LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -lbenchmark -o $@

$(BUILD)/bin/%: $(BUILD)/obj/tools/%.o $(TOOL_COMMON_LIB) $(LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@

# netload's main is tools/netload.cc; the rest of it is in tools/netload/.
NETLOAD_OBJ := $(patsubst %.cc,$(BUILD)/obj/%.o,tools/netload.cc $(wildcard tools/netload/*.cc))
$(BUILD)/bin/netload: $(NETLOAD_OBJ) $(TOOL_COMMON_LIB) $(LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@

$(COMPARE_BIN): $(COMPARE_OBJ) $(TOOL_COMMON_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@

bench: $(BENCH_BIN) peers $(TOOL_BIN) $(COMPARE_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b --benchmark_min_time=$(BENCH_MIN_TIME) || exit 1; done
	@echo "== $(COMPARE_BIN)"
	$(COMPARE_BIN) --out $(BUILD)/bench $(COMPARE_ARGS)

$(SOAK_BIN): $(SOAK_OBJ) $(TOOL_COMMON_LIB) $(LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ -o $@

soak: $(SOAK_BIN) $(BUILD)/bin/echo-server
	$(SOAK_BIN) $(SOAK_SECONDS)

# --- install: headers, libraries, pkg-config and CMake files, tools (BUILD.md, "Installing") ------
# Everything lives under names of our own: lib/libreactornet_*, include/reactornet/,
# lib/pkgconfig/reactornet-*.pc, lib/cmake/reactornet/, bin/$(TOOL_PREFIX)*. `install` needs only
# what it installs (no Google Benchmark, no GoogleTest).
REACTOR_HEADERS := $(filter-out reactor/kqueue_poller.h,$(wildcard reactor/*.h))
ifneq ($(UNAME),Linux)
  REACTOR_HEADERS := $(filter-out reactor/epoll_poller.h,$(wildcard reactor/*.h))
endif
NET_HEADERS := $(wildcard net/*.h)
STAGE := $(DESTDIR)
# $(call substitute,TEMPLATE): the packaging/ template with its @VARIABLES@ filled in.
substitute = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' $(1)

install: $(LIBS) $(SHLIBS) $(INSTALLED_TOOL_BIN)
	install -d $(STAGE)$(INCLUDEDIR)/reactornet/reactor $(STAGE)$(INCLUDEDIR)/reactornet/net \
	  $(STAGE)$(LIBDIR)/pkgconfig $(STAGE)$(LIBDIR)/cmake/reactornet $(STAGE)$(BINDIR)
	install -m 644 $(REACTOR_HEADERS) $(STAGE)$(INCLUDEDIR)/reactornet/reactor/
	install -m 644 $(NET_HEADERS) $(STAGE)$(INCLUDEDIR)/reactornet/net/
	install -m 644 $(LIBS) $(STAGE)$(LIBDIR)/
	install -m 755 $(SHLIBS) $(STAGE)$(LIBDIR)/
	for l in reactor net; do \
	  ln -sf libreactornet_$$l.so.$(VERSION) $(STAGE)$(LIBDIR)/libreactornet_$$l.so.$(SOVERSION) && \
	  ln -sf libreactornet_$$l.so.$(SOVERSION) $(STAGE)$(LIBDIR)/libreactornet_$$l.so || exit 1; done
	$(call substitute,packaging/reactornet-reactor.pc.in) > $(STAGE)$(LIBDIR)/pkgconfig/reactornet-reactor.pc
	$(call substitute,packaging/reactornet-net.pc.in) > $(STAGE)$(LIBDIR)/pkgconfig/reactornet-net.pc
	$(call substitute,packaging/reactornetConfig.cmake.in) > $(STAGE)$(LIBDIR)/cmake/reactornet/reactornetConfig.cmake
	$(call substitute,packaging/reactornetConfigVersion.cmake.in) > $(STAGE)$(LIBDIR)/cmake/reactornet/reactornetConfigVersion.cmake
	for t in $(INSTALLED_TOOLS); do install -m 755 $(BUILD)/bin/$$t $(STAGE)$(BINDIR)/$(TOOL_PREFIX)$$t || exit 1; done

# Removes exactly what install put there (this checkout's list of headers), then the folders of
# ours that are left empty.
uninstall:
	rm -f $(addprefix $(STAGE)$(INCLUDEDIR)/reactornet/,$(REACTOR_HEADERS) $(NET_HEADERS))
	rm -f $(foreach l,reactor net,$(addprefix $(STAGE)$(LIBDIR)/libreactornet_$(l),.a .so .so.$(SOVERSION) .so.$(VERSION)))
	rm -f $(STAGE)$(LIBDIR)/pkgconfig/reactornet-reactor.pc $(STAGE)$(LIBDIR)/pkgconfig/reactornet-net.pc
	rm -f $(STAGE)$(LIBDIR)/cmake/reactornet/reactornetConfig.cmake $(STAGE)$(LIBDIR)/cmake/reactornet/reactornetConfigVersion.cmake
	rm -f $(INSTALLED_TOOLS:%=$(STAGE)$(BINDIR)/$(TOOL_PREFIX)%)
	rmdir $(STAGE)$(INCLUDEDIR)/reactornet/reactor $(STAGE)$(INCLUDEDIR)/reactornet/net $(STAGE)$(INCLUDEDIR)/reactornet \
	  $(STAGE)$(LIBDIR)/cmake/reactornet 2>/dev/null || true

# --- formatting and lint (.clang-format, .clang-tidy; BUILD.md, "Formatting and lint") -----------
# FORMAT_DIRS: the folders kept in .clang-format's style. net/ reactor/ tests/ fuzz/ join the list
# once they have been reflowed (one commit each, nothing else in it).
FORMAT_DIRS ?= tools bench
CLANG_FORMAT ?= clang-format
CLANG_TIDY ?= clang-tidy
LINT_DEBIAN_PACKAGES := clang-format clang-tidy
format_files = $(if $(strip $(1)),$(shell find $(1) -type f \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) | sort))
# TIDY_DIRS: the folders whose findings fail `make tidy`. TIDY_REPORT_DIRS are checked too, and
# their findings only listed (in $(BUILD)/tidy-report.txt), for folders not yet cleaned.
# (bench/peers/asio_echo.cc is left out: it needs Asio, which only bench-deps installs.)
TIDY_DIRS ?= tools bench/compare bench/loop_bench.cc bench/timer_wheel_bench.cc
TIDY_HEADER_FILTER ?= (^|/)(tools|bench)/
TIDY_REPORT_DIRS ?=
TIDY_REPORT_HEADER_FILTER ?= (^|/)(net|reactor|tests|fuzz)/
TIDY_FLAGS := -std=c++20 -I. -DREACTOR_TEST_KQUEUE_EMULATION
.PHONY: format format-check tidy lint-deps
lint-deps:
	@$(call install_missing,$(LINT_DEBIAN_PACKAGES))

format:
	$(CLANG_FORMAT) -i $(call format_files,$(FORMAT_DIRS))

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(call format_files,$(FORMAT_DIRS)) && \
	  echo "format-check: $(FORMAT_DIRS) follow .clang-format"

# One clang-tidy per source file, all of them in parallel with -j.
TIDY_SRC := $(filter %.cc,$(call format_files,$(TIDY_DIRS)))
TIDY_REPORT_SRC := $(filter %.cc,$(call format_files,$(TIDY_REPORT_DIRS)))
TIDY_STAMPS := $(TIDY_SRC:%=$(BUILD)/tidy/%.ok)
TIDY_REPORTS := $(TIDY_REPORT_SRC:%=$(BUILD)/tidy/%.txt)
tidy: $(TIDY_STAMPS) $(TIDY_REPORTS)
ifneq ($(TIDY_REPORT_SRC),)
	@cat $(TIDY_REPORTS) > $(BUILD)/tidy-report.txt
	@echo "tidy: $(TIDY_DIRS) clean; findings in $(TIDY_REPORT_DIRS): $(BUILD)/tidy-report.txt" \
	  "($$(grep -c 'warning:\|error:' $(BUILD)/tidy-report.txt) lines)"
else
	@echo "tidy: $(TIDY_DIRS) clean"
endif

$(BUILD)/tidy/%.ok: % .clang-tidy
	@mkdir -p $(@D)
	$(CLANG_TIDY) --quiet --header-filter='$(TIDY_HEADER_FILTER)' $< -- $(TIDY_FLAGS)
	@touch $@

$(BUILD)/tidy/%.txt: % .clang-tidy
	@mkdir -p $(@D)
	-$(CLANG_TIDY) --quiet --warnings-as-errors='-*' --header-filter='$(TIDY_REPORT_HEADER_FILTER)' \
	  $< -- $(TIDY_FLAGS) > $@ 2>/dev/null

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
