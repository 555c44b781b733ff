/* The backend interface: one table of function pointers per kernel backend.
 *
 * The model calls kernels only through this table; a kernel never knows which layer calls it.
 * Layout conventions (as Keras): activations NHWC, convolution kernels HWIO, dense kernels
 * [in,out], all row-major float32. Every operation OVERWRITES its outputs (never accumulates).
 * A NULL entry falls back to the naive backend's (see scnn_backend_resolve()).
 *
 * Alignment and extent contract: an array argument (float or uint8) is aligned only to its
 * element type, and may end exactly at the end of mapped memory. A kernel reads and writes only
 * the elements its shape names (for gemm: rows of ld elements, the last row only as far as
 * its columns reach), never one past the end, and uses unaligned vector loads and stores (or
 * masked ones for tails). Only the convolution workspace is 64-byte aligned, and only its
 * conv2d_workspace() bytes may be touched. The parity tests (tests/test_backends.c) place
 * every array against a PROT_NONE page to hold every registered backend to this.
 *
 * This interface is frozen: backends, the bench and the tests build on it. Extend it by adding
 * fields at the end; never change the meaning of an existing one.
 */
#ifndef SCNN_BACKEND_H
#define SCNN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A stride-1 2-D convolution, x [n,h,w,c] * w [kh,kw,c,k] (+ b [k]) -> y [n,p,q,k].
 * p = h + pad_top + pad_bottom - kh + 1, q likewise. Build it with scnn_conv2d_make(). */
typedef struct scnn_conv2d {
    int n, h, w, c;                  /* input  NHWC */
    int k, kh, kw;                   /* filter HWIO: [kh,kw,c,k] */
    int pad_top, pad_left;           /* zero padding before */
    int pad_bottom, pad_right;       /* zero padding after */
    int p, q;                        /* output height and width */
    bool relu;                       /* forward applies ReLU after the bias */
} scnn_conv2d;

/* same=true: TensorFlow "same" (for an even kernel: (k-1)/2 before, the rest after); false: "valid". */
scnn_conv2d scnn_conv2d_make(int n, int h, int w, int c, int k, int kh, int kw, bool same, bool relu);
/* Multiply-adds of one forward pass (also of each backward pass). */
double scnn_conv2d_macs(const scnn_conv2d *d);

