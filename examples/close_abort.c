/*
 * close_abort.c — close and abort seen through the queue's descriptors.
 *
 * A thread that waits on a descriptor from pcq_pollfd rather than in a
 * blocking pcq call must learn of a shutdown from the descriptor too: both
 * descriptors of a queue turn readable when it is closed or aborted, even
 * when the queue is empty (POP side) or full (PUSH side). The calls then
 * say which it was: EPIPE for a close, ECANCELED for an abort.
 *
 * 1. Close: a worker waits on the POP descriptor of an empty queue. The
 *    main thread pushes three jobs and closes the queue; the worker takes
 *    the three, then poll() still reports the descriptor readable with the
 *    queue empty, and pcq_try_pop says EPIPE: closed and drained.
 *
 * 2. Abort, the immediate shutdown: jobs own heap memory. A worker takes
 *    job 1 and works on it; meanwhile jobs 2..5 fill the queue (capacity 4)
 *    and a producer with job 6 waits on the full queue's PUSH descriptor.
 *    The main thread aborts the queue. The producer's descriptor turns
 *    readable, pcq_try_push says ECANCELED, and the producer frees job 6.
 *    The worker finishes job 1, its POP descriptor is readable, and
 *    pcq_try_pop says ECANCELED although four jobs are inside: after an
 *    abort nobody takes them but the owner, with pcq_drain, which works in
 *    every state; the main thread drains them and frees them.
 *
 * Every job is freed exactly once; exits 0 when all of the above held.
 *
 *   cc -std=c11 close_abort.c $(pkg-config --cflags --libs pcq)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcq.h>

#define MAX_JOBS 16

struct job {
    int id;        /* shown */
    int serial;    /* jobs_freed's index */
    char *payload; /* owned by whoever holds the job */
};

static int failures; /* checks that did not hold (main thread only) */
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static int jobs_made;              /* jobs_mu */
static int jobs_freed[MAX_JOBS];   /* jobs_mu: how often each was freed */

static void die(const char *what, int rc)
{
    fprintf(stderr, "close_abort: %s: %s\n", what, strerror(rc));
    exit(1);
}

/* A pthread call that cannot fail here, checked all the same. */
#define CHECK(call)                                                        \
    do {                                                                   \
        int rc_ = (call);                                                  \
        if (rc_ != 0)                                                      \
            die(#call, rc_);                                               \
    } while (0)

static const char *code(int rc)
{
    switch (rc) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case ECANCELED: return "ECANCELED";
    default: return strerror(rc);
    }
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "close_abort: FAILED: %s\n", what);
        failures++;
    }
}

static struct job job_new(int id)
{
    struct job j = {id, 0, malloc(32)};
    if (j.payload == NULL)
        die("malloc", ENOMEM);
    snprintf(j.payload, 32, "job %d", id);
    CHECK(pthread_mutex_lock(&jobs_mu));
    j.serial = jobs_made++;
    CHECK(pthread_mutex_unlock(&jobs_mu));
    if (j.serial >= MAX_JOBS)
        die("job_new", ENOSPC);
    return j;
}

static void job_free(struct job *j)
{
    CHECK(pthread_mutex_lock(&jobs_mu));
    jobs_freed[j->serial]++;
    CHECK(pthread_mutex_unlock(&jobs_mu));
    free(j->payload);
}

/* Wait until `fd` polls readable. */
static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            die("poll", errno);
}

/* Whether `fd` polls readable now (without waiting). */
static bool readable_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, 0)) < 0)
        if (errno != EINTR)
            die("poll", errno);
    return n == 1 && (p.revents & POLLIN) != 0;
}

/* A one-shot event between two threads. */
struct event {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool set;
};
#define EVENT_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false}

static void event_set(struct event *e)
{
    CHECK(pthread_mutex_lock(&e->mu));
    e->set = true;
    CHECK(pthread_cond_broadcast(&e->cv));
    CHECK(pthread_mutex_unlock(&e->mu));
}

