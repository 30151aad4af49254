/*
 * check_create_args.c — pcq_create's errors, allocation failure, argument
 * checking of every call (EINVAL changes nothing), the inspection calls on
 * NULL, and that push/pop allocate nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define SENTINEL ((pcq_t *)(uintptr_t)0x5a5a)

START_TEST(create_einval)
{
    pcq_t *q = SENTINEL;
    ck_assert_int_eq(pcq_create(NULL, 4, 8), EINVAL);
    ck_assert_int_eq(pcq_create(&q, 0, 8), EINVAL);
    ck_assert_ptr_eq(q, SENTINEL);
    ck_assert_int_eq(pcq_create(&q, 4, 0), EINVAL);
    ck_assert_ptr_eq(q, SENTINEL);
    ck_assert_int_eq(pcq_create(&q, 0, 0), EINVAL);
    ck_assert_ptr_eq(q, SENTINEL);
}
END_TEST

START_TEST(create_eoverflow)
{
    pcq_t *q = SENTINEL;
    long before = atomic_load(&test_alloc_calls);
    ck_assert_int_eq(pcq_create(&q, SIZE_MAX, 2), EOVERFLOW);
    ck_assert_int_eq(pcq_create(&q, 2, SIZE_MAX), EOVERFLOW);
    ck_assert_int_eq(pcq_create(&q, SIZE_MAX / 2 + 1, 2), EOVERFLOW);
    ck_assert_int_eq(pcq_create(&q, (size_t)1 << 32, (size_t)1 << 32), EOVERFLOW);
    /* capacity * elem_size fits, but not with the queue's own header */
    ck_assert_int_eq(pcq_create(&q, SIZE_MAX, 1), EOVERFLOW);
    ck_assert_ptr_eq(q, SENTINEL);
    /* rejected before any allocation was tried */
    ck_assert_int_eq(atomic_load(&test_alloc_calls), before);
}
END_TEST

START_TEST(create_enomem_untouched)
{
    pcq_t *q = SENTINEL;
    long before = atomic_load(&test_alloc_calls);
    atomic_store(&test_alloc_fail_next, 1);
    ck_assert_int_eq(pcq_create(&q, 16, 8), ENOMEM);
    ck_assert_ptr_eq(q, SENTINEL);
    /* the wrapper really was the allocator pcq called */
    ck_assert_int_eq(atomic_load(&test_alloc_calls), before + 1);
    ck_assert_int_eq(atomic_load(&test_alloc_fail_next), 0);
    /* nothing leaked is checked by the ASan (LeakSanitizer) run; the next
     * create works */
    ck_assert_int_eq(pcq_create(&q, 16, 8), 0);
    ck_assert_ptr_ne(q, SENTINEL);
    pcq_destroy(q);
}
END_TEST

START_TEST(create_getters)
{
    pcq_t *q = NULL;
    ck_assert_int_eq(pcq_create(&q, 7, 13), 0);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(pcq_capacity(q), 7);
    ck_assert_uint_eq(pcq_elem_size(q), 13);
    ck_assert_uint_eq(pcq_size(q), 0);
    ck_assert(!pcq_is_closed(q));
    pcq_stats_t s;
    memset(&s, 0xff, sizeof s);
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pushed, 0);
    ck_assert_uint_eq(s.popped, 0);
    ck_assert_uint_eq(s.push_waits, 0);
    ck_assert_uint_eq(s.pop_waits, 0);
    ck_assert_uint_eq(s.high_water, 0);
    pcq_destroy(q);
}
END_TEST

START_TEST(null_queue_inspection)
{
    pcq_destroy(NULL); /* no-op */
    pcq_close(NULL);   /* no-op */
    ck_assert(!pcq_is_closed(NULL));
    ck_assert_uint_eq(pcq_size(NULL), 0);
    ck_assert_uint_eq(pcq_capacity(NULL), 0);
    ck_assert_uint_eq(pcq_elem_size(NULL), 0);
    pcq_stats_t s;
    memset(&s, 0xff, sizeof s);
    pcq_stats(NULL, &s);
    ck_assert_uint_eq(s.pushed, 0);
    ck_assert_uint_eq(s.high_water, 0);
    pcq_stats(NULL, NULL);
}
END_TEST

