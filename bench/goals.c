/*
 * goals.c — the goals pcq's speed is held to, each evaluated over the
 * results of this run only (ratios of medians of the same scenario) and
 * printed as one line with PASS, FAIL or NOT MEASURED.
 */
#include "harness.h"

#include <string.h>

/* The OK result of `queue` for a configuration; with several (different
 * counts), the one with the most elements. */
static const struct bq_result *find(const struct bq_result *all, size_t n, const char *queue,
                                    unsigned p, unsigned c, size_t cap, size_t batch,
                                    bool latency)
{
    const struct bq_result *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct bq_config *k = &all[i].cfg;
        if (strcmp(k->ops->name, queue) != 0 || k->latency != latency || k->capacity != cap ||
            k->elem_size != 8)
            continue;
        if (!latency && (k->producers != p || k->consumers != c || k->batch != batch))
            continue;
        if (best == NULL || k->count > best->cfg.count || best->status != BQ_ST_OK)
            best = &all[i];
    }
    return best;
}

/* The fastest bounded blocking baseline (textbook, apr_queue, boost, pipe
 * when its real capacity is the one asked for) in a single-element row. */
static const struct bq_result *best_bounded(const struct bq_result *all, size_t n, unsigned p,
                                            unsigned c, size_t cap)
{
    const struct bq_result *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct bq_result *r = &all[i];
        const struct bq_config *k = &r->cfg;
        if (!(k->ops->flags & BQ_F_BOUNDED_BLOCKING) || k->latency || k->producers != p ||
            k->consumers != c || k->capacity != cap || k->batch != 1 || k->elem_size != 8 ||
            r->status != BQ_ST_OK || r->eff_cap != cap)
            continue;
        if (best == NULL || r->eps.med > best->eps.med)
            best = r;
    }
    return best;
}

static const unsigned pcs[][2] = {{1, 1}, {2, 2}, {4, 4}, {1, 4}, {4, 1}, {8, 8}};
#define N_PCS (sizeof pcs / sizeof pcs[0])

enum verdict { PASS, FAIL, NOT_MEASURED };
static const char *const verdict_name[] = {"PASS", "FAIL", "NOT MEASURED"};

/* The smallest ratio seen so far and where. */
struct worst {
    double ratio;
    char where[48];
};

static void note_worst(struct worst *w, double ratio, const char *where)
{
    if (ratio < w->ratio) {
        w->ratio = ratio;
        snprintf(w->where, sizeof w->where, "%s", where);
    }
}

/* Single-element speed-up: every PxC at capacities 64, 1024 and 4096 against
 * the best bounded blocking peer (and textbook at 64). Prints one detail
 * line per scenario; the summary goes to `line`. */
static enum verdict single_element_speedup(FILE *out, const struct bq_result *all, size_t n, char *line, size_t len)
{
    static const size_t caps[] = {64, 1024, 4096};
    struct worst w64 = {1e300, "-"}, w64tb = {1e300, "-"}, wbig = {1e300, "-"};
    unsigned measured = 0, failed = 0;
    for (size_t ci = 0; ci < 3; ci++) {
        for (size_t i = 0; i < N_PCS; i++) {
            unsigned p = pcs[i][0], c = pcs[i][1];
            size_t cap = caps[ci];
            const struct bq_result *q = find(all, n, "pcq", p, c, cap, 1, false);
            const struct bq_result *b = best_bounded(all, n, p, c, cap);
            const struct bq_result *tb = find(all, n, "textbook", p, c, cap, 1, false);
            if (q == NULL || q->status != BQ_ST_OK || b == NULL || tb == NULL ||
                tb->status != BQ_ST_OK)
                continue;
            measured++;
            const double rb = q->eps.med / b->eps.med, rt = q->eps.med / tb->eps.med;
            char where[48], pc[16];
            snprintf(pc, sizeof pc, "%ux%u", p, c);
            snprintf(where, sizeof where, "%s cap %zu vs %s", pc, cap, b->cfg.ops->name);
            bool ok;
            if (cap == 64) {
                ok = rb >= 2.0 && rt >= 3.0;
                note_worst(&w64, rb, where);
                note_worst(&w64tb, rt, pc);
                fprintf(out,
                        "  single elements %-28s pcq %7.2f M/s, best bounded %7.2f M/s: %5.2fx (>= 2x); "
                        "vs textbook %5.2fx (>= 3x)  %s\n",
                        where, q->eps.med / 1e6, b->eps.med / 1e6, rb, rt, ok ? "ok" : "FAIL");
            } else {
                ok = rb >= 1.3;
                note_worst(&wbig, rb, where);
                fprintf(out,
                        "  single elements %-28s pcq %7.2f M/s, best bounded %7.2f M/s: %5.2fx (>= 1.3x)  %s\n",
                        where, q->eps.med / 1e6, b->eps.med / 1e6, rb, ok ? "ok" : "FAIL");
            }
            failed += !ok;
        }
    }
    enum verdict v = failed ? FAIL : measured < 3 * N_PCS ? NOT_MEASURED : PASS;
    snprintf(line, len,
             "speed-up, single elements: %u of %zu scenarios, %u below the goal: cap 64 worst "
             "pcq/best-bounded %.2fx (%s; >= 2x), worst pcq/textbook %.2fx (%s; >= 3x); "
             "cap 1024/4096 worst %.2fx (%s; >= 1.3x)  %s",
             measured, 3 * N_PCS, failed, measured ? w64.ratio : 0.0, w64.where,
             measured ? w64tb.ratio : 0.0, w64tb.where, measured ? wbig.ratio : 0.0, wbig.where,
             verdict_name[v]);
    return v;
}

