/* AVX-512 element-wise ops: bias+ReLU, column sums, ReLU backward, dropout mul, max-pool, batch
 * norm, softmax cross-entropy, Adam, dropout masks. Split into items as the avx2 ones
 * (kernels/avx2/avx2_eltwise.c); every tail is a masked vector step, never a scalar loop. Sums
 * over rows run in double, in a fixed order or over a fixed number of chunks, so no result
 * depends on the split. */
#include <math.h>
#include <string.h>

#include "core/rng_avx512.h"
#include "kernels/avx512/avx512_kernels.h"

#define MASK scnn_avx512_mask
#define DRV_NAME(op) scnn_avx512_##op
#define SCNN_DRIVERS_ELTWISE
#include "kernels/isa_drivers.inc" /* the argument structs and the drivers (the splits) */

/* 8 floats (masked) -> 8 doubles */
static inline __m512d load_pd(__mmask8 k, const float *p)
{
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p));
}

static inline __mmask8 mask8(long n)
{
    return n >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n > 0 ? n : 0)) - 1u);
}

/* ---- bias + activation -------------------------------------------------------------------- */

/* y [rows,cols] += bias [cols], then ReLU */
static void bias_act_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const rows_args *r = ctx;
    const int cols = r->cols;
    const __m512 z = _mm512_setzero_ps();
    for (long i = first; i < last; i++) {
        float *row = r->y + (size_t)i * cols;
        for (int j = 0; j < cols; j += 16) {
            const __mmask16 k = MASK(cols - j);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, row + j),
                                     _mm512_maskz_loadu_ps(k, r->bias + j));
            if (r->relu)
                v = _mm512_max_ps(z, v); /* max(0, NaN) is NaN, as the reference keeps it */
            _mm512_mask_storeu_ps(row + j, k, v);
        }
    }
}

/* db [cols] = column sums of dy [rows,cols] in double, row by row (the reference's order);
 * items are blocks of 16 columns */
static void colsum_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const rows_args *r = ctx;
    const int cols = r->cols;
    for (long blk = first; blk < last; blk++) {
        const int j0 = (int)blk * 16;
        const __mmask8 k0 = mask8(cols - j0), k1 = mask8(cols - j0 - 8);
        __m512d s0 = _mm512_setzero_pd(), s1 = s0;
        for (size_t i = 0; i < (size_t)r->rows; i++) {
            const float *row = r->dy + i * cols + j0;
            s0 = _mm512_add_pd(s0, load_pd(k0, row));
            s1 = _mm512_add_pd(s1, load_pd(k1, row + 8));
        }
        _mm256_mask_storeu_ps(r->y + j0, k0, _mm512_cvtpd_ps(s0));
        _mm256_mask_storeu_ps(r->y + j0 + 8, k1, _mm512_cvtpd_ps(s1));
    }
}

/* ---- ReLU backward and the dropout product ------------------------------------------------------ */

static void relu_backward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const flat_args *f = ctx;
    const size_t end = MIN((size_t)last * FLAT_BLOCK, f->count);
    for (size_t i = (size_t)first * FLAT_BLOCK; i < end; i += 16) {
        const __mmask16 k = MASK((long)(end - i));
        const __mmask16 keep =
            _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, f->x + i), _mm512_setzero_ps(),
                                    _CMP_GT_OQ);
        /* the kept lanes are left as they are; the others (in range) become 0 */
        _mm512_mask_storeu_ps(f->y + i, k & ~keep, _mm512_setzero_ps());
    }
}

static void mul_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const flat_args *f = ctx;
    const size_t end = MIN((size_t)last * FLAT_BLOCK, f->count);
    for (size_t i = (size_t)first * FLAT_BLOCK; i < end; i += 16) {
        const __mmask16 k = MASK((long)(end - i));
        _mm512_mask_storeu_ps(f->y + i, k,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(k, f->x + i),
                                            _mm512_maskz_loadu_ps(k, f->mask + i)));
    }
}

/* ---- batch norm --------------------------------------------------------------------------------- */

/* One step of the sums: 8 values (masked) of x and dy; mean/invstd per lane. */
static inline void bn_acc(int mode, __m512d xv, __m512d gv, __m512d mu, __m512d is, __m512d *p,
                          __m512d *q)
{
    if (mode == 0) {
        *p = _mm512_add_pd(*p, xv);
    } else if (mode == 1) {
        const __m512d e = _mm512_sub_pd(xv, mu);
        *p = _mm512_add_pd(*p, _mm512_mul_pd(e, e));
    } else {
        *p = _mm512_add_pd(*p, gv);
        *q = _mm512_add_pd(*q, _mm512_mul_pd(gv, _mm512_mul_pd(_mm512_sub_pd(xv, mu), is)));
    }
}

