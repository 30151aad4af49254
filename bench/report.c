/*
 * report.c — what pcq-bench prints: the header (machine, queues, method),
 * the table, the CSV, and one line per issue-6 target with its measured
 * ratio and PASS/FAIL.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pcq.h"

/* ---- the machine ---------------------------------------------------- */

/* The first "model name" of /proc/cpuinfo (Linux), or "unknown CPU". */
static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v != NULL) {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
            }
            break;
        }
    }
    fclose(f);
}

const char *bq_machine(void)
{
    static char m[512];
    if (m[0] != '\0')
        return m;
    char cpu[128], load[64] = "?";
    cpu_model(cpu, sizeof cpu);
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(load, sizeof load, f) != NULL)
            load[strcspn(load, " ")] = '\0'; /* the 1-minute figure */
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) != 0)
        strcpy(u.sysname, "?"), strcpy(u.release, "?");
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    snprintf(m, sizeof m, "%s, %ld CPUs online, %s %s, load %s at start, %s, compiler %s, pcq %s",
             cpu, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, load, date,
#if defined(__clang__)
             "clang " __clang_version__,
#elif defined(__GNUC__)
             "gcc " __VERSION__,
#else
             "?",
#endif
             pcq_version());
    return m;
}

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
    fprintf(out, "  (elements larger than a pointer travel through apr_queue, gasyncqueue and "
                 "ck_ring as a pointer to a preallocated slot, marked \"by pointer\")\n");
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

/* ---- issue 6's targets ------------------------------------------------- */

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

/* The fastest bounded blocking baseline (textbook, apr_queue, pipe when its
 * real capacity is the one asked for) in a single-element row. */
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

/* Target 1: single-element calls, every PxC, capacities 64, 1024, 4096.
 * Prints one detail line per scenario; the summary goes to `line`. */
static enum verdict t1(FILE *out, const struct bq_result *all, size_t n, char *line, size_t len)
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
                        "  T1 %-28s pcq %7.2f M/s, best bounded %7.2f M/s: %5.2fx (>= 2x); "
                        "vs textbook %5.2fx (>= 3x)  %s\n",
                        where, q->eps.med / 1e6, b->eps.med / 1e6, rb, rt, ok ? "ok" : "FAIL");
            } else {
                ok = rb >= 1.3;
                note_worst(&wbig, rb, where);
                fprintf(out,
                        "  T1 %-28s pcq %7.2f M/s, best bounded %7.2f M/s: %5.2fx (>= 1.3x)  %s\n",
                        where, q->eps.med / 1e6, b->eps.med / 1e6, rb, ok ? "ok" : "FAIL");
            }
            failed += !ok;
        }
    }
    enum verdict v = failed ? FAIL : measured < 3 * N_PCS ? NOT_MEASURED : PASS;
    snprintf(line, len,
             "T1 single-element, %u of %zu scenarios, %u below target: cap 64 worst "
             "pcq/best-bounded %.2fx (%s; >= 2x), worst pcq/textbook %.2fx (%s; >= 3x); "
             "cap 1024/4096 worst %.2fx (%s; >= 1.3x)  %s",
             measured, 3 * N_PCS, failed, measured ? w64.ratio : 0.0, w64.where,
             measured ? w64tb.ratio : 0.0, w64tb.where, measured ? wbig.ratio : 0.0, wbig.where,
             verdict_name[v]);
    return v;
}

/* Target 2: batches against textbook_batch and single-element ck_spsc. */
static enum verdict t2(const struct bq_result *all, size_t n, char *line, size_t len)
{
    const struct bq_result *q = find(all, n, "pcq", 1, 1, 4096, 256, false);
    const struct bq_result *tb = find(all, n, "textbook_batch", 1, 1, 4096, 256, false);
    const struct bq_result *ck = find(all, n, "ck_spsc", 1, 1, 4096, 1, false);
    if (q == NULL || tb == NULL || q->status != BQ_ST_OK || tb->status != BQ_ST_OK) {
        snprintf(line, len, "T2 batch 1x1 cap 4096 batch 256: pcq or textbook_batch not "
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
             "T2 batch 1x1 cap 4096 batch 256, %llu elements/run%s: pcq %.2f M/s vs "
             "textbook_batch %.2f M/s: %.2fx (>= 3x); %s  %s",
             (unsigned long long)q->cfg.count, long_enough ? "" : " (< 20,000,000: too short)",
             q->eps.med / 1e6, tb->eps.med / 1e6, r1, ckpart, verdict_name[v]);
    return v;
}

/* Target 3: oversubscribed 4x4 and 8x8 at capacity 64. */
static enum verdict t3(const struct bq_result *all, size_t n, char *line, size_t len)
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
    snprintf(line, len, "T3 oversubscribed cap 64: %s; %s  %s", part[0], part[1],
             verdict_name[v]);
    return v;
}

