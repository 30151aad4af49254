/*
 * check_driver.c — the driver contract (pcq_run, include/pcq_driver.h).
 *
 * Driver tests run a harness: producer i hands over the elements
 * ELEM(i, 0), ELEM(i, 1), ... (up to `per` of them); consumers and dispose
 * tick each element they receive in `seen`. After the run the main thread
 * checks the accounting exactly: every element produced was consumed or
 * left over, exactly once; produced == consumed + leftovers; per-thread
 * counters add up to the totals; the wait hook fired once per counted wait.
 *
 * Error tests put the threads in the state the contract talks about before
 * failing (producers blocked on a full queue, consumers blocked on an empty
 * one), using the queue's stats and the wait hook, never sleeps; that the
 * run returns at all shows no thread was left blocked.
 *
 * pthread_create failures are injected through -Wl,--wrap=pthread_create
 * (TEST_LDFLAGS in tests/tests.mk): __wrap_pthread_create below fails
 * the n-th call after create_fail_in is set to n.
 *
 * Callbacks never call ck_assert (undefined from another thread under
 * CK_FORK=no): they count problems in the harness, checked after the run,
 * and a pthread call failing in them aborts through PCQ_CHECK.
 *
 * Lingering consumers (consume_min, consume_linger_ns): runs without a
 * linger must consume in calls of at least min elements but the last of
 * each consumer; a lockstep run (the producer hands over one element, then
 * waits until it is consumed) can only end if the linger delivers partial
 * batches, and shows that a caller of the first ABI version, whose struct
 * ends before those fields, never has them read.
 */
#include "test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fatal.h"
#include "pcq_driver.h"

/* Elements per producer in runs that stop on an error long before. */
#define ENDLESS 4096

#define ELEM(p, s) (((uint64_t)(p) << 32) | (uint64_t)(s))
#define ELEM_P(e) ((unsigned)((e) >> 32))
#define ELEM_S(e) ((uint32_t)(e))

/* ------------------------------------------------------------------ */
/* pthread_create failure injection                                   */
/* ------------------------------------------------------------------ */

static atomic_int create_fail_in; /* 0: off; n: the n-th next call fails */

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
                          void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
                          void *arg);

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *),
                          void *arg)
{
    if (atomic_load(&create_fail_in) > 0 && atomic_fetch_sub(&create_fail_in, 1) == 1)
        return EAGAIN;
    return __real_pthread_create(t, a, fn, arg);
}

/* ------------------------------------------------------------------ */
/* The harness                                                        */
/* ------------------------------------------------------------------ */

struct harness;
typedef int (*produce_hook_fn)(struct harness *h, unsigned index);
typedef int (*consume_hook_fn)(struct harness *h, unsigned index, uint64_t nth);

struct harness {
    pcq_t *q;
    size_t capacity;
    unsigned P, C;
    uint64_t per;   /* elements per producer */
    uint64_t *next; /* [P]: producer i's next sequence; only producer i */

    produce_hook_fn produce_hook; /* before each produce call's elements */
    consume_hook_fn consume_hook; /* after each element is ticked */
    int produce_calls_to_fail;    /* bad_count test */
    bool gate_consumers;          /* consumers wait at `gate` after their
                                     first element; on_stop opens it */
    gate_t gate;
    bool lockstep;                /* consumers signal cv per element (for
                                     await_consumed_all) */
    size_t short_below;           /* consume calls with fewer elements than
                                     this are counted in short_calls */

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* signalled on announcements and gatings */
    unsigned char *seen;      /* mu: [P * per] deliveries per element */
    uint64_t consumed;        /* mu: elements ticked by consumers */
    uint64_t disposed;        /* mu: elements ticked by dispose */
    uint64_t consume_calls;   /* mu */
    uint64_t short_calls;     /* mu: calls below short_below */
    size_t largest_call;      /* mu: most elements in one consume call */
    uint64_t hook_waits[2];   /* mu: on_wait calls per role */
    bool *in_push;            /* mu: [P] producer i called on_wait, and has not
                                 been called back since: it is blocked in
                                 its push, or just out of it */
    unsigned gated;           /* mu: consumers waiting at the gate */
    unsigned stop_calls;      /* mu */
    int stop_error;           /* mu */
    unsigned problems;        /* mu: contract breaches seen by callbacks */
    char problem[160];        /* mu: the first one */
};

static void h_problem(struct harness *h, const char *what)
{
    if (h->problems++ == 0)
        snprintf(h->problem, sizeof h->problem, "%s", what);
}

static void h_init(struct harness *h, unsigned P, unsigned C, size_t capacity, uint64_t per)
{
    memset(h, 0, sizeof *h);
    h->P = P;
    h->C = C;
    h->per = per;
    h->capacity = capacity;
    ck_assert_int_eq(pcq_create(&h->q, capacity, sizeof(uint64_t)), 0);
    h->next = calloc(P, sizeof *h->next);
    h->seen = calloc((size_t)P * per, 1);
    h->in_push = calloc(P, sizeof *h->in_push);
    ck_assert(h->next != NULL && h->seen != NULL && h->in_push != NULL);
    ck_assert_int_eq(pthread_mutex_init(&h->mu, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&h->cv, NULL), 0);
    gate_init(&h->gate);
}

