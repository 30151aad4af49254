/*
 * harness.h — configurations, measurements and reports of pcq-bench
 * (run.c measures a scenario in interleaved rounds; work.c calibrates the
 * per-element work; hog.c keeps a CPU busy; machine.c describes the
 * machine; report.c prints the table and writes the CSV; goals.c judges
 * the results against the goals; main.c reads the options and matrices).
 */
#ifndef PCQ_BENCH_HARNESS_H
#define PCQ_BENCH_HARNESS_H

#include <stdio.h>
#include <sys/types.h>

#include "bench.h"

/* One configuration: a queue and what it moves. Configurations that differ
 * only in the queue form a scenario (bq_same_scenario), measured together
 * in interleaved rounds and compared with each other. */
struct bq_config {
    const struct bq_ops *ops;
    const char *section;  /* the table section it is printed under */
    unsigned producers, consumers;
    size_t capacity;
    size_t batch;         /* 1: single-element calls */
    size_t elem_size;     /* bytes, >= 8 */
    uint64_t count;       /* throughput: elements per run (split over producers); 0: sized
                             so that a run lasts bq_limits.run_s; ping-pong: 0 likewise */
    bool latency;         /* ping-pong instead of throughput */
    uint64_t round_trips; /* ping-pong: measured round trips per run (0: sized) */
    uint64_t work_ns;          /* consumers: calibrated work per element */
    uint64_t producer_work_ns; /* producers: the same, before each push */
    uint64_t pace_ns;     /* > 0: a paced run, one element per pace_ns (CPU cost) */
    bool hog;             /* measured while hog.c keeps one CPU busy */
    bool processes;       /* every worker in a process of its own (--processes) */
};

/* How to measure. */
struct bq_limits {
    unsigned repeats;     /* measured rounds: every queue of a scenario once per round */
    unsigned warmups;     /* unmeasured rounds before them */
    double run_s;         /* a sized run lasts about this long */
    double time_limit_s;  /* a spinning queue's run: then "did not finish" */
    double hang_limit_s;  /* a blocking queue's run: then a fatal error */
    double ns_per_iter;   /* bq_work's cost per iteration on this machine (work.c) */
    bool progress;        /* a progress line on stderr */
    bool log_runs;        /* one line per run on stderr: round and queue, in order */
    const char *progress_prefix; /* e.g. "[12/96]" */
};

#define BQ_MAX_ROUNDS 32

enum bq_status { BQ_ST_OK, BQ_ST_DNF };

struct bq_stat {
    double med, min, max;
};

/* What one measured run gave. */
struct bq_round {
    double eps;           /* throughput (paced: the rate achieved), elements/s */
    double p50, p99, max; /* ping-pong round trip, ns */
    double cpu;           /* consumers' CPU time per element, ns */
    double fair;          /* max/min of the elements each consumer took (1: even) */
};

struct bq_result {
    struct bq_config cfg;
    enum bq_status status;
    unsigned runs;           /* measured rounds that finished */
    uint64_t count;          /* elements (ping-pong: round trips) per measured run */
    size_t eff_cap;          /* the capacity the queue really had; 0: unbounded */
    bool by_pointer;         /* elements travelled as pointers to preallocated slots */
    struct bq_round round[BQ_MAX_ROUNDS]; /* in round order */
    struct bq_stat eps, p50, p99, max, cpu, fair; /* over the rounds */
    uint64_t allocs;         /* allocator calls inside the loops, all runs */
    double limit_s;          /* did not finish: the time limit a run outlived */
    uint64_t dnf_count;      /* did not finish: elements (round trips) that run had to move */
    double seconds;          /* wall time of this queue's runs, sizing and warm-ups included */
};

/* The figures a round gives, and ratios of them between two queues. */
enum bq_figure { BQ_FIG_EPS, BQ_FIG_P50, BQ_FIG_CPU, BQ_FIG_FAIR };
double bq_round_figure(const struct bq_round *r, enum bq_figure f);
/* The result's median, min and max of figure f (its runs must be > 0). */
struct bq_stat bq_stat_of(const struct bq_result *r, enum bq_figure f);

/* a's figure over b's: the ratio of their medians (med), and the smallest
 * (lo) and largest (hi) ratio of one round's runs, round i with round i,
 * over the rounds both finished. ok: both have rounds. */
struct bq_ratio {
    bool ok;
    double med, lo, hi;
};
struct bq_ratio bq_ratio_of(const struct bq_result *a, const struct bq_result *b,
                            enum bq_figure f);

/* Whether two configurations are one scenario: everything but the queue
 * (and the table section) is the same. */
bool bq_same_scenario(const struct bq_config *a, const struct bq_config *b);

/* Measure one scenario: cfg[0..n) differ only in the queue. Sized runs are
 * sized per queue (a pilot run, then the first warm-up); then each warm-up
 * and measured round runs every queue once, in the order given, so that a
 * drift of the machine hits them alike. Returns 0 (res[0..n) filled: OK or
 * did not finish) or -1 when a run failed its verification or a queue
 * reported an error (printed on stderr; nothing is stored). Exits the
 * process with status 4 when a blocking queue's run outlives the hang limit. */
int bq_measure_scenario(const struct bq_config *cfg, size_t n, const struct bq_limits *lim,
                        struct bq_result *res);

/* Whether the configuration fits the queue (its flags, batch calls, elem size). */
bool bq_fits(const struct bq_config *cfg, const char **why);

