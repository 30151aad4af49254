#!/bin/sh
# readme-table.sh CSV — the README's benchmark table (Markdown) from a
# pcq-bench CSV: single-element throughput of 8-byte elements for each
# producers x consumers and capacity (median M elements/s), the batch-256
# row, and ping-pong latency. `make bench-readme` runs it on the latest run.
set -eu
csv=${1:?usage: readme-table.sh CSV}
[ -r "$csv" ] || { echo "readme-table.sh: no $csv (make bench writes build/bench/latest.csv)" >&2; exit 1; }

machine=$(sed -n 's/^# pcq-bench; machine: //p' "$csv" | head -n 1)
echo "Measured by \`make bench\` on: $machine."
echo
echo "Throughput, million 8-byte elements per second (median of 5 runs; higher is better):"
echo
awk -F, '
!/^#/ && $1 == "throughput" && $12 == "ok" && $8 == 8 {
    key = $3 "x" $4 " cap " $5 (($7 > 1) ? " batch " $7 : "")
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    if (!($2 in qseen)) { qseen[$2] = 1; qs[++nq] = $2 }
    v[key, $2] = sprintf("%.1f", $13 / 1e6)
}
END {
    printf "| scenario |"; for (j = 1; j <= nq; j++) printf " %s |", qs[j]; printf "\n"
    printf "|---|"; for (j = 1; j <= nq; j++) printf "---:|"; printf "\n"
    for (i = 1; i <= nk; i++) {
        printf "| %s |", keys[i]
        for (j = 1; j <= nq; j++) printf " %s |", ((keys[i], qs[j]) in v) ? v[keys[i], qs[j]] : ""
        printf "\n"
    }
}' "$csv"
echo
echo "Ping-pong round trip over two queues of capacity 64, microseconds (lower is better):"
echo
echo "| queue | p50 | p99 |"
echo "|---|---:|---:|"
awk -F, '!/^#/ && $1 == "latency" && $12 == "ok" {
    printf "| %s | %.1f | %.1f |\n", $2, $17 / 1e3, $20 / 1e3
}' "$csv"
