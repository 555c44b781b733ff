/* scnn train: the training protocol (model/train.c), then the report (report/). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/dist.h"
#include "tools/cli.h"

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
           "  --data-parallel  under mpirun: the ranks train each model together, every batch\n"
           "                   in 20 fixed chunks whose sums are added in chunk order, so the\n"
           "                   weights are those of one process with --data-parallel (the\n"
           "                   default under several ranks for one model; with more models the\n"
           "                   default puts one on each rank)\n"
           "  --resume DIR     continue a killed run in DIR with its saved options (byte-\n"
           "                   identical to an uninterrupted run on the same backend)\n\n"
           "Environment: SCNN_BACKEND=naive|im2col|avx2|omp|avx512|omp512|auto selects the kernels;\n"
           "OMP_NUM_THREADS the threads of the omp backend.\n",
           prog);
}

/* The report is a by-product of training: a failure there does not fail the training. */
static void report_after_training(const char *dir)
{
    if (scnn_dist_rank() != 0)   /* one report per run: rank 0's */
        return;
    if (scnn_report(dir, NULL, NULL) != SCNN_OK)
        fprintf(stderr, "warning: no report: %s\n", scnn_last_error());
}

static int train(int argc, char **argv);

/* Every rank parses the same command line: its --help text and usage errors are rank 0's to
 * print, once (under mpirun --quiet a bad option is then one line, not one per rank). The other
 * ranks' stdout and stderr point at /dev/null until the options are parsed (options_parsed). */
static int g_saved_out = -1, g_saved_err = -1;

static void hush_until_parsed(void)
{
    if (scnn_dist_rank() == 0)
        return;
    const int null = open("/dev/null", O_WRONLY);
    if (null < 0)
        return;
    fflush(stdout);
    fflush(stderr);
    g_saved_out = dup(STDOUT_FILENO);
    g_saved_err = dup(STDERR_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
}

static void options_parsed(void)
{
    fflush(stdout);
    fflush(stderr);
    if (g_saved_out >= 0) {
        dup2(g_saved_out, STDOUT_FILENO);
        close(g_saved_out);
        g_saved_out = -1;
    }
    if (g_saved_err >= 0) {
        dup2(g_saved_err, STDERR_FILENO);
        close(g_saved_err);
        g_saved_err = -1;
    }
}

/* Under mpirun or srun every rank runs this; a failing rank ends the whole job
 * (scnn_dist_finish), so that no other waits for it. */
int cmd_train(int argc, char **argv)
{
    if (scnn_dist_init(&argc, &argv) != SCNN_OK) {
        fprintf(stderr, "%s train: error: %s\n", prog, scnn_last_error());
        return EXIT_USAGE;
    }
    hush_until_parsed();
    const int rc = train(argc, argv);
    options_parsed();   /* a usage error or --help returns before train() restores them */
    return scnn_dist_finish(rc);
}

static int train(int argc, char **argv)
{
    scnn_train_opts o;
    scnn_train_opts_default(&o);
    o.out_dir = NULL;
    const char *resume = NULL;
    bool no_report = false;
    char outbuf[256];
    int nopts = argc - 1;
    static const char *const protocols[] = {"clean", "seed", NULL};
    static const char *const selects[] = {"val_loss", "val_acc", NULL};
    cli c = cli_start("train", argc, argv);
    while (cli_next(&c)) {
        const char *v = NULL;
        long n;
        if (cli_help(&c)) {
            train_help();
            return 0;
        }
        if (cli_dataset(&c, "--dataset", false, &o.dataset) || cli_str(&c, "--data", &o.data_dir) ||
            cli_choice(&c, "--protocol", protocols, &o.protocol) ||
            cli_choice(&c, "--select", selects, &o.select) || cli_str(&c, "--resume", &resume) ||
            cli_str(&c, "--out", &o.out_dir)) {
        } else if (cli_long(&c, "--epochs", 1, 100000, &n)) {
            o.epochs = (int)n;
        } else if (cli_long(&c, "--batch", 1, 100000, &n)) {
            o.batch = (int)n;
        } else if (cli_long(&c, "--limit", 1, 100000000, &n)) {
            o.limit = (size_t)n;
        } else if (cli_long(&c, "--test-limit", 1, 100000000, &n)) {
            o.test_limit = (size_t)n;
        } else if (cli_long(&c, "--iterations", 1, 1000, &n)) {
            o.iterations = (int)n;
        } else if (cli_long(&c, "--augment", 0, 20, &n)) {
            o.augment = (int)n;
        } else if (cli_long(&c, "--patience", 1, 100000, &n)) {
            o.patience = (int)n;
        } else if (cli_str(&c, "--val-split", &v)) {
            if (v && (!scnn_parse_double(v, 0.0, 0.9, &o.val_split) || o.val_split == 0.0))
                cli_fail(&c, "--val-split: expected a fraction in (0, 0.9], got '%s' (the kept "
                             "epoch is chosen on the validation set, so there must be one)", v);
        } else if (cli_str(&c, "--seed", &v)) {
            if (v && !scnn_parse_u64(v, &o.seed))
                cli_fail(&c, "--seed: expected a non-negative integer, got '%s'", v);
        } else if (cli_flag(&c, "--no-report")) {
            no_report = true;
        } else if (cli_flag(&c, "--data-parallel")) {
            o.data_parallel = true;
        } else {
            cli_unknown(&c);
        }
    }
    if (c.rc >= 0)
        return c.rc;
    if (resume && nopts > 2)
        return usage_error("train", "%s", "--resume DIR takes no other options: the run's own "
                                          "are in DIR/run.conf");
    /* Options that contradict each other before any data is read (a data set smaller than
     * --limit is found out, with exit 1, once it is). */
    if (o.limit) {
        size_t n_val = (size_t)llround((double)o.limit * o.val_split);
        if (n_val == 0 || n_val == o.limit) {
            char why[160];
            snprintf(why, sizeof why, "%zu originals x --val-split %g leave %s", o.limit,
                     o.val_split, n_val ? "no training images" : "no validation images");
            return usage_error("train", "--limit: %s (raise --limit or change --val-split)", why);
        }
    }
    if (!resume && scnn_train_is_data_parallel(&o, scnn_dist_size()) &&
        scnn_dist_size() > SCNN_DP_CHUNKS) {
        char why[300];
        snprintf(why, sizeof why, SCNN_DP_TOO_MANY, SCNN_DP_CHUNKS, SCNN_DP_CHUNKS,
                 scnn_dist_size());
        return usage_error("train", "%s", why);
    }
    /* The backend is each rank's own (its host's CPU): a rank that cannot run it says so. */
    options_parsed();
    if (!(o.backend = pick_backend("train")))
        return EXIT_USAGE;
    if (resume) {
        const scnn_status st = scnn_train_resume(resume, o.backend, isatty(STDOUT_FILENO));
        if (st != SCNN_OK) /* another backend than the run's is a usage error */
            return st == SCNN_ERR_BACKEND ? (runtime_error("train"), EXIT_USAGE)
                                          : runtime_error("train");
        report_after_training(resume);
        return 0;
    }
    if (!o.out_dir) {
        char stamp[32];
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
        scnn_dist_bcast(stamp, sizeof stamp);   /* one folder for every rank: rank 0's clock */
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
