/*
 * work.c — the per-element work made real: how many bq_work iterations are
 * a nanosecond on this machine, and the paced producer's sleep.
 *
 * The calibration times the very inline function the worker loops call, at
 * start-up, before any hog runs: the fastest of several timings is what an
 * iteration costs on an otherwise idle CPU, so "--work 40" is 40 ns of
 * computation per element, whatever the machine.
 */
#include "harness.h"

#include <errno.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

double bq_calibrate_work(void)
{
    volatile uint64_t sink = 0;
    uint64_t iters = 1u << 14, best = UINT64_MAX;
    /* Grow the count until one timing lasts 2 ms, far above the clock's own cost. */
    for (;;) {
        uint64_t t0 = pcq__now_ns();
        sink = bq_work(sink, iters);
        uint64_t dt = pcq__now_ns() - t0;
        if (dt >= 2000000 || iters >= (1ull << 34))
            break;
        iters *= 2;
    }
    for (int i = 0; i < 9; i++) {
        uint64_t t0 = pcq__now_ns();
        sink = bq_work(sink, iters);
        uint64_t dt = pcq__now_ns() - t0;
        best = dt < best ? dt : best;
    }
    (void)sink;
    return (double)best / (double)iters;
}

uint64_t bq_work_iters(uint64_t ns, double ns_per_iter)
{
    if (ns == 0 || !(ns_per_iter > 0))
        return 0;
    uint64_t it = (uint64_t)((double)ns / ns_per_iter + 0.5);
    return it < 1 ? 1 : it;
}

void bq_sleep_until(uint64_t t_ns)
{
    static _Thread_local bool slack_set;
#ifdef PR_SET_TIMERSLACK
    /* Linux lets a sleep end up to 50 µs late by default: more than a
     * 10 µs pace. One nanosecond of slack makes the deadline the deadline. */
    if (!slack_set)
        (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    slack_set = true;
    /* A deadline already past is no sleep: the call alone can cost more
     * than a 10 µs pace (18 µs on a 2-vCPU VM), and the pace would drift. */
    if (pcq__now_ns() >= t_ns)
        return;
    struct timespec ts = {(time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u)};
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
        ;
    PCQ_CHECK(rc);
}