static void h_destroy(struct harness *h)
{
    gate_destroy(&h->gate);
    PCQ_CHECK(pthread_cond_destroy(&h->cv));
    PCQ_CHECK(pthread_mutex_destroy(&h->mu));
    free(h->in_push);
    free(h->seen);
    free(h->next);
    pcq_destroy(h->q);
}

/* Tick one element received by a consumer (or dispose). Caller holds mu. */
static void h_tick(struct harness *h, uint64_t e)
{
    unsigned p = ELEM_P(e);
    uint64_t s = ELEM_S(e);
    if (p >= h->P || s >= h->per)
        h_problem(h, "an element nobody produced");
    else if (h->seen[(size_t)p * h->per + s]++ != 0)
        h_problem(h, "an element delivered twice");
}

static void h_gate_wait(struct harness *h)
{
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    h->gated++;
    PCQ_CHECK(pthread_cond_broadcast(&h->cv));
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    gate_wait(&h->gate);
}

static int h_produce(void *arg, unsigned index, void *elems, size_t max, size_t *count)
{
    struct harness *h = arg;
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    if (index >= h->P)
        h_problem(h, "produce: bad index");
    if (*count != 0)
        h_problem(h, "produce: *count not 0 on entry");
    h->in_push[index] = false; /* its push is over */
    bool bad = h->produce_calls_to_fail > 0 && --h->produce_calls_to_fail == 0;
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    if (bad) { /* break the contract: more than max */
        *count = max + 1;
        return 0;
    }
    if (h->produce_hook != NULL) {
        int rc = h->produce_hook(h, index);
        if (rc != 0)
            return rc;
    }
    uint64_t *out = elems;
    size_t n = 0;
    while (n < max && h->next[index] < h->per)
        out[n++] = ELEM(index, h->next[index]++);
    *count = n;
    return 0;
}

static int h_consume(void *arg, unsigned index, void *elems, size_t count)
{
    struct harness *h = arg;
    const uint64_t *in = elems;
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    if (index >= h->C)
        h_problem(h, "consume: bad index");
    h->consume_calls++;
    h->short_calls += count < h->short_below;
    if (count > h->largest_call)
        h->largest_call = count;
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    for (size_t k = 0; k < count; k++) {
        PCQ_CHECK(pthread_mutex_lock(&h->mu));
        h_tick(h, in[k]);
        uint64_t nth = ++h->consumed;
        if (h->lockstep)
            PCQ_CHECK(pthread_cond_broadcast(&h->cv));
        PCQ_CHECK(pthread_mutex_unlock(&h->mu));
        if (h->gate_consumers)
            h_gate_wait(h);
        if (h->consume_hook != NULL) {
            int rc = h->consume_hook(h, index, nth);
            if (rc != 0) { /* the rest of the batch is ours: still delivered */
                PCQ_CHECK(pthread_mutex_lock(&h->mu));
                while (++k < count) {
                    h_tick(h, in[k]);
                    h->consumed++;
                }
                PCQ_CHECK(pthread_mutex_unlock(&h->mu));
                return rc;
            }
        }
    }
    return 0;
}

static void h_dispose(void *arg, void *elems, size_t count)
{
    struct harness *h = arg;
    const uint64_t *in = elems;
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    if (count == 0)
        h_problem(h, "dispose with count 0");
    for (size_t k = 0; k < count; k++)
        h_tick(h, in[k]);
    h->disposed += count;
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
}

static void h_on_wait(void *arg, pcq_role_t role, unsigned index)
{
    struct harness *h = arg;
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    h->hook_waits[role == PCQ_CONSUMER]++;
    if (role == PCQ_PRODUCER && index < h->P)
        h->in_push[index] = true;
    PCQ_CHECK(pthread_cond_broadcast(&h->cv));
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
}

static void h_on_stop(void *arg, int error)
{
    struct harness *h = arg;
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    h->stop_calls++;
    h->stop_error = error;
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    gate_open(&h->gate);
}

/* Producers in (or just out of) a blocking push. Caller holds mu. */
static unsigned h_blocked(const struct harness *h)
{
    unsigned n = 0;
    for (unsigned p = 0; p < h->P; p++)
        n += h->in_push[p];
    return n;
}

/*
 * Wait until `gated` consumers wait at the gate, `blocking` producers are in
 * (or just out of) a blocking push, and the queue is full. With no consumer
 * popping any more that is where the run ends up, and stays: a producer
 * just out of its push calls produce, finds the queue full, calls on_wait
 * and blocks. The first two conditions are waited for on h->cv (on_wait and
 * gatings signal it); the queue filling up, which the last blocked pushes
 * may still be doing, is waited for by yielding (nothing signals it).
 */
static void h_await_stuck(struct harness *h, unsigned gated, unsigned blocking)
{
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    while (h->gated < gated || h_blocked(h) < blocking)
        PCQ_CHECK(pthread_cond_wait(&h->cv, &h->mu));
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    while (pcq_size(h->q) < h->capacity)
        sched_yield();
}

