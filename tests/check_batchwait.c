/*
 * check_batchwait.c — pcq_pop_batch: a consumer that waits for at least
 * `min` elements at once, or a deadline, or close, then takes up to `max`
 * in one piece of the queue.
 *
 * Clauses (include/pcq.h) and the tests that prove them:
 *  - EINVAL for NULL q/out/popped, min 0, max < min, a bad tv_nsec, with
 *    *popped set to 0 and nothing moved                  batchwait_einval
 *  - min there at once: 0 with min <= *popped <= max, FIFO, one piece,
 *    at any ring offset, nothing written past *popped   batchwait_min_there
 *  - a sleeping waiter returns as soon as min are there, with exactly what
 *    is there (up to max)                             batchwait_wakes_at_min
 *  - at the deadline: 0 with the 1..min-1 there, not before the deadline
 *                                                  batchwait_deadline_partial
 *  - at the deadline, empty: ETIMEDOUT, *popped 0     batchwait_deadline_empty
 *  - a deadline already past behaves like a try     batchwait_past_deadline
 *  - closed: takes what is there, then EPIPE; close releases a waiter with
 *    fewer than min, or none                             batchwait_closed
 *  - min above the capacity waits for a full queue  batchwait_min_above_capacity
 *  - NULL deadline: no time limit (close releases)   batchwait_null_deadline
 *  - no wake-up per element: a waiter for min sleeps through min-1 single
 *    pushes, is counted in pop_waits once, and is not made to run per
 *    element                                       batchwait_no_wakeup_per_element
 *  - several waiters with different min and plain pops: the one whose
 *    threshold is reached is woken (whatever its place in line), a plain
 *    pop is not starved by a batch waiter beside it   batchwait_right_waiter
 *                                                     batchwait_plain_beside_batch
 *  - the same raced: batch waiters of mixed min (and deadlines) with plain
 *    pops; every element exactly once, each batch one piece, every count
 *    within its rules; batch-only rounds hang if a threshold is never
 *    signalled (a watchdog fails them)                   batchwait_race
 *  - after pcq_abort: ECANCELED with *popped 0, even with elements inside,
 *    and a sleeping waiter returns ECANCELED          batchwait_aborted
 *  - statistics: popped counts the batch, a call that slept counts once
 *                                                      batchwait_stats
 *
 * Threads are ordered by the queue's own state (await_pop_waits: the
 * waiter has released the lock inside its wait) and by watched calls. The
 * only waits on time are bounded observation windows, in which a correct
 * queue passes whatever their length ("the waiter did not return within
 * W ms"): they decide how likely a broken queue is caught, never whether a
 * correct one passes.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test_util.h"

#define MS 1000000ull
#define UPPER_MS 10000ull /* generous: a loaded machine under Valgrind */
#define LOST_MS 10000     /* a waiter not back by then was never woken */
#define WINDOW_MS 20      /* observation window: "does not return" */
#define STALL_MS 10000    /* stress: no move for this long is a hang */
#define SENTINEL 0xdeadbeefcafef00dull

static void fill(uint64_t *a, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        a[i] = v;
}

/* A pop_batch waiter in a watched thread: min, max (<= 32), deadline. */
static void waiter_start(watched_t *w, pcq_t *q, size_t min, size_t max,
                         const struct timespec *deadline)
{
    memset(w, 0, sizeof *w);
    w->c = (struct call){.q = q, .kind = deadline != NULL ? POP_BATCH_UNTIL : POP_BATCH,
                         .n = max, .min = min, .deadline = deadline, .moved = 99, .rc = -1};
    fill(w->c.buf, 32, SENTINEL);
    watch_start(w);
}

/* Wait (bounded) for a waiter that must be woken; on failure release it
 * with pcq_abort so that the test ends instead of hanging. */
static void must_end(watched_t *w, pcq_t *q, const char *why)
{
    if (!watch_ended(w, LOST_MS)) {
        pcq_abort(q);
        watch_join(w);
        ck_abort_msg("pop_batch(min %zu, max %zu) not woken within %d ms: %s", w->c.min, w->c.n,
                     LOST_MS, why);
    }
    watch_join(w);
}

/* ------------------------------------------------------------------ */

START_TEST(batchwait_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t out[8], v = 5;
    size_t n;
    struct timespec d = deadline_ms(60000), bad1 = d, bad2 = d, past = {0, 0};
    bad1.tv_nsec = -1;
    bad2.tv_nsec = 1000000000L;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    for (int state = 0; state < 3; state++) { /* open, closed, aborted */
        if (state == 1)
            pcq_close(q);
        if (state == 2)
            pcq_abort(q);
        fill(out, 8, SENTINEL);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(NULL, out, 1, 1, NULL, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, NULL, 1, 1, NULL, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(pcq_pop_batch(q, out, 1, 1, NULL, NULL), EINVAL);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 0, 4, NULL, &n), EINVAL); /* min 0 */
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 0, 0, &d, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 3, 2, NULL, &n), EINVAL); /* max < min */
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 2, 1, &past, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, &bad1, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, &bad2, &n), EINVAL);
        ck_assert_uint_eq(n, 0);
        /* nothing moved, nothing written */
        ck_assert_uint_eq(pcq_size(q), 2);
        ck_assert_uint_eq(out[0], SENTINEL);
    }
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.popped, 0);
    ck_assert_uint_eq(s.pop_waits, 0);
    pcq_destroy(q);
}
END_TEST

