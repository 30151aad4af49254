/*
 * race_fixture.c — a deliberately broken program for `make race-selftest`.
 *
 * NOT part of pcq and never linked with it: it exists only to prove that
 * the race-detection targets (Helgrind, DRD, ThreadSanitizer, ASan/UBSan)
 * report a planted bug, built with exactly the targets' options. Every bug
 * sits in this file's own functions, not in libc: Debian's default Valgrind
 * suppressions hide any Helgrind race whose top frame is in libc.
 *
 * Usage: race_fixture MODE
 *   counter          two threads increment a plain shared counter with no
 *                    lock                        (Helgrind, DRD, TSan)
 *   condwait         a condition wait under `if`, not `while`, begun with
 *                    the mutex not held; the flag it waits for is written
 *                    and read without the lock, and signalled without it
 *                                                (Helgrind, DRD, TSan)
 *   heap-overflow    writes one byte past a heap block        (ASan)
 *   use-after-free   reads a heap block after free()          (ASan)
 *   signed-overflow  INT_MAX + 1 in int                       (UBSan)
 *   leak             drops the only pointer to a heap block   (LSan)
 *   fixed            every one of the above with its bug corrected (the
 *                    mutex taken, a `while` wait under the lock, in-bounds
 *                    and timely accesses, a checked sum, the block freed):
 *                    every tool must stay silent on it
 *
 * Threads are ordered with a barrier so both always reach the racy code:
 * the accesses after the barrier are unordered, which Helgrind and DRD
 * report even when they do not overlap in time, and the program is short
 * enough for TSan's history to hold both.
 *
 * Exit status: 0 when the program ran to the end (a tool's own status
 * replaces it when the tool reports), 2 for a bad MODE, 3 when malloc()
 * failed; a pthread call that fails aborts (PCQ_CHECK, as everywhere in pcq).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fatal.h" /* the project's check-or-abort rule, nothing of pcq */

#define ITERS 1000

/* A broken condition wait can miss its only signal: this bounds it so the
 * self-test cannot hang. It is not synchronisation; nothing relies on it. */
#define LOST_WAKEUP_MS 200

/* Read at run time, so the compiler can neither warn about nor fold away
 * the planted memory and arithmetic bugs. */
static volatile size_t block_size = 16;
static volatile int big = INT_MAX;
static volatile int step = 1;
static void *volatile sink;


/* State the two threads share. In the fixed mode `counter` and `ready` are
 * guarded by `lock`; in the broken modes they deliberately are not. It is
 * kept in static storage, not on a stack: DRD ignores races on stack
 * variables unless run with --check-stack-var=yes. */
struct shared {
    bool fixed;
    pthread_barrier_t start;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long counter;
    int ready;
};

static void barrier(pthread_barrier_t *b)
{
    int rc = pthread_barrier_wait(b);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PCQ_CHECK(rc);
}

static void shared_init(struct shared *s, bool fixed)
{
    pthread_condattr_t ca;

    memset(s, 0, sizeof *s);
    s->fixed = fixed;
    PCQ_CHECK(pthread_barrier_init(&s->start, NULL, 2));
    PCQ_CHECK(pthread_mutex_init(&s->lock, NULL));
    PCQ_CHECK(pthread_condattr_init(&ca));
    PCQ_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    PCQ_CHECK(pthread_cond_init(&s->cond, &ca));
    PCQ_CHECK(pthread_condattr_destroy(&ca));
}

static struct shared shared_state;

static void shared_destroy(struct shared *s)
{
    PCQ_CHECK(pthread_cond_destroy(&s->cond));
    PCQ_CHECK(pthread_mutex_destroy(&s->lock));
    PCQ_CHECK(pthread_barrier_destroy(&s->start));
}

/* Run fn_a and fn_b in two threads on s, join both; returns fn_b's result. */
static void *run_pair(struct shared *s, void *(*fn_a)(void *), void *(*fn_b)(void *))
{
    pthread_t a, b;
    void *ra = NULL, *rb = NULL;

    PCQ_CHECK(pthread_create(&a, NULL, fn_a, s));
    PCQ_CHECK(pthread_create(&b, NULL, fn_b, s));
    PCQ_CHECK(pthread_join(a, &ra));
    PCQ_CHECK(pthread_join(b, &rb));
    (void)ra;
    return rb;
}

/* ---- (a) the shared counter ------------------------------------------ */

static void *counter_thread(void *arg)
{
    struct shared *s = arg;

    barrier(&s->start);
    for (int i = 0; i < ITERS; i++) {
        if (s->fixed) {
            PCQ_CHECK(pthread_mutex_lock(&s->lock));
            s->counter++;
            PCQ_CHECK(pthread_mutex_unlock(&s->lock));
        } else {
            s->counter++; /* BUG: read-modify-write with no lock */
        }
    }
    return NULL;
}

