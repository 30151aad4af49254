/*
 * check_batch.c — pcq_push_many / pcq_pop_many and their try_ variants:
 * counts, FIFO across the wrap, blocking in pieces, partial try moves,
 * zero counts.
 */
#include <errno.h>
#include <string.h>

#include "test_util.h"

static void seq(uint32_t *a, size_t n, uint32_t from)
{
    for (size_t i = 0; i < n; i++)
        a[i] = from + (uint32_t)i;
}

/* Batches keep FIFO order across the end of the ring (two-piece copies),
 * for every offset of the ring's head. */
START_TEST(batch_fifo_across_wrap)
{
    enum { CAP = 7 };
    for (size_t off = 0; off < CAP; off++) {
        for (size_t n = 1; n <= CAP; n++) {
            pcq_t *q;
            ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint32_t)), 0);
            uint32_t in[CAP], out[CAP + 3], x;
            size_t moved;
            for (size_t i = 0; i < off; i++) { /* move head and tail to off */
                ck_assert_int_eq(pcq_push(q, &x), 0);
                ck_assert_int_eq(pcq_pop(q, &x), 0);
            }
            seq(in, n, 1000);
            ck_assert_int_eq(pcq_push_many(q, in, n, &moved), 0);
            ck_assert_uint_eq(moved, n);
            ck_assert_uint_eq(pcq_size(q), n);
            memset(out, 0, sizeof out);
            ck_assert_int_eq(pcq_pop_many(q, out, CAP + 3, &moved), 0);
            ck_assert_uint_eq(moved, n); /* all there, up to max */
            ck_assert_mem_eq(out, in, n * sizeof(uint32_t));
            ck_assert_uint_eq(out[n], 0); /* nothing written past *popped */
            pcq_destroy(q);
        }
    }
}
END_TEST

/* Batches interleave with single calls in one FIFO. */
START_TEST(batch_and_single_share_fifo)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 10, sizeof(uint32_t)), 0);
    uint32_t a[3] = {1, 2, 3}, b = 4, c[2] = {5, 6}, out[10];
    size_t n;
    ck_assert_int_eq(pcq_push_many(q, a, 3, &n), 0);
    ck_assert_int_eq(pcq_push(q, &b), 0);
    ck_assert_int_eq(pcq_try_push_many(q, c, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(pcq_pop(q, &out[0]), 0);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_int_eq(pcq_pop_many(q, out, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 3);
    ck_assert_int_eq(pcq_try_pop_many(q, out, 10, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0], 4);
    ck_assert_uint_eq(out[2], 6);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 6);
    ck_assert_uint_eq(s.popped, 6);
    ck_assert_uint_eq(s.high_water, 6);
    pcq_destroy(q);
}
END_TEST

/* A count of 0 returns 0 at once and moves nothing, on a full, an empty
 * and a closed queue. */
START_TEST(zero_count_returns_at_once)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    uint64_t v[2] = {1, 2};
    size_t n = 99;
    ck_assert_int_eq(pcq_pop_many(q, v, 0, &n), 0); /* empty: no block */
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_pop_many(q, v, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_push(q, &v[0]), 0);
    n = 99;
    ck_assert_int_eq(pcq_push_many(q, v, 0, &n), 0); /* full: no block */
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_push_many(q, v, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    pcq_close(q);
    n = 99;
    ck_assert_int_eq(pcq_push_many(q, v, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 1);
    ck_assert_uint_eq(s.popped, 0);
    ck_assert_uint_eq(s.push_waits + s.pop_waits, 0);
    pcq_destroy(q);
}
END_TEST

/* try_push_many moves what fits now and says how many; EAGAIN only when
 * it moved none. try_pop_many likewise. */
START_TEST(try_many_partial)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 5, sizeof(uint32_t)), 0);
    uint32_t in[8], out[8];
    size_t n;
    seq(in, 8, 1);
    ck_assert_int_eq(pcq_push(q, &in[7]), 0);
    ck_assert_int_eq(pcq_push(q, &in[7]), 0); /* 3 free */
    ck_assert_int_eq(pcq_try_push_many(q, in, 8, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(pcq_size(q), 5);
    n = 99;
    ck_assert_int_eq(pcq_try_push_many(q, in + 3, 5, &n), EAGAIN);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_try_pop_many(q, out, 3, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0], 8);
    ck_assert_uint_eq(out[1], 8);
    ck_assert_uint_eq(out[2], 1); /* the front of the batch went in first */
    ck_assert_int_eq(pcq_try_pop_many(q, out, 8, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 3);
    n = 99;
    ck_assert_int_eq(pcq_try_pop_many(q, out, 8, &n), EAGAIN);
    ck_assert_uint_eq(n, 0);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.push_waits + s.pop_waits, 0);
    pcq_destroy(q);
}
END_TEST

struct many_arg {
    pcq_t *q;
    uint32_t *buf;
    size_t n;
    size_t moved;
    int rc;
};

static void *push_many_thread(void *arg)
{
    struct many_arg *a = arg;
    a->rc = pcq_push_many(a->q, a->buf, a->n, &a->moved);
    return NULL;
}

