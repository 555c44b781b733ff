/* PNG decoding and encoding, the conversions for a user's images, and the seed's PNG folder
 * layout: extract -> load gives the IDX bytes back in the IDX order, re-running extract is safe,
 * a damaged tree is a clear error naming the file, and training from the tree gives the same
 * history as training from the IDX files. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

#include "scnn.h"
#include "datasets/datasets.h"
#include "scnn_png.h"

static bool sanitized(void)
{
    const char *s = getenv("SANITIZE");
    return s && strcmp(s, "1") == 0;
}

static void write_png(const char *path, int w, int h, int depth, int ctype, const uint8_t *data,
                      const png_color *pal, int npal, const uint8_t *trns, int ntrns)
{
    tu_write_png(path, w, h, depth, ctype, data, pal, npal, trns, ntrns, false);
}

static void rand_image(uint8_t *px, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)tu_rand_u64(seed, i);
}

static scnn_image decode_file(const char *path)
{
    scnn_image img;
    if (scnn_png_read(&img, path) != SCNN_OK)
        fail_msg("%s", scnn_last_error());
    return img;
}

/* ---- encode / decode ---------------------------------------------------------------------- */

static void test_encode_decode_round_trip(void **state)
{
    (void)state;
    const int sizes[][2] = {{28, 28}, {1, 1}, {5, 3}, {64, 17}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        uint8_t *px = malloc((size_t)w * h);
        rand_image(px, (size_t)w * h, s);
        uint8_t *a, *b;
        size_t la, lb;
        assert_int_equal(scnn_png_encode_gray8(px, w, h, &a, &la), SCNN_OK);
        assert_int_equal(scnn_png_encode_gray8(px, w, h, &b, &lb), SCNN_OK);
        assert_int_equal(la, lb);   /* deterministic bytes: re-running extract can compare */
        assert_memory_equal(a, b, la);
        scnn_image img;
        assert_int_equal(scnn_png_decode(&img, a, la, "x.png"), SCNN_OK);
        assert_int_equal(img.width, w);
        assert_int_equal(img.height, h);
        assert_int_equal(img.channels, 1);
        assert_string_equal(img.format, "8-bit gray");
        assert_string_equal(img.decoded, "");
        assert_memory_equal(img.px, px, (size_t)w * h);
        scnn_image_free(&img);
        free(a);
        free(b);
        free(px);
    }
}

