/*
 * harness.h — configurations, measurements and reports of pcq-bench
 * (run.c measures; machine.c describes the machine; report.c prints the
 * table and writes the CSV; goals.c judges the results against the goals;
 * main.c reads the options and the matrices).
 */
#ifndef PCQ_BENCH_HARNESS_H
#define PCQ_BENCH_HARNESS_H

#include <stdio.h>

#include "bench.h"

/* One configuration: a queue and what it moves. */
struct bq_config {
    const struct bq_ops *ops;
    const char *section;  /* the table section it is printed under */
    unsigned producers, consumers;
    size_t capacity;
    size_t batch;         /* 1: single-element calls */
    size_t elem_size;     /* bytes, >= 8 */
    uint64_t count;       /* throughput: elements per run (split over producers) */
    bool latency;         /* ping-pong instead of throughput */
    uint64_t round_trips; /* ping-pong: measured round trips per run */
};

/* How to measure. */
struct bq_limits {
    unsigned repeats;     /* measured runs (median, min, max over them) */
    unsigned warmups;     /* unmeasured runs before them */
    double time_limit_s;  /* a spinning queue's run: then "did not finish" */
    double hang_limit_s;  /* a blocking queue's run: then a fatal error */
    bool progress;        /* a progress line on stderr */
    const char *progress_prefix; /* e.g. "[12/96]" */
};

enum bq_status { BQ_ST_OK, BQ_ST_DNF };

struct bq_stat {
    double med, min, max;
};

struct bq_result {
    struct bq_config cfg;
    enum bq_status status;
    unsigned runs;           /* measured runs that finished */
    size_t eff_cap;          /* the capacity the queue really had; 0: unbounded */
    bool by_pointer;         /* elements travelled as pointers to preallocated slots */
    struct bq_stat eps;      /* throughput: elements per second */
    struct bq_stat p50, p99, max; /* latency: round trip, ns */
    uint64_t allocs;         /* allocator calls inside the loops, all runs */
    double limit_s;          /* did not finish: the time limit a run outlived */
    uint64_t dnf_count;      /* did not finish: elements (round trips) that run had to move */
    double seconds;          /* wall time of the whole measurement, warm-ups included */
};

/* Measure one configuration. Returns 0 (res filled: OK or did not finish)
 * or -1 when a run failed its verification or the queue reported an error
 * (printed on stderr; nothing is stored). Exits the process with status 4
 * when a blocking queue's run outlives the hang limit. */
int bq_measure(const struct bq_config *cfg, const struct bq_limits *lim, struct bq_result *res);

/* Whether the configuration fits the queue (its flags, batch calls, elem size). */
bool bq_fits(const struct bq_config *cfg, const char **why);

/* Human label of a configuration, e.g. "pcq 4x4 cap 64 batch 1 elem 8". */
void bq_label(const struct bq_config *cfg, char *buf, size_t len);

/* What pcq_create asks of the allocator beyond capacity x elem_size, over a
 * few shapes (one aligned_alloc per queue, seen by alloc_count.c). */
struct bq_footprint {
    size_t min_extra, max_extra;
    unsigned shapes; /* shapes measured; 0: none could be created */
};
void bq_measure_footprint(struct bq_footprint *fp);

/* ---- machine.c ---- */

/* The machine description, one line. */
const char *bq_machine(void);

/* ---- report.c ---- */

/* The header lines: machine, compiler, libraries, what was skipped. */
void bq_print_header(FILE *out, const struct bq_ops *const *all, size_t n_ops,
                     const struct bq_limits *lim, const char *matrix);
/* One row of the table (the section title first when it changes). */
void bq_print_row(FILE *out, const struct bq_result *r, const struct bq_result *all, size_t n);
/* The CSV: header line, then one line per result. */
void bq_csv_header(FILE *csv, const char *machine_comment);
void bq_csv_row(FILE *csv, const struct bq_result *r);

/* ---- goals.c ---- */

/* One line per goal over the results; returns how many are not PASS. */
int bq_print_goals(FILE *out, const struct bq_result *all, size_t n,
                   const struct bq_footprint *fp);

#endif
