/* The omp backend: the avx2 kernels, with their items spread over OpenMP threads in contiguous
 * ranges (one parallel region per op, never nested). Every output element is computed by one
 * thread in a fixed order, and row reductions use a fixed number of chunks, so results are
 * bitwise identical for any thread count (and to the avx2 backend's). */
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/omp/omp_pfor.h"

#define OPS_ISA scnn_avx2
#define OPS_FUSED 0
#define PF scnn_omp_pfor
#define GEMM_MC(m, n) scnn_omp_gemm_mc(m, n, SCNN_AVX2_NC)
#define OPS_SLOTS scnn_omp_slots()
#include "kernels/isa_ops.inc"

const scnn_backend scnn_backend_omp = {
    .name = "omp",
    .description = "the avx2 kernels tiled over OpenMP threads, bitwise independent of the count",
    .available = scnn_avx2_cpu_ok, /* OpenMP itself is compiled in, or this file is not */
    .threads = scnn_omp_nthreads,
    SCNN_ISA_OPS,
};
