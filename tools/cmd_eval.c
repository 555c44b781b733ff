/* scnn eval: a checkpoint's test loss and accuracy, confusion matrix, per-class scores. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"

static void eval_help(void)
{
    printf("usage: %s eval --model FILE [options]\n\n"
           "Evaluates a checkpoint on the test set: test_loss, test_acc, the confusion matrix\n"
           "and per-class precision, recall and F1.\n\n"
           "  --model FILE     checkpoint (for example runs/X/iter-0/best.ckpt)\n"
           "  --dataset D      fashion_mnist or mnist (default: the checkpoint's)\n"
           "  --data DIR       IDX folder (default: data/idx/D), or a PNG tree from\n"
           "                   'scnn extract' (its root, or ROOT/test/D)\n"
           "  --test-limit N   the first N test images only\n",
           prog);
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *dataset = NULL, *data_dir = NULL;
    size_t test_limit = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool mt;
        long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            eval_help();
            return 0;
        }
        if ((v = opt_value(argc, argv, &i, "--model", &mt)), mt) {
            if (!v)
                return usage_error("eval", "option %s needs a value", "--model");
            model_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--dataset", &mt)), mt) {
            if (!v)
                return usage_error("eval", "option %s needs a value", "--dataset");
            if (!is_dataset(v))
                return usage_error("eval", "unknown dataset '%s' (fashion_mnist or mnist)", v);
            dataset = v;
        } else if ((v = opt_value(argc, argv, &i, "--data", &mt)), mt) {
            if (!v)
                return usage_error("eval", "option %s needs a value", "--data");
            data_dir = v;
        } else if ((v = opt_value(argc, argv, &i, "--test-limit", &mt)), mt) {
            if (!v || !scnn_parse_long(v, 1, 100000000, &n))
                return usage_error("eval", "--test-limit: expected a positive integer, got '%s'",
                                   v ? v : "");
            test_limit = (size_t)n;
        } else {
            return usage_error("eval", "unknown option '%s'", a);
        }
    }
    if (!model_path)
        return usage_error("eval", "%s", "--model FILE is required");
    const scnn_backend *be = pick_backend("eval");
    if (!be)
        return EXIT_USAGE;
    scnn_model *m;
    if (scnn_model_create(&m, 250, be, 0) != SCNN_OK)
        return runtime_error("eval");
    scnn_ckpt_meta meta;
    if (scnn_checkpoint_load(model_path, m, &meta) != SCNN_OK) {
        scnn_model_free(m);
        return runtime_error("eval");
    }
    if (!dataset)
        dataset = is_dataset(meta.dataset) ? meta.dataset : "fashion_mnist";
    char dir[2048];
    if (data_dir)
        snprintf(dir, sizeof dir, "%s", data_dir);
    else
        scnn_dataset_dir(dir, sizeof dir, dataset);
    scnn_dataset test = {0};
    if (scnn_dataset_load(&test, dir, dataset, "t10k") != SCNN_OK) {
        scnn_model_free(m);
        return runtime_error("eval");
    }
    size_t n = test_limit && test_limit < test.n ? test_limit : test.n;
    uint8_t *pred = malloc(n);
    double loss, acc;
    scnn_model_evaluate(m, test.images, test.labels, n, &loss, &acc, pred, NULL);
    int threads = scnn_backend_threads(be);
    printf("model %s (dataset %s, epoch %d, seed %llu); backend %s, %d thread%s\n", model_path,
           meta.dataset, meta.epoch, (unsigned long long)meta.seed, be->name, threads,
           threads == 1 ? "" : "s");
    printf("test images: %zu\ntest_loss: %.4f\ntest_acc: %.4f\n\n", n, loss, acc);
    scnn_class_report r;
    scnn_class_report_compute(&r, test.labels, pred, n);
    scnn_class_report_print(&r, scnn_class_names(dataset), stdout);
    free(pred);
    scnn_dataset_free(&test);
    scnn_model_free(m);
    return 0;
}
