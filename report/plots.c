/* The report's pictures: .dat data and .gp scripts left in the report folder, so that each plot
 * can be tweaked and redrawn there (`gnuplot loss.gp`), and gnuplot run on them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report/report_internal.h"

/* A gnuplot double-quoted string: backslash, quote and newline escaped. */
void scnn_report_gpstr(scnn_strbuf *b, const char *s)
{
    scnn_strbuf_printf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            scnn_strbuf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            scnn_strbuf_printf(b, "\\n");
        else
            scnn_strbuf_printf(b, "%c", *s);
    }
    scnn_strbuf_printf(b, "\"");
}

/* ---- gnuplot --------------------------------------------------------------------------------- */

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static void gp_header(scnn_strbuf *b, const char *name, int w, int h, const char *what)
{
    scnn_strbuf_printf(b, "# %s, written by 'scnn report'. Redraw in this folder: gnuplot %s.gp\n",
                       what, name);
    scnn_strbuf_printf(b, "set terminal pngcairo size %d,%d noenhanced font 'Sans,12'\n", w, h);
    scnn_strbuf_printf(b, "set output '%s.png'\nset datafile missing '?'\n", name);
}

static void dat_num(scnn_strbuf *b, double v, double scale)
{
    if (isfinite(v))
        scnn_strbuf_printf(b, " %.6g", v * scale);
    else
        scnn_strbuf_printf(b, " ?");
}

/* history.dat: one block per present iteration (epoch loss acc% val_loss val_acc%);
 * kept.dat: the kept epoch's row of each. Returns the block count. */
scnn_status scnn_report_curve_data(const run_data *r, const char *out)
{
    scnn_strbuf h = {0}, kd = {0};
    scnn_strbuf_printf(&h,
                       "# per iteration (blocks in the order of the models present): epoch loss "
                       "acc(%%) val_loss val_acc(%%)\n");
    scnn_strbuf_printf(&kd,
                       "# kept epoch per iteration: epoch loss acc(%%) val_loss val_acc(%%)\n");
    for (int k = 0; k < r->conf.iterations; k++) {
        const iter_data *it = &r->it[k];
        if (!it->present)
            continue;
        scnn_strbuf_printf(&h, "# model %d\n", k);
        for (int e = 0; e < it->n_hist; e++) {
            const hist_row *x = &it->hist[e];
            scnn_strbuf_printf(&h, "%d", x->epoch);
            dat_num(&h, x->loss, 1);
            dat_num(&h, x->acc, 100);
            dat_num(&h, x->val_loss, 1);
            dat_num(&h, x->val_acc, 100);
            scnn_strbuf_printf(&h, "\n");
        }
        scnn_strbuf_printf(&h, "\n\n");
        scnn_strbuf_printf(&kd, "# model %d\n", k);
        if (it->res.best_epoch >= 1) {
            const hist_row *x = &it->hist[it->res.best_epoch - 1];
            scnn_strbuf_printf(&kd, "%d", x->epoch);
            dat_num(&kd, x->loss, 1);
            dat_num(&kd, x->acc, 100);
            dat_num(&kd, x->val_loss, 1);
            dat_num(&kd, x->val_acc, 100);
            scnn_strbuf_printf(&kd, "\n");
        } else {
            scnn_strbuf_printf(&kd, "? ? ? ? ?\n");
        }
        scnn_strbuf_printf(&kd, "\n\n");
    }
    scnn_status st = scnn_report_save(&h, out, "history.dat");
    scnn_status st2 = scnn_report_save(&kd, out, "kept.dat");
    return st != SCNN_OK ? st : st2;
}

