/* Cache-blocked GEMM in portable C (BLIS loop order): pack a [MC,KC] block of a into MR-row
 * panels and b into NR-column panels, then a register-blocked MR x NR micro-kernel. */
#include <stdbool.h>
#include <string.h>

#include "backend.h"
#include "kernels/im2col/im2col.h"

#define MR IM2COL_MR
#define NR IM2COL_NR
#define KC IM2COL_KC
#define MC IM2COL_MC
#define NC IM2COL_NC

_Static_assert(NR == 8, "the micro-kernel splits a row of the tile into two SSE registers");
_Static_assert(MC % MR == 0 && NC % NR == 0, "blocks are whole panels");

/* a [mc,kc] (strided) -> ap [ceil(mc/MR)][kc][MR][4]: each element four times, so that the
 * micro-kernel loads it as a vector instead of broadcasting it (SSE2 has no broadcast load);
 * missing rows zero */
static void pack_a(int mc, int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                   float *restrict ap)
{
    for (int i0 = 0; i0 < mc; i0 += MR, ap += (size_t)kc * MR * 4) {
        const int mr = mc - i0 < MR ? mc - i0 : MR;
        const float *a0 = a + i0 * rs;
        if (mr == MR) {
            for (int l = 0; l < kc; l++)
#pragma GCC unroll 8
                for (int i = 0; i < MR; i++) {
                    const float v = a0[i * rs + l * cs];
                    for (int r = 0; r < 4; r++)
                        ap[(l * MR + i) * 4 + r] = v;
                }
            continue;
        }
        for (int l = 0; l < kc; l++)
            for (int i = 0; i < MR; i++) {
                const float v = i < mr ? a0[i * rs + l * cs] : 0.0f;
                for (int r = 0; r < 4; r++)
                    ap[(l * MR + i) * 4 + r] = v;
            }
    }
}

/* b [kc,n] (strided) -> bp [ceil(n/NR)][kc][NR], missing columns zero */
static void pack_b_block(int kc, int n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                         float *restrict bp)
{
    for (int j0 = 0; j0 < n; j0 += NR, bp += (size_t)kc * NR) {
        const int nr = n - j0 < NR ? n - j0 : NR;
        const float *b0 = b + j0 * cs;
        if (nr == NR && cs == 1) {
            for (int l = 0; l < kc; l++)
                for (int j = 0; j < NR; j++)
                    bp[l * NR + j] = b0[l * rs + j];
        } else if (nr == NR && rs == 1) {
            for (int j = 0; j < NR; j++)
                for (int l = 0; l < kc; l++)
                    bp[l * NR + j] = b0[j * cs + l];
        } else {
            for (int l = 0; l < kc; l++)
                for (int j = 0; j < NR; j++)
                    bp[l * NR + j] = j < nr ? b0[l * rs + j * cs] : 0.0f;
        }
    }
}

void scnn_im2col_pack_b(int kk, int n, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *bp)
{
    const size_t npad = im2col_round_up((size_t)n, NR);
    for (int l0 = 0; l0 < kk; l0 += KC) {
        const int kc = kk - l0 < KC ? kk - l0 : KC;
        pack_b_block(kc, n, b + l0 * rs, rs, cs, bp + (size_t)l0 * npad);
    }
}

/* ap [kc][MR][4], bp [kc][NR] -> t [MR][NR] = ap^T bp. The i loop is unrolled so that the
 * accumulators live in registers; each half of a row vectorises into one SSE register.
 * Not inlined, and nothing else live: 12 accumulators, 2 vectors of b and the vector of a
 * fill the 16 SSE registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void kernel(int kc, const float *restrict ap, const float *restrict bp,
                   float (*restrict t)[NR])
{
    float acc[MR][NR] = {{0}};
    for (int l = 0; l < kc; l++) {
        const float *al = ap + l * MR * 4, *bl = bp + l * NR;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            for (int j = 0; j < 4; j++)
                acc[i][j] += al[i * 4 + j] * bl[j];
            for (int j = 0; j < 4; j++)
                acc[i][4 + j] += al[i * 4 + j] * bl[4 + j];
        }
    }
    memcpy(t, acc, sizeof acc);
}

/* c [mr,nr] = alpha * t + beta * c (c not read if beta == 0), then + bias [nr] and ReLU if
 * asked (e NULL: neither) */
static void store_tile(float (*restrict t)[NR], float alpha, float beta, const im2col_epilogue *e,
                       float *restrict c, int ldc, int mr, int nr)
{
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < NR; j++)
            t[i][j] = beta == 0.0f || j >= nr ? alpha * t[i][j]
                                              : alpha * t[i][j] + beta * c[(size_t)i * ldc + j];
    if (e) {
        float bias[NR] = {0};
        for (int j = 0; j < nr && e->bias; j++)
            bias[j] = e->bias[j];
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < NR; j++) {
                const float v = t[i][j] + bias[j];
                t[i][j] = e->relu && v < 0.0f ? 0.0f : v;
            }
    }
    if (nr == NR)
        for (int i = 0; i < mr; i++)
            memcpy(c + (size_t)i * ldc, t[i], sizeof t[i]);
    else
        for (int i = 0; i < mr; i++)
            memcpy(c + (size_t)i * ldc, t[i], sizeof t[i][0] * nr);
}

void scnn_im2col_gemm_kblock(int m, int n, int kc, float alpha, const float *a, ptrdiff_t ars,
                             ptrdiff_t acs, const float *bp, float beta, const im2col_epilogue *e,
                             float *c, int ldc)
{
    _Alignas(64) float ap[MC * KC * 4];
    _Alignas(64) float t[MR][NR];
    for (int i0 = 0; i0 < m; i0 += MC) {
        const int mc = m - i0 < MC ? m - i0 : MC;
        pack_a(mc, kc, a + i0 * ars, ars, acs, ap);
        for (int j0 = 0; j0 < n; j0 += NR) {
            const int nr = n - j0 < NR ? n - j0 : NR;
            const float *bpj = bp + (size_t)j0 * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                kernel(kc, ap + (size_t)ir * kc * 4, bpj, t);
                im2col_epilogue ej;
                if (e) {
                    ej.bias = e->bias ? e->bias + j0 : NULL;
                    ej.relu = e->relu;
                }
                store_tile(t, alpha, beta, e ? &ej : NULL, c + (size_t)(i0 + ir) * ldc + j0, ldc,
                           mc - ir < MR ? mc - ir : MR, nr);
            }
        }
    }
}

/* c [m,n] = alpha * op(a) [m,kk] * op(b) [kk,n] + beta * c, row-major (beta == 0: c not read).
 * Blocks of NC columns and KC rows of op(b) are packed on the stack; the first K block applies
 * beta, the later ones add to c. */
void scnn_im2col_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (kk <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    const ptrdiff_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
    const ptrdiff_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
    _Alignas(64) float bp[KC * NC];
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int nc = n - j0 < NC ? n - j0 : NC;
        for (int l0 = 0; l0 < kk; l0 += KC) {
            const int kc = kk - l0 < KC ? kk - l0 : KC;
            pack_b_block(kc, nc, b + l0 * brs + j0 * bcs, brs, bcs, bp);
            scnn_im2col_gemm_kblock(m, nc, kc, alpha, a + l0 * acs, ars, acs, bp,
                                    l0 == 0 ? beta : 1.0f, NULL, c + j0, ldc);
        }
    }
}

