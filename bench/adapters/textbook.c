/*
 * adapters/textbook.c — the afternoon baseline (baselines/textbook.c) in
 * three roles:
 *   textbook        single-element calls
 *   textbook_batch  its naive batch calls (batch sizes above 1 only)
 *   lossy           textbook that silently drops one element in
 *                   LOSSY_EVERY: never in a matrix; `make test-bench` runs
 *                   the harness against it and expects the verification
 *                   to fail.
 * All three end the stream with textbook_close.
 */
#include "../bench.h"

#include <errno.h>
#include <stdlib.h>

#include "../baselines/textbook.h"

#define EO_NAME "textbook"
#define EO_FN(op) textbook_##op
#define EO_TYPE textbook_t
#include "errno_ops.h"

#define LOOP_NAME ad_textbook
#define LOOP_PUSH(q, x) eo_push(q, x)
#define LOOP_POP(q, x) eo_pop(q, x)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_textbook = {
    .name = "textbook",
    .notes = "baselines/textbook.c: mutex + 2 condvars, signals on every push and pop; by value; "
             "ends with close",
    .flags = BQ_F_BOUNDED_BLOCKING | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .has_close = true,
    .create = eo_create,
    .destroy = eo_destroy,
    .close = eo_close,
    .producer = ad_textbook_producer,
    .consumer = ad_textbook_consumer,
    .ping = ad_textbook_ping,
    .pong = ad_textbook_pong,
};

/* textbook_batch: a single element is a batch of one. */
static inline int pop_one_of_many(void *q, void *out)
{
    size_t got;
    return eo_pop_many(q, out, 1, &got);
}

#define LOOP_NAME ad_textbook_batch
#define LOOP_PUSH(q, x) eo_push_many(q, x, 1)
#define LOOP_POP(q, x) pop_one_of_many(q, x)
#define LOOP_PUSH_MANY(q, x, n) eo_push_many(q, x, n)
#define LOOP_POP_MANY(q, x, max, got) eo_pop_many(q, x, max, got)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_textbook_batch = {
    .name = "textbook_batch",
    .notes = "the textbook ring's naive batch calls: lock once per call, copy what fits, "
             "broadcast after every batch",
    .flags = BQ_F_BATCH_ONLY | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .has_close = true,
    .has_batch = true,
    .create = eo_create,
    .destroy = eo_destroy,
    .close = eo_close,
    .producer = ad_textbook_batch_producer,
    .consumer = ad_textbook_batch_consumer,
    .ping = ad_textbook_batch_ping,
    .pong = ad_textbook_batch_pong,
};

/* ---- lossy: the verification's self-test -------------------------- */

#define LOSSY_EVERY 997

struct lossy {
    textbook_t *tb;
    atomic_ulong pushes; /* elements offered so far, over all producers */
};

static int lossy_create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    struct lossy *l = malloc(sizeof *l);
    if (l == NULL)
        return ENOMEM;
    int rc = textbook_create(&l->tb, capacity, item_size);
    if (rc != 0) {
        free(l);
        return rc;
    }
    atomic_init(&l->pushes, 0);
    *q = l;
    *eff_cap = capacity;
    return 0;
}

static void lossy_destroy(void *q)
{
    struct lossy *l = q;
    textbook_destroy(l->tb);
    free(l);
}

static void lossy_close(void *q) { textbook_close(((struct lossy *)q)->tb); }

/* Whether the batch of n elements starting at offer number `from` holds a
 * multiple of LOSSY_EVERY: then one element of it is dropped. */
static bool lossy_drops(unsigned long from, size_t n)
{
    return (from % LOSSY_EVERY) + n > LOSSY_EVERY - 1;
}

static int lossy_push(void *q, const void *elem)
{
    struct lossy *l = q;
    if (lossy_drops(atomic_fetch_add(&l->pushes, 1), 1))
        return BQ_OK; /* "pushed" */
    return eo_push(l->tb, elem);
}

static int lossy_push_many(void *q, const void *elems, size_t n)
{
    struct lossy *l = q;
    if (lossy_drops(atomic_fetch_add(&l->pushes, n), n))
        n--; /* the last element of this batch never goes in */
    return n == 0 ? BQ_OK : eo_push_many(l->tb, elems, n);
}

static int lossy_pop(void *q, void *out) { return eo_pop(((struct lossy *)q)->tb, out); }

static int lossy_pop_many(void *q, void *out, size_t max, size_t *got)
{
    return eo_pop_many(((struct lossy *)q)->tb, out, max, got);
}

#define LOOP_NAME ad_lossy
#define LOOP_PUSH(q, x) lossy_push(q, x)
#define LOOP_POP(q, x) lossy_pop(q, x)
#define LOOP_PUSH_MANY(q, x, n) lossy_push_many(q, x, n)
#define LOOP_POP_MANY(q, x, max, got) lossy_pop_many(q, x, max, got)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_lossy = {
    .name = "lossy",
    .notes = "TEST ONLY: textbook dropping one element in 997; its runs must fail verification",
    .flags = BQ_F_TEST_ONLY,
    .available = true,
    .max_inline = SIZE_MAX,
    .has_close = true,
    .has_batch = true,
    .create = lossy_create,
    .destroy = lossy_destroy,
    .close = lossy_close,
    .producer = ad_lossy_producer,
    .consumer = ad_lossy_consumer,
    .ping = ad_lossy_ping,
    .pong = ad_lossy_pong,
};
