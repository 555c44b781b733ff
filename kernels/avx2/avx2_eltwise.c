/* AVX2 element-wise ops: bias+ReLU, column sums, ReLU backward, dropout mul, max-pool, batch
 * norm, Adam. Each is split into row or element ranges for the threads; sums over rows run in
 * double, in a fixed order or over a fixed number of chunks, so no result depends on the split. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "core/rng_avx2.h"
#include "kernels/avx2/avx2_kernels.h"
#include "scnn.h"

#define DRV_NAME(op) scnn_avx2_##op
#define SCNN_DRIVERS_ELTWISE
#include "kernels/isa_drivers.inc" /* the argument structs and the drivers (the splits) */

/* ---- bias + activation -------------------------------------------------------------------- */

/* y [rows,cols] += bias [cols], then ReLU */
static void bias_act_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const rows_args *r = ctx;
    const int cols = r->cols;
    const __m256 z = _mm256_setzero_ps();
    for (long i = first; i < last; i++) {
        float *row = r->y + (size_t)i * cols;
        int j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(r->bias + j));
            if (r->relu)
                v = _mm256_max_ps(z, v);
            _mm256_storeu_ps(row + j, v);
        }
        for (; j < cols; j++) {
            float v = row[j] + r->bias[j];
            row[j] = r->relu && v < 0.0f ? 0.0f : v;
        }
    }
}

/* ---- column sums ---------------------------------------------------------------------------- */

/* db [cols] = column sums of dy [rows,cols], items are blocks of 16 columns */
static void colsum_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const rows_args *r = ctx;
    const int cols = r->cols;
    for (long blk = first; blk < last; blk++) {
        const int j0 = (int)blk * 16, jn = MIN(16, cols - j0);
        if (jn == 16) {
            __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t i = 0; i < (size_t)r->rows; i++) {
                const float *row = r->dy + i * cols + j0;
                const __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
                s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(a)));
                s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
                s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm256_castps256_ps128(b)));
                s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)));
            }
            float *out = r->y + j0;
            _mm_storeu_ps(out, _mm256_cvtpd_ps(s0));
            _mm_storeu_ps(out + 4, _mm256_cvtpd_ps(s1));
            _mm_storeu_ps(out + 8, _mm256_cvtpd_ps(s2));
            _mm_storeu_ps(out + 12, _mm256_cvtpd_ps(s3));
        } else {
            double s[16] = {0};
            for (size_t i = 0; i < (size_t)r->rows; i++)
                for (int j = 0; j < jn; j++)
                    s[j] += r->dy[i * cols + j0 + j];
            for (int j = 0; j < jn; j++)
                r->y[j0 + j] = (float)s[j];
        }
    }
}

/* ---- ReLU backward and the dropout product ------------------------------------------------------ */

static void relu_backward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const flat_args *f = ctx;
    const __m256 z = _mm256_setzero_ps();
    const size_t end = MIN((size_t)last * FLAT_BLOCK, f->count);
    size_t i = (size_t)first * FLAT_BLOCK;
    for (; i + 8 <= end; i += 8) {
        const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(f->x + i), z, _CMP_GT_OQ);
        _mm256_storeu_ps(f->y + i, _mm256_and_ps(keep, _mm256_loadu_ps(f->y + i)));
    }
    for (; i < end; i++)
        if (!(f->x[i] > 0.0f))
            f->y[i] = 0.0f;
}

static void mul_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const flat_args *f = ctx;
    const size_t end = MIN((size_t)last * FLAT_BLOCK, f->count);
    size_t i = (size_t)first * FLAT_BLOCK;
    for (; i + 8 <= end; i += 8)
        _mm256_storeu_ps(f->y + i,
                         _mm256_mul_ps(_mm256_loadu_ps(f->x + i), _mm256_loadu_ps(f->mask + i)));
    for (; i < end; i++)
        f->y[i] = f->x[i] * f->mask[i];
}

