/* The C model is the seed's model: one training step on 4 images against a float64 PyTorch
 * golden (tests/golden/make_golden.py, which documents the model semantics and writes
 * tests/golden/golden.bin).
 *
 * golden.bin (little-endian): "SCNNGLD1", uint32 version 1, uint32 nrec, then nrec records of
 *   char name[48]; uint32 kind (1 uint8, 2 float64, 3 float32); uint32 stride; uint64 size;
 *   uint64 nstored; float64 sum, sumsq, sumabs (over the full tensor); nstored elements, those
 *   with index % stride == 0 (stride 13 for tensors over 4096 elements, 101 for the w/ records,
 *   else 1). Sampled tensors are checked element-wise on the samples only; the sums cover all
 *   elements (and catch a NaN anywhere), but not a small error in one unsampled element.
 *
 * The weights are not stored: both sides define every element by the same integer hash
 * (golden_param below); the w/ records only confirm that the two hashes agree.
 *
 * Tolerances. Per element: |c - ref| <= tol * max(|ref|, rms(ref)), rms over the whole tensor.
 * Sums (all tensors): |sum_c - sum_ref| <= tol * sum|ref|, |sumsq_c - sumsq_ref| <= 2 tol sumsq_ref.
 *   logits, loss, gradients: tol = 1e-4. float32 PyTorch on the same computation lands at most
 *     1.2e-5 from the golden (dense/kernel gradient; logits 3e-6), so 1e-4 leaves ~8x for a
 *     different summation order, and is >100x below the smallest deliberate mistake below.
 *   running statistics: tol = 1e-5 (one reduction deep; float32 PyTorch: 5e-7). The input
 *     BatchNorm's moving variance cannot tell unbiased from biased batch variance (0.03% of a 1%
 *     update); the SPEC allows either, and the golden uses the unbiased one as TensorFlow does.
 * Discrimination: the golden holds the logits of wrong models (mirrored "same" padding, NCHW
 * flatten, flipped kernels, unbiased-variance normalisation, inference with the initial running
 * statistics) and the gradients of a backward that treats BatchNorm statistics as constants;
 * each must lie more than 100 tol from the correct golden, so those mistakes cannot pass. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scnn.h"

#define N 4
#define TOL 1e-4
#define TOL_STATS 1e-5
#define DISCRIMINATE (100 * TOL)

typedef struct {
    char name[49];
    uint32_t kind, stride;
    uint64_t size, nstored;
    double sum, sumsq, sumabs;
    const unsigned char *data;
} golden_rec;

static unsigned char *g_blob;
static golden_rec g_rec[64];
static int g_nrec;

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static double rdf64(const unsigned char *p)
{
    uint64_t u = rd64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static float rdf32(const unsigned char *p)
{
    uint32_t u = rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* $SCNN_GOLDEN, else tests/golden/golden.bin from the repository root (where `make test` runs),
 * else relative to the binary (build/tests/test_golden or build-san/tests/test_golden). */
static unsigned char *golden_read(size_t *len)
{
    return tu_read_golden("golden.bin", "SCNN_GOLDEN", len);
}

static int group_setup(void **state)
{
    size_t len = 0;
    g_blob = golden_read(&len);
    if (!g_blob) {
        fprintf(stderr, "test_golden: cannot read tests/golden/golden.bin (run from the repository "
                        "root or set SCNN_GOLDEN)\n");
        return -1;
    }
    if (len < 16 || memcmp(g_blob, "SCNNGLD1", 8) != 0 || rd32(g_blob + 8) != 1) {
        fprintf(stderr, "test_golden: golden.bin: bad magic or version\n");
        return -1;
    }
    uint32_t nrec = rd32(g_blob + 12);
    size_t off = 16;
    const size_t head = 48 + 4 + 4 + 8 + 8 + 3 * 8;
    for (uint32_t r = 0; r < nrec; r++) {
        if (r >= sizeof g_rec / sizeof g_rec[0] || off + head > len)
            goto bad;
        golden_rec *g = &g_rec[r];
        const unsigned char *p = g_blob + off;
        memcpy(g->name, p, 48);
        g->name[48] = 0;
        g->kind = rd32(p + 48);
        g->stride = rd32(p + 52);
        g->size = rd64(p + 56);
        g->nstored = rd64(p + 64);
        g->sum = rdf64(p + 72);
        g->sumsq = rdf64(p + 80);
        g->sumabs = rdf64(p + 88);
        g->data = p + head;
        size_t esize = g->kind == 1 ? 1 : g->kind == 2 ? 8 : g->kind == 3 ? 4 : 0;
        if (!esize || g->stride == 0 || g->nstored != (g->size + g->stride - 1) / g->stride ||
            g->nstored > (len - off - head) / esize)
            goto bad;
        off += head + g->nstored * esize;
    }
    if (off != len)
        goto bad;
    g_nrec = (int)nrec;
    (void)state;
    return 0;
bad:
    fprintf(stderr, "test_golden: golden.bin is malformed\n");
    return -1;
}

