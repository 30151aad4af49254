/*
 * run.c — measure a scenario: runs, verification, interleaved rounds,
 * statistics.
 *
 * A run creates the queue, gives every worker its part and a buffer (all
 * before the clock starts), and starts the workers behind one barrier.
 * Each worker notes the time (and its thread's CPU time) right after the
 * barrier and right after its last operation; a run lasts from the earliest
 * start to the latest end (release to last finish). The main thread sleeps
 * on a condition variable until the last worker is done or the run's time
 * limit passes: a spinning queue is then told to give up (did not finish);
 * a blocking queue that outlives the hang limit is a fatal error.
 *
 * A scenario (the same run for several queues) is measured in rounds: each
 * round runs every queue once, always in the same order (A B C A B C ...),
 * so that a drift of the machine (another tenant, the clock, where the
 * vCPUs sit) hits every queue alike and round i of pcq can be set against
 * round i of a peer. A sized run (count 0) gets its length per queue from a
 * pilot run and then from the first warm-up, so that each queue's runs last
 * about as long as every other's.
 *
 * Every run is verified before it counts: the elements consumed must equal
 * those produced in number, sum and xor (each producer makes distinct
 * values), and every call must have succeeded. A run that fails stops the
 * benchmark with a message; its figures are never reported.
 */
#include "harness.h"

#include <errno.h>
#include <math.h>
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

/* This thread's CPU time in ns. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
        pcq__die("clock_gettime(CLOCK_THREAD_CPUTIME_ID)", errno, __FILE__, __LINE__);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

unsigned char *bq_worker_begin(struct bq_worker *w)
{
    int rc = pthread_barrier_wait(&w->run->start);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PCQ_CHECK(rc);
    w->t_start = pcq__now_ns();
    w->cpu_ns = thread_cpu_ns();
    w->allocs = bq_thread_allocs();
    return w->buf;
}

void bq_worker_end(struct bq_worker *w)
{
    w->t_end = pcq__now_ns();
    w->cpu_ns = thread_cpu_ns() - w->cpu_ns;
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
    else if (c->pace_ns != 0 && (c->latency || c->batch != 1))
        w = "paced runs are single-element throughput runs";
    else if (c->latency && (c->work_ns != 0 || c->producer_work_ns != 0))
        w = "ping-pong has no per-element work";
    else if (c->processes && o->in_child == NULL)
        w = "cannot cross a fork (threads only)";
    else if (!c->processes && (o->flags & BQ_F_PROCESSES_ONLY))
        w = "process runs only (--processes)";
    else if (c->processes && c->pace_ns != 0)
        w = "process runs are not paced";
    if (why != NULL)
        *why = w;
    return w == NULL;
}

bool bq_same_scenario(const struct bq_config *a, const struct bq_config *b)
{
    return a->latency == b->latency && a->producers == b->producers &&
           a->consumers == b->consumers && a->capacity == b->capacity && a->batch == b->batch &&
           a->elem_size == b->elem_size && a->count == b->count &&
           a->round_trips == b->round_trips && a->work_ns == b->work_ns &&
           a->producer_work_ns == b->producer_work_ns && a->pace_ns == b->pace_ns &&
           a->hog == b->hog && a->processes == b->processes;
}

void bq_scenario_label(const struct bq_config *c, char *buf, size_t len)
{
    const char *machine = c->hog ? "hog" : "idle";
    size_t k;
    if (c->latency && c->processes) {
        snprintf(buf, len, "ping-pong processes cap %zu elem %zu, %s", c->capacity, c->elem_size,
                 machine);
        return;
    }
    if (c->latency) {
        snprintf(buf, len, "ping-pong cap %zu, %s", c->capacity, machine);
        return;
    }
    if (c->pace_ns != 0)
        k = (size_t)snprintf(buf, len, "paced 1 per %.0f us, %ux%u cap %zu", c->pace_ns / 1e3,
                             c->producers, c->consumers, c->capacity);
    else
        k = (size_t)snprintf(buf, len, "%ux%u%s cap %zu batch %zu elem %zu", c->producers,
                             c->consumers, c->processes ? " processes" : "", c->capacity,
                             c->batch, c->elem_size);
    if (k < len && c->work_ns != 0)
        k += (size_t)snprintf(buf + k, len - k, ", work %llu ns", (unsigned long long)c->work_ns);
    if (k < len && c->producer_work_ns != 0)
        k += (size_t)snprintf(buf + k, len - k, ", producer work %llu ns",
                              (unsigned long long)c->producer_work_ns);
    if (k < len)
        snprintf(buf + k, len - k, ", %s", machine);
}

void bq_label(const struct bq_config *c, char *buf, size_t len)
{
    char s[128];
    bq_scenario_label(c, s, sizeof s);
    snprintf(buf, len, "%s %s", c->ops->name, s);
}

/* ------------------------------------------------------------------ */