static void test_decode_conversions(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512];
    uint8_t gray[16], g16[32], rgb[48], rgba[64], ga[32], pal_idx[16], bits[8];
    rand_image(gray, 16, 7);
    for (int i = 0; i < 16; i++) {
        g16[2 * i] = gray[i];       /* v * 257: scales back to exactly v */
        g16[2 * i + 1] = gray[i];
        rgb[3 * i] = gray[i];
        rgb[3 * i + 1] = (uint8_t)(255 - gray[i]);
        rgb[3 * i + 2] = 17;
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = (uint8_t)(i * 17);
        ga[2 * i] = gray[i];
        ga[2 * i + 1] = 255;
        pal_idx[i] = (uint8_t)(i % 4);
    }
    png_color pal[4] = {{0, 0, 0}, {10, 20, 30}, {200, 100, 50}, {255, 255, 255}};
    uint8_t trns[4] = {255, 0, 128, 255};
    memset(bits, 0xA5, sizeof bits);   /* 1-bit gray, 4x4, a byte per row: 1010 */

    struct {
        const char *name, *format, *decoded;
        int depth, ctype, channels;
        const uint8_t *data;
        bool pal, trns;
    } cases[] = {
        {"g16", "16-bit gray", "scaled 16-bit samples to 8 bits", 16, PNG_COLOR_TYPE_GRAY, 1, g16,
         false, false},
        {"rgb", "8-bit RGB", "", 8, PNG_COLOR_TYPE_RGB, 3, rgb, false, false},
        {"rgba", "8-bit RGBA", "", 8, PNG_COLOR_TYPE_RGB_ALPHA, 4, rgba, false, false},
        {"ga", "8-bit gray+alpha", "", 8, PNG_COLOR_TYPE_GRAY_ALPHA, 2, ga, false, false},
        {"pal", "8-bit palette", "expanded the palette to RGB", 8, PNG_COLOR_TYPE_PALETTE, 3,
         pal_idx, true, false},
        {"palt", "8-bit palette+transparency", "expanded the palette to RGB", 8,
         PNG_COLOR_TYPE_PALETTE, 4, pal_idx, true, true},
        {"g1", "1-bit gray", "expanded 1-bit gray to 8 bits", 1, PNG_COLOR_TYPE_GRAY, 1, bits,
         false, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(path, sizeof path, "%s/%s.png", dir, cases[c].name);
        write_png(path, 4, 4, cases[c].depth, cases[c].ctype, cases[c].data,
                  cases[c].pal ? pal : NULL, 4, cases[c].trns ? trns : NULL, 4);
        scnn_image img = decode_file(path);
        assert_string_equal(img.format, cases[c].format);
        assert_string_equal(img.decoded, cases[c].decoded);
        assert_int_equal(img.channels, cases[c].channels);
        assert_int_equal(img.width, 4);
        for (int i = 0; i < 16; i++) {
            const uint8_t *p = img.px + i * img.channels;
            switch (c) {
            case 0: assert_int_equal(p[0], gray[i]); break;
            case 1: assert_memory_equal(p, rgb + 3 * i, 3); break;
            case 2: assert_memory_equal(p, rgba + 4 * i, 4); break;
            case 3: assert_memory_equal(p, ga + 2 * i, 2); break;
            case 4: assert_memory_equal(p, &pal[i % 4], 3); break;
            case 5:
                assert_memory_equal(p, &pal[i % 4], 3);
                assert_int_equal(p[3], trns[i % 4]);
                break;
            case 6: assert_int_equal(p[0], i % 2 ? 0 : 255); break;   /* every row 1010 */
            }
        }
        scnn_image_free(&img);
    }

    /* Interlaced (Adam7): the same pixels. */
    uint8_t px[SCNN_PIXELS];
    rand_image(px, SCNN_PIXELS, 8);
    snprintf(path, sizeof path, "%s/adam7.png", dir);
    tu_write_png(path, 28, 28, 8, PNG_COLOR_TYPE_GRAY, px, NULL, 0, NULL, 0, true);
    uint8_t got[SCNN_PIXELS];
    assert_int_equal(scnn_png_read_gray8(path, got, 28, 28), SCNN_OK);
    assert_memory_equal(got, px, SCNN_PIXELS);
    tu_rmrf(dir);
    free(dir);
}

/* ---- a user's image as the model's input --------------------------------------------------- */

static scnn_image make_image(int w, int h, int ch)
{
    scnn_image img = {.width = w, .height = h, .channels = ch};
    img.px = calloc((size_t)w * h * ch, 1);
    assert_non_null(img.px);
    strcpy(img.format, "8-bit test");
    return img;
}