static void bn_sums_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    bn_args *a = ctx;
    const int mode = a->mode;
    for (long ch = first; ch < last; ch++) {
        size_t r0, r1;
        bn_chunk_rows(a->m, (int)ch, &r0, &r1);
        double *s1 = a->s1[ch], *s2 = a->s2[ch];
        if (a->c == 1) { /* one channel: vectorise along the rows, 8 lanes summed in order */
            const __m512d mu = _mm512_set1_pd(a->mean ? a->mean[0] : 0.0),
                          is = _mm512_set1_pd(a->invstd ? a->invstd[0] : 0.0);
            __m512d p = _mm512_setzero_pd(), q = p;
            for (size_t r = r0; r < r1; r += 8) {
                const __mmask8 k = mask8((long)(r1 - r));
                const __m512d xv = load_pd(k, a->x + r);
                const __m512d gv = mode == 2 ? load_pd(k, a->dy + r) : xv;
                __m512d np = p, nq = q;
                bn_acc(mode, xv, gv, mu, is, &np, &nq);
                p = _mm512_mask_mov_pd(p, k, np); /* lanes past the end add nothing */
                q = _mm512_mask_mov_pd(q, k, nq);
            }
            double t[8];
            _mm512_storeu_pd(t, p);
            s1[0] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
            _mm512_storeu_pd(t, q);
            s2[0] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
            continue;
        }
        /* 8 channels at a time, rows in order (each channel's sum is sequential) */
        for (int j = 0; j < a->cn; j += 8) {
            const __mmask8 k = mask8(a->cn - j);
            const __m512d mu = a->mean ? _mm512_maskz_loadu_pd(k, a->mean + j) : _mm512_setzero_pd();
            const __m512d is =
                a->invstd ? _mm512_maskz_loadu_pd(k, a->invstd + j) : _mm512_setzero_pd();
            __m512d p = _mm512_setzero_pd(), q = p;
            for (size_t r = r0; r < r1; r++) {
                const size_t o = r * a->c + a->c0 + j;
                const __m512d xv = load_pd(k, a->x + o);
                bn_acc(mode, xv, mode == 2 ? load_pd(k, a->dy + o) : xv, mu, is, &p, &q);
            }
            _mm512_mask_storeu_pd(s1 + j, k, p);
            _mm512_mask_storeu_pd(s2 + j, k, q);
        }
    }
}

/* y = x*scale + shift (mode 0) or dx = (ca*dy + cb*x) + ce (mode 1) on channels [c0, c0+cn),
 * items are blocks of BN_ROWS rows */
static void bn_rows_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const bn_args *a = ctx;
    const int c = a->c, cn = a->cn;
    const size_t r1 = MIN((size_t)last * BN_ROWS, (size_t)a->m);
    const bool bwd = a->mode == 1;
    if (c == 1) { /* flat */
        const __m512 s = _mm512_set1_ps(bwd ? a->ca[0] : a->scale[0]),
                     t = _mm512_set1_ps(bwd ? a->cb[0] : a->shift[0]),
                     e = _mm512_set1_ps(bwd ? a->ce[0] : 0.0f);
        for (size_t i = (size_t)first * BN_ROWS; i < r1; i += 16) {
            const __mmask16 k = MASK((long)(r1 - i));
            const __m512 xv = _mm512_maskz_loadu_ps(k, a->x + i);
            const __m512 v =
                bwd ? _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, a->dy + i)),
                                                  _mm512_mul_ps(t, xv)),
                                    e)
                    : _mm512_add_ps(_mm512_mul_ps(xv, s), t);
            _mm512_mask_storeu_ps(a->y + i, k, v);
        }
        return;
    }
    for (size_t r = (size_t)first * BN_ROWS; r < r1; r++) {
        const size_t o = r * c + a->c0;
        for (int j = 0; j < cn; j += 16) {
            const __mmask16 k = MASK(cn - j);
            const __m512 xv = _mm512_maskz_loadu_ps(k, a->x + o + j);
            __m512 v;
            if (bwd)
                v = _mm512_add_ps(
                    _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, a->ca + j),
                                                _mm512_maskz_loadu_ps(k, a->dy + o + j)),
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(k, a->cb + j), xv)),
                    _mm512_maskz_loadu_ps(k, a->ce + j));
            else
                v = _mm512_add_ps(_mm512_mul_ps(xv, _mm512_maskz_loadu_ps(k, a->scale + j)),
                                  _mm512_maskz_loadu_ps(k, a->shift + j));
            _mm512_mask_storeu_ps(a->y + o + j, k, v);
        }
    }
}

