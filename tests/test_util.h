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
 * the timed ones with a deadline 10 minutes away, the batch ones on n
 * elements of buf. call_thread stores the status in rc and also returns it
 * (as intptr_t), so that a joiner can tell it from PTHREAD_CANCELED. */
enum call_kind { POP, POP_FOR, POP_UNTIL, POP_MANY, PUSH, PUSH_FOR, PUSH_UNTIL, PUSH_MANY, KINDS };
struct call {
    pcq_t *q;
    enum call_kind kind;
    uint64_t buf[8];
    size_t n;     /* batch calls: elements to move (<= 8) */
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

#endif
