/* The training protocol (SPEC.md section 3): iterations of a seeded split, augmentation of the
 * training part, epochs of shuffled batches, the Keras-like log, history.csv, the best
 * checkpoint by the selection rule, the test evaluation, and the summary over iterations with
 * the ensemble.
 *
 * Resume: after every epoch the model (with Adam state) goes to one of two slot checkpoints
 * (alternating, so a kill while writing one leaves the other intact) and iter-k/state.txt names
 * the slot, its sha256 and the history at full precision (model/train_state.c). All randomness
 * is keyed by (seed, purpose, step, index), so a resumed run continues with the very numbers it
 * would have drawn. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "core/dist.h"
#include "model/data_parallel.h"
#include "model/run_folder.h"
#include "model/train_state.h"
#include "model/model_internal.h"
#include "scnn_png.h"

void scnn_train_opts_default(scnn_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dataset = "fashion_mnist";
    o->epochs = 80;
    o->batch = 250;
    o->val_split = 0.2;
    o->seed = 1;
    o->augment = 2;
    o->protocol = "clean";
    o->select = "val_loss";
    o->out_dir = "runs/default";
    o->backend = &scnn_backend_naive;
}

/* One epoch's figures, as Keras logs them: a row of history.csv (model/run_folder.h). An
 * iteration's figures are a scnn_run_result, as result.txt holds them. */
typedef hist_row epoch_stats;

/* Everything one run holds in memory. */
typedef struct run {
    scnn_train_opts o;
    char backend_name[32];
    int threads;
    scnn_dataset all, test;       /* originals, test set (test limited) */
    scnn_dataset all_aug;         /* protocol "seed": every original augmented */
    char data_sha[65];
    size_t n_test;
    scnn_run_conf conf;           /* a resumed run's run.conf: o's strings point into it */
} run;

#define PATH_LEN 2300

static bool select_by_acc(const scnn_train_opts *o) { return strcmp(o->select, "val_acc") == 0; }

/* ---- the options ------------------------------------------------------------------------- */

bool scnn_train_is_data_parallel(const scnn_train_opts *o, int ranks)
{
    const int iterations =
        o->iterations ? o->iterations : (o->dataset && strcmp(o->dataset, "mnist") == 0 ? 1 : 5);
    return o->data_parallel || (ranks > 1 && iterations == 1);
}

scnn_status scnn_train_opts_check(const scnn_train_opts *o)
{
    if (!o || !o->dataset || !scnn_class_names(o->dataset))
        return scnn_fail(SCNN_ERR_ARG, "dataset '%s': want fashion_mnist or mnist",
                         o && o->dataset ? o->dataset : "(none)");
#define RANGE(cond, what, fmt, v)                                                                 \
    if (!(cond))                                                                                  \
        return scnn_fail(SCNN_ERR_ARG, what " " fmt, v);
    RANGE(o->epochs >= 1 && o->epochs <= SCNN_MAX_EPOCHS, "epochs", "%d: want 1..100000", o->epochs)
    RANGE(o->batch >= 1 && o->batch <= SCNN_MAX_BATCH, "batch", "%d: want 1..100000", o->batch)
    RANGE(o->limit <= SCNN_MAX_IMAGES, "limit", "%zu: want 0..100000000", o->limit)
    RANGE(o->test_limit <= SCNN_MAX_IMAGES, "test_limit", "%zu: want 0..100000000", o->test_limit)
    RANGE(o->val_split > 0 && o->val_split <= 0.9, "val_split",
          "%g: want a fraction in (0, 0.9] (training keeps the epoch with the best validation "
          "figure, so it needs a validation set)", o->val_split)
    RANGE(o->iterations >= 0 && o->iterations <= 1000, "iterations", "%d: want 1..1000",
          o->iterations)
    RANGE(o->augment >= 0 && o->augment <= 20, "augment", "%d: want 0..20", o->augment)
    RANGE(o->patience >= 0 && o->patience <= SCNN_MAX_EPOCHS, "patience", "%d: want 0..100000",
          o->patience)
#undef RANGE
    if (!o->protocol || (strcmp(o->protocol, "clean") != 0 && strcmp(o->protocol, "seed") != 0))
        return scnn_fail(SCNN_ERR_ARG, "protocol '%s': want clean or seed",
                         o->protocol ? o->protocol : "(none)");
    if (!o->select || (strcmp(o->select, "val_loss") != 0 && strcmp(o->select, "val_acc") != 0))
        return scnn_fail(SCNN_ERR_ARG, "select '%s': want val_loss or val_acc",
                         o->select ? o->select : "(none)");
    if (!o->out_dir || !*o->out_dir)
        return scnn_fail(SCNN_ERR_ARG, "no run folder (out_dir)");
    if (!o->backend)
        return scnn_fail(SCNN_ERR_ARG, "no backend");
    return SCNN_OK;
}

