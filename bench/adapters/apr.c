/*
 * adapters/apr.c — APR-util's apr_queue (libaprutil1-dev): the classic
 * bounded blocking queue in C. It carries one void * per element: 8-byte
 * elements travel as the word, larger ones as a pointer to a preallocated
 * slot (loops.h). apr_queue_term() discards what is still queued, so the
 * stream ends with one sentinel per consumer instead. apr_queue_push/pop
 * return APR_EINTR on a wake-up that found nothing to do; callers retry,
 * as APR's users must.
 */
#include "../bench.h"
#include "config.h"

#if BENCH_HAVE_APR
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_queue.h>
#include <errno.h>
#include <limits.h>

struct apr_q {
    apr_pool_t *pool;
    apr_queue_t *q;
};

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    static bool initialised; /* create runs on the main thread only */
    (void)item_size;
    if (capacity > UINT_MAX)
        return EINVAL;
    if (!initialised) {
        if (apr_initialize() != APR_SUCCESS)
            return ENOMEM;
        initialised = true;
    }
    apr_pool_t *pool;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return ENOMEM;
    struct apr_q *a = apr_palloc(pool, sizeof *a);
    a->pool = pool;
    if (apr_queue_create(&a->q, (unsigned)capacity, pool) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return ENOMEM;
    }
    *q = a;
    *eff_cap = capacity;
    return 0;
}

static void destroy(void *q) { apr_pool_destroy(((struct apr_q *)q)->pool); }

static inline int push(void *q, void *word)
{
    apr_queue_t *aq = ((struct apr_q *)q)->q;
    apr_status_t rv;
    do
        rv = apr_queue_push(aq, word);
    while (rv == APR_EINTR);
    return rv == APR_SUCCESS ? BQ_OK : bq_fail("apr_queue", "apr_queue_push", rv);
}

static inline int pop(void *q, void **word)
{
    apr_queue_t *aq = ((struct apr_q *)q)->q;
    apr_status_t rv;
    do
        rv = apr_queue_pop(aq, word);
    while (rv == APR_EINTR);
    return rv == APR_SUCCESS ? BQ_OK : bq_fail("apr_queue", "apr_queue_pop", rv);
}

#define LOOP_NAME ad_apr
#define LOOP_PUSH(q, x) push(q, x)
#define LOOP_POP(q, x) pop(q, x)
#define LOOP_HAS_CLOSE 0
#define LOOP_WORD
#include "../loops.h"

const struct bq_ops bq_apr = {
    .name = "apr_queue",
    .notes = "APR-util apr_queue " BENCH_APR_VERSION ", bounded, blocking; carries a void *; "
             "ends with per-consumer sentinels (apr_queue_term drops queued elements)",
    .flags = BQ_F_BOUNDED_BLOCKING,
    .available = true,
    .max_inline = sizeof(void *),
    .create = create,
    .destroy = destroy,
    .producer = ad_apr_producer,
    .consumer = ad_apr_consumer,
    .ping = ad_apr_ping,
    .pong = ad_apr_pong,
};
#else
const struct bq_ops bq_apr = {
    .name = "apr_queue",
    .flags = BQ_F_BOUNDED_BLOCKING,
    .missing = "apr-util-1 not found by pkg-config at build time (make bench-deps installs "
               "libaprutil1-dev)",
};
#endif
