/*
 * numbers.h — Fibonacci numbers for pcq-fib: exact 64-bit terms by fast
 * doubling, arbitrary precision with GMP, and the term that travels through
 * the pipeline's queue.
 *
 * GMP is optional (built with -DPCQ_HAVE_GMP and linked with -lgmp). Every
 * type here is the same with and without it, so objects built either way
 * agree; only fib_pair_big, which takes GMP's own types, is declared when
 * the build has GMP.
 *
 * Status codes as in pcq.h: 0 or a positive errno value.
 */
#ifndef PCQ_FIB_NUMBERS_H
#define PCQ_FIB_NUMBERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "defaults.h"

#ifdef PCQ_HAVE_GMP
#include <gmp.h>
#endif

/* Whether this build has arbitrary precision (GMP). */
bool fib_have_big(void);

/*
 * F(n) exactly, by fast doubling.
 *  0          *out = F(n)
 *  EOVERFLOW  n > FIB_MAX_U64_INDEX: F(n) does not fit 64 bits; *out untouched
 */
int fib_u64(uint64_t n, uint64_t *out);

/* (F(n), F(n+1)) mod 2^64 by fast doubling, for any n: exact up to
 * FIB_MAX_U64_INDEX, wrapped beyond (the pipeline's step identities hold
 * mod 2^64, so it may use wrapped helper values). */
void fib_pair_u64(uint64_t n, uint64_t *fn, uint64_t *fn1);

#ifdef PCQ_HAVE_GMP
/* (F(n), F(n+1)) exactly by fast doubling into a and b, which the caller
 * has initialised. */
void fib_pair_big(uint64_t n, mpz_t a, mpz_t b);
#endif

/*
 * F(n) in decimal, by fast doubling with GMP, in a string from malloc()
 * (the caller frees it).
 *  0        *out is set
 *  ENOTSUP  built without GMP
 *  ENOMEM   out of memory
 */
int fib_big_string(uint64_t n, char **out);

/*
 * How many terms F(0), F(1), ... are below `bound` (a decimal number, digits
 * only): the least i with F(i) >= bound. Like a generator that yields a
 * while a < bound.
 *  0          *count is set
 *  EINVAL     bound is not a decimal number
 *  EOVERFLOW  64-bit mode (big false) and bound does not fit 64 bits
 *  ENOTSUP    big is true and the build has no GMP
 */
int fib_count_below(const char *bound, bool big, uint64_t *count);

/* A term as it travels through the queue: 16 bytes. */
typedef struct fib_term {
    uint64_t index;
    union {
        uint64_t u64; /* 64-bit mode: the value */
        void *big;    /* big mode: an mpz_t from malloc, owned by whoever
                         holds the term; the consumer side frees it */
    } v;
} fib_term_t;

/*
 * The value of a term in decimal, in a string from malloc() (NULL when out
 * of memory). `big` says which member of t->v is live.
 */
char *fib_value_string(const fib_term_t *t, bool big);

/*
 * Print "F(index) = value\n" to f.
 *  0      printed
 *  other  the errno of the failed write (EIO if the stream set none)
 */
int fib_term_print(FILE *f, const fib_term_t *t, bool big);

/* Free a big term's heap number and clear the pointer; a 64-bit term has
 * none. */
void fib_term_free(fib_term_t *t, bool big);

#endif /* PCQ_FIB_NUMBERS_H */
