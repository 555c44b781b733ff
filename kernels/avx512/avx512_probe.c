/* The FMA-rate probe behind `auto`'s choice between the AVX-512 and AVX2 rungs: on one core,
 * independent chains of zmm FMAs, then of ymm FMAs, best of a few short runs each. Where a zmm
 * FMA runs at half width (the "Zen 4 kind" of SPEC.md section 5) the two rates are equal;
 * where it runs at full width (the "Zen 5 kind", recent Intel Xeons) zmm is about twice ymm. */
#include <time.h>

#include "kernels/avx512/avx512_kernels.h"
#include "kernels/fma_chains.h"

#define ITERS 100000 /* x SCNN_FMA_CHAINS FMAs per run: well under a millisecond */
#define RUNS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float sink;

/* out of line: the timed region is exactly the call */
#define NOINLINE static __attribute__((noinline))

DEF_FMA_PEAK(zmm_chains, NOINLINE, __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
             _mm512_storeu_ps)
DEF_FMA_PEAK(ymm_chains, NOINLINE, __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
             _mm256_storeu_ps)

/* GFLOP/s of one run of chains */
static double run(float (*chains)(long, double *))
{
    double flops;
    const double t0 = now();
    sink = chains(ITERS, &flops);
    return flops / (now() - t0) * 1e-9;
}

void scnn_avx512_fma_probe(double *zmm_gflops, double *ymm_gflops)
{
    double z = 0, y = 0;
    for (int r = 0; r < RUNS; r++) { /* interleaved, best of each: a preempted run loses */
        const double zr = run(zmm_chains), yr = run(ymm_chains);
        z = zr > z ? zr : z;
        y = yr > y ? yr : y;
    }
    *zmm_gflops = z;
    *ymm_gflops = y;
}
