/*
 * pcq_driver.h — run producer and consumer threads over a pcq_t.
 *
 * pcq_run() starts P producer threads and C consumer threads over a queue
 * the caller created, feeds the queue from a produce callback, drains it
 * into a consume callback, and joins every thread before it returns:
 *
 *   producer i:  loop { produce(arg, i, buf, batch, &n) -> push n elements }
 *   consumer j:  loop { pop up to batch elements -> consume(arg, j, buf, n) }
 *
 * A consumer may also linger for batches (consume_min, consume_linger_ns):
 * it then waits until it holds consume_min elements, or until the linger
 * has passed, before it calls consume (see pcq_driver_t below).
 *
 * A producer is done when its produce callback returns 0 with *count == 0.
 * When every producer is done the driver closes the queue; consumers drain
 * what is left and stop; pcq_run() returns 0.
 *
 * On the first error (a callback's code, a queue call's EPIPE when someone
 * else closed the queue or ECANCELED when someone aborted it, or
 * pthread_create's code) the driver records it,
 * closes the queue so that every push or pop blocked in it returns, tells
 * every thread to stop after its current callback, calls on_stop (so that
 * callbacks blocked on the caller's own state can be woken), joins every
 * thread, and returns that first error. No element is lost uncounted:
 *
 *   produced == consumed + leftovers     (when the queue starts empty)
 *
 * where leftovers are the elements a producer handed over that never
 * reached a consume callback: those still in the queue and those a
 * producer could not push because the queue was closed. With a dispose
 * callback they are all handed to it (the queue is drained); without
 * one, those in the queue stay there for the caller and those a producer
 * held are only counted.
 *
 * Conventions are those of pcq.h: 0 or a positive errno value, never -1.
 *
 * Ownership of elements. An element belongs to the produce callback until
 * it returns 0 with it in *count; from then on to the driver and the
 * queue; then to the consume callback that receives it (even when that
 * callback fails) or to dispose. Elements are copied by value, so an
 * element that points to heap memory passes ownership of that memory.
 *
 * ABI promise: as for pcq.h. pcq_driver_t starts with its own size and
 * later versions only append fields, so a caller compiled against an older
 * header keeps working (the fields it does not know are taken as 0). The
 * two output structures are fixed in size; their reserved fields are
 * zeroed now and may carry new counters later.
 */
#ifndef PCQ_DRIVER_H
#define PCQ_DRIVER_H

#include "pcq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which side of the queue a driver thread is on. */
typedef enum pcq_role { PCQ_PRODUCER = 0, PCQ_CONSUMER = 1 } pcq_role_t;

/*
 * Produce callback, called by producer thread `index` (0..producers-1).
 * Write up to `max` elements (max is the produce batch, >= 1) of the
 * queue's element size into `elems` and store how many in *count.
 *   return 0, *count >= 1   those elements are handed over and pushed
 *   return 0, *count == 0   this producer is done (it is not called again)
 *   return a positive errno  failure: the run stops with this error; the
 *                           callback keeps what it wrote in `elems` (free
 *                           anything it allocated before returning)
 * *count is 0 on entry. A *count above `max` is a bug: the run stops with
 * EINVAL and the elements are ignored (not disposed).
 */
typedef int (*pcq_produce_fn)(void *arg, unsigned index, void *elems, size_t max,
                              size_t *count);

/*
 * Consume callback, called by consumer thread `index` (0..consumers-1)
 * with `count` elements (1..consume batch) popped in FIFO order. The
 * elements are the callback's from then on, also when it fails.
 *   return 0                 go on
 *   return a positive errno  failure: the run stops with this error
 */
typedef int (*pcq_consume_fn)(void *arg, unsigned index, void *elems, size_t count);

/*
 * Dispose callback (optional): receives leftovers after an error, from the
 * thread that called pcq_run(), after every driver thread has been joined.
 * Called as often as needed, with count >= 1 each time.
 */
