/* SCNN's ground floor (internal to the library, its tools, bench and tests): status messages,
 * the wall clock, strict parsing, files (one atomic write, one whole-file read), the counter-based
 * random numbers, sha256, the version, a growing string, aligned allocation.
 * core/ uses nothing of the floors above it (datasets, kernels, model, report, bench, tools):
 * `make check-layers` verifies that with nm. */
#ifndef SCNN_CORE_H
#define SCNN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scnn.h"   /* scnn_status */

/* ---- status and messages (core/status.c) ---------------------------------------------------- */

/* Sets the message scnn_last_error returns and returns s, so that failures read:
 * return scnn_fail(SCNN_ERR_IO, "..."). */
scnn_status scnn_fail(scnn_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- clock (core/clock.c) -------------------------------------------------------------------- */

/* Monotonic wall-clock seconds (CLOCK_MONOTONIC: wall time, not CPU time summed over threads). */
double scnn_now(void);

/* ---- strict parsing (core/parse.c) ----------------------------------------------------------- */

/* The whole string must be a number in range (no sign for u64). */
bool scnn_parse_long(const char *s, long lo, long hi, long *out);
bool scnn_parse_u64(const char *s, uint64_t *out);
bool scnn_parse_double(const char *s, double lo, double hi, double *out);
/* True when the comma-separated list holds name. */
bool scnn_list_has(const char *list, const char *name);

/* ---- files (core/file.c) --------------------------------------------------------------------- */

/* mkdir -p */
scnn_status scnn_mkdirs(const char *path);

enum scnn_write_flags {
    /* fsync the file before the rename and its folder after it (a crash keeps old or new) */
    SCNN_WRITE_DURABLE = 1,
    /* the temporary is ".NAME.tmp.PID" beside NAME, hidden from the PNG tree loader; otherwise
     * "NAME.tmp.PID" */
    SCNN_WRITE_HIDDEN_TMP = 2,
};
/* THE atomic write: data goes to a temporary beside path, which is renamed over path, so path is
 * either absent, its old content, or complete; the temporary never outlives a failure. flags:
 * enum scnn_write_flags. Errors are SCNN_ERR_IO with a message that starts with path. */
scnn_status scnn_write_file(const char *path, const void *data, size_t len, unsigned flags);
/* scnn_write_file(path, data, len, SCNN_WRITE_DURABLE) */
scnn_status scnn_write_atomic(const char *path, const void *data, size_t len);

/* THE whole-file read: a regular file of at most max bytes into *data (malloc'd, with a NUL after
 * the last byte, so text can be read as a string); *len its length. Errors: SCNN_ERR_IO (cannot
 * open or read, not a regular file), SCNN_ERR_SHAPE (larger than max), SCNN_ERR_NOMEM; the message
 * starts with path and errno is left set (EFBIG when too large). *data is NULL on failure. */
scnn_status scnn_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* A whole text file, NUL-terminated, malloc'd; NULL with errno set when it cannot be read, is
 * larger than max bytes (EFBIG), or holds a NUL byte (EINVAL). */
char *scnn_read_text(const char *path, size_t max);

/* ---- counter-based randomness (core/rng.c; its AVX2 twin in core/rng_avx2.h) ----------------- */

/* The same (seed, purpose, step, index) always gives the same number, whatever the backend,
 * thread count, or where a run was resumed. */
enum scnn_rng_purpose {
    SCNN_RNG_INIT = 1,     /* step = parameter index */
    SCNN_RNG_SPLIT = 2,    /* train/validation split */
    SCNN_RNG_SHUFFLE = 3,  /* step = epoch */
    SCNN_RNG_DROPOUT = 4,  /* purpose + layer: step = optimiser step */
    SCNN_RNG_AUGMENT = 16,
};
uint64_t scnn_rng_u64(uint64_t seed, uint64_t purpose, uint64_t step, uint64_t index);
/* The same number in two parts, for loops over many indices with one (seed, purpose, step):
 * scnn_rng_u64(s, p, t, i) == scnn_rng_at(scnn_rng_key(s, p, t), i). */
uint64_t scnn_rng_key(uint64_t seed, uint64_t purpose, uint64_t step);
uint64_t scnn_rng_at(uint64_t key, uint64_t index);
/* Uniform in [0,1) with 24 random bits. */
float scnn_rng_uniform(uint64_t seed, uint64_t purpose, uint64_t step, uint64_t index);
/* perm[0..n) = a seeded random permutation of 0..n-1 (Fisher-Yates). */
void scnn_rng_permutation(uint32_t *perm, size_t n, uint64_t seed, uint64_t purpose, uint64_t step);

/* ---- sha256 (core/sha256.c), FIPS 180-4, incremental ----------------------------------------- */

typedef struct scnn_sha256 {
    uint32_t h[8];
    uint64_t total;       /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;          /* bytes waiting in buf */
} scnn_sha256;

void scnn_sha256_init(scnn_sha256 *s);
void scnn_sha256_update(scnn_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be re-initialised before reuse. */
void scnn_sha256_final(scnn_sha256 *s, uint8_t digest[32]);
/* 32 bytes -> 64 lower-case hex digits + NUL. */
void scnn_sha256_to_hex(const uint8_t digest[32], char out[65]);
/* sha256 of a buffer as 64 hex digits + NUL. */
void scnn_sha256_hex(const void *data, size_t len, char out[65]);
/* sha256 of a whole file as 64 hex digits + NUL; SCNN_ERR_IO (message set) if unreadable. */
scnn_status scnn_sha256_file(const char *path, char out[65]);

/* ---- version (core/version.c) ---------------------------------------------------------------- */

/* The git revision this program was built from ("unknown" outside a checkout). */
const char *scnn_git_rev(void);
/* The release version, from the VERSION file ("0.1.0"). */
const char *scnn_version(void);

/* ---- a growing string (core/strbuf.c) -------------------------------------------------------- */

/* Appends never fail visibly: after an allocation failure oom is set and further appends do
 * nothing, so a writer checks once at the end. Zero-initialise; free p. */
typedef struct scnn_strbuf {
    char *p;              /* NUL-terminated once anything was appended; may be NULL */
    size_t len, cap;
    bool oom;
} scnn_strbuf;

void scnn_strbuf_printf(scnn_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void scnn_strbuf_free(scnn_strbuf *b);

/* ---- aligned allocation (core/alloc.c) ------------------------------------------------------- */

/* Exactly bytes (0 gives 64) at a 64-byte boundary, zeroed; free() it. NULL when out of
 * memory. */
void *scnn_alloc_aligned(size_t bytes);

#endif
