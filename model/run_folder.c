/* The run folder, written and read back: see model/run_folder.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "model/run_folder.h"

/* ---- reading the run ------------------------------------------------------------------------- */

void scnn_run_free(run_data *r)
{
    if (r->it)
        for (int k = 0; k < r->conf.iterations; k++) {
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

/* The text of path, or a copy of given when that is not NULL (the readers on texts:
 * scnn_run_parse_texts and the *_parse_text functions); NULL with errno set on failure, as
 * scnn_read_text. */
static char *read_or_copy(const char *path, size_t max, const char *given)
{
    if (!given)
        return scnn_read_text(path, max);
    if (strlen(given) > max) {
        errno = EFBIG;
        return NULL;
    }
    char *t = strdup(given);
    if (!t)
        errno = ENOMEM;
    return t;
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
    if (!*s || *end || errno == ERANGE || !isfinite(v)) /* a NaN would pass every range check */
        return false;
    *out = v;
    return true;
}

scnn_status scnn_run_conf_write(const char *dir, const scnn_train_opts *o)
{
    char path[SCNN_RUN_PATH + 64], text[4096 + SCNN_RUN_PATH];
    snprintf(path, sizeof path, "%s/run.conf", dir);
    int n = snprintf(text, sizeof text,
                     "# scnn train options; 'scnn train --resume %s' continues this run\n"
                     "dataset=%s\ndata_dir=%s\nepochs=%d\nbatch=%d\nlimit=%zu\ntest_limit=%zu\n"
                     "val_split=%.17g\nseed=%llu\niterations=%d\naugment=%d\nprotocol=%s\n"
                     "select=%s\npatience=%d\nbackend=%s\nbackend_choice=%s\n%s",
                     dir, o->dataset, o->data_dir ? o->data_dir : "", o->epochs, o->batch, o->limit,
                     o->test_limit, o->val_split, (unsigned long long)o->seed, o->iterations,
                     o->augment, o->protocol, o->select, o->patience, o->backend->name,
                     scnn_backend_choice(), o->data_parallel ? "data_parallel=1\n" : "");
    if (n < 0 || (size_t)n >= sizeof text)
        return scnn_fail(SCNN_ERR_ARG, "%s: the options do not fit", path);
    return scnn_write_atomic(path, text, (size_t)n);
}

static scnn_status conf_read(const char *dir, scnn_run_conf *c, const char *given)
{
    memset(c, 0, sizeof *c);
    char path[SCNN_RUN_PATH + 64];
    snprintf(path, sizeof path, "%s/run.conf", dir);
    char *text = read_or_copy(path, 1 << 20, given);
    if (!text) {
        if (errno == ENOENT)
            return scnn_fail(SCNN_ERR_IO,
                             "%s: no such file (is %s a run folder written by "
                             "'scnn train'?)",
                             path, dir);
        return read_fail(path);
    }
    bool have_dataset = false, have_epochs = false, have_iter = false;
    int known = 0; /* of the 14 keys scnn_run_conf_write writes */
    scnn_status st = SCNN_OK;
    char *p = text, *line;
    int lineno = 0;
    c->batch = 250;
    c->augment = 2;
    c->val_split = 0.2;
    c->seed = 1;
    snprintf(c->protocol, sizeof c->protocol, "clean");
    snprintf(c->select, sizeof c->select, "val_loss");
    snprintf(c->backend, sizeof c->backend, "unknown");
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
        known++;
        if (strcmp(k, "dataset") == 0) {
            ok = scnn_class_names(v) != NULL;
            snprintf(c->dataset, sizeof c->dataset, "%s", v);
            have_dataset = true;
        } else if (strcmp(k, "data_dir") == 0) {
            ok = strlen(v) < sizeof c->data_dir;
            snprintf(c->data_dir, sizeof c->data_dir, "%s", v);
        } else if (strcmp(k, "protocol") == 0) {
            ok = strcmp(v, "clean") == 0 || strcmp(v, "seed") == 0;
            snprintf(c->protocol, sizeof c->protocol, "%s", v);
        } else if (strcmp(k, "select") == 0) {
            ok = strcmp(v, "val_loss") == 0 || strcmp(v, "val_acc") == 0;
            snprintf(c->select, sizeof c->select, "%s", v);
        } else if (strcmp(k, "backend") == 0) {
            snprintf(c->backend, sizeof c->backend, "%s", v);
        } else if (strcmp(k, "epochs") == 0) {
            ok = to_ll(v, 1, 1000000, &n);
            c->epochs = (int)n;
            have_epochs = true;
        } else if (strcmp(k, "iterations") == 0) {
            ok = to_ll(v, 1, 100000, &n);
            c->iterations = (int)n;
            have_iter = true;
        } else if (strcmp(k, "batch") == 0) {
            ok = to_ll(v, 1, 100000000, &n);
            c->batch = (int)n;
        } else if (strcmp(k, "augment") == 0) {
            ok = to_ll(v, 0, 1000, &n);
            c->augment = (int)n;
        } else if (strcmp(k, "patience") == 0) {
            ok = to_ll(v, 0, 100000000, &n);
            c->patience = (int)n;
        } else if (strcmp(k, "limit") == 0) {
            ok = to_ll(v, 0, (long long)1 << 40, &c->limit);
        } else if (strcmp(k, "test_limit") == 0) {
            ok = to_ll(v, 0, (long long)1 << 40, &c->test_limit);
        } else if (strcmp(k, "val_split") == 0) {
            ok = to_double(v, &c->val_split) && c->val_split >= 0 && c->val_split < 1;
        } else if (strcmp(k, "seed") == 0) {
            ok = to_ll(v, 0, INT64_MAX, &n);
            c->seed = (unsigned long long)n;
        } else if (strcmp(k, "data_parallel") == 0) {
            ok = to_ll(v, 0, 1, &n);
            c->data_parallel = n == 1;
            known--; /* written only when 1: a run.conf without it is complete */
        } else {
            known--; /* written by a newer scnn: ignored */
        }
        if (!ok)
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: bad value for %s: '%.40s'", path, lineno,
                           k, v);
    }
    free(text);
    c->complete = known == 14;
    if (st == SCNN_OK && !(have_dataset && have_epochs && have_iter))
        st = scnn_fail(SCNN_ERR_FORMAT, "%s: incomplete: needs dataset, epochs and iterations",
                       path);
    return st;
}

