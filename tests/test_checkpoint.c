/* Checkpoints (model/checkpoint.c); SHA-256 is tests/test_core.c's.
 *
 * The checkpoint tests run on the real model. The file layout is decoded here independently
 * from docs/checkpoint-format.md, so that the tests also pin the documented format. */
#include "core/core.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "scnn.h"

/* ---- helpers for the checkpoint tests ------------------------------------------------------ */

/* Under ASan every load maps ~6 MB of fresh memory, which is slow on these machines (about
 * 30 ms a load), so sanitized builds flip fewer bytes; they cover the same regions. */
#ifdef __SANITIZE_ADDRESS__
#define THOROUGH 0
#else
#define THOROUGH 1
#endif

#define MAX_T 64

/* Offsets of the regions of a checkpoint, decoded as docs/checkpoint-format.md describes. */
typedef struct layout {
    size_t len;            /* whole file */
    size_t meta;           /* the metadata section's u32 length */
    size_t meta_end;
    size_t table;          /* the u32 tensor count */
    int count;
    size_t entry[MAX_T];   /* each table entry's name length byte */
    size_t dims[MAX_T];    /* each entry's first dim */
    int rank[MAX_T];
    size_t data;           /* first byte of float data */
    size_t crc;            /* the trailing CRC-32 */
} layout;

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rd64(const uint8_t *b)
{
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

static layout decode(const uint8_t *b, size_t len)
{
    layout L;
    memset(&L, 0, sizeof L);
    L.len = len;
    assert_true(len > 40);
    assert_memory_equal(b, "SCNNCKPT", 8);
    assert_int_equal(rd32(b + 8), 2);
    assert_in_range(rd32(b + 12), 0, 1); /* flags: bit 0 = weights only */
    assert_int_equal(rd64(b + 16), len);
    L.meta = 24;
    L.meta_end = 28 + rd32(b + 24);
    L.table = L.meta_end;
    L.count = (int)rd32(b + L.table);
    assert_in_range(L.count, 1, MAX_T);
    size_t at = L.table + 4;
    for (int i = 0; i < L.count; i++) {
        L.entry[i] = at;
        at += 1 + b[at];
        L.rank[i] = b[at];
        assert_in_range(L.rank[i], 1, 4);
        assert_in_range(b[at + 1], 1, 3);
        at += 2;
        L.dims[i] = at;
        at += 4 * (size_t)L.rank[i];
    }
    L.data = at;
    L.crc = len - 4;
    assert_true(L.data < L.crc);
    return L;
}

static void fix_crc(uint8_t *b, size_t len)
{
    wr32(b + len - 4, (uint32_t)crc32(0, b, (uInt)(len - 4)));
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random bit patterns (every float class, NaN payloads included) in values and moments. */
static void fill_model(scnn_model *m, uint64_t seed, uint64_t step)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int i = 0; i < scnn_model_param_count(m); i++) {
        scnn_param *p = scnn_model_param(m, i);
        float *arr[3] = {p->w, p->m, p->v};
        for (int a = 0; a < 3; a++)
            for (size_t j = 0; arr[a] && j < p->size; j++) {
                uint32_t u = (uint32_t)(xorshift(&s) >> 16);
                memcpy(&arr[a][j], &u, 4);
            }
    }
    scnn_model_set_step(m, step);
}

/* A copy of everything a load may change. */
typedef struct snapshot {
    int n;
    float *arr[MAX_T][3];
    uint64_t step;
} snapshot;

static float *dup_floats(const float *x, size_t n)
{
    if (!x)
        return NULL;
    float *c = malloc(n * sizeof *c);
    assert_non_null(c);
    memcpy(c, x, n * sizeof *c);
    return c;
}

static snapshot *snap_take(scnn_model *m)
{
    snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->n = scnn_model_param_count(m);
    assert_in_range(s->n, 1, MAX_T);
    for (int i = 0; i < s->n; i++) {
        scnn_param *p = scnn_model_param(m, i);
        s->arr[i][0] = dup_floats(p->w, p->size);
        s->arr[i][1] = dup_floats(p->m, p->size);
        s->arr[i][2] = dup_floats(p->v, p->size);
    }
    s->step = scnn_model_step(m);
    return s;
}

