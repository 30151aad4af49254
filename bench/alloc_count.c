/*
 * alloc_count.c — counts allocator calls, so that the report can say
 * whether a push/pop loop allocates and what pcq_create asks for. The
 * benchmark binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * aligned_alloc and posix_memalign, so every such call from code linked
 * into it (pcq from libpcq.a, the textbook baseline, ck_ring's inline code,
 * the harness) comes here first.
 * Calls made inside shared libraries (APR, GLib, libc itself) are not seen:
 * their counts are reported as n/a.
 *
 * The counter is thread-local, so counting adds no shared write and no
 * atomic to anyone's hot path; a worker reads it before and after its loop.
 */
#include "bench.h"

#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

static _Thread_local uint64_t calls;
static _Thread_local size_t last_aligned_bytes;

void *__wrap_malloc(size_t n)
{
    calls++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    calls++;
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    calls++;
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    calls++;
    last_aligned_bytes = n;
    return __real_aligned_alloc(a, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    calls++;
    return __real_posix_memalign(p, a, n);
}

uint64_t bq_thread_allocs(void) { return calls; }
size_t bq_thread_last_aligned_bytes(void) { return last_aligned_bytes; }
