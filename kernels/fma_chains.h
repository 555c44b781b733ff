/* Independent FP32 FMA chains at a given vector width: the one kernel behind both FMA-rate
 * measurements, the bench's peak probe (bench/peak_fma.c) and `auto`'s zmm/ymm probe
 * (kernels/avx512/avx512_probe.c). SCNN_FMA_CHAINS is more than the latency x throughput
 * product of every CPU we know (Zen 3: 4 cycles x 2 pipes), so the pipes never wait; the full
 * unroll keeps every chain in a register. The includer compiles it for the ISA of V (by its
 * flags, or by ATTR). */
#ifndef SCNN_KERNELS_FMA_CHAINS_H
#define SCNN_KERNELS_FMA_CHAINS_H

#include <immintrin.h>

#define SCNN_FMA_CHAINS 12

/* NAME(iters, flops): iters rounds of SCNN_FMA_CHAINS FMAs on vectors of type V with LANES
 * floats; *flops = the FLOPs done; returns a value of the chains (keep it: a sink). */
#define DEF_FMA_PEAK(NAME, ATTR, V, LANES, SET1, FMADD, ADD, STOREU)                              \
    ATTR float NAME(long iters, double *flops)                                                    \
    {                                                                                             \
        const V m = SET1(0.999999f), c = SET1(1e-6f);                                             \
        V a[SCNN_FMA_CHAINS];                                                                     \
        for (int i = 0; i < SCNN_FMA_CHAINS; i++)                                                 \
            a[i] = SET1(0.5f + 0.01f * (float)i);                                                 \
        for (long it = 0; it < iters; it++) {                                                     \
            _Pragma("GCC unroll 12") for (int i = 0; i < SCNN_FMA_CHAINS; i++) a[i] =             \
                FMADD(a[i], m, c);                                                                \
        }                                                                                         \
        V s = a[0];                                                                               \
        for (int i = 1; i < SCNN_FMA_CHAINS; i++)                                                 \
            s = ADD(s, a[i]);                                                                     \
        float out[LANES];                                                                         \
        STOREU(out, s);                                                                           \
        *flops = (double)iters * SCNN_FMA_CHAINS * LANES * 2;                                     \
        return out[0] + out[LANES - 1];                                                           \
    }

#endif
