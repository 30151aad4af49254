/*
 * check_abort.c — pcq_abort (immediate shutdown), pcq_drain (the owner
 * takes the leftovers) and pcq_peek (a look at the head).
 *
 * Clauses (include/pcq.h) and the tests that prove them:
 *  pcq_abort
 *  - every blocked call of every kind (push, pop, timed, batch, pop_batch,
 *    untimed and timed) returns ECANCELED at once; batch counts 0, or what
 *    a push_many had put in (it stays, for pcq_drain)
 *                                       abort_wakes_consumers, abort_wakes_producers,
 *                                       abort_wakes_partial_push_many
 *  - every later push, pop, try, timed, batch, pop_batch and peek call
 *    returns ECANCELED, with the queue empty, part full or full; nothing
 *    moves; pcq_is_closed is true             abort_every_call_ecanceled
 *  - idempotent, also after close; close after abort changes nothing;
 *    NULL is a no-op                          abort_idempotent_and_close
 *  - abort racing every kind of call and close: every thread ends, and what
 *    went in came out exactly once, by a consumer or by the drain
 *                                                          abort_race
 *  pcq_drain
 *  - never blocks; works open, closed and aborted; 0 with *popped >= 1
 *    (up to max, FIFO, across the end of the ring); EAGAIN when empty;
 *    max 0: 0 at once with nothing moved        drain_in_every_state
 *  - EINVAL for NULL q/out/popped, *popped set to 0       drain_einval
 *  - room it frees reaches a producer blocked on the full queue (the
 *    queue's no-lost-wake-up rule applied to drain)    drain_wakes_producer
 *  pcq_peek
 *  - 0 copies the head without removing it: size unchanged, the next pop
 *    gets the same element; byte-exact, across the ring's end  peek_head
 *  - EAGAIN empty and open; EPIPE closed and empty; 0 closed with
 *    elements; ECANCELED after abort; EINVAL for NULLs      peek_states
 *
 * Sleeping threads are found through pcq_stats (await_*_waits), never by
 * sleeping; a call that must end is awaited with a bound (watched calls),
 * so that a lost wake-up fails the test instead of hanging it.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define LOST_MS 10000  /* a call not back by then was never woken */
#define STALL_MS 10000 /* stress: no move for this long is a hang */
#define SENTINEL 0xdeadbeefcafef00dull

static void fill(uint64_t *a, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        a[i] = v;
}

static const char *kind_name(enum call_kind k)
{
    static const char *const names[KINDS] = {
        "pop",      "pop_for",  "pop_until",  "pop_many",  "pop_batch",
        "pop_batch(deadline)",  "push",       "push_for",  "push_until", "push_many"};
    return (unsigned)k < KINDS ? names[k] : "?";
}

/* Start one watched call of each kind in [from, to), twice. */
static int start_calls(watched_t *w, pcq_t *q, enum call_kind from, enum call_kind to)
{
    int n = 0;
    for (int rep = 0; rep < 2; rep++)
        for (int k = from; k < (int)to; k++, n++) {
            memset(&w[n], 0, sizeof w[n]);
            w[n].c = (struct call){.q = q, .kind = (enum call_kind)k, .n = 4, .moved = 99,
                                   .rc = -1};
            fill(w[n].c.buf, 32, SENTINEL);
            watch_start(&w[n]);
        }
    return n;
}

/* Every watched call must end (bounded), with ECANCELED and nothing moved. */
static void expect_all_canceled(watched_t *w, int n, pcq_t *q)
{
    int lost = -1;
    for (int i = 0; i < n; i++)
        if (!watch_ended(&w[i], LOST_MS) && lost < 0)
            lost = i;
    ck_assert_msg(lost < 0, "%s asleep in the queue was not woken by pcq_abort",
                  kind_name(w[lost].c.kind));
    for (int i = 0; i < n; i++) {
        int rc = watch_join(&w[i]);
        ck_assert_msg(rc == ECANCELED, "%s woken by pcq_abort returned %d, not ECANCELED",
                      kind_name(w[i].c.kind), rc);
        if (w[i].c.kind == POP_MANY || w[i].c.kind == POP_BATCH ||
            w[i].c.kind == POP_BATCH_UNTIL || w[i].c.kind == PUSH_MANY)
            ck_assert_uint_eq(w[i].c.moved, 0);
        if (w[i].c.kind < PUSH)
            ck_assert_uint_eq(w[i].c.buf[0], SENTINEL); /* nothing copied out */
    }
    (void)q;
}

