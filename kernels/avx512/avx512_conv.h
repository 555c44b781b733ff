/* AVX-512 convolutions (avx512_conv.c): the three directions on NHWC/HWIO, as the avx2 ones
 * (kernels/avx2/avx2_conv.c) are organised, with 6x64 register tiles (24 zmm accumulators) and
 * masked tails. It declares no AVX-512 types: files compiled with the avx2 flags may include it.
 *
 * Each op is split into items that a pfor (kernels/avx2/avx2_kernels.h: scnn_avx2_pfor) spreads
 * over threads in contiguous ranges: forward and backward-data by groups of images, backward-
 * filter by a fixed number of chunks of images summed in chunk order. An output element is one
 * FMA chain in a fixed order whatever the range, so the results are bitwise identical for any
 * thread count. The one-thread ops are the avx512 backend's table (kernels/isa_ops.inc). */
#ifndef SCNN_AVX512_CONV_H
#define SCNN_AVX512_CONV_H

#include "kernels/avx2/avx2_kernels.h"

/* scnn_avx512_conv2d_workspace_for (bytes of workspace for d when up to `slots` threads share
 * it) and the three directions over a pfor (kernels/avx2/avx2_kernels.h). */
SCNN_ISA_DECLARE_CONV(scnn_avx512);

/* Tests: the correlations' blocks of taps (avx512_conv.c, corr_block) forced to `bytes` of B,
 * SIZE_MAX: none (all taps in one walk), 0: the rule by the L1d size again. */
void scnn_avx512_conv_force_block(size_t bytes);

/* True when this CPU has AVX-512 F, DQ, BW and VL (and AVX2/FMA); else *why_not says why
 * (kernels/avx512/avx512_backend.c; also declared in avx512_kernels.h). */
bool scnn_avx512_cpu_ok(const char **why_not);

#endif
