/*
 * bench.h — the benchmark harness's one adapter interface and the run
 * description its worker loops share.
 *
 * Each queue (pcq, the baselines, the peers) is a thin adapter: create and
 * destroy, push and pop one element, optionally push/pop a batch, and an
 * end-of-stream mechanism (close, or none: then the last producer sends one
 * sentinel per consumer). The worker loops that call an adapter are stamped
 * out per adapter from loops.h, so every call in a loop is a direct call to
 * that adapter's operation: the loops cost what a user's loop would, with
 * no indirect call, lock or atomic of the harness in them.
 */
#ifndef PCQ_BENCH_H
#define PCQ_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fatal.h" /* PCQ_CHECK, pcq__now_ns */

/* What an adapter's operations return. */
enum {
    BQ_OK = 0,      /* moved */
    BQ_END = 1,     /* pop: the queue was closed and is drained */
    BQ_ABORTED = 2, /* a spinning adapter gave up: the run's time ran out */
    BQ_FAILED = 3   /* the queue reported an error (the adapter printed it) */
};

/* Adapter flags. */
enum {
    BQ_F_SPINS = 1u << 0,      /* waits by spinning: a run may be stopped (did not finish) */
    BQ_F_SPSC = 1u << 1,       /* one producer and one consumer only */
    BQ_F_BATCH_ONLY = 1u << 2, /* exists to measure batch calls: batch > 1 only */
    BQ_F_TEST_ONLY = 1u << 3,  /* never in a matrix: only by name (test-bench) */
    BQ_F_UNBOUNDED = 1u << 4,  /* no capacity: producers never wait */
    BQ_F_BOUNDED_BLOCKING = 1u << 5, /* a bar pcq is measured against in the goals (pipe: only
                                        where the kernel gave it the capacity asked) */
    BQ_F_COUNTS_ALLOCS = 1u << 6,    /* its code is linked statically: allocation counts are real */
    BQ_F_PROCESSES_ONLY = 1u << 7    /* a peer of process runs only (--processes) */
};

struct bq_worker;

/* A worker loop: the thread function of one producer, consumer, pinger or ponger. */
typedef void *(*bq_loop_fn)(void *worker);

struct bq_ops {
    const char *name;
    const char *notes; /* for the table: how it waits, how it ends, what it carries */
    unsigned flags;
    bool available;        /* false: its package was missing at build time */
    const char *missing;   /* when not available: why, and what to install */
    size_t max_inline;     /* largest element carried by value; larger ones travel as
                              a pointer to a preallocated slot */
    size_t max_elem;       /* largest element it can carry at all (0: no limit) */
    bool has_close;        /* false: the last producer sends per-consumer sentinels */
    bool has_batch;        /* push_many/pop_many exist */

    /* Create a queue for `capacity` items of `item_size` bytes. Stores the
     * capacity it really has in *eff_cap (0: unbounded). 0 or an errno. */
    int (*create)(void **q, size_t capacity, size_t item_size, size_t *eff_cap);
    void (*destroy)(void *q);
    void (*close)(void *q); /* NULL unless has_close */

    bq_loop_fn producer, consumer, ping, pong;

    /* Process runs (--processes) only; NULL where the queue cannot cross a
     * fork. In a worker's process, before its loop: this process's handle
     * to the queue create made (a pcq handle attached here, a descriptor
     * pair with the unused end closed), given how the worker uses it
     * (writes: pushes; reads: pops); NULL when that failed (said on
     * stderr). The loops and close get what it returned. */
    void *(*in_child)(void *q, bool writes, bool reads);
    /* Optional: in the parent, once every worker is forked (a descriptor
     * pair closes both ends there, so that the stream can end). */
    void (*in_parent)(void *q);
};

/* What one run moves; shared read-only by its workers. In a process run
 * (processes) it lives, with the workers and the round trips, in memory
 * every worker process shares, and its barrier, mutex and condition
 * variable are process-shared. */
