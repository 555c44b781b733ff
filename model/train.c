/* The training loop: a seeded 80/20 split of the originals, epochs of shuffled batches, the
 * Keras-like log, history.csv, the best-validation-loss checkpoint, and the test evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

void scnn_train_opts_default(scnn_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dataset = "fashion_mnist";
    o->epochs = 80;
    o->batch = 250;
    o->val_split = 0.2;
    o->seed = 1;
    o->out_dir = "runs/default";
    o->backend = &scnn_backend_naive;
}

/* One epoch's figures, as Keras logs them. */
typedef struct epoch_stats {
    int epoch;
    double loss, acc, val_loss, val_acc, seconds, images_per_s;
} epoch_stats;

static void gather(const scnn_dataset *src, const uint32_t *idx, size_t n, scnn_dataset *dst)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(dst->images + i * SCNN_PIXELS, src->images + (size_t)idx[i] * SCNN_PIXELS,
               SCNN_PIXELS);
        dst->labels[i] = src->labels[idx[i]];
    }
    dst->n = n;
    dst->rows = src->rows;
    dst->cols = src->cols;
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

static void progress_bar(size_t done, size_t total, double elapsed, double loss, double acc)
{
    int width = 30, filled = total ? (int)((double)width * done / total) : width;
    double eta = done ? elapsed * (double)(total - done) / (double)done : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : '.');
    bar[width] = 0;
    printf("\r%7zu/%zu [%s] ETA %4.0fs - loss: %.4f - acc: %.4f ", done, total, bar, eta, loss,
           acc);
    fflush(stdout);
}

static scnn_status write_history(const char *path, const epoch_stats *h, int n)
{
    size_t cap = 128 + (size_t)n * 160;
    char *buf = malloc(cap);
    if (!buf)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory writing %s", path);
    size_t len = (size_t)snprintf(buf, cap, "epoch,loss,acc,val_loss,val_acc,seconds,images_per_s\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n",
                                h[i].epoch, h[i].loss, h[i].acc, h[i].val_loss, h[i].val_acc,
                                h[i].seconds, h[i].images_per_s);
    scnn_status s = scnn_write_atomic(path, buf, len);
    free(buf);
    return s;
}

typedef struct iter_result {
    int best_epoch;
    epoch_stats best;
    double test_loss, test_acc, seconds;
} iter_result;

static scnn_status write_summary(const char *path, const scnn_train_opts *o, const char *backend,
                                 int threads, size_t n_train, size_t n_val, size_t n_test,
                                 const iter_result *r, int n_iter)
{
    char buf[8192];
    size_t len = 0, cap = sizeof buf;
#define P(...) len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__)
    P("{\n  \"dataset\": \"%s\",\n  \"protocol\": \"clean\",\n  \"seed\": %llu,\n", o->dataset,
      (unsigned long long)o->seed);
    P("  \"backend\": \"%s\",\n  \"threads\": %d,\n  \"git_rev\": \"%s\",\n", backend, threads,
      scnn_git_rev());
    P("  \"epochs\": %d,\n  \"batch\": %d,\n  \"val_split\": %.4f,\n", o->epochs, o->batch,
      o->val_split);
    P("  \"n_train\": %zu,\n  \"n_val\": %zu,\n  \"n_test\": %zu,\n  \"iterations\": [\n",
      n_train, n_val, n_test);
    double mean_acc = 0, mean_loss = 0;
    for (int i = 0; i < n_iter; i++) {
        const iter_result *x = &r[i];
        P("    {\"iteration\": %d, \"seed\": %llu, \"best_epoch\": %d, \"train_loss\": %.6f, "
          "\"train_acc\": %.6f, \"val_loss\": %.6f, \"val_acc\": %.6f, \"test_loss\": %.6f, "
          "\"test_acc\": %.6f, \"seconds\": %.1f}%s\n",
          i, (unsigned long long)(o->seed + (uint64_t)i), x->best_epoch, x->best.loss,
          x->best.acc, x->best.val_loss, x->best.val_acc, x->test_loss, x->test_acc, x->seconds,
          i + 1 < n_iter ? "," : "");
        mean_acc += x->test_acc / n_iter;
        mean_loss += x->test_loss / n_iter;
    }
    P("  ],\n  \"mean_test_loss\": %.6f,\n  \"mean_test_acc\": %.6f\n}\n", mean_loss, mean_acc);
#undef P
    if (len >= cap)
        return scnn_fail(SCNN_ERR_ARG, "summary too large for %s", path);
    return scnn_write_atomic(path, buf, len);
}

