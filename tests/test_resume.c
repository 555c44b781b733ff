/* Resume: a run killed with SIGKILL in the middle of an epoch and resumed ends with checkpoints
 * and test probabilities byte-identical to an uninterrupted run. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ARGS "train --limit 1000 --test-limit 200 --batch 40 --epochs 3 --iterations 2 " \
             "--augment 1 --seed 11 --no-report"

static char *whole;   /* the uninterrupted run both tests compare with (setup) */

static int setup(void **state)
{
    (void)state;
    char *out, data[PATH_MAX];
    whole = tu_mkdtemp();
    if (!realpath(tu_data_dir("fashion_mnist"), data))
        return -1;
    int rc = tu_run(&out, "OMP_NUM_THREADS=1 %s " ARGS " --data %s --out %s/full", tu_scnn(), data,
                    whole);
    if (rc != 0)
        printf("uninterrupted run failed (%d):\n%s", rc, out);
    free(out);
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(whole);
    free(whole);
    return 0;
}

static void test_kill_and_resume(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out;
    int rc;

    /* Start the same run, wait until epoch 1 of iteration 0 has left its resumable state (so
     * epoch 2 is under way), kill it hard. Waiting for the file, not for a log line and a fixed
     * sleep, keeps the test right on a loaded machine. */
    rc = tu_run(&out,
                "OMP_NUM_THREADS=1 %s " ARGS " --out %s/cut > %s/cut.log 2>&1 & pid=$!; "
                "for i in $(seq 1 2400); do [ -e %s/cut/iter-0/state.txt ] && break; "
                "sleep 0.05; done; kill -9 $pid; wait $pid; echo killed=$?",
                tu_scnn(), dir, dir, dir);
    if (!strstr(out, "killed=137"))
        fail_msg("the run was not killed mid-way:\n%s", out);
    free(out);
    char path[512];
    snprintf(path, sizeof path, "%s/cut/iter-1/result.txt", dir);
    assert_null(tu_read_file(path, &(size_t){0})); /* it really stopped early */

    rc = tu_run(&out, "OMP_NUM_THREADS=1 %s train --resume %s/cut", tu_scnn(), dir);
    if (rc != 0)
        fail_msg("resume failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, "resuming after epoch"));
    free(out);

    const char *files[] = {"iter-0/best.ckpt", "iter-1/best.ckpt", "iter-0/test_probs.f32",
                           "iter-1/test_probs.f32"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/full/%s", whole, files[i]);
        snprintf(b, sizeof b, "%s/cut/%s", dir, files[i]);
        tu_assert_same_file(a, b);
    }
    /* Resuming a finished run only recomputes the summary. */
    rc = tu_run(&out, "OMP_NUM_THREADS=1 %s train --resume %s/cut", tu_scnn(), dir);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "already done"));
    assert_non_null(strstr(out, "ensemble"));
    free(out);
    /* A missing run is a clear error. */
    rc = tu_run(&out, "%s train --resume %s/nope", tu_scnn(), dir);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "run.conf"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

/* tools/resume_state.sh: a run killed in iteration 1 whose machine keeps only the repository
 * (iteration 0 shipped as tools/ship_models.sh ships it, iteration 1's state saved), rebuilt
 * elsewhere and resumed, ends as the uninterrupted run: checkpoints and test probabilities byte
 * for byte (iteration 0's remade by scnn eval --probs). */
static void test_carried_in_the_repository(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out, rel[1024], script[PATH_MAX], data[PATH_MAX], bin[PATH_MAX];
    /* absolute: the commands below run in dir */
    assert_true(tu_repo_path("tools/resume_state.sh", rel, sizeof rel));
    assert_non_null(realpath(rel, script));
    assert_non_null(realpath(tu_data_dir("fashion_mnist"), data));
    assert_non_null(realpath(tu_scnn(), bin));
    int rc = tu_run(&out,
                "OMP_NUM_THREADS=1 %s " ARGS " --data %s --out %s/cut > %s/cut.log 2>&1 & pid=$!; "
                "for i in $(seq 1 2400); do [ -e %s/cut/iter-1/state.txt ] && break; "
                "sleep 0.05; done; kill -9 $pid; wait $pid; echo killed=$?",
                bin, data, dir, dir, dir);
    if (!strstr(out, "killed=137"))
        fail_msg("the run was not killed in iteration 1:\n%s", out);
    free(out);
    /* what ship_models.sh keeps of a finished model, then save, restore elsewhere, resume */
    rc = tu_run(&out,
                "cd %s && mkdir -p shipped/fashion_mnist/iter-0 && "
                "%s export cut/iter-0/best.ckpt shipped/fashion_mnist/iter-0/best.ckpt && "
                "cp cut/iter-0/history.csv cut/iter-0/result.txt shipped/fashion_mnist/iter-0/ && "
                "SCNN_BIN=%s sh %s save cut saved && rm -rf cut && "
                "SHIPPED=shipped/fashion_mnist SCNN_BIN=%s sh %s restore saved again && "
                "OMP_NUM_THREADS=1 %s train --resume again 2>&1",
                dir, bin, bin, script, bin, script, bin);
    if (rc != 0)
        fail_msg("save, restore and resume failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, "[0] already done"));
    assert_non_null(strstr(out, "[1] resuming after epoch"));
    free(out);
    const char *files[] = {"iter-0/test_probs.f32", "iter-1/best.ckpt", "iter-1/test_probs.f32"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/full/%s", whole, files[i]);
        snprintf(b, sizeof b, "%s/again/%s", dir, files[i]);
        tu_assert_same_file(a, b);
    }
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_and_resume),
                                       cmocka_unit_test(test_carried_in_the_repository)};
    return cmocka_run_group_tests_name("resume", tests, setup, teardown);
}
