/*
 * check_fib.c — pcq-fib's numbers (tools/pcq-fib/numbers.c) and its
 * threaded pipeline (tools/pcq-fib/pipeline.c), driven directly.
 *
 * The numbers are checked against the plain a, b = b, a + b recurrence and
 * known values; pipeline runs against what on_term saw: every term exactly
 * once with the right value, in index order when ordered, the checksum
 * identity sum F(0..n) = F(n+2) - 1, and no leak when on_term fails midway
 * (ASan, memcheck). on_term runs serialised (the pipeline's contract), so it
 * records without a lock, and never calls ck_assert (undefined from another
 * thread under CK_FORK=no): the main thread checks after the run.
 */
#include "test_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

#ifdef PCQ_HAVE_GMP
#include <gmp.h>
#endif

/* v in decimal, as fib_count_below takes its bound. */
static void decimal(char *buf, size_t size, uint64_t v)
{
    snprintf(buf, size, "%" PRIu64, v);
}

START_TEST(test_fib_numbers)
{
    /* Against the plain recurrence mod 2^64, a few terms past the last
     * that fits: the pipeline relies on fib_pair_u64 wrapping there. */
    uint64_t a = 0, b = 1, f, f1;
    for (uint64_t i = 0; i <= FIB_MAX_U64_INDEX + 3; i++) {
        fib_pair_u64(i, &f, &f1);
        ck_assert_msg(f == a && f1 == b, "fib_pair_u64(%" PRIu64 ")", i);
        if (i <= FIB_MAX_U64_INDEX) {
            ck_assert_int_eq(fib_u64(i, &f), 0);
            ck_assert_msg(f == a, "F(%" PRIu64 ") = %" PRIu64 ", expected %" PRIu64, i, f, a);
        }
        if (i == FIB_MAX_U64_INDEX) { /* defaults.h's constants are right */
            ck_assert_uint_eq(a, FIB_MAX_U64);
            ck_assert_uint_lt(b, a); /* F(i+1) wrapped: it does not fit */
        }
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    f = 7;
    ck_assert_int_eq(fib_u64(FIB_MAX_U64_INDEX + 1, &f), EOVERFLOW);
    ck_assert_int_eq(fib_u64(UINT64_MAX, &f), EOVERFLOW);
    ck_assert_uint_eq(f, 7);

    uint64_t n;
    char bound[24];
    ck_assert_int_eq(fib_count_below("100", false, &n), 0);
    ck_assert_uint_eq(n, 12); /* 0 1 1 2 3 5 8 13 21 34 55 89 */
    ck_assert_int_eq(fib_count_below("0", false, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fib_count_below("1", false, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(fib_count_below("2", false, &n), 0);
    ck_assert_uint_eq(n, 3);
    decimal(bound, sizeof bound, FIB_MAX_U64);
    ck_assert_int_eq(fib_count_below(bound, false, &n), 0);
    ck_assert_uint_eq(n, FIB_MAX_U64_INDEX);
    decimal(bound, sizeof bound, FIB_MAX_U64 + 1);
    ck_assert_int_eq(fib_count_below(bound, false, &n), 0);
    ck_assert_uint_eq(n, FIB_MAX_U64_COUNT);
    ck_assert_int_eq(fib_count_below("18446744073709551615", false, &n), 0);
    ck_assert_uint_eq(n, FIB_MAX_U64_COUNT);
    ck_assert_int_eq(fib_count_below("18446744073709551616", false, &n), EOVERFLOW);
    ck_assert_int_eq(fib_count_below("12x", false, &n), EINVAL);
    ck_assert_int_eq(fib_count_below("", false, &n), EINVAL);
    ck_assert_int_eq(fib_count_below("-1", false, &n), EINVAL);
}
END_TEST

START_TEST(test_fib_big_numbers)
{
    char *s = NULL;
    uint64_t n;
    if (!fib_have_big()) {
        ck_assert_int_eq(fib_big_string(1000, &s), ENOTSUP);
        ck_assert_int_eq(fib_count_below("100", true, &n), ENOTSUP);
        return;
    }
    ck_assert_int_eq(fib_big_string(1000, &s), 0);
    ck_assert_uint_eq(strlen(s), 209);
    ck_assert_msg(strncmp(s, "43466557686937456435", 20) == 0, "F(1000) = %s", s);
    free(s);
    char last[24];
    decimal(last, sizeof last, FIB_MAX_U64);
    ck_assert_int_eq(fib_big_string(FIB_MAX_U64_INDEX, &s), 0);
    ck_assert_str_eq(s, last);
    free(s);
    ck_assert_int_eq(fib_big_string(FIB_MAX_U64_INDEX + 1, &s), 0);
    ck_assert_str_eq(s, "19740274219868223167");
    free(s);
    ck_assert_int_eq(fib_big_string(0, &s), 0);
    ck_assert_str_eq(s, "0");
    free(s);
    ck_assert_int_eq(fib_count_below("100", true, &n), 0);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(fib_count_below("19740274219868223168", true, &n), 0);
    ck_assert_uint_eq(n, FIB_MAX_U64_COUNT + 1);
    /* F(1000) has 209 digits: 10^208 lies between F(995) and F(1000). */
    char bound[210];
    memset(bound, '0', 209);
    bound[0] = '1';
    bound[209] = '\0';
    ck_assert_int_eq(fib_count_below(bound, true, &n), 0);
    ck_assert_int_eq(fib_big_string(n, &s), 0);
    ck_assert_uint_eq(strlen(s), 209); /* F(n) >= 10^208 */
    free(s);
    ck_assert_int_eq(fib_big_string(n - 1, &s), 0);
    ck_assert_uint_eq(strlen(s), 208); /* F(n-1) < 10^208 */
    free(s);
}
END_TEST

/* What a pipeline run delivered. */
struct fib_seen {
    bool big;
    uint64_t count;
    uint32_t *times;      /* [count] deliveries per index */
    uint64_t *order;      /* [count] indices in delivery order */
    uint64_t delivered;
    uint64_t fail_at;     /* 0: never; n: the n-th on_term returns EIO */
    unsigned bad;         /* wrong values or indices */
#ifdef PCQ_HAVE_GMP
    mpz_t a, b; /* ordered big runs: the expected next two terms */
#endif
};

static int fib_record(void *arg, unsigned consumer, const fib_term_t *t)
{
    struct fib_seen *fs = arg;
    (void)consumer;
    if (fs->fail_at != 0 && fs->delivered + 1 == fs->fail_at)
        return EIO;
    if (t->index >= fs->count) {
        fs->bad++;
        return 0;
    }
    fs->times[t->index]++;
    fs->order[fs->delivered++] = t->index;
    if (!fs->big) {
        uint64_t f;
        if (fib_u64(t->index, &f) != 0 || f != t->v.u64)
            fs->bad++;
    }
    return 0;
}

static void fib_seen_init(struct fib_seen *fs, uint64_t count, bool big)
{
    memset(fs, 0, sizeof *fs);
    fs->big = big;
    fs->count = count;
    fs->times = calloc(count + 1, sizeof *fs->times);
    fs->order = calloc(count + 1, sizeof *fs->order);
    ck_assert(fs->times != NULL && fs->order != NULL);
}

static void fib_seen_free(struct fib_seen *fs)
{
    free(fs->times);
    free(fs->order);
}

static fib_config_t fib_cfg(struct fib_seen *fs, unsigned P, unsigned C, size_t cap,
                            size_t batch, bool ordered, size_t window)
{
    fib_config_t c = {
        .count = fs->count,
        .producers = P,
        .consumers = C,
        .capacity = cap,
        .batch = batch,
        .window = window,
        .ordered = ordered,
        .big = fs->big,
        .on_term = fib_record,
        .arg = fs,
    };
    return c;
}

struct fib_setup {
    unsigned P, C;
    size_t cap, batch, window;
};

static const struct fib_setup fib_setups[] = {
    {1, 1, 16, 1, 0}, {1, 2, 4, 1, 0}, {2, 3, 4, 1, 0},  {3, 3, 8, 4, 0}, {4, 2, 2, 3, 1},
    {4, 3, 16, 8, 2}, {5, 4, 1, 1, 3}, {7, 2, 32, 2, 5}, {3, 5, 4, 16, 0},
};

/* Every term exactly once, with the right value and checksum. */
START_TEST(test_fib_unordered)
{
    for (size_t i = 0; i < sizeof fib_setups / sizeof fib_setups[0]; i++) {
        const struct fib_setup *s = &fib_setups[i];
        static const uint64_t counts[] = {50, FIB_MAX_U64_COUNT};
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
            uint64_t count = counts[j];
            struct fib_seen fs;
            fib_seen_init(&fs, count, false);
            fib_config_t c = fib_cfg(&fs, s->P, s->C, s->cap, s->batch, false, 0);
            fib_result_t r;
            ck_assert_int_eq(fib_run(&c, &r), 0);
            ck_assert_uint_eq(fs.bad, 0);
            ck_assert_uint_eq(fs.delivered, count);
            for (uint64_t k = 0; k < count; k++)
                ck_assert_msg(fs.times[k] == 1, "F(%" PRIu64 ") delivered %u times", k,
                              fs.times[k]);
            /* sum F(0..n) = F(n+2) - 1, here n = count - 1, mod 2^64 */
            uint64_t f, f1;
            fib_pair_u64(count, &f, &f1);
            ck_assert_uint_eq(r.checksum, f1 - 1);
            char want[24];
            decimal(want, sizeof want, f1 - 1);
            ck_assert_str_eq(r.checksum_str, want);
            ck_assert_uint_eq(r.terms, count);
            ck_assert_uint_eq(r.run.consumed, count);
            ck_assert_uint_eq(r.run.leftovers, 0);
            fib_result_free(&r);
            fib_seen_free(&fs);
        }
    }
}
END_TEST

/* In index order, whatever the threads, and the window is respected. */
START_TEST(test_fib_ordered)
{
    for (size_t i = 0; i < sizeof fib_setups / sizeof fib_setups[0]; i++) {
        const struct fib_setup *s = &fib_setups[i];
        struct fib_seen fs;
        fib_seen_init(&fs, FIB_MAX_U64_COUNT, false);
        fib_config_t c = fib_cfg(&fs, s->P, s->C, s->cap, s->batch, true, s->window);
        fib_result_t r;
        ck_assert_int_eq(fib_run(&c, &r), 0);
        ck_assert_uint_eq(fs.bad, 0);
        ck_assert_uint_eq(fs.delivered, FIB_MAX_U64_COUNT);
        for (uint64_t k = 0; k < FIB_MAX_U64_COUNT; k++)
            ck_assert_uint_eq(fs.order[k], k); /* = the single-thread output */
        ck_assert(r.window >= 1);
        if (s->window != 0)
            ck_assert_uint_eq(r.window, s->window);
        ck_assert_uint_le(r.ahead_peak, r.window);
        ck_assert_uint_le(r.held_peak, r.window);
        fib_result_free(&r);
        fib_seen_free(&fs);
    }
}
END_TEST

/* Zero counts get defaults.h's values; the window follows `ordered`. */
START_TEST(test_fib_config)
{
    fib_config_t c = {.count = 10};
    ck_assert_int_eq(fib_config_check(&c), 0);
    ck_assert_uint_eq(c.count, 10);
    ck_assert_uint_eq(c.producers, FIB_DEFAULT_PRODUCERS);
    ck_assert_uint_eq(c.consumers, FIB_DEFAULT_CONSUMERS);
    ck_assert_uint_eq(c.capacity, FIB_DEFAULT_CAPACITY);
    ck_assert_uint_eq(c.batch, FIB_DEFAULT_BATCH);
    ck_assert_uint_eq(c.window, 0);
    fib_config_t again = c;
    ck_assert_int_eq(fib_config_check(&again), 0);
    ck_assert(again.producers == c.producers && again.consumers == c.consumers &&
              again.capacity == c.capacity && again.batch == c.batch &&
              again.window == c.window);

    c = (fib_config_t){.window = 7};
    ck_assert_int_eq(fib_config_check(&c), 0);
    ck_assert_uint_eq(c.window, 0); /* not ordered: no window */
    c = (fib_config_t){.window = 7, .ordered = true};
    ck_assert_int_eq(fib_config_check(&c), 0);
    ck_assert_uint_eq(c.window, 7);
    c = (fib_config_t){.producers = 2, .consumers = 3, .capacity = 4, .batch = 5, .ordered = true};
    ck_assert_int_eq(fib_config_check(&c), 0);
    ck_assert_uint_eq(c.window, 2 * (4 + (2 + 3) * 5));
    c.window = 0;
    c.capacity = SIZE_MAX;
    ck_assert_int_eq(fib_config_check(&c), EINVAL); /* the default window overflows */

    c = (fib_config_t){.producers = FIB_MAX_THREADS, .consumers = FIB_MAX_THREADS};
    ck_assert_int_eq(fib_config_check(&c), 0);
    c.consumers = FIB_MAX_THREADS + 1;
    ck_assert_int_eq(fib_config_check(&c), EINVAL);
    c = (fib_config_t){.count = FIB_MAX_U64_COUNT};
    ck_assert_int_eq(fib_config_check(&c), 0);
    c.count++;
    ck_assert_int_eq(fib_config_check(&c), EOVERFLOW);
    c.big = true;
    ck_assert_int_eq(fib_config_check(&c), fib_have_big() ? 0 : ENOTSUP);
    ck_assert_int_eq(fib_config_check(NULL), EINVAL);

    /* Lingering consumers: batch_min 0 means 1, at most the batch, and an
     * ordered run with batch_min > 1 needs a linger (pipeline.h). */
    c = (fib_config_t){.batch = 8};
    ck_assert_int_eq(fib_config_check(&c), 0);
    ck_assert_uint_eq(c.batch_min, FIB_DEFAULT_BATCH_MIN);
    c.batch_min = 9;
    ck_assert_int_eq(fib_config_check(&c), EINVAL);
    c.batch_min = 8;
    ck_assert_int_eq(fib_config_check(&c), 0);
    c.ordered = true;
    ck_assert_int_eq(fib_config_check(&c), EINVAL);
    c.linger_us = 1;
    ck_assert_int_eq(fib_config_check(&c), 0);
    c.linger_us = UINT64_MAX / 1000 + 1; /* nanoseconds would overflow */
    ck_assert_int_eq(fib_config_check(&c), EINVAL);
}
END_TEST

/* Consumers that wait for batch_min terms at once, or a linger: every term
 * exactly once, in order when ordered. Helgrind 3.19 misreports glibc's
 * timed wait expiring while signalled (see check_stress.c): under it the
 * lingers never expire, and the ordered runs, which may need them to, are
 * left to the native, sanitizer and DRD runs. */
START_TEST(test_fib_linger)
{
    const char *tool = valgrind_tool();
    bool helgrind = tool != NULL && strcmp(tool, "helgrind") == 0;
    if (helgrind)
        skipped(__func__, "the ordered runs: Helgrind misreports glibc's timed wait racing a "
                          "signal");
    static const struct {
        unsigned P, C;
        size_t cap, batch, batch_min;
        uint64_t linger_us;
        bool ordered;
    } setups[] = {
        {1, 1, 16, 16, 8, 100, true}, {3, 2, 4, 8, 8, 50, true},   {2, 3, 8, 4, 2, 20, true},
        {1, 2, 16, 8, 8, 0, false},   {4, 3, 4, 16, 16, 0, false}, {2, 2, 8, 8, 1, 30, false},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++) {
        if (helgrind && setups[i].ordered)
            continue;
        struct fib_seen fs;
        fib_seen_init(&fs, FIB_MAX_U64_COUNT, false);
        fib_config_t c = fib_cfg(&fs, setups[i].P, setups[i].C, setups[i].cap, setups[i].batch,
                                 setups[i].ordered, 0);
        c.batch_min = setups[i].batch_min;
        c.linger_us = setups[i].linger_us != 0 && helgrind ? UINT64_C(3600000000)
                                                           : setups[i].linger_us;
        fib_result_t r;
        ck_assert_int_eq(fib_run(&c, &r), 0);
        ck_assert_uint_eq(fs.bad, 0);
        ck_assert_uint_eq(fs.delivered, FIB_MAX_U64_COUNT);
        for (uint64_t k = 0; k < FIB_MAX_U64_COUNT; k++) {
            ck_assert_uint_eq(fs.times[k], 1);
            if (setups[i].ordered)
                ck_assert_uint_eq(fs.order[k], k);
        }
        ck_assert_uint_eq(r.run.consumed, FIB_MAX_U64_COUNT);
        fib_result_free(&r);
        fib_seen_free(&fs);
    }
}
END_TEST

START_TEST(test_fib_refused)
{
    struct fib_seen fs;
    fib_seen_init(&fs, FIB_MAX_U64_COUNT + 1, false);
    fib_config_t c = fib_cfg(&fs, 1, 1, 4, 1, false, 0);
    fib_result_t r;
    ck_assert_int_eq(fib_run(&c, &r), EOVERFLOW);
    fib_result_free(&r);
    ck_assert_uint_eq(fs.delivered, 0);
    c.count = FIB_MAX_U64_COUNT;
    c.on_term = NULL;
    ck_assert_int_eq(fib_run(&c, &r), EINVAL);
    fib_result_free(&r);
    c.on_term = fib_record;
    c.producers = FIB_MAX_THREADS + 1;
    ck_assert_int_eq(fib_run(&c, &r), EINVAL);
    fib_result_free(&r);
    c.producers = 1;
    c.big = true;
    ck_assert_int_eq(fib_run(&c, &r), fib_have_big() ? 0 : ENOTSUP);
    fib_result_free(&r);
    ck_assert_int_eq(fib_run(NULL, &r), EINVAL);
    ck_assert_int_eq(fib_run(&c, NULL), EINVAL);
    fib_seen_free(&fs);
}
END_TEST

/* on_term fails midway: the run stops, nothing leaks (ASan, memcheck). */
START_TEST(test_fib_error)
{
    for (int big = 0; big <= (fib_have_big() ? 1 : 0); big++) {
        for (size_t i = 0; i < sizeof fib_setups / sizeof fib_setups[0]; i++) {
            const struct fib_setup *s = &fib_setups[i];
            for (int ordered = 0; ordered <= 1; ordered++) {
                struct fib_seen fs;
                fib_seen_init(&fs, 90, big);
                fs.fail_at = 30;
                fib_config_t c = fib_cfg(&fs, s->P, s->C, s->cap, s->batch, ordered, s->window);
                fib_result_t r;
                ck_assert_int_eq(fib_run(&c, &r), EIO);
                ck_assert_uint_eq(fs.delivered, 29);
                ck_assert_uint_eq(r.terms, 29);
                ck_assert_int_eq(r.run.error, EIO);
                ck_assert_uint_eq(r.run.produced, r.run.consumed + r.run.leftovers);
                ck_assert_uint_eq(r.run.leftovers, r.run.disposed);
                fib_result_free(&r);
                fib_seen_free(&fs);
            }
        }
    }
}
END_TEST

#ifdef PCQ_HAVE_GMP
static int fib_record_big_ordered(void *arg, unsigned consumer, const fib_term_t *t)
{
    struct fib_seen *fs = arg;
    int rc = fib_record(arg, consumer, t);
    if (mpz_cmp(t->v.big, fs->a) != 0)
        fs->bad++;
    mpz_add(fs->a, fs->a, fs->b); /* a, b = b, a + b */
    mpz_swap(fs->a, fs->b);
    return rc;
}
#endif

/* Big numbers through the pipeline: exact checksum, order, values. */
START_TEST(test_fib_big_pipeline)
{
    if (!fib_have_big()) {
        printf("SKIP %s: built without GMP\n", __func__);
        return;
    }
#ifdef PCQ_HAVE_GMP
    uint64_t count = (uint64_t)scaled(1500, 120);
    char *want_s = NULL;
    ck_assert_int_eq(fib_big_string(count + 1, &want_s), 0);
    mpz_t want;
    mpz_init_set_str(want, want_s, 10);
    mpz_sub_ui(want, want, 1); /* sum F(0..count-1) = F(count+1) - 1 */
    free(want_s);
    for (size_t i = 0; i < sizeof fib_setups / sizeof fib_setups[0]; i++) {
        const struct fib_setup *s = &fib_setups[i];
        for (int ordered = 0; ordered <= 1; ordered++) {
            struct fib_seen fs;
            fib_seen_init(&fs, count, true);
            mpz_init_set_ui(fs.a, 0);
            mpz_init_set_ui(fs.b, 1);
            fib_config_t c = fib_cfg(&fs, s->P, s->C, s->cap, s->batch, ordered, s->window);
            if (ordered)
                c.on_term = fib_record_big_ordered;
            fib_result_t r;
            ck_assert_int_eq(fib_run(&c, &r), 0);
            ck_assert_uint_eq(fs.bad, 0);
            ck_assert_uint_eq(fs.delivered, count);
            for (uint64_t k = 0; k < count; k++)
                ck_assert_uint_eq(fs.times[k], 1);
            mpz_t got;
            ck_assert_int_eq(mpz_init_set_str(got, r.checksum_str, 10), 0);
            ck_assert_msg(mpz_cmp(got, want) == 0, "checksum %s", r.checksum_str);
            mpz_clear(got);
            mpz_clears(fs.a, fs.b, NULL);
            fib_result_free(&r);
            fib_seen_free(&fs);
        }
    }
    mpz_clear(want);
#endif
}
END_TEST

Suite *suite_fib(void)
{
    Suite *s = suite_create("fib");
    TCase *fib = tcase_create("fibonacci");
    tcase_add_test(fib, test_fib_numbers);
    tcase_add_test(fib, test_fib_big_numbers);
    tcase_add_test(fib, test_fib_unordered);
    tcase_add_test(fib, test_fib_ordered);
    tcase_add_test(fib, test_fib_config);
    tcase_add_test(fib, test_fib_linger);
    tcase_add_test(fib, test_fib_refused);
    tcase_add_test(fib, test_fib_error);
    tcase_add_test(fib, test_fib_big_pipeline);
    tcase_set_timeout(fib, 60);
    suite_add_tcase(s, fib);
    return s;
}