scnn_status scnn_run_conf_read(const char *dir, scnn_run_conf *c)
{
    return conf_read(dir, c, NULL);
}

scnn_status scnn_run_conf_parse_text(const char *text, scnn_run_conf *c)
{
    return conf_read("(memory)", c, text ? text : "");
}

int scnn_run_history_row(char *buf, size_t cap, const hist_row *h, bool exact)
{
    return snprintf(buf, cap,
                    exact ? "%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n"
                          : "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n",
                    h->epoch, h->loss, h->acc, h->val_loss, h->val_acc, h->seconds,
                    h->images_per_s);
}

scnn_status scnn_run_history_write(const char *path, const hist_row *h, int n)
{
    size_t cap = 128 + (size_t)n * 160;
    char *buf = malloc(cap);
    if (!buf)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory writing %s", path);
    size_t len =
        (size_t)snprintf(buf, cap, "epoch,loss,acc,val_loss,val_acc,seconds,images_per_s\n");
    for (int i = 0; i < n; i++)
        len += (size_t)scnn_run_history_row(buf + len, cap - len, &h[i], false);
    scnn_status s = scnn_write_atomic(path, buf, len);
    free(buf);
    return s;
}

static scnn_status read_history(const char *path, iter_data *it, const char *given)
{
    char *text = read_or_copy(path, 64u << 20, given);
    if (!text)
        return read_fail(path);
    char *p = text, *line = next_line(&p);
    scnn_status st = SCNN_OK;
    if (!line || strncmp(line, "epoch,loss,acc,val_loss,val_acc", 31) != 0) {
        free(text);
        return scnn_fail(SCNN_ERR_FORMAT,
                         "%s: line 1: expected the header "
                         "'epoch,loss,acc,val_loss,val_acc,...'",
                         path);
    }
    int cap = 0, lineno = 1;
    while ((line = next_line(&p))) {
        lineno++;
        if (!line[0])
            continue;
        hist_row h = {0};
        int used = 0, got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf%n", &h.epoch, &h.loss, &h.acc,
                                   &h.val_loss, &h.val_acc, &h.seconds, &h.images_per_s, &used);
        if (got != 7 || line[used] != 0 || h.epoch != it->n_hist + 1) {
            st = scnn_fail(SCNN_ERR_FORMAT,
                           "%s: line %d: expected epoch %d and 6 numbers, got "
                           "'%.60s'",
                           path, lineno, it->n_hist + 1, line);
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

scnn_status scnn_run_result_write(const char *path, const scnn_run_result *r)
{
    char text[1024];
    int n =
        snprintf(text, sizeof text,
                 "best_epoch %d\nepochs_run %d\ntrain_loss %.17g\ntrain_acc %.17g\n"
                 "val_loss %.17g\nval_acc %.17g\ntest_loss %.17g\ntest_acc %.17g\n"
                 "seconds %.17g\nseconds_per_epoch %.17g\nn_test %zu\n",
                 r->best_epoch, r->epochs_run, r->train_loss, r->train_acc, r->val_loss, r->val_acc,
                 r->test_loss, r->test_acc, r->seconds, r->seconds_per_epoch, r->n_test);
    return scnn_write_atomic(path, text, (size_t)n);
}

static scnn_status result_read(const char *path, scnn_run_result *r, const char *given)
{
    memset(r, 0, sizeof *r);
    char *text = read_or_copy(path, 1 << 20, given);
    if (!text)
        return read_fail(path);
    static const char *const keys[] = {"best_epoch", "epochs_run", "train_loss",       "train_acc",
                                       "val_loss",   "val_acc",    "test_loss",        "test_acc",
                                       "n_test",     "seconds",    "seconds_per_epoch"};
    enum { NKEYS = sizeof keys / sizeof keys[0], NREQUIRED = 9 };
    double v[NKEYS] = {0};
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
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: line %d: expected 'key number', got '%.40s'", path,
                           lineno, line);
            break;
        }
        *sp = 0;
        for (int i = 0; i < NKEYS; i++)
            if (strcmp(line, keys[i]) == 0) {
                v[i] = x;
                have[i] = true;
            }
    }
    free(text);
    for (int i = 0; st == SCNN_OK && i < NREQUIRED; i++)
        if (!have[i])
            st = scnn_fail(SCNN_ERR_FORMAT, "%s: no %s", path, keys[i]);
    if (st != SCNN_OK)
        return st;
    if (v[0] < 0 || v[0] > 1e9 || v[0] != floor(v[0]) || v[1] < 0 || v[1] > 1e9 ||
        v[1] != floor(v[1]) || v[8] < 0 || v[8] > 1e9 || v[8] != floor(v[8]))
        return scnn_fail(SCNN_ERR_FORMAT,
                         "%s: best_epoch %g / epochs_run %g / n_test %g: not counts", path, v[0],
                         v[1], v[8]);
    r->best_epoch = (int)v[0];
    r->epochs_run = (int)v[1];
    r->train_loss = v[2];
    r->train_acc = v[3];
    r->val_loss = v[4];
    r->val_acc = v[5];
    r->test_loss = v[6];
    r->test_acc = v[7];
    r->n_test = (size_t)v[8];
    r->seconds = v[9];
    r->seconds_per_epoch = v[10];
    r->complete = have[9] && have[10];
    return SCNN_OK;
}

