/* scnn: the command-line program. Subcommands: summary, train, eval, backends, extract, predict.
 * Exit status: 0 success, 1 a runtime failure (bad file, I/O), 2 a usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"
#include "scnn_png.h"

/* ---- summary ---- */

int cmd_summary(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s summary\n\nPrints the model's layers, output shapes and parameter "
                   "counts, as Keras's model.summary().\n",
                   prog);
            return 0;
        }
        return usage_error("summary", "unknown option '%s'", argv[i]);
    }
    scnn_model *m;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, 1) != SCNN_OK)
        return runtime_error("summary");
    scnn_model_summary(m, stdout);
    scnn_model_free(m);
    return 0;
}

/* ---- backends ---- */

int cmd_backends(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s backends\n\nLists the kernel backends, whether each can run on this "
                   "CPU (and why not), and the operations each leaves to naive.\nSelect one with "
                   "SCNN_BACKEND=name (unset or 'auto': the fastest available).\n",
                   prog);
            return 0;
        }
        return usage_error("backends", "unknown option '%s'", argv[i]);
    }
    char err[512];
    const scnn_backend *chosen = scnn_backend_select(NULL, err, sizeof err);
    for (int i = 0; i < scnn_backend_count(); i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        bool ok = scnn_backend_available(b, &why);
        char fb[512];
        scnn_backend_fallbacks(b, fb, sizeof fb);
        printf("%-8s %-13s %s%s\n", b->name, ok ? "available" : "unavailable", b->description,
               b == chosen ? "  [auto]" : "");
        if (!ok)
            printf("         why not: %s\n", why);
        if (fb[0])
            printf("         uses naive for: %s\n", fb);
        if (ok)
            printf("         threads: %d\n", scnn_backend_threads(b));
    }
    return 0;
}

/* ---- train ---- */

static void train_help(void)
{
    printf("usage: %s train [options]\n\n"
           "Trains the seed's simple CNN on a seeded random train/validation split of the\n"
           "training originals, keeps the checkpoint of the epoch with the lowest validation\n"
           "loss, and evaluates it on the test set.\n\n"
           "  --dataset D      fashion_mnist (default) or mnist\n"
           "  --data DIR       folder with the IDX files (default: data/idx/D, or\n"
           "                   $SCNN_DATA/idx/D; 'make data' fetches them), or a PNG tree\n"
           "                   from 'scnn extract' (its root, or ROOT/train/D)\n"
           "  --epochs N       epochs (default 80)\n"
           "  --batch N        batch size (default 250; the last partial batch is used)\n"
           "  --limit N        use only the first N training originals (before the split)\n"
           "  --test-limit N   evaluate on the first N test images only\n"
           "  --val-split F    fraction of originals held out for validation (default 0.2)\n"
           "  --seed S         random seed (default 1): split, shuffle, dropout, initialisation\n"
           "  --iterations N   models to train, iteration k with seed S+k (default 5 for\n"
           "                   fashion_mnist, 1 for mnist, as the seed)\n"
           "  --augment K      augmented copies of every training image (default 2: rotation\n"
           "                   within +-10 degrees, horizontal flip p=0.5)\n"
           "  --protocol P     clean (default): a different split per iteration, augment only\n"
           "                   the training part, validate on originals; seed: the seed's\n"
           "                   order (augment all, then the same split every iteration)\n"
           "  --select R       checkpoint rule: val_loss (default, the seed's) or val_acc\n"
           "  --patience P     stop an iteration after P epochs without improvement\n"
           "  --out DIR        run folder (default runs/<dataset>-<timestamp>); writes\n"
           "                   DIR/iter-K/{history.csv,best.ckpt,result.txt}, DIR/summary.json\n"
           "  --no-report      do not write DIR/report/ (scnn report) at the end\n"
           "  --resume DIR     continue a killed run in DIR with its saved options (byte-\n"
           "                   identical to an uninterrupted run on the same backend)\n\n"
           "Environment: SCNN_BACKEND=naive|im2col|avx2|omp|auto selects the kernels;\n"
           "OMP_NUM_THREADS the threads of the omp backend.\n",
           prog);
}

/* The report is a by-product of training: a failure there does not fail the training. */
static void report_after_training(const char *dir)
{
    if (scnn_report(dir, NULL, NULL) != SCNN_OK)
        fprintf(stderr, "warning: no report: %s\n", scnn_last_error());
}

int cmd_train(int argc, char **argv)
{
    scnn_train_opts o;
    scnn_train_opts_default(&o);
    o.out_dir = NULL;
    const char *resume = NULL;
    bool no_report = false;
    char outbuf[256];
    int nopts = argc - 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool mt;
        long n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            train_help();
            return 0;
        }
