/* AVX2 convolutions as implicit GEMMs on NHWC, no im2col buffer.
 *
 * Forward: for output pixel (p,q) and kernel row i, the A operand is the contiguous slice
 * x[p+i-pad_top, q-pad_left .. +kw-1, 0..c-1] (kw*c floats), so y[pixel, :] is one micro-kernel
 * walk of kh segments over the weights packed as [k/16][kh*kw*c][16]. Padding is handled by
 * copying each image zero-padded into per-thread scratch (cheap: it stays in L2).
 * Backward-data is the forward correlation of dy (padded by kh-1-pad_top, ...) with the flipped,
 * (c,k)-transposed weights. k == 1 (conv1's backward-data) takes a dot-product path instead.
 * Backward-filter: dw[(i,j,c), k] = sum over pixels of A^T dy, a micro-kernel walk over the
 * pixels of one image per call, accumulating in dw itself image after image. */
#include <string.h>

#include "kernels/avx2/avx2_kernels.h"

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

static void ws_sizes(const scnn_conv2d *d, size_t *packed, size_t *slot)
{
    const size_t taps = (size_t)d->kh * d->kw;
    size_t pf = pack_floats(d->k, taps * d->c), pb = pack_floats(d->c, taps * d->k);
    *packed = round16(pf > pb ? pf : pb);
    int pt, pl;
    bool bcopy;
    bwd_data_dims(d, &pt, &pl, &bcopy);
    size_t s1 = fwd_copy(d) ? (size_t)(d->p + d->kh - 1) * (d->q + d->kw - 1) * d->c : 0;
    size_t s2 = bcopy ? (size_t)(d->h + d->kh - 1) * (d->w + d->kw - 1) * d->k : 0;
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
    const int hp = f->p + f->kh - 1, wp = f->q + f->kw - 1, c = f->c;
    const float *src = f->x + (size_t)img * f->h * f->w * c;
    for (int yy = 0; yy < hp; yy++) {
        float *drow = dst + (size_t)yy * wp * c;
        const int sy = yy - f->pt;
        if (sy < 0 || sy >= f->h) {
            memset(drow, 0, sizeof *drow * (size_t)wp * c);
            continue;
        }
        int x0 = f->pl > 0 ? f->pl : 0, x1 = f->w + f->pl < wp ? f->w + f->pl : wp;
        if (x1 < x0)
            x1 = x0 = 0;
        memset(drow, 0, sizeof *drow * (size_t)x0 * c);
        if (x1 > x0)
            memcpy(drow + (size_t)x0 * c, src + ((size_t)sy * f->w + (x0 - f->pl)) * c,
                   sizeof *drow * (size_t)(x1 - x0) * c);
        memset(drow + (size_t)x1 * c, 0, sizeof *drow * (size_t)(wp - x1) * c);
    }
}

/* ---- forward tiles ---------------------------------------------------------------------------- */

/* acc = bias + A*B over the walk, then ReLU; y rows m < mr at y + m*ldy, columns < nr. */
#define DEF_FWD_TILE(M)                                                                           \
    static void fwd_tile_##M(const scnn_avx2_ukr *u, const float *bias, bool relu, float *y,     \
                             ptrdiff_t ldy, int nr)                                               \
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
                _mm256_storeu_ps(y + m * ldy, v0);                                                \
                _mm256_storeu_ps(y + m * ldy + 8, v1);                                            \
            } else {                                                                              \
                _mm256_maskstore_ps(y + m * ldy, m0, v0);                                         \
                _mm256_maskstore_ps(y + m * ldy + 8, m1, v1);                                     \
            }                                                                                     \
        }                                                                                         \
    }
DEF_FWD_TILE(1)
DEF_FWD_TILE(2)
DEF_FWD_TILE(3)
DEF_FWD_TILE(4)
DEF_FWD_TILE(5)
DEF_FWD_TILE(6)

typedef void (*fwd_tile_fn)(const scnn_avx2_ukr *, const float *, bool, float *, ptrdiff_t, int);
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
        for (int m = 0; m < MR; m++) {
            const int pix = pix0 + (m < mr ? m : 0);
            u.off[m] = ((ptrdiff_t)(pix / f->q + i0) * wp + pix % f->q) * c - base;
        }
        fwd_tiles[mr](&u, f->bias ? f->bias + jp * NR : NULL, f->relu, y + (size_t)pix0 * k, k,
                      nr);
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

/* ---- backward-data by scattering ------------------------------------------------------------ */