enum run_outcome { RUN_OK, RUN_DNF, RUN_FAILED };

struct sample {
    double seconds;             /* the run, release to last end */
    double eps, cpu, fair;      /* throughput */
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

/*
 * Where a run's state lives. Threads: this process's heap. A process run:
 * one shared mapping that holds the run, its workers and (ping-pong) the
 * round trips, so that the worker processes meet at its barrier and leave
 * their results where the parent reads them.
 */
struct run_mem {
    struct bq_run *r;
    struct bq_worker *w;
    uint64_t *rtt; /* ping-pong only */
    void *map;     /* a process run's mapping, else NULL */
    size_t len;
};

static size_t round_up(size_t n) { return (n + 63) / 64 * 64; }

static void run_mem_get(struct run_mem *m, bool processes, unsigned workers, uint64_t trips)
{
    const size_t rb = round_up(sizeof *m->r), wb = round_up(workers * sizeof *m->w),
                 tb = round_up((size_t)trips * sizeof *m->rtt);
    memset(m, 0, sizeof *m);
    if (processes) {
        m->len = rb + wb + tb;
        m->map = bq_shared_alloc(m->len);
        m->r = m->map;
        m->w = (struct bq_worker *)((unsigned char *)m->map + rb);
        m->rtt = trips > 0 ? (uint64_t *)((unsigned char *)m->map + rb + wb) : NULL;
    } else {
        m->r = xalloc(rb);
        m->w = xalloc(wb);
        m->rtt = trips > 0 ? xalloc(tb) : NULL;
    }
    memset(m->r, 0, rb);
    memset(m->w, 0, wb);
    if (m->rtt != NULL)
        memset(m->rtt, 0, tb); /* touch the pages now */
    m->r->processes = processes;
    m->r->rtt_ns = m->rtt;
}

static void run_mem_put(struct run_mem *m)
{
    if (m->map != NULL) {
        bq_shared_free(m->map, m->len);
        return;
    }
    free(m->r);
    free(m->w);
    free(m->rtt);
}

/* Start the workers, wait for them within the limits, join them (reap
 * their processes). use[i] says how worker i uses the queues (process
 * runs). Returns RUN_OK, RUN_DNF (a spinning queue told to give up) or
 * RUN_FAILED (a worker's process failed). */
static enum run_outcome start_and_wait(struct bq_run *r, struct bq_worker *w, bq_loop_fn *fn,
                                       const unsigned *use, const struct bq_limits *lim,
                                       const char *label)
{
    const int pshared = r->processes ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE;
    pthread_condattr_t ca;
    PCQ_CHECK(pthread_condattr_init(&ca));
    PCQ_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    PCQ_CHECK(pthread_condattr_setpshared(&ca, pshared));
    PCQ_CHECK(pthread_cond_init(&r->done_cv, &ca));
    PCQ_CHECK(pthread_condattr_destroy(&ca));
    pthread_mutexattr_t ma;
    PCQ_CHECK(pthread_mutexattr_init(&ma));
    PCQ_CHECK(pthread_mutexattr_setpshared(&ma, pshared));
    PCQ_CHECK(pthread_mutex_init(&r->done_mu, &ma));
    PCQ_CHECK(pthread_mutexattr_destroy(&ma));
    pthread_barrierattr_t ba;
    PCQ_CHECK(pthread_barrierattr_init(&ba));
    PCQ_CHECK(pthread_barrierattr_setpshared(&ba, pshared));
    PCQ_CHECK(pthread_barrier_init(&r->start, &ba, r->workers));
    PCQ_CHECK(pthread_barrierattr_destroy(&ba));
    r->done = 0;
    for (unsigned i = 0; i < r->workers; i++) {
        w[i].q = r->q;
        w[i].q_back = r->q_back;
    }
    if (r->processes) {
        /* No worker waits on done_cv's sleepers: the parent waits in waitpid. */
        enum run_outcome out = bq_run_processes(r, w, fn, use, lim, label) == 0 ? RUN_OK
                                                                             : RUN_FAILED;
        PCQ_CHECK(pthread_barrier_destroy(&r->start));
        PCQ_CHECK(pthread_cond_destroy(&r->done_cv));
        PCQ_CHECK(pthread_mutex_destroy(&r->done_mu));
        return out;
    }

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
    const unsigned workers = c->producers + c->consumers;
    struct run_mem m;
    run_mem_get(&m, c->processes, workers, 0);
    struct bq_run *r = m.r;
    r->ops = o;
    r->elem_size = c->elem_size;
    r->batch = c->batch;
    r->by_pointer = by_ptr;
    r->arena = arena;
    r->consumers = c->consumers;
    r->workers = workers;
    r->work_iters = bq_work_iters(c->work_ns, lim->ns_per_iter);
    r->producer_work_iters = bq_work_iters(c->producer_work_ns, lim->ns_per_iter);
    r->pace_ns = c->pace_ns;
    atomic_init(&r->producers_left, c->producers);
    int rc = o->create(&r->q, c->capacity, by_ptr ? sizeof(void *) : c->elem_size, eff_cap);
    if (rc != 0) {
        fprintf(stderr, "pcq-bench: %s: cannot create the queue: %s\n", label, strerror(rc));
        run_mem_put(&m);
        return RUN_FAILED;
    }

    struct bq_worker *w = m.w;
    bq_loop_fn *fn = xalloc(workers * sizeof *fn);
    unsigned *use = xalloc(workers * sizeof *use);
    const size_t buf_bytes = c->batch * c->elem_size;
    uint64_t slot = 0;
    for (unsigned i = 0; i < workers; i++) {
        w[i].run = r;
        w[i].index = i;
        w[i].buf = xalloc(buf_bytes);
        w[i].buf_bytes = buf_bytes;
        memset(w[i].buf, 0x5a, buf_bytes);
        if (i < c->producers) {
            w[i].n = count / c->producers + (i < count % c->producers);
            w[i].first_value = ((uint64_t)(i + 1) << 40) + 1;
            w[i].slot0 = slot;
            slot += w[i].n;
            fn[i] = o->producer;
            use[i] = BQ_USE_WRITES;
        } else {
            fn[i] = o->consumer;
            use[i] = BQ_USE_READS;
        }
    }

    enum run_outcome out = start_and_wait(r, w, fn, use, lim, label);
    o->destroy(r->q);

    out = verify(label, w, c->producers, workers, count, out);
    if (out == RUN_OK) {
        uint64_t t0, t1, cpu = 0, most = 0, least = UINT64_MAX;
        span(w, workers, &t0, &t1, &s->allocs);
        s->seconds = (double)(t1 > t0 ? t1 - t0 : 1) / 1e9;
        s->eps = (double)count / s->seconds;
        for (unsigned i = c->producers; i < workers; i++) {
            cpu += w[i].cpu_ns;
            most = w[i].count > most ? w[i].count : most;
            least = w[i].count < least ? w[i].count : least;
        }
        s->cpu = (double)cpu / (double)count;
        s->fair = least == 0 ? INFINITY : (double)most / (double)least;
    }
    for (unsigned i = 0; i < workers; i++)
        free(w[i].buf);
    free(fn);
    free(use);
    run_mem_put(&m);
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

/* One ping-pong run: `trips` measured round trips after a few unmeasured.
 * Threads bounce an 8-byte element; a process run one of elem_size bytes. */
static enum run_outcome run_latency(const struct bq_config *c, uint64_t trips,
                                    const struct bq_limits *lim, size_t *eff_cap,
                                    struct sample *s)
{
    char label[160];
    bq_label(c, label, sizeof label);
    const struct bq_ops *o = c->ops;
    const size_t esz = c->processes ? c->elem_size : sizeof(uint64_t);
    struct run_mem m;
    run_mem_get(&m, c->processes, 2, trips);
    struct bq_run *r = m.r;
    r->ops = o;
    r->elem_size = esz;
    r->batch = 1;
    r->consumers = 1;
    r->workers = 2;
    r->round_trips = trips;
    r->warm_trips = trips / 10 < 1000 ? trips / 10 : 1000;
    int rc = o->create(&r->q, c->capacity, esz, eff_cap);
    if (rc == 0) {
        size_t ignored;
        rc = o->create(&r->q_back, c->capacity, esz, &ignored);
        if (rc != 0)
            o->destroy(r->q);
    }
    if (rc != 0) {
        fprintf(stderr, "pcq-bench: %s: cannot create the queues: %s\n", label, strerror(rc));
        run_mem_put(&m);
        return RUN_FAILED;
    }
    struct bq_worker *w = m.w;
    bq_loop_fn fn[2] = {o->ping, o->pong};
    /* The pinger pushes into q and pops the reply from q_back; the ponger the reverse. */
    const unsigned use[2] = {BQ_USE_WRITES | BQ_USE_BACK_READS, BQ_USE_READS | BQ_USE_BACK_WRITES};
    for (unsigned i = 0; i < 2; i++) {
        w[i].run = r;
        w[i].index = i;
        w[i].buf = xalloc(esz);
        w[i].buf_bytes = esz;
        memset(w[i].buf, 0x5a, esz);
    }
    enum run_outcome out = start_and_wait(r, w, fn, use, lim, label);
    o->destroy(r->q);
    o->destroy(r->q_back);

    out = verify(label, w, 1, 2, r->warm_trips + trips, out);
    if (out == RUN_OK) {
        uint64_t t0, t1;
        span(w, 2, &t0, &t1, &s->allocs);
        s->seconds = (double)(t1 > t0 ? t1 - t0 : 1) / 1e9;
        qsort(r->rtt_ns, trips, sizeof *r->rtt_ns, cmp_u64);
        s->p50 = percentile(r->rtt_ns, trips, 50);
        s->p99 = percentile(r->rtt_ns, trips, 99);
        s->max_rtt = r->rtt_ns[trips - 1];
    }
    free(w[0].buf);
    free(w[1].buf);
    run_mem_put(&m);
    return out;
}

static void progress(const struct bq_limits *lim, const char *label, const char *what,
                     unsigned k, unsigned of)
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
    fprintf(stderr, "%s%s %s: %s %u/%u%s", tty ? "\r\033[K" : "", lim->progress_prefix, label,
            what, k, of, tty ? "" : "\n");
    fflush(stderr);
}

/* The slots of by-pointer runs: one per element, grown when a run needs more. */
struct arena {
    unsigned char *p;
    size_t bytes;
};

static unsigned char *arena_fit(struct arena *a, size_t bytes)
{
    if (bytes > a->bytes) {
        free(a->p);
        a->p = xalloc(bytes);
        memset(a->p, 0x5a, bytes); /* touched before any clock starts */
        a->bytes = bytes;
    }
    return a->p;
}

/* By-pointer runs hold one slot per element: their sized counts stop here. */
#define ARENA_MAX_BYTES ((size_t)256 << 20)

/* One run of `count` elements (round trips) for res's queue. */
static enum run_outcome run_one(const struct bq_limits *lim, struct bq_result *res,
                                uint64_t count, struct arena *a, struct sample *s)
{
    const struct bq_config *c = &res->cfg;
    memset(s, 0, sizeof *s);
    const uint64_t t0 = pcq__now_ns();
    enum run_outcome out;
    if (c->latency) {
        out = run_latency(c, count, lim, &res->eff_cap, s);
    } else {
        unsigned char *slots = res->by_pointer ? arena_fit(a, (size_t)count * c->elem_size) : NULL;
        out = run_throughput(c, count, slots, lim, &res->eff_cap, s);
    }
    res->seconds += (double)(pcq__now_ns() - t0) / 1e9;
    res->allocs += s->allocs;
    if (out == RUN_DNF) {
        res->status = BQ_ST_DNF;
        res->limit_s = lim->time_limit_s;
        res->dnf_count = count;
    }
    return out;
}

/* The count that makes a run of about run_s, from a run of `count` that took s->seconds. */
static uint64_t sized(const struct bq_result *res, const struct sample *s, uint64_t count,
                      double run_s)
{
    const struct bq_config *c = &res->cfg;
    double want = (double)count * run_s / s->seconds;
    double least = c->latency ? 200 : 2000 > 4.0 * c->producers ? 2000 : 4.0 * c->producers;
    double most = c->latency ? 1e7 : res->by_pointer ? (double)(ARENA_MAX_BYTES / c->elem_size)
                                                     : (double)(1ull << 36);
    want = want < least ? least : want > most ? most : want;
    /* Two significant figures: a count that reads as chosen, not measured. */
    uint64_t v = (uint64_t)want, unit = 1;
    while (v / unit >= 100)
        unit *= 10;
    return (v + unit - 1) / unit * unit;
}

double bq_round_figure(const struct bq_round *r, enum bq_figure f)
{
    switch (f) {
    case BQ_FIG_EPS:
        return r->eps;
    case BQ_FIG_P50:
        return r->p50;
    case BQ_FIG_CPU:
        return r->cpu;
    case BQ_FIG_FAIR:
        return r->fair;
    }
    return 0;
}

struct bq_stat bq_stat_of(const struct bq_result *res, enum bq_figure f)
{
    switch (f) {
    case BQ_FIG_EPS:
        return res->eps;
    case BQ_FIG_P50:
        return res->p50;
    case BQ_FIG_CPU:
        return res->cpu;
    case BQ_FIG_FAIR:
        return res->fair;
    }
    return res->eps;
}

struct bq_ratio bq_ratio_of(const struct bq_result *a, const struct bq_result *b,
                            enum bq_figure f)
{
    struct bq_ratio q = {false, 0, 0, 0};
    if (a == NULL || b == NULL || a->status != BQ_ST_OK || b->status != BQ_ST_OK ||
        a->runs == 0 || b->runs == 0)
        return q;
    q.ok = true;
    q.med = bq_stat_of(a, f).med / bq_stat_of(b, f).med;
    q.lo = INFINITY;
    q.hi = -INFINITY;
    for (unsigned i = 0; i < a->runs && i < b->runs; i++) {
        double x = bq_round_figure(&a->round[i], f) / bq_round_figure(&b->round[i], f);
        q.lo = x < q.lo ? x : q.lo;
        q.hi = x > q.hi ? x : q.hi;
    }
    return q;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of one round figure over the measured rounds. */
static struct bq_stat stat_over(const struct bq_result *res, double (*get)(const struct bq_round *))
{
    double v[BQ_MAX_ROUNDS];
    unsigned n = res->runs;
    for (unsigned i = 0; i < n; i++)
        v[i] = get(&res->round[i]);
    qsort(v, n, sizeof *v, cmp_double);
    struct bq_stat s;
    s.min = v[0];
    s.max = v[n - 1];
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

static double get_eps(const struct bq_round *r) { return r->eps; }
static double get_p50(const struct bq_round *r) { return r->p50; }
static double get_p99(const struct bq_round *r) { return r->p99; }
static double get_max(const struct bq_round *r) { return r->max; }
static double get_cpu(const struct bq_round *r) { return r->cpu; }
static double get_fair(const struct bq_round *r) { return r->fair; }

static void log_run(const struct bq_limits *lim, const char *phase, unsigned k,
                    const struct bq_result *res, uint64_t count)
{
    if (lim->log_runs)
        fprintf(stderr, "pcq-bench: run: %s %u %s %llu\n", phase, k, res->cfg.ops->name,
                (unsigned long long)count);
}

int bq_measure_scenario(const struct bq_config *cfg, size_t n, const struct bq_limits *lim,
                        struct bq_result *res)
{
    if (lim->repeats > BQ_MAX_ROUNDS) {
        fprintf(stderr, "pcq-bench: at most %d rounds\n", BQ_MAX_ROUNDS);
        return -1;
    }
    uint64_t *count = xalloc(n * sizeof *count);
    struct arena arena = {NULL, 0};
    struct sample s;
    char label[160];
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof res[i]);
        res[i].cfg = cfg[i];
        res[i].status = BQ_ST_OK;
        res[i].by_pointer = !cfg[i].latency && cfg[i].elem_size > cfg[i].ops->max_inline;
        count[i] = cfg[i].latency ? cfg[i].round_trips : cfg[i].count;
    }

