/* Every registered backend against naive, op by op, on the model's shapes and on awkward ones,
 * then end to end: 30 training steps on real Fashion-MNIST (4 under the sanitizers) must give
 * naive's losses.
 *
 * Covers whatever the registry holds (scnn_backend_at), skipping what this CPU/build cannot run,
 * with the table resolved as the model resolves it (NULL ops fall back to naive). Each check runs
 * twice on its inputs: with small integers (float32 sums are exact, so convolution, gemm, bias,
 * ReLU, pooling and mul must match naive EXACTLY; batchnorm, softmax and Adam use the tolerance)
 * and with uniform random numbers (tolerance 1e-4); the dropout mask must have naive's bits.
 * Every output starts as NaN (an op must overwrite it), and every op runs a second time over
 * other garbage (and a scrambled workspace sized for a bigger batch) and must give the same
 * bits. A failure names the backend, the op and the shape; all the checks of a test run, so a
 * report lists every failing case. The harness is itself tested: each check must fail on a
 * deliberately broken copy of a backend. */
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scnn.h"

#define TOL 1e-4
#define MSG 768

enum fill { FILL_INT, FILL_RANDOM };
static const char *const fill_name[] = {"int", "random"};

static bool sanitized(void)
{
    const char *s = getenv("SANITIZE");
    return s && strcmp(s, "1") == 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* Every array a kernel reads or writes ends against a PROT_NONE page, at the alignment
 * include/backend.h promises (a float's), so that one element past the end faults. */
static void *xalloc(size_t bytes)
{
    return tu_guarded(bytes, sizeof(float));
}

static float *floats(size_t n)
{
    return xalloc(n * sizeof(float));
}

static void fill_value(float *x, size_t n, float v)
{
    for (size_t i = 0; i < n; i++)
        x[i] = v;
}

static float *new_nan(size_t n)
{
    float *x = floats(n);
    fill_value(x, n, NAN);
    return x;
}

/* ints in [lo,hi], or uniform in [lo,hi] */
static float *new_fill(size_t n, uint64_t seed, enum fill kind, int lo, int hi)
{
    float *x = floats(n);
    if (kind == FILL_INT) {
        tu_fill_int(x, n, seed, lo, hi);
    } else {
        tu_fill_uniform(x, n, seed);
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * ((float)(hi - lo) * x[i] + (float)(hi + lo));
    }
    return x;
}

static float *dup(const float *x, size_t n)
{
    float *y = floats(n);
    memcpy(y, x, n * sizeof *y);
    return y;
}

/* A conv workspace of exactly the asked size, 64-byte aligned as include/backend.h promises,
 * against a PROT_NONE page (as close as the alignment allows), or NULL for 0. */
static void *new_ws(size_t bytes)
{
    if (!bytes)
        return NULL;
    void *p = tu_guarded(bytes, 64);
    memset(p, 0x5a, bytes);
    return p;
}

/* The state of one check: which backend, op and shape, and the first failure. */
typedef struct check {
    const scnn_backend *b; /* resolved */
    char shape[160];
    double tol;
    bool ok;
    char *msg;
    size_t len;
} check;

static void check_init(check *cx, const scnn_backend *b, enum fill kind, bool exact, char *msg,
                       size_t len)
{
    cx->b = b;
    cx->shape[0] = 0;
    cx->tol = kind == FILL_INT && exact ? 0 : TOL;
    cx->ok = true;
    cx->msg = msg;
    cx->len = len;
    if (msg && len)
        msg[0] = 0;
}

/* got vs naive's ref for op; records the first failure */
static bool close_to(check *cx, const char *op, const float *got, const float *ref, size_t n)
{
    if (!cx->ok)
        return false;
    char what[320];
    snprintf(what, sizeof what, "backend %s, %s, %s", cx->b->name, op, cx->shape);
    char buf[MSG];
    if (!tu_check_close(what, got, ref, n, cx->tol, buf, sizeof buf)) {
        cx->ok = false;
        snprintf(cx->msg, cx->len, "%s", buf);
    }
    return cx->ok;
}

/* got must have ref's bits; `how` says what differing means */
static bool bits_equal(check *cx, const char *op, const void *got, const void *ref, size_t bytes,
                       const char *how)
{
    if (!cx->ok)
        return false;
    if (memcmp(got, ref, bytes) != 0) {
        const uint8_t *g = got, *r = ref;
        size_t i = 0;
        while (g[i] == r[i])
            i++;
        cx->ok = false;
        snprintf(cx->msg, cx->len, "backend %s, %s, %s: %s at byte %zu of %zu", cx->b->name, op,
                 cx->shape, how, i, bytes);
    }
    return cx->ok;
}

/* the second run of op must give the first run's bits */
static bool same_bits(check *cx, const char *op, const void *second, const void *first,
                      size_t bytes)
{
    return bits_equal(cx, op, second, first, bytes, "not deterministic: a second run differs");
}

static bool equal_bytes(check *cx, const char *op, const uint8_t *got, const uint8_t *ref,
                        size_t n)
{
    if (!cx->ok)
        return false;
    for (size_t i = 0; i < n; i++)
        if (got[i] != ref[i]) {
            cx->ok = false;
            snprintf(cx->msg, cx->len, "backend %s, %s, %s: differs at [%zu]: got %d, ref %d",
                     cx->b->name, op, cx->shape, i, got[i], ref[i]);
            break;
        }
    return cx->ok;
}

/* The backends under test: every registered one that can run here, naive excluded, resolved. */
static int backends(scnn_backend out[8])
{
    int n = 0;
    for (int i = 0; i < scnn_backend_count() && n < 8; i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        if (b == &scnn_backend_naive)
            continue;
        if (!scnn_backend_available(b, &why)) {
            print_message("[ skipped  ] backend %s: %s\n", b->name, why);
            continue;
        }
        out[n++] = scnn_backend_resolve(b);
    }
    return n;
}

/* Collects failures across a whole test, so that one report lists every failing case. */
static int failures;

static void report(bool ok, const char *msg)
{
    if (!ok) {
        print_error("FAIL: %s\n", msg);
        failures++;
    }
}

static void finish(const char *what)
{
    int f = failures;
    failures = 0;
    if (f)
        fail_msg("%d %s check(s) failed (listed above)", f, what);
}

static const scnn_backend *naive = &scnn_backend_naive;

/* ---- convolution --------------------------------------------------------------------------- */

static void conv_shape(char *buf, size_t len, const scnn_conv2d *d, enum fill kind)
{
    snprintf(buf, len, "conv mb%dih%diw%dic%d_oc%dkh%dkw%d_pt%dpl%dpb%dpr%d%s (%s inputs)", d->n,
             d->h, d->w, d->c, d->k, d->kh, d->kw, d->pad_top, d->pad_left, d->pad_bottom,
             d->pad_right, d->relu ? "_relu" : "", fill_name[kind]);
}

/* forward (ReLU off and on), backward-data, backward-filter (with and without db) */
static bool check_conv(const scnn_backend *b, scnn_conv2d d, enum fill kind, uint64_t seed,
                       char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.p * d.q * d.k;
    const size_t nw = (size_t)d.kh * d.kw * d.c * d.k, nk = (size_t)d.k;
    float *x = new_fill(nx, seed, kind, -3, 3), *w = new_fill(nw, seed + 1, kind, -3, 3);
    float *bias = new_fill(nk, seed + 2, kind, -20, 20), *dy = new_fill(ny, seed + 3, kind, -3, 3);
    float *ry = floats(ny), *rdx = floats(nx), *rdw = floats(nw), *rdb = floats(nk);
    float *y = floats(ny), *dx = floats(nx), *dw = floats(nw), *db = floats(nk);
    float *y2 = floats(ny), *dx2 = floats(nx), *dw2 = floats(nw), *db2 = floats(nk);
    void *rws = new_ws(naive->conv2d_workspace(&d));
    void *ws = new_ws(b->conv2d_workspace(&d));
    /* the second runs get a workspace sized for a bigger batch, as the model's (sized once for
     * its largest batch), full of garbage */
    scnn_conv2d big = d;
    big.n += 2;
    const size_t wsb2 = b->conv2d_workspace(&big);
    void *ws2 = new_ws(wsb2);

    for (int relu = 0; relu < 2 && cx.ok; relu++) {
        d.relu = relu;
        conv_shape(cx.shape, sizeof cx.shape, &d, kind);
        naive->conv2d_forward(&d, x, w, bias, ry, rws);
        fill_value(y, ny, NAN);
        b->conv2d_forward(&d, x, w, bias, y, ws);
        close_to(&cx, "conv2d_forward", y, ry, ny);
        fill_value(y2, ny, -1e30f);
        if (ws2)
            memset(ws2, 0xff, wsb2);
        b->conv2d_forward(&d, x, w, bias, y2, ws2);
        same_bits(&cx, "conv2d_forward", y2, y, ny * sizeof *y);
    }
    d.relu = false;
    conv_shape(cx.shape, sizeof cx.shape, &d, kind);

    naive->conv2d_backward_data(&d, dy, w, rdx, rws);
    fill_value(dx, nx, NAN);
    b->conv2d_backward_data(&d, dy, w, dx, ws);
    close_to(&cx, "conv2d_backward_data", dx, rdx, nx);
    fill_value(dx2, nx, -1e30f);
    if (ws2)
        memset(ws2, 0xff, wsb2);
    b->conv2d_backward_data(&d, dy, w, dx2, ws2);
    same_bits(&cx, "conv2d_backward_data", dx2, dx, nx * sizeof *dx);

    naive->conv2d_backward_filter(&d, x, dy, rdw, rdb, rws);
    fill_value(dw, nw, NAN);
    fill_value(db, nk, NAN);
    b->conv2d_backward_filter(&d, x, dy, dw, db, ws);
    close_to(&cx, "conv2d_backward_filter (dw)", dw, rdw, nw);
    close_to(&cx, "conv2d_backward_filter (db)", db, rdb, nk);
    fill_value(dw2, nw, -1e30f);
    fill_value(db2, nk, -1e30f);
    if (ws2)
        memset(ws2, 0xff, wsb2);
    b->conv2d_backward_filter(&d, x, dy, dw2, db2, ws2);
    same_bits(&cx, "conv2d_backward_filter (dw)", dw2, dw, nw * sizeof *dw);
    same_bits(&cx, "conv2d_backward_filter (db)", db2, db, nk * sizeof *db);
    fill_value(dw2, nw, NAN);
    b->conv2d_backward_filter(&d, x, dy, dw2, NULL, ws);
    close_to(&cx, "conv2d_backward_filter (db NULL)", dw2, rdw, nw);

    tu_free(x), tu_free(w), tu_free(bias), tu_free(dy), tu_free(ry), tu_free(rdx), tu_free(rdw), tu_free(rdb);
    tu_free(y), tu_free(dx), tu_free(dw), tu_free(db), tu_free(y2), tu_free(dx2), tu_free(dw2), tu_free(db2);
    tu_free(rws), tu_free(ws), tu_free(ws2);
    return cx.ok;
}

/* The model's two layers at batch 1 and 3, then awkward channel counts, sizes, kernels and
 * padding (explicit asymmetric pads too); ReLU on and off is inside check_conv. */
static scnn_conv2d conv_case(int i)
{
    switch (i) {
    case 0: return scnn_conv2d_make(1, 28, 28, 1, 64, 4, 4, true, true);
    case 1: return scnn_conv2d_make(3, 28, 28, 1, 64, 4, 4, true, true);
    case 2: return scnn_conv2d_make(1, 14, 14, 64, 64, 4, 4, false, true);
    case 3: return scnn_conv2d_make(3, 14, 14, 64, 64, 4, 4, false, true);
    case 4: return scnn_conv2d_make(2, 7, 9, 3, 5, 3, 3, true, false);
    case 5: return scnn_conv2d_make(2, 7, 9, 3, 5, 3, 3, false, false);
    case 6: return scnn_conv2d_make(3, 7, 9, 3, 70, 5, 2, true, false);
    case 7: return scnn_conv2d_make(1, 9, 7, 13, 70, 5, 2, false, false);
    case 8: return scnn_conv2d_make(2, 6, 5, 5, 7, 1, 1, true, false);
    case 9: return scnn_conv2d_make(2, 7, 9, 10, 13, 3, 3, false, false);
    case 10: return scnn_conv2d_make(1, 6, 7, 65, 9, 5, 2, false, false);
    case 11: return scnn_conv2d_make(3, 2, 5, 2, 3, 4, 3, true, false); /* kernel > input */
    case 12: return tu_conv_pads(2, 5, 6, 3, 70, 3, 4, 2, 0, 0, 3, false);
    case 13: return tu_conv_pads(2, 5, 6, 3, 70, 3, 4, 0, 2, 3, 1, false);
    case 14: return tu_conv_pads(1, 4, 3, 5, 7, 2, 2, 1, 1, 1, 1, false);
    case 15: return scnn_conv2d_make(2, 9, 11, 64, 17, 5, 5, true, false);
    case 16: return scnn_conv2d_make(1, 1, 1, 3, 5, 1, 1, false, false);
    /* backward-filter: several images per chunk, several bands per image (k not a multiple
     * of 16, c > 1), a shorter last band; backward-data: several groups of images */
    case 17: return scnn_conv2d_make(20, 31, 30, 5, 20, 3, 3, true, false);
    case 18: /* pads wider than the kernel */
        return tu_conv_pads(2, 5, 6, 3, 7, 2, 2, 3, 3, 1, 2, false);
    case 19: return scnn_conv2d_make(2, 5, 5, 113, 1, 3, 3, false, false); /* a sum tail */
    case 20: return scnn_conv2d_make(0, 5, 6, 3, 7, 3, 3, true, false);    /* an empty batch */
    }
    return (scnn_conv2d){0};
}
#define N_CONV_CASES 21

static void test_conv_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = backends(bs);
    char msg[MSG];
    for (int bi = 0; bi < nb; bi++)
        for (int i = 0; i < N_CONV_CASES; i++)
            for (int kind = 0; kind < 2; kind++)
                report(check_conv(&bs[bi], conv_case(i), kind, 100 + i, msg, sizeof msg), msg);
    finish("convolution");
}

/* ---- gemm ---------------------------------------------------------------------------------- */

/* c [m,n] = alpha op(a) op(b) + beta c with leading dimensions `gap` wider than needed; the gaps
 * hold NaN, which must be neither read (a, b) nor written (c); beta == 0 starts c as NaN. */
static bool check_gemm(const scnn_backend *b, bool ta, bool tb, int m, int n, int kk, float alpha,
                       float beta, int gap, enum fill kind, uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    snprintf(cx.shape, sizeof cx.shape,
             "gemm %s%s m%d n%d k%d alpha %g beta %g lda/ldb/ldc +%d (%s inputs)", ta ? "T" : "N",
             tb ? "T" : "N", m, n, kk, (double)alpha, (double)beta, gap, fill_name[kind]);
    const int arows = ta ? kk : m, acols = ta ? m : kk, lda = acols + gap;
    const int brows = tb ? n : kk, bcols = tb ? kk : n, ldb = bcols + gap;
    const int ldc = n + gap;
    /* the last row of each matrix ends at its last column (include/backend.h) */
    const size_t na = (size_t)(arows - 1) * lda + acols, nbn = (size_t)(brows - 1) * ldb + bcols;
    const size_t nc = (size_t)(m - 1) * ldc + n;
    float *a = new_nan(na), *bm = new_nan(nbn), *c0 = new_nan(nc);
    for (int i = 0; i < arows; i++) {
        float *t = new_fill((size_t)acols, seed * 1000 + i, kind, -4, 4);
        memcpy(a + (size_t)i * lda, t, sizeof *t * acols);
        tu_free(t);
    }
    for (int i = 0; i < brows; i++) {
        float *t = new_fill((size_t)bcols, seed * 1000 + 500 + i, kind, -4, 4);
        memcpy(bm + (size_t)i * ldb, t, sizeof *t * bcols);
        tu_free(t);
    }
    if (beta != 0.0f)
        for (int i = 0; i < m; i++) {
            float *t = new_fill((size_t)n, seed * 1000 + 900 + i, kind, -9, 9);
            memcpy(c0 + (size_t)i * ldc, t, sizeof *t * n);
            tu_free(t);
        }
    float *rc = dup(c0, nc), *gc = dup(c0, nc), *gc2 = dup(c0, nc);
    naive->gemm(ta, tb, m, n, kk, alpha, a, lda, bm, ldb, beta, rc, ldc);
    b->gemm(ta, tb, m, n, kk, alpha, a, lda, bm, ldb, beta, gc, ldc);
    /* the valid part, packed, then the gaps of c bit for bit */
    float *rv = floats((size_t)m * n), *gv = floats((size_t)m * n);
    for (int i = 0; i < m; i++) {
        memcpy(rv + (size_t)i * n, rc + (size_t)i * ldc, sizeof *rv * n);
        memcpy(gv + (size_t)i * n, gc + (size_t)i * ldc, sizeof *gv * n);
    }
    close_to(&cx, "gemm", gv, rv, (size_t)m * n);
    for (int i = 0; i + 1 < m && cx.ok; i++)
        if (memcmp(gc + (size_t)i * ldc + n, c0 + (size_t)i * ldc + n, sizeof *gc * gap) != 0) {
            cx.ok = false;
            snprintf(msg, len, "backend %s, gemm, %s: wrote c outside its n columns (row %d)",
                     b->name, cx.shape, i);
        }
    if (beta == 0.0f)
        fill_value(gc2, nc, -1e30f); /* other garbage: beta == 0 must not read it */
    b->gemm(ta, tb, m, n, kk, alpha, a, lda, bm, ldb, beta, gc2, ldc);
    for (int i = 0; i < m; i++)
        memcpy(rv + (size_t)i * n, gc2 + (size_t)i * ldc, sizeof *rv * n);
    same_bits(&cx, "gemm", rv, gv, sizeof *gv * m * n);
    tu_free(a), tu_free(bm), tu_free(c0), tu_free(rc), tu_free(gc), tu_free(gc2), tu_free(rv), tu_free(gv);
    return cx.ok;
}

static void test_gemm_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = backends(bs);
    char msg[MSG];
    static const int dims[] = {1, 3, 17, 70};
    static const float ab[][2] = {{1, 0}, {2, 0}, {1, 1}, {-2, 0.5f}};
    for (int bi = 0; bi < nb; bi++) {
        const scnn_backend *b = &bs[bi];
        uint64_t seed = 1;
        for (int t = 0; t < 4; t++)
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++)
                    for (int ki = 0; ki < 4; ki++, seed++) {
                        const int s = (int)(seed % 4), gap = seed % 3 ? 3 : 0;
                        for (int kind = 0; kind < 2; kind++)
                            report(check_gemm(b, t & 1, t & 2, dims[mi], dims[ni], dims[ki],
                                              ab[s][0], ab[s][1], gap, kind, seed, msg,
                                              sizeof msg),
                                   msg);
                    }
        /* larger than the blocking of a fast kernel in every direction, every transpose */
        for (int t = 0; t < 4; t++)
            for (int kind = 0; kind < 2; kind++) {
                report(check_gemm(b, t & 1, t & 2, 131, 150, 600, 1, 0, 5, kind, 7, msg,
                                  sizeof msg),
                       msg);
                report(check_gemm(b, t & 1, t & 2, 260, 9, 300, 2, 0.5f, 0, kind, 8, msg,
                                  sizeof msg),
                       msg);
            }
    }
    finish("gemm");
}

