#!/bin/sh
# tests/man-options.sh — a tool's manual page documents every option the
# tool's --help lists (make test-man).
#
#   sh tests/man-options.sh PROGRAM PAGE
#
# Long options (--name) are taken from PROGRAM --help and looked for as
# `Fl \-name` in the mdoc PAGE. Exit status 1 if any is missing.
set -u
prog=${1:?usage: man-options.sh PROGRAM PAGE}
page=${2:?usage: man-options.sh PROGRAM PAGE}
opts=$("$prog" --help 2>&1 | grep -oE '^ +(-[a-z], )?--[a-z][a-z-]*' | sed 's/.*--//' | sort -u)
[ -n "$opts" ] || { echo "man: FAIL: no options in $prog --help"; exit 1; }
missing=""
n=0
for o in $opts; do
    n=$((n + 1))
    pat=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q "Fl \\\\-$pat\\b" "$page" || missing="$missing --$o"
done
if [ -n "$missing" ]; then
    echo "man: FAIL: $(basename "$page") does not document:$missing"
    exit 1
fi
echo "man: $(basename "$page") documents all $n options of $(basename "$prog") --help"
