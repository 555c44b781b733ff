/* core/rng.c's mixer in eight AVX-512 lanes, the zmm twin of core/rng_avx2.h (whose
 * SCNN_RNG_MIX64_LANES it instantiates): lane j of scnn_rng_mix64x8(key ^ index) is
 * scnn_rng_at(key, index_j). Include it only from files built with -mavx2 -mavx512f -mavx512dq
 * (the 64-bit multiply). */
#ifndef SCNN_CORE_RNG_AVX512_H
#define SCNN_CORE_RNG_AVX512_H

#include "core/rng_avx2.h"

static inline __m512i scnn_rng_mix64x8(__m512i z)
{
    SCNN_RNG_MIX64_LANES(z, _mm512, si512, _mm512_set1_epi64, _mm512_mullo_epi64);
    return z;
}

#endif