/* Every kind of consumer asleep on an empty queue: abort wakes them all. */
START_TEST(abort_wakes_consumers)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    watched_t w[2 * PUSH];
    int n = start_calls(w, q, POP, PUSH);
    await_pop_waits(q, (uint64_t)n); /* all asleep */
    pcq_abort(q);
    expect_all_canceled(w, n, q);
    ck_assert(pcq_is_closed(q));
    pcq_destroy(q);
}
END_TEST

/* Every kind of producer asleep on a full queue: abort wakes them all;
 * nothing more went in, what was there stays for pcq_drain. */
START_TEST(abort_wakes_producers)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    v = 2;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    watched_t w[2 * (KINDS - PUSH)];
    int n = start_calls(w, q, PUSH, KINDS);
    await_push_waits(q, (uint64_t)n);
    pcq_abort(q);
    expect_all_canceled(w, n, q);
    ck_assert_uint_eq(pcq_size(q), 2);
    uint64_t out[4];
    size_t got;
    ck_assert_int_eq(pcq_drain(q, out, 4, &got), 0);
    ck_assert_uint_eq(got, 2);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 2);
    pcq_destroy(q);
}
END_TEST

/* A push_many asleep after putting part of its batch in: ECANCELED with
 * *pushed counting that part, which stays in the queue for pcq_drain. And
 * a pop_batch asleep with part of its min there: ECANCELED with 0. */
START_TEST(abort_wakes_partial_push_many)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 3, sizeof(uint64_t)), 0);
    watched_t w;
    memset(&w, 0, sizeof w);
    w.c = (struct call){.q = q, .kind = PUSH_MANY, .n = 8, .moved = 99, .rc = -1};
    for (uint64_t i = 0; i < 8; i++)
        w.c.buf[i] = 10 + i;
    watch_start(&w);
    await_push_waits(q, 1); /* 3 in, asleep for room */
    pcq_abort(q);
    ck_assert_msg(watch_ended(&w, LOST_MS), "push_many not woken by pcq_abort");
    ck_assert_int_eq(watch_join(&w), ECANCELED);
    ck_assert_uint_eq(w.c.moved, 3);
    uint64_t out[8];
    size_t got;
    ck_assert_int_eq(pcq_drain(q, out, 8, &got), 0);
    ck_assert_uint_eq(got, 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(out[i], 10 + i);
    ck_assert_int_eq(pcq_drain(q, out, 8, &got), EAGAIN);
    pcq_destroy(q);

    ck_assert_int_eq(pcq_create(&q, 8, sizeof(uint64_t)), 0);
    uint64_t v = 77;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    memset(&w, 0, sizeof w);
    w.c = (struct call){.q = q, .kind = POP_BATCH, .n = 4, .moved = 99, .rc = -1};
    fill(w.c.buf, 32, SENTINEL);
    watch_start(&w);
    await_pop_waits(q, 1);
    pcq_abort(q);
    expect_all_canceled(&w, 1, q);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_destroy(q);
}
END_TEST

/* After abort, every call but pcq_drain returns ECANCELED, whatever the
 * queue holds (_i: empty, part full, full); nothing moves. */
