/* The seed's simple CNN (SPEC.md section 1), NHWC, on any backend.
 *
 *   input [n,28,28,1] -> BatchNorm(1) -> Conv 64 4x4 same + ReLU [n,28,28,64]
 *   -> MaxPool 2 [n,14,14,64] -> Dropout 0.1 -> Conv 64 4x4 valid + ReLU [n,11,11,64]
 *   -> MaxPool 2 [n,5,5,64] -> Dropout 0.3 -> Flatten [n,1600] -> Dense 256 + ReLU
 *   -> Dropout 0.5 -> Dense 64 + ReLU -> BatchNorm(64) -> Dense 10 (softmax in the loss)
 *
 * The model only calls the backend table; every buffer is allocated once in scnn_model_create
 * for max_batch images, so a training step allocates nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/layers.h"
#include "model/model_internal.h"

#define BN_EPS 1e-3f
#define BN_MOMENTUM 0.99f
#define ADAM_LR 1e-3
#define ADAM_B1 0.9f
#define ADAM_B2 0.999f
#define ADAM_EPS 1e-7f

/* Images per group of conv1 and its pooling in a pass without dropout (scnn_model_pass_features):
 * 16 x 200 KB of conv1 output stays in the last-level cache. Measured on the Zen 4 kind (omp512,
 * 2 threads, scnn eval of 10,000 images, 7 interleaved runs): ungrouped 1.31 s median, groups of
 * 16 1.245 s, of 50 1.24 s; groups of 4 (the 1 MB L2) were slower, 1.62 s: 2,500 groups are 5,000
 * parallel regions. */
#define CONV1_GROUP 16

/* A layer's row of model/layers.h, and the floats of one image's output of it. */
#define LY(id) (scnn_layers[SCNN_L_##id])
#define SZ(id) scnn_layer_size(SCNN_L_##id)

/* Parameter table: names as Keras calls them, shapes in Keras layout. */
enum {
    P_BN0_GAMMA, P_BN0_BETA, P_CONV1_W, P_CONV1_B, P_CONV2_W, P_CONV2_B, P_D1_W, P_D1_B,
    P_D2_W, P_D2_B, P_BN1_GAMMA, P_BN1_BETA, P_D3_W, P_D3_B,
    P_BN0_MEAN, P_BN0_VAR, P_BN1_MEAN, P_BN1_VAR, P_COUNT
};

static const struct {
    const char *name;
    int rank, dims[4];
    bool trainable;
    char init; /* 'g' Glorot, '0' zeros, '1' ones */
} param_spec[P_COUNT] = {
    {"batch_normalization/gamma", 1, {1}, true, '1'},
    {"batch_normalization/beta", 1, {1}, true, '0'},
    {"conv2d/kernel", 4, {4, 4, 1, 64}, true, 'g'},
    {"conv2d/bias", 1, {64}, true, '0'},
    {"conv2d_1/kernel", 4, {4, 4, 64, 64}, true, 'g'},
    {"conv2d_1/bias", 1, {64}, true, '0'},
    {"dense/kernel", 2, {1600, 256}, true, 'g'},
    {"dense/bias", 1, {256}, true, '0'},
    {"dense_1/kernel", 2, {256, 64}, true, 'g'},
    {"dense_1/bias", 1, {64}, true, '0'},
    {"batch_normalization_1/gamma", 1, {64}, true, '1'},
    {"batch_normalization_1/beta", 1, {64}, true, '0'},
    {"dense_2/kernel", 2, {64, 10}, true, 'g'},
    {"dense_2/bias", 1, {10}, true, '0'},
    {"batch_normalization/moving_mean", 1, {1}, false, '0'},
    {"batch_normalization/moving_variance", 1, {1}, false, '1'},
    {"batch_normalization_1/moving_mean", 1, {64}, false, '0'},
    {"batch_normalization_1/moving_variance", 1, {64}, false, '1'},
};

static float glorot_limit(const scnn_param *p)
{
    double fan_in, fan_out;
    if (p->rank == 4) {
        double rf = (double)p->dims[0] * p->dims[1];
        fan_in = rf * p->dims[2];
        fan_out = rf * p->dims[3];
    } else {
        fan_in = p->dims[0];
        fan_out = p->dims[1];
    }
    return (float)sqrt(6.0 / (fan_in + fan_out));
}

