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

/*
 * One allocation: this header, then the slots. Lock map: `cap`, `esz` are
 * immutable after pcq_create (read without the lock); everything else is
 * guarded by `mu`.
 */
struct pcq {
    size_t cap; /* immutable: capacity in elements */
    size_t esz; /* immutable: element size in bytes */

    pthread_mutex_t mu;
    pthread_cond_t not_full;  /* producers wait here for room */
    pthread_cond_t not_empty; /* consumers wait here for elements */

    size_t head;           /* mu: next slot to pop, 0..cap-1 */
    size_t tail;           /* mu: next slot to push, 0..cap-1 */
    size_t count;          /* mu: elements in the ring */
    unsigned push_waiters; /* mu: producers inside a condition wait */
    unsigned pop_waiters;  /* mu: consumers inside a condition wait */
    bool closed;           /* mu: pcq_close() was called */

    uint64_t pushed, popped;        /* mu: statistics */
    uint64_t push_waits, pop_waits; /* mu: calls that slept */
    size_t high_water;              /* mu: largest count seen */

    /* cap * esz bytes of elements; slot i at slots + i * esz. */
    alignas(PCQ_CACHE_LINE) unsigned char slots[];
};

/* Debug invariant of the ring; the caller holds q->mu. Used in assert(). */
PCQ_HIDDEN bool pcq__valid(const pcq_t *q);

/* Report a pthread call failing where it never legally can, and abort. */
PCQ_HIDDEN _Noreturn void pcq__die(const char *what, int rc, const char *file, int line);

#endif /* PCQ_INTERNAL_H */
