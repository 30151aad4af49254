/*
 * driver.c — producer and consumer threads over a pcq_t (pcq_driver.h).
 *
 * Design
 * ------
 * pcq_run() allocates everything up front (one worker record and one batch
 * buffer per thread), so ENOMEM means nothing ran. It starts the consumers,
 * then the producers, then joins them all, in the calling thread.
 *
 * The end of a normal run: each producer, when its produce callback says it
 * is done, decrements `producers_left` under run->mu; the last one marks the
 * run `done` and closes the queue. Consumers pop until the queue reports
 * EPIPE (closed and empty): everything pushed has then been consumed.
 *
 * The end of a failed run (fail()): the first error is recorded under
 * run->mu, `stop` is raised, the queue is closed and on_stop is called.
 * Closing wakes every thread blocked in the queue: blocked pushes fail with
 * EPIPE, blocked pops return what is left or EPIPE. Closing alone does not
 * stop consumers (pops drain a closed queue), hence `stop`, which every
 * thread tests before each callback. What is left is counted (and handed to
 * dispose) by pcq_run() after the joins, when no other thread runs.
 *
 * `stop` is the one field read without the lock: it is polled once per
 * callback, and a mutex there would put a second lock on the hot path. It is
 * a C11 atomic (release store under mu, acquire load) and is annotated for
 * Helgrind and DRD, which do not model C11 atomics. Nothing is published
 * through it: the error itself is read under mu.
 *
 * A consumer that sees EPIPE asks run->mu whether the driver closed the
 * queue (`done` or an error) or someone else did; the latter is an error of
 * its own (EPIPE), so a run whose queue is closed from outside never
 * reports success with elements unproduced.
 *
 * Waits are counted as the header promises: a try call first; when it finds
 * the queue full (empty) the thread counts a wait, calls on_wait, and makes
 * the blocking call. A lingering consumer (consume_min > 1 or a linger,
 * pop_linger()) keeps what its try took, and when that is fewer than min
 * counts one wait and gathers the rest with pcq_pop_batch.
 *
 * An abort of the queue by someone else (pcq_abort) makes the next queue
 * call of every thread return ECANCELED, which fails the run like any
 * error; the leftovers are then taken with pcq_drain, which works on an
 * aborted queue too.
 */
#include "pcq_driver.h"
#include "annotate.h"
#include "fatal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The first version of pcq_driver_t ends with consumer_stats; the second
 * (0.2) with consume_linger_ns. A size between the two ends inside a field. */
#define DRIVER_V1_SIZE                                                     \
    (offsetof(pcq_driver_t, consumer_stats) + sizeof(pcq_thread_stats_t *))
#define DRIVER_V2_SIZE (offsetof(pcq_driver_t, consume_linger_ns) + sizeof(uint64_t))

struct run;

/* One driver thread. Written by its thread only; read by pcq_run() after
 * the join (which orders the two). */
struct worker {
    struct run *run;
    pcq_role_t role;
    unsigned index;
    bool started;          /* pcq_run(): pthread_create succeeded */
    pthread_t tid;
    unsigned char *buf;    /* batch buffer: batch * elem_size bytes */
    size_t left_off;       /* producer: elements of buf still held after */
    size_t left_n;         /*   the queue refused them (a failed push) */
    pcq_thread_stats_t st; /* stored by the thread as it ends */
};

struct run {
    pcq_driver_t d; /* immutable: the caller's settings, defaults applied */
    size_t esz;     /* immutable: the queue's element size */
    bool linger;    /* immutable: consumers use pop_linger() */

    pthread_mutex_t mu;
    unsigned producers_left; /* mu: producers not finished */
    bool done;               /* mu: the last producer finished and closed the queue */
    int error;               /* mu: the first error, 0 if none */
    bool error_thread;       /* mu: error came from a driver thread ... */
    pcq_role_t error_role;   /* mu:   ... on this side */
    unsigned error_index;    /* mu:   ... with this index */

    atomic_bool stop; /* atomic: raised (under mu) on the first error */
};

static void run_lock(struct run *r) { PCQ_CHECK(pthread_mutex_lock(&r->mu)); }
static void run_unlock(struct run *r) { PCQ_CHECK(pthread_mutex_unlock(&r->mu)); }

