/*
 * report.c — what pcq-bench prints as it goes: the header (machine, queues,
 * method), one table row per result (grouped by scenario, each row compared
 * with textbook's), and the CSV that keeps every figure.
 */
#include "harness.h"

#include <string.h>

void bq_print_header(FILE *out, const struct bq_ops *const *all, size_t n_ops,
                     const struct bq_limits *lim, const char *matrix)
{
    fprintf(out, "pcq-bench%s%s\nmachine: %s\n", matrix ? ": " : "", matrix ? matrix : "",
            bq_machine());
    fprintf(out, "method: every figure is the median of %u run%s after %u warm-up%s "
                 "(min .. max beside it); threads start behind a barrier; a run lasts from "
                 "release to the last thread's end;\n"
                 "        every run verified (count, sum and xor of the values consumed = "
                 "produced) or the benchmark stops; spinning queues stop after %.0f s per run "
                 "(did not finish)\n",
            lim->repeats, lim->repeats == 1 ? "" : "s", lim->warmups,
            lim->warmups == 1 ? "" : "s", lim->time_limit_s);
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
    fprintf(out, "columns: M elem/s = million elements per second moved from producers to "
                 "consumers; ns/elem = run time / elements;\n"
                 "         vs ref = median / textbook's median in the same scenario "
                 "(textbook_batch's for batch > 1); latency in microseconds\n");
}

/* ---- the table -------------------------------------------------------- */

static bool same_group(const struct bq_config *a, const struct bq_config *b)
{
    return a->section == b->section && a->latency == b->latency &&
           a->producers == b->producers && a->consumers == b->consumers &&
           a->capacity == b->capacity && a->batch == b->batch && a->elem_size == b->elem_size &&
           a->count == b->count && a->round_trips == b->round_trips;
}

/* The row every other row of its group is compared with. */
static const struct bq_result *reference(const struct bq_result *r, const struct bq_result *all,
                                         size_t n)
{
    const char *want = r->cfg.batch > 1 ? "textbook_batch" : "textbook";
    for (size_t i = 0; i < n; i++)
        if (same_group(&all[i].cfg, &r->cfg) && strcmp(all[i].cfg.ops->name, want) == 0 &&
            all[i].status == BQ_ST_OK)
            return &all[i];
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
    if (k >= 2 && k < len)
        buf[k - 2] = '\0';
}

static const char *last_section;
static const struct bq_config *last_cfg;

static void section_title(FILE *out, const struct bq_result *r)
{
    const struct bq_config *c = &r->cfg;
    if (last_section == c->section && last_cfg != NULL && last_cfg->latency == c->latency)
        return;
    last_section = c->section;
    fprintf(out, "\n== %s ==\n", c->section);
    if (c->latency)
        fprintf(out, "%-15s %8s  %-19s %8s  %-19s %8s  %-19s %s\n", "queue", "p50 us",
                "(min .. max)", "p99 us", "(min .. max)", "max us", "(min .. max)",
                "p50, p99 vs textbook; notes");
    else
        fprintf(out, "%-5s %6s %5s %4s %10s  %-15s %9s  %-19s %8s %7s  %s\n", "PxC", "cap",
                "batch", "elem", "count", "queue", "M elem/s", "(min .. max)", "ns/elem",
                "vs ref", "notes");
}

