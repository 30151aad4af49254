/*
 * pipeline.c — the threaded Fibonacci pipeline (see pipeline.h), on pcq_run().
 *
 * Design
 * ------
 * Generators. With P generator threads, generator g owns the indices
 * g, g+P, g+2P, ... It starts from the pair (F(g), F(g+1)), computed
 * directly by fast doubling, and steps P indices at a time with
 *   F(i+P)   = F(i) F(P-1) + F(i+1) F(P)
 *   F(i+P+1) = F(i) F(P)   + F(i+1) F(P+1)
 * (with P == 1 this is the plain a, b = b, a+b). No generator needs
 * another's terms. In 64-bit mode everything is computed mod 2^64; the
 * identities hold in that ring, so every term that fits 64 bits comes out
 * exact even where a helper value (F(i+1), F(P+1)) wraps. Asking for more
 * is refused before anything runs (fib_config_check). In big mode each
 * term is copied into a fresh heap mpz_t whose pointer goes through the
 * queue: the consumer side frees it after delivery, dispose frees
 * leftovers after an error, and fib_run frees terms still waiting to be
 * reordered.
 *
 * Delivery. Consumers pop terms and hand them to on_term under p->mu, so
 * on_term calls never overlap. Unordered: in the order popped. Ordered: a
 * term goes into slot index % W of the reorder buffer, then every term
 * from `next_out` on that is present is delivered and next_out advances.
 *
 * The bounded window. A generator may make F(i) only while
 *   i < next_out + W,
 * and waits on p->room otherwise. So every term made but not yet delivered
 * has its index in [next_out, next_out + W): at most W terms exist at any
 * time (the queue, the batches, the reorder buffer together), and two of
 * them never share a reorder slot, so a consumer never waits for a slot.
 * No deadlock: the generator owning index next_out has made every index
 * of its own below it (they are below next_out, hence delivered), so its
 * next index is next_out itself, which the rule allows; the term then
 * needs only a queue that consumers drain without ever blocking. One trap
 * remains: a generator holding made-but-unpushed terms in its batch must
 * not wait for the window (the term due out may be among them), so it
 * returns its partial batch instead, and waits only with an empty batch.
 *
 * Lingering consumers (batch_min, linger_us: the driver's consume_min and
 * consume_linger_ns) break the promise that consumers drain the queue
 * without blocking: a consumer waiting for its batch holds the terms it
 * has, perhaps the one due out, while the window may hold back the
 * generators that would complete the batch. A linger bounds that wait, so
 * ordered runs with a batch_min need one (fib_config_check).
 *
 * Shutdown. On an error the driver closes the queue and calls on_stop,
 * which sets `aborted` and wakes the generators waiting for the window.
 */
#include "pipeline.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fatal.h"

/* One generator's state: touched only by its producer thread, and by
 * fib_run before the threads start and after they are joined. */
struct gen {
    uint64_t next;      /* next index to make */
    uint64_t a, b;      /* 64-bit: F(next), F(next+1) mod 2^64 */
#ifdef PCQ_HAVE_GMP
    mpz_t za, zb, t, u; /* big: F(next), F(next+1), scratch */
#endif
};

struct pipe {
    /* Immutable while the threads run. */
    fib_config_t cfg; /* completed by fib_config_check; cfg.window is W */
    uint64_t t0;      /* start, ns on CLOCK_MONOTONIC */
    uint64_t c0, c1, c2; /* F(P-1), F(P), F(P+1) mod 2^64 */
#ifdef PCQ_HAVE_GMP
    mpz_t z0, z1, z2; /* the same, exact */
    mpz_t sum_big;    /* mu: the exact sum */
#endif
    struct gen *gens; /* one per generator, see struct gen */

