/*
 * check_pollfd.c — pcq_pollfd: a descriptor per side for poll, epoll and
 * select, with level semantics.
 *
 * Clauses (include/pcq.h, issue 12) and the tests that prove them:
 *  - EINVAL for NULL q, NULL fd, a side neither PUSH nor POP  pollfd_einval
 *  - the same descriptor on every call for a side, another for the other
 *    side (and for another queue)                          pollfd_same_fd
 *  - close-on-exec and non-blocking (fcntl)                  pollfd_flags
 *  - POP: not readable when empty; readable after one push; stays readable
 *    while elements remain (polling consumes nothing); not readable once
 *    the call that took the last element returned, whichever call it was
 *    (pop, try, timed, many, pop_batch, drain); many rounds, no drift;
 *    poll and epoll agree                                 pollfd_pop_level
 *  - PUSH: readable while there is room; not readable once the call that
 *    filled the ring returned, whichever push it was; readable again after
 *    a pop                                               pollfd_push_level
 *  - a descriptor asked for late shows the state at once  pollfd_created_late
 *  - the PUSH side follows the capacity (grow: room; shrink below the
 *    size: none until the size is below it), and the room a drain frees;
 *    peek changes nothing                          pollfd_follows_other_calls
 *  - close and abort make both sides readable, and wake a thread asleep in
 *    poll() on either side                            pollfd_close_abort
 *  - many producers, one consumer thread that waits in poll, epoll or
 *    select (bounded) and drains with try_pop_many: exactly once; with a
 *    single consumer, readable always means an element is there (no stale
 *    readiness)                   pollfd_one_consumer, pollfd_no_stale_readiness
 *  - several threads poll each side at once (producers the PUSH fd and
 *    try_push_many, consumers the POP fd and try_pop_many): exactly once,
 *    no thread left waiting (bounded waits fail, never hang)
 *                                                      pollfd_many_pollers
 *  - pcq_destroy closes the descriptors (F_GETFD: EBADF); a queue that
 *    never asked opens none                           pollfd_destroy_closes
 *
 * Level checks poll with a zero timeout right after the call under test
 * returned: the contract says the descriptor changed before that call
 * returned. Threads wait in poll() with a bound (POLL_MS); a wait that
 * runs out is a lost readiness and fails the test.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "test_util.h"

#define MS 1000000ull
#define STALL_MS 10000 /* stress: no move for this long is a hang */

/* How long a thread waits in poll() before calling it a lost readiness:
 * generous, for Valgrind on a loaded machine. */
static int poll_ms(void) { return valgrind_tool() != NULL ? 30000 : 10000; }

/* Readable now, by poll with a zero timeout (and, on Linux, by a
 * level-triggered epoll set, which must agree). */
static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 0);
    ck_assert_msg(n >= 0, "poll: %s", strerror(errno));
    ck_assert_msg((p.revents & (POLLERR | POLLNVAL)) == 0, "poll revents %#x", p.revents);
    bool r = n == 1 && (p.revents & POLLIN) != 0;
#ifdef __linux__
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_msg(ep >= 0, "epoll_create1: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, got;
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    int m = epoll_wait(ep, &got, 1, 0);
    close(ep);
    ck_assert_msg(m == (r ? 1 : 0), "poll says %sreadable, epoll %d", r ? "" : "not ", m);
#endif
    return r;
}

static int fd_of(pcq_t *q, enum pcq_side side)
{
    int fd = -1;
    ck_assert_int_eq(pcq_pollfd(q, side, &fd), 0);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* ------------------------------------------------------------------ */

START_TEST(pollfd_einval)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    int fd = -7;
    ck_assert_int_eq(pcq_pollfd(NULL, PCQ_SIDE_POP, &fd), EINVAL);
    ck_assert_int_eq(pcq_pollfd(NULL, PCQ_SIDE_PUSH, &fd), EINVAL);
    ck_assert_int_eq(pcq_pollfd(q, PCQ_SIDE_POP, NULL), EINVAL);
    ck_assert_int_eq(pcq_pollfd(q, PCQ_SIDE_PUSH, NULL), EINVAL);
    ck_assert_int_eq(pcq_pollfd(q, (enum pcq_side)2, &fd), EINVAL);
    ck_assert_int_eq(pcq_pollfd(q, (enum pcq_side)-1, &fd), EINVAL);
    ck_assert_int_eq(pcq_pollfd(q, (enum pcq_side)(PCQ_SIDE_POP + 100), &fd), EINVAL);
    pcq_destroy(q);
}
END_TEST

