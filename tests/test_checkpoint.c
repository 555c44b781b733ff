/* Checkpoints (model/checkpoint.c): the documented layout, round trips, atomic saves and the
 * loads that must fail; one flipped byte anywhere is tests/test_checkpoint_corrupt.c's, and
 * SHA-256 tests/test_core.c's. The tests run on the real model (tests/checkpoint_fixture.h). */
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

/* ---- the format as documented ---------------------------------------------------------------- */

static void test_layout_matches_doc(void **state)
{
    fixture *f = *state;
    const uint8_t *b = f->bytes;
    const layout *L = &f->lay;
    assert_int_equal(L->count, scnn_model_param_count(f->a));
    size_t floats = 0;
    for (int i = 0; i < L->count; i++) {
        scnn_param *p = scnn_model_param(f->a, i);
        assert_int_equal(b[L->entry[i]], strlen(p->name));
        assert_memory_equal(b + L->entry[i] + 1, p->name, strlen(p->name));
        assert_int_equal(L->rank[i], p->rank);
        assert_int_equal(b[L->dims[i] - 1], p->m ? 3 : 1);
        for (int d = 0; d < p->rank; d++)
            assert_int_equal(ck_rd32(b + L->dims[i] + 4 * (size_t)d), p->dims[d]);
        floats += p->size * (p->m ? 3 : 1);
    }
    /* value, then Adam m and v, per tensor in table order, float32 little-endian */
    assert_int_equal(L->crc - L->data, 4 * floats);
    assert_int_equal(floats, 3 * scnn_model_num_weights(f->a, true) +
                                 scnn_model_num_weights(f->a, false));
    scnn_param *p0 = scnn_model_param(f->a, 0);
    uint32_t w0, m0, last;
    memcpy(&w0, p0->w, 4);
    memcpy(&m0, p0->m, 4);
    assert_int_equal(ck_rd32(b + L->data), w0);
    assert_int_equal(ck_rd32(b + L->data + 4 * p0->size), m0);
    scnn_param *pl = scnn_model_param(f->a, L->count - 1);
    memcpy(&last, &pl->w[pl->size - 1], 4);
    assert_int_equal(ck_rd32(b + L->crc - 4), last); /* the last tensor is non-trainable */
    /* metadata: first string is the data set name; the optimiser step ends the section */
    assert_int_equal(b[L->meta + 4], strlen("fashion_mnist"));
    assert_memory_equal(b + L->meta + 5, "fashion_mnist", strlen("fashion_mnist"));
    assert_int_equal(ck_rd64(b + L->meta_end - 8), 54321);
    assert_int_equal(ck_rd32(b + L->crc), (uint32_t)crc32(0, b, (uInt)L->crc));
}

/* ---- round trip -------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = ck_snap_take(f->a);
    assert_false(ck_snap_equal(sa, c));

    scnn_ckpt_meta md;
    memset(&md, 0, sizeof md);
    assert_int_equal(scnn_checkpoint_load(f->path, c, &md), SCNN_OK);
    assert_true(ck_snap_equal(sa, c));
    assert_int_equal(scnn_model_step(c), 54321);
    assert_true(ck_meta_equal(&md, &f->meta));

    /* saving what was loaded gives the same bytes */
    char path2[600];
    snprintf(path2, sizeof path2, "%s/c.ckpt", f->dir);
    assert_int_equal(scnn_checkpoint_save(path2, c, &md), SCNN_OK);
    size_t len2 = 0;
    uint8_t *b2 = tu_read_file(path2, &len2);
    assert_non_null(b2);
    assert_int_equal(len2, f->lay.len);
    assert_memory_equal(b2, f->bytes, len2);
    free(b2);
    unlink(path2);

    /* meta may be NULL on load; a NULL meta on save stores zeros */
    ck_fill_model(c, 5, 6);
    assert_int_equal(scnn_checkpoint_load(f->path, c, NULL), SCNN_OK);
    assert_true(ck_snap_equal(sa, c));
    assert_int_equal(scnn_checkpoint_save(path2, c, NULL), SCNN_OK);
    ck_fill_model(c, 5, 6);
    memset(&md, 0x5a, sizeof md);
    assert_int_equal(scnn_checkpoint_load(path2, c, &md), SCNN_OK);
    assert_true(ck_snap_equal(sa, c));
    scnn_ckpt_meta zero;
    memset(&zero, 0, sizeof zero);
    assert_true(ck_meta_equal(&md, &zero));
    unlink(path2);

    ck_snap_free(sa);
    scnn_model_free(c);
}