    pthread_mutex_t mu;
    pthread_cond_t room;   /* generators wait here for the window */
    unsigned room_waiters; /* mu: generators inside the wait */
    bool aborted;          /* mu: the run is stopping on an error: no more
                              terms are made or delivered */
    uint64_t next_out;     /* mu: ordered: the next index to deliver */
    fib_term_t *slots;     /* mu: ordered: the reorder buffer, W slots */
    bool *present;         /* mu: which slots hold a term */
    size_t held, held_peak; /* mu: terms in the reorder buffer */
    size_t ahead_peak;     /* mu: largest index - next_out + 1 made */
    uint64_t terms;        /* mu: delivered */
    uint64_t sum;          /* mu: sum mod 2^64 */
    bool numbers_ready;    /* fib_run: the mpz_t fields are initialised */
    /* fib_run_side only: */
    pcq_t *q;                /* immutable: the queue shared with the other process */
    int side_error;          /* mu: the first error of this half, 0 for none */
    unsigned generators_left; /* mu: generators not yet done; the last closes q */
    uint64_t seen[(FIB_MAX_U64_COUNT + 63) / 64]; /* mu: consumers: F(i) taken, bit i */
};

static void mu_lock(struct pipe *p) { PCQ_CHECK(pthread_mutex_lock(&p->mu)); }
static void mu_unlock(struct pipe *p) { PCQ_CHECK(pthread_mutex_unlock(&p->mu)); }

