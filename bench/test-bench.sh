#!/bin/sh
# test-bench.sh BINARY — the benchmark's own tests (make test-bench), tiny
# configurations only (well under 30 s):
#  1. its verification catches a planted loss: every run against the lossy
#     adapter (textbook dropping one element in 997) must fail with
#     "VERIFICATION FAILED", exit 1, and leave no CSV with a figure, also
#     when it runs interleaved with pcq;
#  2. a tiny pcq configuration must pass and be reported;
#  3. every queue that was built runs a small configuration of each kind
#     (single, batch, by pointer, ping-pong, paced) and passes its verification;
#  4. interleaving: the runs of a scenario go A B C A B C, one round at a
#     time, and the CSV keeps one figure per round;
#  5. --work is calibrated: 2000 ns of consumer work make a 1x1 run take at
#     least ~2000 ns per element; --producer-work runs;
#  6. --hog: the busy-loop process runs and is gone after a normal exit, a
#     failed verification and a SIGTERM;
#  7. the goal lines: six of them, NOT MEASURED when their scenarios were
#     not run, and --strict exits 3;
#  8. the options are checked (--help, a bad option);
#  9. readme-table.sh and plot.sh run on a small CSV of every kind of row,
#     print their tables (with the ratios pcq-bench printed) and the README's
#     PNG, and refuse a CSV of the old format;
# 10. --processes: every process peer (pcq_shared, mq, pipe, socketpair)
#     moves a small count at 1x1 and 2x2, 8 and 64 bytes, and ping-pongs,
#     each run verified (count, sum, xor) and its count in the CSV; goal 6's
#     line alone, from a run of its scenarios.
set -u
bin=${1:?usage: test-bench.sh BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "test-bench: ok   $*"; }
bad() { echo "test-bench: FAIL $*"; fails=$((fails + 1)); }
small='--repeats 2 --warmups 0 --quiet'

# field CSV QUEUE COLUMN: COLUMN of QUEUE's first row (columns by header name;
# the quoted note and section come last, so the fields asked for never hold a comma).
field() {
    awk -F, -v q="$2" -v c="$3" '
        /^#/ { next }
        !h { for (i = 1; i <= NF; i++) col[$i] = i; h = 1; next }
        $2 == q { print $col[c]; exit }' "$1"
}

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
        grep -q '  lossy ' "$tmp/out"; then
        bad "lossy $shape: a figure was reported"
    else
        ok "lossy $shape: caught ($(grep -m1 'consumed' "$tmp/err" | sed 's/^ *//'))"
    fi
done
# shellcheck disable=SC2086
"$bin" --queue pcq,lossy --count 20000 $small >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && grep -q 'VERIFICATION FAILED' "$tmp/err"; then
    ok "lossy interleaved with pcq: caught"
else
    bad "lossy interleaved with pcq: exit $rc"
fi

# 2. a tiny pcq configuration passes and is reported
# shellcheck disable=SC2086
if "$bin" --queue pcq --pc 2x2 --capacity 16 --count 20000 $small --csv "$tmp/ok.csv" \
    >"$tmp/out" 2>"$tmp/err" &&
    [ "$(field "$tmp/ok.csv" pcq status)" = ok ] &&
    [ "$(field "$tmp/ok.csv" pcq count)" = 20000 ] &&
    [ "$(field "$tmp/ok.csv" pcq runs)" = 2 ] &&
    [ "$(field "$tmp/ok.csv" pcq capacity)" = 16 ]; then
    ok "pcq 2x2 cap 16: verified and reported"
else
    bad "pcq 2x2 cap 16"; cat "$tmp/err"
fi