/* min elements already there: returns at once with min..max of them, the
 * oldest first, one piece; across the end of the ring at every offset. */
START_TEST(batchwait_min_there)
{
    enum { CAP = 7 };
    for (size_t off = 0; off < CAP; off++) {
        for (size_t have = 1; have <= CAP; have++) {
            for (size_t min = 1; min <= have; min++) {
                pcq_t *q;
                ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
                uint64_t v, out[CAP + 4];
                for (size_t i = 0; i < off; i++) { /* move the head to off */
                    ck_assert_int_eq(pcq_push(q, &v), 0);
                    ck_assert_int_eq(pcq_pop(q, &v), 0);
                }
                for (v = 100; v < 100 + have; v++)
                    ck_assert_int_eq(pcq_push(q, &v), 0);
                /* max == min, then everything with a large max */
                size_t n = 99;
                fill(out, CAP + 4, SENTINEL);
                struct timespec d = deadline_ms(60000);
                ck_assert_int_eq(pcq_pop_batch(q, out, min, min, (min & 1) ? &d : NULL, &n), 0);
                ck_assert_uint_eq(n, min);
                for (size_t i = 0; i < min; i++)
                    ck_assert_uint_eq(out[i], 100 + i);
                ck_assert_uint_eq(out[min], SENTINEL); /* nothing past *popped */
                size_t left = have - min;
                if (left > 0) {
                    n = 99;
                    fill(out, CAP + 4, SENTINEL);
                    ck_assert_int_eq(pcq_pop_batch(q, out, 1, CAP + 4, NULL, &n), 0);
                    ck_assert_uint_eq(n, left); /* all there, up to max */
                    for (size_t i = 0; i < left; i++)
                        ck_assert_uint_eq(out[i], 100 + min + i);
                    ck_assert_uint_eq(out[left], SENTINEL);
                }
                ck_assert_uint_eq(pcq_size(q), 0);
                pcq_stats_t s;
                pcq_stats(q, &s);
                ck_assert_uint_eq(s.pop_waits, 0); /* none of them slept */
                pcq_destroy(q);
            }
        }
    }
    /* max below what is there: takes max, leaves the rest in order */
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 16, sizeof(uint64_t)), 0);
    uint64_t out[16];
    size_t n;
    for (uint64_t v = 0; v < 10; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 5, NULL, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(out[4], 4);
    ck_assert_uint_eq(pcq_size(q), 5);
    ck_assert_int_eq(pcq_pop(q, &out[0]), 0);
    ck_assert_uint_eq(out[0], 5);
    pcq_destroy(q);
}
END_TEST

/* A waiter asleep for min: single pushes up to min-1 leave it asleep; the
 * min-th wakes it, and it returns with exactly those, in order. Then the
 * same with one push_many bringing more than min at once (it takes up to
 * max of them). For each timed and untimed form. */
START_TEST(batchwait_wakes_at_min)
{
    const bool timed = _i == 1;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 16, sizeof(uint64_t)), 0);
    struct timespec far = deadline_ms(600000);
    watched_t w;
    waiter_start(&w, q, 4, 8, timed ? &far : NULL);
    await_pop_waits(q, 1);
    for (uint64_t v = 10; v < 13; v++) {
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_msg(!watch_ended(&w, 1), "returned with %zu < min 4 elements (rc %d)",
                      w.c.moved, w.c.rc);
    }
    uint64_t v = 13;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    must_end(&w, q, "the min-th element came");
    ck_assert_int_eq(w.c.rc, 0);
    ck_assert_uint_eq(w.c.moved, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(w.c.buf[i], 10 + i);
    ck_assert_uint_eq(w.c.buf[4], SENTINEL);

    /* one push of 6 at once, min 3, max 5: takes 3..5 of them, in order */
    waiter_start(&w, q, 3, 5, timed ? &far : NULL);
    await_pop_waits(q, 2);
    uint64_t six[6] = {20, 21, 22, 23, 24, 25};
    size_t n;
    ck_assert_int_eq(pcq_push_many(q, six, 6, &n), 0);
    must_end(&w, q, "6 elements came in one push_many");
    ck_assert_int_eq(w.c.rc, 0);
    ck_assert_uint_ge(w.c.moved, 3);
    ck_assert_uint_le(w.c.moved, 5);
    for (size_t i = 0; i < w.c.moved; i++)
        ck_assert_uint_eq(w.c.buf[i], 20 + i);
    ck_assert_uint_eq(w.c.buf[w.c.moved], SENTINEL);
    ck_assert_uint_eq(pcq_size(q), 6 - w.c.moved);
    pcq_destroy(q);
}
END_TEST

