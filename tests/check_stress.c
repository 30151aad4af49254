/*
 * check_stress.c — concurrency stress tests whose verdict is exact: they
 * prove that nothing is lost, duplicated or reordered.
 *
 * Every element is 8 bytes encoding (producer, sequence). Each producer
 * pushes 0, 1, 2, ... and records, before its next call, how many of its
 * elements are known to be in (`acked`). Each consumer keeps a private
 * tally and checks on the fly that every producer's sequence strictly
 * increases in what it receives (FIFO per producer). After every thread is
 * joined, the main thread adds the tallies and checks delivery exactly:
 * what came out of each producer is a gap-free prefix 0..d-1 of its
 * sequence, each element once, with d == acked (or, where a cancelled batch
 * may have inserted more than it could report, acked <= d).
 *
 * The four tests:
 *  1. P producers x C consumers x capacity, plain push/pop.
 *  2. Every push and pop variant mixed in one run.
 *  3. Close races: producers race pcq_close; drained == accepted.
 *  4. Cancellation races: blocked callers are cancelled; the queue keeps
 *     working and nothing accepted is lost.
 *
 * Worker threads never call ck_assert: with CK_FORK=no (Valgrind) a failed
 * assertion longjmps, which is undefined from another thread. They record
 * their first problem in their own struct; the main thread reports it
 * after join. Threads are ordered by gates and the queue's own state
 * (pcq_stats), never by sleeps.
 *
 * Randomness is deterministic: each thread runs its own xorshift64* stream
 * seeded from (test, round, thread) and PCQ_SEED (default 1); every failure
 * message names the seed. Sizes go through scaled() (PCQ_STRESS percent),
 * so the same tests run natively and at 4% under Valgrind.
 */
#include "test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Elements: producer in the high half, sequence in the low half. */
#define ELEM(p, s) (((uint64_t)(p) << 32) | (uint64_t)(s))
#define ELEM_P(e) ((unsigned)((e) >> 32))
#define ELEM_S(e) ((uint32_t)(e))

#define BATCH_MAX 16 /* largest batch a worker pushes or pops at once */
#define TIMEOUT_S 60 /* per-test limit in Check's fork mode */

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Deterministic per-thread randomness                                */
/* ------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s; /* never 0 */
} rng_t;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The seed of thread `idx` in round `round` of test `test`. */
static uint64_t seed_for(unsigned test, unsigned round, unsigned idx)
{
    const char *env = getenv("PCQ_SEED");
    uint64_t base = env != NULL ? strtoull(env, NULL, 0) : 1;
    uint64_t s = splitmix64(base ^ ((uint64_t)test << 56) ^ ((uint64_t)round << 20) ^ idx);
    return s != 0 ? s : 1;
}

static uint64_t rnd(rng_t *r)
{
    r->s ^= r->s >> 12; /* xorshift64* */
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1du;
}

/* Uniform enough in 0..n-1 for picking operations and sizes. */
static uint64_t below(rng_t *r, uint64_t n) { return rnd(r) % n; }