static void snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        for (int a = 0; a < 3; a++)
            free(s->arr[i][a]);
    free(s);
}

/* Bitwise equality of the model's values, Adam moments and step with the snapshot's. */
static bool snap_equal(const snapshot *s, scnn_model *m)
{
    if (scnn_model_step(m) != s->step || scnn_model_param_count(m) != s->n)
        return false;
    for (int i = 0; i < s->n; i++) {
        scnn_param *p = scnn_model_param(m, i);
        const float *arr[3] = {p->w, p->m, p->v};
        for (int a = 0; a < 3; a++) {
            if (!arr[a] != !s->arr[i][a])
                return false;
            if (arr[a] && memcmp(arr[a], s->arr[i][a], p->size * sizeof(float)) != 0)
                return false;
        }
    }
    return true;
}

static void snap_restore(const snapshot *s, scnn_model *m)
{
    for (int i = 0; i < s->n; i++) {
        scnn_param *p = scnn_model_param(m, i);
        float *arr[3] = {p->w, p->m, p->v};
        for (int a = 0; a < 3; a++)
            if (arr[a])
                memcpy(arr[a], s->arr[i][a], p->size * sizeof(float));
    }
    scnn_model_set_step(m, s->step);
}

static bool meta_equal(const scnn_ckpt_meta *a, const scnn_ckpt_meta *b)
{
    return strcmp(a->dataset, b->dataset) == 0 && strcmp(a->protocol, b->protocol) == 0 &&
           strcmp(a->backend, b->backend) == 0 && strcmp(a->git_rev, b->git_rev) == 0 &&
           strcmp(a->data_sha256, b->data_sha256) == 0 && a->seed == b->seed &&
           a->epoch == b->epoch && a->iteration == b->iteration && a->step == b->step &&
           memcmp(&a->val_loss, &b->val_loss, sizeof a->val_loss) == 0 &&
           memcmp(&a->val_acc, &b->val_acc, sizeof a->val_acc) == 0 &&
           a->weights_only == b->weights_only;
}

/* Names in dir that contain sub (e.g. ".tmp"). */
static int count_names(const char *dir, const char *sub)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strstr(e->d_name, sub))
            n++;
    closedir(d);
    return n;
}

/* ---- fixture: model a (saved to a.ckpt) and model b (the target of failing loads) ----------- */

