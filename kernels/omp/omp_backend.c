/* The omp backend: the avx2 kernels, with their items spread over OpenMP threads in contiguous
 * ranges (one parallel region per op, never nested). Every output element is computed by one
 * thread in a fixed order, and row reductions use a fixed number of chunks, so results are
 * bitwise identical for any thread count (and to the avx2 backend's). */
#include <omp.h>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx512/avx512_conv.h"

/* Threads beyond the processors only oversubscribe them; the workspace is sized for
 * omp_get_num_procs() slots, which bounds the threads any op uses. */
#define MAX_THREADS 64

static int omp_slots(void)
{
    int t = omp_get_max_threads(), p = omp_get_num_procs();
    t = t > p ? t : p;
    return t < MAX_THREADS ? t : MAX_THREADS;
}

static int omp_nthreads(void)
{
    int t = omp_get_max_threads(), p = omp_get_num_procs();
    t = t < p ? t : p;
    t = t < MAX_THREADS ? t : MAX_THREADS;
    return t > 0 ? t : 1;
}

static void pfor_omp(long items, long grain, scnn_avx2_body body, void *ctx)
{
    if (items <= 0)
        return;
    long nt = omp_nthreads();
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

static bool omp_available(const char **why_not)
{
    return scnn_avx2_cpu_ok(why_not); /* OpenMP itself is compiled in, or this file is not */
}

static int omp_threads(void)
{
    return omp_nthreads();
}

static size_t omp_conv2d_workspace(const scnn_conv2d *d)
{
    return scnn_avx2_conv2d_workspace_for(d, omp_slots());
}

#define PF pfor_omp

/* Enough row blocks of C that every thread gets about two GEMM items. */
static int omp_gemm_mc(int m, int n)
{
    const int nt = omp_nthreads(), nblocks = (n + SCNN_AVX2_NC - 1) / SCNN_AVX2_NC;
    const int want = (2 * nt + nblocks - 1) / nblocks;
    return want > 1 ? (m + want - 1) / want : 0;
}

#define GEMM_MC(m, n) omp_gemm_mc(m, n)
#include "kernels/avx2/avx2_ops.inc"

const scnn_backend scnn_backend_omp = {
    .name = "omp",
    .description = "the avx2 kernels tiled over OpenMP threads, bitwise independent of the count",
    .available = omp_available,
    .threads = omp_threads,
    .conv2d_workspace = omp_conv2d_workspace,
    SCNN_AVX2_OPS,
};

/* omp512: the avx512 convolutions over the same threads (the other ops: naive, for now). */
static size_t omp512_conv2d_workspace(const scnn_conv2d *d)
{
    return scnn_avx512_conv2d_workspace_for(d, omp_slots());
}

static void omp512_conv2d_forward(const scnn_conv2d *d, const float *x, const float *w,
                                  const float *b, float *y, void *ws)
{
    scnn_avx512_conv2d_forward_with(PF, d, x, w, b, y, ws);
}

static void omp512_conv2d_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                        float *dx, void *ws)
{
    scnn_avx512_conv2d_backward_data_with(PF, d, dy, w, dx, ws);
}

static void omp512_conv2d_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                          float *dw, float *db, void *ws)
{
    scnn_avx512_conv2d_backward_filter_with(PF, d, x, dy, dw, db, ws);
}

const scnn_backend scnn_backend_omp512 = {
    .name = "omp512",
    .description = "the avx512 convolutions over OpenMP threads, bitwise independent of the count",
    .available = scnn_avx512_conv_cpu_ok,
    .threads = omp_threads,
    .conv2d_workspace = omp512_conv2d_workspace,
    .conv2d_forward = omp512_conv2d_forward,
    .conv2d_backward_data = omp512_conv2d_backward_data,
    .conv2d_backward_filter = omp512_conv2d_backward_filter,
};
