/*
 * adapters/ck.c — Concurrency Kit's ck_ring (libck-dev): lock-free and
 * spinning, the upper reference. ck_spsc uses the single-producer single-
 * consumer calls (1x1 only); ck_mpmc the multi-producer multi-consumer ones.
 *
 * A full or empty ring is retried in a spin (ck_pr_stall), as ck's users
 * do; between tries the spin polls the run's abort flag, so a run that
 * cannot finish in its time limit is stopped and reported "did not
 * finish" instead of hanging the matrix. Rings are a power of two in size
 * and keep one slot empty: a capacity c becomes a ring of the next power of
 * two >= c (at least 2) holding one less; the real capacity is reported.
 * It carries one void * per element (8-byte elements as the word, larger
 * ones as a pointer to a preallocated slot). No close: the stream ends with
 * one sentinel per consumer.
 */
#include "../bench.h"
#include "config.h"

#if BENCH_HAVE_CK
#include <ck_pr.h>
#include <ck_ring.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

struct ck_q {
    ck_ring_t ring; /* first: the allocation is cache-line aligned */
    ck_ring_buffer_t *buf;
};

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    (void)item_size;
    size_t size = 2;
    while (size < capacity) {
        if (size > UINT_MAX / 2)
            return EINVAL;
        size *= 2;
    }
    size_t bytes = (sizeof(struct ck_q) + 63) / 64 * 64;
    struct ck_q *c = aligned_alloc(64, bytes);
    if (c == NULL)
        return ENOMEM;
    c->buf = calloc(size, sizeof *c->buf);
    if (c->buf == NULL) {
        free(c);
        return ENOMEM;
    }
    ck_ring_init(&c->ring, (unsigned)size);
    *q = c;
    *eff_cap = size - 1;
    return 0;
}

static void destroy(void *q)
{
    struct ck_q *c = q;
    free(c->buf);
    free(c);
}

/* Retry `call` until it succeeds (BQ_OK) or the run is aborted. */
#define SPIN_UNTIL(call)                                                                  \
    do {                                                                                  \
        while (!(call)) {                                                                 \
            if (bq_aborted())                                                             \
                return BQ_ABORTED;                                                        \
            ck_pr_stall();                                                                \
        }                                                                                 \
        return BQ_OK;                                                                     \
    } while (0)

static inline int spsc_push(void *q, void *word)
{
    struct ck_q *c = q;
    SPIN_UNTIL(ck_ring_enqueue_spsc(&c->ring, c->buf, word));
}

static inline int spsc_pop(void *q, void **word)
{
    struct ck_q *c = q;
    SPIN_UNTIL(ck_ring_dequeue_spsc(&c->ring, c->buf, word));
}

static inline int mpmc_push(void *q, void *word)
{
    struct ck_q *c = q;
    SPIN_UNTIL(ck_ring_enqueue_mpmc(&c->ring, c->buf, word));
}

static inline int mpmc_pop(void *q, void **word)
{
    struct ck_q *c = q;
    SPIN_UNTIL(ck_ring_dequeue_mpmc(&c->ring, c->buf, word));
}

#define LOOP_NAME ad_ck_spsc
#define LOOP_PUSH(q, x) spsc_push(q, x)
#define LOOP_POP(q, x) spsc_pop(q, x)
#define LOOP_HAS_CLOSE 0
#define LOOP_WORD
#include "../loops.h"

#define LOOP_NAME ad_ck_mpmc
#define LOOP_PUSH(q, x) mpmc_push(q, x)
#define LOOP_POP(q, x) mpmc_pop(q, x)
#define LOOP_HAS_CLOSE 0
#define LOOP_WORD
#include "../loops.h"

const struct bq_ops bq_ck_spsc = {
    .name = "ck_spsc",
    .notes = "ck_ring SPSC (libck " BENCH_CK_VERSION "), lock-free, SPINS; 1x1 only; capacity = "
             "power of two - 1; carries a void *; ends with a sentinel",
    .flags = BQ_F_SPINS | BQ_F_SPSC | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = sizeof(void *),
    .create = create,
    .destroy = destroy,
    .producer = ad_ck_spsc_producer,
    .consumer = ad_ck_spsc_consumer,
    .ping = ad_ck_spsc_ping,
    .pong = ad_ck_spsc_pong,
};

const struct bq_ops bq_ck_mpmc = {
    .name = "ck_mpmc",
    .notes = "ck_ring MPMC (libck " BENCH_CK_VERSION "), lock-free, SPINS (a run past the time "
             "limit: did not finish); capacity = power of two - 1; carries a void *; sentinels",
    .flags = BQ_F_SPINS | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = sizeof(void *),
    .create = create,
    .destroy = destroy,
    .producer = ad_ck_mpmc_producer,
    .consumer = ad_ck_mpmc_consumer,
    .ping = ad_ck_mpmc_ping,
    .pong = ad_ck_mpmc_pong,
};
#else
#define CK_MISSING                                                                        \
    "<ck_ring.h> or -lck not found at build time (make bench-deps installs libck-dev)"
const struct bq_ops bq_ck_spsc = {
    .name = "ck_spsc", .flags = BQ_F_SPINS | BQ_F_SPSC, .missing = CK_MISSING};
const struct bq_ops bq_ck_mpmc = {.name = "ck_mpmc", .flags = BQ_F_SPINS, .missing = CK_MISSING};
#endif
