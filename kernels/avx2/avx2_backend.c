/* The avx2 backend: AVX2+FMA register-blocked kernels on one thread. The ops are written once
 * over item ranges (avx2_kernels.h); here they run serially, in kernels/omp on OpenMP threads. */
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/isa.h"

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

static void bwf_sum_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    scnn_avx2_bwf_sum_run(&((const conv_ctx *)ctx)->bwf, first, last);
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
    c.scratch = scnn_avx2_bwf_plan(&c.bwf, d, x, dy, dw, db, ws, &c.slot_floats);
    pf(scnn_avx2_bwf_items(&c.bwf), 1, bwf_body, &c);
    pf(scnn_avx2_bwf_sum_items(&c.bwf), 4, bwf_sum_body, &c);
}

/* ---- the table ------------------------------------------------------------------------------------ */

bool scnn_avx2_cpu_ok(const char **why_not)
{
    __builtin_cpu_init();
    return scnn_isa_usable("avx2", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
                           "this CPU lacks AVX2 or FMA", "AVX2 hidden by SCNN_HIDE_ISA", why_not);
}

#define OPS_ISA scnn_avx2
#define OPS_FUSED 0
#define PF scnn_avx2_pfor_serial
#define GEMM_MC(m, n) 0
#define OPS_SLOTS 1
#include "kernels/isa_ops.inc"

const scnn_backend scnn_backend_avx2 = {
    .name = "avx2",
    .description = "AVX2+FMA register-blocked implicit-GEMM kernels, one thread",
    .available = scnn_avx2_cpu_ok,
    SCNN_ISA_OPS,
};
