#!/bin/sh
# tests/cmake/run.sh — the CMake build against the Makefile's (make test-cmake).
#
#   sh tests/cmake/run.sh BUILD_DIR
#
# Run from the top of the tree after `make lib` (it compares with
# BUILD_DIR/libpcq.so). Environment: CC, WERROR (non-empty: -Werror),
# PCQ_STRESS (size of the unit tests ctest runs), MAKE.
#  1. configure and build the whole tree with CMake in BUILD_DIR/cmake
#     (library, pcq-fib, unit tests), run ctest;
#  2. the shared libraries of both builds export the same symbols and carry
#     the same SONAME; the static ones define the same global symbols;
#  3. install both into BUILD_DIR/cmake-stage/{make,cmake}: the same files
#     (CMake adds lib/cmake/pcq/), and pkg-config gives the same flags;
#  4. the README's three ways in, each in a scratch directory
#     BUILD_DIR/cmake-consumer/MODE: find_package against the CMake staged
#     install, add_subdirectory of a copy (a link to this tree) and
#     FetchContent from this tree; each builds tests/install_app.c (the
#     README's example) against pcq::pcq and runs it.
set -eu
B=${1:?usage: run.sh BUILD_DIR}
top=$(pwd)
B=$(cd "$B" && pwd)
cm=$B/cmake
werror=OFF
[ -n "${WERROR:-}" ] && werror=ON
gen="-DCMAKE_C_COMPILER=${CC:-cc}"
q="--log-level=WARNING"
say() { printf 'cmake: %s\n' "$*"; }

# --- 1. the whole tree, and ctest -------------------------------------------
cmake $q -S "$top" -B "$cm" $gen -DPCQ_WERROR=$werror -DPCQ_STRESS="${PCQ_STRESS:-100}" >/dev/null
cmake --build "$cm" -j 2 >"$cm/build.log" 2>&1 || { cat "$cm/build.log"; exit 1; }
say "built library, pcq-fib and unit tests with CMake (warnings as errors: $werror)"
# A compiler's warnings only (file:line: warning:), not make's: under
# `make -j` the CMake build's own make says "-jN forced in submake".
if grep -Eq '^[^ ]+:[0-9]+(:[0-9]+)?: warning:|(^|/)ld: warning:' "$cm/build.log"; then
    grep -E '^[^ ]+:[0-9]+(:[0-9]+)?: warning:|(^|/)ld: warning:' "$cm/build.log"; say "FAIL: compiler warnings"; exit 1
fi
ctest --test-dir "$cm" --output-on-failure >"$cm/ctest.log" 2>&1 || { cat "$cm/ctest.log"; say "FAIL: ctest"; exit 1; }
say "ctest: $(grep "tests passed" "$cm/ctest.log")"

# --- 2. the same library ----------------------------------------------------
syms() { nm -D --defined-only "$1" | awk '{ print $2, $3 }' | sort; }
soname() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }
statics() { nm -g --defined-only "$1" | awk 'NF == 3 { print $2, $3 }' | sort; }
syms "$B/libpcq.so" >"$cm/make.syms"
syms "$cm/libpcq.so" >"$cm/cmake.syms"
if ! cmp -s "$cm/make.syms" "$cm/cmake.syms"; then
    say "FAIL: exported symbols differ (< Makefile, > CMake):"
    diff "$cm/make.syms" "$cm/cmake.syms" | grep '^[<>]'
    exit 1
fi
say "libpcq.so: the same $(wc -l <"$cm/make.syms") exported symbols in both builds: $(awk '{ print $2 }' "$cm/make.syms" | tr '\n' ' ')"
s1=$(soname "$B/libpcq.so") s2=$(soname "$cm/libpcq.so")
[ -n "$s1" ] && [ "$s1" = "$s2" ] || { say "FAIL: SONAME $s1 (Makefile) vs $s2 (CMake)"; exit 1; }
say "SONAME: $s1 (Makefile) = $s2 (CMake); files $(basename "$(readlink -f "$B/libpcq.so")") = $(basename "$(readlink -f "$cm/libpcq.so")")"
statics "$B/libpcq.a" >"$cm/make.a.syms"
statics "$cm/libpcq.a" >"$cm/cmake.a.syms"
cmp -s "$cm/make.a.syms" "$cm/cmake.a.syms" || {
    say "FAIL: libpcq.a global symbols differ:"; diff "$cm/make.a.syms" "$cm/cmake.a.syms"; exit 1; }
say "libpcq.a: the same $(wc -l <"$cm/make.a.syms") global symbols in both builds"

# --- 3. the same install --------------------------------------------------
st=$B/cmake-stage
rm -rf "$st"
${MAKE:-make} --no-print-directory -s install PREFIX="$st/make" >/dev/null
cmake --install "$cm" --prefix "$st/cmake" >/dev/null
(cd "$st/make" && find . ! -type d | sort) >"$cm/make.files"
(cd "$st/cmake" && find . ! -type d | grep -v '^\./lib/cmake/' | sort) >"$cm/cmake.files"
if ! cmp -s "$cm/make.files" "$cm/cmake.files"; then
    say "FAIL: installed files differ (< make install, > cmake --install):"
    diff "$cm/make.files" "$cm/cmake.files" | grep '^[<>]'
    exit 1
fi
say "install: the same $(wc -l <"$cm/make.files") files from make install and cmake --install (plus $(cd "$st/cmake" && ls lib/cmake/pcq | tr '\n' ' '))"
pc() { PKG_CONFIG_PATH=$1/lib/pkgconfig pkg-config --cflags --libs pcq | sed "s|$1|PREFIX|g"; }
p1=$(pc "$st/make") p2=$(pc "$st/cmake")
[ "$p1" = "$p2" ] || { say "FAIL: pkg-config: '$p1' (make) vs '$p2' (cmake)"; exit 1; }
say "pkg-config --cflags --libs pcq: '$p1' from both"

# --- 4. the three ways in -------------------------------------------------
consumer() { # consumer MODE CMAKE-ARGS...
    mode=$1
    shift
    d=$B/cmake-consumer/$mode
    rm -rf "$d"
    mkdir -p "$d"
    cp "$top/tests/cmake/$mode/CMakeLists.txt" "$d/"
    cp "$top/tests/install_app.c" "$d/app.c"
    [ "$mode" = add_subdirectory ] && ln -s "$top" "$d/pcq"
    if ! { cmake $q -S "$d" -B "$d/build" $gen "$@" && cmake --build "$d/build"; } >"$d/log" 2>&1; then
        cat "$d/log"; say "FAIL: $mode: the build failed"; exit 1
    fi
    out=$("$d/build/app") || { say "FAIL: $mode: app exited $?"; exit 1; }
    lib=$(ldd "$d/build/app" | awk '/libpcq/ { print $3 }')
    say "$mode: built and ran the README example: $out (libpcq: ${lib#"$B"/})"
}
consumer find_package -DCMAKE_PREFIX_PATH="$st/cmake"
consumer add_subdirectory
consumer fetchcontent -DPCQ_SOURCE_DIR="$top"
