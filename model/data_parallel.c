/* Data-parallel training of one model over the ranks: see data_parallel.h. */
#include "model/data_parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/dist.h"
#include "kernels/batchnorm_coef.h"
#include "model/model_internal.h"

#define C SCNN_DP_CHUNKS
#define BN_MAX_C 64 /* the widest batch norm (dense_1's 64 features) */

struct scnn_dp {
    scnn_model *m;
    int rank, ranks, c0, c1; /* this rank's chunks [c0, c1) */
    int lo[C + 1];
    /* Partial weight gradients [C][G] of the params the passes write (the conv and dense ones),
     * each param at a 64-byte-aligned offset; NULL offsets for the others. */
    size_t g_floats, off[SCNN_MODEL_PARAMS];
    bool partial[SCNN_MODEL_PARAMS];
    float *part;
    float *send, *recv; /* several ranks: this rank's chunks by slice; every chunk's slice */
    float *total;       /* the added gradient vector [G] */
    double sums[C][2 * BN_MAX_C]; /* per-chunk batch-norm sums, loss figures */
    int bound[C + 1];             /* this batch's chunk boundaries */
};

scnn_status scnn_dp_create(scnn_dp **out, scnn_model *m)
{
    *out = NULL;
    const int ranks = scnn_dist_size();
    if (ranks > C)
        return scnn_fail(SCNN_ERR_ARG,
                         "data-parallel training splits every batch into %d chunks: at most %d "
                         "ranks, not %d",
                         C, C, ranks);
    scnn_dp *d = calloc(1, sizeof *d);
    if (!d)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    d->m = m;
    d->rank = scnn_dist_rank();
    d->ranks = ranks;
    for (int r = 0; r < ranks; r++) {
        int hi;
        scnn_dist_share(C, r, ranks, &d->lo[r], &hi);
    }
    d->lo[ranks] = C;
    d->c0 = d->lo[d->rank];
    d->c1 = d->lo[d->rank + 1];
    /* The batch norms' parameters get their gradients from the gathered sums, not from chunks. */
    bool bn_param[SCNN_MODEL_PARAMS] = {false};
    for (int which = 0; which < 2; which++) {
        const scnn_model_bn b = scnn_model_batchnorm(m, which);
        bn_param[b.gamma] = bn_param[b.beta] = true;
    }
    for (int i = 0; i < SCNN_MODEL_PARAMS; i++) {
        const scnn_param *p = &m->params[i];
        d->partial[i] = p->trainable && !bn_param[i];
        if (d->partial[i]) {
            d->off[i] = d->g_floats;
            d->g_floats += (p->size + 15) / 16 * 16;
        }
    }
    const size_t G = d->g_floats, own = (size_t)(d->c1 - d->c0);
    d->part = scnn_alloc_aligned((size_t)C * G * sizeof(float));
    d->total = scnn_alloc_aligned(G * sizeof(float));
    if (ranks > 1) {   /* a slice is at most ceil(G/16/R) blocks */
        const size_t slice = ((G / 16 + (size_t)ranks - 1) / (size_t)ranks) * 16;
        d->send = scnn_alloc_aligned(own * G * sizeof(float));
        d->recv = scnn_alloc_aligned((size_t)C * slice * sizeof(float));
    }
    if (!d->part || !d->total || (ranks > 1 && (!d->send || !d->recv))) {
        scnn_dp_free(d);
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory for %d chunks of partial gradients", C);
    }
    *out = d;
    return SCNN_OK;
}

void scnn_dp_free(scnn_dp *d)
{
    if (d) {
        free(d->part);
        free(d->send);
        free(d->recv);
        free(d->total);
    }
    free(d);
}

/* Every rank's chunks [lo[r], lo[r+1]) of buf (C records of `bytes` each), on every rank. */
static void gather_chunks(const scnn_dp *d, void *buf, size_t bytes)
{
    size_t off[C] = {0}, len[C] = {0};
    for (int r = 0; r < d->ranks; r++) {
        off[r] = (size_t)d->lo[r] * bytes;
        len[r] = (size_t)(d->lo[r + 1] - d->lo[r]) * bytes;
    }
    scnn_dist_allgather(buf, off, len);
}

/* Per channel, over the rows of each of this rank's chunks: sum x (mu NULL) or sum (x-mu)^2,
 * into sums[c][0 .. ch); then every chunk's, added in chunk order, into total. */
