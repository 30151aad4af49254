#!/bin/sh
# selftest.sh — prove that the race-detection targets can fail: each tool,
# run with the targets' own options, must report the bugs planted in
# race_fixture.c, and must stay silent on its fixed mode.
#
# Usage: selftest.sh DIR
#   DIR holds race_fixture built three ways (fixture-plain, fixture-tsan,
#   fixture-asan); the tools' output goes to DIR/log/TOOL-MODE.log.
# Environment, set by `make race-selftest` from the variables the real
# targets use:
#   HELGRIND, DRD                 Valgrind command lines (--error-exitcode)
#   TSAN_OPTIONS                  as `make tsan` sets it
#   ASAN_OPTIONS, UBSAN_OPTIONS   as `make asan` sets them
#
# A bug counts as caught when the exit status is the tool's error status,
# the output holds a report of the expected kind, and the report's stack
# names the fixture function holding the bug. Prints one line per tool and
# mode; exits 1 if any tool missed a bug or reported on the fixed program.
set -u

dir=${1:?usage: selftest.sh DIR}
: "${HELGRIND:?set HELGRIND to the valgrind command of make helgrind}"
: "${DRD:?set DRD to the valgrind command of make drd}"
mkdir -p "$dir/log" || exit 1
failed=0

# A planted bug can hang at worst for 200 ms (see LOST_WAKEUP_MS); this only
# guards against a broken tool or fixture hanging the whole test run.
limit=""
command -v timeout >/dev/null 2>&1 && limit="timeout 120"

# The status each tool exits with when it reports.
option() { # option NAME DEFAULT WORDS: the value of NAME=value in WORDS
    v=$(printf ' %s\n' "$3" | sed -n "s/.*[ :]$1=\([0-9][0-9]*\).*/\1/p")
    echo "${v:-$2}"
}
vg_status=$(option --error-exitcode "" "$HELGRIND")
drd_status=$(option --error-exitcode "" "$DRD")
tsan_status=$(option exitcode 66 "${TSAN_OPTIONS:-}")
asan_status=$(option exitcode 1 "${ASAN_OPTIONS:-}")
ubsan_status=$(option exitcode 1 "${UBSAN_OPTIONS:-}")
for s in "helgrind:$vg_status" "drd:$drd_status"; do
    if [ -z "${s#*:}" ]; then
        echo "${s%%:*}: no --error-exitcode in its options, so a report cannot fail the target"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ] || exit 1

# run TOOL MODE CMD...: run CMD MODE, output in $log, status in $rc
run() {
    log=$dir/log/$1-$2.log
    mode=$2
    shift 2
    # shellcheck disable=SC2086 # $limit is a command line
    $limit "$@" "$mode" >"$log" 2>&1
    rc=$?
}

# caught TOOL MODE STATUS KINDS FUNCTIONS CMD...
#   KINDS: extended regex of the report headlines expected for this bug;
#   FUNCTIONS: the fixture functions (a|b) one of whose frames must appear.
caught() {
    tool=$1 m=$2 want=$3 kinds=$4 fns=$5 where="($5)[ (].*race_fixture\\.c:"
    shift 5
    run "$tool" "$m" "$@"
    n=$(grep -Ec "$kinds" "$log")
    frames=$(grep -Ec "$where" "$log")
    if [ "$rc" -eq "$want" ] && [ "$n" -gt 0 ] && [ "$frames" -gt 0 ]; then
        echo "$tool $m: caught ($n errors)"
    else
        echo "$tool $m: NOT CAUGHT: exit status $rc (want $want), $n reports" \
             "matching /$kinds/, $frames stack frames in $fns; log $log"
        failed=$((failed + 1))
    fi
}

# clean TOOL MARKERS CMD...: the fixed program must exit 0 with no line
# matching MARKERS (the tool's report lines) and must have run to its end.
clean() {
    tool=$1 markers=$2
    shift 2
    run "$tool" fixed "$@"
    n=$(grep -Ec "$markers" "$log")
    if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ] &&
       grep -q '^counter: \([0-9]*\) (\1 expected)$' "$log" &&
       grep -q '^condwait: woken$' "$log" && grep -q '^leak: freed$' "$log"; then
        echo "$tool fixed: clean"
    else
        echo "$tool fixed: NOT CLEAN: exit status $rc, $n report lines in $log"
        failed=$((failed + 1))
    fi
}

plain=$dir/fixture-plain
tsan=$dir/fixture-tsan
asan=$dir/fixture-asan
cw=cond_waiter\|cond_signaller

# Valgrind with --quiet prints nothing but its reports: any ==PID== line is one.
# shellcheck disable=SC2086 # $HELGRIND and $DRD are command lines
{
caught helgrind counter "$vg_status" 'Possible data race' counter_thread $HELGRIND "$plain"
caught helgrind condwait "$vg_status" \
    'Possible data race|pthread_cond_\{timed\}wait called with un-held mutex|dubious: associated lock is not held' \
    "$cw" $HELGRIND "$plain"
clean helgrind '^==[0-9]+==' $HELGRIND "$plain"

caught drd counter "$drd_status" 'Conflicting (load|store)' counter_thread $DRD "$plain"
caught drd condwait "$drd_status" \
    'Conflicting (load|store)|Mutex not locked|Probably a race condition' "$cw" $DRD "$plain"
clean drd '^==[0-9]+==' $DRD "$plain"
}

# TSan stops at its first report (halt_on_error=1): in condwait mode that is
# the racy flag or the wait on the unheld mutex, whichever comes first.
caught tsan counter "$tsan_status" 'WARNING: ThreadSanitizer: data race' counter_thread "$tsan"
caught tsan condwait "$tsan_status" \
    'WARNING: ThreadSanitizer: (data race|unlock of an unlocked mutex)' "$cw" "$tsan"
clean tsan 'ThreadSanitizer' "$tsan"

caught asan heap-overflow "$asan_status" 'ERROR: AddressSanitizer: heap-buffer-overflow' \
    heap_overflow "$asan"
caught asan use-after-free "$asan_status" 'ERROR: AddressSanitizer: heap-use-after-free' \
    use_after_free "$asan"
caught ubsan signed-overflow "$ubsan_status" 'runtime error: signed integer overflow' \
    signed_overflow "$asan"
caught lsan leak "$asan_status" 'ERROR: LeakSanitizer: detected memory leaks' leak "$asan"
clean asan 'Sanitizer|runtime error' "$asan"

if [ "$failed" -ne 0 ]; then
    echo "race-selftest: FAILED: $failed check(s) above; logs in $dir/log"
    exit 1
fi
echo "race-selftest: every tool caught its planted bugs and passed the fixed program"