/* Fewer than min there at the deadline: 0 with those, in order, and not
 * before the deadline. */
START_TEST(batchwait_deadline_partial)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    struct timespec d = deadline_ms(300);
    const uint64_t d_ns = (uint64_t)d.tv_sec * 1000000000u + (uint64_t)d.tv_nsec;
    watched_t w;
    waiter_start(&w, q, 5, 8, &d);
    await_pop_waits(q, 1);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    v = 2;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    must_end(&w, q, "its deadline passed");
    uint64_t back = now_ns();
    ck_assert_int_eq(w.c.rc, 0);
    ck_assert_uint_eq(w.c.moved, 2);
    ck_assert_uint_eq(w.c.buf[0], 1);
    ck_assert_uint_eq(w.c.buf[1], 2);
    ck_assert_uint_eq(w.c.buf[2], SENTINEL);
    ck_assert_msg(back >= d_ns, "returned %" PRIu64 " us before its deadline with 2 < min 5",
                  (d_ns - back) / 1000);
    ck_assert_uint_lt(back - d_ns, UPPER_MS * MS);
    ck_assert_uint_eq(pcq_size(q), 0);
    pcq_destroy(q);
}
END_TEST

/* Empty at the deadline: ETIMEDOUT with *popped 0, after the deadline. */
START_TEST(batchwait_deadline_empty)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t out[4];
    fill(out, 4, SENTINEL);
    size_t n = 99;
    struct timespec d = deadline_ms(100);
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 4, &d, &n), ETIMEDOUT);
    uint64_t dt = now_ns() - t0;
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(out[0], SENTINEL);
    ck_assert_uint_ge(dt, 90 * MS);
    ck_assert_uint_lt(dt, UPPER_MS * MS);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* on CLOCK_MONOTONIC */
    ck_assert(now.tv_sec > d.tv_sec || (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec));
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 1); /* it did sleep, counted once */
    pcq_destroy(q);
}
END_TEST

/* A deadline already past: a try that waits for nothing; ETIMEDOUT (not
 * EAGAIN) when empty; takes what is there otherwise. */
START_TEST(batchwait_past_deadline)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t out[8];
    size_t n = 99;
    struct timespec zero = {0, 0}, past = deadline_ms(0), neg = {-5, 0};
    past.tv_sec -= 1;
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, &zero, &n), ETIMEDOUT);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 8, &neg, &n), ETIMEDOUT);
    for (uint64_t v = 0; v < 5; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 3, &past, &n), 0); /* >= min there */
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[2], 2);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 6, 8, &past, &n), 0); /* 2 < min there */
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 3);
    ck_assert_uint_eq(out[1], 4);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 6, 8, &past, &n), ETIMEDOUT);
    ck_assert_uint_eq(n, 0);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 0);
    ck_assert_uint_eq(s.popped, 5);
    pcq_destroy(q);
}
END_TEST

/* Closed: takes what is there (even below min), then EPIPE; close wakes a
 * waiter holding out for min with what is there, or EPIPE when empty. */
START_TEST(batchwait_closed)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t out[8];
    size_t n;
    for (uint64_t v = 0; v < 5; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 3, NULL, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0], 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 5, 8, NULL, &n), 0); /* 2 < min */
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 3);
    ck_assert_uint_eq(out[1], 4);
    struct timespec d = deadline_ms(60000), past = {0, 0};
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, NULL, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 4, 8, &d, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 4, 8, &past, &n), EPIPE); /* not ETIMEDOUT */
    ck_assert_uint_eq(n, 0);
    pcq_destroy(q);

    /* sleeping waiters, untimed and timed: one with 2 of its min 5 there,
     * then one on an empty queue; close releases both */
    for (int timed = 0; timed < 2; timed++) {
        ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
        struct timespec far = deadline_ms(600000);
        watched_t w;
        waiter_start(&w, q, 5, 8, timed ? &far : NULL);
        await_pop_waits(q, 1);
        uint64_t v = 7;
        ck_assert_int_eq(pcq_push(q, &v), 0);
        v = 8;
        ck_assert_int_eq(pcq_push(q, &v), 0);
        pcq_close(q);
        must_end(&w, q, "the queue was closed");
        ck_assert_int_eq(w.c.rc, 0);
        ck_assert_uint_eq(w.c.moved, 2);
        ck_assert_uint_eq(w.c.buf[0], 7);
        ck_assert_uint_eq(w.c.buf[1], 8);
        pcq_destroy(q);

        ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
        waiter_start(&w, q, 3, 3, timed ? &far : NULL);
        await_pop_waits(q, 1);
        pcq_close(q);
        must_end(&w, q, "the queue was closed");
        ck_assert_int_eq(w.c.rc, EPIPE);
        ck_assert_uint_eq(w.c.moved, 0);
        pcq_destroy(q);
    }
}
END_TEST

