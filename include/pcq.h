/*
 * pcq — a bounded, blocking producer–consumer queue for C11 + POSIX threads.
 *
 * A pcq_t is a ring buffer of `capacity` slots of `elem_size` bytes each.
 * Producers and consumers each have a mutex and a condition variable of
 * their own (a two-lock queue): a busy producer and a busy consumer never
 * wait for the same lock. Elements are copied in and out by value.
 *
 * Conventions for every function below:
 *  - Status-returning functions return 0 on success or a positive errno
 *    value from <errno.h>. They never set errno and never return -1.
 *  - Bad input (a NULL pointer, a malformed timespec) is rejected with
 *    EINVAL before anything happens; the queue is left unchanged.
 *  - Every function except pcq_create() and pcq_destroy() may be called
 *    concurrently from any number of threads on the same queue.
 *  - "Blocks" means the caller sleeps on one of the queue's condition
 *    variables, possibly after a short bounded spin. Every blocking and
 *    timed call is a cancellation point: a thread cancelled while blocked
 *    leaves the queue consistent and unlocked, having moved nothing in
 *    that wait (elements a batch call had already moved stay moved).
 *  - Timed calls measure time on CLOCK_MONOTONIC, so wall-clock jumps do
 *    not affect them. Spurious wake-ups never reach the caller.
 *  - Push and pop never allocate memory.
 *
 * ABI promise: releases with the same PCQ_VERSION_MAJOR are ABI compatible
 * (same SONAME, libpcq.so.<MAJOR>).
 */
#ifndef PCQ_H
#define PCQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCQ_VERSION_MAJOR 0
#define PCQ_VERSION_MINOR 2
#define PCQ_VERSION_PATCH 0

#if defined(__GNUC__) || defined(__clang__)
#define PCQ_API __attribute__((visibility("default")))
#else
#define PCQ_API
#endif

/* The queue. Opaque: create with pcq_create(), free with pcq_destroy().
 * (The tag is pcq_queue, not pcq: C++ code has namespace pcq, see pcq.hpp.) */
typedef struct pcq_queue pcq_t;

/* Counters kept by every queue; see pcq_stats(). */
typedef struct pcq_stats {
    uint64_t pushed, popped;        /* elements that went in / came out */
    uint64_t push_waits, pop_waits; /* calls that had to sleep (once per call) */
    size_t high_water;              /* largest size seen */
} pcq_stats_t;

/* ---------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------- */

/*
 * Create a queue holding at most `capacity` elements of `elem_size` bytes.
 * Capacity is exact: the (capacity+1)-th push blocks. The queue uses
 * capacity * elem_size bytes for elements plus a constant (see README).
 * Does not block. On success stores the new queue in *out.
 *  0          success
 *  EINVAL     out is NULL, capacity is 0 or elem_size is 0
 *  EOVERFLOW  capacity * elem_size (plus the constant) does not fit a size_t
 *  ENOMEM     memory or another system resource ran out; *out is untouched
 *             and nothing is leaked
 */
PCQ_API int pcq_create(pcq_t **out, size_t capacity, size_t elem_size);

/*
 * Free a queue and every element still in it. NULL is a no-op.
 * No other thread may be using the queue or be blocked in it (undefined,
 * as for pthread_mutex_destroy; pcq aborts with a message where it can
 * detect it). Not safe to call concurrently with anything on `q`.
 */
PCQ_API void pcq_destroy(pcq_t *q);

/* ---------------------------------------------------------------------
 * Single-element push and pop
 *
 * Push copies elem_size bytes from `elem` into the queue; pop copies the
 * oldest element into `out` (elem_size bytes). Elements come out in FIFO
 * order; each pushed element comes out of exactly one pop.
 * ------------------------------------------------------------------- */

/*
 * Push one element, blocking while the queue is full.
 *  0          pushed
 *  EINVAL     q or elem is NULL
 *  EPIPE      the queue is closed (also when it was closed while waiting);
 *             nothing was pushed
 *  ECANCELED  the queue was aborted (pcq_abort), before or while waiting
 */
PCQ_API int pcq_push(pcq_t *q, const void *elem);

