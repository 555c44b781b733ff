/* AVX2 convolutions as implicit GEMMs on NHWC, no im2col buffer.
 *
 * Forward: for output pixel (p,q) and kernel row i, the A operand is the contiguous slice
 * x[p+i-pad_top, q-pad_left .. +kw-1, 0..c-1] (kw*c floats), so y[pixel, :] is one micro-kernel
 * walk of kh segments over the weights packed as [k/16][kh*kw*c][16]. Padding is handled by
 * copying each image zero-padded into per-thread scratch (cheap: it stays in L2).
 * Backward-data is the forward correlation of dy (padded by kh-1-pad_top, ...) with the flipped,
 * (c,k)-transposed weights, computed by tap classes so that the padding is never multiplied.
 * One input channel (conv1's backward-data: dx has one channel) takes a dot-product path on a
 * padded copy instead.
 * Backward-filter: dw[(i,j,c), k] = sum over pixels of A^T dy, micro-kernel walks over the
 * pixels of fixed chunks of images into partial sums (db fused in), added in chunk order. */
#include <string.h>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/conv_geometry.h"

#define MR SCNN_AVX2_MR
#define NR SCNN_AVX2_NR

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static int panels(int k)
{
    return (k + NR - 1) / NR;
}

/* The forward correlation that computes backward-data: source dy, output dx. */
static void bwd_data_dims(const scnn_conv2d *d, int *pt, int *pl, bool *copy)
{
    *pt = d->kh - 1 - d->pad_top;
    *pl = d->kw - 1 - d->pad_left;
    const int pb = d->h + d->kh - 1 - *pt - d->p, pr = d->w + d->kw - 1 - *pl - d->q;
    *copy = *pt || *pl || pb || pr;
}

static bool fwd_copy(const scnn_conv2d *d)
{
    return d->pad_top || d->pad_left || d->pad_bottom || d->pad_right ||
           d->p + d->kh - 1 != d->h || d->q + d->kw - 1 != d->w;
}

static size_t pack_floats(int k, size_t kdim)
{
    return k == 1 ? round16(kdim) : (size_t)panels(k) * kdim * NR;
}

static void bwf_sizes(const scnn_conv2d *d, size_t *shared, size_t *slot);

static void ws_sizes(const scnn_conv2d *d, size_t *packed, size_t *slot)
{
    const size_t taps = (size_t)d->kh * d->kw;
    size_t pf = pack_floats(d->k, taps * d->c), pb = pack_floats(d->c, taps * d->k);
    *packed = round16(pf > pb ? pf : pb);
    int pt, pl;
    bool bcopy;
    bwd_data_dims(d, &pt, &pl, &bcopy);
    size_t s1 = fwd_copy(d) ? round16((size_t)(d->p + d->kh - 1) * (d->q + d->kw - 1) * d->c) : 0;
    size_t s2 = bcopy ? (size_t)(d->h + d->kh - 1) * (d->w + d->kw - 1) * d->k : 0;
    size_t bshared, bslot;
    bwf_sizes(d, &bshared, &bslot);
    s1 += bslot; /* backward-filter's slot: [padded image | packed band] */
    *packed = *packed > bshared ? *packed : bshared;
    *slot = round16(s1 > s2 ? s1 : s2);
}

size_t scnn_avx2_conv2d_workspace_for(const scnn_conv2d *d, int slots)
{
    size_t packed, slot;
    ws_sizes(d, &packed, &slot);
    return (packed + (size_t)slots * slot) * sizeof(float);
}

/* Image img of src [n,h,w,c] into dst [p+kh-1, q+kw-1, c], shifted by (pt, pl), zero outside. */
static void pad_image(const scnn_avx2_fwd *f, int img, float *dst)
{
    scnn_pad_image(f->x + (size_t)img * f->h * f->w * f->c, f->h, f->w, f->c, f->pt, f->pl,
                   f->p + f->kh - 1, f->q + f->kw - 1, dst);
}

/* ---- forward tiles ---------------------------------------------------------------------------- */

/* Output tiles of the forward correlations: rows m < M (at dst[m]) = bias + A*B over the walk,
 * then ReLU (bias NULL: zero); columns < nr. */
