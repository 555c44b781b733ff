/* scnn report (report/): a run folder (written by scnn train) as report.md, CSVs and plots.
 *
 * Inputs: DIR/run.conf, DIR/summary.json (optional: absent while a run is unfinished),
 * DIR/iter-k/{history.csv,result.txt,test_probs.f32} and the test set named by run.conf.
 * Plots are drawn by gnuplot from .gp and .dat files left in the report folder, so that they can
 * be tweaked and redrawn (`gnuplot loss.gp` there). Without gnuplot, everything but the PNGs is
 * written and a warning printed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report_internal.h"

static scnn_status make_preds(run_data *r, const scnn_dataset *test, preds *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->n = r->n_test;
    pr->probs = calloc(pr->n * SCNN_CLASSES + 1, sizeof(float));
    pr->pred = malloc(pr->n + 1);
    if (!pr->probs || !pr->pred)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    int first = -1;
    for (int k = 0; k < r->conf.iterations; k++) {
        if (!r->it[k].finished)
            continue;
        if (first < 0)
            first = k;
        for (size_t i = 0; i < pr->n * SCNN_CLASSES; i++)
            pr->probs[i] += r->it[k].probs[i] / (float)r->n_finished;
    }
    if (r->n_finished > 1)
        snprintf(pr->source, sizeof pr->source, "%d-model ensemble, mean probabilities",
                 r->n_finished);
    else
        snprintf(pr->source, sizeof pr->source, "model %d", first);
    double loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < pr->n; i++) {
        const float *p = pr->probs + i * SCNN_CLASSES;
        int best = 0;
        for (int c = 1; c < SCNN_CLASSES; c++)
            if (p[c] > p[best])
                best = c;
        pr->pred[i] = (uint8_t)best;
        correct += best == test->labels[i];
        double pl = p[test->labels[i]];
        loss -= log(pl < 1e-7 ? 1e-7 : (pl > 1 - 1e-7 ? 1 - 1e-7 : pl));
    }
    if (!r->has_ensemble && r->n_finished > 1 && pr->n) {
        r->has_ensemble = true;
        r->sum.ens_loss = loss / (double)pr->n;
        r->sum.ens_acc = (double)correct / (double)pr->n;
    }
    return SCNN_OK;
}

static void preds_free(preds *pr)
{
    free(pr->probs);
    free(pr->pred);
}

/* ---- the report ------------------------------------------------------------------------------ */

static scnn_status write_class_csvs(const scnn_class_report *cr, const char *const *names,
                                    const char *out)
{
    scnn_strbuf b = {0}, m = {0};
    scnn_strbuf_printf(&b, "class,name,precision,recall,f1,support\n");
    for (int c = 0; c < SCNN_CLASSES; c++)
        scnn_strbuf_printf(&b, "%d,%s,%.6f,%.6f,%.6f,%u\n", c, names[c], cr->precision[c],
                           cr->recall[c], cr->f1[c], cr->support[c]);
    scnn_strbuf_printf(&m, "true\\predicted");
    for (int c = 0; c < SCNN_CLASSES; c++)
        scnn_strbuf_printf(&m, ",%d", c);
    scnn_strbuf_printf(&m, "\n");
    for (int t = 0; t < SCNN_CLASSES; t++) {
        scnn_strbuf_printf(&m, "%d", t);
        for (int p = 0; p < SCNN_CLASSES; p++)
            scnn_strbuf_printf(&m, ",%u", cr->confusion[t][p]);
        scnn_strbuf_printf(&m, "\n");
    }
    scnn_status st = scnn_report_save(&b, out, "per_class.csv");
    scnn_status st2 = scnn_report_save(&m, out, "confusion.csv");
    return st != SCNN_OK ? st : st2;
}

static long trainable_params(void)
{
    scnn_model *m;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, 0) != SCNN_OK)
        return 493772;
    long n = (long)scnn_model_num_weights(m, true);
    scnn_model_free(m);
    return n;
}