/* ---- the options file: run.conf ------------------------------------------------------------ */

/* Reads dir/run.conf into r->conf and r->o (whose strings point into r->conf: no process-wide
 * state, so two runs can live in one process). */
static scnn_status read_run_conf(const char *dir, run *r)
{
    scnn_run_conf *c = &r->conf;
    scnn_train_opts *o = &r->o;
    if (scnn_run_conf_read(dir, c) != SCNN_OK) {
        char why[600];
        snprintf(why, sizeof why, "%s", scnn_last_error());
        return scnn_fail(SCNN_ERR_FORMAT, "cannot resume %s: %s", dir, why);
    }
    if (!c->complete)
        return scnn_fail(SCNN_ERR_FORMAT, "cannot resume %s: %s/run.conf is incomplete", dir, dir);
    scnn_train_opts_default(o);
    o->dataset = c->dataset;
    o->data_dir = c->data_dir[0] ? c->data_dir : NULL;
    o->epochs = c->epochs;
    o->batch = c->batch;
    o->limit = (size_t)c->limit;
    o->test_limit = (size_t)c->test_limit;
    o->val_split = c->val_split;
    o->seed = c->seed;
    o->iterations = c->iterations;
    o->augment = c->augment;
    o->protocol = c->protocol;
    o->select = c->select;
    o->patience = c->patience;
    o->data_parallel = c->data_parallel;
    o->out_dir = dir;
    /* The values must be what the command line would accept. */
    if (scnn_train_opts_check(o) != SCNN_OK) {
        char why[600];
        snprintf(why, sizeof why, "%s", scnn_last_error());
        return scnn_fail(SCNN_ERR_FORMAT, "cannot resume %s: %s/run.conf: %s", dir, dir, why);
    }
    return SCNN_OK;
}

/* ---- data for one iteration ----------------------------------------------------------------- */

static void gather(const scnn_dataset *src, const uint32_t *idx, size_t n, scnn_dataset *dst)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(dst->images + i * SCNN_PIXELS, src->images + (size_t)idx[i] * SCNN_PIXELS,
               SCNN_PIXELS);
        dst->labels[i] = src->labels[idx[i]];
    }
}

static scnn_status dataset_alloc(scnn_dataset *d, size_t n)
{
    memset(d, 0, sizeof *d);
    d->images = malloc(n ? n * SCNN_PIXELS : 1);
    d->labels = malloc(n ? n : 1);
    if (!d->images || !d->labels) {
        scnn_dataset_free(d);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory for %zu images", n);
    }
    d->n = n;
    d->rows = SCNN_IMG_H;
    d->cols = SCNN_IMG_W;
    return SCNN_OK;
}

/* Splits src by a seeded permutation: the first n_val are validation, the rest training. */
static scnn_status split(const scnn_dataset *src, double val_split, uint64_t seed,
                         scnn_dataset *train, scnn_dataset *val)
{
    size_t n = src->n, n_val = (size_t)llround((double)n * val_split);
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    scnn_status st = SCNN_OK;
    if (!perm)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    scnn_rng_permutation(perm, n, seed, SCNN_RNG_SPLIT, 0);
    if ((st = dataset_alloc(val, n_val)) == SCNN_OK &&
        (st = dataset_alloc(train, n - n_val)) == SCNN_OK) {
        gather(src, perm, n_val, val);
        gather(src, perm + n_val, n - n_val, train);
    }
    free(perm);
    return st;
}

/* The training and validation sets of iteration k.
 * clean: a different split of the originals per iteration; only the training part augmented.
 * seed:  the seed's order: everything augmented once, then the same split for every iteration. */
