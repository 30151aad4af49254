/*
 * rendezvous.c — pcq-fib's two processes meeting on a named shared queue
 * (see rendezvous.h).
 *
 * Design
 * ------
 * Who creates: the producer. It makes the queue with pcq_shm_create, or,
 * when the name is taken, looks at the queue there: a fresh one (open,
 * nothing ever pushed) it uses; one left by an earlier run it replaces.
 *
 * Who removes the name: the consumer, as soon as it has taken the queue.
 * From then on neither process needs the name (both have the queue
 * mapped), so a run that ends in any way, even by SIGKILL, leaves no name
 * behind once the consumer has come; and the next run's producer, finding
 * no name, simply creates one.
 *
 * Liveness: the producer holds an open-file-description write lock
 * (F_OFD_SETLK) on the queue's object from before its first push until it
 * exits; the kernel drops it when the process dies, however it dies. The
 * consumer takes a queue only while that lock is held (F_OFD_GETLK tests it
 * without taking anything), so it never takes a queue whose producer is
 * gone: a killed run's queue stays where it is until the next producer
 * replaces it. Starting either process first therefore works: a consumer
 * that comes first waits for a live producer; a producer that comes first
 * makes the queue and, having pushed every term, waits until a consumer
 * has taken it (the name is gone) before it exits, as a writer opening a
 * FIFO waits for a reader, so that a consumer never finds a finished run
 * with no one holding it.
 *
 * Replacing a queue left behind: the name first (whoever looks from then
 * on finds the new queue), then pcq_abort on the old one (a consumer still
 * on it stops with ECANCELED rather than waiting for terms that will not
 * come). A producer deciding this holds no lock on the old queue, so a
 * consumer never mistakes it for that queue's live producer.
 *
 * Each look pairs a descriptor with the pcq handle of the same object (a
 * second open of the name must find the object the first did), so that a
 * lock seen, or a name removed, is the queue's and not a newer one's.
 *
 * Not covered: a process that dies mid-run leaves the other waiting in the
 * queue (as a pipe without SIGPIPE would): interrupt it, and the next run
 * replaces the queue. One producer process and one consumer process per
 * name and run.
 */
#define _GNU_SOURCE /* F_OFD_SETLK, F_OFD_GETLK */
#include "rendezvous.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "numbers.h"
#include "pcq_shm.h"

/* Between two looks at the name, in ns. */
#define LOOK_NS 10000000L
/* Looks at an object that is not yet a queue before giving up (a second):
 * one being created is a queue well within that. */
#define PATIENCE_LOOKS 100u
/* Queues left behind that one producer replaces before giving up. */
#define REPLACE_MAX 8u

