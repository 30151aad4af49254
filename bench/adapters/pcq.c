/*
 * adapters/pcq.c — pcq itself: single calls (pcq_push/pcq_pop), batch calls
 * (pcq_push_many/pcq_pop_many) when the batch size is above 1, and
 * pcq_close() from the last producer to end the stream.
 */
#include "../bench.h"

#include "pcq.h"

#define EO_NAME "pcq"
#define EO_FN(op) pcq_##op
#define EO_TYPE pcq_t
#include "errno_ops.h"

#define LOOP_NAME ad_pcq
#define LOOP_PUSH(q, x) eo_push(q, x)
#define LOOP_POP(q, x) eo_pop(q, x)
#define LOOP_PUSH_MANY(q, x, n) eo_push_many(q, x, n)
#define LOOP_POP_MANY(q, x, max, got) eo_pop_many(q, x, max, got)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_pcq = {
    .name = "pcq",
    .notes = "this library; by value; ends with pcq_close; batch > 1 uses pcq_push_many/pcq_pop_many",
    .flags = BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .has_close = true,
    .has_batch = true,
    .create = eo_create,
    .destroy = eo_destroy,
    .close = eo_close,
    .producer = ad_pcq_producer,
    .consumer = ad_pcq_consumer,
    .ping = ad_pcq_ping,
    .pong = ad_pcq_pong,
};
