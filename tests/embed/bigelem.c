/*
 * bigelem.c — an embedder's program built with -fsanitize=thread and linked
 * with the installed kind of libpcq.so, built without it (make test-embed).
 *
 * Elements of 64 bytes are copied in and out with memcpy calls that TSan
 * intercepts, while the atomics that order those copies sit in code TSan
 * does not see: unless libpcq tells TSan about them (its weak
 * __tsan_release/__tsan_acquire hooks), TSan reports the copies as a race.
 * Exit status: 0 when every element arrived intact; TSan's own status when
 * it reports.
 */
#include <pcq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define N 200000

typedef struct {
    long v[8];
} big_t;

static pcq_t *q;

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < N; i++) {
        big_t b;
        for (int k = 0; k < 8; k++)
            b.v[k] = i;
        if (pcq_push(q, &b) != 0)
            abort();
    }
    pcq_close(q);
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pcq_create(&q, 64, sizeof(big_t)) != 0 || pthread_create(&t, NULL, producer, NULL) != 0)
        return 3;
    big_t b;
    long next = 0;
    while (pcq_pop(q, &b) == 0) {
        for (int k = 0; k < 8; k++)
            if (b.v[k] != next)
                return 1; /* torn or out of order */
        next++;
    }
    pthread_join(t, NULL);
    pcq_destroy(q);
    printf("bigelem: %ld elements of %zu bytes, intact and in order\n", next, sizeof(big_t));
    return next == N ? 0 : 1;
}
