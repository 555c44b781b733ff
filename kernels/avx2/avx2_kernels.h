/* AVX2+FMA kernels shared by the avx2 backend (one thread) and the omp backend (OpenMP over the
 * same functions). Only files compiled with -mavx2 -mfma may include this header.
 *
 * Every heavy op is split into independent "items" (output tiles, images, column blocks) that
 * a *_run(first, last) function computes; omp hands contiguous item ranges to its threads. An
 * output element is always computed by one FMA chain in a fixed order that does not depend on
 * the item range, so results are bitwise identical for any thread count (and equal to avx2's).
 * Reductions over rows (batchnorm statistics) use a fixed number of chunks, summed in order. */
#ifndef SCNN_AVX2_KERNELS_H
#define SCNN_AVX2_KERNELS_H

#include <immintrin.h>
#include <stddef.h>

#include "backend.h"

#define SCNN_AVX2_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Register tile of the micro-kernel: MR rows x NR columns (12 ymm accumulators). */
#define SCNN_AVX2_MR 6
#define SCNN_AVX2_NR 16
/* GEMM blocking: packed B block [KC, NC]. K-blocks are fixed, so results never depend on it. */
#define SCNN_AVX2_KC 256
#define SCNN_AVX2_NC 64
/* Fixed number of row chunks of the batchnorm reductions. */
#define SCNN_AVX2_BN_CHUNKS 16
/* Channels per pass of the batchnorm reductions (bounded stack accumulators). */
#define SCNN_AVX2_BN_CBLOCK 64

/* One micro-kernel walk: acc[m][0..1] += sum over K steps of A(m, s) * B(s, 0..15), where
 * A(m, s) = a[off[m] + position(s)] and B(s, .) = b + bposition(s). position advances by as
 * per step and by ajump more after each of nseg segments of seglen steps (K = nseg*seglen);
 * bposition likewise by bs and bjump. With SCNN_AVX2_UKR_PREFETCH, each step also prefetches
 * the line at pf (into L1), pf advancing by pfs bytes per step. */
typedef struct scnn_avx2_ukr {
    const float *a;
    ptrdiff_t off[SCNN_AVX2_MR];
    ptrdiff_t as, ajump;
    int nseg, seglen;
    const float *b;
    ptrdiff_t bs, bjump;
    const char *pf;
    ptrdiff_t pfs;
} scnn_avx2_ukr;

/* Flags of scnn_avx2_ukr_run (compile-time constants). */
#define SCNN_AVX2_UKR_BMASK 1    /* B rows loaded with the column masks */
#define SCNN_AVX2_UKR_PREFETCH 2 /* prefetch along u->pf */

/* Lane masks for the first nr (0..16) columns of a 16-wide tile. */
SCNN_AVX2_ALWAYS_INLINE void scnn_avx2_masks(int nr, __m256i *m0, __m256i *m1)
{
    static const int32_t tab[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                    -1, -1, -1, -1, -1, 0,  0,  0,  0,  0,  0,
                                    0,  0,  0,  0,  0,  0,  0,  0,  0,  0};
    *m0 = _mm256_loadu_si256((const __m256i *)(tab + 16 - nr));
    *m1 = _mm256_loadu_si256((const __m256i *)(tab + 24 - nr));
}

