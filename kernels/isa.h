/* Run-time ISA choices shared by the SIMD backends (kernels/registry.c). */
#ifndef SCNN_KERNELS_ISA_H
#define SCNN_KERNELS_ISA_H

#include <stdbool.h>

/* True when the comma-separated list in SCNN_HIDE_ISA names isa ("avx2", "avx512"): the
 * backends that need it then report themselves unavailable, as on a CPU without it (a test
 * hook; hiding avx2 hides avx512 too). */
bool scnn_isa_hidden(const char *isa);

/* A SIMD backend's availability: SCNN_HIDE_ISA does not hide it (else *why_not = hidden) and
 * the CPU has the ISA (cpu_has; else *why_not = lacks). why_not may be NULL; it is set to ""
 * when the ISA is usable. */
bool scnn_isa_usable(const char *isa, bool cpu_has, const char *lacks, const char *hidden,
                     const char **why_not);

#endif
