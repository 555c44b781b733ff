/* core/rng.c's mixer in eight AVX-512 lanes, the zmm twin of core/rng_avx2.h: lane j of
 * scnn_rng_mix64x8(key ^ index) is scnn_rng_at(key, index_j). Include it only from files built
 * with -mavx512f -mavx512dq (the 64-bit multiply). */
#ifndef SCNN_CORE_RNG_AVX512_H
#define SCNN_CORE_RNG_AVX512_H

#include <immintrin.h>

static inline __m512i scnn_rng_mix64x8(__m512i z)
{
    z = _mm512_add_epi64(z, _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                           _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                           _mm512_set1_epi64((long long)0x94d049bb133111ebull));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

#endif