struct bq_run {
    const struct bq_ops *ops;
    void *q;         /* the queue under test, as create made it */
    void *q_back;    /* ping-pong: the reply queue */
    bool processes;  /* each worker in a process of its own (fork) */
    size_t elem_size;
    size_t batch;    /* 1: single-element calls */
    bool by_pointer; /* elements travel as pointers to slots in `arena` */
    unsigned char *arena; /* by_pointer: one slot per element of the run */
    unsigned consumers;
    unsigned workers;           /* threads in the run */
    atomic_uint producers_left; /* touched once per producer, at its end */
    uint64_t work_iters;          /* consumers: bq_work iterations per element (0: none) */
    uint64_t producer_work_iters; /* producers: the same, before each push */
    uint64_t pace_ns;             /* producers: one element per pace_ns, on absolute
                                     deadlines from the start (0: as fast as they can) */
    uint64_t round_trips, warm_trips; /* ping-pong */
    uint64_t *rtt_ns;                 /* ping-pong: one per measured round trip */
    pthread_barrier_t start;          /* every worker waits here, then all go */
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv; /* signalled as workers finish (CLOCK_MONOTONIC) */
    unsigned done;          /* done_mu: workers finished */
};

/* One worker thread's part and results. Written by that thread only
 * until it has been joined. */
struct bq_worker {
    struct bq_run *run;
    unsigned index;
    void *q, *q_back;     /* the run's queues as this worker's process holds them: the
                             run's own in threads; in a process run, what in_child gave */
    uint64_t first_value; /* producers: values first_value .. first_value + n - 1 */
    uint64_t n;           /* producers: how many to produce */
    uint64_t slot0;       /* producers: first arena slot */
    unsigned char *buf;   /* this worker's element (or batch) buffer, filled with filler */
    size_t buf_bytes;
    /* results */
    uint64_t count, sum, xr; /* elements produced or consumed, their sum and xor */
    uint64_t t_start, t_end; /* CLOCK_MONOTONIC ns, right after the barrier / at the end */
    uint64_t cpu_ns;         /* this thread's CPU time from the barrier to the end */
    uint64_t sink;           /* the per-element work's result, kept so it is not optimised out */
    uint64_t allocs;         /* allocator calls made inside the loop */
    int status;              /* BQ_OK, BQ_ABORTED or BQ_FAILED */
    char pad[64];
};

/* The value no producer ever makes: a word-carrying queue's sentinel. */
#define BQ_SENTINEL UINT64_MAX

/* Set when a run's time is up; spinning adapters poll it when they fail
 * to move an element (never on the path that moves one). */
extern atomic_bool bq_abort;

static inline bool bq_aborted(void)
{
    return atomic_load_explicit(&bq_abort, memory_order_relaxed);
}

/*
 * The per-element work of --work and --producer-work: a dependent chain of
 * multiply, add and xor-shift, so each iteration waits for the one before
 * and no compiler can vectorise or fold it. work.c times it at start-up
 * (the same inline code), so that a number of nanoseconds becomes a number
 * of iterations on this machine.
 */
static inline uint64_t bq_work(uint64_t h, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        h = h * 0x9e3779b97f4a7c15u + i;
        h ^= h >> 29;
    }
    return h;
}

/* A paced producer's wait: sleeps until CLOCK_MONOTONIC reaches t_ns
 * (clock_nanosleep, absolute, so lateness never accumulates; a deadline
 * already past returns at once). The first call in a thread shrinks its
 * timer slack so the pace holds to the µs. */
void bq_sleep_until(uint64_t t_ns);

/* Report a queue call that failed (cold path); returns BQ_FAILED. */
int bq_fail(const char *queue, const char *call, int rc);

/* A worker's first and last steps (outside its loop): begin waits at the
 * run's barrier, notes the start time, its thread's CPU time and allocator
 * count, and returns the worker's buffer; end notes the end time, CPU time
 * and allocations and reports the worker finished. */
unsigned char *bq_worker_begin(struct bq_worker *w);
void bq_worker_end(struct bq_worker *w);

/* Allocator calls made by this thread through the wrapped allocator
 * (alloc_count.c; only code linked into the benchmark binary is seen). */
uint64_t bq_thread_allocs(void);
/* Bytes asked of aligned_alloc by this thread's last call to it. */
size_t bq_thread_last_aligned_bytes(void);

/* The adapters (bench/adapters/). bq_pcq_shared is pcq over a shared
 * queue (pcq_shm.h) for process runs; bq_mq and bq_socketpair are process
 * runs' peers. */
extern const struct bq_ops bq_pcq, bq_textbook, bq_textbook_batch, bq_lossy, bq_pipe,
    bq_apr, bq_boost, bq_glib, bq_ck_spsc, bq_ck_mpmc, bq_pcq_shared, bq_mq, bq_socketpair;

/* What a process without CAP_SYS_RESOURCE may ask for as a message queue's
 * mq_maxmsg: /proc/sys/fs/mqueue/msg_max (10 if unreadable). */
size_t bq_mq_msg_max(void);

#endif