static bool stopped(struct run *r)
{
    return atomic_load_explicit(&r->stop, memory_order_acquire);
}

/*
 * Record an error. The first one stops the run: it closes the queue so no
 * thread stays blocked in it, and calls on_stop so that callbacks blocked
 * elsewhere can be woken. Returns the code the reporting thread should keep
 * as its own reason to stop: its own error, or ECANCELED for an EPIPE that
 * only echoes the close of an earlier error.
 */
static int fail(struct run *r, int rc, bool thread, pcq_role_t role, unsigned index)
{
    run_lock(r);
    bool first = r->error == 0;
    if (first) {
        r->error = rc;
        r->error_thread = thread;
        r->error_role = role;
        r->error_index = index;
    }
    atomic_store_explicit(&r->stop, true, memory_order_release);
    run_unlock(r);
    if (!first)
        return rc == EPIPE ? ECANCELED : rc;
    /* Outside mu: pcq_close takes the queue's lock, and on_stop is the
     * caller's code; neither may run under a lock a callback could want. */
    pcq_close(r->d.queue);
    if (r->d.on_stop != NULL)
        r->d.on_stop(r->d.arg, rc);
    return rc;
}

/* A producer finished (or never started): the last one closes the queue. */
static void producers_finished(struct run *r, unsigned n)
{
    run_lock(r);
    r->producers_left -= n;
    bool last = r->producers_left == 0;
    if (last && r->error == 0)
        r->done = true; /* before the close: a consumer seeing EPIPE reads it */
    run_unlock(r);
    if (last)
        pcq_close(r->d.queue);
}

/* Push the n elements in w->buf: try first; when the queue is full, count
 * a wait, call on_wait, then block for the rest. */
static int push_batch(struct worker *w, size_t n, size_t *pushed, uint64_t *waits)
{
    struct run *r = w->run;
    pcq_t *q = r->d.queue;
    size_t k = 0;
    int rc;
    if (n == 1) {
        rc = pcq_try_push(q, w->buf);
        k = rc == 0;
    } else {
        rc = pcq_try_push_many(q, w->buf, n, &k);
    }
    if ((rc == 0 && k == n) || (rc != 0 && rc != EAGAIN)) {
        *pushed = k;
        return rc;
    }
    (*waits)++;
    if (r->d.on_wait != NULL)
        r->d.on_wait(r->d.arg, PCQ_PRODUCER, w->index);
    size_t k2 = 0;
    if (n - k == 1) {
        rc = pcq_push(q, w->buf + k * r->esz);
        k2 = rc == 0;
    } else {
        rc = pcq_push_many(q, w->buf + k * r->esz, n - k, &k2);
    }
    *pushed = k + k2;
    return rc;
}

/* Pop up to a batch into w->buf: try first; when the queue is empty, count
 * a wait, call on_wait, then block. */
static int pop_batch(struct worker *w, size_t *popped, uint64_t *waits)
{
    struct run *r = w->run;
    pcq_t *q = r->d.queue;
    const size_t batch = r->d.consume_batch;
    int rc;
    for (int blocking = 0;; blocking = 1) {
        if (batch == 1) {
            rc = blocking ? pcq_pop(q, w->buf) : pcq_try_pop(q, w->buf);
            *popped = rc == 0;
        } else if (blocking) {
            rc = pcq_pop_many(q, w->buf, batch, popped);
        } else {
            rc = pcq_try_pop_many(q, w->buf, batch, popped);
        }
        if (rc != EAGAIN || blocking)
            return rc;
        (*waits)++;
        if (r->d.on_wait != NULL)
            r->d.on_wait(r->d.arg, PCQ_CONSUMER, w->index);
    }
}

/* An absolute CLOCK_MONOTONIC deadline `ns` from now; false when it lies
 * beyond what the clock counts (then there is none: wait without one). */
static bool deadline_after(uint64_t ns, struct timespec *out)
{
    uint64_t now = pcq__now_ns();
    if (ns > UINT64_MAX - now)
        return false;
    uint64_t t = now + ns;
    out->tv_sec = (time_t)(t / 1000000000u);
    out->tv_nsec = (long)(t % 1000000000u);
    return true;
}

