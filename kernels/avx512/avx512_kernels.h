/* AVX-512 kernels shared by the avx512 backend (one thread) and the omp512 backend (OpenMP over
 * the same functions). Only files compiled with the AVX-512 flags (Makefile: AVX512_FLAGS) may
 * include this header.
 *
 * The ops are split into items exactly as the avx2 ones are (kernels/avx2/avx2_kernels.h, whose
 * pfor types they share): an output element is computed by one chain of operations in a fixed
 * order that does not depend on the item range, and row reductions run over a fixed number of
 * chunks, so results are bitwise identical for any thread count. Tails are masked (never a
 * scalar loop), and what AVX-512 adds is used: 32 registers for a 12x32 GEMM tile, 64-bit
 * multiplies for the dropout generator, 16-bit compares into masks. */
#ifndef SCNN_AVX512_KERNELS_H
#define SCNN_AVX512_KERNELS_H

#include "kernels/avx2/avx2_kernels.h"

/* GEMM register tile: MR rows x NR columns (24 zmm accumulators); K blocks are fixed. NC = 256
 * columns per packed block of b (256 KiB on the stack): the dense layers' op(a) is then read
 * once, which measured 1.05-1.2x faster than 64 on the 1600->256 products. */
#define SCNN_AVX512_MR 12
#define SCNN_AVX512_NR 32
#define SCNN_AVX512_KC 256
#define SCNN_AVX512_NC 256

/* The lane mask of the first n (0..16) of 16 lanes. */
static inline __attribute__((always_inline)) __mmask16 scnn_avx512_mask(long n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u);
}

/* True when this CPU has AVX-512 F, DQ, BW and VL (and AVX2/FMA), and SCNN_HIDE_ISA does not
 * hide it; otherwise *why_not says why. */
bool scnn_avx512_cpu_ok(const char **why_not);

/* The best of a few short runs of independent FMA chains on this core, in GFLOP/s: zmm and ymm
 * (kernels/avx512/avx512_probe.c; declared in kernels/isa.h too, for the registry). */
void scnn_avx512_fma_probe(double *zmm_gflops, double *ymm_gflops);

SCNN_ISA_DECLARE_OPS(scnn_avx512); /* (kernels/avx2/avx2_kernels.h) */
/* and what only AVX-512 has: */
float scnn_avx512_softmax_xent_with(scnn_avx2_pfor pf, int n, int classes, const float *logits,
                                    const uint8_t *labels, float *probs, float *dlogits);
/* The fused entries of the table (include/backend.h: pool_dropout_forward/backward). */
void scnn_avx512_pool_dropout_forward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                           const float *x, float p, uint64_t key, float *pooled,
                                           uint8_t *idx, float *mask, float *y);
void scnn_avx512_pool_dropout_backward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                            const float *dy, const float *mask,
                                            const uint8_t *idx, const float *pooled, float *dx);

#endif
