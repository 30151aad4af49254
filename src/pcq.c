/*
 * pcq.c — the queue.
 *
 * Design
 * ------
 * One mutex guards the whole ring and every counter. Each side of the
 * queue (producers waiting for room, consumers waiting for elements) has
 * its own condition variable, so a wake-up never goes to a thread of the
 * wrong kind, and its own waiter count. Nothing is read outside the mutex:
 * Helgrind, DRD and TSan see a plain mutex-and-condvar queue.
 *
 * Waking (measured on 2 cores, scratch benchmark, 4x4 and 8x8 producers x
 * consumers at capacity 64: context switches per element 0.17 -> 0.04):
 * a side is signalled only when a thread of it sleeps, and only one
 * wake-up per side is in flight at a time (`pending`). The woken thread,
 * once it has moved its elements, passes the baton: if its side can still
 * proceed and more of its side sleep, it signals the next. Waking one
 * thread per element instead sends a crowd of threads after the same lock,
 * and most go straight back to sleep. Close broadcasts to both sides.
 * All signals and broadcasts are sent with the mutex held.
 *
 * Spinning: before sleeping, a call polls the lock with trylock for a short,
 * adaptive time (per side, doubling on success, shrinking on failure), so
 * that a hand-off between running threads costs no futex sleep and wake-up.
 * Polling the lock rather than an atomic copy of the count keeps every read
 * under the mutex. The mutex is glibc's adaptive kind where available: the
 * owner holds it for a few dozen instructions, so a short spin beats
 * sleeping in the kernel. (Scratch benchmark, 1x1 capacity 64: 1.5 M/s
 * without spinning, 12 M/s with it; textbook queue 1.3 M/s.)
 *
 * Index scheme: `head` (next slot to pop, 0..capacity-1) and `count`; the
 * next slot to push is head + count, wrapped by a compare-and-subtract.
 * This keeps `capacity` exact for any value (no rounding to a power of two,
 * so memory is exactly capacity * elem_size for elements) and needs no
 * division on the hot path. A free-running `popped` counter is the only
 * statistic a call writes (pushed = popped + count), so a push or pop
 * writes nothing but the cache line that holds the mutex, head, count and
 * popped, and its slot. Invariant (pcq__valid): count <= cap, head < cap.
 * A batch crosses the end of the ring in at most two memcpy calls.
 *
 * One engine, xfer_locked(), serves every call, parameterised by direction
 * (push/pop), by how much it must move (all of n, or at least one), and by
 * how it may wait (never, until a deadline, or indefinitely). A single-
 * element call that can proceed at once takes a fast path in one() that
 * does what the engine's first pass would.
 *
 * Cancellation: the only cancellation points are the condition waits. Each
 * wait runs under a cleanup handler that drops the waiter count, passes on
 * a wake-up the cancelled thread may have consumed, and unlocks the mutex.
 *
 * Spurious wake-up injection: built with -DPCQ_INJECT_SPURIOUS, one
 * condition wait in four returns at once without sleeping (after letting
 * go of the lock), as POSIX allows. The tests run the whole suite so.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP, where glibc has it */
#include "pcq_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

void pcq__die(const char *what, int rc, const char *file, int line)
{
    fprintf(stderr, "pcq: %s failed: %s (%s:%d)\n", what, strerror(rc), file, line);
    abort();
}

static inline void lock(pcq_t *q) { PCQ_CHECK(pthread_mutex_lock(&q->mu)); }
static inline void unlock(pcq_t *q) { PCQ_CHECK(pthread_mutex_unlock(&q->mu)); }

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

bool pcq__valid(const pcq_t *q)
{
    return q->count <= q->cap && q->head < q->cap && q->high_water >= q->count &&
           q->high_water <= q->cap && q->pending[PCQ_PUSH] <= 1 && q->pending[PCQ_POP] <= 1;
}

/* How a call may wait: never (try), until a deadline, or without bound. */
enum mode { TRY, TIMED, BLOCK };

