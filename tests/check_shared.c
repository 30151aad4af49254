/*
 * check_shared.c — a queue in shared memory, clause by clause of
 * include/pcq_shm.h: the size and the errors of init and attach (attach is
 * given buffers of exactly the length it is told, so that the ASan build
 * reports any read past it); every call of pcq.h on a shared handle; one
 * memory mapped twice in one process, with threads going through the two
 * handles at two addresses (what the TSan build checks of the shared mode);
 * processes over fork(); named objects (pcq_shm_*); processes killed inside
 * a critical section (parked there by the test hook of src/shm.h) and while
 * waiting; corrupt memory; cancellation.
 *
 * Children are forked by fork_child (they die with the test) and report
 * through their exit status; they never call Check. Processes are ordered
 * by the queue's own state and by pipes, never by sleeps.
 */
#define _GNU_SOURCE /* memfd_create, MAP_ANONYMOUS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pcq_shm.h"
#include "shm.h"
#include "test_util.h"

#define MS 1000000ull
#define PROMPT_MS 10000 /* what must come promptly comes within this, however loaded */
#define ALIGN 64        /* what pcq_shared_init and attach ask of the memory */

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* A buffer of exactly len bytes (64-byte aligned) holding the first len
 * bytes of `src` (srclen long; zeros past it): ASan reports any access
 * past len. */
static unsigned char *exact_copy(const void *src, size_t srclen, size_t len)
{
    void *p = NULL;
    ck_assert_int_eq(posix_memalign(&p, ALIGN, len), 0);
    memset(p, 0, len);
    memcpy(p, src, len < srclen ? len : srclen);
    return p;
}