#define DEF_FWD_TILE(M)                                                                           \
    static void fwd_tile_##M(const scnn_avx2_ukr *u, const float *bias, bool relu,               \
                             float *const *dst, int nr)                                           \
    {                                                                                             \
        __m256i m0, m1;                                                                           \
        scnn_avx2_masks(nr, &m0, &m1);                                                            \
        __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();                                \
        if (bias) {                                                                               \
            b0 = _mm256_maskload_ps(bias, m0);                                                    \
            b1 = _mm256_maskload_ps(bias + 8, m1);                                                \
        }                                                                                         \
        __m256 acc[MR][2];                                                                        \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++)                                      \
        {                                                                                         \
            acc[m][0] = b0;                                                                       \
            acc[m][1] = b1;                                                                       \
        }                                                                                         \
        scnn_avx2_ukr_run(M, 0, u, m0, m1, acc);                                                  \
        const __m256 z = _mm256_setzero_ps();                                                     \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++)                                       \
        {                                                                                         \
            __m256 v0 = acc[m][0], v1 = acc[m][1];                                                \
            if (relu) { /* max(0, v) keeps a NaN v (the second operand) */                        \
                v0 = _mm256_max_ps(z, v0);                                                        \
                v1 = _mm256_max_ps(z, v1);                                                        \
            }                                                                                     \
            if (nr == NR) {                                                                       \
                _mm256_storeu_ps(dst[m], v0);                                                     \
                _mm256_storeu_ps(dst[m] + 8, v1);                                                 \
            } else {                                                                              \
                _mm256_maskstore_ps(dst[m], m0, v0);                                              \
                _mm256_maskstore_ps(dst[m] + 8, m1, v1);                                          \
            }                                                                                     \
        }                                                                                         \
    }
DEF_FWD_TILE(1)
DEF_FWD_TILE(2)
DEF_FWD_TILE(3)
DEF_FWD_TILE(4)
DEF_FWD_TILE(5)
DEF_FWD_TILE(6)

typedef void (*fwd_tile_fn)(const scnn_avx2_ukr *, const float *, bool, float *const *, int);
static const fwd_tile_fn fwd_tiles[MR + 1] = {NULL,       fwd_tile_1, fwd_tile_2, fwd_tile_3,
                                              fwd_tile_4, fwd_tile_5, fwd_tile_6};

/* src [p+kh-1, wp, c] (one padded image) * bp panel jp [kh*kw*c, 16] -> y [img, p, q, jp*16..+15] */
static void fwd_panel(const scnn_avx2_fwd *f, const float *src, int wp, int img, int jp)
{
    const int c = f->c, k = f->k, seglen = f->kw * c, npix = f->p * f->q;
    const size_t kdim = (size_t)f->kh * seglen;
    const int nr = k - jp * NR < NR ? k - jp * NR : NR;
    float *y = f->y + (size_t)img * npix * k + jp * NR;
    scnn_avx2_ukr u = {.as = 1,
                       .ajump = (ptrdiff_t)wp * c - seglen,
                       .nseg = f->kh,
                       .seglen = seglen,
                       .b = f->bp + (size_t)jp * kdim * NR,
                       .bs = NR};
    const float *b0 = u.b;
    for (int pix0 = 0; pix0 < npix; pix0 += MR) {
        const int mr = npix - pix0 < MR ? npix - pix0 : MR;
        /* kernel rows that read only zero padding for every pixel of the tile are skipped
         * (backward-data's borders): rows [i0, i1) of the tile's output rows [ra, rb] */
        const int ra = pix0 / f->q, rb = (pix0 + mr - 1) / f->q;
        const int i0 = f->copy && f->pt - rb > 0 ? f->pt - rb : 0;
        int i1 = f->copy && f->pt + f->h - ra < f->kh ? f->pt + f->h - ra : f->kh;
        i1 = i1 > i0 ? i1 : i0;
        const ptrdiff_t base = ((ptrdiff_t)(ra + i0) * wp + pix0 % f->q) * c;
        u.a = src + base;
        u.nseg = i1 - i0;
        u.b = b0 + (size_t)i0 * seglen * NR;
        float *dst[MR]; /* rows >= mr repeat row 0, not stored */
        for (int m = 0; m < MR; m++) {
            const int pix = pix0 + (m < mr ? m : 0);
            u.off[m] = ((ptrdiff_t)(pix / f->q + i0) * wp + pix % f->q) * c - base;
            dst[m] = y + (size_t)pix * k;
        }
        fwd_tiles[mr](&u, f->bias ? f->bias + jp * NR : NULL, f->relu, dst, nr);
    }
}