/* ---- max-pool 2x2 stride 2 ---------------------------------------------------------------------- */

/* 8 int32 lanes (0..3) -> 8 bytes */
static inline void store_idx8(uint8_t *dst, __m256i v)
{
    const __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)dst, _mm_packus_epi16(p16, p16));
}

/* x [n,h,w,c] -> y, idx [n,h/2,w/2,c]; items are output rows (image, oy) */
static void maxpool_forward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const pool_args *a = ctx;
    const int h = a->h, w = a->w, c = a->c, ph = h / 2, pw = w / 2;
    for (long r = first; r < last; r++) {
        const int b = (int)(r / ph), oy = (int)(r % ph);
        for (int ox = 0; ox < pw; ox++) {
            const float *x0 = a->x + (((size_t)b * h + 2 * oy) * w + 2 * ox) * c;
            const float *x1 = x0 + c, *x2 = x0 + (size_t)w * c, *x3 = x2 + c;
            const size_t o = (((size_t)b * ph + oy) * pw + ox) * c;
            int ch = 0;
            for (; ch + 8 <= c; ch += 8) {
                __m256 best = _mm256_loadu_ps(x0 + ch);
                __m256i arg = _mm256_setzero_si256();
                const float *xs[3] = {x1, x2, x3};
                for (int t = 0; t < 3; t++) {
                    const __m256 v = _mm256_loadu_ps(xs[t] + ch);
                    const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ); /* first max wins */
                    best = _mm256_blendv_ps(best, v, gt);
                    arg = _mm256_blendv_epi8(arg, _mm256_set1_epi32(t + 1), _mm256_castps_si256(gt));
                }
                _mm256_storeu_ps(a->y + o + ch, best);
                store_idx8(a->idx + o + ch, arg);
            }
            for (; ch < c; ch++) {
                const float v[4] = {x0[ch], x1[ch], x2[ch], x3[ch]};
                float best = v[0];
                int arg = 0;
                for (int t = 1; t < 4; t++)
                    if (v[t] > best) {
                        best = v[t];
                        arg = t;
                    }
                a->y[o + ch] = best;
                a->idx[o + ch] = (uint8_t)arg;
            }
        }
    }
}

void scnn_avx2_maxpool_forward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                    const float *x, float *y, uint8_t *idx)
{
    pool_args a = {.n = n, .h = h, .w = w, .c = c, .x = x, .y = y, .idx = idx};
    const long row = (long)(w / 2) * c * 4 + 1;
    pf((long)n * (h / 2), GRAIN_ELEMS / row + 1, maxpool_forward_body, &a);
}

/* dy, idx [n,h/2,w/2,c] -> dx [n,h,w,c]; items are input row pairs (image, oy), the last item
 * of an image with odd h also clears its dropped row */
static void maxpool_backward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const pool_args *a = ctx;
    const int h = a->h, w = a->w, c = a->c, ph = h / 2, pw = w / 2;
    const size_t rowlen = (size_t)w * c;
    const __m256 z = _mm256_setzero_ps();
    for (long r = first; r < last; r++) {
        const int b = (int)(r / ph), oy = (int)(r % ph);
        float *d0 = a->y + ((size_t)b * h + 2 * oy) * rowlen, *d1 = d0 + rowlen;
        for (int ox = 0; ox < pw; ox++) {
            const size_t o = (((size_t)b * ph + oy) * pw + ox) * c;
            const float *g = a->x + o;
            const uint8_t *ix = a->cidx + o;
            float *p[4] = {d0 + (size_t)2 * ox * c, d0 + (size_t)(2 * ox + 1) * c,
                           d1 + (size_t)2 * ox * c, d1 + (size_t)(2 * ox + 1) * c};
            int ch = 0;
            for (; ch + 8 <= c; ch += 8) {
                const __m256i iv = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(ix + ch)));
                const __m256 gv = _mm256_loadu_ps(g + ch);
                for (int t = 0; t < 4; t++) {
                    const __m256 hit =
                        _mm256_castsi256_ps(_mm256_cmpeq_epi32(iv, _mm256_set1_epi32(t)));
                    _mm256_storeu_ps(p[t] + ch, _mm256_blendv_ps(z, gv, hit));
                }
            }
            for (; ch < c; ch++)
                for (int t = 0; t < 4; t++)
                    p[t][ch] = ix[ch] == t ? g[ch] : 0.0f;
        }
        pool_clear_edges(a, d0, oy);
    }
}

