/* The checkpoint tests' fixture (tests/checkpoint_fixture.c), shared by tests/test_checkpoint.c
 * and tests/test_checkpoint_corrupt.c: a checkpoint's layout decoded independently from
 * docs/checkpoint-format.md, snapshots of a model, and models a and b (a saved to a.ckpt, b the
 * target of the failing loads). */
#ifndef SCNN_TESTS_CHECKPOINT_FIXTURE_H
#define SCNN_TESTS_CHECKPOINT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scnn.h"

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

/* A copy of everything a load may change. */
typedef struct snapshot {
    int n;
    float *arr[MAX_T][3];
    uint64_t step;
} snapshot;

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

/* little-endian fields */
uint32_t ck_rd32(const uint8_t *b);
void ck_wr32(uint8_t *b, uint32_t v);
uint64_t ck_rd64(const uint8_t *b);

/* The layout of a checkpoint's bytes (asserting the header is sane); the CRC made right. */
layout ck_decode(const uint8_t *b, size_t len);
void ck_fix_crc(uint8_t *b, size_t len);

/* Random bit patterns (every float class, NaN payloads included) in values and moments. */
void ck_fill_model(scnn_model *m, uint64_t seed, uint64_t step);

/* Snapshots: taken, freed, compared bitwise (values, Adam moments and step), put back. */
snapshot *ck_snap_take(scnn_model *m);
void ck_snap_free(snapshot *s);
bool ck_snap_equal(const snapshot *s, scnn_model *m);
void ck_snap_restore(const snapshot *s, scnn_model *m);

bool ck_meta_equal(const scnn_ckpt_meta *a, const scnn_ckpt_meta *b);
/* Names in dir that contain sub (e.g. ".tmp"). */
int ck_count_names(const char *dir, const char *sub);

/* cmocka group setup and teardown: *state is a fixture. */
int ck_setup(void **state);
int ck_teardown(void **state);

/* Writes bytes to dir/name and loads it into b; b must be untouched (it is a failing load). */
scnn_status ck_load_bytes_fails(fixture *f, const char *name, const uint8_t *b, size_t len);

#endif