/* Wait until n consumer waits were announced, then until n sleeps in pop
 * were counted by the queue (a short spin: they are on their way). */
static void h_await_consumers_sleep(struct harness *h, uint64_t n)
{
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    while (h->hook_waits[1] < n)
        PCQ_CHECK(pthread_cond_wait(&h->cv, &h->mu));
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    await_pop_waits(h->q, n);
}

struct setup {
    unsigned P, C;
    size_t pbatch, cbatch, capacity;
};

/* A setup with lingering consumers. */
struct lsetup {
    struct setup s;
    size_t cmin;        /* consume_min */
    uint64_t linger_ns; /* consume_linger_ns */
};

static pcq_driver_t h_driver(struct harness *h, const struct setup *s, pcq_thread_stats_t *ps,
                             pcq_thread_stats_t *cs)
{
    pcq_driver_t d = PCQ_DRIVER_INIT;
    d.queue = h->q;
    d.producers = s->P;
    d.consumers = s->C;
    d.produce_batch = s->pbatch;
    d.consume_batch = s->cbatch;
    d.produce = h_produce;
    d.consume = h_consume;
    d.dispose = h_dispose;
    d.on_wait = h_on_wait;
    d.on_stop = h_on_stop;
    d.arg = h;
    d.producer_stats = ps;
    d.consumer_stats = cs;
    return d;
}

/* The exact accounting every run must satisfy, failed or not. */
static void h_check(struct harness *h, const pcq_run_result_t *r, const pcq_thread_stats_t *ps,
                    const pcq_thread_stats_t *cs, bool disposing)
{
    ck_assert_msg(h->problems == 0, "%u problems, first: %s", h->problems, h->problem);
    uint64_t produced = 0;
    for (unsigned p = 0; p < h->P; p++) {
        produced += h->next[p];
        for (uint64_t s = 0; s < h->per; s++) { /* one ck_assert: they are slow */
            unsigned n = h->seen[(size_t)p * h->per + s];
            unsigned want = s >= h->next[p] ? 0 : disposing ? 1 : n <= 1 ? n : 1;
            if (n != want)
                ck_assert_msg(n == want, "ELEM(%u, %" PRIu64 ") produced: %s, delivered %u times",
                              p, s, s < h->next[p] ? "yes" : "no", n);
        }
    }
    ck_assert_uint_eq(r->produced, produced);
    ck_assert_uint_eq(r->consumed, h->consumed);
    ck_assert_uint_eq(r->produced, r->consumed + r->leftovers);
    ck_assert_uint_eq(r->disposed, disposing ? r->leftovers : 0);
    ck_assert_uint_eq(r->disposed, h->disposed);
    ck_assert_uint_eq(r->push_waits, h->hook_waits[0]);
    ck_assert_uint_eq(r->pop_waits, h->hook_waits[1]);
    ck_assert_uint_le(r->pushed, r->produced);
    ck_assert_uint_ge(r->pushed, r->consumed);
    for (unsigned i = 0; i < 7; i++)
        ck_assert_uint_eq(r->reserved[i], 0);
    if (ps != NULL && cs != NULL) {
        uint64_t sp = 0, su = 0, sc = 0, pw = 0, cw = 0, calls = 0;
        for (unsigned p = 0; p < h->P; p++) {
            sp += ps[p].produced;
            su += ps[p].pushed;
            pw += ps[p].waits;
            ck_assert_uint_eq(ps[p].produced, h->next[p]);
            ck_assert_uint_eq(ps[p].consumed, 0);
            ck_assert(ps[p].reserved0 == 0 && ps[p].reserved[0] == 0 && ps[p].reserved[1] == 0);
        }
        for (unsigned c = 0; c < h->C; c++) {
            sc += cs[c].consumed;
            cw += cs[c].waits;
            calls += cs[c].calls;
            ck_assert_uint_eq(cs[c].produced, 0);
        }
        ck_assert_uint_eq(sp, r->produced);
        ck_assert_uint_eq(su, r->pushed);
        ck_assert_uint_eq(sc, r->consumed);
        ck_assert_uint_eq(pw, r->push_waits);
        ck_assert_uint_eq(cw, r->pop_waits);
        ck_assert_uint_eq(calls, h->consume_calls);
    }
    ck_assert(pcq_is_closed(h->q));
    ck_assert_uint_eq(h->stop_calls, r->error != 0 ? 1 : 0);
}

/* ------------------------------------------------------------------ */
/* Runs that end normally                                             */
/* ------------------------------------------------------------------ */

/*
 * Helgrind 3.19 reports false errors inside glibc when a timed wait times
 * out while another thread signals (see check_stress.c): under Helgrind a
 * linger never expires (the runs still carry a deadline), and the expiry
 * path is left to the native, sanitizer and DRD runs.
 */
static bool under_helgrind(void)
{
    const char *tool = valgrind_tool();
    return tool != NULL && strcmp(tool, "helgrind") == 0;
}

static uint64_t tool_linger(uint64_t ns)
{
    return ns != 0 && under_helgrind() ? UINT64_C(3600000000000) : ns;
}

