#!/bin/sh
# tests/tools.sh — end-to-end tests of pcq-fib on the built binary.
#
#   sh tests/tools.sh [build/pcq-fib]
#   RUN="valgrind --tool=helgrind --error-exitcode=99 --quiet" sh tests/tools.sh build/pcq-fib
#
# RUN is a command prefix for every pcq-fib run (a Valgrind tool): the runs
# are then smaller and fewer, and a report from the tool fails the check
# through its exit status. Without RUN, the --big runs are also checked
# under Valgrind memcheck (when valgrind is installed and pcq-fib has GMP).
# Needs only POSIX sh, awk, sed, sort, cmp (and `script` for the progress
# bar check, skipped without it). Exit status: 0 when every check passed.
set -u

BIN=${1:-build/pcq-fib}
RUN=${RUN:-}
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

checks=0
failed=0
ok() { checks=$((checks + 1)); }
bad() {
    checks=$((checks + 1))
    failed=$((failed + 1))
    echo "FAIL: $*" >&2
}

# fib ARGS...: run pcq-fib (under $RUN) with stdout in $TMP/out, stderr in
# $TMP/err; sets $st to its exit status.
fib() {
    # shellcheck disable=SC2086 # RUN is a command prefix: split it
    $RUN "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    st=$?
}

# expect STATUS WHAT: the last run exited with STATUS.
expect() {
    if [ "$st" -eq "$1" ]; then ok; else
        bad "$2: exit status $st, expected $1"
        sed 's/^/    stderr: /' "$TMP/err" | head -n 20 >&2
    fi
}

# same FILE1 FILE2 WHAT
same() {
    if cmp -s "$1" "$2"; then ok; else bad "$3"; diff "$1" "$2" | head -n 10 >&2; fi
}

# contains FILE PATTERN WHAT (a grep basic regular expression)
contains() {
    if grep -q -- "$2" "$1"; then ok; else bad "$3: no '$2' in $(basename "$1")"; fi
}

# field NAME: the word after NAME in the summary line of the last run.
field() {
    awk -v k="$1" '/^summary:/ { for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); sub(/,$/, "", v); print v } }' "$TMP/out"
}

# minus_one N: N - 1 for a decimal N >= 1 of any length.
minus_one() {
    echo "$1" | awk '{
        n = $0; i = length(n)
        while (substr(n, i, 1) == "0") { n = substr(n, 1, i - 1) "9" substr(n, i + 1); i-- }
        n = substr(n, 1, i - 1) (substr(n, i, 1) - 1) substr(n, i + 1)
        sub(/^0+/, "", n); if (n == "") n = "0"; print n }'
}

# value_of I [FILE]: the value printed for F(I) in the last run (or FILE).
value_of() {
    sed -n "s/^F($1) = //p" "${2:-$TMP/out}"
}

if [ ! -x "$BIN" ]; then
    echo "tools.sh: $BIN is not built (make tools)" >&2
    exit 1
fi
if [ -n "$RUN" ]; then N=30; BIGN=300; else N=93; BIGN=2000; fi

# --- help and bad options ------------------------------------------------
fib --help
expect 0 "--help"
for opt in --count --below --producers --consumers --capacity --batch --batch-min \
    --linger --window --ordered --big --produce-delay --consume-delay --trace --quiet --help; do
    contains "$TMP/out" "$opt" "--help documents $opt"
done
contains "$TMP/out" "Exit status" "--help documents the exit status"

check_bad() { # check_bad WHAT-IN-MESSAGE ARGS...
    want=$1
    shift
    fib "$@"
    expect 2 "pcq-fib $*"
    contains "$TMP/err" "$want" "pcq-fib $*: message"
    if [ -s "$TMP/out" ]; then bad "pcq-fib $*: wrote to stdout"; else ok; fi
}
check_bad "unknown option" --bogus
check_bad "unknown option" -x
check_bad "needs a value" --count
check_bad "expected a whole number" --count abc
check_bad "expected a whole number" --count -3
check_bad "expected a whole number" --producers 0
check_bad "expected a whole number" --consumers 2000
check_bad "expected a whole number" --capacity 0
check_bad "expected a whole number" --batch ''
check_bad "F(94)" --count 95
check_bad "use --big" --below 99999999999999999999
check_bad "exclude each other" --count 3 --below 10
check_bad "only makes sense with --ordered" --window 4
check_bad "unexpected argument" 12
check_bad "expected a whole number" --batch-min 0
check_bad "above the batch" --batch-min 8
check_bad "above the batch" --batch 4 --batch-min 5
check_bad "needs --linger" --batch 8 --batch-min 4 --ordered
check_bad "expected a whole number" --linger 1.5
check_bad "expected a whole number" --linger 60000001
if [ -z "$RUN" ]; then
    check_bad "expected a whole number" --produce-delay 1s
    check_bad "expected a whole number" --below 1e9
