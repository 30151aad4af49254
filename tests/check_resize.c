/*
 * check_resize.c — pcq_set_capacity: growing and shrinking a live queue.
 *
 * Clauses (include/pcq.h) and the tests that prove them:
 *  - EINVAL for NULL and 0; EOVERFLOW when capacity * elem_size does not
 *    fit a size_t, before any allocation; nothing changes    resize_einval,
 *                                                           resize_eoverflow
 *  - growing keeps every element in order, at every ring offset, and the
 *    new capacity is exact                          resize_grow_keeps_order
 *  - growing wakes the blocked producers that now fit, of every kind;
 *    those that still do not fit wait on          resize_grow_wakes_producers
 *  - ENOMEM (the allocation the grow needs fails: the test binary wraps
 *    aligned_alloc, the allocator pcq uses) leaves the queue unchanged:
 *    capacity, elements, order; it works on, and grows later  resize_enomem
 *  - shrinking below the size keeps every element; pcq_size exceeds
 *    pcq_capacity; try_push EAGAIN, timed push ETIMEDOUT until the size is
 *    below the new capacity; a pop_batch with min above the capacity finds
 *    the queue full                                   resize_shrink_below_size
 *  - a blocked push waits across the shrink until pops bring the size
 *    below the new capacity, then completes        resize_shrink_blocked_push
 *  - any state: closed and aborted queues resize; their codes stay
 *                                                            resize_states
 *  - pcq_capacity reports the new value, statistics keep counting
 *                                                     resize_stats_continue
 *  - push and pop allocate nothing after a resize  resize_no_alloc_after
 *  - every single-threaded sequence of pushes, pops, peeks, drains, batch
 *    calls and resizes agrees with a model deque (size, capacity, codes,
 *    counts, values)                                          resize_model
 *  - resizes up and down racing pushes and pops of every kind: every
 *    element exactly once, per-consumer FIFO, books balanced   resize_race
 *
 * Threads are found asleep through pcq_stats; calls that must end are
 * awaited with a bound; "still waits" is checked over an observation
 * window that a correct queue passes whatever its length.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define MS 1000000ull
#define LOST_MS 10000  /* a call not back by then was never woken */
#define WINDOW_MS 20   /* observation window: "still waits" */
#define STALL_MS 10000 /* stress: no move for this long is a hang */

static void must_end(watched_t *w, pcq_t *q, const char *why)
{
    if (!watch_ended(w, LOST_MS)) {
        pcq_abort(q);
        watch_join(w);
        ck_abort_msg("a blocked call (kind %d) did not end within %d ms: %s", (int)w->c.kind,
                     LOST_MS, why);
    }
}

/* Pop everything with try_pop into out (at most max); how many. */
static size_t pop_all(pcq_t *q, uint64_t *out, size_t max)
{
    size_t n = 0;
    while (n < max && pcq_try_pop(q, &out[n]) == 0)
        n++;
    return n;
}

/* ------------------------------------------------------------------ */

START_TEST(resize_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_set_capacity(NULL, 8), EINVAL);
    ck_assert_int_eq(pcq_set_capacity(NULL, 0), EINVAL);
    ck_assert_int_eq(pcq_set_capacity(q, 0), EINVAL);
    ck_assert_uint_eq(pcq_capacity(q), 4);
    ck_assert_uint_eq(pcq_size(q), 1);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1);
    pcq_destroy(q);
}
END_TEST