typedef struct fixture {
    char *dir;
    char path[512];        /* a.ckpt: model a with meta */
    scnn_model *a, *b;
    scnn_ckpt_meta meta;
    uint8_t *bytes;        /* a.ckpt's contents */
    layout lay;
    snapshot *snap_b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/a.ckpt", f->dir);
    assert_int_equal(scnn_model_create(&f->a, 8, &scnn_backend_naive, 1), SCNN_OK);
    assert_int_equal(scnn_model_create(&f->b, 8, &scnn_backend_naive, 2), SCNN_OK);
    fill_model(f->a, 11, 54321);
    fill_model(f->b, 22, 7);
    f->snap_b = snap_take(f->b);

    scnn_ckpt_meta *md = &f->meta;
    snprintf(md->dataset, sizeof md->dataset, "fashion_mnist");
    snprintf(md->protocol, sizeof md->protocol, "clean");
    snprintf(md->backend, sizeof md->backend, "naive");
    snprintf(md->git_rev, sizeof md->git_rev, "1c67818-dirty");
    scnn_sha256_hex("data", 4, md->data_sha256);
    md->seed = 0x0123456789abcdefull;
    md->epoch = 17;
    md->iteration = 4;
    md->step = 12345;
    md->val_loss = 0.2149;
    md->val_acc = 0.9343;
    assert_int_equal(scnn_checkpoint_save(f->path, f->a, md), SCNN_OK);
    size_t len = 0;
    f->bytes = tu_read_file(f->path, &len);
    assert_non_null(f->bytes);
    f->lay = decode(f->bytes, len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    scnn_model_free(f->a);
    scnn_model_free(f->b);
    snap_free(f->snap_b);
    free(f->bytes);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes bytes to dir/name and loads it into b; b must be untouched (it is a failing load). */
static scnn_status load_bytes_fails(fixture *f, const char *name, const uint8_t *b, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    tu_write_file(path, b, len);
    scnn_ckpt_meta md;
    memset(&md, 0x5a, sizeof md);
    scnn_ckpt_meta md0 = md;
    scnn_status st = scnn_checkpoint_load(path, f->b, &md);
    assert_int_not_equal(st, SCNN_OK);
    assert_true(snap_equal(f->snap_b, f->b));
    assert_memory_equal(&md, &md0, sizeof md);
    /* one line, naming the file */
    assert_non_null(strstr(scnn_last_error(), path));
    assert_null(strchr(scnn_last_error(), '\n'));
    unlink(path);
    return st;
}

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
            assert_int_equal(rd32(b + L->dims[i] + 4 * (size_t)d), p->dims[d]);
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
    assert_int_equal(rd32(b + L->data), w0);
    assert_int_equal(rd32(b + L->data + 4 * p0->size), m0);
    scnn_param *pl = scnn_model_param(f->a, L->count - 1);
    memcpy(&last, &pl->w[pl->size - 1], 4);
    assert_int_equal(rd32(b + L->crc - 4), last); /* the last tensor is non-trainable */
    /* metadata: first string is the data set name; the optimiser step ends the section */
    assert_int_equal(b[L->meta + 4], strlen("fashion_mnist"));
    assert_memory_equal(b + L->meta + 5, "fashion_mnist", strlen("fashion_mnist"));
    assert_int_equal(rd64(b + L->meta_end - 8), 54321);
    assert_int_equal(rd32(b + L->crc), (uint32_t)crc32(0, b, (uInt)L->crc));
}

/* ---- round trip -------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    fixture *f = *state;
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = snap_take(f->a);
    assert_false(snap_equal(sa, c));

    scnn_ckpt_meta md;
    memset(&md, 0, sizeof md);
    assert_int_equal(scnn_checkpoint_load(f->path, c, &md), SCNN_OK);
    assert_true(snap_equal(sa, c));
    assert_int_equal(scnn_model_step(c), 54321);
    assert_true(meta_equal(&md, &f->meta));

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
    fill_model(c, 5, 6);
    assert_int_equal(scnn_checkpoint_load(f->path, c, NULL), SCNN_OK);
    assert_true(snap_equal(sa, c));
    assert_int_equal(scnn_checkpoint_save(path2, c, NULL), SCNN_OK);
    fill_model(c, 5, 6);
    memset(&md, 0x5a, sizeof md);
    assert_int_equal(scnn_checkpoint_load(path2, c, &md), SCNN_OK);
    assert_true(snap_equal(sa, c));
    scnn_ckpt_meta zero;
    memset(&zero, 0, sizeof zero);
    assert_true(meta_equal(&md, &zero));
    unlink(path2);

    snap_free(sa);
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
    assert_true(meta_equal(&md, &got));
    unlink(path);

    /* a string without its NUL is refused before anything is written */
    memset(md.backend, 'b', sizeof md.backend);
    assert_int_equal(scnn_checkpoint_save(path, f->a, &md), SCNN_ERR_ARG);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_names(f->dir, ".tmp"), 0);
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

    assert_int_equal(count_names(f->dir, ".tmp"), 0);
    unlink(p1);
    unlink(p2);
}