/* Every status-returning call rejects each NULL pointer with EINVAL and
 * leaves the queue exactly as it was. */
START_TEST(null_arguments_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, 8), 0);
    uint64_t v = 42, out = 7, arr[4] = {1, 2, 3, 4};
    size_t moved;
    struct timespec d = deadline_ms(1000);
    ck_assert_int_eq(pcq_push(q, &v), 0); /* one element inside */
    pcq_stats_t before, after;
    pcq_stats(q, &before);

    ck_assert_int_eq(pcq_push(NULL, &v), EINVAL);
    ck_assert_int_eq(pcq_push(q, NULL), EINVAL);
    ck_assert_int_eq(pcq_pop(NULL, &out), EINVAL);
    ck_assert_int_eq(pcq_pop(q, NULL), EINVAL);
    ck_assert_int_eq(pcq_try_push(NULL, &v), EINVAL);
    ck_assert_int_eq(pcq_try_push(q, NULL), EINVAL);
    ck_assert_int_eq(pcq_try_pop(NULL, &out), EINVAL);
    ck_assert_int_eq(pcq_try_pop(q, NULL), EINVAL);
    ck_assert_int_eq(pcq_push_until(NULL, &v, &d), EINVAL);
    ck_assert_int_eq(pcq_push_until(q, NULL, &d), EINVAL);
    ck_assert_int_eq(pcq_push_until(q, &v, NULL), EINVAL);
    ck_assert_int_eq(pcq_pop_until(NULL, &out, &d), EINVAL);
    ck_assert_int_eq(pcq_pop_until(q, NULL, &d), EINVAL);
    ck_assert_int_eq(pcq_pop_until(q, &out, NULL), EINVAL);
    ck_assert_int_eq(pcq_push_for(NULL, &v, 1000), EINVAL);
    ck_assert_int_eq(pcq_push_for(q, NULL, 1000), EINVAL);
    ck_assert_int_eq(pcq_pop_for(NULL, &out, 1000), EINVAL);
    ck_assert_int_eq(pcq_pop_for(q, NULL, 1000), EINVAL);

    moved = 99;
    ck_assert_int_eq(pcq_push_many(NULL, arr, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    moved = 99;
    ck_assert_int_eq(pcq_push_many(q, NULL, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    ck_assert_int_eq(pcq_push_many(q, arr, 2, NULL), EINVAL);
    moved = 99;
    ck_assert_int_eq(pcq_pop_many(NULL, arr, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    moved = 99;
    ck_assert_int_eq(pcq_pop_many(q, NULL, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    ck_assert_int_eq(pcq_pop_many(q, arr, 2, NULL), EINVAL);
    moved = 99;
    ck_assert_int_eq(pcq_try_push_many(NULL, arr, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    moved = 99;
    ck_assert_int_eq(pcq_try_push_many(q, NULL, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    ck_assert_int_eq(pcq_try_push_many(q, arr, 2, NULL), EINVAL);
    moved = 99;
    ck_assert_int_eq(pcq_try_pop_many(NULL, arr, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    moved = 99;
    ck_assert_int_eq(pcq_try_pop_many(q, NULL, 2, &moved), EINVAL);
    ck_assert_uint_eq(moved, 0);
    ck_assert_int_eq(pcq_try_pop_many(q, arr, 2, NULL), EINVAL);

    /* nothing changed: same contents, same counters, output untouched */
    ck_assert_uint_eq(out, 7);
    ck_assert_uint_eq(arr[0], 1);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_stats(q, &after);
    ck_assert_mem_eq(&before, &after, sizeof before);
    ck_assert_int_eq(pcq_pop(q, &out), 0);
    ck_assert_uint_eq(out, 42);
    pcq_destroy(q);
}
END_TEST

/* Malformed deadlines are EINVAL even when the call could proceed. */
START_TEST(bad_timespec_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, 8), 0);
    uint64_t v = 5, out = 0;
    struct timespec bad[] = {
        {.tv_sec = 0, .tv_nsec = -1},
        {.tv_sec = 0, .tv_nsec = 1000000000L},
        {.tv_sec = 1, .tv_nsec = -999},
    };
    ck_assert_int_eq(pcq_push(q, &v), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct timespec d = deadline_ms(10000);
        d.tv_nsec = bad[i].tv_nsec;
        ck_assert_int_eq(pcq_push_until(q, &v, &d), EINVAL);
        ck_assert_int_eq(pcq_pop_until(q, &out, &d), EINVAL);
        ck_assert_int_eq(pcq_push_until(q, &v, &bad[i]), EINVAL);
        ck_assert_int_eq(pcq_pop_until(q, &out, &bad[i]), EINVAL);
    }
    ck_assert_uint_eq(out, 0);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_destroy(q);
}
END_TEST

/* Push and pop allocate nothing: every allocator call pcq makes goes
 * through the wrapped aligned_alloc, and none happens after create. */
static void *no_alloc_consumer(void *arg)
{
    pcq_t *q = arg;
    uint64_t v, buf[8];
    size_t got;
    for (int i = 0; i < 1000; i++)
        EXPECT(pcq_pop(q, &v) == 0);
    while (pcq_pop_many(q, buf, 8, &got) == 0)
        ;
    return NULL;
}

START_TEST(push_pop_allocate_nothing)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 3, 8), 0);
    pthread_t t;
    start(&t, no_alloc_consumer, q);
    long before = atomic_load(&test_alloc_calls);
    uint64_t v = 1, arr[16] = {0};
    size_t n;
    for (int i = 0; i < 1000; i++)
        EXPECT(pcq_push(q, &v) == 0);
    for (int i = 0; i < 100; i++) {
        EXPECT(pcq_push_many(q, arr, 16, &n) == 0);
        (void)pcq_try_push(q, &v);
        (void)pcq_push_for(q, &v, 1000);
    }
    pcq_close(q);
    join(t);
    ck_assert_int_eq(atomic_load(&test_alloc_calls), before);
    pcq_destroy(q);
}
END_TEST

/* The README's memory figure: one allocation of capacity * elem_size plus
 * a constant of at most PCQ_TEST_OVERHEAD bytes (the header with its lock
 * and condition variables, rounded up to a cache line). */
#define PCQ_TEST_OVERHEAD 704

START_TEST(footprint_is_elements_plus_constant)
{
    const size_t cases[][2] = {{1, 1}, {3, 13}, {64, 8}, {1000, 8}, {4096, 256}, {7, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t cap = cases[i][0], esz = cases[i][1];
        pcq_t *q;
        long calls = atomic_load(&test_alloc_calls);
        ck_assert_int_eq(pcq_create(&q, cap, esz), 0);
        ck_assert_int_eq(atomic_load(&test_alloc_calls), calls + 1); /* one allocation */
        size_t bytes = atomic_load(&test_alloc_last_size);
        ck_assert_uint_ge(bytes, cap * esz);
        ck_assert_uint_le(bytes - cap * esz, PCQ_TEST_OVERHEAD);
        pcq_destroy(q);
    }
}
END_TEST

START_TEST(version_matches_header)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", PCQ_VERSION_MAJOR, PCQ_VERSION_MINOR,
             PCQ_VERSION_PATCH);
    ck_assert_str_eq(pcq_version(), want);
}
END_TEST

Suite *suite_create_args(void)
{
    Suite *s = suite_create("create_args");
    TCase *tc = tcase_create("create_args");
    tcase_add_test(tc, create_einval);
    tcase_add_test(tc, create_eoverflow);
    tcase_add_test(tc, create_enomem_untouched);
    tcase_add_test(tc, create_getters);
    tcase_add_test(tc, null_queue_inspection);
    tcase_add_test(tc, null_arguments_einval);
    tcase_add_test(tc, bad_timespec_einval);
    tcase_add_test(tc, push_pop_allocate_nothing);
    tcase_add_test(tc, footprint_is_elements_plus_constant);
    tcase_add_test(tc, version_matches_header);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