START_TEST(pollfd_same_fd)
{
    pcq_t *q, *q2;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_create(&q2, 4, sizeof(uint64_t)), 0);
    int pop = fd_of(q, PCQ_SIDE_POP), push = fd_of(q, PCQ_SIDE_PUSH);
    ck_assert_int_ne(pop, push);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fd_of(q, PCQ_SIDE_POP), pop);
        ck_assert_int_eq(fd_of(q, PCQ_SIDE_PUSH), push);
    }
    int pop2 = fd_of(q2, PCQ_SIDE_POP), push2 = fd_of(q2, PCQ_SIDE_PUSH);
    ck_assert(pop2 != pop && pop2 != push && push2 != pop && push2 != push && pop2 != push2);
    pcq_destroy(q2);
    pcq_destroy(q);
}
END_TEST

START_TEST(pollfd_flags)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    for (int side = PCQ_SIDE_PUSH; side <= PCQ_SIDE_POP; side++) {
        int fd = fd_of(q, (enum pcq_side)side);
        int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
        ck_assert_msg(fdfl >= 0 && fl >= 0, "fcntl: %s", strerror(errno));
        ck_assert_msg(fdfl & FD_CLOEXEC, "side %d: FD_CLOEXEC not set", side);
        ck_assert_msg(fl & O_NONBLOCK, "side %d: O_NONBLOCK not set", side);
    }
    pcq_destroy(q);
}
END_TEST

/* The pop kinds a level test takes elements with. */
enum take { T_POP, T_TRY, T_FOR, T_UNTIL, T_MANY, T_TRY_MANY, T_BATCH, T_DRAIN, TAKES };
static const char *const take_name[TAKES] = {"pop",          "try_pop",   "pop_for",
                                              "pop_until",    "pop_many",  "try_pop_many",
                                              "pop_batch",    "drain"};

/* Take exactly k (1..8) elements with call `how`; they must be there. */
static void take(pcq_t *q, enum take how, size_t k, uint64_t *first)
{
    uint64_t buf[8];
    size_t n = k;
    struct timespec d = deadline_ms(60000);
    for (size_t got = 0; got < k; got += n) {
        int rc;
        size_t want = k - got;
        switch (how) {
        case T_POP: rc = pcq_pop(q, buf); n = 1; break;
        case T_TRY: rc = pcq_try_pop(q, buf); n = 1; break;
        case T_FOR: rc = pcq_pop_for(q, buf, 60000 * MS); n = 1; break;
        case T_UNTIL: rc = pcq_pop_until(q, buf, &d); n = 1; break;
        case T_MANY: rc = pcq_pop_many(q, buf, want, &n); break;
        case T_TRY_MANY: rc = pcq_try_pop_many(q, buf, want, &n); break;
        case T_BATCH: rc = pcq_pop_batch(q, buf, want, want, NULL, &n); break;
        default: rc = pcq_drain(q, buf, want, &n); break;
        }
        ck_assert_msg(rc == 0 && n >= 1, "%s returned %d with %zu", take_name[how], rc, n);
        if (got == 0)
            *first = buf[0];
    }
}

