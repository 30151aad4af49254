/*
 * main.c — pcq-bench: options, the quick and full matrices, the main loop.
 *
 * A matrix is a list of segments; a segment is the cross product of
 * queues x PxC x capacities x batch sizes x element sizes x consumer work
 * on one machine state (idle, or with the hog), at one element count (0:
 * sized to a run time), or a ping-pong, or a paced run. Configurations that
 * differ only in the queue form a scenario, measured in interleaved rounds
 * (run.c). Combinations a queue cannot run (ck_spsc beyond 1x1, batches on a
 * queue without batch calls, textbook_batch at batch 1) are left out of
 * matrices silently and named when asked for explicitly. Options that pick
 * a configuration make one segment of their own.
 *
 * The idle scenarios run first, then the hog scenarios with one hog process
 * for all of them, so one invocation measures both machine states.
 *
 * Process runs (--processes, and a short section of the quick matrix) put
 * every worker in a process of its own, with pcq on a shared queue against
 * the kernel's queues between processes; --processes alone runs that
 * section and judges goal 6 only.
 */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct bq_ops *const all_ops[] = {
    &bq_pcq, &bq_textbook, &bq_textbook_batch, &bq_apr, &bq_boost, &bq_glib,
    &bq_pipe, &bq_ck_spsc, &bq_ck_mpmc, &bq_lossy, &bq_pcq_shared, &bq_mq, &bq_socketpair,
};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

struct segment {
    const char *title;
    const char *queues, *pcs, *caps, *batches, *elems, *works; /* NULL: 1x1, 64, 1, 8, 0 */
    bool hog;             /* measured with the hog running */
    uint64_t count;       /* throughput: elements per run; 0: sized to --run-ms */
    bool latency;         /* ping-pong */
    uint64_t round_trips; /* ping-pong: 0: sized */
    uint64_t pace_ns;     /* > 0: paced, one element per pace_ns (count elements) */
    bool goal1;           /* its cells are goal 1's cells in this matrix */
    bool processes;       /* every worker in a process of its own */
};

#define Q_ALL "pcq,textbook,textbook_batch,apr_queue,boost,gasyncqueue,pipe,ck_spsc,ck_mpmc"
#define PC_ALL "1x1,2x2,4x4,1x4,4x1,8x8"
/* Goal 1's producers x consumers, and the bounded blocking queues it compares. */
#define PC_GOAL "1x1,1x4,4x1,4x4,8x8"
#define BOUNDED "pcq,textbook,apr_queue,boost"
/* Process runs: pcq on a shared queue and the kernel's queues between processes. */
#define Q_PROC "pcq_shared,mq,pipe,socketpair"

static const char S_NR[] = "no regressions: single-element calls against the bounded "
                           "blocking peers";
static const char S_LARGE[] = "large rings, busy pair: capacity 1024 and 4096";
static const char S_BATCH[] = "batch calls (pcq_push_many/pcq_pop_many vs the naive "
                              "textbook_batch)";
static const char S_SWEEP[] = "every queue, every capacity and element size";
static const char S_LAT[] = "latency: ping-pong round trip, two threads, two queues of capacity "
                            "64, one 8-byte element bouncing";
static const char S_CPU[] = "CPU cost: a consumer waiting on a paced producer (1 element per "
                            "pace; 100 ms: the idle queue)";
static const char S_CUSTOM[] = "selected configurations";
static const char S_PROC[] = "across processes: producer and consumer (pinger and ponger) in "
                             "processes of their own";

/* Goal 6's scenarios: 1 producer process x 1 consumer process, capacity 64,
 * 8- and 64-byte elements, throughput and ping-pong. Where this process may
 * not give a message queue 64 messages (msg_max), the throughput runs also
 * run at msg_max, so that pcq meets mq at a capacity both really had
 * (main() writes proc_caps). */
static char proc_caps[48] = "64";
#define PROC_SEGMENTS(hog_)                                                               \
    {.title = S_PROC, .queues = Q_PROC, .caps = proc_caps, .elems = "8,64", .hog = hog_,  \
     .processes = true},                                                                  \
    {.title = S_PROC, .queues = Q_PROC, .caps = "64", .elems = "8,64", .latency = true,   \
     .hog = hog_, .processes = true}

