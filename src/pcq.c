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
 * Waking: a side is signalled only when a thread of it sleeps, and only one
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
 * sleeping in the kernel.
 *
 * Index scheme: `head` (next slot to pop, 0..capacity-1) and `count`; the
 * next slot to push is head + count, wrapped by a compare-and-subtract.
 * This keeps `capacity` exact for any value (no rounding to a power of two,
 * so memory is exactly capacity * elem_size for elements) and needs no
 * division on the hot path. A free-running `popped` counter is the only
 * statistic a call writes (pushed = popped + count), so a push or pop
 * writes nothing but the cache line that holds the mutex, head, count and
 * popped, and its slot. Invariant (ring_valid): count <= cap, head < cap.
 * A batch crosses the end of the ring in at most two memcpy calls.
 *
 * One engine, transfer(), serves every call: a `struct xfer` says which
 * direction, how much must move (all of n, or at least one), and how the
 * call may wait (never, until a deadline, or indefinitely). A single-
 * element call that can proceed at once takes a fast path in xfer_one()
 * that does what the engine's first step would.
 *
 * Cancellation: the only cancellation points are the condition waits. Each
 * wait runs under a cleanup handler that drops the waiter count, passes on
 * a wake-up the cancelled thread may have consumed, and unlocks the mutex.
 *
 * Spurious wake-up injection: built with -DPCQ_INJECT_SPURIOUS, one
 * condition wait in four returns at once without sleeping (after letting
 * go of the lock), as POSIX allows. The tests run the whole suite so.
 *
 * Measurements behind these choices are in bench/README.md.
 */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP, where glibc has it */
#include "pcq.h"
#include "fatal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64

/* The two sides of a queue, used as indices: producers wait for room on
 * side PUSH, consumers wait for elements on side POP. */
enum dir { PUSH = 0, POP = 1 };

/* One side's waiting and spinning state. Every field is guarded by q->mu. */
struct side {
    unsigned waiters;          /* threads of this side inside a condition wait */
    unsigned spin_ns;          /* adaptive spin budget before sleeping */
    unsigned learn_ban;        /* sleeps to go before learning from one again */
    unsigned char learn_shift; /* log2 of the next ban */
    bool learned;              /* spin_ns was raised by learning, not yet proven */
    bool pending;              /* a signal to this side is on its way */
};

/*
 * One allocation: this header, then the slots. Lock map: `cap` and `esz`
 * are immutable after pcq_create and read without the lock; every other
 * field is guarded by `mu`. Nothing else is read or written outside `mu`.
 *
 * Layout: a push or pop that need not wait writes only line 0 (the mutex,
 * head, count, popped) and its slot, and reads line 1 (immutable sizes and
 * the per-side wait state, written only by calls that wait). The condition
 * variables and the wait statistics live on later lines. Spread over more
 * lines, the fields cost a push or pop under contention a miss on each.
 */
struct pcq {
    /* line 0: the lock and everything a push or pop writes */
    pthread_mutex_t mu;
    size_t head;     /* mu: next slot to pop, 0..cap-1 */
    size_t count;    /* mu: elements in the ring; next push at head + count */
    uint64_t popped; /* mu: elements popped so far (pushed = popped + count) */

    /* line 1: read by every call, written only by calls that wait */
    alignas(CACHE_LINE) size_t cap; /* immutable: capacity in elements */
    size_t esz;                     /* immutable: element size in bytes */
    size_t high_water;              /* mu: largest count seen (rarely written) */
    struct side side[2];            /* mu: each side's wait state */
    bool closed;                    /* mu: pcq_close() was called */

    /* touched only by calls that sleep, and by close */
    alignas(CACHE_LINE) pthread_cond_t cv[2]; /* each side's threads sleep here */
    uint64_t waits[2];                        /* mu: calls of each side that slept */