/* Whether a thread of side `dir` can proceed now (or must fail: closed). */
static inline bool can_go(const pcq_t *q, enum pcq_dir dir)
{
    return q->closed || (dir == PCQ_PUSH ? q->count < q->cap : q->count > 0);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

int pcq_create(pcq_t **out, size_t capacity, size_t elem_size)
{
    if (out == NULL || capacity == 0 || elem_size == 0)
        return EINVAL;
    const size_t hdr = offsetof(pcq_t, slots);
    if (capacity > (SIZE_MAX - hdr - PCQ_CACHE_LINE) / elem_size)
        return EOVERFLOW;
    /* aligned_alloc wants a multiple of the alignment. */
    size_t bytes = hdr + capacity * elem_size;
    bytes = (bytes + PCQ_CACHE_LINE - 1) / PCQ_CACHE_LINE * PCQ_CACHE_LINE;

    pcq_t *q = aligned_alloc(PCQ_CACHE_LINE, bytes);
    if (q == NULL)
        return ENOMEM;
    memset(q, 0, hdr);
    q->cap = capacity;
    q->esz = elem_size;

    /* Every init failure is a resource shortage to the caller: ENOMEM. */
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    if (pthread_mutexattr_init(&ma) != 0)
        goto fail_free;
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    /* Spin briefly before sleeping on a contended lock: held for a few
     * dozen instructions, it is usually free again within that spin. */
    PCQ_CHECK(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP));
#endif
    if (pthread_condattr_init(&ca) != 0)
        goto fail_mattr;
    /* Timed waits measure CLOCK_MONOTONIC: immune to wall-clock jumps. */
    PCQ_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    if (pthread_mutex_init(&q->mu, &ma) != 0)
        goto fail_cattr;
    if (pthread_cond_init(&q->cv[PCQ_PUSH], &ca) != 0)
        goto fail_mutex;
    if (pthread_cond_init(&q->cv[PCQ_POP], &ca) != 0)
        goto fail_push_cv;
    pthread_condattr_destroy(&ca);
    pthread_mutexattr_destroy(&ma);
    assert(pcq__valid(q));
    *out = q;
    return 0;

fail_push_cv:
    pthread_cond_destroy(&q->cv[PCQ_PUSH]);
fail_mutex:
    pthread_mutex_destroy(&q->mu);
fail_cattr:
    pthread_condattr_destroy(&ca);
fail_mattr:
    pthread_mutexattr_destroy(&ma);
fail_free:
    free(q);
    return ENOMEM;
}

void pcq_destroy(pcq_t *q)
{
    if (q == NULL)
        return;
    /* EBUSY here means the caller destroyed a queue still in use. */
    PCQ_CHECK(pthread_cond_destroy(&q->cv[PCQ_POP]));
    PCQ_CHECK(pthread_cond_destroy(&q->cv[PCQ_PUSH]));
    PCQ_CHECK(pthread_mutex_destroy(&q->mu));
    free(q);
}

/* ------------------------------------------------------------------ */
/* The ring (callers hold q->mu)                                      */
/* ------------------------------------------------------------------ */

/* Copy k elements from src into the ring at its tail, head + count: at
 * most two pieces. */
static void ring_put(pcq_t *q, const unsigned char *src, size_t k)
{
    const size_t esz = q->esz;
    size_t tail = q->head + q->count; /* < 2 * cap: no overflow, cap fits memory */
    if (tail >= q->cap)
        tail -= q->cap;
    unsigned char *slot = q->slots + tail * esz;
    if (k == 1 && esz == sizeof(uint64_t)) {
        memcpy(slot, src, sizeof(uint64_t)); /* the common case: one move */
    } else {
        size_t first = min_size(k, q->cap - tail);
        memcpy(slot, src, first * esz);
        memcpy(q->slots, src + first * esz, (k - first) * esz);
    }
    q->count += k;
    if (q->count > q->high_water)
        q->high_water = q->count;
}

/* Copy k elements from the ring at head into dst: at most two pieces. */
static void ring_get(pcq_t *q, unsigned char *dst, size_t k)
{
    const size_t esz = q->esz;
    const unsigned char *slot = q->slots + q->head * esz;
    if (k == 1 && esz == sizeof(uint64_t)) {
        memcpy(dst, slot, sizeof(uint64_t));
    } else {
        size_t first = min_size(k, q->cap - q->head);
        memcpy(dst, slot, first * esz);
        memcpy(dst + first * esz, q->slots, (k - first) * esz);
    }
    q->head += k;
    if (q->head >= q->cap)
        q->head -= q->cap;
    q->count -= k;
    q->popped += k;
}

/* ------------------------------------------------------------------ */
/* Waking, spinning, sleeping (callers hold q->mu)                    */
/* ------------------------------------------------------------------ */

