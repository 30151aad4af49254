/*
 * rendezvous.h — how pcq-fib's two processes (--shm NAME --role producer,
 * --role consumer) meet on a named shared queue, in whichever order they
 * start, and leave no name behind that blocks the next run.
 *
 * The producer creates the queue, or takes one over; the consumer waits for
 * it and removes the name once it has the queue. rendezvous.c says why.
 *
 * Status codes as in pcq.h: 0 or a positive errno value.
 */
#ifndef PCQ_FIB_RENDEZVOUS_H
#define PCQ_FIB_RENDEZVOUS_H

#include <stddef.h>

#include "pcq.h"

/* This process's hold on a queue it produces into: released at exit (or
 * by fib_shm_release). */
typedef struct fib_shm_hold {
    int fd; /* the object NAME named, write-locked while this producer lives */
} fib_shm_hold_t;

/*
 * The producer's queue: a new one of `capacity` terms at `name` (mode
 * 0600), or the one there already when it is fresh (open, nothing pushed
 * yet: made by `pcq-shm create`, or by a producer that died before its
 * first push), which keeps its own capacity. One left by an earlier run
 * (closed, or with terms in it and its producer gone) is replaced: its name
 * removed, the queue aborted (a consumer still on it stops), a new one
 * made. *hold marks this process as the queue's producer until it exits.
 *  0          *q is the queue, *hold this producer's mark on it
 *  EBUSY      a live producer holds the queue at `name`
 *  EPROTO     the object at `name` holds no pcq queue (after a second's
 *             retries: one being created looks so for a moment)
 *  EMSGSIZE   the queue at `name` holds elements of another size
 *  EAGAIN     the name kept changing under us (other producers)
 *  other      what pcq_shm_create or pcq_shm_open returned (EINVAL for a
 *             bad name, EACCES, ENOMEM ...)
 */
int fib_shm_producer(const char *name, size_t capacity, pcq_t **q, fib_shm_hold_t *hold);

/*
 * The producer's last step, its terms all pushed and the queue closed:
 * wait (looking every 10 ms) until a consumer has taken the queue (its
 * name is gone), so that the queue never outlives its producer untaken.
 * `waiting`, if not NULL, is called once, when the first look finds the
 * name still there.
 *  0      taken (or the name removed by someone else)
 *  other  fstat's errno
 */
int fib_shm_wait_taken(const fib_shm_hold_t *hold, void (*waiting)(void));

/* Let go of what fib_shm_producer marked (the queue stays). */
void fib_shm_release(fib_shm_hold_t *hold);

/*
 * The consumer's queue: waits (looking every 10 ms) until `name` holds a
 * queue that a live producer holds, or a closed one (a run that ended
 * before this consumer came), then removes the name (nobody needs it any
 * more: the producer has its queue) and returns the queue. A queue with no
 * live producer and not closed is not taken: no producer has come yet, or
 * one died, and the next will reuse or replace it. `waiting`, if not NULL,
 * is called once, when the first look finds nothing to take.
 *  0          *q is the queue
 *  EPROTO     the object at `name` holds no pcq queue (after a second)
 *  EMSGSIZE   the queue at `name` holds elements of another size
 *  other      what pcq_shm_open returned, but ENOENT (EINVAL for a bad
 *             name, EACCES, ENOMEM ...)
 */
int fib_shm_consumer(const char *name, void (*waiting)(const char *name), pcq_t **q);

#endif /* PCQ_FIB_RENDEZVOUS_H */