    /* Sizing: a short pilot run gives each queue's first count. */
    for (size_t i = 0; i < n; i++) {
        if (count[i] != 0)
            continue;
        const uint64_t pilot = cfg[i].latency ? 200 : 10000;
        bq_label(&cfg[i], label, sizeof label);
        progress(lim, label, "sizing", 1, 1);
        log_run(lim, "pilot", 1, &res[i], pilot);
        enum run_outcome out = run_one(lim, &res[i], pilot, &arena, &s);
        if (out == RUN_FAILED) {
            ret = -1;
            goto done;
        }
        count[i] = out == RUN_OK ? sized(&res[i], &s, pilot, lim->run_s) : pilot;
    }

    /* Warm-ups: a round of each queue, unmeasured; the first re-sizes sized runs. */
    for (unsigned w = 0; w < lim->warmups; w++) {
        for (size_t i = 0; i < n; i++) {
            if (res[i].status != BQ_ST_OK)
                continue;
            const bool was_sized = cfg[i].latency ? cfg[i].round_trips == 0 : cfg[i].count == 0;
            /* A fixed count's warm-up needs no full run. */
            uint64_t k = was_sized || count[i] / 4 < 1000 ? count[i] : count[i] / 4;
            if (!was_sized && cfg[i].pace_ns != 0)
                k = count[i] / 4 > 0 ? count[i] / 4 : 1;
            bq_label(&cfg[i], label, sizeof label);
            progress(lim, label, "warm-up", w + 1, lim->warmups);
            log_run(lim, "warm-up", w + 1, &res[i], k);
            enum run_outcome out = run_one(lim, &res[i], k, &arena, &s);
            if (out == RUN_FAILED) {
                ret = -1;
                goto done;
            }
            if (out == RUN_OK && was_sized && w == 0)
                count[i] = sized(&res[i], &s, k, lim->run_s);
        }
    }