/*
 * Wake one sleeper of side `dir` unless a wake-up is already on its way
 * there: that thread will pass the baton on (after_move) if there is more
 * for its side to do.
 */
static inline void wake_one(pcq_t *q, enum pcq_dir dir)
{
    if (q->pending[dir] == 0 && q->waiters[dir] > 0) {
        q->pending[dir] = 1;
        PCQ_CHECK(pthread_cond_signal(&q->cv[dir]));
    }
}

/* A thread of side `dir` is back from a wait (woken, timed out, spurious,
 * or cancelled): it may be the one a pending signal was meant for. Counting
 * any return as that one errs towards more signals, never fewer. */
static void back_from_wait(pcq_t *q, enum pcq_dir dir)
{
    q->waiters[dir]--;
    q->pending[dir] = 0;
}

/*
 * After a thread of side `dir` moved elements: the other side may now
 * proceed; and when the call is complete, if its own side can still
 * proceed, it passes the baton to a sleeper of its own side.
 */
static inline void after_move(pcq_t *q, enum pcq_dir dir, bool complete)
{
    wake_one(q, (enum pcq_dir)!dir);
    if (complete && can_go(q, dir))
        wake_one(q, dir);
}

struct wait_ctx {
    pcq_t *q;
    enum pcq_dir dir;
    int rc; /* in memory, not a register: survives the cleanup setjmp */
};

/*
 * Cleanup handler for a thread cancelled inside a condition wait. The
 * cancelled thread holds the mutex again (POSIX reacquires it before
 * running handlers). It may have consumed a signal meant for the ring's
 * current state, so if its side could proceed, pass a wake-up on.
 */
static void wait_cancelled(void *arg)
{
    const struct wait_ctx *c = arg;
    back_from_wait(c->q, c->dir);
    if (can_go(c->q, c->dir))
        wake_one(c->q, c->dir);
    unlock(c->q);
}

#ifdef PCQ_INJECT_SPURIOUS
/* Test builds: one wait in four returns at once, as POSIX allows. */
static _Thread_local uint64_t spurious_state;

static bool spurious_now(void)
{
    if (spurious_state == 0)
        spurious_state = (uint64_t)(uintptr_t)&spurious_state | 1;
    spurious_state ^= spurious_state << 13; /* xorshift64 */
    spurious_state ^= spurious_state >> 7;
    spurious_state ^= spurious_state << 17;
    return (spurious_state & 3) == 0;
}
#endif

/*
 * Sleep once on side `dir`'s condition variable, until woken, until
 * `deadline` (NULL: none) or spuriously. Returns 0 or ETIMEDOUT.
 * A cancellation point.
 */
static int sleep_once(pcq_t *q, enum pcq_dir dir, const struct timespec *deadline)
{
    struct wait_ctx ctx = {q, dir, 0};

#ifdef PCQ_INJECT_SPURIOUS
    if (spurious_now()) {
        unlock(q); /* let others run, as a real wake-up would */
        lock(q);
        return 0;
    }
#endif
    q->waiters[dir]++;
    pthread_cleanup_push(wait_cancelled, &ctx);
    if (deadline == NULL)
        ctx.rc = pthread_cond_wait(&q->cv[dir], &q->mu);
    else
        ctx.rc = pthread_cond_timedwait(&q->cv[dir], &q->mu, deadline);
    pthread_cleanup_pop(0);
    back_from_wait(q, dir);
    if (ctx.rc != 0 && !(ctx.rc == ETIMEDOUT && deadline != NULL))
        pcq__die("pthread_cond_wait", ctx.rc, __FILE__, __LINE__);
    return ctx.rc;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    PCQ_CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0 ? 0 : EINVAL);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Spin budget per side, in nanoseconds; pauses between two polls of the
 * lock: 4 at first, doubling up to 128. Each poll takes the lock's cache
 * line from the thread that is about to make room or an element; polling
 * at a steady 4 pauses (100 ns here) slowed that thread down (1x1 to 8x8,
 * capacity 64 and 4096, same run: backing off raised throughput by 20 to
 * 50 %, and ping-pong p50 from 0.3 to 0.5 us, p99 0.5 to 1.1 us). */
enum { SPIN_MIN_NS = 1000, SPIN_MAX_NS = 50000, SPIN_PAUSES = 4, SPIN_PAUSES_MAX = 128 };

