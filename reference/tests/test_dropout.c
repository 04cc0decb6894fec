/*
 * Tests of lab 6, part 1 (dropout.c).
 *
 * Dropout's mask is random, so its statistics are checked within bounds
 * derived in the comments (5 standard deviations: a correct implementation
 * fails with probability below 1e-6, and the seed is fixed anyway), and
 * its exact values against a replay of the same random stream, following
 * the header's rule: element i is dropped when the i-th uniform draw is < p.
 * The L2 and early-stopping values are worked by hand in the comments.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/dropout.h"
#include "testutil.h"

/* n NaNs: an output the function forgets to write can never pass. */
static void poison(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = NAN;
}

/* ------------------------------------------------------------ dropout forward */

enum { BIG = 100000 };

/* Each element is kept independently with probability q = 1 − p, so the
 * number kept is Binomial(n, q): the kept fraction has mean q and standard
 * deviation σ = √(q (1 − q) / n) = √(0.7 · 0.3 / 1e5) = 1.449e-3 for
 * p = 0.3, n = 1e5. Accepted: |fraction − 0.7| < 5σ = 7.25e-3. */
static void test_dropout_kept_fraction(void)
{
    const float p = 0.3f;
    float *in = malloc(sizeof(float) * BIG), *out = malloc(sizeof(float) * BIG);
    float *mask = malloc(sizeof(float) * BIG);
    nn_rng rng;
    nn_rng_seed(&rng, 601);
    tu_fill(in, BIG, 0.5f, 1.5f, &rng); /* never 0: a kept value is nonzero */
    poison(out, BIG);
    poison(mask, BIG);
    nn_dropout_forward(out, mask, in, BIG, p, 1, &rng);
    int kept = 0;
    for (int i = 0; i < BIG; i++)
        kept += mask[i] != 0.0f;
    double q = 1.0 - p, sigma = sqrt(q * (1.0 - q) / BIG);
    TU_ASSERT_NEAR((double)kept / BIG, q, 5.0 * sigma);
    free(in);
    free(out);
    free(mask);
}

/* Inverted dropout keeps the expectation: E[out_i] = in_i. The sum
 * S = Σ out_i = Σ in_i · keep_i / q (keep_i ~ Bernoulli(q)) has mean Σ in_i
 * and variance Σ in_i² · q(1 − q)/q² = Σ in_i² · p/q. Accepted:
 * |S − Σ in| < 5 √(Σ in² p/q). Dropout without the 1/q scaling would give
 * S ≈ 0.7 Σ in, over 100 standard deviations away here. */
static void test_dropout_mean_preserved(void)
{
    const float p = 0.3f;
    float *in = malloc(sizeof(float) * BIG), *out = malloc(sizeof(float) * BIG);
    float *mask = malloc(sizeof(float) * BIG);
    nn_rng rng;
    nn_rng_seed(&rng, 602);
    tu_fill(in, BIG, 0.0f, 2.0f, &rng);
    poison(out, BIG);
    nn_dropout_forward(out, mask, in, BIG, p, 1, &rng);
    double s_in = 0.0, s_out = 0.0, s_sq = 0.0;
    for (int i = 0; i < BIG; i++) {
        s_in += in[i];
        s_sq += (double)in[i] * in[i];
        s_out += out[i];
    }
    double sd = sqrt(s_sq * p / (1.0 - p));
    TU_ASSERT_NEAR(s_out, s_in, 5.0 * sd);
    free(in);
    free(out);
    free(mask);
}

/* Replay the stream: element i is dropped iff the i-th draw u_i < p. Dropped
 * elements are exactly 0 with mask 0; kept ones carry mask 1/(1 − p) and
 * out = in · mask exactly (the same float operations). Also with p = 0,
 * where every element is kept unchanged. */
static void check_exact_mask(float p, uint64_t seed)
{
    enum { N = 1000 };
    float in[N], out[N], mask[N];
    nn_rng rng, replay;
    nn_rng_seed(&rng, seed);
    tu_fill(in, N, -2.0f, 2.0f, &rng);
    replay = rng;
    poison(out, N);
    poison(mask, N);
    nn_dropout_forward(out, mask, in, N, p, 1, &rng);
    float keep = 1.0f / (1.0f - p);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        int dropped = nn_rng_uniform(&replay) < p;
        float want_mask = dropped ? 0.0f : keep;
        float want_out = dropped ? 0.0f : in[i] * keep;
        wrong += mask[i] != want_mask || out[i] != want_out;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* n draws, no more: the stream continues where the replay stopped. */
    CU_ASSERT_EQUAL(nn_rng_u32(&rng), nn_rng_u32(&replay));
}

static void test_dropout_exact_values(void)
{
    check_exact_mask(0.3f, 603);
    check_exact_mask(0.5f, 604);
    check_exact_mask(0.0f, 605);
}