/* Sums of 8 vectors, one per lane, in a fixed order. */
SCNN_AVX2_ALWAYS_INLINE __m256 hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4,
                                     __m256 a5, __m256 a6, __m256 a7)
{
    __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
    __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* k == 1: src [p+kh-1, wp, c] . bp [kh*kw*c] -> y [img, p, q, 1], eight pixels at a time */
static void fwd_dot_image(const scnn_avx2_fwd *f, const float *src, int wp, int img)
{
    const int c = f->c, seglen = f->kw * c, npix = f->p * f->q, kh = f->kh;
    const int full = seglen & ~7, rest = seglen - full;
    __m256i tm, unused;
    scnn_avx2_masks(rest, &tm, &unused);
    const ptrdiff_t rowstride = (ptrdiff_t)wp * c;
    float *y = f->y + (size_t)img * npix;
    const float bias = f->bias ? f->bias[0] : 0.0f;
    for (int pix0 = 0; pix0 < npix; pix0 += 8) {
        const int mr = npix - pix0 < 8 ? npix - pix0 : 8;
        const float *a[8];
        for (int m = 0; m < 8; m++) {
            const int pix = pix0 + (m < mr ? m : 0);
            a[m] = src + ((ptrdiff_t)(pix / f->q) * wp + pix % f->q) * c;
        }
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
               s7 = s0;
        const float *wv = f->bp;
        for (int g = 0; g < kh; g++) {
            const ptrdiff_t o = g * rowstride;
            int s = 0;
            for (; s < full; s += 8) {
                const __m256 b = _mm256_loadu_ps(wv + s);
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a[0] + o + s), b, s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a[1] + o + s), b, s1);
                s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a[2] + o + s), b, s2);
                s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a[3] + o + s), b, s3);
                s4 = _mm256_fmadd_ps(_mm256_loadu_ps(a[4] + o + s), b, s4);
                s5 = _mm256_fmadd_ps(_mm256_loadu_ps(a[5] + o + s), b, s5);
                s6 = _mm256_fmadd_ps(_mm256_loadu_ps(a[6] + o + s), b, s6);
                s7 = _mm256_fmadd_ps(_mm256_loadu_ps(a[7] + o + s), b, s7);
            }
            if (rest) {
                const __m256 b = _mm256_maskload_ps(wv + s, tm);
                s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a[0] + o + s, tm), b, s0);
                s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a[1] + o + s, tm), b, s1);
                s2 = _mm256_fmadd_ps(_mm256_maskload_ps(a[2] + o + s, tm), b, s2);
                s3 = _mm256_fmadd_ps(_mm256_maskload_ps(a[3] + o + s, tm), b, s3);
                s4 = _mm256_fmadd_ps(_mm256_maskload_ps(a[4] + o + s, tm), b, s4);
                s5 = _mm256_fmadd_ps(_mm256_maskload_ps(a[5] + o + s, tm), b, s5);
                s6 = _mm256_fmadd_ps(_mm256_maskload_ps(a[6] + o + s, tm), b, s6);
                s7 = _mm256_fmadd_ps(_mm256_maskload_ps(a[7] + o + s, tm), b, s7);
            }
            wv += seglen;
        }
        __m256 r = _mm256_add_ps(hsum8(s0, s1, s2, s3, s4, s5, s6, s7), _mm256_set1_ps(bias));
        if (f->relu)
            r = _mm256_max_ps(_mm256_setzero_ps(), r);
        float out[8];
        _mm256_storeu_ps(out, r);
        memcpy(y + pix0, out, sizeof *out * (size_t)mr);
    }
}

/* ---- the correlation by tap classes (backward-data) ------------------------------------------- */