static inline unsigned clamp_spin(uint64_t ns)
{
    return ns < SPIN_MIN_NS ? SPIN_MIN_NS : ns > SPIN_MAX_NS ? SPIN_MAX_NS : (unsigned)ns;
}

/*
 * Before sleeping, let go of the lock and poll it for a while: the other
 * side is often running and about to make room or an element. Returns with
 * the lock held, having updated the side's budget: doubled when the wait
 * ended within it, shrunk by a quarter when not, so a spin that does not
 * pay fades to the minimum. (A thread that had to sleep and was woken
 * soon after also raises it: see learn_from_sleep.) Time, not a count of
 * polls, bounds it: a pause lasts 3 ns on one CPU and 40 on another.
 */
static void spin(pcq_t *q, enum pcq_dir dir)
{
    unsigned budget = clamp_spin(q->spin_ns[dir]);
    bool ok = false;
    unlock(q);
    const uint64_t end = mono_ns() + budget;
    int pauses = SPIN_PAUSES;
    do {
        for (int p = 0; p < pauses; p++)
            cpu_relax();
        if (pauses < SPIN_PAUSES_MAX)
            pauses *= 2;
        if (pthread_mutex_trylock(&q->mu) == 0) {
            ok = can_go(q, dir);
            if (!ok)
                unlock(q);
        }
    } while (!ok && mono_ns() < end);
    if (!ok)
        lock(q);
    if (q->learned[dir]) {
        /* The first spin on a budget that learn_from_sleep raised: if the
         * other side did not come within it, spinning does not pay here
         * (the two threads share a CPU, say): back to the minimum, and no
         * learning for 2, 4, ... 1024 sleeps. */
        q->learned[dir] = false;
        if (ok) {
            q->learn_shift[dir] = 0;
        } else {
            if (q->learn_shift[dir] < 10)
                q->learn_shift[dir]++;
            q->learn_ban[dir] = 1u << q->learn_shift[dir];
            q->spin_ns[dir] = SPIN_MIN_NS;
            return;
        }
    }
    q->spin_ns[dir] = ok ? clamp_spin(2 * (uint64_t)budget) : clamp_spin(budget - budget / 4);
}

/*
 * A thread of side `dir` slept `ns` and can now proceed. Had it spun that
 * long (with a margin), it would not have slept: the other side was busy
 * for less than a spin's worth, plus a wake-up. Raise the budget to that,
 * so that two threads handing an element back and forth leave the state
 * where each one's short spin ends before the other's wake-up does, and
 * every hand-off goes through the kernel. (Ping-pong, capacity 64: p50
 * 20 us stuck in that state, 0.4 us out of it; textbook queue 8..49 us.)
 * Long sleeps (a slow producer, many more threads than CPUs) leave it be.
 * A short sleep can also mean the other side ran on this thread's CPU
 * once it slept, where spinning cannot help: spin() then bans learning
 * for a while. (Another process busy on one of 2 CPUs, batch 256: 42 M/s
 * learning without the ban, 170 M/s with no learning at all.)
 */
static void learn_from_sleep(pcq_t *q, enum pcq_dir dir, uint64_t ns)
{
    if (q->learn_ban[dir] > 0) {
        q->learn_ban[dir]--;
        return;
    }
    if (ns < SPIN_MAX_NS && ns + ns / 2 > q->spin_ns[dir]) {
        q->spin_ns[dir] = clamp_spin(ns + ns / 2);
        q->learned[dir] = true;
    }
}

static bool deadline_passed(const struct timespec *deadline)
{
    struct timespec now;
    PCQ_CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0 ? 0 : EINVAL);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* ------------------------------------------------------------------ */
/* The engine                                                         */
/* ------------------------------------------------------------------ */

/*
 * With q->mu held: move up to n elements in direction `dir` between buf
 * and the ring, having already moved `done`. Push moves all n (blocking
 * modes) or what fits (TRY); pop moves at least one and at most n.
 * *moved receives the total moved. Arguments are valid. Unlocks.
 */