static void bn_chunk_sums(scnn_dp *d, const float *x, int rpi, int ch, const double *mu,
                          double *total)
{
    for (int c = d->c0; c < d->c1; c++) {
        double *s = d->sums[c];
        memset(s, 0, sizeof d->sums[c]);
        for (size_t r = (size_t)d->bound[c] * rpi; r < (size_t)d->bound[c + 1] * rpi; r++)
            for (int j = 0; j < ch; j++) {
                const double e = mu ? x[r * ch + j] - mu[j] : x[r * ch + j];
                s[j] += mu ? e * e : e;
            }
    }
    gather_chunks(d, d->sums, sizeof d->sums[0]);
    for (int j = 0; j < ch; j++) {
        total[j] = 0;
        for (int c = 0; c < C; c++)
            total[j] += d->sums[c][j];
    }
}

/* Batch norm `which` in training mode over the whole batch: the statistics from the gathered
 * sums, the running ones updated alike on every rank, y for this rank's rows. */
static void bn_forward(scnn_dp *d, int which, int n)
{
    scnn_model *m = d->m;
    const scnn_model_bn b = scnn_model_batchnorm(m, which);
    scnn_param *P = m->params;
    const int rows = n * b.rows_per_image;
    double mu[BN_MAX_C], ss[BN_MAX_C];
    float scale[BN_MAX_C], shift[BN_MAX_C];
    bn_chunk_sums(d, b.x, b.rows_per_image, b.c, NULL, mu);
    for (int j = 0; j < b.c; j++)
        mu[j] /= rows;
    bn_chunk_sums(d, b.x, b.rows_per_image, b.c, mu, ss);
    scnn_bn_train_coef(rows, b.c, mu, ss, b.eps, b.momentum, b.unbiased_var, P[b.gamma].w,
                       P[b.beta].w, b.mean, b.invstd, P[b.run_mean].w, P[b.run_var].w, scale,
                       shift);
    for (size_t r = (size_t)d->bound[d->c0] * b.rows_per_image;
         r < (size_t)d->bound[d->c1] * b.rows_per_image; r++)
        for (int j = 0; j < b.c; j++)
            b.y[r * b.c + j] = b.x[r * b.c + j] * scale[j] + shift[j];
}

/* Its backward pass: dgamma, dbeta from the gathered sums (on every rank), dx for this rank's
 * rows where want_dx (the input's batch norm has no gradient to pass on). */
static void bn_backward(scnn_dp *d, int which, int n, bool want_dx)
{
    scnn_model *m = d->m;
    const scnn_model_bn b = scnn_model_batchnorm(m, which);
    scnn_param *P = m->params;
    const int rows = n * b.rows_per_image, ch = b.c;
    double mu[BN_MAX_C], is[BN_MAX_C], sdy[BN_MAX_C], sdyx[BN_MAX_C];
    for (int j = 0; j < ch; j++) {
        mu[j] = b.mean[j];
        is[j] = b.invstd[j];
    }
    for (int c = d->c0; c < d->c1; c++) {
        double *s = d->sums[c];
        memset(s, 0, sizeof d->sums[c]);
        for (size_t r = (size_t)d->bound[c] * b.rows_per_image;
             r < (size_t)d->bound[c + 1] * b.rows_per_image; r++)
            for (int j = 0; j < ch; j++) {
                const double dy = b.dy[r * ch + j];
                s[j] += dy;
                s[BN_MAX_C + j] += dy * ((b.x[r * ch + j] - mu[j]) * is[j]);
            }
    }
    gather_chunks(d, d->sums, sizeof d->sums[0]);
    for (int j = 0; j < ch; j++) {
        sdy[j] = sdyx[j] = 0;
        for (int c = 0; c < C; c++) {
            sdy[j] += d->sums[c][j];
            sdyx[j] += d->sums[c][BN_MAX_C + j];
        }
    }
    float ca[BN_MAX_C], cb[BN_MAX_C], ce[BN_MAX_C];
    scnn_bn_backward_coef(rows, ch, mu, is, sdy, sdyx, P[b.gamma].w, ca, cb, ce, P[b.gamma].g,
                          P[b.beta].g);
    if (!want_dx)
        return;
    for (size_t r = (size_t)d->bound[d->c0] * b.rows_per_image;
         r < (size_t)d->bound[d->c1] * b.rows_per_image; r++)
        for (int j = 0; j < ch; j++)
            b.dx[r * ch + j] = ca[j] * b.dy[r * ch + j] + cb[j] * b.x[r * ch + j] + ce[j];
}