fi

# --- the numbers -----------------------------------------------------------
# A single-thread run: one line per term, then the summary.
fib --count "$N"
expect 0 "--count $N"
cp "$TMP/out" "$TMP/single"
lines=$(grep -c '^F(' "$TMP/single")
[ "$lines" -eq "$N" ] && ok || bad "--count $N printed $lines terms"
tail -n 1 "$TMP/single" | grep -q '^summary: ' && ok || bad "--count $N: no summary line last"
awk -v n="$N" '/^F\(/ { if ($0 !~ /^F\([0-9]+\) = [0-9]+$/ || $1 != "F(" NR - 1 ")") bad = 1 }
    END { exit bad }' "$TMP/single" && ok || bad "--count $N: term lines out of format or order"

# F(93) exactly, and the checksum identity sum F(0..n) = F(n+2) - 1.
fib --count 94 --quiet
expect 0 "--count 94"
fib --count 94
cp "$TMP/out" "$TMP/all94"
[ "$(value_of 93)" = 12200160415121876738 ] && ok || bad "F(93) = $(value_of 93)"
[ "$(field checksum)" = 13493690561280548288 ] && ok ||
    bad "checksum of F(0..93) mod 2^64: $(field checksum)" # F(95) - 1 - 2^64
contains "$TMP/out" "sum mod 2^64" "the 64-bit checksum says it is mod 2^64"
for n in 10 50 90; do
    f=$(value_of $((n + 1)) "$TMP/all94")
    fib --count "$n" --quiet
    [ "$(field checksum)" = $((f - 1)) ] && ok ||
        bad "checksum of F(0..$((n - 1))) is $(field checksum), F($((n + 1))) - 1 = $((f - 1))"
done

# The "Done when" check: several threads, in order, the same terms.
fib --count "$N" --producers 2 --consumers 3 --ordered
expect 0 "--count $N --producers 2 --consumers 3 --ordered"
grep '^F(' "$TMP/single" >"$TMP/want"
grep '^F(' "$TMP/out" >"$TMP/got"
same "$TMP/want" "$TMP/got" "--ordered with 2 producers, 3 consumers differs from a single-thread run"
fib --count "$N" --producers 3 --consumers 2 --ordered --batch 4 --window 2 --capacity 3
expect 0 "--ordered with a window of 2"
grep '^F(' "$TMP/out" >"$TMP/got"
same "$TMP/want" "$TMP/got" "--ordered --window 2 --batch 4 differs from a single-thread run"
contains "$TMP/out" "ordered (window 2," "the summary names the window"

