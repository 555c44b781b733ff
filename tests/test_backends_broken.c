/* The parity harness of tests/test_backends.c is itself tested: each check of
 * tests/backend_checks.c must fail, naming the op, on a deliberately broken copy of naive (an op
 * that spoils one output, skips a tail, reads beta, mirrors a convolution, ...), and the guard
 * pages must catch a kernel that writes or reads one element past an array. */
#include "backend_checks.h"
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scnn.h"

static const scnn_backend *naive = &scnn_backend_naive;

/* ---- the harness must fail on broken kernels ------------------------------------------------ */

/* Broken copies of a working backend (base): each op runs base's, then spoils its output. */
static scnn_backend base;
static int calls;

static void bump(float *x, size_t i)
{
    x[i] += 0.01f * (fabsf(x[i]) + 1.0f);
}

static void bad_conv_forward(const scnn_conv2d *d, const float *x, const float *w,
                             const float *b, float *y, void *ws)
{
    base.conv2d_forward(d, x, w, b, y, ws);
    bump(y, (size_t)d->n * d->p * d->q * d->k / 2);
}
static void bad_conv_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                   float *dx, void *ws)
{
    base.conv2d_backward_data(d, dy, w, dx, ws);
    bump(dx, (size_t)d->n * d->h * d->w * d->c - 1);
}
static void bad_conv_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                     float *dw, float *db, void *ws)
{
    base.conv2d_backward_filter(d, x, dy, dw, db, ws);
    bump(dw, 0);
}
static void bad_conv_backward_filter_db(const scnn_conv2d *d, const float *x, const float *dy,
                                        float *dw, float *db, void *ws)
{
    base.conv2d_backward_filter(d, x, dy, dw, db, ws);
    if (db)
        bump(db, (size_t)d->k - 1);
}

/* TensorFlow pads an even kernel 1 before and 2 after; this one pads 2 before and 1 after. */
static scnn_conv2d mirrored(const scnn_conv2d *d)
{
    scnn_conv2d m = *d;
    m.pad_top = d->pad_bottom, m.pad_bottom = d->pad_top;
    m.pad_left = d->pad_right, m.pad_right = d->pad_left;
    return m;
}
static void mirrored_conv_forward(const scnn_conv2d *d, const float *x, const float *w,
                                  const float *b, float *y, void *ws)
{
    scnn_conv2d m = mirrored(d);
    base.conv2d_forward(&m, x, w, b, y, ws);
}
static void mirrored_conv_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                        float *dx, void *ws)
{
    scnn_conv2d m = mirrored(d);
    base.conv2d_backward_data(&m, dy, w, dx, ws);
}
static void mirrored_conv_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                          float *dw, float *db, void *ws)
{
    scnn_conv2d m = mirrored(d);
    base.conv2d_backward_filter(&m, x, dy, dw, db, ws);
}

static void bad_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                     int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    base.gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
    bump(c, (size_t)(m / 2) * ldc + n / 2);
}
/* a vector kernel that forgets the columns past the last multiple of 8 */
static void tailless_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                          int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (n & ~7)
        base.gemm(ta, tb, m, n & ~7, kk, alpha, a, lda, b, ldb, beta, c, ldc);
}
/* reads c when beta == 0 (0 * NaN is NaN) */
static void beta_reading_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[(size_t)i * ldc + j] *= beta;
    base.gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, 1.0f, c, ldc);
}
/* right, except that every second call is one unit in the last place off: not deterministic */
static void flaky_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    base.gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
    if (calls++ % 2)
        c[0] = nextafterf(c[0], INFINITY);
}