/*
 * Pop one element, blocking while the queue is empty and open.
 * On a closed queue, pops go on returning the elements still inside.
 *  0          popped into *out
 *  EINVAL     q or out is NULL
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted, before or while waiting (even with
 *             elements inside: pcq_drain takes those)
 */
PCQ_API int pcq_pop(pcq_t *q, void *out);

/*
 * Push one element if there is room now. Never blocks (it may wait for
 * the queue's lock, never for room).
 *  0          pushed
 *  EINVAL     q or elem is NULL
 *  EPIPE      the queue is closed (even when there is room)
 *  ECANCELED  the queue was aborted
 *  EAGAIN     the queue is full
 */
PCQ_API int pcq_try_push(pcq_t *q, const void *elem);

/*
 * Pop one element if there is one now. Never blocks (as above).
 *  0          popped into *out
 *  EINVAL     q or out is NULL
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 *  EAGAIN     the queue is empty (and open)
 */
PCQ_API int pcq_try_pop(pcq_t *q, void *out);

/*
 * Timed push: blocks while full, at most until the absolute `deadline` on
 * CLOCK_MONOTONIC (see clock_gettime). A deadline already past behaves like
 * pcq_try_push but reports ETIMEDOUT instead of EAGAIN.
 *  0          pushed
 *  EINVAL     q, elem or deadline is NULL, or deadline->tv_nsec is outside
 *             0..999999999
 *  EPIPE      the queue is closed
 *  ECANCELED  the queue was aborted
 *  ETIMEDOUT  the deadline passed with the queue still full
 */
PCQ_API int pcq_push_until(pcq_t *q, const void *elem, const struct timespec *deadline);

/*
 * Timed pop: blocks while empty and open, at most until `deadline`
 * (absolute, CLOCK_MONOTONIC). A deadline already past behaves like
 * pcq_try_pop but reports ETIMEDOUT instead of EAGAIN.
 *  0          popped into *out
 *  EINVAL     q, out or deadline is NULL, or deadline->tv_nsec is outside
 *             0..999999999
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 *  ETIMEDOUT  the deadline passed with the queue still empty
 */
PCQ_API int pcq_pop_until(pcq_t *q, void *out, const struct timespec *deadline);

/*
 * As pcq_push_until with a deadline `timeout_ns` nanoseconds from now.
 * Any value up to UINT64_MAX is valid (it does not overflow: ~584 years).
 * Returns the codes of pcq_push_until (EINVAL only for NULL q or elem).
 */
PCQ_API int pcq_push_for(pcq_t *q, const void *elem, uint64_t timeout_ns);

/*
 * As pcq_pop_until with a deadline `timeout_ns` nanoseconds from now.
 * Returns the codes of pcq_pop_until (EINVAL only for NULL q or out).
 */
PCQ_API int pcq_pop_for(pcq_t *q, void *out, uint64_t timeout_ns);

/* ---------------------------------------------------------------------
 * Batches
 *
 * `elems`/`out` point to arrays of n/max elements of elem_size bytes.
 * *pushed / *popped always receives how many elements moved, on success
 * and on every error (0 when the arguments were rejected). A count of 0
 * returns 0 at once and moves nothing. Elements of one batch keep their
 * order; a batch that has to wait may be interleaved with other threads'
 * elements.
 * ------------------------------------------------------------------- */

/*
 * Push all n elements, blocking while the queue is full; they may go in
 * several pieces as room frees up.
 *  0          all n pushed
 *  EINVAL     q, elems or pushed is NULL
 *  EPIPE      the queue was closed before all went in; *pushed counts
 *             those that did (they will be delivered)
 *  ECANCELED  the queue was aborted before all went in; *pushed counts
 *             those that did (they stay in the queue: see pcq_drain)
 */
PCQ_API int pcq_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed);

/*
 * Pop between 1 and max elements, blocking while the queue is empty and
 * open; takes as many as are there, up to max, in FIFO order.
 *  0          *popped (>= 1) elements copied to out
 *  EINVAL     q, out or popped is NULL
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 */
PCQ_API int pcq_pop_many(pcq_t *q, void *out, size_t max, size_t *popped);

