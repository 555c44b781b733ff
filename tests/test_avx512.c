/* The avx512 and omp512 backends beyond the all-backend parity of test_backends.c: bitwise
 * independence of the split. Every op of the avx512 table runs again on omp512 at 1 and 2
 * OpenMP threads, and on tables whose ops cut the items into 2, 3 and 7 contiguous ranges
 * (run one after the other with their own scratch slots, as 2, 3 or 7 threads would), on the
 * model's shapes and awkward ones (tails not a multiple of 16); all must give avx512's bits.
 * Then the run-time check: SCNN_HIDE_ISA=avx512 makes both backends unavailable with the
 * reason, and asking for one is a one-line usage error (exit 2), never SIGILL. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/avx512/avx512_conv.h"    /* declarations only: called after the CPU check */
#include "kernels/avx512/avx512_kernels.h"
#include "scnn.h"

extern void omp_set_num_threads(int n) __attribute__((weak));

/* ---- the split tables ------------------------------------------------------------------------ */

static int parts = 1;

/* items in `parts` contiguous ranges, one after the other, slot = range number (grain ignored:
 * more splits than the threads would ever make) */
static void split_pfor(long items, long grain, scnn_avx2_body body, void *ctx)
{
    (void)grain;
    for (long t = 0; t < parts; t++) {
        const long first = items * t / parts, last = items * (t + 1) / parts;
        if (last > first)
            body(ctx, first, last, (int)t);
    }
}

#define OPS_ISA scnn_avx512
#define OPS_FUSED 1
#define PF split_pfor
#define GEMM_MC(m, n) ((m) / (parts + 1) + 1) /* row blocks too, of a size not a tile multiple */
#define OPS_SLOTS 8
#include "kernels/isa_ops.inc"

static const scnn_backend split_backend = {
    .name = "avx512 split",
    SCNN_ISA_OPS,
};

/* ---- the variants ---------------------------------------------------------------------------- */

typedef struct variant {
    const char *name;
    const scnn_backend *be;
    int threads, parts;
} variant;

static variant variants[6];
static int n_variants;
static const scnn_backend *ref_be; /* avx512 */

static int setup(void **state)
{
    (void)state;
    const scnn_backend *a = scnn_backend_find("avx512"), *o = scnn_backend_find("omp512");
    if (!a || !scnn_backend_available(a, NULL))
        return 0;
    ref_be = a;
    if (o && scnn_backend_available(o, NULL) && omp_set_num_threads) {
        variants[n_variants++] = (variant){"omp512/1", o, 1, 1};
        variants[n_variants++] = (variant){"omp512/2", o, 2, 1};
    }
    variants[n_variants++] = (variant){"split/2", &split_backend, 1, 2};
    variants[n_variants++] = (variant){"split/3", &split_backend, 1, 3};
    variants[n_variants++] = (variant){"split/7", &split_backend, 1, 7};
    return 0;
}

static void use(int threads, int p)
{
    if (omp_set_num_threads)
        omp_set_num_threads(threads);
    parts = p;
}

static bool cannot_run(void)
{
    if (ref_be)
        return false;
    print_message("[ skipped  ] avx512 cannot run here\n");
    return true;
}

/* Runs op(be, out) for avx512 and every variant; every variant's out must have avx512's bits.
 * out is `bytes` long and NaN-filled before each run. */
typedef void (*op_fn)(const scnn_backend *be, void *out, const void *in);

static void same_everywhere(const char *what, op_fn op, const void *in, size_t bytes)
{
    unsigned char *ref = malloc(bytes + 1), *got = malloc(bytes + 1);
    assert_true(ref && got);
    memset(ref, 0xff, bytes); /* NaN floats */
    use(1, 1);
    op(ref_be, ref, in);
    for (int i = 0; i < n_variants; i++) {
        use(variants[i].threads, variants[i].parts);
        memset(got, 0xff, bytes);
        op(variants[i].be, got, in);
        if (memcmp(got, ref, bytes) != 0) {
            size_t j = 0;
            while (got[j] == ref[j])
                j++;
            fail_msg("%s on %s: not avx512's bits (first difference at byte %zu of %zu)", what,
                     variants[i].name, j, bytes);
        }
    }
    use(1, 1);
    free(ref);
    free(got);
}

/* ---- the ops ----------------------------------------------------------------------------------- */

typedef struct gemm_in {
    bool ta, tb;
    int m, n, k;
    float beta;
    const float *a, *b, *c0;
} gemm_in;

