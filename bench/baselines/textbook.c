/*
 * textbook.c — the afternoon design (see textbook.h), kept deliberately
 * plain: no waiter counts (every push signals `not_empty`, every pop
 * signals `not_full`, whether anyone waits or not), no spinning, no
 * cache-line separation. It is not made slow on purpose either: the ring
 * is head + count with a compare-and-subtract wrap, and a batch is copied
 * with at most two memcpy calls.
 */
#include "textbook.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fatal.h" /* PCQ_CHECK: the project's one check-or-abort rule */

struct textbook {
    size_t cap, esz; /* immutable after create */
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    size_t head;          /* mu: next slot to pop */
    size_t count;         /* mu: elements in the ring */
    bool closed;          /* mu */
    unsigned char *slots; /* mu: cap * esz bytes */
};

int textbook_create(textbook_t **out, size_t capacity, size_t elem_size)
{
    if (out == NULL || capacity == 0 || elem_size == 0)
        return EINVAL;
    if (capacity > SIZE_MAX / elem_size)
        return ENOMEM;
    textbook_t *q = calloc(1, sizeof *q);
    if (q == NULL)
        return ENOMEM;
    q->slots = malloc(capacity * elem_size);
    if (q->slots == NULL) {
        free(q);
        return ENOMEM;
    }
    q->cap = capacity;
    q->esz = elem_size;
    PCQ_CHECK(pthread_mutex_init(&q->mu, NULL));
    PCQ_CHECK(pthread_cond_init(&q->not_full, NULL));
    PCQ_CHECK(pthread_cond_init(&q->not_empty, NULL));
    *out = q;
    return 0;
}

void textbook_destroy(textbook_t *q)
{
    if (q == NULL)
        return;
    PCQ_CHECK(pthread_cond_destroy(&q->not_empty));
    PCQ_CHECK(pthread_cond_destroy(&q->not_full));
    PCQ_CHECK(pthread_mutex_destroy(&q->mu));
    free(q->slots);
    free(q);
}

/* Slot index `i` places after head, wrapped. Callers hold mu. */
static size_t slot_after_head(const textbook_t *q, size_t i)
{
    size_t s = q->head + i;
    return s >= q->cap ? s - q->cap : s;
}

int textbook_push(textbook_t *q, const void *elem)
{
    PCQ_CHECK(pthread_mutex_lock(&q->mu));
    while (q->count == q->cap && !q->closed)
        PCQ_CHECK(pthread_cond_wait(&q->not_full, &q->mu));
    if (q->closed) {
        PCQ_CHECK(pthread_mutex_unlock(&q->mu));
        return EPIPE;
    }
    memcpy(q->slots + slot_after_head(q, q->count) * q->esz, elem, q->esz);
    q->count++;
    PCQ_CHECK(pthread_cond_signal(&q->not_empty));
    PCQ_CHECK(pthread_mutex_unlock(&q->mu));
    return 0;
}

int textbook_pop(textbook_t *q, void *out)
{
    PCQ_CHECK(pthread_mutex_lock(&q->mu));
    while (q->count == 0 && !q->closed)
        PCQ_CHECK(pthread_cond_wait(&q->not_empty, &q->mu));
    if (q->count == 0) {
        PCQ_CHECK(pthread_mutex_unlock(&q->mu));
        return EPIPE; /* closed and drained */
    }
    memcpy(out, q->slots + q->head * q->esz, q->esz);
    q->head = slot_after_head(q, 1);
    q->count--;
    PCQ_CHECK(pthread_cond_signal(&q->not_full));
    PCQ_CHECK(pthread_mutex_unlock(&q->mu));
    return 0;
}

int textbook_push_many(textbook_t *q, const void *elems, size_t n, size_t *pushed)
{
    const unsigned char *src = elems;
    size_t done = 0;
    PCQ_CHECK(pthread_mutex_lock(&q->mu));
    while (done < n) {
        while (q->count == q->cap && !q->closed)
            PCQ_CHECK(pthread_cond_wait(&q->not_full, &q->mu));
        if (q->closed)
            break;
        size_t k = n - done < q->cap - q->count ? n - done : q->cap - q->count;
        size_t tail = slot_after_head(q, q->count);
        size_t first = k < q->cap - tail ? k : q->cap - tail;
        memcpy(q->slots + tail * q->esz, src + done * q->esz, first * q->esz);
        memcpy(q->slots, src + (done + first) * q->esz, (k - first) * q->esz);
        q->count += k;
        done += k;
        PCQ_CHECK(pthread_cond_broadcast(&q->not_empty));
    }
    PCQ_CHECK(pthread_mutex_unlock(&q->mu));
    *pushed = done;
    return done == n ? 0 : EPIPE;
}

int textbook_pop_many(textbook_t *q, void *out, size_t max, size_t *popped)
{
    unsigned char *dst = out;
    PCQ_CHECK(pthread_mutex_lock(&q->mu));
    while (q->count == 0 && !q->closed)
        PCQ_CHECK(pthread_cond_wait(&q->not_empty, &q->mu));
    size_t k = max < q->count ? max : q->count;
    size_t first = k < q->cap - q->head ? k : q->cap - q->head;
    memcpy(dst, q->slots + q->head * q->esz, first * q->esz);
    memcpy(dst + first * q->esz, q->slots, (k - first) * q->esz);
    q->head = slot_after_head(q, k);
    q->count -= k;
    if (k > 0)
        PCQ_CHECK(pthread_cond_broadcast(&q->not_full));
    PCQ_CHECK(pthread_mutex_unlock(&q->mu));
    *popped = k;
    return k > 0 ? 0 : EPIPE;
}

void textbook_close(textbook_t *q)
{
    PCQ_CHECK(pthread_mutex_lock(&q->mu));
    q->closed = true;
    PCQ_CHECK(pthread_cond_broadcast(&q->not_full));
    PCQ_CHECK(pthread_cond_broadcast(&q->not_empty));
    PCQ_CHECK(pthread_mutex_unlock(&q->mu));
}
