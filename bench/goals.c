/*
 * goals.c — the six goals pcq is held to, judged from this run alone.
 *
 * Every check compares two queues measured in the same scenario, in
 * interleaved rounds: its figure is the ratio of their medians, shown with
 * the smallest and largest ratio of one round's pair of runs, so that a
 * reader sees how far the machine moved the answer. A goal FAILs when one
 * of its checks is on the wrong side of the bar; it is NOT MEASURED when
 * none failed but one could not be made (the scenario was not in this run,
 * a peer was not built, a run did not finish); PASS needs every check made.
 */
#include "harness.h"

#include <math.h>
#include <string.h>

enum verdict { PASS, FAIL, NOT_MEASURED };
static const char *const verdict_name[] = {"PASS", "FAIL", "NOT MEASURED"};

/* The checks of one part of a goal: how many were asked, made and failed,
 * and the one closest to failing (or furthest past it). */
struct tally {
    unsigned need, made, failed;
    double worst_margin; /* figure / bar (at least) or bar / figure (at most): < 1 fails */
    struct bq_ratio worst;
    char where[192];
    const char *unit; /* after each figure: "x" for a ratio */
};

static void tally_init(struct tally *t)
{
    memset(t, 0, sizeof *t);
    t->worst_margin = INFINITY;
    t->unit = "x";
    snprintf(t->where, sizeof t->where, "-");
}

static enum verdict verdict_of(const struct tally *t, size_t n)
{
    unsigned need = 0, made = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        need += t[i].need;
        made += t[i].made;
        failed += t[i].failed;
    }
    return failed ? FAIL : made < need || need == 0 ? NOT_MEASURED : PASS;
}

/* One check of q against bar; one detail line. `why` says what is missing
 * when q is not ok. `lower_bound`: q.med is only known to be at least that. */
static void check(FILE *out, struct tally *t, const char *tag, const char *where, struct bq_ratio q,
                  double bar, bool at_least, const char *why, bool lower_bound)
{
    t->need++;
    if (!q.ok) {
        fprintf(out, "  %s %s: not measured (%s)\n", tag, where, why);
        return;
    }
    double margin = at_least ? q.med / bar : bar / q.med;
    if (lower_bound && margin < 1) {
        fprintf(out, "  %s %s: more than %.2f%s, not enough to decide (%s)\n", tag, where, q.med,
                t->unit, why);
        return;
    }
    t->made++;
    const bool ok = margin >= 1;
    t->failed += !ok;
    if (margin < t->worst_margin) {
        t->worst_margin = margin;
        t->worst = q;
        snprintf(t->where, sizeof t->where, "%s", where);
    }
    if (lower_bound)
        fprintf(out, "  %s %s: more than %.2f%s (%s; %s %.2f%s)  %s\n", tag, where, q.med,
                t->unit, why, at_least ? ">=" : "<=", bar, t->unit, ok ? "ok" : "FAIL");
    else
        fprintf(out, "  %s %s: %.2f%s [%.2f..%.2f] (%s %.2f%s)  %s\n", tag, where, q.med, t->unit,
                q.lo, q.hi, at_least ? ">=" : "<=", bar, t->unit, ok ? "ok" : "FAIL");
}

/* "worst 0.41x [0.35..0.52] at <where>" or what is missing. */
static void summary(char *buf, size_t len, const struct tally *t, const char *bar)
{
    if (t->made == 0)
        snprintf(buf, len, "%s: not measured", bar);
    else
        snprintf(buf, len, "%u of %u made, %u failed, worst %.2f%s [%.2f..%.2f] at %s (%s)",
                 t->made, t->need, t->failed, t->worst.med, t->unit, t->worst.lo, t->worst.hi,
                 t->where, bar);
}

/* ---- finding results ------------------------------------------------------ */

static struct bq_config cell_key(unsigned p, unsigned c, size_t cap, size_t batch,
                                 uint64_t work_ns, bool hog)
{
    struct bq_config k;
    memset(&k, 0, sizeof k);
    k.producers = p;
    k.consumers = c;
    k.capacity = cap;
    k.batch = batch;
    k.elem_size = 8;
    k.work_ns = work_ns;
    k.hog = hog;
    return k;
}

