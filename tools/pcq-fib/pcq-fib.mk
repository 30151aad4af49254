# tools/pcq-fib/pcq-fib.mk — the Fibonacci tool and the demo (included by
# the top Makefile).
#
#   make tools       build/pcq-fib, with --big when GMP's header is found
#                    (NO_GMP=1: build without it, as on a bare toolchain)
#   make demo        every term that fits 64 bits (the tool's default count)
#                    from one generator thread through two consumer
#                    threads, in order, then a summary line
#   make demo-shm    the same terms across two processes: a producer process
#                    and a consumer process over the shared queue
#                    DEMO_SHM_NAME (default /pcq-fib-demo; demo-shm.sh),
#                    64-bit terms, so no GMP needed; the name is gone after
#   make test-tools  tests/tools.sh natively (with the --big memcheck run),
#                    then under Helgrind and under DRD
#
# The numbers and the pipeline (FIB_SRCS: every .c file here but main.c)
# are not part of libpcq, since GMP is optional: they are compiled into the
# tool and into the test binaries, whose Fibonacci suite (tests/check_fib.c)
# drives them directly.
NO_GMP ?=
HAVE_GMP := $(if $(NO_GMP),,$(shell printf '#include <gmp.h>\n' | $(CC) $(CPPFLAGS) -E - >/dev/null 2>&1 && echo 1))
GMP_CPPFLAGS := $(if $(HAVE_GMP),-DPCQ_HAVE_GMP)
GMP_LIBS     := $(if $(HAVE_GMP),-lgmp)

FIB_DIR  := tools/pcq-fib
FIB_SRCS := $(filter-out $(FIB_DIR)/main.c,$(wildcard $(FIB_DIR)/*.c))
FIB_HDRS := $(wildcard $(FIB_DIR)/*.h)

.PHONY: tools demo demo-shm test-tools
tools: lib $(B)/pcq-fib

# Every tool's objects (tools/pcq-shm/ too); tools/*.h is what they share.
$(B)/tool-obj/%.o: %.c $(LIB_HDRS) $(FIB_HDRS) $(wildcard tools/*.h) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(BASE_CPPFLAGS) -I$(FIB_DIR) $(GMP_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(PTHREAD) -c $< -o $@

$(B)/pcq-fib: $(patsubst %.c,$(B)/tool-obj/%.o,$(FIB_DIR)/main.c $(FIB_SRCS)) $(B)/libpcq.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(PTHREAD) $^ -o $@ $(GMP_LIBS)

demo: $(B)/pcq-fib
	$(B)/pcq-fib --producers 1 --consumers 2 --ordered

# pcq-shm (tools/pcq-shm/pcq-shm.mk) checks that the name is gone.
DEMO_SHM_NAME ?= /pcq-fib-demo
demo-shm: $(B)/pcq-fib $(B)/pcq-shm
	sh $(FIB_DIR)/demo-shm.sh $(B)/pcq-fib $(B)/pcq-shm $(DEMO_SHM_NAME)

test-tools: $(B)/pcq-fib
	sh tests/tools.sh $(B)/pcq-fib
	RUN="$(HELGRIND)" sh tests/tools.sh $(B)/pcq-fib
	RUN="$(DRD)" sh tests/tools.sh $(B)/pcq-fib