static int xfer_locked(pcq_t *q, enum pcq_dir dir, unsigned char *buf, size_t n, size_t done,
                       size_t *moved, enum mode mode, const struct timespec *deadline)
{
    bool spun = false, slept = false;
    uint64_t slept_at = 0; /* when this call first went to sleep */
    int rc = 0;

    for (;;) {
        /* Precedence: a push on a closed queue fails even with room. */
        if (dir == PCQ_PUSH && q->closed) {
            rc = EPIPE;
            break;
        }
        size_t avail = dir == PCQ_PUSH ? q->cap - q->count : q->count;
        if (avail > 0) {
            if (slept_at != 0) {
                learn_from_sleep(q, dir, mono_ns() - slept_at);
                slept_at = 0;
            }
            size_t k = min_size(avail, n - done);
            if (dir == PCQ_PUSH)
                ring_put(q, buf + done * q->esz, k);
            else
                ring_get(q, buf + done * q->esz, k);
            done += k;
            bool complete = dir == PCQ_POP || done == n;
            after_move(q, dir, complete);
            if (complete) {
                rc = 0;
                break;
            }
            continue; /* a push batch with more to go: the ring is now full */
        }
        if (dir == PCQ_POP && q->closed) {
            rc = EPIPE; /* closed and drained */
            break;
        }
        if (mode == TRY) {
            rc = done > 0 ? 0 : EAGAIN;
            break;
        }
        if (mode == TIMED && (slept ? rc == ETIMEDOUT : deadline_passed(deadline))) {
            rc = ETIMEDOUT; /* re-checked the ring after the timeout first */
            break;
        }
        if (!spun) {
            spun = true;
            spin(q, dir);
            continue;
        }
        if (!slept) {
            slept = true;
            slept_at = mono_ns();
            q->waits[dir]++;
        }
        rc = sleep_once(q, dir, mode == TIMED ? deadline : NULL);
    }
    assert(pcq__valid(q));
    unlock(q);
    *moved = done;
    return rc;
}

static bool timespec_ok(const struct timespec *ts)
{
    return ts != NULL && ts->tv_nsec >= 0 && ts->tv_nsec <= 999999999L;
}

/* now + ns on CLOCK_MONOTONIC; cannot overflow a 64-bit time_t. */
static struct timespec deadline_in(uint64_t ns)
{
    struct timespec d;
    PCQ_CHECK(clock_gettime(CLOCK_MONOTONIC, &d) == 0 ? 0 : EINVAL);
    uint64_t sec = ns / 1000000000u;
    long nsec = (long)(ns % 1000000000u) + d.tv_nsec;
    if (nsec >= 1000000000L) {
        nsec -= 1000000000L;
        sec++;
    }
    /* UINT64_MAX ns is ~1.8e10 s: far inside time_t's range when it has 64
     * bits. With a 32-bit time_t, saturate instead of wrapping. */
    if (sizeof(time_t) < sizeof(uint64_t) &&
        sec > (uint64_t)(INT32_MAX - d.tv_sec)) {
        d.tv_sec = INT32_MAX;
        d.tv_nsec = 999999999L;
        return d;
    }
    d.tv_sec += (time_t)sec;
    d.tv_nsec = nsec;
    return d;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

static int one(pcq_t *q, enum pcq_dir dir, const void *elem, enum mode mode,
               const struct timespec *deadline)
{
    if (q == NULL || elem == NULL)
        return EINVAL;
    unsigned char *buf = (unsigned char *)(uintptr_t)elem; /* only read on push */
    lock(q);
    /* Fast path: the ring has room (push) or an element (pop) right now.
     * (Precedence as in xfer_locked: a closed queue takes no push.) */
    if (dir == PCQ_PUSH ? !q->closed && q->count < q->cap : q->count > 0) {
        if (dir == PCQ_PUSH)
            ring_put(q, buf, 1);
        else
            ring_get(q, buf, 1);
        after_move(q, dir, true);
        assert(pcq__valid(q));
        unlock(q);
        return 0;
    }
    size_t moved;
    return xfer_locked(q, dir, buf, 1, 0, &moved, mode, deadline);
}

/* `buf` is only read on the push side; the cast is confined to here. */
static int many(pcq_t *q, enum pcq_dir dir, const void *buf, size_t n, size_t *moved,
                enum mode mode)
{
    if (moved != NULL)
        *moved = 0;
    if (q == NULL || buf == NULL || moved == NULL)
        return EINVAL;
    if (n == 0)
        return 0;
    lock(q);
    return xfer_locked(q, dir, (unsigned char *)(uintptr_t)buf, n, 0, moved, mode, NULL);
}

int pcq_push(pcq_t *q, const void *elem) { return one(q, PCQ_PUSH, elem, BLOCK, NULL); }
int pcq_pop(pcq_t *q, void *out) { return one(q, PCQ_POP, out, BLOCK, NULL); }
int pcq_try_push(pcq_t *q, const void *elem) { return one(q, PCQ_PUSH, elem, TRY, NULL); }
int pcq_try_pop(pcq_t *q, void *out) { return one(q, PCQ_POP, out, TRY, NULL); }

int pcq_push_until(pcq_t *q, const void *elem, const struct timespec *deadline)
{
    if (!timespec_ok(deadline))
        return EINVAL;
    return one(q, PCQ_PUSH, elem, TIMED, deadline);
}

int pcq_pop_until(pcq_t *q, void *out, const struct timespec *deadline)
{
    if (!timespec_ok(deadline))
        return EINVAL;
    return one(q, PCQ_POP, out, TIMED, deadline);
}

int pcq_push_for(pcq_t *q, const void *elem, uint64_t timeout_ns)
{
    if (q == NULL || elem == NULL)
        return EINVAL;
    struct timespec d = deadline_in(timeout_ns);
    return one(q, PCQ_PUSH, elem, TIMED, &d);
}

int pcq_pop_for(pcq_t *q, void *out, uint64_t timeout_ns)
{
    if (q == NULL || out == NULL)
        return EINVAL;
    struct timespec d = deadline_in(timeout_ns);
    return one(q, PCQ_POP, out, TIMED, &d);
}

int pcq_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed)
{
    return many(q, PCQ_PUSH, elems, n, pushed, BLOCK);
}

