/*
 * pcq.c — the queue.
 *
 * Design
 * ------
 * Two locks, one per side, as in Java's LinkedBlockingQueue and the
 * Michael–Scott two-lock queue: producers take the push side's mutex and
 * own the tail; consumers take the pop side's mutex and own the head. A
 * busy producer and a busy consumer then never take the same lock, and a
 * push or pop writes only its own side's cache lines (and its slot). With
 * one lock, every push and pop of a running pair took the lock's line from
 * the other core, which capped the pair at the textbook queue's speed
 * whatever else the queue did.
 *
 * Index scheme: each side counts the elements it has moved in `moved`, a
 * free-running 64-bit counter (pushed, popped), and keeps its slot
 * position `pos` (0..capacity-1) beside it, advanced by a compare-and-
 * subtract: capacity stays exact for any value (no power of two, so the
 * memory is exactly capacity * elem_size for elements) and the hot path
 * divides nothing. Size = pushed - popped. A batch crosses the end of the
 * ring in at most two memcpy calls.
 *
 * Publishing: a side copies its elements under its own lock, then
 * publishes its new count with a store to `moved` (release, and more: see
 * waking). The other side reads it with an acquire load, which makes the
 * slots behind it visible, and keeps what it read in `seen`: a stale copy
 * only understates the room or elements there are, so a side looks at the
 * other's counter again only when its copy says it cannot proceed. Both
 * counters are C11 atomics, annotated for Helgrind and DRD (annotate.h).
 *
 * Waking (an eventcount, Dekker-style): a thread about to sleep announces
 * itself in its side's `waiters` (an atomic, changed under its side's
 * lock), then re-reads the other side's counter, and sleeps on its side's
 * condition variable only if it still cannot proceed. A thread that moved
 * elements publishes its counter, then reads the other side's `waiters`;
 * if any sleep, it takes that side's lock and signals there. The announce
 * and the publish are sequentially consistent atomics, so at least one of
 * the two threads sees the other's write: a sleeper is never missed, and a
 * side with no sleepers costs the other side one load, no lock. Signals are
 * sent with the sleepers' lock held; a side's waker lets go of its own lock
 * first, so no thread ever holds both locks except close and stats, which
 * take the push side's and then the pop side's.
 *
 * Within a side, as before the split: only one wake-up is in flight at a
 * time (`pending`); the woken thread, once it has moved its elements,
 * passes the baton to the next sleeper of its side if its side can still
 * proceed. Waking one thread per element instead sends a crowd after the
 * same lock, and most go straight back to sleep. Close broadcasts.
 *
 * Spinning: before sleeping, a call lets go of its lock and watches the
 * other side's counter for a short, adaptive time (per side, doubling when
 * the counter moved in time, shrinking when not), so that a hand-off
 * between running threads costs no futex sleep and wake-up. Watching the
 * counter reads a line the other side writes anyway; it steals nothing.
 *
 * Cancellation: the only cancellation points are the condition waits. Each
 * wait runs under a cleanup handler that drops the waiter count, passes on
 * a wake-up the cancelled thread may have consumed, and unlocks.
 *
 * Spurious wake-up injection: built with -DPCQ_INJECT_SPURIOUS, one
 * condition wait in four returns at once without sleeping (after letting
 * go of the lock), as POSIX allows. The tests run the whole suite so.
 *
 * Measurements behind these choices are in bench/README.md; the protocol
 * is modelled in tests/model/pcq.pml.
 */
#define _GNU_SOURCE /* sched_getcpu */
#include "pcq.h"
#include "pcq_shm.h"
#include "annotate.h"
#include "fatal.h"
#include "shm.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <signal.h>
#else
#include <fcntl.h>
#endif

#define CACHE_LINE 64

#ifdef PCQ_TEST_HOOKS
void (*pcq__test_hook)(const pcq_t *q, int side, int point);
#define TEST_HOOK(q, d, point)                                                                     \
    do {                                                                                           \
        if (pcq__test_hook != NULL)                                                                \
            pcq__test_hook(q, (int)(d), point);                                                    \
    } while (0)
#else
#define TEST_HOOK(q, d, point) ((void)0)
#endif

/* The hot path of a single-element call, specialised per direction. */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#else
#define ALWAYS_INLINE inline
#define NOINLINE
#endif

/* A new queue spins this long before its first sleep (see spin()). */
#define SPIN_START_NS 1000u

/* The room a waiting producer's spin waits for: a quarter of the capacity
 * (see spin()). */
static inline size_t low_water(size_t capacity) { return capacity >= 4 ? capacity / 4 : 1; }

/* The two sides of a queue, used as indices: producers push and wait for
 * room on side PUSH, consumers pop and wait for elements on side POP. */
enum dir { PUSH = 0, POP = 1 };

static inline enum dir opposite(enum dir d) { return d == PUSH ? POP : PUSH; }

/*
 * Where threads sleep: a condition variable in an in-process queue; in a
 * shared one, a futex on a sequence word that every wake-up advances (a
 * process-shared condition variable cannot survive a waiter's death).
 */
union waitobj {
    pthread_cond_t cv;     /* in-process */
    _Atomic uint32_t seq;  /* shared: atomic, advanced under the mutex it goes with */
};

/*
 * One side of the queue. Lock map: fields marked "mu" are guarded by this
 * side's mu; `closed` is written with both sides' locks held, so either
 * side reads its copy under its own lock; the atomics say who writes them.
 */
struct side {
    /* Line 1: the lock and the cursor, written by every call of the side. */
    pthread_mutex_t mu;
    size_t pos;    /* mu: slot of this side's next element, 0..cap-1 */
    uint64_t seen; /* mu: the other side's `moved`, as last loaded */
    size_t cap;    /* both locks to write, this side's to read: the core's `cap`,
                      on the line each call of the side reads anyway */

    /* Line 2: written by every call of this side; the other side reads
     * `moved` only when its `seen` runs out, and `batch_need` only while
     * batch waiters sleep. */
    alignas(CACHE_LINE) _Atomic uint64_t moved; /* atomic: elements moved so far;
                                                   stored under mu, loaded anywhere */
    uint64_t waits;             /* mu: calls of this side that slept */
    size_t high_water;          /* mu (push side only): largest size seen */
    _Atomic uint64_t batch_need; /* atomic (pop side): the least count a sleeping batch
                                    waiter waits for, UINT64_MAX for none known;
                                    changed under mu */
    _Atomic int cpu;            /* atomic: the CPU of this side's last move, or -1;
                                   stored under mu, loaded anywhere (a hint) */
    unsigned spin_ns;           /* mu: spin budget before sleeping; 0: do not spin */
    unsigned sleeps;            /* mu: sleeps since the last longest spin */
    unsigned yield_ban;         /* mu: waits to go before yielding again */
    unsigned char slow;         /* mu: spins in a row that ended late */
    unsigned char failed;       /* mu: spins in a row that failed at the least budget */
    unsigned char probe;        /* mu: waits since the last spin, while not spinning */
    unsigned char yield_shift;  /* mu: log2 of the next ban on yielding */
    bool closed;                /* both locks to write, this side's to read */
    bool aborted;               /* both locks to write, this side's to read */
    int fd_r, fd_w;             /* mu: this side's pollable descriptor (read and write
                                   ends; one eventfd on Linux), -1 until asked for */

    /* Line 3: read by the other side after each of its moves; written only
     * when a thread of this side goes to sleep or wakes, or its descriptor
     * changes state. */
    alignas(CACHE_LINE) _Atomic unsigned waiters; /* atomic: threads inside (or about
                                                     to enter) a wait; changed under mu */
    _Atomic unsigned batch_waiters; /* atomic (pop side): batch waiters inside (or about
                                       to enter) a wait; changed under mu */
    atomic_bool pending;  /* atomic: a signal to this side is on its way; changed under mu */
    atomic_bool fd_on;    /* atomic: the descriptor exists; set once, under both locks */
    atomic_bool fd_ready; /* atomic: the descriptor polls readable; changed under mu */
    _Atomic uint32_t extras; /* atomic: the queue's batch waiters (as the pop side's
                                batch_waiters counts them, raised first and lowered
                                last) plus descriptors created; the same count on both
                                sides, each read by the other side's moves, on the line
                                they read anyway; changed under a side's mu. While 0, a
                                move skips the batch and descriptor checks. */
    union waitobj w;      /* this side's threads sleep here, on mu */
};

/* A shared queue's memory starts with these, and nothing else matches. */
#define SHM_MAGIC 0x3130514D48535150ull /* "PQSHMQ01" read as little-endian */
#define SHM_VERSION 2u

/*
 * The queue's state: in the handle's allocation (in-process), or at the
 * start of a shared segment. It holds no pointer, so every process may map
 * a segment at its own address. Lock map: `cap` is written with both locks
 * held and read under either, or atomically without; the identity fields
 * are written once, before `magic`, which is stored last.
 */
struct core {
    /* Line 0: identity and what is read without a lock. */
    _Atomic uint64_t magic;       /* shared: SHM_MAGIC once laid out (release) */
    uint32_t version;             /* shared: SHM_VERSION */
    uint32_t shared;              /* immutable: 1 for a shared queue */
    uint64_t ring;                /* shared, immutable: slots laid out */
    uint64_t esz;                 /* shared, immutable: element size */
    uint64_t bytes;               /* shared, immutable: the whole segment */
    uint64_t hdr;                 /* shared, immutable: the header (this structure) */
    _Atomic size_t cap;           /* atomic: capacity; both locks to write */
    _Atomic uint64_t recoveries;  /* atomic: locks found held by a dead process */
    _Atomic uint32_t broken;      /* atomic: found corrupt (shared); set under a lock */
    alignas(CACHE_LINE) struct side side[2];
    /* Batch waiters (pcq_pop_batch with a min above 1) sleep here, on the
     * pop side's mu, apart from plain pops: they wait for different
     * counts, and are woken together when the least of them is reached. */
    alignas(CACHE_LINE) union waitobj batch;
};

/*
 * A process's handle to a queue. In-process: one allocation holds the
 * handle, the core and the first ring, and the ring's geometry changes
 * only in pcq_set_capacity, with both locks held, so a side reads it under
 * its own lock; `ring` is also read without a lock (pcq_size), hence an
 * atomic. Shared: the handle is this process's own, the core and the ring
 * are in the segment, and the geometry is the segment's, copied here once
 * checked, so that nothing in the segment can make this process reach
 * outside it.
 */
