/* The avx2 and omp backends against the naive reference, op by op: the model's real shapes at
 * a small batch and awkward ones (odd sizes, channels not multiples of 8 or 16, padding on and
 * off, hand-made asymmetric padding, K > the GEMM block), small-integer inputs compared exactly
 * and uniform ones within 1e-4, outputs poisoned with NaN beforehand (each op must overwrite
 * them), NaN propagation, and determinism: avx2, omp on one thread and omp on two give bitwise
 * identical results, and a second run gives the same bits. */
#include "core/core.h"
#include "scnn.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* libgomp's, when the omp backend is linked in (weak: OPENMP=0 builds have neither). */
extern void omp_set_num_threads(int n) __attribute__((weak));

#define TOL 1e-4

typedef struct variant {
    const char *name;
    const scnn_backend *be;
    int threads;
} variant;

static variant variants[3];
static int n_variants;

static int setup(void **state)
{
    (void)state;
    n_variants = 0;
    const scnn_backend *avx2 = scnn_backend_find("avx2"), *omp = scnn_backend_find("omp");
    const char *why;
    if (avx2 && scnn_backend_available(avx2, &why))
        variants[n_variants++] = (variant){"avx2", avx2, 1};
    if (omp && scnn_backend_available(omp, &why) && omp_set_num_threads) {
        variants[n_variants++] = (variant){"omp/1", omp, 1};
        variants[n_variants++] = (variant){"omp/2", omp, 2};
    }
    return 0;
}

static void use(const variant *v)
{
    if (omp_set_num_threads)
        omp_set_num_threads(v->threads);
}

static float *new_fill(size_t n, uint64_t seed, bool ints, int lo, int hi)
{
    return ints ? tu_new_int(n ? n : 1, seed, lo, hi) : tu_new_uniform(n ? n : 1, seed);
}

/* Compares got with ref (tolerance, or exact) and with the first variant's bits. */
static void check(const variant *v, const char *what, const char *shape, const float *got,
                  const float *ref, const float *first, size_t n, double tol)
{
    char label[256];
    snprintf(label, sizeof label, "%s %s %s", v->name, what, shape);
    tu_assert_close(label, got, ref, n, tol);
    if (first)
        tu_assert_same_bits(label, got, first, n);
}

static void test_table(void **state)
{
    (void)state;
    assert_true(n_variants >= 1); /* the avx2 backend is linked in and runs here */
    for (int i = 0; i < n_variants; i++) {
        const scnn_backend *be = variants[i].be;
        assert_non_null(be->description);
        char buf[512];
        scnn_backend_fallbacks(be, buf, sizeof buf);
        assert_string_equal(buf, "softmax_xent");
        use(&variants[i]);
        const int t = scnn_backend_threads(be);
        assert_true(t >= 1 && t <= variants[i].threads); /* never more than the processors */
    }
    if (n_variants < 3)
        print_message("omp backend not built: its checks are skipped\n");
}

/* ---- convolution ---------------------------------------------------------------------------- */

typedef struct conv_io {
    float *y, *dx, *dw, *db;
} conv_io;

static void conv_alloc(const scnn_conv2d *d, conv_io *o)
{
    o->y = tu_new_nan((size_t)d->n * d->p * d->q * d->k);
    o->dx = tu_new_nan((size_t)d->n * d->h * d->w * d->c);
    o->dw = tu_new_nan((size_t)d->kh * d->kw * d->c * d->k);
    o->db = tu_new_nan((size_t)d->k);
}

static void conv_free(conv_io *o)
{
    free(o->y);
    free(o->dx);
    free(o->dw);
    free(o->db);
}

static void conv_run(const scnn_backend *be, const scnn_conv2d *d, const float *x,
                     const float *w, const float *b, const float *dy, conv_io *o)
{
    size_t bytes = be->conv2d_workspace(d);
    void *ws = bytes ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    if (bytes)
        assert_non_null(ws);
    be->conv2d_forward(d, x, w, b, o->y, ws);
    be->conv2d_backward_data(d, dy, w, o->dx, ws);
    be->conv2d_backward_filter(d, x, dy, o->dw, o->db, ws);
    free(ws);
}

