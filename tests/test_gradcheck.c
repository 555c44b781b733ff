/* Finite-difference gradient checks of every backward op of the naive backend.
 *
 * Each check takes a scalar loss L = sum(out * r) for a fixed random r (so that every output
 * matters), perturbs each input element by +-h in float32, and compares the central difference
 * (L+ - L-) / (x+ - x-) (L in double; the denominator is the float step actually taken) with the
 * backward op's gradient through the parity harness. Tolerances, relative to max(|g|, rms(g)):
 * LIN_TOL for ops that are linear in the perturbed value (the difference is exact but for float
 * rounding of the outputs), NONLIN_TOL for batch norm and softmax (truncation error O(h^2)).
 * Inputs stay away from ReLU kinks (|pre-activation| > 2h) and max-pool ties (distinct values
 * spaced wider than 2h). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define LIN_TOL 1e-3
#define NONLIN_TOL 1e-2

static const scnn_backend *nb = &scnn_backend_naive;

typedef double (*loss_fn)(void *ctx);

/* fd[i] = dL/dv[i] by central differences; v is restored. */
static void fd_grad(loss_fn loss, void *ctx, float *v, size_t n, float h, float *fd)
{
    for (size_t i = 0; i < n; i++) {
        const float save = v[i];
        v[i] = save + h;
        const double xp = v[i], lp = loss(ctx);
        v[i] = save - h;
        const double xm = v[i], lm = loss(ctx);
        v[i] = save;
        fd[i] = (float)((lp - lm) / (xp - xm));
    }
}

/* tu_assert_close, and with GRADCHECK_VERBOSE set, the worst error (to see the margins). */
#define check(what, fd, an, n, tol)                                                               \
    do {                                                                                          \
        if (getenv("GRADCHECK_VERBOSE"))                                                          \
            print_message("%-40s max rel err %.2e (tolerance %.0e)\n", what,                     \
                          tu_max_rel_err(fd, an, n), tol);                                        \
        tu_assert_close(what, fd, an, n, tol);                                                    \
    } while (0)

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static double min_abs(const float *x, size_t n)
{
    double m = INFINITY;
    for (size_t i = 0; i < n; i++)
        m = fmin(m, fabs(x[i]));
    return m;
}

/* ---- convolution (with its fused bias and ReLU) -------------------------------------------- */

typedef struct conv_case {
    scnn_conv2d d;
    float *x, *w, *b, *y, *r;
    size_t nx, nw, ny;
} conv_case;

static double conv_loss(void *ctx)
{
    conv_case *t = ctx;
    nb->conv2d_forward(&t->d, t->x, t->w, t->b, t->y, NULL);
    return dot(t->y, t->r, t->ny);
}

/* Random x, w, b whose pre-activations all lie farther than margin from zero (any one
 * perturbation by h moves a pre-activation by at most h, since |x|, |w| <= 1). */
static void conv_setup(conv_case *t, scnn_conv2d d, float margin)
{
    t->d = d;
    t->nx = (size_t)d.n * d.h * d.w * d.c;
    t->nw = (size_t)d.kh * d.kw * d.c * d.k;
    t->ny = (size_t)d.n * d.p * d.q * d.k;
    t->x = tu_new_nan(t->nx), t->w = tu_new_nan(t->nw), t->b = tu_new_nan((size_t)d.k);
    t->y = tu_new_nan(t->ny), t->r = tu_new_nan(t->ny);
    scnn_conv2d lin = d;
    lin.relu = false;
    for (uint64_t seed = 1;; seed++) {
        assert_true(seed < 1000);
        tu_fill_uniform(t->x, t->nx, seed * 10);
        tu_fill_uniform(t->w, t->nw, seed * 10 + 1);
        tu_fill_uniform(t->b, (size_t)d.k, seed * 10 + 2);
        nb->conv2d_forward(&lin, t->x, t->w, t->b, t->y, NULL);
        if (!d.relu || min_abs(t->y, t->ny) > margin)
            break;
    }
    tu_fill_uniform(t->r, t->ny, 77);
}

