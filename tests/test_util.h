/*
 * test_util.h — shared helpers for pcq's Check suites.
 *
 * Threads are ordered with barriers, condition variables and the queue's
 * own observable state (pcq_stats), never with sleeps.
 */
#ifndef PCQ_TEST_UTIL_H
#define PCQ_TEST_UTIL_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pcq.h"

/*
 * Check's ck_assert_* record the location of every passing assertion with a
 * write(2): fine for a few, ruinous in loops of millions. In hot loops and
 * in worker threads use EXPECT, which costs nothing until it fails (then it
 * fails the test like ck_assert, with file, line and the expression).
 */
#define EXPECT(expr)                                                         \
    do {                                                                     \
        if (!(expr))                                                         \
            ck_abort_msg("Assertion '%s' failed", #expr);                   \
    } while (0)

/* Every suite file provides one of these; check_main.c runs them all. */
Suite *suite_create_args(void);
Suite *suite_basic(void);
Suite *suite_timed(void);
Suite *suite_deadline(void);
Suite *suite_batch(void);
Suite *suite_close(void);
Suite *suite_cancel(void);
Suite *suite_stress(void);
Suite *suite_driver(void);
Suite *suite_fib(void);
Suite *suite_batchwait(void);
Suite *suite_abort(void);
Suite *suite_resize(void);
Suite *suite_pollfd(void);
Suite *suite_shared(void);
Suite *suite_shm_kill(void);

/* n scaled by PCQ_STRESS (percent, default 100), at least `min`. */
long scaled(long n, long min);

/* Name of the Valgrind tool running us ("helgrind", "drd", ...) or NULL. */
const char *valgrind_tool(void);

/* Skip the rest of a test, printing why (for what a tool cannot model). */
#define SKIP_UNDER_VALGRIND(why)                                             \
    do {                                                                     \
        if (valgrind_tool() != NULL) {                                       \
            skipped(__func__, why);                                          \
            return;                                                          \
        }                                                                    \
    } while (0)
void skipped(const char *test, const char *why);

/* pthread wrappers that fail the test on error. */
void start(pthread_t *t, void *(*fn)(void *), void *arg);
void *join(pthread_t t);

/* Monotonic clock in nanoseconds; a deadline `ms` from now. */
uint64_t now_ns(void);
struct timespec deadline_ms(long ms);

/* Wait (yielding, not sleeping) until the queue's stats show at least n
 * push waits / pop waits: the waiting thread has then released the lock
 * inside its condition wait, so any later signal reaches it. */
void await_push_waits(const pcq_t *q, uint64_t n);
void await_pop_waits(const pcq_t *q, uint64_t n);

/* Allocation accounting from the --wrap'ed allocator (test_util.c):
 * the number of allocator calls so far, and whether to fail the next. */
extern atomic_long test_alloc_calls;
extern atomic_long test_alloc_live;
extern atomic_int test_alloc_fail_next;
extern atomic_size_t test_alloc_last_size; /* bytes asked for by the last call */

/* One blocking or timed call of each kind, run in a thread by call_thread:
 * the timed ones with `deadline`, or when it is NULL a deadline 10 minutes
 * away; the batch ones on n elements of buf (pop_batch: at least `min`, 0
 * meaning n, at most n). The pop kinds come first (kind < PUSH). call_thread
 * stores the status in rc and also returns it (as intptr_t), so that a
 * joiner can tell it from PTHREAD_CANCELED. */
enum call_kind {
    POP, POP_FOR, POP_UNTIL, POP_MANY, POP_BATCH, POP_BATCH_UNTIL,
    PUSH, PUSH_FOR, PUSH_UNTIL, PUSH_MANY, KINDS
};
struct call {
    pcq_t *q;
    enum call_kind kind;
    uint64_t buf[32];
    size_t n;     /* batch calls: elements to move (<= 32) */
    size_t min;   /* POP_BATCH*: the minimum (0: n) */
    const struct timespec *deadline; /* *_UNTIL: NULL = 10 minutes from now */
    size_t moved; /* batch calls: *pushed / *popped */
    int rc;
};
void *call_thread(void *arg);

/* Processes, for the shared-memory suites. fork_child forks (failing the
 * test if it cannot); the child gets SIGKILL when the test's process dies,
 * so that a failed test leaves nothing running, and must leave with _exit.
 * wait_child returns a child's wait status. shared_map returns n zeroed
 * bytes shared with the children forked after it (munmap to free). */
pid_t fork_child(void);
int wait_child(pid_t pid);
void *shared_map(size_t n);

/* Fail in a forked child: leave with `code` unless `ok` (children report
 * through their exit status, never through Check). */
#define CHILD_EXPECT(ok, code)                                               \
    do {                                                                     \
        if (!(ok))                                                           \
            _exit(code);                                                     \
    } while (0)

/* Helgrind and DRD take a robust mutex's EOWNERDEAD for a failed lock,
 * and the unlock after it for the unlock of a lock not held. */
#define VG_ROBUST "Valgrind does not model a robust mutex's EOWNERDEAD"

/* A shared queue in memory of its own, exactly pcq_shared_size bytes:
 * from aligned_alloc, or (for children) a shared anonymous mapping. */
struct seg {
    void *mem;
    size_t len;
    bool mapped;
    pcq_t *q;
};
struct seg seg_new(size_t cap, size_t esz, bool mapped);
void seg_free(struct seg *s);

#ifdef PCQ_TEST_HOOKS
/* In a child: from now on, its first pass through the library's test hook
 * (src/shm.h) at `point` of `side` (any side for PCQ_HOOK_BOTH) writes one
 * byte to fd and stays there, holding the lock, until the child is
 * killed. */
void park_arm(int fd, int side, int point);
#endif

/* Make the next calloc fail (the wrapped calloc, as test_alloc_fail_next
 * for aligned_alloc): a shared queue's handle comes from calloc. */
extern atomic_int test_calloc_fail_next;

/* A one-shot gate: threads wait until it is opened. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
} gate_t;
void gate_init(gate_t *g);
void gate_wait(gate_t *g);
void gate_open(gate_t *g);
void gate_destroy(gate_t *g);

/* A call_thread run whose end the test can watch with a bound: an
 * observation window ("does not end within ms") or a bounded wait for it. */
typedef struct watched {
    struct call c;
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    bool done;         /* mu */
} watched_t;
void watch_start(watched_t *w); /* w->c filled in by the caller */
bool watch_ended(watched_t *w, long ms); /* true once the call returned; waits up to ms */
int watch_join(watched_t *w);            /* join, free, return c.rc */

/* ---- exactly-once accounting for the stress tests ----
 * An element is 8 bytes: (producer << 32 | sequence). Each consumer records
 * what it receives in a tally of its own (no sharing, no locks); after the
 * threads are joined, tally_verdict adds the tallies up. */
#define TALLY_ELEM(p, s) (((uint64_t)(p) << 32) | (uint64_t)(uint32_t)(s))
#define TALLY_P(e) ((unsigned)((e) >> 32))
#define TALLY_S(e) ((uint32_t)(e))

typedef struct tally {
    unsigned nprod;
    uint32_t per;        /* sequences 0..per-1 per producer */
    unsigned char *seen; /* nprod * per counts, saturating at 255 */
    int64_t *last;       /* per producer: last sequence received, -1: none */
    uint64_t *stamp;     /* per producer: the batch its `last` came in */
    uint64_t batches;    /* calls recorded */
    uint64_t elems;      /* elements recorded */
    char fault[256];     /* first problem seen, "" if none */
} tally_t;
void tally_init(tally_t *t, unsigned nprod, uint32_t per);
void tally_free(tally_t *t);
/* Record the n elements one call returned. Checks that each is an element
 * that exists, that each producer's sequences increase in what this one
 * consumer receives (FIFO), and, if `piece`, that within this call each
 * producer's elements are consecutive (the call took one piece of the
 * queue: nobody else's take in between). */
void tally_take(tally_t *t, const uint64_t *e, size_t n, bool piece);
void tally_fault(tally_t *t, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The verdict over k tallies: each producer p's sequences 0..want[p]-1
 * received exactly once, and nothing else; the first fault of any tally
 * first. Writes "" to msg when all is well. */
void tally_verdict(const tally_t *t, size_t k, const uint32_t *want, char *msg, size_t len);

/* Deterministic per-thread randomness (xorshift64*), seeded from
 * (test, round, thread) and PCQ_SEED (default 1). */
typedef struct test_rng {
    uint64_t s; /* never 0 */
} test_rng_t;
uint64_t test_seed(unsigned test, unsigned round, unsigned idx);
uint64_t test_rnd(test_rng_t *r);
uint64_t test_below(test_rng_t *r, uint64_t n); /* 0..n-1 */

/* Whether timed waits may be left to expire while other threads signal:
 * not under Helgrind, which misreports glibc's timed wait racing a
 * signal (see check_stress.c). */
bool expiry_allowed(void);

/* A timed call's timeout for a stress worker: up to 200 us, so that some
 * expire, or 10 s where expiries are not allowed (expiry_allowed). */
uint64_t stress_timeout(test_rng_t *rng);

/* Push the k elements of `batch` (k >= 1) in one of five ways picked by
 * `rng`: pcq_push, try_push (yielding while full), push_for (again after
 * each timeout), push_many, try_push_many (yielding while full); the
 * single-element ways push batch[0] only. *moved: how many went in.
 * Returns the last call's code: 0, or what stopped it (EPIPE, ECANCELED). */
int push_some_way(pcq_t *q, const uint64_t *batch, size_t k, test_rng_t *rng, size_t *moved);

/* The ends of a run's worker threads, awaited with a watchdog. */
typedef struct finish {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    unsigned left;     /* mu */
} finish_t;
void finish_init(finish_t *f, unsigned n);
void finish_one(finish_t *f); /* a worker's last act */
/* Wait until every worker called finish_one: true. If meanwhile the queue's
 * counters (pushed + popped) stand still for stall_ms, the run hangs: abort
 * q so that blocked workers return, wait for them (again with a bound) and
 * return false with why in msg. Without a watchdog under Helgrind (see
 * expiry_allowed). After false, if msg says "still blocked", some
 * workers may never end: the caller must fail without joining them. */
bool finish_wait(finish_t *f, pcq_t *q, long stall_ms, char *msg, size_t len);
void finish_destroy(finish_t *f);

#endif