/* compare.dat: the other run's mean over its iterations per epoch (those that reached it). */
scnn_status scnn_report_compare_data(const run_data *c, const char *out)
{
    scnn_strbuf b = {0};
    scnn_strbuf_printf(&b,
                       "# %s: mean over its iterations: epoch loss acc(%%) val_loss val_acc(%%) "
                       "models\n",
                       c->dir);
    int max_e = 0;
    for (int k = 0; k < c->conf.iterations; k++)
        if (c->it[k].present && c->it[k].n_hist > max_e)
            max_e = c->it[k].n_hist;
    for (int e = 0; e < max_e; e++) {
        double s[4] = {0};
        int n = 0;
        for (int k = 0; k < c->conf.iterations; k++) {
            const iter_data *it = &c->it[k];
            if (!it->present || it->n_hist <= e)
                continue;
            s[0] += it->hist[e].loss;
            s[1] += it->hist[e].acc;
            s[2] += it->hist[e].val_loss;
            s[3] += it->hist[e].val_acc;
            n++;
        }
        scnn_strbuf_printf(&b, "%d", e + 1);
        dat_num(&b, s[0] / n, 1);
        dat_num(&b, s[1] / n, 100);
        dat_num(&b, s[2] / n, 1);
        dat_num(&b, s[3] / n, 100);
        scnn_strbuf_printf(&b, " %d\n", n);
    }
    return scnn_report_save(&b, out, "compare.dat");
}

static int max_epochs(const run_data *r)
{
    int m = 1;
    for (int k = 0; k < r->conf.iterations; k++)
        if (r->it[k].present && r->it[k].n_hist > m)
            m = r->it[k].n_hist;
    return m;
}

static void gp_epoch_axis(scnn_strbuf *b, int max_e, double pad)
{
    scnn_strbuf_printf(b, "set xlabel 'epoch'\nset xrange [%g:%g]\n", 1 - pad,
                       (max_e > 1 ? max_e : 2) + pad);
    if (max_e <= 20)
        scnn_strbuf_printf(b, "set xtics 1\n");
}

/* loss.gp or accuracy.gp: every model's training (dashed) and validation (solid) curves. */
scnn_status scnn_report_curves_gp(const run_data *r, const run_data *cmp, const char *out, bool acc)
{
    const char *name = acc ? "accuracy" : "loss";
    int col_t = acc ? 3 : 2, col_v = acc ? 5 : 4;
    scnn_strbuf b = {0};
    gp_header(&b, name, 1400, 760, acc ? "Accuracy per epoch" : "Loss per epoch");
    char title[1024];
    snprintf(title, sizeof title,
             "%s, protocol %s: %s per epoch, %d model%s (training dashed, "
             "validation solid)",
             scnn_report_dataset_title(r->conf.dataset), r->conf.protocol, name, r->n_present,
             r->n_present == 1 ? "" : "s");
    scnn_strbuf_printf(&b, "set title ");
    scnn_report_gpstr(&b, title);
    scnn_strbuf_printf(&b, "\nset ylabel '%s'\n",
                       acc ? "accuracy (%)" : "loss (categorical cross-entropy, nats)");
    int max_e = max_epochs(r);
    if (cmp && max_epochs(cmp) > max_e)
        max_e = max_epochs(cmp);
    gp_epoch_axis(&b, max_e, 0);
    scnn_strbuf_printf(&b, "set grid\nset key outside right top spacing 1.2 box opaque\n"
                           "set style line 100 lc rgb 'gray50' lw 2\nplot \\\n");
    int blk = 0;
    for (int k = 0; k < r->conf.iterations; k++) {
        const iter_data *it = &r->it[k];
        if (!it->present)
            continue;
        const char *c = colours[k % 10];
        char t[256];
        snprintf(t, sizeof t, "model %d (seed %llu)%s", k, r->conf.seed + (unsigned long long)k,
                 it->finished ? "" : ", unfinished");
        scnn_strbuf_printf(&b,
                           "  'history.dat' index %d using 1:%d with lines lw 2 dt 1 lc rgb '%s' "
                           "title ",
                           blk, col_v, c);
        scnn_report_gpstr(&b, t);
        scnn_strbuf_printf(&b,
                           ", \\\n  'history.dat' index %d using 1:%d with lines lw 2 dt 2 "
                           "lc rgb '%s' notitle, \\\n",
                           blk, col_t, c);
        scnn_strbuf_printf(&b,
                           "  'kept.dat' index %d using 1:%d with points pt 7 ps 1.6 lc rgb '%s' "
                           "notitle, \\\n",
                           blk, col_v, c);
        scnn_strbuf_printf(
            &b,
            "  'kept.dat' index %d using 1:%d with points pt 6 ps 1.6 lw 2 lc rgb '%s' "
            "notitle, \\\n",
            blk, col_t, c);
        blk++;
    }
    if (cmp) {
        char t[600];
        snprintf(t, sizeof t, "%.200s (%s): mean of %d, validation",
                 scnn_report_base_name(cmp->dir), cmp->conf.protocol, cmp->n_present);
        scnn_strbuf_printf(
            &b, "  'compare.dat' using 1:%d with lines lw 4 dt 1 lc rgb 'black' title ", col_v);
        scnn_report_gpstr(&b, t);
        snprintf(t, sizeof t, "%.200s (%s): mean of %d, training", scnn_report_base_name(cmp->dir),
                 cmp->conf.protocol, cmp->n_present);
        scnn_strbuf_printf(&b,
                           ", \\\n  'compare.dat' using 1:%d with lines lw 4 dt 2 lc rgb 'black' "
                           "title ",
                           col_t);
        scnn_report_gpstr(&b, t);
        scnn_strbuf_printf(&b, ", \\\n");
    }
    scnn_strbuf_printf(
        &b, "  NaN with lines ls 100 dt 1 title 'validation', \\\n"
            "  NaN with lines ls 100 dt 2 title 'training', \\\n"
            "  NaN with points pt 7 ps 1.6 lc rgb 'gray50' title 'kept epoch (validation)', "
            "\\\n  NaN with points pt 6 ps 1.6 lw 2 lc rgb 'gray50' title 'kept epoch "
            "(training)'\n");
    char file[64];
    snprintf(file, sizeof file, "%s.gp", name);
    return scnn_report_save(&b, out, file);
}

