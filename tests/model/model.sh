#!/bin/sh
# tests/model/model.sh — check the Spin model tests/model/pcq.pml (run by `make model`).
#
# Each run: spin generates pan.c in its own directory under $MODEL_DIR (spin
# and pan write pan.*, *.trail in the cwd: nothing lands in the tree), cc
# builds pan with -DSAFETY (deadlocks + assertions, no liveness), and pan
# searches the whole state space with a bounded depth.
#  - the correct model must report "errors: 0";
#  - each broken variant must report an error of the expected kind; its
#    trail is replayed with `spin -t -p` into trail.txt and summarised;
#  - any run that prints "max search depth too small" (a truncated search
#    could miss an error) or no "errors:" line at all fails the target.
#
# Environment: MODEL_DIR (build/model), CC (cc), PAN_CFLAGS (-O0: at these
# sizes -O0 compiles fastest and pan's search still takes at most a few
# seconds), MODEL_DEPTH (10000; the deepest run reaches ~500), MODEL_HASH
# (22: 2^22 slots).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/tests/model/pcq.pml
out=${MODEL_DIR:-$root/build/model}
cc=${CC:-cc}
pan_cflags=${PAN_CFLAGS:--O0}
depth=${MODEL_DEPTH:-10000}
hash=${MODEL_HASH:-22}
failed=0

command -v spin >/dev/null 2>&1 || { echo "model: spin not installed (Debian package spin)"; exit 1; }

# run NAME EXPECT [spin -D options]
#   EXPECT: "pass", or the text pan's first error line must contain.
run() {
    name=$1 expect=$2
    shift 2
    dir=$out/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$model" "$dir/pcq.pml"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # $cc and $pan_cflags may hold several words
    if ! (cd "$dir" && spin "$@" -a pcq.pml >spin.log 2>&1 &&
          $cc $pan_cflags -w -DSAFETY -o pan pan.c >cc.log 2>&1); then
        echo "$name: FAIL: spin -a or cc failed (see $dir/*.log)"
        failed=1
        return 0
    fi
    (cd "$dir" && ./pan -m"$depth" -w"$hash" >pan.out 2>&1) || true
    t1=$(date +%s.%N)
    errs=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.out")
    stats=$(awk '/states, stored/ {s=$1} /depth reached/ {d=$0; sub(/.*depth reached /, "", d); sub(/,.*/, "", d)}
                 /elapsed time/ {e=$4} END {printf "%s states, depth %s, pan %ss", s, d, e}' "$dir/pan.out")
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
    stats="$stats, ${wall}s with spin and cc; ${*:-default sizes}"

    if grep -q 'search depth too small' "$dir/pan.out"; then
        echo "$name: FAIL: max search depth $depth too small, search truncated ($stats)"
        failed=1
        return 0
    fi
    if [ -z "$errs" ]; then
        echo "$name: FAIL: pan did not finish (see $dir/pan.out)"
        failed=1
        return 0
    fi
    if [ "$expect" = pass ]; then
        if [ "$errs" -eq 0 ]; then
            echo "$name: pass"
            echo "  $stats"
        else
            echo "$name: FAIL: $(grep -m1 '^pan:1:' "$dir/pan.out" || echo "$errs errors") ($stats)"
            (cd "$dir" && spin "$@" -t -p -g pcq.pml >trail.txt 2>&1) || true
            echo "  trail: $dir/trail.txt"
            failed=1
        fi
        return 0
    fi

    # A broken variant: it must fail, and for the expected reason.
    if [ "$errs" -eq 0 ]; then
        echo "$name: FAIL: not caught, Spin found no error ($stats)"
        failed=1
        return 0
    fi
    what=$(grep -m1 '^pan:1:' "$dir/pan.out" | sed 's/^pan:1: //')
    (cd "$dir" && spin "$@" -t -p -g pcq.pml >trail.txt 2>&1) || true
    case $what in
    *"$expect"*) ;;
    *)
        echo "$name: FAIL: caught for the wrong reason: $what, expected $expect ($stats)"
        echo "  trail: $dir/trail.txt"
        failed=1
        return 0
        ;;
    esac
    case $what in
    "invalid end state"*)
        # The replay ends with each process's final place: list those
        # not at a valid end state, with their source line.
        blocked=$(awk '/^ *[0-9]+:[ \t]+proc +[0-9]+ \(.*\) pcq\.pml:[0-9]+ \(state [0-9]+\)[ \t]*$/ {
                 p=$0; sub(/^[^(]*\(/, "", p); sub(/\).*/, "", p); sub(/:[0-9]+$/, "", p)
                 l=$0; sub(/^.*pcq\.pml:/, "", l); sub(/ .*/, "", l)
                 print l, p }' "$dir/trail.txt" | sort -n | uniq -c)
        if [ -z "$blocked" ]; then
            echo "$name: FAIL: the replay shows no blocked process ($dir/trail.txt)"
            failed=1
            return 0
        fi
        echo "$name: caught ($what)"
        echo "$blocked" | while read -r n line proc; do
            src=$(sed -n "${line}p" "$dir/pcq.pml" | sed 's/^ *//')
            echo "  blocked for good: $n x $proc at pcq.pml:$line  $src"
        done
        ;;
    *)
        if ! grep -q 'assertion violated' "$dir/trail.txt"; then
            echo "$name: FAIL: the replay does not show the violation ($dir/trail.txt)"
            failed=1
            return 0
        fi
        echo "$name: caught ($what)"
        ;;
    esac
    echo "  $stats"
    echo "  trail: $dir/trail.txt"
}