static void test_save_failures_leave_nothing(void **state)
{
    fixture *f = *state;
    char path[600];
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/dir/a.ckpt", f->dir);
    int before = count_names(f->dir, "");
    assert_int_equal(scnn_checkpoint_save(path, f->a, &f->meta), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_int_equal(count_names(f->dir, ""), before);

    /* the rename fails (the target is a non-empty directory): the temporary file is removed */
    snprintf(path, sizeof path, "%s/adir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/keep", path);
    tu_write_file(inner, "x", 1);
    assert_int_equal(scnn_checkpoint_save(path, f->a, &f->meta), SCNN_ERR_IO);
    assert_non_null(strstr(scnn_last_error(), path));
    assert_int_equal(count_names(f->dir, ".tmp"), 0);
    assert_int_equal(count_names(path, ""), 1);
    unlink(inner);
    rmdir(path);
    assert_int_equal(count_names(f->dir, ""), before);

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
    assert_true(snap_equal(f->snap_b, f->b));
}

static void test_not_a_checkpoint(void **state)
{
    fixture *f = *state;
    uint8_t junk[100];
    memset(junk, '.', sizeof junk);
    memcpy(junk, "hello, world", 12);
    assert_int_equal(load_bytes_fails(f, "t.ckpt", junk, sizeof junk), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "not an SCNN checkpoint"));
    uint8_t z[64] = {0};
    assert_int_equal(load_bytes_fails(f, "t.ckpt", z, sizeof z), SCNN_ERR_FORMAT);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    size_t cuts[] = {0, 1, 7, 8, 11, 12, 23, 24, 27, 28, L->table, L->data, L->data + 1,
                     L->len / 2, L->crc, L->len - 3, L->len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        assert_int_equal(load_bytes_fails(f, "t.ckpt", f->bytes, cuts[i]), SCNN_ERR_FORMAT);
    /* truncated, with the header's length made to agree and the checksum fixed up */
    size_t n = L->len - 4 * 1000;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memcpy(b, f->bytes, n);
    for (int i = 0; i < 8; i++)
        b[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    fix_crc(b, n);
    assert_int_equal(load_bytes_fails(f, "t.ckpt", b, n), SCNN_ERR_FORMAT);
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
        assert_int_equal(load_bytes_fails(f, "t.ckpt", b, n), SCNN_ERR_FORMAT);
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
    assert_true(snap_equal(f->snap_b, f->b));
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
    fix_crc(b, f->lay.len);
    scnn_status st = load_bytes_fails(f, "e.ckpt", b, f->lay.len);
    free(b);
    return st;
}

static void edit_version(uint8_t *b, const layout *L, int v)
{
    (void)L;
    wr32(b + 8, (uint32_t)v);
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
    assert_true(meta_equal(&md, &f->meta));
    snapshot *sa = snap_take(f->a);
    assert_true(snap_equal(sa, f->b));
    snap_free(sa);
    snap_restore(f->snap_b, f->b);
    assert_int_equal(scnn_checkpoint_load_mem(f->bytes, f->lay.len - 1, "x.ckpt", f->b, &md),
                     SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "x.ckpt: "));
    assert_true(snap_equal(f->snap_b, f->b));
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
    wr32(b + L->dims[t], rd32(b + L->dims[t]) + 1);
}

static void edit_dim_huge(uint8_t *b, const layout *L, int t)
{
    wr32(b + L->dims[t], 0xffffffffu);
}

static void edit_count(uint8_t *b, const layout *L, int v)
{
    wr32(b + L->table, (uint32_t)v);
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
    wr32(b + L->meta, (uint32_t)v);
}

static void edit_reserved(uint8_t *b, const layout *L, int v)
{
    (void)L;
    wr32(b + 12, (uint32_t)v);
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
    uint32_t ml = rd32(f->bytes + f->lay.meta);
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
    layout L = decode(b, len);
    assert_int_equal(rd32(b + 12), 1);
    /* the same metadata and table, every entry's arrays 1, the optimiser step 0 */
    assert_int_equal(L.meta_end - L.meta, f->lay.meta_end - f->lay.meta);
    assert_int_equal(rd64(b + L.meta_end - 8), 0);
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
    assert_int_equal(rd32(b + L.data), w0);
    assert_int_equal(rd32(b + L.data + 4 * p0->size), w1);
    assert_int_equal(rd32(b + L.crc), (uint32_t)crc32(0, b, (uInt)L.crc));
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
    fill_model(c, 9, 77);
    scnn_ckpt_meta md;
    memset(&md, 0x5a, sizeof md);
    assert_int_equal(scnn_checkpoint_load(path, c, &md), SCNN_OK);
    assert_true(md.weights_only);
    scnn_ckpt_meta want = f->meta;
    want.weights_only = true;
    assert_true(meta_equal(&md, &want));
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
    assert_true(snap_equal(f->snap_b, f->b));
    assert_non_null(strstr(scnn_last_error(), path));
    assert_non_null(strstr(scnn_last_error(), "weights-only"));
    assert_non_null(strstr(scnn_last_error(), "cannot resume"));
    assert_null(strchr(scnn_last_error(), '\n'));

    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = snap_take(f->a);
    assert_int_equal(scnn_checkpoint_load_state(f->path, c, NULL), SCNN_OK);
    assert_true(snap_equal(sa, c));
    snap_free(sa);
    scnn_model_free(c);

    /* a weights-only file whose table claims moments is malformed */
    layout L = decode(b, len);
    b[L.dims[0] - 1] = 3;
    fix_crc(b, len);
    assert_int_equal(load_bytes_fails(f, "w3.ckpt", b, len), SCNN_ERR_FORMAT);
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
    wr32(b + 8, 1);
    fix_crc(b, f->lay.len);
    char path[600];
    snprintf(path, sizeof path, "%s/v1.ckpt", f->dir);
    tu_write_file(path, b, f->lay.len);
    scnn_model *c;
    assert_int_equal(scnn_model_create(&c, 8, &scnn_backend_naive, 3), SCNN_OK);
    snapshot *sa = snap_take(f->a);
    scnn_ckpt_meta md;
    assert_int_equal(scnn_checkpoint_load_state(path, c, &md), SCNN_OK);
    assert_true(snap_equal(sa, c));
    assert_true(meta_equal(&md, &f->meta));
    snap_free(sa);
    scnn_model_free(c);
    unlink(path);
    /* in version 1 the field is reserved: a weights-only flag there is an error */
    wr32(b + 12, 1);
    fix_crc(b, f->lay.len);
    assert_int_equal(load_bytes_fails(f, "v1f.ckpt", b, f->lay.len), SCNN_ERR_FORMAT);
    assert_non_null(strstr(scnn_last_error(), "reserved"));
    free(b);
}

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
    if (!snap_equal(f->snap_b, f->b))
        fail_msg("flipping byte %zu (%s): the failed load changed the model", pos, what);
    assert_int_equal(pwrite(fd, &f->bytes[pos], 1, (off_t)pos), 1);
}

