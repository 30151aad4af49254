/*
 * pcq_internal.h — the queue's layout, shared by src/ files only.
 * Nothing here is part of the public API or exported from libpcq.so.
 */
#ifndef PCQ_INTERNAL_H
#define PCQ_INTERNAL_H

#include "pcq.h"

#include <pthread.h>
#include <stdalign.h>

#define PCQ_CACHE_LINE 64

#if defined(__GNUC__) || defined(__clang__)
#define PCQ_HIDDEN __attribute__((visibility("hidden")))
#else
#define PCQ_HIDDEN
#endif

/* The two sides of a queue, used as indices: producers wait for room on
 * side PCQ_PUSH, consumers wait for elements on side PCQ_POP. */
enum pcq_dir { PCQ_PUSH = 0, PCQ_POP = 1 };

/* Per-side state. Every field is guarded by the queue's `mu`. */
struct pcq_side {
    pthread_cond_t cv; /* this side's threads sleep here */
    unsigned waiters;  /* mu: threads inside a wait on cv */
    unsigned pending;  /* mu: of those, signalled and not yet back */
    unsigned spin;     /* mu: adaptive spin budget, in lock polls */
    uint64_t moved;    /* mu: statistics: elements pushed / popped */
    uint64_t waits;    /* mu: statistics: calls that had to sleep */
};

/*
 * One allocation: this header, then the slots. Lock map: `cap` and `esz`
 * are immutable after pcq_create and read without the lock; every other
 * field is guarded by `mu`. Nothing is read or written outside `mu`, so the
 * race detectors see only a mutex and two condition variables.
 */
struct pcq {
    size_t cap; /* immutable: capacity in elements */
    size_t esz; /* immutable: element size in bytes */

    pthread_mutex_t mu;

    size_t head;       /* mu: next slot to pop, 0..cap-1 */
    size_t tail;       /* mu: next slot to push, 0..cap-1 */
    size_t count;      /* mu: elements in the ring */
    size_t high_water; /* mu: statistics: largest count seen */
    bool closed;       /* mu: pcq_close() was called */

    struct pcq_side side[2]; /* indexed by enum pcq_dir */

    /* cap * esz bytes of elements; slot i at slots + i * esz. */
    alignas(PCQ_CACHE_LINE) unsigned char slots[];
};

/* Debug invariant of the ring; the caller holds q->mu. Used in assert(). */
PCQ_HIDDEN bool pcq__valid(const pcq_t *q);

/* Report a pthread call failing where it never legally can, and abort. */
PCQ_HIDDEN _Noreturn void pcq__die(const char *what, int rc, const char *file, int line);

#endif /* PCQ_INTERNAL_H */