# Which src/pcq.c the model mirrors, and whether the C has moved since.
mirrors=$(sed -n 's/.*mirrors src\/pcq\.c at \([0-9a-f][0-9a-f]*\).*/\1/p' "$model")
echo "model: tests/model/pcq.pml mirrors src/pcq.c at ${mirrors:-?}"
if [ -z "$mirrors" ]; then
    echo "model: FAIL: the model's header does not say which src/pcq.c it mirrors"
    exit 1
fi
if git -C "$root" rev-parse --verify -q "$mirrors^{commit}" >/dev/null 2>&1; then
    if ! git -C "$root" diff --quiet "$mirrors" -- src/pcq.c; then
        echo "model: note: src/pcq.c has changed since $mirrors: if xfer_one(),"
        echo "model:       xfer_many(), transfer(), move_now(), after_move(), wake_one(), back_from_wait(),"
        echo "model:       wait_cancelled(), sleep_once(), spin() or pcq_close() changed,"
        echo "model:       update tests/model/pcq.pml and its hash"
    fi
fi

# The correct protocol: 2 producers x 2 consumers x capacity 2, batches of
# up to 2, up to 2 spurious wake-ups; the closer joins the producers, or
# races them; capacity 1; a thread cancelled in its wait; consumers with a
# quota; then 3 x 3 (one value per producer, single-element calls: 3
# sleepers on a side).
run ok-2x2-cap2 pass
run ok-2x2-cap2-close-race pass -DCLOSE_RACE
run ok-2x2-cap1 pass -DCAP=1
run ok-2x2-cap2-cancel pass -DCANCEL
run ok-2x2-cap2-quota pass -DQUOTA
run ok-3x3-cap2 pass -DNP=3 -DNC=3 -DNV=1 -DBATCH=1

# The broken variants, each against a configuration the correct model
# passes. NO_PENDING_RESET breaks the model's pending <= waiters at its
# first wake-up (pcq__valid's pending <= 1 does not see it); without that
# check (NO_VALID_PENDING) the same bug is the hang it causes. NO_BATON
# hangs only consumers that stop before EPIPE (QUOTA); with consumers that
# drain, a baton not passed is only late.
run CLOSE_SIGNAL "invalid end state" -DCLOSE_SIGNAL
run IF_WAIT "assertion violated (count>=k)" -DIF_WAIT
run ONE_CV "invalid end state" -DONE_CV
run NO_PENDING_RESET "assertion violated ((pending" -DNO_PENDING_RESET
run NO_PENDING_RESET-hang "invalid end state" -DNO_PENDING_RESET -DNO_VALID_PENDING
run NO_CANCEL_BATON "invalid end state" -DNO_CANCEL_BATON -DCANCEL
run NO_BATON "invalid end state" -DNO_BATON -DQUOTA

if [ "$failed" -ne 0 ]; then
    echo "model: FAILED"
    exit 1
fi
echo "model: the protocol passes; CLOSE_SIGNAL, IF_WAIT, ONE_CV, NO_PENDING_RESET,"
echo "model: NO_CANCEL_BATON and NO_BATON are caught"
