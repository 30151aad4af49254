/*
 * annotate.h — telling Helgrind and DRD about C11 atomics. Private.
 *
 * Valgrind's thread checkers model pthread mutexes and condition variables
 * but not C11 atomics: to them an atomic store and a load in two threads
 * are a race, and an index published with a release store orders nothing.
 * So every variable the library reads outside a lock is
 *  - declared as an atomic to the tools (pcq__atomic_for_tools, around
 *    its lifetime): they stop checking accesses to it, since every access is
 *    atomic; and
 *  - where it publishes other memory (a ring index publishing the slots
 *    behind it), paired with happens-before requests: pcq__publish before
 *    the release store, pcq__observe after the acquire load that saw it.
 * TSan models C11 atomics itself, in code built with -fsanitize=thread.
 * A program built with it but linked with a libpcq built without it (the
 * installed libpcq.so) has TSan see the slots copied by memcpy and not the
 * atomics that order them: for that case the same publish and observe
 * call TSan's own __tsan_release/__tsan_acquire, found as weak symbols
 * (the TSan runtime exports them; elsewhere they are absent and unused).
 *
 * The requests are a few no-op instructions outside Valgrind, and nothing
 * at all where the Valgrind headers are absent at build time; callers run
 * them only when pcq__under_tools() said so when the queue was made.
 */
#ifndef PCQ_ANNOTATE_H
#define PCQ_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_include) && !defined(PCQ_NO_VALGRIND_H)
#if __has_include(<valgrind/helgrind.h>) && __has_include(<valgrind/drd.h>)
#include <valgrind/helgrind.h>
#include <valgrind/drd.h> /* after helgrind.h: it redefines the ANNOTATE_ macros */
#define PCQ_HAVE_VALGRIND_H 1
#endif
#endif

/* This file built with -fsanitize=thread: TSan sees the atomics itself. */
#if defined(__SANITIZE_THREAD__)
#define PCQ_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PCQ_TSAN_BUILD 1
#endif
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(PCQ_TSAN_BUILD) &&                  \
    defined(__ELF__)
/* TSan's interface, present only when the program runs with TSan. */
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));
static inline bool pcq__tsan_runtime(void) { return __tsan_release != NULL; }
static inline void pcq__tsan_release(const volatile void *addr)
{
    if (__tsan_release != NULL)
        __tsan_release((void *)(uintptr_t)addr);
}
static inline void pcq__tsan_acquire(const volatile void *addr)
{
    if (__tsan_acquire != NULL)
        __tsan_acquire((void *)(uintptr_t)addr);
}
#else
static inline bool pcq__tsan_runtime(void) { return false; }
static inline void pcq__tsan_release(const volatile void *addr) { (void)addr; }
static inline void pcq__tsan_acquire(const volatile void *addr) { (void)addr; }
#endif

#ifdef PCQ_HAVE_VALGRIND_H
/* Whether the program runs under a Valgrind tool, or with a TSan runtime
 * that cannot see this file's atomics: the requests below are needed only
 * then, and a caller may skip them (one branch) otherwise. */
static inline bool pcq__under_tools(void)
{
    return RUNNING_ON_VALGRIND != 0 || pcq__tsan_runtime();
}

static inline void pcq__publish(const volatile void *addr)
{
    /* Helgrind: a send on the user synchronisation object at addr. */
    VALGRIND_DO_CLIENT_REQUEST_STMT(_VG_USERREQ__HG_USERSO_SEND_PRE, addr, 0, 0, 0, 0);
    /* DRD: the same arc. */
    VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_ANNOTATE_HAPPENS_BEFORE, addr, 0, 0, 0,
                                    0);
    pcq__tsan_release(addr);
}

static inline void pcq__observe(const volatile void *addr)
{
    VALGRIND_DO_CLIENT_REQUEST_STMT(_VG_USERREQ__HG_USERSO_RECV_POST, addr, 0, 0, 0, 0);
    VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_ANNOTATE_HAPPENS_AFTER, addr, 0, 0, 0, 0);
    pcq__tsan_acquire(addr);
}

/* The object at addr is only ever accessed atomically (on), or its memory
 * is about to be freed and may be reused for anything (off). */
static inline void pcq__atomic_for_tools(const volatile void *addr, size_t size, bool on)
{
    if (on) {
        VALGRIND_HG_DISABLE_CHECKING(addr, size);
        VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_START_SUPPRESSION, addr, size, 0, 0,
                                        0);
    } else {
        VALGRIND_HG_ENABLE_CHECKING(addr, size);
        VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_FINISH_SUPPRESSION, addr, size, 0, 0,
                                        0);
        /* Helgrind: forget the arcs published through it before the memory
         * goes (DRD drops its own when the memory is freed). */
        VALGRIND_DO_CLIENT_REQUEST_STMT(_VG_USERREQ__HG_USERSO_FORGET_ALL, addr, 0, 0, 0, 0);
    }
}
#else
static inline bool pcq__under_tools(void) { return pcq__tsan_runtime(); }
static inline void pcq__publish(const volatile void *addr) { pcq__tsan_release(addr); }
static inline void pcq__observe(const volatile void *addr) { pcq__tsan_acquire(addr); }
static inline void pcq__atomic_for_tools(const volatile void *addr, size_t size, bool on)
{
    (void)addr;
    (void)size;
    (void)on;
}
#endif

#endif /* PCQ_ANNOTATE_H */
