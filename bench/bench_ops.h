/* scnn_bench_ops internals: the per-operation harness (ops.c), the FP32 peak probe (peak.c,
 * peak_fma.c) and the peers (peers_onednn.c, peers_openblas.c), which compile to stubs that say
 * why when their library was missing at build time. */
#ifndef SCNN_BENCH_OPS_H
#define SCNN_BENCH_OPS_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"
#include "scnn.h"

#define BENCH_MAX_THREADS 16  /* entries in a --threads list */
#define BENCH_MAX_EXTRA 4
#define BENCH_MAX_REPS 10000  /* timed samples per row, at most */

typedef struct bench_ops_opts {
    const char *backends;   /* comma list (registry names, onednn, openblas); NULL: all */
    const char *ops;        /* comma list of op names; NULL: all */
    int threads[BENCH_MAX_THREADS];
    int n_threads;          /* 0: 1 and all cores (omp_get_max_threads) */
    int batch;              /* 250 */
    int reps;               /* minimum timed repetitions (naive: at most 2); -1: 3 (quick 2) */
    double min_time;        /* seconds of timed repetitions per row; -1: 0.3 (quick 0) */
    bool quick;             /* minimal: 2 reps (naive 1), no minimum time, no extra warm-up */
    const char *out;        /* CSV path or NULL */
    const char *json;       /* Google Benchmark's JSON of the same runs, or NULL */
    const char *pairs_out;  /* ratios.csv of the paired rounds, or NULL */
    int rounds;             /* paired rounds per group; -1: 7 (quick 3) */
    unsigned long long seed;
    FILE *log;              /* context, table, warnings (stdout) */
    /* Tests inject extra backends here (a deliberately broken one, say); they run like
     * registry backends. */
    const scnn_backend *extra[BENCH_MAX_EXTRA];
    int n_extra;
} bench_ops_opts;

void bench_ops_defaults(bench_ops_opts *o);
/* Parses the command line into o. Returns 0 to run, 1 after --help (usage printed to out),
 * -1 on a bad flag (one line in err). */
int bench_ops_parse(bench_ops_opts *o, int argc, char **argv, FILE *out, char *err,
                    size_t errlen);
/* The ops, by index (NULL past the last); what each is; whether a name is one; whether every name of a comma
 * list is one (else the first that is not goes to bad). */
const char *bench_op_name(int i);
const char *bench_op_what(int i);     /* a few words on what it is */
bool bench_op_known(const char *name);
bool bench_op_list_check(const char *list, char *bad, size_t badlen);
/* Runs the benchmark. Returns the exit status: 0 all rows correct, 1 some row failed its
 * correctness check (or a peer failed), 2 a setup error (unknown backend or op, I/O). */
int bench_ops_run(const bench_ops_opts *o);

/* ---- FP32 FMA peak (peak.c) ---- */

enum bench_isa { BENCH_ISA_AVX2, BENCH_ISA_AVX512, BENCH_ISA_COUNT };
/* Measured GFLOP/s of independent FMA chains on `threads` threads; 0 if the CPU lacks isa. */
double bench_peak_gflops(enum bench_isa isa, int threads);
/* Kernels (peak_fma.c, compiled with -mavx2 -mfma): iters rounds of independent FMA chains;
 * return a value that depends on every chain, and the FLOPs done in *flops. */
float bench_fma_avx2(long iters, double *flops);
float bench_fma_avx512(long iters, double *flops);

/* ---- peers ---- */

enum bench_dir { BENCH_FWD, BENCH_BWD_D, BENCH_BWD_W };

/* oneDNN convolution (peers_onednn.c). */
bool peer_onednn_built(const char **why_not);
const char *peer_onednn_version(void);
typedef struct peer_conv peer_conv;
/* Sets up one direction of d on `threads` OpenMP threads: blocked layouts of oneDNN's choice,
 * our NHWC/HWIO inputs reordered in (here, untimed). fwd: x, w, b (bias + ReLU as our forward);
 * bwd_d: dy, w; bwd_w: x, dy (with the bias gradient). NULL with a message on failure. */
peer_conv *peer_onednn_conv_create(const scnn_conv2d *d, enum bench_dir dir, int threads,
                                   const float *x, const float *w, const float *b,
                                   const float *dy, char *err, size_t errlen);
const char *peer_onednn_conv_impl(const peer_conv *p);  /* "jit:avx2", ... */
void peer_onednn_conv_run(peer_conv *p);                /* the timed part */
/* Reorders the result back to our layout: fwd y; bwd_d dx; bwd_w dw and db (out2). */
void peer_onednn_conv_fetch(peer_conv *p, float *out, float *out2);
void peer_onednn_conv_free(peer_conv *p);

/* OpenBLAS sgemm (peers_openblas.c), with the backend gemm's row-major signature. */
bool peer_openblas_built(const char **why_not);
const char *peer_openblas_version(void);
const char *peer_openblas_core(void);  /* the kernel set OpenBLAS picked: "Haswell", ... */
void peer_openblas_set_threads(int threads);
int peer_openblas_threads(void);
void peer_openblas_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* ---- Google Benchmark (gbench_shim.cc, the only C++) ---- */

/* One row: a benchmark of its own, already checked against naive (ok false: it runs as
 * SkipWithError(msg), untimed). The figures come back in the fields after "results". */
typedef struct bench_gb_row {
    char name[96];          /* the benchmark's name; "/threads:N" (its Arg) is appended */
    int threads;
    long iterations;        /* calls per repetition */
    int repetitions;
    double flops, bytes;    /* per call: the GFLOP/s and GB/s rate counters */
    bool ok;
    const char *msg;
    void (*run)(void *ctx);                       /* one call */
    void (*set_threads)(void *ctx, int threads);  /* OpenMP's (and a peer's) thread count */
    void *ctx;
    /* results, seconds per call */
    int reps;
    double median_s, min_s, stddev_s, cv;
    bool error;
} bench_gb_row;

#define BENCH_GB_MAX_MEMBERS 16
#define BENCH_GB_MAX_RATIOS 32

/* One group timed in paired rounds: every member once per round (calls[m] calls), the order
 * alternating among the first n_alternating members; the others (those that must settle
 * after a call, untimed) go last. samples: [n][rounds] seconds per call. ratio r:
 * samples[ratio_of[r][1]] / samples[ratio_of[r][0]] per round (member 0's speed over member
 * 1's), its median, min and max in ratio[r]. */
typedef struct bench_gb_pair {
    char name[96];
    int threads, rounds, n, n_alternating;
    void *ctx[BENCH_GB_MAX_MEMBERS];
    long calls[BENCH_GB_MAX_MEMBERS];
    void (*run)(void *ctx);
    void (*set_threads)(void *ctx, int threads);
    double *samples;
    int nratios;
    int ratio_of[BENCH_GB_MAX_RATIOS][2];
    char ratio_name[BENCH_GB_MAX_RATIOS][48];
    /* results */
    int rounds_done;
    double ratio[BENCH_GB_MAX_RATIOS][3];
} bench_gb_pair;

/* Starts a new JSON document (the context of the next runs, the runs after it). */
void bench_gb_reset(void);
/* A key of the JSON's context (set or replaced). */
void bench_gb_context(const char *key, const char *value);
/* Registers rows and pairs, runs them, clears them. */
void bench_gb_run(bench_gb_row *rows, int nrows, bench_gb_pair *pairs, int npairs);
/* Writes every run since bench_gb_reset as Google Benchmark's JSON (atomic). */
bool bench_gb_write_json(const char *path, char *err, size_t errlen);

#endif