# Lingering consumers (--batch-min, --linger): the same terms, in order.
# A linger is a timed wait: under Helgrind, with pcq's suppression file
# for glibc's timed-wait false positive, as the README tells users to run.
RUN0=$RUN
case $RUN in
*helgrind*) RUN="$RUN --suppressions=$(dirname "$0")/../share/helgrind-glibc.supp" ;;
esac
fib --count "$N" --batch 16 --batch-min 8 --linger 100 --ordered
expect 0 "--batch 16 --batch-min 8 --linger 100 --ordered"
grep '^F(' "$TMP/out" >"$TMP/got"
same "$TMP/want" "$TMP/got" "--batch-min 8 --linger 100 --ordered differs from a single-thread run"
contains "$TMP/out" "batch 16, batch-min 8, linger 100 us" "the summary names batch-min and linger"
fib --count "$N" --producers 3 --consumers 2 --capacity 4 --batch 8 --batch-min 8 --linger 200 --ordered
expect 0 "--batch-min 8 --linger 200 --ordered, 3 producers, 2 consumers, capacity 4"
grep '^F(' "$TMP/out" >"$TMP/got"
same "$TMP/want" "$TMP/got" "--batch-min with 3 producers, 2 consumers differs from a single-thread run"
# Without a linger (unordered): every term exactly once.
fib --count "$N" --producers 2 --consumers 3 --capacity 5 --batch 8 --batch-min 6
expect 0 "--batch-min 6 without --linger"
grep '^F(' "$TMP/out" | sort >"$TMP/got"
sort "$TMP/want" >"$TMP/want.sorted"
same "$TMP/want.sorted" "$TMP/got" "--batch-min 6: not every term exactly once"
# The trace counts a consumer's wait when it finds fewer than --batch-min.
fib --count 40 --batch 8 --batch-min 4 --linger 500 --consumers 2 --trace --quiet
expect 0 "--batch-min 4 --trace"
cw=$(grep -c 'C[01]: waiting for 4 terms at once' "$TMP/err")
sw=$(sed -n 's/.*waits: producers [0-9]*, consumers \([0-9]*\).*/\1/p' "$TMP/out")
[ "$cw" = "$sw" ] && ok || bad "--batch-min --trace: $cw consumer waits traced, the summary says $sw"
RUN=$RUN0

# Unordered with several consumers: every term exactly once.
fib --count "$N" --producers 3 --consumers 4 --batch 3 --capacity 5
expect 0 "unordered run"
grep '^F(' "$TMP/out" | sort >"$TMP/got"
sort "$TMP/want" >"$TMP/want.sorted"
same "$TMP/want.sorted" "$TMP/got" "unordered multi-consumer run: not every term exactly once"

# --below: the terms below a bound.
fib --below 100
expect 0 "--below 100"
[ "$(grep -c '^F(' "$TMP/out")" -eq 12 ] && ok || bad "--below 100: not 12 terms"
[ "$(value_of 11)" = 89 ] && ok || bad "--below 100: F(11) = $(value_of 11)"
fib --below 0 --quiet
expect 0 "--below 0"
contains "$TMP/out" "^summary: 0 terms" "--below 0: no terms"

# --quiet: the summary only.
fib --count "$N" --quiet --producers 2 --consumers 2
expect 0 "--quiet"
[ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -q '^summary: ' "$TMP/out" && ok ||
    bad "--quiet printed more than the summary line"
for word in terms checksum "terms/s" waits: producers consumers; do
    contains "$TMP/out" "$word" "--quiet summary has '$word'"
done

# --trace: every hand-off on stderr, waits as often as the summary counts.
fib --count 12 --trace --consumers 2 --capacity 1
expect 0 "--trace"
[ "$(grep -c 'P0: pushing F(' "$TMP/err")" -eq 12 ] && ok || bad "--trace: not 12 pushes"
[ "$(grep -c 'C[01]: got F([0-9]*) = [0-9]*$' "$TMP/err")" -eq 12 ] && ok || bad "--trace: not 12 gets"
contains "$TMP/err" "C[01]: got F(11) = 89" "--trace shows the value"
pw=$(grep -c 'P0: waiting for room' "$TMP/err")
cw=$(grep -c 'C[01]: waiting for a term' "$TMP/err")
sw=$(sed -n 's/.*waits: producers \([0-9]*\), consumers \([0-9]*\).*/\1 \2/p' "$TMP/out")
[ "$pw $cw" = "$sw" ] && ok || bad "--trace waits ($pw $cw) differ from the summary's ($sw)"

# Simulated work: the classic demo's produce and consume times.
fib --count 8 --produce-delay 2 --consume-delay 3 --consumers 2 --ordered
expect 0 "--produce-delay/--consume-delay"
grep '^F(' "$TMP/out" >"$TMP/got"
head -n 8 "$TMP/want" >"$TMP/want8"
same "$TMP/want8" "$TMP/got" "the delayed run's terms"

# --- arbitrary precision ---------------------------------------------------
fib --big --count 3 --quiet
if [ "$st" -eq 2 ]; then
    contains "$TMP/err" "built without" "--big without GMP says so"
    have_big=0
else
    expect 0 "--big"
    have_big=1
fi
if [ "$have_big" = 1 ]; then
    fib --big --count 1001 --producers 2 --consumers 2 --ordered
    expect 0 "--big --count 1001"
    f1000=$(value_of 1000)
    [ "${#f1000}" -eq 209 ] && ok || bad "F(1000) has ${#f1000} digits, not 209"
    case $f1000 in
    43466557686937456435*) ok ;;
    *) bad "F(1000) = $f1000" ;;
    esac
    contains "$TMP/out" "exact sum" "the big checksum says it is exact"
    fib --big --count $((BIGN + 2)) --producers 3 --consumers 2 --ordered
    fn2=$(value_of $((BIGN + 1)))
    fib --big --count "$BIGN" --producers 3 --consumers 2 --quiet
    expect 0 "--big --count $BIGN"
    [ "$(field checksum)" = "$(minus_one "$fn2")" ] && ok ||
        bad "big checksum of F(0..$((BIGN - 1))) is not F($((BIGN + 1))) - 1"
    fib --big --count 94 --ordered --consumers 2
    grep '^F(' "$TMP/out" | head -n 94 >"$TMP/got"
    grep '^F(' "$TMP/all94" >"$TMP/want94"
    same "$TMP/want94" "$TMP/got" "--big and 64-bit terms differ up to F(93)"
    fib --big --below 1000000000000000000000000000000 --quiet
    contains "$TMP/out" "^summary: 146 terms" "--big --below 10^30"