/* Same seed, same mask (DESIGN section 3); another seed, another mask. */
static void test_dropout_seeded(void)
{
    enum { N = 500 };
    float in[N], out[3][N], mask[3][N];
    const uint64_t seeds[3] = {606, 606, 607};
    for (int i = 0; i < N; i++)
        in[i] = 1.0f + (float)i / N;
    for (int k = 0; k < 3; k++) {
        nn_rng rng;
        nn_rng_seed(&rng, seeds[k]);
        nn_dropout_forward(out[k], mask[k], in, N, 0.4f, 1, &rng);
    }
    CU_ASSERT(memcmp(mask[0], mask[1], sizeof mask[0]) == 0);
    CU_ASSERT(memcmp(out[0], out[1], sizeof out[0]) == 0);
    CU_ASSERT(memcmp(mask[0], mask[2], sizeof mask[0]) != 0);
}

/* out may equal in: in place gives what a separate output gives. */
static void test_dropout_in_place(void)
{
    enum { N = 300 };
    float in[N], out[N], mask[N], mask2[N];
    nn_rng rng, rng2;
    nn_rng_seed(&rng, 608);
    tu_fill(in, N, -1.0f, 1.0f, &rng);
    rng2 = rng;
    nn_dropout_forward(out, mask, in, N, 0.25f, 1, &rng);
    nn_dropout_forward(in, mask2, in, N, 0.25f, 1, &rng2);
    CU_ASSERT(memcmp(in, out, sizeof in) == 0);
    CU_ASSERT(memcmp(mask, mask2, sizeof mask) == 0);
}

/* Evaluation: out = in bit for bit, mask = 1, and no draw from the stream
 * (a prediction must not change what training does next). */
static void test_dropout_eval_identity(void)
{
    enum { N = 200 };
    float in[N], out[N], mask[N];
    nn_rng rng;
    nn_rng_seed(&rng, 609);
    tu_fill(in, N, -3.0f, 3.0f, &rng);
    nn_rng before = rng;
    poison(out, N);
    poison(mask, N);
    nn_dropout_forward(out, mask, in, N, 0.5f, 0, &rng);
    CU_ASSERT(memcmp(out, in, sizeof in) == 0);
    int ones = 0;
    for (int i = 0; i < N; i++)
        ones += mask[i] == 1.0f;
    CU_ASSERT_EQUAL(ones, N);
    CU_ASSERT(rng.state == before.state && rng.inc == before.inc);
}

/* ------------------------------------------------------------ dropout backward */

/* din += dout ⊙ mask, onto a din that is not zero: mask from a real
 * forward pass, expected values din0 + dout·mask computed here. */
static void test_dropout_backward(void)
{
    enum { N = 400 };
    float in[N], out[N], mask[N], dout[N], din[N], want[N];
    nn_rng rng;
    nn_rng_seed(&rng, 610);
    tu_fill(in, N, -1.0f, 1.0f, &rng);
    tu_fill(dout, N, -1.0f, 1.0f, &rng);
    tu_fill(din, N, -1.0f, 1.0f, &rng);
    nn_dropout_forward(out, mask, in, N, 0.3f, 1, &rng);
    for (int i = 0; i < N; i++)
        want[i] = din[i] + dout[i] * mask[i];
    nn_dropout_backward(din, dout, mask, N);
    TU_ASSERT_CLOSE(din, want, N, 1e-6);
}

/* By hand, mask [0, 2, 2, 0] (p = 0.5), dout [1, 2, 3, 4], din [10, 10, 10, 10]:
 * din = [10, 14, 16, 10]; a second call adds again: [10, 18, 22, 10]. */
static void test_dropout_backward_by_hand(void)
{
    const float mask[4] = {0, 2, 2, 0}, dout[4] = {1, 2, 3, 4};
    float din[4] = {10, 10, 10, 10};
    const float once[4] = {10, 14, 16, 10}, twice[4] = {10, 18, 22, 10};
    nn_dropout_backward(din, dout, mask, 4);
    TU_ASSERT_CLOSE(din, once, 4, 1e-7);
    nn_dropout_backward(din, dout, mask, 4);
    TU_ASSERT_CLOSE(din, twice, 4, 1e-7);
}

/* ------------------------------------------------------------ L2 */

/* w = [1, −2, 3, 0.5], λ = 0.1: Σ w² = 1 + 4 + 9 + 0.25 = 14.25,
 * penalty (λ/2) Σ w² = 0.05 · 14.25 = 0.7125. */