/* y[pixel (y,x)] sums over the taps (i,j) whose source pixel (y-pt+i, x-pl+j) lies inside src;
 * the others read padding zeros. Those taps form a rectangle [i0,i1) x [j0,j1) that depends
 * on y only through i and on x only through j, so the output pixels with the same rectangle
 * form a class: a run of rows times a run of columns. A class's pixels, over a group of images,
 * are tiled MR at a time, one micro-kernel walk per tile over exactly its taps (segments of
 * (j1-j0)*c steps, jumping the rest of the packed weights with bjump): no multiply by padding,
 * no padded copy, no read-modify-write of y, and tiles stay full at the borders because a
 * class spans the group's images. Used for backward-data, where the padding of dy is kh-1-pad
 * wide (38% of conv2's padded correlation). Each output element is one FMA chain over its taps
 * in (i, j, channel) order, whatever the tiling. */
#define GATHER_GROUP 6 /* images per item: 6 makes every class of a conv2 image fill its tiles */

/* One class (rows yr x columns xr) of images [img0, img0+nimg). */
static void gather_class(const scnn_avx2_fwd *f, int img0, int nimg, scnn_tap_run yr,
                         scnn_tap_run xr)
{
    const int c = f->c, k = f->k, np = panels(k);
    const int ni = yr.t1 - yr.t0, nj = xr.t1 - xr.t0;
    const long per_img = (long)yr.count * xr.count, cnt = per_img * nimg;
    const size_t kdim = (size_t)f->kh * f->kw * c;
    scnn_avx2_ukr u = {.as = 1,
                       .ajump = (ptrdiff_t)(f->w - nj) * c,
                       .nseg = ni,
                       .seglen = nj * c,
                       .bs = NR,
                       .bjump = (ptrdiff_t)(f->kw - nj) * c * NR};
    for (long t0 = 0; t0 < cnt; t0 += MR) { /* (a class without taps walks nothing: zeros) */
        const int mr = cnt - t0 < MR ? (int)(cnt - t0) : MR;
        ptrdiff_t start[MR];
        float *dst[MR];
        for (int m = 0; m < MR; m++) {
            const long t = t0 + (m < mr ? m : 0), r = t % per_img;
            const long img = img0 + t / per_img;
            const int y = yr.start + (int)(r / xr.count), x = xr.start + (int)(r % xr.count);
            dst[m] = f->y + (((size_t)img * f->p + y) * f->q + x) * k;
            start[m] = (((ptrdiff_t)img * f->h + y - f->pt + yr.t0) * f->w + x - f->pl + xr.t0) * c;
        }
        u.a = f->x + start[0];
        for (int m = 0; m < MR; m++)
            u.off[m] = start[m] - start[0];
        for (int jp = 0; jp < np; jp++) {
            const int nr = k - jp * NR < NR ? k - jp * NR : NR;
            u.b = f->bp + ((size_t)jp * kdim + ((size_t)yr.t0 * f->kw + xr.t0) * c) * NR;
            float *pdst[MR];
            for (int m = 0; m < MR; m++)
                pdst[m] = dst[m] + jp * NR;
            fwd_tiles[mr](&u, NULL, false, pdst, nr);
        }
    }
}

static void gather_group(const scnn_avx2_fwd *f, int img0, int nimg)
{
    for (scnn_tap_run yr = scnn_tap_run_at(0, f->p, f->pt, f->kh, f->h); yr.start < f->p;
         yr = scnn_tap_run_at(yr.start + yr.count, f->p, f->pt, f->kh, f->h))
        for (scnn_tap_run xr = scnn_tap_run_at(0, f->q, f->pl, f->kw, f->w); xr.start < f->q;
             xr = scnn_tap_run_at(xr.start + xr.count, f->q, f->pl, f->kw, f->w))
            gather_class(f, img0, nimg, yr, xr);
}

long scnn_avx2_fwd_items(const scnn_avx2_fwd *f)
{
    if (f->gather)
        return (f->n + GATHER_GROUP - 1) / GATHER_GROUP;
    return (long)f->n * (f->dot ? 1 : panels(f->k));
}

/* Items are (image, panel) pairs, image-major, or groups of images (gather). */
void scnn_avx2_fwd_run(const scnn_avx2_fwd *f, float *scratch, long first, long last)
{
    const int np = f->dot ? 1 : panels(f->k);
    int cur = -1, wp = f->w;
    const float *src = NULL;
    for (long it = first; it < last; it++) {
        if (f->gather) {
            const int img0 = (int)it * GATHER_GROUP;
            gather_group(f, img0, f->n - img0 < GATHER_GROUP ? f->n - img0 : GATHER_GROUP);
            continue;
        }
        const int img = (int)(it / np), jp = (int)(it % np);
        if (img != cur) {
            cur = img;
            if (f->copy) {
                pad_image(f, img, scratch);
                src = scratch;
                wp = f->q + f->kw - 1;
            } else {
                src = f->x + (size_t)img * f->h * f->w * f->c;
            }
        }
        if (f->dot)
            fwd_dot_image(f, src, wp, img);
        else
            fwd_panel(f, src, wp, img, jp);
    }
}