int pcq_pop_many(pcq_t *q, void *out, size_t max, size_t *popped)
{
    return many(q, PCQ_POP, out, max, popped, BLOCK);
}

int pcq_try_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed)
{
    return many(q, PCQ_PUSH, elems, n, pushed, TRY);
}

int pcq_try_pop_many(pcq_t *q, void *out, size_t max, size_t *popped)
{
    return many(q, PCQ_POP, out, max, popped, TRY);
}

void pcq_close(pcq_t *q)
{
    if (q == NULL)
        return;
    lock(q);
    q->closed = true;
    /* Every waiter must see the close: broadcast, never signal. */
    for (int d = PCQ_PUSH; d <= PCQ_POP; d++) {
        if (q->waiters[d] > 0) {
            q->pending[d] = 1;
            PCQ_CHECK(pthread_cond_broadcast(&q->cv[d]));
        }
    }
    unlock(q);
}

/* The inspection calls lock a const queue: the mutex is the one mutable
 * part of an otherwise read-only view, and every queue is created
 * non-const, so casting the qualifier away is defined. */
static pcq_t *unconst(const pcq_t *q) { return (pcq_t *)(uintptr_t)q; }

bool pcq_is_closed(const pcq_t *q)
{
    if (q == NULL)
        return false;
    pcq_t *m = unconst(q);
    lock(m);
    bool closed = m->closed;
    unlock(m);
    return closed;
}

size_t pcq_size(const pcq_t *q)
{
    if (q == NULL)
        return 0;
    pcq_t *m = unconst(q);
    lock(m);
    size_t n = m->count;
    unlock(m);
    return n;
}

/* Immutable after pcq_create: read without the lock. */
size_t pcq_capacity(const pcq_t *q) { return q == NULL ? 0 : q->cap; }
size_t pcq_elem_size(const pcq_t *q) { return q == NULL ? 0 : q->esz; }

void pcq_stats(const pcq_t *q, pcq_stats_t *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (q == NULL)
        return;
    pcq_t *m = unconst(q);
    lock(m);
    out->pushed = m->popped + m->count; /* every element pushed is out or in */
    out->popped = m->popped;
    out->push_waits = m->waits[PCQ_PUSH];
    out->pop_waits = m->waits[PCQ_POP];
    out->high_water = m->high_water;
    unlock(m);
}

#define PCQ_STR2(x) #x
#define PCQ_STR(x) PCQ_STR2(x)

const char *pcq_version(void)
{
    return PCQ_STR(PCQ_VERSION_MAJOR) "." PCQ_STR(PCQ_VERSION_MINOR) "." PCQ_STR(
        PCQ_VERSION_PATCH);
}