static void test_l2_penalty(void)
{
    const float w[4] = {1, -2, 3, 0.5f};
    TU_ASSERT_NEAR(nn_l2_penalty(w, 4, 0.1f), 0.7125, 1e-6);
    TU_ASSERT_NEAR(nn_l2_penalty(w, 4, 0.0f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_l2_penalty(w, 0, 0.1f), 0.0, 0.0);
}

/* dw += λ w with λ = 0.1 onto dw = [0.5, 0.5, 0.5, −1]:
 * [0.5 + 0.1, 0.5 − 0.2, 0.5 + 0.3, −1 + 0.05] = [0.6, 0.3, 0.8, −0.95]. */
static void test_l2_backward(void)
{
    const float w[4] = {1, -2, 3, 0.5f}, want[4] = {0.6f, 0.3f, 0.8f, -0.95f};
    float dw[4] = {0.5f, 0.5f, 0.5f, -1.0f};
    nn_l2_backward(dw, w, 4, 0.1f);
    TU_ASSERT_CLOSE(dw, want, 4, 1e-6);
}

/* ------------------------------------------------------------ early stopping */

static void test_early_stop_init(void)
{
    nn_early_stop es;
    memset(&es, 0x5a, sizeof es);
    nn_early_stop_init(&es, 3);
    CU_ASSERT(isinf(es.best) && es.best > 0);
    CU_ASSERT_EQUAL(es.best_epoch, -1);
    CU_ASSERT_EQUAL(es.patience, 3);
    CU_ASSERT_EQUAL(es.wait, 0);
}

/* patience 3:
 *   epoch  loss   best  wait  returns
 *     0    1.0    1.0    0     1   (anything beats ∞)
 *     1    0.8    0.8    0     1
 *     2    0.9    0.8    1     0
 *     3    0.8    0.8    2     0   (equal is not better)
 *     4    0.7    0.7    0     1   (wait starts over)
 *     5    0.75   0.7    1     0
 *     6    0.71   0.7    2     0
 *     7    0.9    0.7    3    −1   (wait reached patience: stop) */
static void test_early_stop_sequence(void)
{
    const float loss[8] = {1.0f, 0.8f, 0.9f, 0.8f, 0.7f, 0.75f, 0.71f, 0.9f};
    const int ret[8] = {1, 1, 0, 0, 1, 0, 0, -1}, wait[8] = {0, 0, 1, 2, 0, 1, 2, 3};
    const int best_epoch[8] = {0, 1, 1, 1, 4, 4, 4, 4};
    nn_early_stop es;
    nn_early_stop_init(&es, 3);
    for (int e = 0; e < 8; e++) {
        CU_ASSERT_EQUAL(nn_early_stop_update(&es, loss[e], e), ret[e]);
        CU_ASSERT_EQUAL(es.wait, wait[e]);
        CU_ASSERT_EQUAL(es.best_epoch, best_epoch[e]);
        CU_ASSERT_EQUAL(es.best, loss[best_epoch[e]]);
    }
}

/* A NaN loss (training diverged) is never an improvement, and patience 1
 * stops at the first epoch that does not improve. */
static void test_early_stop_nan_and_patience_one(void)
{
    nn_early_stop es;
    nn_early_stop_init(&es, 2);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, NAN, 0), 0);
    CU_ASSERT(isinf(es.best));
    CU_ASSERT_EQUAL(es.best_epoch, -1);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, 2.0f, 1), 1);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, NAN, 2), 0);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, NAN, 3), -1);
    CU_ASSERT_EQUAL(es.best, 2.0f);
    CU_ASSERT_EQUAL(es.best_epoch, 1);

    nn_early_stop_init(&es, 1);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, 0.5f, 0), 1);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, 0.4f, 1), 1);
    CU_ASSERT_EQUAL(nn_early_stop_update(&es, 0.6f, 2), -1);
}

void suite_dropout(void)
{
    CU_pSuite s = CU_add_suite("dropout", NULL, NULL);
    CU_add_test(s, "dropout keeps 1 - p within 5 sigma", test_dropout_kept_fraction);
    CU_add_test(s, "dropout preserves the mean", test_dropout_mean_preserved);
    CU_add_test(s, "dropout mask replayed exactly", test_dropout_exact_values);
    CU_add_test(s, "dropout same seed same mask", test_dropout_seeded);
    CU_add_test(s, "dropout in place", test_dropout_in_place);
    CU_add_test(s, "dropout eval is the identity", test_dropout_eval_identity);
    CU_add_test(s, "dropout backward accumulates dout*mask", test_dropout_backward);
    CU_add_test(s, "dropout backward by hand", test_dropout_backward_by_hand);
    CU_add_test(s, "l2 penalty by hand", test_l2_penalty);
    CU_add_test(s, "l2 backward by hand", test_l2_backward);
    CU_add_test(s, "early stop init", test_early_stop_init);
    CU_add_test(s, "early stop sequence by hand", test_early_stop_sequence);
    CU_add_test(s, "early stop NaN, patience 1", test_early_stop_nan_and_patience_one);
}