/* min above the capacity: waits for a full queue, then takes all of it. */
START_TEST(batchwait_min_above_capacity)
{
    enum { CAP = 4 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
    uint64_t out[16], v;
    size_t n;
    /* full already: at once */
    for (v = 0; v < CAP; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop_batch(q, out, 10, 16, NULL, &n), 0);
    ck_assert_uint_eq(n, CAP);
    ck_assert_uint_eq(out[CAP - 1], CAP - 1);

    /* a sleeper: CAP-1 single pushes leave it asleep, the CAP-th wakes it */
    watched_t w;
    waiter_start(&w, q, 10, 12, NULL);
    await_pop_waits(q, 1);
    for (v = 0; v < CAP - 1; v++) {
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_msg(!watch_ended(&w, 1), "min 10 > capacity %d: returned with %zu (rc %d)",
                      CAP, w.c.moved, w.c.rc);
    }
    ck_assert_int_eq(pcq_push(q, &v), 0); /* full now */
    must_end(&w, q, "the queue became full");
    ck_assert_int_eq(w.c.rc, 0);
    ck_assert_uint_eq(w.c.moved, CAP);
    for (size_t i = 0; i < CAP; i++)
        ck_assert_uint_eq(w.c.buf[i], i);
    ck_assert_uint_eq(w.c.buf[CAP], SENTINEL);
    pcq_destroy(q);
}
END_TEST

/* NULL deadline: no time limit. Below min it stays asleep (observation
 * window); close releases it with what is there. */
START_TEST(batchwait_null_deadline)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    watched_t w;
    waiter_start(&w, q, 3, 8, NULL);
    await_pop_waits(q, 1);
    uint64_t v = 42;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_msg(!watch_ended(&w, 10 * WINDOW_MS),
                  "pop_batch(min 3, NULL deadline) returned with %zu (rc %d)", w.c.moved,
                  w.c.rc);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_close(q);
    must_end(&w, q, "the queue was closed");
    ck_assert_int_eq(w.c.rc, 0);
    ck_assert_uint_eq(w.c.moved, 1);
    ck_assert_uint_eq(w.c.buf[0], 42);
    pcq_destroy(q);
}
END_TEST

/*
 * No wake-up per element. A waiter for MIN sleeps; single pushes bring
 * MIN-1 elements, each followed by a short window in which a waiter woken
 * for it would run, find too few and sleep again. Verdicts: it does not
 * return before the MIN-th; it returns with exactly MIN; pop_waits counts
 * its call once; and (Linux, not under Valgrind, whose scheduler makes
 * every thread switch) the waiter thread went to sleep only a few times
 * during the call (RUSAGE_THREAD voluntary context switches): a waiter
 * woken per element sleeps again after each one, about MIN times.
 */
struct lingerer {
    pcq_t *q;
    size_t min;
    uint64_t buf[32];
    size_t popped;
    int rc;
    long vcsw; /* voluntary context switches during the call, -1: unknown */
    pthread_mutex_t mu;
    bool done; /* mu */
};

static void *lingerer_thread(void *arg)
{
    struct lingerer *l = arg;
    long before = -1, after = -1;
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0)
        before = ru.ru_nvcsw;
#endif
    l->rc = pcq_pop_batch(l->q, l->buf, l->min, l->min, NULL, &l->popped);
#ifdef RUSAGE_THREAD
    if (getrusage(RUSAGE_THREAD, &ru) == 0)
        after = ru.ru_nvcsw;
#endif
    l->vcsw = before >= 0 && after >= 0 ? after - before : -1;
    pthread_mutex_lock(&l->mu);
    l->done = true;
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static bool lingerer_done(struct lingerer *l)
{
    pthread_mutex_lock(&l->mu);
    bool d = l->done;
    pthread_mutex_unlock(&l->mu);
    return d;
}

/* Yield for about ms milliseconds: an observation window, see the top. */
static void window(long ms)
{
    const uint64_t end = now_ns() + (uint64_t)ms * MS;
    while (now_ns() < end)
        sched_yield();
}

