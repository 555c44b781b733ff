/* scnn_bench_ops: every heavy operation of the model, on every backend and peer, checked
 * against naive before it is timed (benchdnn's order: correctness, then performance).
 *
 * This file is the op table and its pipeline: the problems, the jobs (one runner on one
 * direction), the check, the rows and the CSV. The timing is Google Benchmark's, through the
 * thin shim bench/gbench_shim.cc: one benchmark per row (the thread count its Arg, real time,
 * repetitions with median/stddev/cv/min, GFLOP/s and GB/s counters, the JSON with its
 * context), and, where a peer ran, one benchmark timing the whole group in paired rounds, which
 * the ratios come from (ratios.csv). The CSV's figures are those of the same runs as the JSON. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/bench_ops.h"
#include "core/core.h"
#include "kernels/parity.h"
#include "model/layers.h"
#include "scnn.h"

#define REL_TOL 1e-4
#define MIN_REP_S 2e-3       /* calls per repetition grow until one lasts this long */
#define MAX_REPS_PER_ROW 50  /* repetitions that min_time may ask for, at most */
#define SETTLE_US (150 * 1000) /* OpenBLAS's idle threads spin this long after a call */
#define PAIR_SPAN 2.0        /* backends paired with the peers: within this of our fastest */
#define MAX_RUNNERS 16

/* ---- the operations --------------------------------------------------------------------- */

typedef enum { K_CONV, K_IM2COL_GEMM, K_GEMM, K_POOL, K_RELU, K_BN } op_kind;
typedef enum { DIR_FWD, DIR_BWD_D, DIR_BWD_W, DIR_BWD } op_dir;
static const char *const dir_names[] = {"fwd", "bwd_d", "bwd_w", "bwd"};

typedef struct op_def {
    const char *name;   /* the row; the layer table's bench name (conv2_gemm, relu1: see layer) */
    const char *layer;  /* the layer of model/layers.h whose shapes it takes */
    op_kind kind;
    int ndirs;
    op_dir dirs[3];
    const char *what;
    /* from the layer table (op_shapes): conv, pool, bn: per-image input h,w,c (conv: k
     * filters of kern x kern, same padding or valid); relu: the layer's output; gemm: c inputs
     * -> k outputs */
    int h, w, c, k, kern;
    bool same;
} op_def;

/* The model's heavy operations; their shapes are the layer table's (model/layers.h). */
static op_def op_defs[] = {
    {"conv1", "conv1", K_CONV, 3, {DIR_FWD, DIR_BWD_D, DIR_BWD_W}, "conv 4x4 same 1->64, bias+ReLU", 0, 0, 0, 0, 0, false},
    {"conv2", "conv2", K_CONV, 3, {DIR_FWD, DIR_BWD_D, DIR_BWD_W},
     "conv 4x4 valid 64->64, bias+ReLU", 0, 0, 0, 0, 0, false},
    {"conv2_gemm", "conv2", K_IM2COL_GEMM, 1, {DIR_FWD},
     "conv2 forward's im2col GEMM alone (im2col not timed)", 0, 0, 0, 0, 0, false},
    {"dense", "dense", K_GEMM, 3, {DIR_FWD, DIR_BWD_D, DIR_BWD_W},
     "Dense 1600->256: fwd x.W, bwd_d dy.W^T, bwd_w x^T.dy", 0, 0, 0, 0, 0, false},
    {"dense_1", "dense_1", K_GEMM, 3, {DIR_FWD, DIR_BWD_D, DIR_BWD_W},
     "Dense 256->64, the same three GEMMs", 0, 0, 0, 0, 0, false},
    {"dense_2", "dense_2", K_GEMM, 3, {DIR_FWD, DIR_BWD_D, DIR_BWD_W},
     "Dense 64->10, the same three GEMMs", 0, 0, 0, 0, 0, false},
    {"pool1", "pool1", K_POOL, 2, {DIR_FWD, DIR_BWD}, "max-pool 2x2 28->14", 0, 0, 0, 0, 0, false},
    {"pool2", "pool2", K_POOL, 2, {DIR_FWD, DIR_BWD}, "max-pool 2x2 11->5", 0, 0, 0, 0, 0, false},
    {"relu1", "conv1", K_RELU, 1, {DIR_BWD}, "ReLU backward of conv1", 0, 0, 0, 0, 0, false},
    {"bn0", "bn0", K_BN, 2, {DIR_FWD, DIR_BWD}, "batch norm of the input", 0, 0, 0, 0, 0, false},
    {"bn1", "bn1", K_BN, 2, {DIR_FWD, DIR_BWD}, "batch norm of dense_1", 0, 0, 0, 0, 0, false},
};
#define N_OPS ((int)(sizeof op_defs / sizeof op_defs[0]))

/* Fills the shapes of op_defs from the layer table: an op's input is the output of the layer
 * before its layer. */
static void op_shapes(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    for (int i = 0; i < N_OPS; i++) {
        op_def *d = &op_defs[i];
        int id = scnn_layer_find(d->layer);
        if (id <= 0) {
            fprintf(stderr, "scnn_bench_ops: layer '%s' is not in model/layers.c\n", d->layer);
            exit(2);
        }
        const scnn_layer *L = &scnn_layers[id], *in = &scnn_layers[id - 1];
        const scnn_layer *shape = d->kind == K_RELU ? L : in;
        d->h = shape->h;
        d->w = shape->w;
        d->c = shape->c;
        d->k = L->c;
        d->kern = L->k;
        d->same = L->same;
        if (d->kind == K_GEMM) {
            d->c = (int)scnn_layer_size(id - 1);
            d->h = d->w = 1;
        }
    }
}

/* Up to three float outputs (and the pooling indices), compared as a set. */
typedef struct outputs {
    int nf;
    float *f[3];
    size_t n[3];
    const char *name[3];
    uint8_t *idx;
    size_t nidx;
} outputs;

/* One op's inputs at one batch size, and naive's outputs for each direction. */
typedef struct problem {
    const op_def *def;
    int n;
    scnn_conv2d d;
    int m, kk, nn;          /* GEMM: [m,kk] x [kk,nn] (conv2_gemm), dense: n, in, out */
    float *x, *w, *b, *dy, *a;  /* a: conv2_gemm's im2col matrix */
    float *gamma, *beta;
    outputs ref[4];         /* naive's, by direction */
} problem;

typedef enum { R_BACKEND, R_ONEDNN, R_OPENBLAS } runner_kind;

typedef struct runner {
    const char *name;
    runner_kind kind;
    const scnn_backend *orig;
    scnn_backend be;        /* resolved: NULL ops filled from naive */
    bool selected;          /* gets rows (naive may run only as the reference) */
    int done[BENCH_MAX_THREADS + 2];  /* thread counts measured for the current op/dir */
    int ndone;
} runner;

typedef struct row {
    char backend[32], op[16], dir[8], shape[96], impl[160];
    int threads, batch, reps;
    double median_ms, min_ms, stddev_ms, gflops, gbps, pct, peak, max_abs, max_rel;
    bool ok;
} row;

/* One ratio of the paired rounds: backend over peer (speed: the peer's time over ours). */
typedef struct ratio_row {
    char op[16], dir[8], pair[48];  /* pair: "backend/peer" */
    int threads, batch, rounds;
    double ratio[3];                /* median, min, max of the per-round ratios */
} ratio_row;

typedef struct bench {
    const bench_ops_opts *o;
    FILE *log;
    runner runners[MAX_RUNNERS];
    int nrunners;
    runner *naive;
    bool op_on[N_OPS];
    int threads[BENCH_MAX_THREADS];
    int nthreads;
    double peak[BENCH_ISA_COUNT][BENCH_MAX_THREADS + 2];
    int peak_threads[BENCH_MAX_THREADS + 2];
    int npeak;
    row *rows;
    int nrows, caprows;
    ratio_row *ratios;
    int nratios, capratios;
    int failures;
    int over_peak;
    int warnings;
} bench;