void bq_print_row(FILE *out, const struct bq_result *r, const struct bq_result *all, size_t n)
{
    const struct bq_config *c = &r->cfg;
    section_title(out, r);
    const bool first = last_cfg == NULL || !same_group(last_cfg, c);
    last_cfg = c;
    const struct bq_result *ref = reference(r, all, n);
    char note[160];
    notes(r, note, sizeof note);

    if (c->latency) {
        fprintf(out, "%-15s ", c->ops->name);
        if (r->status == BQ_ST_DNF) {
            fprintf(out, "did not finish: %llu round trips took over %.0f s%s%s\n",
                    (unsigned long long)r->dnf_count, r->limit_s, note[0] ? "; " : "", note);
            return;
        }
        char vs[48] = "";
        if (ref != NULL && ref != r)
            snprintf(vs, sizeof vs, "%.2fx, %.2fx", r->p50.med / ref->p50.med,
                     r->p99.med / ref->p99.med);
        fprintf(out, "%8.1f  (%7.1f .. %7.1f) %8.1f  (%7.1f .. %7.1f) %8.1f  (%7.1f .. %7.1f) %s%s%s\n",
                r->p50.med / 1e3, r->p50.min / 1e3, r->p50.max / 1e3, r->p99.med / 1e3,
                r->p99.min / 1e3, r->p99.max / 1e3, r->max.med / 1e3, r->max.min / 1e3,
                r->max.max / 1e3, vs, vs[0] && note[0] ? "; " : "", note);
        return;
    }

    char pc[16] = "", cap[16] = "", batch[16] = "", elem[16] = "", count[24] = "";
    if (first) {
        snprintf(pc, sizeof pc, "%ux%u", c->producers, c->consumers);
        snprintf(cap, sizeof cap, "%zu", c->capacity);
        snprintf(batch, sizeof batch, "%zu", c->batch);
        snprintf(elem, sizeof elem, "%zu", c->elem_size);
        snprintf(count, sizeof count, "%llu", (unsigned long long)c->count);
    }
    fprintf(out, "%-5s %6s %5s %4s %10s  %-15s ", pc, cap, batch, elem, count, c->ops->name);
    if (r->status == BQ_ST_DNF) {
        fprintf(out, "did not finish: %llu elements took over %.0f s%s%s\n",
                (unsigned long long)r->dnf_count, r->limit_s, note[0] ? "; " : "", note);
        return;
    }
    char vs[16] = "";
    if (ref != NULL)
        snprintf(vs, sizeof vs, "%.2fx", r->eps.med / ref->eps.med);
    fprintf(out, "%9.3f  (%7.3f .. %7.3f) %8.1f %7s  %s\n", r->eps.med / 1e6, r->eps.min / 1e6,
            r->eps.max / 1e6, 1e9 / r->eps.med, vs, note);
}

/* ---- the CSV ----------------------------------------------------------- */

void bq_csv_header(FILE *csv, const char *machine_comment)
{
    fprintf(csv, "# pcq-bench; machine: %s\n", machine_comment);
    fprintf(csv, "kind,queue,producers,consumers,capacity,eff_capacity,batch,elem_size,carried,"
                 "count,runs,status,eps_median,eps_min,eps_max,ns_per_elem,"
                 "p50_ns_median,p50_ns_min,p50_ns_max,p99_ns_median,p99_ns_min,p99_ns_max,"
                 "max_ns_median,max_ns_min,max_ns_max,allocs,seconds,note,section\n");
}

void bq_csv_row(FILE *csv, const struct bq_result *r)
{
    const struct bq_config *c = &r->cfg;
    const bool ok = r->status == BQ_ST_OK;
    char eff[24];
    if (r->eff_cap == 0 && (c->ops->flags & BQ_F_UNBOUNDED))
        snprintf(eff, sizeof eff, "unbounded");
    else
        snprintf(eff, sizeof eff, "%zu", r->eff_cap);
    fprintf(csv, "%s,%s,%u,%u,%zu,%s,%zu,%zu,%s,%llu,%u,%s,", c->latency ? "latency" : "throughput",
            c->ops->name, c->latency ? 1 : c->producers, c->latency ? 1 : c->consumers,
            c->capacity, eff, c->batch, c->elem_size, r->by_pointer ? "pointer" : "value",
            (unsigned long long)(c->latency ? c->round_trips : c->count), r->runs,
            ok ? "ok" : "did_not_finish");
    if (ok && !c->latency)
        fprintf(csv, "%.0f,%.0f,%.0f,%.2f,", r->eps.med, r->eps.min, r->eps.max, 1e9 / r->eps.med);
    else
        fprintf(csv, ",,,,");
    if (ok && c->latency)
        fprintf(csv, "%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,", r->p50.med, r->p50.min,
                r->p50.max, r->p99.med, r->p99.min, r->p99.max, r->max.med, r->max.min,
                r->max.max);
    else
        fprintf(csv, ",,,,,,,,,");
    if (c->ops->flags & BQ_F_COUNTS_ALLOCS)
        fprintf(csv, "%llu,", (unsigned long long)r->allocs);
    else
        fprintf(csv, ",");
    fprintf(csv, "%.2f,", r->seconds);
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