static void test_to_input(void **state)
{
    (void)state;
    uint8_t src[SCNN_PIXELS], out[SCNN_PIXELS];
    char notes[1024];
    rand_image(src, SCNN_PIXELS, 3);
    for (int i = 0; i < SCNN_IMG_W; i++) {   /* a dark border, as in the data sets */
        src[i] = src[SCNN_PIXELS - 1 - i] = 0;
        src[i * SCNN_IMG_W] = src[i * SCNN_IMG_W + SCNN_IMG_W - 1] = 0;
    }

    /* 28x28 gray passes through untouched, without a note; --invert is 255 - v. */
    scnn_image g = make_image(28, 28, 1);
    memcpy(g.px, src, SCNN_PIXELS);
    assert_int_equal(scnn_image_to_input(&g, false, out, notes, sizeof notes), SCNN_OK);
    assert_memory_equal(out, src, SCNN_PIXELS);
    assert_string_equal(notes, "");
    assert_int_equal(scnn_image_to_input(&g, true, out, notes, sizeof notes), SCNN_OK);
    for (int i = 0; i < SCNN_PIXELS; i++)
        assert_int_equal(out[i], 255 - src[i]);
    assert_non_null(strstr(notes, "try without --invert"));   /* the border is now white */
    scnn_image_free(&g);

    /* RGB: BT.601 luma, rounded. */
    scnn_image c = make_image(28, 28, 3);
    for (int i = 0; i < SCNN_PIXELS; i++) {
        c.px[3 * i] = (uint8_t)(i % 7 * 30);
        c.px[3 * i + 1] = (uint8_t)(i % 5 * 50);
        c.px[3 * i + 2] = src[i];
    }
    c.px[0] = 255; c.px[1] = 0; c.px[2] = 0;   /* pure red: 76.245 -> 76 */
    assert_int_equal(scnn_image_to_input(&c, false, out, notes, sizeof notes), SCNN_OK);
    assert_int_equal(out[0], 76);
    for (int i = 1; i < SCNN_PIXELS; i++) {
        double y = 0.299 * c.px[3 * i] + 0.587 * c.px[3 * i + 1] + 0.114 * c.px[3 * i + 2];
        assert_int_equal(out[i], (int)(y + 0.5));
    }
    assert_non_null(strstr(notes, "converted RGB to gray (luma 0.299 R + 0.587 G + 0.114 B)"));
    scnn_image_free(&c);

    /* 56x56 made of 2x2 blocks: area averaging gives the original back exactly. */
    scnn_image big = make_image(56, 56, 1);
    for (int y = 0; y < 56; y++)
        for (int x = 0; x < 56; x++)
            big.px[y * 56 + x] = src[(y / 2) * 28 + x / 2];
    assert_int_equal(scnn_image_to_input(&big, false, out, notes, sizeof notes), SCNN_OK);
    assert_memory_equal(out, src, SCNN_PIXELS);
    assert_string_equal(notes, "resized 56x56 to 28x28 (area average)");
    scnn_image_free(&big);

    /* 64x64 of one value stays that value; a ramp stays monotonic. */
    scnn_image r = make_image(64, 64, 1);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            r.px[y * 64 + x] = (uint8_t)(x * 4);
    assert_int_equal(scnn_image_to_input(&r, false, out, notes, sizeof notes), SCNN_OK);
    for (int y = 0; y < 28; y++)
        for (int x = 1; x < 28; x++) {
            assert_true(out[y * 28 + x] > out[y * 28 + x - 1]);
            assert_int_equal(out[y * 28 + x], out[x]);
        }
    scnn_image_free(&r);

    /* Not square: centred on black (white before --invert), proportions kept. */
    scnn_image wide = make_image(28, 14, 1);
    memcpy(wide.px, src + 7 * 28, 14 * 28);
    assert_int_equal(scnn_image_to_input(&wide, false, out, notes, sizeof notes), SCNN_OK);
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            assert_int_equal(out[y * 28 + x], y >= 7 && y < 21 ? src[y * 28 + x] : 0);
    assert_string_equal(notes, "centred 28x14 on a 28x28 black square");
    assert_int_equal(scnn_image_to_input(&wide, true, out, notes, sizeof notes), SCNN_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[10 * 28 + 5], 255 - src[10 * 28 + 5]);
    assert_non_null(strstr(notes, "28x28 white square"));
    scnn_image_free(&wide);

    /* Alpha: transparent pixels become the background, black either way after --invert. */
    scnn_image a = make_image(28, 28, 2);
    for (int i = 0; i < SCNN_PIXELS; i++) {
        a.px[2 * i] = 200;
        a.px[2 * i + 1] = (uint8_t)(i < 14 ? 0 : i < 28 ? 128 : 255);
    }
    assert_int_equal(scnn_image_to_input(&a, false, out, notes, sizeof notes), SCNN_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[20], (int)(200 * 128 / 255.0 + 0.5));
    assert_int_equal(out[100], 200);
    assert_non_null(strstr(notes, "composited transparent pixels on black"));
    assert_int_equal(scnn_image_to_input(&a, true, out, notes, sizeof notes), SCNN_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[100], 55);
    assert_non_null(strstr(notes, "composited transparent pixels on white"));
    scnn_image_free(&a);

    /* A photo-like light background gets the --invert hint. */
    scnn_image l = make_image(28, 28, 1);
    memset(l.px, 240, SCNN_PIXELS);
    assert_int_equal(scnn_image_to_input(&l, false, out, notes, sizeof notes), SCNN_OK);
    assert_non_null(strstr(notes, "try --invert"));
    scnn_image_free(&l);
}

/* ---- malformed PNGs ----------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Sets IHDR's width and height and fixes its CRC, so that only the dimensions are wrong. */
static void set_dims(uint8_t *png, uint32_t w, uint32_t h)
{
    put_be32(png + 16, w);
    put_be32(png + 20, h);
    put_be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
}

