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

/* Slowest first; "auto" takes the last available one that its rule allows (zmm_pays). */
static const scnn_backend *registered(int i)
{
    switch (i) {
    case 0: return &scnn_backend_naive;
    case 1: return &scnn_backend_im2col;
    case 2: return &scnn_backend_avx2;
    case 3: return &scnn_backend_omp;
    case 4: return &scnn_backend_avx512;
    case 5: return &scnn_backend_omp512;
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

/* kernels/avx512/avx512_probe.c, where built (called only where avx512 can run) */
extern void scnn_avx512_fma_probe(double *zmm_gflops, double *ymm_gflops) __attribute__((weak));

static char choice[320];

const char *scnn_backend_choice(void)
{
    return choice;
}

static bool is_avx512_rung(const scnn_backend *b)
{
    return b == &scnn_backend_avx512 || b == &scnn_backend_omp512;
}

/* auto's rule between the AVX-512 and AVX2 rungs: the AVX-512 kernels unless this core's zmm
 * FMA rate is clearly below its ymm rate (ratio < 0.75). The "Zen 4 kind" runs zmm at the ymm
 * rate (ratio 1: AVX-512 still wins by its 32 registers and masked tails), the "Zen 5 kind"
 * and recent Xeons at twice it. Probed once per process, a few milliseconds. */
static bool zmm_pays(char *why, size_t len)
{
    static int known = -1;
    static double z, y;
    if (known < 0) {
        scnn_avx512_fma_probe(&z, &y);
        known = z >= 0.75 * y;
    }
    snprintf(why, len, "zmm FMA %.0f GFLOP/s vs ymm %.0f on one core (%.2fx; AVX-512 unless < 0.75x)",
             z, y, y > 0 ? z / y : 0.0);
    return known;
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
        /* the fastest available: the last in registered order (slowest first), the AVX-512
         * rungs only where their FMA rate pays (zmm_pays) */
        char rate[200] = "";
        const char *why512 = NULL;
        for (int i = scnn_backend_count() - 1; i >= 0; i--) {
            const char *why;
            const scnn_backend *b = scnn_backend_at(i);
            if (!scnn_backend_available(b, &why)) {
                if (is_avx512_rung(b) && !why512)
                    why512 = why;
                continue;
            }
            if (is_avx512_rung(b) && scnn_avx512_fma_probe && !zmm_pays(rate, sizeof rate)) {
                why512 = rate;
                continue;
            }
            if (is_avx512_rung(b))
                snprintf(choice, sizeof choice, "auto: %s, AVX-512 F/DQ/BW/VL present, %s", b->name,
                         rate);
            else if (why512)
                snprintf(choice, sizeof choice, "auto: %s, not avx512: %s", b->name, why512);
            else
                snprintf(choice, sizeof choice, "auto: %s, the fastest built here", b->name);
            return b;
        }
        snprintf(choice, sizeof choice, "auto: naive, nothing faster runs here");
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
    snprintf(choice, sizeof choice, "%s, named by SCNN_BACKEND", b->name);
    return b;
}

/* Each family: the same kernels and item split, serial and threaded (tests/test_avx2_omp.c and
 * tests/test_avx512.c compare their bits). */
bool scnn_backend_bitwise_equal(const char *a, const char *b)
{
    static const char *const families[][2] = {{"avx2", "omp"}, {"avx512", "omp512"}};
    if (strcmp(a, b) == 0)
        return true;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if ((strcmp(a, families[i][0]) == 0 && strcmp(b, families[i][1]) == 0) ||
            (strcmp(a, families[i][1]) == 0 && strcmp(b, families[i][0]) == 0))
            return true;
    return false;
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