START_TEST(batchwait_no_wakeup_per_element)
{
    enum { MIN = 16 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 64, sizeof(uint64_t)), 0);
    struct lingerer l = {.q = q, .min = MIN, .rc = -1};
    ck_assert_int_eq(pthread_mutex_init(&l.mu, NULL), 0);
    pthread_t t;
    start(&t, lingerer_thread, &l);
    await_pop_waits(q, 1);
    bool early = false;
    for (uint64_t v = 0; v < MIN - 1 && !early; v++) {
        ck_assert_int_eq(pcq_push(q, &v), 0);
        window(2);
        early = lingerer_done(&l);
    }
    uint64_t v = MIN - 1;
    if (!early)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    else
        pcq_close(q); /* let it end: the test fails below */
    join(t);
    ck_assert_msg(!early, "pop_batch(min %d) returned with %zu elements (rc %d)", MIN, l.popped,
                  l.rc);
    ck_assert_int_eq(l.rc, 0);
    ck_assert_uint_eq(l.popped, MIN);
    for (size_t i = 0; i < MIN; i++)
        ck_assert_uint_eq(l.buf[i], i);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 1); /* a call counts once */
    ck_assert_uint_eq(s.push_waits, 0);
    if (valgrind_tool() != NULL)
        skipped(__func__, "its context-switch verdict: Valgrind's scheduler switches threads "
                          "itself (the other verdicts ran)");
    else if (l.vcsw >= 0)
        ck_assert_msg(l.vcsw <= 6,
                      "the batch waiter went to sleep %ld times while %d single pushes "
                      "reached its min: woken per element",
                      l.vcsw, MIN);
    pthread_mutex_destroy(&l.mu);
    pcq_destroy(q);
}
END_TEST

/*
 * Two batch waiters with different min: pushes reaching the smaller
 * threshold wake the waiter with that threshold, whether it went to sleep
 * first or second (a queue that only ever signals its oldest sleeper
 * leaves it asleep: the bug the Spin model is to catch too). _i: 0, the
 * larger min sleeps first; 1, the smaller first; 2, equal mins.
 */
START_TEST(batchwait_right_waiter)
{
    static const size_t mins[3][2] = {{5, 2}, {2, 5}, {3, 3}};
    const size_t m0 = mins[_i][0], m1 = mins[_i][1];
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 16, sizeof(uint64_t)), 0);
    watched_t w[2];
    waiter_start(&w[0], q, m0, m0, NULL);
    await_pop_waits(q, 1);
    waiter_start(&w[1], q, m1, m1, NULL);
    await_pop_waits(q, 2);
    const size_t first = m0 < m1 ? m0 : m1;
    uint64_t v = 0;
    for (; v < first; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    /* the smaller threshold is reached: its waiter (either, if equal) ends */
    int ended = -1;
    for (uint64_t t0 = now_ns(); ended < 0 && now_ns() - t0 < LOST_MS * MS;)
        for (int k = 0; k < 2 && ended < 0; k++)
            if (watch_ended(&w[k], 1))
                ended = k;
    if (ended < 0) {
        pcq_abort(q);
        watch_join(&w[0]);
        watch_join(&w[1]);
        ck_abort_msg("waiters with min %zu (asleep first) and %zu: %zu pushes woke neither", m0,
                     m1, first);
    }
    ck_assert_uint_eq(w[ended].c.min, first);
    watch_join(&w[ended]);
    ck_assert_int_eq(w[ended].c.rc, 0);
    ck_assert_uint_eq(w[ended].c.moved, first);
    for (size_t i = 0; i < first; i++)
        ck_assert_uint_eq(w[ended].c.buf[i], i);
    /* the other one is still asleep and gets the next pushes */
    const int other = 1 - ended;
    const size_t need = w[other].c.min;
    ck_assert_uint_eq(pcq_size(q), 0);
    for (size_t i = 0; i < need; i++, v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    must_end(&w[other], q, "its min was reached after the other waiter left");
    ck_assert_int_eq(w[other].c.rc, 0);
    ck_assert_uint_eq(w[other].c.moved, need);
    for (size_t i = 0; i < need; i++)
        ck_assert_uint_eq(w[other].c.buf[i], first + i);
    pcq_destroy(q);
}
END_TEST

/* A batch waiter (min 2) that went to sleep at capacity 1 sleeps as a
 * plain pop would (its count is the whole ring); the capacity then grows
 * to 3 and a plain pop sleeps beside it. The one element pushed next is the
 * plain pop's: the grow must move the batch waiter to its new count, and a
 * batch waiter that takes the element's wake-up must pass it on. */
START_TEST(batchwait_grown_passes_wakeup)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, sizeof(uint64_t)), 0);
    watched_t batch = {.c = {.q = q, .kind = POP_BATCH, .n = 2, .min = 2}};
    watch_start(&batch);
    await_pop_waits(q, 1);
    ck_assert_int_eq(pcq_set_capacity(q, 3), 0);
    watched_t plain = {.c = {.q = q, .kind = POP}};
    watch_start(&plain);
    await_pop_waits(q, 2);
    const uint64_t v = 42;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_msg(watch_ended(&plain, 10000), "the plain pop slept on beside its element");
    ck_assert_int_eq(watch_join(&plain), 0);
    ck_assert_uint_eq(plain.c.buf[0], 42);
    ck_assert(!watch_ended(&batch, 1)); /* its 2 are not there */
    pcq_close(q);
    ck_assert_int_eq(watch_join(&batch), EPIPE);
    pcq_destroy(q);
}
END_TEST

