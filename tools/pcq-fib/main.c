/*
 * pcq-fib — the Fibonacci pipeline on pcq: generator threads push the terms
 * through a bounded queue to consumer threads, which print them.
 *
 * The pipeline itself lives in pipeline.c (on pcq_run() from libpcq), the
 * arithmetic in numbers.c, the defaults and limits in defaults.h; this file
 * is the command line: options, output, the summary, the trace and the
 * progress bar. Run `pcq-fib --help` for the options.
 *
 * Output goes through stdio from one thread at a time: pipeline.c
 * serialises on_term and on_trace under its lock, and the progress bar
 * thread writes under `tool.mu`, which on_term also takes (always after
 * the pipeline's lock).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cli.h"
#include "fatal.h"
#include "pcq_shm.h"
#include "pipeline.h"
#include "rendezvous.h"

static const char *prog = "pcq-fib";

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: %s [OPTION]...\n"
        "Generate Fibonacci numbers in producer threads and print them from\n"
        "consumer threads, through a bounded pcq queue.\n"
        "\n"
        "What to generate:\n"
        "  -n, --count N         the first N terms, F(0)..F(N-1) (default %d:\n"
        "                        every term that fits 64 bits)\n"
        "      --below N         every term below N, like a generator yielding\n"
        "                        a while a < N (instead of --count)\n"
        "      --big             arbitrary precision (GMP): each term is a heap\n"
        "                        number whose ownership passes through the queue\n"
        "                        to the consumer, who frees it. Without --big the\n"
        "                        terms are exact 64-bit numbers and F(%d) =\n"
        "                        %" PRIu64 " is the last: asking for\n"
        "                        more is an error, never a wrapped number.\n"
        "\n"
        "The pipeline:\n"
        "      --producers P     generator threads (default %u, at most %u); each\n"
        "                        computes every P-th term directly (fast doubling)\n"
        "      --consumers C     consumer threads (default %u, at most %u)\n"
        "      --capacity K      queue capacity in terms (default %u)\n"
        "      --batch B         terms per push and per pop (default %u)\n"
        "      --batch-min N     a consumer waits until N terms are there at\n"
        "                        once (at most B; default %u) before it takes\n"
        "                        them: fewer wake-ups, more latency\n"
        "      --linger US       ... or at most US microseconds, then takes what\n"
        "                        is there (default 0: no limit; needed with\n"
        "                        --ordered and --batch-min above 1)\n"
        "      --ordered         print in index order however many threads run:\n"
        "                        consumers restore the order in a bounded reorder\n"
        "                        window, and generators never run further ahead\n"
        "                        of the next term due out than the window\n"
        "      --window W        with --ordered: the window in terms (default\n"
        "                        2 * (K + (P + C) * B)); memory for terms in\n"
        "                        flight is bounded by W\n"
        "      --produce-delay MS  simulated work per term produced, in ms\n"
        "      --consume-delay MS  simulated work per term consumed, in ms\n"
        "\n"
        "Across two processes (64-bit terms, unordered):\n"
        "      --shm NAME        run one half of the pipeline over the shared\n"
        "                        queue NAME ('/' then 1 to %d characters, no '/');\n"
        "                        another pcq-fib runs the other half\n"
        "      --role ROLE       with --shm: 'producer' (the generators: --count,\n"
        "                        --below, --producers, --capacity, --produce-delay)\n"
        "                        or 'consumer' (the printers: --consumers,\n"
        "                        --consume-delay); --batch for either. Start them\n"
        "                        in either order: the producer creates the queue\n"
        "                        (or replaces one an earlier run left) and, done,\n"
        "                        waits until a consumer has it; the consumer waits\n"
        "                        for a live producer and removes the name once it\n"
        "                        has the queue. The consumer checks every term and\n"
        "                        that the run is whole; one producer thread and one\n"
        "                        consumer thread (the defaults) keep index order\n"
        "\n"
        "Output:\n"
        "  A line per term, \"F(12) = 144\" (in the order consumed unless\n"
        "  --ordered), then a summary line: terms, checksum, time, throughput,\n"
        "  waits. The checksum is the sum of the terms (mod 2^64 without --big;\n"
        "  the sum of F(0)..F(n) is F(n+2) - 1).\n"
        "      --quiet           the summary line only\n"
        "      --trace           on stderr, every hand-off with a timestamp: which\n"
        "                        thread pushed or got which term, and when it had\n"
        "                        to wait (\"P0: waiting for room\", \"C1: got\n"
        "                        F(12) = 144\")\n"
        "  A progress bar is drawn on stderr when the run lasts over a second\n"
        "  and stderr is a terminal (not with --trace).\n"
        "  -h, --help            this help\n"
        "\n"
        "Exit status: 0 on success, 1 when the run failed (e.g. a write error, or\n"
        "with --shm the other process gave up), 2 for a bad option.\n",
        prog, FIB_DEFAULT_COUNT, FIB_MAX_U64_INDEX, FIB_MAX_U64, FIB_DEFAULT_PRODUCERS,
        FIB_MAX_THREADS, FIB_DEFAULT_CONSUMERS, FIB_MAX_THREADS, FIB_DEFAULT_CAPACITY,
        FIB_DEFAULT_BATCH, FIB_DEFAULT_BATCH_MIN, CLI_SHM_NAME_MAX);
}

/* Every refusal of the command line names the tool. */
#define bad_usage(...) cli_bad_usage(prog, __VA_ARGS__)

