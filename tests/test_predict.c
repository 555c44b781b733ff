/* scnn predict: the same class and probability as scnn_model_evaluate for the same images,
 * --top, --format csv, folders, --invert, converted images (with a note on stderr), and bad
 * images refused on one line each while the good ones given with them are still predicted. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"

#include "scnn.h"
#include "scnn_png.h"

#define N_REF 8

static char *dir;                        /* the test's temporary folder */
static char ckpt[600];
static uint8_t ref_img[N_REF][SCNN_PIXELS];
static float ref_prob[N_REF][SCNN_CLASSES];

static bool sanitized(void)
{
    const char *s = getenv("SANITIZE");
    return s && strcmp(s, "1") == 0;
}

static const char *tmp_path(const char *name)
{
    static char buf[4][700];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_png(const char *path, int w, int h, int depth, int ctype, const uint8_t *data,
                      const png_color *pal, int npal)
{
    tu_write_png(path, w, h, depth, ctype, data, pal, npal, NULL, 0, false);
}

/* A checkpoint trained for a few steps, the first N_REF test images as t<i>.png, and what
 * scnn_model_evaluate says about them. */
static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    snprintf(ckpt, sizeof ckpt, "%s/model.ckpt", dir);
    scnn_dataset train, test;
    if (scnn_dataset_load_dir(&train, tu_data_dir("fashion_mnist"), "train") != SCNN_OK ||
        scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k") != SCNN_OK) {
        fprintf(stderr, "%s\n", scnn_last_error());
        return -1;
    }
    scnn_model *m;
    if (scnn_model_create(&m, 32, &scnn_backend_naive, 5) != SCNN_OK)
        return -1;
    for (int b = 0; b < 3; b++) {
        int correct;
        scnn_model_train_batch(m, train.images + (size_t)b * 32 * SCNN_PIXELS,
                               train.labels + b * 32, 32, &correct);
    }
    scnn_ckpt_meta meta = {.seed = 5, .epoch = 1};
    strcpy(meta.dataset, "fashion_mnist");
    strcpy(meta.backend, "naive");
    if (scnn_checkpoint_save(ckpt, m, &meta) != SCNN_OK)
        return -1;
    scnn_model_free(m);

    scnn_model *e;
    if (scnn_model_create(&e, 8, &scnn_backend_naive, 0) != SCNN_OK ||
        scnn_checkpoint_load(ckpt, e, NULL) != SCNN_OK)
        return -1;
    memcpy(ref_img, test.images, sizeof ref_img);
    scnn_model_evaluate(e, test.images, test.labels, N_REF, NULL, NULL, NULL, &ref_prob[0][0]);
    scnn_model_free(e);
    for (int i = 0; i < N_REF; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d.png", i);
        if (scnn_png_write_gray8(tmp_path(name), ref_img[i], 28, 28) != SCNN_OK)
            return -1;
    }
    scnn_dataset_free(&train);
    scnn_dataset_free(&test);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmrf_free(&dir);
}

/* Runs scnn predict with args; *out gets stdout, *err stderr. Returns the exit status. */
static int predict(char **out, char **err, const char *args)
{
    char *o;
    int rc = tu_run(&o, "(SCNN_BACKEND=naive %s predict --model %s %s 2>%s/stderr)", tu_scnn(),
                    ckpt, args, dir);
    size_t len;
    char *raw = tu_read_file(tmp_path("stderr"), &len);
    assert_non_null(raw);
    char *e = malloc(len + 1);
    memcpy(e, raw, len);
    e[len] = 0;
    free(raw);
    *out = o;
    *err = e;
    return rc;
}