void scnn_avx2_maxpool_backward_with(scnn_avx2_pfor pf, int n, int h, int w, int c,
                                     const float *dy, const uint8_t *idx, float *dx)
{
    if (h / 2 == 0) { /* nothing is routed anywhere */
        memset(dx, 0, sizeof *dx * (size_t)n * h * w * c);
        return;
    }
    pool_args a = {.n = n, .h = h, .w = w, .c = c, .x = dy, .y = dx, .cidx = idx};
    const long row = (long)w * c * 2 + 1;
    pf((long)n * (h / 2), GRAIN_ELEMS / row + 1, maxpool_backward_body, &a);
}

/* ---- batch norm --------------------------------------------------------------------------------- */

static double hsum_pd(__m256d v)
{
    double t[4];
    _mm256_storeu_pd(t, v);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

static void bn_sums_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    bn_args *a = ctx;
    for (long ch = first; ch < last; ch++) {
        size_t r0, r1;
        bn_chunk_rows(a->m, (int)ch, &r0, &r1);
        double *s1 = a->s1[ch], *s2 = a->s2[ch];
        if (a->c == 1) { /* one channel: vectorise along the rows */
            const __m256d mu = _mm256_set1_pd(a->mean ? a->mean[0] : 0.0),
                          is = _mm256_set1_pd(a->invstd ? a->invstd[0] : 0.0);
            __m256d p = _mm256_setzero_pd(), q = p;
            size_t r = r0;
            for (; r + 4 <= r1; r += 4) {
                const __m256d xv = _mm256_cvtps_pd(_mm_loadu_ps(a->x + r));
                if (a->mode == 0) {
                    p = _mm256_add_pd(p, xv);
                } else if (a->mode == 1) {
                    const __m256d e = _mm256_sub_pd(xv, mu);
                    p = _mm256_add_pd(p, _mm256_mul_pd(e, e));
                } else {
                    const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(a->dy + r));
                    p = _mm256_add_pd(p, g);
                    q = _mm256_add_pd(q, _mm256_mul_pd(g, _mm256_mul_pd(_mm256_sub_pd(xv, mu), is)));
                }
            }
            double sp = hsum_pd(p), sq = hsum_pd(q);
            for (; r < r1; r++) {
                const double xv = a->x[r];
                if (a->mode == 0) {
                    sp += xv;
                } else if (a->mode == 1) {
                    sp += (xv - a->mean[0]) * (xv - a->mean[0]);
                } else {
                    sp += a->dy[r];
                    sq += (double)a->dy[r] * ((xv - a->mean[0]) * a->invstd[0]);
                }
            }
            s1[0] = sp;
            s2[0] = sq;
            continue;
        }
        for (int j = 0; j < a->cn; j++)
            s1[j] = s2[j] = 0.0;
        for (size_t r = r0; r < r1; r++) {
            const float *xr = a->x + r * a->c + a->c0;
            const float *gr = a->dy ? a->dy + r * a->c + a->c0 : NULL;
            for (int j = 0; j < a->cn; j++) {
                const double xv = xr[j];
                if (a->mode == 0) {
                    s1[j] += xv;
                } else if (a->mode == 1) {
                    s1[j] += (xv - a->mean[j]) * (xv - a->mean[j]);
                } else {
                    s1[j] += gr[j];
                    s2[j] += (double)gr[j] * ((xv - a->mean[j]) * a->invstd[j]);
                }
            }
        }
    }
}

