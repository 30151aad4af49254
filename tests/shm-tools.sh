#!/bin/sh
# tests/shm-tools.sh — the shared-queue tools end to end (make test-shm-tools):
#
#   sh tests/shm-tools.sh build/pcq-fib build/pcq-shm
#
#  1. demo-shm (what `make demo-shm` runs) prints the in-process demo's
#     terms, F(0)..F(93), and its checksum, and leaves no name behind;
#  2. pcq-fib --shm in either order: the consumer first (it says it waits),
#     the producer first (a run that fits the queue: it waits for a
#     consumer before it exits);
#  3. after a killed run, in both orders: a producer killed while blocked
#     (terms in the queue), and one killed after closing; the next run's
#     consumer gets the next run's terms, whole, and the name goes;
#  4. a second producer on a live one's name is refused; a queue made by
#     pcq-shm create is used with its own capacity, and pcq-shm stat shows
#     what the producer did; a queue of another element size is refused;
#  5. pcq-fib's --shm usage errors, and pcq-shm's: missing and invalid
#     names, no such queue, not a pcq queue, an existing name, bad values;
#  6. man/pcq-shm.1 documents every option of pcq-shm --help.
# Every run has a watchdog (timeout). Waiting for a process to reach a
# state (a message, a counter in pcq-shm stat) polls for that state: no
# step relies on a fixed sleep. Exit status 0 when every check passed.
set -u
fib=${1:?usage: shm-tools.sh PCQ-FIB PCQ-SHM}
shm=${2:?usage: shm-tools.sh PCQ-FIB PCQ-SHM}
here=$(cd "$(dirname "$0")/.." && pwd) || exit 1
tmp=$(mktemp -d) || exit 1
name=/pcq-test-shm-$$
pids=
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    for n in "$name" "$name-b" "$name-g"; do "$shm" unlink "$n" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
checks=0
failed=0
ok() { checks=$((checks + 1)); echo "shm-tools: ok   $*"; }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "shm-tools: FAIL $*"; }
dog="timeout 60"

# wait_for WHAT CMD...: poll until CMD succeeds (10 s at most).
wait_for() {
    what=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le 500 ] || { bad "gave up waiting for $what"; return 1; }
        sleep 0.02
    done
}

# stat_is NAME KEY VALUE: pcq-shm stat NAME has the line "KEY: VALUE".
stat_is() { "$shm" stat "$1" 2>/dev/null | grep -qx "$2: $3"; }

# gone NAME: pcq-shm says there is no such queue (exit 3).
gone() {
    "$shm" stat "$1" >/dev/null 2>&1
    [ $? = 3 ]
}

# terms FILE: the term lines of FILE; sum FILE: its checksum.
terms() { grep '^F(' "$1"; }
sum() { sed -n 's/.*checksum \([0-9]*\).*/\1/p' "$1"; }

# the expected output of a run of N terms, from the in-process pipeline
expect() { # expect N FILE
    $dog "$fib" --count "$1" --ordered --consumers 2 >"$2" 2>&1
}

# consumer_bg N: start a consumer whose output goes to $tmp/c.N (status in $tmp/c.N.rc)
consumer_bg() {
    ( $dog "$fib" --shm "$name" --role consumer >"$tmp/c.$1" 2>"$tmp/c.$1.err"
      echo $? >"$tmp/c.$1.rc" ) &
    pids="$pids $!"
}

# check_consumer N COUNT WHAT: consumer N ended with 0 and printed F(0)..F(COUNT-1)
check_consumer() {
    wait_for "consumer $1 to end" test -s "$tmp/c.$1.rc" || return
    expect "$2" "$tmp/want.$1"
    terms "$tmp/want.$1" >"$tmp/want.$1.terms"
    rc=$(cat "$tmp/c.$1.rc")
    if [ "$rc" = 0 ] && terms "$tmp/c.$1" | cmp -s - "$tmp/want.$1.terms" &&
        [ "$(sum "$tmp/c.$1")" = "$(sum "$tmp/want.$1")" ] && gone "$name"; then
        ok "$3: F(0)..F($(($2 - 1))), checksum $(sum "$tmp/c.$1"), name gone"
    else
        bad "$3: consumer exit $rc, $(terms "$tmp/c.$1" | wc -l) terms"
        cat "$tmp/c.$1.err"
    fi
}

