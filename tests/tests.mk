# tests/tests.mk — every test target (included by the top Makefile).
#
#   make test        unit tests, spurious-wake-up build, clang build, TSan,
#                    ASan/UBSan, Helgrind, DRD, race self-test, Spin model,
#                    tools, install/link test, benchmark harness test
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
# the driver suite make thread creation fail.
TEST_SRCS    := $(wildcard tests/check_*.c) tests/test_util.c $(FIB_SRCS)
TEST_HDRS    := $(wildcard tests/*.h) $(FIB_HDRS)
TEST_LIBS     = $(GMP_LIBS) $(CHECK_LIBS)
CHECK_LIBS    = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
TEST_LDFLAGS := -Wl,--wrap=aligned_alloc,--wrap=pthread_create
TEST_CFLAGS  := -O1 -g -fno-omit-frame-pointer
TEST_CPPFLAGS = -Itests -I$(FIB_DIR) $(GMP_CPPFLAGS)

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
        race-selftest model test-install
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
# broken variant must be caught. Spin and pan run in build/model/<run>/; a
# truncated search (depth too small) fails.
model:
	@CC="$(CC)" MODEL_DIR="$(abspath $(B))/model" sh tests/model/model.sh
