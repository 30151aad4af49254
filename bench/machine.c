/*
 * machine.c — the one line that says where a run was made: CPU model,
 * CPUs online, kernel, load at start, date, compiler and pcq's version.
 * It heads both the printed report and the CSV, so that a figure is never
 * read apart from the machine that gave it. And what else ran: the CPU time
 * all processes used while the benchmark ran, less its own, so that an
 * "idle" half measured beside someone else's work says so.
 */
#include "harness.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "pcq.h"

/* The first "model name" of /proc/cpuinfo (Linux), or "unknown CPU". */
static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v != NULL) {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
            }
            break;
        }
    }
    fclose(f);
}

const char *bq_machine(void)
{
    static char m[512];
    if (m[0] != '\0')
        return m;
    char cpu[128], load[64] = "?";
    cpu_model(cpu, sizeof cpu);
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fgets(load, sizeof load, f) != NULL)
            load[strcspn(load, " ")] = '\0'; /* the 1-minute figure */
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) != 0)
        strcpy(u.sysname, "?"), strcpy(u.release, "?");
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    snprintf(m, sizeof m, "%s, %ld CPUs online, %s %s, load %s at start, %s, compiler %s, pcq %s",
             cpu, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, load, date,
#if defined(__clang__)
             "clang " __clang_version__,
#elif defined(__GNUC__)
             "gcc " __VERSION__,
#else
             "?",
#endif
             pcq_version());
    return m;
}


/* ---- who else used the CPUs ------------------------------------------ */

/* Busy and stolen time of all CPUs (/proc/stat's first line), in seconds;
 * false where there is no /proc/stat. */
static bool machine_times(double *busy, double *steal)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return false;
    unsigned long long v[8] = {0};
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got != 8)
        return false;
    const double hz = (double)sysconf(_SC_CLK_TCK);
    /* user, nice, system, irq, softirq; idle and iowait are not busy */
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal = (double)v[7] / hz;
    return true;
}

static double rusage_s(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void bq_cpu_use_now(struct bq_cpu_use *u)
{
    u->t_ns = pcq__now_ns();
    u->ok = machine_times(&u->busy_s, &u->steal_s);
    /* this process, and its children once reaped (the hog) */
    u->self_s = rusage_s(RUSAGE_SELF) + rusage_s(RUSAGE_CHILDREN);
}

double bq_others_cpus(const struct bq_cpu_use *a, const struct bq_cpu_use *b, char *line,
                      size_t len)
{
    const double wall = (double)(b->t_ns - a->t_ns) / 1e9;
    if (!a->ok || !b->ok || wall <= 0) {
        snprintf(line, len, "(no /proc/stat: the load of other processes is unknown)");
        return 0;
    }
    double self = (b->self_s - a->self_s) / wall;
    double others = (b->busy_s - a->busy_s) / wall - self;
    double steal = (b->steal_s - a->steal_s) / wall;
    others = others < 0 ? 0 : others;
    snprintf(line, len,
             "over %.1f s, this benchmark (and its hog) used %.2f CPUs, other processes %.2f, "
             "the hypervisor stole %.2f, of %ld online",
             wall, self, others, steal, sysconf(_SC_NPROCESSORS_ONLN));
    return others + steal;
}