/* The model's dense products at batch 3 (forward, then dW = a^T dy and dx = dy W^T), with its
 * leading dimensions. */
static void test_gemm_model_shapes(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = backends(bs);
    char msg[MSG];
    static const int layers[3][2] = {{1600, 256}, {256, 64}, {64, 10}};
    const int n = 3;
    for (int bi = 0; bi < nb; bi++)
        for (int l = 0; l < 3; l++)
            for (int kind = 0; kind < 2; kind++) {
                const int in = layers[l][0], out = layers[l][1];
                const scnn_backend *b = &bs[bi];
                report(check_gemm(b, false, false, n, out, in, 1, 0, 0, kind, 20 + l, msg,
                                  sizeof msg),
                       msg);
                report(check_gemm(b, true, false, in, out, n, 1, 0, 0, kind, 30 + l, msg,
                                  sizeof msg),
                       msg);
                report(check_gemm(b, false, true, n, in, out, 1, 0, 0, kind, 40 + l, msg,
                                  sizeof msg),
                       msg);
            }
    finish("dense gemm");
}

/* ---- element-wise, pooling ----------------------------------------------------------------- */

static bool check_bias_relu(const scnn_backend *b, int rows, int cols, enum fill kind,
                            uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    const size_t n = (size_t)rows * cols;
    float *y0 = new_fill(n, seed, kind, -9, 9), *bias = new_fill((size_t)cols, seed + 1, kind, -5, 5);
    /* ReLU outputs with exact zeros (y <= 0 is masked, y > 0 passes) */
    float *yr = new_fill(n, seed + 2, kind, -2, 2), *dy0 = new_fill(n, seed + 3, kind, -9, 9);
    for (size_t i = 0; i < n; i++)
        yr[i] = yr[i] < 0 ? 0.0f : yr[i];
    for (int relu = 0; relu < 2; relu++) {
        snprintf(cx.shape, sizeof cx.shape, "rows %d cols %d%s (%s inputs)", rows, cols,
                 relu ? " relu" : "", fill_name[kind]);
        float *r = dup(y0, n), *g = dup(y0, n), *g2 = dup(y0, n);
        naive->bias_act(rows, cols, r, bias, relu);
        b->bias_act(rows, cols, g, bias, relu);
        b->bias_act(rows, cols, g2, bias, relu);
        close_to(&cx, "bias_act", g, r, n);
        same_bits(&cx, "bias_act", g2, g, n * sizeof *g);
        tu_free(r), tu_free(g), tu_free(g2);
    }
    snprintf(cx.shape, sizeof cx.shape, "rows %d cols %d (%s inputs)", rows, cols,
             fill_name[kind]);
    float *rdb = floats((size_t)cols), *gdb = new_nan((size_t)cols), *gdb2 = floats((size_t)cols);
    fill_value(gdb2, (size_t)cols, -1e30f);
    naive->bias_grad(rows, cols, dy0, rdb);
    b->bias_grad(rows, cols, dy0, gdb);
    b->bias_grad(rows, cols, dy0, gdb2);
    close_to(&cx, "bias_grad", gdb, rdb, (size_t)cols);
    same_bits(&cx, "bias_grad", gdb2, gdb, sizeof *gdb * cols);

    float *r = dup(dy0, n), *g = dup(dy0, n), *g2 = dup(dy0, n);
    naive->relu_backward(n, yr, r);
    b->relu_backward(n, yr, g);
    b->relu_backward(n, yr, g2);
    close_to(&cx, "relu_backward", g, r, n);
    same_bits(&cx, "relu_backward", g2, g, n * sizeof *g);

    float *mask = new_fill(n, seed + 4, FILL_INT, 0, 1);
    for (size_t i = 0; i < n; i++)
        mask[i] *= kind == FILL_INT ? 2.0f : 1.0f / 0.7f;
    float *rm = floats(n), *gm = new_nan(n), *gm2 = floats(n);
    fill_value(gm2, n, -1e30f);
    naive->mul(n, y0, mask, rm);
    b->mul(n, y0, mask, gm);
    b->mul(n, y0, mask, gm2);
    close_to(&cx, "mul", gm, rm, n);
    same_bits(&cx, "mul", gm2, gm, n * sizeof *gm);
    tu_free(y0), tu_free(bias), tu_free(yr), tu_free(dy0), tu_free(rdb), tu_free(gdb), tu_free(gdb2);
    tu_free(r), tu_free(g), tu_free(g2), tu_free(mask), tu_free(rm), tu_free(gm), tu_free(gm2);
    return cx.ok;
}

