/* Contiguous item ranges over OpenMP threads (one parallel region per call, never nested).
 * Compiled without SIMD flags: it only schedules. */
#include <omp.h>

#include "kernels/omp/omp_pfor.h"

/* Threads beyond the processors only oversubscribe them; the workspace is sized for
 * omp_get_num_procs() slots, which bounds the threads any op uses. */
#define MAX_THREADS 64

int scnn_omp_slots(void)
{
    int t = omp_get_max_threads(), p = omp_get_num_procs();
    t = t > p ? t : p;
    return t < MAX_THREADS ? t : MAX_THREADS;
}

int scnn_omp_nthreads(void)
{
    int t = omp_get_max_threads(), p = omp_get_num_procs();
    t = t < p ? t : p;
    t = t < MAX_THREADS ? t : MAX_THREADS;
    return t > 0 ? t : 1;
}

void scnn_omp_pfor(long items, long grain, void (*body)(void *, long, long, int), void *ctx)
{
    if (items <= 0)
        return;
    long nt = scnn_omp_nthreads();
    if (grain < 1)
        grain = 1;
    if (nt > items / grain)
        nt = items / grain;
    if (nt <= 1 || omp_in_parallel()) {
        body(ctx, 0, items, 0);
        return;
    }
#pragma omp parallel num_threads((int)nt)
    {
        const long t = omp_get_thread_num(), n = omp_get_num_threads();
        const long first = items * t / n, last = items * (t + 1) / n;
        if (last > first)
            body(ctx, first, last, (int)t);
    }
}

int scnn_omp_gemm_mc(int m, int n, int nc)
{
    const int nt = scnn_omp_nthreads(), nblocks = (n + nc - 1) / nc;
    /* one item per thread where the columns alone do not give every thread one: each item
     * packs its own copy of b, so more items than threads only add packing traffic */
    const int want = (nt + nblocks - 1) / nblocks;
    return want > 1 ? (m + want - 1) / want : 0;
}
