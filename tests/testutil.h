/* Shared test helpers (cmocka): temporary directories, running the scnn program, files,
 * and the parity harness that compares a kernel's output with the reference. */
#ifndef SCNN_TESTUTIL_H
#define SCNN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend.h"

/* A fresh temporary directory (under $TMPDIR or /tmp), removed by tu_rmrf. */
char *tu_mkdtemp(void);
void tu_rmrf(const char *path);
/* tu_rmrf(*path), then frees it and sets it to NULL; returns 0 (the end of a cmocka teardown). */
int tu_rmrf_free(char **path);
/* Path of the scnn program under test ($SCNN_BIN, else ./scnn). */
const char *tu_scnn(void);
/* Runs a shell command; returns its exit status (or 128+signal); stdout+stderr go to *out
 * (malloc'd, NUL-terminated; may be NULL). */
int tu_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs "ENV scnn ARGS" (env "" for none) with tu_run; fails the test unless it exits want_rc
 * and its output contains want (NULL: anything). Returns the output (free it). */
char *tu_scnn_expect(int want_rc, const char *want, const char *env, const char *args);
/* Writes/reads a whole file; read returns malloc'd bytes and sets *len (NULL on failure). */
void tu_write_file(const char *path, const void *data, size_t len);
void *tu_read_file(const char *path, size_t *len);
/* Fails the current test unless files a and b exist and hold the same bytes. */
void tu_assert_same_file(const char *a, const char *b);
/* A file of tests/golden/: $env_var if set, else tests/golden/NAME from the repository root
 * (where make test runs), else relative to the test binary. NULL if none can be read. */
void *tu_read_golden(const char *name, const char *env_var, size_t *len);
/* Writes any PNG with libpng (ctype PNG_COLOR_TYPE_*; samples as the file stores them, 16-bit
 * big-endian; pal/trns may be NULL). */
void tu_write_png(const char *path, int w, int h, int depth, int ctype, const uint8_t *data,
                  const void *pal, int npal, const uint8_t *trns, int ntrns, bool interlace);
/* A path of the repository: rel itself if it exists (make test runs in the root), else rel
 * beside the root above the test binary (build/tests/..). False if neither exists. */
bool tu_repo_path(const char *rel, char *out, size_t len);
/* The number of '\n' in s. */
int tu_count_lines(const char *s);
/* The fetched data directory for a data set (data/idx/<name> or $SCNN_DATA/idx/<name>). */
const char *tu_data_dir(const char *dataset);

/* ---- parity harness ------------------------------------------------------------------------
 * Compares a kernel's output (got) with the reference's (ref), ggml-style: any NaN/Inf in either
 * fails, and so does any element with |got - ref| > rel_tol * max(|ref|, rms(ref)) (the rms floor
 * keeps elements near zero from demanding impossible relative accuracy). rel_tol == 0 demands
 * exact equality (use it with tu_fill_int inputs, whose float32 sums are exact). */

/* The worst element of a comparison: err / (rel_tol's scale at that element); Inf if an
 * element is not finite. */
double tu_max_rel_err(const float *got, const float *ref, size_t n);
/* True if got matches ref; otherwise false, with a one-line reason (what, first bad index, got,
 * ref, the number of bad elements, the worst error) in msg (which may be NULL). */
bool tu_check_close(const char *what, const float *got, const float *ref, size_t n,
                    double rel_tol, char *msg, size_t msglen);
/* Fails the current cmocka test (at the caller's line) unless tu_check_close passes. */
void tu_assert_close_at(const char *file, int line, const char *what, const float *got,
                        const float *ref, size_t n, double rel_tol);
/* The most percent of the measured FMA peak a bench row may show. Rate and peak are both
 * measured: a row of tens of microseconds that ran undisturbed can beat a probe a neighbour
 * slowed (seen in CI: oneDNN conv1 bwd_w at batch 4, 100.005%; an L1-resident dense_1 GEMM),
 * and the bench warns of it. Far above means a wrong peak (a probe whose FMA chains were not
 * kept in registers read 337%) or a row held against the other ISA's peak (2x on a Zen 5 kind). */
#define TU_PCT_OF_PEAK_MAX 125.0

#define tu_assert_close(what, got, ref, n, rel_tol)                                               \
    tu_assert_close_at(__FILE__, __LINE__, what, got, ref, n, rel_tol)
/* Fails unless got and ref are bitwise identical (determinism checks). */
void tu_assert_same_bits_at(const char *file, int line, const char *what, const float *got,
                            const float *ref, size_t n);
#define tu_assert_same_bits(what, got, ref, n)                                                    \
    tu_assert_same_bits_at(__FILE__, __LINE__, what, got, ref, n)

/* Seeded fills (the same seed gives the same numbers everywhere): uniform in [-1, 1], and
 * integers in [lo, hi] stored as floats. */
void tu_fill_uniform(float *x, size_t n, uint64_t seed);
void tu_fill_int(float *x, size_t n, uint64_t seed, int lo, int hi);
/* malloc'd arrays filled as above (free with free()). */
float *tu_new_uniform(size_t n, uint64_t seed);
float *tu_new_int(size_t n, uint64_t seed, int lo, int hi);
/* n floats, all NaN: outputs that a kernel must overwrite */
float *tu_new_nan(size_t n);

/* A convolution with explicit padding (any the interface allows, not only "same"). */
scnn_conv2d tu_conv_pads(int n, int h, int w, int c, int k, int kh, int kw, int top, int left,
                         int bottom, int right, bool relu);

/* Kernel-test buffers, as include/backend.h's alignment contract allows: bytes at an address
 * that is a multiple of align, placed so that the buffer ends as close as that allows against a
 * PROT_NONE page (exactly against it when bytes is a multiple of align), so that a kernel's read
 * or write of one element past the end faults in every build, sanitized or not. The bytes start
 * as garbage (0xa5). Free with tu_free, which also frees malloc'd pointers. */
void *tu_guarded(size_t bytes, size_t align);
void tu_free(void *p);
/* Runs fn(arg) in a child process; true when it did not finish normally (a signal, a sanitizer
 * report or a non-zero exit): the guard-page tests' "caught". */
bool tu_dies(void (*fn)(void *), void *arg);

/* The op/direction pairs the per-operation benchmark measures ("conv1/fwd", ...). */
extern const char *const tu_bench_op_dirs[];
extern const int tu_bench_n_op_dirs;
/* A seeded 64-bit hash of (seed, i), for tests that need more random numbers. */
uint64_t tu_rand_u64(uint64_t seed, uint64_t i);

#endif