# --- 1. demo-shm against the in-process demo -------------------------------
$dog sh "$here/tools/pcq-fib/demo-shm.sh" "$fib" "$shm" "$name" >"$tmp/demo" 2>"$tmp/demo.err"
st=$?
$dog "$fib" --producers 1 --consumers 2 --ordered >"$tmp/inproc" 2>&1
if [ "$st" = 0 ] && terms "$tmp/demo" >"$tmp/a" && terms "$tmp/inproc" >"$tmp/b" &&
    cmp -s "$tmp/a" "$tmp/b" && [ "$(wc -l <"$tmp/a")" = 94 ] &&
    [ "$(sum "$tmp/demo")" = "$(sum "$tmp/inproc")" ] && gone "$name"; then
    ok "demo-shm: the in-process demo's 94 terms and checksum $(sum "$tmp/demo"); name gone"
else
    bad "demo-shm: exit $st"
    diff "$tmp/a" "$tmp/b" | head -5
    cat "$tmp/demo.err"
fi

# --- 2. either order --------------------------------------------------------
consumer_bg 1
wait_for "the consumer to wait" grep -q 'waiting for a producer' "$tmp/c.1.err" &&
    $dog "$fib" --shm "$name" --role producer --count 50 >"$tmp/p" 2>&1
check_consumer 1 50 "consumer first"

rm -f "$tmp/p.err"
$dog "$fib" --shm "$name" --role producer --count 10 >"$tmp/p" 2>"$tmp/p.err" &
producer=$!
pids="$pids $producer"
wait_for "the producer to finish pushing" grep -q 'waiting for a consumer' "$tmp/p.err" &&
    stat_is "$name" closed yes && stat_is "$name" size 10
consumer_bg 2
check_consumer 2 10 "producer first (a run that fits the queue)"
wait "$producer" || bad "producer first: the producer's exit status $?"

# --- 3. after a killed run --------------------------------------------------
# stale RUN: leave a killed producer's queue at $name: "blocked" (4 terms in
# a queue of 4, open) or "closed" (every term in, waiting for a consumer)
stale() {
    if [ "$1" = blocked ]; then
        "$fib" --shm "$name" --role producer --capacity 4 >/dev/null 2>&1 &
        p=$!
        wait_for "the producer to block" stat_is "$name" "push waits" 1
    else
        "$fib" --shm "$name" --role producer --count 7 >/dev/null 2>"$tmp/stale.err" &
        p=$!
        wait_for "the producer to finish pushing" grep -q 'waiting for a consumer' "$tmp/stale.err"
    fi
    kill -9 "$p"
    wait "$p" 2>/dev/null
}
n=3
for run in blocked closed; do
    stale $run
    consumer_bg $n
    wait_for "the consumer to wait" grep -q 'waiting for a producer' "$tmp/c.$n.err" &&
        $dog "$fib" --shm "$name" --role producer --count 30 >"$tmp/p" 2>&1
    check_consumer $n 30 "a run killed $run, then the consumer first"
    n=$((n + 1))
    stale $run
    $dog "$fib" --shm "$name" --role producer --count 20 >"$tmp/p" 2>&1 &
    producer=$!
    pids="$pids $producer"
    consumer_bg $n
    check_consumer $n 20 "a run killed $run, then the producer first"
    wait "$producer" || bad "after a killed run: the producer's exit status $?"
    n=$((n + 1))
done

# --- 4. a live producer's name; a queue from pcq-shm create -----------------
"$fib" --shm "$name" --role producer --capacity 4 >/dev/null 2>&1 &
producer=$!
pids="$pids $producer"
wait_for "the producer to block" stat_is "$name" "push waits" 1
$dog "$fib" --shm "$name" --role producer >"$tmp/p" 2>&1
st=$?
if [ "$st" = 1 ] && grep -q 'another producer is running on it' "$tmp/p"; then
    ok "a second producer on a live one's name: refused ($(cat "$tmp/p"))"
else
    bad "a second producer: exit $st: $(cat "$tmp/p")"
fi
consumer_bg $n
check_consumer $n 94 "the first producer's run, after the refusal"
wait "$producer"
n=$((n + 1))

"$shm" create --capacity 32 --elem-size 16 "$name"
# The earlier producer's words must not pass for this one's: the shell
# truncates p.err in the child, perhaps after wait_for has looked.
rm -f "$tmp/p.err"
$dog "$fib" --shm "$name" --role producer --count 20 >"$tmp/p" 2>"$tmp/p.err" &
producer=$!
pids="$pids $producer"
if wait_for "the producer to finish pushing" grep -q 'waiting for a consumer' "$tmp/p.err" &&
    "$shm" stat "$name" >"$tmp/stat" && grep -qx 'capacity: 32' "$tmp/stat" &&
    grep -qx 'size: 20' "$tmp/stat" && grep -qx 'pushed: 20' "$tmp/stat" &&
    grep -qx 'popped: 0' "$tmp/stat" && grep -qx 'closed: yes' "$tmp/stat" &&
    grep -qx 'high water: 20' "$tmp/stat" && grep -qx 'recoveries: 0' "$tmp/stat" &&
    grep -qx 'element size: 16' "$tmp/stat"; then
    ok "pcq-shm create, then a producer: stat says $(tr '\n' ' ' <"$tmp/stat")"