static void conv_free(conv_case *t)
{
    free(t->x), free(t->w), free(t->b), free(t->y), free(t->r);
}

/* The analytic gradients of conv_loss: dx [nx], dw [nw], db [k]. */
static void conv_analytic(conv_case *t, float *dx, float *dw, float *db)
{
    float *dy = malloc(t->ny * sizeof *dy);
    memcpy(dy, t->r, t->ny * sizeof *dy);
    nb->conv2d_forward(&t->d, t->x, t->w, t->b, t->y, NULL);
    if (t->d.relu)
        nb->relu_backward(t->ny, t->y, dy);
    nb->conv2d_backward_data(&t->d, dy, t->w, dx, NULL);
    nb->conv2d_backward_filter(&t->d, t->x, dy, dw, db, NULL);
    free(dy);
}

static void check_conv(scnn_conv2d d)
{
    const float h = 1e-2f;
    conv_case t;
    conv_setup(&t, d, 2 * h);
    float *dx = tu_new_nan(t.nx), *dw = tu_new_nan(t.nw), *db = tu_new_nan((size_t)d.k);
    float *fx = tu_new_nan(t.nx), *fw = tu_new_nan(t.nw), *fb = tu_new_nan((size_t)d.k);
    conv_analytic(&t, dx, dw, db);
    fd_grad(conv_loss, &t, t.x, t.nx, h, fx);
    fd_grad(conv_loss, &t, t.w, t.nw, h, fw);
    fd_grad(conv_loss, &t, t.b, (size_t)d.k, h, fb);
    check("conv dx", fx, dx, t.nx, LIN_TOL);
    check("conv dw", fw, dw, t.nw, LIN_TOL);
    check("conv db", fb, db, (size_t)d.k, LIN_TOL);
    free(dx), free(dw), free(db), free(fx), free(fw), free(fb);
    conv_free(&t);
}

static void test_conv(void **state)
{
    (void)state;
    /* n, h, w, c, k, kh, kw, same, relu */
    check_conv(scnn_conv2d_make(1, 3, 3, 1, 1, 4, 4, true, false));
    check_conv(scnn_conv2d_make(3, 5, 7, 2, 3, 4, 4, true, false));
    check_conv(scnn_conv2d_make(3, 5, 7, 2, 3, 4, 4, true, true));
    check_conv(scnn_conv2d_make(3, 6, 5, 3, 2, 4, 4, false, false));
    check_conv(scnn_conv2d_make(1, 7, 5, 1, 4, 3, 2, true, true));
    check_conv(scnn_conv2d_make(1, 6, 6, 2, 5, 4, 4, false, true));
    check_conv(scnn_conv2d_make(3, 4, 4, 5, 1, 1, 1, false, false));
}

/* The check has teeth: a backward pass with the padding mirrored (a plausible bug) fails. */
static void test_conv_detects_wrong_padding(void **state)
{
    (void)state;
    const float h = 1e-2f;
    conv_case t;
    conv_setup(&t, scnn_conv2d_make(2, 5, 5, 2, 3, 4, 4, true, false), 2 * h);
    float *dx = tu_new_nan(t.nx), *dw = tu_new_nan(t.nw), *db = tu_new_nan((size_t)t.d.k);
    float *fx = tu_new_nan(t.nx), *fw = tu_new_nan(t.nw);
    fd_grad(conv_loss, &t, t.x, t.nx, h, fx);
    fd_grad(conv_loss, &t, t.w, t.nw, h, fw);
    scnn_conv2d wrong = t.d;
    wrong.pad_top = t.d.pad_bottom, wrong.pad_bottom = t.d.pad_top;
    wrong.pad_left = t.d.pad_right, wrong.pad_right = t.d.pad_left;
    nb->conv2d_backward_data(&wrong, t.r, t.w, dx, NULL);
    nb->conv2d_backward_filter(&wrong, t.x, t.r, dw, db, NULL);
    assert_false(tu_check_close("mirrored dx", fx, dx, t.nx, NONLIN_TOL, NULL, 0));
    assert_false(tu_check_close("mirrored dw", fw, dw, t.nw, NONLIN_TOL, NULL, 0));
    /* and one gradient element off by 2% is caught */
    nb->conv2d_backward_data(&t.d, t.r, t.w, dx, NULL);
    tu_assert_close("dx", fx, dx, t.nx, LIN_TOL);
    const float scale = (float)fmax(fabs(dx[7]), sqrt(dot(dx, dx, t.nx) / (double)t.nx));
    dx[7] += 0.02f * scale;
    assert_false(tu_check_close("dx off by 2%", fx, dx, t.nx, NONLIN_TOL, NULL, 0));
    free(dx), free(dw), free(db), free(fx), free(fw);
    conv_free(&t);
}

