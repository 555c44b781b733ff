/* The public API (include/libscnn.h) through the static archive: opening the shipped ensemble,
 * a file, a bad path and a bad backend; classify's probabilities and top-k agree with each other
 * and with the ensemble; two handles in one process, classifying at once from two threads, give
 * the same results as one after the other. */
#include "testutil.h"

#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "libscnn.h"
#include "scnn.h"

#define N 200

static scnn_dataset test;
static char models[1100];

static int setup(void **state)
{
    (void)state;
    char rel[64] = "models/fashion_mnist";
    if (!tu_repo_path(rel, models, sizeof models) ||
        scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k") != SCNN_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scnn_dataset_free(&test);
    return 0;
}

static void test_open_and_errors(void **state)
{
    (void)state;
    assert_string_equal(scnn_lib_version(), scnn_version());
    const char *names[16];
    int avail[16], count = 0;
    assert_int_equal(scnn_lib_backends(names, avail, 16, &count), SCNN_LIB_OK);
    assert_int_equal(count, scnn_backend_count());
    assert_string_equal(names[0], "naive");
    assert_int_equal(avail[0], 1);
    assert_int_equal(scnn_lib_backends(NULL, NULL, 0, &count), SCNN_LIB_OK);

    scnn_classifier *c = (scnn_classifier *)1;
    assert_int_equal(scnn_classifier_open(&c, "/nonexistent", NULL), SCNN_LIB_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(scnn_lib_message(), "/nonexistent"));
    assert_int_equal(scnn_classifier_open(&c, models, "nope"), SCNN_LIB_ERR_BACKEND);
    assert_non_null(strstr(scnn_lib_message(), "nope"));

    assert_int_equal(scnn_classifier_open(&c, models, "naive"), SCNN_LIB_OK);
    glob_t g;   /* the shipped models: every iter-K/best.ckpt (a run still going ships fewer) */
    char pat[1200];
    snprintf(pat, sizeof pat, "%s/iter-*/best.ckpt", models);
    assert_int_equal(glob(pat, 0, NULL, &g), 0);
    assert_int_equal(scnn_classifier_models(c), (int)g.gl_pathc);
    globfree(&g);
    assert_string_equal(scnn_classifier_backend(c), "naive");
    assert_string_equal(scnn_classifier_dataset(c), "fashion_mnist");
    assert_string_equal(scnn_classifier_class_name(c, 9), "Ankle boot");
    assert_null(scnn_classifier_class_name(c, 10));
    int top;
    assert_int_equal(scnn_classify(c, test.images, 1, NULL, 0, &top, NULL), SCNN_LIB_ERR_ARG);
    assert_int_equal(scnn_classify(c, NULL, 1, NULL, 1, &top, NULL), SCNN_LIB_ERR_ARG);
    scnn_classifier_close(c);
    scnn_classifier_close(NULL);
}

/* probabilities, top-3 from the same call, and the ensemble's own mean */
static void test_classify_agrees(void **state)
{
    (void)state;
    scnn_classifier *c;
    assert_int_equal(scnn_classifier_open(&c, models, NULL), SCNN_LIB_OK);
    float *probs = malloc(N * 10 * sizeof *probs), *tp = malloc(N * 3 * sizeof *tp);
    int *tc = malloc(N * 3 * sizeof *tc);
    assert_int_equal(scnn_classify(c, test.images, N, probs, 3, tc, tp), SCNN_LIB_OK);
    scnn_ensemble *e;
    char err[256];
    assert_int_equal(scnn_ensemble_open(&e, models, NULL, 64,
                                        scnn_backend_select(NULL, err, sizeof err)),
                     SCNN_OK);
    float *want = malloc(N * 10 * sizeof *want);
    for (int at = 0; at < N; at += 64)
        assert_int_equal(scnn_ensemble_probs(e, test.images + (size_t)at * SCNN_PIXELS,
                                             N - at < 64 ? (size_t)(N - at) : 64, want + at * 10),
                         SCNN_OK);
    tu_assert_same_bits("probabilities", probs, want, N * 10);
    for (int i = 0; i < N; i++) {
        const float *p = probs + i * 10;
        for (int j = 0; j < 3; j++)
            assert_memory_equal(&tp[i * 3 + j], &p[tc[i * 3 + j]], sizeof(float));
        assert_true(tp[i * 3] >= tp[i * 3 + 1] && tp[i * 3 + 1] >= tp[i * 3 + 2]);
        for (int k = 0; k < 10; k++)
            assert_true(p[k] <= tp[i * 3] && (k == tc[i * 3] || p[k] <= tp[i * 3 + 1] ||
                                              k == tc[i * 3 + 1]));
    }
    scnn_ensemble_free(e);
    free(want);
    free(probs);
    free(tp);
    free(tc);
    scnn_classifier_close(c);
}

typedef struct job {
    scnn_classifier *c;
    const char *backend;
    float *probs;
    int status;
} job;

static void *classify_job(void *arg)
{
    job *j = arg;
    j->status = scnn_classify(j->c, test.images, N, j->probs, 1, NULL, NULL);
    return NULL;
}

static void test_two_handles_at_once(void **state)
{
    (void)state;
    job jobs[2] = {{.backend = NULL}, {.backend = "naive"}};
    float *alone[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(scnn_classifier_open(&jobs[i].c, models, jobs[i].backend), SCNN_LIB_OK);
        jobs[i].probs = malloc(N * 10 * sizeof(float));
        alone[i] = malloc(N * 10 * sizeof(float));
        assert_int_equal(scnn_classify(jobs[i].c, test.images, N, alone[i], 1, NULL, NULL),
                         SCNN_LIB_OK);
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, classify_job, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].status, SCNN_LIB_OK);
        tu_assert_same_bits("concurrent probabilities", jobs[i].probs, alone[i], N * 10);
        free(jobs[i].probs);
        free(alone[i]);
        scnn_classifier_close(jobs[i].c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_errors),
        cmocka_unit_test(test_classify_agrees),
        cmocka_unit_test(test_two_handles_at_once),
    };
    return cmocka_run_group_tests_name("lib", tests, setup, teardown);
}
