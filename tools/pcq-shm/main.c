/*
 * pcq-shm — make, look at and remove named shared pcq queues from the shell:
 *
 *   pcq-shm create [--capacity N] [--elem-size N] [--mode MODE] NAME
 *   pcq-shm stat NAME
 *   pcq-shm unlink NAME
 *
 * A thin command line over pcq_shm.h: create is pcq_shm_create, stat opens
 * the queue with pcq_shm_open and prints what pcq.h and pcq_shm.h say of
 * it, unlink is pcq_shm_unlink. The name is checked here before any call,
 * so that a bad one gets a message that says what is wrong with it rather
 * than the library's bare EINVAL (which pcq_shm_open also returns for an
 * object too short to be a queue). Exit status: see usage().
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "pcq.h"
#include "pcq_shm.h"

/* Exit statuses, each its own so that a script can tell them apart. */
enum {
    EXIT_FAILED = 1,   /* the call failed: exists, not permitted, out of resources */
    EXIT_USAGE = CLI_EXIT_USAGE, /* bad command line, or a name shm_open does not allow */
    EXIT_NO_QUEUE = 3, /* no object of that name */
    EXIT_NOT_PCQ = 4,  /* an object of that name, but no pcq queue in it */
};

#define DEFAULT_CAPACITY 1024u
#define DEFAULT_ELEM_SIZE 8u
#define DEFAULT_MODE 0600u

static const char *prog = "pcq-shm";

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: %s create [OPTION]... NAME\n"
        "       %s stat NAME\n"
        "       %s unlink NAME\n"
        "Make, look at and remove a pcq queue shared between processes, held in\n"
        "the POSIX shared-memory object NAME ('/' then 1 to %d characters, none\n"
        "of them '/'; on Linux it shows as /dev/shm/NAME without the '/').\n"
        "\n"
        "Commands:\n"
        "  create   make a new, empty queue (never an existing one: that is an\n"
        "           error)\n"
        "  stat     print the queue's capacity, size, element size, whether it\n"
        "           is closed, its counters and the recoveries from dead lock\n"
        "           holders, one 'key: value' line each\n"
        "  unlink   remove the name; processes that have the queue open keep\n"
        "           it until they let go\n"
        "\n"
        "Options of create:\n"
        "  -c, --capacity N    elements the queue holds (default %u)\n"
        "  -e, --elem-size N   bytes per element (default %u)\n"
        "  -m, --mode MODE     permission bits in octal, exactly as given\n"
        "                      (default %04o: the owner only)\n"
        "  -h, --help          this help\n"
        "\n"
        "Exit status: 0 done; 1 the call failed (the name exists, not\n"
        "permitted, out of resources); 2 a bad command line or name; 3 no\n"
        "queue of that name; 4 the object of that name holds no pcq queue.\n",
        prog, prog, prog, CLI_SHM_NAME_MAX, DEFAULT_CAPACITY, DEFAULT_ELEM_SIZE,
        DEFAULT_MODE);
}

/* Every refusal of the command line names the tool. */
#define bad_usage(...) cli_bad_usage(prog, __VA_ARGS__)

/* A number in `base` from 1 (0 too when zero_ok) to `hi`, or a usage error
 * naming the option. */
static unsigned long long parse_number(const char *opt, const char *s, int base, bool zero_ok,
                                       unsigned long long hi)
{
    const char *digits = base == 8 ? "01234567" : "0123456789";
    size_t n = strspn(s, digits);
    unsigned long long v = 0;
    errno = 0;
    if (n > 0 && s[n] == '\0')
        v = strtoull(s, NULL, base);
    if (n == 0 || s[n] != '\0' || errno == ERANGE || v > hi || (v == 0 && !zero_ok)) {
        if (base == 8)
            bad_usage("%s: expected an octal number from 0 to 0%llo, got '%s'", opt, hi, s);
        bad_usage("%s: expected a whole number of at least %d, got '%s'", opt, zero_ok ? 0 : 1,
                  s);
    }
    return v;
}

/* Say why a call on NAME failed, and return the exit status it means. */
static int failed(const char *what, const char *name, int rc)
{
    switch (rc) {
    case ENOENT:
        fprintf(stderr, "%s: %s: no such queue\n", prog, name);
        return EXIT_NO_QUEUE;
    case EPROTO:
    case EINVAL: /* pcq_shm_open: the name was checked, so the object is too short */
        fprintf(stderr, "%s: %s: not a pcq queue (or one still being created)\n", prog, name);
        return EXIT_NOT_PCQ;
    case EEXIST:
        fprintf(stderr, "%s: %s: exists already (remove it with '%s unlink %s')\n", prog, name,
                prog, name);
        return EXIT_FAILED;
    case EACCES:
        fprintf(stderr, "%s: %s: %s: permission denied (or the name is a symbolic link)\n",
                prog, what, name);
        return EXIT_FAILED;
    default:
        fprintf(stderr, "%s: %s %s: %s\n", prog, what, name, strerror(rc));
        return EXIT_FAILED;
    }
}