/* --processes alone: goal 6's scenarios. */
static const struct segment processes_matrix[] = {PROC_SEGMENTS(false)};

/* The paced runs: 10 us, 100 us and 1 ms per element, and the idle queue
 * (one element after 100 ms: a pop that blocks that long). */
#define CPU_SEGMENTS(q)                                                                   \
    {.title = S_CPU, .queues = q, .pace_ns = 10000, .count = 2000},                       \
    {.title = S_CPU, .queues = q, .pace_ns = 100000, .count = 800},                       \
    {.title = S_CPU, .queues = q, .pace_ns = 1000000, .count = 120},                      \
    {.title = S_CPU, .queues = q, .pace_ns = 100000000, .count = 1}

/*
 * The quick matrix (make bench): every goal's checks, goal 1 on a subset of
 * its grid (every P x C and capacity without work; 1x1 and 4x4 with 40 and
 * 400 ns), on the idle machine and then with the hog, in under 3 minutes on
 * 2 cores. The pipe is a bar only where the kernel gives it the capacity
 * asked (4096 here), so it runs only there.
 */
static const struct segment quick[] = {
    {.title = S_NR, .queues = BOUNDED, .pcs = PC_GOAL, .caps = "1,64", .goal1 = true},
    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = PC_GOAL, .caps = "4096", .goal1 = true},
    {.title = S_NR, .queues = BOUNDED, .pcs = "1x1,4x4", .caps = "1,64", .works = "40,400",
     .goal1 = true},
    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = "1x1,4x4", .caps = "4096",
     .works = "40,400", .goal1 = true},
    {.title = S_LARGE, .queues = "pcq,textbook", .pcs = "1x1,4x4", .caps = "1024",
     .works = "0,40"},
    {.title = S_LARGE, .queues = "ck_spsc", .caps = "1024,4096", .works = "40"},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .caps = "4096", .batches = "256"},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .pcs = "4x4", .caps = "4096",
     .batches = "16"},
    {.title = S_LAT, .queues = BOUNDED ",pipe,ck_spsc", .latency = true},
    CPU_SEGMENTS(BOUNDED),
    PROC_SEGMENTS(false),

    {.title = S_NR, .queues = BOUNDED, .pcs = PC_GOAL, .caps = "1,64", .hog = true, .goal1 = true},
    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = PC_GOAL, .caps = "4096", .hog = true,
     .goal1 = true},
    {.title = S_NR, .queues = BOUNDED, .pcs = "1x1,4x4", .caps = "1,64", .works = "40,400",
     .hog = true, .goal1 = true},
    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = "1x1,4x4", .caps = "4096",
     .works = "40,400", .hog = true, .goal1 = true},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .caps = "4096", .batches = "256",
     .hog = true},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .pcs = "4x4", .caps = "4096",
     .batches = "16", .hog = true},
    {.title = S_LAT, .queues = BOUNDED, .latency = true, .hog = true},
};

/* The whole matrix (make bench-full): goal 1's whole grid on both machines,
 * every other goal's checks, and every queue over every PxC, capacity,
 * batch size and element size. Hours. */
