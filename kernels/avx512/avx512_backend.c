/* The avx512 backend: AVX-512 kernels on one thread (kernels/avx512/avx512_kernels.h and the
 * convolutions of kernels/avx512/avx512_conv.h); the same functions run on OpenMP threads in
 * kernels/omp/omp512_backend.c. */
#include "kernels/avx512/avx512_conv.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/isa.h"

bool scnn_avx512_cpu_ok(const char **why_not)
{
    if (!scnn_avx2_cpu_ok(why_not))
        return false;
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the zmm and mask registers */
    return scnn_isa_usable(
        "avx512",
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"),
        "this CPU (or OS) lacks AVX-512 F/DQ/BW/VL", "AVX-512 hidden by SCNN_HIDE_ISA", why_not);
}

#define OPS_ISA scnn_avx512
#define OPS_FUSED 1
#define PF scnn_avx2_pfor_serial
#define GEMM_MC(m, n) 0
#define OPS_SLOTS 1
#include "kernels/isa_ops.inc"

const scnn_backend scnn_backend_avx512 = {
    .name = "avx512",
    .description = "AVX-512 kernels (6x64 convolution and 12x32 GEMM tiles, masked tails), one "
                   "thread",
    .available = scnn_avx512_cpu_ok,
    SCNN_ISA_OPS,
};