/* Extreme metadata values and the longest strings the struct holds survive exactly. */
static void test_meta_extremes(void **state)
{
    fixture *f = *state;
    scnn_ckpt_meta md, got;
    memset(&md, 0, sizeof md);
    memset(md.dataset, 'd', sizeof md.dataset - 1);
    memset(md.protocol, 'p', sizeof md.protocol - 1);
    memset(md.backend, 'b', sizeof md.backend - 1);
    memset(md.git_rev, 'g', sizeof md.git_rev - 1);
    memset(md.data_sha256, 'f', sizeof md.data_sha256 - 1);
    md.seed = UINT64_MAX;
    md.epoch = INT32_MIN;
    md.iteration = -1;
    md.step = UINT64_MAX - 1;
    md.val_loss = -0.0;
    md.val_acc = 1e-310; /* subnormal */
    char path[600];
    snprintf(path, sizeof path, "%s/x.ckpt", f->dir);
    assert_int_equal(scnn_checkpoint_save(path, f->a, &md), SCNN_OK);
    assert_int_equal(scnn_checkpoint_load(path, f->a, &got), SCNN_OK);
    assert_true(ck_meta_equal(&md, &got));
    unlink(path);

    /* a string without its NUL is refused before anything is written */
    memset(md.backend, 'b', sizeof md.backend);
    assert_int_equal(scnn_checkpoint_save(path, f->a, &md), SCNN_ERR_ARG);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(ck_count_names(f->dir, ".tmp"), 0);
}

/* ---- determinism and atomicity ----------------------------------------------------------- */

static void test_save_twice_identical(void **state)
{
    fixture *f = *state;
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/one.ckpt", f->dir);
    snprintf(p2, sizeof p2, "%s/two.ckpt", f->dir);
    assert_int_equal(scnn_checkpoint_save(p1, f->a, &f->meta), SCNN_OK);
    assert_int_equal(scnn_checkpoint_save(p2, f->a, &f->meta), SCNN_OK);
    size_t n1 = 0, n2 = 0;
    uint8_t *b1 = tu_read_file(p1, &n1), *b2 = tu_read_file(p2, &n2);
    assert_non_null(b1);
    assert_non_null(b2);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, f->lay.len);
    assert_memory_equal(b1, b2, n1);
    assert_memory_equal(b1, f->bytes, n1);
    free(b1);

    /* saving over an existing checkpoint replaces it */
    assert_int_equal(scnn_checkpoint_save(p2, f->b, &f->meta), SCNN_OK);
    b1 = tu_read_file(p2, &n1);
    assert_non_null(b1);
    assert_int_equal(n1, n2);
    assert_memory_not_equal(b1, b2, n1);
    free(b1);
    free(b2);

    assert_int_equal(ck_count_names(f->dir, ".tmp"), 0);
    unlink(p1);
    unlink(p2);
}

