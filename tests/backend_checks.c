/* The op-by-op parity checks of the backends against naive (tests/backend_checks.h). */
#include "backend_checks.h"
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-4

static const char *const fill_name[] = {"int", "random"};

/* ---- helpers ------------------------------------------------------------------------------- */

/* Every array a kernel reads or writes ends against a PROT_NONE page, at the alignment
 * include/backend.h promises (a float's), so that one element past the end faults. */
static void *xalloc(size_t bytes)
{
    return tu_guarded(bytes, sizeof(float));
}

float *bk_floats(size_t n)
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
    float *x = bk_floats(n);
    fill_value(x, n, NAN);
    return x;
}

/* ints in [lo,hi], or uniform in [lo,hi] */
static float *new_fill(size_t n, uint64_t seed, enum fill kind, int lo, int hi)
{
    float *x = bk_floats(n);
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
    float *y = bk_floats(n);
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
int bk_backends(scnn_backend out[8])
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

void bk_report(bool ok, const char *msg)
{
    if (!ok) {
        print_error("FAIL: %s\n", msg);
        failures++;
    }
}

void bk_finish(const char *what)
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
bool check_conv(const scnn_backend *b, scnn_conv2d d, enum fill kind, uint64_t seed,
                       char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    const size_t nx = (size_t)d.n * d.h * d.w * d.c, ny = (size_t)d.n * d.p * d.q * d.k;
    const size_t nw = (size_t)d.kh * d.kw * d.c * d.k, nk = (size_t)d.k;
    float *x = new_fill(nx, seed, kind, -3, 3), *w = new_fill(nw, seed + 1, kind, -3, 3);
    float *bias = new_fill(nk, seed + 2, kind, -20, 20), *dy = new_fill(ny, seed + 3, kind, -3, 3);
    float *ry = bk_floats(ny), *rdx = bk_floats(nx), *rdw = bk_floats(nw), *rdb = bk_floats(nk);
    float *y = bk_floats(ny), *dx = bk_floats(nx), *dw = bk_floats(nw), *db = bk_floats(nk);
    float *y2 = bk_floats(ny), *dx2 = bk_floats(nx), *dw2 = bk_floats(nw), *db2 = bk_floats(nk);
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
scnn_conv2d bk_conv_case(int i)
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



/* ---- gemm ---------------------------------------------------------------------------------- */

/* c [m,n] = alpha op(a) op(b) + beta c with leading dimensions `gap` wider than needed; the gaps
 * hold NaN, which must be neither read (a, b) nor written (c); beta == 0 starts c as NaN. */
bool check_gemm(const scnn_backend *b, bool ta, bool tb, int m, int n, int kk, float alpha,
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
    float *rv = bk_floats((size_t)m * n), *gv = bk_floats((size_t)m * n);
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





/* ---- element-wise, pooling ----------------------------------------------------------------- */

bool check_bias_relu(const scnn_backend *b, int rows, int cols, enum fill kind,
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
    float *rdb = bk_floats((size_t)cols), *gdb = new_nan((size_t)cols), *gdb2 = bk_floats((size_t)cols);
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
    float *rm = bk_floats(n), *gm = new_nan(n), *gm2 = bk_floats(n);
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

bool check_maxpool(const scnn_backend *b, int n, int h, int w, int c, enum fill kind,
                          uint64_t seed, char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, kind, true, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "maxpool n%d h%d w%d c%d (%s inputs)", n, h, w, c,
             fill_name[kind]);
    const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
    /* ints in a narrow range: many ties, where the first maximum must win */
    float *x = new_fill(nx, seed, kind, -2, 2), *dy = new_fill(ny, seed + 1, kind, -9, 9);
    float *ry = bk_floats(ny), *gy = new_nan(ny), *gy2 = bk_floats(ny);
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
    float *rdx = bk_floats(nx), *gdx = new_nan(nx), *gdx2 = bk_floats(nx);
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



/* ---- batchnorm, softmax cross-entropy, Adam (with the tolerance) ---------------------------- */

bool check_batchnorm(const scnn_backend *b, int m, int c, bool unbiased, enum fill kind,
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
    float *y2 = bk_floats(n), *mean2 = bk_floats(nc), *is2 = bk_floats(nc), *rmean2 = dup(rm0, nc);
    float *rvar2 = dup(rv0, nc), *yi2 = bk_floats(n), *dx2 = bk_floats(n), *dg2 = bk_floats(nc);
    float *db2 = bk_floats(nc);
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

bool check_softmax(const scnn_backend *b, int n, int classes, int range, enum fill kind,
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
    float *gp2 = bk_floats(nn), *gd2 = bk_floats(nn);
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

bool check_adam(const scnn_backend *b, size_t count, enum fill kind, uint64_t seed,
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
bool check_dropout_mask(const scnn_backend *b, size_t count, float p, uint64_t key,
                               char *msg, size_t len)
{
    check cx;
    check_init(&cx, b, FILL_INT, true, msg, len);
    snprintf(cx.shape, sizeof cx.shape, "dropout_mask count %zu p %g key %llu", count,
             (double)p, (unsigned long long)key);
    float *r = new_nan(count), *g = new_nan(count), *g2 = bk_floats(count);
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