/* A plain pop asleep beside a batch waiter (either asleep first): one
 * element goes to the plain pop (the batch waiter must neither take it
 * nor swallow its wake-up); then min elements go to the batch waiter. */
START_TEST(batchwait_plain_beside_batch)
{
    const bool batch_first = _i == 0;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 16, sizeof(uint64_t)), 0);
    watched_t b, p;
    memset(&p, 0, sizeof p);
    p.c = (struct call){.q = q, .kind = _i == 2 ? POP_MANY : POP, .n = 4, .rc = -1};
    if (batch_first) {
        waiter_start(&b, q, 3, 3, NULL);
        await_pop_waits(q, 1);
        watch_start(&p);
    } else {
        watch_start(&p);
        await_pop_waits(q, 1);
        waiter_start(&b, q, 3, 3, NULL);
    }
    await_pop_waits(q, 2);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    if (!watch_ended(&p, LOST_MS)) {
        pcq_abort(q);
        watch_join(&p);
        watch_join(&b);
        ck_abort_msg("a plain pop asleep beside a pop_batch(min 3) was not woken for one "
                     "element");
    }
    watch_join(&p);
    ck_assert_int_eq(p.c.rc, 0);
    ck_assert_uint_eq(p.c.buf[0], 1);
    ck_assert(!watch_ended(&b, 1));
    for (v = 2; v <= 4; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    must_end(&b, q, "its min was reached");
    ck_assert_int_eq(b.c.rc, 0);
    ck_assert_uint_eq(b.c.moved, 3);
    ck_assert_uint_eq(b.c.buf[0], 2);
    ck_assert_uint_eq(b.c.buf[2], 4);
    pcq_destroy(q);
}
END_TEST

/* After pcq_abort: ECANCELED with *popped 0 whatever is inside, and a
 * sleeping waiter (with some of its min there) returns ECANCELED. */
START_TEST(batchwait_aborted)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    struct timespec far = deadline_ms(600000);
    watched_t w;
    waiter_start(&w, q, 5, 8, _i ? &far : NULL);
    await_pop_waits(q, 1);
    uint64_t v, out[8];
    for (v = 0; v < 3; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_abort(q);
    must_end(&w, q, "the queue was aborted");
    ck_assert_int_eq(w.c.rc, ECANCELED);
    ck_assert_uint_eq(w.c.moved, 0);
    ck_assert_uint_eq(w.c.buf[0], SENTINEL);
    size_t n = 99;
    struct timespec past = {0, 0};
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, NULL, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 3, &far, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 1, &past, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(pcq_size(q), 3); /* left for pcq_drain */
    pcq_destroy(q);
}
END_TEST

/* Statistics: popped counts every element a batch took; a call that slept
 * counts once in pop_waits, one that did not, not at all. */