static int argmax(const float *p)
{
    int best = 0;
    for (int c = 1; c < SCNN_CLASSES; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

/* The CSV row of file (stdout of --format csv), or fails. */
static const char *csv_row(const char *out, const char *file)
{
    char key[800];
    snprintf(key, sizeof key, "\n%s,", file);
    const char *r = strstr(out, key);
    if (!r)
        fail_msg("no row for %s in:\n%s", file, out);
    return r + 1;
}

/* Checks a CSV row against the reference probabilities of image i, best k classes. */
static void check_row(const char *row, int i, int k)
{
    const char *p = strchr(row, ',');
    const float *ref = ref_prob[i];
    float prev = 2;
    int taken[SCNN_CLASSES] = {0};
    for (int r = 0; r < k; r++) {
        int c, used;
        char name[64];
        double prob;
        if (sscanf(p, ",%d,%63[^,],%lf%n", &c, name, &prob, &used) != 3)
            fail_msg("bad row: %s", row);
        p += used;
        assert_true(c >= 0 && c < SCNN_CLASSES);
        assert_false(taken[c]);
        taken[c] = 1;
        assert_string_equal(name, scnn_class_names("fashion_mnist")[c]);
        if (!(fabs(prob - ref[c]) <= 6e-7))
            fail_msg("image %d class %d: predict says %.7f, evaluate %.7f", i, c, prob,
                     (double)ref[c]);
        assert_true(ref[c] <= prev);
        prev = ref[c];
        for (int o = 0; o < SCNN_CLASSES; o++)   /* nothing left out is more likely */
            if (!taken[o])
                assert_true(ref[o] <= ref[c]);
    }
}

static void test_matches_evaluate(void **state)
{
    (void)state;
    char args[4096] = "--format csv", *out, *err;
    for (int i = 0; i < N_REF; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), " %s/t%d.png", dir, i);
    int rc = predict(&out, &err, args);
    if (rc != 0 || err[0])
        fail_msg("exit %d, stderr:\n%s", rc, err);
    assert_int_equal(strncmp(out, "file,class,name,prob\n", 21), 0);
    assert_int_equal(tu_count_lines(out), N_REF + 1);
    for (int i = 0; i < N_REF; i++) {
        char f[700];
        snprintf(f, sizeof f, "%s/t%d.png", dir, i);
        const char *row = csv_row(out, f);
        check_row(row, i, 1);
        assert_int_equal(atoi(strchr(row, ',') + 1), argmax(ref_prob[i]));
    }
    free(out);
    free(err);

    /* Text: "FILE: NAME (CLASS) PROB". */
    snprintf(args, sizeof args, "%s/t0.png", dir);
    rc = predict(&out, &err, args);
    assert_int_equal(rc, 0);
    int c = argmax(ref_prob[0]);
    char want[900];
    snprintf(want, sizeof want, "%s/t0.png: %s (%d) %.4f\n", dir,
             scnn_class_names("fashion_mnist")[c], c, (double)ref_prob[0][c]);
    assert_string_equal(out, want);
    free(out);
    free(err);
}

static void test_top_k(void **state)
{
    (void)state;
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "--top 3 --format csv %s/t1.png %s/t2.png", dir, dir);
    assert_int_equal(predict(&out, &err, args), 0);
    assert_int_equal(strncmp(out, "file,class,name,prob,class_2,name_2,prob_2,class_3,name_3,"
                                  "prob_3\n", 61), 0);
    char f[700];
    snprintf(f, sizeof f, "%s/t1.png", dir);
    check_row(csv_row(out, f), 1, 3);
    snprintf(f, sizeof f, "%s/t2.png", dir);
    check_row(csv_row(out, f), 2, 3);
    free(out);
    free(err);

    snprintf(args, sizeof args, "--top=10 %s/t1.png", dir);
    assert_int_equal(predict(&out, &err, args), 0);
    int parens = 0;
    for (const char *p = out; (p = strstr(p, ") 0.")); p++)
        parens++;
    assert_int_equal(parens, 10);
    for (int c = 0; c < SCNN_CLASSES; c++)
        assert_non_null(strstr(out, scnn_class_names("fashion_mnist")[c]));
    free(out);
    free(err);
}

static void test_folder(void **state)
{
    (void)state;
    char sub[700], *out, *err, args[1024];
    snprintf(sub, sizeof sub, "%s/folder", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    const int which[3] = {5, 3, 6};
    const char *names[3] = {"b.png", "a.png", "c.PNG"};
    for (int i = 0; i < 3; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/%s", sub, names[i]);
        assert_int_equal(scnn_png_write_gray8(p, ref_img[which[i]], 28, 28), SCNN_OK);
    }
    char p[800];
    snprintf(p, sizeof p, "%s/notes.txt", sub);
    tu_write_file(p, "not an image", 12);
    snprintf(p, sizeof p, "%s/.hidden.png", sub);
    tu_write_file(p, "not an image", 12);
    snprintf(args, sizeof args, "--format csv %s/", sub);
    assert_int_equal(predict(&out, &err, args), 0);
    assert_int_equal(tu_count_lines(out), 4);
    char *a = strstr(out, "/folder/a.png,"), *b = strstr(out, "/folder/b.png,"),
         *c = strstr(out, "/folder/c.PNG,");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);   /* sorted by name */
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", sub, names[i]);
        check_row(csv_row(out, p), which[i], 1);
    }
    free(out);
    free(err);

    /* A folder without PNGs is a failed input. */
    snprintf(sub, sizeof sub, "%s/empty", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(args, sizeof args, "%s %s/t0.png", sub, dir);
    assert_int_equal(predict(&out, &err, args), 1);
    assert_non_null(strstr(err, "empty: no .png files in this folder"));
    assert_int_equal(tu_count_lines(err), 1);
    assert_int_equal(tu_count_lines(out), 1);
    free(out);
    free(err);
}

