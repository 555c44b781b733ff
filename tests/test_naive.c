/* The naive backend on hand-computed cases and against textbook loops written here, and the
 * parity harness itself (it must fail on a perturbed, NaN or Inf array). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static const scnn_backend *nb = &scnn_backend_naive;

static float *nan_array(size_t n)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

/* ---- the table ----------------------------------------------------------------------------- */

static void test_table(void **state)
{
    (void)state;
    assert_string_equal(nb->name, "naive");
    assert_non_null(nb->description);
    const char *why = "unset";
    assert_true(scnn_backend_available(nb, &why));
    assert_int_equal(scnn_backend_threads(nb), 1);
    scnn_conv2d d = scnn_conv2d_make(250, 14, 14, 64, 64, 4, 4, false, true);
    assert_int_equal(nb->conv2d_workspace(&d), 64 * 64 * sizeof(double));
    char buf[512];
    scnn_backend_fallbacks(nb, buf, sizeof buf);
    assert_string_equal(buf, ""); /* every op is implemented */
}

/* ---- convolution --------------------------------------------------------------------------- */

/* 3x3 input 1..9, 4x4 kernel, "same": TensorFlow pads 1 before and 2 after, so output (p,q)
 * sums input rows p-1..p+2 and columns q-1..q+2 that exist. */
static void test_conv_same_asymmetric(void **state)
{
    (void)state;
    scnn_conv2d d = scnn_conv2d_make(1, 3, 3, 1, 1, 4, 4, true, false);
    assert_int_equal(d.pad_top, 1);
    assert_int_equal(d.pad_left, 1);
    assert_int_equal(d.pad_bottom, 2);
    assert_int_equal(d.pad_right, 2);
    assert_int_equal(d.p, 3);
    assert_int_equal(d.q, 3);
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float w[16], y[9];

    for (int i = 0; i < 16; i++)
        w[i] = 1;
    /* rows {0,1,2} for p = 0 and 1, {1,2} for p = 2; the same for columns */
    const float ones[9] = {45, 45, 33, 45, 45, 33, 39, 39, 28};
    nb->conv2d_forward(&d, x, w, NULL, y, NULL);
    tu_assert_close("4x4 ones, same", y, ones, 9, 0);

    /* a single tap at (0,0) reads x[p-1][q-1]: the image moves down-right by one */
    memset(w, 0, sizeof w);
    w[0] = 1;
    const float shift_down[9] = {0, 0, 0, 0, 1, 2, 0, 4, 5};
    nb->conv2d_forward(&d, x, w, NULL, y, NULL);
    tu_assert_close("tap (0,0)", y, shift_down, 9, 0);

    /* a tap at (3,3) reads x[p+2][q+2]: only y[0][0] sees the image */
    memset(w, 0, sizeof w);
    w[15] = 1;
    const float shift_up[9] = {9, 0, 0, 0, 0, 0, 0, 0, 0};
    nb->conv2d_forward(&d, x, w, NULL, y, NULL);
    tu_assert_close("tap (3,3)", y, shift_up, 9, 0);

    /* bias and ReLU */
    for (int i = 0; i < 16; i++)
        w[i] = 1;
    const float b[1] = {-40};
    d.relu = true;
    const float relu[9] = {5, 5, 0, 5, 5, 0, 0, 0, 0};
    nb->conv2d_forward(&d, x, w, b, y, NULL);
    tu_assert_close("ones, bias -40, relu", y, relu, 9, 0);
}

/* HWIO layout: a 1x1 kernel is a [c,k] matrix. */
static void test_conv_channel_layout(void **state)
{
    (void)state;
    scnn_conv2d d = scnn_conv2d_make(1, 1, 1, 2, 2, 1, 1, true, false);
    const float x[2] = {1, 10}, w[4] = {1, 2, 3, 4}, b[2] = {-40, 0.5f};
    float y[2];
    nb->conv2d_forward(&d, x, w, NULL, y, NULL);
    const float want[2] = {31, 42};
    tu_assert_close("1x1 conv", y, want, 2, 0);
    d.relu = true;
    nb->conv2d_forward(&d, x, w, b, y, NULL);
    const float want_relu[2] = {0, 42.5f};
    tu_assert_close("1x1 conv, bias, relu", y, want_relu, 2, 0);
}

