# tests/tests.mk — every test target (included by the top Makefile).
#
#   make test        unit tests, spurious-wake-up build, clang build, TSan,
#                    ASan/UBSan, Helgrind, DRD, race self-test, Spin model,
#                    tools, shared-queue tools, install/link test,
#                    benchmark harness test, manual pages, C++ wrapper,
#                    install with a non-default PREFIX, an embedder's
#                    program under Helgrind and DRD,
#                    the CMake build and its three ways in, the example
#                    programs (examples/examples.mk)
#
# Unit tests (Check) are built once per variant:
#   dbg   assertions on       (also the binary the Valgrind tools run)
#   spur  one condition wait in four returns spuriously
#   tsan  -fsanitize=thread
#   asan  -fsanitize=address,undefined
#   clang the dbg build with clang (when installed): warning-free under both
# The test binary links the library's objects directly so that
# -Wl,--wrap=aligned_alloc can make the allocator fail, and the Fibonacci
# pipeline's (tools/pcq-fib/) for its suite; -Wl,--wrap=pthread_create lets
# the driver suite make thread creation fail, --wrap=calloc a shared
# queue's handle; --wrap=read,--wrap=write let the pollfd suite count the
# library's system calls on its descriptors.
# CMakeLists.txt links its pcq-tests with the same list: keep them alike.
TEST_SRCS    := $(wildcard tests/check_*.c) tests/test_util.c $(FIB_SRCS)
TEST_HDRS    := $(wildcard tests/*.h) $(FIB_HDRS)
TEST_LIBS     = $(GMP_LIBS) $(CHECK_LIBS)
CHECK_LIBS    = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
TEST_LDFLAGS := -Wl,--wrap=aligned_alloc,--wrap=calloc,--wrap=pthread_create,--wrap=read,--wrap=write
TEST_CFLAGS  := -O1 -g -fno-omit-frame-pointer
TEST_CPPFLAGS = -Itests -I$(FIB_DIR) $(GMP_CPPFLAGS) -DPCQ_TEST_HOOKS

SAN_TSAN := -fsanitize=thread
SAN_ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all

# $(1) variant, $(2) compiler, $(3) extra compile+link flags
define variant
$(B)/$(1)/%.o: %.c $(LIB_HDRS) $(TEST_HDRS) $(FLAGS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(WARN) $$(BASE_CPPFLAGS) $$(TEST_CPPFLAGS) $$(CPPFLAGS) $$(TEST_CFLAGS) $(3) $$(PTHREAD) -c $$< -o $$@

$(B)/$(1)/pcq-tests: $$(patsubst %.c,$(B)/$(1)/%.o,$$(LIB_SRCS) $$(TEST_SRCS))
	$(2) $$(TEST_CFLAGS) $(3) $$(LDFLAGS) $$(TEST_LDFLAGS) $$(PTHREAD) $$^ -o $$@ $$(TEST_LIBS)
endef

CLANG ?= clang
CLANGXX ?= clang++
$(eval $(call variant,dbg,$$(CC),))
$(eval $(call variant,spur,$$(CC),-DPCQ_INJECT_SPURIOUS))
$(eval $(call variant,tsan,$$(CC),$$(SAN_TSAN)))
$(eval $(call variant,asan,$$(CC),$$(SAN_ASAN)))
$(eval $(call variant,clang,$$(CLANG),))

# Stress size in percent of the native default; the Valgrind runs shrink it.
PCQ_STRESS   ?= 100
VG_STRESS    ?= 4
VG_COMMON    := --error-exitcode=99 --quiet
HELGRIND     := valgrind --tool=helgrind $(VG_COMMON)
DRD          := valgrind --tool=drd --check-stack-var=yes $(VG_COMMON)

.PHONY: test deps test-unit test-spurious test-clang tsan asan helgrind drd \
        race-selftest model test-install test-man test-cpp test-prefix test-embed \
        test-cmake
test: deps
	$(MAKE) --no-print-directory test-unit test-spurious test-clang tsan asan \
	    helgrind drd race-selftest model test-tools test-shm-tools test-install test-bench \
	    test-man test-cpp test-prefix test-embed test-cmake test-examples
	@echo "make test: every target passed"

deps:
	@sh tests/ensure-deps.sh

test-unit: $(B)/dbg/pcq-tests
	PCQ_STRESS=$(PCQ_STRESS) $<

test-spurious: $(B)/spur/pcq-tests
	PCQ_STRESS=$(PCQ_STRESS) $<

# Everything built again with clang and clang++ (warning-free under both compilers),
# and the unit tests run from the clang build.
test-clang:
	@if command -v $(CLANG) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory all B=$(B)/clang-all CC=$(CLANG) CXX=$(CLANGXX) && \
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

# The shared-queue tools end to end (tests/shm-tools.sh): make demo-shm's
# output against the in-process demo's, pcq-fib --shm with either process
# first and after a killed run, pcq-shm create/stat/unlink and their errors,
# and man/pcq-shm.1 against pcq-shm --help.
.PHONY: test-shm-tools
test-shm-tools: $(B)/pcq-fib $(B)/pcq-shm
	sh tests/shm-tools.sh $(B)/pcq-fib $(B)/pcq-shm

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

# Race-detector self-test (tests/race/): a deliberately broken program,
# never linked with the library, built plain, with SAN_TSAN and with
# SAN_ASAN, and run under the same HELGRIND / DRD command lines and
# sanitizer run-time options as the real targets; tests/race/selftest.sh
# fails unless every tool reports every planted bug and stays silent on the
# fixed mode. Logs in build/race/log/.
RACE     := $(B)/race
RACE_SRC := tests/race/race_fixture.c
RACE_SAN_plain :=
RACE_SAN_tsan   = $(SAN_TSAN)
RACE_SAN_asan   = $(SAN_ASAN)

$(RACE)/fixture-%: $(RACE_SRC) src/fatal.h tests/tests.mk $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(BASE_CPPFLAGS) $(CPPFLAGS) $(TEST_CFLAGS) $(RACE_SAN_$*) $(PTHREAD) \
	  $(LDFLAGS) $< -o $@

race-selftest: $(RACE)/fixture-plain $(RACE)/fixture-tsan $(RACE)/fixture-asan
	@HELGRIND='$(HELGRIND)' DRD='$(DRD)' $(TSAN_ENV) $(ASAN_ENV) \
	  sh tests/race/selftest.sh $(RACE)

# Spin model of the wait/signal protocol (tests/model/pcq.pml), checked by
# tests/model/model.sh: the protocol must pass its configurations and every
# broken variant must be caught. Spin and pan run in build/model/<run>/,
# MODEL_JOBS (2) runs at a time; a truncated search (depth too small) fails.
model:
	@CC="$(CC)" MODEL_DIR="$(abspath $(B))/model" sh tests/model/model.sh

# Manual pages (man/): mandoc -Tlint clean, every function libpcq.so exports
# named in a page's NAME section, every page's error codes for a call equal
# to the list in the call's comment in the headers (tests/man.sh); and each
# tool's page documents every option its --help lists (tests/man-options.sh).
test-man: lib $(B)/pcq-fib $(B)/bench/pcq-bench
	sh tests/man.sh man $(B)/libpcq.so include/pcq.h include/pcq_driver.h include/pcq_shm.h
	sh tests/man-options.sh $(B)/pcq-fib man/pcq-fib.1
	sh tests/man-options.sh $(B)/bench/pcq-bench man/pcq-bench.1

# The C++ wrapper (include/pcq.hpp): tests/cpp/test_queue.cpp built with g++
# and clang++ against libpcq.a, as C++20 (the std::span overloads), and
# under ASan+UBSan and TSan with the library objects of the asan and tsan
# variants above; then the compile-failure test (tests/cpp/compile_fail.sh):
# pcq::queue<std::unique_ptr<int>> must not compile, and the message must
# say why. Warning-free under both compilers.
CLANGXX  ?= clang++
CXXWARN   = -std=c++17 -Wall -Wextra -Wpedantic -Wshadow $(WERROR)
CPP      := $(B)/cpp
CPP_TEST := tests/cpp/test_queue.cpp

# $(1) name, $(2) compiler, $(3) extra flags, $(4) the library (archive or objects)
define cppvariant
$(CPP)/test_queue-$(1): $(CPP_TEST) include/pcq.hpp include/pcq.h $(4) $(FLAGS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(CXXWARN) $(3) -Iinclude $$(CPPFLAGS) $$(TEST_CFLAGS) $$(PTHREAD) $(CPP_TEST) $(4) \
	  $$(LDFLAGS) -o $$@
endef
$(eval $(call cppvariant,gcc,$$(CXX),,$(B)/libpcq.a))
$(eval $(call cppvariant,clang,$$(CLANGXX),,$(B)/libpcq.a))
$(eval $(call cppvariant,cxx20,$$(CXX),-std=c++20,$(B)/libpcq.a))
$(eval $(call cppvariant,asan,$$(CXX),$$(SAN_ASAN),$(patsubst %.c,$(B)/asan/%.o,$(LIB_SRCS))))
$(eval $(call cppvariant,tsan,$$(CXX),$$(SAN_TSAN),$(patsubst %.c,$(B)/tsan/%.o,$(LIB_SRCS))))

test-cpp: $(CPP)/test_queue-gcc $(CPP)/test_queue-cxx20 $(CPP)/test_queue-asan $(CPP)/test_queue-tsan
	PCQ_STRESS=$(PCQ_STRESS) $(CPP)/test_queue-gcc
	PCQ_STRESS=$(PCQ_STRESS) $(CPP)/test_queue-cxx20
	$(ASAN_ENV) PCQ_STRESS=$(PCQ_STRESS) $(CPP)/test_queue-asan
	$(TSAN_ENV) PCQ_STRESS=$(PCQ_STRESS) $(CPP)/test_queue-tsan
	@if command -v $(CLANGXX) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory $(CPP)/test_queue-clang && \
	  PCQ_STRESS=$(PCQ_STRESS) $(CPP)/test_queue-clang; \
	else echo "test-cpp: $(CLANGXX) not installed, skipped"; fi
	sh tests/cpp/compile_fail.sh $(CPP) $(CXX) $(CXXWARN)
	@if command -v $(CLANGXX) >/dev/null 2>&1; then \
	  sh tests/cpp/compile_fail.sh $(CPP) $(CLANGXX) $(CXXWARN); fi

# A new user's order, as in the README: `make`, then `make install
# PREFIX=<somewhere else>` (here under build/, without DESTDIR), then the
# README's command line with only PKG_CONFIG_PATH set. The pcq.pc installed
# must name that prefix (it used to keep the /usr/local of the first make).
PREFIX_TEST := $(abspath $(B)/prefix-test)
test-prefix: lib
	rm -rf $(PREFIX_TEST)
	$(MAKE) --no-print-directory install PREFIX=$(PREFIX_TEST)
	grep -qx 'prefix=$(PREFIX_TEST)' $(PREFIX_TEST)/lib/pkgconfig/pcq.pc
	PKG_CONFIG_PATH=$(PREFIX_TEST)/lib/pkgconfig \
	  sh -c '$(CC) $(WARN) tests/install_app.c $$(pkg-config --cflags --libs pcq) -o $(B)/prefix_app'
	LD_LIBRARY_PATH=$(PREFIX_TEST)/lib $(B)/prefix_app

# An embedder's program (tests/embed/pipeline.c: three stages, a close
# cascade, blocking and timed modes, and a planted race of its own) built
# against that install with pkg-config, run natively, under Helgrind (the
# blocking mode with no suppressions at all, the timed mode with the
# installed share/pcq/helgrind-glibc.supp for glibc's own false positive;
# the planted race still caught) and under DRD with no suppressions
# (tests/embed/run.sh). Then the same install under ThreadSanitizer: a
# program built with it, libpcq.so without it; 64-byte elements, so that
# the copies are memcpy calls TSan sees (tests/embed/bigelem.c).
EMBED := $(B)/embed
$(EMBED)/pipeline: tests/embed/pipeline.c test-prefix
	@mkdir -p $(@D)
	PKG_CONFIG_PATH=$(PREFIX_TEST)/lib/pkgconfig sh -c '$(CC) $(WARN) -D_POSIX_C_SOURCE=200809L \
	  $(TEST_CFLAGS) $< $$(pkg-config --cflags --libs pcq) -o $@'

$(EMBED)/bigelem-tsan: tests/embed/bigelem.c test-prefix
	@mkdir -p $(@D)
	PKG_CONFIG_PATH=$(PREFIX_TEST)/lib/pkgconfig sh -c '$(CC) $(WARN) $(TEST_CFLAGS) \
	  $(SAN_TSAN) $< $$(pkg-config --cflags --libs pcq) -o $@'

test-embed: $(EMBED)/pipeline $(EMBED)/bigelem-tsan
	LD_LIBRARY_PATH=$(PREFIX_TEST)/lib HELGRIND='$(HELGRIND)' DRD='$(DRD)' \
	  sh tests/embed/run.sh $< $(PREFIX_TEST)/share/pcq/helgrind-glibc.supp $(EMBED)/log
	LD_LIBRARY_PATH=$(PREFIX_TEST)/lib $(TSAN_ENV) $(EMBED)/bigelem-tsan

# The CMake build (CMakeLists.txt) against this Makefile's, and the three
# ways a CMake project takes pcq in (tests/cmake/run.sh): ctest (the unit
# tests at PCQ_STRESS=10: the full size runs in test-unit), the same exported
# symbols and SONAME, the same installed files, find_package /
# add_subdirectory / FetchContent each building the README's example.
test-cmake: lib
	CC='$(CC)' WERROR='$(WERROR)' PCQ_STRESS=10 MAKE='$(MAKE)' sh tests/cmake/run.sh $(B)