/* POP side, level semantics, the last element taken by call _i. */
START_TEST(pollfd_pop_level)
{
    const enum take how = (enum take)_i;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    const int fd = fd_of(q, PCQ_SIDE_POP);
    ck_assert_msg(!readable(fd), "POP readable on a new, empty queue");
    uint64_t v = 0, got;
    const long rounds = scaled(200, 20);
    for (long r = 0; r < rounds; r++) {
        const size_t k = 1 + (size_t)(r % 4); /* 1..4 elements this round */
        for (size_t i = 0; i < k; i++, v++) {
            ck_assert_int_eq(pcq_push(q, &v), 0);
            ck_assert_msg(readable(fd), "round %ld: POP not readable with %zu element(s)", r,
                          i + 1);
            ck_assert(readable(fd)); /* polling takes nothing away */
        }
        if (k > 1) { /* one less than all, one at a time: still readable */
            for (size_t i = 0; i + 1 < k; i++) {
                take(q, how, 1, &got);
                ck_assert_uint_eq(got, v - k + i);
                ck_assert_msg(readable(fd), "round %ld: POP not readable with %zu left after %s",
                              r, k - i - 1, take_name[how]);
            }
        }
        take(q, how, 1, &got);
        ck_assert_uint_eq(got, v - 1);
        ck_assert_msg(!readable(fd), "round %ld: POP readable right after %s took the last "
                      "element", r, take_name[how]);
        /* all at once with the batch calls */
        if (how == T_MANY || how == T_TRY_MANY || how == T_BATCH || how == T_DRAIN) {
            uint64_t arr[4] = {v, v + 1, v + 2, v + 3};
            size_t n;
            ck_assert_int_eq(pcq_push_many(q, arr, k, &n), 0);
            v += k;
            ck_assert(readable(fd));
            take(q, how, k, &got);
            ck_assert_msg(!readable(fd), "round %ld: POP readable right after %s took all %zu",
                          r, take_name[how], k);
        }
    }
    ck_assert_uint_eq(pcq_size(q), 0);
    pcq_destroy(q);
}
END_TEST

/* The push kinds a level test fills the ring with. */
enum put { P_PUSH, P_TRY, P_FOR, P_UNTIL, P_MANY, P_TRY_MANY, PUTS };
static const char *const put_name[PUTS] = {"push",       "try_push",  "push_for",
                                           "push_until", "push_many", "try_push_many"};

/* Put k elements with call `how`; they must fit (try_push_many: it is
 * offered one more than fits, and must push exactly the k that fit). */
static void put(pcq_t *q, enum put how, size_t k, uint64_t *v)
{
    uint64_t buf[8];
    struct timespec d = deadline_ms(60000);
    for (size_t i = 0; i < k + 1; i++)
        buf[i] = *v + i;
    size_t n = 0;
    int rc = 0;
    switch (how) {
    case P_MANY: rc = pcq_push_many(q, buf, k, &n); break;
    case P_TRY_MANY:
        rc = pcq_try_push_many(q, buf, k + 1, &n);
        ck_assert_msg(rc == 0 && n == k, "try_push_many(%zu) returned %d with %zu", k + 1, rc,
                      n);
        break;
    default:
        for (size_t i = 0; i < k && rc == 0; i++, n++) {
            switch (how) {
            case P_PUSH: rc = pcq_push(q, &buf[i]); break;
            case P_TRY: rc = pcq_try_push(q, &buf[i]); break;
            case P_FOR: rc = pcq_push_for(q, &buf[i], 60000 * MS); break;
            default: rc = pcq_push_until(q, &buf[i], &d); break;
            }
        }
        break;
    }
    ck_assert_msg(rc == 0 && n == k, "%s returned %d with %zu", put_name[how], rc, n);
    *v += k;
}

