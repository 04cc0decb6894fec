/**
 * @file pcg.h
 * @brief The kit's random stream (PCG32, rng.c) read at any position, for
 *        the GPU: thread i draws the i-th number of the stream directly.
 *
 * nn_rng_u32() steps a linear congruential generator
 *     s_{t+1} = a·s_t + c   (mod 2⁶⁴),  a = 6364136223846793005, c = rng->inc
 * and outputs a permutation of the old state s_t. On the CPU the draws come
 * one after another. A GPU thread that needs draw number i cannot wait for
 * the i draws before it, but it does not have to: the LCG composed with
 * itself is again an LCG,
 *     s_{t+k} = A_k·s_t + C_k,   A_k = aᵏ,  C_k = c·(aᵏ⁻¹ + … + a + 1),
 * and (A, C) for k = 2ʲ come from those for 2ʲ⁻¹ by squaring:
 *     A_{2k} = A_k²,  C_{2k} = (A_k + 1)·C_k.
 * Multiplying together the pairs of the set bits of i gives s_{t+i} in
 * log₂ i steps (Brown, "Random number generation with arbitrary strides",
 * 1994; pcg_advance_lcg_64 in the PCG library).
 *
 * So the GPU dropout mask of element i is made from exactly the number the
 * CPU would have drawn for it: the same seed gives the same mask on both.
 *
 * Plain C99 (the tests run it on the CPU); under nvcc every function is
 * also a __device__ function.
 */
#ifndef NNLAB_GPU_PCG_H
#define NNLAB_GPU_PCG_H

#include <stdint.h>

#ifdef __CUDACC__
#define NN_HD __host__ __device__
#else
#define NN_HD
#endif

/** The LCG multiplier of nn_rng_u32(). */
#define NN_PCG_MULT 6364136223846793005ULL

/**
 * @brief The state `delta` steps after `state`, in O(log delta).
 * @param state current LCG state
 * @param inc the stream's increment (rng->inc, odd)
 * @param delta number of steps to jump
 * @return the state nn_rng_u32() would reach after delta calls
 */
NN_HD static inline uint64_t nn_pcg_advance(uint64_t state, uint64_t inc, uint64_t delta)
{
    uint64_t acc_mult = 1u, acc_plus = 0u; /* the identity map s → 1·s + 0 */
    uint64_t cur_mult = NN_PCG_MULT, cur_plus = inc; /* one step: s → a·s + c */
    while (delta > 0) {
        if (delta & 1u) { /* compose the accumulated map with 2ʲ steps */
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1u) * cur_plus; /* 2ʲ steps → 2ʲ⁺¹ steps */
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    return acc_mult * state + acc_plus;
}

/**
 * @brief PCG32's output for an old state (XSH RR), as nn_rng_u32() returns it.
 * @param old the state before the step
 * @return 32 random bits
 */
NN_HD static inline uint32_t nn_pcg_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}

/**
 * @brief Draw number i (from 0) of nn_rng_uniform() on a stream at `state`.
 *
 * The top 24 bits, k / 2²⁴: exactly the float nn_rng_uniform() returns.
 * @param state the generator's state before draw 0
 * @param inc the stream's increment
 * @param i which draw
 * @return a uniform float in [0, 1)
 */
NN_HD static inline float nn_pcg_uniform_at(uint64_t state, uint64_t inc, uint64_t i)
{
    return (float)(nn_pcg_output(nn_pcg_advance(state, inc, i)) >> 8) * (1.0f / 16777216.0f);
}

#endif
