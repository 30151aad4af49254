/*
 * test_util.c — helpers shared by the Check suites, and the wrapped
 * allocator that lets tests make pcq's allocation fail and count calls.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "test_util.h"
#include "fatal.h"
#include "pcq_shm.h"
#include "shm.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
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
    const char *tool = valgrind_tool();
#if defined(__SANITIZE_THREAD__)
    if (tool == NULL)
        tool = "tsan";
#endif
    printf("SKIP %s under %s: %s\n", test, tool != NULL ? tool : "this build", why);
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
    struct timespec far = deadline_ms(600000);
    const struct timespec *d = c->deadline != NULL ? c->deadline : &far;
    const uint64_t forever = 600ull * 1000000000ull;
    const size_t min = c->min != 0 ? c->min : c->n;
    int rc;
    switch (c->kind) {
    case POP: rc = pcq_pop(c->q, c->buf); break;
    case POP_FOR: rc = pcq_pop_for(c->q, c->buf, forever); break;
    case POP_UNTIL: rc = pcq_pop_until(c->q, c->buf, d); break;
    case POP_MANY: rc = pcq_pop_many(c->q, c->buf, c->n, &c->moved); break;
    case POP_BATCH: rc = pcq_pop_batch(c->q, c->buf, min, c->n, NULL, &c->moved); break;
    case POP_BATCH_UNTIL: rc = pcq_pop_batch(c->q, c->buf, min, c->n, d, &c->moved); break;
    case PUSH: rc = pcq_push(c->q, c->buf); break;
    case PUSH_FOR: rc = pcq_push_for(c->q, c->buf, forever); break;
    case PUSH_UNTIL: rc = pcq_push_until(c->q, c->buf, d); break;
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

/* ---- shared queues ---- */

struct seg seg_new(size_t cap, size_t esz, bool mapped)
{
    struct seg s = {NULL, pcq_shared_size(cap, esz), mapped, NULL};
    ck_assert_uint_gt(s.len, 0);
    s.mem = mapped ? shared_map(s.len) : aligned_alloc(64, s.len); /* the alignment init asks */
    ck_assert_ptr_nonnull(s.mem);
    ck_assert_int_eq(pcq_shared_init(s.mem, s.len, cap, esz, &s.q), 0);
    return s;
}

void seg_free(struct seg *s)
{
    pcq_shared_detach(s->q);
    if (s->mapped)
        munmap(s->mem, s->len);
    else
        free(s->mem);
}

#ifdef PCQ_TEST_HOOKS
static int park_fd = -1, park_side, park_point;

static void park_here(const pcq_t *q, int side, int point)
{
    (void)q;
    if (point != park_point || (point != PCQ_HOOK_BOTH && side != park_side))
        return;
    const char c = 'p';
    if (write(park_fd, &c, 1) != 1)
        _exit(5);
    for (;;)
        pause();
}

void park_arm(int fd, int side, int point)
{
    park_fd = fd;
    park_side = side;
    park_point = point;
    pcq__test_hook = park_here;
}
#endif

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

/* ---- watched calls ---- */

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    ck_assert_int_eq(pthread_condattr_init(&ca), 0);
    ck_assert_int_eq(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    ck_assert_int_eq(pthread_cond_init(cv, &ca), 0);
    pthread_condattr_destroy(&ca);
}

static void *watched_thread(void *arg)
{
    watched_t *w = arg;
    call_thread(&w->c);
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void watch_start(watched_t *w)
{
    ck_assert_int_eq(pthread_mutex_init(&w->mu, NULL), 0);
    cond_init_monotonic(&w->cv);
    w->done = false;
    start(&w->t, watched_thread, w);
}

bool watch_ended(watched_t *w, long ms)
{
    if (!expiry_allowed()) {
        /* Helgrind misreports a timed wait that times out while another
         * thread signals (see expiry_allowed): look, with a bound. */
        const uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
        for (;;) {
            pthread_mutex_lock(&w->mu);
            bool done = w->done;
            pthread_mutex_unlock(&w->mu);
            if (done || now_ns() >= end)
                return done;
            struct timespec nap = {0, 100000}; /* a bounded look, not an ordering */
            nanosleep(&nap, NULL);
        }
    }
    struct timespec until = deadline_ms(ms);
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->done && rc == 0)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
    bool done = w->done;
    pthread_mutex_unlock(&w->mu);
    return done;
}