/*
 * A lingering consumer's batch (pcq_driver.h, "Lingering consumers"): the
 * try takes what is there; with fewer than min, one wait is counted and
 * pcq_pop_batch gathers the rest into the same buffer, after the elements
 * already held. pcq_pop_batch returns 0 with fewer than it was asked for
 * when the deadline has passed, when the queue is closed, or when min is
 * above the capacity (a full queue); the loop asks again, and the next call
 * returns at once in the first two cases (ETIMEDOUT, EPIPE) and gathers
 * another full queue in the third. An error with elements held is reported
 * on the next call: those elements are consumed first, nothing is lost.
 */
static int pop_linger(struct worker *w, size_t *popped, uint64_t *waits)
{
    struct run *r = w->run;
    pcq_t *q = r->d.queue;
    const size_t min = r->d.consume_min, max = r->d.consume_batch;
    size_t k = 0;
    int rc = pcq_try_pop_many(q, w->buf, max, &k);
    if ((rc == 0 && k >= min) || (rc != 0 && rc != EAGAIN)) {
        *popped = k;
        return rc;
    }
    (*waits)++;
    if (r->d.on_wait != NULL)
        r->d.on_wait(r->d.arg, PCQ_CONSUMER, w->index);
    struct timespec deadline;
    bool timed = false, armed = false, idle = false;
    for (;;) {
        /* The linger starts at the first blocking call, and again at the
         * first element after a linger that found the queue empty. */
        if (!armed && !idle && r->d.consume_linger_ns > 0) {
            timed = deadline_after(r->d.consume_linger_ns, &deadline);
            armed = true;
        }
        size_t n = 0;
        if (idle) /* lingered in vain: the next element, without a time limit */
            rc = pcq_pop_batch(q, w->buf + k * r->esz, 1, max - k, NULL, &n);
        else
            rc = pcq_pop_batch(q, w->buf + k * r->esz, min - k, max - k,
                               timed ? &deadline : NULL, &n);
        k += n;
        if (rc == ETIMEDOUT && k == 0) {
            idle = true;
            continue;
        }
        if (rc != 0 || k >= min)
            break;
        if (idle) /* the first element after an idle linger: linger anew */
            idle = armed = false;
    }
    *popped = k;
    return k > 0 ? 0 : rc;
}

/* Thread bodies keep their counters in a local copy (no false sharing
 * between neighbouring workers) and store them when they end. */
static void *producer_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    const size_t batch = r->d.produce_batch;
    pcq_thread_stats_t st;
    memset(&st, 0, sizeof st);

    for (;;) {
        if (stopped(r)) {
            st.error = ECANCELED;
            break;
        }
        size_t n = 0;
        int rc = r->d.produce(r->d.arg, w->index, w->buf, batch, &n);
        if (rc == 0 && n > batch)
            rc = EINVAL; /* the callback broke its contract */
        if (rc != 0) {
            st.error = fail(r, rc, true, PCQ_PRODUCER, w->index);
            break;
        }
        if (n == 0)
            break; /* done */
        st.produced += n;
        st.calls++;
        size_t pushed = 0;
        rc = push_batch(w, n, &pushed, &st.waits);
        st.pushed += pushed;
        if (rc != 0) { /* EPIPE: the rest of the batch is a leftover */
            w->left_off = pushed;
            w->left_n = n - pushed;
            st.error = fail(r, rc, true, PCQ_PRODUCER, w->index);
            break;
        }
    }
    w->st = st;
    producers_finished(r, 1);
    return NULL;
}

/* A consumer found the queue closed and empty: was that the end? */
static int consumer_drained(struct worker *w)
{
    struct run *r = w->run;
    run_lock(r);
    int e = r->error != 0 ? ECANCELED : r->done ? 0 : EPIPE;
    run_unlock(r);
    if (e == EPIPE) /* closed by someone else while producers were running */
        e = fail(r, EPIPE, true, PCQ_CONSUMER, w->index);
    return e;
}

