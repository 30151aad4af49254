/*
 * run.c — measure one configuration: runs, verification, statistics.
 *
 * A run creates the queue, gives every worker its part and a buffer (all
 * before the clock starts), and starts the workers behind one barrier.
 * Each worker notes the time right after the barrier and right after its
 * last operation; a run lasts from the earliest start to the latest end
 * (release to last finish). The main thread sleeps on a condition variable
 * until the last worker is done or the run's time limit passes: a spinning
 * queue is then told to give up (did not finish); a blocking queue that
 * outlives the hang limit is a fatal error.
 *
 * Every run is verified before it counts: the elements consumed must equal
 * those produced in number, sum and xor (each producer makes distinct
 * values), and every call must have succeeded. A run that fails stops the
 * benchmark with a message; its figures are never reported.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcq.h"

atomic_bool bq_abort;

int bq_fail(const char *queue, const char *call, int rc)
{
    fprintf(stderr, "pcq-bench: %s: %s returned %d (%s)\n", queue, call, rc,
            rc > 0 && rc < 4096 ? strerror(rc) : "not an errno");
    return BQ_FAILED;
}

unsigned char *bq_worker_begin(struct bq_worker *w)
{
    int rc = pthread_barrier_wait(&w->run->start);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PCQ_CHECK(rc);
    w->t_start = pcq__now_ns();
    w->allocs = bq_thread_allocs();
    return w->buf;
}

void bq_worker_end(struct bq_worker *w)
{
    w->t_end = pcq__now_ns();
    w->allocs = bq_thread_allocs() - w->allocs;
    struct bq_run *r = w->run;
    PCQ_CHECK(pthread_mutex_lock(&r->done_mu));
    if (++r->done == r->workers) /* only the last one wakes the main thread */
        PCQ_CHECK(pthread_cond_signal(&r->done_cv));
    PCQ_CHECK(pthread_mutex_unlock(&r->done_mu));
}

bool bq_fits(const struct bq_config *c, const char **why)
{
    const struct bq_ops *o = c->ops;
    const char *w = NULL;
    if (!o->available)
        w = o->missing;
    else if ((o->flags & BQ_F_SPSC) && (c->producers != 1 || c->consumers != 1))
        w = "single producer, single consumer only";
    else if (c->batch > 1 && !o->has_batch)
        w = "no batch calls";
    else if (c->batch == 1 && (o->flags & BQ_F_BATCH_ONLY) && !c->latency)
        w = "batch sizes above 1 only (it is the baseline for batch calls)";
    else if (o->max_elem != 0 && c->elem_size > o->max_elem)
        w = "element larger than it carries atomically";
    if (why != NULL)
        *why = w;
    return w == NULL;
}

void bq_label(const struct bq_config *c, char *buf, size_t len)
{
    if (c->latency)
        snprintf(buf, len, "%s ping-pong cap %zu", c->ops->name, c->capacity);
    else
        snprintf(buf, len, "%s %ux%u cap %zu batch %zu elem %zu", c->ops->name, c->producers,
                 c->consumers, c->capacity, c->batch, c->elem_size);
}

/* ------------------------------------------------------------------ */

enum run_outcome { RUN_OK, RUN_DNF, RUN_FAILED };