static void nap(void)
{
    struct timespec ts = {0, LOOK_NS};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A descriptor on the object `name` names now, or -1 with errno set. */
static int object_fd(const char *name, int flags)
{
    return shm_open(name, flags | O_NOFOLLOW | O_CLOEXEC, 0);
}

/* errno of a failed object_fd, as pcq_shm_open says it. */
static int open_errno(void)
{
    return errno == ELOOP ? EACCES : errno;
}

static bool same_object(int a, int b)
{
    struct stat x, y;
    return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}

/* fcntl's lock of the whole object. */
static struct flock whole(short type)
{
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = type;
    l.l_whence = SEEK_SET;
    return l;
}

/* Mark fd's object as produced into by this live process. */
static int take(int fd)
{
    struct flock l = whole(F_WRLCK);
    if (fcntl(fd, F_OFD_SETLK, &l) == 0)
        return 0;
    return errno == EAGAIN || errno == EACCES ? EBUSY : errno;
}

/* Whether a live producer holds fd's object (another description's lock). */
static bool held(int fd)
{
    struct flock l = whole(F_RDLCK);
    return fcntl(fd, F_OFD_GETLK, &l) == 0 && l.l_type != F_UNLCK;
}

/*
 * Open the queue at `name` and a descriptor (opened with `flags`) on the
 * same object: ENOENT, EAGAIN when the name moved between the two opens,
 * or what pcq_shm_open returned.
 */
static int open_pair(const char *name, int flags, pcq_t **q, int *fd)
{
    const int a = object_fd(name, flags);
    if (a < 0)
        return open_errno();
    pcq_t *h;
    int rc = pcq_shm_open(name, &h);
    if (rc != 0) {
        close(a);
        return rc;
    }
    const int b = object_fd(name, O_RDONLY);
    const bool same = b >= 0 && same_object(a, b);
    if (b >= 0)
        close(b);
    if (!same) {
        pcq_shm_close(h);
        close(a);
        return EAGAIN;
    }
    if (pcq_elem_size(h) != sizeof(fib_term_t)) {
        pcq_shm_close(h);
        close(a);
        return EMSGSIZE;
    }
    *q = h;
    *fd = a;
    return 0;
}

/* A look that found an object not (yet) holding a queue: whether to look
 * again, or to give up with EPROTO. */
static bool patient(int rc, unsigned *looks)
{
    /* EINVAL: the caller checked the name, so the object is too short. */
    return (rc != EPROTO && rc != EINVAL) || ++*looks <= PATIENCE_LOOKS;
}

int fib_shm_producer(const char *name, size_t capacity, pcq_t **q, fib_shm_hold_t *hold)
{
    hold->fd = -1;
    unsigned replaced = 0, looks = 0;
    while (replaced < REPLACE_MAX) {
        pcq_t *h;
        int fd, rc = pcq_shm_create(name, capacity, sizeof(fib_term_t), 0600, &h);
        if (rc == 0) {
            fd = object_fd(name, O_RDWR);
            rc = fd < 0 ? open_errno() : take(fd);
            if (rc != 0) {
                if (fd >= 0)
                    close(fd);
                pcq_shm_close(h);
                return rc;
            }
            *q = h;
            hold->fd = fd;
            return 0;
        }
        if (rc != EEXIST)
            return rc;
        rc = open_pair(name, O_RDWR, &h, &fd);
        if (rc == ENOENT || rc == EAGAIN) {
            replaced++; /* gone or moved under us: look again, a bounded number of times */
            continue;
        }
        if (rc == EPROTO || rc == EINVAL) {
            if (!patient(rc, &looks))
                return EPROTO;
            nap();
            continue;
        }
        if (rc != 0)
            return rc;
        if (held(fd)) {
            rc = EBUSY;
        } else {
            pcq_stats_t st;
            pcq_stats(h, &st);
            if (!pcq_is_closed(h) && st.pushed == 0 && (rc = take(fd)) == 0) {
                *q = h; /* fresh: ours, with its own capacity */
                hold->fd = fd;
                return 0;
            }
        }
        if (rc != 0) { /* EBUSY: a live producer has it */
            pcq_shm_close(h);
            close(fd);
            return rc;
        }
        /* Left by an earlier run: see "Replacing" at the top. */
        pcq_shm_unlink(name);
        pcq_abort(h);
        pcq_shm_close(h);
        close(fd);
        replaced++;
    }
    return EAGAIN;
}

void fib_shm_release(fib_shm_hold_t *hold)
{
    if (hold->fd >= 0)
        close(hold->fd); /* drops the lock: it belongs to this description */
    hold->fd = -1;
}

int fib_shm_wait_taken(const fib_shm_hold_t *hold, void (*waiting)(void))
{
    bool told = false;
    for (;;) {
        struct stat st;
        if (fstat(hold->fd, &st) != 0)
            return errno;
        if (st.st_nlink == 0)
            return 0;
        if (!told && waiting != NULL)
            waiting();
        told = true;
        nap();
    }
}

int fib_shm_consumer(const char *name, void (*waiting)(const char *name), pcq_t **q)
{
    bool told = false;
    unsigned looks = 0;
    for (;;) {
        pcq_t *h;
        int fd, rc = open_pair(name, O_RDONLY, &h, &fd);
        if (rc == 0) {
            /* The lock, then the state: a queue is aborted only once no
             * live producer holds it, or by its own (failing) producer. */
            fib_term_t probe;
            if (held(fd) && pcq_peek(h, &probe) != ECANCELED) {
                /* The producer has its queue: the name is done with. */
                const int now = object_fd(name, O_RDONLY);
                if (now >= 0 && same_object(fd, now))
                    pcq_shm_unlink(name);
                if (now >= 0)
                    close(now);
                close(fd);
                *q = h;
                return 0;
            }
            pcq_shm_close(h);
            close(fd);
        } else if (!patient(rc, &looks)) {
            return EPROTO;
        } else if (rc != ENOENT && rc != EAGAIN && rc != EPROTO && rc != EINVAL) {
            return rc;
        }
        if (!told && waiting != NULL)
            waiting(name);
        told = true;
        nap();
    }
}
