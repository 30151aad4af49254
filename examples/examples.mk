# examples/examples.mk — the example programs (included by the top Makefile).
#
#   make examples       build them into build/examples/
#   make test-examples  build each with $(CC) and with clang (when installed),
#                       warning-free under both, and run both builds; each
#                       program checks what it shows and exits 0 when it held
#
# Each example is a standalone program (it defines its own feature macros),
# linked with build/libpcq.a as an application links the installed library:
#   epoll_consumer   an epoll loop waiting on a queue's POP descriptor
#   libuv_consumer   the same with libuv's uv_poll_t; built only when
#                    pkg-config finds libuv (Debian: libuv1-dev), otherwise
#                    skipped with a note
#   poll_select      one consumer waiting on three queues with poll()
#   close_abort      close and abort seen through the descriptors, pcq_drain
EX_NAMES   := epoll_consumer poll_select close_abort
HAVE_LIBUV := $(shell pkg-config --exists libuv 2>/dev/null && echo 1)
EX_NAMES   += $(if $(HAVE_LIBUV),libuv_consumer)
EX_LIBS_libuv_consumer = $(shell pkg-config --libs libuv)
EX_CFLAGS_libuv_consumer = $(shell pkg-config --cflags libuv)
EX_SKIPPED := $(if $(HAVE_LIBUV),,libuv_consumer)

EX := $(B)/examples

# $(1) the build's directory, $(2) its compiler
define example_build
$(1)/%: examples/%.c include/pcq.h $(B)/libpcq.a $(FLAGS_STAMP)
	@mkdir -p $$(@D)
	$(2) $$(WARN) -Iinclude $$(EX_CFLAGS_$$*) $$(CPPFLAGS) $$(CFLAGS) $$(PTHREAD) $$< $(B)/libpcq.a \
	  $$(LDFLAGS) $$(EX_LIBS_$$*) -o $$@
endef
$(eval $(call example_build,$(EX),$$(CC)))
$(eval $(call example_build,$(EX)/clang,$$(CLANG)))

.PHONY: examples test-examples
examples: $(addprefix $(EX)/,$(EX_NAMES))

test-examples: examples
	@set -e; for x in $(EX_NAMES); do echo "$(EX)/$$x"; $(EX)/$$x; done
	@if command -v $(CLANG) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory $(addprefix $(EX)/clang/,$(EX_NAMES)) && \
	  for x in $(EX_NAMES); do echo "$(EX)/clang/$$x"; $(EX)/clang/$$x || exit 1; done; \
	else echo "test-examples: $(CLANG) not installed, the clang builds skipped"; fi
	@for x in $(EX_SKIPPED); do echo "$$x: skipped: libuv1-dev not installed"; done