static void test_save_failures_leave_nothing(void **state)
{
    fixture *f = *state;
    char path[600];
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir/a.ckpt", f->dir);
    int before = ck_count_names(f->dir, "");
    assert_int_equal(scnn_checkpoint_save(path, f->a, &f->meta), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_int_equal(ck_count_names(f->dir, ""), before);

    /* the rename fails (the target is a non-empty directory): the temporary file is removed */
    snprintf(path, sizeof path, "%s/adir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/keep", path);
    tu_write_file(inner, "x", 1);
    assert_int_equal(scnn_checkpoint_save(path, f->a, &f->meta), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_int_equal(ck_count_names(f->dir, ".tmp"), 0);
    assert_int_equal(ck_count_names(path, ""), 1);
    unlink(inner);
    rmdir(path);
    assert_int_equal(ck_count_names(f->dir, ""), before);

    /* bad arguments */
    assert_int_equal(scnn_checkpoint_save("", f->a, &f->meta), SCNN_ERR_ARG);
    assert_int_equal(scnn_checkpoint_save(f->path, NULL, &f->meta), SCNN_ERR_ARG);
}

/* ---- load failures ------------------------------------------------------------------------- */

static void test_missing_file(void **state)
{
    fixture *f = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/missing.ckpt", f->dir);
    assert_int_equal(scnn_checkpoint_load(path, f->b, NULL), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_int_equal(scnn_checkpoint_load(f->dir, f->b, NULL), SCNN_ERR_IO); /* a directory */
    assert_true(ck_snap_equal(f->snap_b, f->b));
}

static void test_not_a_checkpoint(void **state)
{
    fixture *f = *state;
    uint8_t junk[100];
    memset(junk, '.', sizeof junk);
    memcpy(junk, "hello, world", 12);
    assert_int_equal(ck_load_bytes_fails(f, "t.ckpt", junk, sizeof junk), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "not an SCNN checkpoint"));
    uint8_t z[64] = {0};
    assert_int_equal(ck_load_bytes_fails(f, "t.ckpt", z, sizeof z), SCNN_ERR_FORMAT);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    size_t cuts[] = {0, 1, 7, 8, 11, 12, 23, 24, 27, 28, L->table, L->data, L->data + 1,
                     L->len / 2, L->crc, L->len - 3, L->len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        assert_int_equal(ck_load_bytes_fails(f, "t.ckpt", f->bytes, cuts[i]), SCNN_ERR_FORMAT);
    /* truncated, with the header's length made to agree and the checksum fixed up */
    size_t n = L->len - 4 * 1000;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memcpy(b, f->bytes, n);
    for (int i = 0; i < 8; i++)
        b[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    ck_fix_crc(b, n);
    assert_int_equal(ck_load_bytes_fails(f, "t.ckpt", b, n), SCNN_ERR_FORMAT);
    free(b);
}

static void test_appended(void **state)
{
    fixture *f = *state;
    size_t extra[] = {1, 4, 4096};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        size_t n = f->lay.len + extra[i];
        uint8_t *b = calloc(1, n);
        assert_non_null(b);
        memcpy(b, f->bytes, f->lay.len);
        assert_int_equal(ck_load_bytes_fails(f, "t.ckpt", b, n), SCNN_ERR_FORMAT);
        free(b);
    }
    /* a file whose header agrees with its (too large) size is refused before it is read */
    char path[600];
    snprintf(path, sizeof path, "%s/big.ckpt", f->dir);
    uint8_t hdr[24];
    memcpy(hdr, f->bytes, sizeof hdr);
    uint64_t big = (uint64_t)f->lay.len + (64u << 20);
    for (int i = 0; i < 8; i++)
        hdr[16 + i] = (uint8_t)(big >> (8 * i));
    tu_write_file(path, hdr, sizeof hdr);
    assert_int_equal(truncate(path, (off_t)big), 0);
    assert_int_equal(scnn_checkpoint_load(path, f->b, NULL), SCNN_ERR_SHAPE);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_true(ck_snap_equal(f->snap_b, f->b));
    unlink(path);
}

/* Applies edit to a copy of the file, fixes the checksum so that only the edit is wrong, and
 * returns the status of loading it (which must fail and leave the model untouched). */
static scnn_status load_edited(fixture *f, void (*edit)(uint8_t *b, const layout *L, int arg),
                               int arg)
{
    uint8_t *b = malloc(f->lay.len);
    assert_non_null(b);
    memcpy(b, f->bytes, f->lay.len);
    edit(b, &f->lay, arg);
    ck_fix_crc(b, f->lay.len);
    scnn_status st = ck_load_bytes_fails(f, "e.ckpt", b, f->lay.len);
    free(b);
    return st;
}

static void edit_version(uint8_t *b, const layout *L, int v)
{
    (void)L;
    ck_wr32(b + 8, (uint32_t)v);
}

static void edit_tensor_name(uint8_t *b, const layout *L, int c)
{
    b[L->entry[1] + 3] = (uint8_t)c; /* a character of the second tensor's name */
}

static void edit_dataset(uint8_t *b, const layout *L, int c)
{
    b[L->meta + 4 + 1] = (uint8_t)c; /* the first character of the data set's name */
}

/* Found by fuzz/fuzz_checkpoint.c (fuzz/corpus/checkpoint/finding-newline-in-name): a tensor
 * name holding a newline made the error message two lines. Strings must be printable ASCII. */
static void test_unprintable_strings(void **state)
{
    fixture *f = *state;
    static const int bad[] = {'\n', '\r', 0x1b, 0x7f, 0xff, 0x01};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(load_edited(f, edit_tensor_name, bad[i]), SCNN_ERR_FORMAT);
        assert_int_equal(load_edited(f, edit_dataset, bad[i]), SCNN_ERR_FORMAT);
        assert_non_null(strstr(scnn_last_error(), "metadata"));
    }
}

/* The memory entry point reads exactly what the path one reads. */
static void test_load_mem(void **state)
{
    fixture *f = *state;
    scnn_ckpt_meta md;
    assert_int_equal(scnn_checkpoint_load_mem(f->bytes, f->lay.len, NULL, f->b, &md), SCNN_OK);
    assert_true(ck_meta_equal(&md, &f->meta));
    snapshot *sa = ck_snap_take(f->a);
    assert_true(ck_snap_equal(sa, f->b));
    ck_snap_free(sa);
    ck_snap_restore(f->snap_b, f->b);
    assert_int_equal(scnn_checkpoint_load_mem(f->bytes, f->lay.len - 1, "x.ckpt", f->b, &md),
                     SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "x.ckpt: "));
    assert_true(ck_snap_equal(f->snap_b, f->b));
    assert_int_equal(scnn_checkpoint_load_mem(NULL, 0, NULL, f->b, &md), SCNN_ERR_FORMAT);
}

static void test_wrong_version(void **state)
{
    fixture *f = *state;
    int versions[] = {0, 3, 255, -1};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        assert_int_equal(load_edited(f, edit_version, versions[i]), SCNN_ERR_VERSION);
        assert_non_null(strstr(scnn_last_error(), "versions 1 and 2"));
    }
}

