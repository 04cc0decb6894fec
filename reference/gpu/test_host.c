/*
 * The GPU's random stream, checked on the CPU: pcg.h's jump-ahead must land
 * exactly where nn_rng_u32() gets by stepping, so that a GPU thread's
 * dropout draw i is the CPU's draw i (train.cu, ops.cu). Plain C: runs
 * wherever nnlab builds, GPU or not.
 *
 *   build/bin/nnlab-gpu-host-tests      (part of make test-gpu)
 */
#include <stdio.h>
#include <string.h>
#include "nnlab/dropout.h"
#include "nnlab/rng.h"
#include "pcg.h"

static int passed, failed;

static void check(int ok, const char *name)
{
    if (ok)
        passed++;
    else
        failed++;
    printf("%s  %s\n", ok ? "ok  " : "FAIL", name);
}

/* Stepping k times and jumping k steps agree, for k from 0 to 5000 and for
 * a few large k, on three streams and seeds. */
static int jump_matches_steps(void)
{
    const uint64_t seeds[3] = {1, 42, 0xdeadbeefcafef00dULL}, streams[3] = {54, 7, 12345};
    for (int s = 0; s < 3; s++) {
        nn_rng r;
        nn_rng_seed_stream(&r, seeds[s], streams[s]);
        nn_rng start = r;
        for (uint64_t k = 0; k <= 5000; k++) {
            if (nn_pcg_advance(start.state, start.inc, k) != r.state)
                return 0;
            nn_rng_u32(&r);
        }
        /* 2^20 + 3 steps, stepped, against one jump */
        r = start;
        for (uint64_t k = 0; k < (1u << 20) + 3; k++)
            nn_rng_u32(&r);
        if (nn_pcg_advance(start.state, start.inc, (1u << 20) + 3) != r.state)
            return 0;
    }
    return 1;
}

/* Draw i read directly is the i-th nn_rng_uniform(), bit for bit. */
static int uniform_at_matches(void)
{
    nn_rng r;
    nn_rng_seed(&r, 2024);
    nn_rng start = r;
    for (uint64_t i = 0; i < 10000; i++) {
        float want = nn_rng_uniform(&r), got = nn_pcg_uniform_at(start.state, start.inc, i);
        if (memcmp(&want, &got, sizeof got) != 0)
            return 0;
    }
    return 1;
}

/* The dropout mask built draw by draw from pcg.h (as the GPU kernel does)
 * is nn_dropout_forward()'s, and the stream ends in the same state. */
static int dropout_mask_matches(void)
{
    enum { N = 3001 };
    static float in[N], out[N], mask[N];
    const float p = 0.37f, keep = 1.0f / (1.0f - p);
    for (int i = 0; i < N; i++)
        in[i] = (float)(i % 17) - 8.0f;
    nn_rng cpu;
    nn_rng_seed_stream(&cpu, 99, 7);
    nn_rng gpu = cpu;
    nn_dropout_forward(out, mask, in, N, p, 1, &cpu);
    for (uint64_t i = 0; i < N; i++) {
        float m = nn_pcg_uniform_at(gpu.state, gpu.inc, i) < p ? 0.0f : keep;
        if (memcmp(&m, &mask[i], sizeof m) != 0)
            return 0;
    }
    return nn_pcg_advance(gpu.state, gpu.inc, N) == cpu.state;
}

int main(void)
{
    check(jump_matches_steps(), "jumping k steps = stepping k times (k <= 5000, and 2^20 + 3)");
    check(uniform_at_matches(), "draw i read directly = the i-th nn_rng_uniform(), bit for bit");
    check(dropout_mask_matches(), "dropout mask from the jump-ahead = nn_dropout_forward's");
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