static void *alloc_floats(size_t count)
{
    return scnn_alloc_aligned(count * sizeof(float));
}

static void model_init_weights(scnn_model *m)
{
    for (int i = 0; i < P_COUNT; i++) {
        scnn_param *p = &m->params[i];
        float limit = param_spec[i].init == 'g' ? glorot_limit(p) : 0.0f;
        for (size_t j = 0; j < p->size; j++) {
            switch (param_spec[i].init) {
            case 'g':
                p->w[j] = (2.0f * scnn_rng_uniform(m->seed, SCNN_RNG_INIT, (uint64_t)i, j) - 1.0f) *
                          limit;
                break;
            case '1': p->w[j] = 1.0f; break;
            default: p->w[j] = 0.0f; break;
            }
        }
        if (p->trainable) {
            memset(p->m, 0, p->size * sizeof(float));
            memset(p->v, 0, p->size * sizeof(float));
            memset(p->g, 0, p->size * sizeof(float));
        }
    }
}

scnn_status scnn_model_create(scnn_model **out, int max_batch, const scnn_backend *be,
                              uint64_t seed)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > 100000)
        return scnn_fail(SCNN_ERR_ARG, "batch size %d out of range 1..100000", max_batch);
    scnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory creating the model");
    m->be = scnn_backend_resolve(be);
    m->backend_name = be->name;
    m->max_batch = max_batch;
    m->seed = seed;
    m->dropout = true;

    bool ok = true;
    for (int i = 0; i < P_COUNT; i++) {
        scnn_param *p = &m->params[i];
        p->name = param_spec[i].name;
        p->rank = param_spec[i].rank;
        p->size = 1;
        for (int d = 0; d < p->rank; d++) {
            p->dims[d] = param_spec[i].dims[d];
            p->size *= (size_t)p->dims[d];
        }
        p->trainable = param_spec[i].trainable;
        ok &= (p->w = alloc_floats(p->size)) != NULL;
        if (p->trainable) {
            ok &= (p->g = alloc_floats(p->size)) != NULL;
            ok &= (p->m = alloc_floats(p->size)) != NULL;
            ok &= (p->v = alloc_floats(p->size)) != NULL;
        }
    }

    size_t b = (size_t)max_batch;
    m->conv1 = scnn_conv2d_make(max_batch, LY(BN0).h, LY(BN0).w, LY(BN0).c, LY(CONV1).c,
                                LY(CONV1).k, LY(CONV1).k, LY(CONV1).same, true);
    m->conv2 = scnn_conv2d_make(max_batch, LY(DROP1).h, LY(DROP1).w, LY(DROP1).c, LY(CONV2).c,
                                LY(CONV2).k, LY(CONV2).k, LY(CONV2).same, true);
    float **bufs[] = {&m->x0, &m->y0, &m->y1, &m->p1, &m->a1, &m->y2, &m->p2, &m->a2,
                      &m->h1, &m->a3, &m->h2, &m->h2n, &m->logits, &m->probs,
                      &m->mask1, &m->mask2, &m->mask3,
                      &m->dlogits, &m->dh2n, &m->dh2, &m->da3, &m->dh1, &m->da2, &m->dp2,
                      &m->dy2, &m->da1, &m->dp1, &m->dy1, &m->dy0, &m->dx0};
    size_t sizes[] = {SZ(INPUT), SZ(BN0), SZ(CONV1), SZ(POOL1), SZ(DROP1), SZ(CONV2), SZ(POOL2),
                      SZ(DROP2), SZ(DENSE1), SZ(DROP3), SZ(DENSE2), SZ(BN1), SZ(DENSE3), SZ(DENSE3),
                      SZ(DROP1), SZ(DROP2), SZ(DROP3),
                      SZ(DENSE3), SZ(BN1), SZ(DENSE2), SZ(DROP3), SZ(DENSE1), SZ(DROP2), SZ(POOL2),
                      SZ(CONV2), SZ(DROP1), SZ(POOL1), SZ(CONV1), SZ(BN0), SZ(INPUT)};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ok &= (*bufs[i] = alloc_floats(sizes[i] * b)) != NULL;
    ok &= (m->idx1 = malloc(b * SZ(POOL1))) != NULL;
    ok &= (m->idx2 = malloc(b * SZ(POOL2))) != NULL;

    size_t ws1 = m->be.conv2d_workspace ? m->be.conv2d_workspace(&m->conv1) : 0;
    size_t ws2 = m->be.conv2d_workspace ? m->be.conv2d_workspace(&m->conv2) : 0;
    m->ws_bytes = ws1 > ws2 ? ws1 : ws2;
    if (m->ws_bytes) {
        m->ws = scnn_alloc_aligned(m->ws_bytes);
        ok &= m->ws != NULL;
    }
    if (!ok) {
        scnn_model_free(m);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory allocating the model for batch %d",
                         max_batch);
    }
    model_init_weights(m);
    *out = m;
    return SCNN_OK;
}