static int find_tensor(const layout *L, scnn_model *m, const char *name)
{
    for (int i = 0; i < L->count; i++)
        if (strcmp(scnn_model_param(m, i)->name, name) == 0)
            return i;
    fail_msg("no tensor %s", name);
    return -1;
}

/* arg: tensor index; swaps its first two dims (same size, so the file stays consistent) */
static void edit_swap_dims(uint8_t *b, const layout *L, int t)
{
    uint8_t tmp[4];
    memcpy(tmp, b + L->dims[t], 4);
    memcpy(b + L->dims[t], b + L->dims[t] + 4, 4);
    memcpy(b + L->dims[t] + 4, tmp, 4);
}

static void edit_dim_plus_one(uint8_t *b, const layout *L, int t)
{
    ck_wr32(b + L->dims[t], ck_rd32(b + L->dims[t]) + 1);
}

static void edit_dim_huge(uint8_t *b, const layout *L, int t)
{
    ck_wr32(b + L->dims[t], 0xffffffffu);
}

static void edit_count(uint8_t *b, const layout *L, int v)
{
    ck_wr32(b + L->table, (uint32_t)v);
}

static void edit_name(uint8_t *b, const layout *L, int t)
{
    b[L->entry[t] + 1] ^= 0x20;
}

static void edit_arrays(uint8_t *b, const layout *L, int t)
{
    b[L->dims[t] - 1] = (uint8_t)(b[L->dims[t] - 1] == 3 ? 1 : 3);
}

static void edit_meta_len(uint8_t *b, const layout *L, int v)
{
    ck_wr32(b + L->meta, (uint32_t)v);
}

static void edit_reserved(uint8_t *b, const layout *L, int v)
{
    (void)L;
    ck_wr32(b + 12, (uint32_t)v);
}

static void test_wrong_shape(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    int dense = find_tensor(L, f->a, "dense/kernel");
    assert_int_equal(load_edited(f, edit_swap_dims, dense), SCNN_ERR_SHAPE);
    assert_non_null(strstr(scnn_last_error(), "dense/kernel"));
    assert_non_null(strstr(scnn_last_error(), "[256,1600]"));
    assert_non_null(strstr(scnn_last_error(), "[1600,256]"));

    int bias = find_tensor(L, f->a, "conv2d/bias");
    assert_int_equal(load_edited(f, edit_dim_plus_one, bias), SCNN_ERR_SHAPE);
    assert_non_null(strstr(scnn_last_error(), "[65]"));
    assert_int_equal(load_edited(f, edit_dim_huge, bias), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_dim_huge, dense), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_name, L->count - 1), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_arrays, 0), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_arrays, L->count - 1), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_count, L->count + 1), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_count, L->count - 1), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_count, -1), SCNN_ERR_SHAPE);
    assert_int_equal(load_edited(f, edit_count, 0), SCNN_ERR_SHAPE);
}