scnn_status scnn_run_result_read(const char *path, scnn_run_result *r)
{
    return result_read(path, r, NULL);
}

scnn_status scnn_run_result_parse_text(const char *text, scnn_run_result *r)
{
    return result_read("(memory)/result.txt", r, text ? text : "");
}

static scnn_status read_result(const char *path, iter_data *it, const char *given)
{
    scnn_run_result res;
    scnn_status st = result_read(path, &res, given);
    if (st != SCNN_OK)
        return st;
    if (res.best_epoch > it->n_hist || res.epochs_run != it->n_hist)
        return scnn_fail(SCNN_ERR_FORMAT,
                         "%s: best_epoch %d / epochs_run %d / n_test %zu do not "
                         "match history.csv's %d epochs",
                         path, res.best_epoch, res.epochs_run, res.n_test, it->n_hist);
    it->res = res;
    it->finished = true;
    return SCNN_OK;
}

static scnn_status read_probs(const char *path, iter_data *it)
{
    size_t n = it->res.n_test * SCNN_CLASSES, len;
    uint8_t *data;
    /* one byte more than expected is enough to tell a longer file */
    scnn_status st = scnn_read_file(path, n * sizeof(float) + 1, &data, &len);
    if (st == SCNN_ERR_NOMEM)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory reading %s", path);
    if (st == SCNN_ERR_IO)
        return scnn_fail(SCNN_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (st != SCNN_OK || len != n * sizeof(float)) {
        free(data);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: expected %zu float32 values (n_test %zu x %d)", path,
                         n, it->res.n_test, SCNN_CLASSES);
    }
    it->probs = (float *)data; /* malloc'd: aligned for float */
    for (size_t i = 0; i < n; i++)
        if (!(it->probs[i] >= 0 && it->probs[i] <= 1.0001f))
            return scnn_fail(SCNN_ERR_FORMAT, "%s: value %zu is %g, not a probability", path, i,
                             (double)it->probs[i]);
    return SCNN_OK;
}