static void op_gemm(const scnn_backend *be, void *out, const void *in)
{
    const gemm_in *g = in;
    float *c = out;
    if (g->beta != 0.0f)
        memcpy(c, g->c0, sizeof *c * g->m * g->n);
    be->gemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->ta ? g->m : g->k, g->b,
             g->tb ? g->k : g->n, g->beta, c, g->n);
}

static void test_gemm_split(void **state)
{
    (void)state;
    if (cannot_run())
        return;
    /* the model's nine products at batch 250, then tails of rows, columns and K */
    static const int shapes[][3] = {{250, 256, 1600}, {1600, 256, 250}, {250, 1600, 256},
                                    {250, 64, 256},   {256, 64, 250},   {250, 256, 64},
                                    {250, 10, 64},    {64, 10, 250},    {250, 64, 10},
                                    {37, 33, 300},    {13, 17, 520},    {5, 1, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const bool model = s < 9;
            if (model && t != (s % 3 == 0 ? 0 : s % 3 == 1 ? 1 : 2))
                continue; /* the model's own layout only */
            gemm_in g = {.ta = model ? s % 3 == 1 : t & 1, .tb = model ? s % 3 == 2 : t & 2,
                         .m = m, .n = n, .k = k, .beta = t == 3 ? 0.5f : 0.0f};
            float *a = tu_new_uniform((size_t)m * k, s), *b = tu_new_uniform((size_t)k * n, s + 1);
            float *c0 = tu_new_uniform((size_t)m * n, s + 2);
            g.a = a, g.b = b, g.c0 = c0;
            char what[96];
            snprintf(what, sizeof what, "gemm ta%d tb%d m%d n%d k%d beta%g", g.ta, g.tb, m, n, k,
                     (double)g.beta);
            same_everywhere(what, op_gemm, &g, sizeof(float) * m * n);
            free(a), free(b), free(c0);
        }
}

typedef struct flat_in {
    int rows, cols;
    const float *x, *y, *mask, *bias;
    const uint8_t *labels;
    float p;
    uint64_t key;
} flat_in;

static void op_bias_act(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    memcpy(out, f->x, sizeof(float) * f->rows * f->cols);
    be->bias_act(f->rows, f->cols, out, f->bias, true);
}

static void op_bias_grad(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    be->bias_grad(f->rows, f->cols, f->x, out);
}

static void op_relu_mul(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    const size_t n = (size_t)f->rows * f->cols;
    float *o = out;
    memcpy(o, f->x, sizeof *o * n);
    be->relu_backward(n, f->y, o);
    be->mul(n, f->x, f->mask, o + n);
}

static void op_dropout(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    be->dropout_mask((size_t)f->rows * f->cols, f->p, f->key, out);
}

static void op_softmax(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    float *o = out;
    const size_t n = (size_t)f->rows * f->cols;
    o[2 * n] = be->softmax_xent(f->rows, f->cols, f->x, f->labels, o, o + n);
}

static void op_adam(const scnn_backend *be, void *out, const void *in)
{
    const flat_in *f = in;
    const size_t n = (size_t)f->rows * f->cols;
    float *o = out;
    memcpy(o, f->x, sizeof *o * n);
    memcpy(o + n, f->y, sizeof *o * n);
    memcpy(o + 2 * n, f->mask, sizeof *o * n);
    for (size_t i = 0; i < n; i++)
        o[2 * n + i] = fabsf(o[2 * n + i]);
    be->adam_update(n, o, f->bias, o + n, o + 2 * n, 1e-3f, 0.9f, 0.999f, 1e-7f);
}

static void test_elementwise_split(void **state)
{
    (void)state;
    if (cannot_run())
        return;
    static const int shapes[][2] = {{250, 256}, {250, 10}, {7, 13}, {1, 70}, {250 * 14 * 14, 64},
                                    {3, 4097}, {1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int rows = shapes[s][0], cols = shapes[s][1];
        const size_t n = (size_t)rows * cols;
        float *x = tu_new_uniform(n, s), *y = tu_new_int(n, s + 1, -2, 2),
              *mask = tu_new_uniform(n, s + 2), *bias = tu_new_uniform(n, s + 3);
        uint8_t *labels = malloc((size_t)rows);
        for (int r = 0; r < rows; r++)
            labels[r] = (uint8_t)(tu_rand_u64(s, (uint64_t)r) % (uint64_t)cols);
        flat_in f = {.rows = rows, .cols = cols, .x = x, .y = y, .mask = mask, .bias = bias,
                     .labels = labels, .p = 0.3f, .key = tu_rand_u64(9, s)};
        char what[64];
        snprintf(what, sizeof what, "[%d,%d]", rows, cols);
        same_everywhere(what, op_bias_act, &f, sizeof(float) * n);
        same_everywhere(what, op_bias_grad, &f, sizeof(float) * cols);
        same_everywhere(what, op_relu_mul, &f, sizeof(float) * 2 * n);
        same_everywhere(what, op_dropout, &f, sizeof(float) * n);
        same_everywhere(what, op_adam, &f, sizeof(float) * 3 * n);
        if (cols <= 300)
            same_everywhere(what, op_softmax, &f, sizeof(float) * (2 * n + 1));
        free(x), free(y), free(mask), free(bias), free(labels);
    }
}

typedef struct pool_in {
    int n, h, w, c;
    const float *x, *dy, *gamma, *beta, *rm, *rv;
} pool_in;

static void op_pool(const scnn_backend *be, void *out, const void *in)
{
    const pool_in *p = in;
    const size_t nx = (size_t)p->n * p->h * p->w * p->c,
                 ny = (size_t)p->n * (p->h / 2) * (p->w / 2) * p->c;
    float *dx = out, *y = dx + nx;
    uint8_t *idx = (uint8_t *)(y + ny);
    be->maxpool_forward(p->n, p->h, p->w, p->c, p->x, y, idx);
    be->maxpool_backward(p->n, p->h, p->w, p->c, p->dy, idx, dx);
}

/* [y | mean | invstd | run_mean | run_var | dx | dgamma | dbeta | infer y], m = n*h*w rows */
static void op_bn(const scnn_backend *be, void *out, const void *in)
{
    const pool_in *p = in;
    const int m = p->n * p->h * p->w, c = p->c;
    const size_t n = (size_t)m * c;
    float *y = out, *mean = y + n, *invstd = mean + c, *rm = invstd + c, *rv = rm + c,
          *dx = rv + c, *dg = dx + n, *db = dg + c, *yi = db + c;
    memcpy(rm, p->rm, sizeof *rm * c);
    memcpy(rv, p->rv, sizeof *rv * c);
    be->batchnorm_forward_train(m, c, p->x, p->gamma, p->beta, 1e-3f, 0.99f, c == 1, y, mean,
                                invstd, rm, rv);
    be->batchnorm_backward(m, c, p->x, p->dy, p->gamma, mean, invstd, dx, dg, db);
    be->batchnorm_forward_infer(m, c, p->x, p->gamma, p->beta, p->rm, p->rv, 1e-3f, yi);
}

static void test_pool_bn_split(void **state)
{
    (void)state;
    if (cannot_run())
        return;
    static const int shapes[][4] = {{250, 28, 28, 64}, {250, 11, 11, 64}, {3, 7, 9, 13},
                                    {2, 5, 5, 70},     {250, 28, 28, 1},  {1, 3, 1, 3},
                                    {100003, 1, 1, 1}, {33, 1, 1, 130}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
        float *x = tu_new_int(nx, s, -2, 2), *dy = tu_new_uniform(nx, s + 1);
        float *g = tu_new_uniform((size_t)c, s + 2), *b = tu_new_uniform((size_t)c, s + 3),
              *rm = tu_new_uniform((size_t)c, s + 4), *rv = tu_new_uniform((size_t)c, s + 5);
        for (int j = 0; j < c; j++)
            rv[j] = 1.0f + 0.5f * fabsf(rv[j]);
        pool_in p = {.n = n, .h = h, .w = w, .c = c, .x = x, .dy = dy, .gamma = g, .beta = b,
                     .rm = rm, .rv = rv};
        char what[64];
        snprintf(what, sizeof what, "pool/bn [%d,%d,%d,%d]", n, h, w, c);
        if (h > 1 || w > 1)
            same_everywhere(what, op_pool, &p, sizeof(float) * (nx + ny) + ny);
        if (c != 64 || h != 11) { /* bn over [m, c] */
            float *xu = tu_new_uniform(nx, s + 6);
            for (size_t i = 0; i < nx; i++)
                xu[i] = 3.0f * xu[i] + 0.5f;
            p.x = xu;
            same_everywhere(what, op_bn, &p, sizeof(float) * (3 * nx + 6 * (size_t)c));
            free(xu);
        }
        free(x), free(dy), free(g), free(b), free(rm), free(rv);
    }
}

/* ---- the fused layers ------------------------------------------------------------------------ */

/* [pooled | mask | y | dx | idx] of the fused pair (fused) or of the ops it replaces */
static void pool_drop(const scnn_backend *be, bool fused, const pool_in *p, float rate,
                      uint64_t key, void *out)
{
    const size_t nx = (size_t)p->n * p->h * p->w * p->c,
                 ny = (size_t)p->n * (p->h / 2) * (p->w / 2) * p->c;
    float *pooled = out, *mask = pooled + ny, *y = mask + ny, *dx = y + ny, *tmp = dx + nx;
    uint8_t *idx = (uint8_t *)(tmp + nx);
    if (fused) {
        be->pool_dropout_forward(p->n, p->h, p->w, p->c, p->x, rate, key, pooled, idx, mask, y);
        be->pool_dropout_backward(p->n, p->h, p->w, p->c, p->dy, mask, idx, pooled, dx);
        memset(tmp, 0, sizeof *tmp * nx);
        return;
    }
    be->maxpool_forward(p->n, p->h, p->w, p->c, p->x, pooled, idx);
    be->dropout_mask(ny, rate, key, mask);
    be->mul(ny, pooled, mask, y);
    be->mul(ny, p->dy, mask, tmp);
    be->maxpool_backward(p->n, p->h, p->w, p->c, tmp, idx, dx);
    be->relu_backward(nx, p->x, dx);
    memset(tmp, 0, sizeof *tmp * nx);
}

static float fused_rate;
static uint64_t fused_key;

static void op_fused(const scnn_backend *be, void *out, const void *in)
{
    pool_drop(be, true, in, fused_rate, fused_key, out);
}

/* The fused pool+dropout pair gives the bits of the unfused ops, on avx512 and on every split;
 * x is a ReLU output with many ties and zeros, dy holds NaN where nothing may route it. */
static void test_pool_dropout_fused(void **state)
{
    (void)state;
    if (cannot_run())
        return;
    assert_non_null(ref_be->pool_dropout_forward);
    assert_non_null(ref_be->pool_dropout_backward);
    static const int shapes[][4] = {{250, 28, 28, 64}, {250, 11, 11, 64}, {3, 7, 9, 13},
                                    {2, 5, 5, 70},     {1, 3, 2, 1},      {2, 1, 4, 5}};
    static const float rates[] = {0.1f, 0.3f, 0.0f};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], h = shapes[s][1], w = shapes[s][2], c = shapes[s][3];
        const size_t nx = (size_t)n * h * w * c, ny = (size_t)n * (h / 2) * (w / 2) * c;
        float *x = tu_new_int(nx, s, -2, 2), *dy = tu_new_uniform(ny ? ny : 1, s + 1);
        for (size_t i = 0; i < nx; i++)
            x[i] = x[i] < 0 ? 0.0f : x[i];
        pool_in p = {.n = n, .h = h, .w = w, .c = c, .x = x, .dy = dy};
        const size_t bytes = sizeof(float) * (3 * ny + 2 * nx) + ny;
        unsigned char *a = malloc(bytes + 1), *b = malloc(bytes + 1);
        for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            const uint64_t key = tu_rand_u64(3, s * 8 + r);
            char what[96];
            snprintf(what, sizeof what, "pool_dropout [%d,%d,%d,%d] p=%g", n, h, w, c,
                     (double)rates[r]);
            memset(a, 0xff, bytes);
            memset(b, 0xff, bytes);
            pool_drop(ref_be, false, &p, rates[r], key, a);
            pool_drop(ref_be, true, &p, rates[r], key, b);
            if (memcmp(a, b, bytes) != 0)
                fail_msg("%s: fused differs from the unfused ops", what);
            fused_rate = rates[r], fused_key = key;
            same_everywhere(what, op_fused, &p, bytes);
        }
        free(a), free(b), free(x), free(dy);
    }
}

