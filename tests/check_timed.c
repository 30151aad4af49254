/*
 * check_timed.c — the _until and _for variants: ETIMEDOUT after the time,
 * past deadlines behave like try, CLOCK_MONOTONIC, huge timeouts, success
 * when the other side arrives in time.
 *
 * Timing asserts only here, with generous upper bounds (Valgrind is slow).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "test_util.h"

#define MS 1000000ull
#define UPPER_MS 10000ull /* generous: a loaded machine under Valgrind */

START_TEST(pop_for_times_out)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    uint64_t out = 99;
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_pop_for(q, &out, 50 * MS), ETIMEDOUT);
    uint64_t dt = now_ns() - t0;
    ck_assert_uint_ge(dt, 50 * MS);
    ck_assert_uint_lt(dt, UPPER_MS * MS);
    ck_assert_uint_eq(out, 99);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 1); /* it did sleep */
    ck_assert_uint_eq(s.popped, 0);
    pcq_destroy(q);
}
END_TEST

START_TEST(push_for_times_out)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    v = 2;
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_push_for(q, &v, 50 * MS), ETIMEDOUT);
    uint64_t dt = now_ns() - t0;
    ck_assert_uint_ge(dt, 50 * MS);
    ck_assert_uint_lt(dt, UPPER_MS * MS);
    ck_assert_uint_eq(pcq_size(q), 1);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1); /* the timed-out element never went in */
    ck_assert_int_eq(pcq_try_pop(q, &v), EAGAIN);
    pcq_destroy(q);
}
END_TEST

/* The deadline is on CLOCK_MONOTONIC: a deadline 100 ms ahead on that
 * clock waits about 100 ms. (Read as CLOCK_REALTIME it would lie decades
 * in the past and return at once.) */
START_TEST(until_uses_monotonic_clock)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    uint64_t v = 0;
    struct timespec d = deadline_ms(100);
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_pop_until(q, &v, &d), ETIMEDOUT);
    uint64_t dt = now_ns() - t0;
    ck_assert_uint_ge(dt, 90 * MS);
    ck_assert_uint_lt(dt, UPPER_MS * MS);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    d = deadline_ms(100);
    t0 = now_ns();
    ck_assert_int_eq(pcq_push_until(q, &v, &d), ETIMEDOUT);
    ck_assert_uint_ge(now_ns() - t0, 90 * MS);
    /* and the deadline has passed on the monotonic clock itself */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ck_assert(now.tv_sec > d.tv_sec || (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec));
    pcq_destroy(q);
}
END_TEST

/* A deadline already past behaves like try, but says ETIMEDOUT; it does
 * not sleep, and it succeeds when the call can proceed. */
START_TEST(past_deadline_is_try)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    uint64_t v = 5, out = 0;
    struct timespec zero = {0, 0}, past = deadline_ms(0);
    past.tv_sec -= 1;
    ck_assert_int_eq(pcq_pop_until(q, &out, &zero), ETIMEDOUT);
    ck_assert_int_eq(pcq_pop_until(q, &out, &past), ETIMEDOUT);
    ck_assert_int_eq(pcq_pop_for(q, &out, 0), ETIMEDOUT);
    ck_assert_int_eq(pcq_push_until(q, &v, &zero), 0); /* room: proceeds */
    ck_assert_int_eq(pcq_push_until(q, &v, &past), ETIMEDOUT);
    ck_assert_int_eq(pcq_push_for(q, &v, 0), ETIMEDOUT);
    ck_assert_int_eq(pcq_pop_for(q, &out, 0), 0); /* element: proceeds */
    ck_assert_uint_eq(out, 5);
    ck_assert_int_eq(pcq_push_for(q, &v, 0), 0);
    ck_assert_int_eq(pcq_pop_until(q, &out, &past), 0);
    /* negative seconds are a valid, long-past time */
    struct timespec neg = {-5, 0};
    ck_assert_int_eq(pcq_pop_until(q, &out, &neg), ETIMEDOUT);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.push_waits, 0); /* none of them slept */
    ck_assert_uint_eq(s.pop_waits, 0);
    ck_assert_uint_eq(s.pushed, 2);
    ck_assert_uint_eq(s.popped, 2);
    pcq_destroy(q);
}
END_TEST

struct waiter {
    pcq_t *q;
    int kind; /* 0 pop_for, 1 pop_until, 2 push_for, 3 push_until */
    uint64_t timeout_ns;
    struct timespec deadline;
    uint64_t v;
    int rc;
};

