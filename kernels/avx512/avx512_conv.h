/* AVX-512 convolutions (avx512_conv.c): the three directions on NHWC/HWIO, as the avx2 ones
 * (kernels/avx2/avx2_conv.c) are organised, with 6x64 register tiles (24 zmm accumulators) and
 * masked tails. It declares no AVX-512 types: files compiled with the avx2 flags may include it.
 *
 * Each op is split into items that a pfor (kernels/avx2/avx2_kernels.h: scnn_avx2_pfor) spreads
 * over threads in contiguous ranges: forward and backward-data by groups of images, backward-
 * filter by a fixed number of chunks of images summed in chunk order. An output element is one
 * FMA chain in a fixed order whatever the range, so the results are bitwise identical for any
 * thread count; scnn_avx512_conv2d_* are the one-thread ops with the backend table's signatures. */
#ifndef SCNN_AVX512_CONV_H
#define SCNN_AVX512_CONV_H

#include "kernels/avx2/avx2_kernels.h"

/* Bytes of workspace for d when up to `slots` threads share it. */
size_t scnn_avx512_conv2d_workspace_for(const scnn_conv2d *d, int slots);
void scnn_avx512_conv2d_forward_with(scnn_avx2_pfor pf, const scnn_conv2d *d, const float *x,
                                     const float *w, const float *b, float *y, void *ws);
void scnn_avx512_conv2d_backward_data_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                           const float *dy, const float *w, float *dx, void *ws);
void scnn_avx512_conv2d_backward_filter_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                             const float *x, const float *dy, float *dw,
                                             float *db, void *ws);

/* True when this CPU has AVX-512 F, DQ, BW and VL (and AVX2/FMA); else *why_not says why
 * (kernels/avx512/avx512_backend.c; also declared in avx512_kernels.h). */
bool scnn_avx512_cpu_ok(const char **why_not);

/* One thread, the backend table's signatures (include/backend.h). */
size_t scnn_avx512_conv2d_workspace(const scnn_conv2d *d);
void scnn_avx512_conv2d_forward(const scnn_conv2d *d, const float *x, const float *w,
                                const float *b, float *y, void *ws);
void scnn_avx512_conv2d_backward_data(const scnn_conv2d *d, const float *dy, const float *w,
                                      float *dx, void *ws);
void scnn_avx512_conv2d_backward_filter(const scnn_conv2d *d, const float *x, const float *dy,
                                        float *dw, float *db, void *ws);

#endif
