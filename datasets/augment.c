/* Data augmentation as the seed does it (SPEC.md section 2; conventions in scnn.h). Each step
 * restates keras_preprocessing 1.1's apply_transform and scipy.ndimage.affine_transform
 * (order=1, mode='nearest') in the same double-precision operations, in the same order, so that
 * the result matches scipy's bit for bit, rounding included (tests/golden/augment_golden.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "scnn.h"

#define AUGMENT_MAX_DEG 10.0

/* The affine map: input (row, col) = m (r, c) + off. */
typedef struct rotation {
    double m00, m01, m10, m11;
    double off_r, off_c;
} rotation;

static rotation rotation_make(int rows, int cols, double angle_deg)
{
    double theta = angle_deg * (M_PI / 180.0); /* numpy's deg2rad */
    double cs = cos(theta), sn = sin(theta);
    double o_r = (double)rows / 2 + 0.5, o_c = (double)cols / 2 + 0.5;
    /* Keras's offset @ R @ reset, whose last column numpy sums left to right. */
    rotation q = {cs, -sn, sn, cs, 0, 0};
    q.off_r = cs * -o_r + -sn * -o_c + o_r;
    q.off_c = sn * -o_r + cs * -o_c + o_c;
    return q;
}

/* scipy's coordinate handling along one axis: clamp ('nearest'), then the order-1 spline
 * weights as ni_splines.c computes them (w1 = 1 - w0, not the fraction itself). Once clamped,
 * x >= 0, so truncation is scipy's floor (and much cheaper than the libm call). */
static inline int axis_weights(double x, int len, double *w0, double *w1)
{
    if (x < 0)
        x = 0;
    else if (x > len - 1)
        x = len - 1;
    int f = (int)x;
    *w0 = 1.0 - (x - f);
    *w1 = 1.0 - *w0;
    return f;
}

void scnn_augment_image(const uint8_t *src, uint8_t *dst, int rows, int cols, double angle_deg,
                        bool flip)
{
    if (rows < 1 || cols < 1)
        return;
    if (angle_deg == 0 || !isfinite(angle_deg)) {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[r * cols + (flip ? cols - 1 - c : c)] = src[r * cols + c];
        return;
    }
    rotation q = rotation_make(rows, cols, angle_deg);
    for (int r = 0; r < rows; r++) {
        /* scipy's r*m00 + c*m01 + off, summed in that order; the products are the same doubles
         * whether made here or per pixel */
        double y = r * q.m00, x = r * q.m10;
        uint8_t *out = dst + (size_t)r * cols;
        for (int c = 0; c < cols; c++) {
            double wr0, wr1, wc0, wc1;
            int i = axis_weights(y + c * q.m01 + q.off_r, rows, &wr0, &wr1);
            int j = axis_weights(x + c * q.m11 + q.off_c, cols, &wc0, &wc1);
            /* The second tap of a clamped edge coordinate has weight 0; any index will do. */
            int i1 = i + 1 < rows ? i + 1 : i, j1 = j + 1 < cols ? j + 1 : j;
            const uint8_t *p0 = src + (size_t)i * cols, *p1 = src + (size_t)i1 * cols;
            double t = 0.0;
            t += p0[j] * wr0 * wc0;
            t += p0[j1] * wr0 * wc1;
            t += p1[j] * wr1 * wc0;
            t += p1[j1] * wr1 * wc1;
            /* Keras's float32 image, stored as a byte: round half up (t >= 0: all weights are) */
            int v = (int)((double)(float)t + 0.5);
            out[flip ? cols - 1 - c : c] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

void scnn_augment_draw(uint64_t seed, size_t index, int copy, double *angle_deg, bool *flip)
{
    uint64_t step = (uint64_t)copy, k = 2 * (uint64_t)index;
    double u = scnn_rng_uniform(seed, SCNN_RNG_AUGMENT, step, k);
    *angle_deg = AUGMENT_MAX_DEG * (2 * u - 1);
    *flip = scnn_rng_uniform(seed, SCNN_RNG_AUGMENT, step, k + 1) < 0.5f;
}

scnn_status scnn_augment_dataset(scnn_dataset *out, const scnn_dataset *in, int copies,
                                 uint64_t seed)
{
    if (!out || !in || out == in)
        return scnn_fail(SCNN_ERR_ARG, "augment: need distinct input and output data sets");
    memset(out, 0, sizeof *out);
    if (copies < 0)
        return scnn_fail(SCNN_ERR_ARG, "augment: copies must be >= 0 (got %d)", copies);
    if (in->rows < 1 || in->cols < 1 || (in->n > 0 && (!in->images || !in->labels)))
        return scnn_fail(SCNN_ERR_ARG, "augment: the input data set is empty or malformed "
                                       "(%zu images of %dx%d)", in->n, in->rows, in->cols);
    size_t pixels = (size_t)in->rows * (size_t)in->cols, blocks = (size_t)copies + 1;
    if (in->n > SIZE_MAX / blocks || in->n * blocks > SIZE_MAX / pixels)
        return scnn_fail(SCNN_ERR_NOMEM, "augment: %zu images x %zu is too many", in->n, blocks);
    size_t n = in->n * blocks;
    uint8_t *images = malloc(n * pixels + 1), *labels = malloc(n + 1);
    if (!images || !labels) {
        free(images);
        free(labels);
        return scnn_fail(SCNN_ERR_NOMEM, "augment: out of memory for %zu images of %dx%d", n,
                         in->rows, in->cols);
    }
    for (size_t b = 0; b < blocks; b++) {
        memcpy(labels + b * in->n, in->labels, in->n);
        if (b == 0) {
            memcpy(images, in->images, in->n * pixels);
            continue;
        }
        for (size_t i = 0; i < in->n; i++) {
            double angle;
            bool flip;
            scnn_augment_draw(seed, i, (int)b, &angle, &flip);
            scnn_augment_image(in->images + i * pixels, images + (b * in->n + i) * pixels,
                               in->rows, in->cols, angle, flip);
        }
    }
    out->n = n;
    out->rows = in->rows;
    out->cols = in->cols;
    out->images = images;
    out->labels = labels;
    return SCNN_OK;
}
