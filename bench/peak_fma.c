/* The FP32 FMA peak probe's kernels (the chains of kernels/fma_chains.h). Compiled with
 * -mavx2 -mfma (the AVX-512 one by its target attribute); bench_peak_gflops() checks the CPU
 * before calling. */
#include <immintrin.h>

#include "bench/bench_ops.h"
#include "kernels/fma_chains.h"

DEF_FMA_PEAK(bench_fma_avx2, , __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
             _mm256_storeu_ps)
DEF_FMA_PEAK(bench_fma_avx512, __attribute__((target("avx512f"))), __m512, 16, _mm512_set1_ps,
             _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)