static void event_wait(struct event *e)
{
    CHECK(pthread_mutex_lock(&e->mu));
    while (!e->set)
        CHECK(pthread_cond_wait(&e->cv, &e->mu));
    CHECK(pthread_mutex_unlock(&e->mu));
}

/* ------------------------------------------------------------------ */
/* 1. Close                                                           */
/* ------------------------------------------------------------------ */

struct closer {
    pcq_t *q;
    int taken;  /* jobs the worker took */
    int end_rc; /* what ended its loop */
};

static void *close_worker(void *arg)
{
    struct closer *c = arg;
    int fd, rc;
    if ((rc = pcq_pollfd(c->q, PCQ_SIDE_POP, &fd)) != 0)
        die("pcq_pollfd", rc);
    for (;;) {
        wait_readable(fd); /* an element, or the close */
        struct job j;
        while ((rc = pcq_try_pop(c->q, &j)) == 0) {
            c->taken++;
            job_free(&j);
        }
        if (rc != EAGAIN)
            break; /* EPIPE: closed and drained */
    }
    c->end_rc = rc;
    return NULL;
}

static void show_close(void)
{
    struct closer c = {0};
    int rc = pcq_create(&c.q, 4, sizeof(struct job));
    if (rc != 0)
        die("pcq_create", rc);
    pthread_t t;
    if ((rc = pthread_create(&t, NULL, close_worker, &c)) != 0)
        die("pthread_create", rc);
    for (int id = 1; id <= 3; id++) {
        struct job j = job_new(id);
        if ((rc = pcq_push(c.q, &j)) != 0)
            die("pcq_push", rc);
    }
    pcq_close(c.q);
    if ((rc = pthread_join(t, NULL)) != 0)
        die("pthread_join", rc);
    check(c.taken == 3 && c.end_rc == EPIPE, "the close ends the worker with EPIPE after 3 jobs");
    int fd;
    if ((rc = pcq_pollfd(c.q, PCQ_SIDE_POP, &fd)) != 0) /* the worker's descriptor */
        die("pcq_pollfd", rc);
    bool readable = readable_now(fd);
    check(readable, "the POP descriptor of a closed, empty queue polls readable");
    printf("close: the worker took %d jobs, then pcq_try_pop said %s (closed and drained); the "
           "closed, empty queue's POP descriptor polls readable: %s\n",
           c.taken, code(c.end_rc), readable ? "yes" : "no");
    pcq_destroy(c.q);
}

/* ------------------------------------------------------------------ */
/* 2. Abort                                                           */
/* ------------------------------------------------------------------ */

struct aborter {
    pcq_t *q;
    struct event took_first; /* the worker holds job 1 */
    struct event aborted;    /* the main thread has aborted the queue */
    int worker_took;         /* worker: jobs taken */
    int worker_rc;           /* worker: what pcq_try_pop said at the end */
    size_t worker_saw;       /* worker: pcq_size when it said so */
    int producer_rc;         /* producer of job 6: what pcq_try_push said */
};

static void *abort_worker(void *arg)
{
    struct aborter *a = arg;
    int fd, rc;
    if ((rc = pcq_pollfd(a->q, PCQ_SIDE_POP, &fd)) != 0)
        die("pcq_pollfd", rc);
    for (;;) {
        wait_readable(fd);
        struct job j;
        rc = pcq_try_pop(a->q, &j);
        if (rc == EAGAIN)
            continue;
        if (rc != 0)
            break; /* ECANCELED: aborted */
        a->worker_took++;
        if (j.id == 1) { /* a long job: it ends after the abort */
            event_set(&a->took_first);
            event_wait(&a->aborted);
        }
        job_free(&j);
    }
    a->worker_rc = rc;
    a->worker_saw = pcq_size(a->q);
    return NULL;
}

