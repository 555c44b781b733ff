/* AVX-512 GEMM for the dense layers: c [m,n] = alpha * op(a) [m,kk] * op(b) [kk,n] + beta * c.
 *
 * As the avx2 GEMM (kernels/avx2/avx2_gemm.c), with a 12x32 register tile (24 of the 32 zmm
 * registers accumulate; a 16-column tile where a panel is at most 16 wide). op(b) is packed per
 * (NC-column block, KC-row block) into 32-wide zero-padded panels on the stack, op(a) is read in
 * place with broadcasts (either layout); only the stores of a column tail are masked. K is cut
 * into fixed KC blocks whose partial products are added to c in order, so the result never
 * depends on how rows or columns are shared among threads. */
#include <string.h>

#include "kernels/avx512/avx512_kernels.h"

#define MR SCNN_AVX512_MR
#define NR SCNN_AVX512_NR
#define KC SCNN_AVX512_KC
#define NC SCNN_AVX512_NC
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define DRV_NAME(op) scnn_avx512_##op
#define SCNN_DRIVERS_GEMM
#include "kernels/isa_drivers.inc" /* gemm_args, gemm_items and the entry (the split) */

/* acc[r][v] = sum over s < kcn of A(r, s) * bp[s][16v .. 16v+15], for rows r < M; A(r, s) is
 * a[s*as + r] when ta, else rows[r][s]. */
ALWAYS_INLINE void ukr(const int M, const int NV, const bool TA, const float *a, ptrdiff_t as,
                       const float *const *rows, const float *bp, int kcn, __m512 acc[MR][2])
{
    for (int r = 0; r < M; r++)
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    for (int s = 0; s < kcn; s++) {
        const __m512 b0 = _mm512_load_ps(bp + (size_t)s * NR);
        const __m512 b1 = NV > 1 ? _mm512_load_ps(bp + (size_t)s * NR + 16) : b0;
#pragma GCC unroll 12
        for (int r = 0; r < M; r++) {
            const __m512 t = _mm512_set1_ps(TA ? a[r] : rows[r][s]);
            acc[r][0] = _mm512_fmadd_ps(t, b0, acc[r][0]);
            if (NV > 1)
                acc[r][1] = _mm512_fmadd_ps(t, b1, acc[r][1]);
        }
        if (TA)
            a += as;
    }
}

/* first block: c = alpha*acc (+ beta*c); later blocks: c += alpha*acc; nr columns (<= 16*NV) */
ALWAYS_INLINE void store_tile(const int M, const int NV, __m512 acc[MR][2], bool first,
                              float alpha, float beta, float *c, ptrdiff_t ldc, int nr)
{
    const __mmask16 k0 = scnn_avx512_mask(nr), k1 = scnn_avx512_mask(nr - 16);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const bool read = !first || beta != 0.0f;
    for (int r = 0; r < M; r++) {
        float *cr = c + r * ldc;
        for (int v = 0; v < NV; v++) {
            const __mmask16 k = v ? k1 : k0;
            __m512 o = _mm512_mul_ps(va, acc[r][v]);
            if (read) {
                __m512 old = _mm512_maskz_loadu_ps(k, cr + 16 * v);
                if (first)
                    old = _mm512_mul_ps(vb, old);
                o = _mm512_add_ps(old, o);
            }
            _mm512_mask_storeu_ps(cr + 16 * v, k, o);
        }
    }
}

#define DEF_TILE(M, NV, TA)                                                                       \
    static void tile_##M##_##NV##_##TA(const float *a, ptrdiff_t as, const float *const *rows,   \
                                       const float *bp, int kcn, bool first, float alpha,        \
                                       float beta, float *c, ptrdiff_t ldc, int nr)              \
    {                                                                                             \
        __m512 acc[MR][2];                                                                        \
        ukr(M, NV, TA, a, as, rows, bp, kcn, acc);                                                \
        store_tile(M, NV, acc, first, alpha, beta, c, ldc, nr);                                   \
    }
#define DEF_TILES(M)                                                                              \
    DEF_TILE(M, 1, 0) DEF_TILE(M, 2, 0) DEF_TILE(M, 1, 1) DEF_TILE(M, 2, 1)
DEF_TILES(1)
DEF_TILES(2)
DEF_TILES(3)
DEF_TILES(4)
DEF_TILES(5)
DEF_TILES(6)
DEF_TILES(7)
DEF_TILES(8)
DEF_TILES(9)
DEF_TILES(10)
DEF_TILES(11)
DEF_TILES(12)

typedef void (*tile_fn)(const float *, ptrdiff_t, const float *const *, const float *, int, bool,
                        float, float, float *, ptrdiff_t, int);
#define TILE_ROW(M) {{tile_##M##_1_0, tile_##M##_2_0}, {tile_##M##_1_1, tile_##M##_2_1}}
/* tiles[M][ta][NV-1] */
static const tile_fn tiles[MR + 1][2][2] = {
    {{NULL, NULL}, {NULL, NULL}}, TILE_ROW(1), TILE_ROW(2), TILE_ROW(3), TILE_ROW(4),
    TILE_ROW(5), TILE_ROW(6), TILE_ROW(7), TILE_ROW(8), TILE_ROW(9), TILE_ROW(10), TILE_ROW(11),
    TILE_ROW(12)};