static bool check_maxpool(const scnn_backend *b, int n, int h, int w, int c, enum fill kind,
                          uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "maxpool n%d h%d w%d c%d (%s inputs)", n, h, w, c,
             fill_name[kind]);
    const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
    /* ints in a narrow range: many ties, where the first maximum must win */
    float *x = new_fill(nx, seed, kind, -2, 2), *dy = new_fill(ny, seed + 1, kind, -9, 9);
    float *ry = floats(ny), *gy = new_nan(ny), *gy2 = floats(ny);
    uint8_t *ri = tu_guarded(ny, 1), *gi = tu_guarded(ny, 1), *gi2 = tu_guarded(ny, 1);
    memset(gi, 0xee, ny);
    memset(gi2, 0xdd, ny);
    fill_value(gy2, ny, -1e30f);
    naive->maxpool_forward(n, h, w, c, x, ry, ri);
    b->maxpool_forward(n, h, w, c, x, gy, gi);
    b->maxpool_forward(n, h, w, c, x, gy2, gi2);
    close_to(&cx, "maxpool_forward (y)", gy, ry, ny);
    equal_bytes(&cx, "maxpool_forward (idx)", gi, ri, ny);
    same_bits(&cx, "maxpool_forward (y)", gy2, gy, ny * sizeof *gy);
    same_bits(&cx, "maxpool_forward (idx)", gi2, gi, ny);
    float *rdx = floats(nx), *gdx = new_nan(nx), *gdx2 = floats(nx);
    fill_value(gdx2, nx, -1e30f);
    naive->maxpool_backward(n, h, w, c, dy, ri, rdx);
    b->maxpool_backward(n, h, w, c, dy, ri, gdx);
    b->maxpool_backward(n, h, w, c, dy, ri, gdx2);
    close_to(&cx, "maxpool_backward", gdx, rdx, nx);
    same_bits(&cx, "maxpool_backward", gdx2, gdx, nx * sizeof *gdx);
    tu_free(x), tu_free(dy), tu_free(ry), tu_free(gy), tu_free(gy2), tu_free(ri), tu_free(gi), tu_free(gi2);
    tu_free(rdx), tu_free(gdx), tu_free(gdx2);
    return cx.ok;
}