/* THE figures over iterations (the writer's and, for a summary that is not current, the
 * reader's): means and standard deviations of it[0..n). */
static void summary_means(scnn_run_summary *s, const scnn_run_result *it, int n)
{
    double tl[n ? n : 1], ta[n ? n : 1], trl[n ? n : 1], tra[n ? n : 1], vl[n ? n : 1],
        va[n ? n : 1], ke[n ? n : 1], sd;
    for (int i = 0; i < n; i++) {
        tl[i] = it[i].test_loss;
        ta[i] = it[i].test_acc;
        trl[i] = it[i].train_loss;
        tra[i] = it[i].train_acc;
        vl[i] = it[i].val_loss;
        va[i] = it[i].val_acc;
        ke[i] = it[i].best_epoch;
    }
    scnn_mean_std(tl, n, &s->mean_test_loss, &s->std_test_loss);
    scnn_mean_std(ta, n, &s->mean_test_acc, &s->std_test_acc);
    scnn_mean_std(trl, n, &s->mean_train_loss, &sd);
    scnn_mean_std(tra, n, &s->mean_train_acc, &sd);
    scnn_mean_std(vl, n, &s->mean_val_loss, &sd);
    scnn_mean_std(va, n, &s->mean_val_acc, &sd);
    scnn_mean_std(ke, n, &s->mean_best_epoch, &sd);
}

