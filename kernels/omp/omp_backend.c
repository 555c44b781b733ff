/* The omp backend: the avx2 kernels, with their items spread over OpenMP threads in contiguous
 * ranges (one parallel region per op, never nested). Every output element is computed by one
 * thread in a fixed order, and row reductions use a fixed number of chunks, so results are
 * bitwise identical for any thread count (and to the avx2 backend's). */
#include <omp.h>

#include "kernels/avx2/avx2_kernels.h"

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
    if (why_not)
        *why_not = "";
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        if (why_not)
            *why_not = "this CPU lacks AVX2 or FMA";
        return false;
    }
    return true;
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

static void omp_conv2d_forward(const scnn_conv2d *d, const float *x, const float *w,
                               const float *b, float *y, void *ws)
{
    scnn_avx2_conv2d_forward_with(PF, d, x, w, b, y, ws);
}

static void omp_conv2d_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                     float *dx, void *ws)
{
    scnn_avx2_conv2d_backward_data_with(PF, d, dy, w, dx, ws);
}

static void omp_conv2d_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                       float *dw, float *db, void *ws)
{
    scnn_avx2_conv2d_backward_filter_with(PF, d, x, dy, dw, db, ws);
}

static void omp_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    /* enough row blocks that every thread gets about two items */
    const int nt = omp_nthreads(), nblocks = (n + SCNN_AVX2_NC - 1) / SCNN_AVX2_NC;
    const int want = (2 * nt + nblocks - 1) / nblocks;
    const int mc = want > 1 ? (m + want - 1) / want : 0;
    scnn_avx2_gemm_with(PF, mc, ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void omp_bias_act(int rows, int cols, float *y, const float *bias, bool relu)
{
    scnn_avx2_bias_act_with(PF, rows, cols, y, bias, relu);
}

static void omp_bias_grad(int rows, int cols, const float *dy, float *db)
{
    scnn_avx2_bias_grad_with(PF, rows, cols, dy, db);
}

static void omp_relu_backward(size_t count, const float *y, float *dy)
{
    scnn_avx2_relu_backward_with(PF, count, y, dy);
}

static void omp_maxpool_forward(int n, int h, int w, int c, const float *x, float *y,
                                uint8_t *idx)
{
    scnn_avx2_maxpool_forward_with(PF, n, h, w, c, x, y, idx);
}

static void omp_maxpool_backward(int n, int h, int w, int c, const float *dy, const uint8_t *idx,
                                 float *dx)
{
    scnn_avx2_maxpool_backward_with(PF, n, h, w, c, dy, idx, dx);
}

static void omp_batchnorm_forward_train(int m, int c, const float *x, const float *gamma,
                                        const float *beta, float eps, float momentum,
                                        bool unbiased_var, float *y, float *mean, float *invstd,
                                        float *run_mean, float *run_var)
{
    scnn_avx2_batchnorm_forward_train_with(PF, m, c, x, gamma, beta, eps, momentum, unbiased_var,
                                           y, mean, invstd, run_mean, run_var);
}

static void omp_batchnorm_forward_infer(int m, int c, const float *x, const float *gamma,
                                        const float *beta, const float *run_mean,
                                        const float *run_var, float eps, float *y)
{
    scnn_avx2_batchnorm_forward_infer_with(PF, m, c, x, gamma, beta, run_mean, run_var, eps, y);
}

static void omp_batchnorm_backward(int m, int c, const float *x, const float *dy,
                                   const float *gamma, const float *mean, const float *invstd,
                                   float *dx, float *dgamma, float *dbeta)
{
    scnn_avx2_batchnorm_backward_with(PF, m, c, x, dy, gamma, mean, invstd, dx, dgamma, dbeta);
}

static void omp_mul(size_t count, const float *x, const float *mask, float *y)
{
    scnn_avx2_mul_with(PF, count, x, mask, y);
}

static void omp_adam_update(size_t count, float *p, const float *g, float *m, float *v,
                            float lr_t, float b1, float b2, float eps)
{
    scnn_avx2_adam_with(PF, count, p, g, m, v, lr_t, b1, b2, eps);
}

static void omp_dropout_mask(size_t count, float p, uint64_t key, float *mask)
{
    scnn_avx2_dropout_mask_with(PF, count, p, key, mask);
}

const scnn_backend scnn_backend_omp = {
    .name = "omp",
    .description = "the avx2 kernels tiled over OpenMP threads, bitwise independent of the count",
    .available = omp_available,
    .threads = omp_threads,
    .conv2d_workspace = omp_conv2d_workspace,
    .conv2d_forward = omp_conv2d_forward,
    .conv2d_backward_data = omp_conv2d_backward_data,
    .conv2d_backward_filter = omp_conv2d_backward_filter,
    .gemm = omp_gemm,
    .bias_act = omp_bias_act,
    .bias_grad = omp_bias_grad,
    .relu_backward = omp_relu_backward,
    .maxpool_forward = omp_maxpool_forward,
    .maxpool_backward = omp_maxpool_backward,
    .batchnorm_forward_train = omp_batchnorm_forward_train,
    .batchnorm_forward_infer = omp_batchnorm_forward_infer,
    .batchnorm_backward = omp_batchnorm_backward,
    .mul = omp_mul,
    .softmax_xent = NULL, /* 10 classes: the reference's double-precision loop is cheap */
    .adam_update = omp_adam_update,
    .dropout_mask = omp_dropout_mask,
};
