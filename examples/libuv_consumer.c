/*
 * libuv_consumer.c — a libuv event loop that waits on a pcq queue.
 *
 * The same program as epoll_consumer.c, on libuv: a producer thread pushes
 * the numbers 1..N and closes the queue; the loop watches the queue's POP
 * descriptor (pcq_pollfd) with a uv_poll_t, and its callback takes what is
 * there with pcq_try_pop_many until EAGAIN. On EPIPE (closed and drained)
 * it stops and closes the handle; uv_run returns when nothing is left to
 * watch. libuv polls the descriptor level-triggered, as pcq's contract
 * expects; the descriptor stays the queue's (pcq_destroy closes it, after
 * the loop has let go of it).
 *
 * Prints the count and the sum, and how many callbacks ran; exits 0 when
 * every element arrived.
 *
 *   cc -std=c11 libuv_consumer.c $(pkg-config --cflags --libs pcq libuv)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcq.h>
#include <uv.h>

#define N 100000L /* elements */
#define BATCH 64  /* elements taken per call */

struct consumer {
    pcq_t *q;
    uv_poll_t poll;
    long count, sum, callbacks;
    int error; /* a failure seen in the callback, or 0 */
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "libuv_consumer: %s: %s\n", what, strerror(rc));
    exit(1);
}

static void *producer(void *arg)
{
    pcq_t *q = arg;
    for (long i = 1; i <= N; i++) {
        int rc = pcq_push(q, &i);
        if (rc != 0)
            die("pcq_push", rc);
    }
    pcq_close(q);
    return NULL;
}

/* Stop watching; on an error also close the queue, so that the producer
 * is not left blocked on a full queue nobody drains. */
static void stop(struct consumer *c)
{
    if (c->error != 0)
        pcq_close(c->q);
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, NULL); /* then uv_run returns */
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
    struct consumer *c = handle->data;
    (void)events;
    c->callbacks++;
    if (status < 0) {
        fprintf(stderr, "libuv_consumer: poll: %s\n", uv_strerror(status));
        c->error = EIO;
        stop(c);
        return;
    }
    long buf[BATCH];
    size_t popped;
    int rc;
    while ((rc = pcq_try_pop_many(c->q, buf, BATCH, &popped)) == 0) {
        for (size_t i = 0; i < popped; i++)
            c->sum += buf[i];
        c->count += (long)popped;
    }
    if (rc == EPIPE) { /* closed and drained */
        stop(c);
    } else if (rc != EAGAIN) { /* EAGAIN: empty for now, wait for the next call */
        c->error = rc;
        stop(c);
    }
}

int main(void)
{
    struct consumer c = {0};
    int rc = pcq_create(&c.q, 256, sizeof(long));
    if (rc != 0)
        die("pcq_create", rc);
    int fd;
    if ((rc = pcq_pollfd(c.q, PCQ_SIDE_POP, &fd)) != 0)
        die("pcq_pollfd", rc);

    uv_loop_t loop;
    if ((rc = uv_loop_init(&loop)) != 0 || (rc = uv_poll_init(&loop, &c.poll, fd)) != 0) {
        fprintf(stderr, "libuv_consumer: %s\n", uv_strerror(rc));
        return 1;
    }
    c.poll.data = &c;
    if ((rc = uv_poll_start(&c.poll, UV_READABLE, on_readable)) != 0) {
        fprintf(stderr, "libuv_consumer: uv_poll_start: %s\n", uv_strerror(rc));
        return 1;
    }

    pthread_t t;
    if ((rc = pthread_create(&t, NULL, producer, c.q)) != 0)
        die("pthread_create", rc);
    uv_run(&loop, UV_RUN_DEFAULT); /* until the handle is closed */
    if ((rc = pthread_join(t, NULL)) != 0)
        die("pthread_join", rc);
    if ((rc = uv_loop_close(&loop)) != 0) {
        fprintf(stderr, "libuv_consumer: uv_loop_close: %s\n", uv_strerror(rc));
        return 1;
    }
    pcq_destroy(c.q);
    if (c.error != 0)
        die("the consumer", c.error);

    long want = N * (N + 1) / 2;
    printf("libuv_consumer: %ld elements, sum %ld (expected %ld), %ld poll callbacks\n", c.count,
           c.sum, want, c.callbacks);
    return c.count == N && c.sum == want ? 0 : 1;
}
