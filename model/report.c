/* scnn report: turns a run directory (written by scnn train) into report.md, CSVs and plots.
 *
 * Inputs: DIR/run.conf, DIR/summary.json (optional: absent while a run is unfinished),
 * DIR/iter-k/{history.csv,result.txt,test_probs.f32} and the test set named by run.conf.
 * Plots are drawn by gnuplot from .gp and .dat files left in the report folder, so that they can
 * be tweaked and redrawn (`gnuplot loss.gp` there). Without gnuplot, everything but the PNGs is
 * written and a warning printed. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "scnn.h"
#include "scnn_png.h"

#define RPATH 4096
#define GRID_COLS 8           /* examples per class, and per direction of the confused pair */

/* A gnuplot double-quoted string: backslash, quote and newline escaped. */
static void sb_gpstr(scnn_strbuf *b, const char *s)
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

/* Writes b to dir/name atomically and frees it. */
static scnn_status sb_save(scnn_strbuf *b, const char *dir, const char *name)
{
    char path[RPATH + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    scnn_status st = b->oom ? scnn_fail(SCNN_ERR_NOMEM, "out of memory writing %s", path)
                            : scnn_write_atomic(path, b->p ? b->p : "", b->len);
    free(b->p);
    memset(b, 0, sizeof *b);
    return st;
}

/* ---- reading the run ------------------------------------------------------------------------- */

typedef struct hist_row {
    int epoch;
    double loss, acc, val_loss, val_acc, seconds, images_per_s;
} hist_row;

typedef struct iter_data {
    bool present;                 /* iter-k/ exists with a history */
    bool finished;                /* result.txt (and test_probs.f32) exist */
    hist_row *hist;
    int n_hist;
    int best_epoch, epochs_run;   /* unfinished: the best epoch so far by the selection rule */
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, seconds_per_epoch;
    size_t n_test;
    float *probs;                 /* [n_test, 10] (the main run only) */
} iter_data;

typedef struct run_data {
    char dir[RPATH];
    char dataset[64], data_dir[2048], protocol[32], select[32], backend[64];
    char data_path[2048];         /* data_dir, or the default folder of the data set */
    int epochs, batch, iterations, augment, patience;
    long long limit, test_limit;
    double val_split;
    unsigned long long seed;
    iter_data *it;                /* [iterations] */
    int n_present, n_finished;
    size_t n_test;
    /* summary.json */
    bool has_summary, summary_current;
    int threads;
    char git_rev[64];
    long long n_originals, n_train, n_val;
    /* figures over the finished iterations: summary.json's when it is current, else computed */
    double mean_test_loss, std_test_loss, mean_test_acc, std_test_acc, mean_train_loss,
        mean_train_acc, mean_val_loss, mean_val_acc, mean_best_epoch;
    bool has_ensemble;
    double ens_loss, ens_acc;
} run_data;

static void run_data_free(run_data *r)
{
    if (r->it)
        for (int k = 0; k < r->iterations; k++) {
            free(r->it[k].hist);
            free(r->it[k].probs);
        }
    free(r->it);
    r->it = NULL;
}

static scnn_status read_fail(const char *path)
{
    if (errno == EINVAL)
        return scnn_fail(SCNN_ERR_FORMAT, "%s: not a text file", path);
    return scnn_fail(SCNN_ERR_IO, "cannot read %s: %s", path, strerror(errno));
}

/* Next line of *p (NUL-terminated in place, trailing \r removed), or NULL at the end. */
static char *next_line(char **p)
{
    if (!*p || !**p)
        return NULL;
    char *s = *p, *e = strchr(s, '\n');
    if (e) {
        *e = 0;
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r')
        s[n - 1] = 0;
    return s;
}

static bool to_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool to_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static scnn_status read_run_conf(run_data *r)
{
    char path[RPATH + 64];
    snprintf(path, sizeof path, "%s/run.conf", r->dir);
    char *text = scnn_read_text(path, 1 << 20);
    if (!text) {
        if (errno == ENOENT)
            return scnn_fail(SCNN_ERR_IO, "%s: no such file (is %s a run folder written by "
                                          "'scnn train'?)", path, r->dir);
        return read_fail(path);
    }
    bool have_dataset = false, have_epochs = false, have_iter = false;
    scnn_status st = SCNN_OK;
    char *p = text, *line;
    int lineno = 0;
    r->batch = 250;
    r->augment = 2;
    r->val_split = 0.2;
    r->seed = 1;
    snprintf(r->protocol, sizeof r->protocol, "clean");
    snprintf(r->select, sizeof r->select, "val_loss");
    snprintf(r->backend, sizeof r->backend, "unknown");
    while (st == SCNN_OK && (line = next_line(&p))) {
        lineno++;
        if (!line[0] || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: expected key=value, got '%.40s'", path,
                           lineno, line);
            break;
        }
        *eq = 0;
        const char *k = line, *v = eq + 1;
        long long n = 0;
        bool ok = true;
        if (strcmp(k, "dataset") == 0) {
            ok = scnn_class_names(v) != NULL;
            snprintf(r->dataset, sizeof r->dataset, "%s", v);
            have_dataset = true;
        } else if (strcmp(k, "data_dir") == 0) {
            ok = strlen(v) < sizeof r->data_dir;
            snprintf(r->data_dir, sizeof r->data_dir, "%s", v);
        } else if (strcmp(k, "protocol") == 0) {
            snprintf(r->protocol, sizeof r->protocol, "%s", v);
        } else if (strcmp(k, "select") == 0) {
            ok = strcmp(v, "val_loss") == 0 || strcmp(v, "val_acc") == 0;
            snprintf(r->select, sizeof r->select, "%s", v);
        } else if (strcmp(k, "backend") == 0) {
            snprintf(r->backend, sizeof r->backend, "%s", v);
        } else if (strcmp(k, "epochs") == 0) {
            ok = to_ll(v, 1, 1000000, &n);
            r->epochs = (int)n;
            have_epochs = true;
        } else if (strcmp(k, "iterations") == 0) {
            ok = to_ll(v, 1, 100000, &n);
            r->iterations = (int)n;
            have_iter = true;
        } else if (strcmp(k, "batch") == 0) {
            ok = to_ll(v, 1, 100000000, &n);
            r->batch = (int)n;
        } else if (strcmp(k, "augment") == 0) {
            ok = to_ll(v, 0, 1000, &n);
            r->augment = (int)n;
        } else if (strcmp(k, "patience") == 0) {
            ok = to_ll(v, 0, 100000000, &n);
            r->patience = (int)n;
        } else if (strcmp(k, "limit") == 0) {
            ok = to_ll(v, 0, (long long)1 << 40, &r->limit);
        } else if (strcmp(k, "test_limit") == 0) {
            ok = to_ll(v, 0, (long long)1 << 40, &r->test_limit);
        } else if (strcmp(k, "val_split") == 0) {
            ok = to_double(v, &r->val_split) && r->val_split >= 0 && r->val_split < 1;
        } else if (strcmp(k, "seed") == 0) {
            ok = to_ll(v, 0, INT64_MAX, &n);
            r->seed = (unsigned long long)n;
        } /* other keys: written by a newer scnn; ignored */
        if (!ok)
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: bad value for %s: '%.40s'", path,
                           lineno, k, v);
    }
    free(text);
    if (st == SCNN_OK && !(have_dataset && have_epochs && have_iter))
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: incomplete: needs dataset, epochs and iterations",
                       path);
    return st;
}

