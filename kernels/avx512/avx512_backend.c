/* The avx512 backend: AVX-512 kernels on one thread. For now only the convolutions
 * (avx512_conv.c); every other op falls back to naive until the rest of the backend lands. */
#include "kernels/avx512/avx512_conv.h"

/* AVX-512 F, DQ, BW and VL (the flags this folder is compiled with), and AVX2/FMA. */
bool scnn_avx512_conv_cpu_ok(const char **why_not)
{
    if (why_not)
        *why_not = "";
    __builtin_cpu_init();
    if (!scnn_avx2_cpu_ok(why_not))
        return false;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl")) {
        if (why_not)
            *why_not = "this CPU lacks AVX-512 F, DQ, BW or VL";
        return false;
    }
    return true;
}

const scnn_backend scnn_backend_avx512 = {
    .name = "avx512",
    .description = "AVX-512 register-blocked implicit-GEMM convolutions, one thread",
    .available = scnn_avx512_conv_cpu_ok,
    .conv2d_workspace = scnn_avx512_conv2d_workspace,
    .conv2d_forward = scnn_avx512_conv2d_forward,
    .conv2d_backward_data = scnn_avx512_conv2d_backward_data,
    .conv2d_backward_filter = scnn_avx512_conv2d_backward_filter,
};