fi

# Write errors: reported, exit status 1. With --big the output outgrows
# stdio's buffer, so the error stops the run midway: the driver's error path
# (under $RUN too).
# shellcheck disable=SC2086
$RUN "$BIN" --count 94 >/dev/full 2>"$TMP/err"
st=$?
expect 1 "output to a full device"
contains "$TMP/err" "writing the output" "a write error at the end is reported"
if [ "$have_big" = 1 ]; then
    # shellcheck disable=SC2086
    $RUN "$BIN" --big --count 1500 --producers 2 --consumers 3 --capacity 2 >/dev/full 2>"$TMP/err"
    st=$?
    expect 1 "a --big run failing on a write error"
    contains "$TMP/err" "the run failed after" "a write error midway is reported"
fi

# Memcheck: heap numbers handed through the queue are all freed, also when
# the run fails (a write error on /dev/full stops it midway).
if [ -z "$RUN" ] && [ "$have_big" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    MC="valgrind --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 --quiet"
    RUN=$MC fib --big --count 2000 --quiet
    expect 0 "memcheck: --big --count 2000 --quiet"
    RUN=$MC fib --big --count 2000 --quiet --producers 3 --consumers 2 --ordered --batch 4
    expect 0 "memcheck: --big --count 2000 --ordered, 3 producers, 2 consumers"
    # shellcheck disable=SC2086
    $MC "$BIN" --big --count 3000 --producers 2 --consumers 2 --ordered >/dev/full 2>"$TMP/err"
    st=$?
    expect 1 "memcheck: --big run failing on a write error"
    contains "$TMP/err" "the run failed" "a write error is reported"
elif [ -z "$RUN" ]; then
    echo "tools.sh: memcheck checks skipped (no valgrind or no GMP)" >&2
fi

# The progress bar: on stderr when it is a terminal and the run is long.
if [ -z "$RUN" ] && command -v script >/dev/null 2>&1; then
    script -qec "$BIN --count 25 --consume-delay 60 --quiet" /dev/null >"$TMP/tty" 2>&1
    contains "$TMP/tty" "terms" "progress bar on a terminal"
    grep -q '\[#*\.*\] *[0-9]*%' "$TMP/tty" && ok || bad "no progress bar drawn on a terminal"
    fib --count 25 --consume-delay 60 --quiet
    if grep -q '%' "$TMP/err"; then bad "progress bar drawn on a non-terminal"; else ok; fi
fi

where=${RUN:+ under $RUN}
if [ "$failed" -ne 0 ]; then
    echo "tools.sh$where: $failed of $checks checks failed" >&2
    exit 1
fi
echo "tools.sh$where: all $checks checks passed"
