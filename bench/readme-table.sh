#!/bin/sh
# readme-table.sh CSV — the README's benchmark table (Markdown) from a
# pcq-bench CSV: single-element throughput of 8-byte elements for each
# producers x consumers and capacity (median M elements/s), the batch rows,
# and ping-pong latency, all on the idle machine without per-element work.
# `make bench-readme` runs it on the latest run.
set -eu
csv=${1:?usage: readme-table.sh CSV}
[ -r "$csv" ] || { echo "readme-table.sh: no $csv (make bench writes build/bench/latest.csv)" >&2; exit 1; }

machine=$(sed -n 's/^# pcq-bench; machine: //p' "$csv" | head -n 1)
echo "Measured by \`make bench\` on: $machine."
echo
if grep -q '^# protocol: interleaved rounds' "$csv"; then how='median of the interleaved rounds'
else how='median of the runs'; fi
echo "Throughput, million 8-byte elements per second ($how; higher is better):"
echo
# Columns by header name (the quoted note and section, last, may hold commas);
# the idle machine, no per-element work (older CSVs have neither column).
cols='!/^#/ && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
function v(name) { return (name in c) ? $c[name] : "" }
function plain() { return v("status") == "ok" && v("machine") != "hog" &&
    v("work_ns") + 0 == 0 && v("producer_work_ns") + 0 == 0 }'
awk -F, "$cols"'
!/^#/ && v("kind") == "throughput" && plain() && v("elem_size") == 8 {
    key = v("producers") "x" v("consumers") " cap " v("capacity") ((v("batch") > 1) ? " batch " v("batch") : "")
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    if (!(v("queue") in qseen)) { qseen[v("queue")] = 1; qs[++nq] = v("queue") }
    m = v("eps_median") / 1e6
    val[key, v("queue")] = sprintf(m < 1 ? "%.2f" : "%.1f", m)
}
END {
    printf "| scenario |"; for (j = 1; j <= nq; j++) printf " %s |", qs[j]; printf "\n"
    printf "|---|"; for (j = 1; j <= nq; j++) printf "---:|"; printf "\n"
    for (i = 1; i <= nk; i++) {
        printf "| %s |", keys[i]
        for (j = 1; j <= nq; j++) printf " %s |", ((keys[i], qs[j]) in val) ? val[keys[i], qs[j]] : ""
        printf "\n"
    }
}' "$csv"
echo
echo "Ping-pong round trip over two queues of capacity 64, microseconds (lower is better):"
echo
echo "| queue | p50 | p99 |"
echo "|---|---:|---:|"
awk -F, "$cols"'
!/^#/ && v("kind") == "latency" && plain() {
    printf "| %s | %.1f | %.1f |\n", v("queue"), v("p50_ns_median") / 1e3, v("p99_ns_median") / 1e3
}' "$csv"