/* Textbook loops (every index spelled out), for arbitrary padding. */
static void ref_conv(const scnn_conv2d *d, const float *x, const float *w, const float *b,
                     float *y, const float *dy, float *dx, float *dw, float *db)
{
    size_t ny = (size_t)d->n * d->p * d->q * d->k, nx = (size_t)d->n * d->h * d->w * d->c;
    size_t nw = (size_t)d->kh * d->kw * d->c * d->k;
    double *ay = calloc(ny, sizeof *ay), *ax = calloc(nx, sizeof *ax), *aw = calloc(nw, sizeof *aw);
    double *ab = calloc((size_t)d->k, sizeof *ab);
    for (int n = 0; n < d->n; n++)
        for (int p = 0; p < d->p; p++)
            for (int q = 0; q < d->q; q++)
                for (int k = 0; k < d->k; k++) {
                    size_t yi = (((size_t)n * d->p + p) * d->q + q) * d->k + k;
                    ab[k] += dy[yi];
                    for (int i = 0; i < d->kh; i++)
                        for (int j = 0; j < d->kw; j++)
                            for (int c = 0; c < d->c; c++) {
                                int ih = p + i - d->pad_top, iw = q + j - d->pad_left;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w)
                                    continue;
                                size_t xi = (((size_t)n * d->h + ih) * d->w + iw) * d->c + c;
                                size_t wi = (((size_t)i * d->kw + j) * d->c + c) * d->k + k;
                                ay[yi] += (double)x[xi] * w[wi];
                                ax[xi] += (double)dy[yi] * w[wi];
                                aw[wi] += (double)x[xi] * dy[yi];
                            }
                }
    for (size_t e = 0; e < ny; e++) {
        double v = ay[e] + (b ? b[e % d->k] : 0);
        y[e] = (float)(d->relu && v < 0 ? 0 : v);
    }
    for (size_t e = 0; e < nx; e++)
        dx[e] = (float)ax[e];
    for (size_t e = 0; e < nw; e++)
        dw[e] = (float)aw[e];
    for (int e = 0; e < d->k; e++)
        db[e] = (float)ab[e];
    free(ay);
    free(ax);
    free(aw);
    free(ab);
}

/* Small-integer inputs make every sum exact, so naive must equal the textbook bit for bit. */
static void check_conv_exact(scnn_conv2d d, uint64_t seed)
{
    size_t ny = (size_t)d.n * d.p * d.q * d.k, nx = (size_t)d.n * d.h * d.w * d.c;
    size_t nw = (size_t)d.kh * d.kw * d.c * d.k;
    float *x = tu_new_int(nx, seed, -3, 3), *w = tu_new_int(nw, seed + 1, -3, 3);
    float *b = tu_new_int((size_t)d.k, seed + 2, -20, 20), *dy = tu_new_int(ny, seed + 3, -3, 3);
    float *y = nan_array(ny), *dx = nan_array(nx), *dw = nan_array(nw), *db = nan_array(d.k);
    float *ry = malloc(ny * 4), *rdx = malloc(nx * 4), *rdw = malloc(nw * 4);
    float *rdb = malloc((size_t)d.k * 4);
    ref_conv(&d, x, w, b, ry, dy, rdx, rdw, rdb);
    nb->conv2d_forward(&d, x, w, b, y, NULL);
    nb->conv2d_backward_data(&d, dy, w, dx, NULL);
    nb->conv2d_backward_filter(&d, x, dy, dw, db, NULL);
    tu_assert_close("conv forward", y, ry, ny, 0);
    tu_assert_close("conv backward data", dx, rdx, nx, 0);
    tu_assert_close("conv backward filter", dw, rdw, nw, 0);
    tu_assert_close("conv bias gradient", db, rdb, d.k, 0);
    /* db may be NULL */
    tu_fill_uniform(dw, nw, 99);
    nb->conv2d_backward_filter(&d, x, dy, dw, NULL, NULL);
    tu_assert_close("conv backward filter, no db", dw, rdw, nw, 0);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(ry), free(rdx), free(rdw), free(rdb);
}