typedef void (*pcq_dispose_fn)(void *arg, void *elems, size_t count);

/*
 * Wait hook (optional): called by a driver thread just before it blocks in
 * the queue (a producer because the queue is full, a consumer because it is
 * empty), once per blocking call; runs concurrently with other callbacks.
 */
typedef void (*pcq_wait_fn)(void *arg, pcq_role_t role, unsigned index);

/*
 * Stop hook (optional): called once, on the first error, after the queue
 * has been closed, from the thread that hit the error (a driver thread or
 * the caller of pcq_run()), concurrently with other callbacks. A produce or
 * consume callback that can block on the caller's own state (a condition
 * variable, a pipe) must be woken here, or pcq_run() cannot join it. Must
 * not block.
 */
typedef void (*pcq_stop_fn)(void *arg, int error);

/* Per-thread counters (output). 64 bytes. */
typedef struct pcq_thread_stats {
    uint64_t produced; /* producers: elements handed over by produce calls */
    uint64_t pushed;   /* producers: of those, elements that went into the queue */
    uint64_t consumed; /* consumers: elements handed to consume calls */
    uint64_t calls;    /* produce calls that handed elements over / consume calls */
    uint64_t waits;    /* queue calls that found the queue full (producers) or
                          empty (consumers) and blocked: a try first, a wait
                          counted when it would block, then the blocking call.
                          A lingering consumer counts one when its try finds
                          fewer than consume_min elements (see below) */
    int error;         /* why this thread stopped early: 0 (it did not), its
                          callback's code, EPIPE (the queue was closed by
                          someone else), or ECANCELED (another thread failed,
                          or the queue was aborted by someone else) */
    unsigned reserved0;
    uint64_t reserved[2]; /* zeroed */
} pcq_thread_stats_t;

/* Totals of a run (output). 128 bytes. */
typedef struct pcq_run_result {
    uint64_t produced;   /* elements handed over by every produce call */
    uint64_t pushed;     /* elements that went into the queue */
    uint64_t consumed;   /* elements handed to consume calls */
    uint64_t leftovers;  /* produced elements that reached no consume call */
    uint64_t disposed;   /* leftovers handed to dispose (0 without one) */
    uint64_t push_waits; /* sum of the producers' waits */
    uint64_t pop_waits;  /* sum of the consumers' waits */
    int error;           /* what pcq_run() returned */
    int error_thread;    /* 1: the first error came from a driver thread (its
                            callback or queue call), named by the next two
                            fields; 0: from pcq_run() itself (arguments,
                            memory, pthread_create) or there was none */
    pcq_role_t error_role; /* the failing thread's side */
    unsigned error_index;  /* and its index */
    uint64_t reserved[7];  /* zeroed */
} pcq_run_result_t;

/*
 * What to run. Initialise with PCQ_DRIVER_INIT (or set `size` to
 * sizeof(pcq_driver_t) and zero the rest), then fill in the fields.
 * Zero means the default for every count.
 */
typedef struct pcq_driver {
    size_t size;               /* sizeof(pcq_driver_t) as the caller knows it */
    pcq_t *queue;              /* required; open; closed when pcq_run() returns */
    unsigned producers;        /* producer threads, 0 means 1 */
    unsigned consumers;        /* consumer threads, 0 means 1 */
    size_t produce_batch;      /* max elements per produce call and push, 0 means 1 */
    size_t consume_batch;      /* max elements per pop and consume call, 0 means 1 */
    pcq_produce_fn produce;    /* required */
    pcq_consume_fn consume;    /* required */
    void *arg;                 /* passed to every callback */
    pcq_dispose_fn dispose;    /* optional, see above */
    pcq_wait_fn on_wait;       /* optional, see above */
    pcq_stop_fn on_stop;       /* optional, see above */
    pcq_thread_stats_t *producer_stats; /* optional output: `producers` entries */
    pcq_thread_stats_t *consumer_stats; /* optional output: `consumers` entries */
    /* Appended in 0.2: consumers that linger for batches (pcq_pop_batch). */
    size_t consume_min;         /* a consumer waits for this many elements at
                                   once (at most consume_batch), 0 means 1 */
    uint64_t consume_linger_ns; /* ... or this long, then takes what is there;
                                   0: no time limit (until min, or close) */
} pcq_driver_t;