#define HELGRIND_TIMED_WHY "Helgrind misreports glibc's timed wait racing a signal"

static void linger_run(const struct lsetup *ls, uint64_t per)
{
    const struct setup *s = &ls->s;
    struct harness h;
    h_init(&h, s->P, s->C, s->capacity, per);
    /* the driver's min: 0 means 1, capped to the consume batch */
    size_t cbatch = s->cbatch == 0 ? 1 : s->cbatch;
    size_t min = ls->cmin == 0 ? 1 : ls->cmin < cbatch ? ls->cmin : cbatch;
    h.short_below = min;
    pcq_thread_stats_t *ps = calloc(s->P, sizeof *ps), *cs = calloc(s->C, sizeof *cs);
    ck_assert(ps != NULL && cs != NULL);
    pcq_driver_t d = h_driver(&h, s, ps, cs);
    d.consume_min = ls->cmin;
    d.consume_linger_ns = tool_linger(ls->linger_ns);
    pcq_run_result_t r;
    int rc = pcq_run(&d, &r);
    ck_assert_msg(rc == 0, "P=%u C=%u batches %zu/%zu min %zu linger %" PRIu64 ": %s", s->P, s->C,
                  s->pbatch, s->cbatch, ls->cmin, ls->linger_ns, strerror(rc));
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.error_thread, 0);
    h_check(&h, &r, ps, cs, true);
    ck_assert_uint_eq(r.produced, (uint64_t)s->P * per);
    ck_assert_uint_eq(r.consumed, r.produced);
    ck_assert_uint_eq(r.pushed, r.produced);
    ck_assert_uint_eq(r.leftovers, 0);
    ck_assert_uint_eq(h.stop_calls, 0);
    ck_assert_uint_eq(pcq_size(h.q), 0);
    for (unsigned p = 0; p < s->P; p++) {
        ck_assert_int_eq(ps[p].error, 0);
        ck_assert_uint_eq(ps[p].pushed, per);
        /* batches full except the last: per / batch rounded up */
        ck_assert_uint_eq(ps[p].calls, (per + s->pbatch - 1) / s->pbatch);
    }
    for (unsigned c = 0; c < s->C; c++) {
        ck_assert_int_eq(cs[c].error, 0);
        ck_assert_uint_le(cs[c].consumed, cs[c].calls * s->cbatch);
    }
    ck_assert_uint_le(h.largest_call, cbatch);
    if (ls->linger_ns == 0) {
        /* Without a linger a consumer waits for min elements until the
         * close: only its last call may have fewer. */
        ck_assert_msg(h.short_calls <= s->C, "min %zu: %" PRIu64 " calls below it, %u consumers",
                      min, h.short_calls, s->C);
        ck_assert_uint_le(h.consume_calls, r.consumed / min + s->C);
    }
    free(ps);
    free(cs);
    h_destroy(&h);
}

static void normal_run(const struct setup *s, uint64_t per)
{
    struct lsetup ls = {*s, 0, 0};
    linger_run(&ls, per);
}

START_TEST(test_runs)
{
    static const struct setup setups[] = {
        {1, 1, 1, 1, 1},  {1, 1, 1, 1, 16}, {1, 4, 1, 1, 4},  {4, 1, 1, 1, 4},
        {4, 4, 3, 5, 8},  {3, 2, 8, 1, 4},  {2, 3, 1, 8, 16}, {2, 2, 16, 16, 5},
        {5, 3, 7, 2, 3},  {8, 8, 4, 4, 64},
    };
    uint64_t per = (uint64_t)scaled(4000, 60);
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        normal_run(&setups[i], per);
}
END_TEST

START_TEST(test_many_threads)
{
    unsigned n = valgrind_tool() != NULL ? 8 : 32;
    struct setup s = {n, n, 2, 3, 8};
    normal_run(&s, (uint64_t)scaled(2000, 20));
}
END_TEST

START_TEST(test_defaults)
{
    /* Zero counts mean one thread, one element at a time. */
    struct harness h;
    h_init(&h, 1, 1, 2, 100);
    pcq_thread_stats_t ps, cs;
    struct setup s = {0, 0, 0, 0, 2};
    pcq_driver_t d = h_driver(&h, &s, &ps, &cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), 0);
    h_check(&h, &r, &ps, &cs, true);
    ck_assert_uint_eq(r.consumed, 100);
    ck_assert_uint_eq(ps.calls, 100);
    ck_assert_uint_eq(cs.calls, 100);
    h_destroy(&h);
}
END_TEST

/* Consumers wait until the queue is closed with elements still inside:
 * the run must drain them before it returns. */
static void *await_closed_then_open(void *arg)
{
    struct harness *h = arg;
    while (!pcq_is_closed(h->q))
        sched_yield();
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    if (pcq_size(h->q) == 0)
        h_problem(h, "closed with nothing left to drain");
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    gate_open(&h->gate);
    return NULL;
}