scnn_status scnn_report(const char *dir, const char *compare_dir, const char *out_dir)
{
    if (!dir)
        return scnn_fail(SCNN_ERR_ARG, "scnn_report: no run folder");
    run_data r, c;
    memset(&c, 0, sizeof c);
    scnn_dataset test = {0};
    preds pr = {0};
    scnn_class_report cr;
    memset(&cr, 0, sizeof cr);
    pair_info pi = {0, 1, 0, 0};
    scnn_strbuf md = {0};
    char out[SCNN_RUN_PATH + 16];
    scnn_status st = scnn_run_load(&r, dir, true);
    if (st == SCNN_OK && compare_dir)
        st = scnn_run_load(&c, compare_dir, false);
    if (st != SCNN_OK)
        goto done;
    if (out_dir)
        snprintf(out, sizeof out, "%s", out_dir);
    else
        snprintf(out, sizeof out, "%s/report", r.dir);
    if ((st = scnn_mkdirs(out)) != SCNN_OK)
        goto done;

    if (r.conf.data_dir[0])
        snprintf(r.data_path, sizeof r.data_path, "%s", r.conf.data_dir);
    else
        scnn_dataset_dir(r.data_path, sizeof r.data_path, r.conf.dataset);
    if (r.n_finished > 0) {
        if ((st = scnn_dataset_load(&test, r.data_path, r.conf.dataset, "t10k")) != SCNN_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", scnn_last_error());
            st = scnn_fail(st, "the test set of %s (run.conf: dataset %s, data_dir '%s'): %s",
                           r.dir, r.conf.dataset, r.conf.data_dir, why);
            goto done;
        }
        if (r.n_test > test.n) {
            st = scnn_fail(SCNN_ERR_SHAPE,
                           "%s/iter-*/result.txt: n_test %zu, but %s has only "
                           "%zu test images",
                           r.dir, r.n_test, r.data_path, test.n);
            goto done;
        }
        if ((st = make_preds(&r, &test, &pr)) != SCNN_OK)
            goto done;
        scnn_class_report_compute(&cr, test.labels, pr.pred, pr.n);
        pi = scnn_report_most_confused(&cr);
        if ((st = write_class_csvs(&cr, scnn_class_names(r.conf.dataset), out)) != SCNN_OK ||
            (st = scnn_report_confusion_gp(&r, &cr, &pr, out)) != SCNN_OK ||
            (st = scnn_report_examples_gp(&r, &test, &pr, out)) != SCNN_OK ||
            (st = scnn_report_pair_gp(&r, &test, &pr, &pi, out)) != SCNN_OK)
            goto done;
    }
    int tvv_model = 0;
    if ((st = scnn_report_curve_data(&r, out)) != SCNN_OK ||
        (compare_dir && (st = scnn_report_compare_data(&c, out)) != SCNN_OK) ||
        (st = scnn_report_curves_gp(&r, compare_dir ? &c : NULL, out, true)) != SCNN_OK ||
        (st = scnn_report_curves_gp(&r, compare_dir ? &c : NULL, out, false)) != SCNN_OK ||
        (st = scnn_report_train_vs_val_gp(&r, out, &tvv_model)) != SCNN_OK)
        goto done;

    /* No stale pictures: remove the old ones, then draw. */
    static const char *const plots[] = {"accuracy",  "loss",     "train_vs_val",
                                        "confusion", "examples", "confused_pair"};
    int n_plots = r.n_finished > 0 ? 6 : 3;
    char path[SCNN_RUN_PATH + 64], gpbuf[SCNN_RUN_PATH];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s.png", out, plots[i]);
        unlink(path);
    }
    for (int i = 0; r.n_finished == 0 && i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", out, i ? "confusion.csv" : "per_class.csv");
        unlink(path);
    }
    const char *gp = scnn_report_find_gnuplot(gpbuf, sizeof gpbuf);
    if (gp && (st = scnn_report_run_gnuplots(gp, out, plots, n_plots)) != SCNN_OK)
        goto done;

    scnn_report_markdown(&md, &r, compare_dir ? &c : NULL, &cr, &pr, &pi, gp != NULL,
                         trainable_params(), tvv_model);
    if ((st = scnn_report_save(&md, out, "report.md")) != SCNN_OK)
        goto done;
    if (!gp)
        fprintf(stderr,
                "warning: gnuplot not found: wrote %s/report.md, the CSVs and the .gp/.dat "
                "files but no plots (install gnuplot, e.g. gnuplot-nox, and run "
                "'gnuplot NAME.gp' in %s)\n",
                out, out);
    printf("report: %s/report.md (%d plot%s)\n", out, gp ? n_plots : 0,
           gp && n_plots == 1 ? "" : "s");
done:
    free(md.p);
    preds_free(&pr);
    scnn_dataset_free(&test);
    scnn_run_free(&r);
    scnn_run_free(&c);
    return st;
}