    /* The measured rounds: A B C, A B C, ... */
    for (unsigned round = 0; round < lim->repeats; round++) {
        for (size_t i = 0; i < n; i++) {
            if (res[i].status != BQ_ST_OK)
                continue;
            bq_label(&cfg[i], label, sizeof label);
            progress(lim, label, "round", round + 1, lim->repeats);
            log_run(lim, "round", round + 1, &res[i], count[i]);
            enum run_outcome out = run_one(lim, &res[i], count[i], &arena, &s);
            if (out == RUN_FAILED) {
                ret = -1;
                goto done;
            }
            if (out != RUN_OK)
                continue;
            struct bq_round *rd = &res[i].round[res[i].runs++];
            rd->eps = s.eps;
            rd->p50 = (double)s.p50;
            rd->p99 = (double)s.p99;
            rd->max = (double)s.max_rtt;
            rd->cpu = s.cpu;
            rd->fair = s.fair;
        }
    }

    for (size_t i = 0; i < n; i++) {
        res[i].count = count[i];
        if (res[i].status != BQ_ST_OK || res[i].runs == 0)
            continue;
        res[i].eps = stat_over(&res[i], get_eps);
        res[i].p50 = stat_over(&res[i], get_p50);
        res[i].p99 = stat_over(&res[i], get_p99);
        res[i].max = stat_over(&res[i], get_max);
        res[i].cpu = stat_over(&res[i], get_cpu);
        res[i].fair = stat_over(&res[i], get_fair);
    }
done:
    free(arena.p);
    free(count);
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
