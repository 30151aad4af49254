/*
 * numbers.c — Fibonacci numbers for pcq-fib (see numbers.h).
 *
 * Both precisions use fast doubling, O(log n) steps from (F(0), F(1)):
 *   F(2k) = F(k) (2 F(k+1) - F(k)),  F(2k+1) = F(k)^2 + F(k+1)^2.
 * In 64-bit mode the pair is computed mod 2^64; the identities hold in that
 * ring, so F(n) is exact for every n up to FIB_MAX_U64_INDEX even where the
 * F(n+1) beside it wraps. Big numbers are GMP integers; a string or a term
 * handed out is in memory from malloc, never GMP's allocator, so that
 * callers free it with free().
 */
#include "numbers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

bool fib_have_big(void)
{
#ifdef PCQ_HAVE_GMP
    return true;
#else
    return false;
#endif
}

void fib_pair_u64(uint64_t n, uint64_t *fn, uint64_t *fn1)
{
    uint64_t a = 0, b = 1; /* F(k), F(k+1) for k = the bits of n seen so far */
    for (int bit = 63; bit >= 0; bit--) {
        uint64_t c = a * (2 * b - a);
        uint64_t d = a * a + b * b;
        if ((n >> bit) & 1) {
            a = d;
            b = c + d;
        } else {
            a = c;
            b = d;
        }
    }
    *fn = a;
    *fn1 = b;
}

int fib_u64(uint64_t n, uint64_t *out)
{
    if (n > FIB_MAX_U64_INDEX)
        return EOVERFLOW;
    uint64_t fn1;
    fib_pair_u64(n, out, &fn1);
    return 0;
}

#ifdef PCQ_HAVE_GMP
void fib_pair_big(uint64_t n, mpz_t a, mpz_t b)
{
    mpz_t c, d;
    mpz_inits(c, d, NULL);
    mpz_set_ui(a, 0);
    mpz_set_ui(b, 1);
    int bit = 63;
    while (bit > 0 && ((n >> bit) & 1) == 0)
        bit--;
    for (; bit >= 0; bit--) {
        mpz_mul_2exp(c, b, 1); /* c = F(k) (2 F(k+1) - F(k)) */
        mpz_sub(c, c, a);
        mpz_mul(c, c, a);
        mpz_mul(d, a, a); /* d = F(k)^2 + F(k+1)^2 */
        mpz_addmul(d, b, b);
        if ((n >> bit) & 1) {
            mpz_swap(a, d);
            mpz_add(b, c, a);
        } else {
            mpz_swap(a, c);
            mpz_swap(b, d);
        }
    }
    mpz_clears(c, d, NULL);
}

/* z in decimal, in a string from malloc (not GMP's allocator). */
static char *mpz_string(const mpz_t z)
{
    char *s = malloc(mpz_sizeinbase(z, 10) + 2);
    if (s != NULL)
        mpz_get_str(s, 10, z);
    return s;
}
#endif

int fib_big_string(uint64_t n, char **out)
{
#ifdef PCQ_HAVE_GMP
    mpz_t a, b;
    mpz_inits(a, b, NULL);
    fib_pair_big(n, a, b);
    *out = mpz_string(a);
    mpz_clears(a, b, NULL);
    return *out != NULL ? 0 : ENOMEM;
#else
    (void)n;
    (void)out;
    return ENOTSUP;
#endif
}

static bool all_digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int fib_count_below(const char *bound, bool big, uint64_t *count)
{
    if (!all_digits(bound) || count == NULL)
        return EINVAL;
    if (big) {
#ifdef PCQ_HAVE_GMP
        mpz_t lim, a, b;
        mpz_inits(lim, a, b, NULL);
        mpz_set_str(lim, bound, 10);
        mpz_set_ui(b, 1);
        uint64_t i = 0;
        for (; mpz_cmp(a, lim) < 0; i++) { /* a, b = b, a + b */
            mpz_add(a, a, b);
            mpz_swap(a, b);
        }
        mpz_clears(lim, a, b, NULL);
        *count = i;
        return 0;
#else
        return ENOTSUP;
#endif
    }
    uint64_t lim = 0;
    for (const char *s = bound; *s != '\0'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (lim > (UINT64_MAX - digit) / 10)
            return EOVERFLOW;
        lim = lim * 10 + digit;
    }
    /* F(FIB_MAX_U64_COUNT) exceeds every 64-bit bound: stopping there is the
     * answer, not a cut-off. */
    uint64_t i = 0, f;
    while (i <= FIB_MAX_U64_INDEX && fib_u64(i, &f) == 0 && f < lim)
        i++;
    *count = i;
    return 0;
}

char *fib_value_string(const fib_term_t *t, bool big)
{
#ifdef PCQ_HAVE_GMP
    if (big)
        return mpz_string(t->v.big);
#else
    (void)big;
#endif
    char *s = malloc(24);
    if (s != NULL)
        snprintf(s, 24, "%" PRIu64, t->v.u64);
    return s;
}

int fib_term_print(FILE *f, const fib_term_t *t, bool big)
{
    errno = 0;
    bool bad;
#ifdef PCQ_HAVE_GMP
    if (big)
        bad = fprintf(f, "F(%" PRIu64 ") = ", t->index) < 0 ||
              mpz_out_str(f, 10, t->v.big) == 0 || putc('\n', f) == EOF;
    else
#else
    (void)big;
#endif
        bad = fprintf(f, "F(%" PRIu64 ") = %" PRIu64 "\n", t->index, t->v.u64) < 0;
    return bad ? (errno != 0 ? errno : EIO) : 0;
}

void fib_term_free(fib_term_t *t, bool big)
{
#ifdef PCQ_HAVE_GMP
    if (big && t->v.big != NULL) {
        mpz_clear(t->v.big);
        free(t->v.big);
        t->v.big = NULL;
    }
#else
    (void)t;
    (void)big;
#endif
}
