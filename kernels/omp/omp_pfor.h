/* The OpenMP item scheduler shared by the omp (avx2) and omp512 (avx512) backends. */
#ifndef SCNN_OMP_PFOR_H
#define SCNN_OMP_PFOR_H

#include <stddef.h>

/* Threads an op may use now: OMP_NUM_THREADS (or the default), at most the processors. */
int scnn_omp_nthreads(void);
/* Per-thread scratch slots a workspace must hold: the most threads any op uses. */
int scnn_omp_slots(void);
/* Runs body(ctx, first, last, slot) over items [0, items) in contiguous ranges, one per
 * thread (slot = the thread's number), using at most items/grain threads: one thread, on the
 * caller, where the work is too small to split or inside a parallel region (never nested). The
 * body's signature is scnn_avx2_body's. */
void scnn_omp_pfor(long items, long grain, void (*body)(void *, long, long, int), void *ctx);

/* Rows of C per GEMM item (0: all) so that every thread gets an item, for a GEMM that cuts its
 * n columns into blocks of nc. */
int scnn_omp_gemm_mc(int m, int n, int nc);

#endif