static scnn_status read_history(const char *path, iter_data *it)
{
    char *text = scnn_read_text(path, 64u << 20);
    if (!text)
        return read_fail(path);
    char *p = text, *line = next_line(&p);
    scnn_status st = SCNN_OK;
    if (!line || strncmp(line, "epoch,loss,acc,val_loss,val_acc", 31) != 0) {
        free(text);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: line 1: expected the header "
                                          "'epoch,loss,acc,val_loss,val_acc,...'", path);
    }
    int cap = 0, lineno = 1;
    while ((line = next_line(&p))) {
        lineno++;
        if (!line[0])
            continue;
        hist_row h = {0};
        int used = 0, got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf%n", &h.epoch, &h.loss,
                                   &h.acc, &h.val_loss, &h.val_acc, &h.seconds, &h.images_per_s,
                                   &used);
        if (got != 7 || line[used] != 0 || h.epoch != it->n_hist + 1) {
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: expected epoch %d and 6 numbers, got "
                                            "'%.60s'", path, lineno, it->n_hist + 1, line);
            break;
        }
        if (it->n_hist == cap) {
            cap = cap ? cap * 2 : 64;
            hist_row *nh = realloc(it->hist, (size_t)cap * sizeof *nh);
            if (!nh) {
                st = scnn_fail(SCNN_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            it->hist = nh;
        }
        it->hist[it->n_hist++] = h;
    }
    free(text);
    if (st == SCNN_OK && it->n_hist == 0)
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: no epochs", path);
    return st;
}

static scnn_status read_result(const char *path, iter_data *it)
{
    char *text = scnn_read_text(path, 1 << 20);
    if (!text)
        return read_fail(path);
    static const char *const keys[] = {"best_epoch", "epochs_run", "train_loss", "train_acc",
                                       "val_loss",   "val_acc",    "test_loss",  "test_acc",
                                       "n_test"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    double v[NKEYS];
    bool have[NKEYS] = {false};
    char *p = text, *line;
    int lineno = 0;
    scnn_status st = SCNN_OK;
    while (st == SCNN_OK && (line = next_line(&p))) {
        lineno++;
        if (!line[0])
            continue;
        char *sp = strchr(line, ' ');
        double x;
        if (!sp || !to_double(sp + 1, &x)) {
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: expected 'key number', got '%.40s'",
                           path, lineno, line);
            break;
        }
        *sp = 0;
        if (strcmp(line, "seconds_per_epoch") == 0)
            it->seconds_per_epoch = x;
        for (int i = 0; i < NKEYS; i++)
            if (strcmp(line, keys[i]) == 0) {
                v[i] = x;
                have[i] = true;
            }
    }
    free(text);
    for (int i = 0; st == SCNN_OK && i < NKEYS; i++)
        if (!have[i])
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: no %s", path, keys[i]);
    if (st != SCNN_OK)
        return st;
    if (v[0] < 0 || v[0] > it->n_hist || v[1] != it->n_hist || v[8] < 0 || v[8] > 1e9 ||
        v[8] != floor(v[8]))
        return scnn_fail(SCNN_ERR_FORMAT, "%s: best_epoch %g / epochs_run %g / n_test %g do not "
                                          "match history.csv's %d epochs", path, v[0], v[1], v[8],
                         it->n_hist);
    it->best_epoch = (int)v[0];
    it->epochs_run = (int)v[1];
    it->train_loss = v[2];
    it->train_acc = v[3];
    it->val_loss = v[4];
    it->val_acc = v[5];
    it->test_loss = v[6];
    it->test_acc = v[7];
    it->n_test = (size_t)v[8];
    it->finished = true;
    return SCNN_OK;
}

static scnn_status read_probs(const char *path, iter_data *it)
{
    size_t n = it->n_test * SCNN_CLASSES, len;
    uint8_t *data;
    /* one byte more than expected is enough to tell a longer file */
    scnn_status st = scnn_read_file(path, n * sizeof(float) + 1, &data, &len);
    if (st == SCNN_ERR_NOMEM)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory reading %s", path);
    if (st == SCNN_ERR_IO)
        return scnn_fail(SCNN_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (st != SCNN_OK || len != n * sizeof(float)) {
        free(data);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: expected %zu float32 values (n_test %zu x %d)",
                         path, n, it->n_test, SCNN_CLASSES);
    }
    it->probs = (float *)data;   /* malloc'd: aligned for float */
    for (size_t i = 0; i < n; i++)
        if (!(it->probs[i] >= 0 && it->probs[i] <= 1.0001f))
            return scnn_fail(SCNN_ERR_FORMAT, "%s: value %zu is %g, not a probability", path, i,
                             (double)it->probs[i]);
    return SCNN_OK;
}