/* ---- dense layer: gemm + bias_act, backward by gemm and bias_grad --------------------------- */

typedef struct dense_case {
    int m, in, out;
    bool relu;
    float *x, *w, *b, *y, *r;
} dense_case;

/* x [m,in] * w [in,out] + b [out] -> y [m,out] */
static double dense_loss(void *ctx)
{
    dense_case *t = ctx;
    nb->gemm(false, false, t->m, t->out, t->in, 1, t->x, t->in, t->w, t->out, 0, t->y, t->out);
    nb->bias_act(t->m, t->out, t->y, t->b, t->relu);
    return dot(t->y, t->r, (size_t)t->m * t->out);
}

static void check_dense(int m, int in, int out, bool relu)
{
    const float h = 1e-2f;
    const size_t nx = (size_t)m * in, nw = (size_t)in * out, ny = (size_t)m * out;
    dense_case t = {m, in, out, false, tu_new_nan(nx), tu_new_nan(nw), tu_new_nan(out),
                    tu_new_nan(ny), tu_new_uniform(ny, 55)};
    for (uint64_t seed = 1;; seed++) {
        assert_true(seed < 1000);
        tu_fill_uniform(t.x, nx, seed * 10);
        tu_fill_uniform(t.w, nw, seed * 10 + 1);
        tu_fill_uniform(t.b, (size_t)out, seed * 10 + 2);
        dense_loss(&t);
        if (!relu || min_abs(t.y, ny) > 2 * h)
            break;
    }
    t.relu = relu;
    float *dy = malloc(ny * sizeof *dy);
    memcpy(dy, t.r, ny * sizeof *dy);
    dense_loss(&t);
    if (relu)
        nb->relu_backward(ny, t.y, dy);
    float *dx = tu_new_nan(nx), *dw = tu_new_nan(nw), *db = tu_new_nan(out);
    nb->gemm(false, true, m, in, out, 1, dy, out, t.w, out, 0, dx, in);    /* dy * w^T */
    nb->gemm(true, false, in, out, m, 1, t.x, in, dy, out, 0, dw, out);    /* x^T * dy */
    nb->bias_grad(m, out, dy, db);
    float *fx = tu_new_nan(nx), *fw = tu_new_nan(nw), *fb = tu_new_nan(out);
    fd_grad(dense_loss, &t, t.x, nx, h, fx);
    fd_grad(dense_loss, &t, t.w, nw, h, fw);
    fd_grad(dense_loss, &t, t.b, (size_t)out, h, fb);
    check("dense dx", fx, dx, nx, LIN_TOL);
    check("dense dw", fw, dw, nw, LIN_TOL);
    check("dense db", fb, db, (size_t)out, LIN_TOL);
    free(dy), free(dx), free(dw), free(db), free(fx), free(fw), free(fb);
    free(t.x), free(t.w), free(t.b), free(t.y), free(t.r);
}

static void test_dense(void **state)
{
    (void)state;
    check_dense(3, 7, 5, false);
    check_dense(3, 7, 5, true);
    check_dense(1, 4, 1, true);
    check_dense(4, 70, 3, true);
}

/* ---- max pooling ----------------------------------------------------------------------------- */