float *scnn_avx2_fwd_plan_forward(scnn_avx2_fwd *f, const scnn_conv2d *d, const float *x,
                                  const float *w, const float *b, float *y, void *ws,
                                  size_t *slot_floats)
{
    size_t packed;
    ws_sizes(d, &packed, slot_floats);
    *f = (scnn_avx2_fwd){.x = x, .n = d->n, .h = d->h, .w = d->w, .c = d->c,
                         .pt = d->pad_top, .pl = d->pad_left, .p = d->p, .q = d->q,
                         .k = d->k, .kh = d->kh, .kw = d->kw, .copy = fwd_copy(d),
                         .dot = d->k == 1, .bp = ws, .bias = b, .relu = d->relu, .y = y};
    float *bp = ws;
    const size_t kdim = (size_t)d->kh * d->kw * d->c;
    if (d->k == 1) {
        memcpy(bp, w, sizeof *bp * kdim);
    } else {
        for (int jp = 0; jp < panels(d->k); jp++)
            for (size_t r = 0; r < kdim; r++) {
                float *dst = bp + ((size_t)jp * kdim + r) * NR;
                const int nr = d->k - jp * NR < NR ? d->k - jp * NR : NR;
                memcpy(dst, w + r * d->k + jp * NR, sizeof *dst * (size_t)nr);
                memset(dst + nr, 0, sizeof *dst * (size_t)(NR - nr));
            }
    }
    return bp + packed;
}

float *scnn_avx2_fwd_plan_backward_data(scnn_avx2_fwd *f, const scnn_conv2d *d, const float *dy,
                                        const float *w, float *dx, void *ws, size_t *slot_floats)
{
    size_t packed;
    ws_sizes(d, &packed, slot_floats);
    int pt, pl;
    bool copy;
    bwd_data_dims(d, &pt, &pl, &copy);
    *f = (scnn_avx2_fwd){.x = dy, .n = d->n, .h = d->p, .w = d->q, .c = d->k, .pt = pt,
                         .pl = pl, .p = d->h, .q = d->w, .k = d->c, .kh = d->kh, .kw = d->kw,
                         .copy = copy, .dot = d->c == 1, .bp = ws, .bias = NULL,
                         .relu = false, .y = dx};
    float *bp = ws;
    const int kh = d->kh, kw = d->kw, c = d->c, k = d->k;
    f->gather = c > 1;
    f->copy = f->copy && !f->gather;
    /* w'[i',j',kk,ch] = w[kh-1-i', kw-1-j', ch, kk] */
    const size_t kdim = (size_t)kh * kw * k;
    for (int jp = 0; jp < (c == 1 ? 1 : panels(c)); jp++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                const float *wt = w + ((size_t)(kh - 1 - i) * kw + (kw - 1 - j)) * c * k;
                for (int kk = 0; kk < k; kk++) {
                    const size_t r = ((size_t)i * kw + j) * k + kk;
                    if (c == 1) {
                        bp[r] = wt[kk];
                        continue;
                    }
                    float *dst = bp + ((size_t)jp * kdim + r) * NR;
                    for (int jj = 0; jj < NR; jj++) {
                        const int ch = jp * NR + jj;
                        dst[jj] = ch < c ? wt[(size_t)ch * k + kk] : 0.0f;
                    }
                }
            }
    return bp + packed;
}

/* ---- backward-filter ---------------------------------------------------------------------------- */

