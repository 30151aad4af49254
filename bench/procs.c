/*
 * procs.c — process runs (--processes): every worker of a run in a process
 * of its own, so that producer and consumer (pinger and ponger) share only
 * the queue, as two programs would.
 *
 * The run, its workers and the round trips sit in one anonymous shared
 * mapping made before the fork (bq_shared_alloc), so the loops of loops.h
 * run unchanged: they start at the run's process-shared barrier, and write
 * their counts, sums, times and round trips where the parent reads them
 * after the last child is gone. Each child first turns the queue into its
 * own handle (the adapter's in_child: a pcq handle attached in that
 * process, a descriptor pair with the unused end closed), then runs its
 * loop and exits with _exit (no atexit handler, no stdio flush: the parent
 * owns those).
 *
 * The workers of a run form a process group of their own, so that the
 * parent waits for them alone (never reaping the hog, say). It sleeps in
 * waitpid until every child is gone; a child that
 * fails (its queue call failed, in_child failed, or it died of a signal)
 * makes the parent kill the others at once, since its partner may wait
 * for it forever, and the run fails. An alarm bounds the wait by the hang
 * limit, as for threads. Children ask the kernel to kill them when the
 * parent dies, so that an interrupted benchmark leaves none behind.
 *
 * _GNU_SOURCE: MAP_ANONYMOUS in older headers.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

void *bq_shared_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "pcq-bench: cannot map %zu shared bytes: %s\n", bytes, strerror(errno));
        exit(1);
    }
    return p; /* zeroed, and touched by whoever fills it before any clock starts */
}

void bq_shared_free(void *p, size_t bytes)
{
    if (p != NULL)
        munmap(p, bytes);
}

bool bq_tie_to_parent(pid_t parent)
{
#ifdef __linux__
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL);
    return getppid() == parent; /* else it died before the request took */
#else
    (void)parent;
    return true;
#endif
}

/* A worker's process: its handles, its loop, and the verdict as the exit
 * status (1: the run failed here; the parent stops the others). */
static _Noreturn void child(pid_t parent, pid_t group, const struct bq_run *r,
                            struct bq_worker *w, bq_loop_fn fn, unsigned use)
{
    if (!bq_tie_to_parent(parent))
        _exit(1);
    /* The parent's handlers stop its hog; a worker just dies of these. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    (void)setpgid(0, group); /* the parent does the same: whichever runs first */
    /* The buffer's pages are the parent's until written: copy them now,
     * not at the first element inside the measured loop. */
    memset(w->buf, 0x5a, w->buf_bytes);
    const struct bq_ops *o = r->ops;
    w->q = o->in_child(r->q, use & BQ_USE_WRITES, use & BQ_USE_READS);
    if (r->q_back != NULL)
        w->q_back = o->in_child(r->q_back, use & BQ_USE_BACK_WRITES, use & BQ_USE_BACK_READS);
    if (w->q == NULL || (r->q_back != NULL && w->q_back == NULL))
        _exit(1);
    fn(w);
    _exit(w->status == BQ_FAILED ? 1 : 0);
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

static void kill_all(const pid_t *pid, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (pid[i] > 0)
            kill(pid[i], SIGKILL);
}

/* Reap every child still in pid[] (after kill_all). */
static void reap_all(pid_t *pid, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (pid[i] > 0) {
            while (waitpid(pid[i], NULL, 0) < 0 && errno == EINTR)
                ;
            pid[i] = 0;
        }
}

int bq_run_processes(struct bq_run *r, struct bq_worker *w, bq_loop_fn *fn, const unsigned *use,
                     const struct bq_limits *lim, const char *label)
{
    const unsigned n = r->workers;
    pid_t *pid = calloc(n, sizeof *pid);
    if (pid == NULL) {
        fprintf(stderr, "pcq-bench: out of memory\n");
        exit(1);
    }
    const pid_t parent = getpid();
    pid_t group = 0; /* the first worker's pid, once it is forked */
    fflush(NULL); /* nothing buffered may be written twice */
    for (unsigned i = 0; i < n; i++) {
        pid[i] = fork();
        if (pid[i] == 0)
            child(parent, group, r, &w[i], fn[i], use[i]);
        if (pid[i] > 0) {
            if (group == 0)
                group = pid[i];
            (void)setpgid(pid[i], group);
        }
        if (pid[i] < 0) {
            fprintf(stderr, "pcq-bench: %s: fork: %s\n", label, strerror(errno));
            pid[i] = 0;
            kill_all(pid, n);
            reap_all(pid, n);
            free(pid);
            return -1;
        }
    }
    if (r->ops->in_parent != NULL) {
        r->ops->in_parent(r->q);
        if (r->q_back != NULL)
            r->ops->in_parent(r->q_back);
    }

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    alarmed = 0;
    alarm((unsigned)ceil(lim->hang_limit_s));
    unsigned left = n;
    int ret = 0;
    while (left > 0) {
        int st;
        pid_t p = waitpid(-group, &st, 0);
        if (p < 0 && errno == EINTR && alarmed) {
            kill_all(pid, n);
            reap_all(pid, n);
            fprintf(stderr,
                    "\npcq-bench: FATAL: %s still running %.0f s after its start: a queue that "
                    "never finishes is a bug (or the machine is far too busy)\n",
                    label, lim->hang_limit_s);
            exit(4);
        }
        if (p < 0) {
            if (errno == EINTR)
                continue;
            pcq__die("waitpid", errno, __FILE__, __LINE__);
        }
        unsigned k = 0;
        while (k < n && pid[k] != p)
            k++;
        if (k == n)
            continue;
        pid[k] = 0;
        left--;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        if (ret == 0) {
            if (WIFSIGNALED(st))
                fprintf(stderr, "\npcq-bench: %s: worker %u's process died of signal %d\n",
                        label, k, WTERMSIG(st));
            else
                fprintf(stderr, "\npcq-bench: %s: worker %u's process failed\n", label, k);
        }
        ret = -1;
        kill_all(pid, n); /* its partner may wait for it forever */
    }
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    free(pid);
    return ret;
}
