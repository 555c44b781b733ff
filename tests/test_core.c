/* core/: the one atomic write (both temporary-name styles, nothing left behind on failure), the
 * one whole-file read (limits, folders, the NUL after the data), the text reader, the string
 * buffer, the aligned allocation, and SHA-256 (core/sha256.c). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "testutil.h"

/* Entries of dir other than . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_write_and_read_back(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512];
    snprintf(path, sizeof path, "%s/a.bin", dir);
    static const unsigned flags[] = {0, SCNN_WRITE_DURABLE, SCNN_WRITE_HIDDEN_TMP,
                                     SCNN_WRITE_DURABLE | SCNN_WRITE_HIDDEN_TMP};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        char data[100];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (char)(i * 7 + f);
        assert_int_equal(scnn_write_file(path, data, sizeof data, flags[f]), SCNN_OK);
        assert_int_equal(entries(dir), 1); /* the temporary is gone */
        uint8_t *back;
        size_t len;
        assert_int_equal(scnn_read_file(path, sizeof data, &back, &len), SCNN_OK);
        assert_int_equal(len, sizeof data);
        assert_memory_equal(back, data, sizeof data);
        assert_int_equal(back[len], 0); /* a NUL after the data */
        free(back);
        /* one byte under the size is refused, with EFBIG and a message naming the file */
        assert_int_equal(scnn_read_file(path, sizeof data - 1, &back, &len), SCNN_ERR_SHAPE);
        assert_int_equal(errno, EFBIG);
        assert_null(back);
        assert_non_null(strstr(scnn_last_error(), path));
    }
    /* an empty file reads as zero bytes */
    assert_int_equal(scnn_write_atomic(path, "", 0), SCNN_OK);
    char *text = scnn_read_text(path, 10);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
    tu_rmrf(dir);
    free(dir);
}

static void test_write_failures_leave_nothing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512];
    /* the rename fails: the target is a non-empty folder */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", path);
    assert_int_equal(scnn_write_atomic(inner, "x", 1), SCNN_OK);
    for (unsigned f = 0; f < 4; f++) {
        assert_int_equal(scnn_write_file(path, "data", 4, f), SCNN_ERR_IO);
        assert_non_null(strstr(scnn_last_error(), path));
        assert_int_equal(entries(dir), 1);   /* only sub/: no temporary */
        assert_int_equal(entries(path), 1);  /* sub/keep untouched */
    }
    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/no/such/file", dir);
    assert_int_equal(scnn_write_atomic(path, "x", 1), SCNN_ERR_IO);
    assert_int_equal(scnn_write_file(NULL, "x", 1, 0), SCNN_ERR_ARG);
    tu_rmrf(dir);
    free(dir);
}

static void test_read_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512];
    uint8_t *data;
    size_t len;
    /* a folder is not a regular file */
    assert_int_equal(scnn_read_file(dir, 100, &data, &len), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), "not a regular file"));
    assert_null(data);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(scnn_read_file(path, 100, &data, &len), SCNN_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_null(scnn_read_text(path, 100));
    assert_int_equal(errno, ENOENT);
    /* a NUL byte makes it not a text file */
    snprintf(path, sizeof path, "%s/bin", dir);
    assert_int_equal(scnn_write_atomic(path, "a\0b", 3), SCNN_OK);
    assert_null(scnn_read_text(path, 100));
    assert_int_equal(errno, EINVAL);
    tu_rmrf(dir);
    free(dir);
}

static void test_strbuf_and_alloc(void **state)
{
    (void)state;
    scnn_strbuf b = {0};
    for (int i = 0; i < 5000; i++)   /* grows past its first 4 KiB several times */
        scnn_strbuf_printf(&b, "%d,", i % 10);
    assert_false(b.oom);
    assert_int_equal(b.len, 10000);
    assert_int_equal(strlen(b.p), 10000);
    assert_memory_equal(b.p + 9990, "5,6,7,8,9,", 10);
    scnn_strbuf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);

    static const size_t sizes[] = {0, 1, 63, 64, 65, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = scnn_alloc_aligned(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        /* zeroed, and exactly the size asked (no rounding that would hide an overrun from
         * ASan); 0 gives 64 */
        size_t exact = sizes[i] ? sizes[i] : 64;
        for (size_t j = 0; j < exact; j++)
            assert_int_equal(p[j], 0);
        free(p);
    }
    assert_null(scnn_alloc_aligned(SIZE_MAX - 10));
}

/* ---- SHA-256 ------------------------------------------------------------------------------- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
         "nopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        scnn_sha256_hex(v[i].msg, strlen(v[i].msg), hex);
        assert_string_equal(hex, v[i].hex);
    }
}

/* One million 'a', in one call and fed in chunks of awkward sizes (block boundaries and the
 * 55/56-byte padding edge). */
static void test_sha256_million_a(void **state)
{
    (void)state;
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    char hex[65];
    scnn_sha256_hex(a, n, hex);
    assert_string_equal(hex, want);

    static const size_t chunks[] = {1, 55, 56, 63, 64, 65, 4097};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        scnn_sha256 s;
        uint8_t d[32];
        scnn_sha256_init(&s);
        for (size_t at = 0; at < n; at += chunks[c])
            scnn_sha256_update(&s, a + at, n - at < chunks[c] ? n - at : chunks[c]);
        scnn_sha256_final(&s, d);
        scnn_sha256_to_hex(d, hex);
        assert_string_equal(hex, want);
    }
    free(a);
}

/* Lengths around the padding boundary must all differ from each other (a padding bug that
 * ignores the tail would make neighbours collide) and match a one-byte-at-a-time feed. */
static void test_sha256_padding_edges(void **state)
{
    (void)state;
    uint8_t msg[130];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    char prev[65] = "", hex[65], inc[65];
    for (size_t len = 50; len <= 130; len++) {
        scnn_sha256_hex(msg, len, hex);
        scnn_sha256 s;
        uint8_t d[32];
        scnn_sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            scnn_sha256_update(&s, msg + i, 1);
        scnn_sha256_final(&s, d);
        scnn_sha256_to_hex(d, inc);
        assert_string_equal(hex, inc);
        assert_string_not_equal(hex, prev);
        memcpy(prev, hex, sizeof prev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read_back),
        cmocka_unit_test(test_write_failures_leave_nothing),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_strbuf_and_alloc),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_sha256_padding_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