void scnn_model_free(scnn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < P_COUNT; i++) {
        free(m->params[i].w);
        free(m->params[i].g);
        free(m->params[i].m);
        free(m->params[i].v);
    }
    float *bufs[] = {m->x0, m->y0, m->y1, m->p1, m->a1, m->y2, m->p2, m->a2, m->h1, m->a3,
                     m->h2, m->h2n, m->logits, m->probs, m->mask1, m->mask2, m->mask3,
                     m->dlogits, m->dh2n, m->dh2, m->da3, m->dh1, m->da2, m->dp2, m->dy2,
                     m->da1, m->dp1, m->dy1, m->dy0, m->dx0};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(m->idx1);
    free(m->idx2);
    free(m->ws);
    free(m);
}

int scnn_model_param_count(const scnn_model *m)
{
    (void)m;
    return P_COUNT;
}

scnn_param *scnn_model_param(scnn_model *m, int i)
{
    return i >= 0 && i < P_COUNT ? &m->params[i] : NULL;
}

scnn_param *scnn_model_param_by_name(scnn_model *m, const char *name)
{
    for (int i = 0; i < P_COUNT; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

size_t scnn_model_num_weights(const scnn_model *m, bool trainable)
{
    size_t n = 0;
    for (int i = 0; i < P_COUNT; i++)
        if (m->params[i].trainable == trainable)
            n += m->params[i].size;
    return n;
}

uint64_t scnn_model_step(const scnn_model *m) { return m->step; }
void scnn_model_set_step(scnn_model *m, uint64_t step) { m->step = step; }
void scnn_model_set_dropout(scnn_model *m, bool on) { m->dropout = on; }
const char *scnn_model_backend_name(const scnn_model *m) { return m->backend_name; }

static void fmt_count(char *buf, size_t len, size_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

void scnn_model_summary(const scnn_model *m, void *file)
{
    FILE *f = file;
    const char *rule = "______________________________________________________________________________";
    const char *dbl = "==============================================================================";
    fprintf(f, "Model: \"sequential\" (the seed's simple CNN)\n%s\n", rule);
    fprintf(f, " %-44s %-20s %10s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    for (int l = SCNN_L_INPUT + 1; l < SCNN_LAYERS; l++) {   /* Keras lists no input layer */
        const scnn_layer *ly = &scnn_layers[l];
        size_t n = 0, len = strlen(ly->name);
        for (int i = 0; i < P_COUNT; i++)   /* the layer's parameters: "<name>/..." */
            if (strncmp(m->params[i].name, ly->name, len) == 0 && m->params[i].name[len] == '/')
                n += m->params[i].size;
        char label[64], shape[40], cnt[32];
        snprintf(label, sizeof label, "%s (%s)", ly->name, ly->type);
        if (ly->h == 1 && ly->w == 1)
            snprintf(shape, sizeof shape, "(None, %d)", ly->c);
        else
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", ly->h, ly->w, ly->c);
        fmt_count(cnt, sizeof cnt, n);
        fprintf(f, " %-44s %-20s %10s\n", label, shape, cnt);
    }
    char total[32], tr[32], ntr[32];
    size_t t = scnn_model_num_weights(m, true), nt = scnn_model_num_weights(m, false);
    fmt_count(total, sizeof total, t + nt);
    fmt_count(tr, sizeof tr, t);
    fmt_count(ntr, sizeof ntr, nt);
    fprintf(f, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n%s\n", dbl,
            total, tr, ntr, rule);
}

void scnn_images_to_float(const uint8_t *src, size_t count, float *dst)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = (float)src[i] / 255.0f;
}

/* Profiling: the wall time since the previous mark is charged to `name`. */
static void prof_start(scnn_model *m)
{
    if (m->profiling)
        m->prof_t = scnn_now();
}

static void prof_mark(scnn_model *m, const char *name)
{
    if (!m->profiling)
        return;
    double t = scnn_now();
    int i = 0;
    while (i < m->prof_n && strcmp(m->prof_name[i], name) != 0)
        i++;
    if (i == m->prof_n && m->prof_n < SCNN_PROFILE_MAX)
        m->prof_name[m->prof_n++] = name;
    if (i < SCNN_PROFILE_MAX)
        m->prof_sec[i] += t - m->prof_t;
    m->prof_t = t;
}

void scnn_model_profile(scnn_model *m, bool on)
{
    m->profiling = on;
    m->prof_n = 0;
    memset(m->prof_sec, 0, sizeof m->prof_sec);
}

int scnn_model_profile_read(const scnn_model *m, const char **names, double *seconds, int max)
{
    int n = m->prof_n < max ? m->prof_n : max;
    for (int i = 0; i < n; i++) {
        names[i] = m->prof_name[i];
        seconds[i] = m->prof_sec[i];
    }
    return n;
}

/* Max-pool of the ReLU output y [n,h,w,c] into p (and idx), then, if drop, dropout into a
 * (mask from key): the backend's fused pass where it has one. Returns the layer's output. */
static const float *pool_dropout_forward(const scnn_backend *be, int n, int h, int w, int c,
                                         const float *y, float *p, uint8_t *idx, bool drop,
                                         float rate, uint64_t key, float *mask, float *a)
{
    if (drop && be->pool_dropout_forward) {
        be->pool_dropout_forward(n, h, w, c, y, rate, key, p, idx, mask, a);
        return a;
    }
    be->maxpool_forward(n, h, w, c, y, p, idx);
    if (!drop)
        return p;
    const size_t count = (size_t)n * (h / 2) * (w / 2) * c;
    be->dropout_mask(count, rate, key, mask);
    be->mul(count, p, mask, a);
    return a;
}

/* Its backward, with the ReLU backward of y: da -> dy [n,h,w,c] (dp: scratch of da's size). */
static void pool_dropout_backward(const scnn_backend *be, int n, int h, int w, int c,
                                  const float *da, bool drop, const float *mask, float *dp,
                                  const uint8_t *idx, const float *p, const float *y, float *dy)
{
    if (drop && be->pool_dropout_backward) {
        be->pool_dropout_backward(n, h, w, c, da, mask, idx, p, dy);
        return;
    }
    if (drop) {
        be->mul((size_t)n * (h / 2) * (w / 2) * c, da, mask, dp);
        da = dp;
    }
    be->maxpool_backward(n, h, w, c, da, idx, dy);
    be->relu_backward((size_t)n * h * w * c, y, dy);
}

/* ---- the passes over a range of images -----------------------------------------------------
 * Every layer but the two batch norms works image by image, so a training step is four passes
 * over images [i0, i0 + n) between the batch norms' reductions: scnn_model_forward and
 * scnn_model_backward run them once over the whole batch, model/data_parallel.c once per chunk
 * (model/model_internal.h). g[] are where the weight gradients go (the params' g, or a chunk's
 * partial sums); ctr keys the dropout masks. */

void scnn_model_pass_features(scnn_model *m, int i0, int n, uint64_t ctr)
{
    const scnn_backend *be = &m->be;
    scnn_param *P = m->params;
    const size_t o = (size_t)i0;
    const bool drop = m->dropped;
    const int flat = (int)SZ(FLATTEN), d1 = LY(DENSE1).c, d2 = LY(DENSE2).c;

    const float *a1;
    if (!drop) {
        /* conv1 and its ReLU-pool in groups of CONV1_GROUP images, so that a group's conv1
         * output (200 KB an image) is pooled from cache instead of the whole batch's (50 MB at
         * batch 250) going to memory and back. Inference keeps only the group's (at the start
         * of y1); training without dropout keeps it all for the backward pass. (With dropout
         * the mask is drawn over the whole range in one call: not grouped.) The same numbers
         * either way: every backend computes an image's outputs independently of the others. */
        for (int g0 = 0; g0 < n; g0 += CONV1_GROUP) {
            const int ng = n - g0 < CONV1_GROUP ? n - g0 : CONV1_GROUP;
            const size_t og = o + (size_t)g0;
            float *y1 = m->y1 + (m->training ? og * SZ(CONV1) : 0);
            m->conv1.n = ng;
            be->conv2d_forward(&m->conv1, m->y0 + og * SZ(BN0), P[P_CONV1_W].w, P[P_CONV1_B].w,
                               y1, m->ws);
            be->maxpool_forward(ng, LY(CONV1).h, LY(CONV1).w, LY(CONV1).c, y1,
                                m->p1 + og * SZ(POOL1), m->idx1 + og * SZ(POOL1));
        }
        a1 = m->p1 + o * SZ(POOL1);
        prof_mark(m, "fwd conv2d"); /* (and its max-pooling) */
    } else {
        m->conv1.n = n;
        be->conv2d_forward(&m->conv1, m->y0 + o * SZ(BN0), P[P_CONV1_W].w, P[P_CONV1_B].w,
                           m->y1 + o * SZ(CONV1), m->ws);
        prof_mark(m, "fwd conv2d");
        a1 = pool_dropout_forward(be, n, LY(CONV1).h, LY(CONV1).w, LY(CONV1).c,
                                  m->y1 + o * SZ(CONV1), m->p1 + o * SZ(POOL1),
                                  m->idx1 + o * SZ(POOL1), drop, LY(DROP1).rate,
                                  scnn_rng_key(m->seed, SCNN_RNG_DROPOUT + 0, ctr),
                                  m->mask1 + o * SZ(DROP1), m->a1 + o * SZ(DROP1));
    }
    prof_mark(m, "fwd max_pooling2d"); /* (and its dropout) */
    prof_mark(m, "fwd dropout");

    m->conv2.n = n;
    be->conv2d_forward(&m->conv2, a1, P[P_CONV2_W].w, P[P_CONV2_B].w, m->y2 + o * SZ(CONV2),
                       m->ws);
    prof_mark(m, "fwd conv2d_1");
    const float *a2 = pool_dropout_forward(
        be, n, LY(CONV2).h, LY(CONV2).w, LY(CONV2).c, m->y2 + o * SZ(CONV2),
        m->p2 + o * SZ(POOL2), m->idx2 + o * SZ(POOL2), drop, LY(DROP2).rate,
        scnn_rng_key(m->seed, SCNN_RNG_DROPOUT + 1, ctr), m->mask2 + o * SZ(DROP2),
        m->a2 + o * SZ(DROP2));
    prof_mark(m, "fwd max_pooling2d_1");
    prof_mark(m, "fwd dropout_1");

    float *h1 = m->h1 + o * SZ(DENSE1);
    be->gemm(false, false, n, d1, flat, 1.0f, a2, flat, P[P_D1_W].w, d1, 0.0f, h1, d1);
    be->bias_act(n, d1, h1, P[P_D1_B].w, true);
    prof_mark(m, "fwd dense");
    const float *a3 = h1;
    if (drop) {
        const size_t count = (size_t)n * SZ(DROP3);
        be->dropout_mask(count, LY(DROP3).rate, scnn_rng_key(m->seed, SCNN_RNG_DROPOUT + 2, ctr),
                         m->mask3 + o * SZ(DROP3));
        be->mul(count, h1, m->mask3 + o * SZ(DROP3), m->a3 + o * SZ(DROP3));
        a3 = m->a3 + o * SZ(DROP3);
    }
    prof_mark(m, "fwd dropout_2");

    float *h2 = m->h2 + o * SZ(DENSE2);
    be->gemm(false, false, n, d2, d1, 1.0f, a3, d1, P[P_D2_W].w, d2, 0.0f, h2, d2);
    be->bias_act(n, d2, h2, P[P_D2_B].w, true);
    prof_mark(m, "fwd dense_1");
}

void scnn_model_pass_head(scnn_model *m, int i0, int n)
{
    const size_t o = (size_t)i0;
    const int d2 = LY(DENSE2).c, d3 = LY(DENSE3).c;
    float *logits = m->logits + o * SZ(DENSE3);
    m->be.gemm(false, false, n, d3, d2, 1.0f, m->h2n + o * SZ(BN1), d2, m->params[P_D3_W].w, d3,
               0.0f, logits, d3);
    m->be.bias_act(n, d3, logits, m->params[P_D3_B].w, false);
    prof_mark(m, "fwd dense_2");
}

void scnn_model_pass_head_back(scnn_model *m, int i0, int n, float *const *g)
{
    const scnn_backend *be = &m->be;
    const size_t o = (size_t)i0;
    const int d2 = LY(DENSE2).c, d3 = LY(DENSE3).c;
    const float *dlogits = m->dlogits + o * SZ(DENSE3);
    /* dense_2: logits = h2n * W3 + b3 */
    be->gemm(true, false, d2, d3, n, 1.0f, m->h2n + o * SZ(BN1), d2, dlogits, d3, 0.0f,
             g[P_D3_W], d3);
    be->bias_grad(n, d3, dlogits, g[P_D3_B]);
    be->gemm(false, true, n, d2, d3, 1.0f, dlogits, d3, m->params[P_D3_W].w, d3, 0.0f,
             m->dh2n + o * SZ(BN1), d2);
    prof_mark(m, "bwd dense_2");
}

/* The backward of conv block b (0: conv2d, 1: conv2d_1; each conv + ReLU, max-pool, dropout)
 * over images [o, o + n): da, the gradient of the block's output, -> the conv's weight and bias
 * gradients (g[]) and dx, the gradient of the conv's input. */
static void conv_block_backward(scnn_model *m, int b, size_t o, int n, const float *da,
                                float *dx, float *const *g)
{
    static const char *const phase[2][3] = {
        {"bwd max_pooling2d", "bwd conv2d filter", "bwd conv2d data"},
        {"bwd max_pooling2d_1", "bwd conv2d_1 filter", "bwd conv2d_1 data"}};
    const scnn_backend *be = &m->be;
    const bool drop = m->dropped;
    const scnn_layer *L = &scnn_layers[b ? SCNN_L_CONV2 : SCNN_L_CONV1];
    const size_t conv = b ? SZ(CONV2) : SZ(CONV1), pool = b ? SZ(POOL2) : SZ(POOL1);
    const int w = b ? P_CONV2_W : P_CONV1_W, bias = b ? P_CONV2_B : P_CONV1_B;
    scnn_conv2d *d = b ? &m->conv2 : &m->conv1;
    /* the conv's input: the first block's batch norm output, or the first block's output */
    const float *x = b ? (drop ? m->a1 : m->p1) + o * SZ(POOL1) : m->y0 + o * SZ(BN0);
    float *dy = (b ? m->dy2 : m->dy1) + o * conv;
    pool_dropout_backward(be, n, L->h, L->w, L->c, da, drop, (b ? m->mask2 : m->mask1) + o * pool,
                          (b ? m->dp2 : m->dp1) + o * pool, (b ? m->idx2 : m->idx1) + o * pool,
                          (b ? m->p2 : m->p1) + o * pool, (b ? m->y2 : m->y1) + o * conv, dy);
    prof_mark(m, phase[b][0]);
    d->n = n;
    be->conv2d_backward_filter(d, x, dy, g[w], g[bias], m->ws);
    prof_mark(m, phase[b][1]);
    be->conv2d_backward_data(d, dy, m->params[w].w, dx, m->ws);
    prof_mark(m, phase[b][2]);
}

void scnn_model_pass_features_back(scnn_model *m, int i0, int n, float *const *g)
{
    const scnn_backend *be = &m->be;
    scnn_param *P = m->params;
    const size_t o = (size_t)i0, nn = (size_t)n;
    const bool drop = m->dropped;
    const int flat = (int)SZ(FLATTEN), d1 = LY(DENSE1).c, d2 = LY(DENSE2).c;

    float *dh2 = m->dh2 + o * SZ(DENSE2);
    be->relu_backward(nn * d2, m->h2 + o * SZ(DENSE2), dh2);

    /* dense_1: h2 = relu(a3 * W2 + b2) */
    const float *h1 = m->h1 + o * SZ(DENSE1);
    const float *a3 = drop ? m->a3 + o * SZ(DROP3) : h1;
    float *da3 = m->da3 + o * SZ(DROP3);
    be->gemm(true, false, d1, d2, n, 1.0f, a3, d1, dh2, d2, 0.0f, g[P_D2_W], d2);
    be->bias_grad(n, d2, dh2, g[P_D2_B]);
    be->gemm(false, true, n, d1, d2, 1.0f, dh2, d2, P[P_D2_W].w, d2, 0.0f, da3, d1);
    prof_mark(m, "bwd dense_1");
    float *dh1 = da3;
    if (drop) {
        dh1 = m->dh1 + o * SZ(DENSE1);
        be->mul(nn * SZ(DROP3), da3, m->mask3 + o * SZ(DROP3), dh1);
    }
    be->relu_backward(nn * d1, h1, dh1);
    prof_mark(m, "bwd dropout_2");

    /* dense: h1 = relu(a2 * W1 + b1) */
    const float *a2 = (drop ? m->a2 : m->p2) + o * SZ(POOL2);
    float *da2 = m->da2 + o * SZ(DROP2);
    be->gemm(true, false, flat, d1, n, 1.0f, a2, flat, dh1, d1, 0.0f, g[P_D1_W], d1);
    be->bias_grad(n, d1, dh1, g[P_D1_B]);
    be->gemm(false, true, n, flat, d1, 1.0f, dh1, d1, P[P_D1_W].w, d1, 0.0f, da2, flat);
    prof_mark(m, "bwd dense");
    prof_mark(m, "bwd dropout_1"); /* (in the next mark) */
    conv_block_backward(m, 1, o, n, da2, m->da1 + o * SZ(DROP1), g);
    prof_mark(m, "bwd dropout"); /* (in the next mark) */
    conv_block_backward(m, 0, o, n, m->da1 + o * SZ(DROP1), m->dy0 + o * SZ(BN0), g);
}

scnn_model_bn scnn_model_batchnorm(scnn_model *m, int which)
{
    if (which == 0)
        return (scnn_model_bn){.x = m->x0, .y = m->y0, .dy = m->dy0, .dx = m->dx0,
                               .rows_per_image = (int)SZ(INPUT) / LY(BN0).c, .c = LY(BN0).c,
                               .gamma = P_BN0_GAMMA, .beta = P_BN0_BETA, .run_mean = P_BN0_MEAN,
                               .run_var = P_BN0_VAR, .mean = m->bn0_mean,
                               .invstd = m->bn0_invstd, .unbiased_var = true,
                               .eps = BN_EPS, .momentum = BN_MOMENTUM};
    return (scnn_model_bn){.x = m->h2, .y = m->h2n, .dy = m->dh2n, .dx = m->dh2,
                           .rows_per_image = 1, .c = LY(BN1).c, .gamma = P_BN1_GAMMA,
                           .beta = P_BN1_BETA, .run_mean = P_BN1_MEAN, .run_var = P_BN1_VAR,
                           .mean = m->bn1_mean, .invstd = m->bn1_invstd, .unbiased_var = false,
                           .eps = BN_EPS, .momentum = BN_MOMENTUM};
}

/* A batch norm over the whole batch of the last forward pass, by the backend. */
static void batchnorm_forward(scnn_model *m, int which)
{
    const scnn_model_bn b = scnn_model_batchnorm(m, which);
    scnn_param *P = m->params;
    const int rows = m->n * b.rows_per_image;
    if (m->training)
        m->be.batchnorm_forward_train(rows, b.c, b.x, P[b.gamma].w, P[b.beta].w, b.eps,
                                      b.momentum, b.unbiased_var, b.y, b.mean, b.invstd,
                                      P[b.run_mean].w, P[b.run_var].w);
    else
        m->be.batchnorm_forward_infer(rows, b.c, b.x, P[b.gamma].w, P[b.beta].w,
                                      P[b.run_mean].w, P[b.run_var].w, b.eps, b.y);
}

static void batchnorm_backward(scnn_model *m, int which)
{
    const scnn_model_bn b = scnn_model_batchnorm(m, which);
    scnn_param *P = m->params;
    m->be.batchnorm_backward(m->n * b.rows_per_image, b.c, b.x, b.dy, P[b.gamma].w, b.mean,
                             b.invstd, b.dx, P[b.gamma].g, P[b.beta].g);
}

void scnn_model_forward(scnn_model *m, const float *x, int n, bool training, float *logits)
{
    m->n = n;
    m->training = training;
    m->dropped = training && m->dropout;
    prof_start(m);
    if (x != m->x0)
        memcpy(m->x0, x, (size_t)n * SZ(INPUT) * sizeof(float));
    batchnorm_forward(m, 0);
    prof_mark(m, "fwd batch_normalization");
    scnn_model_pass_features(m, 0, n, m->step);
    batchnorm_forward(m, 1);
    prof_mark(m, "fwd batch_normalization_1");
    scnn_model_pass_head(m, 0, n);
    if (logits && logits != m->logits)
        memcpy(logits, m->logits, (size_t)n * SZ(DENSE3) * sizeof(float));
}

float scnn_model_backward(scnn_model *m, const uint8_t *labels, float *probs)
{
    const int n = m->n;
    float *g[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        g[i] = m->params[i].g;
    prof_start(m);
    float loss = m->be.softmax_xent(n, SCNN_CLASSES, m->logits, labels, m->probs, m->dlogits);
    prof_mark(m, "loss (softmax cross-entropy)");
    if (probs)
        memcpy(probs, m->probs, (size_t)n * SCNN_CLASSES * sizeof(float));
    scnn_model_pass_head_back(m, 0, n, g);
    batchnorm_backward(m, 1);
    prof_mark(m, "bwd batch_normalization_1");
    scnn_model_pass_features_back(m, 0, n, g);
    batchnorm_backward(m, 0);
    prof_mark(m, "bwd batch_normalization");
    return loss;
}

void scnn_model_adam(scnn_model *m)
{
    prof_start(m);
    uint64_t t = m->step + 1;
    /* Keras's epsilon-hat Adam: the bias corrections fold into the learning rate. */
    double lr_t = ADAM_LR * sqrt(1.0 - pow((double)ADAM_B2, (double)t)) /
                  (1.0 - pow((double)ADAM_B1, (double)t));
    for (int i = 0; i < P_COUNT; i++) {
        scnn_param *p = &m->params[i];
        if (p->trainable)
            m->be.adam_update(p->size, p->w, p->g, p->m, p->v, (float)lr_t, ADAM_B1, ADAM_B2,
                              ADAM_EPS);
    }
    m->step = t;
    prof_mark(m, "adam");
}

int scnn_model_count_correct(const float *scores, const uint8_t *labels, int n, uint8_t *pred)
{
    int correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < SCNN_CLASSES; c++)
            if (scores[i * SCNN_CLASSES + c] > scores[i * SCNN_CLASSES + best])
                best = c;
        correct += best == labels[i];
        if (pred)
            pred[i] = (uint8_t)best;
    }
    return correct;
}

float scnn_model_train_batch(scnn_model *m, const uint8_t *images, const uint8_t *labels, int n,
                             int *correct)
{
    prof_start(m);
    scnn_images_to_float(images, (size_t)n * SZ(INPUT), m->x0);
    prof_mark(m, "input (bytes to floats)");
    scnn_model_forward(m, m->x0, n, true, NULL);
    float loss = scnn_model_backward(m, labels, NULL);
    if (correct)
        *correct = scnn_model_count_correct(m->logits, labels, n, NULL);
    scnn_model_adam(m);
    return loss;
}

void scnn_model_evaluate(scnn_model *m, const uint8_t *images, const uint8_t *labels, size_t n,
                         double *loss, double *acc, uint8_t *pred, float *probs)
{
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i += (size_t)m->max_batch) {
        int b = (int)(n - i < (size_t)m->max_batch ? n - i : (size_t)m->max_batch);
        scnn_images_to_float(images + i * SZ(INPUT), (size_t)b * SZ(INPUT), m->x0);
        scnn_model_forward(m, m->x0, b, false, NULL);
        loss_sum += (double)m->be.softmax_xent(b, SCNN_CLASSES, m->logits, labels + i, m->probs,
                                               NULL) * b;
        correct += (size_t)scnn_model_count_correct(m->logits, labels + i, b, pred ? pred + i : NULL);
        if (probs)
            memcpy(probs + i * SCNN_CLASSES, m->probs, (size_t)b * SCNN_CLASSES * sizeof(float));
    }
    if (loss)
        *loss = n ? loss_sum / (double)n : 0;
    if (acc)
        *acc = n ? (double)correct / (double)n : 0;
}