START_TEST(test_done_close_drain)
{
    struct harness h;
    h_init(&h, 2, 2, 64, 20); /* 40 elements fit: no producer blocks */
    h.gate_consumers = true;
    pthread_t t;
    start(&t, await_closed_then_open, &h);
    struct setup s = {2, 2, 3, 1, 64};
    pcq_thread_stats_t ps[2], cs[2];
    pcq_driver_t d = h_driver(&h, &s, ps, cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), 0);
    join(t);
    h_check(&h, &r, ps, cs, true);
    ck_assert_uint_eq(r.consumed, 40);
    ck_assert_uint_eq(r.push_waits, 0);
    h_destroy(&h);
}
END_TEST

/* Hooks that force both sides to wait at least once. */
static int hold_until_consumer_sleeps(struct harness *h, unsigned index)
{
    (void)index;
    if (h->next[0] == 0)
        h_await_consumers_sleep(h, 1);
    return 0;
}

static int hold_until_producer_blocks(struct harness *h, unsigned index, uint64_t nth)
{
    (void)index;
    if (nth == 1)
        h_await_stuck(h, 0, 1);
    return 0;
}

START_TEST(test_waits_forced)
{
    struct harness h;
    h_init(&h, 1, 1, 1, 50);
    h.produce_hook = hold_until_consumer_sleeps;
    h.consume_hook = hold_until_producer_blocks;
    struct setup s = {1, 1, 1, 1, 1};
    pcq_thread_stats_t ps, cs;
    pcq_driver_t d = h_driver(&h, &s, &ps, &cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), 0);
    h_check(&h, &r, &ps, &cs, true);
    ck_assert_uint_ge(r.pop_waits, 1);
    ck_assert_uint_ge(r.push_waits, 1);
    ck_assert_uint_eq(ps.waits, r.push_waits);
    ck_assert_uint_eq(cs.waits, r.pop_waits);
    h_destroy(&h);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Lingering consumers                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_min_runs)
{
    /* {{P, C, produce batch, consume batch, capacity}, consume_min, linger} */
    static const struct lsetup setups[] = {
        {{1, 1, 1, 8, 16}, 8, 0},  {{1, 1, 3, 8, 4}, 8, 0}, {{2, 3, 3, 8, 16}, 8, 0},
        {{4, 2, 5, 16, 4}, 16, 0}, /* min above the capacity */
        {{3, 3, 2, 8, 8}, 100, 0}, /* min above the batch: capped to 8 */
        {{4, 4, 1, 6, 64}, 5, 0},  {{2, 2, 7, 4, 3}, 0, 0}, /* min 0 means 1 */
    };
    uint64_t per = (uint64_t)scaled(4000, 64) / 8 * 8;
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        linger_run(&setups[i], per);
}
END_TEST

/* One producer, one consumer, min = max = 8, no linger: every consume call
 * but none has exactly 8 elements (per is a multiple of 8). */
START_TEST(test_min_exact)
{
    uint64_t per = (uint64_t)scaled(4000, 64) / 8 * 8;
    struct harness h;
    h_init(&h, 1, 1, 16, per);
    h.short_below = 8;
    struct setup s = {1, 1, 1, 8, 16};
    pcq_thread_stats_t ps, cs;
    pcq_driver_t d = h_driver(&h, &s, &ps, &cs);
    d.consume_min = 8;
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), 0);
    h_check(&h, &r, &ps, &cs, true);
    ck_assert_uint_eq(r.consumed, per);
    ck_assert_uint_eq(cs.calls, per / 8);
    ck_assert_uint_eq(h.short_calls, 0);
    ck_assert_uint_eq(h.largest_call, 8);
    h_destroy(&h);
}
END_TEST

START_TEST(test_linger_runs)
{
    /* Lingers of 20 to 200 µs: partial batches at the deadline, racing
     * producers, several consumers; the accounting must stay exact. */
    static const struct lsetup setups[] = {
        {{1, 1, 1, 8, 16}, 8, 100000},  {{4, 4, 2, 8, 8}, 4, 50000},
        {{2, 3, 1, 16, 4}, 16, 200000}, /* min above the capacity */
        {{3, 2, 4, 8, 16}, 0, 20000},   /* a linger alone (min 1) */
        {{2, 2, 3, 1, 4}, 0, 20000},    /* ... with a batch of 1 */
        {{1, 3, 8, 32, 64}, 32, 100000},
    };
    uint64_t per = (uint64_t)scaled(2000, 40);
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        linger_run(&setups[i], per);
}
END_TEST

/* Lockstep: producer 0 hands over its next element only once every element
 * it handed over before has been consumed. */
static int await_consumed_all(struct harness *h, unsigned index)
{
    PCQ_CHECK(pthread_mutex_lock(&h->mu));
    while (h->consumed < h->next[index])
        PCQ_CHECK(pthread_cond_wait(&h->cv, &h->mu));
    PCQ_CHECK(pthread_mutex_unlock(&h->mu));
    return 0;
}

/* A lockstep run over a driver struct of `size` bytes: each element must
 * be consumed on its own, in one call per element. */