static const struct segment full[] = {
    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = PC_GOAL, .caps = "1,64,4096",
     .works = "0,40,400", .goal1 = true},
    {.title = S_LARGE, .queues = BOUNDED ",pipe", .pcs = "1x1,4x4", .caps = "1024",
     .works = "0,40"},
    {.title = S_LARGE, .queues = "ck_spsc", .caps = "1024,4096", .works = "0,40"},
    {.title = S_SWEEP, .queues = Q_ALL, .pcs = PC_ALL, .caps = "1,16,64,1024,4096,65536",
     .elems = "8,64,256"},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .pcs = PC_ALL,
     .caps = "1,16,64,1024,4096,65536", .batches = "16,256", .elems = "8,64,256"},
    {.title = S_LAT, .queues = Q_ALL, .latency = true},
    CPU_SEGMENTS(BOUNDED),
    PROC_SEGMENTS(false),
    {.title = S_PROC, .queues = Q_PROC, .pcs = "1x1,2x2", .caps = "1,64,4096",
     .elems = "8,64,256", .processes = true},

    {.title = S_NR, .queues = BOUNDED ",pipe", .pcs = PC_GOAL, .caps = "1,64,4096",
     .works = "0,40,400", .hog = true, .goal1 = true},
    {.title = S_BATCH, .queues = "pcq,textbook_batch", .pcs = "1x1,4x4", .caps = "64,4096",
     .batches = "16,256", .hog = true},
    {.title = S_LAT, .queues = BOUNDED ",pipe", .latency = true, .hog = true},
    PROC_SEGMENTS(true),
};

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: bench/pcq-bench [options]\n"
        "\n"
        "Measures pcq against other queues in one run: throughput (elements/s, ns/element),\n"
        "ping-pong latency and the CPU a waiting consumer burns, on an idle machine and with\n"
        "a busy-loop process taking one CPU. The queues of a scenario run in interleaved\n"
        "rounds (A B C A B C ...); each figure is the median of the rounds, each ratio comes\n"
        "with the smallest and largest ratio of one round's runs. Without options it runs\n"
        "the quick matrix (what `make bench` runs) and judges the six goals.\n"
        "\n"
        "matrices:\n"
        "  --matrix quick|full|processes\n"
        "                          quick: every goal, goal 1 on a subset, idle then hog\n"
        "                          (< 3 min on 2 cores); full: goal 1's whole grid and every\n"
        "                          PxC x capacity x batch x element size (hours); processes:\n"
        "                          what --processes alone runs\n"
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
        "  --work NS               consumer work per element, calibrated nanoseconds of a\n"
        "                          dependent multiply/xor-shift chain (default 0)\n"
        "  --producer-work NS      the same in each producer, before each push (default 0)\n"
        "  --pace NS               paced run: producers push one element per NS (absolute\n"
        "                          deadlines); the figure is the consumers' CPU per element\n"
        "  --hog                   run with a busy-loop process pinned to one CPU\n"
        "  --count N               elements per run, split over the producers (default 0:\n"
        "                          sized per queue so that a run lasts --run-ms)\n"
        "  --latency               ping-pong instead of throughput (capacity default 64)\n"
        "  --round-trips N         measured round trips per ping-pong run (default 0: sized)\n"
        "  --processes             every producer and consumer (pinger, ponger) in a process\n"
        "                          of its own (fork); queues: pcq_shared (pcq_shared_init in\n"
        "                          a shared mapping, pcq_shared_attach in each process), mq\n"
        "                          (POSIX message queue), pipe, socketpair (AF_UNIX\n"
        "                          SOCK_SEQPACKET); `all' is these four; ping-pong bounces\n"
        "                          an element of --elem-size bytes. Alone: 1x1, capacity 64,\n"
        "                          8- and 64-byte elements, throughput and ping-pong, judged\n"
        "                          against mq (goal 6)\n"
        "\n"
        "measurement:\n"
        "  --repeats N             measured rounds per scenario (default 5; at most 32)\n"
        "  --warmups N             unmeasured rounds before them (default 1)\n"
        "  --run-ms MS             a sized run's length (default 100; quick 60, full 250)\n"
        );
    fprintf(out,
        "  --time-limit S          a spinning queue's run longer than S seconds is stopped and\n"
        "                          reported as did not finish (default 3; full matrix 60)\n"
        "  --hang-limit S          a blocking queue's run longer than this is a fatal error\n"
        "                          (default 600)\n"
        "\n"
        "output:\n"
        "  --csv FILE              also write the results as CSV, per-round figures included\n"
        "                          (written to FILE.partial, renamed to FILE when everything\n"
        "                          passed verification); make bench writes build/bench/latest.csv\n"
        "  --goals                 judge the goals (default with --matrix): 1 no regressions,\n"
        "                          2 large rings, 3 busy machine, 4 idle machine, 5 CPU cost\n"
        "                          of waiting, 6 across processes (bench/README.md)\n"
        "  --strict                exit 3 if a goal is not PASS\n"
        "  --log-runs              one line per run on stderr (phase, round, queue, count)\n"
        "  --quiet                 no progress line on stderr\n"
        "  --help                  this text\n"
        "\n"
        "How a run works: producers and consumers wait at a barrier; the run lasts from the\n"
        "release to the last thread's end. Producer i makes the distinct values\n"
        "(i+1)<<40 + 1 ... in the element's first 8 bytes. Consumers keep count, sum and xor;\n"
        "any difference from what was produced, or a queue call that fails, stops the\n"
        "benchmark (exit 1) and nothing is reported for that configuration.\n"
        "End of the stream: the last producer to finish closes the queue (pcq_close,\n"
        "textbook_close, boost's close, the pipe's write end); queues without a close that\n"
        "keeps queued elements (apr_queue, GAsyncQueue, ck_ring) get one sentinel per consumer.\n"
        "mq gets one sentinel per consumer too; socketpair ends like the pipe.\n"
        "Queues that carry a pointer (apr_queue, boost, GAsyncQueue, ck_ring) carry an 8-byte\n"
        "element as the pointer itself and a larger one as a pointer to a preallocated slot\n"
        "that the producer fills and the consumer copies out (\"by pointer\").\n"
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
    struct bq_cell *cells; /* goal 1's cells of this matrix */
    size_t n_cells, cap_cells;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? 2 * *cap : 64;
    p = realloc(p, *cap * size);
    if (p == NULL) {
        fprintf(stderr, "pcq-bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Add a configuration unless the same queue already runs the same scenario
 * (two segments of a matrix may overlap). */
static void add(struct plan *pl, const struct bq_config *c)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->cfg[i].ops == c->ops && bq_same_scenario(&pl->cfg[i], c))
            return;
    pl->cfg = grow(pl->cfg, &pl->cap, pl->n, sizeof *pl->cfg);
    pl->cfg[pl->n++] = *c;
}

static void add_cell(struct plan *pl, const struct bq_config *c)
{
    for (size_t i = 0; i < pl->n_cells; i++) {
        const struct bq_cell *k = &pl->cells[i];
        if (k->p == c->producers && k->c == c->consumers && k->cap == c->capacity &&
            k->work_ns == c->work_ns && k->hog == c->hog)
            return;
    }
    pl->cells = grow(pl->cells, &pl->cap_cells, pl->n_cells, sizeof *pl->cells);
    pl->cells[pl->n_cells++] =
        (struct bq_cell){c->producers, c->consumers, c->capacity, c->work_ns, c->hog};
}

/* `explicit`: the user named these; say why a combination is left out. */
static void expand(struct plan *pl, const struct segment *s, bool explicit)
{
    char q[MAX_ITEMS][32], pc[MAX_ITEMS][32], cap[MAX_ITEMS][32], b[MAX_ITEMS][32],
        e[MAX_ITEMS][32], wk[MAX_ITEMS][32];
    size_t nq = split(s->queues, q), npc = split(s->pcs ? s->pcs : "1x1", pc),
           ncap = split(s->caps ? s->caps : "64", cap),
           nb = split(s->batches ? s->batches : "1", b),
           ne = split(s->elems ? s->elems : "8", e), nw = split(s->works ? s->works : "0", wk);
    if (nq == 1 && strcmp(q[0], "all") == 0)
        nq = split(s->processes ? Q_PROC : Q_ALL, q);
    for (size_t i = 0; i < npc; i++) {
        unsigned P, C;
        char extra;
        if (sscanf(pc[i], "%ux%u%c", &P, &C, &extra) != 2 || P == 0 || C == 0 || P > 1024 ||
            C > 1024)
            die_usage("not a PxC like 4x4: %s", pc[i]);
        for (size_t j = 0; j < ncap; j++)
            for (size_t x = 0; x < nw; x++)
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
                            /* Threads bounce a word; processes an element of any size. */
                            c.elem_size = s->latency && !s->processes
                                              ? 8
                                              : parse_u64(e[l], "--elem-size");
                            c.work_ns = parse_u64(wk[x], "--work");
                            c.count = s->count;
                            c.latency = s->latency;
                            c.round_trips = s->round_trips;
                            c.pace_ns = s->pace_ns;
                            c.hog = s->hog;
                            c.processes = s->processes;
                            if (c.capacity == 0 || c.batch == 0 || c.elem_size < 8)
                                die_usage("capacity and batch must be >= 1 and elem size >= 8 (%s)",
                                          q[m]);
                            if (c.count >= (1ull << 40))
                                die_usage("count must be below 2^40 (%s)", q[m]);
                            const char *why;
                            if (!explicit && (c.ops->flags & BQ_F_TEST_ONLY))
                                continue;
                            if (s->goal1)
                                add_cell(pl, &c);
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

/* Move each configuration up behind the last earlier one of its scenario
 * (stable), so a scenario that two segments contribute to is one group;
 * then the idle groups before the hog groups (stable), so one hog serves
 * the whole second half. */
static void order_plan(struct plan *pl)
{
    for (size_t i = 1; i < pl->n; i++) {
        size_t at = i;
        for (size_t j = i; j-- > 0;)
            if (bq_same_scenario(&pl->cfg[j], &pl->cfg[i])) {
                at = j + 1;
                break;
            }
        if (at == i)
            continue;
        struct bq_config c = pl->cfg[i];
        memmove(&pl->cfg[at + 1], &pl->cfg[at], (i - at) * sizeof c);
        pl->cfg[at] = c;
    }
    struct bq_config *sorted = malloc(pl->n * sizeof *sorted);
    if (sorted == NULL && pl->n > 0) {
        fprintf(stderr, "pcq-bench: out of memory\n");
        exit(1);
    }
    size_t k = 0;
    for (int hog = 0; hog < 2; hog++)
        for (size_t i = 0; i < pl->n; i++)
            if (pl->cfg[i].hog == (hog != 0))
                sorted[k++] = pl->cfg[i];
    if (pl->n > 0)
        memcpy(pl->cfg, sorted, pl->n * sizeof *sorted);
    free(sorted);
}

/* The bounded blocking peers this build lacks, for the goal lines. */
static const char *skipped_peers(void)
{
    static char buf[128];
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_OPS; i++)
        if ((all_ops[i]->flags & BQ_F_BOUNDED_BLOCKING) && !all_ops[i]->available && k < sizeof buf)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", k ? ", " : "", all_ops[i]->name);
    return buf;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the main loop ------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *matrix = NULL, *csv_path = NULL;
    const char *queues = "all", *pcs = NULL, *caps = NULL, *batches = "1", *elems = "8";
    const char *producers = NULL, *consumers = NULL, *works = "0";
    uint64_t count = 0, trips = 0, producer_work = 0, pace = 0;
    bool latency = false, custom = false, list = false, goals = false, strict = false;
    bool hog = false, processes = false;
    struct bq_limits lim = {5, 1, 0.1, 3.0, 600.0, 0, true, false, ""};
    bool time_limit_set = false, run_set = false;

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
        } else if (strcmp(a, "--work") == 0) {
            TAKES_VALUE();
            works = v;
            custom = true;
        } else if (strcmp(a, "--producer-work") == 0) {
            TAKES_VALUE();
            producer_work = parse_u64(v, a);
            custom = true;
        } else if (strcmp(a, "--pace") == 0) {
            TAKES_VALUE();
            pace = parse_u64(v, a);
            custom = true;
        } else if (strcmp(a, "--hog") == 0) {
            hog = true;
            custom = true;
        } else if (strcmp(a, "--count") == 0) {
            TAKES_VALUE();
            count = parse_u64(v, a);
            custom = true;
        } else if (strcmp(a, "--processes") == 0) {
            processes = true;
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
        } else if (strcmp(a, "--run-ms") == 0) {
            TAKES_VALUE();
            lim.run_s = parse_seconds(v, a) / 1e3;
            run_set = true;
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
        } else if (strcmp(a, "--log-runs") == 0) {
            lim.log_runs = true;
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
    if (lim.repeats == 0 || lim.repeats > BQ_MAX_ROUNDS)
        die_usage("%s", "--repeats must be 1 to 32");
    if (pace != 0 && count == 0)
        die_usage("%s", "--pace needs --count (elements per run)");
    if (matrix != NULL && custom)
        die_usage("%s", "--matrix does not mix with options that pick a configuration");
    if (matrix != NULL && processes && strcmp(matrix, "processes") != 0)
        die_usage("%s", "--processes alone is --matrix processes; it does not mix with another");
    if (matrix == NULL && !custom)
        matrix = processes ? "processes" : "quick";

    const size_t mq_max = bq_mq_msg_max();
    if (mq_max < 64)
        snprintf(proc_caps, sizeof proc_caps, "%zu,64", mq_max);
    struct plan pl = {NULL, 0, 0, NULL, 0, 0};
    if (matrix != NULL) {
        const struct segment *seg;
        size_t nseg;
        if (strcmp(matrix, "quick") == 0) {
            seg = quick;
            nseg = sizeof quick / sizeof quick[0];
            if (!run_set)
                lim.run_s = 0.06;
        } else if (strcmp(matrix, "processes") == 0) {
            seg = processes_matrix;
            nseg = sizeof processes_matrix / sizeof processes_matrix[0];
            if (!run_set)
                lim.run_s = 0.06;
        } else if (strcmp(matrix, "full") == 0) {
            seg = full;
            nseg = sizeof full / sizeof full[0];
            if (!time_limit_set)
                lim.time_limit_s = 60.0;
            if (!run_set)
                lim.run_s = 0.25;
        } else {
            die_usage("no matrix named %s (quick, full or processes)", matrix);
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
        struct segment s = {.title = S_CUSTOM, .queues = queues, .pcs = pcs,
                            .caps = caps ? caps : latency ? "64" : "1024", .batches = batches,
                            .elems = elems, .works = works, .hog = hog, .count = count,
                            .latency = latency, .round_trips = trips, .pace_ns = pace,
                            .processes = processes};
        expand(&pl, &s, strcmp(queues, "all") != 0);
        for (size_t i = 0; i < pl.n; i++)
            pl.cfg[i].producer_work_ns = producer_work;
    }

    order_plan(&pl);
    if (list) {
        for (size_t i = 0; i < pl.n; i++) {
            char label[160];
            const struct bq_config *c = &pl.cfg[i];
            uint64_t k = c->latency ? c->round_trips : c->count;
            bq_label(c, label, sizeof label);
            if (k == 0)
                printf("%s, sized\n", label);
            else
                printf("%s, %llu %s\n", label, (unsigned long long)k,
                       c->latency ? "round trips" : "elements");
        }
        printf("%zu configurations\n", pl.n);
        return 0;
    }
    if (pl.n == 0) {
        fprintf(stderr, "pcq-bench: nothing to run\n");
        return 2;
    }

    /* Before any hog: what an iteration of work costs on an idle CPU. */
    lim.ns_per_iter = bq_calibrate_work();

    char partial[4096];
    FILE *csv = NULL;
    if (csv_path != NULL) {
        snprintf(partial, sizeof partial, "%s.partial", csv_path);
        csv = fopen(partial, "w");
        if (csv == NULL) {
            fprintf(stderr, "pcq-bench: cannot write %s: %s\n", partial, strerror(errno));
            return 2;
        }
        bq_csv_header(csv, bq_machine(), &lim);
    }

    bq_print_header(stdout, all_ops, N_OPS, &lim, matrix);
    fflush(stdout);
    const bool tty = isatty(STDERR_FILENO);
    struct bq_result *res = calloc(pl.n, sizeof *res);
    if (res == NULL)
        return 1;
    size_t groups = 0;
    for (size_t i = 0; i < pl.n; i++)
        groups += i + 1 == pl.n || !bq_same_scenario(&pl.cfg[i], &pl.cfg[i + 1]);
    const uint64_t t0 = pcq__now_ns();
    struct bq_cpu_use use_start, use_mid, use_end;
    char idle_load[256] = "", hog_load[256] = "";
    double idle_others = 0;
    bq_cpu_use_now(&use_start);
    use_mid = use_start;
    bool hog_running = false;
    size_t group = 0;
    for (size_t i = 0; i < pl.n;) {
        size_t end = i + 1;
        while (end < pl.n && bq_same_scenario(&pl.cfg[i], &pl.cfg[end]))
            end++;
        if (pl.cfg[i].hog && !hog_running) {
            bq_cpu_use_now(&use_mid);
            if (i > 0) {
                idle_others = bq_others_cpus(&use_start, &use_mid, idle_load, sizeof idle_load);
                printf("\nthe idle half: %s\n", idle_load);
            }
            long pid;
            int cpu;
            int rc = bq_hog_start(&pid, &cpu);
            if (rc != 0) {
                fprintf(stderr, "pcq-bench: cannot start the hog: %s\n", strerror(rc));
                return 1;
            }
            hog_running = true;
            char on[32] = "not pinned";
            if (cpu >= 0)
                snprintf(on, sizeof on, "pinned to CPU %d", cpu);
            printf("\n#### with the hog from here on: a busy-loop process, pid %ld, %s ####\n",
                   pid, on);
            fflush(stdout);
            sleep_s(0.3); /* let it run and the scheduler place it */
        }
        char prefix[48];
        snprintf(prefix, sizeof prefix, "[%zu/%zu %.0fs]", ++group, groups,
                 (double)(pcq__now_ns() - t0) / 1e9);
        lim.progress_prefix = prefix;
        if (bq_measure_scenario(&pl.cfg[i], end - i, &lim, &res[i]) != 0) {
            if (csv != NULL) {
                fclose(csv);
                fprintf(stderr, "pcq-bench: %s left unfinished: %s kept as it was\n", partial,
                        csv_path);
            }
            return 1; /* the hog is stopped at exit */
        }
        if (lim.progress && tty)
            fprintf(stderr, "\r\033[K");
        bq_print_scenario(stdout, &res[i], end - i);
        fflush(stdout);
        for (size_t k = i; k < end && csv != NULL; k++)
            bq_csv_row(csv, &res[k]);
        i = end;
    }
    if (hog_running) {
        struct bq_hog_report h;
        bq_hog_stop(&h);
        bq_cpu_use_now(&use_end);
        bq_others_cpus(&use_mid, &use_end, hog_load, sizeof hog_load);
        printf("\nthe hog: pid %ld, stopped; it ran %.1f s and used %.1f s of CPU\n"
               "the hog half: %s\n",
               h.pid, h.wall_s, h.cpu_s, hog_load);
    } else {
        bq_cpu_use_now(&use_end);
        idle_others = bq_others_cpus(&use_start, &use_end, idle_load, sizeof idle_load);
        printf("\nthe idle machine: %s\n", idle_load);
    }
    int bad = 0;
    if (goals) {
        struct bq_cell grid[128];
        struct bq_scope scope;
        memset(&scope, 0, sizeof scope);
        if (matrix != NULL) {
            scope.cells = pl.cells;
            scope.n_cells = pl.n_cells;
            scope.what = strcmp(matrix, "quick") == 0 ? "the quick matrix's subset of 90"
                                                      : "the whole grid";
        } else {
            scope.cells = grid;
            scope.n_cells = bq_goal1_grid(grid, sizeof grid / sizeof grid[0]);
            scope.what = "the whole grid";
        }
        scope.skipped = skipped_peers();
        scope.idle_load = idle_load;
        scope.hog_load = hog_load;
        scope.idle_others = idle_others;
        scope.processes_only = processes;
        bq_measure_footprint(&scope.footprint);
        bad = bq_print_goals(stdout, res, pl.n, &scope);
    }
    printf("\n%zu configurations in %zu scenarios, %.0f s\n", pl.n, groups,
           (double)(pcq__now_ns() - t0) / 1e9);
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
    free(pl.cells);
    return strict && bad ? 3 : 0;
}