static int group_teardown(void **state)
{
    free(g_blob);
    (void)state;
    return 0;
}

static const golden_rec *golden(const char *name)
{
    for (int i = 0; i < g_nrec; i++)
        if (strcmp(g_rec[i].name, name) == 0)
            return &g_rec[i];
    fail_msg("golden.bin has no record \"%s\"", name);
    return NULL;
}

/* Stored element j (index j * stride) as a double. */
static double golden_at(const golden_rec *g, size_t j)
{
    switch (g->kind) {
    case 1: return g->data[j];
    case 2: return rdf64(g->data + 8 * j);
    default: return rdf32(g->data + 4 * j);
    }
}

/* ---- the weights, by the hash that make_golden.py documents ------------------------------- */

static const struct {
    const char *name;
    char kind;          /* k kernel, b bias, g gamma, B beta */
    double fan_in, fan_out;
} params[14] = {
    {"batch_normalization/gamma", 'g', 0, 0},
    {"batch_normalization/beta", 'B', 0, 0},
    {"conv2d/kernel", 'k', 16, 1024},
    {"conv2d/bias", 'b', 0, 0},
    {"conv2d_1/kernel", 'k', 1024, 1024},
    {"conv2d_1/bias", 'b', 0, 0},
    {"dense/kernel", 'k', 1600, 256},
    {"dense/bias", 'b', 0, 0},
    {"dense_1/kernel", 'k', 256, 64},
    {"dense_1/bias", 'b', 0, 0},
    {"batch_normalization_1/gamma", 'g', 0, 0},
    {"batch_normalization_1/beta", 'B', 0, 0},
    {"dense_2/kernel", 'k', 64, 10},
    {"dense_2/bias", 'b', 0, 0},
};

static uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float golden_param(int t, uint64_t i)
{
    uint64_t z = splitmix64(0x5CAA000000000000ull + ((uint64_t)t << 32) + i);
    double u = (double)(z >> 32) / 4294967296.0;
    double s = 2.0 * u - 1.0;
    double v;
    switch (params[t].kind) {
    case 'k': {
        double limit = sqrt(6.0 / (params[t].fan_in + params[t].fan_out));
        v = s * limit;
        break;
    }
    case 'b': v = s * 0.1; break;
    case 'g': {
        double d = 0.2 * s;
        v = 1.0 + d;
        break;
    }
    default: v = 0.1 * s; break;
    }
    return (float)v;
}

/* ---- comparison ----------------------------------------------------------------------------- */

/* Compares c[size] with the golden record; prints one line; returns the max normalised error
 * (including the sum checks, scaled to the same tol), or INFINITY on a NaN. */
static double compare(const char *name, const float *c, size_t size, double tol)
{
    const golden_rec *g = golden(name);
    assert_int_equal(g->size, size);
    double rms = sqrt(g->sumsq / (double)size);
    double worst = 0;
    size_t worst_i = 0;
    for (size_t j = 0; j < g->nstored; j++) {
        size_t i = j * g->stride;
        double ref = golden_at(g, j);
        double scale = fmax(fmax(fabs(ref), rms), 1e-30);
        double e = fabs((double)c[i] - ref) / scale;
        if (!(e <= worst)) {
            worst = isnan(e) ? INFINITY : e;
            worst_i = i;
        }
    }
    /* The sums cover every element, so a NaN/Inf between the samples shows here. */
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < size; i++) {
        sum += c[i];
        sumsq += (double)c[i] * c[i];
    }
    double esum = fabs(sum - g->sum) / fmax(g->sumabs, 1e-300);
    double esq = fabs(sumsq - g->sumsq) / fmax(g->sumsq, 1e-300) / 2;
    double all = worst;
    if (!(esum <= all))
        all = esum;
    if (!(esq <= all))
        all = esq;
    if (!isfinite(all))
        all = INFINITY;
    printf("  %-42s max err %.2e (element %zu: %.8g vs %.8g), sum %.1e, sumsq %.1e  %s\n", name,
           worst, worst_i, (double)c[worst_i],
           golden_at(g, worst_i / g->stride), esum, esq, all <= tol ? "ok" : "FAIL");
    return all;
}

/* Max normalised distance of record a from record b (same size, both stored in full). */
static double distance(const char *a, const char *b)
{
    const golden_rec *ga = golden(a), *gb = golden(b);
    assert_int_equal(ga->size, gb->size);
    assert_int_equal(ga->stride, 1);
    assert_int_equal(gb->stride, 1);
    double rms = sqrt(gb->sumsq / (double)gb->size), worst = 0;
    for (size_t i = 0; i < gb->size; i++) {
        double ref = golden_at(gb, i);
        worst = fmax(worst, fabs(golden_at(ga, i) - ref) / fmax(fabs(ref), rms));
    }
    return worst;
}