static void lockstep_run(size_t size, size_t cmin, uint64_t linger_ns)
{
    const uint64_t per = 20;
    struct harness h;
    h_init(&h, 1, 1, 16, per);
    h.lockstep = true;
    h.produce_hook = await_consumed_all;
    struct setup s = {1, 1, 1, 8, 16};
    pcq_thread_stats_t ps, cs;
    pcq_driver_t d = h_driver(&h, &s, &ps, &cs);
    d.consume_min = cmin;
    d.consume_linger_ns = linger_ns;
    d.size = size;
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), 0);
    h_check(&h, &r, &ps, &cs, true);
    ck_assert_uint_eq(r.consumed, per);
    ck_assert_uint_eq(cs.calls, per);
    ck_assert_uint_eq(h.largest_call, 1);
    ck_assert_uint_ge(cs.waits, 1);
    h_destroy(&h);
}

/* min 8 and never more than one element there: only the linger (1 ms)
 * lets each element through; without it this run would wait forever. */
START_TEST(test_linger_delivers_partial)
{
    if (under_helgrind()) {
        skipped(__func__, HELGRIND_TIMED_WHY);
        return;
    }
    lockstep_run(sizeof(pcq_driver_t), 8, 1000000);
}
END_TEST

/* The first ABI version ends before consume_min: a caller of that version
 * has whatever its memory holds there, which must not be read (a min of 8
 * without a linger, read, would make this lockstep run wait forever). */
START_TEST(test_old_size_ignores_new_fields)
{
    const size_t v1 = offsetof(pcq_driver_t, consumer_stats) + sizeof(pcq_thread_stats_t *);
    lockstep_run(v1, 8, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

static int fail_never(void *arg, unsigned index, void *elems, size_t count)
{
    (void)index;
    (void)elems;
    (void)count;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

static int produce_never(void *arg, unsigned index, void *elems, size_t max, size_t *count)
{
    (void)index;
    (void)elems;
    (void)max;
    (void)count;
    atomic_fetch_add((atomic_int *)arg, 1);
    return 0;
}

START_TEST(test_arguments)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    atomic_int calls = 0;
    pcq_run_result_t r;
    memset(&r, 0xff, sizeof r);
    ck_assert_int_eq(pcq_run(NULL, &r), EINVAL);
    ck_assert_int_eq(r.error, EINVAL);
    ck_assert_uint_eq(r.produced, 0);
    ck_assert_int_eq(pcq_run(NULL, NULL), EINVAL);

    pcq_driver_t d = PCQ_DRIVER_INIT;
    ck_assert_uint_eq(d.size, sizeof(pcq_driver_t));
    d.produce = produce_never;
    d.consume = fail_never;
    d.arg = &calls;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL); /* no queue */
    d.queue = q;
    d.consume = NULL;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    d.consume = fail_never;
    d.produce = NULL;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    d.produce = produce_never;
    d.size = sizeof d - 1;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    /* Between the first version's end and the second's: inside a field. */
    const size_t v1 = offsetof(pcq_driver_t, consumer_stats) + sizeof(pcq_thread_stats_t *);
    const size_t v2 = offsetof(pcq_driver_t, consume_linger_ns) + sizeof(uint64_t);
    for (size_t size = v1 + 1; size < v2; size++) {
        d.size = size;
        ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    }
    d.size = v1 - 1;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    d.size = 0;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    ck_assert(!pcq_is_closed(q)); /* EINVAL touches nothing */

    /* A caller from the future: bigger struct, unknown fields. */
    struct {
        pcq_driver_t d;
        uint64_t newer[2];
    } big;
    memset(&big, 0, sizeof big);
    big.d = d;
    big.d.size = sizeof big;
    big.newer[1] = 1;
    ck_assert_int_eq(pcq_run(&big.d, &r), ENOTSUP);
    ck_assert(!pcq_is_closed(q));
    ck_assert_int_eq(atomic_load(&calls), 0);
    big.newer[1] = 0; /* unknown fields at 0: runs (every producer done at once) */
    ck_assert_int_eq(pcq_run(&big.d, &r), 0);
    ck_assert_int_eq(atomic_load(&calls), 1); /* the one produce call */
    ck_assert(pcq_is_closed(q));

    /* A closed queue: EPIPE before anything runs. */
    atomic_store(&calls, 0);
    d.size = sizeof d;
    ck_assert_int_eq(pcq_run(&d, &r), EPIPE);
    ck_assert_int_eq(r.error, EPIPE);
    ck_assert_int_eq(r.error_thread, 0);
    ck_assert_int_eq(atomic_load(&calls), 0);
    pcq_destroy(q);
}
END_TEST

/*
 * A run that must fail with `want`, first reported by a thread of side
 * `role`, after the hooks have put the threads in the state under test.
 * The full queue is left over (and the batch of each producer still
 * blocked at the close, which the accounting covers); every thread but the
 * failing one stops with ECANCELED.
 */
static void error_run(const struct setup *s, produce_hook_fn ph, consume_hook_fn chook,
                      bool gate, int want, pcq_role_t role)
{
    struct harness h;
    h_init(&h, s->P, s->C, s->capacity, ENDLESS);
    h.produce_hook = ph;
    h.consume_hook = chook;
    h.gate_consumers = gate;
    pcq_thread_stats_t ps[4], cs[4];
    ck_assert(s->P <= 4 && s->C <= 4);
    pcq_driver_t d = h_driver(&h, s, ps, cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), want);
    ck_assert_int_eq(r.error, want);
    ck_assert_int_eq(r.error_thread, 1);
    ck_assert_int_eq(r.error_role, role);
    h_check(&h, &r, ps, cs, true);
    ck_assert_uint_eq(h.stop_calls, 1);
    ck_assert_int_eq(h.stop_error, want);
    ck_assert_uint_ge(r.leftovers, s->capacity);
    for (unsigned p = 0; p < s->P; p++) {
        bool failed = role == PCQ_PRODUCER && p == r.error_index;
        ck_assert_int_eq(ps[p].error, failed ? want : ECANCELED);
    }
    for (unsigned c = 0; c < s->C; c++) {
        bool failed = role == PCQ_CONSUMER && c == r.error_index;
        ck_assert_int_eq(cs[c].error, failed ? want : ECANCELED);
    }
    h_destroy(&h);
}