static int do_stat(const char *name)
{
    pcq_t *q;
    int rc = pcq_shm_open(name, &q);
    if (rc != 0)
        return failed("open", name, rc);
    pcq_stats_t st;
    pcq_stats(q, &st);
    /* pcq_peek tells an aborted queue (ECANCELED) from a closed one, and
     * changes nothing. */
    unsigned char *probe = malloc(pcq_elem_size(q));
    const int peek = probe != NULL ? pcq_peek(q, probe) : 0;
    free(probe);
    const char *closed = !pcq_is_closed(q) ? "no" : peek == ECANCELED ? "yes (aborted)" : "yes";
    printf("name: %s\n"
           "capacity: %zu\n"
           "size: %zu\n"
           "element size: %zu\n"
           "closed: %s\n"
           "pushed: %" PRIu64 "\n"
           "popped: %" PRIu64 "\n"
           "push waits: %" PRIu64 "\n"
           "pop waits: %" PRIu64 "\n"
           "high water: %zu\n"
           "recoveries: %" PRIu64 "\n",
           name, pcq_capacity(q), pcq_size(q), pcq_elem_size(q), closed, st.pushed, st.popped,
           st.push_waits, st.pop_waits, st.high_water, pcq_shared_recoveries(q));
    pcq_shm_close(q);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"capacity", required_argument, NULL, 'c'},
        {"elem-size", required_argument, NULL, 'e'},
        {"mode", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t capacity = DEFAULT_CAPACITY, elem_size = DEFAULT_ELEM_SIZE;
    mode_t mode = DEFAULT_MODE;
    const char *create_opt = NULL; /* the first option only create takes */
    opterr = 0;                    /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":c:e:m:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c':
            capacity = (size_t)parse_number("--capacity", optarg, 10, false, SIZE_MAX);
            create_opt = create_opt ? create_opt : "--capacity";
            break;
        case 'e':
            elem_size = (size_t)parse_number("--elem-size", optarg, 10, false, SIZE_MAX);
            create_opt = create_opt ? create_opt : "--elem-size";
            break;
        case 'm':
            mode = (mode_t)parse_number("--mode", optarg, 8, true, 0777);
            create_opt = create_opt ? create_opt : "--mode";
            break;
        case 'h':
            usage(stdout);
            return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILED;
        case ':': bad_usage("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt != 0)
                bad_usage("unknown option '-%c'", optopt);
            bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        bad_usage("a command is needed: create, stat or unlink");
    const char *cmd = argv[optind++];
    const bool create = strcmp(cmd, "create") == 0;
    if (!create && strcmp(cmd, "stat") != 0 && strcmp(cmd, "unlink") != 0)
        bad_usage("unknown command '%s' (create, stat or unlink)", cmd);
    if (optind == argc)
        bad_usage("%s: the queue's NAME is missing (for example /myqueue)", cmd);
    const char *name = argv[optind++];
    if (optind < argc)
        bad_usage("%s: unexpected argument '%s' after the name", cmd, argv[optind]);
    if (!create && create_opt != NULL)
        bad_usage("%s: %s is an option of create only", cmd, create_opt);
    const char *why = cli_shm_name_problem(name);
    if (why != NULL)
        bad_usage("'%s' is not a valid name: %s", name, why);

    if (create) {
        if (pcq_shared_size(capacity, elem_size) == 0)
            bad_usage("a queue of %zu elements of %zu bytes does not fit the address space",
                      capacity, elem_size);
        pcq_t *q;
        int rc = pcq_shm_create(name, capacity, elem_size, mode, &q);
        if (rc != 0)
            return failed("create", name, rc);
        pcq_shm_close(q);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "stat") == 0) {
        int st = do_stat(name);
        if (st == EXIT_SUCCESS && (fflush(stdout) != 0 || ferror(stdout))) {
            fprintf(stderr, "%s: writing the output: %s\n", prog, strerror(errno));
            return EXIT_FAILED;
        }
        return st;
    }
    int rc = pcq_shm_unlink(name);
    return rc == 0 ? EXIT_SUCCESS : failed("unlink", name, rc);
}
