#!/bin/sh
# demo-shm.sh PCQ-FIB PCQ-SHM NAME — `make demo-shm`: the Fibonacci pipeline
# across two processes over the shared queue NAME. The producer (generator)
# process starts in the background, the consumer (printer) in the
# foreground; the consumer prints F(0)..F(93) and its summary, then the
# producer's summary follows. The consumer removes the name once it has the
# queue; if the demo is interrupted first, the name is removed here (and a
# later run would replace a queue left behind anyway).
set -u
fib=${1:?usage: demo-shm.sh PCQ-FIB PCQ-SHM NAME}
shm=${2:?usage: demo-shm.sh PCQ-FIB PCQ-SHM NAME}
name=${3:?usage: demo-shm.sh PCQ-FIB PCQ-SHM NAME}
tmp=$(mktemp -d) || exit 1
producer=
cleanup() {
    # A background job of a script ignores SIGINT: stop it here.
    [ -n "$producer" ] && kill "$producer" 2>/dev/null
    "$shm" unlink "$name" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$fib" --shm "$name" --role producer >"$tmp/producer" 2>&1 &
producer=$!
"$fib" --shm "$name" --role consumer
consumer_status=$?
wait "$producer"
producer_status=$?
producer=
cat "$tmp/producer"
if "$shm" stat "$name" >/dev/null 2>&1; then
    echo "demo-shm: $name is still there after the run" >&2
    exit 1
fi
[ "$consumer_status" = 0 ] && [ "$producer_status" = 0 ]