/* Producer 0 fails once every other producer is blocked on the full queue
 * and every consumer is stuck in its callback (until on_stop). */
static int fail_when_others_block(struct harness *h, unsigned index)
{
    if (index != 0)
        return 0;
    h_await_stuck(h, h->C, h->P - 1);
    return EIO;
}

START_TEST(test_produce_error_blocked_producers)
{
    static const struct setup setups[] = {
        {3, 2, 1, 1, 4}, {3, 2, 3, 2, 4}, {4, 1, 5, 3, 2}, {2, 3, 1, 4, 1},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        error_run(&setups[i], fail_when_others_block, NULL, true, EIO, PCQ_PRODUCER);
}
END_TEST

/* The only producer fails once every consumer sleeps on the empty queue. */
static int fail_when_consumers_sleep(struct harness *h, unsigned index)
{
    (void)index;
    h_await_consumers_sleep(h, h->C);
    return ENOSPC;
}

START_TEST(test_produce_error_blocked_consumers)
{
    struct harness h;
    h_init(&h, 1, 3, 4, 100);
    h.produce_hook = fail_when_consumers_sleep;
    struct setup s = {1, 3, 1, 2, 4};
    pcq_thread_stats_t ps[1], cs[3];
    pcq_driver_t d = h_driver(&h, &s, ps, cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), ENOSPC);
    h_check(&h, &r, ps, cs, true);
    ck_assert_uint_eq(r.produced, 0);
    ck_assert_uint_eq(r.consumed, 0);
    ck_assert_uint_ge(r.pop_waits, 3);
    for (unsigned c = 0; c < 3; c++)
        ck_assert_int_eq(cs[c].error, ECANCELED);
    h_destroy(&h);
}
END_TEST

/* The 50th element consumed fails, once every producer is blocked on the
 * full queue; the other consumers are held until on_stop. */
static int fail_50th_when_producers_block(struct harness *h, unsigned index, uint64_t nth)
{
    (void)index;
    if (nth < 50)
        return 0;
    if (nth > 50) {
        h_gate_wait(h);
        return 0;
    }
    h_await_stuck(h, h->C - 1, h->P);
    return ENOSPC;
}

START_TEST(test_consume_error)
{
    static const struct setup setups[] = {
        {2, 3, 1, 1, 4}, {3, 2, 4, 3, 5}, {1, 1, 1, 1, 1}, {4, 4, 2, 7, 3},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        error_run(&setups[i], NULL, fail_50th_when_producers_block, false, ENOSPC,
                  PCQ_CONSUMER);
}
END_TEST

/* Without dispose, leftovers in the queue stay there for the caller. */
START_TEST(test_error_without_dispose)
{
    struct harness h;
    h_init(&h, 2, 1, 4, ENDLESS);
    h.consume_hook = fail_50th_when_producers_block;
    struct setup s = {2, 1, 1, 1, 4};
    pcq_driver_t d = h_driver(&h, &s, NULL, NULL);
    d.dispose = NULL;
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), ENOSPC);
    h_check(&h, &r, NULL, NULL, false);
    ck_assert_uint_eq(r.disposed, 0);
    ck_assert_uint_eq(pcq_size(h.q), 4); /* still there: the caller's */
    ck_assert_uint_ge(r.leftovers, 4);
    uint64_t e;
    while (pcq_try_pop(h.q, &e) == 0)
        h_tick(&h, e);
    ck_assert_uint_eq(h.problems, 0);
    h_destroy(&h);
}
END_TEST

/* Someone else closes the queue mid-run: EPIPE, nothing lost uncounted. */
static int close_after_20(struct harness *h, unsigned index, uint64_t nth)
{
    (void)index;
    if (nth == 20)
        pcq_close(h->q);
    return 0;
}

START_TEST(test_external_close)
{
    struct harness h;
    h_init(&h, 2, 2, 4, ENDLESS);
    h.consume_hook = close_after_20;
    struct setup s = {2, 2, 2, 1, 4};
    pcq_thread_stats_t ps[2], cs[2];
    pcq_driver_t d = h_driver(&h, &s, ps, cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), EPIPE);
    ck_assert_int_eq(r.error_thread, 1);
    h_check(&h, &r, ps, cs, true);
    h_destroy(&h);
}
END_TEST

