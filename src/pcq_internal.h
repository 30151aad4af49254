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

/*
 * One allocation: this header, then the slots. Lock map: `cap` and `esz`
 * are immutable after pcq_create and read without the lock; every other
 * field is guarded by `mu`. Nothing else is read or written outside `mu`,
 * so the race detectors see only a mutex and two condition variables.
 *
 * Layout (x86-64 glibc; measured, see src/pcq.c): a push or pop that need
 * not wait writes only line 0 (the mutex, head, count, popped) and its
 * slot, and reads line 1 (immutable sizes and the per-side wait state,
 * written only by calls that wait). The condition variables and the wait
 * statistics live on later lines. With the fields spread over four lines,
 * a push or pop under contention missed the cache on each of them.
 */
struct pcq {
    /* line 0: the lock and everything a push or pop writes */
    pthread_mutex_t mu;
    size_t head;     /* mu: next slot to pop, 0..cap-1 */
    size_t count;    /* mu: elements in the ring; next push at head + count */
    uint64_t popped; /* mu: elements popped so far (pushed = popped + count) */

    /* line 1: read by every call, written only by calls that wait */
    alignas(PCQ_CACHE_LINE) size_t cap; /* immutable: capacity in elements */
    size_t esz;                         /* immutable: element size in bytes */
    size_t high_water;                  /* mu: largest count seen (rarely written) */
    unsigned waiters[2];                /* mu: threads of each side inside a wait */
    unsigned spin_ns[2];                /* mu: adaptive spin budget of each side */
    unsigned learn_ban[2];              /* mu: sleeps to go before learning again */
    unsigned char learn_shift[2];       /* mu: log2 of the next ban */
    bool learned[2];                    /* mu: spin_ns was raised by learning, unproven */
    unsigned char pending[2];           /* mu: a signal to that side is on its way (0/1) */
    bool closed;                        /* mu: pcq_close() was called */

    /* touched only by calls that sleep, and by close */
    alignas(PCQ_CACHE_LINE) pthread_cond_t cv[2]; /* each side's threads sleep here */
    uint64_t waits[2];                            /* mu: calls of each side that slept */

    /* cap * esz bytes of elements; slot i at slots + i * esz. */
    alignas(PCQ_CACHE_LINE) unsigned char slots[];
};

/* Debug invariant of the ring; the caller holds q->mu. Used in assert(). */
PCQ_HIDDEN bool pcq__valid(const pcq_t *q);

/* Report a pthread call failing where it never legally can, and abort. */
PCQ_HIDDEN _Noreturn void pcq__die(const char *what, int rc, const char *file, int line);

/* A pthread call failing where it never legally can is a bug: abort. */
#define PCQ_CHECK(call)                                                    \
    do {                                                                   \
        int pcq_rc_ = (call);                                              \
        if (pcq_rc_ != 0)                                                  \
            pcq__die(#call, pcq_rc_, __FILE__, __LINE__);                  \
    } while (0)

#endif /* PCQ_INTERNAL_H */
