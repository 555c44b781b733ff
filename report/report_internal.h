/* The reports of a training run (internal to report/): report.c gathers the run and the
 * predictions and calls plots.c (gnuplot data and scripts) and markdown.c (report.md), which
 * share names.c. */
#ifndef SCNN_REPORT_INTERNAL_H
#define SCNN_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "model/run_folder.h"
#include "scnn.h"

#define GRID_COLS 8 /* examples per class, and per direction of the confused pair */

typedef struct preds {
    size_t n;
    float *probs; /* [n, 10]: the ensemble's mean, or the one model's */
    uint8_t *pred;
    char source[128]; /* for titles: "5-model ensemble, ..." or "model 0" */
} preds;

typedef struct pair_info {
    int a, b;        /* a < b */
    uint32_t ab, ba; /* true a predicted b, and the reverse */
} pair_info;

/* ---- report.c -------------------------------------------------------------------------------- */

/* Writes b to dir/name atomically and frees it. */
scnn_status scnn_report_save(scnn_strbuf *b, const char *dir, const char *name);
const char *scnn_report_dataset_title(const char *ds);
const char *scnn_report_base_name(const char *dir);

/* ---- plots.c: .dat and .gp files, and gnuplot ------------------------------------------------ */

/* A gnuplot double-quoted string: backslash, quote and newline escaped. */
void scnn_report_gpstr(scnn_strbuf *b, const char *s);
pair_info scnn_report_most_confused(const scnn_class_report *cr);
scnn_status scnn_report_curve_data(const run_data *r, const char *out);
scnn_status scnn_report_compare_data(const run_data *c, const char *out);
scnn_status scnn_report_curves_gp(const run_data *r, const run_data *cmp, const char *out,
                                  bool acc);
scnn_status scnn_report_train_vs_val_gp(const run_data *r, const char *out, int *model);
scnn_status scnn_report_confusion_gp(const run_data *r, const scnn_class_report *cr,
                                     const preds *pr, const char *out);
scnn_status scnn_report_examples_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                    const char *out);
scnn_status scnn_report_pair_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                const pair_info *pi, const char *out);
const char *scnn_report_find_gnuplot(char *buf, size_t len);
scnn_status scnn_report_run_gnuplots(const char *gp, const char *dir, const char *const *names,
                                     int n);

/* ---- markdown.c: report.md ------------------------------------------------------------------- */

void scnn_report_markdown(scnn_strbuf *b, const run_data *r, const run_data *c,
                          const scnn_class_report *cr, const preds *pr, const pair_info *pi,
                          bool plots, long trainable, int tvv_model);

#endif
