/* Checkpoints (model/checkpoint.c) with one byte flipped anywhere: the CRC refuses it, and with
 * the CRC fixed up the parser itself refuses every byte but the metadata values, leaving the
 * target model untouched (and reading nothing out of bounds: run under ASan). */
#include "checkpoint_fixture.h"
#include "core/core.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "scnn.h"

/* ---- corruption: one flipped byte anywhere ----------------------------------------------- */

typedef struct target {
    const char *what;
    size_t pos;
    scnn_status want; /* SCNN_OK: any failure */
} target;

static void flip_and_load(fixture *f, int fd, const char *path, size_t pos, uint8_t mask,
                          scnn_status want, const char *what)
{
    uint8_t c = (uint8_t)(f->bytes[pos] ^ mask);
    assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
    scnn_status st = scnn_checkpoint_load(path, f->b, NULL);
    if (st == SCNN_OK || (want != SCNN_OK && st != want))
        fail_msg("flipping byte %zu (%s) with %02x: status %s (%s)", pos, what, mask,
                 scnn_status_name(st), scnn_last_error());
    if (!ck_snap_equal(f->snap_b, f->b))
        fail_msg("flipping byte %zu (%s): the failed load changed the model", pos, what);
    assert_int_equal(pwrite(fd, &f->bytes[pos], 1, (off_t)pos), 1);
}

/* A copy of a.ckpt as dir/name (its path in path), open for writing in place. */
static int open_copy(const fixture *f, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", f->dir, name);
    tu_write_file(path, f->bytes, f->lay.len);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    return fd;
}

static void test_corruption_every_region(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    char path[600];
    int fd = open_copy(f, "corrupt.ckpt", path, sizeof path);

    int last = L->count - 1;
    size_t mid = L->data + (L->crc - L->data) / 2;
    target t[] = {
        {"magic first", 0, SCNN_ERR_FORMAT},
        {"magic last", 7, SCNN_ERR_FORMAT},
        {"version low", 8, SCNN_ERR_VERSION},
        {"version high", 11, SCNN_ERR_VERSION},
        /* bit 0 makes a valid weights-only header, which the CRC then refuses */
        {"flags low", 12, SCNN_OK},
        {"flags high", 15, SCNN_ERR_FORMAT},
        {"length low", 16, SCNN_ERR_FORMAT},
        {"length high", 23, SCNN_ERR_FORMAT},
        {"metadata length", L->meta, SCNN_ERR_CHECKSUM},
        {"metadata first string length", L->meta + 4, SCNN_ERR_CHECKSUM},
        {"metadata first string", L->meta + 5, SCNN_ERR_CHECKSUM},
        {"metadata optimiser step", L->meta_end - 8, SCNN_ERR_CHECKSUM},
        {"metadata last byte", L->meta_end - 1, SCNN_ERR_CHECKSUM},
        {"tensor count", L->table, SCNN_ERR_CHECKSUM},
        {"first name length", L->entry[0], SCNN_ERR_CHECKSUM},
        {"first name", L->entry[0] + 1, SCNN_ERR_CHECKSUM},
        {"first rank", L->dims[0] - 2, SCNN_ERR_CHECKSUM},
        {"first arrays", L->dims[0] - 1, SCNN_ERR_CHECKSUM},
        {"first dim", L->dims[0], SCNN_ERR_CHECKSUM},
        {"last name", L->entry[last] + 3, SCNN_ERR_CHECKSUM},
        {"last dim", L->dims[last] + 4 * (size_t)L->rank[last] - 1, SCNN_ERR_CHECKSUM},
        {"data first", L->data, SCNN_ERR_CHECKSUM},
        {"data middle", mid, SCNN_ERR_CHECKSUM},
        {"data last", L->crc - 1, SCNN_ERR_CHECKSUM},
        {"checksum first", L->crc, SCNN_ERR_CHECKSUM},
        {"checksum last", L->len - 1, SCNN_ERR_CHECKSUM},
    };
    static const uint8_t masks[] = {0xff, 0x01, 0x80};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        for (size_t k = 0; k < (THOROUGH ? sizeof masks : 1); k++)
            flip_and_load(f, fd, path, t[i].pos, masks[k], t[i].want, t[i].what);

    /* and a stride over the whole file (prime, so it walks through every byte lane) */
    size_t stride = L->len / (THOROUGH ? 300 : 40) | 1;
    while (stride % 3 == 0 || stride % 5 == 0 || stride % 7 == 0)
        stride += 2;
    int loads = 0;
    for (size_t pos = 1; pos < L->len; pos += stride, loads++)
        flip_and_load(f, fd, path, pos, (uint8_t)(1u << (pos % 8)), SCNN_OK, "stride");
    assert_true(loads >= (THOROUGH ? 250 : 30));

    /* the file was restored byte for byte: it loads again */
    close(fd);
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 4), SCNN_OK);
    assert_int_equal(scnn_checkpoint_load(path, c, NULL), SCNN_OK);
    scnn_model_free(c);
    unlink(path);
}