static void test_corruption_every_region(void **state)
{
    fixture *f = *state;
    const layout *L = &f->lay;
    char path[600];
    snprintf(path, sizeof path, "%s/corrupt.ckpt", f->dir);
    tu_write_file(path, f->bytes, L->len);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);

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
    snprintf(path, sizeof path, "%s/parse.ckpt", f->dir);
    tu_write_file(path, f->bytes, L->len);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
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
        wr32(crc, (uint32_t)crc32_combine(crc32(0, head, (uInt)L->data), tail,
                                          (z_off_t)(L->crc - L->data)));
        assert_int_equal(pwrite(fd, &head[pos], 1, (off_t)pos), 1);
        assert_int_equal(pwrite(fd, crc, 4, (off_t)L->crc), 4);
        scnn_status st = scnn_checkpoint_load(path, f->b, NULL);
        if ((st == SCNN_OK) != meta_value_byte(f->bytes, L, pos))
            fail_msg("flipping byte %zu with the checksum fixed: status %s (%s)", pos,
                     scnn_status_name(st), scnn_last_error());
        if (st == SCNN_OK) {
            snap_restore(f->snap_b, f->b);
            loaded++;
        } else {
            if (!snap_equal(f->snap_b, f->b))
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
        cmocka_unit_test(test_corruption_every_region),
        cmocka_unit_test(test_parser_with_valid_checksum),
    };
    return cmocka_run_group_tests_name("checkpoint", ckpt, setup, teardown);
}
