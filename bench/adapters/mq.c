/*
 * adapters/mq.c — a POSIX message queue (mq_open(3)) carrying the elements
 * by value: one mq_send per push, one mq_receive per pop, messages of
 * exactly elem_size bytes, all of priority 0 (so FIFO).
 *
 * The queue is opened under a fresh name and the name removed at once: the
 * descriptor is all the run needs (a forked worker inherits it), and an
 * interrupted benchmark leaves nothing in /dev/mqueue. Its capacity is
 * mq_maxmsg: the capacity asked when the kernel grants it (a process with
 * CAP_SYS_RESOURCE, root here, may exceed /proc/sys/fs/mqueue/msg_max, up
 * to the kernel's hard limit), else the smaller of the capacity asked and
 * msg_max (10 by default); the table prints what it got. A message queue
 * has no close that keeps queued messages, so the last producer sends one
 * sentinel element per consumer.
 */
#include "../bench.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct mq_q {
    mqd_t d;
    size_t esz;
};

size_t bq_mq_msg_max(void)
{
    long v = 10; /* the kernel's default */
    FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1 || v < 1)
            v = 10;
        fclose(f);
    }
    return v;
}

static int open_fresh(mqd_t *d, long maxmsg, size_t esz)
{
    static unsigned serial;
    char name[64];
    snprintf(name, sizeof name, "/pcq-bench.%ld.%u", (long)getpid(), serial++);
    struct mq_attr a = {.mq_flags = 0, .mq_maxmsg = maxmsg, .mq_msgsize = (long)esz};
    *d = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    if (*d == (mqd_t)-1)
        return errno;
    (void)mq_unlink(name); /* the descriptor keeps the queue alive */
    return 0;
}

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    struct mq_q *m = malloc(sizeof *m);
    if (m == NULL)
        return ENOMEM;
    m->esz = item_size;
    long want = capacity > 65536 ? 65536 : (long)capacity; /* the kernel's hard limit */
    int rc = open_fresh(&m->d, want, item_size);
    if (rc == EINVAL || rc == EMFILE || rc == ENOMEM || rc == EPERM) {
        long mm = (long)bq_mq_msg_max();
        want = want < mm ? want : mm;
        rc = open_fresh(&m->d, want, item_size);
    }
    if (rc != 0) {
        free(m);
        return rc;
    }
    struct mq_attr got;
    *eff_cap = mq_getattr(m->d, &got) == 0 ? (size_t)got.mq_maxmsg : (size_t)want;
    *q = m;
    return 0;
}

static void destroy(void *q)
{
    struct mq_q *m = q;
    mq_close(m->d);
    free(m);
}

/* The inherited descriptor is this process's own. */
static void *in_child(void *q, bool writes, bool reads)
{
    (void)writes;
    (void)reads;
    return q;
}

static inline int push(void *q, const void *elem)
{
    const struct mq_q *m = q;
    while (mq_send(m->d, elem, m->esz, 0) != 0)
        if (errno != EINTR)
            return bq_fail("mq", "mq_send", errno);
    return BQ_OK;
}

static inline int pop(void *q, void *out)
{
    const struct mq_q *m = q;
    for (;;) {
        ssize_t k = mq_receive(m->d, out, m->esz, NULL);
        if (k == (ssize_t)m->esz)
            return BQ_OK;
        if (k < 0 && errno == EINTR)
            continue;
        return bq_fail("mq", k < 0 ? "mq_receive" : "mq_receive (a short message)",
                       k < 0 ? errno : EIO);
    }
}

#define LOOP_NAME ad_mq
#define LOOP_PUSH(q, x) push(q, x)
#define LOOP_POP(q, x) pop(q, x)
#define LOOP_HAS_CLOSE 0
#include "../loops.h"

const struct bq_ops bq_mq = {
    .name = "mq",
    .notes = "POSIX message queue (mq_open), one mq_send/mq_receive per element, by value; "
             "capacity = mq_maxmsg (msg_max unless privileged); ends with sentinels",
    .flags = BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .max_elem = 8192, /* the default /proc/sys/fs/mqueue/msgsize_max */
    .create = create,
    .destroy = destroy,
    .producer = ad_mq_producer,
    .consumer = ad_mq_consumer,
    .ping = ad_mq_ping,
    .pong = ad_mq_pong,
    .in_child = in_child,
};