static scnn_status iteration_data(run *r, int k, scnn_dataset *train, scnn_dataset *val)
{
    const scnn_train_opts *o = &r->o;
    if (strcmp(o->protocol, "seed") == 0)
        return split(o->augment ? &r->all_aug : &r->all, o->val_split, o->seed, train, val);
    uint64_t seed = o->seed + (uint64_t)k;
    scnn_dataset part = {0};
    scnn_status st = split(&r->all, o->val_split, seed, &part, val);
    if (st != SCNN_OK)
        return st;
    if (o->augment == 0) {
        *train = part;
        return SCNN_OK;
    }
    st = scnn_augment_dataset(train, &part, o->augment, seed);
    scnn_dataset_free(&part);
    return st;
}

/* summary.json (its format is model/run_folder.c's) and the closing table on stdout. */
static scnn_status write_summary(const run *r, const scnn_run_result *res, int n_iter,
                                 size_t n_train, size_t n_val, double ens_loss, double ens_acc)
{
    const scnn_train_opts *o = &r->o;
    scnn_run_summary s = {.seed = o->seed, .threads = r->threads, .epochs = o->epochs,
                          .batch = o->batch, .augment = o->augment, .patience = o->patience,
                          .val_split = o->val_split, .n_originals = (long long)r->all.n,
                          .n_train = (long long)n_train, .n_val = (long long)n_val,
                          .n_test = (long long)r->n_test, .n_iter = n_iter, .it = res,
                          .ens_loss = ens_loss, .ens_acc = ens_acc};
    snprintf(s.dataset, sizeof s.dataset, "%s", o->dataset);
    snprintf(s.protocol, sizeof s.protocol, "%s", o->protocol);
    snprintf(s.select, sizeof s.select, "%s", o->select);
    snprintf(s.backend, sizeof s.backend, "%s", r->backend_name);
    snprintf(s.git_rev, sizeof s.git_rev, "%s", scnn_git_rev());
    memcpy(s.data_sha256, r->data_sha, sizeof s.data_sha256);
    scnn_status st = scnn_run_summary_write(o->out_dir, &s);

    printf("\n%s, protocol %s, %d model%s, selection by %s\n", o->dataset, o->protocol, n_iter,
           n_iter == 1 ? "" : "s", o->select);
    printf("%4s %6s %5s %10s %9s %8s %7s %9s %8s\n", "iter", "seed", "kept", "train_loss",
           "train_acc", "val_loss", "val_acc", "test_loss", "test_acc");
    for (int i = 0; i < n_iter; i++)
        printf("%4d %6llu %5d %10.4f %8.2f%% %8.4f %6.2f%% %9.4f %7.2f%%\n", i,
               (unsigned long long)(o->seed + (uint64_t)i), res[i].best_epoch, res[i].train_loss,
               100 * res[i].train_acc, res[i].val_loss, 100 * res[i].val_acc, res[i].test_loss,
               100 * res[i].test_acc);
    printf("test (mean +- std over %d): loss %.4f +- %.4f, accuracy %.2f%% +- %.2f%%\n", n_iter,
           s.mean_test_loss, s.std_test_loss, 100 * s.mean_test_acc, 100 * s.std_test_acc);
    printf("at the kept epoch (mean): train loss %.4f acc %.2f%%; validation loss %.4f acc %.2f%%\n",
           s.mean_train_loss, 100 * s.mean_train_acc, s.mean_val_loss, 100 * s.mean_val_acc);
    printf("ensemble (mean of the %d models' probabilities): test loss %.4f, accuracy %.2f%%\n",
           n_iter, ens_loss, 100 * ens_acc);
    return st;
}

/* ---- one iteration ----------------------------------------------------------------------------- */

/* The prefix of iteration k's lines: "[k]", and under several ranks the rank that trains it
 * ("[k, rank r]"). Each line goes out whole (stdout is line-buffered there: run_all), so the
 * ranks' lines, which mpirun forwards, never interleave within a line. */
static const char *tag(const run *r, int k)
{
    static char buf[48];
    if (scnn_dist_size() > 1 && r->o.data_parallel)
        snprintf(buf, sizeof buf, "[%d, %d ranks]", k, scnn_dist_size());
    else if (scnn_dist_size() > 1)
        snprintf(buf, sizeof buf, "[%d, rank %d]", k, scnn_dist_rank());
    else
        snprintf(buf, sizeof buf, "[%d]", k);
    return buf;
}

/* A line of the run's output: under iterations over ranks, rank 0 prints every rank's
 * (core/dist.c); data-parallel, rank 0's alone (the others have the same lines). */
static void say(const run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const run *r, const char *fmt, ...)
{
    if (r->o.data_parallel && scnn_dist_rank() != 0)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    scnn_dist_say(line);
}

