/*
 * loops.h — the worker loops, stamped out once per adapter.
 *
 * An adapter file defines its operations as static functions, then
 *
 *   #define LOOP_NAME      textbook            prefix of the generated loops
 *   #define LOOP_PUSH(q, x)  ...               one element; BQ_OK or BQ_* code
 *   #define LOOP_POP(q, x)   ...               BQ_OK, BQ_END, BQ_ABORTED, BQ_FAILED
 *   #define LOOP_HAS_CLOSE 1                   0: the last producer sends sentinels
 *   optional, element-carrying adapters only:
 *   #define LOOP_PUSH_MANY(q, elems, n)        all n
 *   #define LOOP_POP_MANY(q, out, max, got)    1..max, count in *got
 *   #define LOOP_WORD                          the queue carries one pointer-sized
 *                                              word per element (see below)
 *   #include "loops.h"
 *
 * and gets LOOP_NAME_producer, _consumer, _ping and _pong (bq_loop_fn).
 * Every queue call in a loop is a direct call, so the compiler can inline
 * the adapter's wrapper and leave only the queue's own call.
 *
 * Element-carrying adapters (pcq, textbook, pipe) get a pointer to the
 * elem_size bytes of the element and copy them in and out by value.
 * Word-carrying adapters (APR, GLib, ck_ring) move one void *: an 8-byte
 * element travels as the word itself; a larger one is written by its
 * producer into a preallocated slot of the run's arena (one slot per
 * element, so no slot is ever reused while a consumer may read it) and the
 * slot's address travels; the consumer copies the element out of the slot.
 * Both kinds copy the same bytes per element: in once, out once.
 *
 * Per-element work (--work, --producer-work) and pacing sit behind one
 * test of loop-invariant values, so a run without them pays a predicted
 * branch and nothing else; the work's result goes to the worker's sink.
 *
 * Values: producer p makes first_value .. first_value + n - 1 (distinct
 * over all producers, never 0, never BQ_SENTINEL) in the element's first 8
 * bytes; producers and consumers each keep count, sum and xor in locals,
 * compared after the join. The rest of an element keeps whatever filler the
 * worker's buffer was given before the barrier.
 */
#include <string.h>

#ifndef LOOP_NAME
#error "define LOOP_NAME, LOOP_PUSH, LOOP_POP and LOOP_HAS_CLOSE before including loops.h"
#endif

#ifndef BQ_LOOPS_ONCE
#define BQ_LOOPS_ONCE
#define BQ_CAT2(a, b) a##_##b
#define BQ_CAT(a, b) BQ_CAT2(a, b)
#if defined(__GNUC__) || defined(__clang__)
#define BQ_INLINE static inline __attribute__((always_inline))
#else
#define BQ_INLINE static inline
#endif
static inline uint64_t bq_load_value(const unsigned char *elem)
{
    uint64_t v;
    memcpy(&v, elem, sizeof v);
    return v;
}
static inline void bq_store_value(unsigned char *elem, uint64_t v)
{
    memcpy(elem, &v, sizeof v);
}
/* A loop's results, stored once at its end. */
static inline void bq_store_results(struct bq_worker *w, uint64_t count, uint64_t sum, uint64_t xr)
{
    w->count = count;
    w->sum = sum;
    w->xr = xr;
}
#endif

#define LOOP_FN(x) BQ_CAT(LOOP_NAME, x)

/* The end of the stream, sent by the last producer to finish: everything
 * any producer pushed is in the queue before it (the others' pushes
 * happened before their decrement of producers_left). */
static int LOOP_FN(end_stream)(struct bq_worker *w)
{
    struct bq_run *r = w->run;
    if (atomic_fetch_sub(&r->producers_left, 1) != 1)
        return BQ_OK;
#if LOOP_HAS_CLOSE
    r->ops->close(w->q);
    return BQ_OK;
#else
    for (unsigned i = 0; i < r->consumers; i++) {
#ifdef LOOP_WORD
        int rc = LOOP_PUSH(w->q, (void *)UINTPTR_MAX);
#else
        /* A whole element: a queue of messages takes elem_size bytes. */
        unsigned char *s = w->buf;
        bq_store_value(s, BQ_SENTINEL);
        int rc = LOOP_PUSH(w->q, s);
#endif
        if (rc != BQ_OK)
            return rc;
    }
    return BQ_OK;
#endif
}

/* ---- single-element calls ---------------------------------------- */