/* A child's verdict: its exit status, 0 for success. */
static int exit_code(pid_t pid)
{
    const int st = wait_child(pid);
    ck_assert_msg(WIFEXITED(st), "child %ld ended by signal %d", (long)pid,
                  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

static void kill_child(pid_t pid)
{
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    const int st = wait_child(pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* Pop one element that must be there now. */
static uint64_t pop_now(pcq_t *q)
{
    uint64_t v = UINT64_MAX;
    ck_assert_int_eq(pcq_try_pop(q, &v), 0);
    return v;
}

static void push_now(pcq_t *q, uint64_t v) { ck_assert_int_eq(pcq_try_push(q, &v), 0); }

/* The queue still works both ways, across the end of the ring. */
static void works_both_ways(pcq_t *q)
{
    uint64_t v;
    for (uint64_t i = 100; i < 100 + 3 * pcq_capacity(q); i++) {
        ck_assert_int_eq(pcq_push(q, &i), 0);
        ck_assert_int_eq(pcq_pop(q, &v), 0);
        ck_assert_uint_eq(v, i);
    }
    ck_assert_int_eq(pcq_try_pop(q, &v), EAGAIN);
}

/* ------------------------------------------------------------------ */
/* pcq_shared_size, pcq_shared_init                                   */
/* ------------------------------------------------------------------ */

START_TEST(size_zero_overflow_and_enough)
{
    ck_assert_uint_eq(pcq_shared_size(0, 8), 0);
    ck_assert_uint_eq(pcq_shared_size(8, 0), 0);
    ck_assert_uint_eq(pcq_shared_size(0, 0), 0);
    ck_assert_uint_eq(pcq_shared_size(SIZE_MAX, 1), 0);
    ck_assert_uint_eq(pcq_shared_size(1, SIZE_MAX), 0);
    ck_assert_uint_eq(pcq_shared_size(SIZE_MAX / 8 + 1, 8), 0); /* the product overflows */
    ck_assert_uint_eq(pcq_shared_size(SIZE_MAX / 8, 8), 0);     /* the header does not fit */
    /* Enough: the elements and a header, and init takes exactly that. */
    const size_t caps[] = {1, 2, 3, 7, 64, 1000}, eszs[] = {1, 3, 8, 24, 64, 100};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        for (size_t j = 0; j < sizeof eszs / sizeof eszs[0]; j++) {
            const size_t n = pcq_shared_size(caps[i], eszs[j]);
            ck_assert_uint_gt(n, caps[i] * eszs[j]);
            ck_assert_uint_ge(pcq_shared_size(caps[i] + 1, eszs[j]), n + eszs[j] - ALIGN + 1);
        }
}
END_TEST

/* Init in a buffer of exactly pcq_shared_size bytes, then every slot
 * written and read back, across the end of the ring (ASan: nothing
 * outside); one byte less is EINVAL. */
START_TEST(init_exact_length)
{
    const size_t caps[] = {1, 3, 8}, eszs[] = {1, 8, 24, 72};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) {
            const size_t cap = caps[i], esz = eszs[j], len = pcq_shared_size(cap, esz);
            unsigned char *mem = exact_copy("", 0, len), in[72], out[72];
            pcq_t *q;
            ck_assert_int_eq(pcq_shared_init(mem, len - 1, cap, esz, &q), EINVAL);
            ck_assert_int_eq(pcq_shared_init(mem, len, cap, esz, &q), 0);
            ck_assert_uint_eq(pcq_capacity(q), cap);
            ck_assert_uint_eq(pcq_elem_size(q), esz);
            ck_assert_uint_eq(pcq_size(q), 0);
            ck_assert(!pcq_is_closed(q));
            ck_assert_uint_eq(pcq_shared_recoveries(q), 0);
            for (unsigned round = 0; round < 3; round++) {
                for (size_t k = 0; k < cap; k++) {
                    memset(in, (int)(round * 16 + k), esz);
                    ck_assert_int_eq(pcq_try_push(q, in), 0);
                }
                ck_assert_int_eq(pcq_try_push(q, in), EAGAIN);
                for (size_t k = 0; k < cap; k++) {
                    memset(in, (int)(round * 16 + k), esz);
                    ck_assert_int_eq(pcq_try_pop(q, out), 0);
                    ck_assert_mem_eq(out, in, esz);
                }
            }
            pcq_shared_detach(q);
            free(mem);
        }
}
END_TEST

START_TEST(init_einval_eoverflow)
{
    const size_t len = pcq_shared_size(4, 8);
    unsigned char *mem = aligned_alloc(ALIGN, len + ALIGN);
    ck_assert_ptr_nonnull(mem);
    pcq_t *q = NULL;
    ck_assert_int_eq(pcq_shared_init(NULL, len, 4, 8, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, len, 4, 8, NULL), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, len, 0, 8, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, len, 4, 0, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, 0, 4, 8, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, len - 1, 4, 8, &q), EINVAL);
    const size_t offs[] = {1, 8, 32, 63};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(pcq_shared_init(mem + offs[i], len, 4, 8, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_init(mem, len, SIZE_MAX, 8, &q), EOVERFLOW);
    ck_assert_int_eq(pcq_shared_init(mem, SIZE_MAX, 1, SIZE_MAX, &q), EOVERFLOW);
    ck_assert_ptr_null(q);
    free(mem);
}
END_TEST

/* No memory for the handle: ENOMEM, and the shared memory untouched
 * (init); ENOMEM, then a later attach works (attach). */
START_TEST(init_attach_enomem)
{
    const size_t len = pcq_shared_size(4, 8);
    unsigned char *mem = aligned_alloc(ALIGN, len), *before = malloc(len);
    ck_assert_ptr_nonnull(mem);
    ck_assert_ptr_nonnull(before);
    memset(mem, 0x5a, len);
    memcpy(before, mem, len);
    pcq_t *q;
    atomic_store(&test_calloc_fail_next, 1);
    ck_assert_int_eq(pcq_shared_init(mem, len, 4, 8, &q), ENOMEM);
    ck_assert_mem_eq(mem, before, len);
    ck_assert_int_eq(pcq_shared_init(mem, len, 4, 8, &q), 0);
    push_now(q, 7);
    pcq_t *r;
    atomic_store(&test_calloc_fail_next, 1);
    ck_assert_int_eq(pcq_shared_attach(mem, len, &r), ENOMEM);
    ck_assert_int_eq(pcq_shared_attach(mem, len, &r), 0);
    ck_assert_uint_eq(pop_now(r), 7);
    pcq_shared_detach(r);
    pcq_shared_detach(q);
    free(before);
    free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* pcq_shared_attach                                                  */
/* ------------------------------------------------------------------ */

/*
 * Where the header keeps what attach checks: struct core in src/pcq.c,
 * layout version 2, every field 64 bits but the two 32-bit ones. The test
 * below first checks that the values are where it expects them, so that
 * a change of layout fails here, plainly, instead of testing nothing.
 */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_SHARED = 12,
    OFF_RING = 16,
    OFF_ESZ = 24,
    OFF_BYTES = 32,
    OFF_HDR = 40,
    OFF_CAP = 48,
    OFF_END = 56 /* the identity ends here: every byte before it is checked */
};

static uint64_t get64(const unsigned char *p, size_t off)
{
    uint64_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static void put64(unsigned char *p, size_t off, uint64_t v) { memcpy(p + off, &v, sizeof v); }

static uint32_t get32(const unsigned char *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static void put32(unsigned char *p, size_t off, uint32_t v) { memcpy(p + off, &v, sizeof v); }

/* Attach to a copy of `seg` (len bytes) in a buffer of exactly len bytes;
 * detach at once if it worked. */
static int attach_copy(const unsigned char *seg, size_t len)
{
    unsigned char *buf = exact_copy(seg, len, len);
    pcq_t *q;
    const int rc = pcq_shared_attach(buf, len, &q);
    if (rc == 0) {
        ck_assert_uint_le(pcq_capacity(q) * pcq_elem_size(q), len);
        pcq_shared_detach(q);
    }
    free(buf);
    return rc;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

START_TEST(attach_einval_eproto)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q;
    ck_assert_int_eq(pcq_shared_attach(NULL, s.len, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_attach(s.mem, s.len, NULL), EINVAL);
    ck_assert_int_eq(pcq_shared_attach((char *)s.mem + 8, s.len - ALIGN, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_attach((char *)s.mem + 1, s.len - ALIGN, &q), EINVAL);
    ck_assert_int_eq(pcq_shared_attach(s.mem, 0, &q), EINVAL);
    /* Zeroed memory, or a plain in-process queue's bytes: no queue there. */
    unsigned char *zero = exact_copy("", 0, s.len);
    ck_assert_int_eq(pcq_shared_attach(zero, s.len, &q), EPROTO);
    free(zero);
    ck_assert_int_eq(pcq_shared_attach(s.mem, s.len, &q), 0);
    ck_assert_uint_eq(pcq_capacity(q), 4);
    ck_assert_uint_eq(pcq_elem_size(q), 8);
    pcq_shared_detach(q);
    seg_free(&s);
}
END_TEST

/* Every length short of the segment is EINVAL (shorter than the header,
 * or than the size the header declares), in a buffer of exactly that
 * length: ASan reports a read past it. The whole length attaches, at
 * another address: a copy of the bytes is the same queue. */
START_TEST(attach_every_short_length)
{
    struct seg s = seg_new(2, 8, false);
    push_now(s.q, 11);
    push_now(s.q, 12);
    for (size_t len = 0; len < s.len; len++)
        ck_assert_msg(attach_copy(s.mem, len) == EINVAL, "len %zu of %zu", len, s.len);
    unsigned char *copy = exact_copy(s.mem, s.len, s.len);
    pcq_t *q;
    ck_assert_int_eq(pcq_shared_attach(copy, s.len, &q), 0);
    ck_assert_uint_eq(pcq_size(q), 2);
    ck_assert_uint_eq(pop_now(q), 11);
    ck_assert_uint_eq(pop_now(q), 12);
    ck_assert_uint_eq(pcq_size(s.q), 2); /* the original is apart */
    pcq_shared_detach(q);
    free(copy);
    seg_free(&s);
}
END_TEST

/* A wrong magic, layout version, or sizes that do not fit together:
 * EPROTO, each, and for a change of any byte of the identity. */
START_TEST(attach_bad_header_eproto)
{
    /* 8 slots of 8 bytes fill a cache line exactly, so that one slot more
     * or one byte more per slot no longer fits the size (a ring of 5 such
     * slots would still fit a segment laid out for 4: padding). */
    struct seg s = seg_new(8, 8, false);
    unsigned char *h = s.mem;
    /* The layout is the one described above. */
    ck_assert_uint_eq(get32(h, OFF_VERSION), 2);
    ck_assert_uint_eq(get32(h, OFF_SHARED), 1);
    ck_assert_uint_eq(get64(h, OFF_RING), 8);
    ck_assert_uint_eq(get64(h, OFF_ESZ), 8);
    ck_assert_uint_eq(get64(h, OFF_BYTES), s.len);
    ck_assert_uint_eq(get64(h, OFF_CAP), 8);
    const uint64_t hdr = get64(h, OFF_HDR);
    ck_assert(hdr >= OFF_END && hdr % ALIGN == 0 && hdr + 8 * 8 == s.len);
    ck_assert_int_eq(attach_copy(h, s.len), 0);

    unsigned char *bad = malloc(s.len);
    ck_assert_ptr_nonnull(bad);
    struct {
        size_t off;
        int wide; /* 64 or 32 bits */
        uint64_t value;
    } cases[] = {
        {OFF_MAGIC, 64, get64(h, OFF_MAGIC) ^ 1}, {OFF_MAGIC, 64, 0},
        {OFF_VERSION, 32, 3},                     {OFF_VERSION, 32, 0},
        {OFF_SHARED, 32, 0},                      {OFF_RING, 64, 9},
        {OFF_RING, 64, 0},                        {OFF_RING, 64, UINT64_MAX},
        {OFF_ESZ, 64, 16},                        {OFF_ESZ, 64, 0},
        {OFF_ESZ, 64, UINT64_MAX},                {OFF_BYTES, 64, s.len + ALIGN},
        {OFF_BYTES, 64, s.len - ALIGN},           {OFF_BYTES, 64, 0},
        {OFF_HDR, 64, hdr + ALIGN},               {OFF_HDR, 64, 0},
        {OFF_CAP, 64, 0},                         {OFF_CAP, 64, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, h, s.len);
        if (cases[i].wide == 64)
            put64(bad, cases[i].off, cases[i].value);
        else
            put32(bad, cases[i].off, (uint32_t)cases[i].value);
        ck_assert_msg(attach_copy(bad, s.len) == EPROTO, "case %zu", i);
    }
    for (size_t off = 0; off < OFF_END; off++)
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(bad, h, s.len);
            bad[off] ^= (unsigned char)(1u << bit);
            ck_assert_msg(attach_copy(bad, s.len) == EPROTO, "byte %zu bit %d", off, bit);
        }
    /* Random bytes over the whole header, and over all but the magic. */
    for (int trial = 0; trial < 400; trial++) {
        memcpy(bad, h, s.len);
        for (size_t off = trial % 2 ? OFF_VERSION : 0; off < hdr; off++)
            bad[off] = (unsigned char)rng();
        ck_assert_msg(attach_copy(bad, s.len) == EPROTO, "trial %d", trial);
    }
    free(bad);
    seg_free(&s);
}
END_TEST

/*
 * A segment laid out for one element size, attached by code that expects
 * another. What this shows: the header, not the caller, decides. A queue
 * of 16 8-byte elements has the size of one of 8 16-byte elements, so even
 * a caller that checks the length gets in; attach then reports the real
 * geometry (pcq_elem_size 8, capacity 16), and every call moves 8 bytes:
 * a 16-byte buffer gets its first 8 written and the rest untouched. The
 * queue cannot know what its caller expects: the caller must compare
 * pcq_elem_size with it. A caller that maps only what it expects (less
 * than the header declares) gets EINVAL, and nothing past is read.
 */
START_TEST(attach_other_elem_size)
{
    ck_assert_uint_eq(pcq_shared_size(16, 8), pcq_shared_size(8, 16));
    struct seg s = seg_new(16, 8, false);
    pcq_t *q;
    ck_assert_int_eq(pcq_shared_attach(s.mem, pcq_shared_size(8, 16), &q), 0);
    ck_assert_uint_eq(pcq_elem_size(q), 8);
    ck_assert_uint_eq(pcq_capacity(q), 16);
    unsigned char in[16], out[16];
    memset(in, 0x11, 8);
    memset(in + 8, 0x22, 8);
    memset(out, 0xee, sizeof out);
    ck_assert_int_eq(pcq_push(q, in), 0);
    ck_assert_int_eq(pcq_pop(s.q, out), 0);
    ck_assert_mem_eq(out, in, 8);
    for (size_t i = 8; i < 16; i++)
        ck_assert_uint_eq(out[i], 0xee);
    pcq_shared_detach(q);
    seg_free(&s);

    struct seg big = seg_new(8, 16, false);
    ck_assert_uint_lt(pcq_shared_size(8, 8), big.len);
    unsigned char *exact = exact_copy(big.mem, big.len, pcq_shared_size(8, 8));
    ck_assert_int_eq(pcq_shared_attach(exact, pcq_shared_size(8, 8), &q), EINVAL);
    free(exact);
    seg_free(&big);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Every call of pcq.h on a shared handle                            */
/* ------------------------------------------------------------------ */

START_TEST(push_pop_try_fifo)
{
    struct seg s = seg_new(3, 8, false);
    pcq_t *q = s.q;
    uint64_t v;
    ck_assert_int_eq(pcq_try_pop(q, &v), EAGAIN);
    for (uint64_t i = 0; i < 100; i++) {
        ck_assert_int_eq(pcq_push(q, &i), 0);
        if (i % 3 == 2) {
            ck_assert_uint_eq(pcq_size(q), 3);
            ck_assert_int_eq(pcq_try_push(q, &i), EAGAIN);
            for (uint64_t k = i - 2; k <= i; k++) {
                ck_assert_int_eq(k % 2 ? pcq_pop(q, &v) : pcq_try_pop(q, &v), 0);
                ck_assert_uint_eq(v, k);
            }
        }
    }
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 99);
    ck_assert_int_eq(pcq_push(NULL, &v), EINVAL);
    ck_assert_int_eq(pcq_pop(q, NULL), EINVAL);
    /* A blocked pop is woken by a push (the futex wait, in one process). */
    struct call c = {.q = q, .kind = POP};
    pthread_t t;
    start(&t, call_thread, &c);
    await_pop_waits(q, 1);
    push_now(q, 5);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(c.buf[0], 5);
    seg_free(&s);
}
END_TEST

/* Timed calls: ETIMEDOUT no sooner than asked, also for a wait longer than
 * a shared waiter's nap (PCQ_SHARED_NAP_MS: waking to look again must not
 * end it); a past deadline is a try; a bad timespec is EINVAL; success when
 * the other side comes in time. */
START_TEST(timed_calls)
{
    struct seg s = seg_new(1, 8, false);
    pcq_t *q = s.q;
    uint64_t v = 1;
    const uint64_t long_ms = 3 * PCQ_SHARED_NAP_MS;
    uint64_t t0 = now_ns();
    ck_assert_int_eq(pcq_pop_for(q, &v, long_ms * MS), ETIMEDOUT);
    ck_assert_uint_ge(now_ns() - t0, long_ms * MS);
    ck_assert_uint_lt(now_ns() - t0, PROMPT_MS * MS);
    struct timespec d = deadline_ms((long)long_ms), past = {0, 0}, bad = {0, 1000000000L};
    ck_assert_int_eq(pcq_pop_until(q, &v, &d), ETIMEDOUT);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ck_assert(now.tv_sec > d.tv_sec || (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec));
    pcq_stats_t st;
    pcq_stats(q, &st);
    const uint64_t waits = st.pop_waits;
    ck_assert_int_eq(pcq_pop_until(q, &v, &past), ETIMEDOUT);
    ck_assert_int_eq(pcq_pop_for(q, &v, 0), ETIMEDOUT);
    pcq_stats(q, &st);
    ck_assert_uint_eq(st.pop_waits, waits); /* a past deadline never sleeps */
    ck_assert_int_eq(pcq_pop_until(q, &v, &bad), EINVAL);
    bad.tv_nsec = -1;
    ck_assert_int_eq(pcq_push_until(q, &v, &bad), EINVAL);
    ck_assert_int_eq(pcq_push_until(q, &v, NULL), EINVAL);

    ck_assert_int_eq(pcq_push_for(q, &v, 0), 0);
    v = 2;
    t0 = now_ns();
    ck_assert_int_eq(pcq_push_for(q, &v, long_ms * MS), ETIMEDOUT);
    ck_assert_uint_ge(now_ns() - t0, long_ms * MS);
    ck_assert_int_eq(pcq_push_until(q, &v, &past), ETIMEDOUT);
    ck_assert_uint_eq(pcq_size(q), 1);
    ck_assert_int_eq(pcq_pop_until(q, &v, &past), 0); /* there now: no timeout */
    ck_assert_uint_eq(v, 1);

    /* The other side arrives in time: both directions. */
    struct call c = {.q = q, .kind = POP_FOR};
    pthread_t t;
    start(&t, call_thread, &c);
    await_pop_waits(q, waits + 1);
    push_now(q, 3);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(c.buf[0], 3);
    push_now(q, 4);
    struct call p = {.q = q, .kind = PUSH_UNTIL, .buf = {5}};
    start(&t, call_thread, &p);
    await_push_waits(q, 2);
    ck_assert_uint_eq(pop_now(q), 4);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(pop_now(q), 5);
    seg_free(&s);
}
END_TEST

START_TEST(batch_calls)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q = s.q;
    uint64_t buf[8];
    size_t n;
    /* A push_many larger than the ring goes in pieces as a consumer pops. */
    struct call c = {.q = q, .kind = PUSH_MANY, .n = 8, .buf = {0, 1, 2, 3, 4, 5, 6, 7}};
    pthread_t t;
    start(&t, call_thread, &c);
    for (uint64_t want = 0; want < 8;) {
        ck_assert_int_eq(pcq_pop_many(q, buf, 8, &n), 0);
        ck_assert_uint_ge(n, 1);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(buf[i], want++);
    }
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(c.moved, 8);
    /* try: what fits, then EAGAIN; zero counts return at once. */
    for (uint64_t i = 0; i < 8; i++)
        buf[i] = 10 + i;
    ck_assert_int_eq(pcq_try_push_many(q, buf, 6, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(pcq_try_push_many(q, buf, 6, &n), EAGAIN);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_push_many(q, buf, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_try_pop_many(q, buf, 3, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(buf[0], 10);
    ck_assert_uint_eq(buf[2], 12);
    ck_assert_int_eq(pcq_pop_many(q, buf, 8, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(buf[0], 13);
    ck_assert_int_eq(pcq_try_pop_many(q, buf, 8, &n), EAGAIN);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_pop_many(q, buf, 0, &n), 0);
    ck_assert_int_eq(pcq_push_many(q, buf, 1, NULL), EINVAL);
    /* A blocked pop_many is woken by one element. */
    struct call p = {.q = q, .kind = POP_MANY, .n = 4};
    pcq_stats_t st;
    pcq_stats(q, &st);
    start(&t, call_thread, &p);
    await_pop_waits(q, st.pop_waits + 1);
    push_now(q, 77);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(p.moved, 1);
    ck_assert_uint_eq(p.buf[0], 77);
    seg_free(&s);
}
END_TEST

struct batch_call {
    pcq_t *q;
    size_t min, max;
    uint64_t out[8];
    size_t popped;
    int rc;
};

static void *pop_batch_thread(void *arg)
{
    struct batch_call *b = arg;
    b->rc = pcq_pop_batch(b->q, b->out, b->min, b->max, NULL, &b->popped);
    return (void *)(intptr_t)b->rc;
}

START_TEST(pop_batch_min)
{
    struct seg s = seg_new(8, 8, false);
    pcq_t *q = s.q;
    uint64_t out[8];
    size_t n;
    /* It waits for min at once: fewer never wake it for good. */
    struct batch_call b = {.q = q, .min = 3, .max = 8};
    pthread_t t;
    start(&t, pop_batch_thread, &b);
    await_pop_waits(q, 1);
    for (uint64_t i = 1; i <= 3; i++)
        ck_assert_int_eq(pcq_push(q, &i), 0);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_ge(b.popped, 3);
    for (size_t i = 0; i < b.popped; i++)
        ck_assert_uint_eq(b.out[i], i + 1);
    /* The deadline: what is there; nothing there: ETIMEDOUT. */
    push_now(q, 9);
    struct timespec d = deadline_ms(2 * PCQ_SHARED_NAP_MS);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 8, &d, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 9);
    d = deadline_ms(PCQ_SHARED_NAP_MS);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 8, &d, &n), ETIMEDOUT);
    ck_assert_uint_eq(n, 0);
    /* A min above the capacity waits for a full queue. */
    for (uint64_t i = 0; i < 8; i++)
        push_now(q, i);
    ck_assert_int_eq(pcq_pop_batch(q, out, 100, 100, NULL, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert_int_eq(pcq_pop_batch(q, out, 0, 8, NULL, &n), EINVAL);
    ck_assert_int_eq(pcq_pop_batch(q, out, 4, 3, NULL, &n), EINVAL);
    /* Closed: the 1..min-1 there, then EPIPE. */
    push_now(q, 1);
    push_now(q, 2);
    pcq_close(q);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 8, NULL, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(pcq_pop_batch(q, out, 3, 8, NULL, &n), EPIPE);
    seg_free(&s);
}
END_TEST

/* Close: pushes EPIPE, pops drain then EPIPE; blocked threads of both
 * sides woken. */
START_TEST(close_drains_then_epipe)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q = s.q;
    uint64_t v;
    size_t n;
    struct call c = {.q = q, .kind = POP_UNTIL};
    pthread_t t;
    start(&t, call_thread, &c);
    await_pop_waits(q, 1);
    pcq_close(q);
    ck_assert_ptr_eq(join(t), (void *)EPIPE);
    seg_free(&s);

    s = seg_new(2, 8, false);
    q = s.q;
    push_now(q, 1);
    push_now(q, 2);
    struct call p = {.q = q, .kind = PUSH, .buf = {3}};
    start(&t, call_thread, &p);
    await_push_waits(q, 1);
    pcq_close(q);
    ck_assert_ptr_eq(join(t), (void *)EPIPE);
    pcq_close(q);
    ck_assert(pcq_is_closed(q));
    ck_assert_int_eq(pcq_push(q, &v), EPIPE);
    ck_assert_int_eq(pcq_try_push(q, &v), EPIPE);
    ck_assert_int_eq(pcq_push_for(q, &v, 0), EPIPE);
    ck_assert_int_eq(pcq_push_many(q, &v, 1, &n), EPIPE);
    ck_assert_int_eq(pcq_pop(q, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(pcq_peek(q, &v), 0);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(pcq_pop_for(q, &v, 0), 0);
    ck_assert_uint_eq(v, 2);
    ck_assert_int_eq(pcq_pop(q, &v), EPIPE);
    ck_assert_int_eq(pcq_try_pop(q, &v), EPIPE);
    ck_assert_int_eq(pcq_pop_many(q, &v, 1, &n), EPIPE);
    ck_assert_int_eq(pcq_peek(q, &v), EPIPE);
    ck_assert_int_eq(pcq_drain(q, &v, 1, &n), EAGAIN);
    seg_free(&s);
}
END_TEST

/* Abort: ECANCELED everywhere, at once for the blocked; drain takes the
 * leftovers. */
START_TEST(abort_ecanceled_drain)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q = s.q;
    uint64_t v, out[4];
    size_t n;
    struct call c = {.q = q, .kind = POP};
    pthread_t t;
    start(&t, call_thread, &c);
    await_pop_waits(q, 1);
    pcq_abort(q);
    ck_assert_ptr_eq(join(t), (void *)ECANCELED);
    seg_free(&s);

    s = seg_new(4, 8, false);
    q = s.q;
    push_now(q, 1);
    push_now(q, 2);
    push_now(q, 3);
    ck_assert_int_eq(pcq_drain(q, out, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pcq_drain(q, out, 1, &n), 0); /* drain works while open too */
    ck_assert_uint_eq(out[0], 1);
    pcq_abort(q);
    pcq_abort(q);
    pcq_close(q);
    ck_assert(pcq_is_closed(q));
    struct timespec d = deadline_ms(10000);
    ck_assert_int_eq(pcq_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_pop(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_try_push(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_try_pop(q, &v), ECANCELED);
    ck_assert_int_eq(pcq_push_until(q, &v, &d), ECANCELED);
    ck_assert_int_eq(pcq_pop_until(q, &v, &d), ECANCELED);
    ck_assert_int_eq(pcq_push_for(q, &v, 1), ECANCELED);
    ck_assert_int_eq(pcq_pop_for(q, &v, 1), ECANCELED);
    ck_assert_int_eq(pcq_push_many(q, out, 2, &n), ECANCELED);
    ck_assert_int_eq(pcq_pop_many(q, out, 2, &n), ECANCELED);
    ck_assert_int_eq(pcq_try_push_many(q, out, 2, &n), ECANCELED);
    ck_assert_int_eq(pcq_try_pop_many(q, out, 2, &n), ECANCELED);
    ck_assert_int_eq(pcq_pop_batch(q, out, 2, 4, NULL, &n), ECANCELED);
    ck_assert_int_eq(pcq_peek(q, &v), ECANCELED);
    ck_assert_uint_eq(pcq_size(q), 2);
    ck_assert_int_eq(pcq_drain(q, out, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 3);
    ck_assert_int_eq(pcq_drain(q, out, 4, &n), EAGAIN);
    ck_assert_uint_eq(n, 0);
    seg_free(&s);
}
END_TEST

START_TEST(peek_size_stats_getters)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q = s.q;
    uint64_t v = 0;
    ck_assert_int_eq(pcq_peek(q, &v), EAGAIN);
    ck_assert_int_eq(pcq_peek(q, NULL), EINVAL);
    push_now(q, 5);
    push_now(q, 6);
    push_now(q, 7);
    ck_assert_int_eq(pcq_peek(q, &v), 0);
    ck_assert_uint_eq(v, 5);
    ck_assert_uint_eq(pcq_size(q), 3);
    ck_assert_uint_eq(pop_now(q), 5);
    ck_assert_int_eq(pcq_peek(q, &v), 0);
    ck_assert_uint_eq(v, 6);
    ck_assert_uint_eq(pcq_capacity(q), 4);
    ck_assert_uint_eq(pcq_elem_size(q), 8);
    ck_assert(!pcq_is_closed(q));
    /* One wait on each side, counted once per call. */
    push_now(q, 8);
    push_now(q, 9);
    struct call c = {.q = q, .kind = PUSH, .buf = {10}};
    pthread_t t;
    start(&t, call_thread, &c);
    await_push_waits(q, 1);
    ck_assert_uint_eq(pop_now(q), 6);
    ck_assert_ptr_eq(join(t), (void *)0);
    for (uint64_t i = 7; i <= 10; i++)
        ck_assert_uint_eq(pop_now(q), i);
    c.kind = POP;
    start(&t, call_thread, &c);
    await_pop_waits(q, 1);
    push_now(q, 11);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(c.buf[0], 11);
    pcq_stats_t st;
    pcq_stats(q, &st);
    ck_assert_uint_eq(st.pushed, 7);
    ck_assert_uint_eq(st.popped, 7);
    ck_assert_uint_eq(st.push_waits, 1);
    ck_assert_uint_eq(st.pop_waits, 1);
    ck_assert_uint_eq(st.high_water, 4);
    pcq_stats(NULL, &st);
    ck_assert_uint_eq(st.pushed, 0);
    pcq_stats(q, NULL);
    ck_assert_uint_eq(pcq_shared_recoveries(q), 0);
    seg_free(&s);
}
END_TEST

/* Any capacity up to the ring laid out works (shrinking below the size
 * keeps the elements); above it ENOTSUP, nothing changed. */
START_TEST(set_capacity_within_ring)
{
    struct seg s = seg_new(4, 8, false);
    pcq_t *q = s.q;
    ck_assert_int_eq(pcq_set_capacity(q, 2), 0);
    ck_assert_uint_eq(pcq_capacity(q), 2);
    push_now(q, 1);
    push_now(q, 2);
    uint64_t v = 3;
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
    /* A producer blocked for room is woken when the capacity grows. */
    struct call c = {.q = q, .kind = PUSH, .buf = {3}};
    pthread_t t;
    start(&t, call_thread, &c);
    await_push_waits(q, 1);
    ck_assert_int_eq(pcq_set_capacity(q, 3), 0);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_int_eq(pcq_set_capacity(q, 4), 0);
    push_now(q, 4);
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
    ck_assert_int_eq(pcq_set_capacity(q, 5), ENOTSUP);
    ck_assert_int_eq(pcq_set_capacity(q, SIZE_MAX), ENOTSUP);
    ck_assert_int_eq(pcq_set_capacity(q, 0), EINVAL);
    ck_assert_uint_eq(pcq_capacity(q), 4);
    ck_assert_int_eq(pcq_set_capacity(q, 1), 0);
    ck_assert_uint_eq(pcq_size(q), 4);
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
    for (uint64_t i = 1; i <= 4; i++)
        ck_assert_uint_eq(pop_now(q), i);
    push_now(q, 9);
    ck_assert_int_eq(pcq_try_push(q, &v), EAGAIN);
    ck_assert_uint_eq(pop_now(q), 9);
    seg_free(&s);
}
END_TEST

START_TEST(pollfd_enotsup)
{
    struct seg s = seg_new(4, 8, false);
    int fd = -7;
    ck_assert_int_eq(pcq_pollfd(s.q, PCQ_SIDE_POP, &fd), ENOTSUP);
    ck_assert_int_eq(pcq_pollfd(s.q, PCQ_SIDE_PUSH, &fd), ENOTSUP);
    ck_assert_int_eq(fd, -7);
    ck_assert_int_eq(pcq_pollfd(s.q, PCQ_SIDE_POP, NULL), EINVAL);
    seg_free(&s);
}
END_TEST

/* pcq_destroy on a shared handle detaches it: the memory is byte for byte
 * what it was, and another handle goes on working; the same for
 * pcq_shared_detach. NULL and in-process queues are harmless. */
START_TEST(destroy_is_detach)
{
    struct seg s = seg_new(4, 8, false);
    unsigned char *snap = malloc(s.len);
    ck_assert_ptr_nonnull(snap);
    pcq_t *a;
    ck_assert_int_eq(pcq_shared_attach(s.mem, s.len, &a), 0);
    push_now(a, 1);
    push_now(s.q, 2);
    memcpy(snap, s.mem, s.len);
    pcq_destroy(a);
    ck_assert_mem_eq(s.mem, snap, s.len);
    ck_assert_uint_eq(pop_now(s.q), 1);
    memcpy(snap, s.mem, s.len);
    pcq_shared_detach(s.q);
    ck_assert_mem_eq(s.mem, snap, s.len);
    ck_assert_int_eq(pcq_shared_attach(s.mem, s.len, &s.q), 0);
    ck_assert_uint_eq(pop_now(s.q), 2);
    works_both_ways(s.q);
    pcq_shared_detach(NULL);
    ck_assert_uint_eq(pcq_shared_recoveries(NULL), 0);
    pcq_t *local;
    ck_assert_int_eq(pcq_create(&local, 2, 8), 0);
    ck_assert_uint_eq(pcq_shared_recoveries(local), 0);
    pcq_destroy(local);
    free(snap);
    seg_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One memory at two addresses (threads; TSan)                        */
/* ------------------------------------------------------------------ */

#define TWO_PRODUCERS 2
#define TWO_CONSUMERS 2

struct two_side {
    pcq_t *q;
    unsigned id;
    long n;              /* producers: elements to push */
    long got;            /* consumers: elements popped */
    long last[TWO_PRODUCERS]; /* consumers: each producer's last element seen */
};

static void *two_producer(void *arg)
{
    struct two_side *p = arg;
    uint64_t buf[4];
    for (long i = 0; i < p->n;) {
        if (i % 5 == 0 && p->n - i >= 4) {
            for (int k = 0; k < 4; k++)
                buf[k] = (uint64_t)p->id << 32 | (uint64_t)(i + k);
            size_t n;
            EXPECT(pcq_push_many(p->q, buf, 4, &n) == 0 && n == 4);
            i += 4;
        } else {
            buf[0] = (uint64_t)p->id << 32 | (uint64_t)i;
            EXPECT(pcq_push(p->q, buf) == 0);
            i++;
        }
    }
    return NULL;
}

static void *two_consumer(void *arg)
{
    struct two_side *c = arg;
    uint64_t buf[4];
    size_t n;
    int rc;
    for (int i = 0; i < TWO_PRODUCERS; i++)
        c->last[i] = -1;
    while ((rc = c->got % 2 ? pcq_pop_many(c->q, buf, 4, &n) : pcq_pop(c->q, buf)) == 0) {
        if (c->got % 2 == 0)
            n = 1;
        for (size_t i = 0; i < n; i++) {
            const unsigned id = (unsigned)(buf[i] >> 32);
            const long seq = (long)(buf[i] & 0xffffffffu);
            EXPECT(id < TWO_PRODUCERS && seq > c->last[id]); /* each producer's order */
            c->last[id] = seq;
        }
        c->got += (long)n;
    }
    EXPECT(rc == EPIPE);
    return NULL;
}

/*
 * The memory holds no pointer: one memfd mapped twice in this process
 * (`_i` 0: at two addresses; 1: one mapping, both handles at its address);
 * init through one, attach through the other, producers and consumers
 * threads through the two handles. First, the first mapping goes away
 * entirely (handle detached, memory unmapped) and the other still holds
 * the queue and its elements.
 *
 * TSan keeps its state by address, and cannot know that two addresses are
 * one memory: a thread that goes through one mapping and one through the
 * other look unordered to it even when the queue's locks and counters
 * order them. So at two addresses, each side keeps to its own mapping
 * (producers one, consumers the other): every access TSan sees is then
 * ordered by what it sees (the side's lock and counter), and the hand-off
 * between the sides is what the one-address run checks, with each side on
 * both handles.
 */
START_TEST(two_mappings_threads)
{
    const bool one_address = _i == 1;
    const size_t len = pcq_shared_size(8, 8);
    const int fd = memfd_create("pcq-two-mappings", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(a != MAP_FAILED && b != MAP_FAILED && a != b);
    pcq_t *qa, *qb;
    ck_assert_int_eq(pcq_shared_init(a, len, 8, 8, &qa), 0);
    push_now(qa, 41);
    pcq_shared_detach(qa);
    ck_assert_int_eq(munmap(a, len), 0);
    ck_assert_int_eq(pcq_shared_attach(b, len, &qb), 0);
    ck_assert_uint_eq(pop_now(qb), 41);
    a = one_address ? b : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(a != MAP_FAILED && (a != b || one_address));
    ck_assert_int_eq(pcq_shared_attach(a, len, &qa), 0);

    const long n = scaled(20000, 500);
    struct two_side prod[TWO_PRODUCERS], cons[TWO_CONSUMERS];
    pthread_t tp[TWO_PRODUCERS], tc[TWO_CONSUMERS];
    for (unsigned i = 0; i < TWO_CONSUMERS; i++) {
        cons[i] = (struct two_side){.q = one_address && i % 2 ? qa : qb};
        start(&tc[i], two_consumer, &cons[i]);
    }
    for (unsigned i = 0; i < TWO_PRODUCERS; i++) {
        prod[i] = (struct two_side){.q = one_address && i % 2 ? qb : qa, .id = i, .n = n};
        start(&tp[i], two_producer, &prod[i]);
    }
    for (int i = 0; i < TWO_PRODUCERS; i++)
        join(tp[i]);
    pcq_close(qb);
    long total = 0;
    for (int i = 0; i < TWO_CONSUMERS; i++) {
        join(tc[i]);
        total += cons[i].got;
    }
    ck_assert_int_eq(total, TWO_PRODUCERS * n);
    pcq_stats_t sa, sb;
    pcq_stats(qa, &sa);
    pcq_stats(qb, &sb);
    ck_assert_uint_eq(sa.pushed, (uint64_t)(TWO_PRODUCERS * n + 1));
    ck_assert_uint_eq(sa.popped, sb.popped);
    ck_assert(pcq_is_closed(qa));
    pcq_shared_detach(qa);
    pcq_shared_detach(qb);
    if (!one_address)
        munmap(a, len);
    munmap(b, len);
    close(fd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Processes                                                          */
/* ------------------------------------------------------------------ */

/* A producer child and the parent consuming: every element, in order,
 * through every kind of call on both sides; the child attaches its own
 * handle, then closes. */
START_TEST(fork_producer_consumer)
{
    const uint64_t n = (uint64_t)scaled(20000, 500);
    struct seg s = seg_new(16, 8, true);
    const pid_t pid = fork_child();
    if (pid == 0) {
        pcq_t *q;
        CHILD_EXPECT(pcq_shared_attach(s.mem, s.len, &q) == 0, 2);
        uint64_t buf[5];
        size_t k, done;
        for (uint64_t i = 0; i < n; i += k) {
            k = 1;
            switch (i % 4) {
            case 0: CHILD_EXPECT(pcq_push(q, &i) == 0, 3); break;
            case 1: CHILD_EXPECT(pcq_push_for(q, &i, PROMPT_MS * MS) == 0, 4); break;
            case 2: {
                int rc;
                while ((rc = pcq_try_push(q, &i)) == EAGAIN)
                    sched_yield();
                CHILD_EXPECT(rc == 0, 6);
                break;
            }
            default:
                k = n - i < 5 ? (size_t)(n - i) : 5;
                for (size_t j = 0; j < k; j++)
                    buf[j] = i + j;
                CHILD_EXPECT(pcq_push_many(q, buf, k, &done) == 0 && done == k, 5);
            }
        }
        pcq_close(q);
        pcq_shared_detach(q);
        _exit(0);
    }
    uint64_t want = 0, buf[8];
    size_t got;
    int rc;
    for (unsigned i = 0;; i++) {
        switch (i % 3) {
        case 0: rc = pcq_pop(s.q, buf), got = 1; break;
        case 1: rc = pcq_pop_many(s.q, buf, 8, &got); break;
        default: rc = pcq_pop_batch(s.q, buf, 3, 8, NULL, &got);
        }
        if (rc != 0)
            break;
        for (size_t j = 0; j < got; j++)
            EXPECT(buf[j] == want++);
    }
    ck_assert_int_eq(rc, EPIPE);
    ck_assert_uint_eq(want, n);
    ck_assert_int_eq(exit_code(pid), 0);
    pcq_stats_t st;
    pcq_stats(s.q, &st);
    ck_assert_uint_eq(st.pushed, n);
    ck_assert_uint_eq(st.popped, n);
    seg_free(&s);
}
END_TEST

/* Blocking across processes: the parent's pop sleeps until the child
 * pushes, and its push until the child pops. The child acts only once the
 * queue's counters show the parent asleep. */
START_TEST(fork_blocking_waits)
{
    struct seg s = seg_new(2, 8, true);
    const pid_t pid = fork_child();
    if (pid == 0) {
        await_pop_waits(s.q, 1);
        const uint64_t v = 41;
        CHILD_EXPECT(pcq_push(s.q, &v) == 0, 2);
        await_push_waits(s.q, 1);
        uint64_t out;
        CHILD_EXPECT(pcq_pop(s.q, &out) == 0 && out == 1, 3);
        _exit(0);
    }
    uint64_t v;
    ck_assert_int_eq(pcq_pop(s.q, &v), 0);
    ck_assert_uint_eq(v, 41);
    push_now(s.q, 1);
    push_now(s.q, 2);
    v = 3;
    ck_assert_int_eq(pcq_push_for(s.q, &v, PROMPT_MS * MS), 0);
    ck_assert_int_eq(exit_code(pid), 0);
    ck_assert_uint_eq(pop_now(s.q), 2);
    ck_assert_uint_eq(pop_now(s.q), 3);
    seg_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Named objects: pcq_shm_*                                           */
/* ------------------------------------------------------------------ */

#define SHM_PREFIX "pcq-stest-"

/* This test's object name: the pid keeps concurrent runs apart. */
static void shm_name(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/" SHM_PREFIX "%ld-%s", (long)getpid(), tag);
}

static void shm_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "/dev/shm%s", name); }

/* After the test case, in the runner: remove what a failed test (whose
 * process is gone) left behind. */
static void remove_stale_objects(void)
{
    DIR *d = opendir("/dev/shm");
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const size_t k = strlen(SHM_PREFIX);
        if (strncmp(e->d_name, SHM_PREFIX, k) != 0)
            continue;
        const long pid = strtol(e->d_name + k, NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

START_TEST(shm_invalid_names)
{
    char long_name[300];
    long_name[0] = '/';
    memset(long_name + 1, 'n', 254);
    long_name[255] = '\0';
    const char *bad[] = {NULL, "", "x", "/", "/a/b", "/.", "/..", "//", "a/b", long_name};
    pcq_t *q;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(pcq_shm_create(bad[i], 4, 8, 0600, &q), EINVAL);
        ck_assert_int_eq(pcq_shm_open(bad[i], &q), EINVAL);
        ck_assert_int_eq(pcq_shm_unlink(bad[i]), EINVAL);
    }
    /* 253 characters after the '/': the longest valid; 254 is not. */
    char name[300];
    shm_name(name, sizeof name, "");
    const size_t used = strlen(name);
    memset(name + used, 'm', 254 - used);
    name[254] = '\0';
    ck_assert_int_eq(pcq_shm_create(name, 2, 8, 0600, &q), 0);
    pcq_shm_close(q);
    ck_assert_int_eq(pcq_shm_open(name, &q), 0);
    pcq_shm_close(q);
    ck_assert_int_eq(pcq_shm_unlink(name), 0);
    name[254] = 'm';
    name[255] = '\0';
    ck_assert_int_eq(pcq_shm_create(name, 2, 8, 0600, &q), EINVAL);
    shm_name(name, sizeof name, "args");
    ck_assert_int_eq(pcq_shm_create(name, 2, 8, 0600, NULL), EINVAL);
    ck_assert_int_eq(pcq_shm_create(name, 0, 8, 0600, &q), EINVAL);
    ck_assert_int_eq(pcq_shm_create(name, 2, 0, 0600, &q), EINVAL);
    ck_assert_int_eq(pcq_shm_create(name, SIZE_MAX, 8, 0600, &q), EOVERFLOW);
    ck_assert_int_eq(pcq_shm_open(name, NULL), EINVAL);
    ck_assert_int_eq(pcq_shm_open(name, &q), ENOENT); /* nothing was left behind */
    pcq_shm_close(NULL);
}
END_TEST

/* Create, EEXIST, open (another mapping of the same queue), the queue
 * outliving its handles, unlink, ENOENT; a child opens it by name. */
START_TEST(shm_create_open_unlink)
{
    char name[64];
    shm_name(name, sizeof name, "life");
    pcq_t *a, *b;
    ck_assert_int_eq(pcq_shm_create(name, 4, 8, 0600, &a), 0);
    ck_assert_int_eq(pcq_shm_create(name, 4, 8, 0600, &b), EEXIST);
    ck_assert_int_eq(pcq_shm_open(name, &b), 0);
    ck_assert_uint_eq(pcq_capacity(b), 4);
    ck_assert_uint_eq(pcq_elem_size(b), 8);
    push_now(a, 1);
    ck_assert_uint_eq(pop_now(b), 1);
    push_now(a, 2);
    pcq_shm_close(a);
    pcq_destroy(b); /* the same as pcq_shm_close */
    ck_assert_int_eq(pcq_shm_open(name, &a), 0);
    ck_assert_uint_eq(pop_now(a), 2);
    const pid_t pid = fork_child();
    if (pid == 0) {
        pcq_t *q;
        CHILD_EXPECT(pcq_shm_open(name, &q) == 0, 2);
        const uint64_t v = 3;
        CHILD_EXPECT(pcq_push(q, &v) == 0, 3);
        pcq_shm_close(q);
        _exit(0);
    }
    uint64_t v;
    ck_assert_int_eq(pcq_pop(a, &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(exit_code(pid), 0);
    ck_assert_int_eq(pcq_shm_unlink(name), 0);
    ck_assert_int_eq(pcq_shm_unlink(name), ENOENT);
    ck_assert_int_eq(pcq_shm_open(name, &b), ENOENT);
    works_both_ways(a); /* unlinked, still mapped: still a queue */
    pcq_shm_close(a);
}
END_TEST

/* The mode bits exactly as given, even under umask 077. */
START_TEST(shm_mode_exact)
{
    const mode_t modes[] = {0600, 0640, 0666, 0604, 0660};
    const mode_t old = umask(077);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char name[64], path[80];
        snprintf(name, sizeof name, "/" SHM_PREFIX "%ld-mode%zu", (long)getpid(), i);
        shm_path(path, sizeof path, name);
        pcq_t *q;
        ck_assert_int_eq(pcq_shm_create(name, 2, 8, modes[i], &q), 0);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg((st.st_mode & 07777) == modes[i], "mode %o, asked %o",
                      (unsigned)(st.st_mode & 07777), (unsigned)modes[i]);
        pcq_shm_close(q);
        ck_assert_int_eq(pcq_shm_unlink(name), 0);
    }
    umask(old);
}
END_TEST

/* A symbolic link at the name is never followed: create says EEXIST (and
 * makes nothing at the target), open says EACCES (even to a queue). */
START_TEST(shm_symlink_not_followed)
{
    char name[64], target[64], link_path[80], target_path[80];
    shm_name(name, sizeof name, "link");
    shm_name(target, sizeof target, "target");
    shm_path(link_path, sizeof link_path, name);
    shm_path(target_path, sizeof target_path, target);
    ck_assert_int_eq(symlink(target_path, link_path), 0);
    pcq_t *q;
    ck_assert_int_eq(pcq_shm_create(name, 2, 8, 0600, &q), EEXIST);
    struct stat st;
    ck_assert_int_eq(lstat(target_path, &st), -1);
    ck_assert_int_eq(pcq_shm_open(name, &q), EACCES);
    ck_assert_int_eq(pcq_shm_create(target, 2, 8, 0600, &q), 0);
    pcq_shm_close(q);
    ck_assert_int_eq(pcq_shm_open(name, &q), EACCES);
    ck_assert_int_eq(unlink(link_path), 0);
    ck_assert_int_eq(pcq_shm_unlink(target), 0);
}
END_TEST

/* Make a raw object `name` of `len` bytes holding `bytes` (len of them). */
static void raw_object(const char *name, const void *bytes, size_t len)
{
    const int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
    if (len > 0)
        ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

/* An object too short for a header, or shorter than its header declares:
 * EINVAL; garbage, or a header damaged: EPROTO. */
START_TEST(shm_short_and_garbage)
{
    struct seg s = seg_new(4, 8, false);
    const size_t junk_len = s.len > 4096 ? s.len : 4096;
    unsigned char *junk = malloc(junk_len);
    ck_assert_ptr_nonnull(junk);
    for (size_t i = 0; i < junk_len; i++)
        junk[i] = (unsigned char)rng();
    const size_t hdr = (size_t)get64(s.mem, OFF_HDR);
    struct {
        const unsigned char *bytes;
        size_t len;
        int rc;
    } cases[] = {
        {s.mem, 0, EINVAL},           {s.mem, 16, EINVAL},  {s.mem, hdr - 1, EINVAL},
        {s.mem, hdr + 8, EINVAL},     {s.mem, s.len - 1, EINVAL},
        {junk, s.len, EPROTO},        {junk, 4096, EPROTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "/" SHM_PREFIX "%ld-raw%zu", (long)getpid(), i);
        raw_object(name, cases[i].bytes, cases[i].len);
        pcq_t *q;
        ck_assert_msg(pcq_shm_open(name, &q) == cases[i].rc, "case %zu", i);
        ck_assert_int_eq(pcq_shm_unlink(name), 0);
    }
    free(junk);
    seg_free(&s);
}
END_TEST

/* Not permitted: open and unlink say EACCES. Root passes permission
 * checks, so as root a child drops to another user first. */
START_TEST(shm_eacces)
{
    char name[64];
    shm_name(name, sizeof name, "perm");
    pcq_t *q;
    ck_assert_int_eq(pcq_shm_create(name, 2, 8, 0, &q), 0);
    pcq_shm_close(q);
    const pid_t pid = fork_child();
    if (pid == 0) {
        const bool dropped = geteuid() == 0;
        CHILD_EXPECT(!dropped || setuid(65534) == 0, 2);
        CHILD_EXPECT(pcq_shm_open(name, &q) == EACCES, 3);
        /* In /dev/shm (sticky) only the owner removes a name. */
        CHILD_EXPECT(!dropped || pcq_shm_unlink(name) == EACCES, 4);
        _exit(0);
    }
    ck_assert_int_eq(exit_code(pid), 0);
    ck_assert_int_eq(pcq_shm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Processes killed inside a critical section, and while waiting      */
/* ------------------------------------------------------------------ */

enum kill_call { K_PUSH, K_POP, K_STATS, K_CLOSE, K_ABORT, K_SET_CAPACITY };

/* Fork a child that runs `call` on q and parks at (side, point); return
 * once it is parked there. */
static pid_t park_child(pcq_t *q, int side, int point, enum kill_call call)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    const pid_t pid = fork_child();
    if (pid == 0) {
        close(p[0]);
        park_arm(p[1], side, point);
        uint64_t v = 42;
        pcq_stats_t st;
        switch (call) {
        case K_PUSH: pcq_push(q, &v); break;
        case K_POP: pcq_pop(q, &v); break;
        case K_STATS: pcq_stats(q, &st); break;
        case K_CLOSE: pcq_close(q); break;
        case K_ABORT: pcq_abort(q); break;
        case K_SET_CAPACITY: pcq_set_capacity(q, 2); break;
        }
        _exit(4); /* never parked */
    }
    close(p[1]);
    char c;
    const ssize_t n = read(p[0], &c, 1);
    close(p[0]);
    ck_assert_msg(n == 1, "the child did not reach its hook");
    return pid;
}

/* A push killed after its copy, before its commit: not delivered. */
START_TEST(kill_push_copied)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    struct seg s = seg_new(4, 8, true);
    push_now(s.q, 10);
    kill_child(park_child(s.q, 0, PCQ_HOOK_COPIED, K_PUSH));
    ck_assert_uint_eq(pop_now(s.q), 10);
    uint64_t v;
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN); /* not 42 */
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 0);
    push_now(s.q, 11); /* the push side's lock comes back repaired */
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    ck_assert_uint_eq(pop_now(s.q), 11);
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
    works_both_ways(s.q);
    pcq_stats_t st;
    pcq_stats(s.q, &st);
    ck_assert_uint_eq(st.pushed, st.popped);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    seg_free(&s);
}
END_TEST

/* A pop killed after its copy, before its commit: the element stays, and
 * the next pop gets it. */
START_TEST(kill_pop_copied)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    struct seg s = seg_new(4, 8, true);
    push_now(s.q, 10);
    push_now(s.q, 20);
    kill_child(park_child(s.q, 1, PCQ_HOOK_COPIED, K_POP));
    push_now(s.q, 30);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 0);
    ck_assert_uint_eq(pop_now(s.q), 10);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    ck_assert_uint_eq(pop_now(s.q), 20);
    ck_assert_uint_eq(pop_now(s.q), 30);
    works_both_ways(s.q);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    seg_free(&s);
}
END_TEST

/* A push killed after its commit, holding the lock: delivered, once. */
START_TEST(kill_push_committed)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    struct seg s = seg_new(4, 8, true);
    push_now(s.q, 10);
    kill_child(park_child(s.q, 0, PCQ_HOOK_COMMITTED, K_PUSH));
    ck_assert_uint_eq(pop_now(s.q), 10);
    ck_assert_uint_eq(pop_now(s.q), 42);
    uint64_t v;
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
    push_now(s.q, 11);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    ck_assert_uint_eq(pop_now(s.q), 11);
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
    works_both_ways(s.q);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    seg_free(&s);
}
END_TEST

/* A push killed after its commit, before it raised the high-water mark,
 * filling the ring: the mark still covers the size (side_valid(), which
 * the test builds assert, fails on a repair that leaves it below), and a
 * push on the full ring is refused. */
START_TEST(kill_push_committed_full)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    struct seg s = seg_new(2, 8, true);
    push_now(s.q, 10);
    kill_child(park_child(s.q, 0, PCQ_HOOK_COMMITTED, K_PUSH));
    uint64_t v = 11;
    ck_assert_int_eq(pcq_try_push(s.q, &v), EAGAIN);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    pcq_stats_t st;
    pcq_stats(s.q, &st);
    ck_assert_uint_eq(st.high_water, 2);
    ck_assert_uint_eq(pop_now(s.q), 10);
    ck_assert_uint_eq(pop_now(s.q), 42);
    works_both_ways(s.q);
    seg_free(&s);
}
END_TEST

/* A pop killed after its commit: that element is gone (the dead process
 * took it), never delivered again. */
START_TEST(kill_pop_committed)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    struct seg s = seg_new(4, 8, true);
    push_now(s.q, 10);
    push_now(s.q, 20);
    kill_child(park_child(s.q, 1, PCQ_HOOK_COMMITTED, K_POP));
    ck_assert_uint_eq(pcq_size(s.q), 1);
    ck_assert_uint_eq(pop_now(s.q), 20);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    uint64_t v;
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
    works_both_ways(s.q);
    pcq_stats_t st;
    pcq_stats(s.q, &st);
    ck_assert_uint_eq(st.popped, st.pushed);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    seg_free(&s);
}
END_TEST

/* A child killed holding both locks (inside stats, close, abort,
 * set_capacity): each side comes back once, two recoveries; both sides
 * work, and agree on whether the queue is closed and on its capacity. */
START_TEST(kill_holding_both)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    const enum kill_call call = (enum kill_call)(K_STATS + _i);
    struct seg s = seg_new(4, 8, true);
    push_now(s.q, 10);
    kill_child(park_child(s.q, 1, PCQ_HOOK_BOTH, call));
    const bool closed = pcq_is_closed(s.q);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 1);
    uint64_t v;
    ck_assert_int_eq(pcq_peek(s.q, &v), 0);
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 2);
    ck_assert_uint_eq(v, 10);
    const size_t cap = pcq_capacity(s.q);
    ck_assert(cap == 4 || (call == K_SET_CAPACITY && cap == 2));
    if (closed) { /* both sides closed */
        ck_assert(call == K_CLOSE || call == K_ABORT);
        ck_assert_int_eq(pcq_try_push(s.q, &v), call == K_ABORT ? ECANCELED : EPIPE);
    } else { /* both sides open: room exactly to the capacity */
        for (uint64_t i = 1; i < cap; i++)
            push_now(s.q, i);
        ck_assert_int_eq(pcq_try_push(s.q, &v), EAGAIN);
        ck_assert_uint_eq(pop_now(s.q), 10);
        for (uint64_t i = 1; i < cap; i++)
            ck_assert_uint_eq(pop_now(s.q), i);
        ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
        works_both_ways(s.q);
        pcq_close(s.q);
    }
    ck_assert(pcq_is_closed(s.q));
    ck_assert_uint_eq(pcq_shared_recoveries(s.q), 2);
    seg_free(&s);
}
END_TEST

/* A child blocked in a wait (pop side: `_i` 0; push side: 1) is killed;
 * another child blocked the same way is still woken promptly by the
 * parent's move, and the parent's own calls work. The dead waiter may
 * have been killed before it let go of the lock: recoveries not counted. */
START_TEST(kill_blocked_waiter)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    const bool pops = _i == 0;
    struct seg s = seg_new(1, 8, true);
    if (!pops)
        push_now(s.q, 5);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        pid[i] = fork_child();
        if (pid[i] == 0) {
            uint64_t v = 6 + (uint64_t)i;
            if (pops) {
                CHILD_EXPECT(pcq_pop_for(s.q, &v, PROMPT_MS * MS) == 0, 2);
                CHILD_EXPECT(v == 77, 3);
            } else {
                CHILD_EXPECT(pcq_push_for(s.q, &v, PROMPT_MS * MS) == 0, 2);
            }
            _exit(0);
        }
        if (pops)
            await_pop_waits(s.q, (uint64_t)i + 1);
        else
            await_push_waits(s.q, (uint64_t)i + 1);
        if (i == 0)
            kill_child(pid[0]);
    }
    const uint64_t t0 = now_ns();
    if (pops)
        push_now(s.q, 77);
    else
        ck_assert_uint_eq(pop_now(s.q), 5);
    ck_assert_int_eq(exit_code(pid[1]), 0);
    ck_assert_uint_lt(now_ns() - t0, PROMPT_MS * MS);
    if (!pops)
        ck_assert_uint_eq(pop_now(s.q), 7); /* the dead one's 6 never went in */
    uint64_t v;
    ck_assert_int_eq(pcq_try_pop(s.q, &v), EAGAIN);
    /* A blocked thread of the parent is woken too. */
    struct call c = {.q = s.q, .kind = POP};
    pthread_t t;
    pcq_stats_t st;
    pcq_stats(s.q, &st);
    start(&t, call_thread, &c);
    await_pop_waits(s.q, st.pop_waits + 1);
    push_now(s.q, 8);
    ck_assert_ptr_eq(join(t), (void *)0);
    ck_assert_uint_eq(c.buf[0], 8);
    works_both_ways(s.q);
    seg_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Corrupt memory                                                     */
/* ------------------------------------------------------------------ */

/* Every call of pcq.h that returns a status, by number. */
enum int_call {
    C_PUSH,
    C_TRY_PUSH,
    C_PUSH_UNTIL,
    C_PUSH_FOR,
    C_PUSH_MANY,
    C_TRY_PUSH_MANY,
    C_SET_CAPACITY,
    C_PUSH_SIDE_END, /* above: calls that lock the push side first */
    C_POP = C_PUSH_SIDE_END,
    C_TRY_POP,
    C_POP_UNTIL,
    C_POP_UNTIL_PAST,
    C_POP_FOR,
    C_POP_MANY,
    C_TRY_POP_MANY,
    C_POP_BATCH,
    C_DRAIN,
    C_PEEK,
    C_CALLS
};

static int int_call(pcq_t *q, enum int_call which)
{
    uint64_t buf[4] = {1, 2, 3, 4};
    const struct timespec d = deadline_ms(PROMPT_MS), past = {0, 0};
    size_t n = 99;
    int rc;
    switch (which) {
    case C_PUSH: return pcq_push(q, buf);
    case C_TRY_PUSH: return pcq_try_push(q, buf);
    case C_PUSH_UNTIL: return pcq_push_until(q, buf, &d);
    case C_PUSH_FOR: return pcq_push_for(q, buf, PROMPT_MS * MS);
    case C_SET_CAPACITY: return pcq_set_capacity(q, 2);
    case C_POP: return pcq_pop(q, buf);
    case C_TRY_POP: return pcq_try_pop(q, buf);
    case C_POP_UNTIL: return pcq_pop_until(q, buf, &d);
    case C_POP_UNTIL_PAST: return pcq_pop_until(q, buf, &past);
    case C_POP_FOR: return pcq_pop_for(q, buf, PROMPT_MS * MS);
    case C_PEEK: return pcq_peek(q, buf);
    case C_PUSH_MANY: rc = pcq_push_many(q, buf, 4, &n); break;
    case C_TRY_PUSH_MANY: rc = pcq_try_push_many(q, buf, 4, &n); break;
    case C_POP_MANY: rc = pcq_pop_many(q, buf, 4, &n); break;
    case C_TRY_POP_MANY: rc = pcq_try_pop_many(q, buf, 4, &n); break;
    case C_POP_BATCH: rc = pcq_pop_batch(q, buf, 2, 4, &d, &n); break;
    case C_DRAIN: rc = pcq_drain(q, buf, 4, &n); break;
    default: ck_abort_msg("no call %d", (int)which);
    }
    EXPECT(n == 0); /* nothing moved */
    return rc;
}

/* What every call must say of a corrupt queue, and the void calls return,
 * the inspection calls stay within the ring. */
static void all_calls_unrecoverable(pcq_t *q)
{
    for (int c = 0; c < C_CALLS; c++)
        ck_assert_msg(int_call(q, (enum int_call)c) == ENOTRECOVERABLE, "call %d", c);
    pcq_stats_t st;
    pcq_stats(q, &st);
    (void)pcq_is_closed(q);
    pcq_close(q);
    pcq_abort(q);
    ck_assert_uint_le(pcq_size(q), 4);
    ck_assert_uint_le(pcq_capacity(q), 4);
    ck_assert_uint_eq(pcq_elem_size(q), 8);
}

/* Damaged (`_i` + 1: a position out of the ring; a count more than a ring
 * ahead): the push that finds it, and every call after, in this handle
 * and in another, says ENOTRECOVERABLE. */
START_TEST(scribble_every_call)
{
    struct seg s = seg_new(4, 8, false);
    push_now(s.q, 1);
    push_now(s.q, 2);
    ck_assert_int_eq(pcq__test_scribble(s.q, (int)_i + 1), 0);
    ck_assert_int_eq(int_call(s.q, C_PUSH), ENOTRECOVERABLE);
    all_calls_unrecoverable(s.q);
    pcq_t *other;
    ck_assert_int_eq(pcq_shared_attach(s.mem, s.len, &other), 0);
    all_calls_unrecoverable(other);
    pcq_shared_detach(other);
    seg_free(&s);
}
END_TEST

/* Each call, as the first after the damage, finds it and says so: every
 * call for a count out of range (both sides read the counts), the
 * push-side calls for a push position out of the ring (the pop side never
 * reads it). `_i` runs over damage x call. */
START_TEST(scribble_first_call)
{
    const int what = _i / C_CALLS + 1;
    const enum int_call call = (enum int_call)(_i % C_CALLS);
    if (what == 1 && call >= C_PUSH_SIDE_END)
        return;
    struct seg s = seg_new(4, 8, false);
    ck_assert_int_eq(pcq__test_scribble(s.q, what), 0);
    ck_assert_msg(int_call(s.q, call) == ENOTRECOVERABLE, "damage %d, call %d", what, (int)call);
    all_calls_unrecoverable(s.q);
    seg_free(&s);
}
END_TEST

/* A thread blocked in pop, while another damages the queue and pushes:
 * the blocked one comes back with ENOTRECOVERABLE, promptly. */
START_TEST(scribble_wakes_blocked_pop)
{
    struct seg s = seg_new(4, 8, false);
    struct call c = {.q = s.q, .kind = POP};
    pthread_t t;
    start(&t, call_thread, &c);
    await_pop_waits(s.q, 1);
    ck_assert_int_eq(pcq__test_scribble(s.q, (int)_i + 1), 0);
    const uint64_t t0 = now_ns();
    uint64_t v = 1;
    ck_assert_int_eq(pcq_push(s.q, &v), ENOTRECOVERABLE);
    ck_assert_ptr_eq(join(t), (void *)ENOTRECOVERABLE);
    ck_assert_uint_lt(now_ns() - t0, PROMPT_MS * MS);
    seg_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cancellation                                                       */
/* ------------------------------------------------------------------ */

/* A thread blocked in a shared pop (`_i` 0..3: pop, pop_for, pop_until,
 * pop_many; 4: pop_batch with a min) is cancelled: join says
 * PTHREAD_CANCELED, and the queue works, a second waiter still woken. */
START_TEST(cancel_shared_pop)
{
    struct seg s = seg_new(4, 8, false);
    struct call c = {.q = s.q, .kind = (enum call_kind)(_i < 4 ? _i : POP), .n = 4};
    struct batch_call b = {.q = s.q, .min = 3, .max = 4};
    pthread_t t, other;
    if (_i < 4)
        start(&t, call_thread, &c);
    else
        start(&t, pop_batch_thread, &b);
    await_pop_waits(s.q, 1);
    struct call o = {.q = s.q, .kind = POP};
    start(&other, call_thread, &o);
    await_pop_waits(s.q, 2);
    ck_assert_int_eq(pthread_cancel(t), 0);
    ck_assert_ptr_eq(join(t), PTHREAD_CANCELED);
    push_now(s.q, 42);
    ck_assert_ptr_eq(join(other), (void *)0);
    ck_assert_uint_eq(o.buf[0], 42);
    ck_assert_uint_eq(pcq_size(s.q), 0);
    works_both_ways(s.q);
    seg_free(&s);
}
END_TEST

/* Whether process `pid` sleeps in a system call (state S in
 * /proc/PID/stat): for a child that only waits in a queue, in its futex. */
static bool sleeping_in_kernel(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    return p != NULL && p[1] == ' ' && p[2] == 'S';
}

/* A waiter killed in its sleep (pop side: `_i` 0; push side: 1) is taken
 * out of the side's count of sleepers once wake-ups keep waking nobody:
 * else every move of the other side would pay a futex wake for it, for
 * the rest of the queue's life. */
START_TEST(dead_sleeper_reaped)
{
    SKIP_UNDER_VALGRIND(VG_ROBUST);
    const bool pops = _i == 0;
    const int side = pops ? 1 : 0;
    struct seg s = seg_new(4, 8, true);
    if (!pops)
        for (uint64_t v = 0; v < 4; v++)
            push_now(s.q, v);
    const pid_t pid = fork_child();
    if (pid == 0) {
        uint64_t v = 9;
        (void)(pops ? pcq_pop(s.q, &v) : pcq_push(s.q, &v));
        _exit(0);
    }
    /* Killed only once it counts as asleep and sleeps in the kernel, so
     * that the count is what must come down (polled: the child's sleep is
     * the event). */
    const uint64_t t0 = now_ns();
    while (pcq__test_waiters(s.q, side) == 0 || !sleeping_in_kernel(pid)) {
        ck_assert_msg(now_ns() - t0 < PROMPT_MS * MS, "the child never slept");
        sched_yield();
    }
    kill_child(pid);
    ck_assert_uint_eq(pcq__test_waiters(s.q, side), 1);
    /* The other side moves: its wake-ups find nobody, and the dead one
     * is taken out. */
    uint64_t v = 0;
    for (int i = 0; i < 4 * 64; i++) {
        if (pops) {
            push_now(s.q, v);
            ck_assert_uint_eq(pop_now(s.q), v++);
        } else {
            ck_assert_uint_eq(pop_now(s.q), v++ % 4);
            push_now(s.q, (v - 1) % 4);
        }
    }
    ck_assert_uint_eq(pcq__test_waiters(s.q, side), 0);
    for (int i = 0; !pops && i < 4; i++)
        (void)pop_now(s.q); /* empty again, for the check below */
    works_both_ways(s.q);
    seg_free(&s);
}
END_TEST

Suite *suite_shared(void)
{
    Suite *s = suite_create("shared");
    TCase *tc = tcase_create("shared");
    tcase_add_unchecked_fixture(tc, NULL, remove_stale_objects);
    tcase_add_test(tc, size_zero_overflow_and_enough);
    tcase_add_test(tc, init_exact_length);
    tcase_add_test(tc, init_einval_eoverflow);
    tcase_add_test(tc, init_attach_enomem);
    tcase_add_test(tc, attach_einval_eproto);
    tcase_add_test(tc, attach_every_short_length);
    tcase_add_test(tc, attach_bad_header_eproto);
    tcase_add_test(tc, attach_other_elem_size);
    tcase_add_test(tc, push_pop_try_fifo);
    tcase_add_test(tc, timed_calls);
    tcase_add_test(tc, batch_calls);
    tcase_add_test(tc, pop_batch_min);
    tcase_add_test(tc, close_drains_then_epipe);
    tcase_add_test(tc, abort_ecanceled_drain);
    tcase_add_test(tc, peek_size_stats_getters);
    tcase_add_test(tc, set_capacity_within_ring);
    tcase_add_test(tc, pollfd_enotsup);
    tcase_add_test(tc, destroy_is_detach);
    tcase_add_loop_test(tc, two_mappings_threads, 0, 2);
    tcase_add_test(tc, fork_producer_consumer);
    tcase_add_test(tc, fork_blocking_waits);
    tcase_add_test(tc, shm_invalid_names);
    tcase_add_test(tc, shm_create_open_unlink);
    tcase_add_test(tc, shm_mode_exact);
    tcase_add_test(tc, shm_symlink_not_followed);
    tcase_add_test(tc, shm_short_and_garbage);
    tcase_add_test(tc, shm_eacces);
    tcase_add_test(tc, kill_push_copied);
    tcase_add_test(tc, kill_pop_copied);
    tcase_add_test(tc, kill_push_committed);
    tcase_add_test(tc, kill_push_committed_full);
    tcase_add_test(tc, kill_pop_committed);
    tcase_add_loop_test(tc, kill_holding_both, 0, K_SET_CAPACITY - K_STATS + 1);
    tcase_add_loop_test(tc, kill_blocked_waiter, 0, 2);
    tcase_add_loop_test(tc, dead_sleeper_reaped, 0, 2);
    tcase_add_loop_test(tc, scribble_every_call, 0, 2);
    tcase_add_loop_test(tc, scribble_first_call, 0, 2 * C_CALLS);
    tcase_add_loop_test(tc, scribble_wakes_blocked_pop, 0, 2);
    tcase_add_loop_test(tc, cancel_shared_pop, 0, 5);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