START_TEST(batchwait_stats)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t v, out[8];
    size_t n;
    for (v = 0; v < 6; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 4, NULL, &n), 0);
    watched_t w;
    waiter_start(&w, q, 6, 6, NULL); /* 2 there: sleeps */
    await_pop_waits(q, 1);
    for (v = 0; v < 4; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    must_end(&w, q, "its min was reached");
    ck_assert_uint_eq(w.c.moved, 6);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 10);
    ck_assert_uint_eq(s.popped, 10);
    ck_assert_uint_eq(s.pop_waits, 1);
    ck_assert_uint_eq(s.high_water, 6);
    pcq_destroy(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The race: batch waiters of mixed min, plain pops, producers          */
/* ------------------------------------------------------------------ */

#define RACE_MAX 24 /* the largest max a batch waiter asks for */

struct racer {
    pcq_t *q;
    finish_t *fin;
    gate_t *go;
    unsigned id;
    test_rng_t rng;
    uint64_t seed;
    /* producer */
    uint32_t n;
    /* consumer: min 0 = a plain consumer */
    size_t min;
    tally_t tally;
};

/* Whether the race's timed calls may expire: not under Valgrind. Under
 * Helgrind for its false report (expiry_allowed); under DRD because its
 * one-thread-at-a-time scheduler turns callers whose 0..300 us deadlines
 * keep expiring into a crawl (minutes for a shape). Deadlines that expire
 * are raced natively and under the sanitizers. */
static bool race_expiry(void) { return valgrind_tool() == NULL; }

static void *race_producer(void *arg)
{
    struct racer *r = arg;
    gate_wait(r->go);
    uint64_t batch[8];
    uint32_t s = 0;
    while (s < r->n && r->tally.fault[0] == '\0') {
        size_t k = 1 + (size_t)test_below(&r->rng, 8), moved = 0;
        if (k > r->n - s)
            k = r->n - s;
        for (size_t i = 0; i < k; i++)
            batch[i] = TALLY_ELEM(r->id, s + i);
        int rc;
        switch (test_below(&r->rng, 4)) {
        case 0:
            rc = pcq_push(r->q, batch);
            moved = rc == 0;
            break;
        case 1:
            while ((rc = pcq_try_push(r->q, batch)) == EAGAIN)
                sched_yield();
            moved = rc == 0;
            break;
        case 2:
            rc = pcq_push_many(r->q, batch, k, &moved);
            break;
        default:
            /* (under Valgrind a timeout that never expires: see race_expiry) */
            while ((rc = pcq_push_for(r->q, batch,
                                      race_expiry() ? test_below(&r->rng, 100000)
                                                    : 10000000000ull)) == ETIMEDOUT)
                ;
            moved = rc == 0;
            break;
        }
        if (rc != 0)
            tally_fault(&r->tally, "producer %u (seed %#" PRIx64 "): push returned %d", r->id,
                        r->seed, rc);
        s += (uint32_t)moved;
    }
    finish_one(r->fin);
    return NULL;
}

static bool ts_passed(const struct timespec *d)
{
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    return n.tv_sec > d->tv_sec || (n.tv_sec == d->tv_sec && n.tv_nsec >= d->tv_nsec);
}

static void *race_consumer(void *arg)
{
    struct racer *r = arg;
    tally_t *t = &r->tally;
    gate_wait(r->go);
    uint64_t buf[RACE_MAX];
    const size_t cap = pcq_capacity(r->q);
    for (;;) {
        int rc;
        size_t n = 0;
        if (r->min == 0) { /* plain */
            switch (test_below(&r->rng, 3)) {
            case 0:
                rc = pcq_pop(r->q, buf);
                n = rc == 0;
                break;
            case 1:
                while ((rc = pcq_try_pop(r->q, buf)) == EAGAIN)
                    sched_yield();
                n = rc == 0;
                break;
            default:
                rc = pcq_pop_many(r->q, buf, 1 + (size_t)test_below(&r->rng, 8), &n);
                break;
            }
            if (rc == 0)
                tally_take(t, buf, n, false);
        } else {
            size_t max = r->min + (size_t)test_below(&r->rng, RACE_MAX - r->min + 1);
            struct timespec d;
            const struct timespec *dp = NULL;
            uint64_t pick = test_below(&r->rng, 10);
            if (pick >= 5) { /* half of the calls have a deadline */
                uint64_t ns = pick == 9 ? 0 : test_below(&r->rng, 300000);
                if (!race_expiry())
                    ns = 10000000000ull;
                uint64_t at = now_ns() + ns;
                d = (struct timespec){(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
                dp = &d;
            }
            n = 99;
            rc = pcq_pop_batch(r->q, buf, r->min, max, dp, &n);
            const size_t need = r->min < cap ? r->min : cap;
            if (rc == 0) {
                if (n < 1 || n > max)
                    tally_fault(t, "pop_batch(min %zu, max %zu) returned 0 with %zu", r->min, max,
                                n);
                else if (n < need && !(dp != NULL && ts_passed(dp)) && !pcq_is_closed(r->q))
                    tally_fault(t,
                                "pop_batch(min %zu, max %zu, %s) returned 0 with %zu, before "
                                "its deadline, on an open queue",
                                r->min, max, dp ? "deadline" : "no deadline", n);
                else
                    tally_take(t, buf, n, true);
            } else if (n != 0) {
                tally_fault(t, "pop_batch returned %d with *popped %zu", rc, n);
            } else if (rc == ETIMEDOUT) {
                if (dp == NULL || !ts_passed(dp))
                    tally_fault(t, "pop_batch: ETIMEDOUT %s", dp ? "before its deadline"
                                                                 : "without a deadline");
                continue;
            }
        }
        if (rc == EPIPE)
            break;
        if (rc != 0) {
            tally_fault(t, "consumer %u (min %zu): returned %d", r->id, r->min, rc);
            break;
        }
    }
    finish_one(r->fin);
    return NULL;
}

static const struct race_shape {
    size_t cap;
    unsigned producers;
    size_t mins[6]; /* 0 ends the list; a 0 entry in `plain` count */
    unsigned plain;
} race_shapes[] = {
    {8, 3, {1, 3, 8, 12}, 2},  /* mixed, one min above the capacity */
    {3, 2, {2, 5}, 1},         /* tiny ring */
    {16, 3, {2, 4, 16}, 0},    /* batch waiters only: a lost threshold hangs */
    {4, 2, {3, 4, 7, 2}, 0},   /* batch only, min around the capacity */
    {64, 4, {1, 8, 24}, 3},    /* roomy */
};
#define N_RACE (sizeof race_shapes / sizeof race_shapes[0])

START_TEST(batchwait_race)
{
    const struct race_shape *sh = &race_shapes[_i];
    /* Under Valgrind, whose one-thread-at-a-time scheduler makes every
     * spinning and timing-out caller take turns with the rest, a few
     * hundred per producer: still every shape's interleavings, in minutes
     * less. */
    const uint32_t per = (uint32_t)(valgrind_tool() != NULL ? 150 : scaled(20000, 300));
    unsigned nb = 0;
    while (nb < 6 && sh->mins[nb] != 0)
        nb++;
    const unsigned nc = nb + sh->plain, np = sh->producers;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, sh->cap, sizeof(uint64_t)), 0);
    gate_t go;
    gate_init(&go);
    finish_t pfin, cfin;
    finish_init(&pfin, np);
    finish_init(&cfin, nc);
    struct racer *prod = calloc(np, sizeof *prod), *cons = calloc(nc, sizeof *cons);
    pthread_t *pt = calloc(np, sizeof *pt), *ct = calloc(nc, sizeof *ct);
    uint32_t *want = calloc(np, sizeof *want);
    tally_t *tallies = calloc(nc, sizeof *tallies);
    ck_assert(prod && cons && pt && ct && want && tallies);
    for (unsigned i = 0; i < np; i++) {
        prod[i] = (struct racer){.q = q, .fin = &pfin, .go = &go, .id = i, .n = per};
        prod[i].seed = prod[i].rng.s = test_seed(40, (unsigned)_i, i);
        want[i] = per;
        start(&pt[i], race_producer, &prod[i]);
    }
    for (unsigned i = 0; i < nc; i++) {
        cons[i] = (struct racer){.q = q, .fin = &cfin, .go = &go, .id = i,
                                 .min = i < nb ? sh->mins[i] : 0};
        cons[i].seed = cons[i].rng.s = test_seed(40, (unsigned)_i, 1000 + i);
        tally_init(&cons[i].tally, np, per);
        start(&ct[i], race_consumer, &cons[i]);
    }
    gate_open(&go);
    char msg[512] = "";
    bool ok = finish_wait(&pfin, q, STALL_MS, msg, sizeof msg);
    pcq_close(q);
    if (ok)
        ok = finish_wait(&cfin, q, STALL_MS, msg, sizeof msg);
    if (!ok && strstr(msg, "still blocked") != NULL)
        ck_abort_msg("shape %d: %s", _i, msg);
    for (unsigned i = 0; i < np; i++)
        join(pt[i]);
    for (unsigned i = 0; i < nc; i++)
        join(ct[i]);
    if (ok) {
        for (unsigned i = 0; i < np && msg[0] == '\0'; i++)
            if (prod[i].tally.fault[0] != '\0')
                snprintf(msg, sizeof msg, "%s", prod[i].tally.fault);
        if (msg[0] == '\0') {
            for (unsigned i = 0; i < nc; i++)
                tallies[i] = cons[i].tally;
            tally_verdict(tallies, nc, want, msg, sizeof msg);
        }
    }
    if (msg[0] == '\0') {
        pcq_stats_t s;
        pcq_stats(q, &s);
        if (s.pushed != (uint64_t)np * per || s.popped != s.pushed || pcq_size(q) != 0)
            snprintf(msg, sizeof msg, "stats: pushed %" PRIu64 " popped %" PRIu64 " size %zu",
                     s.pushed, s.popped, pcq_size(q));
    }
    for (unsigned i = 0; i < nc; i++)
        tally_free(&cons[i].tally);
    free(tallies);
    free(want);
    free(ct);
    free(pt);
    free(cons);
    free(prod);
    finish_destroy(&cfin);
    finish_destroy(&pfin);
    gate_destroy(&go);
    pcq_destroy(q);
    ck_assert_msg(msg[0] == '\0', "shape %d (capacity %zu, %u producers, %u batch waiters, %u "
                  "plain, %" PRIu32 " each): %s",
                  _i, sh->cap, np, nb, sh->plain, per, msg);
}
END_TEST

Suite *suite_batchwait(void)
{
    Suite *s = suite_create("batchwait");
    TCase *tc = tcase_create("contract");
    tcase_add_test(tc, batchwait_einval);
    tcase_add_test(tc, batchwait_min_there);
    tcase_add_loop_test(tc, batchwait_wakes_at_min, 0, 2);
    tcase_add_test(tc, batchwait_deadline_partial);
    tcase_add_test(tc, batchwait_deadline_empty);
    tcase_add_test(tc, batchwait_past_deadline);
    tcase_add_test(tc, batchwait_closed);
    tcase_add_test(tc, batchwait_min_above_capacity);
    tcase_add_test(tc, batchwait_null_deadline);
    tcase_add_test(tc, batchwait_no_wakeup_per_element);
    tcase_add_loop_test(tc, batchwait_right_waiter, 0, 3);
    tcase_add_loop_test(tc, batchwait_plain_beside_batch, 0, 3);
    tcase_add_test(tc, batchwait_grown_passes_wakeup);
    tcase_add_loop_test(tc, batchwait_aborted, 0, 2);
    tcase_add_test(tc, batchwait_stats);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_loop_test(tc, batchwait_race, 0, (int)N_RACE);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