static void conv_case(const char *shape, scnn_conv2d d, bool ints, uint64_t seed)
{
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, nw = (size_t)d.kh * d.kw * d.c * d.k,
                 ny = (size_t)d.n * d.p * d.q * d.k;
    float *x = new_fill(nx, seed, ints, -3, 3), *w = new_fill(nw, seed + 1, ints, -2, 2);
    float *b = new_fill((size_t)d.k, seed + 2, ints, -4, 4), *dy = new_fill(ny, seed + 3, ints, -3, 3);
    conv_io ref, first = {0};
    conv_alloc(&d, &ref);
    conv_run(&scnn_backend_naive, &d, x, w, b, dy, &ref);
    const double tol = ints ? 0 : TOL;
    for (int i = 0; i < n_variants; i++) {
        use(&variants[i]);
        conv_io o;
        conv_alloc(&d, &o);
        conv_run(variants[i].be, &d, x, w, b, dy, &o);
        check(&variants[i], "conv forward", shape, o.y, ref.y, first.y, ny, tol);
        check(&variants[i], "conv backward-data", shape, o.dx, ref.dx, first.dx, nx, tol);
        check(&variants[i], "conv backward-filter", shape, o.dw, ref.dw, first.dw, nw, tol);
        check(&variants[i], "conv bias grad", shape, o.db, ref.db, first.db, (size_t)d.k, tol);
        if (i == 0) {
            /* run-to-run: the same inputs give the same bits */
            conv_io again;
            conv_alloc(&d, &again);
            conv_run(variants[i].be, &d, x, w, b, dy, &again);
            check(&variants[i], "conv forward rerun", shape, again.y, ref.y, o.y, ny, tol);
            check(&variants[i], "conv backward-filter rerun", shape, again.dw, ref.dw, o.dw, nw,
                  tol);
            conv_free(&again);
            first = o;
        } else {
            conv_free(&o);
        }
    }
    conv_free(&ref);
    if (n_variants)
        conv_free(&first);
    free(x);
    free(w);
    free(b);
    free(dy);
}

static const struct {
    const char *shape;
    int n, h, w, c, k, kh, kw;
    bool same, relu;
} conv_cases[] = {
    {"conv1 b3 [3,28,28,1]*[4,4,1,64] same", 3, 28, 28, 1, 64, 4, 4, true, true},
    {"conv2 b3 [3,14,14,64]*[4,4,64,64] valid", 3, 14, 14, 64, 64, 4, 4, false, true},
    {"b1 c3 k5 3x2 same", 1, 7, 9, 3, 5, 3, 2, true, false},
    {"b3 c8 k70 1x1", 3, 6, 5, 8, 70, 1, 1, false, true},
    {"b2 c17 k33 5x5 same", 2, 9, 7, 17, 33, 5, 5, true, false},
    {"b1 c2 k16 1x5 valid", 1, 5, 11, 2, 16, 1, 5, false, true},
    {"b2 c9 k1 3x3 same", 2, 8, 8, 9, 1, 3, 3, true, false},
    {"b1 c1 k1 2x2 same", 1, 6, 6, 1, 1, 2, 2, true, true},
    {"b3 c1 k7 4x4 same odd", 3, 9, 7, 1, 7, 4, 4, true, true},
    {"b1 c64 k24 4x3 same", 1, 13, 11, 64, 24, 4, 3, true, true},
    {"b3 c5 k19 2x4 valid", 3, 5, 8, 5, 19, 2, 4, false, false},
    /* backward-filter chunks of several images split differently over the threads, several
     * bands per image; backward-data over several groups of images */
    {"b37 c5 k20 3x3 same, 3 bands", 37, 31, 30, 5, 20, 3, 3, true, false},
};

