/* Geometry shared by the SIMD convolutions (kernels/avx2, kernels/avx512): the tap classes of a
 * padded correlation, the zero-padded copy of one image, and backward-filter's bands of output
 * rows. Plain C: any kernel file may include it. */
#ifndef SCNN_CONV_GEOMETRY_H
#define SCNN_CONV_GEOMETRY_H

#include <stddef.h>
#include <string.h>

/* A correlation reads src at (y - pad + i) for tap i < kn of output row y; the taps inside src
 * (length src_len) are [t0, t1). Output rows [start, start+count) share one such range: the
 * rows of a class (and likewise columns). */
typedef struct scnn_tap_run {
    int start, count, t0, t1;
} scnn_tap_run;

static inline void scnn_tap_range(int pos, int pad, int kn, int src_len, int *t0, int *t1)
{
    *t0 = pad - pos > 0 ? pad - pos : 0;
    *t1 = src_len + pad - pos < kn ? src_len + pad - pos : kn;
    if (*t1 < *t0)
        *t1 = *t0;
}

/* The run of output rows (or columns) from start on that share one tap range. */
static inline scnn_tap_run scnn_tap_run_at(int start, int out_len, int pad, int kn, int src_len)
{
    scnn_tap_run r = {.start = start, .count = 1};
    scnn_tap_range(start, pad, kn, src_len, &r.t0, &r.t1);
    for (int t0, t1; start + r.count < out_len; r.count++) {
        scnn_tap_range(start + r.count, pad, kn, src_len, &t0, &t1);
        if (t0 != r.t0 || t1 != r.t1)
            break;
    }
    return r;
}

/* One image src [h, w, c] into dst [hp, wp, c], shifted by (pt, pl), zero outside. */
static inline void scnn_pad_image(const float *src, int h, int w, int c, int pt, int pl, int hp,
                                  int wp, float *dst)
{
    for (int yy = 0; yy < hp; yy++) {
        float *drow = dst + (size_t)yy * wp * c;
        const int sy = yy - pt;
        if (sy < 0 || sy >= h) {
            memset(drow, 0, sizeof *drow * (size_t)wp * c);
            continue;
        }
        int x0 = pl > 0 ? pl : 0, x1 = w + pl < wp ? w + pl : wp;
        if (x1 < x0)
            x1 = x0 = 0;
        memset(drow, 0, sizeof *drow * (size_t)x0 * c);
        if (x1 > x0)
            memcpy(drow + (size_t)x0 * c, src + ((size_t)sy * w + (x0 - pl)) * c,
                   sizeof *drow * (size_t)(x1 - x0) * c);
        memset(drow + (size_t)x1 * c, 0, sizeof *drow * (size_t)(wp - x1) * c);
    }
}

/* Rows per band of p output rows of row_bytes each: equal bands of about band_bytes. */
static inline int scnn_band_rows(int p, long row_bytes, long band_bytes)
{
    long rows = row_bytes > 0 ? band_bytes / row_bytes : p;
    rows = rows < 1 ? 1 : rows;
    const long bands = (p + rows - 1) / rows;
    return bands > 0 ? (int)((p + bands - 1) / bands) : 1;
}

#endif