/* ---- hiding AVX-512 -------------------------------------------------------------------------- */

static void test_hidden_isa(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = tu_run(&out, "SCNN_HIDE_ISA=avx512 %s backends", tu_scnn());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "avx512   unavailable"));
    if (scnn_backend_find("omp512"))
        assert_non_null(strstr(out, "omp512   unavailable"));
    assert_non_null(strstr(out, "why not: AVX-512 hidden by SCNN_HIDE_ISA"));
    assert_null(strstr(out, "avx512   available"));
    free(out);
    for (int i = 0; i < (scnn_backend_find("omp512") ? 2 : 1); i++) {
        rc = tu_run(&out, "SCNN_HIDE_ISA=avx512 SCNN_BACKEND=%s %s train --epochs 1 --limit 100",
                    i ? "omp512" : "avx512", tu_scnn());
        assert_int_equal(rc, 2);
        assert_non_null(strstr(out, "cannot run here: AVX-512 hidden by SCNN_HIDE_ISA"));
        assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1); /* one line */
        free(out);
    }
    /* hiding AVX2 hides every SIMD rung */
    rc = tu_run(&out, "SCNN_HIDE_ISA=avx512,avx2 %s backends", tu_scnn());
    assert_int_equal(rc, 0);
    assert_null(strstr(out, " available     AVX"));
    assert_non_null(strstr(out, "[auto]"));
    free(out);
}