/* A decimal number in lo..hi, or a usage error naming the option. */
static uint64_t number(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    uint64_t v = 0;
    bool ok = *s != '\0';
    for (const char *c = s; ok && *c != '\0'; c++) {
        unsigned d = (unsigned)(*c - '0');
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - d) / 10)
            ok = false;
        else
            v = v * 10 + d;
    }
    if (!ok || v < lo || v > hi)
        bad_usage("%s: expected a whole number from %" PRIu64 " to %" PRIu64 ", got '%s'",
                  opt, lo, hi, s);
    return v;
}

enum {
    OPT_BELOW = 256,
    OPT_PRODUCERS,
    OPT_CONSUMERS,
    OPT_CAPACITY,
    OPT_BATCH,
    OPT_BATCH_MIN,
    OPT_LINGER,
    OPT_WINDOW,
    OPT_ORDERED,
    OPT_BIG,
    OPT_PRODUCE_DELAY,
    OPT_CONSUME_DELAY,
    OPT_TRACE,
    OPT_QUIET,
    OPT_SHM,
    OPT_ROLE,
    OPT_COUNT, /* -n, noted among the options given */
    OPT_LAST
};

struct options {
    fib_config_t cfg; /* the run, completed by fib_config_check */
    bool count_set;
    const char *below;
    bool trace, quiet;
    const char *shm;  /* --shm NAME: one half of the pipeline; NULL: both */
    const char *role; /* --role: "producer" or "consumer" */
    const char *set[OPT_LAST - OPT_BELOW]; /* options given, by enum value: their long
                                              names (no "--"), NULL when not given */
};


/* An option given, by its enum value: its long name, or NULL. */
static const char *given(const struct options *o, int opt) { return o->set[opt - OPT_BELOW]; }

/* --shm and --role: both or neither, a valid name, and only the options
 * that the role's half of the pipeline has. */
static void check_shm(const struct options *o)
{
    static const int neither[] = {OPT_ORDERED, OPT_WINDOW, OPT_BIG, OPT_BATCH_MIN, OPT_LINGER};
    static const int producer_only[] = {OPT_COUNT, OPT_BELOW, OPT_PRODUCERS, OPT_CAPACITY,
                                        OPT_PRODUCE_DELAY};
    static const int consumer_only[] = {OPT_CONSUMERS, OPT_CONSUME_DELAY};
    if (o->shm == NULL || o->role == NULL)
        bad_usage("--shm NAME and --role producer|consumer go together");
    const char *why = cli_shm_name_problem(o->shm);
    if (why != NULL)
        bad_usage("--shm: '%s' is not a valid name: %s", o->shm, why);
    for (size_t i = 0; i < sizeof neither / sizeof neither[0]; i++)
        if (given(o, neither[i]) != NULL)
            bad_usage("--%s does not cross processes: %s", given(o, neither[i]),
                      neither[i] == OPT_BIG ? "a big term points into its maker's heap"
                      : neither[i] == OPT_BATCH_MIN || neither[i] == OPT_LINGER
                          ? "--shm consumers take what is there"
                          : "the reorder window bounds the generators by what the "
                            "consumers printed, which another process cannot see (one "
                            "producer and one consumer thread keep the order)");
    const bool producer = strcmp(o->role, "producer") == 0;
    const int *other = producer ? consumer_only : producer_only;
    const size_t n = producer ? sizeof consumer_only / sizeof consumer_only[0]
                              : sizeof producer_only / sizeof producer_only[0];
    for (size_t i = 0; i < n; i++)
        if (given(o, other[i]) != NULL)
            bad_usage("--%s is an option of the %s, not of --role %s", given(o, other[i]),
                      producer ? "consumer" : "producer", o->role);
}

