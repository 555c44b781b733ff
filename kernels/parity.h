/* The one parity comparison of a kernel's output with the reference's, shared by tests/ and
 * bench/ (ggml and benchdnn style): any NaN/Inf in either fails, and so does any element with
 * |got - ref| > rel_tol * max(|ref|, rms(ref)); the rms floor (over ref's finite elements) keeps
 * elements near zero from demanding impossible relative accuracy. rel_tol == 0 demands exact
 * equality (with small-integer inputs, whose float32 sums are exact). */
#ifndef SCNN_KERNELS_PARITY_H
#define SCNN_KERNELS_PARITY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct scnn_parity {
    size_t n;             /* elements compared */
    size_t bad;           /* elements out of tolerance */
    size_t first;         /* the first of them (0 when none) */
    double max_abs;       /* worst |got - ref|; Inf if an element is not finite */
    double max_rel;       /* worst |got - ref| / max(|ref|, rms); Inf if not finite */
    double rms;           /* rms of ref's finite elements */
} scnn_parity;

/* Compares got [n] with ref [n]; true when no element is out of tolerance. */
bool scnn_parity_compare(const float *got, const float *ref, size_t n, double rel_tol,
                         scnn_parity *p);

#endif