/* The same cell: the scenario without its element count. */
static bool same_cell(const struct bq_config *a, const struct bq_config *k)
{
    return a->latency == k->latency && a->processes == k->processes &&
           a->capacity == k->capacity && a->hog == k->hog &&
           a->pace_ns == k->pace_ns && a->work_ns == k->work_ns &&
           a->producer_work_ns == k->producer_work_ns &&
           (a->latency ? !a->processes || a->elem_size == k->elem_size
                       : a->producers == k->producers && a->consumers == k->consumers &&
                             a->batch == k->batch && a->elem_size == k->elem_size);
}

/* `queue`'s result in the cell; of several (fixed counts), the longest. */
static const struct bq_result *find(const struct bq_result *all, size_t n, const char *queue,
                                    const struct bq_config *key)
{
    const struct bq_result *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].cfg.ops->name, queue) == 0 && same_cell(&all[i].cfg, key) &&
            (best == NULL || all[i].count > best->count || best->status != BQ_ST_OK))
            best = &all[i];
    return best;
}

/* The fastest bounded blocking peer in the cell (pipe only where the kernel
 * gave it exactly the capacity asked). */
static const struct bq_result *best_bounded(const struct bq_result *all, size_t n,
                                            const struct bq_config *key)
{
    const struct bq_result *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct bq_result *r = &all[i];
        if (!(r->cfg.ops->flags & BQ_F_BOUNDED_BLOCKING) || !same_cell(&r->cfg, key) ||
            r->status != BQ_ST_OK || r->runs == 0 || r->eff_cap != key->capacity)
            continue;
        if (best == NULL || r->eps.med > best->eps.med)
            best = r;
    }
    return best;
}

/* pcq against `peer` in the cell, with what is missing when it cannot be made. */
static struct bq_ratio versus(const struct bq_result *all, size_t n, const struct bq_config *key,
                              const char *peer, enum bq_figure f, const char **why)
{
    const struct bq_result *a = find(all, n, "pcq", key), *b = find(all, n, peer, key);
    *why = a == NULL ? "pcq not in this run" : b == NULL ? "peer not in this run"
           : b->status != BQ_ST_OK                       ? "peer did not finish"
                                                         : "no finished rounds";
    return bq_ratio_of(a, b, f);
}

static void cell_label(char *buf, size_t len, const struct bq_config *key, const char *peer)
{
    char s[128];
    bq_scenario_label(key, s, sizeof s);
    snprintf(buf, len, "%s vs %s", s, peer);
}

/* ---- the goals -------------------------------------------------------------- */

static const unsigned goal_pcs[][2] = {{1, 1}, {1, 4}, {4, 1}, {4, 4}, {8, 8}};
#define N_GOAL_PCS (sizeof goal_pcs / sizeof goal_pcs[0])

size_t bq_goal1_grid(struct bq_cell *out, size_t max)
{
    static const size_t caps[] = {1, 64, 4096};
    static const uint64_t works[] = {0, 40, 400};
    size_t k = 0;
    for (int hog = 0; hog < 2; hog++)
        for (size_t w = 0; w < 3; w++)
            for (size_t c = 0; c < 3; c++)
                for (size_t i = 0; i < N_GOAL_PCS; i++)
                    if (k < max)
                        out[k++] = (struct bq_cell){goal_pcs[i][0], goal_pcs[i][1], caps[c],
                                                    works[w], hog != 0};
    return k;
}