/* conv_case over every entry of conv_cases, seeds from seed0 on */
static void conv_cases_all(bool ints, uint64_t seed0)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        scnn_conv2d d = scnn_conv2d_make(conv_cases[i].n, conv_cases[i].h, conv_cases[i].w,
                                         conv_cases[i].c, conv_cases[i].k, conv_cases[i].kh,
                                         conv_cases[i].kw, conv_cases[i].same, conv_cases[i].relu);
        conv_case(conv_cases[i].shape, d, ints, seed0 + i);
    }
}

static void test_conv_int(void **state)
{
    (void)state;
    conv_cases_all(true, 100);
    conv_case("b2 c3 k9 3x3 pads t2 b0 l0 r1", tu_conv_pads(2, 6, 7, 3, 9, 3, 3, 2, 0, 0, 1, true),
              true, 7);
    conv_case("b1 c16 k17 2x3 pads t0 b1 l2 r0",
              tu_conv_pads(1, 5, 4, 16, 17, 2, 3, 0, 2, 1, 0, false), true, 8);
}

static void test_conv_uniform(void **state)
{
    (void)state;
    conv_cases_all(false, 200);
    conv_case("b2 c3 k9 3x3 pads t2 b0 l0 r1", tu_conv_pads(2, 6, 7, 3, 9, 3, 3, 2, 0, 0, 1, true),
              false, 9);
}

/* A NaN in x and an Inf in dy reach every output whose window holds them, as in the
 * reference. */
static void test_conv_nan(void **state)
{
    (void)state;
    scnn_conv2d d = scnn_conv2d_make(2, 9, 9, 16, 20, 4, 4, true, true);
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.p * d.q * d.k;
    float *x = tu_new_uniform(nx, 1), *w = tu_new_uniform((size_t)16 * 16 * 20, 2);
    float *b = tu_new_uniform(20, 3), *dy = tu_new_uniform(ny, 4);
    x[(((size_t)1 * 9 + 4) * 9 + 3) * 16 + 5] = NAN;
    dy[7] = INFINITY;
    conv_io ref;
    conv_alloc(&d, &ref);
    conv_run(&scnn_backend_naive, &d, x, w, b, dy, &ref);
    for (int i = 0; i < n_variants; i++) {
        use(&variants[i]);
        conv_io o;
        conv_alloc(&d, &o);
        conv_run(variants[i].be, &d, x, w, b, dy, &o);
        for (size_t j = 0; j < ny; j++)
            assert_int_equal(isnan(o.y[j]), isnan(ref.y[j]));
        /* backward-filter multiplies the zero padding too, and 0*Inf is NaN: it may flag more
         * weights than the reference, never fewer */
        for (size_t j = 0; j < (size_t)16 * 16 * 20; j++)
            if (!isfinite(ref.dw[j]))
                assert_false(isfinite(o.dw[j]));
        for (size_t j = 0; j < nx; j++)
            assert_int_equal(isfinite(o.dx[j]), isfinite(ref.dx[j]));
        conv_free(&o);
    }
    conv_free(&ref);
    free(x);
    free(w);
    free(b);
    free(dy);
}

/* ---- GEMM ------------------------------------------------------------------------------------- */