static void counter(bool fixed)
{
    struct shared *s = &shared_state;

    shared_init(s, fixed);
    run_pair(s, counter_thread, counter_thread);
    printf("counter: %ld (%d expected)\n", s->counter, 2 * ITERS);
    shared_destroy(s);
}

/* ---- (b) the condition wait ------------------------------------------ */

static void *cond_signaller(void *arg)
{
    struct shared *s = arg;

    barrier(&s->start);
    if (s->fixed) {
        PCQ_CHECK(pthread_mutex_lock(&s->lock));
        s->ready = 1;
        PCQ_CHECK(pthread_cond_signal(&s->cond));
        PCQ_CHECK(pthread_mutex_unlock(&s->lock));
    } else {
        s->ready = 1;                         /* BUG: written without the lock */
        PCQ_CHECK(pthread_cond_signal(&s->cond)); /* BUG: signalled without it */
    }
    return NULL;
}

/* Returns non-NULL when the wait missed its wake-up. */
static void *cond_waiter(void *arg)
{
    struct shared *s = arg;
    bool lost = false;

    barrier(&s->start);
    if (s->fixed) {
        PCQ_CHECK(pthread_mutex_lock(&s->lock));
        while (!s->ready)
            PCQ_CHECK(pthread_cond_wait(&s->cond, &s->lock));
        PCQ_CHECK(pthread_mutex_unlock(&s->lock));
        return NULL;
    }
    /* BUG: the flag is read without the lock, tested once under `if`, and
     * the wait starts with the mutex not held, so a signal sent between the
     * test and the wait is lost. */
    if (!s->ready) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += LOST_WAKEUP_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_nsec -= 1000000000L;
            dl.tv_sec++;
        }
        int rc = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
        if (rc != 0 && rc != ETIMEDOUT)
            PCQ_CHECK(rc);
        lost = rc == ETIMEDOUT;
        /* The wait returns with the mutex locked, held before or not. */
        PCQ_CHECK(pthread_mutex_unlock(&s->lock));
    }
    return lost ? s : NULL;
}

static void condwait(bool fixed)
{
    struct shared *s = &shared_state;

    shared_init(s, fixed);
    bool lost = run_pair(s, cond_signaller, cond_waiter) != NULL;
    printf("condwait: %s\n", lost ? "wake-up lost" : "woken");
    /* The broken wait unlocked a mutex it did not hold, which leaves glibc's
     * count of the mutex's users off by one (destroy would fail with EBUSY)
     * and the tools believing the waiter still waits: leave them be. */
    if (fixed)
        shared_destroy(s);
}

/* ---- (c) memory and arithmetic --------------------------------------- */

static void heap_overflow(bool fixed)
{
    size_t n = block_size;
    char *p = malloc(n);

    if (p == NULL)
        exit(3);
    size_t at = fixed ? n - 1 : n; /* BUG: n is one past the end */
    /* volatile: a store followed only by free() would be optimised away */
    ((volatile char *)p)[at] = 'x';
    printf("heap-overflow: wrote byte %zu of a %zu-byte block\n", at, n);
    free(p);
}

static void use_after_free(bool fixed)
{
    int *p = malloc(block_size * sizeof *p);
    int *volatile stale = p;
    int v;

    if (p == NULL)
        exit(3);
    p[0] = 42;
    if (fixed) {
        v = stale[0];
        free(p);
    } else {
        free(p);
        v = stale[0]; /* BUG: the block is already freed */
    }
    printf("use-after-free: read %d\n", v);
}

static void signed_overflow(bool fixed)
{
    int a = big, b = step, sum;

    if (fixed)
        sum = a > INT_MAX - b ? INT_MAX : a + b; /* saturates */
    else
        sum = a + b; /* BUG: INT_MAX + 1 overflows int */
    printf("signed-overflow: %d\n", sum);
}

static void leak(bool fixed)
{
    sink = malloc(block_size);
    if (sink == NULL)
        exit(3);
    if (fixed)
        free(sink);
    sink = NULL; /* BUG unless freed above: the only pointer is dropped */
    printf("leak: %s\n", fixed ? "freed" : "dropped");
}

/* ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    void (*run)(bool fixed);
} modes[] = {
    {"counter", counter},
    {"condwait", condwait},
    {"heap-overflow", heap_overflow},
    {"use-after-free", use_after_free},
    {"signed-overflow", signed_overflow},
    {"leak", leak},
};
#define NMODES (sizeof modes / sizeof modes[0])

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "fixed") == 0) {
        for (size_t i = 0; i < NMODES; i++)
            modes[i].run(true);
        return 0;
    }
    for (size_t i = 0; argc == 2 && i < NMODES; i++) {
        if (strcmp(argv[1], modes[i].name) == 0) {
            modes[i].run(false);
            return 0;
        }
    }
    fprintf(stderr, "usage: race_fixture fixed");
    for (size_t i = 0; i < NMODES; i++)
        fprintf(stderr, "|%s", modes[i].name);
    fprintf(stderr, "\n");
    return 2;
}