/*
 * Lingering consumers. With consume_min > 1 or consume_linger_ns > 0 a
 * consumer gathers each batch as follows (min is consume_min, capped to
 * consume_batch; max is consume_batch):
 *  1. a try takes what is there now, up to max; with min or more it is done;
 *  2. otherwise it counts a wait, calls on_wait, and blocks in pcq_pop_batch
 *     for the min - k elements it still lacks, with a deadline
 *     consume_linger_ns after that first blocking call (none for 0); a min
 *     above the queue's capacity is gathered a full queue at a time;
 *  3. it calls consume with what it holds once it holds min elements, once
 *     the deadline has passed (1 to min-1 elements), or once the queue is
 *     closed (then with what was left; the next try sees the close).
 * A linger that passes with the queue empty delivers nothing: the consumer
 * then waits for the next element without a time limit (an idle consumer
 * does not wake up once per linger) and lingers again from there, so an
 * element waits about consume_linger_ns at most before it is consumed.
 * Without a linger, a consumer waits for min elements until the run ends:
 * every consume call but the last of each consumer has at least min
 * elements. That suits a run whose producers never wait for their own
 * elements to be consumed; one that does (a bounded window, a reply) needs
 * a linger, or it can wait forever.
 * The larger min, the fewer wake-ups and consume calls per element, and the
 * later the first element of a batch is consumed: the throughput/latency
 * knob of Kafka's fetch.min.bytes and fetch.max.wait.ms.
 */

#define PCQ_DRIVER_INIT                                                                            \
    {sizeof(pcq_driver_t), NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0}

/*
 * Run d->producers producer threads and d->consumers consumer threads over
 * d->queue until every producer is done and the queue is drained, or until
 * the first error; join them all. Blocks the calling thread for the whole
 * run. Not a cancellation point: cancellation of the calling thread is
 * held back until pcq_run() returns. Callbacks run on the driver's threads
 * and must return (no pthread_exit, no cancelling driver threads).
 * Several runs may go on at once on different queues. The queue is always
 * closed when pcq_run() returns, except after EINVAL and ENOTSUP.
 *
 * `result` (optional) receives the totals, also on error; the per-thread
 * arrays, when given, receive each thread's counters (a thread that was
 * never started has zeros).
 *  0          every producer was done, every element was consumed
 *  EINVAL     d is NULL, d->size is smaller than the first version of
 *             pcq_driver_t or lies between the sizes of two of its versions
 *             (it would end inside the fields a version appended), the
 *             queue, produce or consume is NULL; or a produce callback
 *             reported more elements than it was allowed
 *  ENOTSUP    d->size is larger than this library's pcq_driver_t and a
 *             field it does not know is not zero (a newer feature)
 *  EOVERFLOW  the batch buffers' size does not fit a size_t
 *  ENOMEM     out of memory before any thread started; nothing ran
 *  EPIPE      the queue was closed by someone else: at the start (then
 *             nothing ran; also when it was aborted) or during the run
 *  ECANCELED  the queue was aborted (pcq_abort) by someone else during the
 *             run; the elements left in it are counted, and handed to
 *             dispose (taken with pcq_drain)
 *  EAGAIN     pthread_create failed (or whatever else it returned); the
 *             threads already started were stopped and joined
 *  other      the first positive code a produce or consume callback
 *             returned
 */
PCQ_API int pcq_run(const pcq_driver_t *d, pcq_run_result_t *result);

#ifdef __cplusplus
}
#endif

#endif /* PCQ_DRIVER_H */
