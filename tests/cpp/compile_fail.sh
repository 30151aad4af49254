#!/bin/sh
# tests/cpp/compile_fail.sh — pcq::queue<T> must refuse a T that is not
# trivially copyable, and say why (make test-cpp).
#
#   sh tests/cpp/compile_fail.sh LOGDIR CXX [FLAGS...]
#
# tests/cpp/not_trivially_copyable.cpp must compile with -DPCQ_CONTROL (an
# int queue: so the refusal comes from nothing else) and must fail without
# it (a std::unique_ptr<int> queue) with pcq.hpp's static_assert message.
set -u
logs=${1:?usage: compile_fail.sh LOGDIR CXX [FLAGS...]}
cxx=${2:?usage: compile_fail.sh LOGDIR CXX [FLAGS...]}
shift 2
src=tests/cpp/not_trivially_copyable.cpp
log=$logs/compile-fail-$(basename "$cxx").log
mkdir -p "$logs" || exit 1
if ! "$cxx" "$@" -Iinclude -fsyntax-only -DPCQ_CONTROL "$src"; then
    echo "compile_fail: $cxx: the control (pcq::queue<int>) does not compile" >&2
    exit 1
fi
if "$cxx" "$@" -Iinclude -fsyntax-only "$src" >"$log" 2>&1; then
    echo "compile_fail: $cxx compiled pcq::queue<std::unique_ptr<int>>" >&2
    exit 1
fi
msg=$(grep -m 1 -o 'T must be trivially copyable, because [^;"]*' "$log")
if [ -z "$msg" ]; then
    echo "compile_fail: $cxx refused the program, but not with pcq.hpp's message:" >&2
    cat "$log" >&2
    exit 1
fi
echo "test-cpp: $(basename "$cxx") refuses pcq::queue<std::unique_ptr<int>>: \"$msg\""