/* dst rows m < M (NULL: outside dx, skipped) += A*B over the walk */
#define DEF_SCATTER_TILE(M)                                                                       \
    static void scatter_tile_##M(const scnn_avx2_ukr *u, float *const *dst, int nr)              \
    {                                                                                             \
        __m256i m0, m1;                                                                           \
        scnn_avx2_masks(nr, &m0, &m1);                                                            \
        __m256 acc[MR][2];                                                                        \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++)                                      \
        {                                                                                         \
            if (m < M && dst[m]) {                                                                \
                acc[m][0] = _mm256_maskload_ps(dst[m], m0);                                       \
                acc[m][1] = _mm256_maskload_ps(dst[m] + 8, m1);                                   \
            } else {                                                                              \
                acc[m][0] = acc[m][1] = _mm256_setzero_ps();                                      \
            }                                                                                     \
        }                                                                                         \
        scnn_avx2_ukr_run(M, 0, u, m0, m1, acc);                                                  \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++)                                       \
        {                                                                                         \
            if (!dst[m])                                                                          \
                continue;                                                                         \
            if (nr == NR) {                                                                       \
                _mm256_storeu_ps(dst[m], acc[m][0]);                                              \
                _mm256_storeu_ps(dst[m] + 8, acc[m][1]);                                          \
            } else {                                                                              \
                _mm256_maskstore_ps(dst[m], m0, acc[m][0]);                                       \
                _mm256_maskstore_ps(dst[m] + 8, m1, acc[m][1]);                                   \
            }                                                                                     \
        }                                                                                         \
    }
DEF_SCATTER_TILE(1)
DEF_SCATTER_TILE(2)
DEF_SCATTER_TILE(3)
DEF_SCATTER_TILE(4)
DEF_SCATTER_TILE(5)
DEF_SCATTER_TILE(6)

typedef void (*scatter_tile_fn)(const scnn_avx2_ukr *, float *const *, int);
static const scatter_tile_fn scatter_tiles[MR + 1] = {
    NULL, scatter_tile_1, scatter_tile_2, scatter_tile_3, scatter_tile_4, scatter_tile_5,
    scatter_tile_6};

/* dx[y+i-pad_top, x+j-pad_left, :] += dy[y, x, :] . w[i,j]^T for every tap (i,j): only taps
 * that land inside dx are computed, unlike the padded correlation (which multiplies a border
 * of zeros: 38% of the work for conv2). Each dx element sums its taps in a fixed order. Here
 * src is dy [h,w,c] (f->c = the conv's k) and y is dx [p,q,k] (f->k = the conv's c). */
static void scatter_image(const scnn_avx2_fwd *f, int img)
{
    const int kk = f->c, cout = f->k, np = panels(cout), npix = f->h * f->w;
    const int pt = f->kh - 1 - f->pt, pl = f->kw - 1 - f->pl; /* the conv's own padding */
    const float *dyi = f->x + (size_t)img * npix * kk;
    float *dxi = f->y + (size_t)img * f->p * f->q * cout;
    memset(dxi, 0, sizeof *dxi * (size_t)f->p * f->q * cout);
    scnn_avx2_ukr u = {.as = 1, .ajump = 0, .nseg = 1, .seglen = kk, .bs = NR};
    for (int m = 0; m < MR; m++)
        u.off[m] = (ptrdiff_t)m * kk;
    for (int jp = 0; jp < np; jp++) {
        const int nr = cout - jp * NR < NR ? cout - jp * NR : NR;
        for (int i = 0; i < f->kh; i++)
            for (int j = 0; j < f->kw; j++) {
                u.b = f->bp + (((size_t)(i * f->kw + j) * np + jp) * kk) * NR;
                int ty = 0, tx = 0; /* the tile's first pixel, stepped without divisions */
                for (int pix0 = 0; pix0 < npix; pix0 += MR) {
                    const int mr = npix - pix0 < MR ? npix - pix0 : MR;
                    float *dst[MR];
                    bool any = false;
                    for (int m = 0, y0 = ty, x0 = tx; m < MR; m++) {
                        const int yy = y0 - pt + i, xx = x0 - pl + j;
                        const bool in = m < mr && yy >= 0 && yy < f->p && xx >= 0 && xx < f->q;
                        dst[m] = in ? dxi + ((size_t)yy * f->q + xx) * cout + jp * NR : NULL;
                        any |= in;
                        if (++x0 == f->w) {
                            x0 = 0;
                            y0++;
                        }
                        if (m == MR - 1) {
                            ty = y0;
                            tx = x0;
                        }
                    }
                    if (!any)
                        continue;
                    u.a = dyi + (size_t)pix0 * kk;
                    scatter_tiles[mr](&u, dst, nr);
                }
            }
    }
}

long scnn_avx2_fwd_items(const scnn_avx2_fwd *f)
{
    return (long)f->n * (f->dot || f->scatter ? 1 : panels(f->k));
}