static void expect_error(const void *data, size_t len, const char *want)
{
    scnn_image img;
    scnn_status st = scnn_png_decode(&img, data, len, "bad.png");
    if (st == SCNN_OK || !strstr(scnn_last_error(), want) ||
        strncmp(scnn_last_error(), "bad.png: ", 9) != 0)
        fail_msg("want an error with '%s', got status %d: %s", want, st, scnn_last_error());
    assert_null(img.px);
}

static void test_decode_malformed(void **state)
{
    (void)state;
    uint8_t px[SCNN_PIXELS], *good;
    size_t len;
    rand_image(px, SCNN_PIXELS, 11);
    assert_int_equal(scnn_png_encode_gray8(px, 28, 28, &good, &len), SCNN_OK);
    uint8_t *bad = malloc(len);

    expect_error(good, 0, "empty file");
    expect_error("hello, world\n", 13, "not a PNG (no PNG signature)");
    expect_error("\xff\xd8\xff\xe0\0\x10JFIF", 10, "looks like a JPEG image");
    expect_error("GIF89a\1\0\1\0", 10, "looks like a GIF image");
    expect_error("\x89PNG\n\x1a\n\0\0\0", 10, "damaged signature");
    expect_error(good, len / 2, "truncated PNG");
    expect_error(good, len - 12, "truncated PNG");   /* IEND missing */
    expect_error(good, 20, "truncated PNG");          /* inside IHDR */

    /* IHDR ends at 33; IDAT's data starts at 41 and its CRC ends 12 bytes before the end. */
    assert_memory_equal(good + 37, "IDAT", 4);
    memcpy(bad, good, len);
    bad[30] ^= 0x01;
    expect_error(bad, len, "corrupt PNG: checksum (CRC) mismatch: IHDR: CRC error");
    memcpy(bad, good, len);
    bad[len - 13] ^= 0x01;
    expect_error(bad, len, "corrupt PNG: checksum (CRC) mismatch: IDAT: CRC error");
    memcpy(bad, good, len);
    bad[41 + 10] ^= 0x40;   /* zlib's own check catches this before the CRC */
    expect_error(bad, len, "corrupt PNG: IDAT: ");

    memcpy(bad, good, len);
    set_dims(bad, 100000, 100000);
    expect_error(bad, len, "100000x100000 pixels, larger than the 4096x4096 accepted");
    set_dims(bad, 4097, 1);
    expect_error(bad, len, "4097x1 pixels");
    set_dims(bad, 0, 28);
    expect_error(bad, len, "corrupt PNG");
    set_dims(bad, 0x80000000u, 28);
    expect_error(bad, len, "2147483648x28 pixels");

    /* Every prefix and every single-byte corruption fails cleanly or decodes: no crash, no
     * leak (the sanitizer build checks), never a partial image. */
    for (size_t n = 0; n < len; n++) {
        scnn_image img;
        assert_int_not_equal(scnn_png_decode(&img, good, n, "p.png"), SCNN_OK);
        assert_null(img.px);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= (uint8_t)(1u << (i % 8));
        scnn_image img;
        if (scnn_png_decode(&img, bad, len, "f.png") == SCNN_OK) {
            assert_non_null(img.px);
            scnn_image_free(&img);
        } else {
            assert_null(img.px);
            assert_non_null(strstr(scnn_last_error(), "f.png: "));
        }
    }

    /* Strict reading for the tree: anything but 28x28 8-bit gray is refused, naming the file. */
    char *dir = tu_mkdtemp(), path[512];
    uint8_t rgb[SCNN_PIXELS * 3] = {0}, out[SCNN_PIXELS];
    snprintf(path, sizeof path, "%s/rgb.png", dir);
    write_png(path, 28, 28, 8, PNG_COLOR_TYPE_RGB, rgb, NULL, 0, NULL, 0);
    assert_int_equal(scnn_png_read_gray8(path, out, 28, 28), SCNN_ERR_SHAPE);
    assert_non_null(strstr(scnn_last_error(), "rgb.png: 28x28 8-bit RGB image, want 28x28 8-bit"));
    snprintf(path, sizeof path, "%s/small.png", dir);
    assert_int_equal(scnn_png_write_gray8(path, px, 27, 28), SCNN_OK);
    assert_int_equal(scnn_png_read_gray8(path, out, 28, 28), SCNN_ERR_SHAPE);
    snprintf(path, sizeof path, "%s/missing.png", dir);
    assert_int_equal(scnn_png_read_gray8(path, out, 28, 28), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), "missing.png: cannot open"));
    assert_int_equal(scnn_png_read_gray8(dir, out, 28, 28), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), "not a regular file"));
    tu_rmrf(dir);
    free(dir);
    free(bad);
    free(good);
}

