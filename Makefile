# pcq — one flat Makefile. Build outputs go under build/ only.
#
#   make             library (static + shared), tools, benchmarks
#   make test        every test: unit tests, spurious-wake-up build, TSan,
#                    ASan/UBSan, Helgrind, DRD, race self-test, Spin model,
#                    tools, install/link test
#   make demo        the Fibonacci pipeline
#   make install     PREFIX=/usr/local DESTDIR=  (uninstall likewise)
#
# Variables: CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, DESTDIR, WERROR=-Werror,
# PCQ_STRESS (stress-test size in percent, default 100).

VERSION_MAJOR := 0
VERSION       := 0.1.0

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
BINDIR     ?= $(PREFIX)/bin

CC      ?= cc
CFLAGS  ?= -O2 -g
WERROR  ?=
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow $(WERROR)
BASE_CPPFLAGS := -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L
PTHREAD := -pthread

B := build

# ---------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------
LIB_SRCS := src/pcq.c $(wildcard src/driver.c)
LIB_HDRS := include/pcq.h $(wildcard include/pcq_*.h) $(wildcard src/*.h)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)

SONAME   := libpcq.so.$(VERSION_MAJOR)
SO_FULL  := $(B)/libpcq.so.$(VERSION)

.PHONY: all lib
all: lib tools bench-build

lib: $(B)/libpcq.a $(B)/libpcq.so $(B)/pcq.pc

$(B)/obj/%.o: %.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(BASE_CPPFLAGS) -DNDEBUG $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden $(PTHREAD) -c $< -o $@

$(B)/libpcq.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(SO_FULL): $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) $(PTHREAD) $^ -o $@

$(B)/libpcq.so: $(SO_FULL)
	ln -sf libpcq.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $@

$(B)/pcq.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: pcq' 'Description: bounded blocking producer-consumer queue' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lpcq' 'Libs.private: -pthread' \
	  'Cflags: -I$${includedir} -pthread' > $@

# ---------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------
.PHONY: install uninstall
install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR)
	install -m 644 include/pcq.h $(wildcard include/pcq_*.h) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/libpcq.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO_FULL) $(DESTDIR)$(LIBDIR)/
	ln -sf libpcq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so
	install -m 644 $(B)/pcq.pc $(DESTDIR)$(PCDIR)/

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/pcq.h $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(wildcard include/pcq_*.h))
	rm -f $(DESTDIR)$(LIBDIR)/libpcq.a $(DESTDIR)$(LIBDIR)/libpcq.so \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so.$(VERSION) \
	      $(DESTDIR)$(PCDIR)/pcq.pc

# ---------------------------------------------------------------------------
# Unit tests (Check), built once per variant:
#   dbg   assertions on       (also the binary the Valgrind tools run)
#   spur  one condition wait in four returns spuriously
#   tsan  -fsanitize=thread
#   asan  -fsanitize=address,undefined
#   clang the dbg build with clang (when installed): warning-free under both
# The test binary links the library's objects directly so that
# -Wl,--wrap=aligned_alloc can make the allocator fail.
# ---------------------------------------------------------------------------
TEST_SRCS   := $(wildcard tests/check_*.c) tests/test_util.c
# other sections append sources and libraries the suites need
TEST_EXTRA_SRCS :=
TEST_EXTRA_LIBS :=
TEST_HDRS   := $(wildcard tests/*.h)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
TEST_LDFLAGS := -Wl,--wrap=aligned_alloc
TEST_CFLAGS  := -O1 -g -fno-omit-frame-pointer

SAN_TSAN := -fsanitize=thread
SAN_ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all

# $(1) variant, $(2) compiler, $(3) extra compile+link flags
define variant
$(B)/$(1)/%.o: %.c $(LIB_HDRS) $(TEST_HDRS)
	@mkdir -p $$(@D)
	$(2) $$(WARN) $$(BASE_CPPFLAGS) -Itests $$(CPPFLAGS) $$(TEST_CFLAGS) $(3) $$(PTHREAD) -c $$< -o $$@

$(B)/$(1)/pcq-tests: $$(patsubst %.c,$(B)/$(1)/%.o,$$(LIB_SRCS) $$(TEST_SRCS) $$(TEST_EXTRA_SRCS))
	$(2) $$(TEST_CFLAGS) $(3) $$(LDFLAGS) $$(TEST_LDFLAGS) $$(PTHREAD) $$^ -o $$@ $$(TEST_EXTRA_LIBS) $$(CHECK_LIBS)
endef

CLANG ?= clang
# The variants are instantiated at the end of this file, once every section
# has added its sources to TEST_EXTRA_SRCS / TEST_EXTRA_LIBS.

# Stress size in percent of the native default; the Valgrind runs shrink it.
PCQ_STRESS   ?= 100
VG_STRESS    ?= 4
VG_COMMON    := --error-exitcode=99 --quiet
HELGRIND     := valgrind --tool=helgrind $(VG_COMMON)
DRD          := valgrind --tool=drd --check-stack-var=yes $(VG_COMMON)

.PHONY: test deps test-unit test-spurious test-clang tsan asan helgrind drd \
        race-selftest model test-tools test-install test-bench
test: deps
	$(MAKE) --no-print-directory test-unit test-spurious test-clang tsan asan \
	    helgrind drd race-selftest model test-tools test-install test-bench
	@echo "make test: every target passed"

deps:
	@sh tests/ensure-deps.sh

test-unit: $(B)/dbg/pcq-tests
	PCQ_STRESS=$(PCQ_STRESS) $<

test-spurious: $(B)/spur/pcq-tests
	PCQ_STRESS=$(PCQ_STRESS) $<

# Everything built again with clang (warning-free under both compilers),
# and the unit tests run from the clang build.
test-clang:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory all B=$(B)/clang-all CC=$(CLANG) && \
	  $(MAKE) --no-print-directory $(B)/clang/pcq-tests && \
	  PCQ_STRESS=$(PCQ_STRESS) $(B)/clang/pcq-tests; \
	else echo "test-clang: $(CLANG) not installed, skipped"; fi

# Sanitizer run-time options, shared with the race self-test.
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
ASAN_ENV := ASAN_OPTIONS="detect_leaks=1 abort_on_error=0" \
            UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"

tsan: $(B)/tsan/pcq-tests
	$(TSAN_ENV) PCQ_STRESS=$(PCQ_STRESS) $<

asan: $(B)/asan/pcq-tests
	$(ASAN_ENV) PCQ_STRESS=$(PCQ_STRESS) $<

# Valgrind: no fork, so the tool sees every test in one process.
helgrind: $(B)/dbg/pcq-tests
	CK_FORK=no PCQ_STRESS=$(VG_STRESS) PCQ_VALGRIND=helgrind $(HELGRIND) $<

drd: $(B)/dbg/pcq-tests
	CK_FORK=no PCQ_STRESS=$(VG_STRESS) PCQ_VALGRIND=drd $(DRD) $<

# Installed-copy link test: install into a staging DESTDIR, build a program
# with pkg-config against it, run it.
STAGE := $(abspath $(B)/stage)
test-install:
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local
	PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(STAGE) \
	  sh -c '$(CC) $(WARN) tests/install_app.c $$(pkg-config --cflags --libs pcq) -o $(B)/install_app'
	LD_LIBRARY_PATH=$(STAGE)/usr/local/lib $(B)/install_app
	$(MAKE) --no-print-directory uninstall DESTDIR=$(STAGE) PREFIX=/usr/local
	test -z "$$(find $(STAGE) -type f -o -type l)"

# ---------------------------------------------------------------------------
# Race-detector self-test (tests/race/): the tools must catch a planted bug.
# ---------------------------------------------------------------------------
# A deliberately broken program (tests/race/race_fixture.c, never part of
# the library) built plain, with SAN_TSAN and with SAN_ASAN, and run under
# the same HELGRIND / DRD command lines and sanitizer run-time options as the
# real targets; tests/race/selftest.sh fails unless every tool reports every
# planted bug and stays silent on the fixed mode. Logs in build/race/log/.
RACE     := $(B)/race
RACE_SRC := tests/race/race_fixture.c
RACE_SAN_plain :=
RACE_SAN_tsan   = $(SAN_TSAN)
RACE_SAN_asan   = $(SAN_ASAN)

$(RACE)/fixture-%: $(RACE_SRC) Makefile
	@mkdir -p $(@D)
	$(CC) $(WARN) $(BASE_CPPFLAGS) $(CPPFLAGS) $(TEST_CFLAGS) $(RACE_SAN_$*) $(PTHREAD) \
	  $(LDFLAGS) $< -o $@

race-selftest: $(RACE)/fixture-plain $(RACE)/fixture-tsan $(RACE)/fixture-asan
	@HELGRIND='$(HELGRIND)' DRD='$(DRD)' $(TSAN_ENV) $(ASAN_ENV) \
	  sh tests/race/selftest.sh $(RACE)

# ---------------------------------------------------------------------------
# Spin model of the wait/signal protocol (src/pcq.pml)
# ---------------------------------------------------------------------------
# tests/model.sh: the protocol must pass (2x2 capacity 2 with batches and
# spurious wake-ups, a racing close, capacity 1, a cancelled waiter,
# consumers with a quota, 3x3) and the broken variants CLOSE_SIGNAL, IF_WAIT,
# ONE_CV, NO_PENDING_RESET, NO_CANCEL_BATON, NO_BATON must be caught. Spin
# and pan run in build/model/<run>/; a truncated search (depth too small)
# fails.
model:
	@CC="$(CC)" MODEL_DIR="$(abspath $(B))/model" sh tests/model.sh

# ---------------------------------------------------------------------------
# Tools and the demo (tools/)
# ---------------------------------------------------------------------------
#   make tools       build/pcq-fib, with --big when GMP's header is found
#                    (NO_GMP=1: build without it, as on a bare toolchain)
#   make demo        F(0)..F(93) from one generator thread through two
#                    consumer threads, in order, then a summary line
#   make test-tools  tests/tools.sh natively (with the --big memcheck run),
#                    then under Helgrind and under DRD
# The pipeline, src/fib.c, is not part of libpcq (GMP is optional): it is
# compiled into the tool and into the test binaries.
NO_GMP ?=
HAVE_GMP := $(if $(NO_GMP),,$(shell printf '#include <gmp.h>\n' | $(CC) $(CPPFLAGS) -E - >/dev/null 2>&1 && echo 1))
GMP_CPPFLAGS := $(if $(HAVE_GMP),-DPCQ_HAVE_GMP)
GMP_LIBS     := $(if $(HAVE_GMP),-lgmp)

TEST_EXTRA_SRCS += src/fib.c
# tests/check_driver.c defines __wrap_pthread_create to make it fail.
fib_comma := ,
TEST_EXTRA_LIBS += $(GMP_LIBS) $(if $(wildcard tests/check_driver.c),-Wl$(fib_comma)--wrap=pthread_create)
# Only these objects see GMP (the tool's and every test variant's).
$(B)/%/src/fib.o $(B)/%/tests/check_driver.o: override CPPFLAGS += $(GMP_CPPFLAGS)

.PHONY: tools demo
tools: lib $(B)/pcq-fib

$(B)/tool-obj/%.o: %.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(BASE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(PTHREAD) -c $< -o $@

$(B)/pcq-fib: $(B)/tool-obj/tools/pcq-fib.o $(B)/tool-obj/src/fib.o $(B)/libpcq.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(PTHREAD) $^ -o $@ $(GMP_LIBS)

demo: $(B)/pcq-fib
	$(B)/pcq-fib --count 94 --producers 1 --consumers 2 --ordered

test-tools: $(B)/pcq-fib
	sh tests/tools.sh $(B)/pcq-fib
	RUN="$(HELGRIND)" sh tests/tools.sh $(B)/pcq-fib
	RUN="$(DRD)" sh tests/tools.sh $(B)/pcq-fib

# ---------------------------------------------------------------------------
# Benchmarks (bench/)
# ---------------------------------------------------------------------------
#   make bench        the quick matrix (< 2 min on 2 cores): table on stdout,
#                     issue 6's target lines below it, bench/results/latest.csv
#   make bench-full   the whole matrix (hours): bench/results/full.csv
#   make bench-plot   PNG plots of BENCH_CSV (default the latest) in build/bench/plots/
#   make bench-readme the README's table (Markdown) from BENCH_CSV
#   make bench-deps   install the peer queues' Debian packages and gnuplot
#   make test-bench   the harness must catch a planted loss; a small pcq run must pass
#   bench/pcq-bench --help   any single configuration
# Peers are found at build time (bench/detect.sh): a missing one is skipped
# with a note. The binary links libpcq.a and wraps the allocator
# (bench/alloc_count.c) to count allocations in pcq's push/pop loops.
.PHONY: bench-build bench bench-full bench-plot bench-readme bench-deps bench-detect
BB          := $(B)/bench
BENCH_CSV   ?= bench/results/latest.csv
BENCH_ARGS  ?=
BENCH_SRCS  := bench/main.c bench/run.c bench/report.c bench/alloc_count.c \
               bench/baselines/textbook.c $(wildcard bench/adapters/*.c)
BENCH_OBJS  := $(BENCH_SRCS:%.c=$(BB)/obj/%.o)
BENCH_HDRS  := $(wildcard bench/*.h bench/baselines/*.h)
BENCH_WRAP  := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign
BENCH_PKGS  := libaprutil1-dev libglib2.0-dev libck-dev gnuplot-nox
# per-file flags of the peers' headers, read from $(BB)/flags by the shell
$(BB)/obj/bench/adapters/apr.o:  BENCH_XFLAGS = $$APR_CFLAGS
$(BB)/obj/bench/adapters/glib.o: BENCH_XFLAGS = $$GLIB_CFLAGS

bench-build: $(BB)/pcq-bench

# Always re-detected; rewritten only when what it found changed.
$(BB)/config.h: bench-detect
	@sh bench/detect.sh "$(CC)" $(BB)
bench-detect:

$(BB)/obj/%.o: %.c $(BENCH_HDRS) $(LIB_HDRS) $(BB)/config.h
	@mkdir -p $(@D)
	. ./$(BB)/flags && $(CC) $(WARN) $(BASE_CPPFLAGS) -I$(BB) $(CPPFLAGS) $(CFLAGS) $(BENCH_XFLAGS) $(PTHREAD) -c $< -o $@

$(BB)/pcq-bench: $(BENCH_OBJS) $(B)/libpcq.a
	. ./$(BB)/flags && $(CC) $(CFLAGS) $(LDFLAGS) $(BENCH_WRAP) $(PTHREAD) $(BENCH_OBJS) $(B)/libpcq.a $$APR_LIBS $$GLIB_LIBS $$CK_LIBS -o $@

bench: bench-build
	@mkdir -p bench/results
	$(BB)/pcq-bench --matrix quick --csv bench/results/latest.csv $(BENCH_ARGS)

bench-full: bench-build
	@mkdir -p bench/results
	$(BB)/pcq-bench --matrix full --csv bench/results/full.csv $(BENCH_ARGS)

bench-plot:
	sh bench/plot.sh $(BENCH_CSV) $(BB)/plots

# The README's benchmark table, in Markdown, from BENCH_CSV.
bench-readme:
	@sh bench/readme-table.sh $(BENCH_CSV)

bench-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get install -y $(BENCH_PKGS) || { apt-get update && apt-get install -y $(BENCH_PKGS); }; \
	else echo "bench-deps: as root, run: apt-get install -y $(BENCH_PKGS)" >&2; exit 1; fi

test-bench: bench-build
	sh bench/test-bench.sh $(BB)/pcq-bench

# ---------------------------------------------------------------------------
.PHONY: clean
clean:
	rm -rf $(B)

# Test-binary variants (see "Unit tests" above); must come last.
$(eval $(call variant,dbg,$$(CC),))
$(eval $(call variant,spur,$$(CC),-DPCQ_INJECT_SPURIOUS))
$(eval $(call variant,tsan,$$(CC),$$(SAN_TSAN)))
$(eval $(call variant,asan,$$(CC),$$(SAN_ASAN)))
$(eval $(call variant,clang,$$(CLANG),))
