/*
 * poll_select.c — one consumer waiting on three queues at once with poll():
 * pcq's select.
 *
 * Three producer threads feed three queues at different rates (one as fast
 * as it can, one with a pause of 50 us per element, one with 2 ms) and each
 * closes its queue when done. One consumer thread puts the three POP
 * descriptors (pcq_pollfd) in one poll() set and, in each round, serves
 * every queue that is readable with one pcq_try_pop_many of up to BATCH
 * elements, so that the fast queue cannot starve the slow ones: what is
 * left keeps its descriptor readable (level semantics) for the next round.
 * A queue that answers EPIPE is closed and drained; its entry's fd is set
 * to -1, which poll() skips. The consumer stops when all three are closed.
 *
 * Exactly-once accounting per queue: every element carries its queue and
 * its sequence number; one producer per queue and FIFO order mean the
 * consumer must see 0, 1, 2, ... on each queue with no gap and no repeat.
 *
 * Prints one line per queue and a total; exits 0 when every element of
 * every queue arrived exactly once, in order.
 *
 *   cc -std=c11 poll_select.c $(pkg-config --cflags --libs pcq)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcq.h>

#define QUEUES 3
#define BATCH 32 /* elements taken from one queue per round */

struct elem {
    unsigned queue, seq;
};

static const struct source {
    const char *name;
    unsigned count;    /* elements */
    unsigned pause_us; /* between two pushes: the rate */
} sources[QUEUES] = {
    {"fast", 20000, 0},
    {"steady", 1000, 50},
    {"slow", 50, 2000},
};

static pcq_t *queues[QUEUES];

/* What the consumer saw, per queue; read by main after the join. */
static struct seen {
    unsigned arrived;     /* elements taken */
    unsigned next;        /* the sequence number due next */
    unsigned wrong;       /* elements out of order, repeated or misrouted */
    unsigned long rounds; /* poll rounds that served this queue */
} seen[QUEUES];

static void die(const char *what, int rc)
{
    fprintf(stderr, "poll_select: %s: %s\n", what, strerror(rc));
    exit(1);
}

static void pause_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *producer(void *arg)
{
    unsigned i = *(const unsigned *)arg;
    for (unsigned seq = 0; seq < sources[i].count; seq++) {
        struct elem e = {i, seq};
        int rc = pcq_push(queues[i], &e);
        if (rc != 0)
            die("pcq_push", rc);
        if (sources[i].pause_us > 0)
            pause_us(sources[i].pause_us); /* the producer's rate, not synchronisation */
    }
    pcq_close(queues[i]);
    return NULL;
}

static void *consumer(void *arg)
{
    struct pollfd *fds = arg; /* QUEUES entries: fds[i] watches queues[i] */
    unsigned open = QUEUES;
    while (open > 0) {
        if (poll(fds, QUEUES, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll", errno);
        }
        for (unsigned i = 0; i < QUEUES; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            struct elem buf[BATCH];
            size_t n;
            int rc = pcq_try_pop_many(queues[i], buf, BATCH, &n);
            if (rc == EPIPE) { /* closed and drained: stop watching it */
                fds[i].fd = -1;
                open--;
                continue;
            }
            if (rc == EAGAIN) /* another consumer was first: none here */
                continue;
            if (rc != 0)
                die("pcq_try_pop_many", rc);
            seen[i].rounds++;
            seen[i].arrived += (unsigned)n;
            for (size_t k = 0; k < n; k++) {
                if (buf[k].queue != i || buf[k].seq != seen[i].next)
                    seen[i].wrong++;
                seen[i].next = buf[k].seq + 1;
            }
        }
    }
    return NULL;
}

int main(void)
{
    struct pollfd fds[QUEUES];
    for (unsigned i = 0; i < QUEUES; i++) {
        int rc = pcq_create(&queues[i], 64, sizeof(struct elem));
        if (rc != 0)
            die("pcq_create", rc);
        if ((rc = pcq_pollfd(queues[i], PCQ_SIDE_POP, &fds[i].fd)) != 0)
            die("pcq_pollfd", rc);
        fds[i].events = POLLIN;
    }

    pthread_t ct, pt[QUEUES];
    unsigned index[QUEUES];
    int rc = pthread_create(&ct, NULL, consumer, fds);
    for (unsigned i = 0; i < QUEUES && rc == 0; i++) {
        index[i] = i;
        rc = pthread_create(&pt[i], NULL, producer, &index[i]);
    }
    if (rc != 0)
        die("pthread_create", rc);
    for (unsigned i = 0; i < QUEUES; i++)
        if ((rc = pthread_join(pt[i], NULL)) != 0)
            die("pthread_join", rc);
    if ((rc = pthread_join(ct, NULL)) != 0)
        die("pthread_join", rc);

    int status = 0;
    unsigned long total = 0;
    for (unsigned i = 0; i < QUEUES; i++) {
        const struct source *s = &sources[i];
        bool ok = seen[i].wrong == 0 && seen[i].arrived == s->count;
        printf("poll_select: queue %u (%s: %u elements, %u us apart): %u arrived, %s; "
               "served in %lu rounds\n",
               i, s->name, s->count, s->pause_us, seen[i].arrived,
               ok ? "each exactly once, in order" : "WRONG", seen[i].rounds);
        total += seen[i].arrived;
        if (!ok)
            status = 1;
        pcq_destroy(queues[i]);
    }
    printf("poll_select: all %u queues closed and drained, %lu elements in all%s\n", QUEUES, total,
           status == 0 ? ", each exactly once" : "; some went WRONG");
    return status;
}
