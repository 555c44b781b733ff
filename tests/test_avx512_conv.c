/* The avx512 convolutions split over threads: for every way of cutting their items into 1, 2, 3,
 * 5 or 16 contiguous ranges (run in reverse order, each on its own workspace slot, as OpenMP
 * threads would), forward, backward-data and backward-filter (dw and db) must give the bits of
 * the one-thread kernels; so must the omp512 backend at 1 and 2 OpenMP threads, and the
 * correlations with their taps walked in blocks of any size (or none). Shapes: the
 * model's two layers (batch 1 and 20), and awkward ones (odd sizes, channels not multiples of
 * 16, more than 64 output channels, one input or output channel, batches that leave chunks of
 * backward-filter empty or uneven). Parity with naive is test_backends.c's (every backend). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/avx512/avx512_conv.h"

/* libgomp's, when the omp backends are linked in (weak: OPENMP=0 builds have neither). */
extern void omp_set_num_threads(int n) __attribute__((weak));

/* The pfor of a pretend team of `ranges` threads: contiguous ranges as omp's pfor cuts them,
 * run last first, each with its own slot. */
static int ranges;

static void pfor_ranges(long items, long grain, scnn_avx2_body body, void *ctx)
{
    (void)grain;
    for (long t = ranges - 1; t >= 0; t--) {
        const long first = items * t / ranges, last = items * (t + 1) / ranges;
        if (last > first)
            body(ctx, first, last, (int)t);
    }
}

typedef struct outs {
    float *y, *dx, *dw, *db;
} outs;

static void run_with(scnn_avx2_pfor pf, int slots, const scnn_conv2d *d, const float *x,
                     const float *w, const float *b, const float *dy, outs *o)
{
    const size_t bytes = scnn_avx512_conv2d_workspace_for(d, slots);
    void *ws = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    assert_non_null(ws);
    memset(ws, 0xff, bytes); /* garbage (NaN) */
    scnn_avx512_conv2d_forward_with(pf, d, x, w, b, o->y, ws);
    scnn_avx512_conv2d_backward_data_with(pf, d, dy, w, o->dx, ws);
    scnn_avx512_conv2d_backward_filter_with(pf, d, x, dy, o->dw, o->db, ws);
    free(ws);
}

static void run_backend(const scnn_backend *be, const scnn_conv2d *d, const float *x,
                        const float *w, const float *b, const float *dy, outs *o)
{
    const size_t bytes = be->conv2d_workspace(d);
    void *ws = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    assert_non_null(ws);
    memset(ws, 0xff, bytes);
    be->conv2d_forward(d, x, w, b, o->y, ws);
    be->conv2d_backward_data(d, dy, w, o->dx, ws);
    be->conv2d_backward_filter(d, x, dy, o->dw, o->db, ws);
    free(ws);
}

static void outs_new(const scnn_conv2d *d, outs *o)
{
    o->y = tu_new_nan((size_t)d->n * d->p * d->q * d->k + 1);
    o->dx = tu_new_nan((size_t)d->n * d->h * d->w * d->c + 1);
    o->dw = tu_new_nan((size_t)d->kh * d->kw * d->c * d->k);
    o->db = tu_new_nan((size_t)d->k);
}

static void outs_free(outs *o)
{
    free(o->y), free(o->dx), free(o->dw), free(o->db);
}

static void same(const char *who, const char *shape, const scnn_conv2d *d, const outs *got,
                 const outs *ref)
{
    char label[256];
    snprintf(label, sizeof label, "%s forward %s", who, shape);
    tu_assert_same_bits(label, got->y, ref->y, (size_t)d->n * d->p * d->q * d->k);
    snprintf(label, sizeof label, "%s backward-data %s", who, shape);
    tu_assert_same_bits(label, got->dx, ref->dx, (size_t)d->n * d->h * d->w * d->c);
    snprintf(label, sizeof label, "%s backward-filter dw %s", who, shape);
    tu_assert_same_bits(label, got->dw, ref->dw, (size_t)d->kh * d->kw * d->c * d->k);
    snprintf(label, sizeof label, "%s backward-filter db %s", who, shape);
    tu_assert_same_bits(label, got->db, ref->db, (size_t)d->k);
}