static void test_invert(void **state)
{
    (void)state;
    uint8_t inv[SCNN_PIXELS];
    for (int i = 0; i < SCNN_PIXELS; i++)
        inv[i] = (uint8_t)(255 - ref_img[3][i]);
    assert_int_equal(scnn_png_write_gray8(tmp_path("inv.png"), inv, 28, 28), SCNN_OK);
    char args[1024], *out, *err;
    snprintf(args, sizeof args, "--invert --format csv %s/inv.png", dir);
    assert_int_equal(predict(&out, &err, args), 0);
    check_row(csv_row(out, tmp_path("inv.png")), 3, 1);
    assert_string_equal(err, "");
    free(out);
    free(err);
    /* Without --invert, the light border earns a hint. */
    snprintf(args, sizeof args, "%s/inv.png", dir);
    assert_int_equal(predict(&out, &err, args), 0);
    assert_non_null(strstr(err, "inv.png: note: the border is light"));
    assert_non_null(strstr(err, "try --invert"));
    free(out);
    free(err);
}

static void test_converted_images(void **state)
{
    (void)state;
    const uint8_t *g = ref_img[4];
    static uint8_t rgb[SCNN_PIXELS * 3], rgba[SCNN_PIXELS * 4], ga[SCNN_PIXELS * 2],
        g16[SCNN_PIXELS * 2], big[56 * 56], b64[64 * 64], tall[28 * 40];
    for (int i = 0; i < SCNN_PIXELS; i++) {
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = g[i];
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g[i];
        rgba[4 * i + 3] = 255;
        ga[2 * i] = g[i];
        ga[2 * i + 1] = 255;
        g16[2 * i] = g16[2 * i + 1] = g[i];   /* v * 257 */
    }
    for (int y = 0; y < 56; y++)
        for (int x = 0; x < 56; x++)
            big[y * 56 + x] = g[(y / 2) * 28 + x / 2];
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            b64[y * 64 + x] = g[(y * 28 / 64) * 28 + x * 28 / 64];
    memset(tall, 0, sizeof tall);
    for (int y = 0; y < 28; y++)
        memcpy(tall + (y + 6) * 28, g + y * 28, 28);
    png_color pal[256];
    for (int i = 0; i < 256; i++)
        pal[i].red = pal[i].green = pal[i].blue = (png_byte)i;

    write_png(tmp_path("rgb.png"), 28, 28, 8, PNG_COLOR_TYPE_RGB, rgb, NULL, 0);
    write_png(tmp_path("rgba.png"), 28, 28, 8, PNG_COLOR_TYPE_RGB_ALPHA, rgba, NULL, 0);
    write_png(tmp_path("ga.png"), 28, 28, 8, PNG_COLOR_TYPE_GRAY_ALPHA, ga, NULL, 0);
    write_png(tmp_path("g16.png"), 28, 28, 16, PNG_COLOR_TYPE_GRAY, g16, NULL, 0);
    write_png(tmp_path("pal.png"), 28, 28, 8, PNG_COLOR_TYPE_PALETTE, g, pal, 256);
    write_png(tmp_path("big.png"), 56, 56, 8, PNG_COLOR_TYPE_GRAY, big, NULL, 0);
    write_png(tmp_path("b64.png"), 64, 64, 8, PNG_COLOR_TYPE_GRAY, b64, NULL, 0);
    write_png(tmp_path("tall.png"), 28, 40, 8, PNG_COLOR_TYPE_GRAY, tall, NULL, 0);

    char args[4096], *out, *err;
    snprintf(args, sizeof args, "--format csv %s/rgb.png %s/rgba.png %s/ga.png %s/g16.png "
             "%s/pal.png %s/big.png %s/b64.png %s/tall.png", dir, dir, dir, dir, dir, dir, dir,
             dir);
    int rc = predict(&out, &err, args);
    if (rc != 0)
        fail_msg("exit %d:\n%s%s", rc, out, err);
    /* Lossless conversions predict exactly as the gray original. */
    const char *same[] = {"rgb.png", "rgba.png", "ga.png", "g16.png", "pal.png", "big.png"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        check_row(csv_row(out, tmp_path(same[i])), 4, 1);
    csv_row(out, tmp_path("b64.png"));
    csv_row(out, tmp_path("tall.png"));
    /* One note per converted image, saying what was done. */
    const char *notes[][2] = {
        {"rgb.png: note: ", "converted RGB to gray (luma 0.299 R + 0.587 G + 0.114 B)"},
        {"rgba.png: note: ", "converted RGBA to gray"},
        {"g16.png: note: ", "scaled 16-bit samples to 8 bits"},
        {"pal.png: note: ", "expanded the palette to RGB; converted RGB to gray"},
        {"big.png: note: ", "resized 56x56 to 28x28 (area average)"},
        {"b64.png: note: ", "resized 64x64 to 28x28 (area average)"},
        {"tall.png: note: ", "centred 28x40 on a 40x40 black square; resized 40x40 to 28x28"},
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        const char *n = strstr(err, notes[i][0]);
        if (!n || !strstr(n, notes[i][1]) || strstr(n, notes[i][1]) > strchr(n, '\n'))
            fail_msg("want '%s%s' in:\n%s", notes[i][0], notes[i][1], err);
    }
    assert_null(strstr(err, "ga.png: note"));   /* opaque alpha changes nothing */
    assert_int_equal(tu_count_lines(err), 7);
    free(out);
    free(err);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_bad_images(void **state)
{
    (void)state;
    uint8_t *good;
    size_t len;
    assert_int_equal(scnn_png_encode_gray8(ref_img[0], 28, 28, &good, &len), SCNN_OK);
    uint8_t *b = malloc(len);
    tu_write_file(tmp_path("empty.png"), "", 0);
    tu_write_file(tmp_path("text.png"), "just some text\n", 15);
    tu_write_file(tmp_path("photo.jpg"), "\xff\xd8\xff\xe0\0\x10JFIF\0", 11);
    tu_write_file(tmp_path("trunc.png"), good, len / 2);
    memcpy(b, good, len);
    b[30] ^= 1;
    tu_write_file(tmp_path("crc.png"), b, len);
    memcpy(b, good, len);
    b[51] ^= 0x40;
    tu_write_file(tmp_path("idat.png"), b, len);
    memcpy(b, good, len);
    put_be32(b + 16, 100000);
    put_be32(b + 20, 100000);
    put_be32(b + 29, (uint32_t)crc32(0, b + 12, 17));
    tu_write_file(tmp_path("huge.png"), b, len);
    free(b);
    free(good);

    struct {
        const char *file, *why;
    } bad[] = {
        {"empty.png", "empty file (want a PNG image)"},
        {"text.png", "not a PNG (no PNG signature): only PNG is accepted"},
        {"photo.jpg", "not a PNG (looks like a JPEG image)"},
        {"trunc.png", "truncated PNG"},
        {"crc.png", "corrupt PNG: checksum (CRC) mismatch"},
        {"idat.png", "corrupt PNG: IDAT"},
        {"huge.png", "100000x100000 pixels, larger than the 4096x4096 accepted"},
        {"missing.png", "cannot open: No such file or directory"},
    };
    const int nbad = (int)(sizeof bad / sizeof bad[0]);
    char args[4096], *out, *err;
    for (int i = 0; i < nbad; i++) {
        /* Alone: one line, exit 1, nothing on stdout. Memory is capped (not under ASan, which
         * reserves terabytes of address space) to show no giant allocation is tried. */
        snprintf(args, sizeof args, "%s/%s", dir, bad[i].file);
        char *o;
        int rc = predict(&o, &err, args);
        char want[1024];
        snprintf(want, sizeof want, "scnn predict: error: %s/%s: %s", dir, bad[i].file,
                 bad[i].why);
        if (rc != 1 || strncmp(err, want, strlen(want)) != 0 || tu_count_lines(err) != 1 || o[0])
            fail_msg("%s: exit %d, stdout '%s', stderr:\n%s(want '%s')", bad[i].file, rc, o, err,
                     want);
        free(o);
        free(err);
    }
    if (!sanitized()) {
        char *o;
        int rc = tu_run(&o, "ulimit -v 1000000; SCNN_BACKEND=naive %s predict --model %s "
                        "%s/huge.png %s/t0.png", tu_scnn(), ckpt, dir, dir);
        if (rc != 1 || !strstr(o, "larger than the 4096x4096") || !strstr(o, "/t0.png: "))
            fail_msg("under a 1 GB limit: exit %d:\n%s", rc, o);
        free(o);
    }

    /* Together with good images: every good one is predicted, every bad one reported, and
     * the exit status (1) comes at the end. */
    snprintf(args, sizeof args, "--format csv %s/t0.png", dir);
    for (int i = 0; i < nbad; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), " %s/%s", dir, bad[i].file);
    snprintf(args + strlen(args), sizeof args - strlen(args), " %s/t1.png", dir);
    int rc = predict(&out, &err, args);
    assert_int_equal(rc, 1);
    check_row(csv_row(out, tmp_path("t0.png")), 0, 1);
    check_row(csv_row(out, tmp_path("t1.png")), 1, 1);
    assert_int_equal(tu_count_lines(out), 3);
    assert_int_equal(tu_count_lines(err), nbad);
    for (int i = 0; i < nbad; i++)
        assert_non_null(strstr(err, bad[i].why));
    free(out);
    free(err);
}

static void test_usage(void **state)
{
    (void)state;
    struct {
        const char *args, *want;
        int rc;
    } cases[] = {
        {"", "no images: give PNG files or folders of them", 2},
        {"--top 0 x.png", "--top: expected an integer 1..10, got '0'", 2},
        {"--top 11 x.png", "--top: expected an integer 1..10", 2},
        {"--format xml x.png", "--format: expected text or csv, got 'xml'", 2},
        {"--dataset cifar x.png", "unknown dataset 'cifar'", 2},
        {"--bogus x.png", "unknown option '--bogus'", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out, *err;
        int rc = predict(&out, &err, cases[i].args);
        if (rc != cases[i].rc || !strstr(err, cases[i].want) || tu_count_lines(err) != 1)
            fail_msg("'%s': exit %d, stderr:\n%s(want '%s')", cases[i].args, rc, err,
                     cases[i].want);
        free(out);
        free(err);
    }
    /* Without --model: the models of $SCNN_MODELS/<dataset> (tests/test_models.c checks the
     * shipped ones and the error when there are none), the same output as --model gives. */
    char *out, *want;
    assert_int_equal(mkdir(tmp_path("models"), 0755), 0);
    assert_int_equal(mkdir(tmp_path("models/fashion_mnist"), 0755), 0);
    assert_int_equal(symlink(ckpt, tmp_path("models/fashion_mnist/m.ckpt")), 0);
    int rc = tu_run(&out, "SCNN_BACKEND=naive SCNN_MODELS=%s/models %s predict %s/t0.png", dir,
                    tu_scnn(), dir);
    assert_int_equal(rc, 0);
    assert_int_equal(tu_run(&want, "SCNN_BACKEND=naive %s predict --model %s %s/t0.png",
                            tu_scnn(), ckpt, dir), 0);
    assert_string_equal(out, want);
    free(out);
    free(want);
    /* a checkpoint of another data set than --dataset asks for */
    rc = tu_run(&out, "%s predict --model %s --dataset mnist %s/t0.png", tu_scnn(), ckpt, dir);
    assert_int_equal(rc, 1);
    assert_int_equal(tu_count_lines(out), 1);
    assert_non_null(strstr(out, "is a fashion_mnist model, not a mnist one"));
    free(out);
    rc = tu_run(&out, "%s predict --model %s/t0.png %s/t0.png", tu_scnn(), dir, dir);
    assert_int_equal(rc, 1);
    assert_int_equal(tu_count_lines(out), 1);
    assert_non_null(strstr(out, "scnn predict: error: "));
    free(out);
    rc = tu_run(&out, "%s predict --help", tu_scnn());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "--invert"));
    assert_non_null(strstr(out, "luma 0.299 R + 0.587 G + 0.114 B"));
    free(out);

    /* "--" ends the options, for a file whose name starts with '-'. */
    assert_int_equal(scnn_png_write_gray8(tmp_path("-dash.png"), ref_img[2], 28, 28), SCNN_OK);
    char args[1024], *err;
    snprintf(args, sizeof args, "--format csv -- %s/-dash.png", dir);
    assert_int_equal(predict(&out, &err, args), 0);
    check_row(csv_row(out, tmp_path("-dash.png")), 2, 1);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_evaluate), cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_folder),           cmocka_unit_test(test_invert),
        cmocka_unit_test(test_converted_images), cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests_name("predict", tests, setup, teardown);
}