/* 1. No regressions: pcq >= the best bounded blocking peer in every cell. */
static enum verdict no_regressions(FILE *out, const struct bq_result *all, size_t n,
                                   const struct bq_scope *s, char *line, size_t len)
{
    struct tally t;
    tally_init(&t);
    for (size_t i = 0; i < s->n_cells; i++) {
        const struct bq_cell *c = &s->cells[i];
        struct bq_config key = cell_key(c->p, c->c, c->cap, 1, c->work_ns, c->hog);
        const struct bq_result *best = best_bounded(all, n, &key);
        const char *why;
        struct bq_ratio q = versus(all, n, &key, best ? best->cfg.ops->name : "?", BQ_FIG_EPS,
                                   &why);
        if (best == NULL)
            why = "no bounded blocking peer finished here";
        char where[192];
        cell_label(where, sizeof where, &key, best ? best->cfg.ops->name : "best peer");
        check(out, &t, "goal 1", where, q, 1.0, true, why, false);
    }
    char sum[256];
    summary(sum, sizeof sum, &t, ">= 1.00x");
    enum verdict v = verdict_of(&t, 1);
    snprintf(line, len,
             "goal 1, no regressions (pcq / best bounded blocking peer, %zu cells: %s%s%s): %s  %s",
             s->n_cells, s->what, s->skipped[0] ? "; not built: " : "", s->skipped, sum,
             verdict_name[v]);
    return v;
}

/* 2. Large rings, busy pair: against textbook at capacities 1024 and 4096
 * (no work: >= 2x; 40 ns: >= 1.5x), and against ck_spsc at 1x1 with 40 ns. */
static enum verdict large_rings(FILE *out, const struct bq_result *all, size_t n, char *line,
                                size_t len)
{
    static const size_t caps[] = {1024, 4096};
    static const unsigned pcs[][2] = {{1, 1}, {4, 4}};
    struct tally t[3];
    for (int i = 0; i < 3; i++)
        tally_init(&t[i]);
    char where[192];
    const char *why;
    for (size_t ci = 0; ci < 2; ci++) {
        for (size_t pi = 0; pi < 2; pi++) {
            for (int wi = 0; wi < 2; wi++) {
                struct bq_config key = cell_key(pcs[pi][0], pcs[pi][1], caps[ci], 1,
                                                wi ? 40 : 0, false);
                struct bq_ratio q = versus(all, n, &key, "textbook", BQ_FIG_EPS, &why);
                cell_label(where, sizeof where, &key, "textbook");
                check(out, &t[wi], "goal 2", where, q, wi ? 1.5 : 2.0, true, why, false);
            }
        }
        /* ck_spsc spins: a run that did not finish bounds its speed from above. */
        struct bq_config key = cell_key(1, 1, caps[ci], 1, 40, false);
        const struct bq_result *p = find(all, n, "pcq", &key), *ck = find(all, n, "ck_spsc", &key);
        struct bq_ratio q = versus(all, n, &key, "ck_spsc", BQ_FIG_EPS, &why);
        bool bound = false;
        if (!q.ok && p != NULL && p->status == BQ_ST_OK && p->runs > 0 && ck != NULL &&
            ck->status == BQ_ST_DNF && ck->limit_s > 0) {
            q.ok = true;
            q.med = q.lo = q.hi = p->eps.med / ((double)ck->dnf_count / ck->limit_s);
            why = "ck_spsc did not finish: its speed is below count / time limit";
            bound = true;
        }
        cell_label(where, sizeof where, &key, "ck_spsc");
        check(out, &t[2], "goal 2", where, q, 0.5, true, why, bound);
    }
    char s0[320], s1[320], s2[320];
    summary(s0, sizeof s0, &t[0], "no work, >= 2x textbook");
    summary(s1, sizeof s1, &t[1], "40 ns, >= 1.5x textbook");
    summary(s2, sizeof s2, &t[2], "1x1 40 ns, >= 0.5x ck_spsc");
    enum verdict v = verdict_of(t, 3);
    snprintf(line, len, "goal 2, large rings, busy pair (idle machine): %s; %s; %s  %s", s0, s1,
             s2, verdict_name[v]);
    return v;
}

/* 3. Busy machine: with the hog running, ping-pong p50 <= textbook's, every
 * single-element cell >= 0.95x textbook, every batch cell >= textbook_batch. */
