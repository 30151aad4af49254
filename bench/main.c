/*
 * main.c — pcq-bench: options, the quick and full matrices, the main loop.
 *
 * A matrix is a list of segments; a segment is the cross product of
 * queues x PxC x capacities x batch sizes x element sizes at one element
 * count (or a ping-pong at one number of round trips). Combinations a queue
 * cannot run (ck_spsc beyond 1x1, batches on a queue without batch calls,
 * textbook_batch at batch 1) are left out of matrices silently and named
 * when asked for explicitly. Options that pick a configuration make one
 * segment of their own.
 */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct bq_ops *const all_ops[] = {
    &bq_pcq, &bq_textbook, &bq_textbook_batch, &bq_apr, &bq_boost, &bq_glib,
    &bq_pipe, &bq_ck_spsc, &bq_ck_mpmc, &bq_lossy,
};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

struct segment {
    const char *title;
    const char *queues, *pcs, *caps, *batches, *elems;
    uint64_t count;       /* throughput: elements per run */
    bool latency;
    uint64_t round_trips; /* latency */
};

#define Q_ALL "pcq,textbook,textbook_batch,apr_queue,boost,gasyncqueue,pipe,ck_spsc,ck_mpmc"
#define PC_ALL "1x1,2x2,4x4,1x4,4x1,8x8"

static const char S_SINGLE[] = "throughput: single-element calls";
static const char S_BATCH[] = "throughput: batch calls (pcq_push_many/pcq_pop_many vs the naive "
                              "textbook_batch)";
static const char S_T2[] = "throughput: long batch runs (batch 256, and ck_spsc's "
                           "single-element calls, 20,000,000 elements per run)";
static const char S_ELEM[] = "throughput: larger elements";
static const char S_LAT[] = "latency: ping-pong round trip, two threads, two queues of capacity "
                            "64, one 8-byte element bouncing";
static const char S_CUSTOM[] = "selected configurations";

/*
 * The quick matrix (make bench): every scenario the goals (goals.c) judge,
 * and a little more for the plots, in under 2 minutes on 2 cores. ck_mpmc spins
 * and starves when threads outnumber cores, so beyond 2x2 it gets one
 * scenario (4x4 cap 64) to show it; bench-full runs it everywhere.
 */
static const struct segment quick[] = {
    {S_SINGLE, "pcq,textbook,apr_queue,boost,gasyncqueue,pipe,ck_spsc", PC_ALL, "64", "1", "8",
     200000, false, 0},
    /* At capacity 1024 and 4096 the blocking queues move 5..30 M/s: 200,000
     * elements made 10..40 ms runs, too short for a ratio of 1.3x to stand
     * out of the noise of a shared machine. The pipe (2..3 M/s) keeps 200k
     * so that the matrix stays under 2 minutes. */
    {S_SINGLE, "pcq,textbook,apr_queue,boost,gasyncqueue,ck_spsc", PC_ALL, "1024,4096", "1", "8",
     500000, false, 0},
    {S_SINGLE, "pipe", PC_ALL, "1024,4096", "1", "8", 200000, false, 0},
    {S_SINGLE, "ck_mpmc", "1x1,2x2", "64,4096", "1", "8", 200000, false, 0},
    {S_SINGLE, "ck_mpmc", "4x4", "64", "1", "8", 200000, false, 0},
    {S_BATCH, "pcq,textbook_batch", "1x1,4x4", "4096", "16", "8", 2000000, false, 0},
    {S_T2, "pcq,textbook_batch", "1x1", "4096", "256", "8", 20000000, false, 0},
    {S_T2, "ck_spsc", "1x1", "4096", "1", "8", 20000000, false, 0},
    {S_ELEM, "pcq,textbook,apr_queue,boost,gasyncqueue,pipe,ck_spsc", "1x1,4x4", "1024", "1",
     "64,256", 200000, false, 0},
    {S_LAT, "pcq,textbook,apr_queue,boost,gasyncqueue,pipe,ck_spsc,ck_mpmc", "1x1", "64", "1", "8",
     0, true, 10000},
};

/* The whole matrix (make bench-full): every PxC, capacity, batch size and
 * element size for every queue that can run it. Long. */