typedef struct pool_case {
    int n, h, w, c;
    float *x, *y, *r;
    uint8_t *idx;
} pool_case;

static double pool_loss(void *ctx)
{
    pool_case *t = ctx;
    nb->maxpool_forward(t->n, t->h, t->w, t->c, t->x, t->y, t->idx);
    return dot(t->y, t->r, (size_t)t->n * (t->h / 2) * (t->w / 2) * t->c);
}

static void check_pool(int n, int h, int w, int c)
{
    const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
    pool_case t = {n, h, w, c, tu_new_nan(nx), tu_new_nan(ny), tu_new_uniform(ny, 9),
                   malloc(ny ? ny : 1)};
    /* distinct values 0.01 apart, in a seeded random order */
    for (size_t i = 0; i < nx; i++)
        t.x[i] = (float)i;
    for (size_t i = nx - 1; i > 0; i--) {
        size_t j = tu_rand_u64(31, i) % (i + 1);
        float s = t.x[i];
        t.x[i] = t.x[j], t.x[j] = s;
    }
    for (size_t i = 0; i < nx; i++)
        t.x[i] = (t.x[i] - (float)nx / 2) * 0.01f;
    pool_loss(&t);
    float *dx = tu_new_nan(nx), *fx = tu_new_nan(nx);
    nb->maxpool_backward(n, h, w, c, t.r, t.idx, dx);
    fd_grad(pool_loss, &t, t.x, nx, 1e-3f, fx);
    check("maxpool dx", fx, dx, nx, LIN_TOL);
    /* a dropped odd last row/column gets exactly zero */
    for (int b = 0; b < n; b++)
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++)
                if (yy >= h / 2 * 2 || xx >= w / 2 * 2)
                    for (int ch = 0; ch < c; ch++)
                        assert_true(dx[(((size_t)b * h + yy) * w + xx) * c + ch] == 0.0f);
    free(dx), free(fx), free(t.x), free(t.y), free(t.r), free(t.idx);
}

static void test_maxpool(void **state)
{
    (void)state;
    check_pool(2, 5, 7, 3);
    check_pool(1, 4, 6, 2);
    check_pool(3, 3, 3, 1);
}

/* ---- batch norm (training mode) -------------------------------------------------------------- */

typedef struct bn_case {
    int m, c;
    float *x, *gamma, *beta, *y, *r, *mean, *invstd, *rm, *rv;
} bn_case;

static double bn_loss(void *ctx)
{
    bn_case *t = ctx;
    nb->batchnorm_forward_train(t->m, t->c, t->x, t->gamma, t->beta, 1e-3f, 0.99f, true, t->y,
                                t->mean, t->invstd, t->rm, t->rv);
    return dot(t->y, t->r, (size_t)t->m * t->c);
}

static void check_bn(int m, int c)
{
    const float h = 1e-3f; /* curvature is high when a channel's values are close together */
    const size_t n = (size_t)m * c;
    bn_case t = {m, c, tu_new_uniform(n, 3), tu_new_uniform(c, 4), tu_new_uniform(c, 5),
                 tu_new_nan(n), tu_new_uniform(n, 6), tu_new_nan(c), tu_new_nan(c),
                 tu_new_uniform(c, 7), tu_new_uniform(c, 8)};
    for (int i = 0; i < c; i++)
        t.gamma[i] = 1 + 0.5f * t.gamma[i]; /* in [0.5, 1.5] */
    bn_loss(&t);
    float *dx = tu_new_nan(n), *dg = tu_new_nan(c), *dbeta = tu_new_nan(c);
    nb->batchnorm_backward(m, c, t.x, t.r, t.gamma, t.mean, t.invstd, dx, dg, dbeta);
    float *fx = tu_new_nan(n), *fg = tu_new_nan(c), *fbeta = tu_new_nan(c);
    fd_grad(bn_loss, &t, t.x, n, h, fx);
    fd_grad(bn_loss, &t, t.gamma, (size_t)c, h, fg);
    fd_grad(bn_loss, &t, t.beta, (size_t)c, h, fbeta);
    check("batchnorm dx", fx, dx, n, NONLIN_TOL);
    check("batchnorm dgamma", fg, dg, (size_t)c, NONLIN_TOL);
    check("batchnorm dbeta", fbeta, dbeta, (size_t)c, NONLIN_TOL);
    free(dx), free(dg), free(dbeta), free(fx), free(fg), free(fbeta);
    free(t.x), free(t.gamma), free(t.beta), free(t.y), free(t.r), free(t.mean), free(t.invstd);
    free(t.rm), free(t.rv);
}