# 3. every built queue, every kind of run (did not finish is allowed for spinners)
run() { # run LABEL ARGS...
    label=$1; shift
    # shellcheck disable=SC2086 # $small is several options
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
run 'sized runs (pilot, warm-up, rounds)' "$bin" --queue pcq,textbook --run-ms 5 --warmups 1
run 'matrix listing' "$bin" --matrix full --list
# shellcheck disable=SC2086
if "$bin" --queue pcq,textbook --pace 200000 --count 10 $small --csv "$tmp/paced.csv" \
    >"$tmp/out" 2>"$tmp/err" && [ "$(field "$tmp/paced.csv" pcq kind)" = paced ] &&
    [ -n "$(field "$tmp/paced.csv" textbook cpu_ns_per_elem_median)" ]; then
    ok "paced run: consumer CPU per element reported"
else
    bad "paced run"; tail -5 "$tmp/err"
fi

# 4. interleaving: pilot-free fixed counts, so the log is rounds only
# shellcheck disable=SC2086
"$bin" --queue pcq,textbook,boost,apr_queue --count 3000 --repeats 3 --warmups 1 --quiet \
    --log-runs --csv "$tmp/rounds.csv" >"$tmp/out" 2>"$tmp/err"
built=$(sed -n 's/^pcq-bench: run: warm-up 1 \([a-z_]*\) .*/\1/p' "$tmp/err" | tr '\n' ' ')
want=$(for _ in 1 2 3; do printf '%s' "$built"; done)
got=$(sed -n 's/^pcq-bench: run: round [0-9] \([a-z_]*\) .*/\1/p' "$tmp/err" | tr '\n' ' ')
rounds=$(field "$tmp/rounds.csv" textbook round_eps | wc -w)
if [ -n "$built" ] && [ "$got" = "$want" ] && [ "$rounds" = 3 ]; then
    ok "interleaved rounds: $(echo "$got" | cut -c1-60)...; 3 per-round figures in the CSV"
else
    bad "interleaved rounds: got '$got', want '$want', $rounds per-round figures"
fi

# 5. calibrated work: 2000 ns per element in the one consumer bounds the rate
# shellcheck disable=SC2086
"$bin" --queue textbook --count 2000 --work 2000 $small --csv "$tmp/work.csv" >"$tmp/out" 2>&1
nspe=$(field "$tmp/work.csv" textbook ns_per_elem)
if [ "$(field "$tmp/work.csv" textbook work_ns)" = 2000 ] &&
    awk -v x="$nspe" 'BEGIN { exit !(x >= 1800) }'; then
    ok "--work 2000: $nspe ns per element ($(sed -n 's/^work: *//p' "$tmp/out" | cut -c1-50))"
else
    bad "--work 2000: $nspe ns per element, expected >= 1800"
fi
run '--producer-work and --work, 2x2' "$bin" --queue pcq,textbook --pc 2x2 --count 4000 \
    --work 40 --producer-work 40

# 6. the hog: running while measured, gone afterwards on every path
hog_gone() { # hog_gone OUTPUT: the hog's pid was printed and it runs no more
    pid=$(sed -n 's/.*busy-loop process, pid \([0-9]*\).*/\1/p' "$1" | head -n 1)
    [ -n "$pid" ] || return 1
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        # gone, or dead and waiting for init to reap it
        kill -0 "$pid" 2>/dev/null || return 0
        case $(ps -o stat= -p "$pid" 2>/dev/null) in Z*) return 0 ;; esac
        sleep 0.1
    done
    return 1
}
# shellcheck disable=SC2086
if "$bin" --hog --queue pcq,textbook --count 3000 $small >"$tmp/out" 2>"$tmp/err" &&
    hog_gone "$tmp/out" && grep -q 'the hog: pid .* stopped' "$tmp/out"; then
    ok "--hog: ran ($(sed -n 's/^the hog: pid [0-9]*, stopped; //p' "$tmp/out")), then gone"
else
    bad "--hog: a normal run"; tail -3 "$tmp/err"
fi
# shellcheck disable=SC2086
"$bin" --hog --queue lossy --count 3000 $small >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && hog_gone "$tmp/out"; then
    ok "--hog: gone after a failed verification"
else
    bad "--hog with a failed verification: exit $rc, hog pid $(sed -n 's/.*pid \([0-9]*\).*/\1/p' "$tmp/out")"
fi
"$bin" --hog --queue textbook --run-ms 2000 --repeats 5 --quiet >"$tmp/out" 2>&1 &
bpid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
    grep -q 'busy-loop process, pid' "$tmp/out" && break
    sleep 0.2
done
kill -TERM "$bpid" 2>/dev/null
wait "$bpid" 2>/dev/null
if hog_gone "$tmp/out"; then
    ok "--hog: gone after SIGTERM"
else
    bad "--hog: still there after SIGTERM"
fi

# 7. the goals: six lines; here nothing is measured; --strict says so
# shellcheck disable=SC2086
"$bin" --queue pcq,textbook --count 2000 --goals --strict $small >"$tmp/out" 2>"$tmp/err"
rc=$?
lines=$(grep -c '^goal [1-6], .*  \(PASS\|FAIL\|NOT MEASURED\)$' "$tmp/out")
if [ "$rc" = 3 ] && [ "$lines" = 6 ] && grep -q '^goal 5, .*NOT MEASURED$' "$tmp/out" &&
    grep -q '^goal 6, .*NOT MEASURED$' "$tmp/out"; then
    ok "six goal lines, NOT MEASURED where not run; --strict exits 3"