static const struct segment full[] = {
    {S_SINGLE, Q_ALL, PC_ALL, "1,16,64,1024,4096,65536", "1", "8,64,256", 1000000, false, 0},
    {S_BATCH, "pcq,textbook_batch", PC_ALL, "1,16,64,1024,4096,65536", "16,256", "8,64,256",
     1000000, false, 0},
    {S_T2, "pcq,textbook_batch", "1x1", "4096", "256", "8", 20000000, false, 0},
    {S_T2, "ck_spsc", "1x1", "4096", "1", "8", 20000000, false, 0},
    {S_LAT, Q_ALL, "1x1", "64", "1", "8", 0, true, 100000},
};

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: bench/pcq-bench [options]\n"
        "\n"
        "Measures pcq against other queues in one run: throughput (elements/s, ns/element)\n"
        "and ping-pong latency, each figure the median of several verified runs.\n"
        "Without options it runs the quick matrix (what `make bench` runs).\n"
        "\n"
        "matrices:\n"
        "  --matrix quick|full     quick: the goals' scenarios, < 2 min on 2 cores;\n"
        "                          full: every PxC x capacity x batch x element size (hours)\n"
        "  --list                  print the configurations that would run, and exit\n"
        "  --list-queues           print the queues, whether built, and their notes\n"
        "\n"
        "one configuration, or the cross product of comma-separated lists:\n"
        "  --queue NAMES           pcq textbook textbook_batch apr_queue boost gasyncqueue\n"
        "                          pipe ck_spsc ck_mpmc (lossy: test only); `all' (default)\n"
        "  --pc PxC                producers x consumers, e.g. 1x1,4x4 (default 1x1)\n"
        "  -p, --producers N       -c, --consumers N: the same, one at a time\n"
        "  --capacity N            capacity in elements (default 1024)\n"
        "  --batch N               1: single-element calls; more: push_many/pop_many of up\n"
        "                          to N (pcq, textbook_batch) (default 1)\n"
        "  --elem-size N           bytes per element, >= 8 (default 8)\n"
        "  --count N               elements per run, split over the producers (default 1000000)\n"
        "  --latency               ping-pong instead of throughput (capacity default 64)\n"
        "  --round-trips N         measured round trips per ping-pong run (default 10000)\n"
        "\n"
        "measurement:\n"
        "  --repeats N             measured runs per configuration (default 5)\n"
        "  --warmups N             unmeasured runs before them (default 1, a quarter as long)\n"
        "  --time-limit S          a spinning queue's run longer than S seconds is stopped and\n"
        "                          reported as did not finish (default 3; full matrix 60)\n"
        "  --hang-limit S          a blocking queue's run longer than this is a fatal error\n"
        "                          (default 600)\n"
        "\n"
        "output:\n"
        "  --csv FILE              also write the results as CSV (written to FILE.partial,\n"
        "                          renamed to FILE when everything passed verification);\n"
        "                          make bench writes build/bench/latest.csv\n"
        "  --goals                 print the goal lines (default with --matrix): speed-up of\n"
        "                          single elements and of batches, oversubscribed threads,\n"
        "                          ping-pong latency, allocations in push/pop\n"
        "  --strict                exit 3 if a goal is not PASS\n"
        "  --quiet                 no progress line on stderr\n"
        "  --help                  this text\n"
        "\n"
        "How a run works: producers and consumers wait at a barrier; the run lasts from the\n"
        "release to the last thread's end. Producer i makes the distinct values\n"
        "(i+1)<<40 + 1 ... in the element's first 8 bytes. Consumers keep count, sum and xor;\n"
        "any difference from what was produced, or a queue call that fails, stops the\n"
        "benchmark (exit 1) and nothing is reported for that configuration.\n"
        "End of the stream: the last producer to finish closes the queue (pcq_close,\n"
        "textbook_close, the pipe's write end); queues without a close that keeps queued\n"
        "elements (apr_queue, GAsyncQueue, ck_ring) get one sentinel per consumer instead.\n"
        "Queues that carry a pointer (apr_queue, GAsyncQueue, ck_ring) carry an 8-byte element\n"
        "as the pointer itself and a larger one as a pointer to a preallocated slot that the\n"
        "producer fills and the consumer copies out (\"by pointer\").\n"
        "\n"
        "exit status: 0 ok; 1 verification failed or a queue call failed; 2 bad usage;\n"
        "3 --strict and a goal not PASS; 4 a blocking queue never finished.\n");
}

static _Noreturn void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "pcq-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(bench/pcq-bench --help for the options)\n");
    exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        die_usage("not a number for %s", what);
    return v;
}

static double parse_seconds(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v > 0))
        die_usage("not a positive number of seconds for %s", what);
    return v;
}