/* Simulated work: sleeping here is the point, not synchronisation. */
static void delay_ms(unsigned ms)
{
    if (ms == 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One trace line, prefixed with the time since the start. Caller holds mu. */
static void trace(struct pipe *p, const char *fmt, ...)
{
    char head[32];
    double ms = (double)(pcq__now_ns() - p->t0) / 1e6;
    int hn = snprintf(head, sizeof head, "[%10.3f ms] ", ms);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || hn < 0)
        return;
    char *line = malloc((size_t)hn + (size_t)n + 1);
    if (line == NULL)
        return; /* a trace line is not worth failing the run */
    memcpy(line, head, (size_t)hn);
    va_start(ap, fmt);
    vsnprintf(line + hn, (size_t)n + 1, fmt, ap);
    va_end(ap);
    p->cfg.on_trace(p->cfg.arg, line);
    free(line);
}

static bool tracing(const struct pipe *p) { return p->cfg.on_trace != NULL; }

static void term_free(const struct pipe *p, fib_term_t *t) { fib_term_free(t, p->cfg.big); }

/* Make generator g's next term into *t and step g forward. */
static int make_term(struct pipe *p, struct gen *g, fib_term_t *t)
{
    t->index = g->next;
    const unsigned P = p->cfg.producers;
#ifdef PCQ_HAVE_GMP
    if (p->cfg.big) {
        mpz_ptr z = malloc(sizeof(mpz_t));
        if (z == NULL)
            return ENOMEM;
        mpz_init_set(z, g->za);
        t->v.big = z;
        if (P == 1) {
            mpz_add(g->t, g->za, g->zb);
            mpz_swap(g->za, g->zb);
            mpz_swap(g->zb, g->t);
        } else {
            mpz_mul(g->t, g->za, p->z0);
            mpz_addmul(g->t, g->zb, p->z1);
            mpz_mul(g->u, g->za, p->z1);
            mpz_addmul(g->u, g->zb, p->z2);
            mpz_swap(g->za, g->t);
            mpz_swap(g->zb, g->u);
        }
        g->next += P;
        return 0;
    }
#endif
    t->v.u64 = g->a;
    uint64_t a = g->a, b = g->b;
    if (P == 1) {
        g->a = b;
        g->b = a + b; /* mod 2^64: wraps only past what fits, see the top */
    } else {
        g->a = a * p->c0 + b * p->c1;
        g->b = a * p->c1 + b * p->c2;
    }
    g->next += P;
    return 0;
}

/*
 * Ordered mode: wait until generator g may make its next term. Returns
 * false when the caller must return its batch now: the run is aborting, or
 * the window is shut and the batch already holds terms (see the top).
 */
static bool window_open(struct pipe *p, struct gen *g, unsigned index, size_t have)
{
    bool go = true;
    mu_lock(p);
    while (!p->aborted && g->next >= p->next_out + p->cfg.window) {
        if (have > 0) {
            go = false;
            break;
        }
        if (tracing(p))
            trace(p, "P%u: waiting for the reorder window (F(%" PRIu64 "), next out F(%" PRIu64
                     "))",
                  index, g->next, p->next_out);
        p->room_waiters++;
        PCQ_CHECK(pthread_cond_wait(&p->room, &p->mu));
        p->room_waiters--;
    }
    if (p->aborted)
        go = false;
    if (go && g->next - p->next_out + 1 > p->ahead_peak)
        p->ahead_peak = (size_t)(g->next - p->next_out + 1);
    mu_unlock(p);
    return go;
}

static int produce(void *arg, unsigned index, void *elems, size_t max, size_t *count)
{
    struct pipe *p = arg;
    struct gen *g = &p->gens[index];
    fib_term_t *out = elems;

    size_t n = 0;
    while (n < max && g->next < p->cfg.count) {
        if (p->cfg.ordered && !window_open(p, g, index, n))
            break;
        delay_ms(p->cfg.produce_delay_ms);
        int rc = make_term(p, g, &out[n]);
        if (rc != 0) { /* the terms made stay ours: free them */
            while (n > 0)
                term_free(p, &out[--n]);
            return rc;
        }
        n++;
    }
    if (tracing(p)) { /* the driver pushes the batch when we return */
        mu_lock(p);
        for (size_t k = 0; k < n; k++)
            trace(p, "P%u: pushing F(%" PRIu64 ")", index, out[k].index);
        if (n == 0)
            trace(p, "P%u: done", index);
        mu_unlock(p);
    }
    *count = n;
    return 0;
}

/* Hand one term to on_term and add it up. Caller holds mu and has checked
 * that the run is not aborting: after a failure on_term is not called again
 * (and the other consumers return 0, so the failure stays the first error). */
static int deliver(struct pipe *p, unsigned consumer, const fib_term_t *t)
{
    int rc = p->cfg.on_term(p->cfg.arg, consumer, t);
    if (rc != 0) {
        p->aborted = true; /* on_stop wakes the generators */
        return rc;
    }
    p->terms++;
#ifdef PCQ_HAVE_GMP
    if (p->cfg.big) {
        mpz_add(p->sum_big, p->sum_big, t->v.big);
        return 0;
    }
#endif
    p->sum += t->v.u64;
    return 0;
}

/* Ordered mode: file t, then deliver every term due. Caller holds mu. */
static int reorder(struct pipe *p, unsigned consumer, const fib_term_t *t)
{
    size_t slot = (size_t)(t->index % p->cfg.window);
    assert(!p->present[slot]); /* free: see "the bounded window" at the top */
    p->slots[slot] = *t;
    p->present[slot] = true;
    if (++p->held > p->held_peak)
        p->held_peak = p->held;
    int rc = 0;
    size_t due = (size_t)(p->next_out % p->cfg.window);
    uint64_t before = p->next_out;
    while (!p->aborted && p->present[due]) {
        rc = deliver(p, consumer, &p->slots[due]);
        if (rc != 0)
            break; /* the term stays in its slot; fib_run frees it */
        term_free(p, &p->slots[due]);
        p->present[due] = false;
        p->held--;
        p->next_out++;
        due = due + 1 == p->cfg.window ? 0 : due + 1;
    }
    if (p->next_out != before && p->room_waiters > 0)
        PCQ_CHECK(pthread_cond_broadcast(&p->room));
    return rc;
}

static int consume(void *arg, unsigned index, void *elems, size_t count)
{
    struct pipe *p = arg;
    fib_term_t *in = elems;
    for (size_t k = 0; k < count; k++) {
        delay_ms(p->cfg.consume_delay_ms);
        char *v = tracing(p) ? fib_value_string(&in[k], p->cfg.big) : NULL;
        mu_lock(p);
        if (tracing(p))
            trace(p, "C%u: got F(%" PRIu64 ") = %s", index, in[k].index, v ? v : "?");
        int rc;
        if (p->cfg.ordered) {
            rc = reorder(p, index, &in[k]);
        } else {
            rc = p->aborted ? 0 : deliver(p, index, &in[k]);
            term_free(p, &in[k]);
        }
        mu_unlock(p);
        free(v);
        if (rc != 0) { /* the rest of the batch is ours: free it */
            while (++k < count)
                term_free(p, &in[k]);
            return rc;
        }
    }
    return 0;
}

static void dispose(void *arg, void *elems, size_t count)
{
    struct pipe *p = arg;
    fib_term_t *t = elems;
    for (size_t k = 0; k < count; k++)
        term_free(p, &t[k]);
}

static void on_wait(void *arg, pcq_role_t role, unsigned index)
{
    struct pipe *p = arg;
    mu_lock(p);
    if (role == PCQ_PRODUCER)
        trace(p, "P%u: waiting for room", index);
    else if (p->cfg.batch_min > 1)
        trace(p, "C%u: waiting for %zu terms at once", index, p->cfg.batch_min);
    else
        trace(p, "C%u: waiting for a term", index);
    mu_unlock(p);
}

static void on_stop(void *arg, int error)
{
    struct pipe *p = arg;
    (void)error;
    mu_lock(p);
    p->aborted = true;
    if (p->room_waiters > 0)
        PCQ_CHECK(pthread_cond_broadcast(&p->room));
    mu_unlock(p);
}

/* ------------------------------------------------------------------ */
/* fib_config_check and fib_run                                       */
/* ------------------------------------------------------------------ */

int fib_config_check(fib_config_t *c)
{
    if (c == NULL)
        return EINVAL;
    if (c->producers == 0)
        c->producers = FIB_DEFAULT_PRODUCERS;
    if (c->consumers == 0)
        c->consumers = FIB_DEFAULT_CONSUMERS;
    if (c->capacity == 0)
        c->capacity = FIB_DEFAULT_CAPACITY;
    if (c->batch == 0)
        c->batch = FIB_DEFAULT_BATCH;
    if (c->batch_min == 0)
        c->batch_min = FIB_DEFAULT_BATCH_MIN;
    if (c->producers > FIB_MAX_THREADS || c->consumers > FIB_MAX_THREADS)
        return EINVAL;
    if (c->batch_min > c->batch)
        return EINVAL;
    if (c->ordered && c->batch_min > 1 && c->linger_us == 0)
        return EINVAL; /* it could wait forever: see pipeline.h */
    if (c->linger_us > UINT64_MAX / 1000)
        return EINVAL;
    if (c->big && !fib_have_big())
        return ENOTSUP;
    if (!c->big && c->count > FIB_MAX_U64_COUNT)
        return EOVERFLOW;
    if (!c->ordered) {
        c->window = 0;
    } else if (c->window == 0) {
        size_t threads = (size_t)c->producers + c->consumers;
        if (c->capacity > SIZE_MAX / 8 || c->batch > SIZE_MAX / 8 / threads)
            return EINVAL;
        c->window = 2 * (c->capacity + threads * c->batch);
    }
    return 0;
}

static int pipe_init(struct pipe *p)
{
    const unsigned P = p->cfg.producers;
    fib_pair_u64(P - 1, &p->c0, &p->c1);
    p->c2 = p->c0 + p->c1;
    p->gens = calloc(P, sizeof *p->gens);
    if (p->gens == NULL)
        return ENOMEM;
    if (p->cfg.ordered) {
        p->slots = calloc(p->cfg.window, sizeof *p->slots);
        p->present = calloc(p->cfg.window, sizeof *p->present);
        if (p->slots == NULL || p->present == NULL)
            return ENOMEM;
    }
    for (unsigned g = 0; g < P; g++) {
        p->gens[g].next = g;
        fib_pair_u64(g, &p->gens[g].a, &p->gens[g].b);
    }
#ifdef PCQ_HAVE_GMP
    p->numbers_ready = true;
    mpz_init(p->sum_big);
    if (p->cfg.big) {
        mpz_inits(p->z0, p->z1, p->z2, NULL);
        fib_pair_big(P - 1, p->z0, p->z1);
        mpz_add(p->z2, p->z0, p->z1);
        for (unsigned g = 0; g < P; g++) {
            struct gen *gg = &p->gens[g];
            mpz_inits(gg->za, gg->zb, gg->t, gg->u, NULL);
            fib_pair_big(g, gg->za, gg->zb);
        }
    }
#endif
    return 0;
}

static void pipe_free(struct pipe *p)
{
    if (p->slots != NULL) {
        for (size_t s = 0; s < p->cfg.window; s++)
            if (p->present[s])
                term_free(p, &p->slots[s]);
    }
#ifdef PCQ_HAVE_GMP
    if (p->numbers_ready) {
        mpz_clear(p->sum_big);
        if (p->cfg.big) {
            mpz_clears(p->z0, p->z1, p->z2, NULL);
            for (unsigned g = 0; g < p->cfg.producers; g++)
                mpz_clears(p->gens[g].za, p->gens[g].zb, p->gens[g].t, p->gens[g].u,
                           NULL);
        }
    }
#endif
    free(p->slots);
    free(p->present);
    free(p->gens);
}

/* The first steps of fib_run and fib_run_side: clear *res, check the
 * arguments, and copy the configuration into *p, completed. */
static int run_begin(const fib_config_t *cfg, bool needs_on_term, fib_result_t *res,
                     struct pipe *p)
{
    if (res == NULL)
        return EINVAL;
    memset(res, 0, sizeof *res);
    if (cfg == NULL || (needs_on_term && cfg->on_term == NULL))
        return EINVAL;
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    return fib_config_check(&p->cfg);
}

int fib_run(const fib_config_t *cfg, fib_result_t *res)
{
    struct pipe p;
    int rc = run_begin(cfg, true, res, &p);
    if (rc != 0)
        return rc;
    res->window = p.cfg.window;

    pcq_t *q = NULL;
    rc = pcq_create(&q, p.cfg.capacity, sizeof(fib_term_t));
    if (rc == 0 && (rc = pipe_init(&p)) == 0) {
        res->producer_stats = calloc(p.cfg.producers, sizeof *res->producer_stats);
        res->consumer_stats = calloc(p.cfg.consumers, sizeof *res->consumer_stats);
        if (res->producer_stats == NULL || res->consumer_stats == NULL)
            rc = ENOMEM;
    }
    if (rc == 0 && (rc = pthread_mutex_init(&p.mu, NULL)) != 0)
        rc = ENOMEM;
    if (rc == 0 && (rc = pthread_cond_init(&p.room, NULL)) != 0) {
        PCQ_CHECK(pthread_mutex_destroy(&p.mu));
        rc = ENOMEM;
    }
    if (rc == 0) {
        pcq_driver_t d = PCQ_DRIVER_INIT;
        d.queue = q;
        d.producers = p.cfg.producers;
        d.consumers = p.cfg.consumers;
        d.produce_batch = p.cfg.batch;
        d.consume_batch = p.cfg.batch;
        d.consume_min = p.cfg.batch_min;
        d.consume_linger_ns = p.cfg.linger_us * 1000u;
        d.produce = produce;
        d.consume = consume;
        d.dispose = dispose;
        d.on_wait = tracing(&p) ? on_wait : NULL;
        d.on_stop = on_stop;
        d.arg = &p;
        d.producer_stats = res->producer_stats;
        d.consumer_stats = res->consumer_stats;
        p.t0 = pcq__now_ns();
        rc = pcq_run(&d, &res->run);
        res->seconds = (double)(pcq__now_ns() - p.t0) / 1e9;
        PCQ_CHECK(pthread_cond_destroy(&p.room));
        PCQ_CHECK(pthread_mutex_destroy(&p.mu));
        /* Every thread is joined: the fields below are ours alone. */
        res->terms = p.terms;
        res->checksum = p.sum;
        res->ahead_peak = p.ahead_peak;
        res->held_peak = p.held_peak;
        fib_term_t sum = {.v.u64 = p.sum};
#ifdef PCQ_HAVE_GMP
        if (p.cfg.big)
            sum.v.big = p.sum_big;
#endif
        res->checksum_str = fib_value_string(&sum, p.cfg.big);
    }
    pipe_free(&p);
    pcq_destroy(q);
    return rc;
}

/* ------------------------------------------------------------------ */
/* fib_run_side: one half of the pipeline, the other in another process */
/* ------------------------------------------------------------------ */

/* One thread of a half: a generator or a consumer. */
struct side_thread {
    struct pipe *p;
    unsigned index;
    fib_term_t *buf;           /* cfg.batch terms */
    pcq_thread_stats_t *stats; /* this thread's, in the result */
    pthread_t tid;
};

/* Note this half's first error and abort the queue, so that this half's
 * other threads and the other process stop too. Caller holds mu. */
static void side_fail(struct pipe *p, int rc)
{
    if (p->side_error == 0)
        p->side_error = rc;
    pcq_abort(p->q);
}

static void *side_generator(void *arg)
{
    struct side_thread *t = arg;
    struct pipe *p = t->p;
    int rc = 0;
    for (;;) {
        size_t n = 0, in = 0;
        if ((rc = produce(p, t->index, t->buf, p->cfg.batch, &n)) != 0 || n == 0)
            break;
        t->stats->produced += n;
        t->stats->calls++;
        /* A try first, so that a wait is counted as the driver counts one. */
        rc = pcq_try_push_many(p->q, t->buf, n, &in);
        if (rc == EAGAIN || (rc == 0 && in < n)) {
            size_t more = 0;
            t->stats->waits++;
            rc = pcq_push_many(p->q, t->buf + in, n - in, &more);
            in += more;
        }
        t->stats->pushed += in;
        if (rc != 0)
            break;
    }
    mu_lock(p);
    if (rc != 0) {
        t->stats->error = rc;
        side_fail(p, rc);
    } else if (--p->generators_left == 0) {
        pcq_close(p->q); /* every term is in: the consumers may finish */
    }
    mu_unlock(p);
    return NULL;
}

/* Consumers: whether the terms taken are F(0)..F(n-1), each once. */
static bool side_complete(const struct pipe *p)
{
    for (uint64_t i = 0; i < FIB_MAX_U64_COUNT; i++)
        if ((i < p->terms) != (p->seen[i / 64] >> (i % 64) & 1))
            return false;
    return true;
}

/* Consumers: a term from the other process must be F(index), and new.
 * Caller holds mu. */
static bool side_term_ok(struct pipe *p, const fib_term_t *t)
{
    uint64_t want;
    if (fib_u64(t->index, &want) != 0 || want != t->v.u64 ||
        (p->seen[t->index / 64] >> (t->index % 64) & 1))
        return false;
    p->seen[t->index / 64] |= UINT64_C(1) << (t->index % 64);
    return true;
}

static void *side_consumer(void *arg)
{
    struct side_thread *t = arg;
    struct pipe *p = t->p;
    const size_t max = p->cfg.batch;
    int rc;
    for (;;) {
        size_t got = 0;
        rc = pcq_try_pop_many(p->q, t->buf, max, &got);
        if (rc == EAGAIN) {
            t->stats->waits++;
            rc = pcq_pop_many(p->q, t->buf, max, &got);
        }
        if (rc == EPIPE) { /* closed and drained: the normal end */
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        mu_lock(p);
        for (size_t k = 0; k < got && rc == 0; k++)
            if (!side_term_ok(p, &t->buf[k]))
                rc = EPROTO;
        mu_unlock(p);
        if (rc == 0) {
            rc = consume(p, t->index, t->buf, got);
            t->stats->consumed += got;
            t->stats->calls++;
        }
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        mu_lock(p);
        t->stats->error = rc;
        side_fail(p, rc);
        mu_unlock(p);
    }
    return NULL;
}

int fib_run_side(const fib_config_t *cfg, fib_side_t side, pcq_t *q, fib_result_t *res)
{
    struct pipe p;
    int rc = run_begin(cfg, side == FIB_CONSUMERS, res, &p);
    if (rc != 0)
        return rc;
    if (q == NULL)
        return EINVAL;
    if (p.cfg.big)
        return ENOTSUP;
    if (p.cfg.ordered || p.cfg.batch_min > 1 || p.cfg.linger_us != 0 ||
        pcq_elem_size(q) != sizeof(fib_term_t))
        return EINVAL;
    p.q = q;
    const unsigned n = side == FIB_GENERATORS ? p.cfg.producers : p.cfg.consumers;
    p.generators_left = n;
    struct side_thread *th = calloc(n, sizeof *th);
    pcq_thread_stats_t *stats = calloc(n, sizeof *stats);
    if (th == NULL || stats == NULL || (rc = pipe_init(&p)) != 0 ||
        pthread_mutex_init(&p.mu, NULL) != 0) {
        free(th);
        free(stats);
        pipe_free(&p);
        return ENOMEM;
    }
    if (side == FIB_GENERATORS)
        res->producer_stats = stats;
    else
        res->consumer_stats = stats;
    p.t0 = pcq__now_ns();
    unsigned started = 0;
    for (; started < n; started++) {
        struct side_thread *t = &th[started];
        *t = (struct side_thread){.p = &p, .index = started, .stats = &stats[started]};
        t->buf = calloc(p.cfg.batch, sizeof *t->buf);
        if (t->buf == NULL ||
            pthread_create(&t->tid, NULL, side == FIB_GENERATORS ? side_generator : side_consumer,
                           t) != 0) {
            free(t->buf);
            mu_lock(&p);
            side_fail(&p, ENOMEM); /* the threads started stop on the abort */
            mu_unlock(&p);
            break;
        }
    }
    for (unsigned i = 0; i < started; i++) {
        PCQ_CHECK(pthread_join(th[i].tid, NULL));
        free(th[i].buf);
    }
    res->seconds = (double)(pcq__now_ns() - p.t0) / 1e9;
    /* Every thread is joined: the fields below are ours alone. */
    rc = p.side_error;
    if (rc == 0 && side == FIB_CONSUMERS && !side_complete(&p))
        rc = EPROTO; /* closed with a gap: the other side lost terms */
    for (unsigned i = 0; i < n; i++) {
        res->run.produced += stats[i].produced;
        res->run.pushed += stats[i].pushed;
        res->run.consumed += stats[i].consumed;
        *(side == FIB_GENERATORS ? &res->run.push_waits : &res->run.pop_waits) += stats[i].waits;
    }
    res->run.error = rc;
    res->terms = side == FIB_GENERATORS ? res->run.pushed : p.terms;
    res->checksum = p.sum;
    fib_term_t sum = {.v.u64 = p.sum};
    res->checksum_str = fib_value_string(&sum, false);
    PCQ_CHECK(pthread_mutex_destroy(&p.mu));
    pipe_free(&p);
    free(th);
    return rc;
}

void fib_result_free(fib_result_t *res)
{
    if (res == NULL)
        return;
    free(res->checksum_str);
    free(res->producer_stats);
    free(res->consumer_stats);
    res->checksum_str = NULL;
    res->producer_stats = res->consumer_stats = NULL;
}
