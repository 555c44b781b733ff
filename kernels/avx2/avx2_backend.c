/* The avx2 backend: AVX2+FMA register-blocked kernels on one thread. The ops are written once
 * over item ranges (avx2_kernels.h); here they run serially, in kernels/omp on OpenMP threads. */
#include "kernels/avx2/avx2_kernels.h"

void scnn_avx2_pfor_serial(long items, long grain, scnn_avx2_body body, void *ctx)
{
    (void)grain;
    if (items > 0)
        body(ctx, 0, items, 0);
}

/* ---- convolutions over items ------------------------------------------------------------------- */

typedef struct conv_ctx {
    scnn_avx2_fwd fwd;
    scnn_avx2_bwf bwf;
    float *scratch;
    size_t slot_floats;
} conv_ctx;

static void fwd_body(void *ctx, long first, long last, int slot)
{
    const conv_ctx *c = ctx;
    scnn_avx2_fwd_run(&c->fwd, c->scratch + (size_t)slot * c->slot_floats, first, last);
}

static void bwf_body(void *ctx, long first, long last, int slot)
{
    const conv_ctx *c = ctx;
    scnn_avx2_bwf_run(&c->bwf, c->scratch + (size_t)slot * c->slot_floats, first, last);
}

void scnn_avx2_conv2d_forward_with(scnn_avx2_pfor pf, const scnn_conv2d *d, const float *x,
                                   const float *w, const float *b, float *y, void *ws)
{
    conv_ctx c;
    c.scratch = scnn_avx2_fwd_plan_forward(&c.fwd, d, x, w, b, y, ws, &c.slot_floats);
    pf(scnn_avx2_fwd_items(&c.fwd), 1, fwd_body, &c);
}

void scnn_avx2_conv2d_backward_data_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                         const float *dy, const float *w, float *dx, void *ws)
{
    conv_ctx c;
    c.scratch = scnn_avx2_fwd_plan_backward_data(&c.fwd, d, dy, w, dx, ws, &c.slot_floats);
    pf(scnn_avx2_fwd_items(&c.fwd), 1, fwd_body, &c);
}

void scnn_avx2_conv2d_backward_filter_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                           const float *x, const float *dy, float *dw, float *db,
                                           void *ws)
{
    conv_ctx c;
    c.scratch = scnn_avx2_bwf_plan(&c.bwf, d, x, dy, dw, ws, &c.slot_floats);
    pf(scnn_avx2_bwf_items(&c.bwf), 1, bwf_body, &c);
    if (db)
        scnn_avx2_bias_grad_with(pf, d->n * d->p * d->q, d->k, dy, db);
}

/* ---- the table ------------------------------------------------------------------------------------ */

static bool avx2_available(const char **why_not)
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

static int avx2_threads(void)
{
    return 1;
}

static size_t avx2_conv2d_workspace(const scnn_conv2d *d)
{
    return scnn_avx2_conv2d_workspace_for(d, 1);
}

#define PF scnn_avx2_pfor_serial

static void avx2_conv2d_forward(const scnn_conv2d *d, const float *x, const float *w,
                                const float *b, float *y, void *ws)
{
    scnn_avx2_conv2d_forward_with(PF, d, x, w, b, y, ws);
}

static void avx2_conv2d_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                      float *dx, void *ws)
{
    scnn_avx2_conv2d_backward_data_with(PF, d, dy, w, dx, ws);
}

static void avx2_conv2d_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                        float *dw, float *db, void *ws)
{
    scnn_avx2_conv2d_backward_filter_with(PF, d, x, dy, dw, db, ws);
}

static void avx2_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    scnn_avx2_gemm_with(PF, 0, ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void avx2_bias_act(int rows, int cols, float *y, const float *bias, bool relu)
{
    scnn_avx2_bias_act_with(PF, rows, cols, y, bias, relu);
}

static void avx2_bias_grad(int rows, int cols, const float *dy, float *db)
{
    scnn_avx2_bias_grad_with(PF, rows, cols, dy, db);
}

static void avx2_relu_backward(size_t count, const float *y, float *dy)
{
    scnn_avx2_relu_backward_with(PF, count, y, dy);
}

static void avx2_maxpool_forward(int n, int h, int w, int c, const float *x, float *y,
                                 uint8_t *idx)
{
    scnn_avx2_maxpool_forward_with(PF, n, h, w, c, x, y, idx);
}

static void avx2_maxpool_backward(int n, int h, int w, int c, const float *dy,
                                  const uint8_t *idx, float *dx)
{
    scnn_avx2_maxpool_backward_with(PF, n, h, w, c, dy, idx, dx);
}

static void avx2_batchnorm_forward_train(int m, int c, const float *x, const float *gamma,
                                         const float *beta, float eps, float momentum,
                                         bool unbiased_var, float *y, float *mean, float *invstd,
                                         float *run_mean, float *run_var)
{
    scnn_avx2_batchnorm_forward_train_with(PF, m, c, x, gamma, beta, eps, momentum, unbiased_var,
                                           y, mean, invstd, run_mean, run_var);
}

static void avx2_batchnorm_forward_infer(int m, int c, const float *x, const float *gamma,
                                         const float *beta, const float *run_mean,
                                         const float *run_var, float eps, float *y)
{
    scnn_avx2_batchnorm_forward_infer_with(PF, m, c, x, gamma, beta, run_mean, run_var, eps, y);
}

static void avx2_batchnorm_backward(int m, int c, const float *x, const float *dy,
                                    const float *gamma, const float *mean, const float *invstd,
                                    float *dx, float *dgamma, float *dbeta)
{
    scnn_avx2_batchnorm_backward_with(PF, m, c, x, dy, gamma, mean, invstd, dx, dgamma, dbeta);
}

static void avx2_mul(size_t count, const float *x, const float *mask, float *y)
{
    scnn_avx2_mul_with(PF, count, x, mask, y);
}

static void avx2_adam_update(size_t count, float *p, const float *g, float *m, float *v,
                             float lr_t, float b1, float b2, float eps)
{
    scnn_avx2_adam_with(PF, count, p, g, m, v, lr_t, b1, b2, eps);
}

static void avx2_dropout_mask(size_t count, float p, uint64_t key, float *mask)
{
    scnn_avx2_dropout_mask_with(PF, count, p, key, mask);
}

const scnn_backend scnn_backend_avx2 = {
    .name = "avx2",
    .description = "AVX2+FMA register-blocked implicit-GEMM kernels, one thread",
    .available = avx2_available,
    .threads = avx2_threads,
    .conv2d_workspace = avx2_conv2d_workspace,
    .conv2d_forward = avx2_conv2d_forward,
    .conv2d_backward_data = avx2_conv2d_backward_data,
    .conv2d_backward_filter = avx2_conv2d_backward_filter,
    .gemm = avx2_gemm,
    .bias_act = avx2_bias_act,
    .bias_grad = avx2_bias_grad,
    .relu_backward = avx2_relu_backward,
    .maxpool_forward = avx2_maxpool_forward,
    .maxpool_backward = avx2_maxpool_backward,
    .batchnorm_forward_train = avx2_batchnorm_forward_train,
    .batchnorm_forward_infer = avx2_batchnorm_forward_infer,
    .batchnorm_backward = avx2_batchnorm_backward,
    .mul = avx2_mul,
    .softmax_xent = NULL, /* 10 classes: the reference's double-precision loop is cheap */
    .adam_update = avx2_adam_update,
    .dropout_mask = avx2_dropout_mask,
};
