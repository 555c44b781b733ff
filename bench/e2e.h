/* scnn_bench_e2e's shared declarations: bench/e2e_main.c (the command line) and one file per
 * concept: e2e_util.c (messages, allocation, the median: support code core/ lacks), e2e_modes.c (how long each measurement runs), e2e_child.c (the child side
 * of a measurement), e2e_spawn.c (the parent side: spawning a child, its key=value answers,
 * its peak memory), e2e_run.c (every backend end to end: train.csv, breakdown.csv),
 * e2e_csv.c (reading our CSV files), e2e_scaling.c, e2e_fullmem.c, e2e_summary.c. */
#ifndef SCNN_BENCH_E2E_H
#define SCNN_BENCH_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "scnn.h"

#define RSS_LIMIT_MB 4096.0
#define LOSS_RTOL 1e-3
#define MAX_BACKENDS 16
#define MAX_THREADS 64
#define MAX_PHASES SCNN_PROFILE_MAX
#define TRAIN_POOL 2500  /* images the timing children cycle through (10 batches of 250) */

extern const char *prog;

/* ---- e2e_util.c ---- */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void *xmalloc(size_t n);
char *xstrdup(const char *s);
double median(double *v, int n);  /* sorts v */
int online_cores(void);
int default_threads(void);        /* OMP_NUM_THREADS (its first number), else the online cores */
const char *csv_num(char *buf, size_t len, double v, const char *fmt);  /* "nan" if not finite */
void write_file_or_die(const char *path, const scnn_strbuf *text);  /* atomic; dies on failure */

/* ---- e2e_modes.c ---- */
typedef struct mode_cfg {
    const char *name;
    int short_images, short_batch, short_eval;  /* the run every backend repeats (vs naive) */
    int long_images, long_batch, long_eval;     /* more images, fast backends only (0: none) */
    int train_warmup, train_steps, train_steps_naive;
    double train_min_time;                      /* naive: no minimum time */
    int infer_warmup, infer_steps, infer_steps_naive;
    double infer_min_time;
    int lat_warmup, lat_count, lat_count_naive;
    int prof_steps;
    double child_timeout;
} mode_cfg;

const mode_cfg *mode_find(const char *name);

/* ---- e2e_child.c ---- */
int child_main(int argc, char **argv);

/* ---- e2e_spawn.c ---- */
typedef struct child_res {
    bool ok;             /* exited 0 within the time limit */
    bool timed_out;
    char why[256];
    char *out;           /* its stdout */
    double rss_mb;       /* its peak resident memory */
    double wall_s;
} child_res;

void res_free(child_res *r);
const char *res_get(const child_res *r, const char *key, double *v);
double res_num(const child_res *r, const char *key);
void spawn(char *const argv[], int threads, double timeout_s, FILE *log, child_res *r);

typedef struct phase {
    char name[64];
    double s;
} phase;

typedef struct e2e_row {
    char backend[32], impl[160], status[320];
    bool peer, ok;
    int threads;
    double train_ips, infer_ips, latency_ms, latency_p90_ms, step_ms;
    double rss_mb, train_rss_mb, infer_rss_mb, latency_rss_mb, short_rss_mb;
    int short_images;
    double train_loss, final_loss, final_acc;
    char matches[8];
    int long_images;
    double long_loss, long_acc;
    char long_matches[8];
    phase phases[MAX_PHASES];
    int nphases;
    double prof_step_ms;
} e2e_row;

typedef struct run_opts {
    const char *backends, *data, *out_dir, *pytorch, *python;
    const mode_cfg *mode;
    int threads;
    int torch_threads[4];
    int n_torch;
    uint64_t seed;
} run_opts;

typedef struct spawn_spec {
    const char *kind;
    int images, batch, eval, warmup, steps, prof_steps;
    double min_time;
    int dropout;
} spawn_spec;

void measure(const run_opts *o, const e2e_row *w, const char *self, const char *weights,
             const spawn_spec *s, child_res *r);

/* ---- e2e_run.c, e2e_scaling.c, e2e_fullmem.c, e2e_summary.c: the commands ---- */
int run_main(const run_opts *o, const char *self);
int scaling_main(const char *self, const char *backend, const int *threads, int nt,
                 const mode_cfg *M, const char *data, const char *ops_path, const char *out,
                 uint64_t seed);
int fullmem_main(const char *scnn, const char *backend, double seconds, const char *data,
                 const char *out, const char *log_path);
int summary_main(const char *dir, bool markdown);

/* ---- e2e_csv.c: our own CSV files (no quoting, '#' comment lines) ---- */
typedef struct csv {
    int ncol, nrows;
    char **head;
    char ***cell;
} csv;

bool csv_read(csv *c, const char *path);
void csv_free(csv *c);
int csv_col(const csv *c, const char *name);
const char *csv_get(const csv *c, int r, const char *name);
double csv_num_at(const csv *c, int r, const char *name);
/* Column `field` of an ops.csv row (batch 250), NAN if absent. */
double ops_field(const csv *ops, const char *backend, const char *op, const char *dir,
                 int threads, const char *field);
/* conv2 of all three directions: time of the three together, as one rate (GFLOP/s). */
double conv2_all(const csv *ops, const char *backend, int threads);

#endif
