/*
 * textbook.h — the queue a programmer writes in an afternoon: a ring
 * buffer, one mutex, two condition variables, a signal on every push and
 * every pop. The baseline pcq is measured against (bench/).
 *
 * The batch calls are the naive ones: lock once per call, copy what fits,
 * broadcast after every batch.
 *
 * Return codes as pcq's: 0, or EPIPE once the queue is closed (pushes) or
 * closed and drained (pops); create returns 0, EINVAL or ENOMEM.
 */
#ifndef PCQ_TEXTBOOK_H
#define PCQ_TEXTBOOK_H

#include <stddef.h>

typedef struct textbook textbook_t;

int textbook_create(textbook_t **out, size_t capacity, size_t elem_size);
void textbook_destroy(textbook_t *q);

/* Blocks while full. */
int textbook_push(textbook_t *q, const void *elem);
/* Blocks while empty and open. */
int textbook_pop(textbook_t *q, void *out);

/* Push all n, blocking while full; 0, or EPIPE with *pushed < n. */
int textbook_push_many(textbook_t *q, const void *elems, size_t n, size_t *pushed);
/* Pop 1..max, blocking while empty and open. */
int textbook_pop_many(textbook_t *q, void *out, size_t max, size_t *popped);

/* Later pushes fail; pops drain what is left. Wakes everyone. */
void textbook_close(textbook_t *q);

#endif