static void bad_bias_act(int rows, int cols, float *y, const float *bias, bool relu)
{
    base.bias_act(rows, cols, y, bias, relu);
    bump(y, (size_t)rows * cols - 1);
}
static void bad_bias_grad(int rows, int cols, const float *dy, float *db)
{
    base.bias_grad(rows, cols, dy, db);
    bump(db, (size_t)cols / 2);
}
/* lets y == 0 through */
static void leaky_relu_backward(size_t count, const float *y, float *dy)
{
    for (size_t i = 0; i < count; i++)
        if (y[i] < 0.0f)
            dy[i] = 0.0f;
}
static void bad_mul(size_t count, const float *x, const float *mask, float *y)
{
    base.mul(count, x, mask, y);
    bump(y, count / 2);
}
/* the last maximum wins ties */
static void last_max_pool(int n, int h, int w, int c, const float *x, float *y, uint8_t *idx)
{
    base.maxpool_forward(n, h, w, c, x, y, idx);
    const int ph = h / 2, pw = w / 2;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < ph; oy++)
            for (int ox = 0; ox < pw; ox++)
                for (int ch = 0; ch < c; ch++) {
                    const size_t o = (((size_t)b * ph + oy) * pw + ox) * c + ch;
                    for (int t = 3; t >= 0; t--)
                        if (x[(((size_t)b * h + 2 * oy + t / 2) * w + 2 * ox + t % 2) * c + ch] ==
                            y[o]) {
                            idx[o] = (uint8_t)t;
                            break;
                        }
                }
}
static void bad_maxpool_backward(int n, int h, int w, int c, const float *dy, const uint8_t *idx,
                                 float *dx)
{
    base.maxpool_backward(n, h, w, c, dy, idx, dx);
    bump(dx, 0);
}
static void biased_batchnorm_train(int m, int c, const float *x, const float *gamma,
                                   const float *beta, float eps, float momentum, bool unbiased_var,
                                   float *y, float *mean, float *invstd, float *run_mean,
                                   float *run_var)
{
    base.batchnorm_forward_train(m, c, x, gamma, beta, eps, momentum, false, y, mean, invstd,
                                 run_mean, run_var);
}
static void bad_batchnorm_infer(int m, int c, const float *x, const float *gamma,
                                const float *beta, const float *run_mean, const float *run_var,
                                float eps, float *y)
{
    base.batchnorm_forward_infer(m, c, x, gamma, beta, run_mean, run_var, eps, y);
    bump(y, 0);
}
static void bad_batchnorm_backward(int m, int c, const float *x, const float *dy,
                                   const float *gamma, const float *mean, const float *invstd,
                                   float *dx, float *dgamma, float *dbeta)
{
    base.batchnorm_backward(m, c, x, dy, gamma, mean, invstd, dx, dgamma, dbeta);
    bump(dgamma, 0);
}
static float bad_softmax_loss(int n, int classes, const float *logits, const uint8_t *labels,
                              float *probs, float *dlogits)
{
    return base.softmax_xent(n, classes, logits, labels, probs, dlogits) * 1.01f;
}
static float bad_softmax_dlogits(int n, int classes, const float *logits, const uint8_t *labels,
                                 float *probs, float *dlogits)
{
    float loss = base.softmax_xent(n, classes, logits, labels, probs, dlogits);
    if (dlogits)
        bump(dlogits, (size_t)n * classes - 1);
    return loss;
}
/* one unit in the last place off in one element */
static void bad_dropout_mask(size_t count, float p, uint64_t key, float *mask)
{
    base.dropout_mask(count, p, key, mask);
    mask[count / 2] = nextafterf(mask[count / 2], INFINITY);
}
static void bad_adam(size_t count, float *p, const float *g, float *m, float *v, float lr_t,
                     float b1, float b2, float eps)
{
    base.adam_update(count, p, g, m, v, lr_t, b1, b2, eps);
    bump(p, count - 1);
}

/* A tail overrun: the conv forward writes one float past y's end (a tail loop with <= for <). */
static void overrun_conv_forward(const scnn_conv2d *d, const float *x, const float *w,
                                 const float *b, float *y, void *ws)
{
    base.conv2d_forward(d, x, w, b, y, ws);
    size_t ny = (size_t)d->n * d->p * d->q * d->k;
    volatile float *v = y;
    v[ny] = 0.0f;
}

/* A tail over-read: relu_backward reads one float past y's end (and discards it). */
static void overread_relu_backward(size_t count, const float *y, float *dy)
{
    volatile const float *v = y;
    float extra = v[count];
    (void)extra;
    base.relu_backward(count, y, dy);
}

/* Runs one parity check of a broken copy of naive in a child process. */
typedef struct guard_case {
    int which; /* 0 the overrun, 1 the over-read, 2 and 3 their unbroken controls */
} guard_case;