static void trace(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* With PCQ_TRACE set, each run names itself before it starts: a run that
 * hangs is killed by Check's timeout without a message of its own, and is
 * then the last one printed. */
static void trace(const char *fmt, ...)
{
    if (getenv("PCQ_TRACE") == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* Workers and their records                                          */
/* ------------------------------------------------------------------ */

/* What one consumer received: a count per (producer, sequence). */
typedef struct sink {
    unsigned nprod;
    uint32_t per;        /* sequences 0..per-1 per producer */
    unsigned char *seen; /* nprod * per counts, saturating at 255 */
    int64_t *last;       /* last sequence received per producer, -1: none */
} sink_t;

/* Operations a worker may pick from (a bit mask of these). */
enum op { OP_BLOCK = 1, OP_TRY = 2, OP_TIMED = 4, OP_MANY = 8, OP_TRY_MANY = 16 };
#define OPS_ALL (OP_BLOCK | OP_TRY | OP_TIMED | OP_MANY | OP_TRY_MANY)
#define OPS_BLOCKING (OP_BLOCK | OP_TIMED | OP_MANY) /* the calls that sleep */

/*
 * One producer or consumer. Only its own thread writes it while it runs;
 * the main thread reads it after pthread_join, which orders the accesses.
 */
typedef struct worker {
    pcq_t *q;
    gate_t *go;       /* every worker of a run starts when it opens */
    unsigned id;      /* producer: the element tag; consumer: its number */
    unsigned ops;     /* enum op mask */
    bool long_waits;  /* timed calls: often long enough to really block */
    uint32_t n;       /* producer: sequences to push, at most */
    uint32_t acked;   /* producer: elements known to be in the queue */
    uint64_t seed;
    rng_t rng;
    sink_t sink;      /* consumer */
    char fault[320];  /* first problem seen, "" if none */
} worker_t;

static void fault(worker_t *w, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void fault(worker_t *w, const char *fmt, ...)
{
    if (w->fault[0] != '\0')
        return;
    int k = snprintf(w->fault, sizeof w->fault, "thread %u seed %#" PRIx64 ": ", w->id, w->seed);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->fault + k, sizeof w->fault - (size_t)k, fmt, ap);
    va_end(ap);
}

static void sink_init(sink_t *k, unsigned nprod, uint32_t per)
{
    k->nprod = nprod;
    k->per = per;
    k->seen = calloc((size_t)nprod * per, 1);
    k->last = malloc(nprod * sizeof *k->last);
    ck_assert(k->seen != NULL && k->last != NULL);
    for (unsigned p = 0; p < nprod; p++)
        k->last[p] = -1;
}

/* Record one received element, checking it is known and in order. */
static void take(worker_t *w, uint64_t e)
{
    sink_t *k = &w->sink;
    unsigned p = ELEM_P(e);
    uint32_t s = ELEM_S(e);
    if (p >= k->nprod || s >= k->per) {
        fault(w, "received an element never pushed: %#" PRIx64, e);
        return;
    }
    if ((int64_t)s <= k->last[p])
        fault(w, "producer %u: sequence %" PRIu32 " received after %" PRId64 " (order broken)",
              p, s, k->last[p]);
    k->last[p] = s;
    unsigned char *c = &k->seen[(size_t)p * k->per + s];
    if (*c < 255)
        (*c)++;
}

/* n workers sharing q and go, seeded for (test, round), ids 0..n-1. */
static worker_t *crew(size_t n, pcq_t *q, gate_t *go, unsigned test, unsigned round,
                      unsigned idx0)
{
    worker_t *w = calloc(n, sizeof *w);
    ck_assert(w != NULL);
    for (size_t i = 0; i < n; i++) {
        w[i].q = q;
        w[i].go = go;
        w[i].id = (unsigned)i;
        w[i].ops = OP_BLOCK;
        w[i].seed = seed_for(test, round, idx0 + (unsigned)i);
        w[i].rng.s = w[i].seed;
    }
    return w;
}

static void crew_free(worker_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(w[i].sink.seen);
        free(w[i].sink.last);
    }
    free(w);
}

/* First fault of a crew into msg (if msg is still empty). */
static void collect_faults(const worker_t *w, size_t n, const char *role, char *msg, size_t len)
{
    for (size_t i = 0; i < n && msg[0] == '\0'; i++)
        if (w[i].fault[0] != '\0')
            snprintf(msg, len, "%s %s", role, w[i].fault);
}

/* How often (producer p, sequence s) came out, over all consumers. */
static unsigned times(const worker_t *cons, size_t nc, unsigned p, uint32_t s)
{
    unsigned total = 0;
    for (size_t c = 0; c < nc; c++)
        total += cons[c].sink.seen[(size_t)p * cons[c].sink.per + s];
    return total;
}

/*
 * The exact verdict. For each producer p (0..nprod-1), the elements that
 * came out, summed over the consumers' sinks, must be each sequence
 * 0..d-1 exactly once and nothing else, with lo[p] <= d <= hi[p].
 * Writes the first violation to msg (if msg is still empty).
 */
static void check_delivery(const worker_t *cons, size_t nc, const uint32_t *lo,
                           const uint32_t *hi, char *msg, size_t len)
{
    if (msg[0] != '\0' || nc == 0)
        return;
    const unsigned nprod = cons[0].sink.nprod;
    const uint32_t per = cons[0].sink.per;
    for (unsigned p = 0; p < nprod; p++) {
        uint32_t d = 0;
        for (uint32_t s = 0; s < per; s++) {
            unsigned t = times(cons, nc, p, s);
            if (t > 1) {
                snprintf(msg, len, "producer %u seq %" PRIu32 " delivered %u times", p, s, t);
                return;
            }
            d += t;
        }
        /* d elements, none twice: gap-free iff the first d all arrived. */
        for (uint32_t s = 0; s < d; s++) {
            if (times(cons, nc, p, s) == 0) {
                snprintf(msg, len, "producer %u: seq %" PRIu32 " lost (%" PRIu32 " delivered)",
                         p, s, d);
                return;
            }
        }
        if (d < lo[p] || d > hi[p]) {
            snprintf(msg, len,
                     "producer %u: %" PRIu32 " delivered, expected %" PRIu32 "..%" PRIu32, p, d,
                     lo[p], hi[p]);
            return;
        }
    }
}

/* How many elements the consumers' sinks hold in all. */
static uint64_t delivered(const worker_t *cons, size_t nc)
{
    uint64_t d = 0;
    for (size_t c = 0; c < nc; c++)
        for (size_t i = 0; i < (size_t)cons[c].sink.nprod * cons[c].sink.per; i++)
            d += cons[c].sink.seen[i];
    return d;
}

/* Check the queue's books after a run: empty, pushed == popped == n. */
static void check_books(const pcq_t *q, uint64_t n, char *msg, size_t len)
{
    pcq_stats_t st;
    pcq_stats(q, &st);
    if (msg[0] == '\0' && (st.pushed != n || st.popped != n || pcq_size(q) != 0 ||
                           st.high_water > pcq_capacity(q)))
        snprintf(msg, len,
                 "stats: pushed %" PRIu64 " popped %" PRIu64 " size %zu high_water %zu, "
                 "expected %" PRIu64 " in and out, empty, high_water <= %zu",
                 st.pushed, st.popped, pcq_size(q), st.high_water, n, pcq_capacity(q));
}

/* ------------------------------------------------------------------ */
/* One random operation on each side                                  */
/* ------------------------------------------------------------------ */

/* A random operation among those in the mask. */
static enum op pick(worker_t *w)
{
    enum op choice[5];
    unsigned n = 0;
    for (unsigned bit = 1; bit <= OP_TRY_MANY; bit <<= 1)
        if (w->ops & bit)
            choice[n++] = (enum op)bit;
    return choice[below(&w->rng, n)];
}

/*
 * Helgrind 3.19 reports false errors inside glibc when a timed wait times
 * out while another thread signals (seen here as "associated lock is not
 * held" from pthread_cond_timedwait): under Helgrind the timed calls
 * get timeouts that never expire, so they sleep and are woken, and the
 * expiry path is left to the native, sanitizer and DRD runs.
 */
static bool timeouts_may_expire(void)
{
    const char *tool = valgrind_tool();
    return tool == NULL || strcmp(tool, "helgrind") != 0;
}

/* Timeout for a timed call: short (often expiring; 0 takes the path that
 * never sleeps) or, for workers meant to be cancelled while blocked,
 * half the time 10 s. */
static uint64_t timeout_ns(worker_t *w)
{
    if (!timeouts_may_expire() || (w->long_waits && below(&w->rng, 2) == 0))
        return 10u * 1000000000u;
    return below(&w->rng, 200000);
}

/*
 * Push the next 1..BATCH_MAX sequences of producer w (never past w->n) with
 * one random operation, retrying try and timed calls until they move
 * something. Adds what went in to w->acked before returning, so a later
 * cancellation cannot hide it. Returns 0, EPIPE (closed), or another code
 * after recording a fault.
 */
static int push_step(worker_t *w)
{
    uint64_t batch[BATCH_MAX];
    size_t k = 1 + below(&w->rng, BATCH_MAX);
    if (k > w->n - w->acked)
        k = w->n - w->acked;
    for (size_t i = 0; i < k; i++)
        batch[i] = ELEM(w->id, w->acked + (uint32_t)i);

    enum op op = pick(w);
    int rc;
    size_t moved = 0;
    switch (op) {
    case OP_BLOCK:
        rc = pcq_push(w->q, &batch[0]);
        moved = rc == 0;
        break;
    case OP_TRY:
        while ((rc = pcq_try_push(w->q, &batch[0])) == EAGAIN)
            sched_yield();
        moved = rc == 0;
        break;
    case OP_TIMED:
        while ((rc = pcq_push_for(w->q, &batch[0], timeout_ns(w))) == ETIMEDOUT)
            ;
        moved = rc == 0;
        break;
    case OP_MANY:
        rc = pcq_push_many(w->q, batch, k, &moved);
        if ((rc == 0 && moved != k) || (rc == EPIPE && moved >= k))
            fault(w, "pcq_push_many(%zu) returned %d with %zu pushed", k, rc, moved);
        break;
    case OP_TRY_MANY:
    default:
        /* Partial counts: go on from where the last call stopped. */
        for (rc = 0; moved < k && (rc == 0 || rc == EAGAIN);) {
            size_t got = 0;
            rc = pcq_try_push_many(w->q, batch + moved, k - moved, &got);
            if ((rc == 0 && (got == 0 || got > k - moved)) || (rc != 0 && got != 0))
                fault(w, "pcq_try_push_many(%zu) returned %d with %zu pushed", k - moved, rc,
                      got);
            moved += got;
            if (rc == EAGAIN)
                sched_yield();
        }
        break;
    }
    w->acked += (uint32_t)moved; /* before any later call can be cancelled */
    if (rc != 0 && rc != EPIPE)
        fault(w, "push operation %d returned %d", (int)op, rc);
    if (rc == EPIPE && op != OP_MANY && op != OP_TRY_MANY && moved != 0)
        fault(w, "push operation %d returned EPIPE after pushing", (int)op);
    return rc;
}

/*
 * Pop 1..BATCH_MAX elements with one random operation into w's sink,
 * retrying try and timed calls until they move something. Returns 0,
 * EPIPE (closed and drained), or another code after recording a fault.
 */
static int pop_step(worker_t *w)
{
    uint64_t buf[BATCH_MAX];
    size_t k = 1 + below(&w->rng, BATCH_MAX);
    enum op op = pick(w);
    int rc;
    size_t moved = 0;
    switch (op) {
    case OP_BLOCK:
        rc = pcq_pop(w->q, &buf[0]);
        moved = rc == 0;
        break;
    case OP_TRY:
        while ((rc = pcq_try_pop(w->q, &buf[0])) == EAGAIN)
            sched_yield();
        moved = rc == 0;
        break;
    case OP_TIMED:
        while ((rc = pcq_pop_for(w->q, &buf[0], timeout_ns(w))) == ETIMEDOUT)
            ;
        moved = rc == 0;
        break;
    case OP_MANY:
        rc = pcq_pop_many(w->q, buf, k, &moved);
        break;
    case OP_TRY_MANY:
    default:
        while ((rc = pcq_try_pop_many(w->q, buf, k, &moved)) == EAGAIN) {
            if (moved != 0)
                break;
            sched_yield();
        }
        break;
    }
    if ((rc == 0 && (moved == 0 || moved > k)) || (rc != 0 && moved != 0)) {
        fault(w, "pop operation %d (max %zu) returned %d with %zu popped", (int)op, k, rc, moved);
        return rc != 0 ? rc : EPROTO;
    }
    /* Recorded before the next call: a cancellation cannot lose them. */
    for (size_t i = 0; i < moved; i++)
        take(w, buf[i]);
    if (rc != 0 && rc != EPIPE)
        fault(w, "pop operation %d returned %d", (int)op, rc);
    return rc;
}

/* Producer: push sequences 0..n-1, stopping at EPIPE or a fault. */
static void *producer(void *arg)
{
    worker_t *w = arg;
    gate_wait(w->go);
    while (w->acked < w->n && push_step(w) == 0)
        ;
    /* After close, every push fails and moves nothing. */
    if (w->acked < w->n && w->fault[0] == '\0') {
        uint64_t e = ELEM(w->id, w->acked);
        int rc = pcq_try_push(w->q, &e);
        if (rc != EPIPE)
            fault(w, "pcq_try_push after EPIPE returned %d", rc);
    }
    return NULL;
}

/* Consumer: pop until the queue is closed and drained (EPIPE). */
static void *consumer(void *arg)
{
    worker_t *w = arg;
    gate_wait(w->go);
    while (pop_step(w) == 0)
        ;
    return NULL;
}

/* Start n workers on fn. */
static void start_all(pthread_t *t, worker_t *w, size_t n, void *(*fn)(void *))
{
    for (size_t i = 0; i < n; i++)
        start(&t[i], fn, &w[i]);
}

/*
 * One complete run: np producers push n each, nc consumers drain; the
 * main thread closes the queue once the producers are done. Verdict:
 * every (producer, sequence) delivered exactly once, in order per
 * consumer, and the queue's books balance. Empty string: passed.
 */
static void run_exact(unsigned test, unsigned round, unsigned np, unsigned nc, size_t cap,
                      uint32_t n, unsigned ops, char *msg, size_t len)
{
    trace("stress test %u round %u: %uP x %uC, capacity %zu, %" PRIu32 " each, seed %#" PRIx64,
          test, round, np, nc, cap, n, seed_for(test, round, 0));
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, cap, sizeof(uint64_t)), 0);
    gate_t go;
    gate_init(&go);
    worker_t *prod = crew(np, q, &go, test, round, 0);
    worker_t *cons = crew(nc, q, &go, test, round, 1000);
    pthread_t *pt = malloc(np * sizeof *pt), *ct = malloc(nc * sizeof *ct);
    uint32_t *want = malloc(np * sizeof *want);
    ck_assert(pt != NULL && ct != NULL && want != NULL);
    for (unsigned i = 0; i < np; i++) {
        prod[i].n = n;
        prod[i].ops = ops;
        want[i] = n;
    }
    for (unsigned i = 0; i < nc; i++) {
        cons[i].ops = ops;
        sink_init(&cons[i].sink, np, n);
    }

    start_all(pt, prod, np, producer);
    start_all(ct, cons, nc, consumer);
    gate_open(&go);
    for (unsigned i = 0; i < np; i++)
        join(pt[i]);
    pcq_close(q); /* every producer is done: let the consumers finish */
    for (unsigned i = 0; i < nc; i++)
        join(ct[i]);

    msg[0] = '\0';
    collect_faults(prod, np, "producer", msg, len);
    collect_faults(cons, nc, "consumer", msg, len);
    check_delivery(cons, nc, want, want, msg, len);
    check_books(q, (uint64_t)np * n, msg, len);
    if (msg[0] != '\0') {
        char ctx[96];
        snprintf(ctx, sizeof ctx, " [%uP x %uC, capacity %zu, %" PRIu32 " each, round %u]", np,
                 nc, cap, n, round);
        strncat(msg, ctx, len - strlen(msg) - 1);
    }

    free(want);
    free(ct);
    free(pt);
    crew_free(cons, nc);
    crew_free(prod, np);
    gate_destroy(&go);
    pcq_destroy(q);
}

