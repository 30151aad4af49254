# tools/pcq-shm/pcq-shm.mk — pcq-shm, the shell's handle on named shared
# queues (included by the top Makefile after tools/pcq-fib/pcq-fib.mk,
# whose object rule, $(B)/tool-obj/%.o, it shares).
#
#   make tools       also builds build/pcq-shm (create, stat, unlink NAME)
#
# Like pcq-fib it stays in the build tree (see "Manual pages" in the top
# Makefile); man/pcq-shm.1 describes it. tests/shm-tools.sh tests it
# (make test-shm-tools, tests/tests.mk).
SHM_TOOL_DIR := tools/pcq-shm

.PHONY: tools
tools: $(B)/pcq-shm

$(B)/pcq-shm: $(B)/tool-obj/$(SHM_TOOL_DIR)/main.o $(B)/libpcq.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(PTHREAD) $^ -o $@