static void test_conv_vs_textbook(void **state)
{
    (void)state;
    /* k = 70: a full block of 64 output channels and a tail of 6 (not a multiple of 4) */
    check_conv_exact(tu_conv_pads(2, 5, 6, 3, 70, 3, 4, 2, 0, 0, 3, false), 1);
    check_conv_exact(tu_conv_pads(2, 5, 6, 3, 70, 3, 4, 0, 2, 3, 1, true), 2);
    check_conv_exact(tu_conv_pads(1, 4, 3, 5, 7, 2, 2, 1, 1, 1, 1, true), 3);
    /* the model's two layers, at batch 2 and 1 */
    check_conv_exact(scnn_conv2d_make(2, 28, 28, 1, 64, 4, 4, true, true), 4);
    check_conv_exact(scnn_conv2d_make(1, 14, 14, 64, 64, 4, 4, false, true), 5);
    /* a kernel larger than the input in one direction, "same" */
    check_conv_exact(scnn_conv2d_make(3, 2, 5, 2, 3, 4, 3, true, false), 6);
}

/* ---- gemm ---------------------------------------------------------------------------------- */

static void test_gemm_hand(void **state)
{
    (void)state;
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float c[4] = {NAN, NAN, NAN, NAN};
    nb->gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    const float ab[4] = {19, 22, 43, 50};
    tu_assert_close("a*b", c, ab, 4, 0);
    nb->gemm(true, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    const float atb[4] = {26, 30, 38, 44};
    tu_assert_close("a^T*b", c, atb, 4, 0);
    nb->gemm(false, true, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2);
    const float abt[4] = {17, 23, 39, 53};
    tu_assert_close("a*b^T", c, abt, 4, 0);
    /* alpha and beta: c = 2*a*b + 0.5*c */
    float c2[4] = {2, 4, 6, 8};
    nb->gemm(false, false, 2, 2, 2, 2, a, 2, b, 2, 0.5f, c2, 2);
    const float ab2[4] = {39, 46, 89, 104};
    tu_assert_close("2*a*b + c/2", c2, ab2, 4, 0);
}

/* All four transposes, leading dimensions wider than the rows (the gaps hold NaN and must not
 * be read, or written in c), beta 0 over a NaN-filled c, and n = 70 (a column block tail). */
static void test_gemm_vs_textbook(void **state)
{
    (void)state;
    const int m = 5, n = 70, kk = 9;
    for (int t = 0; t < 4; t++)
        for (int use_beta = 0; use_beta < 2; use_beta++) {
            const bool ta = t & 1, tb = t & 2;
            const int arows = ta ? kk : m, acols = ta ? m : kk, lda = acols + 3;
            const int brows = tb ? n : kk, bcols = tb ? kk : n, ldb = bcols + 2;
            const int ldc = n + 5;
            float *a = nan_array((size_t)arows * lda), *b = nan_array((size_t)brows * ldb);
            float *c = nan_array((size_t)m * ldc), *want = nan_array((size_t)m * ldc);
            for (int i = 0; i < arows; i++)
                tu_fill_int(a + (size_t)i * lda, acols, 10 + i, -4, 4);
            for (int i = 0; i < brows; i++)
                tu_fill_int(b + (size_t)i * ldb, bcols, 100 + i, -4, 4);
            const float alpha = 2, beta = use_beta ? 0.5f : 0;
            if (use_beta)
                for (int i = 0; i < m; i++)
                    tu_fill_int(c + (size_t)i * ldc, n, 1000 + i, -9, 9);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < kk; l++)
                        s += (double)(ta ? a[l * lda + i] : a[i * lda + l]) *
                             (tb ? b[j * ldb + l] : b[l * ldb + j]);
                    want[i * ldc + j] = (float)(alpha * s + (use_beta ? beta * c[i * ldc + j] : 0));
                }
            nb->gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
            for (int i = 0; i < m; i++) {
                tu_assert_close("gemm row", c + (size_t)i * ldc, want + (size_t)i * ldc, n, 0);
                for (int j = n; j < ldc; j++)
                    assert_true(isnan(c[i * ldc + j])); /* the gap is untouched */
            }
            free(a), free(b), free(c), free(want);
        }
}

/* ---- element-wise ops ---------------------------------------------------------------------- */

