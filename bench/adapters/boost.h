/*
 * adapters/boost.h — Boost.Thread's sync_bounded_queue, as seen from C:
 * boost.cpp implements these with extern "C" linkage, boost.c stamps the
 * worker loops around them. The queue carries one void * per element.
 * Return codes as pcq's: 0, EPIPE once closed (pop: closed and drained),
 * ENOMEM; no C++ exception crosses this line.
 */
#ifndef PCQ_BENCH_BOOST_H
#define PCQ_BENCH_BOOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bq_boost_queue bq_boost_queue;

int bq_boost_create(bq_boost_queue **q, size_t capacity);
void bq_boost_destroy(bq_boost_queue *q);
/* Later pushes fail; pops drain what is left. Wakes everyone. */
void bq_boost_close(bq_boost_queue *q);
/* Blocks while full. */
int bq_boost_push(bq_boost_queue *q, void *word);
/* Blocks while empty and open. */
int bq_boost_pop(bq_boost_queue *q, void **word);

#ifdef __cplusplus
}
#endif

#endif