/* PUSH side, level semantics, the ring filled by call _i. */
START_TEST(pollfd_push_level)
{
    enum { CAP = 3 };
    const enum put how = (enum put)_i;
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, CAP, sizeof(uint64_t)), 0);
    const int fd = fd_of(q, PCQ_SIDE_PUSH);
    ck_assert_msg(readable(fd), "PUSH not readable on a new, empty queue");
    uint64_t v = 0, got;
    const long rounds = scaled(200, 20);
    for (long r = 0; r < rounds; r++) {
        const size_t free_now = CAP - pcq_size(q);
        const size_t before = (size_t)r % free_now; /* leave 1..free_now to fill */
        if (before > 0) /* (try_push_many is offered one more than fits: not here) */
            put(q, how == P_TRY_MANY ? P_PUSH : how, before, &v);
        ck_assert_msg(readable(fd), "round %ld: PUSH not readable with %zu of %d", r,
                      pcq_size(q), CAP);
        ck_assert(readable(fd));
        put(q, how, CAP - pcq_size(q), &v); /* fills it */
        ck_assert_uint_eq(pcq_size(q), CAP);
        ck_assert_msg(!readable(fd), "round %ld: PUSH readable right after %s filled the ring",
                      r, put_name[how]);
        ck_assert_int_eq(pcq_pop(q, &got), 0);
        ck_assert_msg(readable(fd), "round %ld: PUSH not readable after a pop from a full ring",
                      r);
        if (r % 2 == 0) { /* sometimes empty it */
            while (pcq_try_pop(q, &got) == 0)
                ;
            ck_assert(readable(fd));
        }
    }
    pcq_destroy(q);
}
END_TEST

/* Asked for when the queue is already non-empty, full, closed: shows it. */
START_TEST(pollfd_created_late)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert(readable(fd_of(q, PCQ_SIDE_POP)));
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert(!readable(fd_of(q, PCQ_SIDE_PUSH)));
    pcq_destroy(q);

    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    ck_assert(readable(fd_of(q, PCQ_SIDE_PUSH)));
    pcq_close(q);
    ck_assert(readable(fd_of(q, PCQ_SIDE_POP))); /* closed and empty */
    pcq_destroy(q);

    ck_assert_int_eq(pcq_create(&q, 1, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    pcq_abort(q);
    ck_assert(readable(fd_of(q, PCQ_SIDE_PUSH))); /* aborted and full */
    ck_assert(readable(fd_of(q, PCQ_SIDE_POP)));
    pcq_destroy(q);
}
END_TEST

/* The descriptors follow every call that changes the room or the size:
 * resizes (PUSH: room after a grow, none after a shrink below the size
 * until pops bring it below), drain, pop_batch; peek changes nothing. */
START_TEST(pollfd_follows_other_calls)
{
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
    const int pop = fd_of(q, PCQ_SIDE_POP), push = fd_of(q, PCQ_SIDE_PUSH);
    uint64_t v = 0, out[8];
    size_t n;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert(!readable(push));
    ck_assert_int_eq(pcq_peek(q, out), 0);
    ck_assert(!readable(push));
    ck_assert(readable(pop));
    ck_assert_int_eq(pcq_set_capacity(q, 4), 0); /* grow: room */
    ck_assert_msg(readable(push), "PUSH not readable after a grow made room");
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert(!readable(push));
    ck_assert_int_eq(pcq_pop(q, out), 0); /* 3 of 4 */
    ck_assert(readable(push));
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0); /* shrink below the size */
    ck_assert_msg(!readable(push), "PUSH readable with 3 elements after a shrink to 2");
    ck_assert_int_eq(pcq_pop(q, out), 0); /* 2 of 2: still full */
    ck_assert_msg(!readable(push), "PUSH readable with 2 elements at capacity 2");
    ck_assert_int_eq(pcq_pop(q, out), 0); /* 1 of 2 */
    ck_assert_msg(readable(push), "PUSH not readable once the size went below the capacity");
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert(!readable(push));
    ck_assert_int_eq(pcq_drain(q, out, 8, &n), 0); /* drain frees room, empties */
    ck_assert_uint_eq(n, 2);
    ck_assert_msg(readable(push), "PUSH not readable after pcq_drain emptied a full ring");
    ck_assert_msg(!readable(pop), "POP readable after pcq_drain emptied the ring");
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 2, NULL, &n), 0);
    ck_assert(readable(push));
    ck_assert(!readable(pop));
    pcq_destroy(q);
}
END_TEST

struct poller {
    int fd;
    int rc;    /* poll's return */
    short got; /* revents */
};