/* Batch speed-up: batch 256 against textbook_batch's naive batches and
 * against ck_spsc's single-element calls. */
static enum verdict batch_speedup(const struct bq_result *all, size_t n, char *line, size_t len)
{
    const struct bq_result *q = find(all, n, "pcq", 1, 1, 4096, 256, false);
    const struct bq_result *tb = find(all, n, "textbook_batch", 1, 1, 4096, 256, false);
    const struct bq_result *ck = find(all, n, "ck_spsc", 1, 1, 4096, 1, false);
    if (q == NULL || tb == NULL || q->status != BQ_ST_OK || tb->status != BQ_ST_OK) {
        snprintf(line, len, "speed-up, batch 1x1 cap 4096 batch 256: pcq or textbook_batch not "
                            "measured  %s", verdict_name[NOT_MEASURED]);
        return NOT_MEASURED;
    }
    const double r1 = q->eps.med / tb->eps.med;
    const bool long_enough = q->cfg.count >= 20000000 && tb->cfg.count >= 20000000;
    bool ok = r1 >= 3.0;
    char ckpart[128];
    bool ck_measured = ck != NULL && ck->status == BQ_ST_OK;
    if (ck_measured) {
        const double r2 = q->eps.med / ck->eps.med;
        ok = ok && r2 >= 2.0;
        snprintf(ckpart, sizeof ckpart, "vs ck_spsc single-element %.2f M/s: %.2fx (>= 2x)",
                 ck->eps.med / 1e6, r2);
    } else if (ck != NULL) {
        /* It did not finish: its throughput was below count / limit, a
         * bound that pcq may still beat by the margin asked. */
        const double bound = (double)ck->dnf_count / ck->limit_s;
        const double r2 = q->eps.med / bound;
        ck_measured = true;
        ok = ok && r2 >= 2.0;
        snprintf(ckpart, sizeof ckpart,
                 "ck_spsc did not finish (< %.2f M/s): more than %.2fx (>= 2x)", bound / 1e6, r2);
    } else {
        snprintf(ckpart, sizeof ckpart, "ck_spsc not measured (libck-dev?)");
    }
    enum verdict v = !ok ? FAIL : ck_measured && long_enough ? PASS : NOT_MEASURED;
    snprintf(line, len,
             "speed-up, batch 1x1 cap 4096 batch 256, %llu elements/run%s: pcq %.2f M/s vs "
             "textbook_batch %.2f M/s: %.2fx (>= 3x); %s  %s",
             (unsigned long long)q->cfg.count, long_enough ? "" : " (< 20,000,000: too short)",
             q->eps.med / 1e6, tb->eps.med / 1e6, r1, ckpart, verdict_name[v]);
    return v;
}