static void test_thread_independence(void **state)
{
    (void)state;
    const char *why;
    if (!scnn_avx512_cpu_ok(&why))
        skip(); /* no AVX-512 here: nothing of this file can run */
    const scnn_backend *omp512 = scnn_backend_find("omp512");
    const scnn_conv2d cases[] = {
        scnn_conv2d_make(1, 28, 28, 1, 64, 4, 4, true, true),
        scnn_conv2d_make(20, 28, 28, 1, 64, 4, 4, true, true),
        scnn_conv2d_make(1, 14, 14, 64, 64, 4, 4, false, true),
        scnn_conv2d_make(20, 14, 14, 64, 64, 4, 4, false, true),
        scnn_conv2d_make(3, 9, 7, 13, 70, 5, 2, true, false),    /* k > 64, tails */
        scnn_conv2d_make(17, 7, 9, 10, 13, 3, 3, false, true),   /* uneven chunks */
        scnn_conv2d_make(2, 8, 8, 9, 1, 3, 3, true, false),      /* one output channel */
        scnn_conv2d_make(7, 9, 7, 1, 7, 4, 4, true, true),       /* one input channel */
        scnn_conv2d_make(2, 11, 10, 33, 17, 4, 4, true, true),
        tu_conv_pads(5, 6, 5, 5, 19, 3, 2, 3, 0, 1, 2, true),    /* pads wider than a side */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const scnn_conv2d *d = &cases[i];
        char shape[128];
        snprintf(shape, sizeof shape, "mb%dih%diw%dic%d_oc%dkh%dkw%d_pt%dpl%dpb%dpr%d", d->n,
                 d->h, d->w, d->c, d->k, d->kh, d->kw, d->pad_top, d->pad_left, d->pad_bottom,
                 d->pad_right);
        const size_t nx = (size_t)d->n * d->h * d->w * d->c, ny = (size_t)d->n * d->p * d->q * d->k;
        float *x = tu_new_uniform(nx + 1, 10 + i), *dy = tu_new_uniform(ny + 1, 20 + i);
        float *w = tu_new_uniform((size_t)d->kh * d->kw * d->c * d->k, 30 + i);
        float *b = tu_new_uniform((size_t)d->k, 40 + i);
        outs ref;
        outs_new(d, &ref);
        run_backend(scnn_backend_find("avx512"), d, x, w, b, dy, &ref);
        static const int counts[] = {1, 2, 3, 5, 16};
        for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
            char who[32];
            snprintf(who, sizeof who, "%d ranges", counts[t]);
            ranges = counts[t];
            outs o;
            outs_new(d, &o);
            run_with(pfor_ranges, ranges, d, x, w, b, dy, &o);
            same(who, shape, d, &o, &ref);
            outs_free(&o);
        }
        /* The blocks of taps of forward and backward-data (none, L1-sized, one tap), whichever
         * the L1d size picks by default: the same bits. */
        static const size_t blocks[] = {SIZE_MAX, 32 * 1024, 1};
        for (size_t t = 0; t < sizeof blocks / sizeof blocks[0]; t++) {
            char who[48];
            snprintf(who, sizeof who, "blocks of %zu bytes", blocks[t]);
            scnn_avx512_conv_force_block(blocks[t]);
            ranges = 3;
            outs o;
            outs_new(d, &o);
            run_with(pfor_ranges, ranges, d, x, w, b, dy, &o);
            scnn_avx512_conv_force_block(0);
            same(who, shape, d, &o, &ref);
            outs_free(&o);
        }
        for (int t = 1; omp512 && omp_set_num_threads && t <= 2; t++) {
            char who[32];
            snprintf(who, sizeof who, "omp512 at %d threads", t);
            omp_set_num_threads(t);
            outs o;
            outs_new(d, &o);
            run_backend(omp512, d, x, w, b, dy, &o);
            same(who, shape, d, &o, &ref);
            outs_free(&o);
        }
        outs_free(&ref);
        free(x), free(dy), free(w), free(b);
    }
}

/* conv1's forward at a batch whose output (18 MB) is stored non-temporally when y is 64-byte
 * aligned: naive's exact result from small integers, and the same bits into a misaligned y
 * (ordinary stores). */
static void test_streamed_forward(void **state)
{
    (void)state;
    const char *why;
    if (!scnn_avx512_cpu_ok(&why))
        skip();
    const scnn_conv2d d = scnn_conv2d_make(90, 28, 28, 1, 64, 4, 4, true, true);
    const size_t nx = (size_t)d.n * d.h * d.w, ny = (size_t)d.n * d.p * d.q * d.k;
    float *x = tu_new_int(nx, 1, -3, 3), *w = tu_new_int(16 * 64, 2, -3, 3);
    float *b = tu_new_int(64, 3, -20, 20), *ref = tu_new_nan(ny);
    float *y = aligned_alloc(64, (ny + 16) * sizeof *y);
    assert_non_null(y);
    const scnn_backend *be = scnn_backend_find("avx512");
    assert_non_null(be);
    const size_t ours = be->conv2d_workspace(&d), theirs =
                 scnn_backend_naive.conv2d_workspace(&d), bytes = ours > theirs ? ours : theirs;
    void *ws = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    assert_non_null(ws);
    scnn_backend_naive.conv2d_forward(&d, x, w, b, ref, ws);
    for (int shift = 0; shift < 2; shift++) {
        for (size_t i = 0; i < ny + 16; i++)
            y[i] = NAN;
        be->conv2d_forward(&d, x, w, b, y + shift, ws);
        tu_assert_close(shift ? "conv1 forward, misaligned y" : "conv1 forward, streamed y",
                        y + shift, ref, ny, 0);
    }
    free(x), free(w), free(b), free(ref), free(y), free(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_independence),
        cmocka_unit_test(test_streamed_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
