/*
 * adapters/boost.c — Boost.Thread's sync_bounded_queue (boost.cpp, through
 * boost.h's extern "C" calls): the worker loops are C (loops.h), stamped
 * around direct calls into the C++ file, as for every other adapter. It
 * carries one void * per element (8-byte elements as the word, larger ones
 * as a pointer to a preallocated slot) and ends the stream with close(),
 * which keeps queued elements for the consumers to drain.
 */
#include "../bench.h"
#include "config.h"

#if BENCH_HAVE_BOOST
#include <errno.h>

#include "boost.h"

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    (void)item_size;
    bq_boost_queue *b;
    int rc = bq_boost_create(&b, capacity);
    if (rc != 0)
        return rc;
    *q = b;
    *eff_cap = capacity;
    return 0;
}

static void destroy(void *q) { bq_boost_destroy(q); }
static void close_q(void *q) { bq_boost_close(q); }

static inline int push(void *q, void *word)
{
    int rc = bq_boost_push(q, word);
    return rc == 0 ? BQ_OK : bq_fail("boost", "wait_push_back", rc);
}

static inline int pop(void *q, void **word)
{
    int rc = bq_boost_pop(q, word);
    return rc == 0 ? BQ_OK : rc == EPIPE ? BQ_END : bq_fail("boost", "wait_pull_front", rc);
}

#define LOOP_NAME ad_boost
#define LOOP_PUSH(q, x) push(q, x)
#define LOOP_POP(q, x) pop(q, x)
#define LOOP_HAS_CLOSE 1
#define LOOP_WORD
#include "../loops.h"

const struct bq_ops bq_boost = {
    .name = "boost",
    .notes = "Boost.Thread " BENCH_BOOST_VERSION " sync_bounded_queue, bounded, blocking "
             "(C++, BOOST_THREAD_VERSION 4); carries a void *; ends with close",
    .flags = BQ_F_BOUNDED_BLOCKING,
    .available = true,
    .max_inline = sizeof(void *),
    .has_close = true,
    .create = create,
    .destroy = destroy,
    .close = close_q,
    .producer = ad_boost_producer,
    .consumer = ad_boost_consumer,
    .ping = ad_boost_ping,
    .pong = ad_boost_pong,
};
#else
const struct bq_ops bq_boost = {
    .name = "boost",
    .flags = BQ_F_BOUNDED_BLOCKING,
    .missing = "Boost.Thread's sync_bounded_queue not found at build time, or no C++17 "
               "compiler (make bench-deps installs libboost-thread-dev)",
};
#endif