static void run_guard_case(void *arg)
{
    const guard_case *g = arg;
    char msg[MSG];
    scnn_backend b = base;
    b.name = "bad";
    if (g->which == 0)
        b.conv2d_forward = overrun_conv_forward;
    if (g->which == 1)
        b.relu_backward = overread_relu_backward;
    /* k = 5 and an odd batch: no size here is a multiple of 16 floats */
    if (g->which % 2 == 0)
        check_conv(&b, scnn_conv2d_make(1, 7, 9, 3, 5, 3, 3, true, false), FILL_INT, 1, msg,
                   sizeof msg);
    else
        check_bias_relu(&b, 3, 7, FILL_INT, 1, msg, sizeof msg);
}

/* The guard pages: one float written or read past an output's or an input's end faults (the
 * 64-byte rounding of aligned_alloc used to hide both from ASan), while the unbroken kernels
 * run clean through the same checks. */
static void test_guard_pages_catch_overruns(void **state)
{
    (void)state;
    base = scnn_backend_resolve(naive);
    guard_case overrun = {0}, overread = {1}, control_conv = {2}, control_relu = {3};
    assert_true(tu_dies(run_guard_case, &overrun));
    assert_true(tu_dies(run_guard_case, &overread));
    assert_false(tu_dies(run_guard_case, &control_conv));
    assert_false(tu_dies(run_guard_case, &control_relu));
}

/* The check must fail, and its message must name the op. */
static void expect_caught(bool ok, const char *msg, const char *op)
{
    if (ok)
        fail_msg("a broken %s passed its parity check", op);
    if (!strstr(msg, op))
        fail_msg("the failure of a broken %s does not name it: %s", op, msg);
}