struct pcq_queue {
    struct core *c;        /* immutable */
    unsigned char *slots;  /* both locks: the ring; slot i at slots + i * esz */
    _Atomic size_t ring;   /* atomic: slots in the ring, >= cap and >= the size;
                              both locks to write */
    size_t esz;            /* immutable: element size in bytes */
    unsigned char *grown;  /* both locks: the ring when pcq_set_capacity grew it
                              past the first one (then slots == grown), else NULL */
    void *map;             /* immutable: a mapping this handle owns (pcq_shm_*) */
    size_t map_len;        /* immutable: its length */
    bool shared;           /* immutable: the queue is a shared one */
    bool tools;            /* immutable: under a thread checker, annotate for it */
};

/* A plain wait's sleepers in a shared queue, per side: the process of each
 * (its pid; 0: a free slot). A thread killed in its sleep stays counted in
 * `waiters`, and every move of the other side would then pay a futex wake
 * for it for good; its slot lets a waker find it dead and take it out
 * (reap_dead_sleepers). More sleepers than slots still sleep, unlisted. */
#define SLEEPER_SLOTS 16

/* How many wake-ups in a row that woke nobody, while `waiters` said
 * someone sleeps, before a waker looks for dead sleepers: a live sleeper
 * between its announcement and its futex call makes the odd one. */
#define REAP_AFTER 64

/* A shared segment: the core, then what only a shared queue needs, then
 * the ring. */
struct shared_seg {
    struct core c;
    alignas(CACHE_LINE) int32_t sleepers[2][SLEEPER_SLOTS]; /* side's mu */
    uint32_t idle_wakes[2]; /* side's mu: wake-ups in a row that woke nobody */
};

/* An in-process queue's one allocation: the handle, the core, the ring. */
struct inproc {
    struct pcq_queue h;
    alignas(CACHE_LINE) struct core c;
    alignas(CACHE_LINE) unsigned char first[];
};

/* A shared queue's segment, from its handle (the core is its start). */
static inline struct shared_seg *seg_of(const pcq_t *q)
{
    return (struct shared_seg *)(void *)q->c;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static bool lock_shared(pcq_t *q, struct side *s, int rc);

/*
 * Lock side s of q. Returns true with the lock held. In an in-process
 * queue, always: a failing lock there is a broken program (abort). In a
 * shared one, a lock found held by a dead process comes back repaired, and
 * the side is checked; false (the lock not held) when the memory is found
 * corrupt, or the queue was found so before: the caller returns
 * ENOTRECOVERABLE.
 */
static inline bool lock(pcq_t *q, struct side *s)
{
    int rc = pthread_mutex_lock(&s->mu);
    if (q->shared)
        return lock_shared(q, s, rc);
    if (rc != 0)
        pcq__die("pthread_mutex_lock", rc, __FILE__, __LINE__);
    return true;
}

static inline void unlock(struct side *s) { PCQ_CHECK(pthread_mutex_unlock(&s->mu)); }

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The CPU this thread runs on, or -1 where that is unknown. */
static inline int this_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

/* This side's own count; only this side writes it, under its lock. */
static inline uint64_t mine(const struct side *s)
{
    return atomic_load_explicit(&s->moved, memory_order_relaxed);
}

/* The capacity, as side d reads it under its lock. */
static inline size_t capacity_of(const pcq_t *q, enum dir d)
{
    return q->c->side[d].cap;
}

/* Set the capacity (both locks held, or the queue being made). */
static void set_cap(pcq_t *q, size_t cap)
{
    atomic_store_explicit(&q->c->cap, cap, memory_order_relaxed);
    q->c->side[PUSH].cap = q->c->side[POP].cap = cap;
}

/* What side d may move, by its counter and its copy of the other's: room
 * (push) or elements (pop). A stale copy understates it, never more. Room
 * is 0 while the size is at or above the capacity (which a shrink can make
 * the case). */
static inline uint64_t room_by(const pcq_t *q, enum dir d, uint64_t own, uint64_t other)
{
    if (d == POP)
        return other - own;
    const uint64_t size = own - other, cap = capacity_of(q, PUSH);
    return size < cap ? cap - size : 0;
}

/* Read the other side's counter afresh (with mu of side d held) and say
 * what side d may move now. Sequentially consistent: after a thread has
 * announced itself in `waiters`, this is the Dekker re-check. */
static bool counts_sane(const pcq_t *q, uint64_t pushed, uint64_t popped);
static void mark_broken(pcq_t *q);

static uint64_t look(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    struct side *o = &q->c->side[opposite(d)];
    const uint64_t other = atomic_load_explicit(&o->moved, memory_order_seq_cst);
    if (q->shared && !counts_sane(q, d == PUSH ? mine(s) : other, d == PUSH ? other : mine(s))) {
        mark_broken(q); /* the caller's next lock fails; until then, nothing to move */
        return 0;
    }
    s->seen = other;
    if (q->tools)
        pcq__observe(&o->moved); /* the slots published with it are ours to touch */
    return room_by(q, d, mine(s), s->seen);
}

/* What side d may move now (mu held): its copy first, then a fresh look. */
static inline uint64_t available(pcq_t *q, enum dir d)
{
    const struct side *s = &q->c->side[d];
    uint64_t n = room_by(q, d, mine(s), s->seen);
    return n > 0 ? n : look(q, d);
}

/* ------------------------------------------------------------------ */
/* A shared queue: checks, repair, waits                              */
/* ------------------------------------------------------------------ */

/* Whether side d's own state is in range: its position inside the ring,
 * its copy of the other side's count within a ring of its own, the
 * capacity within the ring. What a shared queue checks under each lock. */
static bool side_sane(const pcq_t *q, enum dir d)
{
    const struct side *s = &q->c->side[d];
    const size_t ring = atomic_load_explicit(&q->ring, memory_order_relaxed);
    const size_t cap = capacity_of(q, d);
    const uint64_t own = mine(s);
    const uint64_t gap = d == PUSH ? own - s->seen : s->seen - own;
    return s->pos < ring && gap <= ring && cap >= 1 && cap <= ring;
}

/* Whether the two counts agree with a ring of q's size: no more popped
 * than pushed, no more between them than the ring holds. */
static bool counts_sane(const pcq_t *q, uint64_t pushed, uint64_t popped)
{
    return pushed - popped <= atomic_load_explicit(&q->ring, memory_order_relaxed);
}

/*
 * Every sleeper of every side, woken (no lock needed: a shared queue's
 * waiters look again at least every PCQ_SHARED_NAP_MS anyway, and once
 * `broken` is set every lock fails).
 */
static void wake_all_shared(pcq_t *q);

/* The memory of a shared queue was found corrupt: say so to every call,
 * from now on, in every process. */
static void mark_broken(pcq_t *q)
{
    atomic_store_explicit(&q->c->broken, 1, memory_order_seq_cst);
    wake_all_shared(q);
}

/*
 * Side s's lock was held by a process that died (its owner's robust list
 * told the kernel): the side may be half-way through a call. Everything
 * that call did is undone or kept as its commit point says: the count
 * (`moved`) is stored only after the copy, so the position is recomputed
 * from the count (a shared ring never regrows: position = count modulo the
 * ring), the copy of the other side's count is reloaded, and a close that
 * had set one side's flags has them set on this side too. The rest is
 * this side's tuning, put back to where a new queue starts.
 */
static void repair_side(pcq_t *q, struct side *s)
{
    const enum dir d = s == &q->c->side[POP] ? POP : PUSH; /* not from the segment */
    struct side *o = &q->c->side[opposite(d)];
    const size_t ring = atomic_load_explicit(&q->ring, memory_order_relaxed);
    s->pos = (size_t)(mine(s) % ring);
    s->seen = atomic_load_explicit(&o->moved, memory_order_seq_cst);
    /* Written with both locks held, so the dead process may have set the
     * other side's only; read it without that lock, as flags that only
     * ever go from false to true. */
    if (__atomic_load_n(&o->closed, __ATOMIC_ACQUIRE))
        s->closed = true;
    if (__atomic_load_n(&o->aborted, __ATOMIC_ACQUIRE))
        s->aborted = true;
    if (s->high_water > ring)
        s->high_water = ring;
    /* A push that died between its commit and raise_high_water() left the
     * size above the mark, which side_valid() forbids. */
    if (d == PUSH && mine(s) - s->seen <= ring && mine(s) - s->seen > s->high_water)
        s->high_water = (size_t)(mine(s) - s->seen);
    s->spin_ns = SPIN_START_NS;
    s->sleeps = s->yield_ban = 0;
    s->slow = s->failed = s->probe = s->yield_shift = 0;
    /* The dead process may have been the one a wake-up was sent to: the
     * next mover sends another. */
    atomic_store_explicit(&s->pending, false, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->c->recoveries, 1, memory_order_relaxed);
}

/* lock() of a shared queue: `rc` is what pthread_mutex_lock returned. */
static bool lock_shared(pcq_t *q, struct side *s, int rc)
{
    if (rc == EOWNERDEAD) {
        repair_side(q, s);
        PCQ_CHECK(pthread_mutex_consistent(&s->mu));
    } else if (rc != 0) {
        /* ENOTRECOVERABLE (never made so by pcq: it always repairs) or a
         * mutex that is no mutex any more: the memory is corrupt. */
        mark_broken(q);
        return false;
    }
    const enum dir d = s == &q->c->side[POP] ? POP : PUSH; /* not from the segment */
    if (atomic_load_explicit(&q->c->broken, memory_order_relaxed) != 0 || !side_sane(q, d))
        goto broken;
    return true;
broken:
    mark_broken(q);
    unlock(s);
    return false;
}

#ifdef __linux__
static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)(uintptr_t)word, op, val, ts, NULL,
                   op == FUTEX_WAIT_BITSET ? FUTEX_BITSET_MATCH_ANY : 0);
}
#endif

/* Advance the sequence word and wake up to `n` of its sleepers; returns
 * how many the kernel woke. */