/* Target 4: ping-pong latency against textbook. */
static enum verdict t4(const struct bq_result *all, size_t n, char *line, size_t len)
{
    const struct bq_result *q = find(all, n, "pcq", 1, 1, 64, 1, true);
    const struct bq_result *tb = find(all, n, "textbook", 1, 1, 64, 1, true);
    if (q == NULL || tb == NULL || q->status != BQ_ST_OK || tb->status != BQ_ST_OK) {
        snprintf(line, len, "T4 ping-pong cap 64: not measured  %s", verdict_name[NOT_MEASURED]);
        return NOT_MEASURED;
    }
    const double r50 = q->p50.med / tb->p50.med, r99 = q->p99.med / tb->p99.med;
    enum verdict v = r50 <= 0.25 && r99 <= 0.5 ? PASS : FAIL;
    snprintf(line, len,
             "T4 ping-pong cap 64: p50 pcq %.1f us / textbook %.1f us = %.2fx (<= 0.25x); "
             "p99 %.1f us / %.1f us = %.2fx (<= 0.5x)  %s",
             q->p50.med / 1e3, tb->p50.med / 1e3, r50, q->p99.med / 1e3, tb->p99.med / 1e3, r99,
             verdict_name[v]);
    return v;
}

/* Target 5: no allocation in push or pop; the footprint, measured. */
static enum verdict t5(const struct bq_result *all, size_t n, char *line, size_t len)
{
    uint64_t allocs = 0;
    unsigned configs = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].cfg.ops->name, "pcq") == 0) {
            allocs += all[i].allocs;
            configs++;
        }
    /* What pcq_create asks of aligned_alloc, less capacity x elem_size. */
    static const size_t shapes[][2] = {{1, 8}, {64, 8}, {4096, 8}, {1000, 256}};
    size_t cmin = SIZE_MAX, cmax = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pcq_t *q;
        if (pcq_create(&q, shapes[i][0], shapes[i][1]) != 0)
            continue;
        size_t extra = bq_thread_last_aligned_bytes() - shapes[i][0] * shapes[i][1];
        pcq_destroy(q);
        cmin = extra < cmin ? extra : cmin;
        cmax = extra > cmax ? extra : cmax;
    }
    enum verdict v = configs == 0 ? NOT_MEASURED : allocs == 0 ? PASS : FAIL;
    snprintf(line, len,
             "T5 memory: %llu allocator calls in the push/pop loops of %u pcq configurations "
             "(every run; malloc/calloc/realloc/aligned_alloc/posix_memalign wrapped); "
             "footprint = capacity x elem_size + %zu..%zu bytes, one aligned_alloc  %s",
             (unsigned long long)allocs, configs, cmin, cmax, verdict_name[v]);
    return v;
}

int bq_print_targets(FILE *out, const struct bq_result *all, size_t n)
{
    char line[5][512];
    enum verdict v[5];
    fprintf(out, "\n== issue 6 target details ==\n");
    v[0] = t1(out, all, n, line[0], sizeof line[0]);
    v[1] = t2(all, n, line[1], sizeof line[1]);
    v[2] = t3(all, n, line[2], sizeof line[2]);
    v[3] = t4(all, n, line[3], sizeof line[3]);
    v[4] = t5(all, n, line[4], sizeof line[4]);
    fprintf(out, "\n== issue 6 targets (ratios of medians measured in this run) ==\n");
    int bad = 0;
    for (int i = 0; i < 5; i++) {
        fprintf(out, "%s\n", line[i]);
        bad += v[i] != PASS;
    }
    return bad;
}
