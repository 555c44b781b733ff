/* The model: parameter table and counts, initialisation, dropout masks, no allocation inside a
 * training step, and determinism of a few steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "testutil.h"
#include "model/layers.h"
#include "model/model_internal.h"

/* Counting allocator: the real one is glibc's __libc_*; ASan brings its own allocator, so the
 * count is only taken in the plain build. */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static volatile long alloc_calls;
void *malloc(size_t n) { alloc_calls++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { alloc_calls++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { alloc_calls++; return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { alloc_calls++; return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    alloc_calls++;
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}
#define COUNTING 1
#else
static long alloc_calls;
#define COUNTING 0
#endif

static scnn_model *make(int batch, uint64_t seed)
{
    scnn_model *m;
    assert_int_equal(scnn_model_create(&m, batch, &scnn_backend_naive, seed), SCNN_OK);
    return m;
}

static void test_param_counts(void **state)
{
    (void)state;
    scnn_model *m = make(2, 1);
    assert_int_equal(scnn_model_num_weights(m, true), 493772);
    assert_int_equal(scnn_model_num_weights(m, false), 130);
    const struct {
        const char *name;
        size_t size;
    } expect[] = {{"conv2d/kernel", 1024},  {"conv2d/bias", 64},   {"conv2d_1/kernel", 65536},
                  {"dense/kernel", 409600}, {"dense/bias", 256},   {"dense_1/kernel", 16384},
                  {"dense_2/kernel", 640},  {"dense_2/bias", 10},  {"batch_normalization_1/gamma", 64}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        scnn_param *p = scnn_model_param_by_name(m, expect[i].name);
        assert_non_null(p);
        assert_int_equal(p->size, expect[i].size);
    }
    assert_null(scnn_model_param_by_name(m, "nope"));
    scnn_param *k = scnn_model_param_by_name(m, "conv2d_1/kernel");
    assert_int_equal(k->rank, 4);
    assert_int_equal(k->dims[0], 4);
    assert_int_equal(k->dims[2], 64);
    scnn_model_free(m);
}

static void test_init(void **state)
{
    (void)state;
    scnn_model *a = make(1, 5), *b = make(1, 5), *c = make(1, 6);
    for (int i = 0; i < scnn_model_param_count(a); i++) {
        scnn_param *pa = scnn_model_param(a, i), *pb = scnn_model_param(b, i);
        assert_memory_equal(pa->w, pb->w, pa->size * sizeof(float));
    }
    /* Glorot uniform: within the limit, mean ~0, variance ~limit^2/3. */
    scnn_param *k = scnn_model_param_by_name(a, "dense/kernel");
    double limit = sqrt(6.0 / (1600 + 256)), s = 0, s2 = 0;
    for (size_t i = 0; i < k->size; i++) {
        assert_true(fabs(k->w[i]) <= (float)limit);
        s += k->w[i];
        s2 += (double)k->w[i] * k->w[i];
    }
    double mean = s / k->size, var = s2 / k->size - mean * mean;
    assert_true(fabs(mean) < 0.01 * limit);
    assert_true(fabs(var / (limit * limit / 3) - 1) < 0.01);
    scnn_param *conv = scnn_model_param_by_name(a, "conv2d_1/kernel");
    double climit = sqrt(6.0 / (16 * 64 + 16 * 64)), cmax = 0;
    for (size_t i = 0; i < conv->size; i++)
        cmax = fmax(cmax, fabs(conv->w[i]));
    assert_true(cmax <= (float)climit && cmax > 0.99 * climit);
    assert_memory_not_equal(k->w, scnn_model_param_by_name(c, "dense/kernel")->w, 1024);
    const char *zero[] = {"conv2d/bias", "dense_2/bias", "batch_normalization/beta",
                          "batch_normalization_1/moving_mean"};
    for (size_t i = 0; i < 4; i++) {
        scnn_param *p = scnn_model_param_by_name(a, zero[i]);
        for (size_t j = 0; j < p->size; j++)
            assert_true(p->w[j] == 0.0f);
    }
    scnn_param *var1 = scnn_model_param_by_name(a, "batch_normalization_1/moving_variance");
    for (size_t j = 0; j < var1->size; j++)
        assert_true(var1->w[j] == 1.0f);
    scnn_model_free(a);
    scnn_model_free(b);
    scnn_model_free(c);
}

static void fill_batch(uint8_t *x, uint8_t *y, int n)
{
    for (int i = 0; i < n * 784; i++)
        x[i] = (uint8_t)(scnn_rng_u64(3, 99, 0, (uint64_t)i) & 0xff);
    for (int i = 0; i < n; i++)
        y[i] = (uint8_t)(i % 10);
}

static void test_dropout_masks(void **state)
{
    (void)state;
    scnn_model *m = make(20, 9);
    uint8_t x[20 * 784], y[20];
    fill_batch(x, y, 20);
    scnn_images_to_float(x, 20 * 784, m->x0);
    scnn_model_forward(m, m->x0, 20, true, NULL);
    const float rates[3] = {0.1f, 0.3f, 0.5f};
    const float *masks[3] = {m->mask1, m->mask2, m->mask3};
    size_t sizes[3] = {20 * 14 * 14 * 64, 20 * 1600, 20 * 256};
    for (int l = 0; l < 3; l++) {
        size_t zeros = 0;
        for (size_t i = 0; i < sizes[l]; i++) {
            if (masks[l][i] == 0.0f)
                zeros++;
            else
                assert_true(fabsf(masks[l][i] - 1.0f / (1.0f - rates[l])) < 1e-6f);
        }
        double frac = (double)zeros / sizes[l];
        double sd = sqrt(rates[l] * (1 - rates[l]) / sizes[l]);
        if (fabs(frac - rates[l]) > 5 * sd)
            fail_msg("layer %d drops %.4f, want %.2f", l, frac, rates[l]);
    }
    /* A different step gives a different mask; inference uses none. */
    float keep[256];
    memcpy(keep, m->mask3, sizeof keep);
    scnn_model_set_step(m, 1);
    scnn_model_forward(m, m->x0, 20, true, NULL);
    assert_memory_not_equal(keep, m->mask3, sizeof keep);
    scnn_model_free(m);
}

static void test_no_allocation_in_steps(void **state)
{
    (void)state;
    uint8_t x[16 * 784], y[16];
    fill_batch(x, y, 16);
    for (int b = 0; b < scnn_backend_count(); b++) {
        const scnn_backend *be = scnn_backend_at(b);
        const char *why;
        if (!scnn_backend_available(be, &why))
            continue;
        scnn_model *m;
        assert_int_equal(scnn_model_create(&m, 16, be, 2), SCNN_OK);
        /* The first step may allocate outside the model (OpenMP starts its threads). */
        scnn_model_train_batch(m, x, y, 16, NULL);
        long before = alloc_calls;
        for (int s = 0; s < 3; s++)
            scnn_model_train_batch(m, x, y, s == 1 ? 7 : 16, NULL); /* a partial batch too */
        double loss, acc;
        scnn_model_evaluate(m, x, y, 16, &loss, &acc, NULL, NULL);
        if (COUNTING && alloc_calls != before)
            fail_msg("backend %s: %ld allocations in training steps", be->name,
                     alloc_calls - before);
        scnn_model_free(m);
    }
}

static void test_steps_deterministic_and_learning(void **state)
{
    (void)state;
    uint8_t x[16 * 784], y[16];
    fill_batch(x, y, 16);
    scnn_model *a = make(16, 4), *b = make(16, 4);
    float first = 0, last = 0;
    for (int s = 0; s < 12; s++) {
        /* Dropout on for the first steps (determinism), then off to memorise the batch. */
        scnn_model_set_dropout(a, s < 4);
        scnn_model_set_dropout(b, s < 4);
        float la = scnn_model_train_batch(a, x, y, 16, NULL);
        float lb = scnn_model_train_batch(b, x, y, 16, NULL);
        assert_true(la == lb);
        if (s == 4)
            first = la;
        last = la;
    }
    /* Memorising one batch: the loss must fall. */
    if (!(last < 0.5f * first))
        fail_msg("loss %.4f -> %.4f", first, last);
    assert_int_equal(scnn_model_step(a), 12);
    for (int i = 0; i < scnn_model_param_count(a); i++) {
        scnn_param *pa = scnn_model_param(a, i), *pb = scnn_model_param(b, i);
        assert_memory_equal(pa->w, pb->w, pa->size * sizeof(float));
    }
    scnn_model_free(a);
    scnn_model_free(b);
}

static void test_rng(void **state)
{
    (void)state;
    uint64_t key = scnn_rng_key(5, 4, 9);
    for (uint64_t i = 0; i < 100; i++)
        assert_true(scnn_rng_u64(5, 4, 9, i) == scnn_rng_at(key, i));
    assert_true(scnn_rng_u64(5, 4, 9, 0) != scnn_rng_u64(5, 4, 10, 0));
    assert_true(scnn_rng_u64(5, 4, 9, 0) != scnn_rng_u64(6, 4, 9, 0));
    double sum = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        float u = scnn_rng_uniform(1, 2, 3, i);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.005);
    enum { N = 1000 };
    uint32_t perm[N], perm2[N];
    bool seen[N] = {false};
    scnn_rng_permutation(perm, N, 7, SCNN_RNG_SHUFFLE, 1);
    scnn_rng_permutation(perm2, N, 7, SCNN_RNG_SHUFFLE, 1);
    assert_memory_equal(perm, perm2, sizeof perm);
    size_t fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_true(perm[i] < N && !seen[perm[i]]);
        seen[perm[i]] = true;
        fixed += perm[i] == (uint32_t)i;
    }
    assert_true(fixed < 10); /* a shuffled permutation has about one fixed point */
    scnn_rng_permutation(perm2, N, 7, SCNN_RNG_SHUFFLE, 2);
    assert_memory_not_equal(perm, perm2, sizeof perm);
}

/* The layer table is the network of SPEC.md section 1: each shape follows from the one before,
 * the parameters' shapes follow from the shapes, and names and bench rows are found. */
static void test_layer_table(void **state)
{
    (void)state;
    const scnn_layer *L = scnn_layers;
    assert_int_equal(scnn_layer_size(SCNN_L_INPUT), SCNN_PIXELS);
    assert_int_equal(L[SCNN_L_DENSE3].c, SCNN_CLASSES);
    scnn_model *m;
    assert_int_equal(scnn_model_create(&m, 2, &scnn_backend_naive, 1), SCNN_OK);
    for (int l = 1; l < SCNN_LAYERS; l++) {
        const scnn_layer *prev = &L[l - 1], *cur = &L[l];
        char name[96];
        snprintf(name, sizeof name, "%s/kernel", cur->name);
        scnn_param *k = scnn_model_param_by_name(m, name);
        if (strcmp(cur->type, "Conv2D") == 0) {
            int pad = cur->same ? cur->k - 1 : 0;
            assert_int_equal(cur->h, prev->h + pad - cur->k + 1);
            assert_int_equal(cur->w, prev->w + pad - cur->k + 1);
            assert_non_null(k);
            int want[4] = {cur->k, cur->k, prev->c, cur->c};
            assert_memory_equal(k->dims, want, sizeof want);
        } else if (strcmp(cur->type, "MaxPooling2D") == 0) {
            assert_int_equal(cur->h, prev->h / cur->k);
            assert_int_equal(cur->w, prev->w / cur->k);
            assert_int_equal(cur->c, prev->c);
        } else if (strcmp(cur->type, "Dense") == 0) {
            assert_non_null(k);
            assert_int_equal(k->dims[0], (int)scnn_layer_size(l - 1));
            assert_int_equal(k->dims[1], cur->c);
            assert_int_equal(cur->h * cur->w, 1);
        } else if (strcmp(cur->type, "Flatten") == 0) {
            assert_int_equal(scnn_layer_size(l), scnn_layer_size(l - 1));
        } else {   /* Dropout, BatchNormalization: the shape passes through */
            assert_int_equal(scnn_layer_size(l), scnn_layer_size(l - 1));
            assert_true(strcmp(cur->type, "Dropout") != 0 || (cur->rate > 0 && cur->rate < 1));
        }
        assert_int_equal(scnn_layer_find(cur->name), l);
        if (cur->bench)
            assert_int_equal(scnn_layer_find(cur->bench), l);
    }
    assert_int_equal(scnn_layer_find("conv2"), SCNN_L_CONV2);
    assert_int_equal(scnn_layer_find("no_such_layer"), -1);
    scnn_model_free(m);
}

static void test_create_rejects_bad_batch(void **state)
{
    (void)state;
    scnn_model *m = (scnn_model *)1;
    assert_int_equal(scnn_model_create(&m, 0, &scnn_backend_naive, 1), SCNN_ERR_ARG);
    assert_null(m);
    assert_non_null(strstr(scnn_last_error(), "batch"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_counts),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_no_allocation_in_steps),
        cmocka_unit_test(test_steps_deterministic_and_learning),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_layer_table),
        cmocka_unit_test(test_create_rejects_bad_batch),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
