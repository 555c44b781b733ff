/* The im2col backend: convolutions as im2col/col2im + the cache-blocked GEMM of im2col_gemm.c,
 * in portable C, one thread. Ops not listed in the table fall back to naive.
 *
 * The patch matrix of a convolution has one row per output pixel r = (n*p + y)*q + x and
 * kd = kh*kw*c columns (tap (i,j), then channel: the row order of an HWIO kernel), so
 *   forward:          y [rows,k]   = patches [rows,kd] * w [kd,k]
 *   backward-data:    dpatches     = dy [rows,k] * w^T [k,kd], then col2im adds them into dx
 *   backward-filter:  dw [kd,k]    = patches^T [kd,rows] * dy [rows,k]
 * The patches live in the workspace a band of rows at a time (about 1 MiB), never whole. Every
 * sum runs in a fixed order, so results do not depend on the batch size or the workspace. A NULL
 * workspace (never from the model) gets naive's op. */
#include <string.h>

#include "backend.h"
#include "kernels/im2col/im2col.h"

#define BAND_FLOATS (1 << 18)
/* Regions of the workspace start on 64-byte boundaries. */
#define ALIGN_FLOATS 16

static size_t patch_cols(const scnn_conv2d *d)
{
    return (size_t)d->kh * d->kw * d->c;
}

static size_t out_rows(const scnn_conv2d *d)
{
    return (size_t)d->n * d->p * d->q;
}

/* Patch rows per band: about BAND_FLOATS floats, whole K blocks where possible (they are the
 * K dimension of backward-filter). Never more than d's rows, and never less for a bigger n. */
static size_t band_rows(const scnn_conv2d *d)
{
    size_t nb = BAND_FLOATS / patch_cols(d);
    nb = nb >= IM2COL_KC ? nb / IM2COL_KC * IM2COL_KC : nb < IM2COL_MR ? IM2COL_MR : nb;
    return out_rows(d) < nb ? out_rows(d) : nb;
}

static size_t band_floats(const scnn_conv2d *d)
{
    return im2col_round_up(band_rows(d) * patch_cols(d), ALIGN_FLOATS);
}

/* The band of patches, then the packed GEMM operand of whichever op runs. */
static size_t conv2d_workspace__im2col(const scnn_conv2d *d)
{
    const size_t kd = patch_cols(d);
    size_t packed = im2col_packed_b_size((int)kd, d->k); /* forward: w */
    size_t t = im2col_packed_b_size(d->k, (int)kd);      /* backward-data: w^T */
    packed = t > packed ? t : packed;
    t = im2col_packed_b_size((int)band_rows(d), d->k); /* backward-filter: a band of dy */
    packed = t > packed ? t : packed;
    return (band_floats(d) + packed) * sizeof(float);
}

/* Valid taps j of row x: jlo <= j < jhi (the others read the zero padding). */
static void tap_range(const scnn_conv2d *d, int x, int *jlo, int *jhi)
{
    const int lo = d->pad_left - x, hi = d->w + d->pad_left - x;
    *jlo = lo > 0 ? lo : 0;
    *jhi = hi < d->kw ? hi : d->kw;
    if (*jhi < *jlo)
        *jhi = *jlo;
}

/* x [n,h,w,c] -> col [nb, kd]: patch rows r0 .. r0+nb-1, zero where a tap is padding */
static void im2col_band(const scnn_conv2d *d, const float *x, size_t r0, size_t nb, float *col)
{
    const int c = d->c, kwc = d->kw * c;
    int ox = (int)(r0 % d->q), oy = (int)(r0 / d->q % d->p);
    size_t on = r0 / ((size_t)d->q * d->p);
    for (size_t t = 0; t < nb; t++) {
        float *dst = col + t * patch_cols(d);
        int jlo, jhi;
        tap_range(d, ox, &jlo, &jhi);
        for (int i = 0; i < d->kh; i++, dst += kwc) {
            const int ih = oy - d->pad_top + i;
            if (ih < 0 || ih >= d->h || jhi == jlo) {
                memset(dst, 0, sizeof *dst * kwc);
                continue;
            }
            const float *src = x + ((on * d->h + ih) * d->w + (ox - d->pad_left + jlo)) * c;
            const int lo = jlo * c, hi = jhi * c;
            if (kwc <= 64) {
                /* short rows (conv1: 4 floats): library calls would cost more than the copy */
                for (int e = 0; e < kwc; e++)
                    dst[e] = e >= lo && e < hi ? src[e - lo] : 0.0f;
                continue;
            }
            memset(dst, 0, sizeof *dst * lo);
            memcpy(dst + lo, src, sizeof *dst * (hi - lo));
            memset(dst + hi, 0, sizeof *dst * (kwc - hi));
        }
        if (++ox == d->q) {
            ox = 0;
            if (++oy == d->p) {
                oy = 0;
                on++;
            }
        }
    }
}