static const struct bq_ops *queue_by_name(const char *name)
{
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(all_ops[i]->name, name) == 0)
            return all_ops[i];
    return NULL;
}

/* Split a comma-separated list into a static buffer: returns the count. */
#define MAX_ITEMS 32
static size_t split(const char *list, char items[MAX_ITEMS][32])
{
    size_t n = 0;
    const char *p = list;
    while (*p != '\0') {
        size_t k = strcspn(p, ",");
        if (k > 0) {
            if (n == MAX_ITEMS || k >= 32)
                die_usage("list too long: %s", list);
            memcpy(items[n], p, k);
            items[n][k] = '\0';
            n++;
        }
        p += k;
        if (*p == ',')
            p++;
    }
    return n;
}

/* ---- expanding segments into configurations ----------------------------- */

struct plan {
    struct bq_config *cfg;
    size_t n, cap;
};

static void add(struct plan *pl, const struct bq_config *c)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 64;
        pl->cfg = realloc(pl->cfg, pl->cap * sizeof *pl->cfg);
        if (pl->cfg == NULL) {
            fprintf(stderr, "pcq-bench: out of memory\n");
            exit(1);
        }
    }
    pl->cfg[pl->n++] = *c;
}

/* `explicit`: the user named these; say why a combination is left out. */
static void expand(struct plan *pl, const struct segment *s, bool explicit)
{
    char q[MAX_ITEMS][32], pc[MAX_ITEMS][32], cap[MAX_ITEMS][32], b[MAX_ITEMS][32],
        e[MAX_ITEMS][32];
    size_t nq = split(s->queues, q), npc = split(s->pcs, pc), ncap = split(s->caps, cap),
           nb = split(s->batches, b), ne = split(s->elems, e);
    if (nq == 1 && strcmp(q[0], "all") == 0)
        nq = split(Q_ALL, q);
    for (size_t i = 0; i < npc; i++) {
        unsigned P, C;
        char extra;
        if (sscanf(pc[i], "%ux%u%c", &P, &C, &extra) != 2 || P == 0 || C == 0 || P > 1024 ||
            C > 1024)
            die_usage("not a PxC like 4x4: %s", pc[i]);
        for (size_t j = 0; j < ncap; j++)
            for (size_t k = 0; k < nb; k++)
                for (size_t l = 0; l < ne; l++)
                    for (size_t m = 0; m < nq; m++) {
                        struct bq_config c;
                        memset(&c, 0, sizeof c);
                        c.ops = queue_by_name(q[m]);
                        if (c.ops == NULL)
                            die_usage("no queue named %s (--list-queues)", q[m]);
                        c.section = s->title;
                        c.producers = s->latency ? 1 : P;
                        c.consumers = s->latency ? 1 : C;
                        c.capacity = parse_u64(cap[j], "--capacity");
                        c.batch = s->latency ? 1 : parse_u64(b[k], "--batch");
                        c.elem_size = s->latency ? 8 : parse_u64(e[l], "--elem-size");
                        c.count = s->count;
                        c.latency = s->latency;
                        c.round_trips = s->round_trips;
                        if (c.capacity == 0 || c.batch == 0 || c.elem_size < 8)
                            die_usage("capacity and batch must be >= 1 and elem size >= 8 (%s)",
                                      q[m]);
                        if (c.count >= (1ull << 40))
                            die_usage("count must be below 2^40 (%s)", q[m]);
                        const char *why;
                        if (!explicit && (c.ops->flags & BQ_F_TEST_ONLY))
                            continue;
                        if (!bq_fits(&c, &why)) {
                            if (explicit) {
                                char label[160];
                                bq_label(&c, label, sizeof label);
                                fprintf(stderr, "pcq-bench: skipped %s: %s\n", label, why);
                            }
                            continue;
                        }
                        add(pl, &c);
                    }
    }
}

/* Whether two configurations belong in one group of the table: the same
 * scenario, one row per queue. */
static bool same_scenario(const struct bq_config *a, const struct bq_config *b)
{
    return a->section == b->section && a->latency == b->latency &&
           a->producers == b->producers && a->consumers == b->consumers &&
           a->capacity == b->capacity && a->batch == b->batch &&
           a->elem_size == b->elem_size && a->count == b->count &&
           a->round_trips == b->round_trips;
}

/* Move each configuration up behind the last earlier one of its scenario
 * (stable), so a scenario that two segments contribute to is one group. */
