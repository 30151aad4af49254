/*
 * fatal.h — the project's one check-or-abort rule, and its internal-symbol
 * marker. Private: never installed. Used by the library, the tools, the
 * tests and the benchmarks alike, so that every C file of the project
 * treats "a call that cannot legally fail, failed" the same way.
 *
 * A pthread call failing where it never legally can (EINVAL on a mutex we
 * initialised, EPERM on an unlock we own) means memory was corrupted or
 * the program is broken; carrying on would turn that into a deadlock or a
 * lost element somewhere else. So: print what failed and where, and abort.
 */
#ifndef PCQ_FATAL_H
#define PCQ_FATAL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Internal functions shared between the library's files: not exported. */
#if defined(__GNUC__) || defined(__clang__)
#define PCQ_HIDDEN __attribute__((visibility("hidden")))
#define PCQ_COLD __attribute__((cold))
#else
#define PCQ_HIDDEN
#define PCQ_COLD
#endif

/* Report a call that failed with `rc` (an errno value) and abort. Static
 * inline, so that programs built without libpcq (the race fixture) share
 * the rule too; the cold attribute keeps it off the callers' fast paths. */
PCQ_COLD static inline _Noreturn void pcq__die(const char *what, int rc, const char *file,
                                               int line)
{
    fprintf(stderr, "pcq: %s failed: %s (%s:%d)\n", what, strerror(rc), file, line);
    abort();
}

/* `call` returns 0 or an errno value; anything but 0 is a bug: abort. */
#define PCQ_CHECK(call)                                                    \
    do {                                                                   \
        int pcq_rc_ = (call);                                              \
        if (pcq_rc_ != 0)                                                  \
            pcq__die(#call, pcq_rc_, __FILE__, __LINE__);                  \
    } while (0)

/* CLOCK_MONOTONIC in nanoseconds; a failing clock aborts with its errno. */
static inline uint64_t pcq__now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        pcq__die("clock_gettime(CLOCK_MONOTONIC)", errno, __FILE__, __LINE__);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#endif /* PCQ_FATAL_H */
