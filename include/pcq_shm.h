/*
 * pcq_shm.h — a pcq queue shared between processes, in shared memory.
 *
 * A shared queue lives in memory that several processes map (a POSIX
 * shared-memory object from pcq_shm_create/pcq_shm_open, or any mapping
 * the caller sets up and passes to pcq_shared_init/pcq_shared_attach).
 * Each process holds its own handle (a pcq_t *) to it, and every call of
 * pcq.h works on that handle with the same contract as on an in-process
 * queue, between any mix of threads and processes, except:
 *  - pcq_pollfd returns ENOTSUP (a descriptor belongs to one process);
 *  - pcq_set_capacity returns ENOTSUP for a capacity above the one the
 *    memory was laid out for (a shared ring cannot grow past its segment);
 *    any capacity up to that one works;
 *  - pcq_destroy on a shared handle is pcq_shared_detach (or pcq_shm_close
 *    for a handle from pcq_shm_create/pcq_shm_open): it frees this
 *    process's handle, and the queue lives on;
 *  - every call may also return ENOTRECOVERABLE (see "Robustness").
 *
 * The memory holds no pointers, only offsets, so each process may map it
 * at a different address. It starts with a magic number, a layout version
 * and the sizes; attaching refuses anything else (EPROTO) and never reads
 * or writes outside the length it is given.
 *
 * Robustness. The two locks are process-shared robust mutexes: when a
 * process dies holding one, the next locker repairs the side it owned
 * (its position is recomputed from its committed count), counts a recovery
 * (pcq_shared_recoveries) and carries on; the caller sees an ordinary
 * result. Indices are committed only after the copy: the element of a push
 * whose process died before the push committed is not delivered, and one
 * that died after its commit (before the push returned) is delivered whole,
 * once; the element of a pop that had not committed stays for others; for
 * calls that
 * returned, exactly-once holds, and a killed consumer loses at most the
 * elements its own committed pop took. Waiting does not use condition
 * variables (a process killed while waiting on a process-shared one can
 * hang a later broadcast: glibc bug 21422) but a futex on a sequence word
 * in the shared memory, with waits bounded to PCQ_SHARED_NAP_MS so that
 * what a killed waiter leaves behind is seen again within that time. A
 * waiter killed in its sleep is still counted as one for a while: once the
 * other side's wake-ups have woken nobody 64 times in a row, the sleepers
 * whose process is gone (and reaped by its parent: a zombie still exists)
 * are taken out, so the other side stops paying a wake-up system call per
 * move. The first 16 sleepers of each side are listed for this; more sleep
 * unlisted, and one of those killed keeps that cost for good.
 * Memory found corrupt under a lock (indices out of range) makes every call
 * return ENOTRECOVERABLE: never a crash, never an access outside the
 * segment.
 *
 * Cancellation: a thread waiting in a shared queue is cancellable as in an
 * in-process one.
 *
 * Linux only (futex, robust mutexes); elsewhere the calls return ENOTSUP.
 *
 * Conventions are those of pcq.h: 0 or a positive errno value, never -1.
 */
#ifndef PCQ_SHM_H
#define PCQ_SHM_H

#include <sys/types.h>

#include "pcq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest a shared queue's waiter sleeps before it looks again. */
#define PCQ_SHARED_NAP_MS 50

/*
 * Bytes a shared queue of `capacity` elements of `elem_size` bytes needs,
 * header included. 0 when capacity or elem_size is 0, or on overflow.
 */
PCQ_API size_t pcq_shared_size(size_t capacity, size_t elem_size);

/*
 * Lay out a new shared queue in `mem` (`len` bytes, suitably aligned: 64
 * bytes; a mapping's start is), and return this process's handle to it in
 * *out. Other processes attach with pcq_shared_attach. Does not block.
 *  0          *out is the handle
 *  EINVAL     mem or out is NULL, mem is not 64-byte aligned, capacity or
 *             elem_size is 0, or len is below pcq_shared_size(...)
 *  EOVERFLOW  the sizes overflow (pcq_shared_size returned 0)
 *  ENOMEM     no memory for the handle (the shared memory is untouched)
 *  ENOTSUP    not supported on this system
 */
