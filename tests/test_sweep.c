/* No silent garbage: every option at and past its edges, the values read back from run.conf on
 * --resume, a loss that becomes NaN, a checkpoint used with the other data set, and
 * SCNN_BACKEND in every command. Each case is a one-line error with exit 2 (options) or 1
 * (files), or the behaviour README.md documents. The runs train on a tiny IDX data set written
 * here (20 training, 10 test images), so that the whole file takes seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/core.h"
#include "scnn.h"
#include "testutil.h"

static char *dir;   /* the data set in dir/data, the runs in dir/<name> */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void write_idx(const char *part, uint32_t n)
{
    char path[600];
    size_t len = 16 + (size_t)n * SCNN_PIXELS;
    uint8_t *b = malloc(len);
    assert_non_null(b);
    put32(b, 0x803), put32(b + 4, n), put32(b + 8, 28), put32(b + 12, 28);
    for (size_t i = 16; i < len; i++)
        b[i] = (uint8_t)(tu_rand_u64(n, i) & 0xff);
    snprintf(path, sizeof path, "%s/data/%s-images-idx3-ubyte", dir, part);
    tu_write_file(path, b, len);
    put32(b, 0x801);
    for (uint32_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(i % 10);
    snprintf(path, sizeof path, "%s/data/%s-labels-idx1-ubyte", dir, part);
    tu_write_file(path, b, 8 + n);
    free(b);
}

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    char *out;
    assert_int_equal(tu_run(&out, "mkdir -p %s/data", dir), 0);
    free(out);
    write_idx("train", 20);
    write_idx("t10k", 10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmrf_free(&dir);
}

/* Runs scnn with args (%D is replaced by the temporary folder); checks the exit status and
 * that the output holds want; returns the output. */
static char *scnn(int want_rc, const char *want, const char *args)
{
    char cmd[2048], *o = cmd;
    for (const char *a = args; *a && o < cmd + sizeof cmd - 600; a++) {
        if (a[0] == '%' && a[1] == 'D') {
            o += snprintf(o, 600, "%s", dir);
            a++;
        } else {
            *o++ = *a;
        }
    }
    *o = 0;
    return tu_scnn_expect(want_rc, want, "OMP_NUM_THREADS=1", cmd);
}

static void one_line(int want_rc, const char *want, const char *args)
{
    char *out = scnn(want_rc, want, args);
    const char *nl = strchr(out, '\n');
    if (!nl || nl[1] != 0)
        fail_msg("scnn %s: expected a one-line message, got:\n%s", args, out);
    free(out);
}

#define TINY "train --data %D/data --augment 0 --iterations 1 --no-report "

static void test_option_edges(void **state)
{
    (void)state;
    static const struct {
        const char *args, *want;
    } usage[] = {
        {"train --val-split 0", "--val-split"},
        {"train --val-split 0.0", "there must be one"},
        {"train --val-split -0.1", "--val-split"},
        {"train --val-split 0.95", "--val-split"},
        {"train --val-split nan", "--val-split"},
        {"train --limit 2", "no validation images"},          /* 2 x 0.2 rounds to 0 */
        {"train --limit 1 --val-split 0.9", "no training images"},
        {"train --limit 0", "--limit"},
        {"train --test-limit 0", "--test-limit"},
        {"train --epochs 100001", "--epochs"},
        {"train --batch 0", "--batch"},
        {"train --batch 100001", "--batch"},
        {"train --iterations 0", "--iterations"},
        {"train --augment 21", "--augment"},
        {"train --patience 0", "--patience"},
        {"train --seed 18446744073709551616", "--seed"},
        {"train --epochs 99999999999999999999", "--epochs"},
        {"train --resume %D/x --epochs 2", "takes no other options"},
        {"eval --model x --test-limit 0", "--test-limit"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        one_line(2, usage[i].want, usage[i].args);
}

/* Defined behaviours at the edges, on the tiny set: a batch of one (BatchNorm over a single
 * example stays finite), a batch and a --limit larger than the data (one batch of all of it;
 * all of it), a --test-limit larger than the test set (all of it). */
static void test_edges_that_run(void **state)
{
    (void)state;
    char *out = scnn(0, "kept epoch 1", TINY "--batch 1 --epochs 1 --limit 6 --out %D/b1");
    assert_null(strstr(out, "nan"));
    free(out);
    out = scnn(0, "16 training images", TINY "--batch 100000 --limit 1000 --test-limit 1000 "
                                             "--epochs 2 --out %D/big");
    assert_non_null(strstr(out, "4 validation, 10 test"));
    assert_null(strstr(out, "nan"));
    free(out);
    char path[600];
    snprintf(path, sizeof path, "%s/big/summary.json", dir);
    size_t len;
    char *json = tu_read_file(path, &len);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"batch\": 100000"));
    assert_non_null(strstr(json, "\"n_val\": 4"));
    free(json);
}

/* Rewrites key=value in DIR/run.conf (a finished tiny run copied to DIR). */
static void edit_conf(const char *run, const char *sed)
{
    char *out;
    int rc = tu_run(&out, "rm -rf %s/r && cp -r %s/%s %s/r && sed -i '%s' %s/r/run.conf", dir,
                    dir, run, dir, sed, dir);
    assert_int_equal(rc, 0);
    free(out);
}

static void test_resume_reads_run_conf_strictly(void **state)
{
    (void)state;
    free(scnn(0, "kept epoch", TINY "--epochs 1 --limit 10 --out %D/base"));
    free(scnn(0, "already done", "train --resume %D/base"));
    static const struct {
        const char *sed, *want;
    } bad[] = {
        {"s/^epochs=.*/epochs=3x/", "bad value for epochs: '3x'"},
        {"s/^epochs=.*/epochs=0/", "bad value for epochs"},
        {"s/^val_split=.*/val_split=0/", "val_split 0: want a fraction in (0, 0.9]"},
        {"s/^val_split=.*/val_split=nan/", "bad value for val_split"},
        {"s/^batch=.*/batch=-1/", "bad value for batch"},
        {"s/^limit=.*/limit=1e3/", "bad value for limit"},
        {"s/^seed=.*/seed=-1/", "bad value for seed"},
        {"s/^protocol=.*/protocol=fancy/", "bad value for protocol: 'fancy'"},
        {"s/^dataset=.*/dataset=cifar/", "bad value for dataset: 'cifar'"},
        {"/^augment=/d", "run.conf is incomplete"},
        {"$a epochs=2", "cannot resume"},
        {"s/^select=.*/select/", "expected key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        edit_conf("base", bad[i].sed);
        one_line(1, bad[i].want, "train --resume %D/r");
    }
    /* A malformed state.txt or result.txt is an error, not a silent restart. */
    edit_conf("base", "s/^epochs=.*/epochs=2/");
    char *out;
    assert_int_equal(tu_run(&out, "rm %s/r/iter-0/result.txt && printf 'scnn-train-state 1\\n"
                                  "epoch 1\\nslot a\\n' > %s/r/iter-0/state.txt", dir, dir), 0);
    free(out);
    free(scnn(1, "state.txt is unreadable or malformed", "train --resume %D/r"));
    edit_conf("base", "s/^epochs=.*/epochs=1/");
    assert_int_equal(tu_run(&out, "sed -i 's/^best_epoch .*/best_epoch 7/' %s/r/iter-0/result.txt",
                            dir), 0);
    free(out);
    free(scnn(1, "result.txt or its test_probs.f32", "train --resume %D/r"));
}

/* A loss that becomes NaN stops the run with an error naming the epoch (resumed here from a
 * slot checkpoint whose weights were poisoned). */
static void test_nan_loss_stops(void **state)
{
    (void)state;
    free(scnn(0, "kept epoch", TINY "--epochs 1 --limit 10 --out %D/nan"));
    char path[600], slot[600];
    snprintf(path, sizeof path, "%s/nan/iter-0/best.ckpt", dir);
    snprintf(slot, sizeof slot, "%s/nan/iter-0/slot-a.ckpt", dir);
    scnn_model *m;
    scnn_ckpt_meta meta;
    assert_int_equal(scnn_model_create(&m, 8, &scnn_backend_naive, 1), SCNN_OK);
    assert_int_equal(scnn_checkpoint_load(path, m, &meta), SCNN_OK);
    scnn_param *p = scnn_model_param_by_name(m, "dense_2/kernel");
    assert_non_null(p);
    for (size_t i = 0; i < p->size; i++)
        p->w[i] = 3e38f; /* finite, but the logits overflow */
    assert_int_equal(scnn_checkpoint_save(slot, m, &meta), SCNN_OK);
    scnn_model_free(m);
    size_t len;
    void *bytes = tu_read_file(slot, &len);
    char sha[65], *out;
    scnn_sha256_hex(bytes, len, sha);
    free(bytes);
    assert_int_equal(tu_run(&out, "cd %s/nan && sed -i 's/^epochs=.*/epochs=3/' run.conf && "
                                  "rm iter-0/result.txt summary.json && "
                                  "tail -n +2 iter-0/history.csv > h && "
                                  "printf 'scnn-train-state 1\\nepoch 1\\nslot a\\nckpt_sha256 %s\\n"
                                  "best_epoch 1\\nbest_metric 1\\nsince_best 0\\nhistory\\n' "
                                  "> iter-0/state.txt && cat h >> iter-0/state.txt",
                            dir, sha), 0);
    free(out);
    out = scnn(1, "training diverged at epoch 2", "train --resume %D/nan");
    assert_null(strstr(out, "Epoch 2/3"));
    free(out);
}

/* A checkpoint knows its data set: eval and predict refuse the other one (one line, exit 1), and
 * take the checkpoint's when --dataset is not given. */
static void test_checkpoint_of_the_other_data_set(void **state)
{
    (void)state;
    free(scnn(0, "kept epoch", TINY "--epochs 1 --limit 10 --out %D/ds"));
    one_line(1, "is a fashion_mnist model, not a mnist one",
             "eval --model %D/ds/iter-0/best.ckpt --dataset mnist --data %D/data");
    one_line(1, "is a fashion_mnist model, not a mnist one",
             "predict --model %D/ds/iter-0/best.ckpt --dataset mnist %D/nothing.png");
    free(scnn(0, "test_acc", "eval --model %D/ds/iter-0/best.ckpt --data %D/data --test-limit 99"));
    char *out = scnn(0, "test images: 10", "eval --model %D/ds/iter-0/best.ckpt --data %D/data "
                                           "--dataset fashion_mnist --test-limit 99");
    free(out);
}

/* SCNN_BACKEND: validated by every command that picks a backend, ignored by those that run no
 * kernels. */
static void test_backend_rule(void **state)
{
    (void)state;
    const char *picks[] = {"train --epochs 1", "eval --model x", "predict --model x y.png",
                           "backends"};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        char args[256];
        snprintf(args, sizeof args, "%s", picks[i]);
        char *out;
        int rc = tu_run(&out, "SCNN_BACKEND=bogus %s %s", tu_scnn(), args);
        if (rc != 2 || !strstr(out, "unknown backend 'bogus'"))
            fail_msg("SCNN_BACKEND=bogus scnn %s: exit %d, output:\n%s", args, rc, out);
        free(out);
    }
    char *out;
    assert_int_equal(tu_run(&out, "SCNN_BACKEND=bogus %s summary", tu_scnn()), 0);
    free(out);
    assert_int_equal(tu_run(&out, "SCNN_BACKEND=bogus %s report --help", tu_scnn()), 0);
    free(out);
    assert_int_equal(tu_run(&out, "SCNN_BACKEND=bogus %s extract --help", tu_scnn()), 0);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_edges),
        cmocka_unit_test(test_edges_that_run),
        cmocka_unit_test(test_resume_reads_run_conf_strictly),
        cmocka_unit_test(test_nan_loss_stops),
        cmocka_unit_test(test_checkpoint_of_the_other_data_set),
        cmocka_unit_test(test_backend_rule),
    };
    return cmocka_run_group_tests_name("sweep", tests, setup, teardown);
}
