/*
 * adapters/pipe.c — a pipe(2) carrying the elements by value: the kernel's
 * own bounded byte queue. One write(2) per push, one read(2) per pop
 * (fd_queue.h, which also says how a process run uses it).
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

#include <fcntl.h>
#include <limits.h>

#define FDQ_NAME "pipe"
#include "fd_queue.h"

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    if (item_size > PIPE_BUF)
        return EINVAL;
    int fds[2];
    if (pipe(fds) != 0)
        return errno;
#ifdef F_SETPIPE_SZ
    if (capacity <= INT_MAX / item_size)
        (void)fcntl(fds[1], F_SETPIPE_SZ, (int)(capacity * item_size)); /* may be refused */
    int bytes = fcntl(fds[1], F_GETPIPE_SZ);
    *eff_cap = bytes > 0 ? (size_t)bytes / item_size : 0;
#else
    (void)capacity;
    *eff_cap = 65536 / item_size; /* Linux's default */
#endif
    return fdq_make(q, fds[0], fds[1], item_size);
}

#define LOOP_NAME ad_pipe
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
    .destroy = fdq_destroy,
    .close = fdq_close,
    .producer = ad_pipe_producer,
    .consumer = ad_pipe_consumer,
    .ping = ad_pipe_ping,
    .pong = ad_pipe_pong,
    .in_child = fdq_in_child,
    .in_parent = fdq_in_parent,
};
