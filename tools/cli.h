/*
 * cli.h — what the command-line tools under tools/ share: the one way
 * they refuse a bad command line. Header-only, so that each tool stays one
 * program built from its own directory.
 */
#ifndef PCQ_TOOLS_CLI_H
#define PCQ_TOOLS_CLI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif /* PCQ_TOOLS_CLI_H */