typedef struct scnn_backend {
    const char *name;
    const char *description;
    /* True when this CPU/build can run it; otherwise *why_not says why (static string). NULL:
     * always. Call through scnn_backend_available. */
    bool (*available)(const char **why_not);
    /* Threads the backend uses now. NULL: 1. Call through scnn_backend_threads. */
    int (*threads)(void);
    /* Bytes of scratch the convolution ops need for d (0 if none); the caller passes a buffer at
     * least this large, 64-byte aligned, sized once and reused for every step. */
    size_t (*conv2d_workspace)(const scnn_conv2d *d);

    /* x [n,h,w,c], w [kh,kw,c,k], b [k] -> y [n,p,q,k] = (relu?)(conv(x,w) + b) */
    void (*conv2d_forward)(const scnn_conv2d *d, const float *x, const float *w, const float *b,
                           float *y, void *ws);
    /* dy [n,p,q,k], w [kh,kw,c,k] -> dx [n,h,w,c] (gradient w.r.t. the input; dy already has
     * the ReLU mask applied) */
    void (*conv2d_backward_data)(const scnn_conv2d *d, const float *dy, const float *w, float *dx,
                                 void *ws);
    /* x [n,h,w,c], dy [n,p,q,k] -> dw [kh,kw,c,k], db [k] (db may be NULL) */
    void (*conv2d_backward_filter)(const scnn_conv2d *d, const float *x, const float *dy, float *dw,
                                   float *db, void *ws);

    /* Row-major GEMM: c [m,n] = alpha * op(a) [m,kk] * op(b) [kk,n] + beta * c.
     * op(a) = a (a is [m,kk], lda >= kk) or, if ta, a^T (a is [kk,m], lda >= m); likewise b.
     * beta == 0 means c is not read (may hold garbage/NaN). */
    void (*gemm)(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);
    /* y [rows,cols] += bias [cols], then ReLU if relu (in place) */
    void (*bias_act)(int rows, int cols, float *y, const float *bias, bool relu);
    /* dy [rows,cols] -> db [cols] = column sums */
    void (*bias_grad)(int rows, int cols, const float *dy, float *db);
    /* dy[i] = y[i] > 0 ? dy[i] : 0, for i < count (y is the ReLU output) */
    void (*relu_backward)(size_t count, const float *y, float *dy);

    /* Max-pool 2x2 stride 2, floor: x [n,h,w,c] -> y [n,h/2,w/2,c]; idx (same shape as y) gets
     * the winner's position 0..3 (dy*2+dx; the first maximum wins ties). */
    void (*maxpool_forward)(int n, int h, int w, int c, const float *x, float *y, uint8_t *idx);
    /* dy [n,h/2,w/2,c], idx -> dx [n,h,w,c] (zero where nothing was routed, including a dropped
     * odd last row/column) */
    void (*maxpool_backward)(int n, int h, int w, int c, const float *dy, const uint8_t *idx,
                             float *dx);

    /* Batch norm over m rows of c channels (m = n*h*w for NHWC), training mode:
     * mean[c], invstd[c] = 1/sqrt(biased var + eps) are saved for backward;
     * y = gamma*(x-mean)*invstd + beta; running stats:
     * run = momentum*run + (1-momentum)*batch, with the variance times m/(m-1) if unbiased_var. */
    void (*batchnorm_forward_train)(int m, int c, const float *x, const float *gamma,
                                    const float *beta, float eps, float momentum, bool unbiased_var,
                                    float *y, float *mean, float *invstd, float *run_mean,
                                    float *run_var);
    /* Inference: y = gamma*(x-run_mean)/sqrt(run_var+eps) + beta */
    void (*batchnorm_forward_infer)(int m, int c, const float *x, const float *gamma,
                                    const float *beta, const float *run_mean, const float *run_var,
                                    float eps, float *y);
    /* x, dy [m,c] -> dx [m,c], dgamma [c], dbeta [c] (training-mode gradient) */
    void (*batchnorm_backward)(int m, int c, const float *x, const float *dy, const float *gamma,
                               const float *mean, const float *invstd, float *dx, float *dgamma,
                               float *dbeta);

    /* y[i] = x[i] * mask[i] (dropout forward and backward; mask holds 0 or 1/(1-p)) */
    void (*mul)(size_t count, const float *x, const float *mask, float *y);

    /* logits [n,classes], labels [n] -> probs [n,classes] (softmax), dlogits [n,classes] =
     * (probs - onehot)/n (dlogits may be NULL); returns the mean cross-entropy with
     * probabilities clipped to [1e-7, 1-1e-7] as Keras reports it. */
    float (*softmax_xent)(int n, int classes, const float *logits, const uint8_t *labels,
                          float *probs, float *dlogits);

    /* Adam, Keras "epsilon-hat" form, for count parameters:
     * m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; p -= lr_t * m / (sqrt(v) + eps) */
    void (*adam_update)(size_t count, float *p, const float *g, float *m, float *v, float lr_t,
                        float b1, float b2, float eps);

    /* Inverted-dropout mask from the counter-based generator (include/scnn.h, scnn_rng_at):
     * with r = scnn_rng_at(key, i / 4) and u = (r >> (16 * (i % 4))) & 0xffff,
     * mask[i] = u < lrint(p * 65536) ? 0 : 1/(1-p), for i < count; 0 <= p < 1.
     * Every backend must give exactly these bits. */
    void (*dropout_mask)(size_t count, float p, uint64_t key, float *mask);

    /* ---- optional fused layers (NULL: the model runs the unfused ops; never filled from
     * naive). Each gives exactly the bits of the unfused sequence it replaces. */

    /* Max-pool + dropout: x [n,h,w,c] -> pooled, idx as maxpool_forward; mask as
     * dropout_mask(count of pooled, p, key); y = pooled * mask. One pass over x. */
    void (*pool_dropout_forward)(int n, int h, int w, int c, const float *x, float p,
                                 uint64_t key, float *pooled, uint8_t *idx, float *mask,
                                 float *y);
    /* Its backward with the ReLU backward of the layer below (x was a ReLU output):
     * dy [n,h/2,w/2,c] -> dx [n,h,w,c] = relu_backward(x, maxpool_backward(mul(dy, mask), idx)),
     * where x at the winner is pooled (so x itself is not read). */
    void (*pool_dropout_backward)(int n, int h, int w, int c, const float *dy, const float *mask,
                                  const uint8_t *idx, const float *pooled, float *dx);
} scnn_backend;

/* The naive backend: plain loops, the reference every other backend is checked against. */
extern const scnn_backend scnn_backend_naive;

/* Registry (kernels/registry.c). */
int scnn_backend_count(void);
const scnn_backend *scnn_backend_at(int i);          /* registered order: naive, im2col, ... */
const scnn_backend *scnn_backend_find(const char *name);  /* NULL if unknown */
/* A copy of b with every NULL op filled from naive's. */
scnn_backend scnn_backend_resolve(const scnn_backend *b);
/* Names of the ops b leaves to naive, comma-separated, into buf ("" if none). */
void scnn_backend_fallbacks(const scnn_backend *b, char *buf, size_t len);
/* b->available (NULL: always, *why_not ""); why_not may be NULL. */
bool scnn_backend_available(const scnn_backend *b, const char **why_not);
/* b->threads() (NULL: 1). */
int scnn_backend_threads(const scnn_backend *b);

/* Picks the backend named by name (NULL, "" or "auto": the fastest available). On failure
 * returns NULL and writes a one-line message (listing the available backends) to err. */
const scnn_backend *scnn_backend_select(const char *name, char *err, size_t errlen);
/* Why the last successful scnn_backend_select chose its backend (one line, static storage):
 * "NAME, named by SCNN_BACKEND", or for auto the rule and the measurement behind it. */
const char *scnn_backend_choice(void);
/* True when backends named a and b give bitwise identical results by construction (the same
 * name, or the same kernels on one thread and on OpenMP threads: avx2/omp, avx512/omp512), so
 * that a run started on one may be resumed on the other. */
bool scnn_backend_bitwise_equal(const char *a, const char *b);

#endif
