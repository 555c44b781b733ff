/* The data-parallel step (model/data_parallel.c) in one process, against the plain step: with
 * dropout off (its masks are keyed per chunk, so they differ by design) the chunked arithmetic
 * gives the plain gradients, batch-norm statistics and loss up to rounding, for a full batch and
 * for one smaller than the chunk count (empty chunks); its evaluation gives the plain one's
 * probabilities bit for bit; outputs that are not finite come back as a NaN loss. That the rank
 * count changes nothing is tests/test_mpi.c's (under mpirun). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/data_parallel.h"
#include "model/model_internal.h"
#include "scnn.h"

static scnn_dataset test;

static int setup(void **state)
{
    (void)state;
    return scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k") == SCNN_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    scnn_dataset_free(&test);
    return 0;
}

/* The largest |a - b| over a param, against its largest |a|. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mx = fmax(mx, fabs((double)a[i]));
    }
    return mx > 0 ? d / mx : d;
}

/* One step of each kind from the same weights, on n test images from `at`. */
static void compare_step(const scnn_backend *be, int n, int at)
{
    scnn_model *plain, *chunked;
    scnn_dp *dp;
    assert_int_equal(scnn_model_create(&plain, n, be, 7), SCNN_OK);
    assert_int_equal(scnn_model_create(&chunked, n, be, 7), SCNN_OK);
    assert_int_equal(scnn_dp_create(&dp, chunked), SCNN_OK);
    scnn_model_set_dropout(plain, false);
    scnn_model_set_dropout(chunked, false);
    const uint8_t *x = test.images + (size_t)at * SCNN_PIXELS, *y = test.labels + at;
    int c1 = -1, c2 = -1;
    for (int step = 0; step < 2; step++) {   /* the second from weights Adam has moved */
        /* From the same weights each time: Adam's first steps are about lr x sign(g), so a
         * rounding-sized gradient may move a weight either way; the gradients are compared. */
        for (int i = 0; i < scnn_model_param_count(plain); i++) {
            const scnn_param *p = scnn_model_param(plain, i);
            scnn_param *q = scnn_model_param(chunked, i);
            memcpy(q->w, p->w, p->size * sizeof *p->w);
            if (p->trainable) {
                memcpy(q->m, p->m, p->size * sizeof *p->m);
                memcpy(q->v, p->v, p->size * sizeof *p->v);
            }
        }
        const float l1 = scnn_model_train_batch(plain, x, y, n, &c1);
        const float l2 = scnn_dp_train_batch(dp, x, y, n, &c2);
        if (!(fabsf(l1 - l2) <= 1e-5f * fmaxf(1, fabsf(l1))))
            fail_msg("%s, batch %d, step %d: loss %.9g plain, %.9g chunked", be->name, n, step,
                     l1, l2);
        assert_int_equal(c1, c2);
        for (int i = 0; i < scnn_model_param_count(plain); i++) {
            const scnn_param *p = scnn_model_param(plain, i), *q = scnn_model_param(chunked, i);
            /* the gradients; the batch norms' running statistics */
            const double d = p->trainable ? rel_diff(p->g, q->g, p->size)
                                          : rel_diff(p->w, q->w, p->size);
            if (!(d <= 1e-4))
                fail_msg("%s, batch %d, step %d, %s: %s off by %.3g of the largest", be->name,
                         n, step, p->name, p->trainable ? "gradient" : "value", d);
        }
    }
    scnn_dp_free(dp);
    scnn_model_free(chunked);
    scnn_model_free(plain);
}

static void test_step_follows_the_plain_one(void **state)
{
    (void)state;
    char err[256];
    const scnn_backend *fast = scnn_backend_select("auto", err, sizeof err);
    assert_non_null(fast);
    const scnn_backend *bes[] = {&scnn_backend_naive, fast};
    for (int b = 0; b < 2; b++) {
        compare_step(bes[b], 60, 0);   /* 20 chunks of 3 */
        compare_step(bes[b], 7, 100);  /* 13 empty chunks */
    }
    /* Batch 1: dense_1's batch norm has one row, x - mean is 0 but for rounding, which 1/sqrt(eps)
     * magnifies; the chunked step normalises as x*scale + shift, as the SIMD backends do, not as
     * naive's (x - mean)*invstd, so only the fast backend agrees there. */
    compare_step(fast, 1, 200);
}

static void test_evaluate_is_the_plain_one(void **state)
{
    (void)state;
    enum { N = 601 };   /* batches 250, 250, 101 */
    scnn_model *m;
    scnn_dp *dp;
    assert_int_equal(scnn_model_create(&m, 250, &scnn_backend_naive, 3), SCNN_OK);
    assert_int_equal(scnn_dp_create(&dp, m), SCNN_OK);
    float *p1 = malloc(N * SCNN_CLASSES * sizeof *p1), *p2 = malloc(N * SCNN_CLASSES * sizeof *p2);
    assert_non_null(p1);
    assert_non_null(p2);
    double l1, a1, l2, a2;
    scnn_model_evaluate(m, test.images, test.labels, N, &l1, &a1, NULL, p1);
    assert_int_equal(scnn_dp_evaluate(dp, test.images, test.labels, N, &l2, &a2, p2), SCNN_OK);
    assert_memory_equal(p1, p2, N * SCNN_CLASSES * sizeof *p1);
    assert_true(fabs(l1 - l2) <= 1e-6 * fmax(1, l1));
    assert_true(a1 == a2);
    free(p1);
    free(p2);
    scnn_dp_free(dp);
    scnn_model_free(m);
}

static void test_outputs_not_finite(void **state)
{
    (void)state;
    scnn_model *m;
    scnn_dp *dp;
    assert_int_equal(scnn_model_create(&m, 40, &scnn_backend_naive, 3), SCNN_OK);
    assert_int_equal(scnn_dp_create(&dp, m), SCNN_OK);
    scnn_param *w = scnn_model_param_by_name(m, "dense_2/kernel");
    assert_non_null(w);
    w->w[0] = INFINITY;
    int c;
    assert_true(isnan(scnn_dp_train_batch(dp, test.images, test.labels, 40, &c)));
    scnn_dp_free(dp);
    scnn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_follows_the_plain_one),
        cmocka_unit_test(test_evaluate_is_the_plain_one),
        cmocka_unit_test(test_outputs_not_finite),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