static enum verdict busy_machine(FILE *out, const struct bq_result *all, size_t n,
                                 const struct bq_scope *s, char *line, size_t len)
{
    struct tally t[3];
    for (int i = 0; i < 3; i++)
        tally_init(&t[i]);
    char where[192];
    const char *why;
    struct bq_config key = cell_key(1, 1, 64, 1, 0, true);
    key.latency = true;
    struct bq_ratio q = versus(all, n, &key, "textbook", BQ_FIG_P50, &why);
    cell_label(where, sizeof where, &key, "textbook, p50");
    check(out, &t[0], "goal 3", where, q, 1.0, false, why, false);

    /* The matrix's hog cells must all be there ... */
    for (size_t i = 0; i < s->n_cells; i++) {
        const struct bq_cell *c = &s->cells[i];
        if (!c->hog)
            continue;
        key = cell_key(c->p, c->c, c->cap, 1, c->work_ns, true);
        q = versus(all, n, &key, "textbook", BQ_FIG_EPS, &why);
        cell_label(where, sizeof where, &key, "textbook");
        check(out, &t[1], "goal 3", where, q, 0.95, true, why, false);
    }
    /* ... and every other hog throughput cell of this run counts too. */
    for (size_t i = 0; i < n; i++) {
        const struct bq_config *c = &all[i].cfg;
        if (!c->hog || c->latency || c->pace_ns != 0 || strcmp(c->ops->name, "pcq") != 0)
            continue;
        bool in_scope = false;
        for (size_t j = 0; j < s->n_cells && c->batch == 1; j++) {
            const struct bq_cell *k = &s->cells[j];
            struct bq_config kk = cell_key(k->p, k->c, k->cap, 1, k->work_ns, k->hog);
            in_scope |= same_cell(c, &kk);
        }
        if (in_scope)
            continue;
        const char *peer = c->batch > 1 ? "textbook_batch" : "textbook";
        q = versus(all, n, c, peer, BQ_FIG_EPS, &why);
        cell_label(where, sizeof where, c, peer);
        check(out, &t[c->batch > 1 ? 2 : 1], "goal 3", where, q, c->batch > 1 ? 1.0 : 0.95, true,
              why, false);
    }
    if (t[2].need == 0) {
        t[2].need = 1; /* batches are part of the goal: none measured is not a pass */
        fprintf(out, "  goal 3 batches with the hog: not measured (none in this run)\n");
    }
    char s0[320], s1[320], s2[320];
    summary(s0, sizeof s0, &t[0], "ping-pong p50, <= 1x textbook");
    summary(s1, sizeof s1, &t[1], "throughput, >= 0.95x textbook");
    summary(s2, sizeof s2, &t[2], "batches, >= 1x textbook_batch");
    enum verdict v = verdict_of(t, 3);
    snprintf(line, len, "goal 3, busy machine (--hog): %s; %s; %s  %s", s0, s1, s2,
             verdict_name[v]);
    return v;
}

/* 4. Idle machine: capacity 64 >= 3x textbook; ping-pong p50 <= 0.25x
 * textbook's; batch 256 >= 3x textbook_batch; 8x8 throughput max/min over
 * rounds <= 3. */
