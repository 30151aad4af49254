/*
 * fd_queue.h — a queue made of two descriptors the kernel joins (a pipe,
 * a SOCK_SEQPACKET socket pair): one write(2) of elem_size bytes per push
 * into wfd, one read(2) per pop from rfd. Each such kernel queue returns a
 * whole element per read (a pipe for writes up to PIPE_BUF, a seqpacket
 * socket for every record), so several producers' elements never
 * interleave. The stream ends when every write end is closed: reads then
 * drain and return 0. Included once by each adapter file, after
 *
 *   #define FDQ_NAME "pipe"     its name in error messages
 *
 * In a process run (--processes) each worker's process keeps only the end
 * it uses, and the parent closes both once the workers are forked: the
 * stream ends when every producer process has closed its write end (the
 * last one explicitly, the others by exiting).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct fd_q {
    int rfd; /* -1 once closed (a process run's producers and parent close it) */
    int wfd; /* -1 once closed; closed by the last producer, read after the join */
    size_t esz;
};

/* A new fd_q of the two descriptors; ENOMEM closes them. */
static int fdq_make(void **q, int rfd, int wfd, size_t esz)
{
    struct fd_q *p = malloc(sizeof *p);
    if (p == NULL) {
        close(rfd);
        close(wfd);
        return ENOMEM;
    }
    p->rfd = rfd;
    p->wfd = wfd;
    p->esz = esz;
    *q = p;
    return 0;
}

static void fdq_close(void *q)
{
    struct fd_q *p = q;
    close(p->wfd);
    p->wfd = -1;
}

static void fdq_destroy(void *q)
{
    struct fd_q *p = q;
    if (p->wfd >= 0)
        close(p->wfd);
    if (p->rfd >= 0)
        close(p->rfd);
    free(p);
}

/* A worker's process keeps the end it uses (its copy of the struct). */
static void *fdq_in_child(void *q, bool writes, bool reads)
{
    struct fd_q *p = q;
    if (!writes) {
        close(p->wfd);
        p->wfd = -1;
    }
    if (!reads) {
        close(p->rfd);
        p->rfd = -1;
    }
    return p;
}

/* The parent's copy of the write end would keep the stream open forever. */
static void fdq_in_parent(void *q)
{
    struct fd_q *p = q;
    close(p->wfd);
    close(p->rfd);
    p->wfd = p->rfd = -1;
}

static inline int fdq_push(void *q, const void *elem)
{
    const struct fd_q *p = q;
    for (;;) {
        ssize_t k = write(p->wfd, elem, p->esz);
        if (k == (ssize_t)p->esz)
            return BQ_OK;
        if (k < 0 && errno == EINTR)
            continue;
        return bq_fail(FDQ_NAME, "write", k < 0 ? errno : EIO);
    }
}

static inline int fdq_pop(void *q, void *out)
{
    const struct fd_q *p = q;
    for (;;) {
        ssize_t k = read(p->rfd, out, p->esz);
        if (k == (ssize_t)p->esz)
            return BQ_OK;
        if (k == 0)
            return BQ_END;
        if (k < 0 && errno == EINTR)
            continue;
        return bq_fail(FDQ_NAME, k < 0 ? "read" : "read (a part of an element)",
                       k < 0 ? errno : EIO);
    }
}

#define LOOP_PUSH(q, x) fdq_push(q, x)
#define LOOP_POP(q, x) fdq_pop(q, x)
#define LOOP_HAS_CLOSE 1