/* train_vs_val.gp: one model, loss and accuracy side by side. */
scnn_status scnn_report_train_vs_val_gp(const run_data *r, const char *out, int *model)
{
    int k = 0;
    while (k < r->conf.iterations && !r->it[k].present)
        k++;
    *model = k;
    const iter_data *it = &r->it[k];
    scnn_strbuf b = {0};
    gp_header(&b, "train_vs_val", 1500, 620, "Training against validation, one model");
    char title[512];
    snprintf(title, sizeof title, "%s, model %d (seed %llu): training against validation%s",
             scnn_report_dataset_title(r->conf.dataset), k, r->conf.seed + (unsigned long long)k,
             it->finished ? "" : " (unfinished)");
    scnn_strbuf_printf(&b, "set multiplot layout 1,2 title ");
    scnn_report_gpstr(&b, title);
    scnn_strbuf_printf(&b, " font ',14'\n");
    gp_epoch_axis(&b, it->n_hist, 0.5);
    scnn_strbuf_printf(&b, "set grid\nset key at screen 0.5, screen 0.03 center horizontal\n"
                           "set bmargin 7\n");
    if (it->res.best_epoch >= 1)
        scnn_strbuf_printf(&b,
                           "set arrow 1 from %d, graph 0 to %d, graph 1 nohead dt 3 lw 2 lc rgb "
                           "'gray30'\n",
                           it->res.best_epoch, it->res.best_epoch);
    for (int pass = 0; pass < 2; pass++) {
        int ct = pass ? 3 : 2, cv = pass ? 5 : 4;
        if (pass)
            scnn_strbuf_printf(&b, "unset key\n");
        scnn_strbuf_printf(&b, "set title '%s'\nset ylabel '%s'\n", pass ? "accuracy" : "loss",
                           pass ? "accuracy (%)" : "loss (categorical cross-entropy, nats)");
        scnn_strbuf_printf(&b,
                           "plot 'history.dat' index 0 using 1:%d with linespoints lw 2 pt 6 "
                           "lc rgb '#1f77b4' title 'training', \\\n"
                           "     'history.dat' index 0 using 1:%d with linespoints lw 2 pt 7 "
                           "lc rgb '#ff7f0e' title 'validation'",
                           ct, cv);
        if (it->res.best_epoch >= 1)
            scnn_strbuf_printf(&b,
                               ", \\\n     NaN with lines dt 3 lw 2 lc rgb 'gray30' title "
                               "'kept epoch (%d)'",
                               it->res.best_epoch);
        scnn_strbuf_printf(&b, "\n");
    }
    scnn_strbuf_printf(&b, "unset multiplot\n");
    return scnn_report_save(&b, out, "train_vs_val.gp");
}