static enum verdict idle_machine(FILE *out, const struct bq_result *all, size_t n, char *line,
                                 size_t len)
{
    struct tally t[4];
    for (int i = 0; i < 4; i++)
        tally_init(&t[i]);
    t[3].unit = "";
    char where[192];
    const char *why;
    for (size_t i = 0; i < N_GOAL_PCS; i++) {
        struct bq_config key = cell_key(goal_pcs[i][0], goal_pcs[i][1], 64, 1, 0, false);
        struct bq_ratio q = versus(all, n, &key, "textbook", BQ_FIG_EPS, &why);
        cell_label(where, sizeof where, &key, "textbook");
        check(out, &t[0], "goal 4", where, q, 3.0, true, why, false);
    }
    struct bq_config key = cell_key(1, 1, 64, 1, 0, false);
    key.latency = true;
    struct bq_ratio q = versus(all, n, &key, "textbook", BQ_FIG_P50, &why);
    cell_label(where, sizeof where, &key, "textbook, p50");
    check(out, &t[1], "goal 4", where, q, 0.25, false, why, false);

    key = cell_key(1, 1, 4096, 256, 0, false);
    q = versus(all, n, &key, "textbook_batch", BQ_FIG_EPS, &why);
    cell_label(where, sizeof where, &key, "textbook_batch");
    check(out, &t[2], "goal 4", where, q, 3.0, true, why, false);

    /* Steadiness is pcq's own figure, not a ratio: the largest over the
     * smallest of its rounds' throughputs, as the goal this keeps always
     * measured it. How evenly the consumers shared the elements is shown
     * beside it (the table has it per round), not judged. */
    key = cell_key(8, 8, 64, 1, 0, false);
    const struct bq_result *p = find(all, n, "pcq", &key);
    q.ok = p != NULL && p->status == BQ_ST_OK && p->runs > 0 && p->eps.min > 0;
    if (q.ok)
        q.med = q.lo = q.hi = p->eps.max / p->eps.min;
    bq_scenario_label(&key, where, sizeof where);
    char fair[96] = "";
    if (q.ok)
        snprintf(fair, sizeof fair, " (consumers' max/min share %.2f)", p->fair.med);
    strncat(where, ", pcq throughput max/min over rounds", sizeof where - strlen(where) - 1);
    strncat(where, fair, sizeof where - strlen(where) - 1);
    check(out, &t[3], "goal 4", where, q, 3.0, false, "pcq 8x8 cap 64 not in this run", false);

    char s0[320], s1[320], s2[320], s3[320];
    summary(s0, sizeof s0, &t[0], "cap 64, >= 3x textbook");
    summary(s1, sizeof s1, &t[1], "ping-pong p50, <= 0.25x textbook");
    summary(s2, sizeof s2, &t[2], "batch 256, >= 3x textbook_batch");
    summary(s3, sizeof s3, &t[3], "8x8 max/min <= 3");
    enum verdict v = verdict_of(t, 4);
    snprintf(line, len, "goal 4, idle machine: %s; %s; %s; %s  %s", s0, s1, s2, s3,
             verdict_name[v]);
    return v;
}

/* How long the idle-queue run leaves its consumer waiting, and the share of
 * that wait, in percent, the consumer may spend on a CPU. */
#define IDLE_WAIT_NS 100000000u
#define IDLE_CPU_PERCENT 1.0

/* 5. CPU cost: a consumer waiting on a paced producer spends <= 1.2x
 * textbook's CPU per element; a consumer blocked ~100 ms costs ~no CPU. */
static enum verdict cpu_cost(FILE *out, const struct bq_result *all, size_t n, char *line,
                             size_t len)
{
    static const uint64_t paces[] = {10000, 100000, 1000000};
    struct tally t[2];
    tally_init(&t[0]);
    tally_init(&t[1]);
    t[1].unit = "%";
    char where[192];
    const char *why;
    for (size_t i = 0; i < 3; i++) {
        struct bq_config key = cell_key(1, 1, 64, 1, 0, false);
        key.pace_ns = paces[i];
        struct bq_ratio q = versus(all, n, &key, "textbook", BQ_FIG_CPU, &why);
        cell_label(where, sizeof where, &key, "textbook, consumer CPU");
        check(out, &t[0], "goal 5", where, q, 1.2, false, why, false);
    }
    /* The idle queue: one element after 100 ms; its consumer's CPU time as a
     * share of the wait, in percent. */
    struct bq_config key = cell_key(1, 1, 64, 1, 0, false);
    key.pace_ns = IDLE_WAIT_NS;
    const struct bq_result *p = find(all, n, "pcq", &key), *tb = find(all, n, "textbook", &key);
    struct bq_ratio q = {false, 0, 0, 0};
    if (p != NULL && p->status == BQ_ST_OK && p->runs > 0) {
        q.ok = true;
        q.med = 100 * p->cpu.med / IDLE_WAIT_NS;
        q.lo = 100 * p->cpu.min / IDLE_WAIT_NS;
        q.hi = 100 * p->cpu.max / IDLE_WAIT_NS;
    }
    char tbs[64] = "";
    if (tb != NULL && tb->status == BQ_ST_OK && tb->runs > 0)
        snprintf(tbs, sizeof tbs, " (textbook %.3f%%)", 100 * tb->cpu.med / IDLE_WAIT_NS);
    snprintf(where, sizeof where, "idle queue, a pop blocked 100 ms: pcq CPU / wait%s", tbs);
    check(out, &t[1], "goal 5", where, q, IDLE_CPU_PERCENT, false,
          "pcq idle-queue run not in this run", false);

    char s0[320], s1[320];
    summary(s0, sizeof s0, &t[0], "paced 10 us, 100 us, 1 ms: <= 1.2x textbook");
    summary(s1, sizeof s1, &t[1], "idle queue: CPU <= 1% of the wait");
    enum verdict v = verdict_of(t, 2);
    snprintf(line, len, "goal 5, CPU cost of waiting (consumer thread CPU time): %s; %s  %s", s0,
             s1, verdict_name[v]);
    return v;
}

