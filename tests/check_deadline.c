/*
 * check_deadline.c — timed calls racing their own deadline.
 *
 * The header promises that a timed call returns ETIMEDOUT only when the
 * queue was still empty (pop) or full (push) once the deadline had passed.
 * The moment that matters is an element (or a free slot) arriving just as
 * the timed wait expires: the wait then reports a timeout although the
 * ring can serve the call, and a call that trusts that report without
 * looking at the ring again fails with an element there for it; and since
 * it passes no baton on, a sleeper beside it may wait on as well.
 *
 * Rounds, each with one timed call (alternately _until and _for):
 *  - ALONE: the timed call asleep; one arrival at deadline + offset, the
 *    offset swept from 200 us before to 100 us after.
 *  - BESIDE: a plain blocking call of the same side asleep first, then the
 *    timed call; two arrivals, both complete before the deadline. The
 *    first arrival's wake-up goes to the plain call (the older sleeper),
 *    which takes its share and then hands the baton to the timed call,
 *    just around the deadline. In half of these rounds the elements are
 *    large (their copy takes about COPY_US under the queue's lock), which
 *    stretches the plain call's turn across the deadline so that the
 *    baton comes after it; in the other half they are 8 bytes and the
 *    arrivals sweep the last 80 us before it.
 * Arrivals are timed by polling the clock, not by sleeping: the verdicts
 * hold whatever the timing; the timing only decides how often a round
 * lands in the window.
 *
 * Verdicts, every round:
 *  - each element (slot) was taken exactly once, or is still in the ring;
 *  - a timed call that returned ETIMEDOUT did so with every arrival that
 *    completed before its deadline taken by someone else (it looked at the
 *    ring after the deadline, when those were in);
 *  - a plain blocked call beside it is never left asleep while the ring
 *    can serve it (a bounded wait; past it, the test fails).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "test_util.h"

#define US 1000ull
#define MS 1000000ull
/* Past this, a woken thread is not coming: a lost wake-up. Generous, for
 * TSan on a loaded machine; a correct round takes a few milliseconds. */
#define LOST_AFTER_MS 5000
/* A large element's copy, the length of one turn under the lock. */
#define COPY_US 200

/* Helgrind misreports inside glibc when a timed wait times out while
 * another thread signals: exactly what these rounds provoke. */
#define VG_TIMED_WHY "Valgrind misreports glibc's timed wait racing a signal"

enum { ALONE, BESIDE }; /* the timed call alone, or beside a plain waiter */

/* Bytes whose memcpy takes about COPY_US on this machine and build. */
static size_t big_size;

static void calibrate_big(void)
{
    if (big_size != 0)
        return;
    size_t n = 1u << 16;
    for (;;) {
        unsigned char *a = malloc(n), *b = malloc(n);
        ck_assert(a != NULL && b != NULL);
        memset(a, 1, n);
        memset(b, 2, n);
        uint64_t best = UINT64_MAX;
        for (int r = 0; r < 5; r++) {
            uint64_t t0 = now_ns();
            memcpy(b, a, n);
            __asm__ __volatile__("" ::"r"(b) : "memory");
            uint64_t dt = now_ns() - t0;
            best = dt < best ? dt : best;
        }
        free(a);
        free(b);
        if (best >= COPY_US * US || n >= (64u << 20)) {
            big_size = n;
            return;
        }
        n *= 2;
    }
}

static void spin_until(uint64_t t)
{
    while (now_ns() < t)
        ;
}

static struct timespec ts_of(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return ts;
}

/* An element: its first 8 bytes carry its value. */
static void put_val(unsigned char *e, uint64_t v) { memcpy(e, &v, sizeof v); }
static uint64_t get_val(const unsigned char *e)
{
    uint64_t v;
    memcpy(&v, e, sizeof v);
    return v;
}

/* A plain blocking call in a thread, whose end the test can wait for with
 * a bound. */