static void *abort_producer(void *arg)
{
    struct aborter *a = arg;
    int fd, rc;
    if ((rc = pcq_pollfd(a->q, PCQ_SIDE_PUSH, &fd)) != 0)
        die("pcq_pollfd", rc);
    struct job j = job_new(6);
    for (;;) {
        wait_readable(fd); /* room, or the abort */
        rc = pcq_try_push(a->q, &j);
        if (rc != EAGAIN)
            break;
    }
    if (rc != 0) /* ECANCELED: the job is still ours */
        job_free(&j);
    a->producer_rc = rc;
    return NULL;
}

static void show_abort(void)
{
    struct aborter a = {.took_first = EVENT_INIT, .aborted = EVENT_INIT};
    int rc = pcq_create(&a.q, 4, sizeof(struct job));
    if (rc != 0)
        die("pcq_create", rc);
    pthread_t worker, producer;
    if ((rc = pthread_create(&worker, NULL, abort_worker, &a)) != 0)
        die("pthread_create", rc);
    struct job j = job_new(1);
    if ((rc = pcq_push(a.q, &j)) != 0)
        die("pcq_push", rc);
    event_wait(&a.took_first);
    for (int id = 2; id <= 5; id++) { /* the queue is full after these */
        j = job_new(id);
        if ((rc = pcq_push(a.q, &j)) != 0)
            die("pcq_push", rc);
    }
    if ((rc = pthread_create(&producer, NULL, abort_producer, &a)) != 0)
        die("pthread_create", rc);

    pcq_abort(a.q); /* immediate shutdown */
    event_set(&a.aborted);
    if ((rc = pthread_join(producer, NULL)) != 0 || (rc = pthread_join(worker, NULL)) != 0)
        die("pthread_join", rc);

    int fd;
    if ((rc = pcq_pollfd(a.q, PCQ_SIDE_PUSH, &fd)) != 0) /* the producer's descriptor */
        die("pcq_pollfd", rc);
    bool readable = readable_now(fd);
    check(readable && a.producer_rc == ECANCELED,
          "the full queue's PUSH descriptor turns readable, pcq_try_push says ECANCELED");
    printf("abort: the producer of job 6 waited on the full queue's PUSH descriptor, which the "
           "abort made readable (%s); pcq_try_push said %s, and the producer freed job 6\n",
           readable ? "yes" : "no", code(a.producer_rc));
    check(a.worker_took == 1 && a.worker_rc == ECANCELED && a.worker_saw == 4,
          "the worker finishes job 1, then pcq_try_pop says ECANCELED with 4 jobs inside");
    printf("abort: the worker finished job 1; then pcq_try_pop said %s with %zu jobs inside\n",
           code(a.worker_rc), a.worker_saw);
    check(pcq_is_closed(a.q), "an aborted queue is closed");

    /* The owner takes the leftovers, to free what they own. */
    struct job left[MAX_JOBS];
    size_t n = 0;
    rc = pcq_drain(a.q, left, MAX_JOBS, &n);
    check(rc == 0 && n == 4, "pcq_drain takes the 4 leftovers");
    printf("abort: pcq_drain took %zu leftovers:", n);
    for (size_t k = 0; k < n; k++) {
        printf(" %s%s", left[k].payload, k + 1 < n ? "," : "\n");
        job_free(&left[k]);
    }
    rc = pcq_drain(a.q, left, MAX_JOBS, &n);
    check(rc == EAGAIN && n == 0, "a second pcq_drain finds nothing: EAGAIN");
    struct job none = {0, 0, NULL};
    int push_rc = pcq_push(a.q, &none);
    check(push_rc == ECANCELED, "a push after the abort says ECANCELED");
    printf("abort: pcq_drain again said %s; a pcq_push now says %s\n", code(rc), code(push_rc));
    pcq_destroy(a.q);
}

int main(void)
{
    show_close();
    show_abort();
    int once = 0, made = jobs_made; /* every other thread has been joined */
    for (int k = 0; k < made; k++)
        once += jobs_freed[k] == 1;
    check(made == 9 && once == 9, "every job freed exactly once");
    printf("close_abort: %d jobs made, %d freed exactly once%s\n", made, once,
           failures == 0 ? "" : "; some checks FAILED");
    return failures == 0 ? 0 : 1;
}
