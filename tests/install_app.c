/* The README's embedding example, built against an installed copy with
 * `cc app.c $(pkg-config --cflags --libs pcq)` by `make test-install`. */
#include <pcq.h>
#include <pthread.h>
#include <stdio.h>

static void *consumer(void *arg)
{
    pcq_t *q = arg;
    long v, sum = 0;
    while (pcq_pop(q, &v) == 0) /* EPIPE once closed and drained */
        sum += v;
    printf("sum = %ld\n", sum);
    return sum == 5050 ? NULL : q; /* non-NULL: wrong sum */
}

int main(void)
{
    pcq_t *q;
    if (pcq_create(&q, 16, sizeof(long)) != 0)
        return 1;
    pthread_t t;
    void *bad = (void *)1;
    if (pthread_create(&t, NULL, consumer, q) != 0)
        return 1;
    for (long i = 1; i <= 100; i++)
        pcq_push(q, &i); /* blocks while the queue is full */
    pcq_close(q);
    pthread_join(t, &bad);
    pcq_destroy(q);
    return bad != NULL;
}