struct plain {
    pcq_t *q;
    bool push;
    unsigned char *elem; /* push: what to push; pop: what came out */
    int rc;
    bool done; /* mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *plain_thread(void *arg)
{
    struct plain *p = arg;
    int rc = p->push ? pcq_push(p->q, p->elem) : pcq_pop(p->q, p->elem);
    pthread_mutex_lock(&p->mu);
    p->rc = rc;
    p->done = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void plain_start(struct plain *p, pthread_t *t, pcq_t *q, bool push,
                        unsigned char *elem)
{
    memset(p, 0, sizeof *p);
    p->q = q;
    p->push = push;
    p->elem = elem;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    start(t, plain_thread, p);
}

/* Whether the plain call ended within `ms`. */
static bool plain_ended_within(struct plain *p, long ms)
{
    struct timespec d = deadline_ms(ms);
    pthread_mutex_lock(&p->mu);
    while (!p->done)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &d) == ETIMEDOUT)
            break;
    bool done = p->done;
    pthread_mutex_unlock(&p->mu);
    return done;
}

static void plain_finish(struct plain *p, pthread_t t)
{
    join(t);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

/* The timed call, in a thread: _until or _for. */
struct timed {
    pcq_t *q;
    bool push;
    bool use_for;
    struct timespec deadline;
    uint64_t deadline_ns;
    unsigned char *elem;
    int rc;
    atomic_bool finished;
};

static void *timed_thread(void *arg)
{
    struct timed *t = arg;
#ifdef __linux__
    /* Expire the wait at the deadline, not up to 50 us later (the default
     * timer slack): the window these rounds aim at is that narrow. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    if (t->use_for) {
        uint64_t now = now_ns();
        uint64_t left = t->deadline_ns > now ? t->deadline_ns - now : 0;
        t->rc = t->push ? pcq_push_for(t->q, t->elem, left) : pcq_pop_for(t->q, t->elem, left);
    } else {
        t->rc = t->push ? pcq_push_until(t->q, t->elem, &t->deadline)
                        : pcq_pop_until(t->q, t->elem, &t->deadline);
    }
    atomic_store(&t->finished, true);
    return NULL;
}

/* Wait until n calls of the timed call's side have slept (it is asleep in
 * its wait), or until it has returned: on a loaded machine its deadline
 * may pass before it gets to sleep, and the round then only checks the
 * verdicts. */
static void await_timed_asleep(pcq_t *q, struct timed *t, uint64_t n)
{
    pcq_stats_t s;
    for (pcq_stats(q, &s); (t->push ? s.push_waits : s.pop_waits) < n; pcq_stats(q, &s)) {
        if (atomic_load(&t->finished))
            return;
        sched_yield();
    }
}

/* How round i is laid out. */
struct plan {
    int who;
    unsigned arrivals;     /* elements pushed (pop rounds) or popped (push rounds) */
    size_t esz;            /* element size */
    uint64_t deadline_ns;  /* from the start of the round */
    int64_t arrive_ns;     /* when the arrivals start, relative to the deadline */
};

static struct plan plan_of(long i, int who)
{
    struct plan p = {who, who == BESIDE ? 2 : 1, sizeof(uint64_t), 2 * MS, 0};
    if (who == ALONE) {
        p.arrive_ns = ((int64_t)(i % 31) - 20) * 10 * (int64_t)US; /* -200 .. +100 us */
    } else if (i % 2 == 0) {
        /* Large: the two arrivals take two turns, the plain call's copy a
         * third; start 2.2 .. 2.8 turns before the deadline so that the
         * arrivals end before it and the plain call's turn spans it. */
        p.esz = big_size;
        p.deadline_ns = 4 * MS + 4 * COPY_US * US;
        p.arrive_ns = -(int64_t)((22 + (i / 2) % 7) * COPY_US * US / 10);
    } else {
        p.arrive_ns = -(int64_t)((i / 2) % 41) * 2 * (int64_t)US; /* -80 .. 0 us */
    }
    return p;
}

/* Elements of a round: slot k of an array of `n` elements of esz bytes. */
static unsigned char *elems(size_t n, size_t esz)
{
    unsigned char *e = calloc(n, esz);
    ck_assert(e != NULL);
    return e;
}

/*
 * Put round i's sleepers to sleep on q's side `push`: [the plain call,
 * with buf's element 0,] then the timed call (element 1), each asleep
 * before the next starts; then return at the moment the arrivals are due.
 */
static void start_sleepers(pcq_t *q, const struct plan *p, long i, bool push, unsigned char *buf,
                           struct plain *b, pthread_t *bt, struct timed *t, pthread_t *tt)
{
    uint64_t sleepers = 0;
    if (p->who == BESIDE) {
        plain_start(b, bt, q, push, buf);
        if (push)
            await_push_waits(q, ++sleepers);
        else
            await_pop_waits(q, ++sleepers);
    }
    memset(t, 0, sizeof *t);
    t->q = q;
    t->push = push;
    t->use_for = (i / 2) % 2 == 1;
    t->elem = buf + p->esz;
    atomic_init(&t->finished, false);
    t->deadline_ns = now_ns() + p->deadline_ns;
    t->deadline = ts_of(t->deadline_ns);
    start(tt, timed_thread, t);
    await_timed_asleep(q, t, ++sleepers);
    spin_until((uint64_t)((int64_t)t->deadline_ns + p->arrive_ns));
}

/*
 * One round of pops: [a plain pcq_pop asleep,] a timed pop asleep, and the
 * arrivals (pushes of values 1..arrivals).
 */
static void pop_round(long i, int who)
{
    const struct plan p = plan_of(i, who);
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, p.esz), 0);
    unsigned char *buf = elems(3, p.esz); /* 0: the plain pop's, 1: the timed pop's, 2: pushes */
    struct plain b;
    pthread_t bt, tt;
    struct timed t;
    start_sleepers(q, &p, i, false, buf, &b, &bt, &t, &tt);
    unsigned early = 0; /* pushes complete before the deadline */
    for (uint64_t e = 1; e <= p.arrivals; e++) {
        put_val(buf + 2 * p.esz, e);
        ck_assert_int_eq(pcq_push(q, buf + 2 * p.esz), 0);
        early += now_ns() < t.deadline_ns;
    }
    join(tt);

    bool t_took = t.rc == 0;
    if (!t_took)
        EXPECT(t.rc == ETIMEDOUT);
    else
        EXPECT(get_val(t.elem) >= 1 && get_val(t.elem) <= p.arrivals);

    bool b_took = false;
    if (who == BESIDE) {
        /* Two elements: at least one is for the plain pop, whatever the
         * timed pop did. */
        if (!plain_ended_within(&b, LOST_AFTER_MS)) {
            size_t in = pcq_size(q);
            pcq_close(q); /* release it, then fail */
            plain_finish(&b, bt);
            ck_abort_msg("round %ld: a plain pop slept on for %d ms with %zu element(s) in "
                         "the ring; the timed pop returned %d",
                         i, LOST_AFTER_MS, in, t.rc);
        }
        plain_finish(&b, bt);
        EXPECT(b.rc == 0);
        b_took = true;
        uint64_t v = get_val(buf);
        EXPECT(v >= 1 && v <= p.arrivals && (!t_took || v != get_val(t.elem)));
    }

    /* Exactly once, or still in the ring. */
    EXPECT((size_t)t_took + (size_t)b_took + pcq_size(q) == p.arrivals);
    /* A timed pop that timed out looked at the ring after its deadline:
     * every element in by then was gone, so the plain pop took them all. */
    if (t.rc == ETIMEDOUT && early > (unsigned)b_took)
        ck_abort_msg("round %ld: the timed pop returned ETIMEDOUT with %u element(s) pushed "
                     "before its deadline and only %d taken by another pop",
                     i, early, (int)b_took);
    pcq_destroy(q);
    free(buf);
}