/* acc = (first ? 0 : dw tile) + A^T dy over one image, stored back into the dw tile. */
#define DEF_BWF_TILE(M, BM)                                                                       \
    static void bwf_tile_##M##_##BM(const scnn_avx2_ukr *u, bool first, float *dw,               \
                                    ptrdiff_t ldw, int nr)                                        \
    {                                                                                             \
        __m256i m0, m1;                                                                           \
        scnn_avx2_masks(nr, &m0, &m1);                                                            \
        __m256 acc[MR][2];                                                                        \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++)                                      \
        {                                                                                         \
            if (m < M && !first) {                                                                \
                acc[m][0] = _mm256_maskload_ps(dw + m * ldw, m0);                                 \
                acc[m][1] = _mm256_maskload_ps(dw + m * ldw + 8, m1);                             \
            } else {                                                                              \
                acc[m][0] = acc[m][1] = _mm256_setzero_ps();                                      \
            }                                                                                     \
        }                                                                                         \
        scnn_avx2_ukr_run(M, (BM ? SCNN_AVX2_UKR_BMASK : 0) | SCNN_AVX2_UKR_PREFETCH, u, m0, m1,  \
                          acc);                                                                   \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++)                                       \
        {                                                                                         \
            if (BM) {                                                                             \
                _mm256_maskstore_ps(dw + m * ldw, m0, acc[m][0]);                                 \
                _mm256_maskstore_ps(dw + m * ldw + 8, m1, acc[m][1]);                             \
            } else {                                                                              \
                _mm256_storeu_ps(dw + m * ldw, acc[m][0]);                                        \
                _mm256_storeu_ps(dw + m * ldw + 8, acc[m][1]);                                    \
            }                                                                                     \
        }                                                                                         \
    }
DEF_BWF_TILE(1, 0)
DEF_BWF_TILE(2, 0)
DEF_BWF_TILE(3, 0)
DEF_BWF_TILE(4, 0)
DEF_BWF_TILE(5, 0)
DEF_BWF_TILE(6, 0)
DEF_BWF_TILE(1, 1)
DEF_BWF_TILE(2, 1)
DEF_BWF_TILE(3, 1)
DEF_BWF_TILE(4, 1)
DEF_BWF_TILE(5, 1)
DEF_BWF_TILE(6, 1)

typedef void (*bwf_tile_fn)(const scnn_avx2_ukr *, bool, float *, ptrdiff_t, int);
static const bwf_tile_fn bwf_tiles[2][MR + 1] = {
    {NULL, bwf_tile_1_0, bwf_tile_2_0, bwf_tile_3_0, bwf_tile_4_0, bwf_tile_5_0, bwf_tile_6_0},
    {NULL, bwf_tile_1_1, bwf_tile_2_1, bwf_tile_3_1, bwf_tile_4_1, bwf_tile_5_1, bwf_tile_6_1},
};

/* Backward-filter: the items are BWF_CHUNKS fixed chunks of images; each sums its images into
 * its own partial dw and db, and the partials are added in chunk order at the end (a fixed
 * order, so the result does not depend on the threads; at most BWF_CHUNKS threads share the
 * walks). A chunk reads its dy once, sequentially, band by band of output rows (whole rows,
 * which the hardware prefetches well): it packs each band panel-major into L1-resident scratch
 * while summing db, then walks every (panel, MR-row tile) of dw over the band, prefetching the
 * next band along the walks. Each thread reads only its own images: conv1's dy (50 MB a batch,
 * 16 FLOPs per element) is read once for dw and db together, and many threads do not each read
 * all of conv2's x and dy. */
#define BWF_CHUNKS 16
/* dy per band: about this many bytes (the packed band stays in L1 across the walks) */
#define BWF_BAND_BYTES (32 * 1024)

static long bwf_kdim(const scnn_conv2d *d)
{
    return (long)d->kh * d->kw * d->c;
}

static long bwf_row_tiles(const scnn_conv2d *d)
{
    return (bwf_kdim(d) + MR - 1) / MR;
}

/* Output rows per band: equal bands of about BWF_BAND_BYTES of dy. */
static int bwf_band_rows(const scnn_conv2d *d)
{
    return scnn_band_rows(d->p, (long)d->q * d->k * (long)sizeof(float), BWF_BAND_BYTES);
}

/* Floats of one chunk's partial sums: dw [kdim][k], then db [panels*16]. */
static size_t bwf_part_floats(const scnn_conv2d *d)
{
    return (size_t)bwf_kdim(d) * d->k + (size_t)panels(d->k) * NR;
}

static void bwf_sizes(const scnn_conv2d *d, size_t *shared, size_t *slot)
{
    *shared = round16((size_t)BWF_CHUNKS * bwf_part_floats(d));
    *slot = round16((size_t)bwf_band_rows(d) * d->q * panels(d->k) * NR);
}