START_TEST(resize_eoverflow)
{
    /* (elem_size 1 has no capacity whose product overflows) */
    static const size_t esz[] = {3, 8, 1000};
    for (size_t i = 0; i < sizeof esz / sizeof esz[0]; i++) {
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, 4, esz[i]), 0);
        unsigned char e[1000] = {7};
        ck_assert_int_eq(pcq_push(q, e), 0);
        long before = atomic_load(&test_alloc_calls);
        ck_assert_int_eq(pcq_set_capacity(q, SIZE_MAX / esz[i] + 1), EOVERFLOW);
        ck_assert_int_eq(pcq_set_capacity(q, SIZE_MAX), EOVERFLOW);
        ck_assert_int_eq(atomic_load(&test_alloc_calls), before); /* before allocating */
        ck_assert_uint_eq(pcq_capacity(q), 4);
        ck_assert_uint_eq(pcq_size(q), 1);
        memset(e, 0, sizeof e);
        ck_assert_int_eq(pcq_pop(q, e), 0);
        ck_assert_uint_eq(e[0], 7);
        pcq_destroy(q);
    }
}
END_TEST

/* Grow a queue holding `have` elements whose head is at `off`: every
 * element comes out in order, and the new capacity is exact. */
START_TEST(resize_grow_keeps_order)
{
    enum { CAP = 5 };
    static const size_t grows[] = {CAP + 1, 2 * CAP + 3, 100};
    for (size_t off = 0; off < CAP; off++)
        for (size_t have = 0; have <= CAP; have++)
            for (size_t g = 0; g < sizeof grows / sizeof grows[0]; g++) {
                const size_t ncap = grows[g];
                pcq_t *q;
                ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
                uint64_t v = 0, out[128];
                for (size_t i = 0; i < off; i++) {
                    ck_assert_int_eq(pcq_push(q, &v), 0);
                    ck_assert_int_eq(pcq_pop(q, &v), 0);
                }
                for (v = 0; v < have; v++)
                    ck_assert_int_eq(pcq_push(q, &v), 0);
                ck_assert_int_eq(pcq_set_capacity(q, ncap), 0);
                ck_assert_uint_eq(pcq_capacity(q), ncap);
                ck_assert_uint_eq(pcq_size(q), have);
                for (; v < ncap; v++) /* exactly ncap fit now */
                    ck_assert_int_eq(pcq_try_push(q, &v), 0);
                ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
                ck_assert_uint_eq(pcq_size(q), ncap);
                size_t n = pop_all(q, out, 128);
                ck_assert_uint_eq(n, ncap);
                for (size_t i = 0; i < n; i++)
                    ck_assert_uint_eq(out[i], i);
                pcq_destroy(q);
            }
}
END_TEST

/* Producers of every kind asleep on a full queue; a grow with room for
 * all of them wakes them all. Then two asleep and a grow by one: one of
 * them completes, the other waits on until a pop. */