START_TEST(abort_every_call_ecanceled)
{
    enum { CAP = 4 };
    static const size_t fills[] = {0, 2, CAP};
    const size_t have = fills[_i];
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
    for (uint64_t v = 0; v < have; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_stats_t before, after;
    pcq_stats(q, &before);
    pcq_abort(q);
    ck_assert(pcq_is_closed(q));

    uint64_t v = 99, out[8];
    fill(out, 8, SENTINEL);
    size_t n;
    struct timespec far = deadline_ms(60000), past = {0, 0};
    ck_assert_int_eq(pcq_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_try_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_push_until(q, &v, &far), ECANCELED);
    ck_assert_int_eq(pcq_push_until(q, &v, &past), ECANCELED); /* not ETIMEDOUT */
    ck_assert_int_eq(pcq_push_for(q, &v, 1000000000ull), ECANCELED);
    ck_assert_int_eq(pcq_push_for(q, &v, 0), ECANCELED);
    n = 99;
    ck_assert_int_eq(pcq_push_many(q, out, 3, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_push_many(q, out, 3, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(pcq_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_try_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_pop_until(q, out, &far), ECANCELED);
    ck_assert_int_eq(pcq_pop_until(q, out, &past), ECANCELED);
    ck_assert_int_eq(pcq_pop_for(q, out, 1000000000ull), ECANCELED);
    ck_assert_int_eq(pcq_pop_for(q, out, 0), ECANCELED);
    n = 99;
    ck_assert_int_eq(pcq_pop_many(q, out, 8, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_try_pop_many(q, out, 8, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 8, NULL, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 8, 8, &far, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 8, &past, &n), ECANCELED);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_peek(q, out), ECANCELED);
    ck_assert_uint_eq(out[0], SENTINEL); /* nothing copied out */

    ck_assert_uint_eq(pcq_size(q), have);
    pcq_stats(q, &after);
    ck_assert_uint_eq(after.pushed, before.pushed);
    ck_assert_uint_eq(after.popped, before.popped);
    ck_assert_uint_eq(after.push_waits + after.pop_waits, 0); /* none of them slept */
    /* the leftovers, in order, for the owner */
    n = 99;
    if (have == 0) {
        ck_assert_int_eq(pcq_drain(q, out, 8, &n), EAGAIN);
        ck_assert_uint_eq(n, 0);
    } else {
        ck_assert_int_eq(pcq_drain(q, out, 8, &n), 0);
        ck_assert_uint_eq(n, have);
        for (size_t i = 0; i < have; i++)
            ck_assert_uint_eq(out[i], i);
    }
    pcq_destroy(q);
}
END_TEST

/* Idempotent, also after close; close after abort changes nothing (still
 * ECANCELED, not EPIPE); NULL is a no-op. */
START_TEST(abort_idempotent_and_close)
{
    pcq_abort(NULL);
    uint64_t v = 5, out[4];
    size_t n;
    pcq_t *q;
    /* abort twice, then close */
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_abort(q);
    pcq_abort(q);
    ck_assert(pcq_is_closed(q));
    pcq_close(q);
    pcq_close(q);
    ck_assert(pcq_is_closed(q));
    ck_assert_int_eq(pcq_try_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_try_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_peek(q, out), ECANCELED);
    ck_assert_int_eq(pcq_pop_batch(q, out, 1, 4, NULL, &n), ECANCELED);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_abort(q);
    ck_assert_int_eq(pcq_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_drain(q, out, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 5);
    pcq_destroy(q);

    /* close first (pops would still drain), then abort: ECANCELED now */
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    for (v = 1; v <= 3; v++)
        ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_close(q);
    ck_assert_int_eq(pcq_pop(q, out), 0);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_int_eq(pcq_try_push(q, &v), EPIPE);
    pcq_abort(q);
    ck_assert(pcq_is_closed(q));
    ck_assert_int_eq(pcq_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_try_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_try_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_peek(q, out), ECANCELED);
    pcq_abort(q);
    pcq_close(q);
    ck_assert_int_eq(pcq_try_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_drain(q, out, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 3);
    /* closed, aborted and empty: still ECANCELED, never EPIPE */
    ck_assert_int_eq(pcq_try_pop(q, out), ECANCELED);
    ck_assert_int_eq(pcq_peek(q, out), ECANCELED);
    pcq_destroy(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pcq_drain                                                          */
/* ------------------------------------------------------------------ */

/* Open, closed, aborted (_i): FIFO across the end of the ring, up to max,
 * EAGAIN when empty (never EPIPE or ECANCELED), max 0 moves nothing, never
 * sleeps. */
START_TEST(drain_in_every_state)
{
    enum { CAP = 5 };
    for (size_t off = 0; off < CAP; off++) {
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
        uint64_t v, out[CAP + 2];
        size_t n;
        for (size_t i = 0; i < off; i++) { /* move the head to off */
            ck_assert_int_eq(pcq_push(q, &v), 0);
            ck_assert_int_eq(pcq_pop(q, &v), 0);
        }
        n = 99;
        if (_i == 0) { /* empty and open: EAGAIN */
            ck_assert_int_eq(pcq_drain(q, out, 4, &n), EAGAIN);
            ck_assert_uint_eq(n, 0);
        }
        for (v = 0; v < CAP; v++)
            ck_assert_int_eq(pcq_push(q, &v), 0);
        if (_i == 1)
            pcq_close(q);
        if (_i == 2)
            pcq_abort(q);
        n = 99;
        fill(out, CAP + 2, SENTINEL);
        ck_assert_int_eq(pcq_drain(q, out, 0, &n), 0); /* max 0 */
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(out[0], SENTINEL);
        ck_assert_uint_eq(pcq_size(q), CAP);
        ck_assert_int_eq(pcq_drain(q, out, 2, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(out[0], 0);
        ck_assert_uint_eq(out[1], 1);
        ck_assert_uint_eq(out[2], SENTINEL);
        ck_assert_uint_eq(pcq_size(q), CAP - 2);
        fill(out, CAP + 2, SENTINEL);
        ck_assert_int_eq(pcq_drain(q, out, CAP + 2, &n), 0);
        ck_assert_uint_eq(n, CAP - 2);
        for (size_t i = 0; i < CAP - 2; i++)
            ck_assert_uint_eq(out[i], 2 + i);
        ck_assert_uint_eq(out[CAP - 2], SENTINEL);
        n = 99;
        ck_assert_int_eq(pcq_drain(q, out, CAP, &n), EAGAIN);
        ck_assert_uint_eq(n, 0);
        n = 99;
        ck_assert_int_eq(pcq_drain(q, out, 0, &n), 0); /* max 0, empty */
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(pcq_size(q), 0);
        pcq_stats_t s;
        pcq_stats(q, &s);
        ck_assert_uint_eq(s.pop_waits, 0);
        ck_assert_uint_eq(s.popped, off + CAP); /* drained elements came out */
        pcq_destroy(q);
    }
}
END_TEST

START_TEST(drain_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v = 3, out[4];
    ck_assert_int_eq(pcq_push(q, &v), 0);
    size_t n = 99;
    ck_assert_int_eq(pcq_drain(NULL, out, 4, &n), EINVAL);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(pcq_drain(q, NULL, 4, &n), EINVAL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_drain(q, out, 4, NULL), EINVAL);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_destroy(q);
}
END_TEST

/* A producer asleep on a full queue gets the room a drain frees. */
START_TEST(drain_wakes_producer)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    uint64_t v = 1, out[2];
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    watched_t w;
    memset(&w, 0, sizeof w);
    w.c = (struct call){.q = q, .kind = _i ? PUSH_UNTIL : PUSH, .buf = {9}, .rc = -1};
    watch_start(&w);
    await_push_waits(q, 1);
    size_t n;
    ck_assert_int_eq(pcq_drain(q, out, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    if (!watch_ended(&w, LOST_MS)) {
        pcq_abort(q);
        watch_join(&w);
        ck_abort_msg("a producer asleep on a full queue was not woken by the room pcq_drain "
                     "freed");
    }
    ck_assert_int_eq(watch_join(&w), 0);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 9);
    pcq_destroy(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pcq_peek                                                           */
/* ------------------------------------------------------------------ */

/* The head, without removing it, at every ring offset; byte-exact for
 * elements of 300 bytes. */
START_TEST(peek_head)
{
    enum { CAP = 4, ESZ = 300 };
    for (size_t off = 0; off < CAP; off++) {
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, CAP, ESZ), 0);
        const pcq_t *cq = q; /* peek takes a const queue */
        unsigned char e[ESZ], got[ESZ];
        for (size_t i = 0; i < off; i++) {
            ck_assert_int_eq(pcq_push(q, e), 0);
            ck_assert_int_eq(pcq_pop(q, got), 0);
        }
        for (int i = 0; i < CAP; i++) {
            memset(e, 'a' + i, ESZ);
            e[ESZ - 1] = (unsigned char)i;
            ck_assert_int_eq(pcq_push(q, e), 0);
        }
        for (int i = 0; i < CAP; i++) {
            memset(got, 0, ESZ);
            ck_assert_int_eq(pcq_peek(cq, got), 0);
            ck_assert_int_eq(pcq_peek(cq, got), 0); /* twice: still there */
            memset(e, 'a' + i, ESZ);
            e[ESZ - 1] = (unsigned char)i;
            ck_assert_mem_eq(got, e, ESZ);
            ck_assert_uint_eq(pcq_size(cq), (size_t)(CAP - i));
            memset(got, 0, ESZ);
            ck_assert_int_eq(pcq_pop(q, got), 0); /* the next pop gets the same */
            ck_assert_mem_eq(got, e, ESZ);
        }
        pcq_stats_t s;
        pcq_stats(q, &s);
        ck_assert_uint_eq(s.popped, off + CAP); /* peeks took nothing */
        pcq_destroy(q);
    }
}
END_TEST

START_TEST(peek_states)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v = 11, out = SENTINEL;
    ck_assert_int_eq(pcq_peek(NULL, &out), EINVAL);
    ck_assert_int_eq(pcq_peek(q, NULL), EINVAL);
    ck_assert_int_eq(pcq_peek(q, &out), EAGAIN); /* empty, open */
    ck_assert_uint_eq(out, SENTINEL);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_peek(NULL, &out), EINVAL);
    ck_assert_int_eq(pcq_peek(q, NULL), EINVAL);
    pcq_close(q);
    ck_assert_int_eq(pcq_peek(q, &out), 0); /* closed, not empty */
    ck_assert_uint_eq(out, 11);
    ck_assert_int_eq(pcq_pop(q, &out), 0);
    out = SENTINEL;
    ck_assert_int_eq(pcq_peek(q, &out), EPIPE); /* closed and empty */
    ck_assert_uint_eq(out, SENTINEL);
    pcq_abort(q);
    ck_assert_int_eq(pcq_peek(q, &out), ECANCELED);
    pcq_destroy(q);

    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_abort(q);
    ck_assert_int_eq(pcq_peek(q, &out), ECANCELED); /* elements inside */
    ck_assert_uint_eq(out, SENTINEL);
    ck_assert_uint_eq(pcq_size(q), 1);
    pcq_stats_t s;
    pcq_stats(q, &s);
    ck_assert_uint_eq(s.pop_waits, 0);
    pcq_destroy(q);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Abort racing everything                                             */
/* ------------------------------------------------------------------ */

struct aworker {
    pcq_t *q;
    gate_t *go;
    finish_t *fin;
    unsigned id;
    uint64_t seed;
    test_rng_t rng;
    uint32_t n;     /* producer: sequences to push */
    uint32_t acked; /* producer: known to be in */
    int end;        /* the code that ended the thread */
    tally_t tally;  /* consumer (a producer only uses its fault) */
};

static void *a_producer(void *arg)
{
    struct aworker *w = arg;
    gate_wait(w->go);
    uint64_t batch[8];
    int rc = 0;
    while (w->acked < w->n && rc == 0) {
        size_t k = 1 + (size_t)test_below(&w->rng, 8), moved = 0;
        if (k > w->n - w->acked)
            k = w->n - w->acked;
        for (size_t i = 0; i < k; i++)
            batch[i] = TALLY_ELEM(w->id, w->acked + i);
        rc = push_some_way(w->q, batch, k, &w->rng, &moved);
        w->acked += (uint32_t)moved;
    }
    w->end = rc;
    if (rc != 0 && rc != ECANCELED && rc != EPIPE)
        tally_fault(&w->tally, "producer %u: push returned %d", w->id, rc);
    if (rc == ECANCELED && pcq_try_push(w->q, batch) != ECANCELED)
        tally_fault(&w->tally, "producer %u: a push after ECANCELED did not return it", w->id);
    finish_one(w->fin);
    return NULL;
}

static void *a_consumer(void *arg)
{
    struct aworker *w = arg;
    gate_wait(w->go);
    uint64_t buf[8];
    int rc;
    for (;;) {
        size_t n = 0, max = 1 + (size_t)test_below(&w->rng, 8);
        switch (test_below(&w->rng, 7)) {
        case 0:
            rc = pcq_pop(w->q, buf);
            n = rc == 0;
            break;
        case 1:
            rc = pcq_try_pop(w->q, buf);
            n = rc == 0;
            break;
        case 2:
            rc = pcq_pop_for(w->q, buf, stress_timeout(&w->rng));
            n = rc == 0;
            break;
        case 3:
            rc = pcq_pop_many(w->q, buf, max, &n);
            break;
        case 4:
            rc = pcq_try_pop_many(w->q, buf, max, &n);
            break;
        case 5: {
            size_t min = 1 + (size_t)test_below(&w->rng, max);
            struct timespec d = deadline_ms(0);
            uint64_t ns = stress_timeout(&w->rng);
            d.tv_sec += (time_t)(ns / 1000000000u);
            d.tv_nsec += (long)(ns % 1000000000u);
            if (d.tv_nsec >= 1000000000L) {
                d.tv_nsec -= 1000000000L;
                d.tv_sec++;
            }
            rc = pcq_pop_batch(w->q, buf, min, max, test_below(&w->rng, 2) ? &d : NULL, &n);
            break;
        }
        default:
            rc = pcq_peek(w->q, buf);
            if (rc != 0 && rc != EAGAIN && rc != ECANCELED && rc != EPIPE)
                tally_fault(&w->tally, "peek returned %d", rc);
            if (rc == 0 || rc == EAGAIN)
                continue;
            n = 0;
            break;
        }
        if (rc != 0 && n != 0)
            tally_fault(&w->tally, "a pop returned %d with %zu moved", rc, n);
        if (rc == 0)
            tally_take(&w->tally, buf, n, false);
        else if (rc == EAGAIN)
            sched_yield();
        else if (rc != ETIMEDOUT)
            break;
    }
    w->end = rc;
    if (rc != ECANCELED && rc != EPIPE)
        tally_fault(&w->tally, "consumer %u ended with %d", w->id, rc);
    finish_one(w->fin);
    return NULL;
}

START_TEST(abort_race)
{
    enum { MAXP = 4, MAXC = 4 };
    static const size_t caps[] = {1, 2, 3, 8, 64};
    const long rounds = scaled(60, 4);
    const uint32_t per = (uint32_t)scaled(3000, 100);
    char msg[512] = "";
    for (long r = 0; r < rounds && msg[0] == '\0'; r++) {
        test_rng_t rr = {test_seed(50, (unsigned)r, 9999)};
        const unsigned np = 1 + (unsigned)test_below(&rr, MAXP);
        const unsigned nc = 1 + (unsigned)test_below(&rr, MAXC);
        const size_t cap = caps[test_below(&rr, sizeof caps / sizeof caps[0])];
        /* abort at once, mid-stream, or after everything went in; in one
         * round out of four, close races it first */
        const uint64_t total = (uint64_t)np * per;
        const uint64_t after = test_below(&rr, 6) == 0 ? 0 : test_below(&rr, total + 1);
        const bool close_first = test_below(&rr, 4) == 0;
        const uint64_t close_after = test_below(&rr, after + 1);
        pcq_t *q;
        ck_assert_int_eq(pcq_create(&q, cap, sizeof(uint64_t)), 0);
        gate_t go;
        gate_init(&go);
        finish_t fin;
        finish_init(&fin, np + nc);
        struct aworker w[MAXP + MAXC];
        pthread_t t[MAXP + MAXC];
        memset(w, 0, sizeof w);
        for (unsigned i = 0; i < np + nc; i++) {
            w[i].q = q;
            w[i].go = &go;
            w[i].fin = &fin;
            w[i].id = i < np ? i : i - np;
            w[i].seed = w[i].rng.s = test_seed(50, (unsigned)r, i);
            w[i].n = per;
            tally_init(&w[i].tally, np, per);
            start(&t[i], i < np ? a_producer : a_consumer, &w[i]);
        }
        gate_open(&go);
        pcq_stats_t st;
        if (close_first) {
            for (pcq_stats(q, &st); st.pushed < close_after; pcq_stats(q, &st))
                sched_yield();
            pcq_close(q);
        } else {
            for (pcq_stats(q, &st); st.pushed < after; pcq_stats(q, &st))
                sched_yield();
        }
        pcq_abort(q);
        if (!finish_wait(&fin, q, STALL_MS, msg, sizeof msg)) {
            if (strstr(msg, "still blocked") != NULL)
                ck_abort_msg("round %ld: after pcq_abort: %s", r, msg);
        }
        for (unsigned i = 0; i < np + nc; i++)
            join(t[i]);

        /* the owner drains the leftovers into a tally of its own */
        tally_t *all = calloc(nc + 1, sizeof *all);
        uint32_t want[MAXP];
        ck_assert(all != NULL);
        tally_init(&all[nc], np, per);
        uint64_t buf[16], drained = 0;
        size_t n;
        int rc;
        while ((rc = pcq_drain(q, buf, 16, &n)) == 0) {
            tally_take(&all[nc], buf, n, false);
            drained += n;
        }
        if (msg[0] == '\0' && rc != EAGAIN)
            snprintf(msg, sizeof msg, "pcq_drain ended with %d", rc);
        uint64_t acked = 0;
        for (unsigned i = 0; i < np; i++) {
            want[i] = w[i].acked;
            acked += w[i].acked;
            if (msg[0] == '\0' && w[i].tally.fault[0] != '\0')
                snprintf(msg, sizeof msg, "%s", w[i].tally.fault);
            if (msg[0] == '\0' && w[i].end != ECANCELED && w[i].end != EPIPE &&
                w[i].acked < per)
                snprintf(msg, sizeof msg, "producer %u ended with %d", i, w[i].end);
        }
        for (unsigned i = 0; i < nc; i++)
            all[i] = w[np + i].tally;
        if (msg[0] == '\0')
            tally_verdict(all, nc + 1, want, msg, sizeof msg);
        pcq_stats(q, &st);
        if (msg[0] == '\0' && (st.pushed != acked || st.popped != acked || pcq_size(q) != 0))
            snprintf(msg, sizeof msg,
                     "stats: pushed %" PRIu64 " popped %" PRIu64 " size %zu; %" PRIu64
                     " went in, %" PRIu64 " drained",
                     st.pushed, st.popped, pcq_size(q), acked, drained);
        if (msg[0] == '\0' && !pcq_is_closed(q))
            snprintf(msg, sizeof msg, "pcq_is_closed false after pcq_abort");
        if (msg[0] != '\0') {
            char ctx[160];
            snprintf(ctx, sizeof ctx,
                     " [round %ld: %uP x %uC, capacity %zu, abort after %" PRIu64
                     " pushes%s, seed %#" PRIx64 "]",
                     r, np, nc, cap, after, close_first ? ", close first" : "", rr.s);
            strncat(msg, ctx, sizeof msg - strlen(msg) - 1);
        }
        tally_free(&all[nc]);
        free(all);
        for (unsigned i = 0; i < np + nc; i++)
            tally_free(&w[i].tally);
        finish_destroy(&fin);
        gate_destroy(&go);
        pcq_destroy(q);
    }
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

Suite *suite_abort(void)
{
    Suite *s = suite_create("abort");
    TCase *tc = tcase_create("abort");
    tcase_add_test(tc, abort_wakes_consumers);
    tcase_add_test(tc, abort_wakes_producers);
    tcase_add_test(tc, abort_wakes_partial_push_many);
    tcase_add_loop_test(tc, abort_every_call_ecanceled, 0, 3);
    tcase_add_test(tc, abort_idempotent_and_close);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("drain_peek");
    tcase_add_loop_test(tc, drain_in_every_state, 0, 3);
    tcase_add_test(tc, drain_einval);
    tcase_add_loop_test(tc, drain_wakes_producer, 0, 2);
    tcase_add_test(tc, peek_head);
    tcase_add_test(tc, peek_states);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("race");
    tcase_add_test(tc, abort_race);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