static void test_elementwise_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = backends(bs);
    char msg[MSG];
    /* the model's (batch 3) and odd ones */
    static const int rc[][2] = {{3, 256}, {3, 64}, {3, 10}, {3 * 121, 64}, {7, 13}, {1, 1},
                                {5, 70}, {33, 3}};
    static const int pool[][4] = {{3, 28, 28, 64}, {3, 11, 11, 64}, {2, 7, 9, 3}, {1, 5, 4, 13},
                                  {2, 3, 3, 70}, {1, 6, 6, 1}, {2, 1, 3, 5}};
    for (int bi = 0; bi < nb; bi++)
        for (int kind = 0; kind < 2; kind++) {
            for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++)
                report(check_bias_relu(&bs[bi], rc[i][0], rc[i][1], kind, 50 + i, msg,
                                       sizeof msg),
                       msg);
            for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
                report(check_maxpool(&bs[bi], pool[i][0], pool[i][1], pool[i][2], pool[i][3],
                                     kind, 70 + i, msg, sizeof msg),
                       msg);
        }
    finish("element-wise/pooling");
}

/* ---- batchnorm, softmax cross-entropy, Adam (with the tolerance) ---------------------------- */

static bool check_batchnorm(const scnn_backend *b, int m, int c, bool unbiased, enum fill kind,
                            uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, false, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "batchnorm m%d c%d%s (%s inputs)", m, c,
             unbiased ? " unbiased" : "", fill_name[kind]);
    const size_t n = (size_t)m * c, nc = (size_t)c;
    const float eps = 1e-3f, mom = 0.99f;
    /* an offset, so that the mean matters */
    float *x = new_fill(n, seed, kind, -3, 5), *dy = new_fill(n, seed + 1, kind, -4, 4);
    float *gamma = new_fill(nc, seed + 2, kind, 1, 3), *beta = new_fill(nc, seed + 3, kind, -2, 2);
    float *rm0 = new_fill(nc, seed + 4, kind, -1, 1), *rv0 = new_fill(nc, seed + 5, kind, 1, 3);
    float *out[2][7]; /* naive, backend: y, mean, invstd, run_mean, run_var, y_infer, dx */
    for (int s = 0; s < 2; s++) {
        const scnn_backend *t = s ? b : naive;
        float **o = out[s];
        o[0] = new_nan(n), o[1] = new_nan(nc), o[2] = new_nan(nc);
        o[3] = dup(rm0, nc), o[4] = dup(rv0, nc), o[5] = new_nan(n), o[6] = new_nan(n);
        t->batchnorm_forward_train(m, c, x, gamma, beta, eps, mom, unbiased, o[0], o[1], o[2],
                                   o[3], o[4]);
        t->batchnorm_forward_infer(m, c, x, gamma, beta, rm0, rv0, eps, o[5]);
    }
    close_to(&cx, "batchnorm_forward_train (y)", out[1][0], out[0][0], n);
    close_to(&cx, "batchnorm_forward_train (mean)", out[1][1], out[0][1], nc);
    close_to(&cx, "batchnorm_forward_train (invstd)", out[1][2], out[0][2], nc);
    close_to(&cx, "batchnorm_forward_train (run_mean)", out[1][3], out[0][3], nc);
    close_to(&cx, "batchnorm_forward_train (run_var)", out[1][4], out[0][4], nc);
    close_to(&cx, "batchnorm_forward_infer", out[1][5], out[0][5], n);

    /* backward from naive's saved statistics, into NaN */
    float *rdg = new_nan(nc), *rdb = new_nan(nc), *gdg = new_nan(nc), *gdb = new_nan(nc);
    naive->batchnorm_backward(m, c, x, dy, gamma, out[0][1], out[0][2], out[0][6], rdg, rdb);
    b->batchnorm_backward(m, c, x, dy, gamma, out[0][1], out[0][2], out[1][6], gdg, gdb);
    close_to(&cx, "batchnorm_backward (dx)", out[1][6], out[0][6], n);
    close_to(&cx, "batchnorm_backward (dgamma)", gdg, rdg, nc);
    close_to(&cx, "batchnorm_backward (dbeta)", gdb, rdb, nc);

    /* the backend again, over garbage: the same bits */
    float *y2 = floats(n), *mean2 = floats(nc), *is2 = floats(nc), *rmean2 = dup(rm0, nc);
    float *rvar2 = dup(rv0, nc), *yi2 = floats(n), *dx2 = floats(n), *dg2 = floats(nc);
    float *db2 = floats(nc);
    fill_value(y2, n, -1e30f), fill_value(yi2, n, -1e30f), fill_value(dx2, n, -1e30f);
    fill_value(mean2, nc, -1e30f), fill_value(is2, nc, -1e30f);
    fill_value(dg2, nc, -1e30f), fill_value(db2, nc, -1e30f);
    b->batchnorm_forward_train(m, c, x, gamma, beta, eps, mom, unbiased, y2, mean2, is2, rmean2,
                               rvar2);
    b->batchnorm_forward_infer(m, c, x, gamma, beta, rm0, rv0, eps, yi2);
    b->batchnorm_backward(m, c, x, dy, gamma, out[0][1], out[0][2], dx2, dg2, db2);
    same_bits(&cx, "batchnorm_forward_train (y)", y2, out[1][0], n * 4);
    same_bits(&cx, "batchnorm_forward_train (mean)", mean2, out[1][1], nc * 4);
    same_bits(&cx, "batchnorm_forward_train (invstd)", is2, out[1][2], nc * 4);
    same_bits(&cx, "batchnorm_forward_train (run_mean)", rmean2, out[1][3], nc * 4);
    same_bits(&cx, "batchnorm_forward_train (run_var)", rvar2, out[1][4], nc * 4);
    same_bits(&cx, "batchnorm_forward_infer", yi2, out[1][5], n * 4);
    same_bits(&cx, "batchnorm_backward (dx)", dx2, out[1][6], n * 4);
    same_bits(&cx, "batchnorm_backward (dgamma)", dg2, gdg, nc * 4);
    same_bits(&cx, "batchnorm_backward (dbeta)", db2, gdb, nc * 4);

    tu_free(x), tu_free(dy), tu_free(gamma), tu_free(beta), tu_free(rm0), tu_free(rv0);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 7; i++)
            tu_free(out[s][i]);
    tu_free(rdg), tu_free(rdb), tu_free(gdg), tu_free(gdb), tu_free(y2), tu_free(mean2), tu_free(is2), tu_free(rmean2);
    tu_free(rvar2), tu_free(yi2), tu_free(dx2), tu_free(dg2), tu_free(db2);
    return cx.ok;
}

