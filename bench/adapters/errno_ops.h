/*
 * errno_ops.h — adapter operations for a queue with pcq's conventions:
 * NAME_create(&q, capacity, elem_size); push, pop, push_many, pop_many
 * returning 0 or a positive errno, EPIPE once the queue is closed (pops:
 * closed and drained); NAME_close. Stamped once per adapter file:
 *
 *   #define EO_NAME "pcq"          the queue's function prefix, as a string
 *   #define EO_FN(op) pcq_##op     its functions
 *   #define EO_TYPE pcq_t          its handle
 *   #include "errno_ops.h"
 *
 * gives eo_create, eo_destroy, eo_close, eo_push, eo_pop, eo_push_many and
 * eo_pop_many in the adapter's terms (BQ_OK, BQ_END, BQ_FAILED); all are
 * static inline, so an adapter with a create of its own (pcq_shared) uses
 * the rest.
 */
#include <errno.h>

static inline int eo_create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    EO_TYPE *t;
    int rc = EO_FN(create)(&t, capacity, item_size);
    if (rc != 0)
        return rc;
    *q = t;
    *eff_cap = capacity;
    return 0;
}

static inline void eo_destroy(void *q) { EO_FN(destroy)(q); }
static inline void eo_close(void *q) { EO_FN(close)(q); }

static inline int eo_push(void *q, const void *elem)
{
    int rc = EO_FN(push)(q, elem);
    return rc == 0 ? BQ_OK : bq_fail(EO_NAME, EO_NAME "_push", rc);
}

static inline int eo_pop(void *q, void *out)
{
    int rc = EO_FN(pop)(q, out);
    return rc == 0 ? BQ_OK : rc == EPIPE ? BQ_END : bq_fail(EO_NAME, EO_NAME "_pop", rc);
}

static inline int eo_push_many(void *q, const void *elems, size_t n)
{
    size_t pushed;
    int rc = EO_FN(push_many)(q, elems, n, &pushed);
    return rc == 0 ? BQ_OK : bq_fail(EO_NAME, EO_NAME "_push_many", rc);
}

static inline int eo_pop_many(void *q, void *out, size_t max, size_t *got)
{
    int rc = EO_FN(pop_many)(q, out, max, got);
    return rc == 0 ? BQ_OK : rc == EPIPE ? BQ_END : bq_fail(EO_NAME, EO_NAME "_pop_many", rc);
}