/* ---- small helpers ------------------------------------------------------------------------ */

static void *falloc(size_t count)
{
    void *p = scnn_alloc_aligned(count * sizeof(float));
    if (!p) {
        fprintf(stderr, "scnn_bench_ops: out of memory (%zu floats)\n", count);
        exit(2);
    }
    return p;
}

static float *new_random(size_t count, uint64_t seed, uint64_t purpose, uint64_t id)
{
    float *p = falloc(count);
    for (size_t i = 0; i < count; i++)
        p[i] = 2.0f * scnn_rng_uniform(seed, purpose, id, i) - 1.0f;
    return p;
}

static void fill_nan(float *p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        p[i] = NAN;
}

static void set_omp_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

static int default_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#endif
}

/* ---- problems ------------------------------------------------------------------------------- */

static void problem_init(problem *pb, const op_def *def, int n, uint64_t seed)
{
    memset(pb, 0, sizeof *pb);
    pb->def = def;
    pb->n = n;
    uint64_t purpose = 1000 + (uint64_t)(def - op_defs);
    size_t nn = (size_t)n;
    switch (def->kind) {
    case K_CONV:
    case K_IM2COL_GEMM: {
        scnn_conv2d d = scnn_conv2d_make(n, def->h, def->w, def->c, def->k, def->kern, def->kern,
                                         def->same, true);
        pb->d = d;
        pb->x = new_random(nn * d.h * d.w * d.c, seed, purpose, 0);
        pb->w = new_random((size_t)d.kh * d.kw * d.c * d.k, seed, purpose, 1);
        pb->b = new_random((size_t)d.k, seed, purpose, 2);
        if (def->kind == K_CONV)
            pb->dy = new_random(nn * d.p * d.q * d.k, seed, purpose, 3);
        else {
            /* a [n*p*q, kh*kw*c]: row (n,p,q) holds the receptive field in (i,j,c) order, the
             * order of w's rows, so a * w [kh*kw*c, k] is the convolution. */
            pb->m = n * d.p * d.q;
            pb->kk = d.kh * d.kw * d.c;
            pb->nn = d.k;
            pb->a = falloc((size_t)pb->m * pb->kk);
            size_t r = 0;
            for (int b = 0; b < n; b++)
                for (int p = 0; p < d.p; p++)
                    for (int q = 0; q < d.q; q++, r++)
                        for (int i = 0; i < d.kh; i++)
                            for (int j = 0; j < d.kw; j++) {
                                int ih = p + i - d.pad_top, iw = q + j - d.pad_left;
                                float *dst = pb->a + r * pb->kk + ((size_t)i * d.kw + j) * d.c;
                                if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w)
                                    memset(dst, 0, sizeof *dst * d.c);
                                else
                                    memcpy(dst, pb->x + (((size_t)b * d.h + ih) * d.w + iw) * d.c,
                                           sizeof *dst * d.c);
                            }
        }
        break;
    }
    case K_GEMM:
        pb->m = n;
        pb->kk = def->c;
        pb->nn = def->k;
        pb->x = new_random(nn * def->c, seed, purpose, 0);
        pb->w = new_random((size_t)def->c * def->k, seed, purpose, 1);
        pb->dy = new_random(nn * def->k, seed, purpose, 3);
        break;
    case K_POOL:
        pb->x = new_random(nn * def->h * def->w * def->c, seed, purpose, 0);
        pb->dy = new_random(nn * (def->h / 2) * (def->w / 2) * def->c, seed, purpose, 3);
        break;
    case K_RELU:
        pb->x = new_random(nn * def->h * def->w * def->c, seed, purpose, 0);  /* y, half > 0 */
        pb->dy = new_random(nn * def->h * def->w * def->c, seed, purpose, 3);
        break;
    case K_BN: {
        size_t m = nn * def->h * def->w;
        pb->x = new_random(m * def->c, seed, purpose, 0);
        pb->dy = new_random(m * def->c, seed, purpose, 3);
        pb->gamma = new_random((size_t)def->c, seed, purpose, 4);
        pb->beta = new_random((size_t)def->c, seed, purpose, 5);
        for (int i = 0; i < def->c; i++)
            pb->gamma[i] = 1.0f + 0.25f * pb->gamma[i];
        break;
    }
    }
}

static void outputs_free(outputs *o)
{
    for (int i = 0; i < o->nf; i++)
        free(o->f[i]);
    free(o->idx);
    memset(o, 0, sizeof *o);
}

static void problem_free(problem *pb)
{
    free(pb->x);
    free(pb->w);
    free(pb->b);
    free(pb->dy);
    free(pb->a);
    free(pb->gamma);
    free(pb->beta);
    for (int i = 0; i < 4; i++)
        outputs_free(&pb->ref[i]);
}

static void add_out(outputs *o, const char *name, size_t count)
{
    o->name[o->nf] = name;
    o->n[o->nf] = count;
    o->f[o->nf++] = falloc(count);
}

/* Output buffers of one direction (NaN-filled: a kernel that skips an element is caught). */
static void outputs_make(outputs *o, const problem *pb, op_dir dir)
{
    memset(o, 0, sizeof *o);
    const op_def *def = pb->def;
    const scnn_conv2d *d = &pb->d;
    size_t n = (size_t)pb->n;
    switch (def->kind) {
    case K_CONV:
        if (dir == DIR_FWD)
            add_out(o, "y", n * d->p * d->q * d->k);
        else if (dir == DIR_BWD_D)
            add_out(o, "dx", n * d->h * d->w * d->c);
        else {
            add_out(o, "dw", (size_t)d->kh * d->kw * d->c * d->k);
            add_out(o, "db", (size_t)d->k);
        }
        break;
    case K_IM2COL_GEMM:
        add_out(o, "c", (size_t)pb->m * pb->nn);
        break;
    case K_GEMM:
        if (dir == DIR_FWD)
            add_out(o, "y", n * def->k);
        else if (dir == DIR_BWD_D)
            add_out(o, "dx", n * def->c);
        else
            add_out(o, "dw", (size_t)def->c * def->k);
        break;
    case K_POOL: {
        size_t in = n * def->h * def->w * def->c, out = n * (def->h / 2) * (def->w / 2) * def->c;
        if (dir == DIR_FWD) {
            add_out(o, "y", out);
            o->nidx = out;
            o->idx = malloc(out);
            if (!o->idx)
                exit(2);
        } else {
            add_out(o, "dx", in);
        }
        break;
    }
    case K_RELU:
        add_out(o, "dy", n * def->h * def->w * def->c);
        break;
    case K_BN: {
        size_t m = n * def->h * def->w;
        add_out(o, dir == DIR_FWD ? "y" : "dx", m * def->c);
        add_out(o, dir == DIR_FWD ? "mean" : "dgamma", (size_t)def->c);
        add_out(o, dir == DIR_FWD ? "invstd" : "dbeta", (size_t)def->c);
        break;
    }
    }
    for (int i = 0; i < o->nf; i++)
        fill_nan(o->f[i], o->n[i]);
    if (o->idx)
        memset(o->idx, 0xff, o->nidx);
}

/* FLOPs (2 per multiply-add; memory-bound ops: one per input element) and bytes moved at
 * least once (inputs read + outputs written). */