/*
 * One round of pushes, the mirror image on a full ring of capacity
 * `arrivals`: [a plain pcq_push asleep,] a timed push asleep, and the
 * arrivals (pops, which free the slots).
 */
static void push_round(long i, int who)
{
    const struct plan p = plan_of(i, who);
    const uint64_t timed_val = 100, plain_val = 200;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, p.arrivals, p.esz), 0);
    unsigned char *buf = elems(3, p.esz); /* 0: the plain push's, 1: the timed push's, 2: pops */
    for (uint64_t e = 1; e <= p.arrivals; e++) {
        put_val(buf + 2 * p.esz, e);
        ck_assert_int_eq(pcq_push(q, buf + 2 * p.esz), 0);
    }
    put_val(buf, plain_val);
    put_val(buf + p.esz, timed_val);
    struct plain b;
    pthread_t bt, tt;
    struct timed t;
    start_sleepers(q, &p, i, true, buf, &b, &bt, &t, &tt);
    unsigned early = 0; /* slots freed before the deadline */
    for (uint64_t e = 1; e <= p.arrivals; e++) {
        ck_assert_int_eq(pcq_pop(q, buf + 2 * p.esz), 0);
        early += now_ns() < t.deadline_ns;
        EXPECT(get_val(buf + 2 * p.esz) == e);
    }
    join(tt);

    bool t_in = t.rc == 0;
    if (!t_in)
        EXPECT(t.rc == ETIMEDOUT);

    bool b_in = false;
    if (who == BESIDE) {
        if (!plain_ended_within(&b, LOST_AFTER_MS)) {
            size_t in = pcq_size(q);
            pcq_close(q);
            plain_finish(&b, bt);
            ck_abort_msg("round %ld: a plain push slept on for %d ms with %zu of 2 slots taken; "
                         "the timed push returned %d",
                         i, LOST_AFTER_MS, in, t.rc);
        }
        plain_finish(&b, bt);
        EXPECT(b.rc == 0);
        b_in = true;
    }

    /* Each freed slot went to exactly one of them, or is still free; what
     * is in the ring is exactly what they pushed. */
    EXPECT((size_t)t_in + (size_t)b_in == pcq_size(q));
    bool seen_t = false, seen_b = false;
    while (pcq_try_pop(q, buf + 2 * p.esz) == 0) {
        seen_t |= get_val(buf + 2 * p.esz) == timed_val;
        seen_b |= get_val(buf + 2 * p.esz) == plain_val;
    }
    EXPECT(seen_t == t_in && seen_b == b_in);
    if (t.rc == ETIMEDOUT && early > (unsigned)b_in)
        ck_abort_msg("round %ld: the timed push returned ETIMEDOUT with %u slot(s) freed "
                     "before its deadline and only %d taken by another push",
                     i, early, (int)b_in);
    pcq_destroy(q);
    free(buf);
}