else
    bad "goal lines: exit $rc, $lines lines"; grep '^goal' "$tmp/out"
fi

# 8. options
if "$bin" --help | grep -q -- '--elem-size'; then ok "--help"; else bad "--help"; fi
"$bin" --no-such-option >/dev/null 2>&1
rc=$?
if [ "$rc" = 2 ]; then ok "a bad option: exit 2"; else bad "a bad option: exit $rc"; fi

# 9. the README's tables and plot from one small CSV with every kind of row
#    on both machines (pcq against textbook only, so that every ratio in the
#    tables is one pcq-bench printed: the scripts must compute them alike)
here=$(dirname "$0")
fx=$tmp/fixture.csv
: >"$tmp/printed"
fixture() { # fixture ARGS...: a small run, its rows appended to the fixture
    "$bin" "$@" --repeats 3 --warmups 0 --quiet --csv "$tmp/part.csv" >"$tmp/out" 2>"$tmp/err" ||
        { bad "fixture run $*"; tail -3 "$tmp/err"; return 1; }
    grep '^  pcq ' "$tmp/out" >>"$tmp/printed"
    if [ -s "$fx" ]; then grep -v '^#' "$tmp/part.csv" | tail -n +2 >>"$fx"; else cp "$tmp/part.csv" "$fx"; fi
}
fixture --queue pcq,textbook --pc 1x1,2x2 --capacity 64,4096 --count 20000 &&
    fixture --queue pcq,textbook --capacity 64 --work 40 --count 20000 &&
    fixture --queue pcq,textbook --capacity 64 --count 20000 --hog &&
    fixture --queue pcq,textbook_batch --capacity 4096 --batch 16 --count 20000 &&
    fixture --queue pcq,textbook --latency --round-trips 500 &&
    fixture --queue pcq,textbook --latency --round-trips 500 --hog &&
    fixture --queue pcq,textbook --capacity 64 --pace 100000 --count 20 &&
    fixture --processes --queue pcq_shared,mq --capacity 64 --count 3000