static void problem_cost(const problem *pb, op_dir dir, double *flops, double *bytes)
{
    const op_def *def = pb->def;
    const scnn_conv2d *d = &pb->d;
    double n = pb->n, f = sizeof(float);
    double in = n * def->h * def->w * def->c;
    switch (def->kind) {
    case K_CONV: {
        double x = n * d->h * d->w * d->c, y = n * d->p * d->q * d->k,
               w = (double)d->kh * d->kw * d->c * d->k;
        *flops = 2 * scnn_conv2d_macs(d);
        *bytes = f * (dir == DIR_FWD ? x + w + d->k + y : dir == DIR_BWD_D ? y + w + x
                                                                           : x + y + w + d->k);
        break;
    }
    case K_IM2COL_GEMM:
    case K_GEMM: {
        double m = pb->m, kk = pb->kk, nn = pb->nn;
        *flops = 2 * m * kk * nn;
        *bytes = f * (m * kk + kk * nn + m * nn);
        break;
    }
    case K_POOL: {
        double out = n * (def->h / 2) * (def->w / 2) * def->c;
        *flops = in;
        *bytes = f * in + f * out + out; /* float in, float out, byte index */
        break;
    }
    case K_RELU:
        *flops = in;
        *bytes = 3 * f * in;
        break;
    case K_BN:
        *flops = in;
        *bytes = f * (dir == DIR_FWD ? 2 * in : 3 * in);
        break;
    }
}

static void problem_shape(const problem *pb, op_dir dir, char *buf, size_t len)
{
    const op_def *def = pb->def;
    const scnn_conv2d *d = &pb->d;
    switch (def->kind) {
    case K_CONV:
        /* benchdnn's descriptor; oh/ow make the asymmetric "same" padding unambiguous */
        snprintf(buf, len, "mb%dih%diw%dic%d_oc%doh%dow%dkh%dkw%dph%dpw%d", pb->n, d->h, d->w,
                 d->c, d->k, d->p, d->q, d->kh, d->kw, d->pad_top, d->pad_left);
        break;
    case K_IM2COL_GEMM:
        snprintf(buf, len, "m%dn%dk%dta0tb0", pb->m, pb->nn, pb->kk);
        break;
    case K_GEMM:
        if (dir == DIR_FWD)
            snprintf(buf, len, "m%dn%dk%dta0tb0", pb->n, def->k, def->c);
        else if (dir == DIR_BWD_D)
            snprintf(buf, len, "m%dn%dk%dta0tb1", pb->n, def->c, def->k);
        else
            snprintf(buf, len, "m%dn%dk%dta1tb0", def->c, def->k, pb->n);
        break;
    case K_POOL:
        snprintf(buf, len, "mb%dih%diw%dic%d_oh%dow%dkh2kw2sh2sw2", pb->n, def->h, def->w, def->c,
                 def->h / 2, def->w / 2);
        break;
    case K_RELU:
        snprintf(buf, len, "nelems%zu", (size_t)pb->n * def->h * def->w * def->c);
        break;
    case K_BN:
        if (def->h * def->w > 1)
            snprintf(buf, len, "mb%dih%diw%dic%d", pb->n, def->h, def->w, def->c);
        else
            snprintf(buf, len, "mb%dic%d", pb->n, def->c);
        break;
    }
}

/* ---- jobs: one runner on one problem direction ---------------------------------------------- */

typedef struct job {
    problem *pb;
    op_dir dir;
    runner *r;
    outputs out;
    void *ws;
    float *run_mean, *run_var;  /* batch norm's running statistics (not compared) */
    peer_conv *pc;
} job;

static bool runner_supports(const runner *r, const op_def *def)
{
    switch (r->kind) {
    case R_BACKEND: return true;
    case R_ONEDNN: return def->kind == K_CONV;
    case R_OPENBLAS: return def->kind == K_GEMM || def->kind == K_IM2COL_GEMM;
    }
    return false;
}

/* The table entry that does the work, to tell a naive fallback. */
static bool backend_implements(const scnn_backend *b, const op_def *def, op_dir dir)
{
    switch (def->kind) {
    case K_CONV:
        return dir == DIR_FWD     ? b->conv2d_forward != NULL
               : dir == DIR_BWD_D ? b->conv2d_backward_data != NULL
                                  : b->conv2d_backward_filter != NULL;
    case K_IM2COL_GEMM:
    case K_GEMM: return b->gemm != NULL;
    case K_POOL: return dir == DIR_FWD ? b->maxpool_forward != NULL : b->maxpool_backward != NULL;
    case K_RELU: return b->relu_backward != NULL;
    case K_BN:
        return dir == DIR_FWD ? b->batchnorm_forward_train != NULL
                              : b->batchnorm_backward != NULL;
    }
    return false;
}