/* Where chunk c's pass writes its weight gradients. */
static void chunk_grads(const scnn_dp *d, int c, float **g)
{
    for (int i = 0; i < SCNN_MODEL_PARAMS; i++)
        g[i] = d->partial[i] ? d->part + (size_t)c * d->g_floats + d->off[i] : NULL;
}

/* The weight gradients: every chunk's partial, added in chunk order. Rank r adds slice r of the
 * gradient vector, for which an all-to-all brings it every chunk's part, then every rank gathers
 * the added slices (a reduce-scatter and an all-gather, in a fixed order): a rank receives
 * about G x (C/R + 1) floats a step instead of G x C, and adds G/R x C of them. */
static void reduce_gradients(scnn_dp *d)
{
    scnn_model *m = d->m;
    const size_t G = d->g_floats, es = sizeof(float);
    size_t lo[C + 1] = {0}, soff[C] = {0}, slen[C] = {0}, roff[C] = {0}, rlen[C] = {0};
    for (int s = 0; s < d->ranks; s++) {   /* slice s: [lo[s], lo[s+1]), whole 16-float blocks */
        int a, b;
        scnn_dist_share((int)(G / 16), s, d->ranks, &a, &b);
        lo[s] = (size_t)a * 16;
        lo[s + 1] = (size_t)b * 16;
    }
    const size_t mine = lo[d->rank + 1] - lo[d->rank];
    const int own = d->c1 - d->c0;
    const float *recv = d->part;   /* one process: every chunk's whole vector is here */
    size_t stride = G;
    if (d->ranks > 1) {
        size_t at = 0;
        for (int s = 0; s < d->ranks; s++) {
            const size_t n = lo[s + 1] - lo[s];
            soff[s] = at * es;
            slen[s] = (size_t)own * n * es;
            for (int c = d->c0; c < d->c1; c++, at += n)
                memcpy(d->send + at, d->part + (size_t)c * G + lo[s], n * es);
            roff[s] = (size_t)d->lo[s] * mine * es;
            rlen[s] = (size_t)(d->lo[s + 1] - d->lo[s]) * mine * es;
        }
        scnn_dist_alltoall(d->send, soff, slen, d->recv, roff, rlen);
        recv = d->recv;
        stride = mine;
    }
    float *sum = d->total + lo[d->rank];
    const float *first = recv + (d->ranks > 1 ? 0 : lo[d->rank]);
    memcpy(sum, first, mine * es);
    for (int c = 1; c < C; c++) {
        const float *src = first + (size_t)c * stride;
        for (size_t k = 0; k < mine; k++)
            sum[k] += src[k];
    }
    for (int s = 0; s < d->ranks; s++) {
        soff[s] = lo[s] * es;
        slen[s] = (lo[s + 1] - lo[s]) * es;
    }
    scnn_dist_allgather(d->total, soff, slen);
    for (int i = 0; i < SCNN_MODEL_PARAMS; i++)
        if (d->partial[i])
            memcpy(m->params[i].g, d->total + d->off[i], m->params[i].size * es);
}