/* MR and FLAGS are compile-time constants after inlining; rows >= MR are untouched. */
SCNN_AVX2_ALWAYS_INLINE void scnn_avx2_ukr_run(const int MR, const int FLAGS,
                                               const scnn_avx2_ukr *u, __m256i bm0, __m256i bm1,
                                               __m256 acc[SCNN_AVX2_MR][2])
{
    const float *a = u->a, *b = u->b;
    const char *pf = u->pf;
    const ptrdiff_t o1 = u->off[1], o2 = u->off[2], o3 = u->off[3], o4 = u->off[4],
                    o5 = u->off[5], as = u->as, aj = u->ajump, bs = u->bs, bj = u->bjump,
                    pfs = u->pfs;
    const ptrdiff_t o0 = u->off[0];
    __m256 c00 = acc[0][0], c01 = acc[0][1], c10 = acc[1][0], c11 = acc[1][1];
    __m256 c20 = acc[2][0], c21 = acc[2][1], c30 = acc[3][0], c31 = acc[3][1];
    __m256 c40 = acc[4][0], c41 = acc[4][1], c50 = acc[5][0], c51 = acc[5][1];
    for (int g = 0; g < u->nseg; g++) {
        for (int s = u->seglen; s > 0; s--) {
            __m256 b0, b1, t;
            if (FLAGS & SCNN_AVX2_UKR_PREFETCH) {
                _mm_prefetch(pf, _MM_HINT_T0);
                pf += pfs;
            }
            if (FLAGS & SCNN_AVX2_UKR_BMASK) {
                b0 = _mm256_maskload_ps(b, bm0);
                b1 = _mm256_maskload_ps(b + 8, bm1);
            } else {
                b0 = _mm256_loadu_ps(b);
                b1 = _mm256_loadu_ps(b + 8);
            }
            t = _mm256_broadcast_ss(a + o0);
            c00 = _mm256_fmadd_ps(t, b0, c00);
            c01 = _mm256_fmadd_ps(t, b1, c01);
            if (MR > 1) {
                t = _mm256_broadcast_ss(a + o1);
                c10 = _mm256_fmadd_ps(t, b0, c10);
                c11 = _mm256_fmadd_ps(t, b1, c11);
            }
            if (MR > 2) {
                t = _mm256_broadcast_ss(a + o2);
                c20 = _mm256_fmadd_ps(t, b0, c20);
                c21 = _mm256_fmadd_ps(t, b1, c21);
            }
            if (MR > 3) {
                t = _mm256_broadcast_ss(a + o3);
                c30 = _mm256_fmadd_ps(t, b0, c30);
                c31 = _mm256_fmadd_ps(t, b1, c31);
            }
            if (MR > 4) {
                t = _mm256_broadcast_ss(a + o4);
                c40 = _mm256_fmadd_ps(t, b0, c40);
                c41 = _mm256_fmadd_ps(t, b1, c41);
            }
            if (MR > 5) {
                t = _mm256_broadcast_ss(a + o5);
                c50 = _mm256_fmadd_ps(t, b0, c50);
                c51 = _mm256_fmadd_ps(t, b1, c51);
            }
            a += as;
            b += bs;
        }
        if (g + 1 < u->nseg) { /* (not past the last segment: it may end the array) */
            a += aj;
            b += bj;
        }
    }
    acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
    acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
    acc[4][0] = c40, acc[4][1] = c41, acc[5][0] = c50, acc[5][1] = c51;
}

/* ---- convolution plans (avx2_conv.c) ------------------------------------------------------- */

/* A forward correlation: src [n,h,w,c] * packed weights -> y [n,p,q,k]; rows/columns outside
 * src (pt/pl before, whatever p,q need after) read as zero. Backward-data is one with dy as src. */
typedef struct scnn_avx2_fwd {
    const float *x;
    int n, h, w, c;
    int pt, pl, p, q;
    int k, kh, kw;
    bool copy;         /* a zero-padded copy of each image is needed */
    bool dot;          /* k == 1: dot-product path, bp is [kh*kw*c] */
    bool gather;       /* only the taps inside src, by tap classes (no copy; see avx2_conv.c) */
    const float *bp;   /* packed [ceil(k/16)][kh*kw*c][16] */
    const float *bias; /* [k] or NULL */
    bool relu;
    float *y;
} scnn_avx2_fwd;

/* Backward-filter: x [n,h,w,c], dy [n,p,q,k] -> dw [kh,kw,c,k] and db [k]. */
typedef struct scnn_avx2_bwf {
    const float *x, *dy;
    const scnn_conv2d *d;
    bool copy;
    float *part; /* partial sums per chunk of images (see avx2_conv.c) */
    float *dw, *db;
} scnn_avx2_bwf;

/* Fill the plan (packing weights into ws); return the per-thread scratch area, one slot of
 * *slot_floats floats per thread. */
float *scnn_avx2_fwd_plan_forward(scnn_avx2_fwd *f, const scnn_conv2d *d, const float *x,
                                  const float *w, const float *b, float *y, void *ws,
                                  size_t *slot_floats);
float *scnn_avx2_fwd_plan_backward_data(scnn_avx2_fwd *f, const scnn_conv2d *d, const float *dy,
                                        const float *w, float *dx, void *ws, size_t *slot_floats);
/* Items: (image, 16-column panel) pairs, image-major; with gather, groups of images. */
long scnn_avx2_fwd_items(const scnn_avx2_fwd *f);
void scnn_avx2_fwd_run(const scnn_avx2_fwd *f, float *scratch, long first, long last);
float *scnn_avx2_bwf_plan(scnn_avx2_bwf *f, const scnn_conv2d *d, const float *x,
                          const float *dy, float *dw, float *db, void *ws, size_t *slot_floats);
/* Items: a fixed number of chunks of images, each summed into its own partial dw and db. */
long scnn_avx2_bwf_items(const scnn_avx2_bwf *f);
void scnn_avx2_bwf_run(const scnn_avx2_bwf *f, float *scratch, long first, long last);
/* Then the partials' sum into dw and db (when not NULL), in blocks of SCNN_AVX2_BWF_SUM_BLOCK
 * elements. */