/* ---- the folder layout ------------------------------------------------------------------- */

static size_t count_files(const char *dir, const char *pattern)
{
    char *out;
    assert_int_equal(tu_run(&out, "find '%s' -type f -name '%s' | wc -l", dir, pattern), 0);
    size_t n = strtoul(out, NULL, 10);
    free(out);
    return n;
}

static scnn_dataset idx_cache[2][2];   /* [fashion_mnist, mnist][train, t10k], loaded once */

static void assert_same_as_idx(const scnn_dataset *t, const char *dataset, const char *part,
                               size_t n)
{
    scnn_dataset *idx = &idx_cache[strcmp(dataset, "mnist") == 0][strcmp(part, "t10k") == 0];
    if (!idx->images && scnn_dataset_load_dir(idx, tu_data_dir(dataset), part) != SCNN_OK)
        fail_msg("%s", scnn_last_error());
    assert_int_equal(t->n, n);
    assert_int_equal(t->rows, 28);
    assert_int_equal(t->cols, 28);
    assert_memory_equal(t->images, idx->images, n * SCNN_PIXELS);
    assert_memory_equal(t->labels, idx->labels, n);
}

static void test_extract_and_load_round_trip(void **state)
{
    (void)state;
    char *root = tu_mkdtemp(), *out, path[1024], p2[1024];
    int rc = tu_run(&out, "%s extract --dataset all --limit 200 --out %s", tu_scnn(), root);
    if (rc != 0 || !strstr(out, "fashion_mnist: 400 PNGs (200 train, 200 test)") ||
        !strstr(out, "mnist: 400 PNGs") || !strstr(out, "400 written, 0 already there"))
        fail_msg("extract (%d):\n%s", rc, out);
    free(out);
    assert_int_equal(count_files(root, "*"), 800);
    const char *sets[] = {"fashion_mnist", "mnist"};
    for (int s = 0; s < 2; s++)
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < 10; c++) {
                snprintf(path, sizeof path, "%s/%s/%s/%d", root, p ? "test" : "train", sets[s],
                         c);
                struct stat sb;
                assert_int_equal(stat(path, &sb), 0);
                assert_true(S_ISDIR(sb.st_mode));
            }
    /* data/train/fashion_mnist/<label>/<index>.png: index 0 of Fashion-MNIST is an ankle boot. */
    snprintf(path, sizeof path, "%s/train/fashion_mnist/9/0.png", root);
    assert_int_equal(access(path, R_OK), 0);

    /* The root with a data set name, the class-folder trees, and their siblings. */
    for (int s = 0; s < 2; s++) {
        scnn_dataset t;
        assert_int_equal(scnn_dataset_load(&t, root, sets[s], "train"), SCNN_OK);
        assert_same_as_idx(&t, sets[s], "train", 200);
        scnn_dataset_free(&t);
        snprintf(path, sizeof path, "%s/train/%s", root, sets[s]);
        assert_int_equal(scnn_dataset_load_dir(&t, path, "t10k"), SCNN_OK);
        assert_same_as_idx(&t, sets[s], "t10k", 200);
        scnn_dataset_free(&t);
        snprintf(path, sizeof path, "%s/test/%s/", root, sets[s]);
        assert_int_equal(scnn_dataset_load_dir(&t, path, "train"), SCNN_OK);
        assert_same_as_idx(&t, sets[s], "train", 200);
        scnn_dataset_free(&t);
    }
    /* Two data sets under one root: load_dir cannot know which, and says so. */
    scnn_dataset t;
    assert_int_equal(scnn_dataset_load_dir(&t, root, "train"), SCNN_ERR_ARG);
    assert_non_null(strstr(scnn_last_error(), "holds several data sets"));
    snprintf(path, sizeof path, "%s/train/fashion_mnist", root);
    assert_int_equal(scnn_dataset_load(&t, path, "mnist", "train"), SCNN_ERR_ARG);
    assert_non_null(strstr(scnn_last_error(), "holds fashion_mnist images, not mnist"));
    /* IDX folders still load as before. */
    assert_false(scnn_png_tree_detect(tu_data_dir("fashion_mnist")));

    /* Re-running keeps everything; then damage repairs: a truncated file, an index copied
     * into the wrong class folder, a leftover temporary file. */
    rc = tu_run(&out, "%s extract --limit 200 --out %s", tu_scnn(), root);
    if (rc != 0 || !strstr(out, "0 written, 400 already there, 0 stale removed"))
        fail_msg("re-run (%d):\n%s", rc, out);
    free(out);
    snprintf(path, sizeof path, "%s/train/fashion_mnist/9/0.png", root);
    snprintf(p2, sizeof p2, "%s/train/fashion_mnist/3/0.png", root);
    assert_int_equal(tu_run(NULL, "cp %s %s", path, p2), 0);
    assert_int_equal(truncate(path, 30), 0);
    snprintf(p2, sizeof p2, "%s/train/fashion_mnist/2/.5.png.tmp.12345", root);
    tu_write_file(p2, "junk", 4);
    assert_int_equal(scnn_dataset_load(&t, root, "fashion_mnist", "train"), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "index 0 is there twice: 3/0.png and 9/0.png"));
    rc = tu_run(&out, "%s extract --limit 200 --out %s", tu_scnn(), root);
    if (rc != 0 || !strstr(out, "1 written, 399 already there, 2 stale removed"))
        fail_msg("repair (%d):\n%s", rc, out);
    free(out);
    assert_int_equal(scnn_dataset_load(&t, root, "fashion_mnist", "train"), SCNN_OK);
    assert_same_as_idx(&t, "fashion_mnist", "train", 200);
    scnn_dataset_free(&t);
    assert_int_equal(count_files(root, "*"), 800);
    for (int i = 0; i < 4; i++)
        scnn_dataset_free(&idx_cache[i / 2][i % 2]);
    tu_rmrf(root);
    free(root);
}