#define OPT(name) ((v = opt_value(argc, argv, &i, name, &mt)), mt)
#define NEED(name)                                                                                \
    if (!v)                                                                                       \
        return usage_error("train", "option %s needs a value", name);
        if (OPT("--dataset")) {
            NEED("--dataset");
            if (!is_dataset(v))
                return usage_error("train", "unknown dataset '%s' (fashion_mnist or mnist)", v);
            o.dataset = v;
        } else if (OPT("--data")) {
            NEED("--data");
            o.data_dir = v;
        } else if (OPT("--epochs")) {
            NEED("--epochs");
            if (!scnn_parse_long(v, 1, 100000, &n))
                return usage_error("train", "--epochs: expected an integer 1..100000, got '%s'", v);
            o.epochs = (int)n;
        } else if (OPT("--batch")) {
            NEED("--batch");
            if (!scnn_parse_long(v, 1, 100000, &n))
                return usage_error("train", "--batch: expected an integer 1..100000, got '%s'", v);
            o.batch = (int)n;
        } else if (OPT("--limit")) {
            NEED("--limit");
            if (!scnn_parse_long(v, 1, 100000000, &n))
                return usage_error("train", "--limit: expected a positive integer, got '%s'", v);
            o.limit = (size_t)n;
        } else if (OPT("--test-limit")) {
            NEED("--test-limit");
            if (!scnn_parse_long(v, 1, 100000000, &n))
                return usage_error("train", "--test-limit: expected a positive integer, got '%s'",
                                   v);
            o.test_limit = (size_t)n;
        } else if (OPT("--val-split")) {
            NEED("--val-split");
            if (!scnn_parse_double(v, 0.0, 0.9, &o.val_split))
                return usage_error("train", "--val-split: expected a number in [0, 0.9], got '%s'",
                                   v);
        } else if (OPT("--seed")) {
            NEED("--seed");
            if (!scnn_parse_u64(v, &o.seed))
                return usage_error("train", "--seed: expected a non-negative integer, got '%s'", v);
        } else if (OPT("--iterations")) {
            NEED("--iterations");
            if (!scnn_parse_long(v, 1, 1000, &n))
                return usage_error("train", "--iterations: expected an integer 1..1000, got '%s'",
                                   v);
            o.iterations = (int)n;
        } else if (OPT("--augment")) {
            NEED("--augment");
            if (!scnn_parse_long(v, 0, 20, &n))
                return usage_error("train", "--augment: expected an integer 0..20, got '%s'", v);
            o.augment = (int)n;
        } else if (OPT("--protocol")) {
            NEED("--protocol");
            if (strcmp(v, "clean") != 0 && strcmp(v, "seed") != 0)
                return usage_error("train", "--protocol: expected clean or seed, got '%s'", v);
            o.protocol = v;
        } else if (OPT("--select")) {
            NEED("--select");
            if (strcmp(v, "val_loss") != 0 && strcmp(v, "val_acc") != 0)
                return usage_error("train", "--select: expected val_loss or val_acc, got '%s'", v);
            o.select = v;
        } else if (OPT("--patience")) {
            NEED("--patience");
            if (!scnn_parse_long(v, 1, 100000, &n))
                return usage_error("train", "--patience: expected a positive integer, got '%s'", v);
            o.patience = (int)n;
        } else if (strcmp(a, "--no-report") == 0) {
            no_report = true;
        } else if (OPT("--resume")) {
            NEED("--resume");
            resume = v;
        } else if (OPT("--out")) {
            NEED("--out");
            o.out_dir = v;
        } else {
            return usage_error("train", "unknown option '%s'", a);
        }
#undef OPT
#undef NEED
    }
    if (resume && nopts > 2)
        return usage_error("train", "%s", "--resume DIR takes no other options: the run's own "
                                          "are in DIR/run.conf");
    if (!(o.backend = pick_backend("train")))
        return EXIT_USAGE;
    if (resume) {
        if (scnn_train_resume(resume, o.backend, isatty(STDOUT_FILENO)) != SCNN_OK)
            return runtime_error("train");
        report_after_training(resume);
        return 0;
    }
    if (!o.out_dir) {
        char stamp[32];
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
        snprintf(outbuf, sizeof outbuf, "runs/%s-%s", o.dataset, stamp);
        o.out_dir = outbuf;
    }
    o.progress = isatty(STDOUT_FILENO);
    if (scnn_train_run(&o) != SCNN_OK)
        return runtime_error("train");
    if (!no_report)
        report_after_training(o.out_dir);
    return 0;
}

/* ---- eval ---- */

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

/* ---- main ---- */

static void main_help(void)
{
    printf("usage: %s <command> [options]\n\n"
           "SCNN trains and benchmarks the seed's simple CNN for Fashion-MNIST in C.\n\n"
           "commands:\n"
           "  summary    the model's layers and parameter counts\n"
           "  train      train on a seeded split, keep the best checkpoint, evaluate on test\n"
           "  eval       evaluate a checkpoint: loss, accuracy, confusion matrix, per-class F1\n"
           "  extract    write the IDX images as the seed's PNG folder layout\n"
           "  predict    classify your own PNG images with a checkpoint\n"
           "  report     report.md and plots of a training run (curves, confusion, examples)\n"
           "  backends   the kernel backends and whether they can run here\n\n"
           "'%s <command> --help' describes each. SCNN_BACKEND selects the kernels.\n",
           prog, prog);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_help();
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        main_help();
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("scnn %s\n", scnn_git_rev());
        return 0;
    }
    if (strcmp(cmd, "summary") == 0)
        return cmd_summary(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "backends") == 0)
        return cmd_backends(argc - 1, argv + 1);
    if (strcmp(cmd, "extract") == 0)
        return cmd_extract(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (commands: summary, train, eval, backends, "
                    "extract, predict, report; see '%s --help')\n",
            prog, cmd, prog);
    return EXIT_USAGE;
}
