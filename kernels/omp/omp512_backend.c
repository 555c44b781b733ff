/* The omp512 backend: the avx512 kernels with their items spread over OpenMP threads exactly as
 * the omp backend spreads the avx2 ones (kernels/omp/omp_pfor.c). Every output element is
 * computed by one thread in a fixed order, and row reductions use a fixed number of chunks, so
 * results are bitwise identical for any thread count, and to the avx512 backend's. */
#include "kernels/avx512/avx512_conv.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/omp/omp_pfor.h"

#define OPS_ISA scnn_avx512
#define OPS_FUSED 1
#define PF scnn_omp_pfor
#define GEMM_MC(m, n) scnn_omp_gemm_mc(m, n, SCNN_AVX512_NC)
#define OPS_SLOTS scnn_omp_slots()
#include "kernels/isa_ops.inc"

const scnn_backend scnn_backend_omp512 = {
    .name = "omp512",
    .description = "the avx512 kernels tiled over OpenMP threads, bitwise independent of the "
                   "count",
    .available = scnn_avx512_cpu_ok, /* OpenMP itself is compiled in, or this file is not */
    .threads = scnn_omp_nthreads,
    SCNN_ISA_OPS,
};