/* Whether byte pos holds a metadata number, which a load accepts whatever it is; the five
 * strings' lengths and characters are not such values (a flipped character is not printable
 * ASCII and is refused). */
static bool meta_value_byte(const uint8_t *b, const layout *L, size_t pos)
{
    if (pos < L->meta + 4 || pos >= L->meta_end)
        return false;
    size_t at = L->meta + 4;
    for (int i = 0; i < 5; i++, at += 1 + b[at])
        if (pos <= at + b[at])
            return false; /* a string's length or character: flipped, no longer printable */
    return true;
}

/* Whether the parser test flips byte pos: all of the header, metadata and tensor count; of each
 * table entry its name length, first and last name bytes, rank, arrays and every dim byte.
 * Sanitized builds take every metadata length and every 5th metadata byte, and of each entry
 * its name length, first name byte, rank, arrays and first and last dim bytes. */
static bool parser_target(const uint8_t *b, const layout *L, size_t pos)
{
    if (pos < L->table + 4)
        return THOROUGH || pos < L->meta + 4 || pos >= L->table || pos % 5 == 0 ||
               (pos >= L->meta + 4 && !meta_value_byte(b, L, pos));
    for (int i = 0; i < L->count; i++) {
        size_t name_end = L->dims[i] - 2;
        size_t end = L->dims[i] + 4 * (size_t)L->rank[i];
        if (pos >= L->entry[i] && pos < end) {
            if (THOROUGH)
                return pos <= L->entry[i] + 1 || pos >= name_end - 1;
            return pos <= L->entry[i] + 1 || pos == name_end || pos == name_end + 1 ||
                   pos == L->dims[i] || pos == end - 1;
        }
    }
    return false;
}

/* Bytes before the tensor data flipped, with the checksum fixed up so the parser itself must
 * catch it. Only a change inside the metadata values may load; anything else must fail with
 * the model untouched (and never read out of bounds: run under ASan). */
static void test_parser_with_valid_checksum(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    char path[600];
    int fd = open_copy(f, "parse.ckpt", path, sizeof path);
    uLong tail = crc32(0, f->bytes + L->data, (uInt)(L->crc - L->data));
    uint8_t *head = malloc(L->data);
    assert_non_null(head);
    memcpy(head, f->bytes, L->data);
    int loaded = 0, failed = 0, tried = 0;
    for (size_t pos = 0; pos < L->data; pos++) {
        if (!parser_target(f->bytes, L, pos))
            continue;
        tried++;
        head[pos] ^= 0xff;
        uint8_t crc[4];
        ck_wr32(crc, (uint32_t)crc32_combine(crc32(0, head, (uInt)L->data), tail,
                                          (z_off_t)(L->crc - L->data)));
        assert_int_equal(pwrite(fd, &head[pos], 1, (off_t)pos), 1);
        assert_int_equal(pwrite(fd, crc, 4, (off_t)L->crc), 4);
        scnn_status st = scnn_checkpoint_load(path, f->b, NULL);
        if ((st == SCNN_OK) != meta_value_byte(f->bytes, L, pos))
            fail_msg("flipping byte %zu with the checksum fixed: status %s (%s)", pos,
                     scnn_status_name(st), scnn_last_error());
        if (st == SCNN_OK) {
            ck_snap_restore(f->snap_b, f->b);
            loaded++;
        } else {
            if (!ck_snap_equal(f->snap_b, f->b))
                fail_msg("flipping byte %zu: the failed load changed the model", pos);
            failed++;
        }
        head[pos] ^= 0xff;
        assert_int_equal(pwrite(fd, &head[pos], 1, (off_t)pos), 1);
        assert_int_equal(pwrite(fd, f->bytes + L->crc, 4, (off_t)L->crc), 4);
    }
    /* The numbers after the 5 strings: seed, epoch, iteration, step, val_loss, val_acc, the
     * optimiser step. */
    if (THOROUGH)
        assert_int_equal(loaded, 8 + 4 + 4 + 8 + 8 + 8 + 8);
    assert_true(loaded >= 9);
    assert_int_equal(failed, tried - loaded);
    assert_true(tried > (THOROUGH ? 300 : 100));
    free(head);
    close(fd);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest ckpt[] = {
        cmocka_unit_test(test_corruption_every_region),
        cmocka_unit_test(test_parser_with_valid_checksum),
    };
    return cmocka_run_group_tests_name("checkpoint corruption", ckpt, ck_setup, ck_teardown);
}
