/* The op-by-op parity checks of the backends against naive (tests/backend_checks.c), shared by
 * tests/test_backends.c, which runs them on every registered backend, and
 * tests/test_backends_broken.c, which proves that each one fails on a broken kernel. Every check
 * fills its inputs (small integers: exact sums; or uniform random numbers: 1e-4), starts every
 * output as NaN, runs the op twice over garbage and a scrambled workspace, and writes the first
 * failure, naming the backend, the op and the shape, into msg. */
#ifndef SCNN_TESTS_BACKEND_CHECKS_H
#define SCNN_TESTS_BACKEND_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "scnn.h"

#define MSG 768 /* the size of a check's message buffer */

enum fill { FILL_INT, FILL_RANDOM };

#define BK_CONV_CASES 21 /* bk_conv_case(0 .. BK_CONV_CASES-1) */

/* n floats that end against a PROT_NONE page (one element past the end faults) */
float *bk_floats(size_t n);
/* The backends under test: every registered one that can run here, naive excluded, resolved. */
int bk_backends(scnn_backend out[8]);
/* A failed check is listed (FAIL: msg) and counted; bk_finish fails the test if any was. */
void bk_report(bool ok, const char *msg);
void bk_finish(const char *what);
/* The model's two layers at batch 1 and 3, then awkward channel counts, sizes, kernels and
 * padding (explicit asymmetric pads too); ReLU on and off is inside check_conv. */
scnn_conv2d bk_conv_case(int i);
/* forward (ReLU off and on), backward-data, backward-filter (with and without db) */
bool check_conv(const scnn_backend *b, scnn_conv2d d, enum fill kind, uint64_t seed, char *msg,
                size_t len);
/* c [m,n] = alpha op(a) op(b) + beta c with leading dimensions `gap` wider than needed; the gaps
 * hold NaN, which must be neither read (a, b) nor written (c); beta == 0 starts c as NaN. */
bool check_gemm(const scnn_backend *b, bool ta, bool tb, int m, int n, int kk, float alpha,
                float beta, int gap, enum fill kind, uint64_t seed, char *msg, size_t len);
bool check_bias_relu(const scnn_backend *b, int rows, int cols, enum fill kind, uint64_t seed,
                     char *msg, size_t len);
bool check_maxpool(const scnn_backend *b, int n, int h, int w, int c, enum fill kind, uint64_t seed,
                   char *msg, size_t len);
bool check_batchnorm(const scnn_backend *b, int m, int c, bool unbiased, enum fill kind,
                     uint64_t seed, char *msg, size_t len);
bool check_softmax(const scnn_backend *b, int n, int classes, int range, enum fill kind,
                   uint64_t seed, char *msg, size_t len);
bool check_adam(const scnn_backend *b, size_t count, enum fill kind, uint64_t seed, char *msg,
                size_t len);
/* exactly naive's bits (the interface demands them) */
bool check_dropout_mask(const scnn_backend *b, size_t count, float p, uint64_t key, char *msg,
                        size_t len);

#endif