static void test_elementwise(void **state)
{
    (void)state;
    float y[6] = {1, -2, 3, -4, 0.5f, -0.25f};
    const float bias[3] = {1, 1, -1};
    nb->bias_act(2, 3, y, bias, true);
    const float want_relu[6] = {2, 0, 2, 0, 1.5f, 0};
    tu_assert_close("bias_act relu", y, want_relu, 6, 0);
    float z[6] = {1, -2, 3, -4, 0.5f, -0.25f};
    nb->bias_act(2, 3, z, bias, false);
    const float want_lin[6] = {2, -1, 2, -3, 1.5f, -1.25f};
    tu_assert_close("bias_act linear", z, want_lin, 6, 0);

    float db[3] = {NAN, NAN, NAN};
    nb->bias_grad(2, 3, want_lin, db);
    const float want_db[3] = {-1, 0.5f, 0.75f};
    tu_assert_close("bias_grad", db, want_db, 3, 0);

    float dy[6] = {1, 2, 3, 4, 5, 6};
    nb->relu_backward(6, want_relu, dy);
    const float want_dy[6] = {1, 0, 3, 0, 5, 0};
    tu_assert_close("relu_backward", dy, want_dy, 6, 0);

    const float x[4] = {1, 2, 3, 4}, mask[4] = {0, 2, 2, 0};
    float out[4] = {NAN, NAN, NAN, NAN};
    nb->mul(4, x, mask, out);
    const float want_mul[4] = {0, 4, 6, 0};
    tu_assert_close("mul", out, want_mul, 4, 0);
}

/* ---- max pooling --------------------------------------------------------------------------- */

/* x [1,3,5,2]: the third row and fifth column are dropped (floor), even when they hold the
 * largest value; ties go to the first maximum; all-negative windows work. */
static void test_maxpool_floor_odd(void **state)
{
    (void)state;
    const float plane[15] = {1, 5, 2, 0, 9, 3, 4, 8, 8, 7, 6, 6, 6, 6, 6};
    float x[30];
    for (int i = 0; i < 15; i++) {
        x[2 * i] = plane[i];
        x[2 * i + 1] = -plane[i] - 1;
    }
    float y[4];
    uint8_t idx[4];
    nb->maxpool_forward(1, 3, 5, 2, x, y, idx);
    const float want_y[4] = {5, -2, 8, -1};
    tu_assert_close("maxpool y", y, want_y, 4, 0);
    assert_int_equal(idx[0], 1); /* 5 at (0,1) */
    assert_int_equal(idx[1], 0); /* -2 at (0,0) */
    assert_int_equal(idx[2], 2); /* 8 at (1,0), tied with (1,1) */
    assert_int_equal(idx[3], 1); /* -1 at (0,1) */

    const float dy[4] = {10, 20, 30, 40};
    float dx[30];
    for (int i = 0; i < 30; i++)
        dx[i] = NAN;
    nb->maxpool_backward(1, 3, 5, 2, dy, idx, dx);
    float want_dx[30] = {0};
    want_dx[2 * 1] = 10;           /* (0,1) ch 0 */
    want_dx[2 * 0 + 1] = 20;       /* (0,0) ch 1 */
    want_dx[2 * (5 + 2)] = 30;     /* (1,2) ch 0 */
    want_dx[2 * 3 + 1] = 40;       /* (0,3) ch 1 */
    tu_assert_close("maxpool dx", dx, want_dx, 30, 0);
}

/* ---- batch norm ---------------------------------------------------------------------------- */