/* The value after "key": in a flat JSON text, or NULL. */
static const char *json_find(const char *text, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

static bool json_num(const char *text, const char *key, double *out)
{
    const char *p = json_find(text, key);
    char *end;
    if (!p)
        return false;
    errno = 0;
    *out = strtod(p, &end);
    return end != p && !errno && (*end == ',' || *end == '\n' || *end == '}' || *end == ' ');
}

static bool json_str(const char *text, const char *key, char *out, size_t len)
{
    const char *p = json_find(text, key);
    if (!p || *p != '"')
        return false;
    const char *e = strchr(p + 1, '"');
    if (!e)
        return false;
    snprintf(out, len, "%.*s", (int)(e - p - 1), p + 1);
    return true;
}

/* Means over the finished iterations; summary.json's figures replace them when it describes
 * exactly these iterations (as its numbers are what the training printed). */
static scnn_status read_summary(run_data *r)
{
    int n = r->n_finished;
    double tl[n ? n : 1], ta[n ? n : 1], trl[n ? n : 1], tra[n ? n : 1], vl[n ? n : 1],
        va[n ? n : 1], ke[n ? n : 1], sd;
    for (int k = 0, j = 0; k < r->iterations; k++) {
        const iter_data *it = &r->it[k];
        if (!it->finished)
            continue;
        tl[j] = it->test_loss;
        ta[j] = it->test_acc;
        trl[j] = it->train_loss;
        tra[j] = it->train_acc;
        vl[j] = it->val_loss;
        va[j] = it->val_acc;
        ke[j] = it->best_epoch;
        j++;
    }
    scnn_mean_std(tl, n, &r->mean_test_loss, &r->std_test_loss);
    scnn_mean_std(ta, n, &r->mean_test_acc, &r->std_test_acc);
    scnn_mean_std(trl, n, &r->mean_train_loss, &sd);
    scnn_mean_std(tra, n, &r->mean_train_acc, &sd);
    scnn_mean_std(vl, n, &r->mean_val_loss, &sd);
    scnn_mean_std(va, n, &r->mean_val_acc, &sd);
    scnn_mean_std(ke, n, &r->mean_best_epoch, &sd);

    char path[RPATH + 64];
    snprintf(path, sizeof path, "%s/summary.json", r->dir);
    char *text = scnn_read_text(path, 16u << 20);
    if (!text) {
        if (errno == ENOENT)
            return SCNN_OK;
        return read_fail(path);
    }
    r->has_summary = true;
    double x[11];
    static const char *const keys[] = {
        "mean_test_loss",  "std_test_loss",   "mean_test_acc", "std_test_acc",
        "mean_train_loss", "mean_train_acc",  "mean_val_loss", "mean_val_acc",
        "mean_best_epoch", "ensemble_test_loss", "ensemble_test_acc"};
    bool ok = true;
    for (int i = 0; ok && i < 11; i++)
        ok = json_num(text, keys[i], &x[i]);
    if (!ok) {
        free(text);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: malformed (no %s)", path, "mean/ensemble figures");
    }
    double v;
    if (json_num(text, "threads", &v))
        r->threads = (int)v;
    if (json_num(text, "n_originals", &v))
        r->n_originals = (long long)v;
    if (json_num(text, "n_train", &v))
        r->n_train = (long long)v;
    if (json_num(text, "n_val", &v))
        r->n_val = (long long)v;
    json_str(text, "git_rev", r->git_rev, sizeof r->git_rev);
    int count = 0;
    for (const char *p = text; (p = strstr(p, "\"iteration\":")); p++)
        count++;
    free(text);
    r->summary_current = count == r->n_finished && r->n_finished == r->iterations;
    if (r->summary_current) {
        double *dst[] = {&r->mean_test_loss,  &r->std_test_loss,  &r->mean_test_acc,
                         &r->std_test_acc,    &r->mean_train_loss, &r->mean_train_acc,
                         &r->mean_val_loss,   &r->mean_val_acc,    &r->mean_best_epoch,
                         &r->ens_loss,        &r->ens_acc};
        for (int i = 0; i < 11; i++)
            *dst[i] = x[i];
        r->has_ensemble = r->n_finished > 1;
    }
    return SCNN_OK;
}

/* The best epoch of a history by the run's selection rule (Keras keeps the first best). */
static int best_of_history(const run_data *r, const iter_data *it)
{
    bool by_acc = strcmp(r->select, "val_acc") == 0;
    int best = 0;
    for (int e = 0; e < it->n_hist; e++) {
        const hist_row *h = &it->hist[e];
        if (best == 0 || (by_acc ? h->val_acc > it->hist[best - 1].val_acc
                                 : h->val_loss < it->hist[best - 1].val_loss))
            best = e + 1;
    }
    return best;
}

static scnn_status load_run(run_data *r, const char *dir, bool with_probs)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    size_t n = strlen(r->dir);
    while (n > 1 && r->dir[n - 1] == '/')
        r->dir[--n] = 0;
    struct stat sb;
    if (stat(r->dir, &sb) != 0)
        return scnn_fail(SCNN_ERR_IO, "%s: %s", r->dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return scnn_fail(SCNN_ERR_ARG, "%s: not a folder (give the run folder of 'scnn train')",
                         r->dir);
    scnn_status st = read_run_conf(r);
    if (st != SCNN_OK)
        return st;
    r->it = calloc((size_t)r->iterations, sizeof *r->it);
    if (!r->it)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    char path[RPATH + 64];
    for (int k = 0; k < r->iterations; k++) {
        iter_data *it = &r->it[k];
        snprintf(path, sizeof path, "%s/iter-%d", r->dir, k);
        if (stat(path, &sb) != 0)
            continue; /* not started */
        snprintf(path, sizeof path, "%s/iter-%d/history.csv", r->dir, k);
        char res[RPATH + 64], ckpt[RPATH + 64];
        snprintf(res, sizeof res, "%s/iter-%d/result.txt", r->dir, k);
        snprintf(ckpt, sizeof ckpt, "%s/iter-%d/best.ckpt", r->dir, k);
        if (access(path, F_OK) != 0 && errno == ENOENT && access(res, F_OK) != 0 &&
            access(ckpt, F_OK) != 0)
            continue; /* started, but no epoch has finished */
        if ((st = read_history(path, it)) != SCNN_OK)
            return st;
        it->present = true;
        r->n_present++;
        snprintf(path, sizeof path, "%s/iter-%d/result.txt", r->dir, k);
        if (access(path, F_OK) != 0) {
            it->best_epoch = best_of_history(r, it);
            it->epochs_run = it->n_hist;
            continue;
        }
        if ((st = read_result(path, it)) != SCNN_OK)
            return st;
        r->n_finished++;
        if (r->n_finished > 1 && it->n_test != r->n_test)
            return scnn_fail(SCNN_ERR_FORMAT, "%s: n_test %zu, but an earlier iteration has %zu",
                             path, it->n_test, r->n_test);
        r->n_test = it->n_test;
        if (with_probs) {
            snprintf(path, sizeof path, "%s/iter-%d/test_probs.f32", r->dir, k);
            if ((st = read_probs(path, it)) != SCNN_OK)
                return st;
        }
    }
    if (r->n_present == 0)
        return scnn_fail(SCNN_ERR_IO, "%s: nothing to report yet: no iteration has a history.csv "
                                      "(%s/iter-0/history.csv is written after the first epoch)",
                         r->dir, r->dir);
    return read_summary(r);
}

/* ---- predictions ----------------------------------------------------------------------------- */

typedef struct preds {
    size_t n;
    float *probs;                 /* [n, 10]: the ensemble's mean, or the one model's */
    uint8_t *pred;
    char source[128];             /* for titles: "5-model ensemble, ..." or "model 0" */
} preds;

static scnn_status make_preds(run_data *r, const scnn_dataset *test, preds *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->n = r->n_test;
    pr->probs = calloc(pr->n * SCNN_CLASSES + 1, sizeof(float));
    pr->pred = malloc(pr->n + 1);
    if (!pr->probs || !pr->pred)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    int first = -1;
    for (int k = 0; k < r->iterations; k++) {
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
        r->ens_loss = loss / (double)pr->n;
        r->ens_acc = (double)correct / (double)pr->n;
    }
    return SCNN_OK;
}

static void preds_free(preds *pr)
{
    free(pr->probs);
    free(pr->pred);
}

/* ---- gnuplot --------------------------------------------------------------------------------- */

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static const char *dataset_title(const char *ds)
{
    return strcmp(ds, "mnist") == 0 ? "MNIST" : "Fashion-MNIST";
}

static const char *base_name(const char *dir)
{
    const char *s = strrchr(dir, '/');
    return s && s[1] ? s + 1 : dir;
}

static void gp_header(scnn_strbuf *b, const char *name, int w, int h, const char *what)
{
    scnn_strbuf_printf(b, "# %s, written by 'scnn report'. Redraw in this folder: gnuplot %s.gp\n", what,
              name);
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
static scnn_status write_curve_data(const run_data *r, const char *out)
{
    scnn_strbuf h = {0}, kd = {0};
    scnn_strbuf_printf(&h, "# per iteration (blocks in the order of the models present): epoch loss "
                  "acc(%%) val_loss val_acc(%%)\n");
    scnn_strbuf_printf(&kd, "# kept epoch per iteration: epoch loss acc(%%) val_loss val_acc(%%)\n");
    for (int k = 0; k < r->iterations; k++) {
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
        if (it->best_epoch >= 1) {
            const hist_row *x = &it->hist[it->best_epoch - 1];
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
    scnn_status st = sb_save(&h, out, "history.dat");
    scnn_status st2 = sb_save(&kd, out, "kept.dat");
    return st != SCNN_OK ? st : st2;
}

/* compare.dat: the other run's mean over its iterations per epoch (those that reached it). */
static scnn_status write_compare_data(const run_data *c, const char *out)
{
    scnn_strbuf b = {0};
    scnn_strbuf_printf(&b, "# %s: mean over its iterations: epoch loss acc(%%) val_loss val_acc(%%) "
                  "models\n", c->dir);
    int max_e = 0;
    for (int k = 0; k < c->iterations; k++)
        if (c->it[k].present && c->it[k].n_hist > max_e)
            max_e = c->it[k].n_hist;
    for (int e = 0; e < max_e; e++) {
        double s[4] = {0};
        int n = 0;
        for (int k = 0; k < c->iterations; k++) {
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
    return sb_save(&b, out, "compare.dat");
}

static int max_epochs(const run_data *r)
{
    int m = 1;
    for (int k = 0; k < r->iterations; k++)
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
static scnn_status write_curves_gp(const run_data *r, const run_data *cmp, const char *out,
                                   bool acc)
{
    const char *name = acc ? "accuracy" : "loss";
    int col_t = acc ? 3 : 2, col_v = acc ? 5 : 4;
    scnn_strbuf b = {0};
    gp_header(&b, name, 1400, 760, acc ? "Accuracy per epoch" : "Loss per epoch");
    char title[1024];
    snprintf(title, sizeof title, "%s, protocol %s: %s per epoch, %d model%s (training dashed, "
                                  "validation solid)",
             dataset_title(r->dataset), r->protocol, name, r->n_present,
             r->n_present == 1 ? "" : "s");
    scnn_strbuf_printf(&b, "set title ");
    sb_gpstr(&b, title);
    scnn_strbuf_printf(&b, "\nset ylabel '%s'\n",
              acc ? "accuracy (%)" : "loss (categorical cross-entropy, nats)");
    int max_e = max_epochs(r);
    if (cmp && max_epochs(cmp) > max_e)
        max_e = max_epochs(cmp);
    gp_epoch_axis(&b, max_e, 0);
    scnn_strbuf_printf(&b, "set grid\nset key outside right top spacing 1.2 box opaque\n"
                  "set style line 100 lc rgb 'gray50' lw 2\nplot \\\n");
    int blk = 0;
    for (int k = 0; k < r->iterations; k++) {
        const iter_data *it = &r->it[k];
        if (!it->present)
            continue;
        const char *c = colours[k % 10];
        char t[256];
        snprintf(t, sizeof t, "model %d (seed %llu)%s", k, r->seed + (unsigned long long)k,
                 it->finished ? "" : ", unfinished");
        scnn_strbuf_printf(&b, "  'history.dat' index %d using 1:%d with lines lw 2 dt 1 lc rgb '%s' "
                      "title ", blk, col_v, c);
        sb_gpstr(&b, t);
        scnn_strbuf_printf(&b, ", \\\n  'history.dat' index %d using 1:%d with lines lw 2 dt 2 "
                      "lc rgb '%s' notitle, \\\n", blk, col_t, c);
        scnn_strbuf_printf(&b, "  'kept.dat' index %d using 1:%d with points pt 7 ps 1.6 lc rgb '%s' "
                      "notitle, \\\n", blk, col_v, c);
        scnn_strbuf_printf(&b, "  'kept.dat' index %d using 1:%d with points pt 6 ps 1.6 lw 2 lc rgb '%s' "
                      "notitle, \\\n", blk, col_t, c);
        blk++;
    }
    if (cmp) {
        char t[600];
        snprintf(t, sizeof t, "%.200s (%s): mean of %d, validation", base_name(cmp->dir),
                 cmp->protocol, cmp->n_present);
        scnn_strbuf_printf(&b, "  'compare.dat' using 1:%d with lines lw 4 dt 1 lc rgb 'black' title ",
                  col_v);
        sb_gpstr(&b, t);
        snprintf(t, sizeof t, "%.200s (%s): mean of %d, training", base_name(cmp->dir),
                 cmp->protocol, cmp->n_present);
        scnn_strbuf_printf(&b, ", \\\n  'compare.dat' using 1:%d with lines lw 4 dt 2 lc rgb 'black' "
                      "title ", col_t);
        sb_gpstr(&b, t);
        scnn_strbuf_printf(&b, ", \\\n");
    }
    scnn_strbuf_printf(&b, "  NaN with lines ls 100 dt 1 title 'validation', \\\n"
                  "  NaN with lines ls 100 dt 2 title 'training', \\\n"
                  "  NaN with points pt 7 ps 1.6 lc rgb 'gray50' title 'kept epoch (validation)', "
                  "\\\n  NaN with points pt 6 ps 1.6 lw 2 lc rgb 'gray50' title 'kept epoch "
                  "(training)'\n");
    char file[64];
    snprintf(file, sizeof file, "%s.gp", name);
    return sb_save(&b, out, file);
}

/* train_vs_val.gp: one model, loss and accuracy side by side. */
static scnn_status write_train_vs_val_gp(const run_data *r, const char *out, int *model)
{
    int k = 0;
    while (k < r->iterations && !r->it[k].present)
        k++;
    *model = k;
    const iter_data *it = &r->it[k];
    scnn_strbuf b = {0};
    gp_header(&b, "train_vs_val", 1500, 620, "Training against validation, one model");
    char title[512];
    snprintf(title, sizeof title, "%s, model %d (seed %llu): training against validation%s",
             dataset_title(r->dataset), k, r->seed + (unsigned long long)k,
             it->finished ? "" : " (unfinished)");
    scnn_strbuf_printf(&b, "set multiplot layout 1,2 title ");
    sb_gpstr(&b, title);
    scnn_strbuf_printf(&b, " font ',14'\n");
    gp_epoch_axis(&b, it->n_hist, 0.5);
    scnn_strbuf_printf(&b, "set grid\nset key at screen 0.5, screen 0.03 center horizontal\n"
                  "set bmargin 7\n");
    if (it->best_epoch >= 1)
        scnn_strbuf_printf(&b, "set arrow 1 from %d, graph 0 to %d, graph 1 nohead dt 3 lw 2 lc rgb "
                      "'gray30'\n", it->best_epoch, it->best_epoch);
    for (int pass = 0; pass < 2; pass++) {
        int ct = pass ? 3 : 2, cv = pass ? 5 : 4;
        if (pass)
            scnn_strbuf_printf(&b, "unset key\n");
        scnn_strbuf_printf(&b, "set title '%s'\nset ylabel '%s'\n", pass ? "accuracy" : "loss",
                  pass ? "accuracy (%)" : "loss (categorical cross-entropy, nats)");
        scnn_strbuf_printf(&b, "plot 'history.dat' index 0 using 1:%d with linespoints lw 2 pt 6 "
                      "lc rgb '#1f77b4' title 'training', \\\n"
                      "     'history.dat' index 0 using 1:%d with linespoints lw 2 pt 7 "
                      "lc rgb '#ff7f0e' title 'validation'", ct, cv);
        if (it->best_epoch >= 1)
            scnn_strbuf_printf(&b, ", \\\n     NaN with lines dt 3 lw 2 lc rgb 'gray30' title "
                          "'kept epoch (%d)'", it->best_epoch);
        scnn_strbuf_printf(&b, "\n");
    }
    scnn_strbuf_printf(&b, "unset multiplot\n");
    return sb_save(&b, out, "train_vs_val.gp");
}

/* confusion.gp + confusion.dat: counts in the cells, colour by the fraction of the true class. */
static scnn_status write_confusion_gp(const run_data *r, const scnn_class_report *cr,
                                      const preds *pr, const char *out)
{
    const char *const *names = scnn_class_names(r->dataset);
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
    snprintf(title, sizeof title, "%s test set: confusion matrix, %s\n%zu images, accuracy "
                                  "%.2f%%",
             dataset_title(r->dataset), pr->source, pr->n, 100 * cr->accuracy);
    scnn_strbuf_printf(&b, "set title ");
    sb_gpstr(&b, title);
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
            sb_gpstr(&b, l);
            scnn_strbuf_printf(&b, " %d%s", c, c + 1 < SCNN_CLASSES ? ", " : ")");
        }
        scnn_strbuf_printf(&b, "%s\n", axis ? "" : " rotate by 35 right");
    }
    scnn_strbuf_printf(&b, "plot 'confusion.dat' using 1:2:4 with image notitle, \\\n"
                  "     '' using 1:2:($4 >= 0.45 ? sprintf('%%d', $3) : '') with labels "
                  "tc rgb 'white' font ',13' notitle, \\\n"
                  "     '' using 1:2:($4 < 0.45 && $3 > 0 ? sprintf('%%d', $3) : '') with labels "
                  "tc rgb 'black' font ',13' notitle, \\\n"
                  "     '' using 1:2:($3 == 0 ? '0' : '') with labels tc rgb 'gray70' "
                  "font ',11' notitle\n");
    scnn_status st = sb_save(&d, out, "confusion.dat");
    scnn_status st2 = sb_save(&b, out, "confusion.gp");
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
                                 const scnn_dataset *test, const grid_cell *cells, int n,
                                 int rows, int cols, const char *const *row_labels,
                                 int label_lines, int label_chars)
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
    scnn_strbuf_printf(&d, "# %d test images of 28x28 pixels (0..255) in a %d x %d grid; NaN: blank\n",
              n, cols, rows);
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x++) {
            size_t at = (size_t)y * mw + (size_t)x;
            if (cell_of[at]) {
                const grid_cell *g = &cells[which[at]];
                int py = y - g->row * ch, px = x - g->col * cw;
                scnn_strbuf_printf(&d, "%u", test->images[g->img * SCNN_PIXELS + py * SCNN_IMG_W + px]);
            } else {
                scnn_strbuf_printf(&d, "NaN");
            }
            scnn_strbuf_printf(&d, "%c", x + 1 < mw ? ' ' : '\n');
        }
    free(cell_of);
    free(which);
    gp_header(&b, name, w, h, "Test images with labels");
    scnn_strbuf_printf(&b, "set title ");
    sb_gpstr(&b, title);
    scnn_strbuf_printf(&b, " font ',14'\nset size ratio -1\nset xrange [-3:%d]\nset yrange [%d:-2]\n"
                  "unset xtics\nunset border\nset ytics scale 0 font ',13'\nset lmargin 24\n"
                  "set palette gray\nset cbrange [0:255]\nunset colorbox\n",
              cols * cw - 3, rows * ch - 2);
    scnn_strbuf_printf(&b, "set ytics (");
    for (int rr = 0; rr < rows; rr++) {
        sb_gpstr(&b, row_labels[rr]);
        scnn_strbuf_printf(&b, " %d%s", rr * ch + SCNN_IMG_H / 2, rr + 1 < rows ? ", " : ")\n");
    }
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            int x0 = cells[i].col * cw, y0 = cells[i].row * ch;
            scnn_strbuf_printf(&b, "set label %d ", i + 1);
            sb_gpstr(&b, cells[i].label);
            scnn_strbuf_printf(&b, " at %g,%d center front font ',11' tc rgb '%s'\n",
                      x0 + (SCNN_IMG_W - 1) / 2.0, y0 + SCNN_IMG_H + 3,
                      cells[i].wrong ? "#d00000" : "black");
            if (cells[i].wrong)
                scnn_strbuf_printf(&b, "set object %d rect from %g,%g to %g,%g fs empty border "
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
    scnn_status st = sb_save(&d, out, file);
    snprintf(file, sizeof file, "%s.gp", name);
    scnn_status st2 = sb_save(&b, out, file);
    return st != SCNN_OK ? st : st2;
}

static scnn_status write_examples_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                     const char *out)
{
    const char *const *names = scnn_class_names(r->dataset);
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
            size_t pick = j + (size_t)(scnn_rng_u64(r->seed, 0x7265706f7274ull, (uint64_t)c, j) %
                                       (m - j));
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
    snprintf(title, sizeof title, "%s: %d random test images per true class (rows)\n"
                                  "below each: the predicted class and its probability "
                                  "(predictions: %s); red: wrong (%d of %d)",
             dataset_title(r->dataset), GRID_COLS, pr->source, wrong, n);
    scnn_status st = write_grid_gp(out, "examples", title, test, cells, n, SCNN_CLASSES,
                                   GRID_COLS, row_labels, 1, 14);
    free(cells);
    free(cand);
    return st;
}

typedef struct pair_info {
    int a, b;                     /* a < b */
    uint32_t ab, ba;              /* true a predicted b, and the reverse */
} pair_info;

static pair_info most_confused(const scnn_class_report *cr)
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

static scnn_status write_pair_gp(const run_data *r, const scnn_dataset *test, const preds *pr,
                                 const pair_info *pi, const char *out)
{
    const char *const *names = scnn_class_names(r->dataset);
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
        snprintf(title, sizeof title, "%s: the most confused pair, %s and %s: %u + %u of %zu test "
                                      "images\nthe most confident mistakes each way, with the "
                                      "probabilities of both classes; predictions: %s",
                 dataset_title(r->dataset), names[pi->a], names[pi->b], pi->ab, pi->ba, pr->n,
                 pr->source);
    else
        snprintf(title, sizeof title, "%s: no test image was misclassified; predictions: %s",
                 dataset_title(r->dataset), pr->source);
    return write_grid_gp(out, "confused_pair", title, test, cells, n, 2, GRID_COLS, row_labels, 2,
                         16);
}

/* The gnuplot program: $SCNN_GNUPLOT if set (empty: none), else gnuplot on PATH; NULL if none. */
static const char *find_gnuplot(char *buf, size_t len)
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
static scnn_status run_gnuplots(const char *gp, const char *dir, const char *const *names, int n)
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
        char log[RPATH + 64];
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

/* ---- report.md ------------------------------------------------------------------------------- */

static void md_pct_pm(scnn_strbuf *b, double m, double sd)
{
    scnn_strbuf_printf(b, "%.2f%% ± %.2f%%", 100 * m, 100 * sd);
}

static bool reduced_run(const run_data *r, char *why, size_t len)
{
    bool mnist = strcmp(r->dataset, "mnist") == 0;
    scnn_strbuf b = {0};
    if (r->epochs != 80)
        scnn_strbuf_printf(&b, "%d epochs instead of 80; ", r->epochs);
    if (r->limit)
        scnn_strbuf_printf(&b, "%lld training originals instead of 60,000; ", r->limit);
    if (r->test_limit && r->test_limit < 10000)
        scnn_strbuf_printf(&b, "%lld test images instead of 10,000; ", r->test_limit);
    if (r->augment != 2)
        scnn_strbuf_printf(&b, "%d augmented cop%s instead of 2; ", r->augment,
                  r->augment == 1 ? "y" : "ies");
    if (r->iterations != (mnist ? 1 : 5))
        scnn_strbuf_printf(&b, "%d models instead of %d; ", r->iterations, mnist ? 1 : 5);
    if (r->batch != 250)
        scnn_strbuf_printf(&b, "batch %d instead of 250; ", r->batch);
    if (r->n_finished < r->iterations)
        scnn_strbuf_printf(&b, "only %d of %d models finished; ", r->n_finished, r->iterations);
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
        scnn_strbuf_printf(b, "*(%s not drawn: gnuplot was not found; %s.gp and its data are here)*\n\n",
                  png, alt);
}

static void write_markdown(scnn_strbuf *b, const run_data *r, const run_data *c,
                           const scnn_class_report *cr,
                           const preds *pr, const pair_info *pi, bool plots, long trainable,
                           int tvv_model)
{
    const char *dsn = dataset_title(r->dataset);
    bool mnist = strcmp(r->dataset, "mnist") == 0;
    const char *const *names = scnn_class_names(r->dataset);
    int nf = r->n_finished;
    scnn_strbuf_printf(b, "# %s: the simple CNN, protocol %s\n\n", dsn, r->protocol);
    scnn_strbuf_printf(b, "Run folder `%s`", r->dir);
    if (r->git_rev[0])
        scnn_strbuf_printf(b, ", built from `%s`", r->git_rev);
    scnn_strbuf_printf(b, "; report written by `scnn report`.\n\n");
    if (nf < r->iterations || !r->has_summary) {
        scnn_strbuf_printf(b, "> **Unfinished run:** %d of %d models %s finished (result.txt)", nf,
                  r->iterations, nf == 1 ? "has" : "have");
        if (r->n_present > nf)
            scnn_strbuf_printf(b, "; %d more %s reported from history.csv alone (curves, best epoch so "
                         "far), not in the test figures", r->n_present - nf,
                      r->n_present - nf == 1 ? "is" : "are");
        scnn_strbuf_printf(b, ". %s\n\n", r->has_summary ? "summary.json describes other iterations: the "
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
        scnn_strbuf_printf(b, "| test (mean ± std of %d model%s) | %.4f ± %.4f | ", nf, nf == 1 ? "" : "s",
                  r->mean_test_loss, r->std_test_loss);
        md_pct_pm(b, r->mean_test_acc, r->std_test_acc);
        scnn_strbuf_printf(b, " |\n| training, at the kept epoch (mean) | %.4f | %.2f%% |\n",
                  r->mean_train_loss, 100 * r->mean_train_acc);
        scnn_strbuf_printf(b, "| validation, at the kept epoch (mean) | %.4f | %.2f%% |\n",
                  r->mean_val_loss, 100 * r->mean_val_acc);
        if (r->has_ensemble)
            scnn_strbuf_printf(b, "| test, ensemble (mean of the %d models' probabilities) | %.4f | "
                         "%.2f%% |\n", nf, r->ens_loss, 100 * r->ens_acc);
        scnn_strbuf_printf(b, "\nKept epoch (%s), mean over the models: %.1f of %d.\n\n",
                  strcmp(r->select, "val_acc") == 0 ? "highest validation accuracy"
                                                    : "lowest validation loss",
                  r->mean_best_epoch, r->epochs);
    }

    scnn_strbuf_printf(b, "### Beside the seed's published figures\n\n");
    char why[512];
    if (reduced_run(r, why, sizeof why))
        scnn_strbuf_printf(b, "This run is smaller than the seed's (%s): its figures are not comparable "
                     "with the seed's.\n\n", why);
    scnn_strbuf_printf(b, "| | seed: loss | seed: accuracy | this run: loss | this run: accuracy |\n"
                 "|---|---|---|---|---|\n");
    if (mnist) {
        scnn_strbuf_printf(b, "| MNIST test | 0.0248 | 99.43%% | ");
        if (nf)
            scnn_strbuf_printf(b, "%.4f | %.2f%% |\n", r->mean_test_loss, 100 * r->mean_test_acc);
        else
            scnn_strbuf_printf(b, "– | – |\n");
    } else {
        static const char *const rows[] = {"test (mean of 5)", "training (at kept epoch, mean)",
                                           "validation (same)"};
        static const char *const seed_l[] = {"0.2149", "0.1066", "0.1245"};
        static const char *const seed_a[] = {"93.43%", "95.99%", "95.64%"};
        double ours_l[] = {r->mean_test_loss, r->mean_train_loss, r->mean_val_loss};
        double ours_a[] = {r->mean_test_acc, r->mean_train_acc, r->mean_val_acc};
        for (int i = 0; i < 3; i++) {
            scnn_strbuf_printf(b, "| Fashion-MNIST %s | %s | %s | ", rows[i], seed_l[i], seed_a[i]);
            if (nf)
                scnn_strbuf_printf(b, "%.4f | %.2f%% |\n", ours_l[i], 100 * ours_a[i]);
            else
                scnn_strbuf_printf(b, "– | – |\n");
        }
        scnn_strbuf_printf(b, "| Fashion-MNIST test, later re-run of the seed's notebook | 0.2190 | "
                     "93.27%% (± 0.17%%) | | |\n");
    }
    scnn_strbuf_printf(b, "\nThe seed's figures are from SPEC.md section 3 (Keras 2 / TensorFlow, 80 "
                 "epochs, 5 models, protocol \"seed\": its validation is optimistic, as about "
                 "96%% of its validation images have an augmented sibling in training).\n\n");

    scnn_strbuf_printf(b, "## Settings\n\n| setting | value |\n|---|---|\n");
    scnn_strbuf_printf(b, "| data set | %s (`%s`) |\n", dsn, r->data_path);
    scnn_strbuf_printf(b, "| protocol | %s |\n", r->protocol);
    scnn_strbuf_printf(b, "| models (iterations) | %d, seeds %llu..%llu |\n", r->iterations, r->seed,
              r->seed + (unsigned long long)r->iterations - 1);
    scnn_strbuf_printf(b, "| epochs | %d%s |\n", r->epochs, r->patience ? "" : " (no early stop)");
    if (r->patience)
        scnn_strbuf_printf(b, "| patience | %d epochs without improvement |\n", r->patience);
    scnn_strbuf_printf(b, "| batch size | %d |\n", r->batch);
    scnn_strbuf_printf(b, "| augmentation | %d cop%s per training image (rotation ±10°, horizontal "
                 "flip) |\n", r->augment, r->augment == 1 ? "y" : "ies");
    scnn_strbuf_printf(b, "| selection | the epoch with the %s |\n",
              strcmp(r->select, "val_acc") == 0 ? "highest validation accuracy"
                                                : "lowest validation loss");
    scnn_strbuf_printf(b, "| validation split | %.0f%% of the originals |\n", 100 * r->val_split);
    if (r->n_train || r->n_val)
        scnn_strbuf_printf(b, "| images | %lld originals; %lld training (augmented copies included), "
                     "%lld validation, %zu test |\n",
                  r->n_originals, r->n_train, r->n_val, r->n_test);
    else
        scnn_strbuf_printf(b, "| images | %s originals, %zu test |\n",
                  r->limit ? "limited" : "all", r->n_test);
    if (r->limit)
        scnn_strbuf_printf(b, "| training originals limit | %lld |\n", r->limit);
    if (r->test_limit)
        scnn_strbuf_printf(b, "| test images limit | %lld |\n", r->test_limit);
    scnn_strbuf_printf(b, "| backend | %s", r->backend);
    if (r->threads)
        scnn_strbuf_printf(b, ", %d thread%s", r->threads, r->threads == 1 ? "" : "s");
    scnn_strbuf_printf(b, " |\n| trainable parameters | %ld,%03ld |\n\n", trainable / 1000,
              trainable % 1000);

    scnn_strbuf_printf(b, "## Models\n\n| model | seed | kept epoch | epochs run | train loss | "
                 "train acc | val loss | val acc | test loss | test acc | s/epoch |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < r->iterations; k++) {
        const iter_data *it = &r->it[k];
        scnn_strbuf_printf(b, "| %d | %llu | ", k, r->seed + (unsigned long long)k);
        if (!it->present) {
            scnn_strbuf_printf(b, "not started | | | | | | | | |\n");
        } else if (!it->finished) {
            const hist_row *h = it->best_epoch ? &it->hist[it->best_epoch - 1] : NULL;
            double s = 0;
            for (int e = 0; e < it->n_hist; e++)
                s += it->hist[e].seconds;
            scnn_strbuf_printf(b, "%d (so far) | %d (unfinished) | %.4f | %.2f%% | %.4f | %.2f%% | – | – "
                         "| %.1f |\n", it->best_epoch, it->n_hist, h ? h->loss : 0,
                      h ? 100 * h->acc : 0, h ? h->val_loss : 0, h ? 100 * h->val_acc : 0,
                      s / it->n_hist);
        } else {
            scnn_strbuf_printf(b, "%d | %d | %.4f | %.2f%% | %.4f | %.2f%% | %.4f | %.2f%% | %.1f |\n",
                      it->best_epoch, it->epochs_run, it->train_loss, 100 * it->train_acc,
                      it->val_loss, 100 * it->val_acc, it->test_loss, 100 * it->test_acc,
                      it->seconds_per_epoch);
        }
    }
    scnn_strbuf_printf(b, "\n");

    if (c) {
        scnn_strbuf_printf(b, "## Compared with `%s`\n\n", c->dir);
        if (strcmp(c->dataset, r->dataset) != 0)
            scnn_strbuf_printf(b, "Note: that run is on %s, this one on %s.\n\n",
                      dataset_title(c->dataset), dsn);
        const run_data *rs[2] = {r, c};
        scnn_strbuf_printf(b, "| | this run | `%s` |\n|---|---|---|\n", base_name(c->dir));
        scnn_strbuf_printf(b, "| protocol | %s | %s |\n", r->protocol, c->protocol);
        scnn_strbuf_printf(b, "| models finished / epochs / augmentation | %d / %d / x%d | %d / %d / "
                     "x%d |\n", r->n_finished, r->epochs, r->augment, c->n_finished, c->epochs,
                  c->augment);
        scnn_strbuf_printf(b, "| test accuracy (mean ± std) |");
        for (int i = 0; i < 2; i++) {
            scnn_strbuf_printf(b, " ");
            if (rs[i]->n_finished)
                md_pct_pm(b, rs[i]->mean_test_acc, rs[i]->std_test_acc);
            else
                scnn_strbuf_printf(b, "–");
            scnn_strbuf_printf(b, " |");
        }
        scnn_strbuf_printf(b, "\n| test loss (mean) |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.4f |", rs[i]->mean_test_loss);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| training / validation accuracy at the kept epoch |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.2f%% / %.2f%% |", 100 * rs[i]->mean_train_acc,
                          100 * rs[i]->mean_val_acc);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| kept epoch (mean) |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->n_finished)
                scnn_strbuf_printf(b, " %.1f |", rs[i]->mean_best_epoch);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n| ensemble test accuracy |");
        for (int i = 0; i < 2; i++)
            if (rs[i]->has_ensemble)
                scnn_strbuf_printf(b, " %.2f%% |", 100 * rs[i]->ens_acc);
            else
                scnn_strbuf_printf(b, " – |");
        scnn_strbuf_printf(b, "\n\nIn the curves below, that run is the black lines (the mean over its "
                     "models at each epoch).\n\n");
    }

    scnn_strbuf_printf(b, "## Training curves\n\nPer epoch, every model: training dashed, validation "
                 "solid, the kept epoch circled.\n\n");
    md_images(b, plots, "accuracy", "accuracy.png");
    md_images(b, plots, "loss", "loss.png");
    scnn_strbuf_printf(b, "Model %d alone, training against validation:\n\n", tvv_model);
    md_images(b, plots, "train_vs_val", "train_vs_val.png");

    if (nf > 0) {
        scnn_strbuf_printf(b, "## Test set, class by class\n\nPredictions (%s) on the first %zu test "
                     "images: accuracy %.2f%%.\n\n", pr->source, pr->n, 100 * cr->accuracy);
        scnn_strbuf_printf(b, "| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
        for (int k = 0; k < SCNN_CLASSES; k++)
            scnn_strbuf_printf(b, "| %d %s | %.4f | %.4f | %.4f | %u |\n", k, names[k], cr->precision[k],
                      cr->recall[k], cr->f1[k], cr->support[k]);
        scnn_strbuf_printf(b, "| macro average | | | %.4f | %zu |\n| weighted average | | | %.4f | %zu "
                     "|\n\n(Also in per_class.csv; the matrix in confusion.csv.)\n\n",
                  cr->macro_f1, pr->n, cr->weighted_f1, pr->n);
        md_images(b, plots, "confusion matrix", "confusion.png");
        scnn_strbuf_printf(b, "Random test images of every class, with the predicted class (red: "
                     "wrong):\n\n");
        md_images(b, plots, "examples", "examples.png");
        if (pi->ab + pi->ba)
            scnn_strbuf_printf(b, "The most confused pair is %s and %s: %u %s images taken for %s, %u "
                         "the other way.\n\n", names[pi->a], names[pi->b], pi->ab, names[pi->a],
                      names[pi->b], pi->ba);
        else
            scnn_strbuf_printf(b, "No test image was misclassified.\n\n");
        md_images(b, plots, "confused pair", "confused_pair.png");
    }
    scnn_strbuf_printf(b, "## Files\n\nEvery plot is drawn by gnuplot from its `.gp` script and `.dat` "
                 "data in this folder: edit and redraw with `gnuplot NAME.gp` here.\n");
}

/* ---- the report ------------------------------------------------------------------------------ */

static scnn_status write_class_csvs(const scnn_class_report *cr, const char *const *names,
                                    const char *out)
{
    scnn_strbuf b = {0}, m = {0};
    scnn_strbuf_printf(&b, "class,name,precision,recall,f1,support\n");
    for (int c = 0; c < SCNN_CLASSES; c++)
        scnn_strbuf_printf(&b, "%d,%s,%.6f,%.6f,%.6f,%u\n", c, names[c], cr->precision[c], cr->recall[c],
                  cr->f1[c], cr->support[c]);
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
    scnn_status st = sb_save(&b, out, "per_class.csv");
    scnn_status st2 = sb_save(&m, out, "confusion.csv");
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
    char out[RPATH + 16];
    scnn_status st = load_run(&r, dir, true);
    if (st == SCNN_OK && compare_dir)
        st = load_run(&c, compare_dir, false);
    if (st != SCNN_OK)
        goto done;
    if (out_dir)
        snprintf(out, sizeof out, "%s", out_dir);
    else
        snprintf(out, sizeof out, "%s/report", r.dir);
    if ((st = scnn_mkdirs(out)) != SCNN_OK)
        goto done;

    if (r.data_dir[0])
        snprintf(r.data_path, sizeof r.data_path, "%s", r.data_dir);
    else
        scnn_dataset_dir(r.data_path, sizeof r.data_path, r.dataset);
    if (r.n_finished > 0) {
        if ((st = scnn_dataset_load(&test, r.data_path, r.dataset, "t10k")) != SCNN_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", scnn_last_error());
            st = scnn_fail(st, "the test set of %s (run.conf: dataset %s, data_dir '%s'): %s",
                           r.dir, r.dataset, r.data_dir, why);
            goto done;
        }
        if (r.n_test > test.n) {
            st = scnn_fail(SCNN_ERR_SHAPE, "%s/iter-*/result.txt: n_test %zu, but %s has only "
                                           "%zu test images", r.dir, r.n_test, r.data_path, test.n);
            goto done;
        }
        if ((st = make_preds(&r, &test, &pr)) != SCNN_OK)
            goto done;
        scnn_class_report_compute(&cr, test.labels, pr.pred, pr.n);
        pi = most_confused(&cr);
        if ((st = write_class_csvs(&cr, scnn_class_names(r.dataset), out)) != SCNN_OK ||
            (st = write_confusion_gp(&r, &cr, &pr, out)) != SCNN_OK ||
            (st = write_examples_gp(&r, &test, &pr, out)) != SCNN_OK ||
            (st = write_pair_gp(&r, &test, &pr, &pi, out)) != SCNN_OK)
            goto done;
    }
    int tvv_model = 0;
    if ((st = write_curve_data(&r, out)) != SCNN_OK ||
        (compare_dir && (st = write_compare_data(&c, out)) != SCNN_OK) ||
        (st = write_curves_gp(&r, compare_dir ? &c : NULL, out, true)) != SCNN_OK ||
        (st = write_curves_gp(&r, compare_dir ? &c : NULL, out, false)) != SCNN_OK ||
        (st = write_train_vs_val_gp(&r, out, &tvv_model)) != SCNN_OK)
        goto done;

    /* No stale pictures: remove the old ones, then draw. */
    static const char *const plots[] = {"accuracy", "loss", "train_vs_val", "confusion",
                                        "examples", "confused_pair"};
    int n_plots = r.n_finished > 0 ? 6 : 3;
    char path[RPATH + 64], gpbuf[RPATH];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s.png", out, plots[i]);
        unlink(path);
    }
    for (int i = 0; r.n_finished == 0 && i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", out, i ? "confusion.csv" : "per_class.csv");
        unlink(path);
    }
    const char *gp = find_gnuplot(gpbuf, sizeof gpbuf);
    if (gp && (st = run_gnuplots(gp, out, plots, n_plots)) != SCNN_OK)
        goto done;

    write_markdown(&md, &r, compare_dir ? &c : NULL, &cr, &pr, &pi, gp != NULL,
                   trainable_params(), tvv_model);
    if ((st = sb_save(&md, out, "report.md")) != SCNN_OK)
        goto done;
    if (!gp)
        fprintf(stderr, "warning: gnuplot not found: wrote %s/report.md, the CSVs and the .gp/.dat "
                        "files but no plots (install gnuplot, e.g. gnuplot-nox, and run "
                        "'gnuplot NAME.gp' in %s)\n", out, out);
    printf("report: %s/report.md (%d plot%s)\n", out, gp ? n_plots : 0,
           gp && n_plots == 1 ? "" : "s");
done:
    free(md.p);
    preds_free(&pr);
    scnn_dataset_free(&test);
    run_data_free(&r);
    run_data_free(&c);
    return st;
}