/* y = x*scale + shift, c <= CB (items: blocks of BN_ROWS rows) */
static void bn_apply_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const bn_args *a = ctx;
    const int c = a->c;
    const size_t r1 = MIN((size_t)last * BN_ROWS, (size_t)a->m);
    if (c == 1) {
        const __m256 s = _mm256_set1_ps(a->scale[0]), t = _mm256_set1_ps(a->shift[0]);
        size_t i = (size_t)first * BN_ROWS;
        for (; i + 8 <= r1; i += 8)
            _mm256_storeu_ps(a->y + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a->x + i), s), t));
        for (; i < r1; i++)
            a->y[i] = a->x[i] * a->scale[0] + a->shift[0];
        return;
    }
    for (size_t r = (size_t)first * BN_ROWS; r < r1; r++) {
        const float *xr = a->x + r * c;
        float *yr = a->y + r * c;
        int j = 0;
        for (; j + 8 <= c; j += 8)
            _mm256_storeu_ps(yr + j, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + j),
                                                                 _mm256_loadu_ps(a->scale + j)),
                                                   _mm256_loadu_ps(a->shift + j)));
        for (; j < c; j++)
            yr[j] = xr[j] * a->scale[j] + a->shift[j];
    }
}

/* dx = ca*dy + cb*x + ce, c <= CB */
static void bn_backward_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const bn_args *a = ctx;
    const int c = a->c;
    const size_t r1 = MIN((size_t)last * BN_ROWS, (size_t)a->m);
    if (c == 1) {
        const __m256 va = _mm256_set1_ps(a->ca[0]), vb = _mm256_set1_ps(a->cb[0]),
                     ve = _mm256_set1_ps(a->ce[0]);
        size_t i = (size_t)first * BN_ROWS;
        for (; i + 8 <= r1; i += 8)
            _mm256_storeu_ps(a->y + i,
                             _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(a->dy + i)),
                                                         _mm256_mul_ps(vb, _mm256_loadu_ps(a->x + i))),
                                           ve));
        for (; i < r1; i++)
            a->y[i] = (a->ca[0] * a->dy[i] + a->cb[0] * a->x[i]) + a->ce[0];
        return;
    }
    for (size_t r = (size_t)first * BN_ROWS; r < r1; r++) {
        const size_t o = r * c;
        int j = 0;
        for (; j + 8 <= c; j += 8) {
            const __m256 v = _mm256_add_ps(
                _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a->ca + j), _mm256_loadu_ps(a->dy + o + j)),
                              _mm256_mul_ps(_mm256_loadu_ps(a->cb + j), _mm256_loadu_ps(a->x + o + j))),
                _mm256_loadu_ps(a->ce + j));
            _mm256_storeu_ps(a->y + o + j, v);
        }
        for (; j < c; j++)
            a->y[o + j] = (a->ca[j] * a->dy[o + j] + a->cb[j] * a->x[o + j]) + a->ce[j];
    }
}

/* the element-wise pass (mode 0 y = x*scale + shift, mode 1 dx = (ca*dy + cb*x) + ce) on
 * channels [c0, c0+cn) */
static void bn_rows(scnn_avx2_pfor pf, bn_args *e)
{
    const int c = e->c, c0 = e->c0, cn = e->cn;
    if (c <= CB) { /* c0 == 0, cn == c */
        pf(((long)e->m + BN_ROWS - 1) / BN_ROWS, GRAIN_ELEMS / ((long)BN_ROWS * c) + 1,
           e->mode == 1 ? bn_backward_body : bn_apply_body, e);
        return;
    }
    for (size_t r = 0; r < (size_t)e->m; r++) /* rare: many channels, one block at a time */
        for (int j = 0; j < cn; j++) {
            const size_t o = r * c + c0 + j;
            e->y[o] = e->mode == 1 ? (e->ca[j] * e->dy[o] + e->cb[j] * e->x[o]) + e->ce[j]
                                   : e->x[o] * e->scale[j] + e->shift[j];
        }
}

