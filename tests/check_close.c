/*
 * check_close.c — close: idempotent, every push fails with EPIPE and
 * inserts nothing, pops drain then fail, blocked threads of both sides are
 * woken, a batch cut short reports what went in, and the precedence rules.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "test_util.h"

/* After close, every kind of push returns EPIPE, even with room, and
 * inserts nothing. */
START_TEST(push_after_close_epipe)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, 8), 0);
    uint64_t v = 1, arr[3] = {1, 2, 3};
    size_t n;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    ck_assert(pcq_is_closed(q));
    struct timespec d = deadline_ms(10000);
    ck_assert_int_eq(pcq_push(q, &v), EPIPE);
    ck_assert_int_eq(pcq_try_push(q, &v), EPIPE);
    ck_assert_int_eq(pcq_push_until(q, &v, &d), EPIPE);
    ck_assert_int_eq(pcq_push_for(q, &v, 1000000000ull), EPIPE);
    ck_assert_int_eq(pcq_push_for(q, &v, 0), EPIPE); /* not ETIMEDOUT */
    n = 99;
    ck_assert_int_eq(pcq_push_many(q, arr, 3, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_push_many(q, arr, 3, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 1);
    pcq_destroy(q);
}
END_TEST

/* Pops drain the elements still inside (returning 0, not EPIPE), then
 * every kind of pop returns EPIPE (not EAGAIN, not ETIMEDOUT). */
START_TEST(pop_drains_then_epipe)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 8, 8), 0);
    uint64_t v, out[8];
    size_t n;
    for (v = 1; v <= 6; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    pcq_close(q); /* idempotent */
    ck_assert(pcq_is_closed(q));
    struct timespec past = {0, 0}, d = deadline_ms(10000);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(pcq_try_pop(q, &v), 0);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(pcq_pop_until(q, &v, &past), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(pcq_pop_for(q, &v, 0), 0);
    ck_assert_uint_eq(v, 4);
    ck_assert_int_eq(pcq_pop_many(q, out, 1, &n), 0);
    ck_assert_uint_eq(out[0], 5);
    ck_assert_int_eq(pcq_try_pop_many(q, out, 8, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 6);
    v = 99;
    ck_assert_int_eq(pcq_pop(q, &v), EPIPE);
    ck_assert_int_eq(pcq_try_pop(q, &v), EPIPE);
    ck_assert_int_eq(pcq_pop_until(q, &v, &past), EPIPE);
    ck_assert_int_eq(pcq_pop_until(q, &v, &d), EPIPE);
    ck_assert_int_eq(pcq_pop_for(q, &v, 0), EPIPE);
    ck_assert_int_eq(pcq_pop_for(q, &v, 1000000000ull), EPIPE);
    n = 99;
    ck_assert_int_eq(pcq_pop_many(q, out, 8, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_pop_many(q, out, 8, &n), EPIPE);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(v, 99);
    ck_assert(pcq_is_closed(q));
    pcq_destroy(q);
}
END_TEST

/* Close wakes every blocked consumer, of every kind: all return EPIPE. */
START_TEST(close_wakes_blocked_consumers)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    struct call c[2 * PUSH];
    pthread_t t[2 * PUSH];
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int k = POP; k < PUSH; k++, n++) {
            c[n] = (struct call){.q = q, .kind = k, .rc = -1, .moved = 99, .n = 4};
            start(&t[n], call_thread, &c[n]);
        }
    await_pop_waits(q, (uint64_t)n); /* all asleep */
    pcq_close(q);
    for (int i = 0; i < n; i++) {
        join(t[i]); /* a close that signalled only one would hang here */
        ck_assert_int_eq(c[i].rc, EPIPE);
        if (c[i].kind >= POP_MANY) /* the batch kinds */
            ck_assert_uint_eq(c[i].moved, 0);
    }
    pcq_destroy(q);
}
END_TEST

/* Close wakes every blocked producer, of every kind: all return EPIPE and
 * nothing more goes in. */
START_TEST(close_wakes_blocked_producers)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0); /* full */
    struct call c[2 * (PUSH_MANY - PUSH + 1)];
    pthread_t t[2 * (PUSH_MANY - PUSH + 1)];
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int k = PUSH; k <= PUSH_MANY; k++, n++) {
            c[n] = (struct call){.q = q, .kind = k, .rc = -1, .moved = 99, .n = 4, .buf = {2, 3, 4, 5}};
            start(&t[n], call_thread, &c[n]);
        }
    await_push_waits(q, (uint64_t)n);
    pcq_close(q);
    for (int i = 0; i < n; i++) {
        join(t[i]);
        ck_assert_int_eq(c[i].rc, EPIPE);
        if (c[i].kind == PUSH_MANY)
            ck_assert_uint_eq(c[i].moved, 0);
    }
    ck_assert_uint_eq(pcq_size(q), 1);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(pcq_pop(q, &v), EPIPE);
    pcq_destroy(q);
}
END_TEST

/* A push_many cut short by close returns EPIPE, *pushed counts what went
 * in, and exactly those are delivered. */
struct cut {
    pcq_t *q;
    uint32_t in[10];
    size_t pushed;
    int rc;
};

static void *cut_thread(void *arg)
{
    struct cut *c = arg;
    c->rc = pcq_push_many(c->q, c->in, 10, &c->pushed);
    return NULL;
}

START_TEST(push_many_cut_short)
{
    enum { CAP = 4 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint32_t)), 0);
    struct cut c = {.q = q, .pushed = 99, .rc = -1};
    for (uint32_t i = 0; i < 10; i++)
        c.in[i] = i;
    pthread_t t;
    start(&t, cut_thread, &c);
    await_push_waits(q, 1); /* 4 went in, it sleeps for room */
    uint32_t got;
    ck_assert_int_eq(pcq_pop(q, &got), 0); /* room for one more */
    ck_assert_uint_eq(got, 0);
    while (pcq_size(q) < CAP) /* it fills the freed slot */
        sched_yield();
    pcq_close(q);
    join(t);
    ck_assert_int_eq(c.rc, EPIPE);
    ck_assert_uint_eq(c.pushed, 5);
    ck_assert_uint_eq(pcq_size(q), 4);
    for (uint32_t i = 1; i < c.pushed; i++) {
        ck_assert_int_eq(pcq_pop(q, &got), 0);
        ck_assert_uint_eq(got, i);
    }
    ck_assert_int_eq(pcq_pop(q, &got), EPIPE);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, c.pushed);
    ck_assert_uint_eq(s.popped, c.pushed);
    pcq_destroy(q);
}
END_TEST

/* Precedence: a pop on a closed queue with elements returns an element; a
 * push on a closed queue with room returns EPIPE. */
START_TEST(precedence)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    uint64_t v = 9;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    ck_assert_int_eq(pcq_try_push(q, &v), EPIPE); /* room, yet EPIPE */
    ck_assert_int_eq(pcq_try_pop(q, &v), 0);      /* element, not EPIPE */
    ck_assert_uint_eq(v, 9);
    ck_assert_int_eq(pcq_try_pop(q, &v), EPIPE); /* empty + closed: not EAGAIN */
    pcq_destroy(q);
}
END_TEST

Suite *suite_close(void)
{
    Suite *s = suite_create("close");
    TCase *tc = tcase_create("close");
    tcase_add_test(tc, push_after_close_epipe);
    tcase_add_test(tc, pop_drains_then_epipe);
    tcase_add_test(tc, close_wakes_blocked_consumers);
    tcase_add_test(tc, close_wakes_blocked_producers);
    tcase_add_test(tc, push_many_cut_short);
    tcase_add_test(tc, precedence);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
