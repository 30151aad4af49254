/*
 * shm.h — what pcq.c (the queue) and shm.c (POSIX shared-memory objects)
 * tell each other. Private: never installed.
 */
#ifndef PCQ_SHM_INTERNAL_H
#define PCQ_SHM_INTERNAL_H

#include <stddef.h>

#include "fatal.h"
#include "pcq.h"

/* Give a shared handle the mapping it owns: pcq_shared_detach (and so
 * pcq_shm_close, pcq_destroy) unmaps it. */
PCQ_HIDDEN void pcq__set_mapping(pcq_t *q, void *map, size_t len);

/* Unmap what pcq__set_mapping gave. */
PCQ_HIDDEN void pcq__unmap(void *map, size_t len);

#endif /* PCQ_SHM_INTERNAL_H */