static void progress_bar(int k, size_t done, size_t total, double elapsed, double loss, double acc)
{
    int width = 30, filled = total ? (int)((double)width * done / total) : width;
    double eta = done ? elapsed * (double)(total - done) / (double)done : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : '.');
    bar[width] = 0;
    /* (one process: several ranks draw no bar) */
    printf("\r[%d] %7zu/%zu [%s] ETA %4.0fs - loss: %.4f - acc: %.4f ", k, done, total, bar, eta,
           loss, acc);
    fflush(stdout);
}

static bool improved(const scnn_train_opts *o, const epoch_stats *e, double best, int best_epoch)
{
    if (best_epoch == 0)
        return true;
    return select_by_acc(o) ? e->val_acc > best : e->val_loss < best;
}

static scnn_status train_iteration(run *r, int k, const scnn_dataset *train,
                                   const scnn_dataset *val, scnn_run_result *res,
                                   float *test_probs)
{
    const scnn_train_opts *o = &r->o;
    uint64_t seed = o->seed + (uint64_t)k;
    char dir[PATH_LEN], path[PATH_LEN + 64];
    snprintf(dir, sizeof dir, "%s/iter-%d", o->out_dir, k);
    scnn_status st = scnn_mkdirs(dir);
    if (st != SCNN_OK)
        return st;

    scnn_model *m = NULL;
    scnn_dp *dp = NULL;
    /* Data-parallel: every rank trains this model, rank 0 alone writes its files. */
    const bool writer = !o->data_parallel || scnn_dist_rank() == 0;
    uint32_t *order = malloc((train->n ? train->n : 1) * sizeof *order);
    /* A batch larger than the training set is one batch of all of it: the model (and its
     * workspaces) are sized for what a batch can hold, not for the option. */
    int mb = train->n < (size_t)o->batch ? (int)train->n : o->batch;
    uint8_t *bx = malloc((size_t)mb * SCNN_PIXELS), *by = malloc((size_t)mb);
    epoch_stats *hist = calloc((size_t)o->epochs, sizeof *hist);
    if (!order || !bx || !by || !hist) {
        st = scnn_fail(SCNN_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = scnn_model_create(&m, mb, o->backend, seed)) != SCNN_OK ||
        (o->data_parallel && (st = scnn_dp_create(&dp, m)) != SCNN_OK))
        goto out;

    scnn_ckpt_meta meta = {0};
    snprintf(meta.dataset, sizeof meta.dataset, "%s", o->dataset);
    snprintf(meta.protocol, sizeof meta.protocol, "%s", o->protocol);
    snprintf(meta.backend, sizeof meta.backend, "%s", r->backend_name);
    snprintf(meta.git_rev, sizeof meta.git_rev, "%s", scnn_git_rev());
    memcpy(meta.data_sha256, r->data_sha, sizeof meta.data_sha256);
    meta.seed = seed;
    meta.iteration = k;

    /* Resume from the last complete epoch, if there is one. */
    scnn_train_state s = {.best_metric = 0};
    snprintf(path, sizeof path, "%s/state.txt", dir);
    int have_state = scnn_train_state_read(path, &s, hist, o->epochs);
    if (have_state < 0) {
        st = SCNN_ERR_FORMAT;
        goto out;
    }
    if (have_state) {
        char slot[PATH_LEN + 16], sha[65];
        snprintf(slot, sizeof slot, "%s/slot-%c.ckpt", dir, s.slot);
        if (scnn_sha256_file(slot, sha) != SCNN_OK || strcmp(sha, s.ckpt_sha) != 0) {
            st = scnn_fail(SCNN_ERR_CHECKSUM, "cannot resume: %s does not match %s/state.txt",
                           slot, dir);
            goto out;
        }
        if ((st = scnn_checkpoint_load_state(slot, m, NULL)) != SCNN_OK)
            goto out;
        say(r, "%s resuming after epoch %d (best so far: epoch %d)\n", tag(r, k), s.epoch,
            s.best_epoch);
    } else {
        memset(&s, 0, sizeof s);
        s.slot = 'b';
    }

    double t_iter = scnn_now();
    size_t n_train = train->n;
    for (int epoch = s.epoch + 1; epoch <= o->epochs; epoch++) {
        if (o->patience > 0 && s.since_best >= o->patience)
            break;
        double t0 = scnn_now(), loss_sum = 0;
        size_t correct = 0;
        scnn_rng_permutation(order, n_train, seed, SCNN_RNG_SHUFFLE, (uint64_t)epoch);
        for (size_t b0 = 0; b0 < n_train; b0 += (size_t)o->batch) {
            int nb = (int)(n_train - b0 < (size_t)o->batch ? n_train - b0 : (size_t)o->batch);
            for (int i = 0; i < nb; i++) {
                size_t src = order[b0 + (size_t)i];
                memcpy(bx + (size_t)i * SCNN_PIXELS, train->images + src * SCNN_PIXELS,
                       SCNN_PIXELS);
                by[i] = train->labels[src];
            }
            int c = 0;
            float loss = dp ? scnn_dp_train_batch(dp, bx, by, nb, &c)
                            : scnn_model_train_batch(m, bx, by, nb, &c);
            /* The reported loss is clipped (as Keras's), so it stays finite when the outputs
             * overflow: the logits tell (data-parallel: every rank's, in the loss). Training on
             * from there would be training on garbage. */
            bool finite = isfinite(loss);
            for (int i = 0; finite && !dp && i < nb * SCNN_CLASSES; i++)
                finite = isfinite(m->logits[i]);
            if (!finite) {
                if (o->progress)
                    printf("\n");
                st = scnn_fail(SCNN_ERR_ARG, "training diverged at epoch %d: loss %g, the model's "
                                             "outputs are not finite (NaN or infinite weights?)",
                               epoch, loss);
                goto out;
            }
            loss_sum += (double)loss * nb;
            correct += (size_t)c;
            if (o->progress) {
                size_t done = b0 + (size_t)nb;
                progress_bar(k, done, n_train, scnn_now() - t0, loss_sum / done,
                             (double)correct / done);
            }
        }
        epoch_stats *e = &hist[epoch - 1];
        e->epoch = epoch;
        e->loss = loss_sum / (double)n_train;
        e->acc = (double)correct / (double)n_train;
        e->seconds = scnn_now() - t0;
        e->images_per_s = (double)n_train / e->seconds;
        if (dp)
            st = scnn_dp_evaluate(dp, val->images, val->labels, val->n, &e->val_loss,
                                  &e->val_acc, NULL);
        else
            scnn_model_evaluate(m, val->images, val->labels, val->n, &e->val_loss, &e->val_acc,
                                NULL, NULL);
        if (st != SCNN_OK)
            goto out;
        if (o->progress)
            printf("\r%*s\r", 100, "");
        say(r, "%s Epoch %d/%d - %zu images - %.1fs - %.0f img/s - loss: %.4f - acc: %.4f - "
               "val_loss: %.4f - val_acc: %.4f\n",
               tag(r, k), epoch, o->epochs, n_train, e->seconds, e->images_per_s, e->loss, e->acc,
               e->val_loss, e->val_acc);
        fflush(stdout);

        snprintf(path, sizeof path, "%s/history.csv", dir);
        if (writer && (st = scnn_run_history_write(path, hist, epoch)) != SCNN_OK)
            goto out;
        /* Keras's ModelCheckpoint(save_best_only) keeps the first epoch with the best figure
         * (there is always a validation set: run_all refuses an empty one). */
        if (improved(o, e, s.best_metric, s.best_epoch)) {
            s.best_metric = select_by_acc(o) ? e->val_acc : e->val_loss;
            s.best_epoch = epoch;
            s.since_best = 0;
            meta.epoch = epoch;
            meta.step = scnn_model_step(m);
            meta.val_loss = e->val_loss;
            meta.val_acc = e->val_acc;
            snprintf(path, sizeof path, "%s/best.ckpt", dir);
            if (writer && (st = scnn_checkpoint_save(path, m, &meta)) != SCNN_OK)
                goto out;
        } else {
            s.since_best++;
        }
        /* The resumable state: the other slot first, then the state that names it. */
        s.epoch = epoch;
        s.slot = s.slot == 'a' ? 'b' : 'a';
        meta.epoch = epoch;
        meta.step = scnn_model_step(m);
        meta.val_loss = e->val_loss;
        meta.val_acc = e->val_acc;
        snprintf(path, sizeof path, "%s/slot-%c.ckpt", dir, s.slot);
        if (writer && ((st = scnn_checkpoint_save(path, m, &meta)) != SCNN_OK ||
                       (st = scnn_sha256_file(path, s.ckpt_sha)) != SCNN_OK))
            goto out;
        snprintf(path, sizeof path, "%s/state.txt", dir);
        if (writer && (st = scnn_train_state_write(path, &s, hist)) != SCNN_OK)
            goto out;
    }

    res->best_epoch = s.best_epoch;
    res->epochs_run = s.epoch;
    const epoch_stats *best = &hist[s.best_epoch > 0 ? s.best_epoch - 1 : 0];
    res->train_loss = best->loss;
    res->train_acc = best->acc;
    res->val_loss = best->val_loss;
    res->val_acc = best->val_acc;
    res->n_test = r->n_test;
    res->seconds = 0;
    for (int i = 0; i < s.epoch; i++)
        res->seconds += hist[i].seconds;
    res->seconds_per_epoch = s.epoch ? res->seconds / s.epoch : 0;
    (void)t_iter;

    snprintf(path, sizeof path, "%s/best.ckpt", dir);
    if (dp)
        scnn_dist_barrier(); /* rank 0 has written it */
    if ((st = scnn_checkpoint_load(path, m, NULL)) != SCNN_OK)
        goto out;
    if (dp)
        st = scnn_dp_evaluate(dp, r->test.images, r->test.labels, r->n_test, &res->test_loss,
                              &res->test_acc, test_probs);
    else
        scnn_model_evaluate(m, r->test.images, r->test.labels, r->n_test, &res->test_loss,
                            &res->test_acc, NULL, test_probs);
    if (st != SCNN_OK)
        goto out;
    say(r, "%s kept epoch %d (val_loss %.4f, val_acc %.4f); test_loss: %.4f - test_acc: %.4f\n",
           tag(r, k), res->best_epoch, res->val_loss, res->val_acc, res->test_loss,
           res->test_acc);
    if (!writer)
        goto out;
    if ((st = scnn_iteration_result_write(o->out_dir, k, res, test_probs, r->n_test)) != SCNN_OK)
        goto out;
    /* Finished: the resume slots are no longer needed. */
    for (const char *sl = "ab"; *sl; sl++) {
        snprintf(path, sizeof path, "%s/slot-%c.ckpt", dir, *sl);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/state.txt", dir);
    unlink(path);

out:
    scnn_dp_free(dp);
    scnn_model_free(m);
    free(order);
    free(bx);
    free(by);
    free(hist);
    return st;
}

/* ---- the run ------------------------------------------------------------------------------------ */

static scnn_status run_all(run *r)
{
    scnn_train_opts *o = &r->o;
    scnn_status st = scnn_train_opts_check(o);
    char dir[2048];
    if (st != SCNN_OK)
        return st;
    /* One model under several ranks: they train it together (a resumed run keeps its mode). */
    if (r->conf.dataset[0] == 0)
        o->data_parallel = scnn_train_is_data_parallel(o, scnn_dist_size());
    if (o->iterations == 0)
        o->iterations = strcmp(o->dataset, "mnist") == 0 ? 1 : 5;
    if (o->data_parallel && scnn_dist_size() > SCNN_DP_CHUNKS)
        return scnn_fail(SCNN_ERR_ARG, SCNN_DP_TOO_MANY, SCNN_DP_CHUNKS, SCNN_DP_CHUNKS,
                         scnn_dist_size());
    if (o->data_dir)
        snprintf(dir, sizeof dir, "%s", o->data_dir);
    else
        scnn_dataset_dir(dir, sizeof dir, o->dataset);
    if ((st = scnn_dataset_load(&r->all, dir, o->dataset, "train")) != SCNN_OK ||
        (st = scnn_dataset_load(&r->test, dir, o->dataset, "t10k")) != SCNN_OK)
        return st;
    scnn_sha256_hex(r->all.images, r->all.n * SCNN_PIXELS, r->data_sha);
    if (o->limit && o->limit < r->all.n)
        r->all.n = o->limit;
    r->n_test = o->test_limit && o->test_limit < r->test.n ? o->test_limit : r->test.n;
    snprintf(r->backend_name, sizeof r->backend_name, "%s", o->backend->name);
    r->threads = scnn_backend_threads(o->backend);

    size_t n_val_orig = (size_t)llround((double)r->all.n * o->val_split);
    if (r->all.n - n_val_orig == 0)
        return scnn_fail(SCNN_ERR_ARG, "no training images left: %zu originals, validation split %g",
                         r->all.n, o->val_split);
    if (n_val_orig == 0)
        return scnn_fail(SCNN_ERR_ARG, "no validation images: %zu originals x validation split %g "
                                       "rounds to 0 (raise --limit or --val-split)",
                         r->all.n, o->val_split);
    if (strcmp(o->protocol, "seed") == 0 && o->augment > 0 &&
        (st = scnn_augment_dataset(&r->all_aug, &r->all, o->augment, o->seed)) != SCNN_OK)
        return st;

    /* Under several ranks: line-buffered, so that every line leaves whole; run.conf is rank 0's
     * (the others wait for it, so that none writes into a folder that is not yet a run). */
    if (scnn_dist_size() > 1) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        o->progress = false;   /* mpirun hands ranks a terminal: no bar drawn over another's */
        /* data-parallel: every rank has every line; rank 0 alone prints them */
        if (o->data_parallel && scnn_dist_rank() != 0 && !freopen("/dev/null", "w", stdout))
            return scnn_fail(SCNN_ERR_IO, "rank %d: cannot silence stdout", scnn_dist_rank());
    }
    if ((st = scnn_mkdirs(o->out_dir)) != SCNN_OK ||
        (scnn_dist_rank() == 0 && (st = scnn_run_conf_write(o->out_dir, o)) != SCNN_OK))
        return st;
    scnn_dist_barrier();

    if (scnn_dist_rank() == 0) {
        printf("backend %s, %d thread%s (%s); %s, protocol %s, %d iteration%s of %d epochs, "
               "batch %d, augment x%d, seed %llu; writing %s\n",
               r->backend_name, r->threads, r->threads == 1 ? "" : "s", scnn_backend_choice(),
               o->dataset, o->protocol,
               o->iterations, o->iterations == 1 ? "" : "s", o->epochs, o->batch, o->augment,
               (unsigned long long)o->seed, o->out_dir);
        if (o->data_parallel)
            printf("data-parallel over %d rank%s: every batch in %d chunks, their sums added in "
                   "chunk order (the same weights for any rank count); rank 0 writes\n",
                   scnn_dist_size(), scnn_dist_size() == 1 ? "" : "s", SCNN_DP_CHUNKS);
        else if (scnn_dist_size() > 1)
            printf("%d ranks: rank r trains iterations r, r + %d, ...; rank 0 writes the summary\n",
                   scnn_dist_size(), scnn_dist_size());
        fflush(stdout);
    }

    scnn_run_result *res = calloc((size_t)o->iterations, sizeof *res);
    float *probs = malloc((size_t)o->iterations * r->n_test * SCNN_CLASSES * sizeof(float) + 1);
    if (!res || !probs) {
        free(res);
        free(probs);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    }
    /* Iterations over ranks: rank r trains iterations r, r + R, ... into their own iter-k
     * folders, exactly as one process would (each iteration's numbers depend only on the seed,
     * the options and the backend); then rank 0 reads the others' results as a resumed run reads
     * finished iterations, and writes the ensemble and the summary. */
    /* Data-parallel: every rank takes part in every iteration (as one process would). */
    const int rank = o->data_parallel ? 0 : scnn_dist_rank(),
              ranks = o->data_parallel ? 1 : scnn_dist_size();
    size_t n_train = 0, n_val = 0;
    for (int k = 0; k < o->iterations && st == SCNN_OK; k++) {
        if (k % ranks != rank)
            continue;
        float *pk = probs + (size_t)k * r->n_test * SCNN_CLASSES;
        scnn_dataset train = {0}, val = {0};
        if ((st = iteration_data(r, k, &train, &val)) != SCNN_OK)
            break;
        n_train = train.n;
        n_val = val.n;
        int done = scnn_iteration_result_read(o->out_dir, k, &res[k], pk, r->n_test, o->epochs);
        if (done < 0) {
            st = SCNN_ERR_FORMAT;
        } else if (done) {
            say(r, "%s already done: kept epoch %d, test_acc %.4f\n", tag(r, k), res[k].best_epoch,
                   res[k].test_acc);
        } else {
            say(r, "%s seed %llu: %zu training images (%zu originals x%d), %zu validation, "
                   "%zu test\n",
                   tag(r, k), (unsigned long long)(o->seed + (uint64_t)k), train.n,
                   strcmp(o->protocol, "clean") == 0 ? train.n / (size_t)(1 + o->augment)
                                                     : train.n,
                   strcmp(o->protocol, "clean") == 0 ? 1 + o->augment : 1, val.n, r->n_test);
            fflush(stdout);
            st = train_iteration(r, k, &train, &val, &res[k], pk);
        }
        scnn_dataset_free(&train);
        scnn_dataset_free(&val);
    }
    if (ranks > 1) {
        if (st != SCNN_OK)   /* the caller ends the job (scnn_dist_finish): no rank waits */
            goto out;
        scnn_dist_say_done();   /* rank 0 prints the others' last lines */
        scnn_dist_barrier();
        if (rank != 0)
            goto out;
        for (int k = 0; k < o->iterations && st == SCNN_OK; k++) {
            if (k % ranks == rank)
                continue;
            float *pk = probs + (size_t)k * r->n_test * SCNN_CLASSES;
            if (scnn_iteration_result_read(o->out_dir, k, &res[k], pk, r->n_test, o->epochs) != 1)
                st = scnn_fail(SCNN_ERR_FORMAT, "rank 0: iteration %d of %s has no result after "
                                                "every rank finished (%s)",
                               k, o->out_dir, scnn_last_error());
        }
        if (st == SCNN_OK && n_train == 0) {   /* rank 0 trained none: the sizes of iteration 0 */
            scnn_dataset train = {0}, val = {0};
            if ((st = iteration_data(r, 0, &train, &val)) == SCNN_OK) {
                n_train = train.n;
                n_val = val.n;
            }
            scnn_dataset_free(&train);
            scnn_dataset_free(&val);
        }
    }
    if (o->data_parallel && scnn_dist_rank() != 0)
        goto out;   /* rank 0 writes the summary */
    if (st == SCNN_OK) {
        /* The ensemble: the mean of the models' probabilities. */
        double loss = 0;
        size_t correct = 0;
        for (size_t i = 0; i < r->n_test; i++) {
            double p[SCNN_CLASSES] = {0};
            int best = 0;
            for (int k = 0; k < o->iterations; k++)
                for (int c = 0; c < SCNN_CLASSES; c++)
                    p[c] += probs[((size_t)k * r->n_test + i) * SCNN_CLASSES + c] / o->iterations;
            for (int c = 1; c < SCNN_CLASSES; c++)
                if (p[c] > p[best])
                    best = c;
            correct += best == r->test.labels[i];
            double pl = p[r->test.labels[i]];
            loss -= log(pl < 1e-7 ? 1e-7 : (pl > 1 - 1e-7 ? 1 - 1e-7 : pl));
        }
        st = write_summary(r, res, o->iterations, n_train, n_val,
                           r->n_test ? loss / r->n_test : 0,
                           r->n_test ? (double)correct / r->n_test : 0);
    }
out:
    free(res);
    free(probs);
    return st;
}

