/* core/rng.c's mixer in four AVX2 lanes, for kernels that draw many numbers at once (the
 * dropout masks): lane j of scnn_rng_mix64x4(key ^ index) is scnn_rng_at(key, index_j). Include
 * it only from files built with -mavx2. Kept next to core/rng.c so that the two cannot drift apart
 * (the backend tests compare the masks with the naive, scalar ones). */
#ifndef SCNN_CORE_RNG_AVX2_H
#define SCNN_CORE_RNG_AVX2_H

#include <immintrin.h>

/* core/rng.c's mix64 on the 64-bit lanes of z, written once for every vector width: W is the
 * intrinsics' width prefix (_mm256, _mm512), SI the integer type suffix (si256, si512), SET1
 * the broadcast and MUL a lane-wise 64-bit multiply mod 2^64. */
#define SCNN_RNG_MIX64_LANES(z, W, SI, SET1, MUL)                                                 \
    do {                                                                                          \
        z = W##_add_epi64(z, SET1((long long)0x9e3779b97f4a7c15ull));                             \
        z = MUL(W##_xor_##SI(z, W##_srli_epi64(z, 30)), SET1((long long)0xbf58476d1ce4e5b9ull));  \
        z = MUL(W##_xor_##SI(z, W##_srli_epi64(z, 27)), SET1((long long)0x94d049bb133111ebull));  \
        z = W##_xor_##SI(z, W##_srli_epi64(z, 31));                                               \
    } while (0)

/* a * b mod 2^64 in each 64-bit lane (AVX2 has only 32x32->64 multiplies) */
static inline __m256i scnn_rng_mul64x4(__m256i a, __m256i b)
{
    const __m256i lo = _mm256_mul_epu32(a, b);
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                           _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

/* core/rng.c's mix64 in four lanes */
static inline __m256i scnn_rng_mix64x4(__m256i z)
{
    SCNN_RNG_MIX64_LANES(z, _mm256, si256, _mm256_set1_epi64x, scnn_rng_mul64x4);
    return z;
}

#endif