static void test_harness_catches_broken_kernels(void **state)
{
    (void)state;
    /* naive itself: then the broken op is the only possible cause of a failure */
    base = scnn_backend_resolve(naive);
    char msg[MSG];
    const scnn_conv2d conv1 = scnn_conv2d_make(2, 28, 28, 1, 64, 4, 4, true, true);
    const scnn_conv2d odd = scnn_conv2d_make(2, 7, 9, 3, 5, 4, 2, true, false);
    scnn_backend bad;
    for (int kind = 0; kind < 2; kind++) {
        bad = base, bad.name = "bad", bad.conv2d_forward = bad_conv_forward;
        expect_caught(check_conv(&bad, conv1, kind, 1, msg, sizeof msg), msg, "conv2d_forward");
        bad = base, bad.name = "bad", bad.conv2d_backward_data = bad_conv_backward_data;
        expect_caught(check_conv(&bad, odd, kind, 1, msg, sizeof msg), msg,
                      "conv2d_backward_data");
        bad = base, bad.name = "bad", bad.conv2d_backward_filter = bad_conv_backward_filter;
        expect_caught(check_conv(&bad, odd, kind, 1, msg, sizeof msg), msg,
                      "conv2d_backward_filter (dw)");
        bad = base, bad.name = "bad", bad.conv2d_backward_filter = bad_conv_backward_filter_db;
        expect_caught(check_conv(&bad, odd, kind, 1, msg, sizeof msg), msg,
                      "conv2d_backward_filter (db)");
        bad = base, bad.name = "bad", bad.conv2d_forward = mirrored_conv_forward;
        expect_caught(check_conv(&bad, conv1, kind, 2, msg, sizeof msg), msg, "conv2d_forward");
        bad = base, bad.name = "bad", bad.conv2d_backward_data = mirrored_conv_backward_data;
        expect_caught(check_conv(&bad, conv1, kind, 2, msg, sizeof msg), msg,
                      "conv2d_backward_data");
        bad = base, bad.name = "bad", bad.conv2d_backward_filter = mirrored_conv_backward_filter;
        expect_caught(check_conv(&bad, conv1, kind, 2, msg, sizeof msg), msg,
                      "conv2d_backward_filter");

        bad = base, bad.name = "bad", bad.gemm = bad_gemm;
        for (int t = 0; t < 4; t++)
            expect_caught(check_gemm(&bad, t & 1, t & 2, 17, 70, 3, 1, 0, 3, kind, 1, msg,
                                     sizeof msg),
                          msg, "gemm");
        bad = base, bad.name = "bad", bad.gemm = tailless_gemm;
        expect_caught(check_gemm(&bad, false, false, 3, 70, 17, 1, 0, 0, kind, 1, msg, sizeof msg),
                      msg, "gemm");
        expect_caught(check_gemm(&bad, true, true, 3, 3, 17, 2, 0.5f, 3, kind, 1, msg, sizeof msg),
                      msg, "gemm");

        bad = base, bad.name = "bad", bad.gemm = beta_reading_gemm;
        expect_caught(check_gemm(&bad, false, true, 17, 3, 70, 2, 0, 3, kind, 1, msg, sizeof msg),
                      msg, "gemm");
        bad = base, bad.name = "bad", bad.bias_act = bad_bias_act;
        expect_caught(check_bias_relu(&bad, 7, 13, kind, 1, msg, sizeof msg), msg, "bias_act");
        bad = base, bad.name = "bad", bad.bias_grad = bad_bias_grad;
        expect_caught(check_bias_relu(&bad, 7, 13, kind, 1, msg, sizeof msg), msg, "bias_grad");
        bad = base, bad.name = "bad", bad.mul = bad_mul;
        expect_caught(check_bias_relu(&bad, 7, 13, kind, 1, msg, sizeof msg), msg, "mul");
        bad = base, bad.name = "bad", bad.maxpool_backward = bad_maxpool_backward;
        expect_caught(check_maxpool(&bad, 2, 7, 9, 3, kind, 1, msg, sizeof msg), msg,
                      "maxpool_backward");

        bad = base, bad.name = "bad", bad.batchnorm_forward_train = biased_batchnorm_train;
        expect_caught(check_batchnorm(&bad, 7, 13, true, kind, 1, msg, sizeof msg), msg,
                      "batchnorm_forward_train (run_var)");
        bad = base, bad.name = "bad", bad.batchnorm_forward_infer = bad_batchnorm_infer;
        expect_caught(check_batchnorm(&bad, 7, 13, false, kind, 1, msg, sizeof msg), msg,
                      "batchnorm_forward_infer");
        bad = base, bad.name = "bad", bad.batchnorm_backward = bad_batchnorm_backward;
        expect_caught(check_batchnorm(&bad, 7, 13, false, kind, 1, msg, sizeof msg), msg,
                      "batchnorm_backward (dgamma)");
        bad = base, bad.name = "bad", bad.softmax_xent = bad_softmax_loss;
        expect_caught(check_softmax(&bad, 3, 10, 5, kind, 1, msg, sizeof msg), msg,
                      "softmax_xent (loss)");
        bad = base, bad.name = "bad", bad.softmax_xent = bad_softmax_dlogits;
        expect_caught(check_softmax(&bad, 3, 10, 5, kind, 1, msg, sizeof msg), msg,
                      "softmax_xent (dlogits)");
        bad = base, bad.name = "bad", bad.adam_update = bad_adam;
        expect_caught(check_adam(&bad, 13, kind, 1, msg, sizeof msg), msg, "adam_update (p)");
    }
    bad = base, bad.name = "bad", bad.dropout_mask = bad_dropout_mask;
    expect_caught(check_dropout_mask(&bad, 1029, 0.3f, 5, msg, sizeof msg), msg, "dropout_mask");
    /* exact-only faults, caught by the integer inputs */
    bad = base, bad.name = "bad", bad.relu_backward = leaky_relu_backward;
    expect_caught(check_bias_relu(&bad, 7, 13, FILL_INT, 1, msg, sizeof msg), msg,
                  "relu_backward");
    bad = base, bad.name = "bad", bad.maxpool_forward = last_max_pool;
    expect_caught(check_maxpool(&bad, 2, 7, 9, 3, FILL_INT, 1, msg, sizeof msg), msg,
                  "maxpool_forward (idx)");
    /* a 1-ulp difference between two runs is within the tolerance, but not deterministic */
    bad = base, bad.name = "bad", bad.gemm = flaky_gemm;
    calls = 0;
    expect_caught(check_gemm(&bad, false, false, 5, 9, 7, 1, 0, 0, FILL_RANDOM, 1, msg, sizeof msg),
                  msg, "not deterministic");
    /* and the unbroken table passes the very same checks */
    assert_true(check_conv(&base, conv1, FILL_INT, 1, msg, sizeof msg));
    assert_true(check_gemm(&base, true, true, 3, 3, 17, 2, 0.5f, 3, FILL_INT, 1, msg, sizeof msg));
    assert_true(check_maxpool(&base, 2, 7, 9, 3, FILL_INT, 1, msg, sizeof msg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_catches_broken_kernels),
        cmocka_unit_test(test_guard_pages_catch_overruns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
