# pcq — the library's Makefile. Build outputs go under build/ only.
#
#   make             library (static + shared), tools, benchmarks
#   make test        every test (tests/tests.mk)
#   make demo        the Fibonacci pipeline (tools/pcq-fib/pcq-fib.mk)
#   make demo-shm    the same across two processes, over a shared queue
#   make examples    the example programs (examples/examples.mk)
#   make bench       the quick benchmark (bench/bench.mk)
#   make install     PREFIX=/usr/local DESTDIR=  (uninstall likewise)
#
# Variables: CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, DESTDIR, WERROR=-Werror,
# PCQ_STRESS (stress-test size in percent, default 100). A change to any of
# them rebuilds what it affects (see "Stamps" below).
#
# CMakeLists.txt builds the same library for CMake users; `make test-cmake`
# checks that the two agree (symbols, SONAME, installed files).

# The version has one home, include/pcq.h (PCQ_VERSION_*); CMakeLists.txt
# reads it from there too.
pcq_version_part = $(shell sed -n 's/^\#define PCQ_VERSION_$(1) *\([0-9][0-9]*\).*/\1/p' include/pcq.h)
VERSION_MAJOR := $(call pcq_version_part,MAJOR)
VERSION       := $(VERSION_MAJOR).$(call pcq_version_part,MINOR).$(call pcq_version_part,PATCH)

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man

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

# `make` alone builds everything (the stamp rules below come first).
.DEFAULT_GOAL := all

# ---------------------------------------------------------------------------
# Stamps: $(B)/stamp/NAME holds the values of the variables listed in
# STAMP_NAME and is rewritten only when they change, so that its time stamp
# moves only then. Whatever is built from those variables depends on it:
# `make WERROR=-Werror` in a tree built without it recompiles everything,
# and `make install PREFIX=/opt/x` after a plain `make` rewrites pcq.pc.
# ---------------------------------------------------------------------------
STAMP_flags   = $(CC) | $(CLANG) | $(CXX) | $(CFLAGS) | $(CXXFLAGS) | $(CPPFLAGS) | \
                $(LDFLAGS) | $(WERROR) | $(NO_GMP)
STAMP_install = $(PREFIX) | $(LIBDIR) | $(INCLUDEDIR) | $(VERSION)
FLAGS_STAMP  := $(B)/stamp/flags

$(B)/stamp/%: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' '$(STAMP_$*)' | cmp -s - $@ || printf '%s\n' '$(STAMP_$*)' >$@
.PHONY: FORCE
FORCE:

# ---------------------------------------------------------------------------
# The library: src/ holds libpcq and nothing else.
# ---------------------------------------------------------------------------
LIB_SRCS := src/pcq.c src/driver.c src/shm.c
LIB_HDRS := $(wildcard include/pcq*.h) $(wildcard src/*.h)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)

SONAME   := libpcq.so.$(VERSION_MAJOR)
SO_FULL  := $(B)/libpcq.so.$(VERSION)

.PHONY: all lib
all: lib tools bench-build

lib: $(B)/libpcq.a $(B)/libpcq.so $(B)/pcq.pc

$(B)/obj/%.o: %.c $(LIB_HDRS) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LIB_WARN) $(BASE_CPPFLAGS) -DNDEBUG $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden $(PTHREAD) -c $< -o $@

$(B)/libpcq.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(SO_FULL): $(LIB_OBJS) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) $(PTHREAD) $(LIB_OBJS) -o $@

$(B)/libpcq.so: $(SO_FULL)
	ln -sf libpcq.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $@

# Rewritten when PREFIX, LIBDIR, INCLUDEDIR or the version change, so that
# `make` then `make install PREFIX=/opt/x` installs a pcq.pc for /opt/x.
$(B)/pcq.pc: Makefile $(B)/stamp/install
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: pcq' 'Description: bounded blocking producer-consumer queue' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lpcq' 'Libs.private: -pthread' \
	  'Cflags: -I$${includedir} -pthread' > $@

# ---------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------
# Headers: the C API, the drivers, the C++ wrapper (include/pcq.hpp).
PUBLIC_HDRS := include/pcq.h $(wildcard include/pcq_*.h) include/pcq.hpp
# Manual pages: section 3 (the library) is installed; the section 1 pages
# describe programs that stay in the build tree (man -l man/pcq-fib.1).
# Each function named in a page's NAME section gets a link to that page,
# so that `man pcq_try_push_many` opens pcq_push(3).
MAN3        := $(wildcard man/*.3)
man_names    = $(shell sed -n '/^\.Sh NAME/,/^\.Sh DESCRIPTION/s/^\.Nm \([a-z_0-9]*\).*/\1/p' $(1))
# link:page pairs, e.g. pcq_try_push.3:pcq_push.3
MAN_LINKS    = $(foreach p,$(MAN3),$(foreach n,$(filter-out $(basename $(notdir $(p))),\
                 $(call man_names,$(p))),$(n).3:$(notdir $(p))))
SUPP        := share/helgrind-glibc.supp
PCQ_DATADIR := $(DATADIR)/pcq

.PHONY: install uninstall
install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(PCQ_DATADIR)
	install -m 644 $(PUBLIC_HDRS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/libpcq.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO_FULL) $(DESTDIR)$(LIBDIR)/
	ln -sf libpcq.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so
	install -m 644 $(B)/pcq.pc $(DESTDIR)$(PCDIR)/
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/
	@for l in $(MAN_LINKS); do echo ln -sf $${l#*:} $(DESTDIR)$(MANDIR)/man3/$${l%%:*}; \
	  ln -sf $${l#*:} $(DESTDIR)$(MANDIR)/man3/$${l%%:*} || exit 1; done
	install -m 644 $(SUPP) $(DESTDIR)$(PCQ_DATADIR)/

uninstall:
	rm -f $(patsubst include/%,$(DESTDIR)$(INCLUDEDIR)/%,$(PUBLIC_HDRS))
	rm -f $(DESTDIR)$(LIBDIR)/libpcq.a $(DESTDIR)$(LIBDIR)/libpcq.so \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpcq.so.$(VERSION) \
	      $(DESTDIR)$(PCDIR)/pcq.pc
	rm -f $(foreach p,$(MAN3),$(foreach n,$(call man_names,$(p)),$(DESTDIR)$(MANDIR)/man3/$(n).3))
	rm -f $(DESTDIR)$(PCQ_DATADIR)/$(notdir $(SUPP))
	rmdir $(DESTDIR)$(PCQ_DATADIR) 2>/dev/null || true

.PHONY: clean
clean:
	rm -rf $(B)

# The tool before the tests: the test binaries link the tool's pipeline.
include tools/pcq-fib/pcq-fib.mk
include tools/pcq-shm/pcq-shm.mk
include tests/tests.mk
include examples/examples.mk
include bench/bench.mk
