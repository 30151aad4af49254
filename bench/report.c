/*
 * report.c — what pcq-bench prints as it goes: the header (machine, work
 * calibration, protocol, queues), one block per scenario (every queue's
 * row, each set against textbook's in the same scenario with the spread of
 * the per-round ratios), and the CSV that keeps every figure, round by
 * round, so that any ratio can be recomputed from it.
 */
#include "harness.h"

#include <string.h>

void bq_print_header(FILE *out, const struct bq_ops *const *all, size_t n_ops,
                     const struct bq_limits *lim, const char *matrix)
{
    fprintf(out, "pcq-bench%s%s\nmachine: %s\n", matrix ? ": " : "", matrix ? matrix : "",
            bq_machine());
    fprintf(out,
            "work:    one bq_work iteration costs %.2f ns here (timed at start-up): work 40 ns = "
            "%llu iterations, 400 ns = %llu\n",
            lim->ns_per_iter, (unsigned long long)bq_work_iters(40, lim->ns_per_iter),
            (unsigned long long)bq_work_iters(400, lim->ns_per_iter));
    fprintf(out,
            "method:  each scenario runs its queues in interleaved rounds (A B C A B C ...): "
            "%u warm-up round%s, then %u measured;\n"
            "         a sized run lasts about %.0f ms (a pilot run, then the first warm-up, "
            "set each queue's count); a figure is the median\n"
            "         of the rounds (min .. max beside it); every run verified (count, sum and "
            "xor consumed = produced) or the benchmark stops;\n"
            "         spinning queues stop after %.0f s per run (did not finish)\n",
            lim->warmups, lim->warmups == 1 ? "" : "s", lim->repeats, lim->run_s * 1e3,
            lim->time_limit_s);
    fprintf(out, "queues:\n");
    for (size_t i = 0; i < n_ops; i++) {
        const struct bq_ops *o = all[i];
        if (o->flags & BQ_F_TEST_ONLY)
            continue;
        if (o->available)
            fprintf(out, "  %-15s %s\n", o->name, o->notes);
        else
            fprintf(out, "  %-15s SKIPPED: %s\n", o->name, o->missing);
    }
    fprintf(out, "  (elements larger than a pointer travel through apr_queue, boost, gasyncqueue "
                 "and ck_ring as a pointer to a preallocated slot, marked \"by pointer\")\n");
    fprintf(out,
            "columns: M elem/s = million elements per second from producers to consumers; "
            "ns/elem = run time / elements;\n"
            "         vs textbook = ratio of medians against textbook (textbook_batch for "
            "batches) in the same scenario, [lo..hi] = smallest\n"
            "         and largest ratio of one round's runs; cCPU = the consumers' CPU time "
            "per element; latency in microseconds\n");
}

/* ---- the table -------------------------------------------------------- */

/* The name of the queue the others of a scenario are set against: a
 * process run's is the POSIX message queue (goal 6's bar). */
static const char *reference_name(const struct bq_config *c)
{
    return c->processes ? "mq" : c->batch > 1 ? "textbook_batch" : "textbook";
}

/* The row the others of its scenario are set against. */
static const struct bq_result *reference(const struct bq_result *res, size_t n)
{
    const char *want = reference_name(&res[0].cfg);
    for (size_t i = 0; i < n; i++)
        if (strcmp(res[i].cfg.ops->name, want) == 0 && res[i].status == BQ_ST_OK &&
            res[i].runs > 0)
            return &res[i];
    return NULL;
}

static void notes(const struct bq_result *r, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t k = 0;
    if (r->cfg.ops->flags & BQ_F_UNBOUNDED)
        k += (size_t)snprintf(buf + k, len - k, "unbounded; ");
    else if (r->eff_cap != r->cfg.capacity)
        k += (size_t)snprintf(buf + k, len - k, "capacity really %zu; ", r->eff_cap);
    if (r->by_pointer && k < len)
        k += (size_t)snprintf(buf + k, len - k, "by pointer; ");
    if ((r->cfg.ops->flags & BQ_F_SPINS) && k < len)
        k += (size_t)snprintf(buf + k, len - k, "spins; ");
    if (!r->cfg.latency && r->cfg.pace_ns == 0 && r->cfg.consumers > 1 &&
        r->status == BQ_ST_OK && r->runs > 0 && k < len)
        k += (size_t)snprintf(buf + k, len - k, "consumers' max/min %.2f; ", r->fair.med);
    if (k >= 2 && k < len)
        buf[k - 2] = '\0';
}