static void *timed_thread(void *arg)
{
    struct waiter *w = arg;
    switch (w->kind) {
    case 0: w->rc = pcq_pop_for(w->q, &w->v, w->timeout_ns); break;
    case 1: w->rc = pcq_pop_until(w->q, &w->v, &w->deadline); break;
    case 2: w->rc = pcq_push_for(w->q, &w->v, w->timeout_ns); break;
    default: w->rc = pcq_push_until(w->q, &w->v, &w->deadline); break;
    }
    return NULL;
}

/* Huge timeouts (UINT64_MAX ns, the largest time_t deadline) wait without
 * overflowing into the past: the call sleeps until the other side comes. */
START_TEST(huge_timeouts_wait)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    struct timespec far = {.tv_sec = (time_t)(sizeof(time_t) >= 8 ? INT64_MAX : INT32_MAX),
                           .tv_nsec = 999999999L};
    struct waiter w[4] = {
        {.q = q, .kind = 0, .timeout_ns = UINT64_MAX},
        {.q = q, .kind = 1, .deadline = far},
        {.q = q, .kind = 2, .timeout_ns = UINT64_MAX, .v = 20},
        {.q = q, .kind = 3, .deadline = far, .v = 30},
    };
    pthread_t t;
    uint64_t v = 10, out;
    for (int i = 0; i < 2; i++) { /* pops wait on an empty queue */
        start(&t, timed_thread, &w[i]);
        await_pop_waits(q, (uint64_t)i + 1);
        ck_assert_int_eq(pcq_push(q, &v), 0);
        join(t);
        ck_assert_int_eq(w[i].rc, 0);
        ck_assert_uint_eq(w[i].v, 10);
    }
    ck_assert_int_eq(pcq_push(q, &v), 0); /* full */
    for (int i = 2; i < 4; i++) { /* pushes wait on a full queue */
        start(&t, timed_thread, &w[i]);
        await_push_waits(q, (uint64_t)i - 1);
        ck_assert_int_eq(pcq_pop(q, &out), 0);
        join(t);
        ck_assert_int_eq(w[i].rc, 0);
    }
    ck_assert_int_eq(pcq_pop(q, &out), 0);
    ck_assert_uint_eq(out, 30);
    pcq_destroy(q);
}
END_TEST

/* A timed wait that the other side satisfies in time returns 0. */
START_TEST(timed_succeeds_in_time)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    struct waiter w = {.q = q, .kind = 0, .timeout_ns = 60ull * 1000 * MS};
    pthread_t t;
    start(&t, timed_thread, &w);
    await_pop_waits(q, 1);
    uint64_t v = 123;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    join(t);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_uint_eq(w.v, 123);

    /* and push_until on a full queue, released by a pop */
    ck_assert_int_eq(pcq_push(q, &v), 0);
    w = (struct waiter){.q = q, .kind = 3, .deadline = deadline_ms(60000), .v = 456};
    start(&t, timed_thread, &w);
    await_push_waits(q, 1);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 123);
    join(t);
    ck_assert_int_eq(w.rc, 0);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 456);
    pcq_destroy(q);
}
END_TEST

/* Several timed waiters with different deadlines each time out on their
 * own, in deadline order, and none returns early. */
START_TEST(timeouts_are_independent)
{
    enum { N = 3 };
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
    struct waiter w[N];
    pthread_t t[N];
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++) {
        w[i] = (struct waiter){.q = q, .kind = 1, .deadline = deadline_ms(40 * (i + 1))};
        start(&t[i], timed_thread, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        join(t[i]);
        ck_assert_int_eq(w[i].rc, ETIMEDOUT);
        ck_assert_uint_ge(now_ns() - t0, (uint64_t)40 * (uint64_t)(i + 1) * MS);
    }
    ck_assert_uint_lt(now_ns() - t0, UPPER_MS * MS);
    pcq_destroy(q);
}
END_TEST

Suite *suite_timed(void)
{
    Suite *s = suite_create("timed");
    TCase *tc = tcase_create("timed");
    tcase_add_test(tc, pop_for_times_out);
    tcase_add_test(tc, push_for_times_out);
    tcase_add_test(tc, until_uses_monotonic_clock);
    tcase_add_test(tc, past_deadline_is_try);
    tcase_add_test(tc, huge_timeouts_wait);
    tcase_add_test(tc, timed_succeeds_in_time);
    tcase_add_test(tc, timeouts_are_independent);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