static void test_batchnorm_values(void **state)
{
    (void)state;
    /* channel 0: 1,2,3,4 (mean 2.5, biased variance 1.25); channel 1: constant 5 */
    const float x[8] = {1, 5, 2, 5, 3, 5, 4, 5}, gamma[2] = {2, 3}, beta[2] = {1, -1};
    for (int unbiased = 0; unbiased < 2; unbiased++) {
        float y[8], mean[2], invstd[2], rm[2] = {0, 0}, rv[2] = {1, 1};
        nb->batchnorm_forward_train(4, 2, x, gamma, beta, 1e-3f, 0.99f, unbiased, y, mean,
                                    invstd, rm, rv);
        const double s = sqrt(1.25 + 1e-3);
        float want_y[8];
        for (int r = 0; r < 4; r++) {
            want_y[2 * r] = (float)(2 * ((r + 1) - 2.5) / s + 1);
            want_y[2 * r + 1] = -1; /* x - mean = 0 exactly: beta */
        }
        tu_assert_close("batchnorm y", y, want_y, 8, 1e-6);
        const float want_mean[2] = {2.5f, 5}, want_invstd[2] = {(float)(1 / s),
                                                                (float)(1 / sqrt(1e-3))};
        tu_assert_close("batchnorm mean", mean, want_mean, 2, 1e-6);
        tu_assert_close("batchnorm invstd", invstd, want_invstd, 2, 1e-6);
        const float want_rm[2] = {0.025f, 0.05f};
        const float want_rv[2] = {(float)(0.99 + 0.01 * 1.25 * (unbiased ? 4.0 / 3 : 1)), 0.99f};
        tu_assert_close("batchnorm running mean", rm, want_rm, 2, 1e-6);
        tu_assert_close("batchnorm running variance", rv, want_rv, 2, 1e-6);
    }
    const float rm[2] = {0.5f, 1}, rv[2] = {3, 0.999f};
    float y[8];
    nb->batchnorm_forward_infer(4, 2, x, gamma, beta, rm, rv, 1e-3f, y);
    float want[8];
    for (int r = 0; r < 4; r++) {
        want[2 * r] = (float)(2 * ((r + 1) - 0.5) / sqrt(3.001) + 1);
        want[2 * r + 1] = (float)(3 * (5 - 1) / sqrt(0.999f + 1e-3f) - 1); /* ~11 */
    }
    tu_assert_close("batchnorm inference", y, want, 8, 1e-6);
}

/* ---- softmax cross-entropy ----------------------------------------------------------------- */

static void test_softmax_xent_values(void **state)
{
    (void)state;
    /* row 0: uniform over 3, label 2; row 1: probabilities 0.1, 0.3, 0.6, label 1 */
    const float logits[6] = {0, 0, 0, 0, (float)log(3.0), (float)log(6.0)};
    const uint8_t labels[2] = {2, 1};
    float probs[6], dl[6];
    float loss = nb->softmax_xent(2, 3, logits, labels, probs, dl);
    assert_float_equal(loss, log(10.0) / 2, 1e-6); /* (ln 3 - ln 0.3) / 2 */
    const float want_p[6] = {1.f / 3, 1.f / 3, 1.f / 3, 0.1f, 0.3f, 0.6f};
    tu_assert_close("softmax probs", probs, want_p, 6, 1e-6);
    const float want_dl[6] = {1.f / 6, 1.f / 6, -1.f / 3, 0.05f, -0.35f, 0.3f};
    tu_assert_close("softmax dlogits", dl, want_dl, 6, 1e-6);
    /* dlogits may be NULL */
    assert_float_equal(nb->softmax_xent(2, 3, logits, labels, probs, NULL), loss, 0);

    /* clipping: p = 1 reports -log(1-1e-7), p = e^-100 reports -log(1e-7) = 16.118...;
     * the gradient is not clipped */
    const float big[4] = {100, 0, 0, 100};
    const uint8_t lab0[2] = {0, 0};
    loss = nb->softmax_xent(2, 2, big, lab0, probs, dl);
    assert_float_equal(loss, (-log1p(-1e-7) + 16.11809565095832) / 2, 1e-6);
    const float want_dl2[4] = {0, 0, -0.5f, 0.5f};
    tu_assert_close("clipped dlogits", dl, want_dl2, 4, 1e-6);

    /* stability: huge logits give finite probabilities */
    const float huge[3] = {1000, 1000, -1000};
    const uint8_t lab[1] = {0};
    loss = nb->softmax_xent(1, 3, huge, lab, probs, dl);
    assert_float_equal(loss, log(2.0), 1e-6);
    const float want_p3[3] = {0.5f, 0.5f, 0};
    tu_assert_close("stable softmax", probs, want_p3, 3, 1e-6);
}

/* ---- the parity harness -------------------------------------------------------------------- */