static void gemm_case(bool ta, bool tb, int m, int n, int kk, float alpha, float beta, int pad,
                      bool ints, uint64_t seed)
{
    const int lda = (ta ? m : kk) + pad, ldb = (tb ? kk : n) + pad, ldc = n + pad;
    const size_t na = (size_t)(ta ? kk : m) * lda, nb = (size_t)(tb ? n : kk) * ldb,
                 nc = (size_t)m * ldc;
    float *a = new_fill(na, seed, ints, -3, 3), *b = new_fill(nb, seed + 1, ints, -3, 3);
    float *c0 = new_fill(nc, seed + 2, ints, -3, 3);
    float *ref = malloc(nc * sizeof *ref), *got = malloc(nc * sizeof *got),
          *first = malloc(nc * sizeof *first);
    assert_true(ref && got && first);
    memcpy(ref, c0, nc * sizeof *ref);
    if (beta == 0.0f)
        for (size_t i = 0; i < nc; i++)
            ref[i] = NAN; /* not read */
    scnn_backend_naive.gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, ref, ldc);
    char shape[128];
    snprintf(shape, sizeof shape, "ta%d tb%d m%d n%d k%d alpha%g beta%g ld+%d", ta, tb, m, n, kk,
             alpha, beta, pad);
    for (int i = 0; i < n_variants; i++) {
        use(&variants[i]);
        memcpy(got, c0, nc * sizeof *got);
        if (beta == 0.0f)
            for (size_t j = 0; j < nc; j++)
                got[j] = NAN;
        variants[i].be->gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, got, ldc);
        /* the padding columns of c are left alone */
        for (int r = 0; r < m; r++)
            for (int j = n; j < ldc; j++)
                assert_memory_equal(&got[(size_t)r * ldc + j], &ref[(size_t)r * ldc + j],
                                    sizeof(float));
        for (int r = 0; r < m; r++)
            check(&variants[i], "gemm", shape, got + (size_t)r * ldc, ref + (size_t)r * ldc,
                  i ? first + (size_t)r * ldc : NULL, (size_t)n, ints ? 0 : TOL);
        if (i == 0)
            memcpy(first, got, nc * sizeof *got);
    }
    free(a);
    free(b);
    free(c0);
    free(ref);
    free(got);
    free(first);
}

static void test_gemm(void **state)
{
    (void)state;
    for (int ints = 1; ints >= 0; ints--) {
        /* the model's products at batch 37 */
        gemm_case(false, false, 37, 256, 1600, 1, 0, 0, ints, 1);
        gemm_case(true, false, 1600, 256, 37, 1, 0, 0, ints, 2);
        gemm_case(false, true, 37, 1600, 256, 1, 0, 0, ints, 3);
        gemm_case(false, false, 37, 64, 256, 1, 0, 0, ints, 4);
        gemm_case(true, false, 256, 64, 37, 1, 0, 0, ints, 5);
        gemm_case(false, true, 37, 256, 64, 1, 0, 0, ints, 6);
        gemm_case(false, false, 37, 10, 64, 1, 0, 0, ints, 7);
        gemm_case(true, false, 64, 10, 37, 1, 0, 0, ints, 8);
        gemm_case(false, true, 37, 64, 10, 1, 0, 0, ints, 9);
        /* awkward: tiny, tails, K over one block, alpha/beta, leading dimensions */
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            gemm_case(ta, tb, 1, 1, 1, 1, 0, 0, ints, 10 + t);
            gemm_case(ta, tb, 5, 7, 3, 0.5f, 2, 3, ints, 20 + t);
            gemm_case(ta, tb, 13, 70, 300, 2, 0, 1, ints, 30 + t);
            gemm_case(ta, tb, 250, 17, 520, 1, -1, 5, ints, 40 + t);
            gemm_case(ta, tb, 7, 33, 0, 1, 0.5f, 0, ints, 50 + t);
        }
    }
}

/* ---- element-wise ----------------------------------------------------------------------------- */