static void vs(char *buf, size_t len, const struct bq_result *r, const struct bq_result *ref,
               enum bq_figure f)
{
    struct bq_ratio q = bq_ratio_of(r, ref, f);
    if (ref == NULL || ref == r || !q.ok)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2fx [%.2f..%.2f]", q.med, q.lo, q.hi);
}

enum kind { K_THROUGHPUT, K_LATENCY, K_PACED };

static enum kind kind_of(const struct bq_config *c)
{
    return c->latency ? K_LATENCY : c->pace_ns != 0 ? K_PACED : K_THROUGHPUT;
}

static void column_titles(FILE *out, enum kind k, const char *ref)
{
    char vs_ref[32], p50_vs[32];
    snprintf(vs_ref, sizeof vs_ref, "vs %s", ref);
    snprintf(p50_vs, sizeof p50_vs, "p50 vs %s", ref);
    if (k == K_LATENCY)
        fprintf(out, "  %-15s %7s %-18s %7s %-18s %7s  %-20s %9s  %s\n", "queue", "p50 us",
                "(min .. max)", "p99 us", "(min .. max)", "max us", p50_vs, "trips", "notes");
    else if (k == K_PACED)
        fprintf(out, "  %-15s %12s %-19s %10s  %-20s %9s  %s\n", "queue", "cCPU us/el",
                "(min .. max)", "k elem/s", "CPU vs textbook", "count", "notes");
    else
        fprintf(out, "  %-15s %9s %-19s %8s  %-20s %8s %9s  %s\n", "queue", "M elem/s",
                "(min .. max)", "ns/elem", strcmp(ref, "mq") == 0 ? vs_ref : "vs textbook",
                "cCPU ns", "count", "notes");
}

void bq_print_scenario(FILE *out, const struct bq_result *res, size_t n)
{
    static const char *last_section;
    static enum kind last_kind;
    const struct bq_config *c0 = &res[0].cfg;
    const enum kind k = kind_of(c0);
    if (last_section != c0->section || last_kind != k) {
        fprintf(out, "\n== %s ==\n", c0->section);
        column_titles(out, k, reference_name(c0));
        last_section = c0->section;
        last_kind = k;
    }
    char scen[128];
    bq_scenario_label(c0, scen, sizeof scen);
    fprintf(out, "-- %s\n", scen);
    const struct bq_result *ref = reference(res, n);
    for (size_t i = 0; i < n; i++) {
        const struct bq_result *r = &res[i];
        char note[160], ratio[48];
        notes(r, note, sizeof note);
        fprintf(out, "  %-15s ", r->cfg.ops->name);
        if (r->status == BQ_ST_DNF || r->runs == 0) {
            fprintf(out, "did not finish: %llu %s took over %.0f s%s%s\n",
                    (unsigned long long)r->dnf_count, k == K_LATENCY ? "round trips" : "elements",
                    r->limit_s, note[0] ? "; " : "", note);
            continue;
        }
        if (k == K_LATENCY) {
            vs(ratio, sizeof ratio, r, ref, BQ_FIG_P50);
            fprintf(out, "%7.1f (%6.1f .. %6.1f) %7.1f (%6.1f .. %6.1f) %7.1f  %-20s %9llu  %s\n",
                    r->p50.med / 1e3, r->p50.min / 1e3, r->p50.max / 1e3, r->p99.med / 1e3,
                    r->p99.min / 1e3, r->p99.max / 1e3, r->max.med / 1e3, ratio,
                    (unsigned long long)r->count, note);
        } else if (k == K_PACED) {
            vs(ratio, sizeof ratio, r, ref, BQ_FIG_CPU);
            fprintf(out, "%12.2f (%7.2f .. %7.2f) %10.1f  %-20s %9llu  %s\n", r->cpu.med / 1e3,
                    r->cpu.min / 1e3, r->cpu.max / 1e3, r->eps.med / 1e3, ratio,
                    (unsigned long long)r->count, note);
        } else {
            vs(ratio, sizeof ratio, r, ref, BQ_FIG_EPS);
            fprintf(out, "%9.3f (%7.3f .. %7.3f) %8.1f  %-20s %8.0f %9llu  %s\n",
                    r->eps.med / 1e6, r->eps.min / 1e6, r->eps.max / 1e6, 1e9 / r->eps.med,
                    ratio, r->cpu.med, (unsigned long long)r->count, note);
        }
    }
}

/* ---- the CSV ----------------------------------------------------------- */