/* A small synthetic tree (30 images, all classes) under a fresh root; returns the root. */
static char *small_tree(scnn_dataset *ds)
{
    ds->n = 30;
    ds->rows = ds->cols = 28;
    ds->images = malloc(30 * SCNN_PIXELS);
    ds->labels = malloc(30);
    rand_image(ds->images, 30 * SCNN_PIXELS, 5);
    for (int i = 0; i < 30; i++)
        ds->labels[i] = (uint8_t)(tu_rand_u64(6, (uint64_t)i) % 10);
    char *root = tu_mkdtemp();
    scnn_extract_stats st;
    assert_int_equal(scnn_png_tree_extract(ds, root, "toy", "train", 0, NULL, NULL, NULL, &st),
                     SCNN_OK);
    assert_int_equal(st.written, 30);
    return root;
}

static void expect_tree_error(const char *root, const char *want1, const char *want2)
{
    scnn_dataset t;
    scnn_status st = scnn_png_tree_load(&t, root, NULL, "train");
    if (st == SCNN_OK || !strstr(scnn_last_error(), want1) ||
        (want2 && !strstr(scnn_last_error(), want2)))
        fail_msg("want an error with '%s' and '%s', got %d: %s", want1, want2 ? want2 : "", st,
                 scnn_last_error());
    assert_null(t.images);
}

