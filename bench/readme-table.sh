#!/bin/sh
# readme-table.sh CSV — the top-level README's benchmark tables, in Markdown,
# from the CSV of one `make bench` run (`make bench-readme BENCH_CSV=...`):
#   1. throughput on the idle machine without per-element work, then with
#      consumer work: pcq and its peers, and pcq over the best bounded
#      blocking peer of the row;
#   2. the same with the hog, rows without work only;
#   3. batches: pcq against textbook_batch, both machines;
#   4. ping-pong p50 and p99, idle and with the hog, against textbook;
#   5. the consumer's CPU time per element behind a paced producer.
# Only 8-byte elements without producer work are shown; a queue's column
# appears when the table has a figure for it. The goal verdicts are not in
# the CSV: pcq-bench prints them, and the README quotes them apart.
#
# Figures are medians of the measured rounds. Ratios are made as
# bench/goals.c makes them (bq_ratio_of in run.c): the ratio of two queues'
# medians in one scenario, then [the smallest..largest per-round ratio],
# round i of one over round i of the other. A scenario is what goals.c's
# same_cell compares (eff_capacity is not part of it); of two rows of one
# queue in a scenario the longer run counts, as goals.c's find() picks; the
# best bounded blocking peer is the fastest of textbook, apr_queue, boost
# and the pipe where the kernel gave it the capacity asked (BQ_F_BOUNDED_BLOCKING).
# Columns are found by name; several CSVs concatenated are read as one run.
set -eu
csv=${1:?usage: readme-table.sh CSV}
[ -r "$csv" ] || { echo "readme-table.sh: no $csv (make bench writes build/bench/latest.csv)" >&2; exit 1; }

awk -F, '
BEGIN {
    nf = split("kind queue machine producers consumers capacity eff_capacity batch elem_size " \
               "work_ns producer_work_ns pace_ns count runs status eps_median p50_ns_median " \
               "p99_ns_median cpu_ns_per_elem_median round_eps round_p50_ns round_cpu_ns_per_elem",
               want, " ")
    split("textbook apr_queue boost pipe", b, " ")
    for (i in b) bounded[b[i]] = 1
}
/^# pcq-bench; machine: / {
    if (machine == "") { machine = $0; sub(/^# pcq-bench; machine: /, "", machine) }
    next
}
/^# protocol: / {
    if (protocol == "" && match($0, /[0-9]+ warm-up \+ [0-9]+ measured/)) {
        protocol = substr($0, RSTART, RLENGTH)
        if (match($0, /sized runs about [0-9]+ ms/)) protocol = protocol ", " substr($0, RSTART, RLENGTH)
    }
    next
}
/^#/ { next }
$1 == "kind" {
    split("", col)
    for (i = 1; i <= NF; i++) col[$i] = i
    for (i = 1; i <= nf; i++)
        if (!(want[i] in col)) {
            printf "readme-table.sh: no column %s: not a CSV of this pcq-bench (rerun make bench)\n",
                want[i] > "/dev/stderr"
            bad = 1; exit 1
        }
    next
}
!("kind" in col) { print "readme-table.sh: no header line" > "/dev/stderr"; bad = 1; exit 1 }
{
    n++
    for (i = 1; i <= nf; i++) R[n, want[i]] = $col[want[i]]
    # The same cell as goals.c: ping-pong ignores P, C, batch and size.
    k = R[n, "kind"] SUBSEP R[n, "machine"] SUBSEP R[n, "capacity"] SUBSEP R[n, "work_ns"] \
        SUBSEP R[n, "producer_work_ns"] SUBSEP R[n, "pace_ns"]
    if (R[n, "kind"] != "latency")
        k = k SUBSEP R[n, "producers"] SUBSEP R[n, "consumers"] SUBSEP R[n, "batch"] \
            SUBSEP R[n, "elem_size"]
    if (!(k in cellrow)) { cellrow[k] = n; cells[++nc] = k }
    q = R[n, "queue"]
    if (!(q in qseen)) { qseen[q] = 1; qorder[++nq] = q }
    # find(): the longest run, or any over one that did not finish
    if (!((k, q) in F) || R[n, "count"] + 0 > R[F[k, q], "count"] + 0 || R[F[k, q], "status"] != "ok")
        F[k, q] = n
    # best_bounded(): the fastest bounded blocking peer with the capacity asked
    if ((q in bounded) && ok(n) && R[n, "eff_capacity"] + 0 == R[n, "capacity"] + 0 &&
        (!(k in best) || R[n, "eps_median"] + 0 > R[best[k], "eps_median"] + 0))
        best[k] = n
}

function ok(r) { return R[r, "status"] == "ok" && R[r, "runs"] + 0 > 0 }
function row(k, q) { return ((k, q) in F) ? F[k, q] : "" }