static void *consumer_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    pcq_thread_stats_t st;
    memset(&st, 0, sizeof st);

    for (;;) {
        if (stopped(r)) {
            st.error = ECANCELED;
            break;
        }
        size_t n = 0;
        int rc = r->linger ? pop_linger(w, &n, &st.waits) : pop_batch(w, &n, &st.waits);
        if (rc == EPIPE) {
            st.error = consumer_drained(w);
            break;
        }
        if (rc != 0) { /* ECANCELED: someone aborted the queue (the
                          arguments are valid: nothing else can happen) */
            st.error = fail(r, rc, true, PCQ_CONSUMER, w->index);
            break;
        }
        st.consumed += n;
        st.calls++;
        rc = r->d.consume(r->d.arg, w->index, w->buf, n);
        if (rc != 0) {
            st.error = fail(r, rc, true, PCQ_CONSUMER, w->index);
            break;
        }
    }
    w->st = st;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* pcq_run                                                            */
/* ------------------------------------------------------------------ */

/* Copy the caller's settings, whatever pcq_driver_t version they know. */
static int read_settings(const pcq_driver_t *d, pcq_driver_t *out)
{
    if (d == NULL || d->size < DRIVER_V1_SIZE ||
        (d->size > DRIVER_V1_SIZE && d->size < DRIVER_V2_SIZE))
        return EINVAL;
    if (d->size > sizeof *out) {
        /* A newer caller: fields we do not know must be left at 0. */
        const unsigned char *extra = (const unsigned char *)d + sizeof *out;
        for (size_t i = 0; i < d->size - sizeof *out; i++)
            if (extra[i] != 0)
                return ENOTSUP;
    }
    memset(out, 0, sizeof *out);
    memcpy(out, d, d->size < sizeof *out ? d->size : sizeof *out);
    out->size = sizeof *out;
    if (out->queue == NULL || out->produce == NULL || out->consume == NULL)
        return EINVAL;
    if (out->producers == 0)
        out->producers = 1;
    if (out->consumers == 0)
        out->consumers = 1;
    if (out->produce_batch == 0)
        out->produce_batch = 1;
    if (out->consume_batch == 0)
        out->consume_batch = 1;
    if (out->consume_min == 0)
        out->consume_min = 1;
    if (out->consume_min > out->consume_batch)
        out->consume_min = out->consume_batch;
    return 0;
}

/* Allocate the workers and their buffers; all or nothing. */
static int make_workers(struct run *r, struct worker **out)
{
    const size_t np = r->d.producers, nc = r->d.consumers;
    if (r->d.produce_batch > SIZE_MAX / r->esz || r->d.consume_batch > SIZE_MAX / r->esz)
        return EOVERFLOW;
    struct worker *w = calloc(np + nc, sizeof *w);
    if (w == NULL)
        return ENOMEM;
    for (size_t i = 0; i < np + nc; i++) {
        bool prod = i < np;
        w[i].run = r;
        w[i].role = prod ? PCQ_PRODUCER : PCQ_CONSUMER;
        w[i].index = (unsigned)(prod ? i : i - np);
        w[i].buf = malloc((prod ? r->d.produce_batch : r->d.consume_batch) * r->esz);
        if (w[i].buf == NULL) {
            while (i-- > 0)
                free(w[i].buf);
            free(w);
            return ENOMEM;
        }
    }
    *out = w;
    return 0;
}

/* After the joins: count the leftovers and hand them to dispose. */
static void collect_leftovers(struct run *r, struct worker *w, pcq_run_result_t *res)
{
    const size_t np = r->d.producers, nc = r->d.consumers;
    for (size_t i = 0; i < np; i++) {
        if (w[i].left_n == 0)
            continue;
        res->leftovers += w[i].left_n;
        if (r->d.dispose != NULL) {
            r->d.dispose(r->d.arg, w[i].buf + w[i].left_off * r->esz, w[i].left_n);
            res->disposed += w[i].left_n;
        }
    }
    if (r->d.dispose == NULL) {
        res->leftovers += pcq_size(r->d.queue); /* they stay for the caller */
        return;
    }
    /* The queue is closed (or aborted, which only pcq_drain takes from):
     * this drains it and ends with EAGAIN. */
    struct worker *sink = &w[np + nc - 1];
    size_t n;
    while (pcq_drain(r->d.queue, sink->buf, r->d.consume_batch, &n) == 0) {
        r->d.dispose(r->d.arg, sink->buf, n);
        res->leftovers += n;
        res->disposed += n;
    }
}

