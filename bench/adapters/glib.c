/*
 * adapters/glib.c — GLib's GAsyncQueue (libglib2.0-dev). UNBOUNDED: its
 * producers never wait, so it is shown but is never a bar pcq is held to. It
 * carries one non-NULL gpointer per element (values are never 0): 8-byte
 * elements travel as the word, larger ones as a pointer to a preallocated
 * slot. No close: the stream ends with one sentinel per consumer.
 */
#include "../bench.h"
#include "config.h"

#if BENCH_HAVE_GLIB
#include <errno.h>
#include <glib.h>

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    (void)capacity;
    (void)item_size;
    *q = g_async_queue_new();
    *eff_cap = 0; /* unbounded */
    return *q != NULL ? 0 : ENOMEM;
}

static void destroy(void *q) { g_async_queue_unref(q); }

static inline int push(void *q, void *word)
{
    g_async_queue_push(q, word);
    return BQ_OK;
}

static inline int pop(void *q, void **word)
{
    *word = g_async_queue_pop(q);
    return BQ_OK;
}

#define LOOP_NAME ad_glib
#define LOOP_PUSH(q, x) push(q, x)
#define LOOP_POP(q, x) pop(q, x)
#define LOOP_HAS_CLOSE 0
#define LOOP_WORD
#include "../loops.h"

const struct bq_ops bq_glib = {
    .name = "gasyncqueue",
    .notes = "GLib GAsyncQueue " BENCH_GLIB_VERSION ", UNBOUNDED (producers never wait; no bar), "
             "blocking pops; carries a gpointer; ends with per-consumer sentinels",
    .flags = BQ_F_UNBOUNDED,
    .available = true,
    .max_inline = sizeof(void *),
    .create = create,
    .destroy = destroy,
    .producer = ad_glib_producer,
    .consumer = ad_glib_consumer,
    .ping = ad_glib_ping,
    .pong = ad_glib_pong,
};
#else
const struct bq_ops bq_glib = {
    .name = "gasyncqueue",
    .flags = BQ_F_UNBOUNDED,
    .missing = "glib-2.0 not found by pkg-config at build time (make bench-deps installs "
               "libglib2.0-dev)",
};
#endif