static void job_gemm(const job *j, bool ta, bool tb, int m, int n, int kk, const float *a,
                     int lda, const float *b, int ldb, float *c, int ldc)
{
    if (j->r->kind == R_OPENBLAS)
        peer_openblas_gemm(ta, tb, m, n, kk, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    else
        j->r->be.gemm(ta, tb, m, n, kk, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

/* One call of the operation; this is what is timed. */
static void job_run(job *j)
{
    problem *pb = j->pb;
    const op_def *def = pb->def;
    const scnn_backend *be = &j->r->be;
    float **o = j->out.f;
    int n = pb->n;
    if (j->pc) {
        peer_onednn_conv_run(j->pc);
        return;
    }
    switch (def->kind) {
    case K_CONV:
        if (j->dir == DIR_FWD)
            be->conv2d_forward(&pb->d, pb->x, pb->w, pb->b, o[0], j->ws);
        else if (j->dir == DIR_BWD_D)
            be->conv2d_backward_data(&pb->d, pb->dy, pb->w, o[0], j->ws);
        else
            be->conv2d_backward_filter(&pb->d, pb->x, pb->dy, o[0], o[1], j->ws);
        break;
    case K_IM2COL_GEMM:
        job_gemm(j, false, false, pb->m, pb->nn, pb->kk, pb->a, pb->kk, pb->w, pb->nn, o[0],
                 pb->nn);
        break;
    case K_GEMM: {
        int in = def->c, out = def->k;
        if (j->dir == DIR_FWD)
            job_gemm(j, false, false, n, out, in, pb->x, in, pb->w, out, o[0], out);
        else if (j->dir == DIR_BWD_D)
            job_gemm(j, false, true, n, in, out, pb->dy, out, pb->w, out, o[0], in);
        else
            job_gemm(j, true, false, in, out, n, pb->x, in, pb->dy, out, o[0], out);
        break;
    }
    case K_POOL:
        if (j->dir == DIR_FWD)
            be->maxpool_forward(n, def->h, def->w, def->c, pb->x, o[0], j->out.idx);
        else
            be->maxpool_backward(n, def->h, def->w, def->c, pb->dy, pb->ref[DIR_FWD].idx, o[0]);
        break;
    case K_RELU:
        be->relu_backward(j->out.n[0], pb->x, o[0]);
        break;
    case K_BN: {
        int m = n * def->h * def->w;
        if (j->dir == DIR_FWD)
            be->batchnorm_forward_train(m, def->c, pb->x, pb->gamma, pb->beta, 1e-3f, 0.99f, true,
                                        o[0], o[1], o[2], j->run_mean, j->run_var);
        else
            be->batchnorm_backward(m, def->c, pb->x, pb->dy, pb->gamma, pb->ref[DIR_FWD].f[1],
                                   pb->ref[DIR_FWD].f[2], o[0], o[1], o[2]);
        break;
    }
    }
}

/* Sets up a job; NULL with err set when a peer cannot do it. */
static job *job_create(problem *pb, op_dir dir, runner *r, int threads, char *err, size_t errlen)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        exit(2);
    j->pb = pb;
    j->dir = dir;
    j->r = r;
    if (pb->def->kind == K_BN) {
        j->run_mean = falloc((size_t)pb->def->c);
        j->run_var = falloc((size_t)pb->def->c);
        for (int i = 0; i < pb->def->c; i++) {
            j->run_mean[i] = 0.0f;
            j->run_var[i] = 1.0f;
        }
    }
    outputs_make(&j->out, pb, dir);
    if (r->kind == R_ONEDNN) {
        static const enum bench_dir bd[] = {BENCH_FWD, BENCH_BWD_D, BENCH_BWD_W, BENCH_FWD};
        j->pc = peer_onednn_conv_create(&pb->d, bd[dir], threads, pb->x, pb->w, pb->b, pb->dy,
                                        err, errlen);
        if (!j->pc) {
            outputs_free(&j->out);
            free(j);
            return NULL;
        }
    } else if (r->kind == R_BACKEND && pb->def->kind == K_CONV) {
        size_t ws = r->be.conv2d_workspace ? r->be.conv2d_workspace(&pb->d) : 0;
        if (ws)
            j->ws = falloc((ws + sizeof(float) - 1) / sizeof(float));
    }
    if (pb->def->kind == K_RELU)
        memcpy(j->out.f[0], pb->dy, j->out.n[0] * sizeof(float));
    return j;
}

/* keep: the outputs now belong to someone else (the problem's reference) */
static void job_free(job *j, bool keep)
{
    if (!j)
        return;
    if (!keep)
        outputs_free(&j->out);
    free(j->ws);
    free(j->run_mean);
    free(j->run_var);
    peer_onednn_conv_free(j->pc);
    free(j);
}

/* ---- correctness ---------------------------------------------------------------------------- */

typedef struct check {
    double max_abs, max_rel;
    bool ok;
    char msg[320];
} check;

/* Each float output through kernels/ parity comparison (ggml/benchdnn style: any non-finite
 * element fails, and any |got-ref| > REL_TOL * max(|ref|, rms(ref)); the rms floor keeps
 * elements near zero from demanding the impossible), shared with tests/; the pooling indices
 * must be equal. */
static void check_outputs(const outputs *got, const outputs *ref, check *c)
{
    c->max_abs = 0;
    c->max_rel = 0;
    c->ok = true;
    c->msg[0] = 0;
    for (int i = 0; i < ref->nf; i++) {
        const float *g = got->f[i], *r = ref->f[i];
        scnn_parity p;
        bool ok = scnn_parity_compare(g, r, ref->n[i], REL_TOL, &p);
        c->max_abs = fmax(c->max_abs, p.max_abs);
        c->max_rel = fmax(c->max_rel, p.max_rel);
        if (!ok && c->ok) {
            snprintf(c->msg, sizeof c->msg,
                     "%s[%zu] = %.9g, want %.9g; %zu of %zu elements off by more than %g relative",
                     ref->name[i], p.first, g[p.first], r[p.first], p.bad, p.n, REL_TOL);
            c->ok = false;
        }
    }
    if (ref->idx) {
        size_t bad = 0, first = 0;
        for (size_t k = 0; k < ref->nidx; k++)
            if (got->idx[k] != ref->idx[k] && bad++ == 0)
                first = k;
        if (bad && c->ok)
            snprintf(c->msg, sizeof c->msg, "idx[%zu] = %d, want %d; %zu of %zu indices differ",
                     first, got->idx[first], ref->idx[first], bad, ref->nidx);
        if (bad) {
            c->ok = false;
            c->max_rel = INFINITY;
        }
    }
}

/* ---- timing (Google Benchmark, through bench/gbench_shim.cc) ------------------------------- */

typedef struct timing {
    int reps;
    double median, min, stddev; /* seconds per call */
} timing;

/* Calls per repetition, from how long the (untimed) first call took: a repetition lasts at
 * least MIN_REP_S, so that the clock's resolution and the call overhead do not show. */
static long rep_calls(double first_s)
{
    if (first_s >= MIN_REP_S)
        return 1;
    return (long)fmin(100000, ceil(MIN_REP_S / fmax(first_s, 1e-9)));
}

/* Repetitions: at least min_reps, and more until they last min_time seconds in all. */
static int rep_count(double first_s, long calls, int min_reps, double min_time)
{
    double one = first_s * (double)calls;
    int n = min_reps;
    if (one > 0 && min_time > 0 && ceil(min_time / one) > n)
        n = (int)fmin(MAX_REPS_PER_ROW, ceil(min_time / one));
    return n;
}

/* ---- peaks, threads, rows ------------------------------------------------------------------- */

static double peak_measured(bench *B, enum bench_isa isa, int threads)
{
    for (int i = 0; i < B->npeak; i++)
        if (B->peak_threads[i] == threads)
            return B->peak[isa][i];
    if (B->npeak == BENCH_MAX_THREADS + 2)
        return B->peak[isa][0] * threads; /* unreachable in practice */
    int i = B->npeak++;
    B->peak_threads[i] = threads;
    for (int k = 0; k < BENCH_ISA_COUNT; k++)
        B->peak[k][i] = bench_peak_gflops((enum bench_isa)k, threads);
    return B->peak[isa][i];
}

/* The peak a row is held against: the measured one, or the single-thread one times the cores
 * the threads can occupy if that is more (an all-threads trial is the likelier to be disturbed
 * on a shared machine; on a quiet one the two agree). */
static double peak_for(bench *B, enum bench_isa isa, int threads)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int busy = cores > 0 && threads > cores ? (int)cores : threads;
    double one = peak_measured(B, isa, 1), all = peak_measured(B, isa, threads);
    return all > busy * one ? all : busy * one;
}

static int runner_threads(runner *r, int t)
{
    set_omp_threads(t);
    switch (r->kind) {
    case R_BACKEND: return scnn_backend_threads(&r->be);
    case R_ONEDNN: return t;
    case R_OPENBLAS: peer_openblas_set_threads(t); return peer_openblas_threads();
    }
    return 1;
}

static bool is_avx512_impl(const runner *r, const char *impl)
{
    char low[160];
    size_t i = 0;
    for (; impl[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)impl[i]);
    low[i] = 0;
    if (r->kind == R_ONEDNN)
        return strstr(low, "avx512") != NULL;
    if (r->kind == R_OPENBLAS)
        return strstr(low, "skylakex") || strstr(low, "cooperlake") || strstr(low, "sapphire");
    /* Our backends: the table names no ISA, so the name does: every AVX-512 backend (avx512,
     * omp512, ...) has "512" in its name; a naive fallback runs scalar code. */
    return strstr(low, "512") != NULL;
}

/* SPEC.md section 5: the peers on the reference machine, batch 250. */
static const struct {
    const char *backend, *op, *dir;
    int threads;
    double gflops;
} spec_figures[] = {
    {"onednn", "conv2", "fwd", 2, 136}, {"onednn", "conv2", "bwd_d", 2, 121},
    {"onednn", "conv2", "bwd_w", 2, 112}, {"onednn", "conv2", "fwd", 1, 74},
    {"onednn", "conv2", "bwd_d", 1, 71}, {"onednn", "conv2", "bwd_w", 1, 68},
    {"onednn", "conv1", "fwd", 2, 109}, {"onednn", "conv1", "bwd_d", 2, 14},
    {"onednn", "conv1", "bwd_w", 2, 15}, {"openblas", "conv2_gemm", "fwd", 2, 115},
    {"openblas", "conv2_gemm", "fwd", 1, 68},
};

static void warn_vs_spec(bench *B, const row *w)
{
    if (w->batch != 250 || !w->ok)
        return;
    for (size_t i = 0; i < sizeof spec_figures / sizeof spec_figures[0]; i++) {
        if (strcmp(spec_figures[i].backend, w->backend) || strcmp(spec_figures[i].op, w->op) ||
            strcmp(spec_figures[i].dir, w->dir) || spec_figures[i].threads != w->threads)
            continue;
        double want = spec_figures[i].gflops;
        if (w->gflops < 0.75 * want) {
            fprintf(B->log,
                    "warning: %s %s %s at %d thread%s: %.1f GFLOP/s, %.0f%% below SPEC.md's %.0f: "
                    "machine busy? measure again\n",
                    w->backend, w->op, w->dir, w->threads, w->threads == 1 ? "" : "s", w->gflops,
                    100 * (1 - w->gflops / want), want);
            B->warnings++;
        }
    }
}

static void print_table_header(FILE *f)
{
    fprintf(f, "%-10s %-10s %-5s %3s %10s %9s %9s %8s %6s %10s %-4s %-24s %s\n", "backend", "op",
            "dir", "thr", "median_ms", "stddev_ms", "GFLOP/s", "GB/s", "%peak", "max_abs_err",
            "ok", "impl", "shape");
}

static void add_row(bench *B, const row *w)
{
    if (B->nrows == B->caprows) {
        B->caprows = B->caprows ? 2 * B->caprows : 64;
        B->rows = realloc(B->rows, sizeof *B->rows * (size_t)B->caprows);
        if (!B->rows)
            exit(2);
    }
    B->rows[B->nrows++] = *w;
    fprintf(B->log, "%-10s %-10s %-5s %3d %10.4g %9.3g %9.2f %8.2f %6.1f %10.2e %-4s %-24s %s\n",
            w->backend, w->op, w->dir, w->threads, w->median_ms, w->stddev_ms, w->gflops, w->gbps,
            w->pct, w->max_abs, w->ok ? "ok" : "FAIL", w->impl, w->shape);
    if (w->pct > 100) {
        fprintf(B->log, "warning: %s %s %s runs above the measured peak (%.1f GFLOP/s): the peak "
                        "probe was disturbed? measure again\n",
                w->backend, w->op, w->dir, w->peak);
        B->over_peak++;
    }
    fflush(B->log);
}

/* Fills the figures of w from a timing. */
static void row_figures(bench *B, row *w, const problem *pb, op_dir dir, const runner *r,
                        const timing *t)
{
    double flops = 0, bytes = 0;
    problem_cost(pb, dir, &flops, &bytes);
    w->reps = t->reps;
    w->median_ms = 1e3 * t->median;
    w->min_ms = 1e3 * t->min;
    w->stddev_ms = 1e3 * t->stddev;
    w->gflops = t->median > 0 ? flops / t->median * 1e-9 : 0;
    w->gbps = t->median > 0 ? bytes / t->median * 1e-9 : 0;
    enum bench_isa isa = is_avx512_impl(r, w->impl) ? BENCH_ISA_AVX512 : BENCH_ISA_AVX2;
    w->peak = peak_for(B, isa, w->threads);
    if (w->gflops > w->peak && w->peak > 0) {
        /* A probe is a lower bound of the peak (a disturbed trial, a clock not yet boosted):
         * a row faster than it means the probe was low. Probe again, keep the larger. */
        for (int i = 0; i < B->npeak; i++)
            for (int k = 0; k < BENCH_ISA_COUNT; k++) {
                double again = bench_peak_gflops((enum bench_isa)k, B->peak_threads[i]);
                if (again > B->peak[k][i])
                    B->peak[k][i] = again;
            }
        w->peak = peak_for(B, isa, w->threads);
    }
    w->pct = w->peak > 0 ? 100 * w->gflops / w->peak : 0;
}

static void row_start(row *w, const problem *pb, op_dir dir, const runner *r, int threads)
{
    memset(w, 0, sizeof *w);
    snprintf(w->backend, sizeof w->backend, "%s", r->name);
    snprintf(w->op, sizeof w->op, "%s", pb->def->name);
    snprintf(w->dir, sizeof w->dir, "%s", dir_names[dir]);
    problem_shape(pb, dir, w->shape, sizeof w->shape);
    w->threads = threads;
    w->batch = pb->n;
    w->ok = true;
}

static void row_impl(row *w, const runner *r, const problem *pb, op_dir dir, const job *j)
{
    switch (r->kind) {
    case R_BACKEND:
        snprintf(w->impl, sizeof w->impl, "%s",
                 backend_implements(r->orig, pb->def, dir) ? r->name : "naive-fallback");
        break;
    case R_ONEDNN: snprintf(w->impl, sizeof w->impl, "%s", peer_onednn_conv_impl(j->pc)); break;
    case R_OPENBLAS:
        snprintf(w->impl, sizeof w->impl, "cblas_sgemm:%s", peer_openblas_core());
        break;
    }
    for (char *c = w->impl; *c; c++)
        if (*c == ',' || *c == '"' || *c == ' ')
            *c = *c == ' ' ? '_' : ';';
}

static void report_failure(bench *B, const row *w, const char *msg)
{
    fprintf(B->log, "FAIL %s %s %s (%d thread%s): %s\n", w->backend, w->op, w->dir, w->threads,
            w->threads == 1 ? "" : "s", msg);
    B->failures++;
}

/* ---- the run -------------------------------------------------------------------------------- */

/* One row being measured: its job, its check, how long the first call took. */
typedef struct pending {
    row w;
    runner *r;
    job *j;
    double first;
    check c;
} pending;

static void gb_call(void *ctx)
{
    job_run(ctx);
}

static void gb_threads(void *ctx, int threads)
{
    runner_threads(((job *)ctx)->r, threads);
}

static bool settles(const runner *r, int threads)
{
    return r->kind == R_OPENBLAS && threads > 1;
}

/* The paired rounds of one group: the peers and our backends that passed their check, once per
 * round each; one ratio per backend and peer. naive (the reference) is never paired, and of the
 * others only those within PAIR_SPAN of our fastest row of the group: the targets compare our
 * fastest, and the slow rungs (im2col) would make the rounds long for ratios nobody reads. false if the group has
 * no backend-peer pair. */
static bool pair_setup(bench *B, bench_gb_pair *g, pending *p, int np, int t, double *samples)
{
    const bench_ops_opts *o = B->o;
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "pair/%s/%s", p[0].w.op, p[0].w.dir);
    g->threads = t;
    g->rounds = o->rounds > 0 ? o->rounds : o->quick ? 3 : 7;
    g->run = gb_call;
    g->set_threads = gb_threads;
    g->samples = samples;
    int member[MAX_RUNNERS];
    double best = INFINITY;
    for (int i = 0; i < np; i++)
        if (p[i].j && p[i].w.ok && p[i].r->kind == R_BACKEND && p[i].w.median_ms > 0 &&
            p[i].w.median_ms < best)
            best = p[i].w.median_ms;
    for (int pass = 0; pass < 2; pass++)  /* those that alternate first, those that settle last */
        for (int i = 0; i < np; i++) {
            pending *q = &p[i];
            if (!q->j || !q->w.ok || q->r == B->naive || settles(q->r, t) != (pass == 1) ||
                g->n == BENCH_GB_MAX_MEMBERS ||
                (q->r->kind == R_BACKEND && !(q->w.median_ms <= PAIR_SPAN * best)))
                continue;
            member[g->n] = i;
            g->ctx[g->n] = q->j;
            g->calls[g->n] = rep_calls(q->first);
            if (pass == 0)
                g->n_alternating++;
            g->n++;
        }
    for (int a = 0; a < g->n; a++)
        for (int c = 0; c < g->n; c++) {
            const runner *ra = p[member[a]].r, *rc = p[member[c]].r;
            if (ra->kind != R_BACKEND || rc->kind == R_BACKEND ||
                g->nratios == BENCH_GB_MAX_RATIOS)
                continue;
            g->ratio_of[g->nratios][0] = a;
            g->ratio_of[g->nratios][1] = c;
            snprintf(g->ratio_name[g->nratios], sizeof g->ratio_name[0], "%s/%s", ra->name,
                     rc->name);
            g->nratios++;
        }
    return g->nratios > 0;
}

