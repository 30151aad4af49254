/*
 * machine.c — the one line that says where a run was made: CPU model,
 * CPUs online, kernel, load at start, date, compiler and pcq's version.
 * It heads both the printed report and the CSV, so that a figure is never
 * read apart from the machine that gave it.
 */
#include "harness.h"

#include <string.h>
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