struct sample {
    double eps;                 /* throughput */
    uint64_t p50, p99, max_rtt; /* latency */
    uint64_t allocs;
};

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "pcq-bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static struct timespec deadline_after(double s)
{
    struct timespec d;
    clock_gettime(CLOCK_MONOTONIC, &d);
    double whole = (double)(time_t)s;
    d.tv_sec += (time_t)whole;
    d.tv_nsec += (long)((s - whole) * 1e9);
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

/* Start the workers, wait for them within the limits, join them.
 * Returns RUN_OK or RUN_DNF (a spinning queue told to give up). */
static enum run_outcome start_and_wait(struct bq_run *r, struct bq_worker *w, bq_loop_fn *fn,
                                       const struct bq_limits *lim, const char *label)
{
    pthread_condattr_t ca;
    PCQ_CHECK(pthread_condattr_init(&ca));
    PCQ_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    PCQ_CHECK(pthread_cond_init(&r->done_cv, &ca));
    PCQ_CHECK(pthread_condattr_destroy(&ca));
    PCQ_CHECK(pthread_mutex_init(&r->done_mu, NULL));
    PCQ_CHECK(pthread_barrier_init(&r->start, NULL, r->workers));
    r->done = 0;

    pthread_t *t = xalloc(r->workers * sizeof *t);
    for (unsigned i = 0; i < r->workers; i++)
        PCQ_CHECK(pthread_create(&t[i], NULL, fn[i], &w[i]));

    const bool spins = (r->ops->flags & BQ_F_SPINS) != 0;
    enum run_outcome out = RUN_OK;
    struct timespec deadline = deadline_after(spins ? lim->time_limit_s : lim->hang_limit_s);
    PCQ_CHECK(pthread_mutex_lock(&r->done_mu));
    while (r->done < r->workers) {
        int rc = pthread_cond_timedwait(&r->done_cv, &r->done_mu, &deadline);
        if (rc == ETIMEDOUT) {
            if (!spins || out == RUN_DNF) {
                fprintf(stderr,
                        "\npcq-bench: FATAL: %s still running %.0f s after %s: a queue that "
                        "never finishes is a bug (or the machine is far too busy)\n",
                        label, lim->hang_limit_s,
                        out == RUN_DNF ? "being told to give up" : "its start");
                exit(4);
            }
            atomic_store(&bq_abort, true); /* spinners give up at their next failed try */
            out = RUN_DNF;
            deadline = deadline_after(lim->hang_limit_s);
        } else if (rc != 0) {
            PCQ_CHECK(rc);
        }
    }
    PCQ_CHECK(pthread_mutex_unlock(&r->done_mu));
    for (unsigned i = 0; i < r->workers; i++)
        PCQ_CHECK(pthread_join(t[i], NULL));
    free(t);
    atomic_store(&bq_abort, false);
    PCQ_CHECK(pthread_barrier_destroy(&r->start));
    PCQ_CHECK(pthread_cond_destroy(&r->done_cv));
    PCQ_CHECK(pthread_mutex_destroy(&r->done_mu));
    return out;
}

struct tally {
    uint64_t count, sum, xr;
    bool failed, aborted;
};

static struct tally tally(const struct bq_worker *w, unsigned from, unsigned to)
{
    struct tally t = {0, 0, 0, false, false};
    for (unsigned i = from; i < to; i++) {
        t.count += w[i].count;
        t.sum += w[i].sum;
        t.xr ^= w[i].xr;
        t.failed |= w[i].status == BQ_FAILED;
        t.aborted |= w[i].status == BQ_ABORTED;
    }
    return t;
}

static void span(const struct bq_worker *w, unsigned n, uint64_t *t0, uint64_t *t1,
                 uint64_t *allocs)
{
    *t0 = UINT64_MAX;
    *t1 = 0;
    *allocs = 0;
    for (unsigned i = 0; i < n; i++) {
        if (w[i].t_start < *t0)
            *t0 = w[i].t_start;
        if (w[i].t_end > *t1)
            *t1 = w[i].t_end;
        *allocs += w[i].allocs;
    }
}

static void verification_failed(const char *label, const char *what, struct tally p, struct tally c)
{
    fprintf(stderr,
            "\npcq-bench: VERIFICATION FAILED: %s: %s\n"
            "  produced %llu elements (sum %llu, xor %llu)\n"
            "  consumed %llu elements (sum %llu, xor %llu)\n"
            "  no figure is reported for this configuration\n",
            label, what, (unsigned long long)p.count, (unsigned long long)p.sum,
            (unsigned long long)p.xr, (unsigned long long)c.count, (unsigned long long)c.sum,
            (unsigned long long)c.xr);
}

/*
 * Check a finished run. Workers [0, split) produced (or pinged), the rest
 * consumed (or ponged): both sides must account for `expected` elements
 * with the same sum and xor, and no call may have failed. A ping that came
 * back different from what was sent counts as a failed call.
 */
static enum run_outcome verify(const char *label, const struct bq_worker *w, unsigned split,
                               unsigned n, uint64_t expected, enum run_outcome out)
{
    struct tally p = tally(w, 0, split), k = tally(w, split, n);
    if (p.failed || k.failed) {
        verification_failed(label, "a queue call failed (or a ping came back changed)", p, k);
        return RUN_FAILED;
    }
    if (out == RUN_OK && (p.aborted || k.aborted))
        out = RUN_DNF;
    if (out == RUN_OK &&
        (p.count != expected || k.count != expected || p.sum != k.sum || p.xr != k.xr)) {
        verification_failed(label, "what came out is not what went in", p, k);
        return RUN_FAILED;
    }
    return out;
}

/* One throughput run of `count` elements. */
static enum run_outcome run_throughput(const struct bq_config *c, uint64_t count,
                                       unsigned char *arena, const struct bq_limits *lim,
                                       size_t *eff_cap, struct sample *s)
{
    char label[160];
    bq_label(c, label, sizeof label);
    const struct bq_ops *o = c->ops;
    const bool by_ptr = c->elem_size > o->max_inline;
    struct bq_run r;
    memset(&r, 0, sizeof r);
    r.ops = o;
    r.elem_size = c->elem_size;
    r.batch = c->batch;
    r.by_pointer = by_ptr;
    r.arena = arena;
    r.consumers = c->consumers;
    r.workers = c->producers + c->consumers;
    atomic_init(&r.producers_left, c->producers);
    int rc = o->create(&r.q, c->capacity, by_ptr ? sizeof(void *) : c->elem_size, eff_cap);
    if (rc != 0) {
        fprintf(stderr, "pcq-bench: %s: cannot create the queue: %s\n", label, strerror(rc));
        return RUN_FAILED;
    }

    struct bq_worker *w = xalloc(r.workers * sizeof *w);
    bq_loop_fn *fn = xalloc(r.workers * sizeof *fn);
    const size_t buf_bytes = c->batch * c->elem_size;
    uint64_t slot = 0;
    for (unsigned i = 0; i < r.workers; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].run = &r;
        w[i].index = i;
        w[i].buf = xalloc(buf_bytes);
        memset(w[i].buf, 0x5a, buf_bytes);
        if (i < c->producers) {
            w[i].n = count / c->producers + (i < count % c->producers);
            w[i].first_value = ((uint64_t)(i + 1) << 40) + 1;
            w[i].slot0 = slot;
            slot += w[i].n;
            fn[i] = o->producer;
        } else {
            fn[i] = o->consumer;
        }
    }

    enum run_outcome out = start_and_wait(&r, w, fn, lim, label);
    o->destroy(r.q);

    out = verify(label, w, c->producers, r.workers, count, out);
    if (out == RUN_OK) {
        uint64_t t0, t1;
        span(w, r.workers, &t0, &t1, &s->allocs);
        s->eps = (double)count * 1e9 / (double)(t1 > t0 ? t1 - t0 : 1);
    }
    for (unsigned i = 0; i < r.workers; i++)
        free(w[i].buf);
    free(w);
    free(fn);
    return out;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The value at percentile pct of n sorted values (nearest rank). */
static uint64_t percentile(const uint64_t *sorted, uint64_t n, unsigned pct)
{
    uint64_t rank = (n * pct + 99) / 100; /* ceil(n * pct / 100), 1-based */
    return sorted[rank == 0 ? 0 : rank - 1];
}

/* One ping-pong run: `trips` measured round trips after a few unmeasured. */
static enum run_outcome run_latency(const struct bq_config *c, uint64_t trips,
                                    const struct bq_limits *lim, size_t *eff_cap,
                                    struct sample *s)
{
    char label[160];
    bq_label(c, label, sizeof label);
    const struct bq_ops *o = c->ops;
    struct bq_run r;
    memset(&r, 0, sizeof r);
    r.ops = o;
    r.elem_size = sizeof(uint64_t);
    r.batch = 1;
    r.consumers = 1;
    r.workers = 2;
    r.round_trips = trips;
    r.warm_trips = trips / 10 < 1000 ? trips / 10 : 1000;
    r.rtt_ns = xalloc(trips * sizeof *r.rtt_ns);
    memset(r.rtt_ns, 0, trips * sizeof *r.rtt_ns); /* touch the pages now */
    int rc = o->create(&r.q, c->capacity, sizeof(uint64_t), eff_cap);
    if (rc == 0) {
        size_t ignored;
        rc = o->create(&r.q_back, c->capacity, sizeof(uint64_t), &ignored);
        if (rc != 0)
            o->destroy(r.q);
    }
    if (rc != 0) {
        fprintf(stderr, "pcq-bench: %s: cannot create the queues: %s\n", label, strerror(rc));
        free(r.rtt_ns);
        return RUN_FAILED;
    }
    struct bq_worker w[2];
    bq_loop_fn fn[2] = {o->ping, o->pong};
    for (unsigned i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].run = &r;
        w[i].index = i;
        w[i].buf = xalloc(sizeof(uint64_t));
        memset(w[i].buf, 0x5a, sizeof(uint64_t));
    }
    enum run_outcome out = start_and_wait(&r, w, fn, lim, label);
    o->destroy(r.q);
    o->destroy(r.q_back);

    out = verify(label, w, 1, 2, r.warm_trips + trips, out);
    if (out == RUN_OK) {
        uint64_t t0, t1;
        span(w, 2, &t0, &t1, &s->allocs);
        qsort(r.rtt_ns, trips, sizeof *r.rtt_ns, cmp_u64);
        s->p50 = percentile(r.rtt_ns, trips, 50);
        s->p99 = percentile(r.rtt_ns, trips, 99);
        s->max_rtt = r.rtt_ns[trips - 1];
    }
    free(w[0].buf);
    free(w[1].buf);
    free(r.rtt_ns);
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct bq_stat stat_of(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    struct bq_stat s;
    s.min = v[0];
    s.max = v[n - 1];
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

static void progress(const struct bq_limits *lim, const char *label, unsigned run, unsigned runs)
{
    if (!lim->progress)
        return;
    static uint64_t last;
    const bool tty = isatty(STDERR_FILENO);
    uint64_t now = pcq__now_ns();
    /* On a terminal: one line rewritten in place. Otherwise (a log): at
     * most one line every 10 s. */
    if (!tty && now - last < 10000000000ull)
        return;
    last = now;
    fprintf(stderr, "%s%s %s: run %u/%u%s", tty ? "\r\033[K" : "", lim->progress_prefix, label,
            run, runs, tty ? "" : "\n");
    fflush(stderr);
}

int bq_measure(const struct bq_config *c, const struct bq_limits *lim, struct bq_result *res)
{
    memset(res, 0, sizeof *res);
    res->cfg = *c;
    res->by_pointer = !c->latency && c->elem_size > c->ops->max_inline;
    char label[160];
    bq_label(c, label, sizeof label);

    unsigned char *arena = NULL;
    if (res->by_pointer) {
        /* One slot per element of a run, touched before any clock starts. */
        arena = xalloc((size_t)c->count * c->elem_size);
        memset(arena, 0x5a, (size_t)c->count * c->elem_size);
    }
    const uint64_t t_begin = pcq__now_ns();
    const unsigned total = lim->warmups + lim->repeats;
    double *eps = xalloc(total * sizeof *eps), *p50 = xalloc(total * sizeof *p50),
           *p99 = xalloc(total * sizeof *p99), *mx = xalloc(total * sizeof *mx);
    unsigned got = 0;
    int ret = 0;
    res->status = BQ_ST_OK;
    for (unsigned i = 0; i < total; i++) {
        const bool warm = i < lim->warmups;
        progress(lim, label, i + 1, total);
        struct sample s;
        memset(&s, 0, sizeof s);
        enum run_outcome out;
        if (c->latency) {
            uint64_t trips = warm ? (c->round_trips + 3) / 4 : c->round_trips;
            out = run_latency(c, trips, lim, &res->eff_cap, &s);
        } else {
            uint64_t n = c->count;
            if (warm && n / 4 >= 1000)
                n /= 4; /* a warm-up needs no full run */
            out = run_throughput(c, n, arena, lim, &res->eff_cap, &s);
        }
        if (out == RUN_FAILED) {
            ret = -1;
            break;
        }
        if (out == RUN_DNF) {
            res->status = BQ_ST_DNF;
            res->limit_s = lim->time_limit_s;
            res->dnf_count = c->latency ? (warm ? (c->round_trips + 3) / 4 : c->round_trips)
                                        : (warm && c->count / 4 >= 1000 ? c->count / 4 : c->count);
            break;
        }
        res->allocs += s.allocs;
        if (!warm) {
            eps[got] = s.eps;
            p50[got] = (double)s.p50;
            p99[got] = (double)s.p99;
            mx[got] = (double)s.max_rtt;
            got++;
        }
    }
    res->runs = got;
    res->seconds = (double)(pcq__now_ns() - t_begin) / 1e9;
    if (ret == 0 && res->status == BQ_ST_OK && got > 0) {
        res->eps = stat_of(eps, got);
        res->p50 = stat_of(p50, got);
        res->p99 = stat_of(p99, got);
        res->max = stat_of(mx, got);
    }
    free(eps);
    free(p50);
    free(p99);
    free(mx);
    free(arena);
    return ret;
}

void bq_measure_footprint(struct bq_footprint *fp)
{
    static const size_t shapes[][2] = {{1, 8}, {64, 8}, {4096, 8}, {1000, 256}};
    fp->min_extra = SIZE_MAX;
    fp->max_extra = 0;
    fp->shapes = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pcq_t *q;
        if (pcq_create(&q, shapes[i][0], shapes[i][1]) != 0)
            continue;
        size_t extra = bq_thread_last_aligned_bytes() - shapes[i][0] * shapes[i][1];
        pcq_destroy(q);
        fp->min_extra = extra < fp->min_extra ? extra : fp->min_extra;
        fp->max_extra = extra > fp->max_extra ? extra : fp->max_extra;
        fp->shapes++;
    }
    if (fp->shapes == 0)
        fp->min_extra = 0;
}