static void add_ratios(bench *B, const bench_gb_pair *g, const problem *pb, op_dir dir)
{
    for (int r = 0; r < g->nratios && g->rounds_done > 0; r++) {
        if (B->nratios == B->capratios) {
            B->capratios = B->capratios ? 2 * B->capratios : 32;
            B->ratios = realloc(B->ratios, sizeof *B->ratios * (size_t)B->capratios);
            if (!B->ratios)
                exit(2);
        }
        ratio_row *w = &B->ratios[B->nratios++];
        memset(w, 0, sizeof *w);
        snprintf(w->op, sizeof w->op, "%s", pb->def->name);
        snprintf(w->dir, sizeof w->dir, "%s", dir_names[dir]);
        snprintf(w->pair, sizeof w->pair, "%s", g->ratio_name[r]);
        w->threads = g->threads;
        w->batch = pb->n;
        w->rounds = g->rounds_done;
        memcpy(w->ratio, g->ratio[r], sizeof w->ratio);
        fprintf(B->log, "pair %-10s %-5s %3d thr: %-22s %.2fx (%.2f-%.2f over %d rounds)\n",
                w->op, w->dir, w->threads, w->pair, w->ratio[0], w->ratio[1], w->ratio[2],
                w->rounds);
    }
}

/* The rows of one direction at one thread count: each runner's check against naive (its
 * first call, the warm-up), then each checked row as a Google Benchmark benchmark of its own,
 * then, where a peer ran, the paired rounds that the ratios come from. */
