/* AVX2 GEMM for the dense layers: c [m,n] = alpha * op(a) [m,kk] * op(b) [kk,n] + beta * c.
 *
 * op(b) is packed per (NC-column block, KC-row block) into 16-wide panels on the stack; op(a)
 * is read in place (6 rows at a time, either layout). K is cut into fixed KC blocks whose
 * partial products are added to c in order, so the result never depends on how rows or
 * columns are shared among threads. */
#include <string.h>

#include "kernels/avx2/avx2_kernels.h"

#define MR SCNN_AVX2_MR
#define NR SCNN_AVX2_NR
#define KC SCNN_AVX2_KC
#define NC SCNN_AVX2_NC

/* first block: c = alpha*acc (+ beta*c); later blocks: c += alpha*acc */
#define DEF_GEMM_TILE(M)                                                                          \
    static void gemm_tile_##M(const scnn_avx2_ukr *u, bool first, float alpha, float beta,       \
                              float *c, ptrdiff_t ldc, int nr)                                    \
    {                                                                                             \
        __m256i m0, m1;                                                                           \
        scnn_avx2_masks(nr, &m0, &m1);                                                            \
        __m256 acc[MR][2];                                                                        \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++) acc[m][0] = acc[m][1] =              \
            _mm256_setzero_ps();                                                                  \
        scnn_avx2_ukr_run(M, 0, u, m0, m1, acc);                                                  \
        const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);                       \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++)                                       \
        {                                                                                         \
            float *cr = c + m * ldc;                                                              \
            __m256 v0 = _mm256_mul_ps(va, acc[m][0]), v1 = _mm256_mul_ps(va, acc[m][1]);          \
            if (!first || beta != 0.0f) {                                                         \
                __m256 c0 = _mm256_maskload_ps(cr, m0), c1 = _mm256_maskload_ps(cr + 8, m1);      \
                if (first) {                                                                      \
                    c0 = _mm256_mul_ps(vb, c0);                                                   \
                    c1 = _mm256_mul_ps(vb, c1);                                                   \
                }                                                                                 \
                v0 = _mm256_add_ps(c0, v0);                                                       \
                v1 = _mm256_add_ps(c1, v1);                                                       \
            }                                                                                     \
            if (nr == NR) {                                                                       \
                _mm256_storeu_ps(cr, v0);                                                         \
                _mm256_storeu_ps(cr + 8, v1);                                                     \
            } else {                                                                              \
                _mm256_maskstore_ps(cr, m0, v0);                                                  \
                _mm256_maskstore_ps(cr + 8, m1, v1);                                              \
            }                                                                                     \
        }                                                                                         \
    }
DEF_GEMM_TILE(1)
DEF_GEMM_TILE(2)
DEF_GEMM_TILE(3)
DEF_GEMM_TILE(4)
DEF_GEMM_TILE(5)
DEF_GEMM_TILE(6)

typedef void (*gemm_tile_fn)(const scnn_avx2_ukr *, bool, float, float, float *, ptrdiff_t, int);
static const gemm_tile_fn gemm_tiles[MR + 1] = {NULL,        gemm_tile_1, gemm_tile_2,
                                                gemm_tile_3, gemm_tile_4, gemm_tile_5,
                                                gemm_tile_6};

#define DRV_NAME(op) scnn_avx2_##op
#define SCNN_DRIVERS_GEMM
#include "kernels/isa_drivers.inc" /* gemm_args, gemm_items and the entry (the split) */

/* op(b) rows [l0, l0+kcn), columns [j0, j0+ncn) -> bp [ncn/16 panels][kcn][16], zero-padded */
static void pack_b(const gemm_args *g, int l0, int kcn, int j0, int ncn, float *bp)
{
    for (int pj = 0; pj * NR < ncn; pj++) {
        float *panel = bp + (size_t)pj * kcn * NR;
        const int jb = j0 + pj * NR, nr = ncn - pj * NR < NR ? ncn - pj * NR : NR;
        if (!g->tb) {
            __m256i m0, m1;
            scnn_avx2_masks(nr, &m0, &m1);
            for (int l = 0; l < kcn; l++) {
                const float *src = g->b + (size_t)(l0 + l) * g->ldb + jb;
                _mm256_storeu_ps(panel + l * NR, _mm256_maskload_ps(src, m0));
                _mm256_storeu_ps(panel + l * NR + 8, _mm256_maskload_ps(src + 8, m1));
            }
        } else {
            if (nr < NR)
                memset(panel, 0, sizeof *panel * (size_t)kcn * NR);
            for (int jj = 0; jj < nr; jj++) {
                const float *src = g->b + (size_t)(jb + jj) * g->ldb + l0;
                for (int l = 0; l < kcn; l++)
                    panel[l * NR + jj] = src[l];
            }
        }
    }
}

/* op(a) rows [r0, r0+mr) times the packed rows of op(b) into c (isa_drivers.inc's gemm_body) */
static void gemm_rows(const gemm_args *g, const float *bp, int l0, int kcn, int j0, int ncn,
                      int r0, int mr)
{
    scnn_avx2_ukr u = {.nseg = 1, .seglen = kcn, .ajump = 0, .bs = NR};
    if (g->ta) { /* op(a)[i][l] = a[l*lda + i] */
        u.a = g->a + (size_t)l0 * g->lda + r0;
        u.as = g->lda;
        for (int m = 0; m < MR; m++)
            u.off[m] = m < mr ? m : 0;
    } else {
        u.a = g->a + (size_t)r0 * g->lda + l0;
        u.as = 1;
        for (int m = 0; m < MR; m++)
            u.off[m] = (ptrdiff_t)(m < mr ? m : 0) * g->lda;
    }
    for (int pj = 0; pj * NR < ncn; pj++) {
        const int nr = ncn - pj * NR < NR ? ncn - pj * NR : NR;
        u.b = bp + (size_t)pj * kcn * NR;
        gemm_tiles[mr](&u, l0 == 0, g->alpha, g->beta, g->c + (size_t)r0 * g->ldc + j0 + pj * NR,
                       g->ldc, nr);
    }
}

/* kk == 0: c = beta*c (0 when beta == 0) */
static void gemm_scale_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const gemm_args *g = ctx;
    for (long i = first; i < last; i++)
        for (int j = 0; j < g->n; j++) {
            float *cij = g->c + (size_t)i * g->ldc + j;
            *cij = g->beta == 0.0f ? 0.0f : g->beta * *cij;
        }
}
