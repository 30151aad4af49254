/*
 * defaults.h — pcq-fib's defaults and limits, in one place: the command
 * line, the pipeline and the tests all read them from here.
 *
 * Header-only (macros), so that the numbers, the pipeline, the tool and the
 * test binaries can share it without linking anything.
 */
#ifndef PCQ_FIB_DEFAULTS_H
#define PCQ_FIB_DEFAULTS_H

#include <stdint.h>

/* F(93) is the largest Fibonacci number below 2^64: 64-bit mode stops there. */
#define FIB_MAX_U64_INDEX 93
#define FIB_MAX_U64 UINT64_C(12200160415121876738) /* F(FIB_MAX_U64_INDEX) */
/* Terms F(0)..F(FIB_MAX_U64_INDEX): the most a 64-bit run can ask for. */
#define FIB_MAX_U64_COUNT (FIB_MAX_U64_INDEX + 1)

/* What a zero field of fib_config_t means (fib_config_check applies them). */
#define FIB_DEFAULT_PRODUCERS 1u
#define FIB_DEFAULT_CONSUMERS 1u
#define FIB_DEFAULT_CAPACITY 16u /* terms */
#define FIB_DEFAULT_BATCH 1u     /* terms per push and per pop */
#define FIB_DEFAULT_BATCH_MIN 1u /* terms a consumer waits for at once */

/* Generator threads, and consumer threads, that one run may have. */
#define FIB_MAX_THREADS 1024u

/* The command line's own default and bounds (the pipeline checks none of
 * these: it takes any size that fits memory). */
#define FIB_DEFAULT_COUNT FIB_MAX_U64_COUNT /* every term that fits 64 bits */
#define FIB_MAX_CAPACITY (1u << 24)         /* --capacity, in terms */
#define FIB_MAX_BATCH (1u << 16)            /* --batch, in terms */
#define FIB_MAX_WINDOW (1u << 24)           /* --window, in terms */
#define FIB_MAX_DELAY_MS 60000u             /* --produce-delay, --consume-delay */
#define FIB_MAX_LINGER_US 60000000u         /* --linger: a minute */

#endif /* PCQ_FIB_DEFAULTS_H */
