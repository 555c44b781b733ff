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
 * floats; *flops = the FLOPs done; returns a value of the chains (keep it: a sink). The chains
 * are twelve named variables, not an array under an unroll pragma: GCC honours the pragma at -O2
 * only, and at -O1 (the SANITIZE=1 build) the array lived in memory, so the probe ran a third of
 * the peak and the bench saw kernels "above the peak". */
#define DEF_FMA_PEAK(NAME, ATTR, V, LANES, SET1, FMADD, ADD, STOREU)                              \
    ATTR float NAME(long iters, double *flops)                                                    \
    {                                                                                             \
        const V m_ = SET1(0.999999f), c_ = SET1(1e-6f);                                           \
        V a0 = SET1(0.50f), a1 = SET1(0.51f), a2 = SET1(0.52f), a3 = SET1(0.53f);                 \
        V a4 = SET1(0.54f), a5 = SET1(0.55f), a6 = SET1(0.56f), a7 = SET1(0.57f);                 \
        V a8 = SET1(0.58f), a9 = SET1(0.59f), a10 = SET1(0.60f), a11 = SET1(0.61f);               \
        for (long it = 0; it < iters; it++) {                                                     \
            a0 = FMADD(a0, m_, c_), a1 = FMADD(a1, m_, c_), a2 = FMADD(a2, m_, c_);               \
            a3 = FMADD(a3, m_, c_), a4 = FMADD(a4, m_, c_), a5 = FMADD(a5, m_, c_);               \
            a6 = FMADD(a6, m_, c_), a7 = FMADD(a7, m_, c_), a8 = FMADD(a8, m_, c_);               \
            a9 = FMADD(a9, m_, c_), a10 = FMADD(a10, m_, c_), a11 = FMADD(a11, m_, c_);           \
        }                                                                                         \
        V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                  \
        s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));                                              \
        float out[LANES];                                                                         \
        STOREU(out, s);                                                                           \
        *flops = (double)iters * SCNN_FMA_CHAINS * LANES * 2;                                     \
        return out[0] + out[LANES - 1];                                                           \
    }

#endif
