# pcq — the library's Makefile. Build outputs go under build/ only.
#
#   make             library (static + shared), tools, benchmarks
#   make test        every test (tests/tests.mk)
#   make demo        the Fibonacci pipeline (tools/pcq-fib/pcq-fib.mk)
#   make bench       the quick benchmark (bench/bench.mk)
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
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes $(WERROR)
# The library alone is also held to -Wconversion.
LIB_WARN := $(WARN) -Wconversion
BASE_CPPFLAGS := -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L
PTHREAD := -pthread

B := build

# ---------------------------------------------------------------------------
# The library: src/ holds libpcq and nothing else.
# ---------------------------------------------------------------------------
LIB_SRCS := src/pcq.c src/driver.c
LIB_HDRS := $(wildcard include/pcq*.h) $(wildcard src/*.h)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)

SONAME   := libpcq.so.$(VERSION_MAJOR)
SO_FULL  := $(B)/libpcq.so.$(VERSION)

.PHONY: all lib
all: lib tools bench-build

lib: $(B)/libpcq.a $(B)/libpcq.so $(B)/pcq.pc

$(B)/obj/%.o: %.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_WARN) $(BASE_CPPFLAGS) -DNDEBUG $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden $(PTHREAD) -c $< -o $@

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
PUBLIC_HDRS := include/pcq.h $(wildcard include/pcq_*.h)

.PHONY: install uninstall
install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR)
	install -m 644 $(PUBLIC_HDRS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/libpcq.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO_FULL) $(DESTDIR)$(LIBDIR)/
	ln -sf libpcq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so
	install -m 644 $(B)/pcq.pc $(DESTDIR)$(PCDIR)/

uninstall:
	rm -f $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(PUBLIC_HDRS))
	rm -f $(DESTDIR)$(LIBDIR)/libpcq.a $(DESTDIR)$(LIBDIR)/libpcq.so \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so.$(VERSION) \
	      $(DESTDIR)$(PCDIR)/pcq.pc

.PHONY: clean
clean:
	rm -rf $(B)

# The tool before the tests: the test binaries link the tool's pipeline.
include tools/pcq-fib/pcq-fib.mk
include tests/tests.mk
include bench/bench.mk