if sh "$here/readme-table.sh" "$fx" >"$tmp/table" 2>"$tmp/err"; then
    missing=""
    for h in '| scenario | pcq | textbook | pcq / best bounded peer |' \
        'Throughput on the idle machine, 8-byte elements' 'Throughput on the idle machine with per-element consumer work' \
        'Throughput with the hog' '| scenario | machine | pcq | textbook_batch | pcq / textbook_batch |' \
        '| queue | p50 idle | p99 idle | p50 / textbook idle | p50 hog | p99 hog | p50 / textbook hog |' \
        '| producer | machine | pcq | textbook | pcq / textbook |'; do
        grep -qF -- "$h" "$tmp/table" || missing="$missing '$h'"
    done
    # every ratio in the tables, against the ones pcq-bench printed (two
    # decimals; the CSV rounds the figures, so a last digit may differ by 1)
    unmatched=$(awk '
        function ratios(line, out,    n) { # "1.23x [0.98..1.41]" as out[k] = "1.23 0.98 1.41"
            n = 0
            while (match(line, /[0-9.]+x \[[0-9.]+\.\.[0-9.]+\]/)) {
                s = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
                gsub(/[x[\]]/, " ", s); sub(/\.\./, " ", s)
                out[++n] = s
            }
            return n
        }
        FNR == NR { m = ratios($0, t); for (i = 1; i <= m; i++) printed[++np] = t[i]; next }
        {
            m = ratios($0, t)
            for (i = 1; i <= m; i++) {
                made++
                split(t[i], a, " ")
                for (j = 1; j <= np; j++) {
                    split(printed[j], b, " ")
                    if ((a[1] - b[1]) ^ 2 < 1.2e-4 && (a[2] - b[2]) ^ 2 < 1.2e-4 && (a[3] - b[3]) ^ 2 < 1.2e-4) break
                }
                if (j > np) printf "%.2fx [%.2f..%.2f]; ", a[1], a[2], a[3]
            }
        }
        END { if (made < 9) printf "only %d ratios in the tables", made }' "$tmp/printed" "$tmp/table")
    if [ -z "$missing" ] && [ -z "$unmatched" ]; then
        ok "readme-table.sh: $(grep -c '^|---' "$tmp/table") tables, ratios as pcq-bench prints them"
    else
        bad "readme-table.sh:${missing:+ missing$missing;}${unmatched:+ ratios pcq-bench did not print: $unmatched}"
        cat "$tmp/table"
    fi
else
    bad "readme-table.sh on a small CSV"; cat "$tmp/err"
fi
printf '# pcq-bench; machine: old\nkind,queue,producers,consumers,capacity,eps_median\n' >"$tmp/old.csv"
if ! sh "$here/readme-table.sh" "$tmp/old.csv" >/dev/null 2>&1 &&
    ! sh "$here/plot.sh" "$tmp/old.csv" "$tmp/plots-old" >/dev/null 2>&1; then
    ok "readme-table.sh and plot.sh refuse a CSV of the old format"
else
    bad "an old-format CSV was not refused"
fi
if ! sh "$here/plot.sh" "$fx" "$tmp/plots" >"$tmp/out" 2>"$tmp/err"; then
    bad "plot.sh on a small CSV"; cat "$tmp/err"
elif ! command -v gnuplot >/dev/null 2>&1; then
    if grep -q 'gnuplot not found' "$tmp/out"; then ok "plot.sh: no gnuplot, said so"; else bad "plot.sh without gnuplot"; fi
elif [ "$(head -c 4 "$tmp/plots/readme-throughput.png" 2>/dev/null | tail -c 3)" = PNG ]; then
    ok "plot.sh: $(cd "$tmp/plots" && echo *.png)"
else
    bad "plot.sh: no readme-throughput.png"; cat "$tmp/out" "$tmp/err"
fi

# 10. process runs: every peer verified, counts in the CSV, goal 6 alone
procs_ok() { # procs_ok CSV KIND COUNT: every process peer has an ok row of KIND with COUNT
    for q in pcq_shared mq pipe socketpair; do
        awk -F, -v q="$q" -v k="$2" -v n="$3" '
            /^#/ { next }
            !h { for (i = 1; i <= NF; i++) col[$i] = i; h = 1; next }
            $col["queue"] == q && $col["kind"] == k && $col["status"] == "ok" &&
                $col["count"] == n { found = 1 }
            END { exit !found }' "$1" || return 1
    done
}
# shellcheck disable=SC2086
if "$bin" --processes --queue all --pc 1x1,2x2 --capacity 16 --elem-size 8,64 --count 5000 \
    $small --csv "$tmp/procs.csv" >"$tmp/out" 2>"$tmp/err" &&
    procs_ok "$tmp/procs.csv" throughput_processes 5000 &&
    [ "$(grep -c '^throughput_processes,' "$tmp/procs.csv")" = 16 ]; then
    ok "--processes: pcq_shared, mq, pipe, socketpair, 1x1 and 2x2, 8 and 64 B: verified"
else
    bad "--processes throughput"; tail -5 "$tmp/err"
fi
# shellcheck disable=SC2086
if "$bin" --processes --latency --elem-size 8,64 --round-trips 300 $small \
    --csv "$tmp/procs-lat.csv" >"$tmp/out" 2>"$tmp/err" &&
    procs_ok "$tmp/procs-lat.csv" latency_processes 300; then
    ok "--processes --latency: every peer, 8 and 64 B: verified"
else
    bad "--processes ping-pong"; tail -5 "$tmp/err"
fi
# shellcheck disable=SC2086
"$bin" --processes --queue pcq_shared,mq --capacity 64 --count 3000 --goals $small \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ "$(grep -c '^goal [0-9]' "$tmp/out")" = 1 ] &&
    grep -q '^goal 6, across processes.*  \(PASS\|FAIL\|NOT MEASURED\)$' "$tmp/out"; then
    ok "--processes --goals: goal 6's line alone ($(sed -n 's/^goal 6.*  //p' "$tmp/out"): no ping-pong run)"
else
    bad "--processes --goals: exit $rc"; grep '^goal' "$tmp/out"
fi
if "$bin" --processes --list >"$tmp/out" 2>&1 && grep -q 'ping-pong processes cap 64 elem 64' "$tmp/out"; then
    ok "--processes alone: $(tail -n 1 "$tmp/out")"
else
    bad "--processes --list"; cat "$tmp/out"
fi

if [ "$fails" -ne 0 ]; then
    echo "test-bench: $fails failed"
    exit 1
fi
echo "test-bench: all passed"
