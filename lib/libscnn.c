/* The public API (include/libscnn.h) over the ensemble of model/ensemble.c. Only the functions
 * marked SCNN_API are exported from libscnn.so (built with -fvisibility=hidden and a version
 * script); the backend table and every other internal stay inside. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "libscnn.h"
#include "scnn.h"

#ifndef SCNN_MODELS_DIR
#define SCNN_MODELS_DIR "/usr/local/share/scnn/models"
#endif

#define CHUNK 64

struct scnn_classifier {
    scnn_ensemble *e;
    const scnn_backend *be;
    const char *const *names;
    char dataset[64];
};

const char *scnn_lib_version(void)
{
    return scnn_version();
}

const char *scnn_lib_message(void)
{
    return scnn_last_error();
}

/* The internal status values are the public ones (include/libscnn.h lists them in order). */
static scnn_lib_status pub(scnn_status s)
{
    return (scnn_lib_status)s;
}

scnn_lib_status scnn_lib_backends(const char **names, int *available, int max, int *count)
{
    if (!count || max < 0 || (max > 0 && !names))
        return pub(scnn_fail(SCNN_ERR_ARG, "scnn_lib_backends: no count, or names without room"));
    int n = scnn_backend_count();
    for (int i = 0; i < n && i < max; i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why;
        names[i] = b->name;
        if (available)
            available[i] = scnn_backend_available(b, &why) ? 1 : 0;
    }
    *count = n;
    return SCNN_LIB_OK;
}

scnn_lib_status scnn_classifier_open(scnn_classifier **out, const char *path,
                                     const char *backend)
{
    if (!out)
        return pub(scnn_fail(SCNN_ERR_ARG, "scnn_classifier_open: no handle to fill"));
    *out = NULL;
    char err[512], shipped[4096];
    const scnn_backend *be = scnn_backend_select(backend, err, sizeof err);
    if (!be)
        return pub(scnn_fail(SCNN_ERR_BACKEND, "%s", err));
    if (!path) {
        const char *env = getenv("SCNN_MODELS");
        if (env && *env)
            snprintf(shipped, sizeof shipped, "%s/fashion_mnist", env);
        else
            snprintf(shipped, sizeof shipped, "%s/fashion_mnist", SCNN_MODELS_DIR);
        path = shipped;
    }
    scnn_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return pub(scnn_fail(SCNN_ERR_NOMEM, "out of memory"));
    scnn_status st = scnn_ensemble_open(&c->e, path, NULL, CHUNK, be);
    if (st != SCNN_OK) {
        free(c);
        return pub(st);
    }
    const char *ds = scnn_ensemble_dataset(c->e);
    snprintf(c->dataset, sizeof c->dataset, "%s", ds ? ds : "fashion_mnist");
    c->names = scnn_class_names(c->dataset);
    c->be = be;
    *out = c;
    return SCNN_LIB_OK;
}

void scnn_classifier_close(scnn_classifier *c)
{
    if (!c)
        return;
    scnn_ensemble_free(c->e);
    free(c);
}

const char *scnn_classifier_backend(const scnn_classifier *c)
{
    return c ? c->be->name : NULL;
}

int scnn_classifier_models(const scnn_classifier *c)
{
    return c ? scnn_ensemble_size(c->e) : 0;
}

const char *scnn_classifier_dataset(const scnn_classifier *c)
{
    return c ? c->dataset : NULL;
}

const char *scnn_classifier_class_name(const scnn_classifier *c, int cls)
{
    return c && cls >= 0 && cls < SCNN_CLASSES ? c->names[cls] : NULL;
}

scnn_lib_status scnn_classify(scnn_classifier *c, const unsigned char *images, size_t n,
                              float *probs, int k, int *top_class, float *top_prob)
{
    if (!c || (n && !images))
        return pub(scnn_fail(SCNN_ERR_ARG, "scnn_classify: no classifier or no images"));
    if ((top_class || top_prob) && (k < 1 || k > SCNN_CLASSES))
        return pub(scnn_fail(SCNN_ERR_ARG, "scnn_classify: k is %d, not 1..10", k));
    float p[CHUNK * SCNN_CLASSES];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t b = n - at < CHUNK ? n - at : CHUNK;
        scnn_status st = scnn_ensemble_probs(c->e, images + at * SCNN_PIXELS, b, p);
        if (st != SCNN_OK)
            return pub(st);
        if (probs)
            memcpy(probs + at * SCNN_CLASSES, p, b * SCNN_CLASSES * sizeof *p);
        for (size_t i = 0; i < b && (top_class || top_prob); i++) {
            const float *q = p + i * SCNN_CLASSES;
            int order[SCNN_CLASSES];
            scnn_probs_order(q, order);
            for (int j = 0; j < k; j++) {
                if (top_class)
                    top_class[(at + i) * (size_t)k + (size_t)j] = order[j];
                if (top_prob)
                    top_prob[(at + i) * (size_t)k + (size_t)j] = q[order[j]];
            }
        }
    }
    return SCNN_LIB_OK;
}