long scnn_avx2_bwf_items(const scnn_avx2_bwf *f)
{
    (void)f;
    return BWF_CHUNKS;
}

float *scnn_avx2_bwf_plan(scnn_avx2_bwf *f, const scnn_conv2d *d, const float *x,
                          const float *dy, float *dw, float *db, void *ws, size_t *slot_floats)
{
    size_t packed;
    ws_sizes(d, &packed, slot_floats);
    *f = (scnn_avx2_bwf){.x = x, .dy = dy, .d = d, .copy = fwd_copy(d), .dw = dw, .db = db,
                         .part = ws};
    return (float *)ws + packed;
}

/* The walks of every (panel, row tile) of dw (ld k) over output rows [r0, r0+rows) of one
 * image: src is the (padded) image, row stride wp pixels; pack the band's dy packed by
 * bwf_pack. init: dw's first contribution. The walks also prefetch, in turn, pfbytes from pf
 * on. */
static void bwf_walks(const scnn_conv2d *d, const float *src, int wp, int r0, int rows,
                      const float *pack, bool init, float *dw, const char *pf, size_t pfbytes)
{
    const int c = d->c, k = d->k, seglen = d->kw * c;
    const long kdim = bwf_kdim(d), ntiles = bwf_row_tiles(d), steps = (long)rows * d->q;
    const long walks = panels(k) * ntiles;
    for (long it = 0; it < walks; it++) {
        const int jp = (int)(it / ntiles);
        const long row0 = (it % ntiles) * MR;
        const int mr = kdim - row0 < MR ? (int)(kdim - row0) : MR;
        const int nr = k - jp * NR < NR ? k - jp * NR : NR;
        /* dw row r = (i, rest) reads src at i*wp*c + rest from the pixel's corner */
        const ptrdiff_t base = ((row0 / seglen) + r0) * (ptrdiff_t)wp * c + row0 % seglen;
        scnn_avx2_ukr u = {.a = src + base,
                           .as = c,
                           .ajump = (ptrdiff_t)(wp - d->q) * c,
                           .nseg = rows,
                           .seglen = d->q,
                           .b = pack + (size_t)jp * steps * NR,
                           .bs = NR,
                           .pf = pf + pfbytes * it / walks,
                           .pfs = (ptrdiff_t)(pfbytes / walks / steps)};
        for (int m = 0; m < MR; m++) {
            const long r = row0 + (m < mr ? m : 0);
            u.off[m] = (r / seglen + r0) * (ptrdiff_t)wp * c + r % seglen - base;
        }
        bwf_tiles[nr < NR][mr](&u, init, dw + row0 * k + jp * NR, k, nr);
    }
}

/* dy [n,p,q,k] bytes from pixel (img, r0 + rows) on, at most want (what a prefetch may touch) */
static size_t bwf_next_bytes(const scnn_conv2d *d, int img, int r0, int rows, size_t want)
{
    const size_t left = ((size_t)d->n * d->p - ((size_t)img * d->p + r0 + rows)) * d->q * d->k *
                        sizeof(float);
    return left < want ? left : want;
}

/* dy pixels [0, npix) of a band -> pack [panel][pixel][16] (zeros past k); db += their sum. */
static void bwf_pack(const float *dyb, int npix, int k, float *pack, float *dbacc)
{
    const int np = panels(k);
    for (int jp = 0; jp < np; jp++) {
        const int nr = k - jp * NR < NR ? k - jp * NR : NR;
        __m256i m0, m1;
        scnn_avx2_masks(nr, &m0, &m1);
        __m256 s0 = _mm256_loadu_ps(dbacc + jp * NR), s1 = _mm256_loadu_ps(dbacc + jp * NR + 8);
        const float *src = dyb + jp * NR;
        float *dst = pack + (size_t)jp * npix * NR;
        for (int s = 0; s < npix; s++, src += k, dst += NR) {
            const __m256 v0 = _mm256_maskload_ps(src, m0), v1 = _mm256_maskload_ps(src + 8, m1);
            _mm256_storeu_ps(dst, v0);
            _mm256_storeu_ps(dst + 8, v1);
            s0 = _mm256_add_ps(s0, v0);
            s1 = _mm256_add_ps(s1, v1);
        }
        _mm256_storeu_ps(dbacc + jp * NR, s0);
        _mm256_storeu_ps(dbacc + jp * NR + 8, s1);
    }
}

