/* IDX loading: the fetched data sets, plain against gzip, and every kind of malformed file,
 * each with its own status and a message that names the file. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include "scnn.h"

#define N_SMALL 7

/* ---- helpers ------------------------------------------------------------------------------- */

static void expect_msg(const char *needle)
{
    const char *m = scnn_last_error();
    if (!strstr(m, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", m, needle);
}

static void expect_ok(scnn_status st)
{
    if (st != SCNN_OK)
        fail_msg("%s: %s", scnn_status_name(st), scnn_last_error());
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A growable byte buffer holding one IDX file. */
typedef struct buf {
    uint8_t *p;
    size_t len;
} buf;

static buf images_file(uint32_t count, uint32_t rows, uint32_t cols, size_t n_data)
{
    size_t data = n_data * rows * cols;
    buf b = {malloc(16 + data + 64), 16 + data};
    put32(b.p, 0x803);
    put32(b.p + 4, count);
    put32(b.p + 8, rows);
    put32(b.p + 12, cols);
    for (size_t i = 0; i < data; i++)
        b.p[16 + i] = (uint8_t)(i * 7 + i / 784);
    return b;
}

static buf labels_file(uint32_t count, size_t n_data)
{
    buf b = {malloc(8 + n_data + 64), 8 + n_data};
    put32(b.p, 0x801);
    put32(b.p + 4, count);
    for (size_t i = 0; i < n_data; i++)
        b.p[8 + i] = (uint8_t)((i * 3) % 10);
    return b;
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static char *join(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void expect_zeroed(const scnn_dataset *ds)
{
    assert_int_equal(ds->n, 0);
    assert_null(ds->images);
    assert_null(ds->labels);
    assert_int_equal(ds->rows, 0);
    assert_int_equal(ds->cols, 0);
}

/* ---- the real data sets (fetched by `make data`) -------------------------------------------- */

static void load_real(scnn_dataset *ds, const char *name, const char *part)
{
    scnn_status st = scnn_dataset_load_dir(ds, tu_data_dir(name), part);
    if (st != SCNN_OK)
        fail_msg("%s (run `make data` first)", scnn_last_error());
}

/* The loaded bytes are exactly the file's bytes after the header. */
static void expect_same_as_file(const scnn_dataset *ds, const char *name, const char *file)
{
    char *path = join(tu_data_dir(name), file);
    size_t len = 0;
    uint8_t *raw = tu_read_file(path, &len);
    assert_non_null(raw);
    assert_int_equal(len, 16 + ds->n * SCNN_PIXELS);
    assert_memory_equal(ds->images, raw + 16, ds->n * SCNN_PIXELS);
    free(raw);
    free(path);
}

static void expect_balanced(const scnn_dataset *ds, size_t per_class)
{
    size_t hist[SCNN_CLASSES] = {0};
    for (size_t i = 0; i < ds->n; i++) {
        assert_in_range(ds->labels[i], 0, SCNN_CLASSES - 1);
        hist[ds->labels[i]]++;
    }
    for (int c = 0; c < SCNN_CLASSES; c++)
        assert_int_equal(hist[c], per_class);
}

static void test_fashion_train(void **state)
{
    (void)state;
    scnn_dataset ds;
    load_real(&ds, "fashion_mnist", "train");
    assert_int_equal(ds.n, 60000);
    assert_int_equal(ds.rows, 28);
    assert_int_equal(ds.cols, 28);
    static const uint8_t first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    assert_memory_equal(ds.labels, first, sizeof first);
    expect_balanced(&ds, 6000);
    expect_same_as_file(&ds, "fashion_mnist", "train-images-idx3-ubyte");
    scnn_dataset_free(&ds);
    expect_zeroed(&ds);
}

static void test_fashion_test(void **state)
{
    (void)state;
    scnn_dataset ds;
    load_real(&ds, "fashion_mnist", "t10k");
    assert_int_equal(ds.n, 10000);
    static const uint8_t first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    assert_memory_equal(ds.labels, first, sizeof first);
    expect_balanced(&ds, 1000);
    scnn_dataset_free(&ds);
}

static void test_mnist_test(void **state)
{
    (void)state;
    scnn_dataset ds;
    load_real(&ds, "mnist", "t10k");
    assert_int_equal(ds.n, 10000);
    static const uint8_t first[10] = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
    assert_memory_equal(ds.labels, first, sizeof first);
    expect_same_as_file(&ds, "mnist", "t10k-images-idx3-ubyte");
    scnn_dataset_free(&ds);
}

/* The first n images (scnn_dataset_load_first, what the bench's children read): the same bytes
 * as the whole load's first n; fewer when the file has fewer. */
static void test_load_first(void **state)
{
    (void)state;
    scnn_dataset all, first, more;
    load_real(&all, "fashion_mnist", "t10k");
    assert_int_equal(scnn_dataset_load_first(&first, tu_data_dir("fashion_mnist"), "t10k", 300),
                     SCNN_OK);
    assert_int_equal(first.n, 300);
    assert_int_equal(first.rows, 28);
    assert_memory_equal(first.images, all.images, 300 * SCNN_PIXELS);
    assert_memory_equal(first.labels, all.labels, 300);
    assert_int_equal(scnn_dataset_load_first(&more, tu_data_dir("fashion_mnist"), "t10k", 20000),
                     SCNN_OK);
    assert_int_equal(more.n, 10000);
    scnn_dataset_free(&more);
    assert_int_not_equal(scnn_dataset_load_first(&more, "/nonexistent", "t10k", 5), SCNN_OK);
    expect_zeroed(&more);
    scnn_dataset_free(&first);
    scnn_dataset_free(&all);
}

/* ---- plain and gzip, and the directory lookup ---------------------------------------------- */

static void test_plain_and_gzip_identical(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    buf img = images_file(N_SMALL, 28, 28, N_SMALL), lab = labels_file(N_SMALL, N_SMALL);
    char *pi = join(dir, "t10k-images-idx3-ubyte"), *pl = join(dir, "t10k-labels-idx1-ubyte");
    char *gi = join(dir, "train-images-idx3-ubyte.gz");
    char *gl = join(dir, "train-labels-idx1-ubyte.gz");
    tu_write_file(pi, img.p, img.len);
    tu_write_file(pl, lab.p, lab.len);
    write_gz(gi, img.p, img.len);
    write_gz(gl, lab.p, lab.len);

    scnn_dataset plain, gz;
    expect_ok(scnn_dataset_load_dir(&plain, dir, "t10k"));
    expect_ok(scnn_dataset_load_dir(&gz, dir, "train"));   /* only the .gz names exist */
    assert_int_equal(plain.n, N_SMALL);
    assert_int_equal(gz.n, N_SMALL);
    assert_memory_equal(plain.images, img.p + 16, N_SMALL * SCNN_PIXELS);
    assert_memory_equal(plain.labels, lab.p + 8, N_SMALL);
    assert_memory_equal(gz.images, plain.images, N_SMALL * SCNN_PIXELS);
    assert_memory_equal(gz.labels, plain.labels, N_SMALL);
    scnn_dataset_free(&gz);

    /* The plain name wins over .gz: a corrupt .gz beside a good plain file is never read. */
    char *ci = join(dir, "t10k-images-idx3-ubyte.gz");
    tu_write_file(ci, "\x1f\x8b garbage", 10);
    expect_ok(scnn_dataset_load_dir(&gz, dir, "t10k"));
    assert_memory_equal(gz.images, plain.images, N_SMALL * SCNN_PIXELS);
    scnn_dataset_free(&gz);
    scnn_dataset_free(&plain);

    free(ci);
    free(pi);
    free(pl);
    free(gi);
    free(gl);
    free(img.p);
    free(lab.p);
    tu_rmrf(dir);
    free(dir);
}

static void test_load_dir_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    scnn_dataset ds;
    assert_int_equal(scnn_dataset_load_dir(&ds, dir, "test"), SCNN_ERR_ARG);
    expect_msg("'test'");
    assert_int_equal(scnn_dataset_load_dir(&ds, dir, "train"), SCNN_ERR_IO);
    expect_msg(dir);
    expect_msg("train-images-idx3-ubyte");
    expect_msg("make data");
    expect_zeroed(&ds);
    assert_int_equal(scnn_idx_load(&ds, NULL, "x"), SCNN_ERR_ARG);
    assert_int_equal(scnn_idx_load(NULL, "x", "y"), SCNN_ERR_ARG);
    scnn_dataset_free(NULL);
    tu_rmrf(dir);
    free(dir);
}

static void test_dataset_dir(void **state)
{
    (void)state;
    char *old = getenv("SCNN_DATA") ? strdup(getenv("SCNN_DATA")) : NULL;
    char b[64];
    setenv("SCNN_DATA", "/srv/scnn", 1);
    scnn_dataset_dir(b, sizeof b, "mnist");
    assert_string_equal(b, "/srv/scnn/idx/mnist");
    unsetenv("SCNN_DATA");
    scnn_dataset_dir(b, sizeof b, "fashion_mnist");
    assert_string_equal(b, "data/idx/fashion_mnist");
    setenv("SCNN_DATA", "", 1);
    scnn_dataset_dir(b, sizeof b, "mnist");
    assert_string_equal(b, "data/idx/mnist");
    memset(b, 'x', sizeof b);
    scnn_dataset_dir(b, 8, "fashion_mnist");   /* truncates, never overflows */
    assert_string_equal(b, "data/id");
    assert_int_equal(b[8], 'x');
    if (old)
        setenv("SCNN_DATA", old, 1);
    else
        unsetenv("SCNN_DATA");
    free(old);
}

static void test_class_names(void **state)
{
    (void)state;
    const char *const *f = scnn_class_names("fashion_mnist");
    assert_non_null(f);
    static const char *want[SCNN_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    for (int i = 0; i < SCNN_CLASSES; i++)
        assert_string_equal(f[i], want[i]);
    const char *const *m = scnn_class_names("mnist");
    assert_non_null(m);
    for (int i = 0; i < SCNN_CLASSES; i++) {
        char d[2] = {(char)('0' + i), 0};
        assert_string_equal(m[i], d);
    }
    assert_null(scnn_class_names("cifar10"));
    assert_null(scnn_class_names(NULL));
}

/* ---- malformed files ------------------------------------------------------------------------ */

enum bad_kind {
    MISSING_IMAGES, MISSING_LABELS, DIRECTORY, EMPTY, HEADER_ONLY, TRUNC_HEADER, BAD_MAGIC,
    BAD_TYPE, BAD_RANK, BAD_DIMS, ZERO_COUNT, ABSURD_COUNT, BIG_COUNT_SMALL_FILE,
    COUNT_MISMATCH, TRUNC_DATA, TRAILING, LABEL_10, LABEL_255, LABELS_BAD_RANK, LABELS_TRUNC,
    LABELS_TRAILING, GZ_BAD_CRC, GZ_GARBAGE, GZ_CUT, GZ_TRUNC_IDX, N_BAD
};

typedef struct bad_case {
    const char *name;
    scnn_status want;
    int labels_bad;       /* which file the message must name: 0 images, 1 labels */
    const char *needle;   /* a phrase the message must contain */
} bad_case;

static const bad_case bad_cases[N_BAD] = {
    [MISSING_IMAGES] = {"missing-images", SCNN_ERR_IO, 0, "cannot open"},
    [MISSING_LABELS] = {"missing-labels", SCNN_ERR_IO, 1, "cannot open"},
    [DIRECTORY] = {"directory", SCNN_ERR_IO, 0, "Is a directory"},
    [EMPTY] = {"empty", SCNN_ERR_FORMAT, 0, "empty file"},
    [HEADER_ONLY] = {"header-only", SCNN_ERR_FORMAT, 0,
                     "truncated: header says 7 images (5504 bytes) but file has 16 bytes"},
    [TRUNC_HEADER] = {"trunc-header", SCNN_ERR_FORMAT, 0, "truncated header: 10 of 16 bytes"},
    [BAD_MAGIC] = {"bad-magic", SCNN_ERR_FORMAT, 0, "bad magic 0x12345678"},
    [BAD_TYPE] = {"bad-type", SCNN_ERR_FORMAT, 0, "element type 0x0d"},
    [BAD_RANK] = {"bad-rank", SCNN_ERR_FORMAT, 0, "rank 1, want 3"},
    [BAD_DIMS] = {"bad-dims", SCNN_ERR_SHAPE, 0, "32x32, want 28x28"},
    [ZERO_COUNT] = {"zero-count", SCNN_ERR_FORMAT, 0, "header says 0 images"},
    [ABSURD_COUNT] = {"absurd-count", SCNN_ERR_FORMAT, 0,
                      "header says 2147483647 images (want 1..10000000)"},
    [BIG_COUNT_SMALL_FILE] = {"big-count", SCNN_ERR_FORMAT, 0, "truncated: header says 9999999"},
    [COUNT_MISMATCH] = {"count-mismatch", SCNN_ERR_SHAPE, 1, "has 7 images but"},
    [TRUNC_DATA] = {"trunc-data", SCNN_ERR_FORMAT, 0, "but file has 5404 bytes"},
    [TRAILING] = {"trailing", SCNN_ERR_FORMAT, 0, "5 trailing bytes"},
    [LABEL_10] = {"label-10", SCNN_ERR_FORMAT, 1, "label 10 at index 3"},
    [LABEL_255] = {"label-255", SCNN_ERR_FORMAT, 1, "label 255 at index 6"},
    [LABELS_BAD_RANK] = {"labels-rank", SCNN_ERR_FORMAT, 1, "rank 3, want 1"},
    [LABELS_TRUNC] = {"labels-trunc", SCNN_ERR_FORMAT, 1,
                      "header says 7 labels (15 bytes) but file has 12"},
    [LABELS_TRAILING] = {"labels-trailing", SCNN_ERR_FORMAT, 1, "1 trailing bytes"},
    [GZ_BAD_CRC] = {"gz-crc", SCNN_ERR_FORMAT, 0, "gzip"},
    [GZ_GARBAGE] = {"gz-garbage", SCNN_ERR_FORMAT, 0, "gzip"},
    [GZ_CUT] = {"gz-cut", SCNN_ERR_FORMAT, 0, "gzip"},
    [GZ_TRUNC_IDX] = {"gz-trunc-idx", SCNN_ERR_FORMAT, 0, "but uncompressed data has 5404 bytes"},
};

/* Writes the files of one bad case into dir; *img_path and *lab_path are malloc'd. */
static void make_bad(enum bad_kind k, const char *dir, char **img_path, char **lab_path)
{
    char name[128];
    snprintf(name, sizeof name, "%s-images", bad_cases[k].name);
    *img_path = join(dir, name);
    snprintf(name, sizeof name, "%s-labels", bad_cases[k].name);
    *lab_path = join(dir, name);

    buf img = images_file(N_SMALL, 28, 28, N_SMALL), lab = labels_file(N_SMALL, N_SMALL);
    bool gz = false;
    switch (k) {
    case HEADER_ONLY: img.len = 16; break;
    case TRUNC_HEADER: img.len = 10; break;
    case EMPTY: img.len = 0; break;
    case BAD_MAGIC: put32(img.p, 0x12345678); break;
    case BAD_TYPE: img.p[2] = 0x0d; break;
    case BAD_RANK: img.p[3] = 1; break;
    case BAD_DIMS:
        free(img.p);
        img = images_file(N_SMALL, 32, 32, N_SMALL);
        break;
    case ZERO_COUNT: put32(img.p + 4, 0); break;
    case ABSURD_COUNT: put32(img.p + 4, 0x7fffffff); put32(lab.p + 4, 0x7fffffff); break;
    case BIG_COUNT_SMALL_FILE: put32(img.p + 4, 9999999); put32(lab.p + 4, 9999999); break;
    case COUNT_MISMATCH: put32(lab.p + 4, 6); lab.len--; break;
    case TRUNC_DATA: img.len -= 100; break;
    case TRAILING: memset(img.p + img.len, 0, 5); img.len += 5; break;
    case LABEL_10: lab.p[8 + 3] = 10; break;
    case LABEL_255: lab.p[8 + 6] = 255; break;
    case LABELS_BAD_RANK: lab.p[3] = 3; break;
    case LABELS_TRUNC: lab.len -= 3; break;
    case LABELS_TRAILING: lab.p[lab.len++] = 1; break;
    case GZ_TRUNC_IDX: img.len -= 100; gz = true; break;
    case GZ_BAD_CRC: case GZ_GARBAGE: case GZ_CUT: gz = true; break;
    default: break;
    }

    if (k == DIRECTORY)
        assert_int_equal(mkdir(*img_path, 0700), 0);
    else if (k != MISSING_IMAGES && gz)
        write_gz(*img_path, img.p, img.len);
    else if (k != MISSING_IMAGES)
        tu_write_file(*img_path, img.p, img.len);
    if (k != MISSING_LABELS)
        tu_write_file(*lab_path, lab.p, lab.len);

    if (k == GZ_BAD_CRC || k == GZ_GARBAGE || k == GZ_CUT) {
        size_t len = 0;
        uint8_t *z = tu_read_file(*img_path, &len);
        assert_non_null(z);
        assert_true(len > 40);
        if (k == GZ_BAD_CRC)
            z[len - 8] ^= 0x55;   /* the CRC-32 in the gzip trailer */
        if (k == GZ_GARBAGE)
            for (size_t i = 10; i < len; i++)
                z[i] = (uint8_t)(i * 37 + 11);
        if (k == GZ_CUT)
            len /= 2;
        tu_write_file(*img_path, z, len);
        free(z);
    }
    free(img.p);
    free(lab.p);
}

/* Caps the address space while a header promises gigabytes, so that a loader which trusted
 * the header would get NULL from malloc and fail with SCNN_ERR_NOMEM rather than the
 * status we expect. (Not under ASan, which reserves terabytes of shadow memory.) */
#if defined(__SANITIZE_ADDRESS__)
#define LIMIT_MEMORY 0
#else
#define LIMIT_MEMORY 1
#endif

static bool limit_address_space(struct rlimit *old)
{
    if (!LIMIT_MEMORY)
        return false;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return false;
    int got = fscanf(f, "%lu", &pages);
    fclose(f);
    if (got != 1 || getrlimit(RLIMIT_AS, old) != 0)
        return false;
    struct rlimit lim = *old;
    lim.rlim_cur = (rlim_t)pages * 4096 + (512ul << 20);
    if (old->rlim_max != RLIM_INFINITY && lim.rlim_cur > old->rlim_max)
        return false;
    return setrlimit(RLIMIT_AS, &lim) == 0;
}

static void test_malformed(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    for (int k = 0; k < N_BAD; k++) {
        const bad_case *c = &bad_cases[k];
        char *ip, *lp;
        make_bad((enum bad_kind)k, dir, &ip, &lp);

        struct rlimit old;
        bool limited =
            (k == ABSURD_COUNT || k == BIG_COUNT_SMALL_FILE) && limit_address_space(&old);
        scnn_dataset ds;
        memset(&ds, 0xab, sizeof ds);
        scnn_status st = scnn_idx_load(&ds, ip, lp);
        if (limited)
            assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);

        if (st != c->want)
            fail_msg("%s: got %s (%s), want %s", c->name, scnn_status_name(st), scnn_last_error(),
                     scnn_status_name(c->want));
        expect_msg(c->labels_bad ? lp : ip);
        expect_msg(c->needle);
        expect_zeroed(&ds);
        free(ip);
        free(lp);
    }
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fashion_train),
        cmocka_unit_test(test_fashion_test),
        cmocka_unit_test(test_mnist_test),
        cmocka_unit_test(test_load_first),
        cmocka_unit_test(test_plain_and_gzip_identical),
        cmocka_unit_test(test_load_dir_errors),
        cmocka_unit_test(test_dataset_dir),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
