/*
 * adapters/pcq_shared.c — pcq over a shared queue (pcq_shm.h), for process
 * runs only: the same calls as the pcq adapter, on a handle each worker's
 * process attaches for itself.
 *
 * create lays the queue out (pcq_shared_init) in an anonymous MAP_SHARED
 * mapping made before the fork, so every worker process inherits it at the
 * same address; in_child attaches that process's own handle
 * (pcq_shared_attach), as a second program would to a pcq_shm_open'ed
 * name. A named object (pcq_shm_create) would add only shm_open and a
 * name to clean up; the queue and its calls are the same. The stream ends
 * with pcq_close from the last producer.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS in older headers */
#include "../bench.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "pcq_shm.h"

/* The calls on a handle are pcq's own (create and destroy are below). */
#define EO_NAME "pcq_shared"
#define EO_FN(op) pcq_##op
#define EO_TYPE pcq_t
#include "errno_ops.h"

/* The parent's view: the mapping and its own handle (it pushes nothing). */
struct shared_q {
    void *mem;
    size_t len;
    pcq_t *h;
};

static int create(void **q, size_t capacity, size_t item_size, size_t *eff_cap)
{
    const size_t len = pcq_shared_size(capacity, item_size);
    if (len == 0)
        return EOVERFLOW;
    struct shared_q *s = malloc(sizeof *s);
    if (s == NULL)
        return ENOMEM;
    s->len = len;
    s->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s->mem == MAP_FAILED) {
        int e = errno;
        free(s);
        return e;
    }
    int rc = pcq_shared_init(s->mem, len, capacity, item_size, &s->h);
    if (rc != 0) {
        munmap(s->mem, len);
        free(s);
        return rc;
    }
    *eff_cap = capacity;
    *q = s;
    return 0;
}

static void destroy(void *q)
{
    struct shared_q *s = q;
    pcq_shared_detach(s->h);
    munmap(s->mem, s->len);
    free(s);
}

/* In a worker's process: its own handle; the loops get this pcq_t *. */
static void *in_child(void *q, bool writes, bool reads)
{
    (void)writes;
    (void)reads;
    const struct shared_q *s = q;
    pcq_t *h;
    int rc = pcq_shared_attach(s->mem, s->len, &h);
    if (rc != 0) {
        bq_fail("pcq_shared", "pcq_shared_attach", rc);
        return NULL;
    }
    return h;
}

#define LOOP_NAME ad_pcq_shared
#define LOOP_PUSH(q, x) eo_push(q, x)
#define LOOP_POP(q, x) eo_pop(q, x)
#define LOOP_PUSH_MANY(q, x, n) eo_push_many(q, x, n)
#define LOOP_POP_MANY(q, x, max, got) eo_pop_many(q, x, max, got)
#define LOOP_HAS_CLOSE 1
#include "../loops.h"

const struct bq_ops bq_pcq_shared = {
    .name = "pcq_shared",
    .notes = "pcq on a shared queue (pcq_shared_init in a MAP_SHARED mapping, "
             "pcq_shared_attach in each process); by value; process runs only",
    .flags = BQ_F_PROCESSES_ONLY | BQ_F_COUNTS_ALLOCS,
    .available = true,
    .max_inline = SIZE_MAX,
    .has_close = true,
    .has_batch = true,
    .create = create,
    .destroy = destroy,
    .close = eo_close,
    .producer = ad_pcq_shared_producer,
    .consumer = ad_pcq_shared_consumer,
    .ping = ad_pcq_shared_ping,
    .pong = ad_pcq_shared_pong,
    .in_child = in_child,
};
