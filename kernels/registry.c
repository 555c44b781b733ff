/* Backend registry: name -> table, SCNN_BACKEND parsing, run-time CPU checks, naive fallback.
 *
 * Backends other than naive are referenced weakly: a build without a backend's files (for
 * example OPENMP=0, which leaves out kernels/omp) simply does not list it. A weak reference does
 * not pull an object out of a static archive, so the Makefile links each present backend with
 * `-u scnn_backend_NAME`. */
#include <stdio.h>
#include <string.h>

#include "backend.h"

extern const scnn_backend scnn_backend_im2col __attribute__((weak));
extern const scnn_backend scnn_backend_avx2 __attribute__((weak));
extern const scnn_backend scnn_backend_omp __attribute__((weak));
extern const scnn_backend scnn_backend_avx512 __attribute__((weak));
extern const scnn_backend scnn_backend_omp512 __attribute__((weak));

/* Slowest first; "auto" takes the last available one. (avx512/omp512 have only their
 * convolutions yet, so omp stays last.) */
static const scnn_backend *registered(int i)
{
    switch (i) {
    case 0: return &scnn_backend_naive;
    case 1: return &scnn_backend_im2col;
    case 2: return &scnn_backend_avx2;
    case 3: return &scnn_backend_avx512;
    case 4: return &scnn_backend_omp512;
    case 5: return &scnn_backend_omp;
    }
    return NULL;
}
#define N_SLOTS 6

int scnn_backend_count(void)
{
    int n = 0;
    for (int i = 0; i < N_SLOTS; i++)
        n += registered(i) != NULL;
    return n;
}

const scnn_backend *scnn_backend_at(int i)
{
    for (int s = 0; s < N_SLOTS; s++) {
        const scnn_backend *b = registered(s);
        if (b && i-- == 0)
            return b;
    }
    return NULL;
}

const scnn_backend *scnn_backend_find(const char *name)
{
    for (int i = 0; i < scnn_backend_count(); i++)
        if (strcmp(scnn_backend_at(i)->name, name) == 0)
            return scnn_backend_at(i);
    return NULL;
}

bool scnn_backend_available(const scnn_backend *b, const char **why_not)
{
    const char *unused;
    why_not = why_not ? why_not : &unused;
    *why_not = "";
    return !b->available || b->available(why_not);
}

int scnn_backend_threads(const scnn_backend *b)
{
    return b->threads ? b->threads() : 1;
}

const scnn_backend *scnn_backend_select(const char *name, char *err, size_t errlen)
{
    char list[256] = "";
    for (int i = 0; i < scnn_backend_count(); i++) {
        const char *why;
        const scnn_backend *b = scnn_backend_at(i);
        if (scnn_backend_available(b, &why)) {
            strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, b->name, sizeof list - strlen(list) - 1);
        }
    }
    if (!name || !*name || strcmp(name, "auto") == 0) {
        for (int i = scnn_backend_count() - 1; i >= 0; i--) {
            const char *why;
            if (scnn_backend_available(scnn_backend_at(i), &why))
                return scnn_backend_at(i);
        }
        return &scnn_backend_naive; /* naive is always available */
    }
    const scnn_backend *b = scnn_backend_find(name);
    const char *why;
    if (!b) {
        snprintf(err, errlen, "unknown backend '%s' (SCNN_BACKEND); available: %s, auto", name,
                 list);
        return NULL;
    }
    if (!scnn_backend_available(b, &why)) {
        snprintf(err, errlen, "backend '%s' cannot run here: %s; available: %s, auto", name, why,
                 list);
        return NULL;
    }
    return b;
}

/* The op pointers of the table, by name, for the fallback and its report. */
#define OPS(X)                                                                                    \
    X(conv2d_workspace) X(conv2d_forward) X(conv2d_backward_data) X(conv2d_backward_filter)      \
    X(gemm) X(bias_act) X(bias_grad) X(relu_backward) X(maxpool_forward) X(maxpool_backward)     \
    X(batchnorm_forward_train) X(batchnorm_forward_infer) X(batchnorm_backward) X(mul)           \
    X(softmax_xent) X(adam_update) X(dropout_mask)

scnn_backend scnn_backend_resolve(const scnn_backend *b)
{
    scnn_backend r = *b;
#define FILL(op)                                                                                  \
    if (!r.op)                                                                                    \
        r.op = scnn_backend_naive.op;
    OPS(FILL)
#undef FILL
    return r;
}

void scnn_backend_fallbacks(const scnn_backend *b, char *buf, size_t len)
{
    buf[0] = 0;
#define NAME(op)                                                                                  \
    if (!b->op && scnn_backend_naive.op) {                                                        \
        strncat(buf, buf[0] ? ", " : "", len - strlen(buf) - 1);                                  \
        strncat(buf, #op, len - strlen(buf) - 1);                                                 \
    }
    OPS(NAME)
#undef NAME
}

scnn_conv2d scnn_conv2d_make(int n, int h, int w, int c, int k, int kh, int kw, bool same,
                             bool relu)
{
    scnn_conv2d d = {.n = n, .h = h, .w = w, .c = c, .k = k, .kh = kh, .kw = kw, .relu = relu};
    if (same) {
        d.pad_top = (kh - 1) / 2;
        d.pad_bottom = kh - 1 - d.pad_top;
        d.pad_left = (kw - 1) / 2;
        d.pad_right = kw - 1 - d.pad_left;
    }
    d.p = h + d.pad_top + d.pad_bottom - kh + 1;
    d.q = w + d.pad_left + d.pad_right - kw + 1;
    return d;
}

double scnn_conv2d_macs(const scnn_conv2d *d)
{
    return (double)d->n * d->p * d->q * d->k * d->kh * d->kw * d->c;
}