/* confusion.gp + confusion.dat: counts in the cells, colour by the fraction of the true class. */
scnn_status scnn_report_confusion_gp(const run_data *r, const scnn_class_report *cr,
                                     const preds *pr, const char *out)
{
    const char *const *names = scnn_class_names(r->conf.dataset);
    scnn_strbuf d = {0}, b = {0};
    scnn_strbuf_printf(&d, "# predicted true count fraction_of_true_class (rows: true class)\n");
    for (int t = 0; t < SCNN_CLASSES; t++) {
        uint32_t row = 0;
        for (int p = 0; p < SCNN_CLASSES; p++)
            row += cr->confusion[t][p];
        for (int p = 0; p < SCNN_CLASSES; p++)
            scnn_strbuf_printf(&d, "%d %d %u %.6f\n", p, t, cr->confusion[t][p],
                               row ? (double)cr->confusion[t][p] / row : 0.0);
        scnn_strbuf_printf(&d, "\n");
    }
    gp_header(&b, "confusion", 1100, 950, "Confusion matrix of the test set");
    char title[512];
    snprintf(title, sizeof title,
             "%s test set: confusion matrix, %s\n%zu images, accuracy "
             "%.2f%%",
             scnn_report_dataset_title(r->conf.dataset), pr->source, pr->n, 100 * cr->accuracy);
    scnn_strbuf_printf(&b, "set title ");
    scnn_report_gpstr(&b, title);
    scnn_strbuf_printf(&b, "\nset xlabel 'predicted class'\nset ylabel 'true class'\n"
                           "set xrange [-0.5:9.5]\nset yrange [9.5:-0.5]\nset size ratio -1\n"
                           "set tics scale 0\nset cbrange [0:1]\n"
                           "set cblabel 'fraction of the true class (row)'\n"
                           "set palette defined (0 'white', 0.02 '#fff5eb', 0.1 '#fdae6b', "
                           "0.4 '#e6550d', 1 '#7f2704')\n");
    for (int axis = 0; axis < 2; axis++) {
        scnn_strbuf_printf(&b, "set %s (", axis ? "ytics" : "xtics");
        for (int c = 0; c < SCNN_CLASSES; c++) {
            char l[64];
            snprintf(l, sizeof l, "%s (%d)", names[c], c);
            scnn_report_gpstr(&b, l);
            scnn_strbuf_printf(&b, " %d%s", c, c + 1 < SCNN_CLASSES ? ", " : ")");
        }
        scnn_strbuf_printf(&b, "%s\n", axis ? "" : " rotate by 35 right");
    }
    scnn_strbuf_printf(
        &b, "plot 'confusion.dat' using 1:2:4 with image notitle, \\\n"
            "     '' using 1:2:($4 >= 0.45 ? sprintf('%%d', $3) : '') with labels "
            "tc rgb 'white' font ',13' notitle, \\\n"
            "     '' using 1:2:($4 < 0.45 && $3 > 0 ? sprintf('%%d', $3) : '') with labels "
            "tc rgb 'black' font ',13' notitle, \\\n"
            "     '' using 1:2:($3 == 0 ? '0' : '') with labels tc rgb 'gray70' "
            "font ',11' notitle\n");
    scnn_status st = scnn_report_save(&d, out, "confusion.dat");
    scnn_status st2 = scnn_report_save(&b, out, "confusion.gp");
    return st != SCNN_OK ? st : st2;
}