static void bn_rows(scnn_avx2_pfor pf, bn_args *e)
{
    pf(((long)e->m + BN_ROWS - 1) / BN_ROWS, GRAIN_ELEMS / ((long)BN_ROWS * e->cn) + 1,
       bn_rows_body, e);
}

/* ---- softmax cross-entropy ------------------------------------------------------------------ */

/* exp(x) for x <= 0 in float (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial;
 * about 1 ulp), vectorised; below -87.3 it gives 0. */
static inline __m512 exp_ps(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

typedef struct softmax_args {
    int n, classes;
    const float *logits;
    const uint8_t *labels;
    float *probs, *dlogits;
    double *loss; /* per row */
} softmax_args;

/* rows [first, last): classes in blocks of 16 lanes (one block for the model's 10) */
static void softmax_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const softmax_args *s = ctx;
    const int nc = s->classes;
    const __m512 inv_n = _mm512_set1_ps(1.0f / (float)s->n);
    for (long r = first; r < last; r++) {
        const float *l = s->logits + (size_t)r * nc;
        float *pr = s->probs + (size_t)r * nc;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < nc; j += 16)
            mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), MASK(nc - j),
                                                       l + j));
        const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 sum = _mm512_setzero_ps();
        for (int j = 0; j < nc; j += 16) {
            const __mmask16 k = MASK(nc - j);
            const __m512 e = _mm512_maskz_mov_ps(
                k, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, l + j), vmax)));
            _mm512_mask_storeu_ps(pr + j, k, e);
            sum = _mm512_add_ps(sum, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        const int lab = s->labels[r];
        for (int j = 0; j < nc; j += 16) {
            const __mmask16 k = MASK(nc - j);
            const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, pr + j), inv);
            _mm512_mask_storeu_ps(pr + j, k, p);
            if (s->dlogits) {
                const __mmask16 hot =
                    _mm512_cmpeq_epi32_mask(_mm512_add_epi32(_mm512_set1_epi32(j),
                                                             _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6,
                                                                               7, 8, 9, 10, 11, 12,
                                                                               13, 14, 15)),
                                            _mm512_set1_epi32(lab));
                const __m512 d = _mm512_mask_sub_ps(p, hot, p, _mm512_set1_ps(1.0f));
                _mm512_mask_storeu_ps(s->dlogits + (size_t)r * nc + j, k, _mm512_mul_ps(d, inv_n));
            }
        }
        /* the loss from the log-sum-exp in double: -log(p) = max + log(sum) - logit */
        const double pl = fmin(fmax((double)pr[lab], 1e-7), 1.0 - 1e-7);
        s->loss[r] = -log(pl);
    }
}

#define SOFTMAX_MAX_ROWS 4096 /* rows per call of the body (bounded stack) */

float scnn_avx512_softmax_xent_with(scnn_avx2_pfor pf, int n, int classes, const float *logits,
                                    const uint8_t *labels, float *probs, float *dlogits)
{
    double loss = 0, part[SOFTMAX_MAX_ROWS];
    for (int r0 = 0; r0 < n; r0 += SOFTMAX_MAX_ROWS) {
        const int rn = MIN(SOFTMAX_MAX_ROWS, n - r0);
        softmax_args s = {.n = n, .classes = classes, .logits = logits + (size_t)r0 * classes,
                          .labels = labels + r0, .probs = probs + (size_t)r0 * classes,
                          .dlogits = dlogits ? dlogits + (size_t)r0 * classes : NULL,
                          .loss = part};
        pf(rn, 1024, softmax_body, &s);
        for (int r = 0; r < rn; r++) /* in row order, whatever the split */
            loss += part[r];
    }
    return (float)(loss / n);
}

/* ---- Adam ---------------------------------------------------------------------------------------- */