static int seq_wake(union waitobj *w, int n)
{
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_seq_cst);
#ifdef __linux__
    long woke = futex(&w->seq, FUTEX_WAKE, (uint32_t)n, NULL);
    return woke > 0 ? (int)woke : 0;
#else
    (void)n;
    return 0;
#endif
}

static void wake_all_shared(pcq_t *q)
{
    seq_wake(&q->c->side[PUSH].w, INT_MAX);
    seq_wake(&q->c->side[POP].w, INT_MAX);
    seq_wake(&q->c->batch, INT_MAX);
}

/* Wake one sleeper on w (side mu held). Returns whether one is now on its
 * way: always, for a condition variable with a waiter; for a sequence
 * word, when the kernel woke one (a thread between its announcement and
 * its futex call sees the word moved and does not sleep; a dead one is
 * not woken, and must not leave `pending` set). */
static bool wo_signal(const pcq_t *q, union waitobj *w)
{
    if (!q->shared) {
        PCQ_CHECK(pthread_cond_signal(&w->cv));
        return true;
    }
    return seq_wake(w, 1) > 0;
}

static bool wo_broadcast(const pcq_t *q, union waitobj *w)
{
    if (!q->shared) {
        PCQ_CHECK(pthread_cond_broadcast(&w->cv));
        return true;
    }
    return seq_wake(w, INT_MAX) > 0;
}

static bool deadline_passed(const struct timespec *deadline);

#ifdef __linux__
/* Not instrumented by ASan (see futex_nap). */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize_address)
#define NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef NO_ASAN
#define NO_ASAN
#endif

/*
 * Sleep on a sequence word while it still reads `seen`, until woken, for
 * PCQ_SHARED_NAP_MS at most, or until `deadline` (NULL: none), whichever
 * comes first; asynchronously cancellable inside the system call only.
 * Every address-taken local of the wait lives here, in a frame ASan does
 * not instrument: a cancellation unwinds from the signal handler past this
 * frame with a jump ASan does not see, so redzones here would stay
 * poisoned under the caller's next frames, and ASan would misreport them
 * and abort (google/sanitizers#1010).
 */
static NO_ASAN void futex_nap(_Atomic uint32_t *word, uint32_t seen,
                              const struct timespec *deadline)
{
    struct timespec until = {0, 0};
    const uint64_t nap = (uint64_t)PCQ_SHARED_NAP_MS * 1000000u, now = pcq__now_ns();
    until.tv_sec = (time_t)((now + nap) / 1000000000u);
    until.tv_nsec = (long)((now + nap) % 1000000000u);
    if (deadline != NULL && (deadline->tv_sec < until.tv_sec ||
                             (deadline->tv_sec == until.tv_sec && deadline->tv_nsec < until.tv_nsec)))
        until = *deadline;
    int old;
    PCQ_CHECK(pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old));
    futex(word, FUTEX_WAIT_BITSET, seen, &until);
    PCQ_CHECK(pthread_setcanceltype(old, NULL));
}
#endif

/* How a wait ended: woken (or spuriously), timed out, or the lock was not
 * got back (a shared queue found corrupt: the caller holds no lock); or
 * no wait at all: the look after announcing found the call could go. */
enum woke { WOKE, TIMED_OUT, LOST, NO_WAIT };

struct wait_ctx {
    pcq_t *q;
    enum dir d;
    bool batch;    /* a batch waiter (on the batch wait object) */
    bool unlocked; /* inside a shared wait, with the lock let go */
    int rc;        /* in memory, not a register: survives the cleanup setjmp */
    int slot;      /* shared plain wait: its sleeper slot, or -1 */
};

/*
 * Sleep on w, letting go of side s's mu, until woken, `deadline` (NULL:
 * none), or spuriously; back with the mu held (unless LOST). A
 * cancellation point. In-process: a condition wait. Shared: a futex wait
 * on the sequence word, read under the mu, so that a wake-up sent after
 * the caller's last look (which advances the word under the same mu)
 * makes the futex call return at once; bounded by PCQ_SHARED_NAP_MS, so
 * that a waiter looks again after what a dead process left behind (its
 * announcement, a wake-up sent to it). Asynchronously cancellable inside
 * the system call only, as glibc's own cancellable calls are; `unlocked`
 * tells the cleanup handler to take the lock back first.
 */
static enum woke wo_wait(pcq_t *q, union waitobj *w, struct side *s,
                         const struct timespec *deadline, struct wait_ctx *ctx)
{
    if (!q->shared) {
        if (deadline == NULL)
            ctx->rc = pthread_cond_wait(&w->cv, &s->mu);
        else
            ctx->rc = pthread_cond_timedwait(&w->cv, &s->mu, deadline);
        if (ctx->rc != 0 && !(ctx->rc == ETIMEDOUT && deadline != NULL))
            pcq__die("pthread_cond_wait", ctx->rc, __FILE__, __LINE__);
        return ctx->rc == ETIMEDOUT ? TIMED_OUT : WOKE;
    }
#ifdef __linux__
    const uint32_t seen = atomic_load_explicit(&w->seq, memory_order_seq_cst);
    ctx->unlocked = true;
    unlock(s);
    futex_nap(&w->seq, seen, deadline);
    const bool held = lock(q, s);
    ctx->unlocked = false;
    if (!held)
        return LOST;
#else
    (void)w;
    (void)ctx;
#endif
    return deadline != NULL && deadline_passed(deadline) ? TIMED_OUT : WOKE;
}



#ifndef NDEBUG
/* Debug invariant of side d, for assert(); its mu is held. */
static bool side_valid(const pcq_t *q, enum dir d)
{
    const struct side *s = &q->c->side[d];
    const uint64_t own = mine(s), ring = atomic_load_explicit(&q->ring, memory_order_relaxed);
    bool counts = d == PUSH ? own >= s->seen && own - s->seen <= ring : s->seen >= own;
    return counts && s->pos < ring &&
           (d == POP || (s->high_water <= ring && own - s->seen <= s->high_water));
}
#endif

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

/* Declare a queue's atomics to the thread checkers (on), or forget them
 * before their memory goes (off). Per process: each process that maps a
 * shared queue declares them at its own address. */
static void atomics_for_tools(pcq_t *q, bool on)
{
    struct core *c = q->c;
    for (int d = PUSH; d <= POP; d++) {
        struct side *s = &c->side[d];
        pcq__atomic_for_tools(&s->moved, sizeof s->moved, on);
        pcq__atomic_for_tools(&s->waiters, sizeof s->waiters, on);
        pcq__atomic_for_tools(&s->batch_waiters, sizeof s->batch_waiters, on);
        pcq__atomic_for_tools(&s->batch_need, sizeof s->batch_need, on);
        pcq__atomic_for_tools(&s->cpu, sizeof s->cpu, on);
        pcq__atomic_for_tools(&s->pending, sizeof s->pending, on);
        pcq__atomic_for_tools(&s->fd_on, sizeof s->fd_on, on);
        pcq__atomic_for_tools(&s->fd_ready, sizeof s->fd_ready, on);
        pcq__atomic_for_tools(&s->extras, sizeof s->extras, on);
        if (q->shared)
            pcq__atomic_for_tools(&s->w.seq, sizeof s->w.seq, on);
    }
    pcq__atomic_for_tools(&c->cap, sizeof c->cap, on);
    pcq__atomic_for_tools(&q->ring, sizeof q->ring, on);
    if (q->shared) {
        pcq__atomic_for_tools(&c->magic, sizeof c->magic, on);
        pcq__atomic_for_tools(&c->recoveries, sizeof c->recoveries, on);
        pcq__atomic_for_tools(&c->broken, sizeof c->broken, on);
        pcq__atomic_for_tools(&c->batch.seq, sizeof c->batch.seq, on);
    }
}

static int side_init(pcq_t *q, enum dir d, const pthread_mutexattr_t *ma,
                     const pthread_condattr_t *ca)
{
    struct side *s = &q->c->side[d];
    if (pthread_mutex_init(&s->mu, ma) != 0)
        return ENOMEM;
    if (q->shared) {
        atomic_init(&s->w.seq, 0);
    } else if (pthread_cond_init(&s->w.cv, ca) != 0) {
        PCQ_CHECK(pthread_mutex_destroy(&s->mu));
        return ENOMEM;
    }
    atomic_init(&s->moved, 0);
    atomic_init(&s->waiters, 0);
    atomic_init(&s->batch_waiters, 0);
    atomic_init(&s->batch_need, UINT64_MAX);
    atomic_init(&s->cpu, -1);
    atomic_init(&s->pending, false);
    atomic_init(&s->fd_on, false);
    atomic_init(&s->fd_ready, false);
    atomic_init(&s->extras, 0);
    s->fd_r = s->fd_w = -1;
    s->spin_ns = SPIN_START_NS;
    return 0;
}

static void side_destroy(pcq_t *q, struct side *s)
{
    /* EBUSY here means the caller destroyed a queue still in use. */
    if (!q->shared)
        PCQ_CHECK(pthread_cond_destroy(&s->w.cv));
    PCQ_CHECK(pthread_mutex_destroy(&s->mu));
    if (s->fd_r >= 0)
        close(s->fd_r);
    if (s->fd_w >= 0 && s->fd_w != s->fd_r)
        close(s->fd_w);
}

/*
 * Lay out q's core (zeroed memory) for `capacity` elements: in-process,
 * plain mutexes and condition variables on CLOCK_MONOTONIC (timed waits
 * immune to wall-clock jumps); shared, robust process-shared mutexes and
 * sequence words. Every init failure is a resource shortage to the
 * caller: ENOMEM (ENOTSUP where robust shared mutexes are missing).
 */