static void test_bias(void **state)
{
    (void)state;
    const int shapes[][2] = {{3, 256}, {7, 13}, {250, 10}, {1, 70}, {300, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        const size_t n = (size_t)rows * cols;
        char shape[64];
        snprintf(shape, sizeof shape, "[%d,%d]", rows, cols);
        float *y0 = tu_new_uniform(n, s), *bias = tu_new_uniform((size_t)cols, s + 9);
        float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got),
              *first = malloc(n * sizeof *first);
        float *dbr = malloc((size_t)cols * sizeof *dbr), *dbg = tu_new_nan((size_t)cols),
              *dbf = malloc((size_t)cols * sizeof *dbf);
        y0[0] = NAN;
        for (int relu = 0; relu < 2; relu++) {
            memcpy(ref, y0, n * sizeof *ref);
            scnn_backend_naive.bias_act(rows, cols, ref, bias, relu);
            for (int i = 0; i < n_variants; i++) {
                use(&variants[i]);
                memcpy(got, y0, n * sizeof *got);
                variants[i].be->bias_act(rows, cols, got, bias, relu);
                assert_true(isnan(got[0]));
                check(&variants[i], relu ? "bias_act relu" : "bias_act", shape, got + 1, ref + 1,
                      i ? first + 1 : NULL, n - 1, 0);
                if (i == 0)
                    memcpy(first, got, n * sizeof *got);
            }
        }
        y0[0] = 0.25f;
        scnn_backend_naive.bias_grad(rows, cols, y0, dbr);
        for (int i = 0; i < n_variants; i++) {
            use(&variants[i]);
            variants[i].be->bias_grad(rows, cols, y0, dbg);
            check(&variants[i], "bias_grad", shape, dbg, dbr, i ? dbf : NULL, (size_t)cols, TOL);
            if (i == 0)
                memcpy(dbf, dbg, (size_t)cols * sizeof *dbg);
        }
        free(y0), free(bias), free(ref), free(got), free(first), free(dbr), free(dbg), free(dbf);
    }
}

static void test_relu_mul(void **state)
{
    (void)state;
    const size_t counts[] = {1, 13, 4099, 3 * 14 * 14 * 64 + 5};
    for (size_t s = 0; s < sizeof counts / sizeof counts[0]; s++) {
        const size_t n = counts[s];
        char shape[32];
        snprintf(shape, sizeof shape, "[%zu]", n);
        float *y = tu_new_uniform(n, s), *dy0 = tu_new_uniform(n, s + 1),
              *mask = tu_new_int(n, s + 2, 0, 2);
        y[n / 2] = NAN;
        float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got),
              *first = malloc(n * sizeof *first);
        memcpy(ref, dy0, n * sizeof *ref);
        scnn_backend_naive.relu_backward(n, y, ref);
        for (int i = 0; i < n_variants; i++) {
            use(&variants[i]);
            memcpy(got, dy0, n * sizeof *got);
            variants[i].be->relu_backward(n, y, got);
            check(&variants[i], "relu_backward", shape, got, ref, i ? first : NULL, n, 0);
            if (i == 0)
                memcpy(first, got, n * sizeof *got);
        }
        scnn_backend_naive.mul(n, dy0, mask, ref);
        for (int i = 0; i < n_variants; i++) {
            use(&variants[i]);
            for (size_t j = 0; j < n; j++)
                got[j] = NAN;
            variants[i].be->mul(n, dy0, mask, got);
            check(&variants[i], "mul", shape, got, ref, i ? first : NULL, n, 0);
            if (i == 0)
                memcpy(first, got, n * sizeof *got);
        }
        free(y), free(dy0), free(mask), free(ref), free(got), free(first);
    }
}

