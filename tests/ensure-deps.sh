#!/bin/sh
# Make sure what `make test` needs is installed. As root on Debian, install
# what is missing with apt-get; otherwise stop and name the packages.
missing=""
need() { # need <package> <test command...>
    pkg=$1; shift
    "$@" >/dev/null 2>&1 || missing="$missing $pkg"
}
need check      pkg-config --exists check
need pkg-config command -v pkg-config
need valgrind   command -v valgrind
need spin       command -v spin
need clang      command -v clang
need libgmp-dev sh -c 'printf "#include <gmp.h>\n" | ${CC:-cc} -E - >/dev/null'
need g++        command -v g++
need cmake      command -v cmake
need mandoc     command -v mandoc
need libclang-rt-14-dev sh -c 'echo "int main(void){return 0;}" | ${CC:-cc} -fsanitize=thread -x c - -o /dev/null'
# Optional: examples/libuv_consumer is skipped without it. Installed when
# we can (as root, with apt-get); never a reason to stop.
if ! pkg-config --exists libuv 2>/dev/null && [ "$(id -u)" = 0 ] &&
    command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing libuv1-dev (optional: the libuv example)"
    { apt-get install -y libuv1-dev || { apt-get update && apt-get install -y libuv1-dev; }; } \
        >/dev/null 2>&1 || echo "ensure-deps: could not install libuv1-dev; its example will be skipped"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing:$missing"
    { apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }; } >/dev/null || {
        echo "ensure-deps: apt-get failed; install these packages:$missing" >&2; exit 1; }
    exit 0
fi
echo "make test needs these Debian packages:$missing" >&2
echo "install them (as root: apt-get install -y$missing) and run make test again" >&2
exit 1