static void test_tree_errors(void **state)
{
    (void)state;
    scnn_dataset ds;
    char *root = small_tree(&ds), path[1024], p2[1024], base[600];
    snprintf(base, sizeof base, "%s/train/toy", root);
    int l3 = ds.labels[3], l4 = ds.labels[4], other = (l3 + 1) % 10;

    scnn_dataset t;
    assert_int_equal(scnn_png_tree_load(&t, root, NULL, "train"), SCNN_OK);
    assert_int_equal(t.n, 30);
    assert_memory_equal(t.images, ds.images, 30 * SCNN_PIXELS);
    assert_memory_equal(t.labels, ds.labels, 30);
    scnn_dataset_free(&t);
    /* Hidden files are ignored. */
    snprintf(path, sizeof path, "%s/%d/.DS_Store", base, l3);
    tu_write_file(path, "x", 1);
    assert_int_equal(scnn_png_tree_load(&t, root, NULL, "train"), SCNN_OK);
    scnn_dataset_free(&t);
    /* No test part, and a folder that is no tree at all. */
    assert_int_equal(scnn_png_tree_load(&t, root, NULL, "t10k"), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), "/test: cannot open"));
    snprintf(path, sizeof path, "%s/train", root);
    assert_int_equal(scnn_png_tree_load(&t, path, NULL, "train"), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "not a PNG tree"));

    /* Missing index (re-extracting puts it back). */
    snprintf(path, sizeof path, "%s/%d/4.png", base, l4);
    assert_int_equal(unlink(path), 0);
    expect_tree_error(root, "no image with index 4", "29 images, indices up to 29");
    scnn_extract_stats st;
    assert_int_equal(scnn_png_tree_extract(&ds, root, "toy", "train", 0, NULL, NULL, NULL, &st),
                     SCNN_OK);
    assert_int_equal(st.written, 1);
    /* A duplicate in another class folder. */
    snprintf(p2, sizeof p2, "%s/%d/3.png", base, other);
    assert_int_equal(tu_run(NULL, "cp %s/%d/3.png %s", base, l3, p2), 0);
    expect_tree_error(root, "index 3 is there twice", NULL);
    unlink(p2);
    /* Names that are not <index>.png. */
    const char *names[] = {"abc.png", "05.png", "5.PNG", "5.png.txt", "-1.png", "99999999999.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p2, sizeof p2, "%s/%d/%s", base, l3, names[i]);
        tu_write_file(p2, "x", 1);
        expect_tree_error(root, names[i], "not an image name");
        unlink(p2);
    }
    /* Unexpected entries beside the class folders. */
    snprintf(p2, sizeof p2, "%s/10", base);
    assert_int_equal(mkdir(p2, 0755), 0);
    expect_tree_error(root, "/train/toy/10: unexpected folder", NULL);
    rmdir(p2);
    snprintf(p2, sizeof p2, "%s/README", base);
    tu_write_file(p2, "x", 1);
    expect_tree_error(root, "/train/toy/README: unexpected file", NULL);
    unlink(p2);
    /* Bad PNGs: garbage, an RGB image, the wrong size. */
    snprintf(p2, sizeof p2, "%s/%d/3.png", base, l3);
    tu_write_file(p2, "garbage", 7);
    expect_tree_error(root, "/3.png: not a PNG", NULL);
    uint8_t rgb[SCNN_PIXELS * 3] = {0};
    write_png(p2, 28, 28, 8, PNG_COLOR_TYPE_RGB, rgb, NULL, 0, NULL, 0);
    expect_tree_error(root, "/3.png: 28x28 8-bit RGB image, want 28x28 8-bit gray", NULL);
    assert_int_equal(scnn_png_write_gray8(p2, rgb, 28, 27), SCNN_OK);
    expect_tree_error(root, "/3.png: 28x27 8-bit gray image", NULL);
    /* Re-extracting repairs the tree. */
    assert_int_equal(scnn_png_tree_extract(&ds, root, "toy", "train", 0, NULL, NULL, NULL, &st),
                     SCNN_OK);
    assert_int_equal(st.written, 1);
    assert_int_equal(scnn_png_tree_load(&t, root, NULL, "train"), SCNN_OK);
    assert_memory_equal(t.images, ds.images, 30 * SCNN_PIXELS);
    scnn_dataset_free(&t);

    /* A class-folder tree must sit under train/ or test/. */
    snprintf(p2, sizeof p2, "%s/elsewhere", root);
    assert_int_equal(rename(base, p2), 0);
    assert_int_equal(scnn_png_tree_load(&t, p2, NULL, "train"), SCNN_ERR_ARG);
    assert_non_null(strstr(scnn_last_error(), "must be ROOT/train/<name> or ROOT/test/<name>"));
    assert_int_equal(rename(p2, base), 0);

    /* A stop request (a signal) ends extraction between files: no partial PNG, and the
     * files written so far are complete. */
    char *root2 = tu_mkdtemp();
    volatile sig_atomic_t stop = 1;
    assert_int_equal(scnn_png_tree_extract(&ds, root2, "toy", "train", 0, NULL, NULL, &stop, &st),
                     SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), "interrupted after 0 of 30 images"));
    assert_int_equal(count_files(root2, "*"), 0);
    tu_rmrf(root2);
    free(root2);
    tu_rmrf(root);
    free(root);
    scnn_dataset_free(&ds);
}