START_TEST(resize_grow_wakes_producers)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    v = 2;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    watched_t w[KINDS - PUSH];
    int nw = 0;
    size_t need = 0;
    for (int k = PUSH; k < KINDS; k++, nw++) {
        memset(&w[nw], 0, sizeof w[nw]);
        w[nw].c = (struct call){.q = q, .kind = (enum call_kind)k, .n = 3, .rc = -1,
                                .buf = {100 + 10 * (uint64_t)nw, 101 + 10 * (uint64_t)nw,
                                        102 + 10 * (uint64_t)nw}};
        need += k == PUSH_MANY ? 3 : 1;
        watch_start(&w[nw]);
    }
    await_push_waits(q, (uint64_t)nw);
    ck_assert_int_eq(pcq_set_capacity(q, 2 + need), 0);
    for (int i = 0; i < nw; i++) {
        must_end(&w[i], q, "the queue grew with room for every blocked producer");
        ck_assert_int_eq(watch_join(&w[i]), 0);
    }
    ck_assert_uint_eq(pcq_size(q), 2 + need);
    uint64_t out[16];
    ck_assert_uint_eq(pop_all(q, out, 16), 2 + need);
    ck_assert_uint_eq(out[0], 1); /* the old ones first, in order */
    ck_assert_uint_eq(out[1], 2);
    uint64_t sum = 0;
    for (size_t i = 2; i < 2 + need; i++)
        sum += out[i];
    ck_assert_uint_eq(sum, 100 + 110 + 120 + 130 + 131 + 132);
    pcq_destroy(q);

    /* two asleep, room for one */
    ck_assert_int_eq(pcq_create(&q, 1, sizeof(uint64_t)), 0);
    v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    watched_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.c = (struct call){.q = q, .kind = PUSH, .buf = {10}, .rc = -1};
    b.c = (struct call){.q = q, .kind = PUSH_FOR, .buf = {20}, .rc = -1};
    watch_start(&a);
    watch_start(&b);
    await_push_waits(q, 2);
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0);
    for (uint64_t t0 = now_ns(); pcq_size(q) < 2 && now_ns() - t0 < LOST_MS * MS;)
        sched_yield();
    ck_assert_msg(pcq_size(q) == 2, "no blocked producer took the slot the grow added");
    watched_t *first = NULL;
    for (uint64_t t0 = now_ns(); first == NULL && now_ns() - t0 < LOST_MS * MS;) {
        if (watch_ended(&a, 1))
            first = &a;
        else if (watch_ended(&b, 1))
            first = &b;
    }
    ck_assert_msg(first != NULL, "the producer that took the new slot did not return");
    watched_t *second = first == &a ? &b : &a;
    ck_assert_msg(!watch_ended(second, WINDOW_MS),
                  "after a grow by one with two producers blocked, both completed");
    ck_assert_uint_eq(pcq_size(q), 2); /* the other did not squeeze in */
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1);
    must_end(second, q, "a pop made room for it");
    ck_assert_int_eq(watch_join(&a), 0);
    ck_assert_int_eq(watch_join(&b), 0);
    ck_assert_uint_eq(pop_all(q, out, 16), 2);
    ck_assert_uint_eq(out[0] + out[1], 30);
    pcq_destroy(q);
}
END_TEST

/* The grow's allocation fails: ENOMEM, and the queue is as it was. The
 * test binary wraps aligned_alloc (tests/tests.mk), the allocator pcq
 * grows with; a grow that does not call it cannot be made to fail here. */