static void test_batchnorm(void **state)
{
    (void)state;
    check_bn(6, 3);
    check_bn(40, 1);
    check_bn(4, 5);
    check_bn(2, 2);
}

/* ---- dropout's mul --------------------------------------------------------------------------- */

typedef struct mul_case {
    size_t n;
    float *x, *mask, *y, *r;
} mul_case;

static double mul_loss(void *ctx)
{
    mul_case *t = ctx;
    nb->mul(t->n, t->x, t->mask, t->y);
    return dot(t->y, t->r, t->n);
}

static void test_mul(void **state)
{
    (void)state;
    enum { N = 50 };
    mul_case t = {N, tu_new_uniform(N, 1), tu_new_uniform(N, 2), tu_new_nan(N),
                  tu_new_uniform(N, 3)};
    for (int i = 0; i < N; i++)
        t.mask[i] = t.mask[i] < 0.4f ? 1 / (1 - 0.3f) : 0; /* keep 70% */
    float *dx = tu_new_nan(N), *fx = tu_new_nan(N);
    nb->mul(N, t.r, t.mask, dx);
    fd_grad(mul_loss, &t, t.x, N, 1e-2f, fx);
    check("mul dx", fx, dx, N, LIN_TOL);
    free(dx), free(fx), free(t.x), free(t.mask), free(t.y), free(t.r);
}

/* ---- softmax cross-entropy ------------------------------------------------------------------- */

typedef struct xent_case {
    int n, classes;
    float *logits, *probs;
    uint8_t *labels;
} xent_case;

/* The unclipped mean cross-entropy, computed here in double. */
static double xent_exact(void *ctx)
{
    xent_case *t = ctx;
    double loss = 0;
    for (int r = 0; r < t->n; r++) {
        const float *l = t->logits + (size_t)r * t->classes;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < t->classes; j++)
            mx = fmax(mx, l[j]);
        for (int j = 0; j < t->classes; j++)
            s += exp((double)l[j] - mx);
        loss += log(s) + mx - l[t->labels[r]];
    }
    return loss / t->n;
}

/* The loss the backend reports (float). */
static double xent_reported(void *ctx)
{
    xent_case *t = ctx;
    return nb->softmax_xent(t->n, t->classes, t->logits, t->labels, t->probs, NULL);
}

static void test_softmax_xent(void **state)
{
    (void)state;
    enum { N = 4, C = 10 };
    xent_case t = {N, C, tu_new_uniform(N * C, 21), tu_new_nan(N * C), malloc(N)};
    for (int i = 0; i < N * C; i++)
        t.logits[i] *= 2; /* probabilities stay within [2e-4, 0.9], far from the clip */
    for (int r = 0; r < N; r++)
        t.labels[r] = (uint8_t)(tu_rand_u64(22, r) % C);
    float *dl = tu_new_nan(N * C), *f1 = tu_new_nan(N * C), *f2 = tu_new_nan(N * C);
    const float loss = nb->softmax_xent(N, C, t.logits, t.labels, t.probs, dl);
    assert_float_equal(loss, xent_exact(&t), 1e-6 * xent_exact(&t));
    for (int i = 0; i < N * C; i++)
        assert_true(t.probs[i] > 1e-6f && t.probs[i] < 1 - 1e-6f);
    fd_grad(xent_exact, &t, t.logits, N * C, 1e-2f, f1);
    fd_grad(xent_reported, &t, t.logits, N * C, 1e-2f, f2);
    check("softmax_xent dlogits vs exact loss", f1, dl, N * C, NONLIN_TOL);
    check("softmax_xent dlogits vs reported loss", f2, dl, N * C, NONLIN_TOL);
    free(dl), free(f1), free(f2), free(t.logits), free(t.probs), free(t.labels);
}

