#!/bin/sh
# tests/embed/run.sh — an embedder's program under the race detectors
# (make test-embed).
#
#   sh tests/embed/run.sh PROGRAM SUPP LOGDIR
#
# PROGRAM is tests/embed/pipeline.c built against an installed libpcq;
# SUPP the installed share/pcq/helgrind-glibc.supp. Environment: HELGRIND
# and DRD, the Valgrind command lines of `make helgrind` / `make drd`
# (with --error-exitcode). Logs in LOGDIR/TOOL-MODE[-RUN].log.
#
#  - natively, every mode gives the right sum;
#  - Helgrind with SUPP: the blocking and timed modes report nothing, in
#    each of 3 runs (the glibc false positive depends on timing);
#  - Helgrind without SUPP, timed mode: how many reports the suppression
#    hides (for information: it depends on timing, and may be 0);
#  - Helgrind with SUPP, race mode: the planted race is reported, in
#    planted_race() — the suppression hides nothing of the program's own;
#  - DRD, no suppressions: timed mode clean, race mode caught.
# Exit status 1 if any check failed.
set -u
prog=${1:?usage: run.sh PROGRAM SUPP LOGDIR}
supp=${2:?usage: run.sh PROGRAM SUPP LOGDIR}
logs=${3:?usage: run.sh PROGRAM SUPP LOGDIR}
: "${HELGRIND:?set HELGRIND to the valgrind command of make helgrind}"
: "${DRD:?set DRD to the valgrind command of make drd}"
vg_status=$(printf ' %s\n' "$HELGRIND" | sed -n 's/.*--error-exitcode=\([0-9]*\).*/\1/p')
mkdir -p "$logs" || exit 1
failed=0
N=2000

# run NAME CMD...: output in $log, exit status in $rc, report count in $n
run() {
    log=$logs/$1.log
    shift
    # shellcheck disable=SC2086 # the tool variables are command lines
    "$@" >"$log" 2>&1
    rc=$?
    n=$(grep -Ec '^==[0-9]+== (Thread #[0-9]+: |Possible data race|Conflicting (load|store))' "$log")
}
ok() { echo "embed: $*"; }
bad() { echo "embed: FAIL: $* (log $log)"; failed=$((failed + 1)); }

for m in blocking timed race; do
    run "native-$m" "$prog" "$m" "$N"
    if [ "$rc" -eq 0 ]; then ok "native $m: $(cat "$log")"; else bad "native $m: exit $rc"; fi
done

for m in blocking timed; do
    for i in 1 2 3; do
        # shellcheck disable=SC2086
        run "helgrind-$m-$i" $HELGRIND --suppressions="$supp" "$prog" "$m" "$N"
        if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
            bad "helgrind --suppressions=$(basename "$supp") $m run $i: exit $rc, $n reports"
            continue 2
        fi
    done
    ok "helgrind --suppressions=$(basename "$supp"), $m mode: 0 errors in 3 runs ($(sed -n 's/.*items, .*), \(.*\)/\1/p' "$log"))"
done

# shellcheck disable=SC2086
run helgrind-timed-nosupp $HELGRIND "$prog" timed "$N"
ok "helgrind without the suppression file, timed mode: $n reports, all inside glibc's pthread_cond_timedwait:" \
   "$(grep -c 'by 0x[0-9A-F]*: __pthread_cond_wait_common' "$log") stacks through __pthread_cond_wait_common"
if [ "$n" -gt 0 ] && [ "$(grep -c 'pthread_cond_{signal,broadcast}' "$log")" -ne "$n" ]; then
    bad "helgrind without suppressions reported something other than the glibc condvar false positive"
fi

# shellcheck disable=SC2086
run helgrind-race $HELGRIND --suppressions="$supp" "$prog" race "$N"
races=$(grep -c 'Possible data race' "$log")
frames=$(grep -c 'planted_race (pipeline.c:' "$log")
if [ "$rc" -eq "$vg_status" ] && [ "$races" -gt 0 ] && [ "$frames" -gt 0 ]; then
    ok "helgrind --suppressions=$(basename "$supp"), planted race: caught ($races 'Possible data race' reports, in planted_race; exit $rc)"
else
    bad "helgrind missed the planted race: exit $rc, $races race reports, $frames planted_race frames"
fi

# shellcheck disable=SC2086
run drd-timed $DRD "$prog" timed "$N"
if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]; then
    ok "drd (no suppressions), timed mode: 0 errors"
else
    bad "drd timed mode: exit $rc, $n reports"
fi
# shellcheck disable=SC2086
run drd-race $DRD "$prog" race "$N"
# DRD 3.19 names the caller's line (worker, at the call of planted_race) as
# the access's frame: either frame is the program's own code.
frames=$(grep -Ec '(planted_race|worker) \(pipeline\.c:' "$log")
if [ "$rc" -ne 0 ] && [ "$n" -gt 0 ] && [ "$frames" -gt 0 ]; then
    ok "drd (no suppressions), planted race: caught ($n conflicting accesses, in the workers' planted_race call; exit $rc)"
else
    bad "drd missed the planted race: exit $rc, $n reports, $frames planted_race frames"
fi

[ "$failed" -eq 0 ] || { echo "embed: $failed checks failed"; exit 1; }