static void test_harness_fails(void **state)
{
    (void)state;
    enum { N = 1000 };
    float *ref = tu_new_uniform(N, 7), *got = malloc(N * sizeof *got);
    char msg[512];
    ref[123] = 0.75f; /* above rms(ref), so its own size sets the scale */
    memcpy(got, ref, N * sizeof *got);
    assert_true(tu_check_close("same", got, ref, N, 0, msg, sizeof msg));
    assert_true(tu_check_close("same", got, ref, N, 1e-6, msg, sizeof msg));
    tu_assert_close("same", got, ref, N, 0);
    tu_assert_same_bits("same", got, ref, N);
    assert_true(tu_max_rel_err(got, ref, N) == 0);

    /* one element off by 1e-3 relative */
    got[123] = ref[123] * (1 + 1e-3f);
    assert_false(tu_check_close("perturbed", got, ref, N, 1e-4, msg, sizeof msg));
    assert_non_null(strstr(msg, "[123]"));
    assert_false(tu_check_close("perturbed", got, ref, N, 0, msg, sizeof msg));
    assert_true(tu_check_close("perturbed", got, ref, N, 1e-2, msg, sizeof msg));
    assert_true(tu_max_rel_err(got, ref, N) > 0.9e-3 && tu_max_rel_err(got, ref, N) < 1.1e-3);

    /* one ulp fails exact mode */
    memcpy(got, ref, N * sizeof *got);
    got[5] = nextafterf(ref[5], 2.0f);
    assert_false(tu_check_close("ulp", got, ref, N, 0, msg, sizeof msg));
    assert_true(tu_check_close("ulp", got, ref, N, 1e-6, msg, sizeof msg));

    /* NaN or Inf fail at any tolerance, in got or in ref */
    memcpy(got, ref, N * sizeof *got);
    got[999] = NAN;
    assert_false(tu_check_close("nan", got, ref, N, 1e30, msg, sizeof msg));
    assert_non_null(strstr(msg, "[999]"));
    assert_true(isinf(tu_max_rel_err(got, ref, N)));
    got[999] = INFINITY;
    assert_false(tu_check_close("inf", got, ref, N, 1e30, msg, sizeof msg));
    got[999] = -INFINITY;
    assert_false(tu_check_close("-inf", got, ref, N, 1e30, msg, sizeof msg));
    memcpy(got, ref, N * sizeof *got);
    ref[0] = NAN;
    got[0] = NAN;
    assert_false(tu_check_close("nan in both", got, ref, N, 1e30, msg, sizeof msg));

    /* near-zero elements are judged against rms(ref), not their own size */
    const float r2[4] = {1, -1, 1, 1e-9f}, g2[4] = {1, -1, 1, 1e-5f};
    assert_true(tu_check_close("small", g2, r2, 4, 1e-4, msg, sizeof msg));
    assert_false(tu_check_close("small", g2, r2, 4, 1e-6, msg, sizeof msg));
    /* an all-zero reference admits only zeros */
    const float z[2] = {0, 0}, nz[2] = {0, 1e-30f};
    assert_true(tu_check_close("zeros", z, z, 2, 1e-3, msg, sizeof msg));
    assert_false(tu_check_close("zeros", nz, z, 2, 1e-3, msg, sizeof msg));
    free(ref);
    free(got);
}

static void test_fills(void **state)
{
    (void)state;
    enum { N = 4096 };
    float *a = tu_new_uniform(N, 1), *b = tu_new_uniform(N, 1), *c = tu_new_uniform(N, 2);
    tu_assert_same_bits("same seed", a, b, N);
    double lo = 1, hi = -1, mean = 0;
    for (int i = 0; i < N; i++) {
        lo = fmin(lo, a[i]);
        hi = fmax(hi, a[i]);
        mean += a[i] / N;
    }
    assert_true(lo >= -1 && hi <= 1 && lo < -0.99 && hi > 0.99 && fabs(mean) < 0.05);
    assert_false(tu_check_close("other seed", c, a, N, 0.5, NULL, 0));
    float *k = tu_new_int(N, 3, -3, 3);
    int seen[7] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(k[i] == floorf(k[i]) && k[i] >= -3 && k[i] <= 3);
        seen[(int)k[i] + 3]++;
    }
    for (int v = 0; v < 7; v++)
        assert_true(seen[v] > N / 14);
    free(a), free(b), free(c), free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_conv_same_asymmetric),
        cmocka_unit_test(test_conv_channel_layout),
        cmocka_unit_test(test_conv_vs_textbook),
        cmocka_unit_test(test_gemm_hand),
        cmocka_unit_test(test_gemm_vs_textbook),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_maxpool_floor_odd),
        cmocka_unit_test(test_batchnorm_values),
        cmocka_unit_test(test_softmax_xent_values),
        cmocka_unit_test(test_harness_fails),
        cmocka_unit_test(test_fills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