START_TEST(resize_enomem)
{
    enum { CAP = 4 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
    uint64_t v = 0, out[CAP + 2];
    for (int i = 0; i < 3; i++) { /* head at 3: the elements wrap */
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
    }
    for (v = 0; v < CAP; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_stats_t before, after;
    pcq_stats(q, &before);
    long calls = atomic_load(&test_alloc_calls);
    atomic_store(&test_alloc_fail_next, 1);
    int rc = pcq_set_capacity(q, 1000);
    bool asked = atomic_load(&test_alloc_calls) > calls;
    atomic_store(&test_alloc_fail_next, 0);
    ck_assert_msg(asked,
                  "pcq_set_capacity(1000) did not call aligned_alloc, the allocator the test "
                  "binary wraps (returned %d): it grows with another allocator",
                  rc);
    ck_assert_int_eq(rc, ENOMEM);
    ck_assert_uint_eq(pcq_capacity(q), CAP);
    ck_assert_uint_eq(pcq_size(q), CAP);
    pcq_stats(q, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN); /* still full at CAP */
    ck_assert_uint_eq(pop_all(q, out, CAP + 2), CAP);
    for (size_t i = 0; i < CAP; i++)
        ck_assert_uint_eq(out[i], i);
    /* it works on, and grows when memory is there */
    for (v = 0; v < CAP; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_set_capacity(q, 1000), 0);
    ck_assert_uint_eq(pcq_capacity(q), 1000);
    ck_assert_int_eq(pcq_try_push(q, &v), 0);
    ck_assert_uint_eq(pop_all(q, out, CAP + 2), CAP + 1);
    for (size_t i = 0; i <= CAP; i++)
        ck_assert_uint_eq(out[i], i);
    /* shrinking never fails for want of memory */
    atomic_store(&test_alloc_fail_next, 1);
    rc = pcq_set_capacity(q, 2);
    atomic_store(&test_alloc_fail_next, 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(pcq_capacity(q), 2);
    pcq_destroy(q);
}
END_TEST

/* Shrink below the size: every element stays; the size exceeds the
 * capacity; pushes fail for room until pops bring the size below it. */
START_TEST(resize_shrink_below_size)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t v = 0, out[16];
    for (int i = 0; i < 5; i++) { /* wrap */
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
    }
    for (v = 0; v < 6; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_set_capacity(q, 3), 0);
    ck_assert_uint_eq(pcq_capacity(q), 3);
    ck_assert_uint_eq(pcq_size(q), 6); /* above the capacity */
    struct timespec past = {0, 0};
    size_t n;
    uint64_t w = 99;
    for (uint64_t expect = 0; expect < 4; expect++) { /* sizes 6, 5, 4, 3 */
        ck_assert_int_eq(pcq_try_push(q, &w), EAGAIN);
        ck_assert_int_eq(pcq_push_for(q, &w, 0), ETIMEDOUT);
        ck_assert_int_eq(pcq_push_until(q, &w, &past), ETIMEDOUT);
        n = 99;
        ck_assert_int_eq(pcq_try_push_many(q, &w, 1, &n), EAGAIN);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_uint_eq(v, expect);
    }
    /* size 2 < 3: one fits, then full again */
    ck_assert_uint_eq(pcq_size(q), 2);
    ck_assert_int_eq(pcq_try_push(q, &w), 0);
    ck_assert_int_eq(pcq_try_push(q, &w), EAGAIN);
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_push_for(q, &w, 30 * MS), ETIMEDOUT); /* it did wait */
    ck_assert_uint_ge(now_ns() - t0, 30 * MS);
    ck_assert_uint_eq(pop_all(q, out, 16), 3);
    ck_assert_uint_eq(out[0], 4);
    ck_assert_uint_eq(out[1], 5);
    ck_assert_uint_eq(out[2], 99);

    /* over-full after a shrink: a pop_batch with min above the capacity
     * finds the queue (more than) full, and takes up to max */
    ck_assert_int_eq(pcq_set_capacity(q, 8), 0);
    for (v = 0; v < 6; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 10, 16, NULL, &n), 0);
    ck_assert_uint_eq(n, 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(out[i], i);
    pcq_destroy(q);
}
END_TEST

/* A push asleep on a full queue, across a shrink: it waits on while the
 * size is at or above the new capacity, and completes once pops bring it
 * below. Untimed and timed (_i). */
START_TEST(resize_shrink_blocked_push)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v;
    for (v = 0; v < 4; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    watched_t w;
    memset(&w, 0, sizeof w);
    w.c = (struct call){.q = q, .kind = _i ? PUSH_UNTIL : PUSH, .buf = {77}, .rc = -1};
    watch_start(&w);
    await_push_waits(q, 1);
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0);
    for (uint64_t expect = 0; expect < 2; expect++) { /* sizes 3, then 2 */
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_uint_eq(v, expect);
        ck_assert_msg(!watch_ended(&w, WINDOW_MS),
                      "a push completed after a shrink from 4 to 2 with the size %d",
                      3 - (int)expect);
        ck_assert_uint_eq(pcq_size(q), 3 - expect);
    }
    ck_assert_int_eq(pcq_pop(q, &v), 0); /* size 1 < 2 */
    ck_assert_uint_eq(v, 2);
    must_end(&w, q, "the size went below the new capacity");
    ck_assert_int_eq(watch_join(&w), 0);
    ck_assert_uint_eq(pcq_size(q), 2);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 77);
    pcq_destroy(q);
}
END_TEST