static void run_group(bench *B, problem *pb, op_dir dir, int t, job *ref, double ref_first)
{
    const bench_ops_opts *o = B->o;
    int reps = o->reps > 0 ? o->reps : o->quick ? 2 : 3;
    double min_time = o->min_time >= 0 ? o->min_time : o->quick ? 0 : 0.3;
    int naive_reps = reps < (o->quick ? 1 : 2) ? reps : (o->quick ? 1 : 2);
    char err[512];
    pending p[MAX_RUNNERS];
    int np = 0;

    for (int ri = 0; ri < B->nrunners; ri++) {
        runner *r = &B->runners[ri];
        if (!r->selected || !runner_supports(r, pb->def))
            continue;
        int eff = runner_threads(r, t);
        bool seen = false;
        for (int k = 0; k < r->ndone; k++)
            seen |= r->done[k] == eff;
        if (seen)
            continue;
        r->done[r->ndone++] = eff;
        pending *q = &p[np++];
        memset(q, 0, sizeof *q);
        q->r = r;
        row_start(&q->w, pb, dir, r, eff);
        if (r == B->naive) {
            row_impl(&q->w, r, pb, dir, ref);
            q->j = ref;
            q->first = ref_first;
            continue;
        }
        q->j = job_create(pb, dir, r, eff, err, sizeof err);
        if (!q->j) {
            snprintf(q->w.impl, sizeof q->w.impl, "setup-failed");
            q->w.ok = false;
            q->w.max_abs = q->w.max_rel = INFINITY;
            snprintf(q->c.msg, sizeof q->c.msg, "%.300s", err); /* reported after its row */
            continue;
        }
        row_impl(&q->w, r, pb, dir, q->j);
        double t0 = scnn_now();
        job_run(q->j);
        q->first = scnn_now() - t0;
        if (q->j->pc)
            peer_onednn_conv_fetch(q->j->pc, q->j->out.f[0],
                                   q->j->out.nf > 1 ? q->j->out.f[1] : NULL);
        check_outputs(&q->j->out, &pb->ref[dir], &q->c);
        q->w.max_abs = q->c.max_abs;
        q->w.max_rel = q->c.max_rel;
        q->w.ok = q->c.ok;
        if (!o->quick)
            job_run(q->j); /* a second warm-up: the first one paid for page faults */
        if (settles(r, eff))
            usleep(SETTLE_US); /* let OpenBLAS's idle threads sleep before what follows */
    }

    /* One benchmark per row; those that settle (OpenBLAS's spinning threads) last. */
    bench_gb_row g[MAX_RUNNERS];
    int gi[MAX_RUNNERS], ng = 0;
    bool settle = false;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < np; i++) {
            pending *q = &p[i];
            if (!q->j || settles(q->r, q->w.threads) != (pass == 1))
                continue;
            bench_gb_row *w = &g[ng];
            memset(w, 0, sizeof *w);
            gi[i] = ng++;
            snprintf(w->name, sizeof w->name, "%s/%s/%s", q->w.op, q->w.dir, q->w.backend);
            w->threads = q->w.threads;
            w->iterations = rep_calls(q->first);
            w->repetitions = q->r == B->naive
                                 ? naive_reps
                                 : rep_count(q->first, w->iterations, reps, min_time);
            problem_cost(pb, dir, &w->flops, &w->bytes);
            w->ok = q->w.ok;
            w->msg = q->c.msg;
            w->run = gb_call;
            w->set_threads = gb_threads;
            w->ctx = q->j;
            settle |= pass == 1;
        }
    bench_gb_run(g, ng, NULL, 0);
    if (settle)
        usleep(SETTLE_US);
    for (int i = 0; i < np; i++) {
        pending *q = &p[i];
        if (!q->j || !q->w.ok)
            continue;
        const bench_gb_row *w = &g[gi[i]];
        timing tm = {.reps = w->reps, .median = w->median_s, .min = w->min_s,
                     .stddev = w->stddev_s};
        row_figures(B, &q->w, pb, dir, q->r, &tm);
    }

    bench_gb_pair pair;
    double *samples = malloc(sizeof(double) * BENCH_GB_MAX_MEMBERS *
                             (size_t)(o->rounds > 0 ? o->rounds : 7));
    if (!samples)
        exit(2);
    bool paired = np > 0 && pair_setup(B, &pair, p, np, t, samples);
    if (paired)
        bench_gb_run(NULL, 0, &pair, 1);

    for (int i = 0; i < np; i++) {
        pending *q = &p[i];
        add_row(B, &q->w);
        if (!q->w.ok)
            report_failure(B, &q->w, q->c.msg);
        if (q->j && q->r->kind != R_BACKEND)
            warn_vs_spec(B, &q->w);
        if (q->j != ref)
            job_free(q->j, false);
    }
    if (paired)
        add_ratios(B, &pair, pb, dir);
    free(samples);
}

static void run_direction(bench *B, problem *pb, op_dir dir)
{
    char err[512];
    set_omp_threads(1);
    job *ref = job_create(pb, dir, B->naive, 1, err, sizeof err);
    double t0 = scnn_now();
    job_run(ref);
    double ref_first = scnn_now() - t0;
    pb->ref[dir] = ref->out;

    for (int i = 0; i < B->nrunners; i++)
        B->runners[i].ndone = 0;
    for (int ti = 0; ti < B->nthreads; ti++)
        run_group(B, pb, dir, B->threads[ti], ref, ref_first);
    job_free(ref, true);
}

/* Checks every name of a comma list with known(); err gets the first unknown one. */
static bool list_check(const char *list, bool (*known)(void *, const char *), void *ctx,
                       char *bad, size_t badlen)
{
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        if (!known(ctx, name)) {
            snprintf(bad, badlen, "%s", name);
            return false;
        }
        p = e ? e + 1 : NULL;
    }
    return true;
}

