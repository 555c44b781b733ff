/* Augmentation (datasets/augment.c): exact geometric cases, the scipy/Keras golden
 * (tests/golden/augment_golden.bin, made by augment_golden.py), the random draws, the data set
 * layout, determinism and speed. */
#include "core/core.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scnn.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* ---- helpers ------------------------------------------------------------------------------- */

static uint8_t *noise_image(int rows, int cols, uint64_t seed)
{
    uint8_t *p = malloc((size_t)rows * cols);
    for (int i = 0; i < rows * cols; i++)
        p[i] = (uint8_t)(tu_rand_u64(seed, (uint64_t)i) >> 56);
    return p;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void assert_same_image(const char *what, const uint8_t *got, const uint8_t *want, int rows,
                              int cols)
{
    for (int i = 0; i < rows * cols; i++)
        if (got[i] != want[i])
            fail_msg("%s: pixel (%d, %d) is %d, expected %d", what, i / cols, i % cols, got[i],
                     want[i]);
}

static size_t count_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

/* ---- exact cases --------------------------------------------------------------------------- */

static void test_identity_and_flip(void **state)
{
    static const int shapes[][2] = {{28, 28}, {20, 31}, {1, 5}, {7, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        uint8_t *x = noise_image(rows, cols, 11 + s), *y = malloc(n), *z = malloc(n);
        uint8_t *m = malloc(n);
        scnn_augment_image(x, y, rows, cols, 0.0, false);
        assert_same_image("angle 0", y, x, rows, cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[r * cols + c] = x[r * cols + cols - 1 - c];
        scnn_augment_image(x, y, rows, cols, 0.0, true);
        assert_same_image("flip", y, m, rows, cols);
        scnn_augment_image(y, z, rows, cols, 0.0, true);
        assert_same_image("flip twice", z, x, rows, cols);
        /* a rotation too small to move a sample across a rounding boundary */
        scnn_augment_image(x, y, rows, cols, 1e-9, false);
        assert_same_image("angle 1e-9", y, x, rows, cols);
        /* the flip comes after the rotation: flip(rotate(x)) == mirror of rotate(x) */
        scnn_augment_image(x, y, rows, cols, 7.3, false);
        scnn_augment_image(x, z, rows, cols, 7.3, true);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[r * cols + c] = y[r * cols + cols - 1 - c];
        assert_same_image("rotate then flip", z, m, rows, cols);
        free(x), free(y), free(z), free(m);
    }
}

/* Multiples of 90 degrees sample whole pixels, so the result is an exact index map. With Keras's
 * centre o = (rows/2 + 0.5, cols/2 + 0.5), output (r, c) samples input R (p - o) + o clamped:
 *   +90: (o_r + o_c - c, r - o_r + o_c)   (clockwise as displayed)
 *   -90: (c + o_r - o_c, o_r + o_c - r)
 *   180: (2 o_r - r, 2 o_c - c)
 * For 28x28, o = 14.5, so +90 maps (r, c) <- (29 - c, r): one pixel off the geometric
 * rotation (27 - c, r), and the first two columns both take row 27. */
static void test_right_angles(void **state)
{
    static const int shapes[][2] = {{28, 28}, {20, 30}, {30, 20}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        int sr = rows + 1, sc = cols + 1;         /* 2 o_r, 2 o_c */
        int h = (sr + sc) / 2, d = (sc - sr) / 2; /* o_r + o_c, o_c - o_r: rows + cols is even */
        uint8_t *x = noise_image(rows, cols, 21 + s), *y = malloc(n), *want = malloc(n);
        for (int flip = 0; flip < 2; flip++) {
            static const double angles[] = {90, -90, 180, -180, 270};
            for (int a = 0; a < 5; a++) {
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) {
                        int ir, ic;
                        if (angles[a] == 90 || angles[a] == -270)
                            ir = h - c, ic = r + d;
                        else if (angles[a] == -90 || angles[a] == 270)
                            ir = c - d, ic = h - r;
                        else
                            ir = sr - r, ic = sc - c;
                        int oc = flip ? cols - 1 - c : c;
                        want[r * cols + oc] =
                            x[clampi(ir, 0, rows - 1) * cols + clampi(ic, 0, cols - 1)];
                    }
                char what[64];
                snprintf(what, sizeof what, "%dx%d rotated %g%s", rows, cols, angles[a],
                         flip ? " and flipped" : "");
                scnn_augment_image(x, y, rows, cols, angles[a], flip);
                assert_same_image(what, y, want, rows, cols);
            }
        }
        free(x), free(y), free(want);
    }

    /* Direction, in words: a bright pixel near the top right goes to the bottom right. */
    uint8_t img[28 * 28] = {0}, out[28 * 28], zero[28 * 28] = {0};
    img[3 * 28 + 24] = 200;
    scnn_augment_image(img, out, 28, 28, 90, false);
    assert_int_equal(out[24 * 28 + 26], 200); /* (3, 24) -> (24, 29 - 3) */
    assert_int_equal(count_diff(out, zero, 28 * 28), 1);
}

static void test_constant_stays_constant(void **state)
{
    static const int values[] = {0, 1, 137, 254, 255};
    static const double angles[] = {-10, -9.99, -3.3, 0.5, 5, 7.3, 10, 33, 45, 90, 177, -300};
    uint8_t x[28 * 28], y[28 * 28];
    for (int v = 0; v < 5; v++) {
        memset(x, values[v], sizeof x);
        for (int a = 0; a < 12; a++)
            for (int f = 0; f < 2; f++) {
                scnn_augment_image(x, y, 28, 28, angles[a], f);
                for (int i = 0; i < 28 * 28; i++)
                    if (y[i] != values[v])
                        fail_msg("constant %d rotated %g: pixel %d is %d", values[v], angles[a],
                                 i, y[i]);
            }
    }
}

/* ---- the scipy / Keras golden ---------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* $SCNN_AUGMENT_GOLDEN, else from the repository root, else relative to the binary. */
static uint8_t *golden_read(size_t *len)
{
    return tu_read_golden("augment_golden.bin", "SCNN_AUGMENT_GOLDEN", len);
}

typedef struct golden_image {
    int rows, cols;
    const uint8_t *pixels;
} golden_image;

/* Runs every golden case through f (angle as given, or transformed by variant) and returns
 * the number of pixels that differ from the expected bytes; with strict, fails on any pixel
 * that differs by more than one grey level or whose scipy value is not a near-tie. */
enum variant { AS_GIVEN, OPPOSITE_ANGLE, FLIP_FIRST };

static size_t golden_run(enum variant v, bool strict, size_t *pixels, int *max_diff)
{
    size_t len = 0;
    uint8_t *blob = golden_read(&len);
    if (!blob)
        fail_msg("cannot read tests/golden/augment_golden.bin (run from the repository root or "
                 "set SCNN_AUGMENT_GOLDEN)");
    if (len < 20 || memcmp(blob, "SCNNAUG1", 8) != 0 || rd32(blob + 8) != 1)
        fail_msg("augment_golden.bin: bad magic or version");
    uint32_t n_images = rd32(blob + 12), n_cases = rd32(blob + 16);
    golden_image img[16];
    size_t off = 20, diffs = 0;
    assert_true(n_images >= 1 && n_images <= 16 && n_cases >= 1);
    for (uint32_t k = 0; k < n_images; k++) {
        assert_true(off + 8 <= len);
        img[k].rows = (int)rd32(blob + off);
        img[k].cols = (int)rd32(blob + off + 4);
        assert_true(img[k].rows >= 1 && img[k].rows <= 64 && img[k].cols >= 1 &&
                    img[k].cols <= 64);
        img[k].pixels = blob + off + 8;
        off += 8 + (size_t)img[k].rows * img[k].cols;
    }
    *pixels = 0;
    *max_diff = 0;
    uint8_t got[64 * 64], tmp[64 * 64];
    for (uint32_t t = 0; t < n_cases; t++) {
        assert_true(off + 16 <= len);
        uint32_t k = rd32(blob + off), flip = rd32(blob + off + 4);
        double angle;
        memcpy(&angle, blob + off + 8, 8);
        assert_true(k < n_images && flip <= 1);
        int rows = img[k].rows, cols = img[k].cols, n = rows * cols;
        const uint8_t *value = blob + off + 16, *want = value + 4 * (size_t)n;
        off += 16 + 5 * (size_t)n;
        assert_true(off <= len);
        if (v == FLIP_FIRST) {
            /* what a geometric centre would make equal: mirror, then turn the other way */
            scnn_augment_image(img[k].pixels, tmp, rows, cols, 0, flip);
            scnn_augment_image(tmp, got, rows, cols, flip ? -angle : angle, false);
        } else {
            scnn_augment_image(img[k].pixels, got, rows, cols, v == OPPOSITE_ANGLE ? -angle : angle,
                               flip);
        }
        for (int i = 0; i < n; i++) {
            if (got[i] == want[i])
                continue;
            diffs++;
            int d = abs(got[i] - want[i]);
            *max_diff = d > *max_diff ? d : *max_diff;
            if (!strict)
                continue;
            uint32_t u = rd32(value + 4 * (size_t)i);
            float f;
            memcpy(&f, &u, 4);
            double frac = (double)f - floor((double)f);
            if (d > 1 || fabs(frac - 0.5) > 1e-4)
                fail_msg("golden case %u (image %u, %gx%d, angle %g, flip %u): pixel (%d, %d) "
                         "is %d, scipy gives %.6f -> %d", t, k, (double)rows, cols, angle, flip,
                         i / cols, i % cols, got[i], (double)f, want[i]);
        }
        *pixels += (size_t)n;
    }
    assert_int_equal(off, len);
    free(blob);
    return diffs;
}

/* Tolerance: one grey level, and only where scipy's float32 value lies within 1e-4 of a .5
 * rounding boundary (the C code repeats scipy's double arithmetic, so only an ulp-level
 * difference, e.g. in libm's sin/cos or numpy's dot, could move such a value across). */
static void test_golden(void **state)
{
    size_t pixels = 0;
    int max_diff = 0;
    size_t diffs = golden_run(AS_GIVEN, true, &pixels, &max_diff);
    printf("  golden: %zu pixels, %zu differ from scipy/Keras (max %d grey level)\n", pixels, diffs,
           max_diff);

    /* The golden is sharp enough to see the conventions: the opposite direction, and the flip
     * before the rotation (equivalent only about the geometric centre), both fail it. */
    size_t p2 = 0, p3 = 0;
    int m2 = 0, m3 = 0;
    size_t d2 = golden_run(OPPOSITE_ANGLE, false, &p2, &m2);
    size_t d3 = golden_run(FLIP_FIRST, false, &p3, &m3);
    printf("  golden with the opposite angle: %zu pixels differ (max %d)\n", d2, m2);
    printf("  golden with flip-then-rotate(-angle): %zu pixels differ (max %d)\n", d3, m3);
    assert_true(d2 > pixels / 4);
    assert_true(d3 > pixels / 8);
}

/* ---- randomness ---------------------------------------------------------------------------- */

static void test_draws(void **state)
{
    double lo = 1e9, hi = -1e9, sum = 0;
    int flips = 0, flips_pos = 0, pos = 0, same = 0;
    const int n = 10000;
    for (int i = 0; i < n; i++) {
        double a, a2;
        bool f, f2;
        scnn_augment_draw(42, (size_t)i, 1, &a, &f);
        assert_true(a >= -10.0 && a < 10.0);
        lo = a < lo ? a : lo;
        hi = a > hi ? a : hi;
        sum += a;
        flips += f;
        pos += a > 0;
        flips_pos += f && a > 0;
        scnn_augment_draw(42, (size_t)i, 1, &a2, &f2);
        assert_true(a2 == a && f2 == f);
        scnn_augment_draw(42, (size_t)i, 2, &a2, &f2);
        same += a2 == a;
    }
    double mean = sum / n;
    printf("  %d draws: angle min %.4f max %.4f mean %.4f; flips %.2f%% (%.2f%% of positive "
           "angles)\n", n, lo, hi, mean, 100.0 * flips / n, 100.0 * flips_pos / pos);
    assert_true(lo < -9.9 && hi > 9.9);
    assert_true(fabs(mean) < 0.25); /* the standard error is 10/sqrt(3)/100 = 0.058 */
    assert_true(abs(flips - n / 2) <= n / 50);
    assert_true(fabs((double)flips_pos / pos - 0.5) < 0.03);
    assert_true(same < 5); /* copies 1 and 2 draw independently */
}

/* ---- the data set -------------------------------------------------------------------------- */

static scnn_dataset small_set(size_t n, int rows, int cols)
{
    scnn_dataset d = {n, rows, cols, malloc(n * rows * cols), malloc(n)};
    for (size_t i = 0; i < n; i++) {
        uint8_t *img = noise_image(rows, cols, 1000 + i);
        memcpy(d.images + i * rows * cols, img, (size_t)rows * cols);
        free(img);
        d.labels[i] = (uint8_t)((i * 7) % 10);
    }
    return d;
}

static void expect_ok(scnn_status st)
{
    if (st != SCNN_OK)
        fail_msg("%s: %s", scnn_status_name(st), scnn_last_error());
}

static void test_dataset(void **state)
{
    const size_t n = 37;
    const int px = 28 * 28;
    scnn_dataset in = small_set(n, 28, 28), out = {0}, again = {0}, other = {0};
    expect_ok(scnn_augment_dataset(&out, &in, 2, 7));
    assert_int_equal(out.n, 3 * n);
    assert_int_equal(out.rows, 28);
    assert_int_equal(out.cols, 28);
    assert_memory_equal(out.images, in.images, n * px);
    uint8_t want[28 * 28];
    for (size_t b = 0; b < 3; b++)
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(out.labels[b * n + i], in.labels[i]);
            if (b == 0)
                continue;
            double a;
            bool f;
            scnn_augment_draw(7, i, (int)b, &a, &f);
            scnn_augment_image(in.images + i * px, want, 28, 28, a, f);
            assert_memory_equal(out.images + (b * n + i) * px, want, px);
        }
    /* same seed, same bytes; another seed, other bytes (originals aside) */
    expect_ok(scnn_augment_dataset(&again, &in, 2, 7));
    assert_memory_equal(again.images, out.images, 3 * n * px);
    expect_ok(scnn_augment_dataset(&other, &in, 2, 8));
    assert_memory_equal(other.images, out.images, n * px);
    size_t d = count_diff(other.images + n * px, out.images + n * px, 2 * n * px);
    assert_true(d > n * px / 2);
    scnn_dataset_free(&again);
    scnn_dataset_free(&other);

    /* no copies: the originals alone */
    expect_ok(scnn_augment_dataset(&again, &in, 0, 7));
    assert_int_equal(again.n, n);
    assert_memory_equal(again.images, in.images, n * px);
    assert_memory_equal(again.labels, in.labels, n);
    scnn_dataset_free(&again);

    /* non-square images keep their shape */
    scnn_dataset rect = small_set(5, 20, 31);
    expect_ok(scnn_augment_dataset(&again, &rect, 1, 3));
    assert_int_equal(again.n, 10);
    assert_int_equal(again.rows, 20);
    assert_int_equal(again.cols, 31);
    scnn_dataset_free(&again);
    scnn_dataset_free(&rect);

    /* errors leave *out empty */
    assert_int_equal(scnn_augment_dataset(&again, &in, -1, 7), SCNN_ERR_ARG);
    assert_null(again.images);
    assert_int_equal(again.n, 0);
    assert_int_equal(scnn_augment_dataset(&in, &in, 1, 7), SCNN_ERR_ARG);
    scnn_dataset bad = in;
    bad.labels = NULL;
    assert_int_equal(scnn_augment_dataset(&again, &bad, 1, 7), SCNN_ERR_ARG);
    assert_null(again.images);
    assert_non_null(strstr(scnn_last_error(), "augment"));

    scnn_dataset_free(&out);
    scnn_dataset_free(&in);
}

/* 48,000 training images, 2 copies each (the clean protocol's 144,000-image training set). The
 * bound is generous (about 1 s is usual) and only checked outside the sanitizers. */
static void test_timing(void **state)
{
    const size_t n = 48000;
    const size_t px = 28 * 28;
    scnn_dataset in = {n, 28, 28, malloc(n * px), malloc(n)}, out = {0};
    assert_non_null(in.images);
    for (size_t i = 0; i < n * px; i += 8) {
        uint64_t r = tu_rand_u64(5, i);
        memcpy(in.images + i, &r, 8);
    }
    for (size_t i = 0; i < n; i++)
        in.labels[i] = (uint8_t)(i % 10);
    double t0 = scnn_now();
    expect_ok(scnn_augment_dataset(&out, &in, 2, 1));
    double dt = scnn_now() - t0;
    printf("  %zu x 2 augmented copies: %.3f s (%.0f images/s)%s\n", n, dt, 2.0 * n / dt,
           SANITIZED ? ", sanitized build: not checked" : "");
    assert_int_equal(out.n, 3 * n);
    if (!SANITIZED)
        assert_true(dt < 10.0);
    scnn_dataset_free(&out);
    scnn_dataset_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_and_flip),
        cmocka_unit_test(test_right_angles),
        cmocka_unit_test(test_constant_stays_constant),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_draws),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
