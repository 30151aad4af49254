/*
 * hog.c — a busy machine on demand (--hog, and the quick matrix's second
 * half): a child process that spins in for(;;), pinned to the last CPU this
 * process may run on, so that the queues are measured while one CPU is
 * taken, as on a machine that does other work.
 *
 * The hog must never outlive the benchmark: bq_hog_stop kills it by its pid
 * and reaps it; an atexit handler does the same on every exit() path
 * (usage errors, a failed verification, a hang); SIGINT, SIGTERM and SIGHUP
 * kill it before the benchmark dies of them; and on Linux the child asks
 * the kernel to kill it when its parent dies (abort(), SIGKILL:
 * bq_tie_to_parent).
 *
 * _GNU_SOURCE: sched_setaffinity and the CPU_* macros.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* The running hog's pid (0: none); read by the signal handler. */
static volatile sig_atomic_t hog_pid;
static int hog_cpu = -1;
static uint64_t hog_t0;

static void on_signal(int sig)
{
    pid_t pid = (pid_t)hog_pid;
    if (pid > 0 && kill(pid, SIGKILL) == 0)
        waitpid(pid, NULL, 0); /* reaped here: no zombie left for init */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void at_exit(void)
{
    bq_hog_stop(NULL);
}

/* The last CPU this process may run on, or -1. */
static int last_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--)
        if (CPU_ISSET(cpu, &set))
            return cpu;
    return -1;
}

int bq_hog_start(long *pid_out, int *cpu_out)
{
    static bool handlers;
    if (hog_pid > 0)
        return EBUSY;
    if (!handlers) {
        if (atexit(at_exit) != 0)
            return ENOMEM;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGHUP, on_signal);
        handlers = true;
    }
    const pid_t parent = getpid();
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0) {
        if (!bq_tie_to_parent(parent))
            _exit(0);
        for (;;) {
        }
    }
    hog_pid = (sig_atomic_t)pid;
    hog_t0 = pcq__now_ns();
    hog_cpu = last_cpu();
    if (hog_cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(hog_cpu, &one);
        if (sched_setaffinity(pid, sizeof one, &one) != 0)
            hog_cpu = -1;
    }
    *pid_out = (long)pid;
    *cpu_out = hog_cpu;
    return 0;
}

void bq_hog_stop(struct bq_hog_report *rep)
{
    pid_t pid = (pid_t)hog_pid;
    if (rep != NULL) {
        rep->pid = (long)pid;
        rep->cpu = hog_cpu;
        rep->wall_s = rep->cpu_s = 0;
    }
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    struct rusage ru;
    int status;
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    hog_pid = 0;
    if (rep != NULL) {
        rep->wall_s = (double)(pcq__now_ns() - hog_t0) / 1e9;
        rep->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
}