static void test_maxpool(void **state)
{
    (void)state;
    const int shapes[][4] = {{3, 28, 28, 64}, {3, 11, 11, 64}, {2, 5, 7, 3}, {1, 1, 4, 9},
                             {2, 6, 3, 13}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
        char shape[64];
        snprintf(shape, sizeof shape, "[%d,%d,%d,%d]", n, h, w, c);
        float *x = tu_new_int(nx, s, -2, 2); /* many ties: the first maximum must win */
        float *yr = tu_new_nan(ny), *yg = tu_new_nan(ny), *yf = tu_new_nan(ny);
        uint8_t *ir = malloc(ny + 1), *ig = malloc(ny + 1);
        float *dy = tu_new_uniform(ny, s + 5);
        float *dxr = tu_new_nan(nx), *dxg = tu_new_nan(nx), *dxf = tu_new_nan(nx);
        scnn_backend_naive.maxpool_forward(n, h, w, c, x, yr, ir);
        scnn_backend_naive.maxpool_backward(n, h, w, c, dy, ir, dxr);
        for (int i = 0; i < n_variants; i++) {
            use(&variants[i]);
            memset(ig, 0xee, ny + 1);
            for (size_t j = 0; j < nx; j++)
                dxg[j] = NAN;
            variants[i].be->maxpool_forward(n, h, w, c, x, yg, ig);
            check(&variants[i], "maxpool_forward", shape, yg, yr, i ? yf : NULL, ny, 0);
            if (ny)
                assert_memory_equal(ig, ir, ny);
            variants[i].be->maxpool_backward(n, h, w, c, dy, ir, dxg);
            check(&variants[i], "maxpool_backward", shape, dxg, dxr, i ? dxf : NULL, nx, 0);
            if (i == 0) {
                memcpy(yf, yg, ny * sizeof *yg);
                memcpy(dxf, dxg, nx * sizeof *dxg);
            }
        }
        free(x), free(yr), free(yg), free(yf), free(ir), free(ig), free(dy), free(dxr),
            free(dxg), free(dxf);
    }
}

static void test_batchnorm(void **state)
{
    (void)state;
    const int shapes[][2] = {{3 * 784, 1}, {250, 64}, {7, 70}, {1, 3}, {100003, 1}, {33, 130}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int m = shapes[s][0], c = shapes[s][1];
        const size_t n = (size_t)m * c;
        char shape[64];
        snprintf(shape, sizeof shape, "[%d,%d]", m, c);
        float *x = tu_new_uniform(n, s), *dy = tu_new_uniform(n, s + 1);
        for (size_t j = 0; j < n; j++)
            x[j] = 3.0f * x[j] + 0.5f; /* a mean away from zero */
        float *gamma = tu_new_uniform((size_t)c, s + 2), *beta = tu_new_uniform((size_t)c, s + 3);
        float *rm0 = tu_new_uniform((size_t)c, s + 4), *rv0 = tu_new_uniform((size_t)c, s + 5);
        for (int j = 0; j < c; j++)
            rv0[j] = 1.0f + 0.5f * rv0[j];
        /* [y | mean | invstd | run_mean | run_var | dx | dgamma | dbeta | infer y] */
        const size_t tot = 3 * n + 6 * (size_t)c;
        float *ref = tu_new_nan(tot), *got = tu_new_nan(tot), *first = tu_new_nan(tot);
        float *bufs[3] = {ref, got, first};
        for (int i = -1; i < n_variants; i++) {
            const scnn_backend *be = i < 0 ? &scnn_backend_naive : variants[i].be;
            if (i >= 0)
                use(&variants[i]);
            float *o = i < 0 ? bufs[0] : bufs[1];
            for (size_t j = 0; j < tot; j++)
                o[j] = NAN;
            float *y = o, *mean = y + n, *invstd = mean + c, *rm = invstd + c, *rv = rm + c,
                  *dx = rv + c, *dg = dx + n, *db = dg + c, *yi = db + c;
            memcpy(rm, rm0, (size_t)c * sizeof *rm);
            memcpy(rv, rv0, (size_t)c * sizeof *rv);
            be->batchnorm_forward_train(m, c, x, gamma, beta, 1e-3f, 0.99f, c == 1, y, mean,
                                        invstd, rm, rv);
            be->batchnorm_backward(m, c, x, dy, gamma, mean, invstd, dx, dg, db);
            be->batchnorm_forward_infer(m, c, x, gamma, beta, rm0, rv0, 1e-3f, yi);
            if (i < 0)
                continue;
            static const char *names[] = {"bn y", "bn mean", "bn invstd", "bn run_mean",
                                          "bn run_var", "bn dx", "bn dgamma", "bn dbeta",
                                          "bn infer y"};
            const size_t lens[] = {n, c, c, c, c, n, c, c, n};
            size_t off = 0;
            for (int k = 0; k < 9; k++) {
                check(&variants[i], names[k], shape, got + off, ref + off,
                      i ? first + off : NULL, lens[k], TOL);
                off += lens[k];
            }
            if (i == 0)
                memcpy(first, got, tot * sizeof *got);
        }
        free(x), free(dy), free(gamma), free(beta), free(rm0), free(rv0), free(ref), free(got),
            free(first);
    }
}