/* Items are (image, panel) pairs, image-major. */
void scnn_avx2_fwd_run(const scnn_avx2_fwd *f, float *scratch, long first, long last)
{
    const int np = f->dot || f->scatter ? 1 : panels(f->k);
    int cur = -1, wp = f->w;
    const float *src = NULL;
    for (long it = first; it < last; it++) {
        const int img = (int)(it / np), jp = (int)(it % np);
        if (f->scatter) {
            scatter_image(f, img);
            continue;
        }
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
    /* enough k for the scattered products to outweigh their read-modify-write of dx */
    f->scatter = c > 1 && k >= 32;
    if (f->scatter) { /* bp[tap][panel][kk][16] = w[tap, ch, kk] */
        const int np = panels(c);
        for (int t = 0; t < kh * kw; t++)
            for (int jp = 0; jp < np; jp++)
                for (int kk = 0; kk < k; kk++) {
                    float *dst = bp + (((size_t)t * np + jp) * k + kk) * NR;
                    for (int jj = 0; jj < NR; jj++) {
                        const int ch = jp * NR + jj;
                        dst[jj] = ch < c ? w[((size_t)t * c + ch) * k + kk] : 0.0f;
                    }
                }
        return bp + packed;
    }
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
        scnn_avx2_ukr_run(M, BM, u, m0, m1, acc);                                                 \
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

static long bwf_row_tiles(const scnn_conv2d *d)
{
    return ((long)d->kh * d->kw * d->c + MR - 1) / MR;
}

long scnn_avx2_bwf_items(const scnn_avx2_bwf *f)
{
    return (long)panels(f->d->k) * bwf_row_tiles(f->d);
}

float *scnn_avx2_bwf_plan(scnn_avx2_bwf *f, const scnn_conv2d *d, const float *x,
                          const float *dy, float *dw, void *ws, size_t *slot_floats)
{
    size_t packed;
    ws_sizes(d, &packed, slot_floats);
    *f = (scnn_avx2_bwf){.x = x, .dy = dy, .d = d, .copy = fwd_copy(d), .dw = dw};
    return (float *)ws + packed;
}

/* x [n,h,w,c], dy [n,p,q,k] -> dw [kh*kw*c, k] rows of the items' tiles. Items are (panel,
 * row tile) pairs, panel-major; every image is visited for each, in order. */
void scnn_avx2_bwf_run(const scnn_avx2_bwf *f, float *scratch, long first, long last)
{
    const scnn_conv2d *d = f->d;
    const int c = d->c, k = d->k, seglen = d->kw * c;
    const long kdim = (long)d->kh * seglen, ntiles = bwf_row_tiles(d);
    const int wp = f->copy ? d->q + d->kw - 1 : d->w;
    const scnn_avx2_fwd geom = {.x = f->x, .n = d->n, .h = d->h, .w = d->w, .c = c,
                                .pt = d->pad_top, .pl = d->pad_left, .p = d->p, .q = d->q,
                                .kh = d->kh, .kw = d->kw};
    for (long it = first; it < last; it++) /* an empty batch gives zeros */
        if (d->n == 0)
            for (int m = 0; m < MR; m++) {
                const long row = (it % ntiles) * MR + m, j0 = (it / ntiles) * NR;
                if (row < kdim)
                    memset(f->dw + row * k + j0, 0,
                           sizeof(float) * (size_t)(k - j0 < NR ? k - j0 : NR));
            }
    for (int img = 0; img < d->n; img++) {
        const float *src = f->x + (size_t)img * d->h * d->w * c;
        if (f->copy) {
            pad_image(&geom, img, scratch);
            src = scratch;
        }
        const float *dyi = f->dy + (size_t)img * d->p * d->q * k;
        /* the next image's dy into L2 meanwhile: each item reads only its columns of it, which
         * the hardware prefetchers fetch poorly */
        const char *next = (const char *)(dyi + (size_t)d->p * d->q * k);
        const size_t lines = img + 1 < d->n ? (size_t)d->p * d->q * k * sizeof(float) / 64 : 0;
        for (long it = first; it < last; it++) {
            for (size_t l = lines * (it - first) / (last - first);
                 l < lines * (it - first + 1) / (last - first); l++)
                _mm_prefetch(next + l * 64, _MM_HINT_T1);
            const int jp = (int)(it / ntiles);
            const long row0 = (it % ntiles) * MR;
            const int mr = kdim - row0 < MR ? (int)(kdim - row0) : MR;
            const int nr = k - jp * NR < NR ? k - jp * NR : NR;
            /* row r = (i, rest) of dw reads src at i*wp*c + rest from the pixel's corner */
            const ptrdiff_t base = (row0 / seglen) * (ptrdiff_t)wp * c + row0 % seglen;
            scnn_avx2_ukr u = {.a = src + base,
                               .as = c,
                               .ajump = (ptrdiff_t)(wp - d->q) * c,
                               .nseg = d->p,
                               .seglen = d->q,
                               .b = dyi + jp * NR,
                               .bs = k};
            for (int m = 0; m < MR; m++) {
                const long r = row0 + (m < mr ? m : 0);
                u.off[m] = (r / seglen) * (ptrdiff_t)wp * c + r % seglen - base;
            }
            bwf_tiles[nr < NR][mr](&u, img == 0, f->dw + row0 * k + jp * NR, k, nr);
        }
    }
}
