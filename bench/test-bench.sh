#!/bin/sh
# test-bench.sh BINARY — the benchmark's own tests (make test-bench):
#  1. its verification catches a planted loss: every run against the lossy
#     adapter (textbook dropping one element in 997) must fail with
#     "VERIFICATION FAILED", exit 1, and leave no CSV with a figure;
#  2. a tiny pcq configuration must pass and be reported;
#  3. every queue that was built runs a small configuration of each kind
#     (single, batch, by pointer, ping-pong) and passes its verification;
#  4. the options are checked (--help, a bad option).
set -u
bin=${1:?usage: test-bench.sh BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "test-bench: ok   $*"; }
bad() { echo "test-bench: FAIL $*"; fails=$((fails + 1)); }
small='--repeats 2 --warmups 0 --quiet'

# 1. the planted loss must be caught, in every shape of run
for shape in '--pc 1x1' '--pc 2x2' '--pc 2x2 --batch 16' '--pc 1x2 --elem-size 64' \
    '--pc 4x4 --capacity 1'; do
    rm -f "$tmp/lossy.csv" "$tmp/lossy.csv.partial"
    # shellcheck disable=SC2086
    "$bin" --queue lossy $shape --count 20000 $small --csv "$tmp/lossy.csv" \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" != 1 ]; then
        bad "lossy $shape: exit status $rc, expected 1"
    elif ! grep -q 'VERIFICATION FAILED' "$tmp/err"; then
        bad "lossy $shape: no VERIFICATION FAILED message"
    elif [ -e "$tmp/lossy.csv" ] || grep -q '^throughput,lossy' "$tmp/lossy.csv.partial" ||
        grep -q 'lossy ' "$tmp/out"; then
        bad "lossy $shape: a figure was reported"
    else
        ok "lossy $shape: caught ($(grep -m1 'consumed' "$tmp/err" | sed 's/^ *//'))"
    fi
done

# 2. a tiny pcq configuration passes and is reported
# shellcheck disable=SC2086
if "$bin" --queue pcq --pc 2x2 --capacity 16 --count 20000 $small --csv "$tmp/ok.csv" \
    >"$tmp/out" 2>"$tmp/err" && grep -q '^throughput,pcq,2,2,16,16,1,8,value,20000,2,ok,' "$tmp/ok.csv"; then
    ok "pcq 2x2 cap 16: verified and reported"
else
    bad "pcq 2x2 cap 16"; cat "$tmp/err"
fi

# 3. every built queue, every kind of run (did not finish is allowed for spinners)
run() { # run LABEL ARGS...
    label=$1; shift
    if "$@" $small --time-limit 10 >"$tmp/out" 2>"$tmp/err"; then
        ok "$label"
    else
        bad "$label (exit $?)"; tail -5 "$tmp/err"
    fi
}
run 'all queues 1x1 and 2x2, 8 and 64 bytes' "$bin" --queue all --pc 1x1,2x2 --capacity 64 \
    --elem-size 8,64 --count 5000
run 'batch calls 1x1 and 2x3, cap 7, batch 16' "$bin" --queue pcq,textbook_batch --pc 1x1,2x3 \
    --capacity 7 --batch 16 --count 5000
run 'ping-pong, every queue' "$bin" --queue all --latency --round-trips 500
run 'matrix listing' "$bin" --matrix full --list

# 4. options
if "$bin" --help | grep -q -- '--elem-size'; then ok "--help"; else bad "--help"; fi
"$bin" --no-such-option >/dev/null 2>&1
rc=$?
if [ "$rc" = 2 ]; then ok "a bad option: exit 2"; else bad "a bad option: exit $rc"; fi

if [ "$fails" -ne 0 ]; then
    echo "test-bench: $fails failed"
    exit 1
fi
echo "test-bench: all passed"