scnn_status scnn_run_summary_write(const char *dir, scnn_run_summary *s)
{
    int n = s->n_iter;
    size_t cap = 4096 + (size_t)n * 512, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    summary_means(s, s->it, n);
#define P(...) len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, __VA_ARGS__)
    P("{\n  \"dataset\": \"%s\",\n  \"protocol\": \"%s\",\n  \"select\": \"%s\",\n", s->dataset,
      s->protocol, s->select);
    P("  \"seed\": %llu,\n  \"backend\": \"%s\",\n  \"threads\": %d,\n  \"git_rev\": \"%s\",\n",
      s->seed, s->backend, s->threads, s->git_rev);
    P("  \"epochs\": %d,\n  \"batch\": %d,\n  \"val_split\": %.4f,\n  \"augment\": %d,\n"
      "  \"patience\": %d,\n",
      s->epochs, s->batch, s->val_split, s->augment, s->patience);
    P("  \"n_originals\": %lld,\n  \"n_train\": %lld,\n  \"n_val\": %lld,\n  \"n_test\": %lld,\n"
      "  \"trainable_params\": 493772,\n  \"data_sha256\": \"%s\",\n  \"iterations\": [\n",
      s->n_originals, s->n_train, s->n_val, s->n_test, s->data_sha256);
    for (int i = 0; i < n; i++) {
        const scnn_run_result *x = &s->it[i];
        P("    {\"iteration\": %d, \"seed\": %llu, \"best_epoch\": %d, \"epochs_run\": %d, "
          "\"train_loss\": %.6f, \"train_acc\": %.6f, \"val_loss\": %.6f, \"val_acc\": %.6f, "
          "\"test_loss\": %.6f, \"test_acc\": %.6f, \"seconds\": %.1f, "
          "\"seconds_per_epoch\": %.2f}%s\n",
          i, s->seed + (unsigned long long)i, x->best_epoch, x->epochs_run, x->train_loss,
          x->train_acc, x->val_loss, x->val_acc, x->test_loss, x->test_acc, x->seconds,
          x->seconds_per_epoch, i + 1 < n ? "," : "");
    }
    P("  ],\n  \"mean_test_loss\": %.6f,\n  \"std_test_loss\": %.6f,\n  \"mean_test_acc\": %.6f,\n"
      "  \"std_test_acc\": %.6f,\n",
      s->mean_test_loss, s->std_test_loss, s->mean_test_acc, s->std_test_acc);
    P("  \"mean_train_loss\": %.6f,\n  \"mean_train_acc\": %.6f,\n  \"mean_val_loss\": %.6f,\n"
      "  \"mean_val_acc\": %.6f,\n  \"mean_best_epoch\": %.2f,\n",
      s->mean_train_loss, s->mean_train_acc, s->mean_val_loss, s->mean_val_acc,
      s->mean_best_epoch);
    P("  \"ensemble_test_loss\": %.6f,\n  \"ensemble_test_acc\": %.6f\n}\n", s->ens_loss,
      s->ens_acc);
#undef P
    char path[SCNN_RUN_PATH + 64];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    scnn_status st = len < cap ? scnn_write_atomic(path, buf, len)
                               : scnn_fail(SCNN_ERR_ARG, "%s: summary too large", path);
    free(buf);
    return st;
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
static scnn_status read_summary(run_data *r, const char *given)
{
    int n = r->n_finished;
    scnn_run_result fin[n ? n : 1];
    for (int k = 0, j = 0; k < r->conf.iterations; k++)
        if (r->it[k].finished)
            fin[j++] = r->it[k].res;
    summary_means(&r->sum, fin, n);

    char path[SCNN_RUN_PATH + 64];
    snprintf(path, sizeof path, "%s/summary.json", r->dir);
    char *text = read_or_copy(path, 16u << 20, given);
    if (!text) {
        if (errno == ENOENT)
            return SCNN_OK;
        return read_fail(path);
    }
    r->has_summary = true;
    double x[11];
    static const char *const keys[] = {"mean_test_loss",     "std_test_loss",    "mean_test_acc",
                                       "std_test_acc",       "mean_train_loss",  "mean_train_acc",
                                       "mean_val_loss",      "mean_val_acc",     "mean_best_epoch",
                                       "ensemble_test_loss", "ensemble_test_acc"};
    bool ok = true;
    for (int i = 0; ok && i < 11; i++)
        ok = json_num(text, keys[i], &x[i]);
    if (!ok) {
        free(text);
        return scnn_fail(SCNN_ERR_FORMAT, "%s: malformed (no %s)", path, "mean/ensemble figures");
    }
    /* Counts: whole and in range before they are converted (a 1e308 there was undefined
     * behaviour; found by fuzz/fuzz_runfolder.c). */
    static const char *const counts[] = {"threads", "n_originals", "n_train", "n_val", "n_test"};
    long long *cdst[] = {NULL, &r->sum.n_originals, &r->sum.n_train, &r->sum.n_val,
                         &r->sum.n_test};
    for (int i = 0; i < 5; i++) {
        double v;
        if (!json_num(text, counts[i], &v))
            continue;
        if (!(v >= 0 && v <= 1e12 && v == floor(v))) {
            free(text);
            return scnn_fail(SCNN_ERR_FORMAT, "%s: %s is %g, not a count", path, counts[i], v);
        }
        if (cdst[i])
            *cdst[i] = (long long)v;
        else
            r->sum.threads = v > 1e6 ? 1000000 : (int)v;
    }
    scnn_run_summary *u = &r->sum;
    json_str(text, "git_rev", u->git_rev, sizeof u->git_rev);
    json_str(text, "dataset", u->dataset, sizeof u->dataset);
    json_str(text, "protocol", u->protocol, sizeof u->protocol);
    json_str(text, "select", u->select, sizeof u->select);
    json_str(text, "backend", u->backend, sizeof u->backend);
    json_str(text, "data_sha256", u->data_sha256, sizeof u->data_sha256);
    int count = 0;
    for (const char *p = text; (p = strstr(p, "\"iteration\":")); p++)
        count++;
    free(text);
    r->sum.n_iter = count;
    r->summary_current = count == r->n_finished && r->n_finished == r->conf.iterations;
    if (r->summary_current) {
        double *dst[] = {&r->sum.mean_test_loss, &r->sum.std_test_loss,   &r->sum.mean_test_acc,
                         &r->sum.std_test_acc,   &r->sum.mean_train_loss, &r->sum.mean_train_acc,
                         &r->sum.mean_val_loss,  &r->sum.mean_val_acc,    &r->sum.mean_best_epoch,
                         &r->sum.ens_loss,       &r->sum.ens_acc};
        for (int i = 0; i < 11; i++)
            *dst[i] = x[i];
        r->has_ensemble = r->n_finished > 1;
    }
    return SCNN_OK;
}

/* The best epoch of a history by the run's selection rule (Keras keeps the first best). */
static int best_of_history(const run_data *r, const iter_data *it)
{
    bool by_acc = strcmp(r->conf.select, "val_acc") == 0;
    int best = 0;
    for (int e = 0; e < it->n_hist; e++) {
        const hist_row *h = &it->hist[e];
        if (best == 0 || (by_acc ? h->val_acc > it->hist[best - 1].val_acc
                                 : h->val_loss < it->hist[best - 1].val_loss))
            best = e + 1;
    }
    return best;
}

scnn_status scnn_run_load(run_data *r, const char *dir, bool with_probs)
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
    scnn_status st = scnn_run_conf_read(r->dir, &r->conf);
    if (st != SCNN_OK)
        return st;
    r->it = calloc((size_t)r->conf.iterations, sizeof *r->it);
    if (!r->it)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    char path[SCNN_RUN_PATH + 64];
    for (int k = 0; k < r->conf.iterations; k++) {
        iter_data *it = &r->it[k];
        snprintf(path, sizeof path, "%s/iter-%d", r->dir, k);
        if (stat(path, &sb) != 0)
            continue; /* not started */
        snprintf(path, sizeof path, "%s/iter-%d/history.csv", r->dir, k);
        char res[SCNN_RUN_PATH + 64], ckpt[SCNN_RUN_PATH + 64];
        snprintf(res, sizeof res, "%s/iter-%d/result.txt", r->dir, k);
        snprintf(ckpt, sizeof ckpt, "%s/iter-%d/best.ckpt", r->dir, k);
        if (access(path, F_OK) != 0 && errno == ENOENT && access(res, F_OK) != 0 &&
            access(ckpt, F_OK) != 0)
            continue; /* started, but no epoch has finished */
        if ((st = read_history(path, it, NULL)) != SCNN_OK)
            return st;
        it->present = true;
        r->n_present++;
        snprintf(path, sizeof path, "%s/iter-%d/result.txt", r->dir, k);
        if (access(path, F_OK) != 0) {
            it->res.best_epoch = best_of_history(r, it);
            it->res.epochs_run = it->n_hist;
            continue;
        }
        if ((st = read_result(path, it, NULL)) != SCNN_OK)
            return st;
        r->n_finished++;
        if (r->n_finished > 1 && it->res.n_test != r->n_test)
            return scnn_fail(SCNN_ERR_FORMAT, "%s: n_test %zu, but an earlier iteration has %zu",
                             path, it->res.n_test, r->n_test);
        r->n_test = it->res.n_test;
        if (with_probs) {
            snprintf(path, sizeof path, "%s/iter-%d/test_probs.f32", r->dir, k);
            if ((st = read_probs(path, it)) != SCNN_OK)
                return st;
        }
    }
    if (r->n_present == 0)
        return scnn_fail(SCNN_ERR_IO,
                         "%s: nothing to report yet: no iteration has a history.csv "
                         "(%s/iter-0/history.csv is written after the first epoch)",
                         r->dir, r->dir);
    return read_summary(r, NULL);
}

scnn_status scnn_run_parse_texts(const char *run_conf, const char *history, const char *result,
                                 const char *summary)
{
    run_data *r = calloc(1, sizeof *r);
    if (!r)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    snprintf(r->dir, sizeof r->dir, "(memory)");
    scnn_status st = conf_read(r->dir, &r->conf, run_conf ? run_conf : "");
    if (st == SCNN_OK && !(r->it = calloc((size_t)r->conf.iterations, sizeof *r->it)))
        st = scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    iter_data *it = r->it;
    if (st == SCNN_OK && history) {
        st = read_history("(memory)/iter-0/history.csv", it, history);
        it->present = st == SCNN_OK;
        r->n_present = it->present;
        it->res.best_epoch = best_of_history(r, it);
        it->res.epochs_run = it->n_hist;
    }
    if (st == SCNN_OK && history && result) {
        st = read_result("(memory)/iter-0/result.txt", it, result);
        r->n_finished = st == SCNN_OK;
        r->n_test = it->res.n_test;
    }
    if (st == SCNN_OK && summary)
        st = read_summary(r, summary);
    scnn_run_free(r);
    free(r);
    return st;
}
