/*
 * pipeline.c — an embedder's program: a three-stage pipeline over two pcq
 * queues, built against an installed libpcq (`make test-embed`), and run
 * natively, under Helgrind with share/pcq/helgrind-glibc.supp, and under DRD.
 *
 *   generator --q1--> 3 workers (square) --q2--> 2 collectors (sum)
 *
 * Close cascade: the generator closes q1 when it is done; the workers drain
 * q1, and the last worker to finish closes q2; the collectors drain q2.
 *
 *   pipeline blocking [N [CAPACITY]]   pcq_push / pcq_pop
 *   pipeline timed [N [CAPACITY]]      pcq_push_for / pcq_pop_for with short timeouts,
 *                           so that waits time out while others signal
 *   pipeline race [N [CAPACITY]]       as timed, plus a race planted in this program's
 *                           own code (planted_race(): an unlocked counter
 *                           shared by the workers) that a race detector
 *                           must report, suppression file or not
 *
 * N items (default 2000) go through queues of CAPACITY (default 4; the
 * README's capacity figures come from `pipeline blocking 200000 CAPACITY`).
 * Prints one line: the sum, its expected value, how many timed calls timed
 * out, and the time the pipeline took. Exit status 0 when the sum is right, 1 otherwise, 2 for usage.
 */
#include <pcq.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 3
#define COLLECTORS 2
#define TIMEOUT_NS 200000u /* 0.2 ms: short, so that timed waits do time out */

static pcq_t *q1, *q2;
static bool timed, race;
static uint64_t n_items = 2000;
static size_t capacity = 4;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int workers_left = WORKERS;  /* guarded by mu */
static uint64_t total;              /* guarded by mu */
static unsigned long timeouts;      /* guarded by mu */
static unsigned long unguarded;     /* the planted race: no lock at all */

static void die(const char *what, int rc)
{
    fprintf(stderr, "pipeline: %s: %s\n", what, strerror(rc));
    exit(1);
}

/* Push v, retrying timed pushes that time out. False once q is closed. */
static bool put(pcq_t *q, uint64_t v, unsigned long *tmo)
{
    for (;;) {
        int rc = timed ? pcq_push_for(q, &v, TIMEOUT_NS) : pcq_push(q, &v);
        if (rc == 0)
            return true;
        if (rc == EPIPE)
            return false;
        if (rc != ETIMEDOUT)
            die("push", rc);
        ++*tmo;
    }
}

/* Pop into *v, retrying timed pops that time out. False once q is closed
 * and drained. */
static bool get(pcq_t *q, uint64_t *v, unsigned long *tmo)
{
    for (;;) {
        int rc = timed ? pcq_pop_for(q, v, TIMEOUT_NS) : pcq_pop(q, v);
        if (rc == 0)
            return true;
        if (rc == EPIPE)
            return false;
        if (rc != ETIMEDOUT)
            die("pop", rc);
        ++*tmo;
    }
}

static void count_timeouts(unsigned long tmo)
{
    pthread_mutex_lock(&mu);
    timeouts += tmo;
    pthread_mutex_unlock(&mu);
}

/* The bug a race detector must find: every worker increments this counter
 * with no lock. noinline keeps the function's name in the report's stack. */
__attribute__((noinline)) static void planted_race(void)
{
    unguarded++;
}

static void *generator(void *arg)
{
    unsigned long tmo = 0;
    (void)arg;
    for (uint64_t i = 1; i <= n_items; i++)
        if (!put(q1, i, &tmo))
            break;
    pcq_close(q1); /* the cascade starts here */
    count_timeouts(tmo);
    return NULL;
}

static void *worker(void *arg)
{
    unsigned long tmo = 0;
    uint64_t v;
    (void)arg;
    while (get(q1, &v, &tmo)) {
        if (race)
            planted_race();
        if (!put(q2, v * v, &tmo))
            break;
    }
    count_timeouts(tmo);
    pthread_mutex_lock(&mu);
    bool last = --workers_left == 0;
    pthread_mutex_unlock(&mu);
    if (last)
        pcq_close(q2); /* the last worker out closes the next stage's queue */
    return NULL;
}

static void *collector(void *arg)
{
    unsigned long tmo = 0;
    uint64_t v, sum = 0;
    (void)arg;
    while (get(q2, &v, &tmo))
        sum += v;
    pthread_mutex_lock(&mu);
    total += sum;
    timeouts += tmo;
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4)
        goto usage;
    if (strcmp(argv[1], "timed") == 0)
        timed = true;
    else if (strcmp(argv[1], "race") == 0)
        timed = race = true;
    else if (strcmp(argv[1], "blocking") != 0)
        goto usage;
    if (argc >= 3 && (n_items = strtoull(argv[2], NULL, 10)) == 0)
        goto usage;
    if (argc == 4 && (capacity = strtoull(argv[3], NULL, 10)) == 0)
        goto usage;

    int rc;
    if ((rc = pcq_create(&q1, capacity, sizeof(uint64_t))) != 0 ||
        (rc = pcq_create(&q2, capacity, sizeof(uint64_t))) != 0)
        die("pcq_create", rc);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    pthread_t g, w[WORKERS], c[COLLECTORS];
    if ((rc = pthread_create(&g, NULL, generator, NULL)) != 0)
        die("pthread_create", rc);
    for (int i = 0; i < WORKERS; i++)
        if ((rc = pthread_create(&w[i], NULL, worker, NULL)) != 0)
            die("pthread_create", rc);
    for (int i = 0; i < COLLECTORS; i++)
        if ((rc = pthread_create(&c[i], NULL, collector, NULL)) != 0)
            die("pthread_create", rc);
    pthread_join(g, NULL);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < COLLECTORS; i++)
        pthread_join(c[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pcq_destroy(q1);
    pcq_destroy(q2);

    /* sum of i^2 for i = 1..n, mod 2^64 like the collectors' sums */
    uint64_t n = n_items, want = 0;
    for (uint64_t i = 1; i <= n; i++)
        want += i * i;
    printf("pipeline %s: %llu items, capacity %zu, sum %llu (want %llu), "
           "%lu timed calls timed out, %.3f s\n",
           argv[1], (unsigned long long)n, capacity, (unsigned long long)total,
           (unsigned long long)want, timeouts,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return total == want ? 0 : 1;

usage:
    fprintf(stderr, "usage: pipeline blocking|timed|race [N [CAPACITY]]\n");
    return 2;
}
