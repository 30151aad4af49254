/*
 * check_basic.c — exact capacity, byte-exact copies, FIFO across many
 * wrap-arounds, try variants, blocking push/pop, size and statistics.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const size_t caps[] = {1, 2, 3, 5, 7, 64, 100};
static const size_t sizes[] = {1, 2, 3, 7, 8, 13, 16, 64, 257, 1000};
#define N_CAPS (sizeof caps / sizeof caps[0])
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* Fill an element of `esz` bytes with a pattern unique to `seq`. */
static void fill(unsigned char *e, size_t esz, uint64_t seq)
{
    uint64_t x = seq * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < esz; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        e[i] = (unsigned char)x;
    }
}

/* Capacity is exact for every capacity and element size. */
START_TEST(exact_capacity)
{
    size_t cap = caps[_i / N_SIZES], esz = sizes[_i % N_SIZES];
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, cap, esz), 0);
    unsigned char *e = malloc(esz);
    for (size_t i = 0; i < cap; i++) {
        fill(e, esz, i);
        ck_assert_int_eq(pcq_try_push(q, e), 0);
        ck_assert_uint_eq(pcq_size(q), i + 1);
    }
    ck_assert_int_eq(pcq_try_push(q, e), EAGAIN);
    ck_assert_int_eq(pcq_push_for(q, e, 0), ETIMEDOUT);
    ck_assert_uint_eq(pcq_size(q), cap);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, cap);
    ck_assert_uint_eq(s.high_water, cap);
    /* and what went in comes out, byte for byte, in order */
    unsigned char *want = malloc(esz), *got = malloc(esz);
    for (size_t i = 0; i < cap; i++) {
        fill(want, esz, i);
        ck_assert_int_eq(pcq_try_pop(q, got), 0);
        ck_assert_mem_eq(got, want, esz);
    }
    ck_assert_int_eq(pcq_try_pop(q, got), EAGAIN);
    free(e);
    free(want);
    free(got);
    pcq_destroy(q);
}
END_TEST

/* Pop writes exactly elem_size bytes: the bytes around `out` survive. */
START_TEST(pop_writes_exactly_elem_size)
{
    for (size_t k = 0; k < N_SIZES; k++) {
        size_t esz = sizes[k];
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, 3, esz), 0);
        unsigned char *in = malloc(esz), *buf = malloc(esz + 32);
        fill(in, esz, k);
        memset(buf, 0xAB, esz + 32);
        ck_assert_int_eq(pcq_push(q, in), 0);
        ck_assert_int_eq(pcq_pop(q, buf + 16), 0);
        ck_assert_mem_eq(buf + 16, in, esz);
        for (size_t i = 0; i < 16; i++) {
            ck_assert_uint_eq(buf[i], 0xAB);
            ck_assert_uint_eq(buf[16 + esz + i], 0xAB);
        }
        free(in);
        free(buf);
        pcq_destroy(q);
    }
}
END_TEST

/* FIFO and byte-exact copies across many wrap-arounds with irregular
 * fill levels, for odd capacities and element sizes. */
START_TEST(fifo_many_wraps)
{
    size_t cap = caps[_i / N_SIZES], esz = sizes[_i % N_SIZES];
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, cap, esz), 0);
    unsigned char *e = malloc(esz), *want = malloc(esz);
    uint64_t in = 0, out = 0;
    unsigned rng = 12345u + (unsigned)_i;
    long rounds = scaled(4000, 200);
    for (long r = 0; r < rounds; r++) {
        size_t room = cap - (size_t)(in - out);
        size_t k = (size_t)rand_r(&rng) % (room + 1);
        for (size_t i = 0; i < k; i++) {
            fill(e, esz, in++);
            EXPECT(pcq_push(q, e) == 0);
        }
        size_t have = (size_t)(in - out);
        size_t j = (size_t)rand_r(&rng) % (have + 1);
        for (size_t i = 0; i < j; i++) {
            fill(want, esz, out++);
            EXPECT(pcq_pop(q, e) == 0);
            EXPECT(memcmp(e, want, esz) == 0);
        }
        EXPECT(pcq_size(q) == (size_t)(in - out));
    }
    ck_assert_uint_gt(in, 2 * cap); /* really wrapped around */
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, in);
    ck_assert_uint_eq(s.popped, out);
    ck_assert_uint_eq(s.push_waits, 0); /* never had to sleep */
    ck_assert_uint_eq(s.pop_waits, 0);
    free(e);
    free(want);
    pcq_destroy(q);
}
END_TEST

/* Try variants report EAGAIN and change nothing. */
START_TEST(try_eagain_changes_nothing)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    uint64_t v = 1, out = 77;
    ck_assert_int_eq(pcq_try_pop(q, &out), EAGAIN);
    ck_assert_uint_eq(out, 77);
    ck_assert_int_eq(pcq_try_push(q, &v), 0);
    v = 2;
    ck_assert_int_eq(pcq_try_push(q, &v), 0);
    v = 3;
    pcq_stats_t a, b;
    pcq_stats(q, &a);
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
    pcq_stats(q, &b);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_uint_eq(a.push_waits, 0);
    ck_assert_int_eq(pcq_try_pop(q, &out), 0);
    ck_assert_uint_eq(out, 1);
    ck_assert_int_eq(pcq_try_pop(q, &out), 0);
    ck_assert_uint_eq(out, 2);
    ck_assert_int_eq(pcq_try_pop(q, &out), EAGAIN);
    ck_assert_uint_eq(out, 2);
    pcq_destroy(q);
}
END_TEST

struct blocked {
    pcq_t *q;
    uint64_t v;
    int rc;
    atomic_bool done;
};

static void *push_thread(void *arg)
{
    struct blocked *b = arg;
    b->rc = pcq_push(b->q, &b->v);
    atomic_store(&b->done, true);
    return NULL;
}

