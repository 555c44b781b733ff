/* The FP32 FMA peak probe's kernels: 12 independent FMA chains per round, more than the
 * latency x throughput product of Zen 3 (4 cycles x 2 pipes), so the pipes never wait.
 * Compiled with -mavx2 -mfma (the AVX-512 one by its target attribute); bench_peak_gflops()
 * checks the CPU before calling. One definition for both widths: the full unroll keeps every
 * chain in a register (as in kernels/avx512/avx512_probe.c). */
#include <immintrin.h>

#include "bench/bench_ops.h"

#define CHAINS 12

/* NAME(iters, flops): iters rounds of CHAINS FMAs on vectors of type V with LANES floats. */
#define DEF_FMA_PEAK(NAME, ATTR, V, LANES, SET1, FMADD, ADD, STOREU)                              \
    ATTR float NAME(long iters, double *flops)                                                    \
    {                                                                                             \
        const V m = SET1(0.999999f), c = SET1(1e-6f);                                             \
        V a[CHAINS];                                                                              \
        for (int i = 0; i < CHAINS; i++)                                                          \
            a[i] = SET1(0.5f + 0.01f * (float)i);                                                 \
        for (long it = 0; it < iters; it++) {                                                     \
            _Pragma("GCC unroll 12") for (int i = 0; i < CHAINS; i++) a[i] = FMADD(a[i], m, c);   \
        }                                                                                         \
        V s = a[0];                                                                               \
        for (int i = 1; i < CHAINS; i++)                                                          \
            s = ADD(s, a[i]);                                                                     \
        float out[LANES];                                                                         \
        STOREU(out, s);                                                                           \
        *flops = (double)iters * CHAINS * LANES * 2;                                              \
        return out[0] + out[LANES - 1];                                                           \
    }

DEF_FMA_PEAK(bench_fma_avx2, , __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
             _mm256_storeu_ps)
DEF_FMA_PEAK(bench_fma_avx512, __attribute__((target("avx512f"))), __m512, 16, _mm512_set1_ps,
             _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)