/* A grid of test images with labels (examples.png, confused_pair.png). */
typedef struct grid_cell {
    size_t img;
    int row, col;
    char label[160];
    bool wrong;
} grid_cell;

static scnn_status write_grid_gp(const char *out, const char *name, const char *title,
                                 const scnn_dataset *test, const grid_cell *cells, int n, int rows,
                                 int cols, const char *const *row_labels, int label_lines,
                                 int label_chars)
{
    /* Coordinates in pixels of the 28x28 images, y downwards. */
    int cw = SCNN_IMG_W + (label_chars > 12 ? 14 : 8), ch = SCNN_IMG_H + 6 + 6 * label_lines;
    double scale = 3.6;
    int w = (int)(cols * cw * scale) + 330, h = (int)(rows * ch * scale) + 150;
    /* One matrix holding the whole grid; NaN between the images (gnuplot leaves them blank). */
    int mw = cols * cw, mh = rows * ch;
    uint8_t *cell_of = malloc((size_t)mw * mh * sizeof *cell_of);
    int *which = malloc((size_t)mw * mh * sizeof *which);
    scnn_strbuf d = {0}, b = {0};
    if (!cell_of || !which) {
        free(cell_of);
        free(which);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    }
    memset(cell_of, 0, (size_t)mw * mh);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < SCNN_IMG_H; y++)
            for (int x = 0; x < SCNN_IMG_W; x++) {
                size_t at = (size_t)(cells[i].row * ch + y) * mw + (size_t)(cells[i].col * cw + x);
                cell_of[at] = 1;
                which[at] = i;
            }
    scnn_strbuf_printf(&d,
                       "# %d test images of 28x28 pixels (0..255) in a %d x %d grid; NaN: blank\n",
                       n, cols, rows);
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x++) {
            size_t at = (size_t)y * mw + (size_t)x;
            if (cell_of[at]) {
                const grid_cell *g = &cells[which[at]];
                int py = y - g->row * ch, px = x - g->col * cw;
                scnn_strbuf_printf(&d, "%u",
                                   test->images[g->img * SCNN_PIXELS + py * SCNN_IMG_W + px]);
            } else {
                scnn_strbuf_printf(&d, "NaN");
            }
            scnn_strbuf_printf(&d, "%c", x + 1 < mw ? ' ' : '\n');
        }
    free(cell_of);
    free(which);
    gp_header(&b, name, w, h, "Test images with labels");
    scnn_strbuf_printf(&b, "set title ");
    scnn_report_gpstr(&b, title);
    scnn_strbuf_printf(&b,
                       " font ',14'\nset size ratio -1\nset xrange [-3:%d]\nset yrange [%d:-2]\n"
                       "unset xtics\nunset border\nset ytics scale 0 font ',13'\nset lmargin 24\n"
                       "set palette gray\nset cbrange [0:255]\nunset colorbox\n",
                       cols * cw - 3, rows * ch - 2);
    scnn_strbuf_printf(&b, "set ytics (");
    for (int rr = 0; rr < rows; rr++) {
        scnn_report_gpstr(&b, row_labels[rr]);
        scnn_strbuf_printf(&b, " %d%s", rr * ch + SCNN_IMG_H / 2, rr + 1 < rows ? ", " : ")\n");
    }
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            int x0 = cells[i].col * cw, y0 = cells[i].row * ch;
            scnn_strbuf_printf(&b, "set label %d ", i + 1);
            scnn_report_gpstr(&b, cells[i].label);
            scnn_strbuf_printf(&b, " at %g,%d center front font ',11' tc rgb '%s'\n",
                               x0 + (SCNN_IMG_W - 1) / 2.0, y0 + SCNN_IMG_H + 3,
                               cells[i].wrong ? "#d00000" : "black");
            if (cells[i].wrong)
                scnn_strbuf_printf(&b,
                                   "set object %d rect from %g,%g to %g,%g fs empty border "
                                   "lc rgb '#d00000' lw 3 front\n",
                                   i + 1, x0 - 1.0, y0 - 1.0, x0 + SCNN_IMG_W + 0.0,
                                   y0 + SCNN_IMG_H + 0.0);
        }
        scnn_strbuf_printf(&b, "plot '%s.dat' matrix using 1:2:3 with image notitle\n", name);
    } else {
        scnn_strbuf_printf(&b, "set label 1 'no images to show' at screen 0.5,0.5 center\n"
                               "plot NaN notitle\n");
    }
    char file[64];
    snprintf(file, sizeof file, "%s.dat", name);
    scnn_status st = scnn_report_save(&d, out, file);
    snprintf(file, sizeof file, "%s.gp", name);
    scnn_status st2 = scnn_report_save(&b, out, file);
    return st != SCNN_OK ? st : st2;
}

