# bench/bench.mk — the benchmarks (included by the top Makefile).
#
#   make bench        the quick matrix, idle machine then with the hog (a
#                     busy-loop process on one CPU), about 2 minutes on
#                     2 cores: table on stdout, the six goal lines below it,
#                     build/bench/latest.csv (BENCH_ARGS=--strict: exit 3
#                     unless every goal PASSes)
#                     (its process section: goal 6, ~10 s)
#   make bench-processes  that section alone (--processes): producer and
#                     consumer in processes of their own, pcq on a shared
#                     queue against POSIX mq, a pipe and a socket pair;
#                     goal 6's line
#   make bench-full   the whole matrix (hours): build/bench/full.csv
#   make bench-plot   PNG plots of BENCH_CSV (default the latest) in build/bench/plots/,
#                     readme-throughput.png among them (without gnuplot: a note)
#   make bench-readme the README's tables (Markdown) from BENCH_CSV
#   make bench-deps   install the peer queues' Debian packages and gnuplot
#   make test-bench   the harness catches a planted loss; small runs of pcq,
#                     every peer, --work, --hog, paced and interleaved rounds,
#                     and --processes of every process peer pass
#   bench/pcq-bench --help   any single configuration
# Peers are found at build time (bench/detect.sh): a missing one is skipped
# with a note. Boost's adapter is C++17 (bench/adapters/*.cpp, built by CXX,
# which then links the binary). The binary links libpcq.a and wraps the
# allocator (bench/alloc_count.c) to count allocations in pcq's push/pop loops.
# Everything it writes goes under build/bench/; the one run the README
# quotes is committed as bench/results/readme.csv and readme-throughput.png
# (copied there by hand; bench/README.md says how).
.PHONY: bench-build bench bench-processes bench-full bench-plot bench-readme bench-deps bench-detect test-bench
BB          := $(B)/bench
BENCH_CSV   ?= $(BB)/latest.csv
BENCH_ARGS  ?=
BENCH_SRCS  := $(wildcard bench/*.c) bench/baselines/textbook.c $(wildcard bench/adapters/*.c)
BENCH_OBJS  := $(BENCH_SRCS:%.c=$(BB)/obj/%.o)
BENCH_CXX_SRCS := $(wildcard bench/adapters/*.cpp)
BENCH_CXX_OBJS := $(BENCH_CXX_SRCS:%.cpp=$(BB)/obj/%.cpp.o)
BENCH_HDRS  := $(wildcard bench/*.h bench/baselines/*.h bench/adapters/*.h)
BENCH_WRAP  := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign
BENCH_PKGS  := libaprutil1-dev libglib2.0-dev libck-dev libboost-thread-dev gnuplot-nox
CXXFLAGS    ?= -O2 -g
CXXWARN     := -std=c++17 -Wall -Wextra -Wpedantic -Wshadow $(WERROR)
# per-file flags of the peers' headers, read from $(BB)/flags by the shell
$(BB)/obj/bench/adapters/apr.o:  BENCH_XFLAGS = $$APR_CFLAGS
$(BB)/obj/bench/adapters/glib.o: BENCH_XFLAGS = $$GLIB_CFLAGS

bench-build: $(BB)/pcq-bench

# Always re-detected; rewritten only when what it found changed.
$(BB)/config.h: bench-detect
	@sh bench/detect.sh "$(CC)" "$(CXX)" $(BB)
bench-detect:

$(BB)/obj/%.o: %.c $(BENCH_HDRS) $(LIB_HDRS) $(BB)/config.h $(FLAGS_STAMP)
	@mkdir -p $(@D)
	. ./$(BB)/flags && $(CC) $(WARN) $(BASE_CPPFLAGS) -I$(BB) $(CPPFLAGS) $(CFLAGS) $(BENCH_XFLAGS) $(PTHREAD) -c $< -o $@

# Without Boost (or without CXX) a C++ adapter compiles to an empty object,
# so that the rest builds on a machine with no C++ at all.
$(BB)/obj/%.cpp.o: %.cpp $(BENCH_HDRS) $(BB)/config.h
	@mkdir -p $(@D)
	. ./$(BB)/flags && if [ "$$HAVE_BOOST" = 1 ]; then \
	  $(CXX) $(CXXWARN) -I$(BB) $(CPPFLAGS) $(CXXFLAGS) $(PTHREAD) -c $< -o $@; \
	else $(CC) -x c -c /dev/null -o $@; fi

$(BB)/pcq-bench: $(BENCH_OBJS) $(BENCH_CXX_OBJS) $(B)/libpcq.a
	. ./$(BB)/flags && $$BENCH_LD $(CFLAGS) $(LDFLAGS) $(BENCH_WRAP) $(PTHREAD) $(BENCH_OBJS) $(BENCH_CXX_OBJS) $(B)/libpcq.a $$APR_LIBS $$GLIB_LIBS $$CK_LIBS $$BOOST_LIBS -o $@

bench: bench-build
	$(BB)/pcq-bench --matrix quick --csv $(BB)/latest.csv $(BENCH_ARGS)

bench-processes: bench-build
	$(BB)/pcq-bench --processes --csv $(BB)/processes.csv $(BENCH_ARGS)

bench-full: bench-build
	$(BB)/pcq-bench --matrix full --csv $(BB)/full.csv $(BENCH_ARGS)

bench-plot:
	sh bench/plot.sh $(BENCH_CSV) $(BB)/plots

# The README's benchmark tables, in Markdown, from BENCH_CSV.
bench-readme:
	@sh bench/readme-table.sh $(BENCH_CSV)

bench-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get install -y $(BENCH_PKGS) || { apt-get update && apt-get install -y $(BENCH_PKGS); }; \
	else echo "bench-deps: as root, run: apt-get install -y $(BENCH_PKGS)" >&2; exit 1; fi

test-bench: bench-build
	sh bench/test-bench.sh $(BB)/pcq-bench