/* in double, the same operations as the reference, so the results are the reference's */
static void adam_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const adam_args *a = ctx;
    const size_t end = MIN((size_t)last * FLAT_BLOCK, a->count);
    const double b1 = a->b1, b2 = a->b2;
    const __m512d vb1 = _mm512_set1_pd(b1), vb2 = _mm512_set1_pd(b2),
                  c1 = _mm512_set1_pd(1.0 - b1), c2 = _mm512_set1_pd(1.0 - b2),
                  lr = _mm512_set1_pd(a->lr_t), ep = _mm512_set1_pd(a->eps);
    for (size_t i = (size_t)first * FLAT_BLOCK; i < end; i += 8) {
        const __mmask8 k = mask8((long)(end - i));
        const __m512d g = load_pd(k, a->g + i);
        const __m512d mi = _mm512_add_pd(_mm512_mul_pd(vb1, load_pd(k, a->m + i)),
                                         _mm512_mul_pd(c1, g));
        const __m512d vi = _mm512_add_pd(_mm512_mul_pd(vb2, load_pd(k, a->v + i)),
                                         _mm512_mul_pd(_mm512_mul_pd(c2, g), g));
        _mm256_mask_storeu_ps(a->m + i, k, _mm512_cvtpd_ps(mi));
        _mm256_mask_storeu_ps(a->v + i, k, _mm512_cvtpd_ps(vi));
        const __m512d step =
            _mm512_div_pd(_mm512_mul_pd(lr, mi), _mm512_add_pd(_mm512_sqrt_pd(vi), ep));
        _mm256_mask_storeu_ps(a->p + i, k,
                              _mm512_cvtpd_ps(_mm512_sub_pd(load_pd(k, a->p + i), step)));
    }
}

/* ---- dropout masks -------------------------------------------------------------------------- */

/* mask[i] for i in [start, end): 32 elements (eight draws, whose 16-bit words are the
 * elements in order) per step, from the step that holds start */
static void mask_range(const mask_args *a, size_t start, size_t end)
{
    const __m512i key = _mm512_set1_epi64((long long)a->key),
                  lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    /* u < t  <=>  u <= t-1, for 16-bit unsigned u and 1 <= t <= 65536; t == 0 drops nothing */
    const __m512i tm1 = _mm512_set1_epi16((short)(uint16_t)(a->threshold - 1));
    const __m512 keep = _mm512_set1_ps(a->keep);
    for (size_t i = start & ~(size_t)31; i < end; i += 32) {
        const __m512i d = _mm512_add_epi64(_mm512_set1_epi64((long long)(i / 4)), lane);
        const __m512i r = scnn_rng_mix64x8(_mm512_xor_si512(key, d));
        const __mmask32 drop = a->threshold ? _mm512_cmple_epu16_mask(r, tm1) : 0;
        const long lo = (long)start - (long)i, hi = (long)(end - i);
        const __mmask16 k0 = MASK(hi) & (__mmask16)~MASK(lo),
                        k1 = MASK(hi - 16) & (__mmask16)~MASK(lo - 16);
        _mm512_mask_storeu_ps(a->mask + i, k0, _mm512_maskz_mov_ps((__mmask16)~drop, keep));
        _mm512_mask_storeu_ps(a->mask + i + 16, k1,
                              _mm512_maskz_mov_ps((__mmask16)~(drop >> 16), keep));
    }
}

/* mask [count]: items are blocks of MASK_BLOCK elements */
static void dropout_mask_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const mask_args *a = ctx;
    mask_range(a, (size_t)first * MASK_BLOCK, MIN((size_t)last * MASK_BLOCK, a->count));
}

/* ---- fused max-pool + dropout (+ the ReLU backward below them) -------------------------------- */

typedef struct pool_drop_args {
    pool_args pool;
    mask_args drop;
    const float *mask, *pooled;
    float *out;
} pool_drop_args;

/* x [n,h,w,c] -> pooled, idx, mask, y = pooled*mask [n,h/2,w/2,c] (without out: the max-pool
 * alone); items are output rows: the row's mask first, then the pool, which multiplies by it
 * while it is in L1 */
static void pool_dropout_forward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const pool_drop_args *pd = ctx;
    const pool_args *a = &pd->pool;
    const int h = a->h, w = a->w, c = a->c, ph = h / 2, pw = w / 2;
    for (long r = first; r < last; r++) {
        const int b = (int)(r / ph), oy = (int)(r % ph);
        const size_t row = (((size_t)b * ph + oy) * pw) * c;
        if (pd->out)
            mask_range(&pd->drop, row, row + (size_t)pw * c);
        for (int ox = 0; ox < pw; ox++) {
            const float *x0 = a->x + (((size_t)b * h + 2 * oy) * w + 2 * ox) * c;
            const float *xs[3] = {x0 + c, x0 + (size_t)w * c, x0 + (size_t)w * c + c};
            const size_t o = row + (size_t)ox * c;
            for (int ch = 0; ch < c; ch += 16) {
                const __mmask16 k = MASK(c - ch);
                __m512 best = _mm512_maskz_loadu_ps(k, x0 + ch);
                __m512i arg = _mm512_setzero_si512();
                for (int t = 0; t < 3; t++) {
                    const __m512 v = _mm512_maskz_loadu_ps(k, xs[t] + ch);
                    const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
                    best = _mm512_mask_mov_ps(best, gt, v);
                    arg = _mm512_mask_mov_epi32(arg, gt, _mm512_set1_epi32(t + 1));
                }
                _mm512_mask_storeu_ps(a->y + o + ch, k, best);
                _mm512_mask_cvtepi32_storeu_epi8(a->idx + o + ch, k, arg);
                if (pd->out)
                    _mm512_mask_storeu_ps(
                        pd->out + o + ch, k,
                        _mm512_mul_ps(best, _mm512_maskz_loadu_ps(k, pd->drop.mask + o + ch)));
            }
        }
    }
}

