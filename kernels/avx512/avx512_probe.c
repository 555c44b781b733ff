/* The FMA-rate probe behind `auto`'s choice between the AVX-512 and AVX2 rungs: on one core,
 * independent chains of zmm FMAs, then of ymm FMAs, best of a few short runs each. Where a zmm
 * FMA runs at half width (the "Zen 4 kind" of SPEC.md section 5) the two rates are equal;
 * where it runs at full width (the "Zen 5 kind", recent Intel Xeons) zmm is about twice ymm. */
#include <time.h>

#include "kernels/avx512/avx512_kernels.h"

#define CHAINS 12     /* > latency x FMA ports on every CPU we know */
#define ITERS 100000  /* x CHAINS FMAs per run: well under a millisecond */
#define RUNS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;

/* GFLOP/s of one run, 16 or 8 lanes */
static double run_zmm(void)
{
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c);
    const double t0 = now();
    for (int i = 0; i < ITERS; i++) {
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(acc[c], a, b);
    }
    const double dt = now() - t0;
    float s = 0;
    for (int c = 0; c < CHAINS; c++)
        s += _mm512_reduce_add_ps(acc[c]);
    sink = s;
    return 2.0 * 16 * CHAINS * ITERS / dt * 1e-9;
}

static double run_ymm(void)
{
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c);
    const double t0 = now();
    for (int i = 0; i < ITERS; i++) {
#pragma GCC unroll 12
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(acc[c], a, b);
    }
    const double dt = now() - t0;
    float t[8], s = 0;
    for (int c = 0; c < CHAINS; c++) {
        _mm256_storeu_ps(t, acc[c]);
        for (int j = 0; j < 8; j++)
            s += t[j];
    }
    sink = s;
    return 2.0 * 8 * CHAINS * ITERS / dt * 1e-9;
}

void scnn_avx512_fma_probe(double *zmm_gflops, double *ymm_gflops)
{
    double z = 0, y = 0;
    for (int r = 0; r < RUNS; r++) { /* interleaved, best of each: a preempted run loses */
        const double zr = run_zmm(), yr = run_ymm();
        z = zr > z ? zr : z;
        y = yr > y ? yr : y;
    }
    *zmm_gflops = z;
    *ymm_gflops = y;
}