int watch_join(watched_t *w)
{
    join(w->t);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return w->c.rc;
}

/* ---- exactly-once accounting ---- */

void tally_init(tally_t *t, unsigned nprod, uint32_t per)
{
    memset(t, 0, sizeof *t);
    t->nprod = nprod;
    t->per = per;
    t->seen = calloc((size_t)nprod * per + 1, 1);
    t->last = malloc((nprod + 1) * sizeof *t->last);
    t->stamp = calloc(nprod + 1, sizeof *t->stamp);
    ck_assert(t->seen != NULL && t->last != NULL && t->stamp != NULL);
    for (unsigned p = 0; p < nprod; p++)
        t->last[p] = -1;
}

void tally_free(tally_t *t)
{
    free(t->seen);
    free(t->last);
    free(t->stamp);
    t->seen = NULL;
    t->last = NULL;
    t->stamp = NULL;
}

void tally_fault(tally_t *t, const char *fmt, ...)
{
    if (t->fault[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->fault, sizeof t->fault, fmt, ap);
    va_end(ap);
}

void tally_take(tally_t *t, const uint64_t *e, size_t n, bool piece)
{
    const uint64_t batch = ++t->batches;
    for (size_t i = 0; i < n; i++) {
        unsigned p = TALLY_P(e[i]);
        uint32_t s = TALLY_S(e[i]);
        if (p >= t->nprod || s >= t->per) {
            tally_fault(t, "received an element never pushed: %#" PRIx64, e[i]);
            continue;
        }
        if ((int64_t)s <= t->last[p])
            tally_fault(t, "producer %u: sequence %" PRIu32 " received after %" PRId64
                           " by the same consumer (FIFO broken)", p, s, t->last[p]);
        else if (piece && t->stamp[p] == batch && (int64_t)s != t->last[p] + 1)
            tally_fault(t, "producer %u: sequences %" PRId64 " and %" PRIu32
                           " in one batch of %zu: not one piece of the queue", p, t->last[p],
                        s, n);
        t->last[p] = s;
        t->stamp[p] = batch;
        unsigned char *c = &t->seen[(size_t)p * t->per + s];
        if (*c < 255)
            (*c)++;
        t->elems++;
    }
}

void tally_verdict(const tally_t *t, size_t k, const uint32_t *want, char *msg, size_t len)
{
    msg[0] = '\0';
    for (size_t i = 0; i < k; i++)
        if (t[i].fault[0] != '\0') {
            snprintf(msg, len, "consumer %zu: %s", i, t[i].fault);
            return;
        }
    if (k == 0)
        return;
    for (unsigned p = 0; p < t[0].nprod; p++) {
        for (uint32_t s = 0; s < t[0].per; s++) {
            unsigned n = 0;
            for (size_t i = 0; i < k; i++)
                n += t[i].seen[(size_t)p * t[i].per + s];
            if (n > 1) {
                snprintf(msg, len, "producer %u seq %" PRIu32 " received %u times", p, s, n);
                return;
            }
            if (n == 0 && s < want[p]) {
                snprintf(msg, len, "producer %u seq %" PRIu32 " lost (%" PRIu32 " went in)", p,
                         s, want[p]);
                return;
            }
            if (n == 1 && s >= want[p]) {
                snprintf(msg, len,
                         "producer %u seq %" PRIu32 " received, but only %" PRIu32 " went in", p,
                         s, want[p]);
                return;
            }
        }
    }
}

/* ---- randomness ---- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

uint64_t test_seed(unsigned test, unsigned round, unsigned idx)
{
    const char *env = getenv("PCQ_SEED");
    uint64_t base = env != NULL ? strtoull(env, NULL, 0) : 1;
    uint64_t s = splitmix64(base ^ ((uint64_t)test << 56) ^ ((uint64_t)round << 20) ^ idx);
    return s != 0 ? s : 1;
}

uint64_t test_rnd(test_rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1du;
}

uint64_t test_below(test_rng_t *r, uint64_t n) { return n == 0 ? 0 : test_rnd(r) % n; }

bool expiry_allowed(void)
{
    const char *tool = valgrind_tool();
    return tool == NULL || strcmp(tool, "helgrind") != 0;
}

uint64_t stress_timeout(test_rng_t *rng)
{
    return expiry_allowed() ? test_below(rng, 200000) : 10000000000ull;
}

int push_some_way(pcq_t *q, const uint64_t *batch, size_t k, test_rng_t *rng, size_t *moved)
{
    int rc;
    *moved = 0;
    switch (test_below(rng, 5)) {
    case 0:
        rc = pcq_push(q, batch);
        *moved = rc == 0;
        break;
    case 1:
        while ((rc = pcq_try_push(q, batch)) == EAGAIN)
            sched_yield();
        *moved = rc == 0;
        break;
    case 2:
        while ((rc = pcq_push_for(q, batch, stress_timeout(rng))) == ETIMEDOUT)
            ;
        *moved = rc == 0;
        break;
    case 3:
        rc = pcq_push_many(q, batch, k, moved);
        break;
    default:
        for (rc = EAGAIN; *moved < k && (rc == 0 || rc == EAGAIN);) {
            size_t got = 0;
            rc = pcq_try_push_many(q, batch + *moved, k - *moved, &got);
            *moved += got;
            if (rc == EAGAIN)
                sched_yield();
        }
        break;
    }
    return rc;
}

/* ---- finish ---- */

void finish_init(finish_t *f, unsigned n)
{
    ck_assert_int_eq(pthread_mutex_init(&f->mu, NULL), 0);
    cond_init_monotonic(&f->cv);
    f->left = n;
}

void finish_one(finish_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->left--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static uint64_t moves(const pcq_t *q)
{
    pcq_stats_t s;
    pcq_stats(q, &s);
    return s.pushed + s.popped;
}

/* Wait until f->left is 0, or for stall_ms without any move of q: whether
 * every worker ended. (Without a bound under Helgrind.) */
static bool finish_within(finish_t *f, const pcq_t *q, long stall_ms)
{
    uint64_t seen = moves(q), last_move = now_ns();
    pthread_mutex_lock(&f->mu);
    while (f->left > 0) {
        if (!expiry_allowed()) {
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        struct timespec tick = deadline_ms(100);
        pthread_cond_timedwait(&f->cv, &f->mu, &tick);
        if (f->left == 0)
            break;
        pthread_mutex_unlock(&f->mu);
        uint64_t m = moves(q), t = now_ns();
        pthread_mutex_lock(&f->mu);
        if (m != seen) {
            seen = m;
            last_move = t;
        } else if (t - last_move > (uint64_t)stall_ms * 1000000u) {
            break;
        }
    }
    bool all = f->left == 0;
    pthread_mutex_unlock(&f->mu);
    return all;
}

bool finish_wait(finish_t *f, pcq_t *q, long stall_ms, char *msg, size_t len)
{
    if (finish_within(f, q, stall_ms))
        return true;
    pcq_stats_t s;
    pcq_stats(q, &s);
    pthread_mutex_lock(&f->mu);
    unsigned left = f->left;
    pthread_mutex_unlock(&f->mu);
    pcq_abort(q); /* release whoever sleeps in the queue */
    bool ended = finish_within(f, q, stall_ms);
    snprintf(msg, len,
             "no progress for %ld ms with %u worker(s) still running: a hang (size %zu, "
             "capacity %zu, pushed %" PRIu64 ", popped %" PRIu64 ", push_waits %" PRIu64
             ", pop_waits %" PRIu64 ")%s",
             stall_ms, left, pcq_size(q), pcq_capacity(q), s.pushed, s.popped, s.push_waits,
             s.pop_waits, ended ? "; pcq_abort released them" : "; still blocked after pcq_abort");
    return false;
}

void finish_destroy(finish_t *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}
