#!/bin/sh
# plot.sh CSV OUTDIR — PNG plots of a pcq-bench CSV with gnuplot (Debian
# gnuplot-nox), each queue's median with min..max of its rounds as error
# bars, from the idle machine's runs without per-element work:
#   readme-throughput.png  the README's plot: pcq, textbook, apr_queue and
#                       boost against producers x consumers, one panel each
#                       for capacity 64 and 4096 (single-element calls,
#                       8-byte elements)
#   threads-capN.png    every queue against producers x consumers at capacity N
#   capacity-PxC.png    throughput against capacity (where 2 or more were run)
#   elem-PxC.png        throughput against element size (capacity 1024)
#   batch-1x1.png       throughput against batch size (1x1, capacity 4096;
#                       batch 1 = single-element calls)
#   latency.png         ping-pong round trip p50 and p99 per queue
# Only rows with status ok are drawn; a plot without data is not written.
# Columns are found by name; several CSVs concatenated are read as one.
# Without gnuplot it says so and exits 0: the plots are optional.
set -eu
csv=${1:?usage: plot.sh CSV OUTDIR}
out=${2:?usage: plot.sh CSV OUTDIR}
[ -r "$csv" ] || { echo "plot.sh: no $csv (make bench writes build/bench/latest.csv)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

machine=$(sed -n 's/^# pcq-bench; machine: //p' "$csv" | head -n 1 | cut -c1-140)

# One pass: $work/s/PLOT/QUEUE holds "x median min max" lines (M elements/s;
# of two rows of one queue at one x, the longer run's); $work/pcs the
# producers x consumers categories in order as gnuplot xtics; $work/queues
# the legend's order; $work/lat the ping-pong rows (microseconds).
mkdir "$work/s"
awk -F, -v dir="$work" '
BEGIN {
    nw = split("kind queue machine producers consumers capacity batch elem_size work_ns " \
               "producer_work_ns count status eps_median eps_min eps_max p50_ns_median " \
               "p50_ns_min p50_ns_max p99_ns_median p99_ns_min p99_ns_max", want, " ")
    nq = split("pcq textbook apr_queue boost pipe ck_spsc ck_mpmc gasyncqueue textbook_batch", qorder, " ")
    for (i = 1; i <= nq; i++) qknown[qorder[i]] = 1
}
/^#/ { next }
$1 == "kind" {
    split("", col)
    for (i = 1; i <= NF; i++) col[$i] = i
    for (i = 1; i <= nw; i++)
        if (!(want[i] in col)) {
            printf "plot.sh: no column %s: not a CSV of this pcq-bench (rerun make bench)\n",
                want[i] > "/dev/stderr"
            bad = 1; exit 1
        }
    next
}
function v(name) { return $col[name] }
function put(plot, x,    k) {
    k = plot SUBSEP v("queue") SUBSEP x
    if (!(k in cnt) || v("count") + 0 > cnt[k]) {
        cnt[k] = v("count") + 0
        val[k] = sprintf("%.4f %.4f %.4f", v("eps_median") / 1e6, v("eps_min") / 1e6, v("eps_max") / 1e6)
    }
    if (!((plot, x) in xseen)) { xseen[plot, x] = 1; nx[plot]++ }
}
!("kind" in col) { print "plot.sh: no header line" > "/dev/stderr"; bad = 1; exit 1 }
v("status") != "ok" || v("machine") != "idle" || v("work_ns") + 0 != 0 || v("producer_work_ns") + 0 != 0 { next }
{
    if (!(v("queue") in qknown)) { qknown[v("queue")] = 1; qorder[++nq] = v("queue") }
    pc = v("producers") "x" v("consumers")
}
v("kind") == "latency" {
    printf "%s %.3f %.3f %.3f %.3f %.3f %.3f\n", v("queue"), v("p50_ns_median") / 1e3,
        v("p50_ns_min") / 1e3, v("p50_ns_max") / 1e3, v("p99_ns_median") / 1e3,
        v("p99_ns_min") / 1e3, v("p99_ns_max") / 1e3 > (dir "/lat")
    next
}
v("kind") != "throughput" { next }
v("batch") == 1 && v("elem_size") == 8 {
    put("threads-cap" v("capacity"), pc)
    put("capacity-" pc, v("capacity"))
    if (!(pc in pcseen)) {
        pcseen[pc] = 1
        pcs[++npc] = pc
        pckey[npc] = sprintf("%06d %06d", v("producers") * v("consumers"), v("producers"))
    }
}
v("batch") == 1 && v("capacity") == 1024 { put("elem-" pc, v("elem_size")) }
pc == "1x1" && v("capacity") == 4096 && v("elem_size") == 8 { put("batch-1x1", v("batch")) }
END {
    if (bad) exit 1
    # P x C by threads, then producers: 1x1 1x4 4x1 4x4 8x8
    for (i = 2; i <= npc; i++)
        for (j = i; j > 1 && pckey[j - 1] > pckey[j]; j--) {
            t = pcs[j]; pcs[j] = pcs[j - 1]; pcs[j - 1] = t
            t = pckey[j]; pckey[j] = pckey[j - 1]; pckey[j - 1] = t
        }
    tics = ""
    for (i = 1; i <= npc; i++) { idx[pcs[i]] = i - 1; tics = tics (i > 1 ? ", " : "") "\"" pcs[i] "\" " i - 1 }
    printf "set xtics (%s); set xrange [-0.4:%.1f]\n", tics, npc - 0.6 > (dir "/pcs")
    for (i = 1; i <= nq; i++) print qorder[i] > (dir "/queues")
    for (k in val) {
        split(k, p, SUBSEP)
        if (p[1] ~ /^threads-cap/) x = idx[p[3]]
        else if (nx[p[1]] < 2) continue # a line against capacity, size or batch needs 2 points
        else x = p[3]
        f = dir "/s/" p[1]
        if (!(f in made)) { made[f] = 1; system("mkdir -p \"" f "\"") }
        print x, val[k] > (f "/" p[2])
    }
}' "$csv"
for f in "$work"/s/*/*; do
    if [ -f "$f" ]; then sort -n -o "$f" "$f"; fi
done
# The CSV is read (and an old one refused) first, with or without gnuplot.
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "plot.sh: gnuplot not found, no plots drawn (make bench-deps installs gnuplot-nox)"
    exit 0
fi
mkdir -p "$out"

# The lines of a plot: one per queue (of those named) with data in DIR, each
# shifted on x by STEP from the next so that their error bars stand apart.
lines() { # lines DIR STEP QUEUE...
    d=$1 step=$2 plots="" n=0 i=0
    shift 2
    for q in "$@"; do
        if [ -s "$d/$q" ]; then n=$((n + 1)); fi
    done
    for q in "$@"; do
        [ -s "$d/$q" ] || continue
        off=$(awk -v s="$step" -v i="$i" -v n="$n" 'BEGIN { print s * (i - (n - 1) / 2) }')
        plots="$plots${plots:+, }'$d/$q' using (\$1 + $off):2:3:4 with yerrorlines lw 1.5 pt 7 ps 0.7 title '$q'"
        i=$((i + 1))
    done
    echo "$plots"
}

# draw NAME TITLE XLABEL EXTRA: one PNG from $work/s/NAME, every queue.
draw() {
    name=$1 title=$2 xlabel=$3 extra=$4
    # shellcheck disable=SC2046 # queue names are words
    plots=$(lines "$work/s/$name" 0 $(cat "$work/queues"))
    [ -n "$plots" ] || return 0
    gnuplot <<EOF
set terminal pngcairo size 1000,640 noenhanced font 'sans,10'
set output '$out/$name.png'
set title "$title\n$machine"
set xlabel '$xlabel'
set ylabel 'million elements / s (median, min..max of rounds)'
set key outside right top
set grid
$extra
plot $plots
EOF
    echo "plot: $out/$name.png"
}

# The README's plot: two panels, the same y range in both.
readme_queues='pcq textbook apr_queue boost'
panels=""
for cap in 64 4096; do
    for q in $readme_queues; do
        if [ -s "$work/s/threads-cap$cap/$q" ]; then panels="$panels $cap"; break; fi
    done
done
if [ -n "$panels" ]; then
    yr=$(for cap in $panels; do for q in $readme_queues; do
        f="$work/s/threads-cap$cap/$q"
        if [ -s "$f" ]; then cat "$f"; fi
    done; done | awk 'NR == 1 || $3 < lo { lo = $3 } NR == 1 || $4 > hi { hi = $4 }
        END { printf "[%g:%g]", lo / 1.5, hi * 1.5 }')
    plots=""
    for cap in $panels; do
        # shellcheck disable=SC2086 # queue names are words
        plots="$plots
set title 'capacity $cap'
plot $(lines "$work/s/threads-cap$cap" 0.06 $readme_queues)"
    done
    gnuplot <<EOF
set terminal pngcairo size 1400,640 noenhanced font 'sans,10'
set output '$out/readme-throughput.png'
set multiplot layout 1,$(echo "$panels" | wc -w) title "Throughput against producers x consumers: idle machine, single-element calls, 8-byte elements (median of the rounds, bars min..max)\n$machine"
set ylabel 'million elements / s (log scale)'
set logscale y; set yrange $yr; set grid; set key below horizontal
$(cat "$work/pcs")
$plots
unset multiplot
EOF
    echo "plot: $out/readme-throughput.png"
else
    echo "plot.sh: no idle single-element runs at capacity 64 or 4096: no readme-throughput.png"
fi

pcs=$(cat "$work/pcs")
for d in "$work"/s/threads-cap*; do
    [ -d "$d" ] || continue
    cap=${d##*threads-cap}
    draw "threads-cap$cap" "Throughput against producers x consumers: capacity $cap, single-element calls, 8-byte elements" \
        'producers x consumers' "$pcs; set logscale y"
done
for d in "$work"/s/capacity-* "$work"/s/elem-*; do
    [ -d "$d" ] || continue
    name=${d##*/} pc=${d##*-}
    case $name in
    capacity-*) draw "$name" "Throughput against capacity: $pc, single-element calls, 8-byte elements" \
        'capacity (elements)' 'set logscale x 2' ;;
    elem-*) draw "$name" "Throughput against element size: $pc, capacity 1024, single-element calls" \
        'element size (bytes)' 'set logscale x 2' ;;
    esac
done
if [ -d "$work/s/batch-1x1" ]; then
    draw batch-1x1 "Throughput against batch size: 1x1, capacity 4096, 8-byte elements (batch 1: single-element calls)" \
        'batch size (elements per call)' 'set logscale x 2; set xrange [0.7:400]'
fi

if [ -s "$work/lat" ]; then
    gnuplot <<EOF
set terminal pngcairo size 1000,640 noenhanced font 'sans,10'
set output '$out/latency.png'
set title "Ping-pong round trip, two threads, idle machine (median of rounds, min..max)\n$machine"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set ylabel 'microseconds (log scale)'
set logscale y
set grid y
set key outside right top
set xtics rotate by -30
plot '$work/lat' using 2:3:4:xtic(1) title 'p50', '' using 5:6:7 title 'p99'
EOF
    echo "plot: $out/latency.png"
fi