PCQ_API int pcq_shared_init(void *mem, size_t len, size_t capacity, size_t elem_size,
                            pcq_t **out);

/*
 * Attach to a shared queue laid out by pcq_shared_init (in this process or
 * another, at this address or another). Checks the header against `len`
 * and reads nothing outside it. Does not block.
 *  0          *out is the handle
 *  EINVAL     mem or out is NULL, mem is not 64-byte aligned, or len is
 *             shorter than the header or than the size the header declares
 *  EPROTO     no pcq queue there: a wrong magic number, layout version, or
 *             sizes that do not fit together
 *  ENOMEM     no memory for the handle
 *  ENOTSUP    not supported on this system
 */
PCQ_API int pcq_shared_attach(void *mem, size_t len, pcq_t **out);

/* Free this process's handle to a shared queue; the memory and the queue
 * in it are untouched. NULL is a no-op. No other thread of this process
 * may be using the handle. */
PCQ_API void pcq_shared_detach(pcq_t *q);

/*
 * How many times a lock of the queue was found held by a dead process and
 * its side repaired, since the queue was laid out. 0 for an in-process
 * queue, and for NULL. (Not in pcq_stats_t: that structure's size is part
 * of the ABI.)
 */
PCQ_API uint64_t pcq_shared_recoveries(const pcq_t *q);

/*
 * Create a POSIX shared-memory object named `name` holding a new queue,
 * map it, and return this process's handle in *out. `name` is as for
 * shm_open: a '/' then 1 to 253 characters, none of them '/', and not
 * "." or "..". The object is created with O_CREAT | O_EXCL (never an
 * existing one, never through a symbolic link) and gets exactly the
 * permission bits `mode` (the umask does not narrow them; 0600, the owner
 * only, is the sensible default). Does not block.
 *  0          *out is the handle
 *  EINVAL     name or out is NULL, name is not a valid name, capacity or
 *             elem_size is 0
 *  EEXIST     an object of that name exists
 *  EACCES     not permitted to create it
 *  EOVERFLOW  the sizes overflow
 *  EMFILE, ENFILE, ENOMEM, ENOSPC
 *             out of descriptors or memory (nothing is left behind)
 *  ENOTSUP    not supported on this system
 */
PCQ_API int pcq_shm_create(const char *name, size_t capacity, size_t elem_size, mode_t mode,
                           pcq_t **out);

/*
 * Open and map the shared queue named `name` (made by pcq_shm_create, in
 * this process or another), and return this process's handle in *out.
 * Does not block.
 *  0          *out is the handle
 *  EINVAL     name or out is NULL, name is not a valid name, or the object
 *             is too short to hold a queue's header (as pcq_shared_attach
 *             with a short len; an object still being created by
 *             pcq_shm_create in another process looks so, or EPROTO)
 *  ENOENT     no object of that name
 *  EACCES     not permitted to open it for reading and writing, or the
 *             name is a symbolic link (never followed)
 *  EPROTO     the object does not hold a pcq queue (as pcq_shared_attach)
 *  EMFILE, ENFILE, ENOMEM
 *             out of descriptors or memory
 *  ENOTSUP    not supported on this system
 */
PCQ_API int pcq_shm_open(const char *name, pcq_t **out);

/*
 * Remove the name of a shared queue; processes that have it mapped keep
 * using it, and its memory goes when the last one unmaps it.
 *  0        removed
 *  EINVAL   name is NULL or not a valid name
 *  ENOENT   no object of that name
 *  EACCES   not permitted
 */
PCQ_API int pcq_shm_unlink(const char *name);

/* Unmap a queue opened by pcq_shm_create or pcq_shm_open and free this
 * process's handle; the queue lives on (see pcq_shm_unlink). NULL is a
 * no-op. */
PCQ_API void pcq_shm_close(pcq_t *q);

#ifdef __cplusplus
}
#endif

#endif /* PCQ_SHM_H */