/* ------------------------------------------------------------------ */
/* 1. P producers x C consumers x capacity                            */
/* ------------------------------------------------------------------ */

static const struct {
    unsigned p, c;
} shapes[] = {{1, 1}, {2, 2}, {4, 4}, {8, 2}, {2, 8}};
static const size_t caps[] = {1, 2, 64};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])
#define N_CAPS (sizeof caps / sizeof caps[0])

START_TEST(test_pc_matrix)
{
    /* _i walks the 15 (shape, capacity) combinations. */
    unsigned np = shapes[_i / N_CAPS].p, nc = shapes[_i / N_CAPS].c;
    size_t cap = caps[_i % N_CAPS];
    /* 40,000 elements per combination natively, shared by the producers:
     * at capacity 1 every element costs a context switch or two, and 8
     * producers x 20,000 would take seconds for that one combination. */
    uint32_t each = (uint32_t)(scaled(40000, 400) / np);
    char msg[512];
    run_exact(1, (unsigned)_i, np, nc, cap, each, OP_BLOCK, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. Every variant mixed in one run                                  */
/* ------------------------------------------------------------------ */

static const struct {
    unsigned p, c;
    size_t cap;
} mixes[] = {{4, 4, 3}, {3, 2, 1}, {2, 3, 64}, {1, 1, 2}};
#define N_MIXES (sizeof mixes / sizeof mixes[0])

START_TEST(test_mixed_ops)
{
    char msg[512];
    run_exact(2, (unsigned)_i, mixes[_i].p, mixes[_i].c, mixes[_i].cap,
              (uint32_t)scaled(20000, 200), OPS_ALL, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. Close races                                                     */
/* ------------------------------------------------------------------ */

/* The closer: closes the queue once `after` pushes went in (0: at once). */
typedef struct closer {
    pcq_t *q;
    gate_t *go;
    uint64_t after;
} closer_t;

static void *closer(void *arg)
{
    closer_t *c = arg;
    gate_wait(c->go);
    pcq_stats_t st;
    for (pcq_stats(c->q, &st); st.pushed < c->after; pcq_stats(c->q, &st))
        sched_yield();
    pcq_close(c->q);
    return NULL;
}

START_TEST(test_close_race)
{
    enum { MAXP = 4, MAXC = 3 };
    static const size_t cap_pool[] = {1, 2, 3, 8, 64};
    const long rounds = scaled(100, 6);
    const uint32_t per = (uint32_t)scaled(2000, 80);
    char msg[512] = "";
    for (long r = 0; r < rounds && msg[0] == '\0'; r++) {
        const uint64_t rseed = seed_for(3, (unsigned)r, 9999); /* the round's shape */
        rng_t rr = {rseed};
        unsigned np = 1 + (unsigned)below(&rr, MAXP), nc = 1 + (unsigned)below(&rr, MAXC);
        size_t cap = cap_pool[below(&rr, sizeof cap_pool / sizeof cap_pool[0])];
        /* Close at once, mid-stream, or (rarely) after everything went in. */
        uint64_t after = below(&rr, 8) == 0 ? 0 : below(&rr, (uint64_t)np * per + 1);
        trace("close race round %ld: %uP x %uC, capacity %zu, close after %" PRIu64
              ", seed %#" PRIx64, r, np, nc, cap, after, rseed);

        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, cap, sizeof(uint64_t)), 0);
        gate_t go;
        gate_init(&go);
        worker_t *prod = crew(np, q, &go, 3, (unsigned)r, 0);
        worker_t *cons = crew(nc, q, &go, 3, (unsigned)r, 1000);
        pthread_t pt[MAXP], ct[MAXC], cl;
        uint32_t acked[MAXP];
        for (unsigned i = 0; i < np; i++) {
            prod[i].n = per;
            prod[i].ops = OPS_ALL;
        }
        for (unsigned i = 0; i < nc; i++) {
            cons[i].ops = OPS_ALL;
            sink_init(&cons[i].sink, np, per);
        }
        closer_t c = {q, &go, after};

        start_all(pt, prod, np, producer);
        start_all(ct, cons, nc, consumer);
        start(&cl, closer, &c);
        gate_open(&go);
        for (unsigned i = 0; i < np; i++)
            join(pt[i]);
        join(cl);
        for (unsigned i = 0; i < nc; i++)
            join(ct[i]);

        uint64_t total = 0;
        for (unsigned i = 0; i < np; i++)
            total += acked[i] = prod[i].acked;
        collect_faults(prod, np, "producer", msg, sizeof msg);
        collect_faults(cons, nc, "consumer", msg, sizeof msg);
        /* Drained exactly what was accepted: lo == hi == acked. */
        check_delivery(cons, nc, acked, acked, msg, sizeof msg);
        check_books(q, total, msg, sizeof msg);
        if (msg[0] != '\0') {
            char ctx[128];
            snprintf(ctx, sizeof ctx,
                     " [round %ld: %uP x %uC, capacity %zu, close after %" PRIu64 " pushes]", r,
                     np, nc, cap, after);
            strncat(msg, ctx, sizeof msg - strlen(msg) - 1);
        }
        crew_free(cons, nc);
        crew_free(prod, np);
        gate_destroy(&go);
        pcq_destroy(q);
    }
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. Cancellation races                                              */
/* ------------------------------------------------------------------ */

/*
 * The gate's condition wait is a cancellation point too, and a thread
 * cancelled there would leave the gate's mutex locked for the fresh pair.
 * Only the pcq calls are meant to be cancelled: pass the gate with
 * cancellation disabled.
 */
static void doomed_start(worker_t *w)
{
    int old, rc = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    if (rc == 0) {
        gate_wait(w->go);
        rc = pthread_setcancelstate(old, &old);
    }
    if (rc != 0)
        fault(w, "pthread_setcancelstate: %s", strerror(rc));
}

/* A producer to be cancelled: pushes until cancelled; having pushed all
 * n it waits in pause(), a cancellation point, so it always ends. */
static void *doomed_producer(void *arg)
{
    worker_t *w = arg;
    doomed_start(w);
    while (w->acked < w->n && push_step(w) == 0)
        ;
    if (w->fault[0] == '\0')
        for (;;)
            pause();
    return NULL;
}

/* A consumer to be cancelled: pops until cancelled (the queue stays open
 * until every doomed thread has been joined). */
static void *doomed_consumer(void *arg)
{
    worker_t *w = arg;
    doomed_start(w);
    while (pop_step(w) == 0)
        ;
    if (w->fault[0] == '\0')
        fault(w, "pop failed on a queue that was never closed");
    return NULL;
}

START_TEST(test_cancel_race)
{
    SKIP_UNDER_VALGRIND("Helgrind and DRD cannot model a thread cancelled inside "
                        "pthread_cond_wait (they misreport its cleanup unlock)");
    enum { MAXP = 3, MAXC = 3 };
    static const size_t cap_pool[] = {1, 2, 3, 4, 64};
    const long rounds = scaled(100, 6);
    const uint32_t per = (uint32_t)scaled(2000, 80);
    const uint32_t fresh_n = (uint32_t)scaled(2000, 80);
    char msg[512] = "";
    for (long r = 0; r < rounds && msg[0] == '\0'; r++) {
        const uint64_t rseed = seed_for(4, (unsigned)r, 9999); /* the round's shape */
        rng_t rr = {rseed};
        size_t cap = cap_pool[below(&rr, sizeof cap_pool / sizeof cap_pool[0])];
        /* 0: producers only, blocked on a full queue; 1: consumers only,
         * blocked on an empty one; 2: both, cancelled while running. */
        unsigned scene = (unsigned)below(&rr, 3);
        unsigned np = scene == 1 ? 0 : 1 + (unsigned)below(&rr, MAXP);
        unsigned nc = scene == 0 ? 0 : 1 + (unsigned)below(&rr, MAXC);
        /* Everyone's sinks know np + 1 producers: the fresh one is np. */
        const uint32_t span = per > fresh_n ? per : fresh_n;
        trace("cancel race round %ld: scene %u, %uP x %uC, capacity %zu, seed %#" PRIx64, r,
              scene, np, nc, cap, rseed);

        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, cap, sizeof(uint64_t)), 0);
        gate_t go;
        gate_init(&go);
        worker_t *prod = crew(np + 1, q, &go, 4, (unsigned)r, 0);
        worker_t *cons = crew(nc + 1, q, &go, 4, (unsigned)r, 1000);
        pthread_t th[MAXP + MAXC];
        uint32_t lo[MAXP + 1], hi[MAXP + 1];
        for (unsigned i = 0; i <= np; i++) {
            prod[i].n = i < np ? per : fresh_n;
            prod[i].ops = i < np ? OPS_BLOCKING : OP_BLOCK | OP_MANY;
            prod[i].long_waits = true;
        }
        for (unsigned i = 0; i <= nc; i++) {
            cons[i].ops = i < nc ? OPS_BLOCKING : OP_BLOCK | OP_MANY;
            cons[i].long_waits = true;
            sink_init(&cons[i].sink, np + 1, span);
        }

        start_all(th, prod, np, doomed_producer);
        start_all(th + np, cons, nc, doomed_consumer);
        gate_open(&go);
        /* Cancel when everyone is blocked (one-sided scenes) or once a
         * random number of elements went in (both sides running). */
        if (scene == 0) {
            await_push_waits(q, np);
        } else if (scene == 1) {
            await_pop_waits(q, nc);
        } else {
            uint64_t after = below(&rr, (uint64_t)np * per / 2 + 1);
            pcq_stats_t st;
            for (pcq_stats(q, &st); st.pushed < after; pcq_stats(q, &st))
                sched_yield();
        }
        /* In random order, with random gaps, so some threads see their
         * cancellation while blocked and others on their way to block. */
        unsigned order[MAXP + MAXC];
        for (unsigned i = 0; i < np + nc; i++)
            order[i] = i;
        for (unsigned i = np + nc; i > 1; i--) {
            unsigned j = (unsigned)below(&rr, i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (unsigned i = 0; i < np + nc; i++) {
            int rc = pthread_cancel(th[order[i]]);
            ck_assert_msg(rc == 0, "pthread_cancel: %s", strerror(rc));
            for (uint64_t y = below(&rr, 4); y > 0; y--)
                sched_yield();
        }
        for (unsigned i = 0; i < np + nc; i++)
            if (join(th[i]) != PTHREAD_CANCELED && msg[0] == '\0')
                snprintf(msg, sizeof msg, "thread %u ended without being cancelled", i);

        /* The queue keeps working: a fresh pair moves fresh_n elements
         * through it and drains what the cancelled threads left. */
        pthread_t fp, fc;
        start(&fc, consumer, &cons[nc]);
        start(&fp, producer, &prod[np]);
        join(fp);
        pcq_close(q);
        join(fc);

        /* Cancelled producers: at least what they saw accepted came out
         * (a cancelled push_many may have inserted more); the fresh one:
         * exactly fresh_n. */
        for (unsigned i = 0; i < np; i++) {
            lo[i] = prod[i].acked;
            hi[i] = per;
        }
        lo[np] = hi[np] = fresh_n;
        collect_faults(prod, np + 1, "producer", msg, sizeof msg);
        collect_faults(cons, nc + 1, "consumer", msg, sizeof msg);
        check_delivery(cons, nc + 1, lo, hi, msg, sizeof msg);
        check_books(q, delivered(cons, nc + 1), msg, sizeof msg);
        if (msg[0] != '\0') {
            char ctx[128];
            snprintf(ctx, sizeof ctx, " [round %ld: scene %u, %uP x %uC, capacity %zu]", r,
                     scene, np, nc, cap);
            strncat(msg, ctx, sizeof msg - strlen(msg) - 1);
        }
        crew_free(cons, nc + 1);
        crew_free(prod, np + 1);
        gate_destroy(&go);
        pcq_destroy(q);
    }
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

Suite *suite_stress(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("producers x consumers");
    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_loop_test(tc, test_pc_matrix, 0, (int)(N_SHAPES * N_CAPS));
    suite_add_tcase(s, tc);

    tc = tcase_create("mixed operations");
    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_loop_test(tc, test_mixed_ops, 0, (int)N_MIXES);
    suite_add_tcase(s, tc);

    tc = tcase_create("close races");
    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_test(tc, test_close_race);
    suite_add_tcase(s, tc);

    tc = tcase_create("cancellation races");
    tcase_set_timeout(tc, TIMEOUT_S);
    tcase_add_test(tc, test_cancel_race);
    suite_add_tcase(s, tc);
    return s;
}