float scnn_dp_train_batch(scnn_dp *d, const uint8_t *images, const uint8_t *labels, int n,
                          int *correct)
{
    scnn_model *m = d->m;
    const scnn_backend *be = &m->be;
    const size_t in = SCNN_PIXELS;
    for (int c = 0; c <= C; c++)
        d->bound[c] = (int)((long long)c * n / C);
    const int i0 = d->bound[d->c0], i1 = d->bound[d->c1];
    m->n = n;
    m->training = true;
    m->dropped = m->dropout;
    scnn_images_to_float(images + (size_t)i0 * in, (size_t)(i1 - i0) * in, m->x0 + (size_t)i0 * in);

    bn_forward(d, 0, n);
    for (int c = d->c0; c < d->c1; c++)
        if (d->bound[c + 1] > d->bound[c])
            scnn_model_pass_features(m, d->bound[c], d->bound[c + 1] - d->bound[c],
                                     m->step * C + (uint64_t)c);
    bn_forward(d, 1, n);

    /* The head, the loss and dlogits = (p - onehot) / n per chunk; the chunks' loss sums,
     * correct counts and whether their outputs were finite, gathered. */
    for (int c = d->c0; c < d->c1; c++) {
        const int a = d->bound[c], nc = d->bound[c + 1] - a;
        double *s = d->sums[c];
        memset(s, 0, sizeof d->sums[c]);
        if (!nc)
            continue;
        scnn_model_pass_head(m, a, nc);
        const float *logits = m->logits + (size_t)a * SCNN_CLASSES;
        float *probs = m->probs + (size_t)a * SCNN_CLASSES;
        float *dl = m->dlogits + (size_t)a * SCNN_CLASSES;
        bool finite = true;
        for (int i = 0; finite && i < nc * SCNN_CLASSES; i++)
            finite = isfinite(logits[i]);
        s[0] = (double)be->softmax_xent(nc, SCNN_CLASSES, logits, labels + a, probs, NULL) * nc;
        s[1] = scnn_model_count_correct(logits, labels + a, nc, NULL);
        s[2] = !finite;
        for (int i = 0; i < nc; i++)
            for (int k = 0; k < SCNN_CLASSES; k++)
                dl[i * SCNN_CLASSES + k] =
                    (float)(((double)probs[i * SCNN_CLASSES + k] - (k == labels[a + i])) / n);
    }
    gather_chunks(d, d->sums, sizeof d->sums[0]);
    double loss = 0, right = 0;
    bool finite = true;
    for (int c = 0; c < C; c++) {
        loss += d->sums[c][0];
        right += d->sums[c][1];
        finite &= d->sums[c][2] == 0;
    }

    float *g[SCNN_MODEL_PARAMS];
    for (int c = d->c0; c < d->c1; c++) {
        chunk_grads(d, c, g);
        if (d->bound[c + 1] > d->bound[c])
            scnn_model_pass_head_back(m, d->bound[c], d->bound[c + 1] - d->bound[c], g);
    }
    bn_backward(d, 1, n, true);
    for (int c = d->c0; c < d->c1; c++) {
        chunk_grads(d, c, g);
        if (d->bound[c + 1] > d->bound[c])
            scnn_model_pass_features_back(m, d->bound[c], d->bound[c + 1] - d->bound[c], g);
        else   /* an empty chunk (a batch under C images) adds nothing */
            memset(d->part + (size_t)c * d->g_floats, 0, d->g_floats * sizeof(float));
    }
    bn_backward(d, 0, n, false);

    reduce_gradients(d);
    scnn_model_adam(m);
    if (correct)
        *correct = (int)right;
    return finite ? (float)(loss / n) : NAN;
}

scnn_status scnn_dp_evaluate(scnn_dp *d, const uint8_t *images, const uint8_t *labels, size_t n,
                             double *loss, double *acc, float *probs)
{
    scnn_model *m = d->m;
    const size_t mb = (size_t)m->max_batch, batches = (n + mb - 1) / mb;
    float *p = probs ? probs : malloc((n ? n : 1) * SCNN_CLASSES * sizeof *p);
    if (!p)
        return scnn_fail(SCNN_ERR_NOMEM, "out of memory");
    size_t off[C] = {0}, len[C] = {0};
    for (int r = 0; r < d->ranks; r++) {
        int lo, hi;
        scnn_dist_share((int)batches, r, d->ranks, &lo, &hi);
        const size_t a = (size_t)lo * mb, z = (size_t)hi * mb < n ? (size_t)hi * mb : n;
        off[r] = a * SCNN_CLASSES * sizeof *p;
        len[r] = (z > a ? z - a : 0) * SCNN_CLASSES * sizeof *p;
        if (r != d->rank)
            continue;
        for (size_t i = a; i < z; i += mb) {
            const int b = (int)(z - i < mb ? z - i : mb);
            scnn_images_to_float(images + i * SCNN_PIXELS, (size_t)b * SCNN_PIXELS, m->x0);
            scnn_model_forward(m, m->x0, b, false, NULL);
            m->be.softmax_xent(b, SCNN_CLASSES, m->logits, labels + i, p + i * SCNN_CLASSES,
                               NULL);
        }
    }
    scnn_dist_allgather(p, off, len);
    scnn_probs_score(p, labels, n, loss, acc, NULL);
    if (p != probs)
        free(p);
    return SCNN_OK;
}