/* dst [len] += src [len]; by fours, which gcc -O2 vectorises (it leaves loops of unknown
 * length scalar) */
static void add_to(float *restrict dst, const float *restrict src, int len)
{
    int e = 0;
    for (; e + 4 <= len; e += 4)
        for (int i = 0; i < 4; i++)
            dst[e + i] += src[e + i];
    for (; e < len; e++)
        dst[e] += src[e];
}

/* col [nb, kd] -> dx [n,h,w,c] += each patch row's taps at their pixels (padding taps dropped).
 * Rows, then taps, in order: a fixed summation order. */
static void col2im_band(const scnn_conv2d *d, const float *col, size_t r0, size_t nb, float *dx)
{
    const int c = d->c, kwc = d->kw * c;
    int ox = (int)(r0 % d->q), oy = (int)(r0 / d->q % d->p);
    size_t on = r0 / ((size_t)d->q * d->p);
    for (size_t t = 0; t < nb; t++) {
        const float *src = col + t * patch_cols(d);
        int jlo, jhi;
        tap_range(d, ox, &jlo, &jhi);
        for (int i = 0; i < d->kh; i++, src += kwc) {
            const int ih = oy - d->pad_top + i;
            if (ih < 0 || ih >= d->h || jhi == jlo)
                continue;
            add_to(dx + ((on * d->h + ih) * d->w + (ox - d->pad_left + jlo)) * c, src + jlo * c,
                   (jhi - jlo) * c);
        }
        if (++ox == d->q) {
            ox = 0;
            if (++oy == d->p) {
                oy = 0;
                on++;
            }
        }
    }
}

/* What the three directions work with: the patch matrix's shape, its bands, and the workspace
 * cut into the band of patches (col) and the packed GEMM operand (packed). */
typedef struct bands {
    size_t kd, rows, nb_max; /* patch columns, patch rows, rows per band */
    int k;
    float *col, *packed;
} bands;

static bands bands_of(const scnn_conv2d *d, void *ws)
{
    return (bands){.kd = patch_cols(d), .rows = out_rows(d), .nb_max = band_rows(d), .k = d->k,
                   .col = ws, .packed = (float *)ws + band_floats(d)};
}

/* The rows of the band that starts at row r0. */
static size_t band_len(const bands *B, size_t r0)
{
    return B->rows - r0 < B->nb_max ? B->rows - r0 : B->nb_max;
}

/* x [n,h,w,c], w [kh,kw,c,k], b [k] -> y [n,p,q,k] = (relu?)(patches * w + b), band by band */
static void conv2d_forward__im2col(const scnn_conv2d *d, const float *x, const float *w,
                                   const float *b, float *y, void *ws)
{
    if (!ws) {
        scnn_backend_naive.conv2d_forward(d, x, w, b, y, ws);
        return;
    }
    const bands B = bands_of(d, ws);
    const size_t kd = B.kd, npad = im2col_round_up((size_t)B.k, IM2COL_NR);
    const im2col_epilogue epi = {b, d->relu};
    scnn_im2col_pack_b((int)kd, B.k, w, B.k, 1, B.packed);
    for (size_t r0 = 0; r0 < B.rows; r0 += B.nb_max) {
        const size_t nb = band_len(&B, r0);
        im2col_band(d, x, r0, nb, B.col);
        for (size_t l0 = 0; l0 < kd; l0 += IM2COL_KC) {
            const int kc = (int)(kd - l0 < IM2COL_KC ? kd - l0 : IM2COL_KC);
            scnn_im2col_gemm_kblock((int)nb, B.k, kc, 1.0f, B.col + l0, (ptrdiff_t)kd, 1,
                                    B.packed + l0 * npad, l0 == 0 ? 0.0f : 1.0f,
                                    l0 + kc == kd ? &epi : NULL, y + r0 * B.k, B.k);
        }
    }
}