static void test_adam(void **state)
{
    (void)state;
    const size_t counts[] = {1, 7, 65600, 409856 + 3};
    for (size_t s = 0; s < sizeof counts / sizeof counts[0]; s++) {
        const size_t n = counts[s];
        char shape[32];
        snprintf(shape, sizeof shape, "[%zu]", n);
        float *g = tu_new_uniform(n, s), *p0 = tu_new_uniform(n, s + 1),
              *m0 = tu_new_uniform(n, s + 2), *v0 = tu_new_uniform(n, s + 3);
        for (size_t j = 0; j < n; j++)
            v0[j] = fabsf(v0[j]) * 0.01f;
        float *ref = malloc(3 * n * sizeof *ref), *got = malloc(3 * n * sizeof *got),
              *first = malloc(3 * n * sizeof *first);
        memcpy(ref, p0, n * sizeof *ref);
        memcpy(ref + n, m0, n * sizeof *ref);
        memcpy(ref + 2 * n, v0, n * sizeof *ref);
        scnn_backend_naive.adam_update(n, ref, g, ref + n, ref + 2 * n, 1e-3f, 0.9f, 0.999f,
                                       1e-7f);
        for (int i = 0; i < n_variants; i++) {
            use(&variants[i]);
            memcpy(got, p0, n * sizeof *got);
            memcpy(got + n, m0, n * sizeof *got);
            memcpy(got + 2 * n, v0, n * sizeof *got);
            variants[i].be->adam_update(n, got, g, got + n, got + 2 * n, 1e-3f, 0.9f, 0.999f,
                                        1e-7f);
            /* the same double-precision operations as the reference: the same bits */
            check(&variants[i], "adam", shape, got, ref, i ? first : NULL, 3 * n, 0);
            if (i == 0)
                memcpy(first, got, 3 * n * sizeof *got);
        }
        free(g), free(p0), free(m0), free(v0), free(ref), free(got), free(first);
    }
}

static void test_dropout_mask(void **state)
{
    (void)state;
    const size_t counts[] = {1, 3, 15, 16, 17, 4095, 4096, 4097, 250 * 14 * 14 * 64 + 5};
    const float rates[] = {0.0f, 0.1f, 0.3f, 0.5f, 0.99f};
    for (size_t s = 0; s < sizeof counts / sizeof counts[0]; s++)
        for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            const size_t n = counts[s];
            const uint64_t key = scnn_rng_key(s, r, 3);
            char shape[64];
            snprintf(shape, sizeof shape, "[%zu] p=%g", n, rates[r]);
            float *ref = tu_new_nan(n), *got = tu_new_nan(n);
            scnn_backend_naive.dropout_mask(n, rates[r], key, ref);
            for (int i = 0; i < n_variants; i++) {
                use(&variants[i]);
                memset(got, 0xff, n * sizeof *got);
                variants[i].be->dropout_mask(n, rates[r], key, got);
                /* the same generator: the same bits */
                check(&variants[i], "dropout_mask", shape, got, ref, NULL, n, 0);
                tu_assert_same_bits(shape, got, ref, n);
            }
            free(ref);
            free(got);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_mask),
        cmocka_unit_test(test_table),      cmocka_unit_test(test_conv_int),
        cmocka_unit_test(test_conv_uniform), cmocka_unit_test(test_conv_nan),
        cmocka_unit_test(test_gemm),       cmocka_unit_test(test_bias),
        cmocka_unit_test(test_relu_mul),   cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_batchnorm),  cmocka_unit_test(test_adam),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
