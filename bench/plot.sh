#!/bin/sh
# plot.sh CSV OUTDIR — PNG plots of a pcq-bench CSV with gnuplot
# (Debian gnuplot-nox), one line per queue, median with min..max bars, from
# the idle machine's runs without per-element work:
#   threads-capN.png    throughput against producers x consumers (capacity N,
#                       single-element calls, 8-byte elements)
#   capacity-PxC.png    throughput against capacity (log scale; 1x1 and 4x4)
#   batch-1x1.png       throughput against batch size (1x1, capacity 4096;
#                       batch 1 = single-element calls)
#   elem-PxC.png        throughput against element size (capacity 1024)
#   latency.png         ping-pong round trip p50 and p99 per queue
# Only rows with status ok are drawn; a plot without data is not written.
set -eu
csv=${1:?usage: plot.sh CSV OUTDIR}
out=${2:?usage: plot.sh CSV OUTDIR}
[ -r "$csv" ] || { echo "plot.sh: no $csv (make bench writes build/bench/latest.csv)" >&2; exit 1; }
command -v gnuplot >/dev/null 2>&1 || {
    echo "plot.sh: gnuplot not found (make bench-deps installs gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

machine=$(sed -n 's/^# pcq-bench; machine: //p' "$csv" | head -n 1 | cut -c1-110)

# Columns are found by their names in the header line (only the quoted note
# and section, which come last, may hold commas). Drawn: the idle machine
# without per-element work (older CSVs have neither column: all their rows).
cols='!/^#/ && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
function v(name) { return (name in c) ? $c[name] : "" }
function plain() { return v("status") == "ok" && v("machine") != "hog" &&
    v("work_ns") + 0 == 0 && v("producer_work_ns") + 0 == 0 }'
# Throughput rows as: queue P C cap batch elem count med min max (M elem/s).
awk -F, "$cols"'
!/^#/ && v("kind") == "throughput" && plain() {
    printf "%s %s %s %s %s %s %s %.4f %.4f %.4f\n", v("queue"), v("producers"), v("consumers"),
        v("capacity"), v("batch"), v("elem_size"), v("count"),
        v("eps_median") / 1e6, v("eps_min") / 1e6, v("eps_max") / 1e6
}' "$csv" >"$work/tp"
awk -F, "$cols"'
!/^#/ && v("kind") == "latency" && plain() {
    printf "%s %.3f %.3f %.3f %.3f %.3f %.3f\n", v("queue"), v("p50_ns_median") / 1e3,
        v("p50_ns_min") / 1e3, v("p50_ns_max") / 1e3, v("p99_ns_median") / 1e3,
        v("p99_ns_min") / 1e3, v("p99_ns_max") / 1e3
}' "$csv" >"$work/lat"

queues() { awk '{print $1}' "$1" | awk '!seen[$0]++'; }

# series NAME FILTER XEXPR: one file per queue, "x med min max", sorted by x;
# of rows with the same queue and x, the one with the largest count.
series() {
    name=$1 filter=$2 xexpr=$3
    rm -rf "$work/$name"
    mkdir -p "$work/$name"
    awk "$filter { x = $xexpr; k = \$1 SUBSEP x;
          if (!(k in cnt) || \$7 > cnt[k]) { cnt[k] = \$7; row[k] = x \" \" \$8 \" \" \$9 \" \" \$10 } }
         END { for (k in row) { split(k, p, SUBSEP); print row[k] > (\"$work/$name/\" p[1]) } }" \
        "$work/tp"
    for f in "$work/$name"/*; do
        [ -e "$f" ] && sort -n -o "$f" "$f"
    done
    ls "$work/$name" | grep -q . # any data?
}

# draw NAME TITLE XLABEL EXTRA: one PNG from the series NAME.
draw() {
    name=$1 title=$2 xlabel=$3 extra=$4
    plots=""
    for q in $(queues "$work/tp"); do
        f="$work/$name/$q"
        [ -s "$f" ] || continue
        plots="$plots${plots:+, }'$f' using 1:2:3:4 with yerrorlines title '$q'"
    done
    [ -n "$plots" ] || return 0
    gnuplot <<EOF
set terminal pngcairo size 1000,640 noenhanced font 'sans,10'
set output '$out/$name.png'
set title "$title\n$machine"
set xlabel '$xlabel'
set ylabel 'million elements / s (median, min..max)'
set key outside right top
set grid
set yrange [0:*]
$extra
plot $plots
EOF
    echo "plot: $out/$name.png"
}

pcs='1x1 2x2 4x4 1x4 4x1 8x8'
pcx='($2 "x" $3 == "1x1" ? 0 : $2 "x" $3 == "2x2" ? 1 : $2 "x" $3 == "4x4" ? 2 : $2 "x" $3 == "1x4" ? 3 : $2 "x" $3 == "4x1" ? 4 : 5)'
tics='set xtics ("1x1" 0, "2x2" 1, "4x4" 2, "1x4" 3, "4x1" 4, "8x8" 5); set xrange [-0.3:5.3]'
for cap in $(awk '$5 == 1 && $6 == 8 {print $4}' "$work/tp" | sort -n | uniq); do
    known='$2 "x" $3 == "1x1" || $2 "x" $3 == "2x2" || $2 "x" $3 == "4x4" || $2 "x" $3 == "1x4" || $2 "x" $3 == "4x1" || $2 "x" $3 == "8x8"'
    if series "threads-cap$cap" "\$4 == $cap && \$5 == 1 && \$6 == 8 && ($known)" "$pcx"; then
        draw "threads-cap$cap" "Throughput against producers x consumers: capacity $cap, single-element calls, 8-byte elements" \
            'producers x consumers' "$tics; set logscale y 10"
    fi
done
for pc in $pcs; do
    p=${pc%x*} c=${pc#*x}
    if series "capacity-$pc" "\$2 == $p && \$3 == $c && \$5 == 1 && \$6 == 8" '$4' &&
        [ "$(cat "$work/capacity-$pc"/* | awk '{print $1}' | sort -u | wc -l)" -ge 2 ]; then
        draw "capacity-$pc" "Throughput against capacity: $pc, single-element calls, 8-byte elements" \
            'capacity (elements)' 'set logscale x 2'
    fi
    if series "elem-$pc" "\$2 == $p && \$3 == $c && \$4 == 1024 && \$5 == 1" '$6' &&
        [ "$(cat "$work/elem-$pc"/* | awk '{print $1}' | sort -u | wc -l)" -ge 2 ]; then
        draw "elem-$pc" "Throughput against element size: $pc, capacity 1024, single-element calls" \
            'element size (bytes)' 'set logscale x 2'
    fi
done
if series batch-1x1 '$2 == 1 && $3 == 1 && $4 == 4096 && $6 == 8' '$5'; then
    draw batch-1x1 "Throughput against batch size: 1x1, capacity 4096, 8-byte elements (batch 1: single-element calls)" \
        'batch size (elements per call)' 'set logscale x 2; set xrange [0.7:400]'
fi

if [ -s "$work/lat" ]; then
    gnuplot <<EOF
set terminal pngcairo size 1000,640 noenhanced font 'sans,10'
set output '$out/latency.png'
set title "Ping-pong round trip, two threads, capacity 64 (median of rounds, min..max)\n$machine"
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