/* ---- training from the tree ----------------------------------------------------------------- */

/* history.csv without its timing columns (seconds, images_per_s: the last two). */
static char *history_without_times(const char *path)
{
    size_t len;
    char *raw = tu_read_file(path, &len);
    if (!raw)
        fail_msg("cannot read %s", path);
    char *s = malloc(len + 1);   /* tu_read_file's bytes are not NUL-terminated */
    memcpy(s, raw, len);
    s[len] = 0;
    free(raw);
    char *out = malloc(len + 1);
    size_t o = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strrchr(line, ',');
        assert_non_null(c1);
        *c1 = 0;
        char *c2 = strrchr(line, ',');
        assert_non_null(c2);
        *c2 = 0;
        o += (size_t)sprintf(out + o, "%s\n", line);
    }
    out[o] = 0;
    free(s);
    return out;
}

static void test_train_from_tree_same_history(void **state)
{
    (void)state;
    int limit = sanitized() ? 40 : 200, batch = sanitized() ? 20 : 50;
    char *root = tu_mkdtemp(), *out;
    int rc = tu_run(&out, "%s extract --limit %d --out %s", tu_scnn(), limit, root);
    if (rc != 0)
        fail_msg("extract (%d):\n%s", rc, out);
    free(out);
    const char *train = "SCNN_BACKEND=naive %s train --data %s --limit %d --test-limit %d "
                        "--epochs 1 --batch %d --iterations 1 --augment 0 --seed 3 --no-report "
                        "--out %s/%s";
    rc = tu_run(&out, train, tu_scnn(), root, limit, limit, batch, root, "run-png");
    if (rc != 0)
        fail_msg("train from the tree (%d):\n%s", rc, out);
    free(out);
    rc = tu_run(&out, train, tu_scnn(), tu_data_dir("fashion_mnist"), limit, limit, batch, root,
                "run-idx");
    if (rc != 0)
        fail_msg("train from IDX (%d):\n%s", rc, out);
    free(out);
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/run-png/iter-0/history.csv", root);
    snprintf(pb, sizeof pb, "%s/run-idx/iter-0/history.csv", root);
    char *ha = history_without_times(pa), *hb = history_without_times(pb);
    assert_non_null(strstr(ha, "epoch,loss,acc,val_loss,val_acc\n1,"));
    assert_string_equal(ha, hb);
    free(ha);
    free(hb);

    /* eval reads the tree's test part the same way. */
    char *ea, *eb;
    snprintf(pa, sizeof pa, "%s/run-png/iter-0/best.ckpt", root);
    rc = tu_run(&ea, "SCNN_BACKEND=naive %s eval --model %s --data %s/test/fashion_mnist",
                tu_scnn(), pa, root);
    if (rc != 0)
        fail_msg("eval from the tree (%d):\n%s", rc, ea);
    rc = tu_run(&eb, "SCNN_BACKEND=naive %s eval --model %s --test-limit %d", tu_scnn(), pa, limit);
    if (rc != 0)
        fail_msg("eval from IDX (%d):\n%s", rc, eb);
    const char *keys[] = {"test images:", "test_loss:", "test_acc:"};
    for (int k = 0; k < 3; k++) {
        const char *la = strstr(ea, keys[k]), *lb = strstr(eb, keys[k]);
        if (!la || !lb || strcspn(la, "\n") != strcspn(lb, "\n") ||
            memcmp(la, lb, strcspn(la, "\n")) != 0)
            fail_msg("eval differs at '%s':\n%s\n---\n%s", keys[k], ea, eb);
    }
    free(ea);
    free(eb);
    tu_rmrf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_decode_round_trip),
        cmocka_unit_test(test_decode_conversions),
        cmocka_unit_test(test_to_input),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_extract_and_load_round_trip),
        cmocka_unit_test(test_tree_errors),
        cmocka_unit_test(test_train_from_tree_same_history),
    };
    return cmocka_run_group_tests_name("png", tests, NULL, NULL);
}