scnn_status scnn_report_examples_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                    const char *out)
{
    const char *const *names = scnn_class_names(r->conf.dataset);
    grid_cell *cells = calloc(SCNN_CLASSES * GRID_COLS, sizeof *cells);
    size_t *cand = malloc((pr->n + 1) * sizeof *cand);
    if (!cells || !cand) {
        free(cells);
        free(cand);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    }
    int n = 0, wrong = 0;
    for (int c = 0; c < SCNN_CLASSES; c++) {
        size_t m = 0;
        for (size_t i = 0; i < pr->n; i++)
            if (test->labels[i] == c)
                cand[m++] = i;
        /* A seeded partial Fisher-Yates: the same run gives the same pictures. */
        for (size_t j = 0; j < m && j < GRID_COLS; j++) {
            size_t pick =
                j +
                (size_t)(scnn_rng_u64(r->conf.seed, 0x7265706f7274ull, (uint64_t)c, j) % (m - j));
            size_t t = cand[j];
            cand[j] = cand[pick];
            cand[pick] = t;
            grid_cell *g = &cells[n++];
            g->img = cand[j];
            g->row = c;
            g->col = (int)j;
            int p = pr->pred[g->img];
            g->wrong = p != c;
            wrong += g->wrong;
            snprintf(g->label, sizeof g->label, "%s (%.0f%%)", names[p],
                     100.0 * pr->probs[g->img * SCNN_CLASSES + p]);
        }
    }
    const char *row_labels[SCNN_CLASSES];
    char rl[SCNN_CLASSES][64];
    for (int c = 0; c < SCNN_CLASSES; c++) {
        snprintf(rl[c], sizeof rl[c], "true: %s", names[c]);
        row_labels[c] = rl[c];
    }
    char title[512];
    snprintf(title, sizeof title,
             "%s: %d random test images per true class (rows)\n"
             "below each: the predicted class and its probability "
             "(predictions: %s); red: wrong (%d of %d)",
             scnn_report_dataset_title(r->conf.dataset), GRID_COLS, pr->source, wrong, n);
    scnn_status st = write_grid_gp(out, "examples", title, test, cells, n, SCNN_CLASSES, GRID_COLS,
                                   row_labels, 1, 14);
    free(cells);
    free(cand);
    return st;
}

pair_info scnn_report_most_confused(const scnn_class_report *cr)
{
    pair_info best = {0, 1, 0, 0};
    for (int a = 0; a < SCNN_CLASSES; a++)
        for (int b = a + 1; b < SCNN_CLASSES; b++)
            if (cr->confusion[a][b] + cr->confusion[b][a] > best.ab + best.ba)
                best = (pair_info){a, b, cr->confusion[a][b], cr->confusion[b][a]};
    return best;
}

typedef struct scored {
    size_t i;
    float p;
} scored;

static int by_p_desc(const void *x, const void *y)
{
    const scored *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? 1 : -1;
    return a->i < b->i ? -1 : a->i > b->i;
}