void bq_csv_header(FILE *csv, const char *machine, const struct bq_limits *lim)
{
    fprintf(csv, "# pcq-bench; machine: %s\n", machine);
    fprintf(csv,
            "# protocol: interleaved rounds, %u warm-up + %u measured; sized runs about %.0f ms; "
            "bq_work %.3f ns per iteration; round_* columns hold each measured round's figure "
            "in round order (space-separated): round i of one queue ran just before or after "
            "round i of every other queue of its scenario\n",
            lim->warmups, lim->repeats, lim->run_s * 1e3, lim->ns_per_iter);
    fprintf(csv, "kind,queue,machine,producers,consumers,capacity,eff_capacity,batch,elem_size,"
                 "work_ns,producer_work_ns,pace_ns,carried,count,runs,status,"
                 "eps_median,eps_min,eps_max,ns_per_elem,"
                 "p50_ns_median,p50_ns_min,p50_ns_max,p99_ns_median,p99_ns_min,p99_ns_max,"
                 "max_ns_median,max_ns_min,max_ns_max,"
                 "cpu_ns_per_elem_median,cpu_ns_per_elem_min,cpu_ns_per_elem_max,"
                 "fairness_median,fairness_min,fairness_max,allocs,seconds,"
                 "round_eps,round_p50_ns,round_cpu_ns_per_elem,round_fairness,note,section\n");
}

static void csv_stat(FILE *csv, bool have, struct bq_stat s, const char *fmt)
{
    if (!have) {
        fprintf(csv, ",,,");
        return;
    }
    fprintf(csv, fmt, s.med);
    fputc(',', csv);
    fprintf(csv, fmt, s.min);
    fputc(',', csv);
    fprintf(csv, fmt, s.max);
    fputc(',', csv);
}

static void csv_rounds(FILE *csv, const struct bq_result *r, bool have, enum bq_figure f,
                       const char *fmt)
{
    for (unsigned i = 0; have && i < r->runs; i++) {
        if (i > 0)
            fputc(' ', csv);
        fprintf(csv, fmt, bq_round_figure(&r->round[i], f));
    }
    fputc(',', csv);
}

void bq_csv_row(FILE *csv, const struct bq_result *r)
{
    const struct bq_config *c = &r->cfg;
    const bool ok = r->status == BQ_ST_OK && r->runs > 0;
    const bool tp = ok && !c->latency, lat = ok && c->latency;
    char eff[24];
    if (r->eff_cap == 0 && (c->ops->flags & BQ_F_UNBOUNDED))
        snprintf(eff, sizeof eff, "unbounded");
    else
        snprintf(eff, sizeof eff, "%zu", r->eff_cap);
    fprintf(csv, "%s,%s,%s,%u,%u,%zu,%s,%zu,%zu,%llu,%llu,%llu,%s,%llu,%u,%s,",
            c->processes ? (c->latency ? "latency_processes" : "throughput_processes")
            : c->latency ? "latency"
            : c->pace_ns ? "paced"
                         : "throughput",
            c->ops->name,
            c->hog ? "hog" : "idle", c->latency ? 1 : c->producers, c->latency ? 1 : c->consumers,
            c->capacity, eff, c->batch, c->elem_size, (unsigned long long)c->work_ns,
            (unsigned long long)c->producer_work_ns, (unsigned long long)c->pace_ns,
            r->by_pointer ? "pointer" : "value", (unsigned long long)r->count, r->runs,
            ok ? "ok" : "did_not_finish");
    csv_stat(csv, tp, r->eps, "%.0f");
    if (tp)
        fprintf(csv, "%.2f,", 1e9 / r->eps.med);
    else
        fprintf(csv, ",");
    csv_stat(csv, lat, r->p50, "%.0f");
    csv_stat(csv, lat, r->p99, "%.0f");
    csv_stat(csv, lat, r->max, "%.0f");
    csv_stat(csv, tp, r->cpu, "%.1f");
    csv_stat(csv, tp, r->fair, "%.3f");
    if (c->ops->flags & BQ_F_COUNTS_ALLOCS)
        fprintf(csv, "%llu,", (unsigned long long)r->allocs);
    else
        fprintf(csv, ",");
    fprintf(csv, "%.2f,", r->seconds);
    csv_rounds(csv, r, tp, BQ_FIG_EPS, "%.0f");
    csv_rounds(csv, r, lat, BQ_FIG_P50, "%.0f");
    csv_rounds(csv, r, tp, BQ_FIG_CPU, "%.1f");
    csv_rounds(csv, r, tp, BQ_FIG_FAIR, "%.3f");
    char note[160];
    notes(r, note, sizeof note);
    if (!ok)
        fprintf(csv, "\"did not finish: %llu in over %.0f s%s%s\",",
                (unsigned long long)r->dnf_count, r->limit_s, note[0] ? "; " : "", note);
    else
        fprintf(csv, "\"%s\",", note);
    fprintf(csv, "\"%s\"\n", c->section);
    fflush(csv);
}