    /* cap * esz bytes of elements; slot i at slots + i * esz. */
    alignas(CACHE_LINE) unsigned char slots[];
};

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static inline void lock(pcq_t *q) { PCQ_CHECK(pthread_mutex_lock(&q->mu)); }
static inline void unlock(pcq_t *q) { PCQ_CHECK(pthread_mutex_unlock(&q->mu)); }

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

#ifndef NDEBUG
/* Debug invariant of the ring, for assert(); the caller holds q->mu. */
static bool ring_valid(const pcq_t *q)
{
    return q->count <= q->cap && q->head < q->cap && q->high_water >= q->count &&
           q->high_water <= q->cap;
}
#endif

/* Whether a thread of side `d` can proceed now (or must fail: closed). */
static inline bool can_go(const pcq_t *q, enum dir d)
{
    return q->closed || (d == PUSH ? q->count < q->cap : q->count > 0);
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

int pcq_create(pcq_t **out, size_t capacity, size_t elem_size)
{
    if (out == NULL || capacity == 0 || elem_size == 0)
        return EINVAL;
    const size_t hdr = offsetof(pcq_t, slots);
    if (capacity > (SIZE_MAX - hdr - CACHE_LINE) / elem_size)
        return EOVERFLOW;
    /* aligned_alloc wants a multiple of the alignment. */
    size_t bytes = hdr + capacity * elem_size;
    bytes = (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;

    pcq_t *q = aligned_alloc(CACHE_LINE, bytes);
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
    if (pthread_cond_init(&q->cv[PUSH], &ca) != 0)
        goto fail_mutex;
    if (pthread_cond_init(&q->cv[POP], &ca) != 0)
        goto fail_push_cv;
    pthread_condattr_destroy(&ca);
    pthread_mutexattr_destroy(&ma);
    assert(ring_valid(q));
    *out = q;
    return 0;

fail_push_cv:
    pthread_cond_destroy(&q->cv[PUSH]);
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
    PCQ_CHECK(pthread_cond_destroy(&q->cv[POP]));
    PCQ_CHECK(pthread_cond_destroy(&q->cv[PUSH]));
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
 * Wake one sleeper of side `d` unless a wake-up is already on its way
 * there: that thread will pass the baton on (after_move) if there is more
 * for its side to do.
 */
static inline void wake_one(pcq_t *q, enum dir d)
{
    struct side *s = &q->side[d];
    if (!s->pending && s->waiters > 0) {
        s->pending = true;
        PCQ_CHECK(pthread_cond_signal(&q->cv[d]));
    }
}

/* A thread of side `d` is back from a wait (woken, timed out, spurious,
 * or cancelled): it may be the one a pending signal was meant for. Counting
 * any return as that one errs towards more signals, never fewer. */
static void back_from_wait(pcq_t *q, enum dir d)
{
    q->side[d].waiters--;
    q->side[d].pending = false;
}

/*
 * After a thread of side `d` moved elements: the other side may now
 * proceed; and when the call is complete, if its own side can still
 * proceed, it passes the baton to a sleeper of its own side.
 */
static inline void after_move(pcq_t *q, enum dir d, bool complete)
{
    wake_one(q, d == PUSH ? POP : PUSH);
    if (complete && can_go(q, d))
        wake_one(q, d);
}

struct wait_ctx {
    pcq_t *q;
    enum dir d;
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
    back_from_wait(c->q, c->d);
    if (can_go(c->q, c->d))
        wake_one(c->q, c->d);
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
 * Sleep once on side `d`'s condition variable, until woken, until
 * `deadline` (NULL: none) or spuriously. Returns whether the deadline
 * passed (the wait timed out). A cancellation point.
 */
static bool sleep_once(pcq_t *q, enum dir d, const struct timespec *deadline)
{
    struct wait_ctx ctx = {q, d, 0};

#ifdef PCQ_INJECT_SPURIOUS
    if (spurious_now()) {
        unlock(q); /* let others run, as a real wake-up would */
        lock(q);
        return false;
    }
#endif
    q->side[d].waiters++;
    pthread_cleanup_push(wait_cancelled, &ctx);
    if (deadline == NULL)
        ctx.rc = pthread_cond_wait(&q->cv[d], &q->mu);
    else
        ctx.rc = pthread_cond_timedwait(&q->cv[d], &q->mu, deadline);
    pthread_cleanup_pop(0);
    back_from_wait(q, d);
    if (ctx.rc != 0 && !(ctx.rc == ETIMEDOUT && deadline != NULL))
        pcq__die("pthread_cond_wait", ctx.rc, __FILE__, __LINE__);
    return ctx.rc == ETIMEDOUT;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spin budget per side, in nanoseconds; pauses between two polls of the
 * lock: 4 at first, doubling up to 128. Each poll takes the lock's cache
 * line from the thread that is about to make room or an element, so
 * polling at a steady short interval slows that very thread down. */
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
static void spin(pcq_t *q, enum dir d)
{
    struct side *s = &q->side[d];
    unsigned budget = clamp_spin(s->spin_ns);
    bool ok = false;
    unlock(q);
    const uint64_t end = pcq__now_ns() + budget;
    int pauses = SPIN_PAUSES;
    do {
        for (int p = 0; p < pauses; p++)
            cpu_relax();
        if (pauses < SPIN_PAUSES_MAX)
            pauses *= 2;
        if (pthread_mutex_trylock(&q->mu) == 0) {
            ok = can_go(q, d);
            if (!ok)
                unlock(q);
        }
    } while (!ok && pcq__now_ns() < end);
    if (!ok)
        lock(q);
    if (s->learned) {
        /* The first spin on a budget that learn_from_sleep raised: if the
         * other side did not come within it, spinning does not pay here
         * (the two threads share a CPU, say): back to the minimum, and no
         * learning for 2, 4, ... 1024 sleeps. */
        s->learned = false;
        if (ok) {
            s->learn_shift = 0;
        } else {
            if (s->learn_shift < 10)
                s->learn_shift++;
            s->learn_ban = 1u << s->learn_shift;
            s->spin_ns = SPIN_MIN_NS;
            return;
        }
    }
    s->spin_ns = ok ? clamp_spin(2 * (uint64_t)budget) : clamp_spin(budget - budget / 4);
}

/*
 * A thread of side `d` slept `ns` and can now proceed. Had it spun that
 * long (with a margin), it would not have slept: the other side was busy
 * for less than a spin's worth, plus a wake-up. Raise the budget to that,
 * so that two threads handing an element back and forth leave the state
 * where each one's short spin ends before the other's wake-up does, and
 * every hand-off goes through the kernel. Long sleeps (a slow producer,
 * many more threads than CPUs) leave it be. A short sleep can also mean
 * the other side ran on this thread's CPU once it slept, where spinning
 * cannot help: spin() then bans learning for a while.
 */
static void learn_from_sleep(pcq_t *q, enum dir d, uint64_t ns)
{
    struct side *s = &q->side[d];
    if (s->learn_ban > 0) {
        s->learn_ban--;
        return;
    }
    if (ns < SPIN_MAX_NS && ns + ns / 2 > s->spin_ns) {
        s->spin_ns = clamp_spin(ns + ns / 2);
        s->learned = true;
    }
}

/* Whether CLOCK_MONOTONIC has reached `deadline`. */
static bool deadline_passed(const struct timespec *deadline)
{
    uint64_t now = pcq__now_ns();
    time_t sec = (time_t)(now / 1000000000u);
    long nsec = (long)(now % 1000000000u);
    return sec > deadline->tv_sec || (sec == deadline->tv_sec && nsec >= deadline->tv_nsec);
}

/* ------------------------------------------------------------------ */
/* The engine                                                         */
/* ------------------------------------------------------------------ */

/* How a call may wait: never (try), until a deadline, or without bound. */
enum mode { TRY, TIMED, BLOCK };

/* One call in progress. */
struct xfer {
    enum dir d;
    unsigned char *buf; /* n elements: read on push, written on pop */
    size_t n;           /* push: move all n (TRY: what fits); pop: 1..n */
    size_t done;        /* moved so far */
    enum mode mode;
    const struct timespec *deadline; /* TIMED only */
    uint64_t slept_at;  /* when the call first slept, until it next moves */
};

/*
 * Move what can move now. Returns 0 when the call is complete, EPIPE when
 * the queue is closed to it, EAGAIN when it must wait for the other side.
 */
static int move_now(pcq_t *q, struct xfer *x)
{
    /* Precedence: a push on a closed queue fails even with room. */
    if (x->d == PUSH && q->closed)
        return EPIPE;
    size_t avail = x->d == PUSH ? q->cap - q->count : q->count;
    if (avail == 0)
        return x->d == POP && q->closed ? EPIPE : EAGAIN; /* POP: closed and drained */
    if (x->slept_at != 0) {
        learn_from_sleep(q, x->d, pcq__now_ns() - x->slept_at);
        x->slept_at = 0;
    }
    size_t k = min_size(avail, x->n - x->done);
    if (x->d == PUSH)
        ring_put(q, x->buf + x->done * q->esz, k);
    else
        ring_get(q, x->buf + x->done * q->esz, k);
    x->done += k;
    bool complete = x->d == POP || x->done == x->n;
    after_move(q, x->d, complete);
    return complete ? 0 : EAGAIN; /* a push batch with more to go: the ring is full */
}

/*
 * With q->mu held: run the call to its end, moving, spinning once, then
 * sleeping as its mode allows. Returns its status; unlocks.
 */
static int transfer(pcq_t *q, struct xfer *x)
{
    bool spun = false, slept = false, timed_out = false;
    int rc;
    while ((rc = move_now(q, x)) == EAGAIN) {
        if (x->mode == TRY) {
            rc = x->done > 0 ? 0 : EAGAIN;
            break;
        }
        /* The ring was looked at again after the wait timed out, above: a
         * timed call fails only when it still cannot move. */
        if (x->mode == TIMED && (slept ? timed_out : deadline_passed(x->deadline))) {
            rc = ETIMEDOUT;
            break;
        }
        if (!spun) {
            spun = true;
            spin(q, x->d);
            continue;
        }
        if (!slept) {
            slept = true;
            x->slept_at = pcq__now_ns();
            q->waits[x->d]++;
        }
        timed_out = sleep_once(q, x->d, x->mode == TIMED ? x->deadline : NULL);
    }
    assert(ring_valid(q));
    unlock(q);
    return rc;
}

static bool timespec_ok(const struct timespec *ts)
{
    return ts != NULL && ts->tv_nsec >= 0 && ts->tv_nsec <= 999999999L;
}

/* now + ns on CLOCK_MONOTONIC; cannot overflow a 64-bit time_t. */
static struct timespec deadline_in(uint64_t ns)
{
    const uint64_t now = pcq__now_ns();
    uint64_t sec = now / 1000000000u + ns / 1000000000u;
    uint64_t nsec = now % 1000000000u + ns % 1000000000u;
    if (nsec >= 1000000000u) {
        nsec -= 1000000000u;
        sec++;
    }
    struct timespec d;
    /* UINT64_MAX ns is ~1.8e10 s: far inside time_t's range when it has 64
     * bits. With a 32-bit time_t, saturate instead of wrapping. */
    if (sizeof(time_t) < sizeof(uint64_t) && sec > (uint64_t)INT32_MAX) {
        d.tv_sec = INT32_MAX;
        d.tv_nsec = 999999999L;
        return d;
    }
    d.tv_sec = (time_t)sec;
    d.tv_nsec = (long)nsec;
    return d;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/* One element. `elem` is only read on the push side; the cast that drops
 * its const is confined to here and xfer_many. */
static int xfer_one(pcq_t *q, enum dir d, const void *elem, enum mode mode,
                    const struct timespec *deadline)
{
    if (q == NULL || elem == NULL)
        return EINVAL;
    unsigned char *buf = (unsigned char *)(uintptr_t)elem;
    lock(q);
    /* Fast path: the ring has room (push) or an element (pop) right now;
     * what move_now would do, without its bookkeeping. */
    if (d == PUSH ? !q->closed && q->count < q->cap : q->count > 0) {
        if (d == PUSH)
            ring_put(q, buf, 1);
        else
            ring_get(q, buf, 1);
        after_move(q, d, true);
        assert(ring_valid(q));
        unlock(q);
        return 0;
    }
    struct xfer x = {d, buf, 1, 0, mode, deadline, 0};
    return transfer(q, &x);
}

/* A batch: n elements in or up to n out; *moved always set. */
static int xfer_many(pcq_t *q, enum dir d, const void *buf, size_t n, size_t *moved,
                     enum mode mode)
{
    if (moved != NULL)
        *moved = 0;
    if (q == NULL || buf == NULL || moved == NULL)
        return EINVAL;
    if (n == 0)
        return 0;
    struct xfer x = {d, (unsigned char *)(uintptr_t)buf, n, 0, mode, NULL, 0};
    lock(q);
    int rc = transfer(q, &x);
    *moved = x.done;
    return rc;
}

int pcq_push(pcq_t *q, const void *elem) { return xfer_one(q, PUSH, elem, BLOCK, NULL); }
int pcq_pop(pcq_t *q, void *out) { return xfer_one(q, POP, out, BLOCK, NULL); }
int pcq_try_push(pcq_t *q, const void *elem) { return xfer_one(q, PUSH, elem, TRY, NULL); }
int pcq_try_pop(pcq_t *q, void *out) { return xfer_one(q, POP, out, TRY, NULL); }

int pcq_push_until(pcq_t *q, const void *elem, const struct timespec *deadline)
{
    if (!timespec_ok(deadline))
        return EINVAL;
    return xfer_one(q, PUSH, elem, TIMED, deadline);
}

int pcq_pop_until(pcq_t *q, void *out, const struct timespec *deadline)
{
    if (!timespec_ok(deadline))
        return EINVAL;
    return xfer_one(q, POP, out, TIMED, deadline);
}

int pcq_push_for(pcq_t *q, const void *elem, uint64_t timeout_ns)
{
    if (q == NULL || elem == NULL)
        return EINVAL;
    struct timespec d = deadline_in(timeout_ns);
    return xfer_one(q, PUSH, elem, TIMED, &d);
}

int pcq_pop_for(pcq_t *q, void *out, uint64_t timeout_ns)
{
    if (q == NULL || out == NULL)
        return EINVAL;
    struct timespec d = deadline_in(timeout_ns);
    return xfer_one(q, POP, out, TIMED, &d);
}

int pcq_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed)
{
    return xfer_many(q, PUSH, elems, n, pushed, BLOCK);
}

int pcq_pop_many(pcq_t *q, void *out, size_t max, size_t *popped)
{
    return xfer_many(q, POP, out, max, popped, BLOCK);
}

int pcq_try_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed)
{
    return xfer_many(q, PUSH, elems, n, pushed, TRY);
}

int pcq_try_pop_many(pcq_t *q, void *out, size_t max, size_t *popped)
{
    return xfer_many(q, POP, out, max, popped, TRY);
}

void pcq_close(pcq_t *q)
{
    if (q == NULL)
        return;
    lock(q);
    q->closed = true;
    /* Every waiter must see the close: broadcast, never signal. */
    for (int d = PUSH; d <= POP; d++) {
        if (q->side[d].waiters > 0) {
            q->side[d].pending = true;
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
    out->push_waits = m->waits[PUSH];
    out->pop_waits = m->waits[POP];
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