static void *pop_thread(void *arg)
{
    struct blocked *b = arg;
    b->rc = pcq_pop(b->q, &b->v);
    atomic_store(&b->done, true);
    return NULL;
}

/* Capacity 3: the 4th push blocks until a pop makes room, and goes in
 * behind the first three. */
START_TEST(fourth_push_blocks)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 3, 8), 0);
    for (uint64_t i = 1; i <= 3; i++)
        ck_assert_int_eq(pcq_push(q, &i), 0);
    struct blocked b = {.q = q, .v = 4, .rc = -1};
    pthread_t t;
    start(&t, push_thread, &b);
    await_push_waits(q, 1); /* it is asleep in the queue */
    ck_assert(!atomic_load(&b.done));
    ck_assert_uint_eq(pcq_size(q), 3);
    uint64_t out;
    ck_assert_int_eq(pcq_pop(q, &out), 0);
    ck_assert_uint_eq(out, 1);
    join(t);
    ck_assert_int_eq(b.rc, 0);
    for (uint64_t i = 2; i <= 4; i++) {
        ck_assert_int_eq(pcq_pop(q, &out), 0);
        ck_assert_uint_eq(out, i);
    }
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.push_waits, 1);
    ck_assert_uint_eq(s.pop_waits, 0);
    ck_assert_uint_eq(s.high_water, 3);
    pcq_destroy(q);
}
END_TEST

/* A pop on an empty queue blocks until a push, and gets that element. */
START_TEST(pop_blocks_until_push)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    struct blocked b = {.q = q, .v = 0, .rc = -1};
    pthread_t t;
    start(&t, pop_thread, &b);
    await_pop_waits(q, 1);
    ck_assert(!atomic_load(&b.done));
    uint64_t v = 0xfeedface;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    join(t);
    ck_assert_int_eq(b.rc, 0);
    ck_assert_uint_eq(b.v, 0xfeedface);
    ck_assert_uint_eq(pcq_size(q), 0);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 1);
    ck_assert_uint_eq(s.pushed, 1);
    ck_assert_uint_eq(s.popped, 1);
    pcq_destroy(q);
}
END_TEST

/* Several blocked consumers: each push wakes one, nobody is lost. */
START_TEST(each_push_wakes_a_consumer)
{
    enum { N = 4 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    struct blocked b[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        b[i] = (struct blocked){.q = q, .v = 0, .rc = -1};
        start(&t[i], pop_thread, &b[i]);
    }
    await_pop_waits(q, N);
    uint64_t seen = 0;
    for (uint64_t i = 1; i <= N; i++)
        ck_assert_int_eq(pcq_push(q, &i), 0);
    for (int i = 0; i < N; i++) {
        join(t[i]);
        ck_assert_int_eq(b[i].rc, 0);
        ck_assert(b[i].v >= 1 && b[i].v <= N);
        ck_assert((seen & (1u << b[i].v)) == 0);
        seen |= 1u << b[i].v;
    }
    pcq_destroy(q);
}
END_TEST

/* high_water tracks the largest size, not the current one. */
START_TEST(stats_counts)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 10, 4), 0);
    uint32_t v = 0;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pcq_pop(q, &v), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 9);
    ck_assert_uint_eq(s.popped, 4);
    ck_assert_uint_eq(s.high_water, 6);
    ck_assert_uint_eq(pcq_size(q), 5);
    pcq_destroy(q);
}
END_TEST

/* pcq_size, pcq_is_closed and pcq_stats are safe to call while other
 * threads push and pop: the race targets check it, the values must stay
 * within bounds. */
static void *inspector(void *arg)
{
    pcq_t *q = arg;
    while (!pcq_is_closed(q)) {
        pcq_stats_t s;
        pcq_stats(q, &s);
        EXPECT(pcq_size(q) <= pcq_capacity(q));
        EXPECT(s.pushed >= s.popped);
        EXPECT(s.pushed - s.popped <= pcq_capacity(q));
        EXPECT(s.high_water <= pcq_capacity(q));
        sched_yield(); /* let the others run: Valgrind runs one thread at a time */
    }
    return NULL;
}

static void *counter_consumer(void *arg)
{
    pcq_t *q = arg;
    uint64_t v, expect = 0;
    while (pcq_pop(q, &v) == 0)
        EXPECT(v == expect++);
    return (void *)(uintptr_t)expect;
}

START_TEST(inspection_is_concurrent_safe)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, 8), 0);
    pthread_t ti, tc;
    start(&ti, inspector, q);
    start(&tc, counter_consumer, q);
    long n = scaled(20000, 500);
    for (uint64_t i = 0; i < (uint64_t)n; i++)
        EXPECT(pcq_push(q, &i) == 0);
    pcq_close(q);
    ck_assert_uint_eq((uintptr_t)join(tc), (uintptr_t)n);
    join(ti);
    pcq_destroy(q);
}
END_TEST

Suite *suite_basic(void)
{
    Suite *s = suite_create("basic");
    TCase *tc = tcase_create("basic");
    tcase_add_loop_test(tc, exact_capacity, 0, (int)(N_CAPS * N_SIZES));
    tcase_add_test(tc, pop_writes_exactly_elem_size);
    tcase_add_loop_test(tc, fifo_many_wraps, 0, (int)(N_CAPS * N_SIZES));
    tcase_add_test(tc, try_eagain_changes_nothing);
    tcase_add_test(tc, fourth_push_blocks);
    tcase_add_test(tc, pop_blocks_until_push);
    tcase_add_test(tc, each_push_wakes_a_consumer);
    tcase_add_test(tc, stats_counts);
    tcase_add_test(tc, inspection_is_concurrent_safe);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