static bool op_known(void *ctx, const char *name)
{
    (void)ctx;
    return bench_op_known(name);
}

const char *bench_op_name(int i)
{
    return i >= 0 && i < N_OPS ? op_defs[i].name : NULL;
}

const char *bench_op_what(int i)
{
    return i >= 0 && i < N_OPS ? op_defs[i].what : NULL;
}

bool bench_op_known(const char *name)
{
    for (int i = 0; i < N_OPS; i++)
        if (strcmp(op_defs[i].name, name) == 0)
            return true;
    return false;
}

bool bench_op_list_check(const char *list, char *bad, size_t badlen)
{
    return list_check(list, op_known, NULL, bad, badlen);
}

static bool runner_known(void *ctx, const char *name)
{
    bench *B = ctx;
    for (int i = 0; i < B->nrunners; i++)
        if (strcmp(B->runners[i].name, name) == 0)
            return true;
    return false;
}

static void add_runner(bench *B, const char *name, runner_kind kind, const scnn_backend *b)
{
    runner *r = &B->runners[B->nrunners++];
    memset(r, 0, sizeof *r);
    r->name = name;
    r->kind = kind;
    r->orig = b;
    if (b)
        r->be = scnn_backend_resolve(b);
}

/* Builds the runner list; returns false (message printed) on a bad --backends. */
static bool setup_runners(bench *B, char *ctx, size_t ctxlen)
{
    const bench_ops_opts *o = B->o;
    for (int i = 0; i < scnn_backend_count() && B->nrunners < MAX_RUNNERS - 2; i++)
        add_runner(B, scnn_backend_at(i)->name, R_BACKEND, scnn_backend_at(i));
    for (int i = 0; i < o->n_extra && B->nrunners < MAX_RUNNERS - 2; i++)
        add_runner(B, o->extra[i]->name, R_BACKEND, o->extra[i]);
    add_runner(B, "onednn", R_ONEDNN, NULL);
    add_runner(B, "openblas", R_OPENBLAS, NULL);
    B->naive = &B->runners[0]; /* the registry lists naive first */

    char bad[64], names[256] = "";
    for (int i = 0; i < B->nrunners; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 B->runners[i].name);
    if (o->backends && !list_check(o->backends, runner_known, B, bad, sizeof bad)) {
        fprintf(stderr, "scnn_bench_ops: unknown backend '%s' in --backends; known: %s\n", bad,
                names);
        return false;
    }
    size_t used = strlen(ctx);
    for (int i = 0; i < B->nrunners; i++) {
        runner *r = &B->runners[i];
        bool listed = o->backends ? scnn_list_has(o->backends, r->name) : true;
        const char *why = "";
        bool can = r->kind == R_BACKEND   ? scnn_backend_available(r->orig, &why)
                   : r->kind == R_ONEDNN ? peer_onednn_built(&why)
                                         : peer_openblas_built(&why);
        if (listed && !can) {
            if (o->backends) {
                fprintf(stderr, "scnn_bench_ops: %s '%s' cannot run here: %s\n",
                        r->kind == R_BACKEND ? "backend" : "peer", r->name, why);
                return false;
            }
            used += (size_t)snprintf(ctx + used, used < ctxlen ? ctxlen - used : 0,
                                     "# skipped %s %s: %s\n",
                                     r->kind == R_BACKEND ? "backend" : "peer", r->name, why);
        }
        r->selected = listed && can;
    }
    return true;
}

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " \t");
                v[strcspn(v, "\n")] = 0;
                snprintf(buf, len, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void context_header(bench *B, char *ctx, size_t len, const char *skipped, int reps,
                           double min_time)
{
    char cpu[256], when[64], load[128] = "?";
    cpu_model(cpu, sizeof cpu);
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fgets(load, sizeof load, f))
            load[strcspn(load, "\n")] = 0;
        fclose(f);
    }
    __builtin_cpu_init();
    char head[4096] = "";
    append(head, sizeof head, "# scnn_bench_ops %s, %s\n", scnn_git_rev(), when);
    append(head, sizeof head, "# cpu: %s, %ld cores online, isa:%s%s%s\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), __builtin_cpu_supports("avx2") ? " avx2" : "",
           __builtin_cpu_supports("fma") ? " fma" : "",
           __builtin_cpu_supports("avx512f") ? " avx512f" : "");
    for (int isa = 0; isa < BENCH_ISA_COUNT; isa++) {
        if (B->peak[isa][0] <= 0)
            continue;
        append(head, sizeof head, "# fp32 fma peak, measured (%s):", isa ? "avx512" : "avx2");
        for (int i = 0; i < B->npeak; i++)
            append(head, sizeof head, " %.1f GFLOP/s at %d thread%s%s", B->peak[isa][i],
                   B->peak_threads[i], B->peak_threads[i] == 1 ? "" : "s",
                   i + 1 < B->npeak ? "," : "");
        append(head, sizeof head, "\n");
    }
    append(head, sizeof head, "# load average: %s\n", load);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (atof(load) > (double)cores)
        append(head, sizeof head,
               "# warning: the machine is busy (load %.2f on %ld cores): timings are noisy, "
               "multi-threaded rows most of all; measure again on a quiet machine\n",
               atof(load), cores);
    static const char *const prefixes[] = {"OMP_", "GOMP_", "OPENBLAS_", "DNNL_", "ONEDNN_"};
    for (char **e = environ; *e; e++)
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
            if (strncmp(*e, prefixes[i], strlen(prefixes[i])) == 0)
                append(head, sizeof head, "# env: %s\n", *e);
    append(head, sizeof head, "# batch %d, threads", B->o->batch);
    for (int i = 0; i < B->nthreads; i++)
        append(head, sizeof head, "%s%d", i ? "," : " ", B->threads[i]);
    append(head, sizeof head, ", seed %llu, min reps %d (naive fewer), min time %.2f s%s\n",
           B->o->seed, reps, min_time, B->o->quick ? ", quick" : "");
    append(head, sizeof head,
           "# harness: Google Benchmark (bench/gbench_shim.cc; the same runs as --json); the "
           "correctness run (vs naive, rel tol %g) is the warm-up and comes first; real time per "
           "call; median, min, stddev of the repetitions; ratios from paired rounds "
           "(--pairs-out)\n",
           REL_TOL);
    append(head, sizeof head,
           "# gflops: 2 x multiply-adds (pool, relu, bn: input elements); gbps: bytes read + "
           "written once; pct_of_peak: of the peak of the ISA the row runs (peak_gflops: the "
           "measured one, or threads x the 1-thread one if more)\n");
    const char *why;
    if (peer_onednn_built(&why))
        append(head, sizeof head, "# peer onednn: %s\n", peer_onednn_version());
    if (peer_openblas_built(&why))
        append(head, sizeof head, "# peer openblas: %s, %s\n", peer_openblas_version(),
               getenv("OPENBLAS_CORETYPE") || getenv("OPENBLAS_L2_SIZE")
                   ? "its kernel choice forced by OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see env)"
                   : "its own kernel choice (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset)");
    if (__builtin_cpu_supports("avx512f"))
        append(head, sizeof head, "# note: this CPU has AVX-512: the peers pick it by default, "
                                  "and each row's pct_of_peak uses the peak of its own ISA\n");
    snprintf(ctx, len, "%s%s", head, skipped);
}