/* dy [n,p,q,k], w [kh,kw,c,k] -> dx [n,h,w,c]: dpatches = dy * w^T a band at a time, col2im */
static void conv2d_backward_data__im2col(const scnn_conv2d *d, const float *dy, const float *w,
                                         float *dx, void *ws)
{
    if (!ws) {
        scnn_backend_naive.conv2d_backward_data(d, dy, w, dx, ws);
        return;
    }
    const bands B = bands_of(d, ws);
    const int k = B.k;
    const size_t kdpad = im2col_round_up(B.kd, IM2COL_NR);
    memset(dx, 0, sizeof *dx * (size_t)d->n * d->h * d->w * d->c);
    scnn_im2col_pack_b(k, (int)B.kd, w, 1, k, B.packed); /* w^T: element (kk, t) = w[t*k + kk] */
    for (size_t r0 = 0; r0 < B.rows; r0 += B.nb_max) {
        const size_t nb = band_len(&B, r0);
        for (int l0 = 0; l0 < k; l0 += IM2COL_KC) {
            const int kc = k - l0 < IM2COL_KC ? k - l0 : IM2COL_KC;
            scnn_im2col_gemm_kblock((int)nb, (int)B.kd, kc, 1.0f, dy + r0 * k + l0, k, 1,
                                    B.packed + (size_t)l0 * kdpad, l0 == 0 ? 0.0f : 1.0f, NULL,
                                    B.col, (int)B.kd);
        }
        col2im_band(d, B.col, r0, nb, dx);
    }
}

/* x [n,h,w,c], dy [n,p,q,k] -> dw [kh,kw,c,k] = patches^T * dy (bands are K blocks, summed in
 * order), db [k] = column sums of dy in double (as naive) */
static void conv2d_backward_filter__im2col(const scnn_conv2d *d, const float *x, const float *dy,
                                           float *dw, float *db, void *ws)
{
    if (!ws) {
        scnn_backend_naive.conv2d_backward_filter(d, x, dy, dw, db, ws);
        return;
    }
    const bands B = bands_of(d, ws);
    const size_t kd = B.kd, rows = B.rows;
    const int k = B.k;
    const size_t npad = im2col_round_up((size_t)k, IM2COL_NR);
    if (rows == 0)
        memset(dw, 0, sizeof *dw * kd * k);
    for (size_t r0 = 0; r0 < rows; r0 += B.nb_max) {
        const size_t nb = band_len(&B, r0);
        im2col_band(d, x, r0, nb, B.col);
        scnn_im2col_pack_b((int)nb, k, dy + r0 * k, k, 1, B.packed); /* a band of dy */
        for (size_t l0 = 0; l0 < nb; l0 += IM2COL_KC) {
            const int kc = (int)(nb - l0 < IM2COL_KC ? nb - l0 : IM2COL_KC);
            scnn_im2col_gemm_kblock((int)kd, k, kc, 1.0f, B.col + l0 * kd, 1, (ptrdiff_t)kd,
                                    B.packed + l0 * npad, r0 == 0 && l0 == 0 ? 0.0f : 1.0f, NULL,
                                    dw, k);
        }
    }
    if (!db)
        return;
    for (int j0 = 0; j0 < k; j0 += 64) {
        const int jn = k - j0 < 64 ? k - j0 : 64;
        double s[64] = {0};
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < jn; j++)
                s[j] += dy[r * k + j0 + j];
        for (int j = 0; j < jn; j++)
            db[j0 + j] = (float)s[j];
    }
}

const scnn_backend scnn_backend_im2col = {
    .name = "im2col",
    .description = "im2col/col2im + cache-blocked GEMM in portable C",
    .conv2d_workspace = conv2d_workspace__im2col,
    .conv2d_forward = conv2d_forward__im2col,
    .conv2d_backward_data = conv2d_backward_data__im2col,
    .conv2d_backward_filter = conv2d_backward_filter__im2col,
    .gemm = scnn_im2col_gemm,
};