static void test_malformed_sections(void **state)
{
    fixture *f = *state;
    uint32_t ml = ck_rd32(f->bytes + f->lay.meta);
    assert_int_equal(load_edited(f, edit_meta_len, (int)ml + 1), SCNN_ERR_FORMAT);
    assert_int_equal(load_edited(f, edit_meta_len, (int)ml - 1), SCNN_ERR_FORMAT);
    assert_int_equal(load_edited(f, edit_meta_len, 0), SCNN_ERR_FORMAT);
    assert_int_equal(load_edited(f, edit_meta_len, -1), SCNN_ERR_FORMAT);
    /* flags: a full file marked weights-only, an unknown flag */
    assert_int_equal(load_edited(f, edit_reserved, 1), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "has Adam moments"));
    assert_int_equal(load_edited(f, edit_reserved, 2), SCNN_ERR_FORMAT);
    assert_int_equal(load_edited(f, edit_reserved, -1), SCNN_ERR_FORMAT);
}

/* ---- weights-only checkpoints and version 1 ------------------------------------------------ */

/* a.ckpt's model saved weights-only to dir/name; its bytes in *len. */
static uint8_t *save_weights_only(fixture *f, const char *name, char *path, size_t pathlen,
                                  size_t *len)
{
    snprintf(path, pathlen, "%s/%s", f->dir, name);
    scnn_ckpt_meta md = f->meta;
    md.weights_only = true;
    assert_int_equal(scnn_checkpoint_save(path, f->a, &md), SCNN_OK);
    uint8_t *b = tu_read_file(path, len);
    assert_non_null(b);
    return b;
}

static void test_weights_only_layout(void **state)
{
    fixture *f = *state;
    char path[600];
    size_t len = 0;
    uint8_t *b = save_weights_only(f, "w.ckpt", path, sizeof path, &len);
    layout L = ck_decode(b, len);
    assert_int_equal(ck_rd32(b + 12), 1);
    /* the same metadata and table, every entry's arrays 1, the optimiser step 0 */
    assert_int_equal(L.meta_end - L.meta, f->lay.meta_end - f->lay.meta);
    assert_int_equal(ck_rd64(b + L.meta_end - 8), 0);
    size_t floats = 0;
    for (int i = 0; i < L.count; i++) {
        assert_int_equal(b[L.dims[i] - 1], 1);
        floats += scnn_model_param(f->a, i)->size;
    }
    assert_int_equal(L.crc - L.data, 4 * floats);
    assert_int_equal(floats, scnn_model_num_weights(f->a, true) +
                                 scnn_model_num_weights(f->a, false));
    /* the documented size: tensor data 4 * (493,772 + 130), 1,976,223 bytes with empty metadata */
    assert_int_equal(L.crc - L.data, 1975608);
    assert_int_equal(len - (L.meta_end - L.meta - 4), 1976223 - 53);
    /* values in table order, no moments between them */
    scnn_param *p0 = scnn_model_param(f->a, 0), *p1 = scnn_model_param(f->a, 1);
    uint32_t w0, w1;
    memcpy(&w0, p0->w, 4);
    memcpy(&w1, p1->w, 4);
    assert_int_equal(ck_rd32(b + L.data), w0);
    assert_int_equal(ck_rd32(b + L.data + 4 * p0->size), w1);
    assert_int_equal(ck_rd32(b + L.crc), (uint32_t)crc32(0, b, (uInt)L.crc));
    free(b);
    unlink(path);
}