void scnn_avx2_bwf_run(const scnn_avx2_bwf *f, float *scratch, long first, long last)
{
    const scnn_conv2d *d = f->d;
    const int c = d->c, k = d->k, band = bwf_band_rows(d), np = panels(k);
    const long kdim = bwf_kdim(d);
    const int wp = f->copy ? d->q + d->kw - 1 : d->w;
    const size_t rowfloats = (size_t)d->q * k, bandbytes = band * rowfloats * sizeof(float);
    const scnn_avx2_fwd geom = {.x = f->x, .n = d->n, .h = d->h, .w = d->w, .c = c,
                                .pt = d->pad_top, .pl = d->pad_left, .p = d->p, .q = d->q,
                                .kh = d->kh, .kw = d->kw};
    /* the slot is [padded image | packed band] */
    float *pack = scratch + (f->copy ? round16((size_t)wp * (d->p + d->kh - 1) * c) : 0);
    for (long ch = first; ch < last; ch++) {
        const int i0 = (int)(d->n * ch / BWF_CHUNKS), i1 = (int)(d->n * (ch + 1) / BWF_CHUNKS);
        float *part = f->part + ch * bwf_part_floats(d), *dbacc = part + kdim * k;
        memset(dbacc, 0, sizeof *dbacc * (size_t)np * NR);
        if (i0 == i1) /* no images: zeros */
            memset(part, 0, sizeof *part * (size_t)kdim * k);
        for (int img = i0; img < i1; img++) {
            const float *src = f->x + (size_t)img * d->h * d->w * c;
            if (f->copy) {
                pad_image(&geom, img, scratch);
                src = scratch;
            }
            for (int r0 = 0; r0 < d->p; r0 += band) {
                const int rows = d->p - r0 < band ? d->p - r0 : band, npix = rows * d->q;
                const float *dyb = f->dy + ((size_t)img * d->p + r0) * rowfloats;
                const bool end = img + 1 == i1 && r0 + rows == d->p; /* next: not this chunk's */
                bwf_pack(dyb, npix, k, pack, dbacc);
                bwf_walks(d, src, wp, r0, rows, pack, img == i0 && r0 == 0, part,
                          (const char *)(dyb + (size_t)npix * k),
                          end ? 0 : bwf_next_bytes(d, img, r0, rows, bandbytes));
            }
        }
    }
}

/* The elements to sum: dw's, then db's (the partials' db rows are padded to whole panels). */
static size_t bwf_sum_floats(const scnn_conv2d *d)
{
    return (size_t)bwf_kdim(d) * d->k + (size_t)d->k;
}

long scnn_avx2_bwf_sum_items(const scnn_avx2_bwf *f)
{
    return (long)((bwf_sum_floats(f->d) + SCNN_AVX2_BWF_SUM_BLOCK - 1) / SCNN_AVX2_BWF_SUM_BLOCK);
}

void scnn_avx2_bwf_sum_run(const scnn_avx2_bwf *f, long first, long last)
{
    const size_t nd = (size_t)bwf_kdim(f->d) * f->d->k, stride = bwf_part_floats(f->d),
                 n = bwf_sum_floats(f->d);
    float acc[SCNN_AVX2_BWF_SUM_BLOCK];
    for (long it = first; it < last; it++) {
        const size_t e0 = (size_t)it * SCNN_AVX2_BWF_SUM_BLOCK;
        const size_t m = n - e0 < SCNN_AVX2_BWF_SUM_BLOCK ? n - e0 : SCNN_AVX2_BWF_SUM_BLOCK;
        memcpy(acc, f->part + e0, sizeof *acc * m);
        for (size_t ch = 1; ch < BWF_CHUNKS; ch++) /* in chunk order */
            for (size_t e = 0; e < m; e++)
                acc[e] += f->part[ch * stride + e0 + e];
        for (size_t e = 0; e < m; e++) {
            if (e0 + e < nd)
                f->dw[e0 + e] = acc[e];
            else if (f->db)
                f->db[e0 + e - nd] = acc[e];
        }
    }
}