static void merge_scenarios(struct plan *pl)
{
    for (size_t i = 1; i < pl->n; i++) {
        size_t at = i;
        for (size_t j = i; j-- > 0;)
            if (same_scenario(&pl->cfg[j], &pl->cfg[i])) {
                at = j + 1;
                break;
            }
        if (at == i)
            continue;
        struct bq_config c = pl->cfg[i];
        memmove(&pl->cfg[at + 1], &pl->cfg[at], (i - at) * sizeof c);
        pl->cfg[at] = c;
    }
}

/* ---- the main loop ------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *matrix = NULL, *csv_path = NULL;
    const char *queues = "all", *pcs = NULL, *caps = NULL, *batches = "1", *elems = "8";
    const char *producers = NULL, *consumers = NULL;
    uint64_t count = 1000000, trips = 10000;
    bool latency = false, custom = false, list = false, goals = false, strict = false;
    struct bq_limits lim = {5, 1, 3.0, 600.0, true, ""};
    bool time_limit_set = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (eq != NULL && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
            a = name;
        }
#define TAKES_VALUE()                                                                    \
    do {                                                                                 \
        if (v == NULL) {                                                                 \
            if (i + 1 >= argc)                                                           \
                die_usage("%s needs a value", a);                                        \
            v = argv[++i];                                                               \
        }                                                                                \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--matrix") == 0) {
            TAKES_VALUE();
            matrix = v;
        } else if (strcmp(a, "--queue") == 0 || strcmp(a, "--queues") == 0) {
            TAKES_VALUE();
            queues = v;
            custom = true;
        } else if (strcmp(a, "--pc") == 0) {
            TAKES_VALUE();
            pcs = v;
            custom = true;
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--producers") == 0) {
            TAKES_VALUE();
            producers = v;
            custom = true;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--consumers") == 0) {
            TAKES_VALUE();
            consumers = v;
            custom = true;
        } else if (strcmp(a, "--capacity") == 0) {
            TAKES_VALUE();
            caps = v;
            custom = true;
        } else if (strcmp(a, "--batch") == 0) {
            TAKES_VALUE();
            batches = v;
            custom = true;
        } else if (strcmp(a, "--elem-size") == 0) {
            TAKES_VALUE();
            elems = v;
            custom = true;
        } else if (strcmp(a, "--count") == 0) {
            TAKES_VALUE();
            count = parse_u64(v, a);
            custom = true;
        } else if (strcmp(a, "--latency") == 0) {
            latency = true;
            custom = true;
        } else if (strcmp(a, "--round-trips") == 0) {
            TAKES_VALUE();
            trips = parse_u64(v, a);
            custom = true;
        } else if (strcmp(a, "--repeats") == 0) {
            TAKES_VALUE();
            lim.repeats = (unsigned)parse_u64(v, a);
        } else if (strcmp(a, "--warmups") == 0) {
            TAKES_VALUE();
            lim.warmups = (unsigned)parse_u64(v, a);
        } else if (strcmp(a, "--time-limit") == 0) {
            TAKES_VALUE();
            lim.time_limit_s = parse_seconds(v, a);
            time_limit_set = true;
        } else if (strcmp(a, "--hang-limit") == 0) {
            TAKES_VALUE();
            lim.hang_limit_s = parse_seconds(v, a);
        } else if (strcmp(a, "--csv") == 0) {
            TAKES_VALUE();
            csv_path = v;
        } else if (strcmp(a, "--goals") == 0) {
            goals = true;
        } else if (strcmp(a, "--strict") == 0) {
            strict = true;
        } else if (strcmp(a, "--quiet") == 0) {
            lim.progress = false;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--list-queues") == 0) {
            for (size_t k = 0; k < N_OPS; k++)
                printf("%-15s %s\n", all_ops[k]->name,
                       all_ops[k]->available ? all_ops[k]->notes : all_ops[k]->missing);
            return 0;
        } else {
            die_usage("unknown option %s", argv[i]);
        }
#undef TAKES_VALUE
    }
    if (lim.repeats == 0 || trips == 0 || count == 0)
        die_usage("%s", "--repeats, --count and --round-trips must be at least 1");
    if (matrix != NULL && custom)
        die_usage("%s", "--matrix does not mix with options that pick a configuration");
    if (matrix == NULL && !custom)
        matrix = "quick";

    struct plan pl = {NULL, 0, 0};
    if (matrix != NULL) {
        const struct segment *seg;
        size_t nseg;
        if (strcmp(matrix, "quick") == 0) {
            seg = quick;
            nseg = sizeof quick / sizeof quick[0];
        } else if (strcmp(matrix, "full") == 0) {
            seg = full;
            nseg = sizeof full / sizeof full[0];
            if (!time_limit_set)
                lim.time_limit_s = 60.0;
        } else {
            die_usage("no matrix named %s (quick or full)", matrix);
        }
        for (size_t i = 0; i < nseg; i++)
            expand(&pl, &seg[i], false);
        goals = true;
    } else {
        char pcbuf[64];
        if (producers != NULL || consumers != NULL) {
            if (pcs != NULL)
                die_usage("%s", "--pc or --producers/--consumers, not both");
            snprintf(pcbuf, sizeof pcbuf, "%sx%s", producers ? producers : "1",
                     consumers ? consumers : "1");
            pcs = pcbuf;
        }
        struct segment s = {S_CUSTOM, queues, pcs ? pcs : "1x1",
                            caps ? caps : latency ? "64" : "1024", batches, elems,
                            count, latency, trips};
        expand(&pl, &s, strcmp(queues, "all") != 0);
    }

    merge_scenarios(&pl);
    if (list) {
        for (size_t i = 0; i < pl.n; i++) {
            char label[160];
            bq_label(&pl.cfg[i], label, sizeof label);
            printf("%s, %llu %s\n", label,
                   (unsigned long long)(pl.cfg[i].latency ? pl.cfg[i].round_trips
                                                          : pl.cfg[i].count),
                   pl.cfg[i].latency ? "round trips" : "elements");
        }
        printf("%zu configurations\n", pl.n);
        return 0;
    }
    if (pl.n == 0) {
        fprintf(stderr, "pcq-bench: nothing to run\n");
        return 2;
    }

    char partial[4096];
    FILE *csv = NULL;
    if (csv_path != NULL) {
        snprintf(partial, sizeof partial, "%s.partial", csv_path);
        csv = fopen(partial, "w");
        if (csv == NULL) {
            fprintf(stderr, "pcq-bench: cannot write %s: %s\n", partial, strerror(errno));
            return 2;
        }
        bq_csv_header(csv, bq_machine());
    }

    bq_print_header(stdout, all_ops, N_OPS, &lim, matrix);
    fflush(stdout);
    const bool tty = isatty(STDERR_FILENO);
    struct bq_result *res = calloc(pl.n, sizeof *res);
    if (res == NULL)
        return 1;
    const uint64_t t0 = pcq__now_ns();
    size_t group_start = 0;
    for (size_t i = 0; i < pl.n; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "[%zu/%zu %.0fs]", i + 1, pl.n,
                 (double)(pcq__now_ns() - t0) / 1e9);
        lim.progress_prefix = prefix;
        if (bq_measure(&pl.cfg[i], &lim, &res[i]) != 0) {
            if (csv != NULL) {
                fclose(csv);
                fprintf(stderr, "pcq-bench: %s left unfinished: %s kept as it was\n", partial,
                        csv_path);
            }
            return 1;
        }
        if (csv != NULL)
            bq_csv_row(csv, &res[i]);
        /* A group (same scenario, every queue) is printed once complete,
         * so that each row can be compared with the group's textbook row. */
        if (i + 1 == pl.n || !same_scenario(&pl.cfg[i], &pl.cfg[i + 1])) {
            if (lim.progress && tty)
                fprintf(stderr, "\r\033[K");
            for (size_t k = group_start; k <= i; k++)
                bq_print_row(stdout, &res[k], res, i + 1);
            fflush(stdout);
            group_start = i + 1;
        }
    }
    int bad = 0;
    if (goals) {
        struct bq_footprint fp;
        bq_measure_footprint(&fp);
        bad = bq_print_goals(stdout, res, pl.n, &fp);
    }
    printf("\n%zu configurations in %.0f s\n", pl.n, (double)(pcq__now_ns() - t0) / 1e9);
    fflush(stdout);
    if (csv != NULL) {
        if (fclose(csv) != 0 || rename(partial, csv_path) != 0) {
            fprintf(stderr, "pcq-bench: cannot write %s: %s\n", csv_path, strerror(errno));
            return 1;
        }
        printf("results: %s\n", csv_path);
    }
    free(res);
    free(pl.cfg);
    return strict && bad ? 3 : 0;
}