/* ---- Adam ------------------------------------------------------------------------------------ */

/* One step by hand, in double from the same float constants. */
static void adam_by_hand(int n, const float *p, const float *g, const float *m, const float *v,
                         double lr_t, float b1, float b2, float eps, float *wp, float *wm,
                         float *wv)
{
    for (int i = 0; i < n; i++) {
        const double mi = (double)b1 * m[i] + (1 - (double)b1) * g[i];
        const double vi = (double)b2 * v[i] + (1 - (double)b2) * g[i] * (double)g[i];
        wm[i] = (float)mi;
        wv[i] = (float)vi;
        wp[i] = (float)(p[i] - lr_t * mi / (sqrt(vi) + eps));
    }
}

static void test_adam(void **state)
{
    (void)state;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    float p[4] = {1, -2, 0.5f, 3}, g[4] = {0.5f, -0.25f, 0, 4}, m[4] = {0}, v[4] = {0};
    float wp[4], wm[4], wv[4];

    /* step 1 from zero moments: lr_t = lr*sqrt(1-b2)/(1-b1) makes the step lr*sign(g) */
    const float lr_t1 = (float)(1e-3 * sqrt(1 - 0.999) / (1 - 0.9));
    adam_by_hand(4, p, g, m, v, lr_t1, b1, b2, eps, wp, wm, wv);
    nb->adam_update(4, p, g, m, v, lr_t1, b1, b2, eps);
    tu_assert_close("adam p, step 1", p, wp, 4, 1e-6);
    tu_assert_close("adam m, step 1", m, wm, 4, 1e-6);
    tu_assert_close("adam v, step 1", v, wv, 4, 1e-6);
    const float sign_step[4] = {1 - 1e-3f, -2 + 1e-3f, 0.5f, 3 - 1e-3f};
    tu_assert_close("adam p, step 1 = lr*sign(g)", p, sign_step, 4, 1e-6);
    assert_true(p[2] == 0.5f && m[2] == 0 && v[2] == 0); /* g = 0: nothing moves */
    assert_float_equal(m[3], 0.4f, 1e-6);
    assert_float_equal(v[3], 0.016f, 1e-6);

    /* step 2: the moments carry over; m[0] = 0.9*0.05 + 0.1*(-0.5) = -0.005 changes sign */
    const float g2[4] = {-0.5f, 1, 2, 4};
    const double lr_t2 = 1e-3 * sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
    adam_by_hand(4, p, g2, m, v, (float)lr_t2, b1, b2, eps, wp, wm, wv);
    nb->adam_update(4, p, g2, m, v, (float)lr_t2, b1, b2, eps);
    assert_float_equal(m[0], -0.005f, 1e-8);
    tu_assert_close("adam p, step 2", p, wp, 4, 1e-6);
    tu_assert_close("adam m, step 2", m, wm, 4, 1e-6);
    tu_assert_close("adam v, step 2", v, wv, 4, 1e-6);

    /* a gradient so small that eps dominates: eps is added after the square root
     * (inside it, the step would be 40x smaller) */
    float p0 = 0, g0 = 1e-6f, m0 = 0, v0 = 0, wp0, wm0, wv0;
    adam_by_hand(1, &p0, &g0, &m0, &v0, lr_t1, b1, b2, eps, &wp0, &wm0, &wv0);
    nb->adam_update(1, &p0, &g0, &m0, &v0, lr_t1, b1, b2, eps);
    tu_assert_close("adam p, tiny gradient", &p0, &wp0, 1, 1e-6);
    assert_float_equal(p0, -0.76 * lr_t1, 0.01 * lr_t1); /* 1e-7 / (3.16e-8 + 1e-7) = 0.76 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_detects_wrong_padding),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_mul),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_adam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