static int core_init(pcq_t *q, size_t capacity)
{
    struct core *c = q->c;
    c->shared = q->shared;
    c->ring = capacity;
    c->esz = q->esz;
    atomic_init(&c->cap, capacity);
    c->side[PUSH].cap = c->side[POP].cap = capacity;
    atomic_init(&c->recoveries, 0);
    atomic_init(&c->broken, 0);

    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    int rc = ENOMEM;
    if (pthread_mutexattr_init(&ma) != 0)
        return ENOMEM;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_mattr;
    PCQ_CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
    if (q->shared && (pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
                      pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0)) {
        rc = ENOTSUP;
        goto fail_cattr;
    }
    if ((rc = side_init(q, PUSH, &ma, &ca)) != 0)
        goto fail_cattr;
    if ((rc = side_init(q, POP, &ma, &ca)) != 0) {
        side_destroy(q, &c->side[PUSH]);
        goto fail_cattr;
    }
    if (q->shared) {
        atomic_init(&c->batch.seq, 0);
    } else if (pthread_cond_init(&c->batch.cv, &ca) != 0) {
        side_destroy(q, &c->side[POP]);
        side_destroy(q, &c->side[PUSH]);
        rc = ENOMEM;
        goto fail_cattr;
    }
    rc = 0;
fail_cattr:
    pthread_condattr_destroy(&ca);
fail_mattr:
    pthread_mutexattr_destroy(&ma);
    return rc;
}

