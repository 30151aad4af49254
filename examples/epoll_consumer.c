/*
 * epoll_consumer.c — an event loop that waits on a pcq queue with epoll.
 *
 * A producer thread pushes the numbers 1..N and closes the queue. The main
 * thread asks the queue for its POP descriptor (pcq_pollfd), adds it to an
 * epoll set (level-triggered, epoll's default), and each time epoll_wait
 * says it is readable takes what is there with pcq_try_pop_many until
 * EAGAIN: the descriptor is readable exactly while the queue holds an
 * element or is closed. EPIPE says the queue is closed and drained: done.
 *
 * The descriptor belongs to the queue: the program only polls it (never
 * reads it, never closes it; pcq_destroy does). An event loop would add it
 * to the set it already waits on, beside its sockets and timers.
 *
 * Prints the count and the sum, and how many times epoll woke up; exits 0
 * when every element arrived.
 *
 *   cc -std=c11 epoll_consumer.c $(pkg-config --cflags --libs pcq)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <pcq.h>

#define N 100000L /* elements */
#define BATCH 64  /* elements taken per call */

static void die(const char *what, int rc)
{
    fprintf(stderr, "epoll_consumer: %s: %s\n", what, strerror(rc));
    exit(1);
}

static void *producer(void *arg)
{
    pcq_t *q = arg;
    for (long i = 1; i <= N; i++) {
        int rc = pcq_push(q, &i); /* blocks while the queue is full */
        if (rc != 0)
            die("pcq_push", rc);
    }
    pcq_close(q); /* the consumer drains the rest, then sees EPIPE */
    return NULL;
}

int main(void)
{
    pcq_t *q;
    int rc = pcq_create(&q, 256, sizeof(long));
    if (rc != 0)
        die("pcq_create", rc);
    int fd;
    if ((rc = pcq_pollfd(q, PCQ_SIDE_POP, &fd)) != 0)
        die("pcq_pollfd", rc);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1", errno);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl", errno);

    pthread_t t;
    if ((rc = pthread_create(&t, NULL, producer, q)) != 0)
        die("pthread_create", rc);

    long buf[BATCH], count = 0, sum = 0, wakeups = 0;
    for (bool done = false; !done;) {
        struct epoll_event got;
        int n = epoll_wait(ep, &got, 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait", errno);
        wakeups++;
        /* Readable: take what is there. EAGAIN means empty for now (the
         * descriptor is no longer readable either): back to epoll_wait. */
        size_t popped;
        while ((rc = pcq_try_pop_many(q, buf, BATCH, &popped)) == 0) {
            for (size_t i = 0; i < popped; i++)
                sum += buf[i];
            count += (long)popped;
        }
        if (rc == EPIPE)
            done = true; /* closed and drained */
        else if (rc != EAGAIN)
            die("pcq_try_pop_many", rc);
    }

    if ((rc = pthread_join(t, NULL)) != 0)
        die("pthread_join", rc);
    close(ep);
    pcq_destroy(q); /* also closes fd */

    long want = N * (N + 1) / 2;
    printf("epoll_consumer: %ld elements, sum %ld (expected %ld), %ld epoll wake-ups\n", count,
           sum, want, wakeups);
    return count == N && sum == want ? 0 : 1;
}