/* Writes buf (len bytes) to path atomically and frees it; false (message printed) on failure. */
/* Writes the text of b to path atomically and frees it (false, with a message, on failure). */
static bool write_and_free(const char *path, scnn_strbuf *b)
{
    scnn_status st = b->oom ? SCNN_ERR_NOMEM : scnn_write_atomic(path, b->p, b->len);
    scnn_strbuf_free(b);
    if (st != SCNN_OK) {
        fprintf(stderr, "scnn_bench_ops: %s\n",
                st == SCNN_ERR_NOMEM ? "out of memory" : scnn_last_error());
        return false;
    }
    return true;
}

static bool write_csv(bench *B, const char *ctx)
{
    scnn_strbuf b = {0};
    scnn_strbuf_printf(&b, "%s", ctx);
    scnn_strbuf_printf(&b, "backend,op,direction,shape,threads,batch,reps,median_ms,min_ms,"
                           "stddev_ms,gflops,gbps,pct_of_peak,peak_gflops,max_abs_err,"
                           "max_rel_err,ok,impl\n");
    for (int i = 0; i < B->nrows; i++) {
        const row *w = &B->rows[i];
        scnn_strbuf_printf(&b,
                           "%s,%s,%s,%s,%d,%d,%d,%.6f,%.6f,%.6f,%.4f,%.4f,%.3f,%.2f,%.6g,"
                           "%.6g,%d,%s\n",
                           w->backend, w->op, w->dir, w->shape, w->threads, w->batch, w->reps,
                           w->median_ms, w->min_ms, w->stddev_ms, w->gflops, w->gbps, w->pct,
                           w->peak, w->max_abs, w->max_rel, w->ok ? 1 : 0, w->impl);
    }
    return write_and_free(B->o->out, &b);
}

/* ratios.csv: the paired rounds' ratios, backend over peer (>1: the backend is faster). */
static bool write_ratios(bench *B, const char *ctx)
{
    scnn_strbuf b = {0};
    scnn_strbuf_printf(&b, "%s", ctx);
    scnn_strbuf_printf(&b, "# ratio: the backend's speed over the peer's (the peer's time over "
                           "ours), per paired round; median and min-max of the rounds\n"
                           "op,direction,threads,batch,backend,peer,rounds,median_ratio,"
                           "min_ratio,max_ratio\n");
    for (int i = 0; i < B->nratios; i++) {
        const ratio_row *w = &B->ratios[i];
        const char *slash = strchr(w->pair, '/');
        scnn_strbuf_printf(&b, "%s,%s,%d,%d,%.*s,%s,%d,%.4f,%.4f,%.4f\n", w->op, w->dir,
                           w->threads, w->batch, (int)(slash - w->pair), w->pair, slash + 1,
                           w->rounds, w->ratio[0], w->ratio[1], w->ratio[2]);
    }
    return write_and_free(B->o->pairs_out, &b);
}

/* The JSON's context, beside Google Benchmark's own (CPU, caches, load, frequency scaling):
 * our header's lines, "# key: value" as key and value. */
static void gb_context(bench *B, const char *ctx)
{
    bench_gb_reset();
    char key[64], num[16];
    int n = 0;
    for (const char *l = ctx; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < 1023 ? len : 1023), l);
        const char *text = line + (line[0] == '#') + (line[1] == ' ');
        /* key: "scnn_NN_" and what comes before the line's first ": ", in words */
        const char *colon = strstr(text, ": ");
        int klen = colon && colon - text < 40 ? (int)(colon - text) : 0;
        snprintf(num, sizeof num, "%02d", n++);
        snprintf(key, sizeof key, "scnn_%s%s%.*s", num, klen ? "_" : "", klen, text);
        for (char *c = key; *c; c++)
            if (!isalnum((unsigned char)*c))
                *c = '_';
        bench_gb_context(key, klen ? colon + 2 : text);
        l = e ? e + 1 : l + len;
    }
    (void)B;
}

int bench_ops_run(const bench_ops_opts *o)
{
    op_shapes();
    bench *B = calloc(1, sizeof *B);
    if (!B)
        return 2;
    B->o = o;
    B->log = o->log ? o->log : stdout;
    char ctx[8192] = "", skipped[2048] = "";
    if (!setup_runners(B, skipped, sizeof skipped)) {
        free(B);
        return 2;
    }
    char bad[64];
    if (o->ops && !list_check(o->ops, op_known, NULL, bad, sizeof bad)) {
        fprintf(stderr, "scnn_bench_ops: unknown op '%s' in --ops\n", bad);
        free(B);
        return 2;
    }
    for (int i = 0; i < N_OPS; i++)
        B->op_on[i] = !o->ops || scnn_list_has(o->ops, op_defs[i].name);
    if (o->out) {
        /* fail now rather than after minutes of measuring */
        char dir[4096];
        const char *slash = strrchr(o->out, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - o->out) + 1 : 1,
                 slash ? o->out : ".");
        if (access(dir, W_OK) != 0) {
            fprintf(stderr, "scnn_bench_ops: cannot write %s: %s: %s\n", o->out, dir,
                    strerror(errno));
            free(B);
            return 2;
        }
    }

    if (o->n_threads > 0) {
        B->nthreads = o->n_threads;
        memcpy(B->threads, o->threads, sizeof B->threads);
    } else {
        B->threads[B->nthreads++] = 1;
        int all = default_max_threads();
        if (all > 1)
            B->threads[B->nthreads++] = all;
    }
    int all_threads = default_max_threads();
    int reps = o->reps > 0 ? o->reps : o->quick ? 2 : 3;
    double min_time = o->min_time >= 0 ? o->min_time : o->quick ? 0 : 0.3;

    /* Peaks first, on a machine not yet busy with our own kernels (every ISA the CPU has, at
     * 1 and each thread count: peak_measured probes them all). */
    peak_for(B, BENCH_ISA_AVX2, 1);
    for (int i = 0; i < B->nthreads; i++)
        peak_for(B, BENCH_ISA_AVX2, B->threads[i]);
    context_header(B, ctx, sizeof ctx, skipped, reps, min_time);
    fputs(ctx, B->log);
    gb_context(B, ctx);
    print_table_header(B->log);

    for (int i = 0; i < N_OPS; i++) {
        if (!B->op_on[i])
            continue;
        problem pb;
        problem_init(&pb, &op_defs[i], o->batch, o->seed);
        for (int d = 0; d < op_defs[i].ndirs; d++)
            run_direction(B, &pb, op_defs[i].dirs[d]);
        problem_free(&pb);
    }
    set_omp_threads(all_threads);

    int status = B->failures ? 1 : 0;
    bool written = o->out && write_csv(B, ctx);
    if (o->out && !written)
        status = 2;
    char err[512];
    if (o->json && !bench_gb_write_json(o->json, err, sizeof err)) {
        fprintf(stderr, "scnn_bench_ops: %s: %s\n", o->json, err);
        status = 2;
    }
    if (o->pairs_out && !write_ratios(B, ctx))
        status = 2;
    if (B->failures)
        fprintf(stderr, "scnn_bench_ops: FAILED: %d row%s failed the correctness check (see FAIL "
                        "lines above)\n",
                B->failures, B->failures == 1 ? "" : "s");
    if (B->warnings)
        fprintf(B->log, "# %d peer figure%s more than 25%% below SPEC.md: machine busy? measure "
                        "again\n",
                B->warnings, B->warnings == 1 ? "" : "s");
    if (B->over_peak)
        fprintf(B->log, "# %d row%s above the measured peak: the peak probe was disturbed? measure "
                        "again\n",
                B->over_peak, B->over_peak == 1 ? "" : "s");
    fprintf(B->log, "# %d rows, %d failed%s%s\n", B->nrows, B->failures,
            written ? ", csv: " : "", written ? o->out : "");
    free(B->rows);
    free(B->ratios);
    free(B);
    return status;
}