# Three significant figures (more above 1000), trailing zeros kept.
function num(x,    d) {
    if (x >= 1 || x <= 0) return sprintf(x >= 100 || x <= 0 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x)
    d = 2 - int(log(x) / log(10) - 1) # x < 1: as many decimals as 3 figures need
    return sprintf("%." (d > 8 ? 8 : d) "f", x)
}
# One cell: the median of `name` over `div`; "dnf" for a run that did not finish.
function fig(r, name, div) {
    if (r == "") return ""
    if (!ok(r)) return "dnf"
    return num(R[r, name] / div)
}

# a over b as bq_ratio_of: "1.23x [0.98..1.41]"; "-" when it cannot be made
# (a run did not finish, or a figure of b is 0, where C would print inf).
function ratio(a, b, med, rounds,    x, y, m, i, lo, hi, v) {
    if (a == "" || b == "" || !ok(a) || !ok(b) || R[b, med] + 0 == 0) return "-"
    split(R[a, rounds], x, " ")
    split(R[b, rounds], y, " ")
    m = R[a, "runs"] + 0 < R[b, "runs"] + 0 ? R[a, "runs"] + 0 : R[b, "runs"] + 0
    for (i = 1; i <= m; i++) {
        if (y[i] + 0 == 0) return "-"
        v = x[i] / y[i]
        if (i == 1 || v < lo) lo = v
        if (i == 1 || v > hi) hi = v
    }
    return sprintf("%.2fx [%.2f..%.2f]", R[a, med] / R[b, med], lo, hi)
}

function label(r,    s) {
    if (R[r, "kind"] == "paced") return pace_label(r)
    s = R[r, "producers"] "x" R[r, "consumers"] " cap " R[r, "capacity"]
    if (R[r, "batch"] + 0 > 1) s = s " batch " R[r, "batch"]
    if (R[r, "work_ns"] + 0 > 0) s = s ", work " R[r, "work_ns"] " ns"
    return s
}

# The cells of one table, in S[1..ns], sorted by machine, pace, work,
# capacity, P x C (by threads, then producers), batch, as a reader scans them.
function select(kind, mach, work, batched,    i, k, r, t, j) {
    ns = 0
    for (i = 1; i <= nc; i++) {
        k = cells[i]; r = cellrow[k]
        if (R[r, "kind"] != kind || R[r, "elem_size"] + 0 != 8 || R[r, "producer_work_ns"] + 0 != 0) continue
        if (mach != "" && R[r, "machine"] != mach) continue
        if (work == "none" && R[r, "work_ns"] + 0 != 0 || work == "some" && R[r, "work_ns"] + 0 == 0) continue
        if (kind == "throughput" && (batched ? R[r, "batch"] + 0 <= 1 : R[r, "batch"] + 0 != 1)) continue
        S[++ns] = k
        SK[ns] = sprintf("%d %012d %012d %012d %06d %06d", R[r, "machine"] == "hog", R[r, "pace_ns"],
            R[r, "work_ns"], R[r, "capacity"], R[r, "producers"] * R[r, "consumers"],
            R[r, "producers"]) sprintf(" %06d", R[r, "batch"])
    }
    for (i = 2; i <= ns; i++)
        for (j = i; j > 1 && SK[j - 1] > SK[j]; j--) {
            t = S[j]; S[j] = S[j - 1]; S[j - 1] = t
            t = SK[j]; SK[j] = SK[j - 1]; SK[j - 1] = t
        }
    return ns
}

# Of the queues in `list`, those with a row in the selected cells, in C[1..].
function columns(list,    l, nl, i, j, m) {
    nl = split(list, l, " ")
    m = 0
    for (j = 1; j <= nl; j++)
        for (i = 1; i <= ns; i++)
            if ((S[i], l[j]) in F) { C[++m] = l[j]; break }
    return m
}

# The header of a table: the first columns (FIRST, split at |), one per queue in
# C[1..m], right-aligned, and LAST.
function header(first, m, last,    f, n, j) {
    n = split(first, f, "|")
    printf "|"
    for (j = 1; j <= n; j++) printf " %s |", f[j]
    for (j = 1; j <= m; j++) printf " %s |", C[j]
    printf " %s |\n|", last
    for (j = 1; j <= n; j++) printf "---|"
    for (j = 1; j <= m; j++) printf "---:|"
    printf "---|\n"
}

function throughput_table(title, mach, work,    i, j, m, k, r, s, p, starred) {
    if (select("throughput", mach, work, 0) == 0) return
    m = columns("pcq textbook apr_queue boost pipe ck_spsc")
    printf "%s, million elements per second (higher is better):\n\n", title
    header("scenario", m, "pcq / best bounded peer")
    for (i = 1; i <= ns; i++) {
        k = S[i]
        printf "| %s |", label(cellrow[k])
        for (j = 1; j <= m; j++) {
            r = row(k, C[j])
            s = fig(r, "eps_median", 1e6)
            if (r != "" && (C[j] in bounded) && R[r, "eff_capacity"] + 0 != R[r, "capacity"] + 0) {
                s = s "\\*"; starred = 1
            }
            printf " %s |", s
        }
        p = (k in best) ? R[best[k], "queue"] : ""
        s = p == "" ? "-" : ratio(row(k, "pcq"), row(k, p), "eps_median", "round_eps")
        printf " %s |\n", s == "-" ? s : s " " p
    }
    if (starred)
        printf "\n\\* the queue did not get the capacity asked (the kernel sizes a pipe): not a bounded peer there.\n"
    printf "\n"
}

