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
# The runs are independent: MODEL_JOBS of them at a time, each taking the
# next from the list (largest first); their reports print in list order.
#
# Environment: MODEL_DIR (build/model), CC (cc), PAN_CFLAGS (instead of
# each run's own COPT: -O1 for the runs above ~3.5 million states, -O0
# for the rest: pan searches about 1.5 times as fast at -O1, but -O1
# compiles in 6 s where -O0 takes 1; a broken variant is caught in about
# a second at any level), MODEL_DEPTH (10000; the deepest run reaches
# ~780), MODEL_HASH (22: 2^22 slots; pan grows the table as it needs),
# MODEL_JOBS (2).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/tests/model/pcq.pml
out=${MODEL_DIR:-$root/build/model}
cc=${CC:-cc}
depth=${MODEL_DEPTH:-10000}
hash=${MODEL_HASH:-22}
jobs=${MODEL_JOBS:-2}
failed=0

command -v spin >/dev/null 2>&1 || { echo "model: spin not installed (Debian package spin)"; exit 1; }

# run NAME EXPECT COPT [spin -D options]
#   EXPECT: "pass", or the text pan's first error line must contain.
#   COPT: cc's optimisation for pan (PAN_CFLAGS overrides it).
run() {
    name=$1 expect=$2 copt=${PAN_CFLAGS:-$3}
    shift 3
    dir=$out/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$model" "$dir/pcq.pml"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # $cc and $copt may hold several words
    if ! (cd "$dir" && spin "$@" -a pcq.pml >spin.log 2>&1 &&
          $cc $copt -w -DSAFETY -o pan pan.c >cc.log 2>&1); then
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
        # The replay (with -l) ends with each process's final place and its
        # locals: list those not at a valid end state. A worker is named
        # by its side and the step it is stuck before (its pc, named by the
        # model's #define), the others by their source line.
        (cd "$dir" && spin "$@" -t -p -l -g pcq.pml >trail-locals.txt 2>&1) || true
        blocked=$(awk '
            function emit() { if (pid != "") print (pc != "" ? "pc " pc : "line " line), who }
            /^ *[0-9]+:[ \t]+proc +[0-9]+ \(.*\) pcq\.pml:[0-9]+ / {
                emit(); pid = ""; pc = ""; bmin = 0
                if ($0 !~ /\(state [0-9]+\)[ \t]*$/) next   # a valid end state
                pid = $0; sub(/^ *[0-9]+:[ \t]+proc +/, "", pid); sub(/ .*/, "", pid)
                who = $0; sub(/^[^(]*\(/, "", who); sub(/\).*/, "", who); sub(/:[0-9]+$/, "", who)
                line = $0; sub(/^.*pcq\.pml:/, "", line); sub(/ .*/, "", line)
                next
            }
            pid != "" && $0 ~ "^[ \t]+" who "\\(" pid "\\):bmin = " { bmin = $NF }
            pid != "" && $0 ~ "^[ \t]+" who "\\(" pid "\\):side = " {
                who = ($NF == 0 ? "producer" : bmin > 1 ? "batch waiter" : "consumer") }
            pid != "" && $0 ~ "^[ \t]+worker\\(" pid "\\):pc = " { pc = $NF }
            END { emit() }' "$dir/trail-locals.txt" | sort -r | uniq -c)
        if [ -z "$blocked" ]; then
            echo "$name: FAIL: the replay shows no blocked process ($dir/trail-locals.txt)"
            failed=1
            return 0
        fi
        echo "$name: caught ($what)"
        echo "$blocked" | while read -r n kind at who; do
            if [ "$kind" = pc ]; then
                step=$(sed -n "/^\/\* Steps of a call/,/^\$/ \
                    s|^#define \([A-Z_]*\) $at  *\/\* \(.*\) \*\/\$|\1 (\2)|p" "$dir/pcq.pml")
                echo "  blocked for good: $n x $who before ${step:-pc $at}"
            else
                src=$(sed -n "${at}p" "$dir/pcq.pml" | sed 's/^ *//')
                echo "  blocked for good: $n x $who at pcq.pml:$at  $src"
            fi
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
        echo "model:       xfer_many(), transfer(), move_now(), move(), look(), available(),"
        echo "model:       can_go(), needs_wake(), wake_one(), wake_side(), back_from_wait(),"
        echo "model:       pass_baton(), wait_cancelled(), sleep_once(), spin(), batch_min(),"
        echo "model:       wake_batch_locked(), batch_wake_due(), wake_batch(),"
        echo "model:       batch_sleep_once(), batch_wait_cancelled(), after_move(), do_after(),"
        echo "model:       shut_locked(), pcq_close(), pcq_abort(), pcq_pop_batch(),"
        echo "model:       pcq_set_capacity() or regrow() changed, or in shared mode"
        echo "model:       lock(), lock_shared(), repair_side(), wo_wait(), futex_nap(),"
        echo "model:       wo_signal(), wo_broadcast(), seq_wake() or wake_all_locked(),"
        echo "model:       update tests/model/pcq.pml and its hash"
    fi
fi

# The runs, one a line: NAME|EXPECT|COPT|spin -D options; largest first,
# so that the last to start are short. EXPECT: "pass", or the text pan's
# first error line must contain. COPT: cc's optimisation for pan.
#
# The correct protocol: 2 producers x 2 consumers x capacity 2, batches of
# up to 2, up to 2 spurious wake-ups; the closer joins the producers, or
# races them; capacity 1; a thread cancelled in its wait; consumers with a
# quota; then 3 x 3 (one value per producer, single-element calls: 3
# sleepers on a side). The flow control: pcq_abort racing producers (push
# and push_many), a consumer and a batch waiter (ok-abort); a resizer
# (capacity 1, then 3) racing producers and a consumer, and the same with a
# batch waiter (ok-resize, ok-resize-batch); a pop_batch(min 2) that
# sleeps as a plain pop at capacity 1 beside a pcq_pop while the capacity
# grows to 3, with a producer that waits for each answer (SYNC: the
# configuration that found the lost wake-up fixed in 2fd1da1); a grow
# that alone lets blocked producers go on (no consumer); a batch waiter
# racing a consumer and two producers; with a quota, beside a consumer,
# and two batch waiters of mins 2 and 3; two batch waiters and a consumer
# with a deadline that may pass at any moment (ok-deadline).
#
# The broken variants, each against a configuration the correct model
# passes. NO_FENCE, NO_RECHECK, PENDING_EARLY and SIGNAL_UNLOCKED are the
# split lock's own ways to lose a wake-up (the Dekker pairing without its
# fence, without the sleeper's re-check; the second pairing, of a mover's
# publish with a woken thread's clear of `pending`, without its fence; the
# signal without the sleepers' lock);
# SIGNAL_UNLOCKED first breaks pending <= waiters (a signal sent for a
# sleeper that went on), and without that check (NO_VALID_PENDING) hangs a
# sleeper. NO_PENDING_RESET breaks the model's pending <= waiters at its
# first wake-up (side_valid's pending <= 1 does not see it); without that
# check the same bug is the hang it causes. NO_BATON hangs only consumers
# that stop before EPIPE (QUOTA); with consumers that drain, a baton not
# passed is only late. The one-lock model's variants all still apply to
# each side and stay; ONE_CV too, although one condition variable waited
# on with two mutexes is undefined in C: the model's condition variable
# ignores the mutex, so the variant shows the mix-up it would cause at best.
# The flow control's: a batch waiter whose count is there but never
# signalled (BATCH_NO_REGISTER, BATCH_NO_RECHECK, BATCH_SIGNAL; with a
# quota, since the close wakes every batch waiter: without one, a missed
# batch wake-up is only late). BATCH_NO_REGISTER and BATCH_SIGNAL first
# break the model's batch_need <= every sleeping batch waiter's count, and
# without that check (NO_VALID_NEED) hang. ABORT_NO_BROADCAST: an abort
# that leaves a batch waiter asleep. RESIZE_NO_WAKE: a grow that wakes no
# producer. NO_PASS_ON, and RESIZE_NO_POP_WAKE with it: 2fd1da1 without
# its pass-on, or without both its parts (RESIZE_NO_POP_WAKE alone passes:
# see the model's header).
#
# The shared mode (SHARED: futex waits with a nap, robust mutexes, one
# process killed anywhere; the owner closes once the queue is empty): 1
# producer x 3 consumers at capacity 1; 2 x 2 at capacity 1 (a push after
# a push side's repair); 1 x 2 at capacity 2 with batches and a spurious
# return; the closer killed half-way through pcq_close. Without the nap:
# a death in the futex wait only (KILLAT=2), and no death at all, pass
# (the nap is needed only for what a death leaves). SHM_NO_REPAIR (a pop
# copies from where a dead pop left the position), SHM_COMMIT_EARLY (a
# pop takes a slot not yet written), SHM_NO_NAP (a survivor asleep for
# good while the consumer woken in its place died between its copy and
# its commit); SHM_PENDING_ALWAYS and SHM_SEQ_UNLOCKED without the nap, in
# the two configurations above that pass without it; SHM_NO_CLOSE_SYNC
# (consumers that never learn of a close the closer died in);
# SHM_NO_HW_REPAIR (repair_side() before 8c4ee1e: side_valid() fails).
runs='ok-3x3-cap2|pass|-O1|-DNP=3 -DNC=3 -DNV=1 -DBATCH=1
ok-abort|pass|-O1|-DABORT -DNP=2 -DNV=2 -DNC=1 -DNB=1
ok-2x2-cap2-cancel|pass|-O1|-DCANCEL
ok-resize|pass|-O1|-DRESIZE -DNP=2 -DNC=1
ok-2x2-cap2-close-race|pass|-O1|-DCLOSE_RACE
ok-deadline|pass|-O1|-DDEADLINE -DNP=2 -DNV=1 -DNC=1 -DNB=2 -DCAP=3
ok-2x2-cap2-quota|pass|-O0|-DQUOTA
ok-2x2-cap2|pass|-O0|
ok-resize-batch|pass|-O0|-DRESIZE -DNP=2 -DNV=1 -DNC=1 -DNB=1
ok-2x2-cap1|pass|-O0|-DCAP=1
ok-batch-2b-quota|pass|-O0|-DQUOTA -DNP=1 -DNV=6 -DNC=0 -DNB=2 -DCAP=3
ok-resize-sync-cap1|pass|-O0|-DRESIZE -DCAP=1 -DRS1=3 -DRS2=3 -DNP=1 -DNV=2 -DNC=1 -DNB=1 -DBATCH=1 -DSYNC
ok-batch-quota|pass|-O0|-DQUOTA -DNP=1 -DNV=4 -DNC=1 -DNB=1
ok-batch|pass|-O0|-DNP=2 -DNV=1 -DNC=1 -DNB=1
ok-resize-no-consumer|pass|-O0|-DRESIZE -DCAP=1 -DRS1=1 -DRS2=2 -DNP=2 -DNV=1 -DNC=0
ok-shm-3c-cap1|pass|-O0|-DSHARED -DNP=1 -DNC=3 -DNV=2 -DCAP=1 -DBATCH=1 -DSPURIOUS=0
ok-shm-2p-cap1|pass|-O0|-DSHARED -DNP=2 -DNC=2 -DNV=1 -DCAP=1 -DBATCH=1 -DSPURIOUS=0
ok-shm|pass|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=1
ok-shm-closer-dies|pass|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILL_CLOSER -DKILLAT=0
ok-shm-asleep-nonap|pass|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILLAT=2 -DSHM_NO_NAP
ok-shm-nodeath-nonap|pass|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILLS=0 -DSHM_NO_NAP
NO_FENCE|invalid end state|-O0|-DNO_FENCE
NO_RECHECK|invalid end state|-O0|-DNO_RECHECK
PENDING_EARLY|invalid end state|-O0|-DPENDING_EARLY
SIGNAL_UNLOCKED|assertion violated (pending[|-O0|-DSIGNAL_UNLOCKED
SIGNAL_UNLOCKED-hang|invalid end state|-O0|-DSIGNAL_UNLOCKED -DNO_VALID_PENDING
NO_CANCEL_BATON|invalid end state|-O0|-DNO_CANCEL_BATON -DCANCEL
CLOSE_SIGNAL|invalid end state|-O0|-DCLOSE_SIGNAL
IF_WAIT|assertion violated (v!=0)|-O0|-DIF_WAIT
ONE_CV|invalid end state|-O0|-DONE_CV
NO_PENDING_RESET|assertion violated (pending[|-O0|-DNO_PENDING_RESET
NO_PENDING_RESET-hang|invalid end state|-O0|-DNO_PENDING_RESET -DNO_VALID_PENDING
NO_BATON|invalid end state|-O0|-DNO_BATON -DQUOTA
BATCH_NO_REGISTER|batch_need<=bwant|-O0|-DBATCH_NO_REGISTER -DQUOTA -DNP=1 -DNV=4 -DNC=1 -DNB=1
BATCH_NO_REGISTER-hang|invalid end state|-O0|-DBATCH_NO_REGISTER -DNO_VALID_NEED -DQUOTA -DNP=1 -DNV=4 -DNC=1 -DNB=1
BATCH_NO_RECHECK|invalid end state|-O0|-DBATCH_NO_RECHECK -DQUOTA -DNP=1 -DNV=4 -DNC=1 -DNB=1
BATCH_SIGNAL|batch_need<=bwant|-O0|-DBATCH_SIGNAL -DQUOTA -DNP=1 -DNV=6 -DNC=0 -DNB=2 -DCAP=3
BATCH_SIGNAL-hang|invalid end state|-O0|-DBATCH_SIGNAL -DNO_VALID_NEED -DQUOTA -DNP=1 -DNV=6 -DNC=0 -DNB=2 -DCAP=3
ABORT_NO_BROADCAST|invalid end state|-O0|-DABORT_NO_BROADCAST -DABORT -DNP=2 -DNV=2 -DNC=1 -DNB=1
RESIZE_NO_WAKE|invalid end state|-O0|-DRESIZE_NO_WAKE -DRESIZE -DCAP=1 -DRS1=1 -DRS2=2 -DNP=2 -DNV=1 -DNC=0
NO_PASS_ON|invalid end state|-O0|-DNO_PASS_ON -DRESIZE -DCAP=1 -DRS1=3 -DRS2=3 -DNP=1 -DNV=2 -DNC=1 -DNB=1 -DBATCH=1 -DSYNC
RESIZE_NO_POP_WAKE-NO_PASS_ON|invalid end state|-O0|-DRESIZE_NO_POP_WAKE -DNO_PASS_ON -DRESIZE -DCAP=1 -DRS1=3 -DRS2=3 -DNP=1 -DNV=2 -DNC=1 -DNB=1 -DBATCH=1 -DSYNC
SHM_NO_REPAIR|assertion violated ((v!=0)&&cmtd|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DSHM_NO_REPAIR
SHM_COMMIT_EARLY|assertion violated ((v!=0)&&cmtd|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DSHM_COMMIT_EARLY
SHM_NO_NAP|invalid end state|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DSHM_NO_NAP
SHM_PENDING_ALWAYS|invalid end state|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILLAT=2 -DSHM_NO_NAP -DSHM_PENDING_ALWAYS
SHM_SEQ_UNLOCKED|invalid end state|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILLS=0 -DSHM_NO_NAP -DSHM_SEQ_UNLOCKED
SHM_NO_CLOSE_SYNC|invalid end state|-O0|-DSHARED -DNP=1 -DNC=2 -DNV=2 -DCAP=2 -DSPURIOUS=0 -DKILL_CLOSER -DKILLAT=0 -DSHM_NO_CLOSE_SYNC
SHM_NO_HW_REPAIR|<=high_water)|-O0|-DSHARED -DNP=2 -DNC=2 -DNV=1 -DCAP=1 -DBATCH=1 -DSPURIOUS=0 -DSHM_NO_HW_REPAIR'

# MODEL_JOBS lanes; each claims the next run not yet claimed (mkdir is
# atomic) and leaves its report and status beside the run's directory.
mkdir -p "$out"
rm -rf "$out"/.claim.* "$out"/.failed "$out"/*.report "$out"/*.status
lane() {
    i=0
    printf '%s\n' "$runs" | while IFS='|' read -r name expect copt flags; do
        i=$((i + 1))
        mkdir "$out/.claim.$i" 2>/dev/null || continue
        failed=0
        # shellcheck disable=SC2086 # flags: several spin options, or none
        run "$name" "$expect" "$copt" $flags >"$out/$name.report" 2>&1 || failed=1
        echo "$failed" >"$out/$name.status"
    done
}
t0=$(date +%s)
j=0
while [ "$j" -lt "$jobs" ]; do
    lane &
    j=$((j + 1))
done
wait
t1=$(date +%s)
rm -rf "$out"/.claim.*

printf '%s\n' "$runs" | {
    while IFS='|' read -r name expect copt flags; do
        cat "$out/$name.report" 2>/dev/null || echo "$name: FAIL: no report"
        [ "$(cat "$out/$name.status" 2>/dev/null)" = 0 ] || echo "$name" >>"$out/.failed"
    done
}
echo "model: $(printf '%s\n' "$runs" | wc -l | tr -d ' ') runs in $((t1 - t0)) s, $jobs at a time"
if [ -e "$out/.failed" ]; then
    rm -f "$out/.failed"
    echo "model: FAILED"
    exit 1
fi
echo "model: the protocol passes; NO_FENCE, NO_RECHECK, PENDING_EARLY, SIGNAL_UNLOCKED,"
echo "model: NO_CANCEL_BATON, CLOSE_SIGNAL, IF_WAIT, ONE_CV, NO_PENDING_RESET, NO_BATON,"
echo "model: BATCH_NO_REGISTER, BATCH_NO_RECHECK, BATCH_SIGNAL, ABORT_NO_BROADCAST,"
echo "model: RESIZE_NO_WAKE, NO_PASS_ON, RESIZE_NO_POP_WAKE with NO_PASS_ON, SHM_NO_REPAIR,"
echo "model: SHM_COMMIT_EARLY, SHM_NO_NAP, SHM_PENDING_ALWAYS, SHM_SEQ_UNLOCKED,"
echo "model: SHM_NO_CLOSE_SYNC and SHM_NO_HW_REPAIR are caught"