static bool check_softmax(const scnn_backend *b, int n, int classes, int range, enum fill kind,
                          uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, false, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "softmax_xent n%d classes %d logits in +-%d (%s inputs)",
             n, classes, range, fill_name[kind]);
    const size_t nn = (size_t)n * classes;
    float *logits = new_fill(nn, seed, kind, -range, range);
    uint8_t *labels = tu_guarded((size_t)n, 1);
    for (int i = 0; i < n; i++)
        labels[i] = (uint8_t)(tu_rand_u64(seed, (uint64_t)i) % (uint64_t)classes);
    float *rp = new_nan(nn), *rd = new_nan(nn), *gp = new_nan(nn), *gd = new_nan(nn);
    float rloss = naive->softmax_xent(n, classes, logits, labels, rp, rd);
    float gloss = b->softmax_xent(n, classes, logits, labels, gp, gd);
    close_to(&cx, "softmax_xent (loss)", &gloss, &rloss, 1);
    close_to(&cx, "softmax_xent (probs)", gp, rp, nn);
    close_to(&cx, "softmax_xent (dlogits)", gd, rd, nn);
    float *gp2 = floats(nn), *gd2 = floats(nn);
    fill_value(gp2, nn, -1e30f), fill_value(gd2, nn, -1e30f);
    float gloss2 = b->softmax_xent(n, classes, logits, labels, gp2, gd2);
    same_bits(&cx, "softmax_xent (loss)", &gloss2, &gloss, sizeof gloss);
    same_bits(&cx, "softmax_xent (probs)", gp2, gp, nn * 4);
    same_bits(&cx, "softmax_xent (dlogits)", gd2, gd, nn * 4);
    /* dlogits NULL (evaluation): the same loss and probabilities */
    fill_value(gp2, nn, NAN);
    gloss2 = b->softmax_xent(n, classes, logits, labels, gp2, NULL);
    close_to(&cx, "softmax_xent, dlogits NULL (loss)", &gloss2, &rloss, 1);
    close_to(&cx, "softmax_xent, dlogits NULL (probs)", gp2, rp, nn);
    tu_free(logits), tu_free(labels), tu_free(rp), tu_free(rd), tu_free(gp), tu_free(gd), tu_free(gp2), tu_free(gd2);
    return cx.ok;
}