BQ_INLINE int LOOP_FN(produce_one)(struct bq_worker *w, unsigned char *elem, const bool by_ptr)
{
    const struct bq_run *r = w->run;
    void *q = w->q;
    const size_t esz = r->elem_size;
    uint64_t v = w->first_value;
    const uint64_t end = v + w->n;
    uint64_t sum = 0, xr = 0;
    const uint64_t pw = r->producer_work_iters, pace = r->pace_ns;
    uint64_t h = 0, deadline = w->t_start;
    int rc = BQ_OK;
#ifdef LOOP_WORD
    unsigned char *slot = r->arena + w->slot0 * esz;
#else
    (void)by_ptr;
    (void)esz;
#endif
    for (; v < end; v++) {
        if (pw != 0 || pace != 0) {
            h = bq_work(h ^ v, pw);
            if (pace != 0)
                bq_sleep_until(deadline += pace);
        }
        bq_store_value(elem, v);
#ifdef LOOP_WORD
        if (by_ptr) {
            memcpy(slot, elem, esz);
            rc = LOOP_PUSH(q, slot);
            slot += esz;
        } else {
            rc = LOOP_PUSH(q, (void *)(uintptr_t)v);
        }
#else
        rc = LOOP_PUSH(q, elem);
#endif
        if (rc != BQ_OK)
            break;
        sum += v;
        xr ^= v;
    }
    bq_store_results(w, v - w->first_value, sum, xr);
    w->sink = h;
    return rc;
}

BQ_INLINE int LOOP_FN(consume_one)(struct bq_worker *w, unsigned char *elem, const bool by_ptr)
{
    const struct bq_run *r = w->run;
    void *q = w->q;
    const size_t esz = r->elem_size;
    uint64_t count = 0, sum = 0, xr = 0;
    const uint64_t cw = r->work_iters;
    uint64_t h = 0;
    int rc;
    for (;;) {
        uint64_t v;
#ifdef LOOP_WORD
        void *word;
        rc = LOOP_POP(q, &word);
        if (rc != BQ_OK)
            break;
        if ((uintptr_t)word == UINTPTR_MAX)
            break; /* this consumer's sentinel */
        if (by_ptr) {
            memcpy(elem, word, esz);
            v = bq_load_value(elem);
        } else {
            v = (uint64_t)(uintptr_t)word;
        }
#else
        (void)by_ptr;
        (void)esz;
        rc = LOOP_POP(q, elem);
        if (rc != BQ_OK)
            break;
        v = bq_load_value(elem);
#if !LOOP_HAS_CLOSE
        if (v == BQ_SENTINEL)
            break;
#endif
#endif
        if (cw != 0)
            h = bq_work(h ^ v, cw);
        count++;
        sum += v;
        xr ^= v;
    }
    bq_store_results(w, count, sum, xr);
    w->sink = h;
    return rc == BQ_END ? BQ_OK : rc;
}

/* ---- batch calls (element-carrying adapters) ---------------------- */

#ifdef LOOP_PUSH_MANY
static int LOOP_FN(produce_many)(struct bq_worker *w, unsigned char *buf)
{
    const struct bq_run *r = w->run;
    void *q = w->q;
    const size_t esz = r->elem_size, b = r->batch;
    const uint64_t first = w->first_value, end = first + w->n;
    const uint64_t pw = r->producer_work_iters;
    uint64_t v = first, sum = 0, xr = 0, h = 0;
    int rc = BQ_OK;
    while (v < end) {
        size_t k = end - v < b ? (size_t)(end - v) : b;
        for (size_t j = 0; j < k; j++, v++) {
            if (pw != 0)
                h = bq_work(h ^ v, pw);
            sum += v;
            xr ^= v;
            bq_store_value(buf + j * esz, v);
        }
        rc = LOOP_PUSH_MANY(q, buf, k);
        if (rc != BQ_OK) {
            v -= k; /* an error: count none of this batch */
            break;
        }
    }
    bq_store_results(w, v - first, sum, xr);
    w->sink = h;
    return rc;
}

static int LOOP_FN(consume_many)(struct bq_worker *w, unsigned char *buf)
{
    const struct bq_run *r = w->run;
    void *q = w->q;
    const size_t esz = r->elem_size, b = r->batch;
    const uint64_t cw = r->work_iters;
    uint64_t count = 0, sum = 0, xr = 0, h = 0;
    int rc;
    for (;;) {
        size_t got = 0;
        rc = LOOP_POP_MANY(q, buf, b, &got);
        if (rc != BQ_OK)
            break;
        for (size_t j = 0; j < got; j++) {
            uint64_t v = bq_load_value(buf + j * esz);
            if (cw != 0)
                h = bq_work(h ^ v, cw);
            sum += v;
            xr ^= v;
        }
        count += got;
    }
    bq_store_results(w, count, sum, xr);
    w->sink = h;
    return rc == BQ_END ? BQ_OK : rc;
}
#endif

/* ---- thread functions --------------------------------------------- */