else
    bad "pcq-shm stat after a producer:"; cat "$tmp/stat" "$tmp/p.err"
fi
consumer_bg $n
check_consumer $n 20 "the consumer of a queue from pcq-shm create"
wait "$producer"
if grep -q 'capacity 32' "$tmp/p"; then ok "the producer kept the queue's capacity (32)"; else
    bad "the producer's capacity: $(cat "$tmp/p")"; fi
n=$((n + 1))

"$shm" create --elem-size 8 "$name"
$dog "$fib" --shm "$name" --role producer >"$tmp/p" 2>&1
st=$?
if [ "$st" = 1 ] && grep -q 'not pcq-fib terms' "$tmp/p" && stat_is "$name" pushed 0; then
    ok "a queue of 8-byte elements: refused, untouched"
else
    bad "a queue of 8-byte elements: exit $st: $(cat "$tmp/p")"
fi
"$shm" unlink "$name"

# --- 5. usage errors ----------------------------------------------------------
# usage STATUS WHAT CMD...: CMD exits with STATUS and says WHAT on stderr
usage() {
    want=$1 what=$2
    shift 2
    $dog "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    st=$?
    if [ "$st" = "$want" ] && grep -q -- "$what" "$tmp/u.err"; then
        ok "$(echo "$*" | sed "s#$fib#pcq-fib#; s#$shm#pcq-shm#" | cut -c1-60): exit $st, $(head -n 1 "$tmp/u.err" | cut -c1-70)"
    else
        bad "$*: exit $st (want $want), stderr: $(head -n 1 "$tmp/u.err")"
    fi
}
usage 2 'go together' "$fib" --shm "$name"
usage 2 'go together' "$fib" --role consumer
usage 2 "expected 'producer' or 'consumer'" "$fib" --shm "$name" --role both
usage 2 'must start with' "$fib" --shm pcq --role producer
usage 2 'does not cross processes' "$fib" --shm "$name" --role consumer --ordered
usage 2 'does not cross processes' "$fib" --shm "$name" --role producer --big
usage 2 'an option of the consumer' "$fib" --shm "$name" --role producer --consumers 2
usage 2 'an option of the producer' "$fib" --shm "$name" --role consumer --count 5

usage 2 'a command is needed' "$shm"
usage 2 'unknown command' "$shm" frob "$name"
usage 2 'NAME is missing' "$shm" create
usage 2 'NAME is missing' "$shm" stat
usage 2 'NAME is missing' "$shm" unlink
usage 2 'must start with' "$shm" create pcq
usage 2 "no '/' may follow" "$shm" stat /a/b
usage 2 'at least one character' "$shm" unlink /
usage 2 'at most 253' "$shm" create "/$(printf '%0300d' 0)"
usage 2 'at least 1' "$shm" create --capacity 0 "$name"
usage 2 'octal' "$shm" create --mode 0999 "$name"
usage 2 'option of create only' "$shm" stat --elem-size 8 "$name"
usage 2 'unexpected argument' "$shm" unlink "$name" "$name"
usage 3 'no such queue' "$shm" stat "$name"
usage 3 'no such queue' "$shm" unlink "$name"
"$shm" create --capacity 8 "$name"
usage 1 'exists already' "$shm" create "$name"
"$shm" unlink "$name"
if [ -d /dev/shm ]; then
    # on Linux the objects are the files of /dev/shm: plant one that is no queue
    printf 'not a queue\n' >"/dev/shm/${name#/}-g"
    usage 4 'not a pcq queue' "$shm" stat "$name-g"
    usage 1 'no pcq queue' "$fib" --shm "$name-g" --role producer
    "$shm" unlink "$name-g"
    "$shm" create --mode 640 "$name"
    mode=$(ls -l "/dev/shm/${name#/}" | cut -c1-10)
    if [ "$mode" = "-rw-r-----" ]; then ok "pcq-shm create --mode 640: $mode"; else
        bad "pcq-shm create --mode 640: $mode"; fi
    "$shm" unlink "$name"
fi

# --- 6. the manual page -----------------------------------------------------
if sh "$here/tests/man-options.sh" "$shm" "$here/man/pcq-shm.1" >"$tmp/man" 2>&1; then
    ok "$(cat "$tmp/man")"
else
    bad "$(cat "$tmp/man")"
fi

if [ "$failed" -ne 0 ]; then
    echo "shm-tools: $failed of $checks checks failed"
    exit 1
fi
echo "shm-tools: all $checks checks passed"