/* The largest capacity up to 64 at which mq's 1x1 process throughput run
 * with elem_size-byte elements really had the capacity asked; 0: none. */
static size_t mq_fair_capacity(const struct bq_result *all, size_t n, size_t elem_size)
{
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bq_config *c = &all[i].cfg;
        if (strcmp(c->ops->name, "mq") == 0 && c->processes && !c->latency && !c->hog &&
            c->producers == 1 && c->consumers == 1 && c->batch == 1 && c->work_ns == 0 &&
            c->producer_work_ns == 0 && c->elem_size == elem_size && c->capacity <= 64 &&
            all[i].eff_cap == c->capacity && c->capacity > best)
            best = c->capacity;
    }
    return best;
}

/* pcq_shared against the pipe and the socket pair in goal 6's cell: shown,
 * not judged. */
static void shown(FILE *out, const struct bq_result *all, size_t n, const struct bq_config *key,
                  const struct bq_result *p, enum bq_figure f)
{
    static const char *const peers[] = {"pipe", "socketpair"};
    for (size_t k = 0; k < 2; k++) {
        struct bq_ratio x = bq_ratio_of(p, find(all, n, peers[k], key), f);
        char where[192];
        cell_label(where, sizeof where, key, peers[k]);
        if (x.ok)
            fprintf(out, "  goal 6, shown, not judged: %s%s: %.2fx [%.2f..%.2f]\n", where,
                    f == BQ_FIG_P50 ? ", p50" : "", x.med, x.lo, x.hi);
    }
}

/* 6. Across processes (idle machine, 1 producer process x 1 consumer
 * process, 8- and 64-byte elements): pcq on a shared queue moves >= 10x
 * the elements per second of a POSIX message queue, and its ping-pong p50
 * is <= 0.5x mq's. Throughput is compared at capacity 64, or where mq could
 * not have 64 messages (an unprivileged mq_maxmsg is at most msg_max, 10 by
 * default), at the largest capacity it did have: a smaller ring would be a
 * handicap that flatters pcq. A ping-pong keeps one element in flight, so
 * its capacity (64) does not matter. The pipe and the socket pair are
 * printed beside it, not judged. */