int pcq_create(pcq_t **out, size_t capacity, size_t elem_size)
{
    if (out == NULL || capacity == 0 || elem_size == 0)
        return EINVAL;
    const size_t hdr = offsetof(struct inproc, first);
    if (capacity > (SIZE_MAX - hdr - CACHE_LINE) / elem_size)
        return EOVERFLOW;
    /* aligned_alloc wants a multiple of the alignment. */
    size_t bytes = hdr + capacity * elem_size;
    bytes = (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;

    struct inproc *ip = aligned_alloc(CACHE_LINE, bytes);
    if (ip == NULL)
        return ENOMEM;
    memset(ip, 0, hdr);
    pcq_t *q = &ip->h; /* at the start of the allocation: free(q) frees it */
    q->c = &ip->c;
    q->slots = ip->first;
    q->esz = elem_size;
    atomic_init(&q->ring, capacity);
    q->tools = pcq__under_tools();
    int rc = core_init(q, capacity);
    if (rc != 0) {
        free(ip);
        return rc;
    }
    atomics_for_tools(q, true);
    *out = q;
    return 0;
}

void pcq_destroy(pcq_t *q)
{
    if (q == NULL)
        return;
    if (q->shared) {
        pcq_shared_detach(q);
        return;
    }
    PCQ_CHECK(pthread_cond_destroy(&q->c->batch.cv));
    side_destroy(q, &q->c->side[POP]);
    side_destroy(q, &q->c->side[PUSH]);
    atomics_for_tools(q, false);
    free(q->grown);
    free(q);
}

/* ---- shared queues ---- */

/* A shared queue's header: the core, to a whole number of cache lines;
 * the ring follows it. */
#define SHM_HDR ((sizeof(struct shared_seg) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE)

size_t pcq_shared_size(size_t capacity, size_t elem_size)
{
    if (capacity == 0 || elem_size == 0 || capacity > (SIZE_MAX - SHM_HDR - CACHE_LINE) / elem_size)
        return 0;
    return (SHM_HDR + capacity * elem_size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

/* This process's handle to the shared queue at mem, whose geometry was
 * checked (attach) or is being laid out (init). */
static pcq_t *shared_handle(void *mem, size_t ring, size_t esz)
{
    pcq_t *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->c = mem;
    q->slots = (unsigned char *)mem + SHM_HDR;
    q->esz = esz;
    atomic_init(&q->ring, ring);
    q->shared = true;
    q->tools = pcq__under_tools();
    return q;
}

int pcq_shared_init(void *mem, size_t len, size_t capacity, size_t elem_size, pcq_t **out)
{
#ifndef __linux__
    (void)mem, (void)len, (void)capacity, (void)elem_size, (void)out;
    return ENOTSUP;
#else
    if (mem == NULL || out == NULL || capacity == 0 || elem_size == 0 ||
        (uintptr_t)mem % CACHE_LINE != 0)
        return EINVAL;
    const size_t bytes = pcq_shared_size(capacity, elem_size);
    if (bytes == 0)
        return EOVERFLOW;
    if (len < bytes)
        return EINVAL;
    pcq_t *q = shared_handle(mem, capacity, elem_size);
    if (q == NULL)
        return ENOMEM;
    struct core *c = mem;
    memset(c, 0, SHM_HDR);
    c->version = SHM_VERSION;
    c->hdr = SHM_HDR;
    c->bytes = bytes;
    int rc = core_init(q, capacity);
    if (rc != 0) {
        free(q);
        return rc;
    }
    atomics_for_tools(q, true);
    /* Last: an attacher that sees the magic sees the rest laid out. */
    atomic_store_explicit(&c->magic, SHM_MAGIC, memory_order_release);
    *out = q;
    return 0;
#endif
}

int pcq_shared_attach(void *mem, size_t len, pcq_t **out)
{
#ifndef __linux__
    (void)mem, (void)len, (void)out;
    return ENOTSUP;
#else
    if (mem == NULL || out == NULL || (uintptr_t)mem % CACHE_LINE != 0 || len < SHM_HDR)
        return EINVAL;
    const struct core *c = mem;
    if (atomic_load_explicit(&c->magic, memory_order_acquire) != SHM_MAGIC ||
        c->version != SHM_VERSION || c->shared != 1 || c->hdr != SHM_HDR)
        return EPROTO;
    const uint64_t ring = c->ring, esz = c->esz, bytes = c->bytes;
    const size_t cap = atomic_load_explicit(&c->cap, memory_order_relaxed);
    if (ring == 0 || esz == 0 || ring > SIZE_MAX || esz > SIZE_MAX ||
        pcq_shared_size((size_t)ring, (size_t)esz) != bytes || cap == 0 || cap > ring)
        return EPROTO;
    if (len < bytes)
        return EINVAL;
    pcq_t *q = shared_handle(mem, (size_t)ring, (size_t)esz);
    if (q == NULL)
        return ENOMEM;
    atomics_for_tools(q, true);
    *out = q;
    return 0;
#endif
}

void pcq_shared_detach(pcq_t *q)
{
    if (q == NULL || !q->shared)
        return;
    if (q->map != NULL) {
        /* Its memory goes from this process: forget what the tools know. */
        atomics_for_tools(q, false);
        pcq__unmap(q->map, q->map_len);
    }
    free(q);
}

void pcq_shm_close(pcq_t *q) { pcq_shared_detach(q); }

uint64_t pcq_shared_recoveries(const pcq_t *q)
{
    if (q == NULL || !q->shared)
        return 0;
    return atomic_load_explicit(&q->c->recoveries, memory_order_relaxed);
}

void pcq__set_mapping(pcq_t *q, void *map, size_t len)
{
    q->map = map;
    q->map_len = len;
}

/* ------------------------------------------------------------------ */
/* The ring (callers hold the mu of side d)                           */
/* ------------------------------------------------------------------ */

/* After a push: the copy of popped may be stale and overstate the size,
 * so look again before raising the high-water mark; pushes look only when
 * they might raise it. */
static void raise_high_water(pcq_t *q)
{
    struct side *s = &q->c->side[PUSH];
    look(q, PUSH);
    if (mine(s) - s->seen > s->high_water)
        s->high_water = mine(s) - s->seen;
}

/*
 * Copy k elements between buf and the ring at side d's position (at most
 * two pieces), then publish them. The store is sequentially consistent:
 * the caller's next read of the other side's `waiters` must not be ordered
 * before it (see waking).
 */
static ALWAYS_INLINE void move(pcq_t *q, enum dir d, unsigned char *buf, size_t k)
{
    struct side *s = &q->c->side[d];
    const size_t esz = q->esz, ring = atomic_load_explicit(&q->ring, memory_order_relaxed);
    unsigned char *const slots = q->slots;
    unsigned char *slot = slots + s->pos * esz;
    if (k == 1 && esz == sizeof(uint64_t)) { /* the common case: one move */
        if (d == PUSH)
            memcpy(slot, buf, sizeof(uint64_t));
        else
            memcpy(buf, slot, sizeof(uint64_t));
    } else {
        size_t first = min_size(k, ring - s->pos);
        if (d == PUSH) {
            memcpy(slot, buf, first * esz);
            memcpy(slots, buf + first * esz, (k - first) * esz);
        } else {
            memcpy(buf, slot, first * esz);
            memcpy(buf + first * esz, slots, (k - first) * esz);
        }
    }
    TEST_HOOK(q, d, PCQ_HOOK_COPIED);
    s->pos += k;
    if (s->pos >= ring)
        s->pos -= ring;
    const uint64_t was = mine(s), now_moved = was + k;
    /* Where this side runs, for the other side's spin: every 64 elements
     * is often enough for a hint, and costs nothing in between. */
    if ((was ^ now_moved) >= 64)
        atomic_store_explicit(&s->cpu, this_cpu(), memory_order_relaxed);
    if (q->tools)
        pcq__publish(&s->moved);
    atomic_store_explicit(&s->moved, now_moved, memory_order_seq_cst);
    TEST_HOOK(q, d, PCQ_HOOK_COMMITTED);

    if (d == PUSH && now_moved - s->seen > s->high_water)
        raise_high_water(q);
}

/* ------------------------------------------------------------------ */
/* Waking, spinning, sleeping                                         */
/* ------------------------------------------------------------------ */

/*
 * Whether side d needs a wake-up for what the caller just published:
 * threads of it sleep (or are about to), and none of them has been
 * signalled yet. Sequentially consistent, after the publish (see waking).
 * A signalled thread clears `pending` before it looks at the ring again,
 * so while `pending` is seen set, that thread is still to see the publish;
 * skipping its lock then saves a lock and unlock per element while a
 * wake-up is on its way (a producer filling a ring whose consumer was
 * signalled but has not run yet).
 */
static inline bool needs_wake(const pcq_t *q, enum dir d)
{
    const struct side *s = &q->c->side[d];
    return atomic_load_explicit(&s->waiters, memory_order_seq_cst) > 0 &&
           !atomic_load_explicit(&s->pending, memory_order_seq_cst);
}

/* Whether side d can proceed now, or must fail: closed (its mu held). */
static inline bool can_go(pcq_t *q, enum dir d)
{
    return q->c->side[d].closed || available(q, d) > 0;
}

/*
 * Wake one sleeper of side d (its mu held) unless a wake-up is already on
 * its way there: that thread will pass the baton on if there is more for
 * its side to do.
 */
static void reap_dead_sleepers(pcq_t *q, enum dir d);

static inline void wake_one(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    if (atomic_load_explicit(&s->pending, memory_order_relaxed) ||
        atomic_load_explicit(&s->waiters, memory_order_relaxed) == 0)
        return;
    if (wo_signal(q, &s->w)) {
        atomic_store_explicit(&s->pending, true, memory_order_relaxed);
        if (q->shared)
            seg_of(q)->idle_wakes[d] = 0;
    } else if (++seg_of(q)->idle_wakes[d] >= REAP_AFTER) { /* shared only */
        seg_of(q)->idle_wakes[d] = 0;
        reap_dead_sleepers(q, d);
    }
}

/* Take a sleeper slot for this thread of side d (its mu held, a shared
 * queue): -1 when all are taken. */
static int claim_sleeper_slot(pcq_t *q, enum dir d)
{
    int32_t *slot = seg_of(q)->sleepers[d];
    for (int i = 0; i < SLEEPER_SLOTS; i++)
        if (slot[i] == 0) {
            slot[i] = (int32_t)getpid(); /* not cached: a fork changes it */
            return i;
        }
    return -1;
}

static void release_sleeper_slot(pcq_t *q, enum dir d, int i)
{
    if (i >= 0)
        seg_of(q)->sleepers[d][i] = 0;
}

/* Side d's wake-ups keep waking nobody while `waiters` says someone
 * sleeps (its mu held): take out the sleepers whose process is gone. A
 * process that cannot be signalled (EPERM) is alive. Should a pid be
 * reused, or a live sleeper in another pid namespace be taken out, the
 * cost is a wake-up found again only by the sleeper's nap. */
static void reap_dead_sleepers(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    int32_t *slot = seg_of(q)->sleepers[d];
    for (int i = 0; i < SLEEPER_SLOTS; i++) {
        if (slot[i] == 0 || kill((pid_t)slot[i], 0) == 0 || errno != ESRCH)
            continue;
        slot[i] = 0;
        if (atomic_load_explicit(&s->waiters, memory_order_relaxed) > 0)
            atomic_fetch_sub_explicit(&s->waiters, 1, memory_order_relaxed);
    }
}

/* Wake side d from outside: the caller holds no lock of side d, and not
 * the pop side's when d is the push side (the lock order). */
static void wake_side(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    if (!lock(q, s))
        return;
    wake_one(q, d);
    unlock(s);
}

/* A thread of side d is back from a wait (woken, timed out, spurious, or
 * cancelled): it may be the one a pending signal was meant for. Counting
 * any return as that one errs towards more signals, never fewer. */
static void back_from_wait(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    atomic_fetch_sub_explicit(&s->waiters, 1, memory_order_relaxed);
    /* Before this thread looks at the ring again: see needs_wake. */
    atomic_store_explicit(&s->pending, false, memory_order_seq_cst);
}

/* ---- batch waiters (pop side) ---- */

/* The count a batch waiter waits for: its min, or the whole ring when the
 * min is above the capacity. */
static inline uint64_t batch_min(const pcq_t *q, size_t min)
{
    return min_size(min, capacity_of(q, POP));
}

/* Wake every batch waiter (the pop side's mu held) if the least count any
 * of them waits for is there, the queue is closed, or `anyway` (their
 * counts changed): each looks again and takes its batch or sleeps again,
 * registering its count anew. */
static void wake_batch_locked(pcq_t *q, bool anyway)
{
    struct side *s = &q->c->side[POP];
    if (atomic_load_explicit(&s->batch_waiters, memory_order_relaxed) == 0)
        return;
    const uint64_t need = atomic_load_explicit(&s->batch_need, memory_order_relaxed);
    if (anyway || s->closed || (need != UINT64_MAX && look(q, POP) >= need)) {
        atomic_store_explicit(&s->batch_need, UINT64_MAX, memory_order_relaxed);
        wo_broadcast(q, &q->c->batch);
    }
}

/*
 * After a push published (the push side's mu held): whether a batch waiter
 * may now have its count. The count as the pushing side sees it (its copy
 * of popped may be stale) is never below the true one, so this never
 * misses; it may wake too early, and the woken look again. Sequentially
 * consistent, after the publish: the waiter announces itself, registers
 * its count, then looks (see batch_sleep_once).
 */
static inline bool batch_wake_due(const pcq_t *q)
{
    const struct side *c = &q->c->side[POP], *p = &q->c->side[PUSH];
    if (atomic_load_explicit(&c->batch_waiters, memory_order_seq_cst) == 0)
        return false;
    const uint64_t need = atomic_load_explicit(&c->batch_need, memory_order_seq_cst);
    return need != UINT64_MAX && mine(p) - p->seen >= need;
}

static void wake_batch(pcq_t *q)
{
    struct side *s = &q->c->side[POP];
    if (!lock(q, s))
        return;
    wake_batch_locked(q, false);
    unlock(s);
}

/* ---- pollable descriptors ---- */

/* Make side s's descriptor readable (its mu held). */
static void fd_raise(struct side *s)
{
#ifdef __linux__
    const uint64_t one = 1;
    while (write(s->fd_w, &one, sizeof one) < 0 && errno == EINTR)
        ;
#else
    const char one = 1;
    while (write(s->fd_w, &one, 1) < 0 && errno == EINTR)
        ;
#endif
    atomic_store_explicit(&s->fd_ready, true, memory_order_relaxed);
}

/* Make side s's descriptor not readable (its mu held). Sequentially
 * consistent: the caller looks at the ring again after it. */
static void fd_lower(struct side *s)
{
#ifdef __linux__
    uint64_t v;
    while (read(s->fd_r, &v, sizeof v) < 0 && errno == EINTR)
        ;
#else
    char v[64];
    while (read(s->fd_r, v, sizeof v) > 0 || errno == EINTR)
        ;
#endif
    atomic_store_explicit(&s->fd_ready, false, memory_order_seq_cst);
}

/* Whether side d's descriptor should poll readable (its mu held). */
static inline bool fd_should_be_ready(pcq_t *q, enum dir d)
{
    return q->c->side[d].closed || available(q, d) > 0;
}

/*
 * After side d moved (its mu held): if its own descriptor is readable but
 * side d cannot proceed any more, lower it, before this call returns.
 * Then look again: an element (or a slot) the other side published just
 * before the lowering may have found the descriptor still raised and left
 * it (see fd_raise_due); if so, raise it back.
 */
static void fd_settle(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    if (!atomic_load_explicit(&s->fd_on, memory_order_relaxed) ||
        !atomic_load_explicit(&s->fd_ready, memory_order_relaxed) || fd_should_be_ready(q, d))
        return;
    fd_lower(s);
    if (look(q, d) > 0)
        fd_raise(s);
}

/* After side d published (its mu held): whether the other side's
 * descriptor needs raising. Sequentially consistent, after the publish:
 * the pair of fd_settle's lower-then-look. */
static inline bool fd_raise_due(const pcq_t *q, enum dir d)
{
    const struct side *o = &q->c->side[opposite(d)];
    return atomic_load_explicit(&o->fd_on, memory_order_relaxed) &&
           !atomic_load_explicit(&o->fd_ready, memory_order_seq_cst);
}

/* Raise side d's descriptor if it should be readable; the caller holds no
 * lock of side d, and not the pop side's when d is the push side. */
static void fd_raise_side(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    if (!lock(q, s))
        return;
    if (!atomic_load_explicit(&s->fd_ready, memory_order_relaxed) && fd_should_be_ready(q, d))
        fd_raise(s);
    unlock(s);
}

/* Bring side d's descriptor in line with the queue (both locks held). */
static void fd_sync_locked(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    if (!atomic_load_explicit(&s->fd_on, memory_order_relaxed))
        return;
    const bool ready = atomic_load_explicit(&s->fd_ready, memory_order_relaxed);
    const bool should = fd_should_be_ready(q, d);
    if (should && !ready)
        fd_raise(s);
    else if (!should && ready)
        fd_lower(s);
}

/* A call of side d completed (mu held). If it was woken (it may hold the
 * one wake-up in flight for its side) and its side can still proceed and
 * more of its side sleep, pass the baton to one of them. A call that never
 * slept needs not: while a sleeper is beside what it could take, either a
 * wake-up is on its way to it, or the thread that had it passes it on.
 * On the pop side, also the batch waiters whose count is there.
 * `extras`: the queue's extras were not 0 at the move (see after_move);
 * batch waiters register under the pop side's mu, which is held, so none
 * came since. */
static ALWAYS_INLINE void pass_baton(pcq_t *q, enum dir d, bool woken, bool extras)
{
    struct side *s = &q->c->side[d];
    if (woken && !atomic_load_explicit(&s->pending, memory_order_relaxed) &&
        atomic_load_explicit(&s->waiters, memory_order_relaxed) > 0 && can_go(q, d))
        wake_one(q, d);
    if (d == POP && extras)
        wake_batch_locked(q, false);
}

/* A batch waiter or a descriptor came (a side's mu held), or went. */
static void extras_add(pcq_t *q)
{
    for (int d = PUSH; d <= POP; d++)
        atomic_fetch_add_explicit(&q->c->side[d].extras, 1, memory_order_seq_cst);
}

static void extras_sub(pcq_t *q)
{
    for (int d = PUSH; d <= POP; d++)
        atomic_fetch_sub_explicit(&q->c->side[d].extras, 1, memory_order_relaxed);
}

/*
 * Cleanup handler for a thread cancelled inside a wait. The cancelled
 * thread holds its side's mutex again (POSIX reacquires it before running
 * handlers; a shared wait takes it back here). It may have consumed a
 * wake-up meant for the ring's current state, so if its side could
 * proceed, pass one on. A batch waiter's wake-ups are broadcasts: nothing
 * to pass on.
 */
static void wait_cancelled(void *arg)
{
    struct wait_ctx *c = arg;
    struct side *s = &c->q->c->side[c->d];
    if (c->unlocked && !lock(c->q, s))
        return; /* a shared queue found corrupt: nothing left to do */
    if (c->batch) {
        atomic_fetch_sub_explicit(&s->batch_waiters, 1, memory_order_relaxed);
        extras_sub(c->q);
    } else {
        release_sleeper_slot(c->q, c->d, c->slot);
        back_from_wait(c->q, c->d);
        if (can_go(c->q, c->d))
            wake_one(c->q, c->d);
    }
    unlock(s);
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

/* A spurious return: let others run, as a real wake-up would. */
static enum woke spurious_wait(pcq_t *q, struct side *s)
{
    unlock(s);
    return lock(q, s) ? WOKE : LOST;
}
#endif

/* Whether a shared queue was found corrupt (its sleepers must not sleep). */
static inline bool is_broken(const pcq_t *q)
{
    return q->shared && atomic_load_explicit(&q->c->broken, memory_order_relaxed) != 0;
}

/*
 * Sleep once on side d's wait object (its mu held), until woken, until
 * `deadline` (NULL: none) or spuriously; or not at all when the re-check
 * after announcing itself finds that it can proceed. A cancellation point.
 */
static enum woke sleep_once(pcq_t *q, enum dir d, const struct timespec *deadline)
{
    struct side *s = &q->c->side[d];
    struct wait_ctx ctx = {q, d, false, false, 0, -1};

#ifdef PCQ_INJECT_SPURIOUS
    if (spurious_now())
        return spurious_wait(q, s);
#endif
    /* Announce, then look again: a thread of the other side that moved
     * before it could see this announcement is seen here instead. */
    atomic_fetch_add_explicit(&s->waiters, 1, memory_order_seq_cst);
    /* Listed at once, in the critical section that counted it: a death
     * from here on leaves a slot to find it by. */
    if (q->shared)
        ctx.slot = claim_sleeper_slot(q, d);
    if (s->closed || look(q, d) > 0 || is_broken(q)) {
        release_sleeper_slot(q, d, ctx.slot);
        atomic_fetch_sub_explicit(&s->waiters, 1, memory_order_relaxed);
        return NO_WAIT;
    }
    enum woke how;
    pthread_cleanup_push(wait_cancelled, &ctx);
    how = wo_wait(q, &s->w, s, deadline, &ctx);
    pthread_cleanup_pop(0);
    if (how != LOST) {
        release_sleeper_slot(q, d, ctx.slot);
        back_from_wait(q, d);
    }
    return how;
}

/*
 * A batch waiter's sleep (the pop side's mu held): as sleep_once, on the
 * batch waiters' wait object, until `need` elements are there at once.
 * Announce, register the count, then look again: a push that published
 * before it could see both is seen here instead.
 */
static enum woke batch_sleep_once(pcq_t *q, uint64_t need, const struct timespec *deadline)
{
    struct side *s = &q->c->side[POP];
    struct wait_ctx ctx = {q, POP, true, false, 0, -1};

#ifdef PCQ_INJECT_SPURIOUS
    if (spurious_now())
        return spurious_wait(q, s);
#endif
    /* extras first: a mover that reads it as 0 after its publish skips
     * batch_wake_due, and then this waiter's look below sees that publish. */
    extras_add(q);
    atomic_fetch_add_explicit(&s->batch_waiters, 1, memory_order_seq_cst);
    if (need < atomic_load_explicit(&s->batch_need, memory_order_relaxed))
        atomic_store_explicit(&s->batch_need, need, memory_order_seq_cst);
    if (s->closed || look(q, POP) >= need || is_broken(q)) {
        atomic_fetch_sub_explicit(&s->batch_waiters, 1, memory_order_relaxed);
        extras_sub(q);
        return WOKE;
    }
    enum woke how;
    pthread_cleanup_push(wait_cancelled, &ctx);
    how = wo_wait(q, &q->c->batch, s, deadline, &ctx);
    pthread_cleanup_pop(0);
    if (how != LOST) {
        atomic_fetch_sub_explicit(&s->batch_waiters, 1, memory_order_relaxed);
        extras_sub(q);
    }
    return how;
}

/*
 * The spin before sleeping. It pays when the other side comes within a
 * fraction of what a sleep and a wake-up cost (a few microseconds of CPU
 * and of latency); it only burns CPU when the other side is slow, or not
 * running at all (it shares this CPU, or the machine is busy). So:
 *  - the budget doubles after a spin that paid (the counter moved within
 *    SPIN_PAYS_NS), up to SPIN_MAX_NS, and halves after one that failed;
 *    after SPIN_FAILS failures at the least budget the side stops
 *    spinning, and only probes with the least budget once in SPIN_PROBE
 *    waits;
 *  - a spin that ended with the counter moved, but late, paid nothing: a
 *    few in a row (SPIN_SLOW) drop the budget to the least;
 *  - once in SPIN_LONG_EVERY sleeps, a side spins the longest budget. Two
 *    threads handing an element back and forth can settle where each one
 *    sleeps before the other's wake-up arrives, so that every hand-off
 *    goes through the kernel; one spin long enough to outlast a wake-up
 *    gets them out, and once both spin, every spin pays. Against a steadily
 *    slow producer it costs a few late spins per SPIN_LONG_EVERY elements;
 *  - no spin while the other side's last move was on this very CPU: it
 *    cannot move while this thread holds the CPU, so this thread yields it
 *    once instead (see spin());
 *  - a producer's spin waits for a quarter of the ring of room, not one
 *    slot: while consumers doing real work set the pace, a producer that
 *    spun for each free slot to push one element burnt as much CPU as the
 *    consumers' work. Waiting for a batch lets it push a burst, or, when
 *    that much room does not come in time, fail and sleep; a producer that
 *    finds any room pushes, whatever its spin waited for. Such a spin pays
 *    when that much room comes within its budget, however long it took.
 * Pauses between two looks at the other side's counter: 4 at first,
 * doubling up to 32, so that a long spin does not keep pulling the line
 * the other side is writing, nor answer late.
 */
enum {
    SPIN_MIN_NS = 1000,
    SPIN_MAX_NS = 50000,
    SPIN_PAYS_NS = 4000,
    SPIN_SLOW = 3,
    SPIN_FAILS = 4,
    SPIN_PROBE = 16,
    SPIN_LONG_EVERY = 512,
    SPIN_PAUSES = 4,
    SPIN_PAUSES_MAX = 32,
    YIELD_QUICK_NS = 50000,   /* a yield this short cost nothing to speak of */
    YIELD_NS_PER_MOVE = 10000 /* else it must have let the other side move an element per 10 us */
};

static inline unsigned clamp_spin(uint64_t ns)
{
    return ns < SPIN_MIN_NS ? SPIN_MIN_NS : ns > SPIN_MAX_NS ? SPIN_MAX_NS : (unsigned)ns;
}

/* Watch the other side's counter for up to `budget` ns, without the lock,
 * until it has moved `need` past `was`. Returns how long that took, or
 * UINT64_MAX if it did not happen in time. */
static uint64_t watch(const struct side *o, uint64_t was, uint64_t need, unsigned budget)
{
    const uint64_t start = pcq__now_ns(), end = start + budget;
    uint64_t now;
    int pauses = SPIN_PAUSES;
    do {
        for (int p = 0; p < pauses; p++)
            cpu_relax();
        if (pauses < SPIN_PAUSES_MAX)
            pauses *= 2;
        now = pcq__now_ns();
        /* Relaxed: only a hint; the caller looks again under the lock. */
        if (atomic_load_explicit(&o->moved, memory_order_relaxed) - was >= need)
            return now - start;
    } while (now < end);
    return UINT64_MAX;
}

/*
 * The other side last ran on this CPU (side d's mu held): hand it the CPU
 * for a moment, which costs it no wake-up and lets it fill (or drain) a
 * batch before this thread looks again. That pays only when the other side
 * is what runs next; when another process shares the CPU, a yield goes to
 * the back of a queue of full time slices, where sleeping would be woken
 * at the other side's first move; and when the other side is not runnable
 * at all (a producer sleeping on its own timer), a yield is a system call
 * for nothing. So a yield after which the other side had not moved, or had
 * moved little for how long it took, bans yielding (this thread sleeps
 * instead) for 2, 4, ... 1024 waits.
 */
static bool yield_to(pcq_t *q, enum dir d)
{
    struct side *s = &q->c->side[d];
    const struct side *o = &q->c->side[opposite(d)];
    if (s->yield_ban > 0) {
        s->yield_ban--;
        return true;
    }
    const uint64_t was = atomic_load_explicit(&o->moved, memory_order_relaxed);
    unlock(s);
    const uint64_t t0 = pcq__now_ns();
    sched_yield();
    const uint64_t took = pcq__now_ns() - t0;
    const uint64_t moved = atomic_load_explicit(&o->moved, memory_order_relaxed) - was;
    if (!lock(q, s))
        return false;
    if (moved == 0 || (took > YIELD_QUICK_NS && moved * YIELD_NS_PER_MOVE < took)) {
        if (s->yield_shift < 10)
            s->yield_shift++;
        s->yield_ban = 1u << s->yield_shift;
    } else {
        s->yield_shift = 0;
    }
    return true;
}

/*
 * Before sleeping (side d's mu held): spin as the budget says, with the
 * lock let go, and update the budget by what the spin earned. Returns with
 * the lock held (false: not got back, a shared queue found corrupt). Time, not a count of looks, bounds the spin: a pause
 * lasts 3 ns on one CPU and 40 on another.
 */
static bool spin(pcq_t *q, enum dir d, uint64_t want)
{
    struct side *s = &q->c->side[d];
    const struct side *o = &q->c->side[opposite(d)];
    const int cpu = this_cpu();
    if (cpu >= 0 && atomic_load_explicit(&o->cpu, memory_order_relaxed) == cpu)
        return yield_to(q, d);
    unsigned budget = s->spin_ns;
    const bool long_probe = s->sleeps >= SPIN_LONG_EVERY;
    if (long_probe) {
        s->sleeps = 0;
        budget = SPIN_MAX_NS;
    } else if (budget == 0) {
        if (++s->probe < SPIN_PROBE)
            return true;
        s->probe = 0;
        budget = SPIN_MIN_NS;
    }
    /* What the other side must move for this spin to end: an element, or
     * (pushing) the room a sleeping producer would be woken for. */
    /* From the copy the caller just took: a move since then ends the spin
     * at its first look. */
    const uint64_t avail = room_by(q, d, mine(s), s->seen);
    const uint64_t was = s->seen, need = avail < want ? want - avail : 1;
    unlock(s);
    const uint64_t took = watch(o, was, need, budget);
    if (!lock(q, s))
        return false;

    /* Waiting for a quarter of the ring takes the consumers that many
     * pops; it pays if they come within the budget. */
    const uint64_t pays_by = need > 1 ? budget : SPIN_PAYS_NS;
    if (took <= pays_by) { /* paid */
        s->spin_ns = clamp_spin(2 * (uint64_t)budget);
        s->slow = s->failed = 0;
    } else if (took != UINT64_MAX && (long_probe || ++s->slow < SPIN_SLOW)) {
        s->spin_ns = budget; /* late; it may pay once the other side spins too */
    } else if (took != UINT64_MAX) {
        s->slow = 0;
        s->spin_ns = SPIN_MIN_NS; /* steadily late: the other side is slow */
    } else if (budget > SPIN_MIN_NS) {
        s->spin_ns = clamp_spin(budget / 2);
    } else if (++s->failed >= SPIN_FAILS) {
        s->failed = 0;
        s->spin_ns = 0;
        s->probe = 0;
    }
    return true;
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

/* What the other side needs after a move, done once the mover has let go
 * of its own lock (the lock order: a side never takes the other's lock
 * while it holds its own). */
enum { WAKE_OTHER = 1, WAKE_BATCH = 2, RAISE_OTHER = 4, EXTRAS = 8 /* a note, no work */ };

/* What a move owes batch waiters and descriptors; kept out of line, off
 * the path of a queue that has neither. */
static NOINLINE unsigned after_move_extras(pcq_t *q, enum dir d)
{
    unsigned todo = 0;
    if (d == PUSH && batch_wake_due(q))
        todo |= WAKE_BATCH;
    if (fd_raise_due(q, d))
        todo |= RAISE_OTHER;
    fd_settle(q, d);
    return todo;
}

/*
 * After side d moved elements (its mu held): lower its own descriptor if
 * it cannot proceed any more, and say what the other side needs: a
 * wake-up of a sleeper, of the batch waiters (after a push), a raise of
 * its descriptor. All read after the publish (see waking).
 */
static ALWAYS_INLINE unsigned after_move(pcq_t *q, enum dir d)
{
    unsigned todo = needs_wake(q, opposite(d)) ? WAKE_OTHER : 0;
    /* The usual queue has neither batch waiters nor descriptors: one load
     * instead of their checks. Sequentially consistent, after the publish,
     * as batch_wake_due's loads (see batch_sleep_once). */
    if (atomic_load_explicit(&q->c->side[opposite(d)].extras, memory_order_seq_cst) != 0)
        todo |= EXTRAS | after_move_extras(q, d);
    return todo;
}

/* Do what after_move said, holding no lock of side d. */
static void do_after(pcq_t *q, enum dir d, unsigned todo)
{
    if (todo & WAKE_OTHER)
        wake_side(q, opposite(d));
    if (todo & WAKE_BATCH)
        wake_batch(q);
    if (todo & RAISE_OTHER)
        fd_raise_side(q, opposite(d));
}

/* One call in progress. */
struct xfer {
    enum dir d;
    unsigned char *buf; /* n elements: read on push, written on pop */
    size_t n;           /* push: move all n (TRY: what fits); pop: 1..n */
    size_t done;        /* moved so far */
    enum mode mode;
    const struct timespec *deadline; /* TIMED only */
    size_t min;         /* pop: how many must be there at once before it takes any */
    bool expired;       /* pop with min > 1: the deadline passed, take what is there */
    bool drain;         /* pcq_drain: in any state; never waits */
    unsigned todo;      /* after_move's flags not yet done */
    bool woken;         /* back from a plain wait, and not asleep again since */
};

/*
 * Move what can move now (side d's mu held). Returns 0 when the call is
 * complete, EPIPE when the queue is closed to it, ECANCELED when it was
 * aborted, ENOTRECOVERABLE when a shared queue was found corrupt, EAGAIN
 * when it must wait for the other side.
 */
static int move_now(pcq_t *q, struct xfer *x)
{
    struct side *s = &q->c->side[x->d];
    if (is_broken(q))
        return ENOTRECOVERABLE;
    if (s->aborted && !x->drain)
        return ECANCELED;
    /* Precedence: a push on a closed queue fails even with room. */
    if (x->d == PUSH && s->closed)
        return EPIPE;
    uint64_t avail = available(q, x->d);
    if (avail < x->n - x->done && x->n > 1)
        avail = look(q, x->d); /* a batch takes all there is: the copy may understate it */
    if (avail == 0) {
        if (is_broken(q)) /* the look found the memory corrupt */
            return ENOTRECOVERABLE;
        return x->d == POP && s->closed && !x->drain ? EPIPE : EAGAIN;
    }
    if (avail < batch_min(q, x->min) && !s->closed && !x->expired)
        return EAGAIN; /* a batch waiter's count is not there yet */
    size_t k = (size_t)(avail < x->n - x->done ? avail : x->n - x->done);
    move(q, x->d, x->buf + x->done * q->esz, k);
    x->done += k;
    const unsigned todo = after_move(q, x->d);
    x->todo |= todo & ~(unsigned)EXTRAS;
    bool complete = x->d == POP || x->done == x->n;
    if (complete)
        pass_baton(q, x->d, x->woken, todo & EXTRAS);
    return complete ? 0 : EAGAIN; /* a push batch with more to go: the ring is full */
}

/*
 * With side d's mu held: run the call to its end, moving, spinning once,
 * then sleeping as its mode allows; do for the other side what the moves
 * need. Returns its status, with the lock released.
 */
static int transfer(pcq_t *q, struct xfer *x)
{
    struct side *s = &q->c->side[x->d];
    bool spun = false, slept = false, timed_out = false;
    enum woke how;
    int rc;
    while ((rc = move_now(q, x)) == EAGAIN) {
        if (x->mode == TRY) {
            rc = x->done > 0 ? 0 : EAGAIN;
            break;
        }
        /* The ring was looked at again after the wait timed out, above: a
         * timed call fails only when it still cannot move. A batch waiter
         * then takes what is there, if anything. */
        if (x->mode == TIMED && (slept ? timed_out : deadline_passed(x->deadline))) {
            if (x->min > 1 && !x->expired) {
                x->expired = true;
                continue;
            }
            rc = ETIMEDOUT;
            break;
        }
        if (x->todo != 0) {
            /* A push batch that filled the ring: its consumers first, from
             * outside this side's lock, then look again. */
            unlock(s);
            do_after(q, x->d, x->todo);
            x->todo = 0;
            if (!lock(q, s))
                return ENOTRECOVERABLE;
            continue;
        }
        const uint64_t want = x->d == PUSH ? low_water(capacity_of(q, PUSH)) : batch_min(q, x->min);
        if (!spun) {
            spun = true;
            if (!spin(q, x->d, want))
                return ENOTRECOVERABLE;
            continue;
        }
        if (!slept) {
            slept = true;
            s->waits++;
            if (s->sleeps < SPIN_LONG_EVERY)
                s->sleeps++;
        }
        const struct timespec *deadline = x->mode == TIMED ? x->deadline : NULL;
        if (want > 1 && x->d == POP) {
            how = batch_sleep_once(q, want, deadline);
        } else {
            how = sleep_once(q, x->d, deadline);
            if (how == LOST)
                return ENOTRECOVERABLE;
            /* Back from a wait, it may hold its side's wake-up in flight;
             * when it sleeps again it has let go of it (back_from_wait). */
            x->woken = how != NO_WAIT;
            /* A batch waiter that slept as a plain pop (its count was 1, at
             * capacity 1) may have taken the wake-up meant for the element
             * it now refuses (the capacity grew): pass it on. */
            if (x->min > 1 && available(q, POP) > 0 && available(q, POP) < batch_min(q, x->min))
                wake_one(q, POP);
        }
        if (how == LOST)
            return ENOTRECOVERABLE;
        timed_out = how == TIMED_OUT;
    }
    assert(side_valid(q, x->d));
    unlock(s);
    if (x->todo != 0)
        do_after(q, x->d, x->todo);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/* One element. `elem` is only read on the push side; the cast that drops
 * its const is confined to here and xfer_many. */
static ALWAYS_INLINE int xfer_one(pcq_t *q, enum dir d, const void *elem, enum mode mode,
                                  const struct timespec *deadline)
{
    if (q == NULL || elem == NULL)
        return EINVAL;
    unsigned char *buf = (unsigned char *)(uintptr_t)elem;
    struct side *s = &q->c->side[d];
    if (!lock(q, s))
        return ENOTRECOVERABLE;
    /* Fast path: room (push) or an element (pop) right now; what move_now
     * does for a call that need not wait, without its bookkeeping. (A push
     * on a closed queue, a call on an aborted one, go the long way.) */
    if ((d == PUSH ? !s->closed : !s->aborted) && available(q, d) > 0) {
        move(q, d, buf, 1);
        const unsigned todo = after_move(q, d);
        pass_baton(q, d, false, todo & EXTRAS);
        assert(side_valid(q, d));
        unlock(s);
        if (todo & ~(unsigned)EXTRAS)
            do_after(q, d, todo);
        return 0;
    }
    struct xfer x = {d, buf, 1, 0, mode, deadline, 1, false, false, 0, false};
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
    struct xfer x = {d, (unsigned char *)(uintptr_t)buf, n, 0, mode, NULL, 1, false, false, 0, false};
    if (!lock(q, &q->c->side[d]))
        return ENOTRECOVERABLE;
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

/* Both locks, in the one order any thread takes both: push, then pop.
 * False (neither held): a shared queue found corrupt. */
static bool lock_both(pcq_t *q)
{
    if (!lock(q, &q->c->side[PUSH]))
        return false;
    if (!lock(q, &q->c->side[POP])) {
        unlock(&q->c->side[PUSH]);
        return false;
    }
    TEST_HOOK(q, POP, PCQ_HOOK_BOTH);
    return true;
}

static void unlock_both(pcq_t *q)
{
    unlock(&q->c->side[POP]);
    unlock(&q->c->side[PUSH]);
}

/* Wake every sleeper of side s (its mu held). */
static void wake_all_locked(pcq_t *q, struct side *s)
{
    if (atomic_load_explicit(&s->waiters, memory_order_relaxed) > 0 && wo_broadcast(q, &s->w))
        atomic_store_explicit(&s->pending, true, memory_order_relaxed);
}

/* Shut the queue (both locks held): closed, and aborted too if `abort`.
 * Every waiter must see it: broadcast, never signal; and both descriptors
 * poll readable from now on. */
static void shut_locked(pcq_t *q, bool abort)
{
    for (int d = PUSH; d <= POP; d++) {
        struct side *s = &q->c->side[d];
        s->closed = true;
        s->aborted = s->aborted || abort;
        wake_all_locked(q, s);
        fd_sync_locked(q, (enum dir)d);
    }
    wake_batch_locked(q, false);
}

void pcq_close(pcq_t *q)
{
    if (q == NULL || !lock_both(q))
        return;
    shut_locked(q, false);
    unlock_both(q);
}

void pcq_abort(pcq_t *q)
{
    if (q == NULL || !lock_both(q))
        return;
    shut_locked(q, true);
    unlock_both(q);
}

int pcq_pop_batch(pcq_t *q, void *out, size_t min, size_t max, const struct timespec *deadline,
                  size_t *popped)
{
    if (popped != NULL)
        *popped = 0;
    if (q == NULL || out == NULL || popped == NULL || min == 0 || max < min ||
        (deadline != NULL && !timespec_ok(deadline)))
        return EINVAL;
    struct xfer x = {POP, out, max, 0, deadline != NULL ? TIMED : BLOCK, deadline, min, false,
                     false, 0, false};
    if (!lock(q, &q->c->side[POP]))
        return ENOTRECOVERABLE;
    int rc = transfer(q, &x);
    *popped = x.done;
    return rc;
}

int pcq_drain(pcq_t *q, void *out, size_t max, size_t *popped)
{
    if (popped != NULL)
        *popped = 0;
    if (q == NULL || out == NULL || popped == NULL)
        return EINVAL;
    if (max == 0)
        return 0;
    struct xfer x = {POP, out, max, 0, TRY, NULL, 1, false, true, 0, false};
    if (!lock(q, &q->c->side[POP]))
        return ENOTRECOVERABLE;
    int rc = transfer(q, &x);
    *popped = x.done;
    return rc;
}

int pcq_peek(const pcq_t *cq, void *out)
{
    if (cq == NULL || out == NULL)
        return EINVAL;
    pcq_t *q = (pcq_t *)(uintptr_t)cq; /* the lock is the one part that changes */
    struct side *s = &q->c->side[POP];
    int rc = 0;
    if (!lock(q, s))
        return ENOTRECOVERABLE;
    if (s->aborted)
        rc = ECANCELED;
    else if (available(q, POP) > 0)
        memcpy(out, q->slots + s->pos * q->esz, q->esz);
    else /* nothing there, or the look found the memory corrupt */
        rc = is_broken(q) ? ENOTRECOVERABLE : s->closed ? EPIPE : EAGAIN;
    unlock(s);
    return rc;
}

/*
 * A larger ring (both locks held): `ring` slots, the elements in order
 * from its start. Returns ENOMEM, changing nothing, when there is no
 * memory for it.
 */
static int regrow(pcq_t *q, size_t ring)
{
    const size_t esz = q->esz, old = atomic_load_explicit(&q->ring, memory_order_relaxed);
    size_t bytes = (ring * esz + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    unsigned char *slots = aligned_alloc(CACHE_LINE, bytes);
    if (slots == NULL)
        return ENOMEM;
    struct side *p = &q->c->side[PUSH], *c = &q->c->side[POP];
    const size_t size = (size_t)(mine(p) - mine(c)), first = min_size(size, old - c->pos);
    memcpy(slots, q->slots + c->pos * esz, first * esz);
    memcpy(slots + first * esz, q->slots, (size - first) * esz);
    free(q->grown);
    q->slots = q->grown = slots;
    atomic_store_explicit(&q->ring, ring, memory_order_relaxed);
    c->pos = 0;
    p->pos = size; /* < ring: the ring only ever grows past the size */
    return 0;
}

int pcq_set_capacity(pcq_t *q, size_t capacity)
{
    if (q == NULL || capacity == 0)
        return EINVAL;
    /* A shared ring is as large as its segment: it cannot grow. */
    if (q->shared && capacity > atomic_load_explicit(&q->ring, memory_order_relaxed))
        return ENOTSUP;
    if (capacity > (SIZE_MAX - CACHE_LINE) / q->esz)
        return EOVERFLOW;
    if (!lock_both(q))
        return ENOTRECOVERABLE;
    int rc = 0;
    /* A ring never shrinks: a smaller capacity only limits the room. */
    if (capacity > atomic_load_explicit(&q->ring, memory_order_relaxed))
        rc = regrow(q, capacity);
    if (rc == 0) {
        set_cap(q, capacity);
        /* Producers that now fit look again; so does every pop waiter,
         * plain or batch: a batch waiter's count follows the capacity (it
         * may even have slept as a plain one, at capacity 1). */
        for (int d = PUSH; d <= POP; d++)
            wake_all_locked(q, &q->c->side[d]);
        wake_batch_locked(q, true);
        fd_sync_locked(q, PUSH);
    }
    unlock_both(q);
    return rc;
}

/* A descriptor that polls readable while it holds a token: an eventfd on
 * Linux, a pipe elsewhere. Both ends close-on-exec and non-blocking. */
static int fd_create(int *r, int *w)
{
#ifdef __linux__
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return errno == EMFILE || errno == ENFILE ? errno : ENOMEM;
    *r = *w = fd;
#else
    int p[2];
    if (pipe(p) != 0)
        return errno == EMFILE || errno == ENFILE ? errno : ENOMEM;
    for (int i = 0; i < 2; i++)
        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) != 0 ||
            fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK) != 0) {
            int e = errno;
            close(p[0]);
            close(p[1]);
            return e == EMFILE || e == ENFILE ? e : ENOMEM;
        }
    *r = p[0];
    *w = p[1];
#endif
    return 0;
}

int pcq_pollfd(pcq_t *q, enum pcq_side side, int *fd)
{
    if (q == NULL || fd == NULL || (side != PCQ_SIDE_PUSH && side != PCQ_SIDE_POP))
        return EINVAL;
    const enum dir d = side == PCQ_SIDE_POP ? POP : PUSH;
    /* A descriptor is this process's alone; a shared queue's other
     * processes could not raise it. */
    if (q->shared)
        return ENOTSUP;
    struct side *s = &q->c->side[d];
    int rc = 0;
    lock_both(q);
    if (!atomic_load_explicit(&s->fd_on, memory_order_relaxed)) {
        rc = fd_create(&s->fd_r, &s->fd_w);
        if (rc == 0) {
            atomic_store_explicit(&s->fd_on, true, memory_order_seq_cst);
            extras_add(q);
            fd_sync_locked(q, d);
        }
    }
    if (rc == 0)
        *fd = s->fd_r;
    unlock_both(q);
    return rc;
}

/* The inspection calls lock a const queue: the mutexes are the one
 * mutable part of an otherwise read-only view, and every queue is created
 * non-const, so casting the qualifier away is defined. */
static pcq_t *unconst(const pcq_t *q) { return (pcq_t *)(uintptr_t)q; }

bool pcq_is_closed(const pcq_t *q)
{
    if (q == NULL)
        return false;
    struct side *s = &unconst(q)->c->side[PUSH];
    if (!lock(unconst(q), s))
        return true; /* a shared queue found corrupt takes nothing more */
    bool closed = s->closed;
    unlock(s);
    return closed;
}

size_t pcq_size(const pcq_t *q)
{
    if (q == NULL)
        return 0;
    /* Popped first: every push it counts was counted by pushed already,
     * so the difference never goes below 0; pushes and pops between the
     * two loads can lift it above a true size, never above the ring. */
    uint64_t popped = atomic_load_explicit(&q->c->side[POP].moved, memory_order_acquire);
    uint64_t pushed = atomic_load_explicit(&q->c->side[PUSH].moved, memory_order_acquire);
    return (size_t)min_size((size_t)(pushed - popped),
                            atomic_load_explicit(&q->ring, memory_order_relaxed));
}

/* Never above the ring, whatever a shared queue's memory says. */
size_t pcq_capacity(const pcq_t *q)
{
    return q == NULL ? 0
                     : min_size(atomic_load_explicit(&q->c->cap, memory_order_relaxed),
                                atomic_load_explicit(&q->ring, memory_order_relaxed));
}
/* Immutable after pcq_create: read without the lock. */
size_t pcq_elem_size(const pcq_t *q) { return q == NULL ? 0 : q->esz; }

void pcq_stats(const pcq_t *q, pcq_stats_t *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (q == NULL)
        return;
    pcq_t *m = unconst(q);
    if (!lock_both(m)) /* one instant for every counter */
        return;
    out->pushed = mine(&m->c->side[PUSH]);
    out->popped = mine(&m->c->side[POP]);
    out->push_waits = m->c->side[PUSH].waits;
    out->pop_waits = m->c->side[POP].waits;
    out->high_water = m->c->side[PUSH].high_water;
    unlock_both(m);
}

#define PCQ_STR2(x) #x
#define PCQ_STR(x) PCQ_STR2(x)

const char *pcq_version(void)
{
    return PCQ_STR(PCQ_VERSION_MAJOR) "." PCQ_STR(PCQ_VERSION_MINOR) "." PCQ_STR(
        PCQ_VERSION_PATCH);
}

#ifdef PCQ_TEST_HOOKS
int pcq__test_scribble(pcq_t *q, int what)
{
    if (q == NULL || !q->shared)
        return EINVAL;
    struct side *p = &q->c->side[PUSH];
    const size_t ring = atomic_load_explicit(&q->ring, memory_order_relaxed);
    switch (what) {
    case 1:
        p->pos = ring + 5;
        return 0;
    case 2:
        atomic_store_explicit(&p->moved, mine(p) + 10 * (uint64_t)ring + 3, memory_order_relaxed);
        return 0;
    default:
        return EINVAL;
    }
}

unsigned pcq__test_waiters(const pcq_t *q, int side)
{
    return atomic_load_explicit(&q->c->side[side == 0 ? PUSH : POP].waiters,
                                memory_order_seq_cst);
}
#endif