/* Any state: a closed and an aborted queue resize; their codes stay. */
START_TEST(resize_states)
{
    pcq_t *q;
    uint64_t v = 5;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    ck_assert_int_eq(pcq_set_capacity(q, 10), 0);
    ck_assert_uint_eq(pcq_capacity(q), 10);
    ck_assert_int_eq(pcq_try_push(q, &v), EPIPE);
    ck_assert_int_eq(pcq_set_capacity(q, 1), 0);
    ck_assert_uint_eq(pcq_capacity(q), 1);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_int_eq(pcq_pop(q, &v), EPIPE);
    pcq_abort(q);
    ck_assert_int_eq(pcq_set_capacity(q, 3), 0);
    ck_assert_uint_eq(pcq_capacity(q), 3);
    ck_assert_int_eq(pcq_try_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_set_capacity(q, 0), EINVAL);
    pcq_destroy(q);
}
END_TEST

START_TEST(resize_stats_continue)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v = 0, out[16];
    for (v = 0; v < 4; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_int_eq(pcq_set_capacity(q, 12), 0);
    ck_assert_uint_eq(pcq_capacity(q), 12);
    for (v = 0; v < 9; v++) /* size 12 */
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 13);
    ck_assert_uint_eq(s.popped, 1);
    ck_assert_uint_eq(s.high_water, 12); /* above the old capacity */
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0);
    ck_assert_uint_eq(pcq_capacity(q), 2);
    ck_assert_uint_eq(pop_all(q, out, 16), 12);
    v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 14);
    ck_assert_uint_eq(s.popped, 13);
    ck_assert_uint_eq(s.high_water, 12);
    ck_assert_uint_eq(s.push_waits + s.pop_waits, 0);
    pcq_destroy(q);
}
END_TEST

/* After grows and shrinks, push and pop of every kind allocate nothing. */
static void *churn_consumer(void *arg)
{
    pcq_t *q = arg;
    uint64_t buf[8];
    size_t n;
    int rc;
    for (unsigned i = 0;; i++) {
        switch (i % 3) {
        case 0: rc = pcq_pop(q, buf); break;
        case 1: rc = pcq_pop_many(q, buf, 8, &n); break;
        default: rc = pcq_pop_batch(q, buf, 1, 8, NULL, &n); break;
        }
        if (rc != 0)
            return NULL;
    }
}