static void test_weights_only_round_trip(void **state)
{
    fixture *f = *state;
    char path[600], path2[600];
    size_t len = 0;
    uint8_t *b = save_weights_only(f, "w.ckpt", path, sizeof path, &len);
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    ck_fill_model(c, 9, 77);
    scnn_ckpt_meta md;
    memset(&md, 0x5a, sizeof md);
    assert_int_equal(scnn_checkpoint_load(path, c, &md), SCNN_OK);
    assert_true(md.weights_only);
    scnn_ckpt_meta want = f->meta;
    want.weights_only = true;
    assert_true(ck_meta_equal(&md, &want));
    /* the values of a, the moments and the step zero */
    assert_int_equal(scnn_model_step(c), 0);
    for (int i = 0; i < scnn_model_param_count(c); i++) {
        scnn_param *p = scnn_model_param(c, i), *q = scnn_model_param(f->a, i);
        assert_memory_equal(p->w, q->w, p->size * sizeof(float));
        for (size_t j = 0; p->m && j < p->size; j++) {
            uint32_t um, uv;
            memcpy(&um, &p->m[j], 4);
            memcpy(&uv, &p->v[j], 4);
            assert_int_equal(um | uv, 0);
        }
    }
    /* saving what was loaded, weights-only again, gives the same bytes */
    snprintf(path2, sizeof path2, "%s/w2.ckpt", f->dir);
    assert_int_equal(scnn_checkpoint_save(path2, c, &md), SCNN_OK);
    size_t len2 = 0;
    uint8_t *b2 = tu_read_file(path2, &len2);
    assert_non_null(b2);
    assert_int_equal(len2, len);
    assert_memory_equal(b2, b, len);
    free(b2);
    unlink(path2);
    free(b);
    unlink(path);
    scnn_model_free(c);
}

/* Resuming needs the optimiser state: load_state refuses a weights-only file, untouched model,
 * one line; it takes a full one. */
static void test_weights_only_cannot_resume(void **state)
{
    fixture *f = *state;
    char path[600];
    size_t len = 0;
    uint8_t *b = save_weights_only(f, "w.ckpt", path, sizeof path, &len);
    assert_int_equal(scnn_checkpoint_load_state(path, f->b, NULL), SCNN_ERR_FORMAT);
    assert_true(ck_snap_equal(f->snap_b, f->b));
    assert_non_null(strstr(scnn_last_error(), path));
    assert_non_null(strstr(scnn_last_error(), "weights-only"));
    assert_non_null(strstr(scnn_last_error(), "cannot resume"));
    assert_null(strchr(scnn_last_error(), '\n'));

    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = ck_snap_take(f->a);
    assert_int_equal(scnn_checkpoint_load_state(f->path, c, NULL), SCNN_OK);
    assert_true(ck_snap_equal(sa, c));
    ck_snap_free(sa);
    scnn_model_free(c);

    /* a weights-only file whose table claims moments is malformed */
    layout L = ck_decode(b, len);
    b[L.dims[0] - 1] = 3;
    ck_fix_crc(b, len);
    assert_int_equal(ck_load_bytes_fails(f, "w3.ckpt", b, len), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "weights-only"));
    free(b);
    unlink(path);
}

/* Version 1 files (written before weights-only existed) are version 2's full files with a
 * reserved 0 where the flags are: they still load, to the same state. */
static void test_version_1_loads(void **state)
{
    fixture *f = *state;
    uint8_t *b = malloc(f->lay.len);
    assert_non_null(b);
    memcpy(b, f->bytes, f->lay.len);
    ck_wr32(b + 8, 1);
    ck_fix_crc(b, f->lay.len);
    char path[600];
    snprintf(path, sizeof path, "%s/v1.ckpt", f->dir);
    tu_write_file(path, b, f->lay.len);
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = ck_snap_take(f->a);
    scnn_ckpt_meta md;
    assert_int_equal(scnn_checkpoint_load_state(path, c, &md), SCNN_OK);
    assert_true(ck_snap_equal(sa, c));
    assert_true(ck_meta_equal(&md, &f->meta));
    ck_snap_free(sa);
    scnn_model_free(c);
    unlink(path);
    /* in version 1 the field is reserved: a weights-only flag there is an error */
    ck_wr32(b + 12, 1);
    ck_fix_crc(b, f->lay.len);
    assert_int_equal(ck_load_bytes_fails(f, "v1f.ckpt", b, f->lay.len), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "reserved"));
    free(b);
}

int main(void)
{
    const struct CMUnitTest ckpt[] = {
        cmocka_unit_test(test_layout_matches_doc),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_meta_extremes),
        cmocka_unit_test(test_save_twice_identical),
        cmocka_unit_test(test_save_failures_leave_nothing),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_a_checkpoint),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_appended),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_unprintable_strings),
        cmocka_unit_test(test_load_mem),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_malformed_sections),
        cmocka_unit_test(test_weights_only_layout),
        cmocka_unit_test(test_weights_only_round_trip),
        cmocka_unit_test(test_weights_only_cannot_resume),
        cmocka_unit_test(test_version_1_loads),
    };
    return cmocka_run_group_tests_name("checkpoint", ckpt, ck_setup, ck_teardown);
}
