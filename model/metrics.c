/* Confusion matrix, per-class precision/recall/F1 (as scikit-learn's classification_report). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scnn.h"

void scnn_class_report_compute(scnn_class_report *r, const uint8_t *labels, const uint8_t *pred,
                               size_t n)
{
    memset(r, 0, sizeof *r);
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        r->confusion[labels[i] % SCNN_CLASSES][pred[i] % SCNN_CLASSES]++;
        correct += labels[i] == pred[i];
    }
    double total_support = 0;
    for (int c = 0; c < SCNN_CLASSES; c++) {
        uint32_t tp = r->confusion[c][c], predicted = 0, actual = 0;
        for (int k = 0; k < SCNN_CLASSES; k++) {
            predicted += r->confusion[k][c];
            actual += r->confusion[c][k];
        }
        /* scikit-learn's zero_division=0 convention */
        r->precision[c] = predicted ? (double)tp / predicted : 0.0;
        r->recall[c] = actual ? (double)tp / actual : 0.0;
        double s = r->precision[c] + r->recall[c];
        r->f1[c] = s > 0 ? 2 * r->precision[c] * r->recall[c] / s : 0.0;
        r->support[c] = actual;
        r->macro_f1 += r->f1[c] / SCNN_CLASSES;
        r->weighted_f1 += r->f1[c] * actual;
        total_support += actual;
    }
    r->weighted_f1 = total_support > 0 ? r->weighted_f1 / total_support : 0.0;
    r->accuracy = n ? (double)correct / (double)n : 0.0;
}

void scnn_class_report_print(const scnn_class_report *r, const char *const *names, void *file)
{
    FILE *f = file;
    fprintf(f, "confusion matrix (rows: true class, columns: predicted class)\n%14s", "");
    for (int c = 0; c < SCNN_CLASSES; c++)
        fprintf(f, " %5d", c);
    fprintf(f, "\n");
    for (int t = 0; t < SCNN_CLASSES; t++) {
        fprintf(f, "%2d %-11.11s", t, names[t]);
        for (int p = 0; p < SCNN_CLASSES; p++)
            fprintf(f, " %5u", r->confusion[t][p]);
        fprintf(f, "\n");
    }
    fprintf(f, "\n%14s %9s %9s %9s %9s\n", "", "precision", "recall", "f1-score", "support");
    uint32_t total = 0;
    double macro_p = 0, macro_r = 0, w_p = 0, w_r = 0;
    for (int c = 0; c < SCNN_CLASSES; c++) {
        fprintf(f, "%14s %9.4f %9.4f %9.4f %9u\n", names[c], r->precision[c], r->recall[c],
                r->f1[c], r->support[c]);
        total += r->support[c];
        macro_p += r->precision[c] / SCNN_CLASSES;
        macro_r += r->recall[c] / SCNN_CLASSES;
        w_p += r->precision[c] * r->support[c];
        w_r += r->recall[c] * r->support[c];
    }
    fprintf(f, "\n%14s %9s %9s %9.4f %9u\n", "accuracy", "", "", r->accuracy, total);
    fprintf(f, "%14s %9.4f %9.4f %9.4f %9u\n", "macro avg", macro_p, macro_r, r->macro_f1, total);
    fprintf(f, "%14s %9.4f %9.4f %9.4f %9u\n", "weighted avg", total ? w_p / total : 0,
            total ? w_r / total : 0, r->weighted_f1, total);
}

void scnn_mean_std(const double *x, int n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    *mean = n ? s / n : 0;
    for (int i = 0; i < n; i++)
        s2 += (x[i] - *mean) * (x[i] - *mean);
    *sd = n ? sqrt(s2 / n) : 0;
}
