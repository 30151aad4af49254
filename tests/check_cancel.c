/*
 * check_cancel.c — a thread cancelled while blocked in any blocking or
 * timed call leaves the queue consistent and unlocked; other threads keep
 * working; nothing accepted is lost.
 *
 * Helgrind and DRD (3.19) do not model a thread cancelled inside
 * pthread_cond_wait (they misreport the cleanup handler's unlock), so these
 * tests run natively, with injected spurious wake-ups, and under TSan and
 * ASan, and are skipped under Valgrind with the reason printed.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "test_util.h"

#define VG_REASON "Valgrind does not model a thread cancelled in pthread_cond_wait"

/* Cancel one thread blocked in call `_i`; then the queue works, with
 * another blocked thread of the same side still woken by the other side. */
START_TEST(cancel_blocked_call)
{
    SKIP_UNDER_VALGRIND(VG_REASON);
    const int kind = _i;
    const bool is_pop = kind < PUSH;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    uint64_t v = 1;
    if (!is_pop) { /* fill it so that pushes block */
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_int_eq(pcq_push(q, &v), 0);
    }
    /* the victim, and a bystander of the same side that blocks too */
    struct call victim = {.q = q, .kind = kind, .n = 4, .buf = {7, 7, 7, 7}};
    struct call other = {.q = q, .kind = is_pop ? POP : PUSH, .n = 1, .buf = {9}};
    pthread_t tv, to;
    start(&tv, call_thread, &victim);
    if (is_pop)
        await_pop_waits(q, 1);
    else
        await_push_waits(q, 1);
    start(&to, call_thread, &other);
    if (is_pop)
        await_pop_waits(q, 2);
    else
        await_push_waits(q, 2);

    ck_assert_int_eq(pthread_cancel(tv), 0);
    ck_assert_ptr_eq(join(tv), PTHREAD_CANCELED);

    /* The lock is free and the state consistent: one move of the other side
     * reaches the bystander (the cancelled waiter did not swallow it). */
    if (is_pop) {
        v = 42;
        ck_assert_int_eq(pcq_push(q, &v), 0);
        ck_assert_ptr_eq(join(to), (void *)0);
        ck_assert_uint_eq(other.buf[0], 42);
        ck_assert_uint_eq(pcq_size(q), 0);
    } else {
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_ptr_eq(join(to), (void *)0);
        ck_assert_uint_eq(pcq_size(q), 2);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_uint_eq(v, 9); /* the cancelled push put nothing in */
    }
    /* and the queue goes on working in both directions */
    for (uint64_t i = 0; i < 10; i++) {
        ck_assert_int_eq(pcq_push(q, &i), 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_uint_eq(v, i);
    }
    ck_assert_int_eq(pcq_try_pop(q, &v), EAGAIN);
    pcq_close(q);
    pcq_destroy(q);
}
END_TEST

/* A push_many cancelled after part of its batch went in: that part stays
 * in the queue and is delivered, in order. */
START_TEST(cancel_push_many_keeps_prefix)
{
    SKIP_UNDER_VALGRIND(VG_REASON);
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 3, 8), 0);
    struct call c = {.q = q, .kind = PUSH_MANY, .n = 8, .buf = {0, 1, 2, 3, 4, 5, 6, 7}};
    pthread_t t;
    start(&t, call_thread, &c);
    await_push_waits(q, 1); /* 3 in, asleep for room */
    ck_assert_int_eq(pthread_cancel(t), 0);
    ck_assert_ptr_eq(join(t), PTHREAD_CANCELED);
    uint64_t v;
    for (uint64_t i = 0; i < 3; i++) {
        ck_assert_int_eq(pcq_try_pop(q, &v), 0);
        ck_assert_uint_eq(v, i);
    }
    ck_assert_int_eq(pcq_try_pop(q, &v), EAGAIN);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 3);
    pcq_destroy(q);
}
END_TEST

/* A waiter cancelled after its wake-up was sent must not swallow it:
 * cancel the only-woken consumer right after the push that woke it, with a
 * second consumer waiting; the element reaches someone, never nobody. */
START_TEST(cancel_after_signal_passes_wakeup_on)
{
    SKIP_UNDER_VALGRIND(VG_REASON);
    long rounds = scaled(200, 10);
    for (long r = 0; r < rounds; r++) {
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, 1, 8), 0);
        struct call a = {.q = q, .kind = POP}, b = {.q = q, .kind = POP};
        pthread_t ta, tb;
        start(&ta, call_thread, &a);
        start(&tb, call_thread, &b);
        await_pop_waits(q, 2);
        uint64_t v = 5;
        ck_assert_int_eq(pcq_push(q, &v), 0);
        pthread_cancel(ta); /* may land before or after a's wake-up */
        void *ra = join(ta);
        if (ra == PTHREAD_CANCELED) {
            /* a was cancelled inside its wait, before taking the element:
             * b must be woken and get it (a hang here is a lost wake-up). */
            ck_assert_ptr_eq(join(tb), (void *)0);
            ck_assert_uint_eq(b.buf[0], 5);
        } else {
            ck_assert_ptr_eq(ra, (void *)0); /* a got it before the cancel */
            ck_assert_uint_eq(a.buf[0], 5);
            pthread_cancel(tb);
            ck_assert_ptr_eq(join(tb), PTHREAD_CANCELED);
        }
        pcq_destroy(q);
    }
}
END_TEST

Suite *suite_cancel(void)
{
    Suite *s = suite_create("cancel");
    TCase *tc = tcase_create("cancel");
    tcase_add_loop_test(tc, cancel_blocked_call, 0, KINDS);
    tcase_add_test(tc, cancel_push_many_keeps_prefix);
    tcase_add_test(tc, cancel_after_signal_passes_wakeup_on);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
