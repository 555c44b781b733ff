/* The im2col backend's cache-blocked GEMM, shared by its gemm op and its convolutions.
 * Portable C: the micro-kernel is written so that gcc -O2 vectorises it (SSE2 on x86-64).
 *
 * Operands are strided: element (i,l) of a is a[i*rs + l*cs], so one packer serves a matrix
 * and its transpose. B is packed once per call into NR-wide column panels, one K block (KC
 * rows) after another: block l0 starts at l0 * round_up(n, NR), panel j0 of it at j0 * kc. */
#ifndef SCNN_IM2COL_H
#define SCNN_IM2COL_H

#include <stdbool.h>
#include <stddef.h>

/* Register tile: MR rows x NR columns of c (12 SSE accumulators). */
#define IM2COL_MR 6
#define IM2COL_NR 8
/* Cache blocks: a packed [MC,KC] block of a (288 KiB: each element is stored four times) stays
 * in L2, a [KC,NR] panel of b (8 KiB) in L1. */
#define IM2COL_KC 256
#define IM2COL_MC 72
/* Columns of b packed at a time by the gemm op (its [KC,NC] buffer is on the stack). */
#define IM2COL_NC 64

static inline size_t im2col_round_up(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

/* Floats of b packed by scnn_im2col_pack_b: kk rows, n columns. */
static inline size_t im2col_packed_b_size(int kk, int n)
{
    return (size_t)kk * im2col_round_up((size_t)n, IM2COL_NR);
}

/* b [kk,n] (element (l,j) at b[l*rs + j*cs]) -> bp, the K-blocked panel layout above. */
void scnn_im2col_pack_b(int kk, int n, const float *b, ptrdiff_t rs, ptrdiff_t cs, float *bp);

/* What the last K block adds after alpha*ab + beta*c: bias [n] (may be NULL), then ReLU. */
typedef struct im2col_epilogue {
    const float *bias;
    bool relu;
} im2col_epilogue;

/* One K block: c [m,n] = alpha * a [m,kc] * bp [kc,n] + beta * c (c not read if beta == 0),
 * then the epilogue e (NULL: none); a strided (element (i,l) at a[i*ars + l*acs]), bp one K
 * block of scnn_im2col_pack_b's layout. Each element's sum over the block runs in order
 * l = 0..kc-1, whatever m and n: deterministic. */
void scnn_im2col_gemm_kblock(int m, int n, int kc, float alpha, const float *a, ptrdiff_t ars,
                             ptrdiff_t acs, const float *bp, float beta, const im2col_epilogue *e,
                             float *c, int ldc);

/* The gemm op (see backend.h). */
void scnn_im2col_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);

#endif
