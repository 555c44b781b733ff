/* Run-time ISA choices shared by the SIMD backends (kernels/registry.c). */
#ifndef SCNN_KERNELS_ISA_H
#define SCNN_KERNELS_ISA_H

#include <stdbool.h>

/* True when the comma-separated list in SCNN_HIDE_ISA names isa ("avx2", "avx512"): the
 * backends that need it then report themselves unavailable, as on a CPU without it (a test
 * hook; hiding avx2 hides avx512 too). */
bool scnn_isa_hidden(const char *isa);

#endif