scnn_status scnn_train_run(const scnn_train_opts *o)
{
    scnn_status st;
    char dir[2048], path[2300];
    if (o->data_dir)
        snprintf(dir, sizeof dir, "%s", o->data_dir);
    else
        scnn_dataset_dir(dir, sizeof dir, o->dataset);

    scnn_dataset all = {0}, test = {0}, train = {0}, val = {0};
    scnn_model *m = NULL;
    uint32_t *perm = NULL, *order = NULL;
    uint8_t *bx = NULL, *by = NULL;
    epoch_stats *hist = NULL;

    if ((st = scnn_dataset_load_dir(&all, dir, "train")) != SCNN_OK)
        goto out;
    if ((st = scnn_dataset_load_dir(&test, dir, "t10k")) != SCNN_OK)
        goto out;
    char data_sha[65];
    scnn_sha256_hex(all.images, all.n * SCNN_PIXELS, data_sha);
    size_t n_orig = o->limit && o->limit < all.n ? o->limit : all.n;
    size_t n_test = o->test_limit && o->test_limit < test.n ? o->test_limit : test.n;
    size_t n_val = (size_t)llround((double)n_orig * o->val_split);
    size_t n_train = n_orig - n_val;
    if (n_train == 0) {
        st = scnn_fail(SCNN_ERR_ARG, "no training images left: %zu originals, validation split %g",
                       n_orig, o->val_split);
        goto out;
    }

    /* The split: a seeded permutation of the originals; the first n_val are validation. */
    const int iteration = 0;
    perm = malloc(n_orig * sizeof *perm);
    order = malloc(n_train * sizeof *order);
    bx = malloc((size_t)o->batch * SCNN_PIXELS);
    by = malloc((size_t)o->batch);
    hist = calloc((size_t)o->epochs, sizeof *hist);
    if (!perm || !order || !bx || !by || !hist) {
        st = scnn_fail(SCNN_ERR_NOMEM, "out of memory");
        goto out;
    }
    uint64_t seed = o->seed + (uint64_t)iteration;
    scnn_rng_permutation(perm, n_orig, seed, SCNN_RNG_SPLIT, 0);
    if ((st = dataset_alloc(&val, n_val)) != SCNN_OK ||
        (st = dataset_alloc(&train, n_train)) != SCNN_OK)
        goto out;
    gather(&all, perm, n_val, &val);
    gather(&all, perm + n_val, n_train, &train);

    snprintf(path, sizeof path, "%s/iter-%d", o->out_dir, iteration);
    if ((st = scnn_mkdirs(path)) != SCNN_OK)
        goto out;
    if ((st = scnn_model_create(&m, o->batch, o->backend, seed)) != SCNN_OK)
        goto out;
    int threads = o->backend->threads ? o->backend->threads() : 1;
    printf("dataset %s: %zu training, %zu validation, %zu test images; seed %llu\n", o->dataset,
           n_train, n_val, n_test, (unsigned long long)seed);
    printf("backend %s, %d thread%s; batch %d, %d epochs; writing %s\n", o->backend->name, threads,
           threads == 1 ? "" : "s", o->batch, o->epochs, o->out_dir);
    fflush(stdout);

    iter_result res = {.best_epoch = 0};
    double best_val = INFINITY, t_iter = scnn_now();
    scnn_ckpt_meta meta = {0};
    snprintf(meta.dataset, sizeof meta.dataset, "%s", o->dataset);
    snprintf(meta.protocol, sizeof meta.protocol, "clean");
    snprintf(meta.backend, sizeof meta.backend, "%s", o->backend->name);
    snprintf(meta.git_rev, sizeof meta.git_rev, "%s", scnn_git_rev());
    memcpy(meta.data_sha256, data_sha, sizeof meta.data_sha256);
    meta.seed = seed;
    meta.iteration = iteration;

    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double t0 = scnn_now(), loss_sum = 0;
        size_t correct = 0;
        scnn_rng_permutation(order, n_train, seed, SCNN_RNG_SHUFFLE, (uint64_t)epoch);
        for (size_t b0 = 0; b0 < n_train; b0 += (size_t)o->batch) {
            int nb = (int)(n_train - b0 < (size_t)o->batch ? n_train - b0 : (size_t)o->batch);
            for (int i = 0; i < nb; i++) {
                memcpy(bx + (size_t)i * SCNN_PIXELS,
                       train.images + (size_t)order[b0 + (size_t)i] * SCNN_PIXELS, SCNN_PIXELS);
                by[i] = train.labels[order[b0 + (size_t)i]];
            }
            int c = 0;
            float loss = scnn_model_train_batch(m, bx, by, nb, &c);
            if (!isfinite(loss)) {
                if (o->progress)
                    printf("\n");
                st = scnn_fail(SCNN_ERR_ARG, "training diverged: loss is %g at epoch %d", loss,
                               epoch);
                goto out;
            }
            loss_sum += (double)loss * nb;
            correct += (size_t)c;
            if (o->progress) {
                size_t done = b0 + (size_t)nb;
                progress_bar(done, n_train, scnn_now() - t0, loss_sum / done,
                             (double)correct / done);
            }
        }
        epoch_stats *e = &hist[epoch - 1];
        e->epoch = epoch;
        e->loss = loss_sum / (double)n_train;
        e->acc = (double)correct / (double)n_train;
        e->seconds = scnn_now() - t0;
        e->images_per_s = (double)n_train / e->seconds;
        scnn_model_evaluate(m, val.images, val.labels, val.n, &e->val_loss, &e->val_acc, NULL,
                            NULL);
        if (o->progress)
            printf("\r%*s\r", 100, "");
        printf("Epoch %d/%d - %zu images - %.1fs - %.0f img/s - loss: %.4f - acc: %.4f - "
               "val_loss: %.4f - val_acc: %.4f\n",
               epoch, o->epochs, n_train, e->seconds, e->images_per_s, e->loss, e->acc,
               e->val_loss, e->val_acc);
        fflush(stdout);
        snprintf(path, sizeof path, "%s/iter-%d/history.csv", o->out_dir, iteration);
        if ((st = write_history(path, hist, epoch)) != SCNN_OK)
            goto out;
        /* Keras's ModelCheckpoint(save_best_only) keeps the first epoch with the lowest loss;
         * with no validation images, the last epoch is kept. */
        if (n_val == 0 || e->val_loss < best_val) {
            best_val = e->val_loss;
            res.best_epoch = epoch;
            res.best = *e;
            meta.epoch = epoch;
            meta.step = scnn_model_step(m);
            meta.val_loss = e->val_loss;
            meta.val_acc = e->val_acc;
            snprintf(path, sizeof path, "%s/iter-%d/best.ckpt", o->out_dir, iteration);
            if ((st = scnn_checkpoint_save(path, m, &meta)) != SCNN_OK)
                goto out;
        }
    }
    res.seconds = scnn_now() - t_iter;

    snprintf(path, sizeof path, "%s/iter-%d/best.ckpt", o->out_dir, iteration);
    if ((st = scnn_checkpoint_load(path, m, NULL)) != SCNN_OK)
        goto out;
    scnn_model_evaluate(m, test.images, test.labels, n_test, &res.test_loss, &res.test_acc, NULL,
                        NULL);
    printf("kept epoch %d (val_loss %.4f, val_acc %.4f); test_loss: %.4f - test_acc: %.4f\n",
           res.best_epoch, res.best.val_loss, res.best.val_acc, res.test_loss, res.test_acc);
    snprintf(path, sizeof path, "%s/summary.json", o->out_dir);
    st = write_summary(path, o, o->backend->name, threads, n_train, n_val, n_test, &res, 1);

out:
    scnn_model_free(m);
    scnn_dataset_free(&all);
    scnn_dataset_free(&test);
    scnn_dataset_free(&train);
    scnn_dataset_free(&val);
    free(perm);
    free(order);
    free(bx);
    free(by);
    free(hist);
    return st;
}