static void *pop_many_thread(void *arg)
{
    struct many_arg *a = arg;
    a->rc = pcq_pop_many(a->q, a->buf, a->n, &a->moved);
    return NULL;
}

/* push_many with more elements than the capacity blocks and goes in as
 * room frees up; all of them come out, in order. */
/* A batch takes all there is, up to its count: also when the calling side
 * last looked at the other side's counter while there was less (the
 * two-lock core keeps a copy of it, which may lag behind). */
START_TEST(batch_takes_all_there_is)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
    size_t n;
    /* The consumer sees one element, takes it, and sees one more. */
    ck_assert_int_eq(pcq_push(q, &v[0]), 0);
    ck_assert_int_eq(pcq_push(q, &v[1]), 0);
    ck_assert_int_eq(pcq_pop(q, &out[0]), 0);
    /* Then more come; a pop_many of 8 must take all 4, not the one its
     * last look saw. */
    ck_assert_int_eq(pcq_try_push_many(q, &v[2], 3, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(pcq_pop_many(q, out, 8, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[3], 5);
    /* The mirror image: the producer saw the ring full, then room came;
     * a try_push_many must use all of it. */
    ck_assert_int_eq(pcq_try_push_many(q, v, 8, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(pcq_try_push(q, &v[0]), EAGAIN); /* it looked: full */
    ck_assert_int_eq(pcq_pop_many(q, out, 5, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(pcq_try_push_many(q, v, 8, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(pcq_size(q), 8);
    pcq_destroy(q);
}
END_TEST

START_TEST(push_many_larger_than_capacity)
{
    enum { CAP = 3, N = 100 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint32_t)), 0);
    uint32_t in[N], got;
    seq(in, N, 0);
    struct many_arg a = {.q = q, .buf = in, .n = N, .rc = -1};
    pthread_t t;
    start(&t, push_many_thread, &a);
    await_push_waits(q, 1); /* filled the ring and sleeps for room */
    ck_assert_uint_eq(pcq_size(q), CAP);
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_int_eq(pcq_pop(q, &got), 0);
        ck_assert_uint_eq(got, i);
    }
    join(t);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_uint_eq(a.moved, N);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.push_waits, 1); /* one call, counted once */
    pcq_destroy(q);
}
END_TEST

/* pop_many blocks until at least one element is there, then takes what
 * is there, up to max. */
START_TEST(pop_many_blocks_for_one)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint32_t)), 0);
    uint32_t out[8] = {0}, v = 77;
    struct many_arg a = {.q = q, .buf = out, .n = 8, .rc = -1};
    pthread_t t;
    start(&t, pop_many_thread, &a);
    await_pop_waits(q, 1);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    join(t);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_uint_eq(a.moved, 1);
    ck_assert_uint_eq(out[0], 77);
    ck_assert_uint_eq(out[1], 0);
    pcq_destroy(q);
}
END_TEST

/* One batch wakes as many blocked consumers as it has elements. */
START_TEST(batch_wakes_enough_consumers)
{
    enum { N = 3 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint32_t)), 0);
    uint32_t out[N][1];
    struct many_arg a[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct many_arg){.q = q, .buf = out[i], .n = 1, .rc = -1};
        start(&t[i], pop_many_thread, &a[i]);
    }
    await_pop_waits(q, N);
    uint32_t in[N] = {10, 11, 12};
    size_t n;
    ck_assert_int_eq(pcq_push_many(q, in, N, &n), 0);
    unsigned seen = 0;
    for (int i = 0; i < N; i++) {
        join(t[i]); /* a lost wake-up would hang here */
        ck_assert_int_eq(a[i].rc, 0);
        ck_assert_uint_eq(a[i].moved, 1);
        seen |= 1u << (out[i][0] - 10);
    }
    ck_assert_uint_eq(seen, 7);
    pcq_destroy(q);
}
END_TEST

/* Large elements through batches, byte-exact. */
START_TEST(batch_large_elements)
{
    enum { ESZ = 300, CAP = 5, N = 12 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, ESZ), 0);
    static unsigned char in[N][ESZ], out[N][ESZ];
    for (int i = 0; i < N; i++)
        memset(in[i], 'a' + i, ESZ);
    struct many_arg a = {.q = q, .buf = (uint32_t *)(void *)in, .n = N, .rc = -1};
    pthread_t t;
    start(&t, push_many_thread, &a);
    size_t got = 0, n;
    while (got < N) {
        ck_assert_int_eq(pcq_pop_many(q, out[got], N - got, &n), 0);
        ck_assert_uint_ge(n, 1);
        got += n;
    }
    join(t);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_mem_eq(out, in, sizeof in);
    pcq_destroy(q);
}
END_TEST

Suite *suite_batch(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_test(tc, batch_fifo_across_wrap);
    tcase_add_test(tc, batch_and_single_share_fifo);
    tcase_add_test(tc, zero_count_returns_at_once);
    tcase_add_test(tc, batch_takes_all_there_is);
    tcase_add_test(tc, try_many_partial);
    tcase_add_test(tc, push_many_larger_than_capacity);
    tcase_add_test(tc, pop_many_blocks_for_one);
    tcase_add_test(tc, batch_wakes_enough_consumers);
    tcase_add_test(tc, batch_large_elements);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