/* Oversubscribed: 4x4 and 8x8 at capacity 64, speed-up and run-to-run spread. */
static enum verdict oversubscribed(const struct bq_result *all, size_t n, char *line, size_t len)
{
    static const unsigned over[][2] = {{4, 4}, {8, 8}};
    char part[2][128];
    unsigned measured = 0;
    bool ok = true;
    for (size_t i = 0; i < 2; i++) {
        unsigned p = over[i][0], c = over[i][1];
        const struct bq_result *q = find(all, n, "pcq", p, c, 64, 1, false);
        const struct bq_result *b = best_bounded(all, n, p, c, 64);
        if (q == NULL || b == NULL) {
            snprintf(part[i], sizeof part[i], "%ux%u not measured", p, c);
            continue;
        }
        measured++;
        if (q->status != BQ_ST_OK) {
            snprintf(part[i], sizeof part[i], "%ux%u pcq did not finish", p, c);
            ok = false;
            continue;
        }
        const double r = q->eps.med / b->eps.med, spread = q->eps.max / q->eps.min;
        ok = ok && r >= 2.0 && spread <= 3.0;
        snprintf(part[i], sizeof part[i],
                 "%ux%u %.2fx vs %s (>= 2x), pcq max/min %.2f over %u runs (<= 3)", p, c, r,
                 b->cfg.ops->name, spread, q->runs);
    }
    enum verdict v = !ok ? FAIL : measured < 2 ? NOT_MEASURED : PASS;
    snprintf(line, len, "oversubscribed cap 64: %s; %s  %s", part[0], part[1],
             verdict_name[v]);
    return v;
}

/* Ping-pong latency against textbook's. */
static enum verdict pingpong_latency(const struct bq_result *all, size_t n, char *line, size_t len)
{
    const struct bq_result *q = find(all, n, "pcq", 1, 1, 64, 1, true);
    const struct bq_result *tb = find(all, n, "textbook", 1, 1, 64, 1, true);
    if (q == NULL || tb == NULL || q->status != BQ_ST_OK || tb->status != BQ_ST_OK) {
        snprintf(line, len, "ping-pong cap 64: not measured  %s", verdict_name[NOT_MEASURED]);
        return NOT_MEASURED;
    }
    const double r50 = q->p50.med / tb->p50.med, r99 = q->p99.med / tb->p99.med;
    enum verdict v = r50 <= 0.25 && r99 <= 0.5 ? PASS : FAIL;
    snprintf(line, len,
             "ping-pong cap 64: p50 pcq %.1f us / textbook %.1f us = %.2fx (<= 0.25x); "
             "p99 %.1f us / %.1f us = %.2fx (<= 0.5x)  %s",
             q->p50.med / 1e3, tb->p50.med / 1e3, r50, q->p99.med / 1e3, tb->p99.med / 1e3, r99,
             verdict_name[v]);
    return v;
}

/* Memory: no allocator call in any pcq push/pop loop; the footprint that
 * bq_measure_footprint() found is reported beside it. */
static enum verdict no_allocations(const struct bq_result *all, size_t n,
                                   const struct bq_footprint *fp, char *line, size_t len)
{
    uint64_t allocs = 0;
    unsigned configs = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].cfg.ops->name, "pcq") == 0) {
            allocs += all[i].allocs;
            configs++;
        }
    enum verdict v = configs == 0 ? NOT_MEASURED : allocs == 0 ? PASS : FAIL;
    snprintf(line, len,
             "memory: %llu allocator calls in the push/pop loops of %u pcq configurations "
             "(every run; malloc/calloc/realloc/aligned_alloc/posix_memalign wrapped); "
             "footprint = capacity x elem_size + %zu..%zu bytes, one aligned_alloc  %s",
             (unsigned long long)allocs, configs, fp->min_extra, fp->max_extra, verdict_name[v]);
    return v;
}

int bq_print_goals(FILE *out, const struct bq_result *all, size_t n,
                   const struct bq_footprint *fp)
{
    char line[5][512];
    enum verdict v[5];
    fprintf(out, "\n== goal details ==\n");
    v[0] = single_element_speedup(out, all, n, line[0], sizeof line[0]);
    v[1] = batch_speedup(all, n, line[1], sizeof line[1]);
    v[2] = oversubscribed(all, n, line[2], sizeof line[2]);
    v[3] = pingpong_latency(all, n, line[3], sizeof line[3]);
    v[4] = no_allocations(all, n, fp, line[4], sizeof line[4]);
    fprintf(out, "\n== goals (ratios of medians measured in this run) ==\n");
    int bad = 0;
    for (int i = 0; i < 5; i++) {
        fprintf(out, "%s\n", line[i]);
        bad += v[i] != PASS;
    }
    return bad;
}
