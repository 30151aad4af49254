/*
 * test_util.c — helpers shared by the Check suites, and the wrapped
 * allocator that lets tests make pcq's allocation fail and count calls.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "test_util.h"
#include "fatal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

long scaled(long n, long min)
{
    const char *s = getenv("PCQ_STRESS");
    long pct = s != NULL ? strtol(s, NULL, 10) : 100;
    if (pct <= 0)
        pct = 100;
    long v = n * pct / 100;
    return v < min ? min : v;
}

const char *valgrind_tool(void)
{
    const char *t = getenv("PCQ_VALGRIND");
    if (t != NULL && *t != '\0')
        return t;
#ifdef HAVE_VALGRIND_H
    if (RUNNING_ON_VALGRIND)
        return "valgrind";
#endif
    return NULL;
}

void skipped(const char *test, const char *why)
{
    printf("SKIP %s under %s: %s\n", test, valgrind_tool(), why);
    fflush(stdout);
}

void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    ck_assert_msg(rc == 0, "pthread_create: %s", strerror(rc));
}

void *join(pthread_t t)
{
    void *ret = NULL;
    int rc = pthread_join(t, &ret);
    ck_assert_msg(rc == 0, "pthread_join: %s", strerror(rc));
    return ret;
}

uint64_t now_ns(void) { return pcq__now_ns(); }

struct timespec deadline_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_nsec -= 1000000000L;
        ts.tv_sec++;
    }
    return ts;
}

void await_push_waits(const pcq_t *q, uint64_t n)
{
    pcq_stats_t s;
    for (pcq_stats(q, &s); s.push_waits < n; pcq_stats(q, &s))
        sched_yield();
}

void await_pop_waits(const pcq_t *q, uint64_t n)
{
    pcq_stats_t s;
    for (pcq_stats(q, &s); s.pop_waits < n; pcq_stats(q, &s))
        sched_yield();
}

void *call_thread(void *arg)
{
    struct call *c = arg;
    struct timespec d = deadline_ms(600000);
    const uint64_t forever = 600ull * 1000000000ull;
    int rc;
    switch (c->kind) {
    case POP: rc = pcq_pop(c->q, c->buf); break;
    case POP_FOR: rc = pcq_pop_for(c->q, c->buf, forever); break;
    case POP_UNTIL: rc = pcq_pop_until(c->q, c->buf, &d); break;
    case POP_MANY: rc = pcq_pop_many(c->q, c->buf, c->n, &c->moved); break;
    case PUSH: rc = pcq_push(c->q, c->buf); break;
    case PUSH_FOR: rc = pcq_push_for(c->q, c->buf, forever); break;
    case PUSH_UNTIL: rc = pcq_push_until(c->q, c->buf, &d); break;
    default: rc = pcq_push_many(c->q, c->buf, c->n, &c->moved); break;
    }
    c->rc = rc;
    return (void *)(intptr_t)rc;
}

/* ---- the wrapped allocator (linked with -Wl,--wrap=aligned_alloc) ---- */

atomic_long test_alloc_calls;
atomic_long test_alloc_live;
atomic_int test_alloc_fail_next;
atomic_size_t test_alloc_last_size;

void *__real_aligned_alloc(size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    atomic_fetch_add(&test_alloc_calls, 1);
    atomic_store(&test_alloc_last_size, size);
    if (atomic_exchange(&test_alloc_fail_next, 0) != 0)
        return NULL;
    return __real_aligned_alloc(align, size);
}

atomic_int test_calloc_fail_next;

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

void *__wrap_calloc(size_t n, size_t size)
{
    if (atomic_exchange(&test_calloc_fail_next, 0) != 0)
        return NULL;
    return __real_calloc(n, size);
}

/* ---- processes ---- */

pid_t fork_child(void)
{
    const pid_t parent = getpid();
    fflush(NULL); /* nothing buffered is written twice */
    const pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    /* The parent may have died before the request: then leave at once. */
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
        _exit(127);
    return pid;
}

int wait_child(pid_t pid)
{
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_msg(got == pid, "waitpid: %s", strerror(errno));
    return status;
}

void *shared_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(p != MAP_FAILED, "mmap: %s", strerror(errno));
    return p;
}

/* ---- gate ---- */

void gate_init(gate_t *g)
{
    ck_assert_int_eq(pthread_mutex_init(&g->mu, NULL), 0);
    ck_assert_int_eq(pthread_cond_init(&g->cv, NULL), 0);
    g->open = false;
}

void gate_wait(gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void gate_open(gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void gate_destroy(gate_t *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}
