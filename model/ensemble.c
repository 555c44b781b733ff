/* Ensembles: several checkpoints of one data set whose probabilities are averaged, as the seed
 * averages its 5 models. One model object runs them all: each member's weights are kept as a
 * flat copy and swapped in before it runs, so k members cost k x 2 MB, not k models'
 * workspaces. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "scnn.h"

#define ENSEMBLE_MAX 256

struct scnn_ensemble {
    scnn_model *m;
    int n;
    int loaded;            /* the member whose weights are in m */
    char **paths;
    scnn_ckpt_meta *meta;
    float **weights;       /* per member: every tensor's values in parameter order */
    size_t total;          /* floats per member */
    int max_batch;
    uint8_t *zeros;        /* [max_batch] labels for inference without labels */
    char dataset[64];
};

/* ---- which checkpoints ------------------------------------------------------------------- */

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool push(char ***v, int *n, const char *a, const char *b, const char *c)
{
    if (*n >= ENSEMBLE_MAX)
        return false;
    char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
    if (!nv)
        return false;
    *v = nv;
    size_t len = strlen(a) + strlen(b) + strlen(c) + 3;
    char *p = malloc(len);
    if (!p)
        return false;
    size_t la = strlen(a);
    snprintf(p, len, "%s%s%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b, *c ? "/" : "", c);
    nv[(*n)++] = p;
    return true;
}

void scnn_ensemble_paths_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

scnn_status scnn_ensemble_paths(const char *path, char ***out, int *count)
{
    *out = NULL;
    *count = 0;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char **v = NULL;
    int n = 0;
    if (!S_ISDIR(sb.st_mode)) {
        v = malloc(sizeof *v);
        if (!v || !(v[0] = strdup(path))) {
            free(v);
            return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
        }
        *out = v;
        *count = 1;
        return SCNN_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return scnn_fail(SCNN_ERR_IO, "%s: cannot open folder: %s", path, strerror(errno));
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (nm[0] == '.')
            continue;
        char *full = malloc(strlen(path) + len + 16);
        if (!full) {
            ok = false;
            break;
        }
        sprintf(full, "%s/%s", path, nm);
        struct stat es;
        if (stat(full, &es) == 0) {
            if (S_ISREG(es.st_mode) && len > 5 && strcmp(nm + len - 5, ".ckpt") == 0) {
                ok = push(&v, &n, path, nm, "");
            } else if (S_ISDIR(es.st_mode)) {
                strcat(full, "/best.ckpt");
                if (is_file(full))
                    ok = push(&v, &n, path, nm, "best.ckpt");
            }
        }
        free(full);
    }
    closedir(d);
    if (!ok) {
        scnn_ensemble_paths_free(v, n);
        return n >= ENSEMBLE_MAX
                   ? scnn_fail(SCNN_ERR_ARG, "%s: more than %d checkpoints", path, ENSEMBLE_MAX)
                   : scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    }
    if (n == 0)
        return scnn_fail(SCNN_ERR_IO,
                         "%s: no checkpoints in this folder (*.ckpt, or best.ckpt in subfolders as "
                         "in a run folder)",
                         path);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    *count = n;
    return SCNN_OK;
}

/* ---- open, run, free --------------------------------------------------------------------- */

void scnn_ensemble_free(scnn_ensemble *e)
{
    if (!e)
        return;
    scnn_model_free(e->m);
    for (int i = 0; e->weights && i < e->n; i++)
        free(e->weights[i]);
    free(e->weights);
    scnn_ensemble_paths_free(e->paths, e->n);
    free(e->meta);
    free(e->zeros);
    free(e);
}

static void copy_weights(scnn_model *m, float *flat, bool into_model)
{
    for (int i = 0; i < scnn_model_param_count(m); i++) {
        scnn_param *p = scnn_model_param(m, i);
        if (into_model)
            memcpy(p->w, flat, p->size * sizeof *flat);
        else
            memcpy(flat, p->w, p->size * sizeof *flat);
        flat += p->size;
    }
}

static bool known_dataset(const char *s)
{
    return strcmp(s, "fashion_mnist") == 0 || strcmp(s, "mnist") == 0;
}

scnn_status scnn_ensemble_open(scnn_ensemble **out, const char *path, const char *dataset,
                               int max_batch, const scnn_backend *be)
{
    *out = NULL;
    if (!path || !*path || max_batch < 1 || !be)
        return scnn_fail(SCNN_ERR_ARG, "ensemble: no path, batch or backend");
    scnn_ensemble *e = calloc(1, sizeof *e);
    if (!e)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    scnn_status st = scnn_ensemble_paths(path, &e->paths, &e->n);
    if (st != SCNN_OK) {
        free(e);
        return st;
    }
    e->max_batch = max_batch;
    e->meta = calloc((size_t)e->n, sizeof *e->meta);
    e->weights = calloc((size_t)e->n, sizeof *e->weights);
    e->zeros = calloc((size_t)max_batch, 1);
    if (!e->meta || !e->weights || !e->zeros) {
        scnn_ensemble_free(e);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    }
    if ((st = scnn_model_create(&e->m, max_batch, be, 0)) != SCNN_OK) {
        scnn_ensemble_free(e);
        return st;
    }
    e->total = scnn_model_num_weights(e->m, true) + scnn_model_num_weights(e->m, false);
    if (dataset)
        snprintf(e->dataset, sizeof e->dataset, "%s", dataset);
    const char *first = NULL; /* the member that fixed the data set */
    for (int i = 0; i < e->n && st == SCNN_OK; i++) {
        st = scnn_checkpoint_load(e->paths[i], e->m, &e->meta[i]);
        if (st != SCNN_OK)
            break;
        const char *ds = e->meta[i].dataset;
        if (known_dataset(ds) && e->dataset[0] && strcmp(ds, e->dataset) != 0) {
            if (first)
                st = scnn_fail(SCNN_ERR_ARG,
                               "%s is a %s model, %s a %s one: an ensemble is of one data set",
                               e->paths[i], ds, first, e->dataset);
            else
                st = scnn_fail(SCNN_ERR_ARG, "%s is a %s model, not a %s one", e->paths[i], ds,
                               e->dataset);
            break;
        }
        if (known_dataset(ds) && !e->dataset[0]) {
            snprintf(e->dataset, sizeof e->dataset, "%s", ds);
            first = e->paths[i];
        }
        if (e->n > 1) {
            e->weights[i] = malloc(e->total * sizeof(float));
            if (!e->weights[i]) {
                st = scnn_fail(SCNN_ERR_NOMEM, "out of memory");
                break;
            }
            copy_weights(e->m, e->weights[i], false);
        }
        e->loaded = i;
    }
    if (st != SCNN_OK) {
        scnn_ensemble_free(e);
        return st;
    }
    *out = e;
    return SCNN_OK;
}

int scnn_ensemble_size(const scnn_ensemble *e)
{
    return e->n;
}

const char *scnn_ensemble_path(const scnn_ensemble *e, int i)
{
    return e->paths[i];
}

const scnn_ckpt_meta *scnn_ensemble_meta(const scnn_ensemble *e, int i)
{
    return &e->meta[i];
}

const char *scnn_ensemble_dataset(const scnn_ensemble *e)
{
    return e->dataset[0] ? e->dataset : NULL;
}

void scnn_ensemble_member_evaluate(scnn_ensemble *e, int i, const uint8_t *images,
                                   const uint8_t *labels, size_t n, double *loss, double *acc,
                                   uint8_t *pred, float *probs)
{
    if (i != e->loaded) {
        copy_weights(e->m, e->weights[i], true);
        e->loaded = i;
    }
    if (labels) {
        scnn_model_evaluate(e->m, images, labels, n, loss, acc, pred, probs);
        return;
    }
    for (size_t at = 0; at < n; at += (size_t)e->max_batch) {
        size_t b = n - at < (size_t)e->max_batch ? n - at : (size_t)e->max_batch;
        scnn_model_evaluate(e->m, images + at * SCNN_PIXELS, e->zeros, b, NULL, NULL,
                            pred ? pred + at : NULL, probs ? probs + at * SCNN_CLASSES : NULL);
    }
}

void scnn_probs_mean(float *out, const float *const *members, int k, size_t count)
{
    for (size_t j = 0; j < count; j++) {
        double s = 0;
        for (int i = 0; i < k; i++)
            s += members[i][j];
        out[j] = (float)(s / k);
    }
}

void scnn_probs_order(const float *p, int order[SCNN_CLASSES])
{
    for (int c = 0; c < SCNN_CLASSES; c++)
        order[c] = c;
    /* insertion sort, stable: ties keep the lower class first, as argmax does */
    for (int i = 1; i < SCNN_CLASSES; i++)
        for (int j = i; j > 0 && p[order[j]] > p[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

void scnn_probs_score(const float *probs, const uint8_t *labels, size_t n, double *loss,
                      double *acc, uint8_t *pred)
{
    double l = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * SCNN_CLASSES;
        int best = 0;
        for (int c = 1; c < SCNN_CLASSES; c++)
            if (p[c] > p[best])
                best = c;
        if (pred)
            pred[i] = (uint8_t)best;
        if (!labels)
            continue;
        correct += best == labels[i];
        double pl = p[labels[i]];
        l -= log(pl < 1e-7 ? 1e-7 : (pl > 1 - 1e-7 ? 1 - 1e-7 : pl));
    }
    if (loss)
        *loss = labels && n ? l / (double)n : 0;
    if (acc)
        *acc = labels && n ? (double)correct / (double)n : 0;
}

scnn_status scnn_ensemble_probs(scnn_ensemble *e, const uint8_t *images, size_t n, float *probs)
{
    if (e->n == 1) {
        scnn_ensemble_member_evaluate(e, 0, images, NULL, n, NULL, NULL, NULL, probs);
        return SCNN_OK;
    }
    size_t count = n * SCNN_CLASSES;
    float **mp = calloc((size_t)e->n, sizeof *mp);
    bool ok = mp != NULL;
    for (int i = 0; ok && i < e->n; i++) {
        ok = (mp[i] = malloc((count ? count : 1) * sizeof(float))) != NULL;
        if (ok)
            scnn_ensemble_member_evaluate(e, i, images, NULL, n, NULL, NULL, NULL, mp[i]);
    }
    if (ok)
        scnn_probs_mean(probs, (const float *const *)mp, e->n, count);
    for (int i = 0; mp && i < e->n; i++)
        free(mp[i]);
    free(mp);
    return ok ? SCNN_OK : scnn_fail(SCNN_ERR_NOMEM, "out of memory");
}