static int run_threads(struct run *r, struct worker *w, pcq_run_result_t *res)
{
    const size_t np = r->d.producers, nc = r->d.consumers;
    unsigned unstarted_producers = r->d.producers;

    /* Consumers first, so that early pushes find someone to wake. */
    int rc = 0;
    for (size_t k = 0; k < np + nc && rc == 0; k++) {
        size_t i = k < nc ? np + k : k - nc;
        void *(*fn)(void *) = w[i].role == PCQ_PRODUCER ? producer_main : consumer_main;
        rc = pthread_create(&w[i].tid, NULL, fn, &w[i]);
        if (rc != 0) {
            fail(r, rc, false, w[i].role, w[i].index);
        } else {
            w[i].started = true;
            if (w[i].role == PCQ_PRODUCER)
                unstarted_producers--;
        }
    }
    if (unstarted_producers > 0) /* some pthread_create failed */
        producers_finished(r, unstarted_producers);

    for (size_t i = 0; i < np + nc; i++)
        if (w[i].started)
            PCQ_CHECK(pthread_join(w[i].tid, NULL));

    /* Every driver thread has been joined: the joins order their writes
     * before the reads below, and no lock is needed any more. */
    collect_leftovers(r, w, res);
    for (size_t i = 0; i < np + nc; i++) {
        const pcq_thread_stats_t *st = &w[i].st;
        res->produced += st->produced;
        res->pushed += st->pushed;
        res->consumed += st->consumed;
        if (w[i].role == PCQ_PRODUCER) {
            res->push_waits += st->waits;
            if (r->d.producer_stats != NULL)
                r->d.producer_stats[w[i].index] = *st;
        } else {
            res->pop_waits += st->waits;
            if (r->d.consumer_stats != NULL)
                r->d.consumer_stats[w[i].index] = *st;
        }
    }
    res->error = r->error;
    res->error_thread = r->error_thread;
    res->error_role = r->error_role;
    res->error_index = r->error_index;
    return res->error;
}

int pcq_run(const pcq_driver_t *d, pcq_run_result_t *result)
{
    pcq_run_result_t scratch;
    pcq_run_result_t *res = result != NULL ? result : &scratch;
    memset(res, 0, sizeof *res);

    /* The run lives on this stack frame: every thread that uses it is
     * joined before the frame goes away, and cancellation is held back so
     * that it cannot go away early. */
    int cancel_state;
    PCQ_CHECK(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state));
    struct run r;
    memset(&r, 0, sizeof r);
    struct worker *w = NULL;

    int rc = read_settings(d, &r.d);
    if (rc == 0) {
        r.esz = pcq_elem_size(r.d.queue);
        r.linger = r.d.consume_min > 1 || r.d.consume_linger_ns > 0;
        if (r.d.producer_stats != NULL)
            memset(r.d.producer_stats, 0, r.d.producers * sizeof(pcq_thread_stats_t));
        if (r.d.consumer_stats != NULL)
            memset(r.d.consumer_stats, 0, r.d.consumers * sizeof(pcq_thread_stats_t));
        if (pcq_is_closed(r.d.queue))
            rc = EPIPE;
        else if ((rc = make_workers(&r, &w)) == 0 && pthread_mutex_init(&r.mu, NULL) != 0)
            rc = ENOMEM; /* a resource shortage to the caller */
        if (rc == 0) {
            r.producers_left = r.d.producers;
            atomic_init(&r.stop, false);
            pcq__atomic_for_tools(&r.stop, sizeof r.stop, true);
            rc = run_threads(&r, w, res);
            pcq__atomic_for_tools(&r.stop, sizeof r.stop, false);
            PCQ_CHECK(pthread_mutex_destroy(&r.mu));
        } else {
            pcq_close(r.d.queue); /* the promise: closed on return */
        }
    }
    if (w != NULL) {
        for (size_t i = 0; i < (size_t)r.d.producers + r.d.consumers; i++)
            free(w[i].buf);
        free(w);
    }
    res->error = rc;
    PCQ_CHECK(pthread_setcancelstate(cancel_state, NULL));
    return rc;
}