/* Human label of a configuration, e.g. "pcq 4x4 cap 64 batch 1 elem 8 work 40 idle". */
void bq_label(const struct bq_config *cfg, char *buf, size_t len);
/* The same without the queue's name: the scenario. */
void bq_scenario_label(const struct bq_config *cfg, char *buf, size_t len);

/* What pcq_create asks of the allocator beyond capacity x elem_size, over a
 * few shapes (one aligned_alloc per queue, seen by alloc_count.c). */
struct bq_footprint {
    size_t min_extra, max_extra;
    unsigned shapes; /* shapes measured; 0: none could be created */
};
void bq_measure_footprint(struct bq_footprint *fp);

/* ---- work.c ---- */

/* bq_work's cost per iteration on this machine, in ns (the fastest of
 * several timings: what the CPU does when nothing else runs). */
double bq_calibrate_work(void);
/* Iterations that make `ns` of work. */
uint64_t bq_work_iters(uint64_t ns, double ns_per_iter);

/* ---- procs.c ---- */

/* Memory that processes forked afterwards share (anonymous, MAP_SHARED),
 * zeroed; exits the benchmark when there is none. */
void *bq_shared_alloc(size_t bytes);
void bq_shared_free(void *p, size_t bytes);

/* In a child just forked: have the kernel kill it when `parent` dies
 * (Linux); false when the parent is already gone. */
bool bq_tie_to_parent(pid_t parent);

/* How a worker of a process run uses the queues (bq_run_processes). */
enum {
    BQ_USE_WRITES = 1u << 0,      /* pushes into the run's queue */
    BQ_USE_READS = 1u << 1,       /* pops from it */
    BQ_USE_BACK_WRITES = 1u << 2, /* ping-pong: pushes into the reply queue */
    BQ_USE_BACK_READS = 1u << 3   /* pops from it */
};

/* Run worker i in a process of its own: in_child for its handles (use[i]
 * says how it uses the queues), then fn[i](&w[i]). r and w must be in
 * bq_shared_alloc memory, r's barrier, mutex and condition variable
 * process-shared. Returns once every worker's process is gone: 0, or -1
 * when one failed or died (said on stderr; the others were killed then).
 * Exits with status 4 past lim->hang_limit_s. */
int bq_run_processes(struct bq_run *r, struct bq_worker *w, bq_loop_fn *fn, const unsigned *use,
                     const struct bq_limits *lim, const char *label);

/* ---- hog.c ---- */

/* Start a child process that spins, pinned to one CPU when the system lets
 * it; it is stopped by bq_hog_stop, at exit, on SIGINT/SIGTERM/SIGHUP, and
 * by the kernel if this process dies first. 0 or an errno; *pid and *cpu
 * (-1: not pinned) say where it runs. */
int bq_hog_start(long *pid, int *cpu);
struct bq_hog_report {
    long pid;
    int cpu;       /* the CPU it was pinned to; -1: not pinned */
    double wall_s; /* how long it ran */
    double cpu_s;  /* the CPU time it used: close to wall_s, or it was no hog */
};
/* Stop the hog (if one runs) and say what it did; rep may be NULL. */
void bq_hog_stop(struct bq_hog_report *rep);

/* ---- machine.c ---- */

/* The machine description, one line. */
const char *bq_machine(void);

/* CPU time used on the whole machine and by this process, at one moment. */
struct bq_cpu_use {
    bool ok; /* the machine's figures could be read (/proc/stat) */
    uint64_t t_ns;
    double busy_s, steal_s, self_s;
};
void bq_cpu_use_now(struct bq_cpu_use *u);
/* Between a and b: one line on who used the CPUs; returns the CPUs (on
 * average) that other processes used or the hypervisor stole. */
double bq_others_cpus(const struct bq_cpu_use *a, const struct bq_cpu_use *b, char *line,
                      size_t len);

/* ---- report.c ---- */

/* The header lines: machine, compiler, method, queues, what was skipped. */
void bq_print_header(FILE *out, const struct bq_ops *const *all, size_t n_ops,
                     const struct bq_limits *lim, const char *matrix);
/* One scenario's rows (all its queues), under its section and scenario titles. */
void bq_print_scenario(FILE *out, const struct bq_result *res, size_t n);
/* The CSV: header lines, then one line per result. */
void bq_csv_header(FILE *csv, const char *machine, const struct bq_limits *lim);
void bq_csv_row(FILE *csv, const struct bq_result *r);

/* ---- goals.c ---- */

/* A cell of goal 1's grid: P x C, capacity, consumer work, machine. */
struct bq_cell {
    unsigned p, c;
    size_t cap;
    uint64_t work_ns;
    bool hog;
};

/* What the goals are judged over: goal 1's cells in this matrix (a goal
 * whose cells were not all measured is NOT MEASURED) and the memory line. */
struct bq_scope {
    const struct bq_cell *cells;
    size_t n_cells;
    const char *what;    /* e.g. "the quick matrix's subset" */
    const char *skipped; /* bounded blocking peers not built, e.g. "boost"; "" if none */
    const char *idle_load, *hog_load; /* who used the CPUs in each half ("": no such half) */
    double idle_others;  /* CPUs other processes used (or were stolen) in the idle half */
    struct bq_footprint footprint;
    bool processes_only; /* a run of process scenarios alone: judge goal 6 only */
};

/* Goal 1's whole grid, for bench-full and for --goals on custom runs. */
size_t bq_goal1_grid(struct bq_cell *out, size_t max);

/* The details, then one line per goal; returns how many are not PASS. */
int bq_print_goals(FILE *out, const struct bq_result *all, size_t n, const struct bq_scope *scope);

#endif