static bool check_adam(const scnn_backend *b, size_t count, enum fill kind, uint64_t seed,
                       char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, false, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "adam_update count %zu (%s inputs)", count,
             fill_name[kind]);
    float *p = new_fill(count, seed, kind, -3, 3), *g = new_fill(count, seed + 1, kind, -2, 2);
    float *m = new_fill(count, seed + 2, kind, -1, 1), *v = new_fill(count, seed + 3, kind, 1, 3);
    const float lr_t = 3e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    float *st[3][3]; /* naive, backend, backend again: p, m, v */
    for (int s = 0; s < 3; s++) {
        st[s][0] = dup(p, count), st[s][1] = dup(m, count), st[s][2] = dup(v, count);
        (s ? b : naive)->adam_update(count, st[s][0], g, st[s][1], st[s][2], lr_t, b1, b2, eps);
    }
    close_to(&cx, "adam_update (p)", st[1][0], st[0][0], count);
    close_to(&cx, "adam_update (m)", st[1][1], st[0][1], count);
    close_to(&cx, "adam_update (v)", st[1][2], st[0][2], count);
    for (int i = 0; i < 3; i++)
        same_bits(&cx, "adam_update", st[2][i], st[1][i], count * 4);
    tu_free(p), tu_free(g), tu_free(m), tu_free(v);
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 3; i++)
            tu_free(st[s][i]);
    return cx.ok;
}