/* r[i] becomes column i of the 16x16 block whose rows were r[0..15]. */
ALWAYS_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) { /* pairs of rows interleaved by elements */
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* then by pairs of elements */
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int i = 0; i < 2; i++) /* then by 128-bit lanes, twice */
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
            t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

/* op(b) rows [l0, l0+kcn), columns [j0, j0+ncn) -> bp [ceil(ncn/32) panels][kcn][32],
 * zero-padded */
static void pack_b(const gemm_args *g, int l0, int kcn, int j0, int ncn, float *bp)
{
    for (int pj = 0; pj * NR < ncn; pj++) {
        float *panel = bp + (size_t)pj * kcn * NR;
        const int jb = j0 + pj * NR, nr = ncn - pj * NR < NR ? ncn - pj * NR : NR;
        if (!g->tb) {
            const __mmask16 k0 = scnn_avx512_mask(nr), k1 = scnn_avx512_mask(nr - 16);
            for (int l = 0; l < kcn; l++) {
                const float *src = g->b + (size_t)(l0 + l) * g->ldb + jb;
                _mm512_store_ps(panel + l * NR, _mm512_maskz_loadu_ps(k0, src));
                _mm512_store_ps(panel + l * NR + 16, _mm512_maskz_loadu_ps(k1, src + 16));
            }
        } else {
            /* op(b)[l][j] = b[j*ldb + l]: 16x16 blocks transposed in registers; the rest (fewer
             * than 16 columns or rows left) gathered, 16 columns per step (a gap of ldb floats).
             * The gathers alone made the dense layer's backward-data (1600 x 256, transposed)
             * 0.88-0.90x OpenBLAS at 1 thread on the Zen 4 kind. */
            const __m512i step = _mm512_mullo_epi32(_mm512_set1_epi32(g->ldb),
                                                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8,
                                                                      9, 10, 11, 12, 13, 14, 15));
            for (int v = 0; v < 2; v++) {
                const __mmask16 k = scnn_avx512_mask(nr - 16 * v);
                const float *src = g->b + (size_t)(jb + 16 * v) * g->ldb + l0;
                int l = 0;
                for (; nr - 16 * v >= 16 && l + 16 <= kcn; l += 16) {
                    __m512 r[16];
                    for (int i = 0; i < 16; i++)
                        r[i] = _mm512_loadu_ps(src + (size_t)i * g->ldb + l);
                    transpose16(r);
                    for (int i = 0; i < 16; i++)
                        _mm512_store_ps(panel + (l + i) * NR + 16 * v, r[i]);
                }
                for (; l < kcn; l++)
                    _mm512_store_ps(panel + l * NR + 16 * v,
                                    k ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, step,
                                                                 src + l, 4)
                                      : _mm512_setzero_ps());
            }
        }
    }
}

/* op(a) rows [r0, r0+mr) times the packed rows of op(b) into c (isa_drivers.inc's gemm_body) */
static void gemm_rows(const gemm_args *g, const float *bp, int l0, int kcn, int j0, int ncn,
                      int r0, int mr)
{
    float ap[KC * MR + 16] __attribute__((aligned(64)));
    const float *a = NULL, *rows[MR];
    ptrdiff_t as = 0;
    if (g->ta) {
        /* op(a)[i][l] = a[l*lda + i]: copied to ap [kcn][MR] (each step's MR values are
         * contiguous already), read from L1 for every panel */
        const __mmask16 k = scnn_avx512_mask(mr);
        const float *src = g->a + (size_t)l0 * g->lda + r0;
        for (int l = 0; l < kcn; l++)
            _mm512_mask_storeu_ps(ap + l * MR, k,
                                  _mm512_maskz_loadu_ps(k, src + (size_t)l * g->lda));
        a = ap;
        as = MR;
    } else {
        for (int r = 0; r < MR; r++)
            rows[r] = g->a + (size_t)(r0 + (r < mr ? r : 0)) * g->lda + l0;
    }
    for (int pj = 0; pj * NR < ncn; pj++) {
        const int nr = ncn - pj * NR < NR ? ncn - pj * NR : NR;
        tiles[mr][g->ta][nr > 16](a, as, rows, bp + (size_t)pj * kcn * NR, kcn, l0 == 0,
                                  g->alpha, g->beta, g->c + (size_t)r0 * g->ldc + j0 + pj * NR,
                                  g->ldc, nr);
    }
}

/* kk == 0: c = beta*c (0 when beta == 0), rows [first, last) */
static void gemm_scale_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const gemm_args *g = ctx;
    const __m512 vb = _mm512_set1_ps(g->beta);
    for (long i = first; i < last; i++)
        for (int j = 0; j < g->n; j += 16) {
            float *cij = g->c + (size_t)i * g->ldc + j;
            const __mmask16 k = scnn_avx512_mask(g->n - j);
            _mm512_mask_storeu_ps(cij, k,
                                  g->beta == 0.0f
                                      ? _mm512_setzero_ps()
                                      : _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(k, cij)));
        }
}