#define SCNN_AVX2_BWF_SUM_BLOCK 1024
long scnn_avx2_bwf_sum_items(const scnn_avx2_bwf *f);
void scnn_avx2_bwf_sum_run(const scnn_avx2_bwf *f, long first, long last);

/* ---- the ops, parameterised by how items are spread over threads ---------------------------- */

/* body computes items [first, last) using per-thread scratch slot `slot` (< the slots the
 * workspace was sized for). */
typedef void (*scnn_avx2_body)(void *ctx, long first, long last, int slot);
/* Runs body over items [0, items) in contiguous ranges, one per thread, using at most
 * items/grain threads (at least one). The avx2 backend runs it all on slot 0. */
typedef void (*scnn_avx2_pfor)(long items, long grain, scnn_avx2_body body, void *ctx);

void scnn_avx2_pfor_serial(long items, long grain, scnn_avx2_body body, void *ctx);
/* True when this CPU has AVX2 and FMA (checked at run time); else *why_not says so. */
bool scnn_avx2_cpu_ok(const char **why_not);

/* The ops over a pfor, declared once for each ISA that defines them: P is the ISA's prefix
 * (scnn_avx2 below; scnn_avx512 in kernels/avx512/avx512_conv.h and avx512_kernels.h), so these
 * declare P_conv2d_workspace_for, P_conv2d_forward_with, ..., P_dropout_mask_with; the bodies
 * are in the ISA's files and kernels/isa_drivers.inc, and kernels/isa_ops.inc turns them into a
 * backend table over any pfor. The convolutions are apart: avx512_conv.h declares them for files
 * without the AVX-512 flags. */
#define SCNN_ISA_DECLARE_CONV(P)                                                                  \
    size_t P##_conv2d_workspace_for(const scnn_conv2d *d, int slots);                           \
    void P##_conv2d_forward_with(scnn_avx2_pfor pf, const scnn_conv2d *d, const float *x,       \
                                 const float *w, const float *b, float *y, void *ws);           \
    void P##_conv2d_backward_data_with(scnn_avx2_pfor pf, const scnn_conv2d *d,                 \
                                       const float *dy, const float *w, float *dx, void *ws);   \
    void P##_conv2d_backward_filter_with(scnn_avx2_pfor pf, const scnn_conv2d *d,               \
                                         const float *x, const float *dy, float *dw, float *db, \
                                         void *ws)

/* mc_rows: GEMM rows per item, 0 for all of them; any value gives the same result. */
#define SCNN_ISA_DECLARE_OPS(P)                                                                   \
    void P##_gemm_with(scnn_avx2_pfor pf, int mc_rows, bool ta, bool tb, int m, int n, int kk,  \
                       float alpha, const float *a, int lda, const float *b, int ldb,           \
                       float beta, float *c, int ldc);                                          \
    void P##_bias_act_with(scnn_avx2_pfor pf, int rows, int cols, float *y, const float *bias,  \
                           bool relu);                                                          \
    void P##_bias_grad_with(scnn_avx2_pfor pf, int rows, int cols, const float *dy, float *db); \
    void P##_relu_backward_with(scnn_avx2_pfor pf, size_t count, const float *y, float *dy);    \
    void P##_mul_with(scnn_avx2_pfor pf, size_t count, const float *x, const float *mask,       \
                      float *y);                                                                \
    void P##_maxpool_forward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,                \
                                  const float *x, float *y, uint8_t *idx);                      \
    void P##_maxpool_backward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,               \
                                   const float *dy, const uint8_t *idx, float *dx);             \
    void P##_batchnorm_forward_train_with(scnn_avx2_pfor pf, int m, int c, const float *x,      \
                                          const float *gamma, const float *beta, float eps,     \
                                          float momentum, bool unbiased_var, float *y,          \
                                          float *mean, float *invstd, float *run_mean,          \
                                          float *run_var);                                      \
    void P##_batchnorm_forward_infer_with(scnn_avx2_pfor pf, int m, int c, const float *x,      \
                                          const float *gamma, const float *beta,                \
                                          const float *run_mean, const float *run_var,          \
                                          float eps, float *y);                                 \
    void P##_batchnorm_backward_with(scnn_avx2_pfor pf, int m, int c, const float *x,           \
                                     const float *dy, const float *gamma, const float *mean,    \
                                     const float *invstd, float *dx, float *dgamma,             \
                                     float *dbeta);                                             \
    void P##_adam_with(scnn_avx2_pfor pf, size_t count, float *p, const float *g, float *m,     \
                       float *v, float lr_t, float b1, float b2, float eps);                    \
    void P##_dropout_mask_with(scnn_avx2_pfor pf, size_t count, float p, uint64_t key,          \
                               float *mask)

SCNN_ISA_DECLARE_CONV(scnn_avx2);
SCNN_ISA_DECLARE_OPS(scnn_avx2);

#endif
