/**
 * @file rng.h
 * @brief The kit's own seeded random-number generator.
 *
 * PCG32 (O'Neill, 2014): a 64-bit linear congruential state whose output is
 * permuted by a xorshift and a data-dependent rotation. It is defined by
 * integer arithmetic only, so the same seed gives the same stream of
 * integers on every platform and compiler. Every random choice in nnlab
 * (weight init, shuffling, dropout masks, synthetic data) draws from an
 * nn_rng that the caller passes in explicitly: same seed, same run.
 */
#ifndef NNLAB_RNG_H
#define NNLAB_RNG_H

#include <stdint.h>

/** Generator state. Copy it to fork a stream; no hidden global state. */
typedef struct {
    uint64_t state; /**< LCG state */
    uint64_t inc;   /**< stream selector (always odd) */
} nn_rng;

/**
 * @brief Seed a generator on the kit's default stream (stream 54).
 * @param rng generator to initialise
 * @param seed any 64-bit value; equal seeds give equal streams
 */
void nn_rng_seed(nn_rng *rng, uint64_t seed);

/**
 * @brief Seed a generator on a chosen stream (PCG's pcg32_srandom_r):
 *        different streams are independent sequences for the same seed.
 * @param rng generator to initialise
 * @param seed initial state
 * @param stream stream selector
 */
void nn_rng_seed_stream(nn_rng *rng, uint64_t seed, uint64_t stream);

/** @brief Next 32 uniformly distributed bits. @param rng generator @return the bits */
uint32_t nn_rng_u32(nn_rng *rng);

/**
 * @brief Uniform integer in [0, n) without modulo bias (rejection sampling).
 * @param rng generator
 * @param n upper bound, n >= 1
 * @return r with 0 <= r < n
 */
uint32_t nn_rng_below(nn_rng *rng, uint32_t n);

/** @brief Uniform float in [0, 1) with 24 random bits. @param rng generator @return u in [0, 1) */
float nn_rng_uniform(nn_rng *rng);

/**
 * @brief Standard normal N(0, 1) by the Box-Muller transform.
 * @param rng generator
 * @return a draw z ~ N(0, 1)
 */
float nn_rng_normal(nn_rng *rng);

/**
 * @brief Shuffle an index array in place (Fisher-Yates).
 * @param rng generator
 * @param idx [n] indices to permute
 * @param n number of indices
 */
void nn_rng_shuffle(nn_rng *rng, int *idx, int n);

#endif