static void *poller_thread(void *arg)
{
    struct poller *p = arg;
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    p->rc = poll(&pf, 1, poll_ms());
    p->got = pf.revents;
    return NULL;
}

/* Close (_i 0) and abort (_i 1) make both sides readable, on an empty and
 * on a full queue, and wake threads asleep in poll() on either side. */
START_TEST(pollfd_close_abort)
{
    pcq_t *empty, *full;
    ck_assert_int_eq(pcq_create(&empty, 2, sizeof(uint64_t)), 0);
    ck_assert_int_eq(pcq_create(&full, 2, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(full, &v), 0);
    ck_assert_int_eq(pcq_push(full, &v), 0);
    const int e_pop = fd_of(empty, PCQ_SIDE_POP), e_push = fd_of(empty, PCQ_SIDE_PUSH);
    const int f_pop = fd_of(full, PCQ_SIDE_POP), f_push = fd_of(full, PCQ_SIDE_PUSH);
    ck_assert(!readable(e_pop) && readable(e_push));
    ck_assert(readable(f_pop) && !readable(f_push));
    /* a thread asleep in poll on each side that is not readable; the
     * poll may start before or after the close: either way it returns */
    struct poller pe = {.fd = e_pop, .rc = -2}, pf = {.fd = f_push, .rc = -2};
    pthread_t te, tf;
    start(&te, poller_thread, &pe);
    start(&tf, poller_thread, &pf);
    if (_i == 0) {
        pcq_close(empty);
        pcq_close(full);
    } else {
        pcq_abort(empty);
        pcq_abort(full);
    }
    join(te);
    join(tf);
    ck_assert_msg(pe.rc == 1 && (pe.got & POLLIN), "poll on POP of an empty queue: %d %#x",
                  pe.rc, pe.got);
    ck_assert_msg(pf.rc == 1 && (pf.got & POLLIN), "poll on PUSH of a full queue: %d %#x",
                  pf.rc, pf.got);
    ck_assert(readable(e_pop) && readable(e_push));
    ck_assert(readable(f_pop) && readable(f_push));
    if (_i == 0) { /* closed: still readable once drained (pops say EPIPE) */
        ck_assert_int_eq(pcq_pop(full, &v), 0);
        ck_assert_int_eq(pcq_pop(full, &v), 0);
        ck_assert_int_eq(pcq_pop(full, &v), EPIPE);
        ck_assert(readable(f_pop) && readable(f_push));
    } else { /* aborted: still readable after the owner drained it */
        size_t n;
        uint64_t out[2];
        ck_assert_int_eq(pcq_drain(full, out, 2, &n), 0);
        ck_assert(readable(f_pop) && readable(f_push));
        ck_assert_int_eq(pcq_try_pop(full, &v), ECANCELED);
    }
    pcq_destroy(full);
    pcq_destroy(empty);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads waiting in poll                                              */
/* ------------------------------------------------------------------ */

enum waiter_kind { W_POLL, W_EPOLL, W_SELECT, WAITERS };

/* Wait until fd is readable, at most ms: 1 readable, 0 timed out. */
static int wait_readable(int fd, enum waiter_kind how, int ms)
{
    for (;;) {
        int n;
        switch (how) {
#ifdef __linux__
        case W_EPOLL: {
            int ep = epoll_create1(EPOLL_CLOEXEC);
            if (ep < 0)
                return -1;
            struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, got;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
                close(ep);
                return -1;
            }
            n = epoll_wait(ep, &got, 1, ms);
            close(ep);
            break;
        }
#endif
        case W_SELECT:
            if (fd < FD_SETSIZE) {
                fd_set rd;
                FD_ZERO(&rd);
                FD_SET(fd, &rd);
                struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
                n = select(fd + 1, &rd, NULL, NULL, &tv);
                break;
            }
            /* fall through */
        default: {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            n = poll(&p, 1, ms);
            if (n == 1 && !(p.revents & POLLIN))
                return -1;
            break;
        }
        }
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

struct fworker {
    pcq_t *q;
    gate_t *go;
    finish_t *fin;
    unsigned id;
    uint64_t seed;
    test_rng_t rng;
    enum waiter_kind how;
    bool strict;   /* one consumer: readable must mean an element is there */
    bool poll_push; /* producer: wait on the PUSH fd and use try calls */
    uint32_t n;
    uint64_t waits, stale; /* waits in poll; readable yet nothing there */
    tally_t tally;
};

static void *f_producer(void *arg)
{
    struct fworker *w = arg;
    gate_wait(w->go);
    int fd = -1;
    if (w->poll_push && pcq_pollfd(w->q, PCQ_SIDE_PUSH, &fd) != 0)
        tally_fault(&w->tally, "pcq_pollfd(PUSH) failed");
    uint64_t batch[8];
    uint32_t s = 0;
    int rc = 0;
    while (s < w->n && rc == 0 && w->tally.fault[0] == '\0') {
        size_t k = 1 + (size_t)test_below(&w->rng, 8), moved = 0;
        if (k > w->n - s)
            k = w->n - s;
        for (size_t i = 0; i < k; i++)
            batch[i] = TALLY_ELEM(w->id, s + i);
        if (w->poll_push) { /* an event loop's producer */
            if (test_below(&w->rng, 2)) {
                rc = pcq_try_push_many(w->q, batch, k, &moved);
            } else {
                rc = pcq_try_push(w->q, batch);
                moved = rc == 0;
            }
            if (rc != 0 && rc != EAGAIN)
                tally_fault(&w->tally, "producer %u: try push returned %d", w->id, rc);
            if (rc == EAGAIN) {
                rc = 0;
                w->waits++;
                int r = wait_readable(fd, w->how, poll_ms());
                if (r != 1)
                    tally_fault(&w->tally,
                                "producer %u: PUSH fd not readable within %d ms (wait %d), "
                                "size %zu of %zu: lost readiness",
                                w->id, poll_ms(), r, pcq_size(w->q), pcq_capacity(w->q));
            }
        } else {
            switch (test_below(&w->rng, 3)) {
            case 0:
                rc = pcq_push(w->q, batch);
                moved = rc == 0;
                break;
            case 1:
                rc = pcq_push_many(w->q, batch, k, &moved);
                break;
            default:
                while ((rc = pcq_try_push(w->q, batch)) == EAGAIN)
                    sched_yield();
                moved = rc == 0;
                break;
            }
            if (rc != 0)
                tally_fault(&w->tally, "producer %u: push returned %d", w->id, rc);
        }
        s += (uint32_t)moved;
    }
    finish_one(w->fin);
    return NULL;
}

/* A consumer of an event loop: wait for the POP fd, then try_pop_many
 * until EAGAIN; EPIPE ends it. */
static void *f_consumer(void *arg)
{
    struct fworker *w = arg;
    gate_wait(w->go);
    int fd = -1;
    if (pcq_pollfd(w->q, PCQ_SIDE_POP, &fd) != 0) {
        tally_fault(&w->tally, "pcq_pollfd(POP) failed");
        finish_one(w->fin);
        return NULL;
    }
    uint64_t buf[16];
    for (;;) {
        w->waits++;
        int r = wait_readable(fd, w->how, poll_ms());
        if (r != 1) {
            tally_fault(&w->tally,
                        "consumer %u: POP fd not readable within %d ms (wait %d), size %zu, "
                        "closed %d: lost readiness",
                        w->id, poll_ms(), r, pcq_size(w->q), (int)pcq_is_closed(w->q));
            break;
        }
        int rc;
        size_t n;
        bool first = true;
        while ((rc = pcq_try_pop_many(w->q, buf, 1 + (size_t)test_below(&w->rng, 16), &n)) ==
               0) {
            tally_take(&w->tally, buf, n, false);
            first = false;
        }
        if (rc == EAGAIN && first) {
            w->stale++;
            if (w->strict)
                tally_fault(&w->tally,
                            "the POP fd polled readable, and the only consumer then found the "
                            "queue empty (try_pop_many: EAGAIN): readable without an element");
        }
        if (rc == EPIPE)
            break;
        if (rc != EAGAIN) {
            tally_fault(&w->tally, "consumer %u: try_pop_many returned %d", w->id, rc);
            break;
        }
    }
    finish_one(w->fin);
    return NULL;
}

/* np producers (polling the PUSH fd or not) and nc polling consumers;
 * the verdict in msg ("" if all is well). */
static void run_pollers(unsigned test, unsigned round, unsigned np, unsigned nc, size_t cap,
                        enum waiter_kind how, bool poll_push, bool strict, char *msg,
                        size_t len)
{
    const uint32_t per = (uint32_t)scaled(20000, 300);
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, cap, sizeof(uint64_t)), 0);
    gate_t go;
    gate_init(&go);
    finish_t pfin, cfin;
    finish_init(&pfin, np);
    finish_init(&cfin, nc);
    struct fworker *w = calloc(np + nc, sizeof *w);
    pthread_t *t = calloc(np + nc, sizeof *t);
    ck_assert(w != NULL && t != NULL);
    for (unsigned i = 0; i < np + nc; i++) {
        w[i] = (struct fworker){.q = q, .go = &go, .fin = i < np ? &pfin : &cfin,
                                .id = i < np ? i : i - np, .how = how, .strict = strict,
                                .poll_push = poll_push, .n = per};
        w[i].seed = w[i].rng.s = test_seed(test, round, i);
        tally_init(&w[i].tally, np, per);
        start(&t[i], i < np ? f_producer : f_consumer, &w[i]);
    }
    gate_open(&go);
    msg[0] = '\0';
    bool ok = finish_wait(&pfin, q, STALL_MS, msg, len);
    pcq_close(q);
    if (ok)
        ok = finish_wait(&cfin, q, STALL_MS, msg, len);
    if (!ok && strstr(msg, "still blocked") != NULL)
        ck_abort_msg("%s", msg);
    for (unsigned i = 0; i < np + nc; i++)
        join(t[i]);
    uint64_t waits = 0, stale = 0;
    for (unsigned i = 0; i < np + nc && msg[0] == '\0'; i++)
        if (w[i].tally.fault[0] != '\0')
            snprintf(msg, len, "%s %u: %s", i < np ? "producer" : "consumer",
                     i < np ? i : i - np, w[i].tally.fault);
    if (msg[0] == '\0') {
        tally_t *tallies = calloc(nc, sizeof *tallies);
        uint32_t *want = calloc(np, sizeof *want);
        ck_assert(tallies != NULL && want != NULL);
        for (unsigned i = 0; i < nc; i++)
            tallies[i] = w[np + i].tally;
        for (unsigned i = 0; i < np; i++)
            want[i] = per;
        tally_verdict(tallies, nc, want, msg, len);
        free(want);
        free(tallies);
    }
    for (unsigned i = np; i < np + nc; i++) {
        waits += w[i].waits;
        stale += w[i].stale;
    }
    pcq_stats_t s;
    pcq_stats(q, &s);
    if (msg[0] == '\0' && (s.pushed != (uint64_t)np * per || s.popped != s.pushed))
        snprintf(msg, len, "stats: pushed %" PRIu64 " popped %" PRIu64, s.pushed, s.popped);
    if (getenv("PCQ_TRACE") != NULL)
        fprintf(stderr, "pollers %uP x %uC cap %zu: %" PRIu64 " waits, %" PRIu64 " stale\n", np,
                nc, cap, waits, stale);
    for (unsigned i = 0; i < np + nc; i++)
        tally_free(&w[i].tally);
    free(t);
    free(w);
    finish_destroy(&cfin);
    finish_destroy(&pfin);
    gate_destroy(&go);
    pcq_destroy(q);
}

/* Many producers, one consumer waiting in poll (_i 0), epoll (1) or
 * select (2), draining with try_pop_many: exactly once. */
START_TEST(pollfd_one_consumer)
{
    char msg[512];
    run_pollers(70, (unsigned)_i, 4, 1, 8, (enum waiter_kind)_i, false, false, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "4 producers, 1 consumer in %s: %s",
                  _i == 0 ? "poll" : _i == 1 ? "epoll" : "select", msg);
}
END_TEST

/* The same, with the single consumer holding the POP fd to its word:
 * readable means an element is there (only that consumer takes them). */
START_TEST(pollfd_no_stale_readiness)
{
    char msg[512];
    static const size_t caps[] = {1, 8, 64};
    run_pollers(71, (unsigned)_i, 3, 1, caps[_i], W_POLL, false, true, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "3 producers, 1 consumer, capacity %zu: %s", caps[_i], msg);
}
END_TEST

/* Several threads poll each side at once: producers the PUSH fd (then
 * try_push / try_push_many), consumers the POP fd (then try_pop_many). */
START_TEST(pollfd_many_pollers)
{
    static const size_t caps[] = {1, 4, 32};
    char msg[512];
    run_pollers(72, (unsigned)_i, 3, 3, caps[_i], W_POLL, true, false, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "3 polling producers, 3 polling consumers, capacity %zu: %s",
                  caps[_i], msg);
}
END_TEST

/* ------------------------------------------------------------------ */

/* The lowest descriptor number free now. */
static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open /dev/null: %s", strerror(errno));
    close(fd);
    return fd;
}