scnn_status scnn_report_pair_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                const pair_info *pi, const char *out)
{
    const char *const *names = scnn_class_names(r->conf.dataset);
    grid_cell cells[2 * GRID_COLS];
    scored *s = malloc((pr->n + 1) * sizeof *s);
    if (!s)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    int n = 0;
    char rl[2][160];
    const char *row_labels[2] = {rl[0], rl[1]};
    for (int dir = 0; dir < 2; dir++) {
        int t = dir ? pi->b : pi->a, p = dir ? pi->a : pi->b;
        size_t m = 0;
        for (size_t i = 0; i < pr->n; i++)
            if (test->labels[i] == t && pr->pred[i] == p)
                s[m++] = (scored){i, pr->probs[i * SCNN_CLASSES + p]};
        qsort(s, m, sizeof *s, by_p_desc);
        snprintf(rl[dir], sizeof rl[dir], "true: %s\npredicted: %s\n(%zu image%s)", names[t],
                 names[p], m, m == 1 ? "" : "s");
        for (size_t j = 0; j < m && j < GRID_COLS; j++) {
            grid_cell *g = &cells[n++];
            g->img = s[j].i;
            g->row = dir;
            g->col = (int)j;
            g->wrong = false;
            snprintf(g->label, sizeof g->label, "%s (%.0f%%)\n%s (%.0f%%)", names[p],
                     100.0 * pr->probs[s[j].i * SCNN_CLASSES + p], names[t],
                     100.0 * pr->probs[s[j].i * SCNN_CLASSES + t]);
        }
    }
    free(s);
    char title[512];
    if (pi->ab + pi->ba)
        snprintf(title, sizeof title,
                 "%s: the most confused pair, %s and %s: %u + %u of %zu test "
                 "images\nthe most confident mistakes each way, with the "
                 "probabilities of both classes; predictions: %s",
                 scnn_report_dataset_title(r->conf.dataset), names[pi->a], names[pi->b], pi->ab,
                 pi->ba, pr->n, pr->source);
    else
        snprintf(title, sizeof title, "%s: no test image was misclassified; predictions: %s",
                 scnn_report_dataset_title(r->conf.dataset), pr->source);
    return write_grid_gp(out, "confused_pair", title, test, cells, n, 2, GRID_COLS, row_labels, 2,
                         16);
}

/* The gnuplot program: $SCNN_GNUPLOT if set (empty: none), else gnuplot on PATH; NULL if none. */
const char *scnn_report_find_gnuplot(char *buf, size_t len)
{
    const char *env = getenv("SCNN_GNUPLOT");
    if (env)
        return *env && access(env, X_OK) == 0 ? env : NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        snprintf(buf, len, "%.*s/gnuplot", (int)n, n ? path : ".");
        if (access(buf, X_OK) == 0)
            return buf;
        path += n + (e ? 1 : 0);
    }
    return NULL;
}

/* Starts gnuplot NAME.gp in dir, its output going to dir/NAME.log; returns the pid or -1. */
static pid_t start_gnuplot(const char *gp, const char *dir, const char *name)
{
    char script[64], log[64];
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(log, sizeof log, "%s.log", name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(126);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(gp, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Draws the plots, all gnuplot processes at once; their logs are removed when they succeed. */
scnn_status scnn_report_run_gnuplots(const char *gp, const char *dir, const char *const *names,
                                     int n)
{
    pid_t pid[16];
    scnn_status st = SCNN_OK;
    for (int i = 0; i < n; i++)
        if ((pid[i] = start_gnuplot(gp, dir, names[i])) < 0 && st == SCNN_OK)
            st = scnn_fail(SCNN_ERR_IO, "cannot start %s: %s", gp, strerror(errno));
    for (int i = 0; i < n; i++) {
        if (pid[i] < 0)
            continue;
        int status = 0;
        while (waitpid(pid[i], &status, 0) < 0 && errno == EINTR)
            ;
        char log[SCNN_RUN_PATH + 64];
        snprintf(log, sizeof log, "%s/%s.log", dir, names[i]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            unlink(log);
        } else if (st == SCNN_OK) {
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
            st = scnn_fail(SCNN_ERR_IO, "gnuplot failed on %s/%s.gp (%s %d%s); see %s", dir,
                           names[i], WIFEXITED(status) ? "exit" : "signal", code,
                           code == 127 ? ": cannot run it" : "", log);
        }
    }
    return st;
}