static void run_free(run *r)
{
    scnn_dataset_free(&r->all);
    scnn_dataset_free(&r->test);
    scnn_dataset_free(&r->all_aug);
}

scnn_status scnn_train_run(const scnn_train_opts *o)
{
    run r = {.o = *o};
    scnn_status st = run_all(&r);
    run_free(&r);
    return st;
}

/* --resume given a checkpoint file instead of a run folder: say which mistake it is. */
static scnn_status resume_from_file(const char *path)
{
    scnn_model *m = NULL;
    scnn_status st = scnn_model_create(&m, 1, &scnn_backend_naive, 0);
    if (st == SCNN_OK && (st = scnn_checkpoint_load_state(path, m, NULL)) == SCNN_OK)
        st = scnn_fail(SCNN_ERR_ARG,
                       "%s is a checkpoint, not a run folder: --resume takes the folder of a "
                       "killed run (the one holding run.conf)",
                       path);
    scnn_model_free(m);
    return st;
}

scnn_status scnn_train_resume(const char *dir, const scnn_backend *backend, bool progress)
{
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISREG(sb.st_mode))
        return resume_from_file(dir);
    run r = {0};
    scnn_status st = read_run_conf(dir, &r);
    if (st != SCNN_OK)
        return st;
    r.o.backend = backend;
    r.o.progress = progress;
    if (!scnn_backend_bitwise_equal(r.conf.backend, backend->name))
        return scnn_fail(SCNN_ERR_BACKEND,
                         "%s was trained with backend %s, not %s; resume it with "
                         "SCNN_BACKEND=%s (or a backend bitwise equal to it)",
                         dir, r.conf.backend, backend->name, r.conf.backend);
    st = run_all(&r);
    run_free(&r);
    return st;
}