/*
 * Push as many of the n elements as fit now (from the front). Never blocks.
 *  0          at least one pushed (*pushed says how many; may be < n)
 *  EINVAL     q, elems or pushed is NULL
 *  EPIPE      the queue is closed
 *  ECANCELED  the queue was aborted
 *  EAGAIN     the queue is full; none pushed
 */
PCQ_API int pcq_try_push_many(pcq_t *q, const void *elems, size_t n, size_t *pushed);

/*
 * Pop up to max elements that are there now. Never blocks.
 *  0          at least one popped
 *  EINVAL     q, out or popped is NULL
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 *  EAGAIN     the queue is empty (and open)
 */
PCQ_API int pcq_try_pop_many(pcq_t *q, void *out, size_t max, size_t *popped);

/*
 * Pop a batch with a minimum and a deadline: wait until at least `min`
 * elements are in the queue at once, the queue is closed, or `deadline`
 * (absolute, CLOCK_MONOTONIC; NULL: none) passes; then take up to `max`
 * in FIFO order, in one piece (no other consumer's elements in between).
 * A `min` above the capacity waits for a full queue. This is the
 * throughput/latency knob of a consumer that lingers for batches (as
 * Kafka's fetch.min.bytes with fetch.max.wait.ms, io_uring's wait_nr with
 * a timeout): the larger `min`, the fewer wake-ups per element, the later
 * the first of them is seen.
 * Producers wake a batch waiter only once the count reaches what it waits
 * for (or on close or abort), not once per element; its deadline is its
 * own to watch. Fairness: none among waiters. Plain pops, and batch waiters
 * with a smaller min, may take elements first; a batch waiter is served
 * when `min` elements are there at once, when it looks.
 * *popped is always set: 0 on every error.
 *  0          popped min..max elements; or, at the deadline or once closed,
 *             the 1..min-1 that were there
 *  EINVAL     q, out or popped is NULL, min is 0, max < min, or deadline
 *             ->tv_nsec is outside 0..999999999
 *  ETIMEDOUT  the deadline passed with the queue empty
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 */
PCQ_API int pcq_pop_batch(pcq_t *q, void *out, size_t min, size_t max,
                          const struct timespec *deadline, size_t *popped);

/* ---------------------------------------------------------------------
 * Close and inspection
 * ------------------------------------------------------------------- */

/*
 * Close the queue: every later push returns EPIPE; pops drain what is
 * left, then return EPIPE. Wakes every blocked thread. Idempotent; after
 * pcq_abort it changes nothing. Does not block (beyond taking the locks).
 * NULL is a no-op.
 */
PCQ_API void pcq_close(pcq_t *q);

/*
 * Abort the queue: an immediate shutdown. Every thread blocked in the
 * queue returns ECANCELED at once, and every later push, pop, try, timed,
 * batch and peek call returns ECANCELED, even with elements inside; those
 * stay for pcq_drain. pcq_is_closed is true from then on. Idempotent, also
 * after pcq_close. Does not block (beyond taking the locks). NULL is a
 * no-op.
 */
PCQ_API void pcq_abort(pcq_t *q);

/*
 * Take up to max elements that are there now, in FIFO order, whatever the
 * queue's state (open, closed or aborted): how the owner takes the
 * leftovers, to free what they own. Never blocks (beyond taking the lock).
 * *popped is always set. A max of 0 returns 0 at once, with *popped 0.
 *  0       *popped (>= 1, unless max was 0) elements copied to out
 *  EINVAL  q, out or popped is NULL
 *  EAGAIN  the queue is empty
 */
PCQ_API int pcq_drain(pcq_t *q, void *out, size_t max, size_t *popped);

/*
 * Copy the oldest element into *out without removing it. A snapshot:
 * another consumer may take that element next. Never blocks (beyond taking
 * the lock).
 *  0          copied into *out
 *  EINVAL     q or out is NULL
 *  EAGAIN     the queue is empty and open
 *  EPIPE      the queue is closed and empty
 *  ECANCELED  the queue was aborted
 */
