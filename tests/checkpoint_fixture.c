/* The checkpoint tests' fixture (tests/checkpoint_fixture.h). */
#include "checkpoint_fixture.h"
#include "core/core.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

uint32_t ck_rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void ck_wr32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

uint64_t ck_rd64(const uint8_t *b)
{
    return (uint64_t)ck_rd32(b) | (uint64_t)ck_rd32(b + 4) << 32;
}

layout ck_decode(const uint8_t *b, size_t len)
{
    layout L;
    memset(&L, 0, sizeof L);
    L.len = len;
    assert_true(len > 40);
    assert_memory_equal(b, "SCNNCKPT", 8);
    assert_int_equal(ck_rd32(b + 8), 2);
    assert_in_range(ck_rd32(b + 12), 0, 1); /* flags: bit 0 = weights only */
    assert_int_equal(ck_rd64(b + 16), len);
    L.meta = 24;
    L.meta_end = 28 + ck_rd32(b + 24);
    L.table = L.meta_end;
    L.count = (int)ck_rd32(b + L.table);
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

void ck_fix_crc(uint8_t *b, size_t len)
{
    ck_wr32(b + len - 4, (uint32_t)crc32(0, b, (uInt)(len - 4)));
}

/* Random bit patterns (every float class, NaN payloads included) in values and moments. */
void ck_fill_model(scnn_model *m, uint64_t seed, uint64_t step)
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

static float *dup_floats(const float *x, size_t n)
{
    if (!x)
        return NULL;
    float *c = malloc(n * sizeof *c);
    assert_non_null(c);
    memcpy(c, x, n * sizeof *c);
    return c;
}

snapshot *ck_snap_take(scnn_model *m)
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

void ck_snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        for (int a = 0; a < 3; a++)
            free(s->arr[i][a]);
    free(s);
}

/* Bitwise equality of the model's values, Adam moments and step with the snapshot's. */
bool ck_snap_equal(const snapshot *s, scnn_model *m)
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

void ck_snap_restore(const snapshot *s, scnn_model *m)
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

bool ck_meta_equal(const scnn_ckpt_meta *a, const scnn_ckpt_meta *b)
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
int ck_count_names(const char *dir, const char *sub)
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

int ck_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/a.ckpt", f->dir);
    assert_int_equal(scnn_model_create(&f->a, 8, &scnn_backend_naive, 1), SCNN_OK);
    assert_int_equal(scnn_model_create(&f->b, 8, &scnn_backend_naive, 2), SCNN_OK);
    ck_fill_model(f->a, 11, 54321);
    ck_fill_model(f->b, 22, 7);
    f->snap_b = ck_snap_take(f->b);

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
    f->lay = ck_decode(f->bytes, len);
    *state = f;
    return 0;
}

int ck_teardown(void **state)
{
    fixture *f = *state;
    scnn_model_free(f->a);
    scnn_model_free(f->b);
    ck_snap_free(f->snap_b);
    free(f->bytes);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes bytes to dir/name and loads it into b; b must be untouched (it is a failing load). */
scnn_status ck_load_bytes_fails(fixture *f, const char *name, const uint8_t *b, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    tu_write_file(path, b, len);
    scnn_ckpt_meta md;
    memset(&md, 0x5a, sizeof md);
    scnn_ckpt_meta md0 = md;
    scnn_status st = scnn_checkpoint_load(path, f->b, &md);
    assert_int_not_equal(st, SCNN_OK);
    assert_true(ck_snap_equal(f->snap_b, f->b));
    assert_memory_equal(&md, &md0, sizeof md);
    /* one line, naming the file */
    assert_non_null(strstr(scnn_last_error(), path));
    assert_null(strchr(scnn_last_error(), '\n'));
    unlink(path);
    return st;
}
