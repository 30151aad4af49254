/*
 * cli.h — what the command-line tools under tools/ share: the one way
 * they refuse a bad command line, and the check of a shared queue's name
 * (pcq_shm.h). Header-only, so that each tool stays one program built
 * from its own directory.
 */
#ifndef PCQ_TOOLS_CLI_H
#define PCQ_TOOLS_CLI_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The exit status of a bad command line, in every tool. */
#define CLI_EXIT_USAGE 2

#if defined(__GNUC__) || defined(__clang__)
static inline _Noreturn void cli_bad_usage(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#endif

/* "PROG: message", a pointer to --help, and exit status CLI_EXIT_USAGE. */
static inline _Noreturn void cli_bad_usage(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    exit(CLI_EXIT_USAGE);
}

/* The characters a shared queue's name may have after its '/' (glibc
 * counts the terminating NUL against NAME_MAX). */
#define CLI_SHM_NAME_MAX (NAME_MAX - 2)

/*
 * What is wrong with `name` as a shared queue's name (pcq_shm_create's
 * rules, as shm_open takes it), in words for a message; NULL when nothing
 * is. The library says only EINVAL, and pcq_shm_open says it also of an
 * object too short to hold a queue: a tool checks the name first, so that
 * the user learns which it was.
 */
static inline const char *cli_shm_name_problem(const char *name)
{
    static char why[96];
    if (name[0] != '/')
        return "it must start with '/'";
    const size_t n = strlen(name + 1);
    if (n == 0)
        return "it needs at least one character after the '/'";
    if (n > CLI_SHM_NAME_MAX) {
        snprintf(why, sizeof why, "%zu characters after the '/', at most %d", n,
                 CLI_SHM_NAME_MAX);
        return why;
    }
    if (strchr(name + 1, '/') != NULL)
        return "no '/' may follow the first";
    if (strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
        return "'.' and '..' are not names";
    return NULL;
}

#endif /* PCQ_TOOLS_CLI_H */