START_TEST(resize_no_alloc_after)
{
    static const size_t caps[] = {64, 3, 200, 1, 50};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
        for (size_t k = 0; k <= c; k++) /* grows and shrinks, ending at caps[c] */
            ck_assert_int_eq(pcq_set_capacity(q, caps[k]), 0);
        pthread_t t;
        start(&t, churn_consumer, q);
        long before = atomic_load(&test_alloc_calls);
        uint64_t arr[16] = {0};
        size_t n;
        for (uint64_t i = 0; i < 300; i++) {
            EXPECT(pcq_push(q, &i) == 0);
            EXPECT(pcq_push_many(q, arr, 16, &n) == 0);
            (void)pcq_try_push(q, &i);
            (void)pcq_push_for(q, &i, 1000);
        }
        pcq_close(q);
        join(t);
        long after = atomic_load(&test_alloc_calls);
        ck_assert_msg(after == before, "%ld allocations by push and pop at capacity %zu",
                      after - before, caps[c]);
        pcq_destroy(q);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* A single-threaded model                                             */
/* ------------------------------------------------------------------ */

struct model {
    uint64_t *v; /* ring of the model's own, large enough */
    size_t head, size, cap, room;
};

static void m_push(struct model *m, uint64_t x)
{
    m->v[(m->head + m->size++) % m->room] = x;
}

static uint64_t m_pop(struct model *m)
{
    uint64_t x = m->v[m->head];
    m->head = (m->head + 1) % m->room;
    m->size--;
    return x;
}

static size_t min_z(size_t a, size_t b) { return a < b ? a : b; }

START_TEST(resize_model)
{
    const long steps = scaled(20000, 2000);
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 3, sizeof(uint64_t)), 0);
    struct model m = {.cap = 3, .room = 64};
    m.v = calloc(m.room, sizeof *m.v);
    ck_assert(m.v != NULL);
    test_rng_t r = {test_seed(60, 0, 0)};
    uint64_t next = 0, buf[16];
    const struct timespec past = {0, 0};
    for (long i = 0; i < steps; i++) {
        const uint64_t op = test_below(&r, 10);
        size_t n = 99, k = 1 + (size_t)test_below(&r, 12);
        int rc;
        const size_t room = m.size < m.cap ? m.cap - m.size : 0;
        switch (op) {
        case 0: { /* resize, 1..16 (the model holds at most 16 + 12) */
            size_t c = 1 + (size_t)test_below(&r, 16);
            ck_assert_int_eq(pcq_set_capacity(q, c), 0);
            m.cap = c;
            break;
        }
        case 1:
        case 2:
            rc = pcq_try_push(q, &next);
            ck_assert_int_eq(rc, room > 0 ? 0 : EAGAIN);
            if (rc == 0)
                m_push(&m, next++);
            break;
        case 3:
            rc = test_below(&r, 2) ? pcq_push_for(q, &next, 0)
                                   : pcq_push_until(q, &next, &past);
            ck_assert_int_eq(rc, room > 0 ? 0 : ETIMEDOUT);
            if (rc == 0)
                m_push(&m, next++);
            break;
        case 4:
            for (size_t j = 0; j < k; j++)
                buf[j] = next + j;
            rc = pcq_try_push_many(q, buf, k, &n);
            ck_assert_int_eq(rc, room > 0 ? 0 : EAGAIN);
            ck_assert_uint_eq(n, min_z(k, room));
            for (size_t j = 0; j < n; j++)
                m_push(&m, next++);
            break;
        case 5:
            rc = pcq_try_pop(q, buf);
            ck_assert_int_eq(rc, m.size > 0 ? 0 : EAGAIN);
            if (rc == 0)
                ck_assert_uint_eq(buf[0], m_pop(&m));
            break;
        case 6:
            rc = pcq_try_pop_many(q, buf, k, &n);
            ck_assert_int_eq(rc, m.size > 0 ? 0 : EAGAIN);
            ck_assert_uint_eq(n, min_z(k, m.size));
            for (size_t j = 0; j < n; j++)
                ck_assert_uint_eq(buf[j], m_pop(&m));
            break;
        case 7: { /* pop_batch with a past deadline: what is there, up to max */
            size_t min = 1 + (size_t)test_below(&r, k);
            rc = pcq_pop_batch(q, buf, min, k, &past, &n);
            ck_assert_int_eq(rc, m.size > 0 ? 0 : ETIMEDOUT);
            ck_assert_uint_eq(n, min_z(k, m.size));
            for (size_t j = 0; j < n; j++)
                ck_assert_uint_eq(buf[j], m_pop(&m));
            break;
        }
        case 8:
            rc = pcq_peek(q, buf);
            ck_assert_int_eq(rc, m.size > 0 ? 0 : EAGAIN);
            if (rc == 0)
                ck_assert_uint_eq(buf[0], m.v[m.head]);
            break;
        default:
            rc = pcq_drain(q, buf, k, &n);
            ck_assert_int_eq(rc, m.size > 0 ? 0 : EAGAIN);
            ck_assert_uint_eq(n, min_z(k, m.size));
            for (size_t j = 0; j < n; j++)
                ck_assert_uint_eq(buf[j], m_pop(&m));
            break;
        }
        ck_assert_uint_eq(pcq_size(q), m.size);
        ck_assert_uint_eq(pcq_capacity(q), m.cap);
    }
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, next);
    ck_assert_uint_eq(s.popped, next - m.size);
    ck_assert_uint_eq(s.push_waits + s.pop_waits, 0);
    free(m.v);
    pcq_destroy(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Resizes racing pushes and pops                                      */
/* ------------------------------------------------------------------ */

struct rworker {
    pcq_t *q;
    gate_t *go;
    finish_t *fin;
    unsigned id;
    uint64_t seed;
    test_rng_t rng;
    uint32_t n;
    tally_t tally;
};

static void *r_producer(void *arg)
{
    struct rworker *w = arg;
    gate_wait(w->go);
    uint64_t batch[16];
    uint32_t s = 0;
    int rc = 0;
    while (s < w->n && rc == 0) {
        size_t k = 1 + (size_t)test_below(&w->rng, 16), moved = 0;
        if (k > w->n - s)
            k = w->n - s;
        for (size_t i = 0; i < k; i++)
            batch[i] = TALLY_ELEM(w->id, s + i);
        rc = push_some_way(w->q, batch, k, &w->rng, &moved);
        s += (uint32_t)moved;
    }
    if (rc != 0)
        tally_fault(&w->tally, "producer %u: push returned %d", w->id, rc);
    finish_one(w->fin);
    return NULL;
}

static void *r_consumer(void *arg)
{
    struct rworker *w = arg;
    gate_wait(w->go);
    uint64_t buf[16];
    int rc;
    for (;;) {
        size_t n = 0, max = 1 + (size_t)test_below(&w->rng, 16);
        switch (test_below(&w->rng, 5)) {
        case 0:
            rc = pcq_pop(w->q, buf);
            n = rc == 0;
            break;
        case 1:
            while ((rc = pcq_try_pop(w->q, buf)) == EAGAIN)
                sched_yield();
            n = rc == 0;
            break;
        case 2:
            while ((rc = pcq_pop_for(w->q, buf, stress_timeout(&w->rng))) == ETIMEDOUT)
                ;
            n = rc == 0;
            break;
        case 3:
            rc = pcq_pop_many(w->q, buf, max, &n);
            break;
        default: {
            size_t min = 1 + (size_t)test_below(&w->rng, max < 4 ? max : 4);
            rc = pcq_pop_batch(w->q, buf, min, max, NULL, &n);
            break;
        }
        }
        if (rc != 0)
            break;
        tally_take(&w->tally, buf, n, false);
    }
    if (rc != EPIPE)
        tally_fault(&w->tally, "consumer %u ended with %d", w->id, rc);
    finish_one(w->fin);
    return NULL;
}

struct resizer {
    pcq_t *q;
    gate_t *go;
    const size_t *caps;
    size_t ncaps;
    test_rng_t rng;
    pthread_mutex_t mu;
    bool stop;        /* mu */
    uint64_t resizes; /* how many it made */
    char fault[160];
};

static void *resizer_thread(void *arg)
{
    struct resizer *z = arg;
    gate_wait(z->go);
    for (;;) {
        pthread_mutex_lock(&z->mu);
        bool stop = z->stop;
        pthread_mutex_unlock(&z->mu);
        if (stop)
            break;
        size_t c = z->caps[test_below(&z->rng, z->ncaps)];
        int rc = pcq_set_capacity(z->q, c);
        size_t got = pcq_capacity(z->q);
        if ((rc != 0 || got != c) && z->fault[0] == '\0')
            snprintf(z->fault, sizeof z->fault,
                     "pcq_set_capacity(%zu) returned %d, then pcq_capacity %zu", c, rc, got);
        z->resizes++;
        for (uint64_t y = test_below(&z->rng, 8); y > 0; y--)
            sched_yield();
    }
    return NULL;
}

static const struct {
    size_t pool[6];
    size_t n;
} resize_pools[] = {
    {{1, 2, 3, 5, 8, 64}, 6},
    {{1, 2, 3, 4}, 4},
    {{16, 100, 1000}, 3},
};
#define N_POOLS (sizeof resize_pools / sizeof resize_pools[0])

START_TEST(resize_race)
{
    enum { NP = 3, NC = 3 };
    const uint32_t per = (uint32_t)scaled(20000, 300);
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, resize_pools[_i].pool[0], sizeof(uint64_t)), 0);
    gate_t go;
    gate_init(&go);
    finish_t pfin, cfin;
    finish_init(&pfin, NP);
    finish_init(&cfin, NC);
    struct rworker w[NP + NC];
    pthread_t t[NP + NC], zt;
    memset(w, 0, sizeof w);
    for (unsigned i = 0; i < NP + NC; i++) {
        w[i].q = q;
        w[i].go = &go;
        w[i].fin = i < NP ? &pfin : &cfin;
        w[i].id = i < NP ? i : i - NP;
        w[i].seed = w[i].rng.s = test_seed(61, (unsigned)_i, i);
        w[i].n = per;
        tally_init(&w[i].tally, NP, per);
        start(&t[i], i < NP ? r_producer : r_consumer, &w[i]);
    }
    struct resizer z = {.q = q, .go = &go, .caps = resize_pools[_i].pool,
                        .ncaps = resize_pools[_i].n};
    z.rng.s = test_seed(61, (unsigned)_i, 999);
    ck_assert_int_eq(pthread_mutex_init(&z.mu, NULL), 0);
    start(&zt, resizer_thread, &z);
    gate_open(&go);
    char msg[512] = "";
    bool ok = finish_wait(&pfin, q, STALL_MS, msg, sizeof msg);
    pthread_mutex_lock(&z.mu);
    z.stop = true;
    pthread_mutex_unlock(&z.mu);
    join(zt);
    pcq_close(q);
    if (ok)
        ok = finish_wait(&cfin, q, STALL_MS, msg, sizeof msg);
    if (!ok && strstr(msg, "still blocked") != NULL)
        ck_abort_msg("pool %d: %s", _i, msg);
    for (unsigned i = 0; i < NP + NC; i++)
        join(t[i]);
    if (ok) {
        for (unsigned i = 0; i < NP && msg[0] == '\0'; i++)
            if (w[i].tally.fault[0] != '\0')
                snprintf(msg, sizeof msg, "%s", w[i].tally.fault);
        if (msg[0] == '\0' && z.fault[0] != '\0')
            snprintf(msg, sizeof msg, "resizer: %s", z.fault);
        if (msg[0] == '\0') {
            tally_t tallies[NC];
            uint32_t want[NP];
            for (unsigned i = 0; i < NC; i++)
                tallies[i] = w[NP + i].tally;
            for (unsigned i = 0; i < NP; i++)
                want[i] = per;
            tally_verdict(tallies, NC, want, msg, sizeof msg);
        }
        pcq_stats_t s;
        pcq_stats(q, &s);
        if (msg[0] == '\0' &&
            (s.pushed != (uint64_t)NP * per || s.popped != s.pushed || pcq_size(q) != 0))
            snprintf(msg, sizeof msg, "stats: pushed %" PRIu64 " popped %" PRIu64 " size %zu",
                     s.pushed, s.popped, pcq_size(q));
    }
    for (unsigned i = 0; i < NP + NC; i++)
        tally_free(&w[i].tally);
    pthread_mutex_destroy(&z.mu);
    finish_destroy(&cfin);
    finish_destroy(&pfin);
    gate_destroy(&go);
    pcq_destroy(q);
    ck_assert_msg(msg[0] == '\0', "pool %d (%" PRIu64 " resizes, %" PRIu32 " per producer): %s",
                  _i, z.resizes, per, msg);
}
END_TEST

Suite *suite_resize(void)
{
    Suite *s = suite_create("resize");
    TCase *tc = tcase_create("resize");
    tcase_add_test(tc, resize_einval);
    tcase_add_test(tc, resize_eoverflow);
    tcase_add_test(tc, resize_grow_keeps_order);
    tcase_add_test(tc, resize_grow_wakes_producers);
    tcase_add_test(tc, resize_enomem);
    tcase_add_test(tc, resize_shrink_below_size);
    tcase_add_loop_test(tc, resize_shrink_blocked_push, 0, 2);
    tcase_add_test(tc, resize_states);
    tcase_add_test(tc, resize_stats_continue);
    tcase_add_test(tc, resize_no_alloc_after);
    tcase_add_test(tc, resize_model);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_loop_test(tc, resize_race, 0, (int)N_POOLS);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