PCQ_API int pcq_peek(const pcq_t *q, void *out);

/*
 * Change the queue's capacity, at any time and in any state. Growing may
 * allocate (the only call besides pcq_create that may); producers blocked
 * for room that now fit are woken. Shrinking below the current size keeps
 * every element: pushes then wait (try: EAGAIN; timed: ETIMEDOUT) until the
 * size is below the new capacity. pcq_capacity reports the new value;
 * statistics keep counting. Push and pop still allocate nothing. Blocks
 * only to take the queue's locks, and while it copies the elements into a
 * larger ring.
 *  0          the capacity is now `capacity`
 *  EINVAL     q is NULL or capacity is 0
 *  EOVERFLOW  capacity * elem_size does not fit a size_t (as in pcq_create)
 *  ENOMEM     growing needed memory that was not there; nothing changed
 */
PCQ_API int pcq_set_capacity(pcq_t *q, size_t capacity);

/* Which side of the queue a pollable file descriptor watches. */
enum pcq_side { PCQ_SIDE_PUSH = 0, PCQ_SIDE_POP = 1 };

/*
 * A file descriptor for poll, epoll, select, libuv, libevent..., so that an
 * event loop can wait on a queue. Side PCQ_SIDE_POP polls readable (POLLIN)
 * while the queue holds at least one element or is closed or aborted; side
 * PCQ_SIDE_PUSH while it has room or is closed or aborted. Level semantics,
 * as poll and level-triggered epoll see them: once the last element is
 * taken, the POP descriptor stops being readable before that pop returns
 * (and the PUSH one once the ring is full, before that push returns); the
 * caller never reads or writes it, only polls it, then calls the try or
 * batch calls, which may still find nothing (another consumer was first).
 * Created on the first call for that side (then the same descriptor is
 * returned); it belongs to the queue: close-on-exec, non-blocking, closed
 * by pcq_destroy. A queue that never asked pays nothing measurable; one
 * that did pays at most one system call per empty <-> non-empty (full <->
 * not full) transition of the side asked, never one per element. Linux:
 * an eventfd; elsewhere a pipe. Does not block (beyond taking the locks).
 *  0       *fd is the descriptor
 *  EINVAL  q or fd is NULL, or side is neither PCQ_SIDE_PUSH nor PCQ_SIDE_POP
 *  EMFILE  the process has no file descriptor left
 *  ENFILE  the system has no file descriptor left
 *  ENOMEM  the kernel ran out of memory
 */
PCQ_API int pcq_pollfd(pcq_t *q, enum pcq_side side, int *fd);

/* Whether pcq_close() or pcq_abort() has been called. A snapshot.
 * NULL: false. */
PCQ_API bool pcq_is_closed(const pcq_t *q);

/* Elements in the queue now: a snapshot, exact when no push or pop runs
 * at the same time. Takes no lock. Above the capacity only after the
 * capacity was set below the size (pcq_set_capacity). NULL: 0. */
PCQ_API size_t pcq_size(const pcq_t *q);

/* The capacity: given to pcq_create(), or the last pcq_set_capacity().
 * NULL: 0. */
PCQ_API size_t pcq_capacity(const pcq_t *q);

/* The element size given to pcq_create(). NULL: 0. */
PCQ_API size_t pcq_elem_size(const pcq_t *q);

/*
 * Copy a consistent snapshot of the queue's counters into *out (all taken
 * at one instant under the lock). push_waits/pop_waits count calls that
 * had to sleep at least once. If q is NULL, *out is zeroed; if out is
 * NULL, nothing happens.
 */
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
/* g++ -Wshadow: the function pcq_stats "hides constructor for struct
 * pcq_stats" (as stat() and struct stat do); both names are the API. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
PCQ_API void pcq_stats(const pcq_t *q, pcq_stats_t *out);
#if defined(__cplusplus) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* The library's version as "MAJOR.MINOR.PATCH" (may differ from the
 * header's macros when linked against another build). */
PCQ_API const char *pcq_version(void);

#ifdef __cplusplus
}
#endif

#endif /* PCQ_H */