/* pcq_destroy closes both descriptors; a queue that never asked opens
 * none. Single-threaded, so no other thread can reuse a number between
 * the destroy and the fcntl. */
START_TEST(pollfd_destroy_closes)
{
    const int low = lowest_free_fd();
    pcq_t *q;
    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(q, &v), 0);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_int_eq(lowest_free_fd(), low); /* never asked: none open */
    pcq_destroy(q);

    ck_assert_int_eq(pcq_create(&q, 4, sizeof(uint64_t)), 0);
    const int pop = fd_of(q, PCQ_SIDE_POP), push = fd_of(q, PCQ_SIDE_PUSH);
    ck_assert_int_ne(fcntl(pop, F_GETFD), -1);
    pcq_destroy(q);
    errno = 0;
    ck_assert_msg(fcntl(pop, F_GETFD) == -1 && errno == EBADF,
                  "POP descriptor %d still open after pcq_destroy", pop);
    errno = 0;
    ck_assert_msg(fcntl(push, F_GETFD) == -1 && errno == EBADF,
                  "PUSH descriptor %d still open after pcq_destroy", push);
    ck_assert_int_eq(lowest_free_fd(), low);

    /* and nothing accumulates over many queues (a pipe has two ends) */
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(pcq_create(&q, 2, sizeof(uint64_t)), 0);
        (void)fd_of(q, (enum pcq_side)(i % 2));
        if (i % 3 == 0)
            (void)fd_of(q, (enum pcq_side)((i + 1) % 2));
        ck_assert_int_eq(pcq_push(q, &v), 0);
        pcq_destroy(q);
    }
    ck_assert_int_eq(lowest_free_fd(), low);
}
END_TEST

Suite *suite_pollfd(void)
{
    Suite *s = suite_create("pollfd");
    TCase *tc = tcase_create("level");
    tcase_add_test(tc, pollfd_einval);
    tcase_add_test(tc, pollfd_same_fd);
    tcase_add_test(tc, pollfd_flags);
    tcase_add_loop_test(tc, pollfd_pop_level, 0, TAKES);
    tcase_add_loop_test(tc, pollfd_push_level, 0, PUTS);
    tcase_add_test(tc, pollfd_created_late);
    tcase_add_test(tc, pollfd_follows_other_calls);
    tcase_add_loop_test(tc, pollfd_close_abort, 0, 2);
    tcase_add_test(tc, pollfd_destroy_closes);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_loop_test(tc, pollfd_one_consumer, 0, WAITERS);
    tcase_add_loop_test(tc, pollfd_no_stale_readiness, 0, 3);
    tcase_add_loop_test(tc, pollfd_many_pollers, 0, 3);
    tcase_set_timeout(tc, 90);
    suite_add_tcase(s, tc);
    return s;
}