static void *LOOP_FN(producer)(void *arg)
{
    struct bq_worker *w = arg;
    struct bq_run *r = w->run;
    unsigned char *buf = bq_worker_begin(w);
    int rc;
#ifdef LOOP_PUSH_MANY
    if (r->batch > 1)
        rc = LOOP_FN(produce_many)(w, buf);
    else
#endif
    if (r->by_pointer)
        rc = LOOP_FN(produce_one)(w, buf, true);
    else
        rc = LOOP_FN(produce_one)(w, buf, false);
    /* Even after an error the stream must end, or consumers would wait forever. */
    int end_rc = LOOP_FN(end_stream)(w);
    w->status = rc != BQ_OK ? rc : end_rc;
    bq_worker_end(w);
    return NULL;
}

static void *LOOP_FN(consumer)(void *arg)
{
    struct bq_worker *w = arg;
    unsigned char *buf = bq_worker_begin(w);
#ifdef LOOP_POP_MANY
    if (w->run->batch > 1)
        w->status = LOOP_FN(consume_many)(w, buf);
    else
#endif
    if (w->run->by_pointer)
        w->status = LOOP_FN(consume_one)(w, buf, true);
    else
        w->status = LOOP_FN(consume_one)(w, buf, false);
    bq_worker_end(w);
    return NULL;
}

/* ---- ping-pong: one element bouncing over two queues --------------- */

#ifdef LOOP_WORD
#define LOOP_BOUNCE_PUSH(q, v, elem) ((void)(elem), LOOP_PUSH(q, (void *)(uintptr_t)(v)))
#define LOOP_BOUNCE_POP(q, v, elem)                                           \
    do {                                                                      \
        void *word_;                                                          \
        (void)(elem);                                                         \
        rc = LOOP_POP(q, &word_);                                             \
        v = (uint64_t)(uintptr_t)word_;                                       \
    } while (0)
#else
#define LOOP_BOUNCE_PUSH(q, v, elem) (bq_store_value(elem, v), LOOP_PUSH(q, elem))
#define LOOP_BOUNCE_POP(q, v, elem)                                           \
    do {                                                                      \
        rc = LOOP_POP(q, elem);                                               \
        v = bq_load_value(elem);                                              \
    } while (0)
#endif

/* The pinger sends 1, 2, 3 ... and times each round trip; the reply must
 * be the value it sent. */
static void *LOOP_FN(ping)(void *arg)
{
    struct bq_worker *w = arg;
    const struct bq_run *r = w->run;
    unsigned char *elem = bq_worker_begin(w);
    const uint64_t warm = r->warm_trips, total = warm + r->round_trips;
    uint64_t sum = 0, xr = 0, t;
    int rc = BQ_OK;
    for (t = 0; t < total; t++) {
        uint64_t v = t + 1, back = 0;
        uint64_t t0 = pcq__now_ns();
        rc = LOOP_BOUNCE_PUSH(w->q, v, elem);
        if (rc != BQ_OK)
            break;
        LOOP_BOUNCE_POP(w->q_back, back, elem);
        uint64_t t1 = pcq__now_ns();
        if (rc != BQ_OK)
            break;
        if (back != v) {
            rc = BQ_FAILED;
            break;
        }
        sum += v;
        xr ^= v;
        if (t >= warm)
            r->rtt_ns[t - warm] = t1 - t0;
    }
    bq_store_results(w, t, sum, xr);
    w->status = rc;
    bq_worker_end(w);
    return NULL;
}

static void *LOOP_FN(pong)(void *arg)
{
    struct bq_worker *w = arg;
    const struct bq_run *r = w->run;
    unsigned char *elem = bq_worker_begin(w);
    const uint64_t total = r->warm_trips + r->round_trips;
    uint64_t sum = 0, xr = 0, t;
    int rc = BQ_OK;
    for (t = 0; t < total; t++) {
        uint64_t v = 0;
        LOOP_BOUNCE_POP(w->q, v, elem);
        if (rc != BQ_OK)
            break;
        rc = LOOP_BOUNCE_PUSH(w->q_back, v, elem);
        if (rc != BQ_OK)
            break;
        sum += v;
        xr ^= v;
    }
    bq_store_results(w, t, sum, xr);
    w->status = rc;
    bq_worker_end(w);
    return NULL;
}

#undef LOOP_BOUNCE_PUSH
#undef LOOP_BOUNCE_POP
#undef LOOP_FN
#undef LOOP_NAME
#undef LOOP_PUSH
#undef LOOP_POP
#undef LOOP_HAS_CLOSE
#undef LOOP_PUSH_MANY
#undef LOOP_POP_MANY
#undef LOOP_WORD
