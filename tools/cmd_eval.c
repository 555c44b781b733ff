/* scnn eval: a checkpoint's, or an ensemble's, test loss and accuracy, confusion matrix, per-class
 * scores; without --model the shipped models'. */
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
    printf("usage: %s eval [--model FILE|DIR] [options]\n\n"
           "Evaluates a checkpoint, or the ensemble of a folder of them, on the test set:\n"
           "test_loss, test_acc, the confusion matrix and per-class precision, recall and F1.\n\n"
           "  --model FILE     a checkpoint (for example runs/X/iter-0/best.ckpt)\n"
           "  --model DIR      the ensemble of every *.ckpt in DIR and every DIR/*/best.ckpt\n"
           "                   (a run folder): the mean of their probabilities; each member's\n"
           "                   test_acc is printed too\n"
           "                   (default: the shipped models of the data set: the first of\n"
           "                   $SCNN_MODELS/D, models/D beside the program, %s/D)\n"
           "  --dataset D      fashion_mnist or mnist (default: the checkpoint's, else\n"
           "                   fashion_mnist); a checkpoint of another data set is an error\n"
           "  --data DIR       IDX folder (default: data/idx/D), or a PNG tree from\n"
           "                   'scnn extract' (its root, or ROOT/test/D)\n"
           "  --test-limit N   the first N test images only\n"
           "  --probs FILE     also write the test probabilities to FILE (atomically): N x 10\n"
           "                   float32 in the machine's byte order, image-major, the ensemble's\n"
           "                   mean for a DIR; the layout of a run's iter-k/test_probs.f32\n",
           prog, models_installed_dir());
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *dataset = NULL, *data_dir = NULL, *probs_out = NULL;
    size_t test_limit = 0;
    cli c = cli_start("eval", argc, argv);
    while (cli_next(&c)) {
        long n;
        if (cli_help(&c)) {
            eval_help();
            return 0;
        }
        if (cli_str(&c, "--model", &model_path) || cli_dataset(&c, "--dataset", false, &dataset) ||
            cli_str(&c, "--data", &data_dir) || cli_str(&c, "--probs", &probs_out)) {
        } else if (cli_long(&c, "--test-limit", 1, 100000000, &n)) {
            test_limit = (size_t)n;
        } else {
            cli_unknown(&c);
        }
    }
    if (c.rc >= 0)
        return c.rc;
    const scnn_backend *be = pick_backend("eval");
    if (!be)
        return EXIT_USAGE;
    char shipped[4096];
    if (!model_path) {
        if (!default_models("eval", dataset ? dataset : "fashion_mnist", shipped,
                            sizeof shipped))
            return 1;
        model_path = shipped;
    }
    scnn_ensemble *e;
    if (scnn_ensemble_open(&e, model_path, dataset, 250, be) != SCNN_OK)
        return runtime_error("eval");
    if (!(dataset = scnn_ensemble_dataset(e)))
        dataset = "fashion_mnist";
    char dir[2048];
    if (data_dir)
        snprintf(dir, sizeof dir, "%s", data_dir);
    else
        scnn_dataset_dir(dir, sizeof dir, dataset);
    scnn_dataset test = {0};
    if (scnn_dataset_load(&test, dir, dataset, "t10k") != SCNN_OK) {
        scnn_ensemble_free(e);
        return runtime_error("eval");
    }
    size_t n = test_limit && test_limit < test.n ? test_limit : test.n;
    int k = scnn_ensemble_size(e);
    uint8_t *pred = malloc(n ? n : 1);
    float *probs = k > 1 ? malloc((size_t)k * (n ? n : 1) * SCNN_CLASSES * sizeof *probs) : NULL;
    /* the ensemble's mean, or the one model's probabilities when --probs asks for them */
    float *mean = k > 1 || probs_out ? malloc((n ? n : 1) * SCNN_CLASSES * sizeof *mean) : NULL;
    const float **members = k > 1 ? malloc((size_t)k * sizeof *members) : NULL;
    if (!pred || (k > 1 && (!probs || !members)) || ((k > 1 || probs_out) && !mean)) {
        free(pred), free(probs), free(mean), free(members);
        scnn_dataset_free(&test);
        scnn_ensemble_free(e);
        fprintf(stderr, "%s eval: error: out of memory\n", prog);
        return 1;
    }
    int threads = scnn_backend_threads(be);
    double loss, acc;
    if (k == 1) {
        const scnn_ckpt_meta *meta = scnn_ensemble_meta(e, 0);
        scnn_ensemble_member_evaluate(e, 0, test.images, test.labels, n, &loss, &acc, pred, mean);
        printf("model %s (dataset %s, epoch %d, seed %llu); backend %s, %d thread%s\n",
               scnn_ensemble_path(e, 0), meta->dataset, meta->epoch,
               (unsigned long long)meta->seed, be->name, threads, threads == 1 ? "" : "s");
    } else {
        printf("ensemble of %d models in %s (dataset %s, the mean of their probabilities); "
               "backend %s, %d thread%s\n",
               k, model_path, dataset, be->name, threads, threads == 1 ? "" : "s");
        for (int i = 0; i < k; i++) {
            const scnn_ckpt_meta *meta = scnn_ensemble_meta(e, i);
            float *p = probs + (size_t)i * n * SCNN_CLASSES;
            double li, ai;
            scnn_ensemble_member_evaluate(e, i, test.images, test.labels, n, &li, &ai, NULL, p);
            members[i] = p;
            printf("  model %s (epoch %d, seed %llu): test_loss %.4f, test_acc %.4f\n",
                   scnn_ensemble_path(e, i), meta->epoch, (unsigned long long)meta->seed, li,
                   ai);
        }
        scnn_probs_mean(mean, members, k, n * SCNN_CLASSES);
        scnn_probs_score(mean, test.labels, n, &loss, &acc, pred);
    }
    if (probs_out &&
        scnn_write_atomic(probs_out, mean, n * SCNN_CLASSES * sizeof *mean) != SCNN_OK) {
        free(pred), free(probs), free(mean), free(members);
        scnn_dataset_free(&test);
        scnn_ensemble_free(e);
        return runtime_error("eval");
    }
    printf("test images: %zu\ntest_loss: %.4f\ntest_acc: %.4f\n\n", n, loss, acc);
    scnn_class_report r;
    scnn_class_report_compute(&r, test.labels, pred, n);
    scnn_class_report_print(&r, scnn_class_names(dataset), stdout);
    free(pred), free(probs), free(mean), free(members);
    scnn_dataset_free(&test);
    scnn_ensemble_free(e);
    return 0;
}

