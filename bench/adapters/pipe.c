/*
 * adapters/pipe.c — a pipe(2) carrying the elements by value: the kernel's
 * own bounded byte queue. One write(2) per push, one read(2) per pop.
 *
 * Writes of at most PIPE_BUF bytes are atomic, so elements from several
 * producers never interleave and a read of elem_size bytes returns whole
 * elements; larger elements are refused. The capacity is the pipe's buffer,
 * set with F_SETPIPE_SZ: the kernel rounds it up to a power-of-two number
 * of pages (at least one), so the capacity in elements is what the kernel
 * granted divided by elem_size, and is reported. The stream ends when the
 * last producer closes the write end: reads then drain and return 0.
 *
 * _GNU_SOURCE: F_SETPIPE_SZ / F_GETPIPE_SZ are Linux extensions.
 */
#define _GNU_SOURCE
#include "../bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

struct pipe_q {
    int rfd;
    int wfd; /* -1 once closed; closed by the last producer, read after the join */
    size_t esz;
};

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    if (item_size > PIPE_BUF)
        return EINVAL;
    struct pipe_q *p = malloc(sizeof *p);
    if (p == NULL)
        return ENOMEM;
    int fds[2];
    if (pipe(fds) != 0) {
        int e = errno;
        free(p);
        return e;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    p->esz = item_size;
#ifdef F_SETPIPE_SZ
    if (capacity <= INT_MAX / item_size)
        (void)fcntl(p->wfd, F_SETPIPE_SZ, (int)(capacity * item_size)); /* may be refused */
    int bytes = fcntl(p->wfd, F_GETPIPE_SZ);
    *eff_cap = bytes > 0 ? (size_t)bytes / item_size : 0;
#else
    (void)capacity;
    *eff_cap = 65536 / item_size; /* Linux's default */
#endif
    *q = p;
    return 0;
}

static void close_q(void *q)
{
    struct pipe_q *p = q;
    close(p->wfd);
    p->wfd = -1;
}

static void destroy(void *q)
{
    struct pipe_q *p = q;
    if (p->wfd >= 0)
        close(p->wfd);
    close(p->rfd);
    free(p);
}

static inline int push(void *q, const void *elem)
{
    const struct pipe_q *p = q;
    for (;;) {
        ssize_t k = write(p->wfd, elem, p->esz);
        if (k == (ssize_t)p->esz)
            return BQ_OK;
        if (k < 0 && errno == EINTR)
            continue;
        return bq_fail("pipe", "write", k < 0 ? errno : EIO);
    }
}

static inline int pop(void *q, void *out)
{
    const struct pipe_q *p = q;
    for (;;) {
        ssize_t k = read(p->rfd, out, p->esz);
        if (k == (ssize_t)p->esz)
            return BQ_OK;
        if (k == 0)
            return BQ_END;
        if (k < 0 && errno == EINTR)
            continue;
        return bq_fail("pipe", k < 0 ? "read" : "read (a part of an element)", k < 0 ? errno : EIO);
    }
}

#define LOOP_NAME ad_pipe
#define LOOP_PUSH(q, x) push(q, x)
#define LOOP_POP(q, x) pop(q, x)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_pipe = {
    .name = "pipe",
    .notes = "pipe(2), one write/read per element, by value (atomic up to PIPE_BUF = 4096 bytes); "
             "capacity = kernel pipe buffer / elem_size; ends when the write end closes",
    .flags = BQ_F_BOUNDED_BLOCKING | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .max_elem = PIPE_BUF,
    .has_close = true,
    .create = create,
    .destroy = destroy,
    .close = close_q,
    .producer = ad_pipe_producer,
    .consumer = ad_pipe_consumer,
    .ping = ad_pipe_ping,
    .pong = ad_pipe_pong,
};