static enum verdict across_processes(FILE *out, const struct bq_result *all, size_t n,
                                     char *line, size_t len)
{
    static const size_t elems[] = {8, 64};
    struct tally t[2];
    tally_init(&t[0]);
    tally_init(&t[1]);
    char where[192];
    for (size_t i = 0; i < 2; i++) {
        const size_t fair = mq_fair_capacity(all, n, elems[i]);
        struct bq_config key = cell_key(1, 1, fair != 0 ? fair : 64, 1, 0, false);
        key.processes = true;
        key.elem_size = elems[i];
        const struct bq_result *p = find(all, n, "pcq_shared", &key), *m = find(all, n, "mq", &key);
        const char *why = p == NULL                 ? "pcq_shared not in this run"
                          : m == NULL               ? "mq not in this run"
                          : m->status != BQ_ST_OK   ? "mq did not finish"
                                                    : "no finished rounds";
        struct bq_ratio q = bq_ratio_of(p, m, BQ_FIG_EPS);
        if (q.ok && m->eff_cap != key.capacity) {
            q.ok = false;
            why = "mq never had the capacity asked (msg_max)";
        }
        cell_label(where, sizeof where, &key, "mq");
        check(out, &t[0], "goal 6", where, q, 10.0, true, why, false);
        shown(out, all, n, &key, p, BQ_FIG_EPS);

        key.latency = true;
        key.capacity = 64;
        p = find(all, n, "pcq_shared", &key);
        m = find(all, n, "mq", &key);
        why = p == NULL ? "pcq_shared not in this run" : m == NULL ? "mq not in this run"
                                                                   : "no finished rounds";
        q = bq_ratio_of(p, m, BQ_FIG_P50);
        cell_label(where, sizeof where, &key, "mq, p50");
        check(out, &t[1], "goal 6", where, q, 0.5, false, why, false);
        shown(out, all, n, &key, p, BQ_FIG_P50);
    }
    char s0[320], s1[320];
    summary(s0, sizeof s0, &t[0], "1x1, 8 and 64 B, >= 10x mq at a capacity both had");
    summary(s1, sizeof s1, &t[1], "ping-pong p50, 8 and 64 B, <= 0.5x mq");
    enum verdict v = verdict_of(t, 2);
    snprintf(line, len, "goal 6, across processes (pcq_shared vs POSIX mq): %s; %s  %s", s0, s1,
             verdict_name[v]);
    return v;
}

/* Not a goal: allocations in pcq's loops, and what pcq_create asks for. */
static void memory_line(FILE *out, const struct bq_result *all, size_t n,
                        const struct bq_footprint *fp)
{
    uint64_t allocs = 0;
    unsigned configs = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].cfg.ops->name, "pcq") == 0) {
            allocs += all[i].allocs;
            configs++;
        }
    fprintf(out,
            "memory (reported, not a goal): %llu allocator calls in the push/pop loops of %u pcq "
            "scenarios (malloc/calloc/realloc/aligned_alloc/posix_memalign wrapped); pcq_create "
            "asks capacity x elem_size + %zu..%zu bytes\n",
            (unsigned long long)allocs, configs, fp->min_extra, fp->max_extra);
}

/* Other processes' share of the CPUs above which the idle half is flagged. */
#define IDLE_OTHERS_NOTE 0.2

int bq_print_goals(FILE *out, const struct bq_result *all, size_t n, const struct bq_scope *scope)
{
    char line[6][2048];
    enum verdict v[6];
    int first = 0;
    fprintf(out, "\n== goal details (ratio of medians [smallest..largest per-round ratio]) ==\n");
    if (scope->processes_only) {
        first = 5; /* a process run alone measures nothing of goals 1 to 5 */
    } else {
        v[0] = no_regressions(out, all, n, scope, line[0], sizeof line[0]);
        v[1] = large_rings(out, all, n, line[1], sizeof line[1]);
        v[2] = busy_machine(out, all, n, scope, line[2], sizeof line[2]);
        v[3] = idle_machine(out, all, n, line[3], sizeof line[3]);
        v[4] = cpu_cost(out, all, n, line[4], sizeof line[4]);
    }
    v[5] = across_processes(out, all, n, line[5], sizeof line[5]);
    fprintf(out, "\n== goals (ratios of medians of this run; [smallest..largest per-round "
                 "ratio]) ==\n");
    int bad = 0;
    for (int i = first; i < 6; i++) {
        fprintf(out, "%s\n", line[i]);
        bad += v[i] != PASS;
    }
    if (!scope->processes_only)
        memory_line(out, all, n, &scope->footprint);
    if (scope->idle_load[0])
        fprintf(out, "load in the idle half: %s\n", scope->idle_load);
    if (scope->hog_load[0])
        fprintf(out, "load in the hog half: %s\n", scope->hog_load);
    /* An idle half that shared the machine measured something else. */
    if (scope->idle_others > IDLE_OTHERS_NOTE)
        fprintf(out, "NOTE: other processes (or the hypervisor) took %.2f CPUs during the idle "
                     "half: it was not an idle machine; rerun on a quiet one before trusting "
                     "goals 2, 4, 5 and 6\n",
                scope->idle_others);
    return bad;
}
