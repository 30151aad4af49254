/*
 * pipeline.h — the threaded Fibonacci pipeline behind pcq-fib.
 *
 * Not part of libpcq: with --big its terms are GMP numbers (numbers.h),
 * and GMP is optional. The types here are the same with and without GMP,
 * so objects built either way agree on them.
 *
 * Generator threads (producers of a pcq_run) compute Fibonacci numbers and
 * push them through a pcq_t to consumer threads, which hand each term to a
 * callback: in whatever order they pop them, or, with `ordered`, in index
 * order through a bounded reorder window (see pipeline.c).
 *
 * Status codes as in pcq.h: 0 or a positive errno value.
 */
#ifndef PCQ_FIB_PIPELINE_H
#define PCQ_FIB_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numbers.h"
#include "pcq_driver.h"

/* What to run. Zero means the default (FIB_DEFAULT_*, defaults.h) for
 * every count but `count`; fib_config_check fills them in. */
typedef struct fib_config {
    uint64_t count;      /* terms F(0)..F(count-1) */
    unsigned producers;  /* generator threads */
    unsigned consumers;  /* consumer threads */
    size_t capacity;     /* queue capacity in terms */
    size_t batch;        /* terms per push and per pop */
    size_t window;       /* ordered: reorder window in terms; the default
                            is 2 * (capacity + (producers + consumers) *
                            batch). Not ordered: ignored, and set to 0
                            by fib_config_check */
    bool ordered;        /* deliver in index order */
    bool big;            /* GMP numbers instead of 64-bit ones */
    unsigned produce_delay_ms; /* simulated work per term produced */
    unsigned consume_delay_ms; /* simulated work per term consumed */
    size_t batch_min;    /* a consumer waits until this many terms are there
                            at once (at most batch; the driver's
                            consume_min) ... */
    uint64_t linger_us;  /* ... or this long, then takes what is there (the
                            driver's consume_linger_ns / 1000); 0: no limit.
                            Ordered runs with batch_min > 1 need a linger:
                            a consumer waiting for its batch may hold the
                            term due out while the window holds back the
                            generators that would complete the batch */
    /* Called once per term, never two calls at once, in index order when
     * `ordered`; `consumer` is the thread delivering it. The term is lent
     * for the call. Return 0, or a positive errno to stop the run. */
    int (*on_term)(void *arg, unsigned consumer, const fib_term_t *t);
    /* Optional trace of every hand-off and wait, one line (no newline) per
     * call, serialised with on_term. */
    void (*on_trace)(void *arg, const char *line);
    void *arg;
} fib_config_t;

/* What happened. Release with fib_result_free(). */
typedef struct fib_result {
    uint64_t terms;         /* terms delivered to on_term */
    uint64_t checksum;      /* their sum mod 2^64 (64-bit mode) */
    char *checksum_str;     /* the sum in decimal: mod 2^64 in 64-bit mode,
                               exact in big mode (NULL if out of memory) */
    size_t window;          /* ordered: the window used, else 0 */
    size_t ahead_peak;      /* ordered: most a generator ran ahead of the next
                               term due out (index - next + 1); <= window */
    size_t held_peak;       /* ordered: most terms waiting to be reordered */
    double seconds;         /* wall time of the run */
    pcq_run_result_t run;   /* the driver's totals */
    pcq_thread_stats_t *producer_stats; /* one per generator (or NULL) */
    pcq_thread_stats_t *consumer_stats; /* one per consumer (or NULL) */
} fib_result_t;

/*
 * Fill in the defaults of every zero count in *c and check the result: the
 * first thing fib_run does with its configuration, so a caller may learn
 * what will run, or why it will be refused, before it starts anything.
 * The callbacks are not looked at. Calling it twice changes nothing.
 *  0          *c is complete
 *  EINVAL     c is NULL, more than FIB_MAX_THREADS producers or consumers,
 *             the default window does not fit a size_t, batch_min is above
 *             batch, or an ordered run has batch_min > 1 and no linger
 *  EOVERFLOW  64-bit mode and count > FIB_MAX_U64_COUNT (the terms from
 *             F(FIB_MAX_U64_COUNT) on do not fit 64 bits)
 *  ENOTSUP    big mode in a build without GMP
 */
int fib_config_check(fib_config_t *c);

/*
 * Run the pipeline; blocks until it is over. `res` receives what happened
 * (also on error; call fib_result_free either way).
 *  0          every term was delivered
 *  EINVAL     cfg or res is NULL, on_term is NULL, or as fib_config_check
 *  EOVERFLOW  as fib_config_check
 *  ENOTSUP    as fib_config_check
 *  ENOMEM     out of memory
 *  other      what on_term or pcq_run() returned
 */
int fib_run(const fib_config_t *cfg, fib_result_t *res);

/* The half of the pipeline a process runs in fib_run_side. */
typedef enum fib_side { FIB_GENERATORS, FIB_CONSUMERS } fib_side_t;

/*
 * Run one half of the pipeline over `q`, a queue that another process
 * runs the other half over (a shared queue, pcq_shm.h); blocks until this
 * half is over. FIB_GENERATORS: cfg->producers threads push the terms
 * F(0)..F(count-1), then close q. FIB_CONSUMERS: cfg->consumers threads pop
 * terms until q is closed and empty, and hand them to on_term in the order
 * popped; each term is checked against F(index), and the whole must be
 * F(0)..F(n-1), each once. Any error aborts q (pcq_abort), so that the
 * other process stops too. 64-bit terms only (a big term points into its
 * maker's heap), and unordered: the reorder window bounds the generators
 * by what the consumers delivered, which another process cannot see. A
 * term travels as a fib_term_t, so q's element size must be its size.
 * on_term is required for FIB_CONSUMERS only. `res` as for fib_run;
 * res->run counts the waits (calls that found q full, or empty).
 *  0           this half is over: every term pushed, or every term taken
 *  EINVAL      cfg, q or res is NULL, ordered, batch_min above 1, a linger,
 *              q's element size is not sizeof(fib_term_t), on_term is NULL
 *              for FIB_CONSUMERS, or as fib_config_check
 *  ENOTSUP     big mode
 *  EOVERFLOW   as fib_config_check
 *  ENOMEM      out of memory or threads
 *  ECANCELED   the other process aborted q
 *  EPIPE       generators: q was closed before every term went in
 *  EPROTO      consumers: a term was not F(index), came twice, or the run
 *              closed with terms missing
 *  other       what on_term returned
 */
int fib_run_side(const fib_config_t *cfg, fib_side_t side, pcq_t *q, fib_result_t *res);

/* Free what fib_run put in *res. NULL is a no-op. */
void fib_result_free(fib_result_t *res);

#endif /* PCQ_FIB_PIPELINE_H */