/* exactly naive's bits (the interface demands them) */
static bool check_dropout_mask(const scnn_backend *b, size_t count, float p, uint64_t key,
                               char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, FILL_INT, true, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "dropout_mask count %zu p %g key %llu", count,
             (double)p, (unsigned long long)key);
    float *r = new_nan(count), *g = new_nan(count), *g2 = floats(count);
    fill_value(g2, count, -1e30f);
    naive->dropout_mask(count, p, key, r);
    b->dropout_mask(count, p, key, g);
    b->dropout_mask(count, p, key, g2);
    close_to(&cx, "dropout_mask", g, r, count);
    bits_equal(&cx, "dropout_mask", g, r, count * sizeof *g, "not naive's bits");
    same_bits(&cx, "dropout_mask", g2, g, count * sizeof *g);
    tu_free(r), tu_free(g), tu_free(g2);
    return cx.ok;
}

static void test_norm_loss_adam_dropout_parity(void **state)
{
    (void)state;
    scnn_backend bs[8];
    const int nb = backends(bs);
    char msg[MSG];
    static const int bn[][2] = {{3 * 784, 1}, {3, 64}, {7, 13}, {2, 70}, {50, 64}, {1000, 3}};
    static const int sm[][3] = {{3, 10, 5}, {50, 10, 5}, {1, 10, 5}, {7, 3, 5}, {5, 17, 50}};
    static const size_t adam[] = {1, 7, 13, 64, 1029, 1600 * 256 + 3};
    for (int bi = 0; bi < nb; bi++)
        for (int kind = 0; kind < 2; kind++) {
            for (size_t i = 0; i < sizeof bn / sizeof bn[0]; i++)
                for (int u = 0; u < 2; u++)
                    report(check_batchnorm(&bs[bi], bn[i][0], bn[i][1], u, kind, 80 + i, msg,
                                           sizeof msg),
                           msg);
            for (size_t i = 0; i < sizeof sm / sizeof sm[0]; i++)
                report(check_softmax(&bs[bi], sm[i][0], sm[i][1], sm[i][2], kind, 90 + i, msg,
                                     sizeof msg),
                       msg);
            for (size_t i = 0; i < sizeof adam / sizeof adam[0]; i++)
                report(check_adam(&bs[bi], adam[i], kind, 95 + i, msg, sizeof msg), msg);
        }
    /* the model's three layers at batch 3 and 50, odd counts, p = 0 */
    static const size_t dm[] = {3 * 14 * 14 * 64, 50 * 1600, 3 * 256, 1, 3, 5, 13, 1029};
    static const float dp[] = {0.1f, 0.3f, 0.5f, 0.0f, 0.95f};
    for (int bi = 0; bi < nb; bi++)
        for (size_t i = 0; i < sizeof dm / sizeof dm[0]; i++)
            for (size_t j = 0; j < sizeof dp / sizeof dp[0]; j++)
                report(check_dropout_mask(&bs[bi], dm[i], dp[j], tu_rand_u64(7, i * 8 + j), msg,
                                          sizeof msg),
                       msg);
    finish("batchnorm/softmax/adam/dropout");
}

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

