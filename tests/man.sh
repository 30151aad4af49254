#!/bin/sh
# tests/man.sh — checks of the manual pages in man/ (make test-man).
#
#   sh tests/man.sh MANDIR LIBPCQ.so HEADER...
#
# 1. `mandoc -Tlint` reports nothing. Its one environment-dependent message,
#    "referenced manual not found", is taken up here instead: a reference to
#    a pcq page must name a page in MANDIR; references to system pages
#    (clock_gettime(2), pkg-config(1)) depend on what the machine has
#    installed, and are not checked.
# 2. Every function libpcq.so exports (nm -D) is named (.Nm) in the NAME
#    section of some page, so that `man FUNCTION` finds it once installed.
# 3. For every function, the error codes its page lists under ERRORS are
#    exactly the codes its comment in the headers lists (one code a line,
#    "EINVAL   ...", or several that share a meaning, "EMFILE, ENFILE";
#    "Returns the codes of pcq_x" refers to pcq_x's list).
# Prints one line per check; exit status 1 if any failed.
set -u
dir=${1:?usage: man.sh MANDIR LIBPCQ.so HEADER...}
lib=${2:?usage: man.sh MANDIR LIBPCQ.so HEADER...}
shift 2
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# --- 1. mandoc -Tlint ------------------------------------------------------
# stdout and stderr apart: mandoc writes its database notes to stderr
# unbuffered and the lint messages to stdout buffered, so one file for both
# gets a message cut in two wherever a buffer's worth of stdout ends.
mandoc -Tlint "$dir"/*.[0-9] >"$TMP/lint.out" 2>"$TMP/lint.err"
cat "$TMP/lint.out" "$TMP/lint.err" >"$TMP/lint"
: >"$TMP/lint.bad"
while IFS= read -r line; do
    case $line in
    *"mandoc.db"*) ;; # the machine's database is stale or absent: not ours
    *"referenced manual not found: Xr pcq"*)
        ref=$(echo "$line" | sed 's/.*Xr \([^ ]*\) \([0-9]\).*/\1.\2/')
        [ -f "$dir/$ref" ] || echo "$line" >>"$TMP/lint.bad" ;;
    *"referenced manual not found: Xr "*) ;;
    *) echo "$line" >>"$TMP/lint.bad" ;;
    esac
done <"$TMP/lint"
if [ -s "$TMP/lint.bad" ]; then
    fail "mandoc -Tlint:"
    cat "$TMP/lint.bad"
else
    echo "man: mandoc -Tlint clean on $(ls "$dir"/*.[0-9] | wc -l) pages"
fi

# --- 2. every exported function named in a NAME section --------------------
for p in "$dir"/*.[0-9]; do
    sed -n '/^\.Sh NAME/,/^\.Sh /s/^\.Nm \([A-Za-z0-9_-]*\).*/\1/p' "$p"
done | sort -u >"$TMP/named"
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u >"$TMP/exported"
if [ ! -s "$TMP/exported" ]; then
    fail "nm -D $lib listed no functions"
fi
missing=$(comm -23 "$TMP/exported" "$TMP/named")
if [ -n "$missing" ]; then
    fail "exported by $lib but in no page's NAME section:" $missing
else
    echo "man: all $(wc -l <"$TMP/exported") functions exported by $(basename "$lib") are named in a NAME section"
fi

# --- 3. error codes: pages against headers ---------------------------------
# Header: FUNCTION CODE lines, from the comment just before each PCQ_API
# declaration.
awk '
    /^\/\*/ { incomment = 1; codes = ""; ref = "" }
    # a code at the start of a line, or several ("EMFILE, ENFILE, ENOMEM")
    incomment && /^ \*  +E[A-Z0-9]+(,|  *[^ ]|$)/ {
        line = $0; sub(/^ \*  +/, "", line)
        while (match(line, /^E[A-Z0-9]+/)) {
            codes = codes " " substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
            if (line !~ /^, *E/) break
            sub(/^, */, "", line)
        }
    }
    incomment && /codes of pcq_[a-z_]+/ {
        match($0, /codes of pcq_[a-z_]+/); ref = substr($0, RSTART + 9, RLENGTH - 9) }
    /\*\// { incomment = 0 }
    /^PCQ_API/ {
        match($0, /pcq_[a-z_]+\(/); fn = substr($0, RSTART, RLENGTH - 1)
        if (ref != "") print fn, "@" ref
        n = split(codes, c, " "); for (i = 1; i <= n; i++) print fn, c[i]
        codes = ""; ref = ""
    }' "$@" >"$TMP/hdr.raw"
# resolve "@pcq_x" (the codes of pcq_x)
awk 'NR == FNR { if ($2 !~ /^@/) c[$1] = c[$1] " " $2; next }
     $2 ~ /^@/ { n = split(c[substr($2, 2)], k, " "); for (i = 1; i <= n; i++) print $1, k[i]; next }
     { print }' "$TMP/hdr.raw" "$TMP/hdr.raw" | sort -u >"$TMP/hdr"
# Pages: in ERRORS, ".Fn name" lines outside a list open a group of
# functions; each ".It Bq Er CODE" of the list that follows belongs to all.
for p in "$dir"/*.3; do
    awk -v page="$(basename "$p")" '
        /^\.Sh / { inerr = ($0 == ".Sh ERRORS"); next }
        !inerr { next }
        /^\.Bl/ { inlist = 1; next }
        /^\.El/ { inlist = 0; nf = 0; next }
        !inlist && /^\.Fn pcq_/ { fns[++nf] = $2; next }
        inlist && /^\.It Bq Er / { for (i = 1; i <= nf; i++) print fns[i], $4 }
    ' "$p"
done | sort -u >"$TMP/pages"
# every function with codes in the header must have them in a page, and the
# reverse; a function declared in the headers with no codes has none.
if cmp -s "$TMP/hdr" "$TMP/pages"; then
    echo "man: error codes of $(cut -d' ' -f1 "$TMP/hdr" | sort -u | wc -l) functions match the headers ($(wc -l <"$TMP/hdr") function-code pairs)"
else
    fail "error codes differ between the headers (<) and the pages (>):"
    diff "$TMP/hdr" "$TMP/pages" | grep '^[<>]'
fi

[ "$failed" -eq 0 ] || { echo "man.sh: $failed checks failed"; exit 1; }