void scnn_avx512_pool_dropout_forward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                           const float *x, float p, uint64_t key, float *pooled,
                                           uint8_t *idx, float *mask, float *y)
{
    const size_t count = (size_t)n * (h / 2) * (w / 2) * c;
    pool_drop_args a = {.pool = {.n = n, .h = h, .w = w, .c = c, .x = x, .y = pooled, .idx = idx},
                        .drop = mask_make(count, p, key, mask), .out = y};
    const long row = (long)(w / 2) * c * 4 + 1;
    pf((long)n * (h / 2), GRAIN_ELEMS / row + 1, pool_dropout_forward_body, &a);
}

/* dy, mask, idx, pooled [n,h/2,w/2,c] -> dx [n,h,w,c]: dy*mask routed to the winner where the
 * winner (pooled) is > 0, zero elsewhere (without mask and pooled: the max-pool backward alone);
 * items are input row pairs (image, oy), the last of an image with odd h also clears its
 * dropped row */
static void pool_dropout_backward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const pool_drop_args *pd = ctx;
    const pool_args *a = &pd->pool;
    const int h = a->h, w = a->w, c = a->c, ph = h / 2, pw = w / 2;
    const size_t rowlen = (size_t)w * c;
    for (long r = first; r < last; r++) {
        const int b = (int)(r / ph), oy = (int)(r % ph);
        float *d0 = pd->out + ((size_t)b * h + 2 * oy) * rowlen, *d1 = d0 + rowlen;
        for (int ox = 0; ox < pw; ox++) {
            const size_t o = (((size_t)b * ph + oy) * pw + ox) * c;
            float *p[4] = {d0 + (size_t)2 * ox * c, d0 + (size_t)(2 * ox + 1) * c,
                           d1 + (size_t)2 * ox * c, d1 + (size_t)(2 * ox + 1) * c};
            for (int ch = 0; ch < c; ch += 16) {
                const __mmask16 k = MASK(c - ch);
                const __m512i iv = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, a->cidx + o + ch));
                __m512 gv = _mm512_maskz_loadu_ps(k, a->x + o + ch);
                if (pd->mask)
                    gv = _mm512_mul_ps(gv, _mm512_maskz_loadu_ps(k, pd->mask + o + ch));
                const __mmask16 pos =
                    pd->pooled ? _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k, pd->pooled + o + ch),
                                                    _mm512_setzero_ps(), _CMP_GT_OQ)
                               : (__mmask16)0xffff;
                for (int t = 0; t < 4; t++) {
                    const __mmask16 hit =
                        pos & _mm512_cmpeq_epi32_mask(iv, _mm512_set1_epi32(t));
                    _mm512_mask_storeu_ps(p[t] + ch, k, _mm512_maskz_mov_ps(hit, gv));
                }
            }
        }
        pool_clear_edges(a, d0, oy);
    }
}

void scnn_avx512_pool_dropout_backward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                            const float *dy, const float *mask,
                                            const uint8_t *idx, const float *pooled, float *dx)
{
    if (h / 2 == 0) { /* nothing is routed anywhere */
        memset(dx, 0, sizeof *dx * (size_t)n * h * w * c);
        return;
    }
    pool_drop_args a = {.pool = {.n = n, .h = h, .w = w, .c = c, .x = dy, .cidx = idx},
                        .mask = mask, .pooled = pooled, .out = dx};
    const long row = (long)w * c * 2 + 1;
    pf((long)n * (h / 2), GRAIN_ELEMS / row + 1, pool_dropout_backward_body, &a);
}

void scnn_avx512_maxpool_forward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                      const float *x, float *y, uint8_t *idx)
{
    scnn_avx512_pool_dropout_forward_with(pf, n, h, w, c, x, 0.0f, 0, y, idx, NULL, NULL);
}

void scnn_avx512_maxpool_backward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                       const float *dy, const uint8_t *idx, float *dx)
{
    scnn_avx512_pool_dropout_backward_with(pf, n, h, w, c, dy, NULL, idx, NULL, dx);
}
