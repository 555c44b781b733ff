/* The command line: help, summary counts, and every error path exits non-zero with one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Runs scnn with args; asserts the exit status and that the output contains want. */
static char *run_scnn(int want_rc, const char *want, const char *args)
{
    return tu_scnn_expect(want_rc, want, "", args);
}

/* An error is exactly one line. */
static void assert_one_line(const char *out)
{
    const char *nl = strchr(out, '\n');
    if (!nl || nl[1] != 0)
        fail_msg("expected a one-line message, got:\n%s", out);
}

static void test_summary_counts(void **state)
{
    (void)state;
    char *out = run_scnn(0, "Total params: 493,902", "summary");
    assert_non_null(strstr(out, "Trainable params: 493,772"));
    assert_non_null(strstr(out, "Non-trainable params: 130"));
    assert_non_null(strstr(out, "(None, 5, 5, 64)"));
    free(out);
}

static void test_help(void **state)
{
    (void)state;
    const char *cmds[] = {"", "summary", "train", "eval", "backends"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        free(run_scnn(0, "usage:", args));
    }
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct {
        const char *args, *want;
    } cases[] = {
        {"frobnicate", "unknown command"},
        {"train --nope", "unknown option '--nope'"},
        {"train --epochs", "needs a value"},
        {"train --epochs 0", "--epochs"},
        {"train --epochs 3x", "--epochs"},
        {"train --batch -5", "--batch"},
        {"train --val-split 1.5", "--val-split"},
        {"train --seed -1", "--seed"},
        {"train --dataset cifar", "unknown dataset"},
        {"eval --dataset cifar", "unknown dataset"},
        {"eval --model", "needs a value"},
        {"eval --probs", "needs a value"},
        {"summary --bogus", "unknown option"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = run_scnn(2, cases[i].want, cases[i].args);
        assert_one_line(out);
        free(out);
    }
}

static void test_unknown_backend(void **state)
{
    (void)state;
    char *out;
    int rc = tu_run(&out, "SCNN_BACKEND=nope %s train --epochs 1 --limit 100", tu_scnn());
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "unknown backend 'nope'"));
    assert_non_null(strstr(out, "naive"));
    assert_one_line(out);
    free(out);
}

static void test_missing_files(void **state)
{
    (void)state;
    char *out;
    int rc = tu_run(&out, "%s eval --model /nonexistent/best.ckpt", tu_scnn());
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "/nonexistent/best.ckpt"));
    assert_one_line(out);
    free(out);
    char *dir = tu_mkdtemp();
    rc = tu_run(&out, "%s train --data %s --epochs 1", tu_scnn(), dir);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, dir));
    assert_one_line(out);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_counts), cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_unknown_backend),
        cmocka_unit_test(test_missing_files),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