static long rounds(void) { return scaled(300, 30); }

START_TEST(pop_alone_at_deadline)
{
    SKIP_UNDER_VALGRIND(VG_TIMED_WHY);
    for (long i = 0; i < rounds(); i++)
        pop_round(i, ALONE);
}
END_TEST

START_TEST(pop_beside_plain_at_deadline)
{
    SKIP_UNDER_VALGRIND(VG_TIMED_WHY);
    calibrate_big();
    for (long i = 0; i < rounds(); i++)
        pop_round(i, BESIDE);
}
END_TEST

START_TEST(push_alone_at_deadline)
{
    SKIP_UNDER_VALGRIND(VG_TIMED_WHY);
    for (long i = 0; i < rounds(); i++)
        push_round(i, ALONE);
}
END_TEST

START_TEST(push_beside_plain_at_deadline)
{
    SKIP_UNDER_VALGRIND(VG_TIMED_WHY);
    calibrate_big();
    for (long i = 0; i < rounds(); i++)
        push_round(i, BESIDE);
}
END_TEST

Suite *suite_deadline(void)
{
    Suite *s = suite_create("deadline");
    TCase *tc = tcase_create("race");
    tcase_add_test(tc, pop_alone_at_deadline);
    tcase_add_test(tc, pop_beside_plain_at_deadline);
    tcase_add_test(tc, push_alone_at_deadline);
    tcase_add_test(tc, push_beside_plain_at_deadline);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