static void parse(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"count", required_argument, NULL, 'n'},
        {"below", required_argument, NULL, OPT_BELOW},
        {"producers", required_argument, NULL, OPT_PRODUCERS},
        {"consumers", required_argument, NULL, OPT_CONSUMERS},
        {"capacity", required_argument, NULL, OPT_CAPACITY},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"batch-min", required_argument, NULL, OPT_BATCH_MIN},
        {"linger", required_argument, NULL, OPT_LINGER},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"ordered", no_argument, NULL, OPT_ORDERED},
        {"big", no_argument, NULL, OPT_BIG},
        {"produce-delay", required_argument, NULL, OPT_PRODUCE_DELAY},
        {"consume-delay", required_argument, NULL, OPT_CONSUME_DELAY},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"shm", required_argument, NULL, OPT_SHM},
        {"role", required_argument, NULL, OPT_ROLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.cfg.count = FIB_DEFAULT_COUNT};
    fib_config_t *cfg = &o->cfg;
    opterr = 0; /* our own messages */
    int c, li;
    while ((li = -1, c = getopt_long(argc, argv, ":n:h", longs, &li)) != -1) {
        if (c >= OPT_BELOW && c < OPT_LAST)
            o->set[c - OPT_BELOW] = longs[li].name;
        if (c == 'n')
            o->set[OPT_COUNT - OPT_BELOW] = "count";
        switch (c) {
        case 'n':
            cfg->count = number("--count", optarg, 0, UINT64_MAX);
            o->count_set = true;
            break;
        case OPT_BELOW: o->below = optarg; break;
        case OPT_PRODUCERS:
            cfg->producers = (unsigned)number("--producers", optarg, 1, FIB_MAX_THREADS);
            break;
        case OPT_CONSUMERS:
            cfg->consumers = (unsigned)number("--consumers", optarg, 1, FIB_MAX_THREADS);
            break;
        case OPT_CAPACITY: cfg->capacity = number("--capacity", optarg, 1, FIB_MAX_CAPACITY); break;
        case OPT_BATCH: cfg->batch = number("--batch", optarg, 1, FIB_MAX_BATCH); break;
        case OPT_BATCH_MIN:
            cfg->batch_min = number("--batch-min", optarg, 1, FIB_MAX_BATCH);
            break;
        case OPT_LINGER: cfg->linger_us = number("--linger", optarg, 0, FIB_MAX_LINGER_US); break;
        case OPT_WINDOW: cfg->window = number("--window", optarg, 1, FIB_MAX_WINDOW); break;
        case OPT_ORDERED: cfg->ordered = true; break;
        case OPT_BIG: cfg->big = true; break;
        case OPT_PRODUCE_DELAY:
            cfg->produce_delay_ms =
                (unsigned)number("--produce-delay", optarg, 0, FIB_MAX_DELAY_MS);
            break;
        case OPT_CONSUME_DELAY:
            cfg->consume_delay_ms =
                (unsigned)number("--consume-delay", optarg, 0, FIB_MAX_DELAY_MS);
            break;
        case OPT_TRACE: o->trace = true; break;
        case OPT_QUIET: o->quiet = true; break;
        case OPT_SHM: o->shm = optarg; break;
        case OPT_ROLE:
            if (strcmp(optarg, "producer") != 0 && strcmp(optarg, "consumer") != 0)
                bad_usage("--role: expected 'producer' or 'consumer', got '%s'", optarg);
            o->role = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
        case ':': bad_usage("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt != 0)
                bad_usage("unknown option '-%c'", optopt);
            bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        bad_usage("unexpected argument '%s'", argv[optind]);
    if (o->shm != NULL || o->role != NULL)
        check_shm(o);
    if (o->below != NULL && o->count_set)
        bad_usage("--count and --below exclude each other");
    if (cfg->window != 0 && !cfg->ordered)
        bad_usage("--window only makes sense with --ordered");
    size_t batch = cfg->batch != 0 ? cfg->batch : FIB_DEFAULT_BATCH;
    if (cfg->batch_min > batch)
        bad_usage("--batch-min %zu is above the batch (%zu): a consumer takes at most "
                  "--batch terms at once",
                  cfg->batch_min, batch);
    if (cfg->batch_min > 1 && cfg->ordered && cfg->linger_us == 0)
        bad_usage("--batch-min with --ordered needs --linger: a consumer waiting for its "
                  "batch may hold the term due out while the window holds back the rest");
    if (cfg->big && !fib_have_big())
        bad_usage("--big needs GMP, and this pcq-fib was built without it "
                  "(install libgmp-dev and rebuild)");
    if (o->below != NULL) {
        int rc = fib_count_below(o->below, cfg->big, &cfg->count);
        if (rc == EINVAL)
            bad_usage("--below: expected a whole number, got '%s'", o->below);
        if (rc == EOVERFLOW)
            bad_usage("--below %s: the terms below it go past F(%d) = %" PRIu64
                      ", the last that fits 64 bits; use --big",
                      o->below, FIB_MAX_U64_INDEX, FIB_MAX_U64);
    }
    /* The pipeline's own check, so that the summary shows what really ran
     * and a refused count is a usage error before any thread starts. */
    int rc = fib_config_check(cfg);
    if (rc == EOVERFLOW)
        bad_usage("--count %" PRIu64 " asks for F(0)..F(%" PRIu64 "), but F(%d) and beyond "
                  "do not fit 64 bits (F(%d) = %" PRIu64 " is the last); "
                  "use --big, or --count %d at most",
                  cfg->count, cfg->count - 1, FIB_MAX_U64_INDEX + 1, FIB_MAX_U64_INDEX,
                  FIB_MAX_U64, FIB_MAX_U64_COUNT);
    if (rc != 0)
        bad_usage("%s", strerror(rc));
}

/* ------------------------------------------------------------------ */
/* Output and the progress bar                                        */
/* ------------------------------------------------------------------ */

struct tool {
    bool quiet, big;
    bool progress;         /* immutable: a progress thread runs */
    uint64_t total;        /* immutable: terms expected */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* the progress thread waits here (timed) */
    uint64_t delivered;    /* mu */
    bool finished;         /* mu: the run is over */
    bool bar_shown;        /* mu: the bar is on screen now */
};

static int on_term(void *arg, unsigned consumer, const fib_term_t *t)
{
    struct tool *tl = arg;
    (void)consumer;
    if (tl->progress) {
        PCQ_CHECK(pthread_mutex_lock(&tl->mu));
        tl->delivered++;
        if (tl->bar_shown && !tl->quiet) { /* make room for the line */
            fputs("\r\033[K", stderr);
            tl->bar_shown = false;
        }
        PCQ_CHECK(pthread_mutex_unlock(&tl->mu));
    }
    return tl->quiet ? 0 : fib_term_print(stdout, t, tl->big);
}

static void on_trace(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

/* Draw the bar; caller holds tl->mu. */
static void draw_bar(struct tool *tl)
{
    enum { WIDTH = 40 };
    uint64_t total = tl->total > 0 ? tl->total : 1;
    unsigned fill = (unsigned)(tl->delivered * WIDTH / total);
    char bar[WIDTH + 1];
    for (unsigned i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r[%s] %3u%% %" PRIu64 "/%" PRIu64 " terms", bar,
            (unsigned)(tl->delivered * 100 / total), tl->delivered, tl->total);
    fflush(stderr);
    tl->bar_shown = true;
}

/* A deadline `ms` from now on CLOCK_MONOTONIC, the clock of tl->cv. */
static struct timespec after_ms(unsigned ms)
{
    uint64_t t = pcq__now_ns() + (uint64_t)ms * 1000000u;
    return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

/* Wait for the end of the run until `deadline`; caller holds tl->mu. */
static void wait_until(struct tool *tl, const struct timespec *deadline)
{
    while (!tl->finished) {
        int rc = pthread_cond_timedwait(&tl->cv, &tl->mu, deadline);
        if (rc == ETIMEDOUT)
            break;
        PCQ_CHECK(rc);
    }
}

/* The progress thread: silent for the first second, then a redraw every
 * 100 ms until the run is over. The timed waits pace the display only. */
static void *progress_main(void *arg)
{
    struct tool *tl = arg;
    PCQ_CHECK(pthread_mutex_lock(&tl->mu));
    struct timespec first = after_ms(1000);
    wait_until(tl, &first);
    while (!tl->finished) {
        draw_bar(tl);
        struct timespec next = after_ms(100);
        wait_until(tl, &next);
    }
    if (tl->bar_shown)
        fputs("\r\033[K", stderr);
    PCQ_CHECK(pthread_mutex_unlock(&tl->mu));
    return NULL;
}

static void summary(const fib_config_t *c, const fib_result_t *r)
{
    double rate = r->seconds > 0 ? (double)r->terms / r->seconds : 0;
    printf("summary: %" PRIu64 " terms", r->terms);
    if (r->terms > 0)
        printf(" F(0)..F(%" PRIu64 ")", r->terms - 1);
    printf(", checksum %s (%s), %.6f s, %.0f terms/s, waits: producers %" PRIu64
           ", consumers %" PRIu64 "; %u producer%s, %u consumer%s, capacity %zu, batch %zu",
           r->checksum_str != NULL ? r->checksum_str : "?",
           c->big ? "exact sum" : "sum mod 2^64", r->seconds, rate, r->run.push_waits,
           r->run.pop_waits, c->producers, c->producers == 1 ? "" : "s", c->consumers,
           c->consumers == 1 ? "" : "s", c->capacity, c->batch);
    if (c->batch_min > 1)
        printf(", batch-min %zu", c->batch_min);
    if (c->linger_us > 0)
        printf(", linger %" PRIu64 " us", c->linger_us);
    if (c->ordered)
        printf(", ordered (window %zu, peak %zu)", r->window, r->ahead_peak);
    printf("%s\n", c->big ? ", big" : "");
}

/* ------------------------------------------------------------------ */
/* --shm: one half of the pipeline, the other in another process      */
/* ------------------------------------------------------------------ */

static void consumer_waiting(const char *name)
{
    fprintf(stderr, "%s: waiting for a producer on %s\n", prog, name);
}

static void producer_waiting(void)
{
    fprintf(stderr, "%s: every term is in the queue; waiting for a consumer to take it\n", prog);
}

/* The queue of --shm NAME for this role, or a message and NULL. */
static pcq_t *shm_queue(const struct options *o, fib_shm_hold_t *hold)
{
    pcq_t *q = NULL;
    const bool producer = strcmp(o->role, "producer") == 0;
    int rc = producer ? fib_shm_producer(o->shm, o->cfg.capacity, &q, hold)
                      : fib_shm_consumer(o->shm, consumer_waiting, &q);
    if (rc == 0)
        return q;
    const char *why = rc == EBUSY      ? "another producer is running on it"
                      : rc == EPROTO   ? "it holds no pcq queue"
                      : rc == EMSGSIZE ? "its queue's elements are not pcq-fib terms"
                      : rc == EAGAIN   ? "the name kept changing (other producers?)"
                      : rc == EACCES   ? "permission denied (or the name is a symbolic link)"
                                       : strerror(rc);
    fprintf(stderr, "%s: --shm %s: %s\n", prog, o->shm, why);
    return NULL;
}

/* The summary of one half: the consumer's begins as the whole pipeline's
 * does (terms and checksum); the producer's says what it pushed. */
static void shm_summary(const struct options *o, const fib_config_t *c, const fib_result_t *r)
{
    const bool producer = strcmp(o->role, "producer") == 0;
    double rate = r->seconds > 0 ? (double)r->terms / r->seconds : 0;
    printf("summary: %s%" PRIu64 " terms", producer ? "producer: " : "", r->terms);
    if (r->terms > 0)
        printf(" F(0)..F(%" PRIu64 ")", r->terms - 1);
    if (producer)
        printf(" pushed into %s", o->shm);
    else
        printf(", checksum %s (sum mod 2^64)", r->checksum_str != NULL ? r->checksum_str : "?");
    printf(", %.6f s, %.0f terms/s, waits: %s %" PRIu64 "; %u %s%s, capacity %zu, batch %zu",
           r->seconds, rate, producer ? "producers" : "consumers",
           producer ? r->run.push_waits : r->run.pop_waits,
           producer ? c->producers : c->consumers, producer ? "producer" : "consumer",
           (producer ? c->producers : c->consumers) == 1 ? "" : "s", c->capacity, c->batch);
    printf("%s%s\n", producer ? "" : ", from ", producer ? "" : o->shm);
}

static int run_shm(const struct options *o)
{
    fib_shm_hold_t hold = {-1};
    pcq_t *q = shm_queue(o, &hold);
    if (q == NULL)
        return EXIT_FAILURE;
    const bool producer = strcmp(o->role, "producer") == 0;
    struct tool tl = {.quiet = o->quiet};
    fib_config_t cfg = o->cfg;
    cfg.capacity = pcq_capacity(q); /* a queue reused keeps its own */
    cfg.on_term = on_term;
    cfg.on_trace = o->trace ? on_trace : NULL;
    cfg.arg = &tl;
    fib_result_t res;
    int rc = fib_run_side(&cfg, producer ? FIB_GENERATORS : FIB_CONSUMERS, q, &res);
    if (rc == 0 && producer)
        rc = fib_shm_wait_taken(&hold, producer_waiting);
    int status = EXIT_SUCCESS;
    if (rc != 0) {
        const char *why = rc == ECANCELED ? "the other process gave up (the queue was aborted)"
                          : rc == EPROTO  ? "a term arrived damaged, twice, or the run ended "
                                            "with terms missing"
                                          : strerror(rc);
        fprintf(stderr, "%s: the %s failed after %" PRIu64 " terms: %s\n", prog, o->role,
                res.terms, why);
        status = EXIT_FAILURE;
    } else {
        shm_summary(o, &cfg, &res);
    }
    fib_result_free(&res);
    pcq_shm_close(q);
    fib_shm_release(&hold);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: writing the output: %s\n", prog, strerror(errno));
        status = EXIT_FAILURE;
    }
    return status;
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    if (o.shm != NULL)
        return run_shm(&o);

    struct tool tl = {.quiet = o.quiet, .big = o.cfg.big, .total = o.cfg.count};
    tl.progress = !o.trace && isatty(STDERR_FILENO);
    pthread_condattr_t ca;
    if (pthread_mutex_init(&tl.mu, NULL) != 0 || pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&tl.cv, &ca) != 0) {
        fprintf(stderr, "%s: cannot set up: out of resources\n", prog);
        return EXIT_FAILURE;
    }
    PCQ_CHECK(pthread_condattr_destroy(&ca));
    pthread_t bar;
    if (tl.progress && pthread_create(&bar, NULL, progress_main, &tl) != 0)
        tl.progress = false; /* no bar then; the run does not need it */

    fib_config_t cfg = o.cfg;
    cfg.on_term = on_term;
    cfg.on_trace = o.trace ? on_trace : NULL;
    cfg.arg = &tl;
    fib_result_t res;
    int rc = fib_run(&cfg, &res);

    if (tl.progress) {
        PCQ_CHECK(pthread_mutex_lock(&tl.mu));
        tl.finished = true;
        PCQ_CHECK(pthread_cond_signal(&tl.cv));
        PCQ_CHECK(pthread_mutex_unlock(&tl.mu));
        PCQ_CHECK(pthread_join(bar, NULL));
    }
    PCQ_CHECK(pthread_cond_destroy(&tl.cv));
    PCQ_CHECK(pthread_mutex_destroy(&tl.mu));

    int status = EXIT_SUCCESS;
    if (rc != 0) {
        fprintf(stderr, "%s: the run failed after %" PRIu64 " of %" PRIu64 " terms: %s\n",
                prog, res.terms, cfg.count, strerror(rc));
        status = EXIT_FAILURE;
    } else {
        summary(&cfg, &res);
    }
    fib_result_free(&res);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: writing the output: %s\n", prog, strerror(errno));
        status = EXIT_FAILURE;
    }
    return status;
}