/* ---- Adam ---------------------------------------------------------------------------------------- */

/* in double, the same operations as the reference, so the results are the reference's */
static void adam_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const adam_args *a = ctx;
    const size_t end = MIN((size_t)last * FLAT_BLOCK, a->count);
    const double b1 = a->b1, b2 = a->b2;
    const __m256d vb1 = _mm256_set1_pd(b1), vb2 = _mm256_set1_pd(b2),
                  c1 = _mm256_set1_pd(1.0 - b1), c2 = _mm256_set1_pd(1.0 - b2),
                  lr = _mm256_set1_pd(a->lr_t), ep = _mm256_set1_pd(a->eps);
    size_t i = (size_t)first * FLAT_BLOCK;
    for (; i + 4 <= end; i += 4) {
        const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(a->g + i));
        const __m256d mi = _mm256_add_pd(_mm256_mul_pd(vb1, _mm256_cvtps_pd(_mm_loadu_ps(a->m + i))),
                                         _mm256_mul_pd(c1, g));
        const __m256d vi = _mm256_add_pd(_mm256_mul_pd(vb2, _mm256_cvtps_pd(_mm_loadu_ps(a->v + i))),
                                         _mm256_mul_pd(_mm256_mul_pd(c2, g), g));
        _mm_storeu_ps(a->m + i, _mm256_cvtpd_ps(mi));
        _mm_storeu_ps(a->v + i, _mm256_cvtpd_ps(vi));
        const __m256d step = _mm256_div_pd(_mm256_mul_pd(lr, mi), _mm256_add_pd(_mm256_sqrt_pd(vi), ep));
        _mm_storeu_ps(a->p + i,
                      _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(a->p + i)), step)));
    }
    for (; i < end; i++) {
        const double gi = a->g[i];
        const double mi = b1 * a->m[i] + (1.0 - b1) * gi;
        const double vi = b2 * a->v[i] + (1.0 - b2) * gi * gi;
        a->m[i] = (float)mi;
        a->v[i] = (float)vi;
        a->p[i] = (float)((double)a->p[i] - (double)a->lr_t * mi / (sqrt(vi) + (double)a->eps));
    }
}

/* ---- dropout masks -------------------------------------------------------------------------- */

/* mask [count]: items are blocks of MASK_BLOCK elements; 16 elements (four draws) per step */
static void dropout_mask_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const mask_args *a = ctx;
    const size_t end = MIN((size_t)last * MASK_BLOCK, a->count);
    size_t i = (size_t)first * MASK_BLOCK;
    const __m256i key = _mm256_set1_epi64x((long long)a->key);
    /* u < t  <=>  min(u, t-1) == u, for 16-bit unsigned u and 1 <= t <= 65536 */
    const __m256i tm1 = _mm256_set1_epi16((short)(uint16_t)(a->threshold - 1));
    const __m256 keep = _mm256_set1_ps(a->keep);
    for (; a->threshold > 0 && i + 16 <= end; i += 16) {
        const long long d = (long long)(i / 4);
        const __m256i r =
            scnn_rng_mix64x4(_mm256_xor_si256(key, _mm256_set_epi64x(d + 3, d + 2, d + 1, d)));
        const __m256i drop16 = _mm256_cmpeq_epi16(_mm256_min_epu16(r, tm1), r);
        const __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(drop16));
        const __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(drop16, 1));
        _mm256_storeu_ps(a->mask + i, _mm256_andnot_ps(_mm256_castsi256_ps(lo), keep));
        _mm256_storeu_ps(a->mask + i + 8, _mm256_andnot_ps(_mm256_castsi256_ps(hi), keep));
    }
    for (; i < end; i++) {
        const uint64_t r = scnn_rng_at(a->key, i / 4);
        a->mask[i] = ((r >> (16 * (i % 4))) & 0xffff) < a->threshold ? 0.0f : a->keep;
    }
}
