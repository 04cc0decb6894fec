/*
 * PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014).
 *
 *   state ← state · 6364136223846793005 + inc        (mod 2^64)
 *   out   = rotr32(((state >> 18) ^ state) >> 27, state >> 59)
 *
 * Integer arithmetic only, so the stream is identical on every platform.
 */
#include "nnlab/rng.h"
#include <math.h>

/* The kit's stream: any fixed value would do; 54 is PCG's demo stream. */
#define DEFAULT_STREAM 54u

void nn_rng_seed_stream(nn_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = 0;
    rng->inc = (stream << 1) | 1u; /* the increment must be odd */
    nn_rng_u32(rng);
    rng->state += seed;
    nn_rng_u32(rng);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed)
{
    nn_rng_seed_stream(rng, seed, DEFAULT_STREAM);
}

uint32_t nn_rng_u32(nn_rng *rng)
{
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t nn_rng_below(nn_rng *rng, uint32_t n)
{
    /* Reject the top partial copy of [0, n) so every residue is equally
     * likely: threshold = 2^32 mod n. */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t r = nn_rng_u32(rng);
        if (r >= threshold)
            return r % n;
    }
}

float nn_rng_uniform(nn_rng *rng)
{
    /* The top 24 bits fill a float's mantissa exactly: k / 2^24, k < 2^24. */
    return (float)(nn_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

float nn_rng_normal(nn_rng *rng)
{
    /* Box-Muller: for U1, U2 ~ U(0, 1], √(−2 ln U1) cos(2π U2) ~ N(0, 1).
     * 1 − U keeps U1 away from 0, where the log diverges. */
    double u1 = 1.0 - nn_rng_uniform(rng);
    double u2 = nn_rng_uniform(rng);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void nn_rng_shuffle(nn_rng *rng, int *idx, int n)
{
    /* Fisher-Yates: position i takes a uniform pick of the i+1 not yet placed. */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nn_rng_below(rng, (uint32_t)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
