/*
 * adapters/socketpair.c — a Unix-domain socket pair, SOCK_SEQPACKET,
 * carrying the elements by value: one write(2) per push into one end, one
 * read(2) per pop from the other (fd_queue.h, as the pipe; it also says
 * how a process run uses the pair).
 *
 * SOCK_SEQPACKET rather than SOCK_STREAM with fixed-size records: each write
 * is one record that a read returns whole, so several producers' elements
 * never interleave and several consumers never split one, with no framing
 * code. A socket's capacity is its send buffer in bytes, and the kernel
 * charges each record its buffer's true size (hundreds of bytes for an
 * 8-byte element), not its length: create sets SO_SNDBUF for about the
 * capacity asked (from what one record costs, measured on the pair's
 * default buffer) and then counts the records the pair really holds by
 * filling it without blocking; that count is the capacity reported. The
 * stream ends when every write end is closed: reads then drain and return 0.
 */
#include "../bench.h"

#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#define FDQ_NAME "socketpair"
#include "fd_queue.h"

/* Records of esz bytes the pair holds before a write would block (it is
 * left empty again). */
static size_t fill_count(const struct fd_q *s)
{
    unsigned char buf[PIPE_BUF];
    memset(buf, 0, sizeof buf);
    size_t n = 0;
    while (n < 1000000 && send(s->wfd, buf, s->esz, MSG_DONTWAIT) == (ssize_t)s->esz)
        n++;
    while (recv(s->rfd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
    return n;
}

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    if (item_size > PIPE_BUF)
        return EINVAL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
        return errno;
    int rc = fdq_make(q, sv[1], sv[0], item_size);
    if (rc != 0)
        return rc;
    const struct fd_q *s = *q;
    /* What one record costs: the default buffer over the records it holds. */
    int buf = 0;
    socklen_t len = sizeof buf;
    size_t n0 = fill_count(s);
    if (n0 > 0 && getsockopt(s->wfd, SOL_SOCKET, SO_SNDBUF, &buf, &len) == 0 && buf > 0) {
        double want = (double)buf / (double)n0 * (double)capacity / 2; /* the kernel doubles it */
        int v = want > INT_MAX / 2 ? INT_MAX / 2 : (int)want + 1;
        (void)setsockopt(s->wfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v); /* may be clamped */
    }
    *eff_cap = fill_count(s);
    return 0;
}

#define LOOP_NAME ad_socketpair
#include "../loops.h"

const struct bq_ops bq_socketpair = {
    .name = "socketpair",
    .notes = "Unix-domain socketpair, SOCK_SEQPACKET (one record per element), one write/read "
             "per element, by value; capacity = records the send buffer holds, counted; ends "
             "when the write end closes",
    .flags = BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .max_elem = PIPE_BUF,
    .has_close = true,
    .create = create,
    .destroy = fdq_destroy,
    .close = fdq_close,
    .producer = ad_socketpair_producer,
    .consumer = ad_socketpair_consumer,
    .ping = ad_socketpair_ping,
    .pong = ad_socketpair_pong,
    .in_child = fdq_in_child,
    .in_parent = fdq_in_parent,
};
