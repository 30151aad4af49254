/*
 * shm.h — what pcq.c (the queue) and shm.c (POSIX shared-memory objects)
 * tell each other. Private: never installed.
 */
#ifndef PCQ_SHM_INTERNAL_H
#define PCQ_SHM_INTERNAL_H

#include <stddef.h>

#include "fatal.h"
#include "pcq.h"

/* Give a shared handle the mapping it owns: pcq_shared_detach (and so
 * pcq_shm_close, pcq_destroy) unmaps it. */
PCQ_HIDDEN void pcq__set_mapping(pcq_t *q, void *map, size_t len);

/* Unmap what pcq__set_mapping gave. */
PCQ_HIDDEN void pcq__unmap(void *map, size_t len);

#ifdef PCQ_TEST_HOOKS
/*
 * Test builds only (the test suite compiles the library with
 * -DPCQ_TEST_HOOKS): when set, called with the lock of `side` (0 push,
 * 1 pop) held, at `point`:
 *   PCQ_HOOK_COPIED     a move copied its elements, its count not yet
 *                       committed (a process killed here must lose the move)
 *   PCQ_HOOK_COMMITTED  the count committed, the lock not yet let go
 *   PCQ_HOOK_BOTH       both locks held (close, abort, stats, capacity)
 * so that a test can park a process there and kill it holding the lock.
 */
enum { PCQ_HOOK_COPIED = 1, PCQ_HOOK_COMMITTED = 2, PCQ_HOOK_BOTH = 3 };
PCQ_HIDDEN extern void (*pcq__test_hook)(const pcq_t *q, int side, int point);

/* Test builds only: damage a shared queue's memory as a stray write
 * would, without any lock. what: 1, a position out of the ring; 2, a
 * count more than a ring ahead of the other. Returns EINVAL for an
 * in-process queue or an unknown `what`. */
PCQ_HIDDEN int pcq__test_scribble(pcq_t *q, int what);

/* Test builds only: how many threads side `side` (0 push, 1 pop) counts
 * as asleep or about to sleep (its `waiters`). */
PCQ_HIDDEN unsigned pcq__test_waiters(const pcq_t *q, int side);
#endif

#endif /* PCQ_SHM_INTERNAL_H */
