/* report.md: results, settings, the per-model table, the seed's published figures, per-class
 * scores and the pictures. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* ---- report.md ------------------------------------------------------------------------------- */

static void md_pct_pm(scnn_strbuf *b, double m, double sd)
{
    scnn_strbuf_printf(b, "%.2f%% ± %.2f%%", 100 * m, 100 * sd);
}

static bool reduced_run(const run_data *r, char *why, size_t len)
{
    bool mnist = strcmp(r->conf.dataset, "mnist") == 0;
    scnn_strbuf b = {0};
    if (r->conf.epochs != 80)
        scnn_strbuf_printf(&b, "%d epochs instead of 80; ", r->conf.epochs);
    if (r->conf.limit)
        scnn_strbuf_printf(&b, "%lld training originals instead of 60,000; ", r->conf.limit);
    if (r->conf.test_limit && r->conf.test_limit < 10000)
        scnn_strbuf_printf(&b, "%lld test images instead of 10,000; ", r->conf.test_limit);
    if (r->conf.augment != 2)
        scnn_strbuf_printf(&b, "%d augmented cop%s instead of 2; ", r->conf.augment,
                           r->conf.augment == 1 ? "y" : "ies");
    if (r->conf.iterations != (mnist ? 1 : 5))
        scnn_strbuf_printf(&b, "%d models instead of %d; ", r->conf.iterations, mnist ? 1 : 5);
    if (r->conf.batch != 250)
        scnn_strbuf_printf(&b, "batch %d instead of 250; ", r->conf.batch);
    if (r->n_finished < r->conf.iterations)
        scnn_strbuf_printf(&b, "only %d of %d models finished; ", r->n_finished,
                           r->conf.iterations);
    bool reduced = b.len > 0;
    snprintf(why, len, "%.*s", b.len > 2 ? (int)b.len - 2 : 0, b.p ? b.p : "");
    free(b.p);
    return reduced;
}

static void md_images(scnn_strbuf *b, bool drawn, const char *alt, const char *png)
{
    if (drawn)
        scnn_strbuf_printf(b, "![%s](%s)\n\n", alt, png);
    else
        scnn_strbuf_printf(
            b, "*(%s not drawn: gnuplot was not found; %s.gp and its data are here)*\n\n", png,
            alt);
}