/* ---- training parity ------------------------------------------------------------------------ */

#define TRAIN_BATCH 50
#define MAX_STEPS 30

/* losses[s] of steps 0..steps-1: batch s is images s*50 .. s*50+49 */
static void train(const scnn_backend *b, const scnn_dataset *ds, int steps, float *losses)
{
    scnn_model *m;
    if (scnn_model_create(&m, TRAIN_BATCH, b, 3) != SCNN_OK)
        fail_msg("creating a model on %s: %s", b->name, scnn_last_error());
    for (int s = 0; s < steps; s++) {
        const size_t i0 = (size_t)s * TRAIN_BATCH;
        losses[s] = scnn_model_train_batch(m, ds->images + i0 * SCNN_PIXELS, ds->labels + i0,
                                           TRAIN_BATCH, NULL);
    }
    scnn_model_free(m);
}

/* mean of the last five losses (of all, if fewer) */
static double last_mean(const float *losses, int steps)
{
    const int from = steps > 5 ? steps - 5 : 0;
    double s = 0;
    for (int i = from; i < steps; i++)
        s += losses[i];
    return s / (steps - from);
}

static void test_training_parity(void **state)
{
    (void)state;
    scnn_dataset ds;
    if (scnn_dataset_load_dir(&ds, tu_data_dir("fashion_mnist"), "train") != SCNN_OK)
        fail_msg("%s (run `make data` first)", scnn_last_error());
    /* under the sanitizers naive and im2col run some 10 times slower: fewer steps */
    const int steps = sanitized() ? 4 : MAX_STEPS;
    assert_true(ds.n >= (size_t)steps * TRAIN_BATCH);
    float ref[MAX_STEPS], got[MAX_STEPS];
    double t0 = scnn_now();
    train(naive, &ds, steps, ref);
    print_message("naive: %d steps in %.1f s, loss %.6f -> %.6f (mean of last 5 %.6f)\n", steps,
                  scnn_now() - t0, (double)ref[0], (double)ref[steps - 1],
                  last_mean(ref, steps));
    /* learning at all, or the comparison means little */
    assert_true(last_mean(ref, steps) < ref[0]);

    for (int i = 0; i < scnn_backend_count(); i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        if (b == naive || !scnn_backend_available(b, &why))
            continue;
        t0 = scnn_now();
        train(b, &ds, steps, got);
        const double fin = fabs((double)got[steps - 1] - ref[steps - 1]) / ref[steps - 1];
        const double mean = fabs(last_mean(got, steps) - last_mean(ref, steps)) /
                            last_mean(ref, steps);
        double worst = 0;
        for (int s = 0; s < steps; s++)
            worst = fmax(worst, fabs((double)got[s] - ref[s]) / ref[s]);
        print_message("%s: %d steps in %.1f s, final loss %.6f (rel diff %.2e), mean of last 5 "
                      "rel diff %.2e, worst step %.2e\n",
                      b->name, steps, scnn_now() - t0, (double)got[steps - 1], fin, mean, worst);
        /* a wrong kernel shows at once; float rounding stays near 1e-7 for the first steps,
         * then chaotic growth (Adam normalises gradients that are sums with heavy cancellation)
         * carries it towards 1e-3 by step 30 */
        double early = 0;
        for (int s = 0; s < 5 && s < steps; s++)
            early = fmax(early, fabs((double)got[s] - ref[s]) / ref[s]);
        if (!(early <= 1e-4)) {
            print_error("FAIL: backend %s, training parity: the first 5 steps' losses differ from "
                        "naive's by up to %.2e (tolerance 1e-4)\n",
                        b->name, early);
            failures++;
        }
        if (!(fin <= 1e-3) || !(mean <= 1e-3)) {
            print_error("FAIL: backend %s, training parity: final loss %.6f vs naive %.6f (rel "
                        "%.2e), mean of last 5 %.6f vs %.6f (rel %.2e); tolerance 1e-3\n",
                        b->name, (double)got[steps - 1], (double)ref[steps - 1], fin,
                        last_mean(got, steps), last_mean(ref, steps), mean);
            failures++;
        }
    }
    scnn_dataset_free(&ds);
    finish("training parity");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_catches_broken_kernels),
        cmocka_unit_test(test_guard_pages_catch_overruns),
        cmocka_unit_test(test_conv_parity),
        cmocka_unit_test(test_gemm_parity),
        cmocka_unit_test(test_gemm_model_shapes),
        cmocka_unit_test(test_elementwise_parity),
        cmocka_unit_test(test_norm_loss_adam_dropout_parity),
        cmocka_unit_test(test_training_parity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