static void set_weights(scnn_model *m)
{
    for (int t = 0; t < 14; t++) {
        scnn_param *p = scnn_model_param_by_name(m, params[t].name);
        assert_non_null(p);
        assert_true(p->trainable);
        for (size_t i = 0; i < p->size; i++)
            p->w[i] = golden_param(t, i);
    }
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* The C hash gives exactly the weights the golden was computed with. */
static void test_golden_weights_hash(void **state)
{
    (void)state;
    for (int t = 0; t < 14; t++) {
        char key[64];
        snprintf(key, sizeof key, "w/%s", params[t].name);
        const golden_rec *g = golden(key);
        assert_int_equal(g->kind, 3);
        for (size_t j = 0; j < g->nstored; j++) {
            float want = (float)golden_at(g, j), got = golden_param(t, j * g->stride);
            if (memcmp(&want, &got, sizeof want) != 0)
                fail_msg("%s[%zu]: C hash %.9g, golden %.9g", params[t].name,
                         (size_t)(j * g->stride), (double)got, (double)want);
        }
        double sum = 0, sumsq = 0;
        for (size_t i = 0; i < g->size; i++) {
            double v = golden_param(t, i);
            sum += v;
            sumsq += v * v;
        }
        assert_true(fabs(sum - g->sum) <= 1e-12 * g->sumabs);
        assert_true(fabs(sumsq - g->sumsq) <= 1e-12 * g->sumsq);
    }
}

/* The golden discriminates: wrong models lie far outside the tolerance. */
static void test_golden_discriminates(void **state)
{
    (void)state;
    static const char *const train_variants[] = {
        "variant/pad_2_1", "variant/flatten_nchw", "variant/conv_flipped",
        "variant/bn_unbiased_norm"};
    for (size_t i = 0; i < sizeof train_variants / sizeof train_variants[0]; i++) {
        double d = distance(train_variants[i], "logits_train");
        printf("  %-42s %.2e from logits_train\n", train_variants[i], d);
        assert_true(d > DISCRIMINATE);
    }
    double d = distance("variant/infer_initial_stats", "logits_infer");
    printf("  %-42s %.2e from logits_infer\n", "variant/infer_initial_stats", d);
    assert_true(d > DISCRIMINATE);
    static const char *const grads[] = {"batch_normalization/gamma", "conv2d/bias",
                                        "dense_1/bias"};
    for (size_t i = 0; i < sizeof grads / sizeof grads[0]; i++) {
        char a[96], b[96];
        snprintf(a, sizeof a, "variant/grad_bn_const/%s", grads[i]);
        snprintf(b, sizeof b, "grad/%s", grads[i]);
        d = distance(a, b);
        printf("  %-42s %.2e from %s\n", a, d, b);
        assert_true(d > DISCRIMINATE);
    }
}

/* One training forward, backward and an inference forward, on the naive backend. */
static void test_golden_model(void **state)
{
    (void)state;
    const golden_rec *gi = golden("images"), *gl = golden("labels");
    assert_int_equal(gi->size, N * SCNN_PIXELS);
    assert_int_equal(gl->size, N);
    assert_int_equal(gi->kind, 1);
    assert_int_equal(gl->kind, 1);

    scnn_model *m = NULL;
    assert_int_equal(scnn_model_create(&m, N, &scnn_backend_naive, 1), SCNN_OK);
    set_weights(m);
    scnn_model_set_dropout(m, false);

    float *x = malloc(sizeof(float) * N * SCNN_PIXELS);
    assert_non_null(x);
    scnn_images_to_float(gi->data, N * SCNN_PIXELS, x);
    float logits[N * SCNN_CLASSES];

    int bad = 0;
    printf("  (tolerance %.0e; running statistics %.0e)\n", TOL, TOL_STATS);
    scnn_model_forward(m, x, N, true, logits);
    bad += !(compare("logits_train", logits, N * SCNN_CLASSES, TOL) <= TOL);
    float loss = scnn_model_backward(m, gl->data, NULL);
    bad += !(compare("loss", &loss, 1, TOL) <= TOL);
    for (int t = 0; t < 14; t++) {
        char key[64];
        snprintf(key, sizeof key, "grad/%s", params[t].name);
        scnn_param *p = scnn_model_param_by_name(m, params[t].name);
        bad += !(compare(key, p->g, p->size, TOL) <= TOL);
    }
    static const char *const stats[] = {
        "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        "batch_normalization_1/moving_mean", "batch_normalization_1/moving_variance"};
    for (size_t i = 0; i < 4; i++) {
        scnn_param *p = scnn_model_param_by_name(m, stats[i]);
        assert_non_null(p);
        assert_false(p->trainable);
        bad += !(compare(stats[i], p->w, p->size, TOL_STATS) <= TOL_STATS);
    }

    scnn_model_forward(m, x, N, false, logits);
    bad += !(compare("logits_infer", logits, N * SCNN_CLASSES, TOL) <= TOL);

    free(x);
    scnn_model_free(m);
    if (bad)
        fail_msg("%d tensors differ from the PyTorch golden (see the lines above)", bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_weights_hash),
        cmocka_unit_test(test_golden_discriminates),
        cmocka_unit_test(test_golden_model),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