void scnn_report_markdown(scnn_strbuf *b, const run_data *r, const run_data *c,
                          const scnn_class_report *cr, const preds *pr, const pair_info *pi,
                          bool plots, long trainable, int tvv_model)
{
    const char *dsn = scnn_report_dataset_title(r->conf.dataset);
    bool mnist = strcmp(r->conf.dataset, "mnist") == 0;
    const char *const *names = scnn_class_names(r->conf.dataset);
    int nf = r->n_finished;
    scnn_strbuf_printf(b, "# %s: the simple CNN, protocol %s\n\n", dsn, r->conf.protocol);
    scnn_strbuf_printf(b, "Run folder `%s`", r->dir);
    if (r->sum.git_rev[0])
        scnn_strbuf_printf(b, ", built from `%s`", r->sum.git_rev);
    scnn_strbuf_printf(b, "; report written by `scnn report`.\n\n");
    if (nf < r->conf.iterations || !r->has_summary) {
        scnn_strbuf_printf(b, "> **Unfinished run:** %d of %d models %s finished (result.txt)", nf,
                           r->conf.iterations, nf == 1 ? "has" : "have");
        if (r->n_present > nf)
            scnn_strbuf_printf(
                b,
                "; %d more %s reported from history.csv alone (curves, best epoch so "
                "far), not in the test figures",
                r->n_present - nf, r->n_present - nf == 1 ? "is" : "are");
        scnn_strbuf_printf(b, ". %s\n\n",
                           r->has_summary ? "summary.json describes other iterations: the "
                                            "figures below are computed from the "
                                            "iterations' result.txt."
                                          : "No summary.json yet: the figures below are "
                                            "computed from the iterations' result.txt.");
    }

    scnn_strbuf_printf(b, "## Results\n\n");
    if (nf == 0) {
        scnn_strbuf_printf(b, "No model has finished yet, so there are no test figures.\n\n");
    } else {
        scnn_strbuf_printf(b, "| %s | loss | accuracy |\n|---|---|---|\n", dsn);
        scnn_strbuf_printf(b, "| test (mean ± std of %d model%s) | %.4f ± %.4f | ", nf,
                           nf == 1 ? "" : "s", r->sum.mean_test_loss, r->sum.std_test_loss);
        md_pct_pm(b, r->sum.mean_test_acc, r->sum.std_test_acc);
        scnn_strbuf_printf(b, " |\n| training, at the kept epoch (mean) | %.4f | %.2f%% |\n",
                           r->sum.mean_train_loss, 100 * r->sum.mean_train_acc);
        scnn_strbuf_printf(b, "| validation, at the kept epoch (mean) | %.4f | %.2f%% |\n",
                           r->sum.mean_val_loss, 100 * r->sum.mean_val_acc);
        if (r->has_ensemble)
            scnn_strbuf_printf(b,
                               "| test, ensemble (mean of the %d models' probabilities) | %.4f | "
                               "%.2f%% |\n",
                               nf, r->sum.ens_loss, 100 * r->sum.ens_acc);
        scnn_strbuf_printf(b, "\nKept epoch (%s), mean over the models: %.1f of %d.\n\n",
                           strcmp(r->conf.select, "val_acc") == 0 ? "highest validation accuracy"
                                                                  : "lowest validation loss",
                           r->sum.mean_best_epoch, r->conf.epochs);
    }

    scnn_strbuf_printf(b, "### Beside the seed's published figures\n\n");
    char why[512];
    if (reduced_run(r, why, sizeof why))
        scnn_strbuf_printf(
            b,
            "This run is smaller than the seed's (%s): its figures are not comparable "
            "with the seed's.\n\n",
            why);
    scnn_strbuf_printf(b,
                       "| | seed: loss | seed: accuracy | this run: loss | this run: accuracy |\n"
                       "|---|---|---|---|---|\n");
    if (mnist) {
        scnn_strbuf_printf(b, "| MNIST test | 0.0248 | 99.43%% | ");
        if (nf)
            scnn_strbuf_printf(b, "%.4f | %.2f%% |\n", r->sum.mean_test_loss,
                               100 * r->sum.mean_test_acc);
        else
            scnn_strbuf_printf(b, "– | – |\n");
    } else {
        static const char *const rows[] = {"test (mean of 5)", "training (at kept epoch, mean)",
                                           "validation (same)"};
        static const char *const seed_l[] = {"0.2149", "0.1066", "0.1245"};
        static const char *const seed_a[] = {"93.43%", "95.99%", "95.64%"};
        double ours_l[] = {r->sum.mean_test_loss, r->sum.mean_train_loss, r->sum.mean_val_loss};
        double ours_a[] = {r->sum.mean_test_acc, r->sum.mean_train_acc, r->sum.mean_val_acc};
        for (int i = 0; i < 3; i++) {
            scnn_strbuf_printf(b, "| Fashion-MNIST %s | %s | %s | ", rows[i], seed_l[i], seed_a[i]);
            if (nf)
                scnn_strbuf_printf(b, "%.4f | %.2f%% |\n", ours_l[i], 100 * ours_a[i]);
            else
                scnn_strbuf_printf(b, "– | – |\n");
        }
        scnn_strbuf_printf(b,
                           "| Fashion-MNIST test, later re-run of the seed's notebook | 0.2190 | "
                           "93.27%% (± 0.17%%) | | |\n");
    }
    scnn_strbuf_printf(
        b, "\nThe seed's figures are from SPEC.md section 3 (Keras 2 / TensorFlow, 80 "
           "epochs, 5 models, protocol \"seed\": its validation is optimistic, as about "
           "96%% of its validation images have an augmented sibling in training).\n\n");

    scnn_strbuf_printf(b, "## Settings\n\n| setting | value |\n|---|---|\n");
    scnn_strbuf_printf(b, "| data set | %s (`%s`) |\n", dsn, r->data_path);
    scnn_strbuf_printf(b, "| protocol | %s |\n", r->conf.protocol);
    scnn_strbuf_printf(b, "| models (iterations) | %d, seeds %llu..%llu |\n", r->conf.iterations,
                       r->conf.seed, r->conf.seed + (unsigned long long)r->conf.iterations - 1);
    scnn_strbuf_printf(b, "| epochs | %d%s |\n", r->conf.epochs,
                       r->conf.patience ? "" : " (no early stop)");
    if (r->conf.patience)
        scnn_strbuf_printf(b, "| patience | %d epochs without improvement |\n", r->conf.patience);
    scnn_strbuf_printf(b, "| batch size | %d |\n", r->conf.batch);
    scnn_strbuf_printf(b,
                       "| augmentation | %d cop%s per training image (rotation ±10°, horizontal "
                       "flip) |\n",
                       r->conf.augment, r->conf.augment == 1 ? "y" : "ies");
    scnn_strbuf_printf(b, "| selection | the epoch with the %s |\n",
                       strcmp(r->conf.select, "val_acc") == 0 ? "highest validation accuracy"
                                                              : "lowest validation loss");
    scnn_strbuf_printf(b, "| validation split | %.0f%% of the originals |\n",
                       100 * r->conf.val_split);
    if (r->sum.n_train || r->sum.n_val)
        scnn_strbuf_printf(b,
                           "| images | %lld originals; %lld training (augmented copies included), "
                           "%lld validation, %zu test |\n",
                           r->sum.n_originals, r->sum.n_train, r->sum.n_val, r->n_test);
    else
        scnn_strbuf_printf(b, "| images | %s originals, %zu test |\n",
                           r->conf.limit ? "limited" : "all", r->n_test);
    if (r->conf.limit)
        scnn_strbuf_printf(b, "| training originals limit | %lld |\n", r->conf.limit);
    if (r->conf.test_limit)
        scnn_strbuf_printf(b, "| test images limit | %lld |\n", r->conf.test_limit);
    scnn_strbuf_printf(b, "| backend | %s", r->conf.backend);
    if (r->sum.threads)
        scnn_strbuf_printf(b, ", %d thread%s", r->sum.threads, r->sum.threads == 1 ? "" : "s");
    scnn_strbuf_printf(b, " |\n| trainable parameters | %ld,%03ld |\n\n", trainable / 1000,
                       trainable % 1000);

    scnn_strbuf_printf(b, "## Models\n\n| model | seed | kept epoch | epochs run | train loss | "
                          "train acc | val loss | val acc | test loss | test acc | s/epoch |\n"
                          "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < r->conf.iterations; k++) {
        const iter_data *it = &r->it[k];
        scnn_strbuf_printf(b, "| %d | %llu | ", k, r->conf.seed + (unsigned long long)k);
        if (!it->present) {
            scnn_strbuf_printf(b, "not started | | | | | | | | |\n");
        } else if (!it->finished) {
            const hist_row *h = it->res.best_epoch ? &it->hist[it->res.best_epoch - 1] : NULL;
            double s = 0;
            for (int e = 0; e < it->n_hist; e++)
                s += it->hist[e].seconds;
            scnn_strbuf_printf(
                b,
                "%d (so far) | %d (unfinished) | %.4f | %.2f%% | %.4f | %.2f%% | – | – "
                "| %.1f |\n",
                it->res.best_epoch, it->n_hist, h ? h->loss : 0, h ? 100 * h->acc : 0,
                h ? h->val_loss : 0, h ? 100 * h->val_acc : 0, s / it->n_hist);
        } else {
            scnn_strbuf_printf(
                b, "%d | %d | %.4f | %.2f%% | %.4f | %.2f%% | %.4f | %.2f%% | %.1f |\n",
                it->res.best_epoch, it->res.epochs_run, it->res.train_loss, 100 * it->res.train_acc,
                it->res.val_loss, 100 * it->res.val_acc, it->res.test_loss, 100 * it->res.test_acc,
                it->res.seconds_per_epoch);
        }
    }
    scnn_strbuf_printf(b, "\n");

    if (c) {
        scnn_strbuf_printf(b, "## Compared with `%s`\n\n", c->dir);
        if (strcmp(c->conf.dataset, r->conf.dataset) != 0)
            scnn_strbuf_printf(b, "Note: that run is on %s, this one on %s.\n\n",
                               scnn_report_dataset_title(c->conf.dataset), dsn);
        const run_data *rs[2] = {r, c};
        scnn_strbuf_printf(b, "| | this run | `%s` |\n|---|---|---|\n",
                           scnn_report_base_name(c->dir));
        scnn_strbuf_printf(b, "| protocol | %s | %s |\n", r->conf.protocol, c->conf.protocol);
        scnn_strbuf_printf(b,
                           "| models finished / epochs / augmentation | %d / %d / x%d | %d / %d / "
                           "x%d |\n",
                           r->n_finished, r->conf.epochs, r->conf.augment, c->n_finished,
                           c->conf.epochs, c->conf.augment);
        scnn_strbuf_printf(b, "| test accuracy (mean ± std) |");
        for (int i = 0; i < 2; i++) {
            scnn_strbuf_printf(b, " ");
            if (rs[i]->n_finished)
                md_pct_pm(b, rs[i]->sum.mean_test_acc, rs[i]->sum.std_test_acc);
            else
                scnn_strbuf_printf(b, "–");
            scnn_strbuf_printf(b, " |");
        }
        scnn_strbuf_printf(b, "\n| test loss (mean) |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.4f |", rs[i]->sum.mean_test_loss);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| training / validation accuracy at the kept epoch |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.2f%% / %.2f%% |", 100 * rs[i]->sum.mean_train_acc,
                                   100 * rs[i]->sum.mean_val_acc);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| training / validation loss at the kept epoch |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.4f / %.4f |", rs[i]->sum.mean_train_loss,
                                   rs[i]->sum.mean_val_loss);
            else
                scnn_strbuf_printf(b, " – |");
        /* below zero: validation is easier than the test set (a leak shows here first) */
        scnn_strbuf_printf(b, "\n| validation minus test loss (mean) |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %+.4f |",
                                   rs[i]->sum.mean_val_loss - rs[i]->sum.mean_test_loss);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| kept epoch (mean) |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.1f |", rs[i]->sum.mean_best_epoch);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| ensemble test accuracy |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->has_ensemble)
                scnn_strbuf_printf(b, " %.2f%% |", 100 * rs[i]->sum.ens_acc);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(
            b, "\n\nIn the curves below, that run is the black lines (the mean over its "
               "models at each epoch).\n\n");
    }

    scnn_strbuf_printf(b,
                       "## Training curves\n\nPer epoch, every model: training dashed, validation "
                       "solid, the kept epoch circled.\n\n");
    md_images(b, plots, "accuracy", "accuracy.png");
    md_images(b, plots, "loss", "loss.png");
    scnn_strbuf_printf(b, "Model %d alone, training against validation:\n\n", tvv_model);
    md_images(b, plots, "train_vs_val", "train_vs_val.png");

    if (nf > 0) {
        scnn_strbuf_printf(b,
                           "## Test set, class by class\n\nPredictions (%s) on the first %zu test "
                           "images: accuracy %.2f%%.\n\n",
                           pr->source, pr->n, 100 * cr->accuracy);
        scnn_strbuf_printf(
            b, "| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
        for (int k = 0; k < SCNN_CLASSES; k++)
            scnn_strbuf_printf(b, "| %d %s | %.4f | %.4f | %.4f | %u |\n", k, names[k],
                               cr->precision[k], cr->recall[k], cr->f1[k], cr->support[k]);
        scnn_strbuf_printf(
            b,
            "| macro average | | | %.4f | %zu |\n| weighted average | | | %.4f | %zu "
            "|\n\n(Also in per_class.csv; the matrix in confusion.csv.)\n\n",
            cr->macro_f1, pr->n, cr->weighted_f1, pr->n);
        md_images(b, plots, "confusion matrix", "confusion.png");
        scnn_strbuf_printf(b, "Random test images of every class, with the predicted class (red: "
                              "wrong):\n\n");
        md_images(b, plots, "examples", "examples.png");
        if (pi->ab + pi->ba)
            scnn_strbuf_printf(b,
                               "The most confused pair is %s and %s: %u %s images taken for %s, %u "
                               "the other way.\n\n",
                               names[pi->a], names[pi->b], pi->ab, names[pi->a], names[pi->b],
                               pi->ba);
        else
            scnn_strbuf_printf(b, "No test image was misclassified.\n\n");
        md_images(b, plots, "confused pair", "confused_pair.png");
    }
    scnn_strbuf_printf(
        b, "## Files\n\nEvery plot is drawn by gnuplot from its `.gp` script and `.dat` "
           "data in this folder: edit and redraw with `gnuplot NAME.gp` here.\n");
}