/* ---- resuming on another backend -------------------------------------------------------------- */

#define RUN_ARGS "train --limit 300 --test-limit 100 --batch 50 --epochs 1 --iterations 1 " \
                 "--augment 0 --seed 5 --no-report"

/* A run on avx512 and one on omp512 (2 threads) end with the same bytes, so a run started on
 * one may be resumed on the other; any other backend is refused with one line and exit 2. */
static void test_resume_backends(void **state)
{
    (void)state;
    if (cannot_run())
        return;
    char *dir = tu_mkdtemp(), *out;
    int rc = tu_run(&out, "SCNN_BACKEND=avx512 %s " RUN_ARGS " --out %s/a", tu_scnn(), dir);
    if (rc != 0)
        fail_msg("avx512 run failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, "avx512, named by SCNN_BACKEND"));
    free(out);
    /* (an OPENMP=0 build has no omp512: then avx512 again) */
    const char *twin = scnn_backend_find("omp512") ? "omp512" : "avx512";
    rc = tu_run(&out, "OMP_NUM_THREADS=2 SCNN_BACKEND=%s %s " RUN_ARGS " --out %s/b", twin,
                tu_scnn(), dir);
    if (rc != 0)
        fail_msg("omp512 run failed (%d):\n%s", rc, out);
    free(out);
    /* (the checkpoints name their backend, so they differ in that) */
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a/iter-0/test_probs.f32", dir);
    snprintf(b, sizeof b, "%s/b/iter-0/test_probs.f32", dir);
    tu_assert_same_file(a, b);
    snprintf(a, sizeof a, "%s/a/iter-0/result.txt", dir);
    snprintf(b, sizeof b, "%s/b/iter-0/result.txt", dir);
    char *ra = tu_read_file(a, &(size_t){0}), *rb = tu_read_file(b, &(size_t){0});
    assert_true(ra && rb);
    *strstr(ra, "seconds") = 0; /* the losses and accuracies, up to the timings */
    *strstr(rb, "seconds") = 0;
    assert_string_equal(ra, rb);
    free(ra);
    free(rb);
    char conf[512];
    snprintf(conf, sizeof conf, "%s/a/run.conf", dir);
    char *text = tu_read_file(conf, &(size_t){0});
    assert_non_null(text);
    assert_non_null(strstr(text, "backend=avx512\nbackend_choice=avx512, named by SCNN_BACKEND"));
    free(text);
    rc = tu_run(&out, "SCNN_BACKEND=%s %s train --resume %s/a", twin, tu_scnn(), dir);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "already done"));
    free(out);
    static const char *const others[] = {"avx2", "naive", "omp"};
    for (int i = 0; i < (scnn_backend_find("omp") ? 3 : 2); i++) {
        rc = tu_run(&out, "SCNN_BACKEND=%s %s train --resume %s/a", others[i], tu_scnn(), dir);
        assert_int_equal(rc, 2);
        char want[64]; /* (the resume recorded its backend) */
        snprintf(want, sizeof want, "was trained with backend %s, not %s", twin, others[i]);
        if (!strstr(out, want))
            fail_msg("resume on %s: %s", others[i], out);
        assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1); /* one line */
        free(out);
    }
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_split),
        cmocka_unit_test(test_elementwise_split),
        cmocka_unit_test(test_pool_bn_split),
        cmocka_unit_test(test_pool_dropout_fused),
        cmocka_unit_test(test_hidden_isa),
        cmocka_unit_test(test_resume_backends),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