# A table of pcq against one peer, a row per scenario with its machine.
function versus_table(kind, batched, title, queues, peer, med, div, rounds,    i, k, m, j) {
    if (select(kind, "", "none", batched) == 0) return
    m = columns(queues)
    printf "%s:\n\n", title
    header((kind == "paced" ? "producer" : "scenario") "|machine", m, "pcq / " peer)
    for (i = 1; i <= ns; i++) {
        k = S[i]
        printf "| %s | %s |", label(cellrow[k]), R[cellrow[k], "machine"]
        for (j = 1; j <= m; j++) printf " %s |", fig(row(k, C[j]), med, div)
        printf " %s |\n", ratio(row(k, "pcq"), row(k, peer), med, rounds)
    }
    printf "\n"
}

# Ping-pong: one column group per machine, queues as rows.
function latency_table(    i, j, k, g, ng, G, cap, qs, nqs, Q, r, seen) {
    if (select("latency", "", "none", 0) == 0) return
    cap = R[cellrow[S[1]], "capacity"]
    for (i = 1; i <= ns; i++) {
        r = cellrow[S[i]]
        if (R[r, "capacity"] + 0 != cap + 0 || R[r, "pace_ns"] + 0 != 0 || (R[r, "machine"] in seen)) continue
        seen[R[r, "machine"]] = 1; G[++ng] = S[i]
    }
    # queues: the usual order first, then any other in the order of the CSV
    qs = "pcq textbook apr_queue boost pipe ck_spsc"
    for (i = 1; i <= nq; i++) if (index(" " qs " ", " " qorder[i] " ") == 0) qs = qs " " qorder[i]
    nqs = split(qs, Q, " ")
    printf "Ping-pong round trip over two queues of capacity %s, microseconds (lower is better):\n\n", cap
    printf "| queue |"
    for (g = 1; g <= ng; g++) {
        k = R[cellrow[G[g]], "machine"]
        printf " p50 %s | p99 %s | p50 / textbook %s |", k, k, k
    }
    printf "\n|---|"
    for (g = 1; g <= ng; g++) printf "---:|---:|---|"
    printf "\n"
    for (j = 1; j <= nqs; j++) {
        for (g = 1; g <= ng; g++) if ((G[g], Q[j]) in F) break
        if (g > ng) continue
        printf "| %s |", Q[j]
        for (g = 1; g <= ng; g++) {
            r = row(G[g], Q[j])
            printf " %s | %s | %s |", fig(r, "p50_ns_median", 1e3), fig(r, "p99_ns_median", 1e3),
                Q[j] == "textbook" || r == "" ? "" : ratio(r, row(G[g], "textbook"), "p50_ns_median",
                "round_p50_ns")
        }
        printf "\n"
    }
    printf "\n"
}

function pace_label(r,    p, s) {
    p = R[r, "pace_ns"] / 1e3
    s = p >= 1000 ? sprintf("%g ms", p / 1e3) : sprintf("%g µs", p)
    s = R[r, "count"] + 0 == 1 ? "idle queue: 1 element after " s : "1 element per " s
    return s ", " R[r, "producers"] "x" R[r, "consumers"] " cap " R[r, "capacity"]
}

END {
    if (bad) exit 1
    if (n == 0) { print "readme-table.sh: no rows" > "/dev/stderr"; exit 1 }
    printf "Measured by `make bench` on: %s.\n", machine == "" ? "(not recorded)" : machine
    printf "Each figure is the median of the measured rounds (%s); each ratio is the ratio of the two medians, " \
        "[smallest..largest ratio of one round'"'"'s pair of runs].\n\n", protocol == "" ? "interleaved rounds" : protocol
    throughput_table("Throughput on the idle machine, 8-byte elements, single-element calls", "idle", "none")
    throughput_table("Throughput on the idle machine with per-element consumer work", "idle", "some")
    throughput_table("Throughput with the hog (a busy loop on one CPU), no per-element work", "hog", "none")
    versus_table("throughput", 1, "Batch calls (pcq_push_many/pcq_pop_many against textbook_batch), " \
        "million elements per second", "pcq textbook_batch", "textbook_batch", "eps_median", 1e6, "round_eps")
    latency_table()
    versus_table("paced", 0, "CPU cost of waiting: the consumer thread'"'"'s CPU time per element, " \
        "microseconds, behind a paced producer (lower is better)", "pcq textbook apr_queue boost",
        "textbook", "cpu_ns_per_elem_median", 1e3, "round_cpu_ns_per_elem")
}' "$csv"