/* Someone else aborts the queue mid-run: ECANCELED, the leftovers are
 * drained (pcq_drain) into dispose, nothing is lost uncounted. */
static int abort_after_20(struct harness *h, unsigned index, uint64_t nth)
{
    (void)index;
    if (nth == 20)
        pcq_abort(h->q);
    return 0;
}

START_TEST(test_external_abort)
{
    static const struct lsetup setups[] = {
        {{2, 2, 2, 1, 4}, 0, 0}, {{3, 2, 1, 4, 8}, 4, 0}, {{2, 3, 3, 8, 16}, 8, 100000},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++) {
        const struct setup *s = &setups[i].s;
        struct harness h;
        h_init(&h, s->P, s->C, s->capacity, ENDLESS);
        h.consume_hook = abort_after_20;
        pcq_thread_stats_t ps[3], cs[3];
        pcq_driver_t d = h_driver(&h, s, ps, cs);
        d.consume_min = setups[i].cmin;
        d.consume_linger_ns = tool_linger(setups[i].linger_ns);
        pcq_run_result_t r;
        ck_assert_int_eq(pcq_run(&d, &r), ECANCELED);
        ck_assert_int_eq(r.error, ECANCELED);
        ck_assert_int_eq(r.error_thread, 1);
        h_check(&h, &r, ps, cs, true);
        ck_assert_uint_eq(h.stop_calls, 1);
        ck_assert_uint_eq(pcq_size(h.q), 0); /* drained into dispose */
        for (unsigned c = 0; c < s->C; c++)
            ck_assert_int_eq(cs[c].error, ECANCELED);
        h_destroy(&h);
    }
}
END_TEST

START_TEST(test_produce_too_many)
{
    struct harness h;
    h_init(&h, 1, 1, 4, 100);
    h.produce_calls_to_fail = 3;
    struct setup s = {1, 1, 2, 1, 4};
    pcq_thread_stats_t ps, cs;
    pcq_driver_t d = h_driver(&h, &s, &ps, &cs);
    pcq_run_result_t r;
    ck_assert_int_eq(pcq_run(&d, &r), EINVAL);
    ck_assert_int_eq(r.error_thread, 1);
    h_check(&h, &r, &ps, &cs, true);
    ck_assert_uint_eq(r.produced, 4); /* two good calls of 2 */
    ck_assert_int_eq(ps.error, EINVAL);
    h_destroy(&h);
}
END_TEST

START_TEST(test_create_failure)
{
    const unsigned P = 2, C = 2;
    for (int nth = 1; nth <= (int)(P + C); nth++) {
        struct harness h;
        h_init(&h, P, C, 4, 200);
        struct setup s = {P, C, 2, 3, 4};
        pcq_thread_stats_t ps[2], cs[2];
        pcq_driver_t d = h_driver(&h, &s, ps, cs);
        pcq_run_result_t r;
        atomic_store(&create_fail_in, nth);
        int rc = pcq_run(&d, &r);
        atomic_store(&create_fail_in, 0);
        ck_assert_msg(rc == EAGAIN, "failing create #%d: %s", nth, strerror(rc));
        ck_assert_int_eq(r.error_thread, 0);
        h_check(&h, &r, ps, cs, true);
        ck_assert_uint_eq(h.stop_calls, 1);
        if (nth == 1)
            ck_assert_uint_eq(r.produced + r.consumed, 0);
        h_destroy(&h);
    }
}
END_TEST

Suite *suite_driver(void)
{
    Suite *s = suite_create("driver");

    TCase *run = tcase_create("driver runs");
    tcase_add_test(run, test_runs);
    tcase_add_test(run, test_many_threads);
    tcase_add_test(run, test_defaults);
    tcase_add_test(run, test_done_close_drain);
    tcase_add_test(run, test_waits_forced);
    tcase_set_timeout(run, 60);
    suite_add_tcase(s, run);

    TCase *linger = tcase_create("driver lingering consumers");
    tcase_add_test(linger, test_min_runs);
    tcase_add_test(linger, test_min_exact);
    tcase_add_test(linger, test_linger_runs);
    tcase_add_test(linger, test_linger_delivers_partial);
    tcase_add_test(linger, test_old_size_ignores_new_fields);
    tcase_set_timeout(linger, 60);
    suite_add_tcase(s, linger);

    TCase *err = tcase_create("driver errors");
    tcase_add_test(err, test_arguments);
    tcase_add_test(err, test_produce_error_blocked_producers);
    tcase_add_test(err, test_produce_error_blocked_consumers);
    tcase_add_test(err, test_consume_error);
    tcase_add_test(err, test_error_without_dispose);
    tcase_add_test(err, test_external_close);
    tcase_add_test(err, test_external_abort);
    tcase_add_test(err, test_produce_too_many);
    tcase_add_test(err, test_create_failure);
    tcase_set_timeout(err, 60);
    suite_add_tcase(s, err);
    return s;
}
