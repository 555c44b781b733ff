/* Counter-based randomness: every random number is a pure function of
 * (seed, purpose, step, index), so results do not depend on the backend, the thread count,
 * the order work is done in, or where a run was resumed. The mixer is the 64-bit finaliser of
 * MurmurHash3 / SplitMix64 applied to each key word in turn. */
#include "core/core.h"

static inline uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t scnn_rng_key(uint64_t seed, uint64_t purpose, uint64_t step)
{
    return mix64(mix64(mix64(seed) ^ purpose) ^ step);
}

uint64_t scnn_rng_at(uint64_t key, uint64_t index)
{
    return mix64(key ^ index);
}

uint64_t scnn_rng_u64(uint64_t seed, uint64_t purpose, uint64_t step, uint64_t index)
{
    return scnn_rng_at(scnn_rng_key(seed, purpose, step), index);
}

float scnn_rng_uniform(uint64_t seed, uint64_t purpose, uint64_t step, uint64_t index)
{
    return (float)(scnn_rng_u64(seed, purpose, step, index) >> 40) * (1.0f / 16777216.0f);
}

void scnn_rng_permutation(uint32_t *perm, size_t n, uint64_t seed, uint64_t purpose,
                          uint64_t step)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        /* Lemire's multiply-shift maps 64 random bits to [0, i) with negligible bias. */
        uint64_t r = scnn_rng_u64(seed, purpose, step, i);
        size_t j = (size_t)(((unsigned __int128)r * i) >> 64);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
