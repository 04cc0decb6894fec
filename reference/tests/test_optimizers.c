/*
 * Tests of lab 5 (optimizers.c).
 *
 * Each optimizer takes two steps from w = [1, −2] with the gradients
 * g₁ = [0.5, −1] then g₂ = [0.25, 2], and is compared with the same two
 * steps worked by hand in the comments (the second step checks that the
 * state carried over). A long run on a quadratic checks that each one
 * actually converges. The schedules are checked at chosen epochs.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>
#include "nnlab/optimizers.h"
#include "testutil.h"

static const float W0[2] = {1, -2}, G1[2] = {0.5f, -1}, G2[2] = {0.25f, 2};

/* Weights of magnitude ≤ 2 hold about 7 significant digits in float. */
#define TOL 1e-6

/* lr = 0.1, μ = 0.9.
 * step 1: v = g₁ = [0.5, −1];  w = [1 − 0.05, −2 + 0.1] = [0.95, −1.9]
 * step 2: v = 0.9 [0.5, −1] + [0.25, 2] = [0.7, 1.1]
 *         w = [0.95 − 0.07, −1.9 − 0.11] = [0.88, −2.01] */
static void test_momentum(void)
{
    float w[2], v[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_momentum_step(w, v, G1, 2, 0.1f, 0.9f);
    TU_ASSERT_NEAR(w[0], 0.95, TOL);
    TU_ASSERT_NEAR(w[1], -1.9, TOL);
    nn_momentum_step(w, v, G2, 2, 0.1f, 0.9f);
    TU_ASSERT_NEAR(v[0], 0.7, TOL);
    TU_ASSERT_NEAR(v[1], 1.1, TOL);
    TU_ASSERT_NEAR(w[0], 0.88, TOL);
    TU_ASSERT_NEAR(w[1], -2.01, TOL);
}

/* lr = 0.1, μ = 0.9; the step is along g + μ v with the updated v.
 * step 1: v = [0.5, −1];  g + μv = [0.95, −1.9];  w = [0.905, −1.81]
 * step 2: v = [0.7, 1.1]; g + μv = [0.25 + 0.63, 2 + 0.99] = [0.88, 2.99]
 *         w = [0.905 − 0.088, −1.81 − 0.299] = [0.817, −2.109] */
static void test_nesterov(void)
{
    float w[2], v[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_nesterov_step(w, v, G1, 2, 0.1f, 0.9f);
    TU_ASSERT_NEAR(w[0], 0.905, TOL);
    TU_ASSERT_NEAR(w[1], -1.81, TOL);
    nn_nesterov_step(w, v, G2, 2, 0.1f, 0.9f);
    TU_ASSERT_NEAR(v[0], 0.7, TOL);
    TU_ASSERT_NEAR(v[1], 1.1, TOL);
    TU_ASSERT_NEAR(w[0], 0.817, TOL);
    TU_ASSERT_NEAR(w[1], -2.109, TOL);
}

/* lr = 0.1, ε = 1e-10.
 * step 1: h = [0.25, 1];  g/√h = [1, −1];  w = [0.9, −1.9]
 * step 2: h = [0.3125, 5]; g/√h = [0.25/(√5/4), 2/√5] = [1/√5, 2/√5]
 *         = [0.44721360, 0.89442719]
 *         w = [0.9 − 0.044721360, −1.9 − 0.089442719] = [0.85527864, −1.98944272] */
static void test_adagrad(void)
{
    float w[2], h[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_adagrad_step(w, h, G1, 2, 0.1f, 1e-10f);
    TU_ASSERT_NEAR(w[0], 0.9, TOL);
    TU_ASSERT_NEAR(w[1], -1.9, TOL);
    nn_adagrad_step(w, h, G2, 2, 0.1f, 1e-10f);
    TU_ASSERT_NEAR(h[0], 0.3125, TOL);
    TU_ASSERT_NEAR(h[1], 5.0, TOL);
    TU_ASSERT_NEAR(w[0], 0.85527864, TOL);
    TU_ASSERT_NEAR(w[1], -1.98944272, TOL);
}

/* lr = 0.01, ρ = 0.9, ε = 1e-8.
 * step 1: s = 0.1 g² = [0.025, 0.1];  g/√s = ±1/√0.1 = ±√10 = ±3.1622777
 *         w = [1 − 0.031622777, −2 + 0.031622777] = [0.96837722, −1.96837722]
 * step 2: s = 0.9 [0.025, 0.1] + 0.1 [0.0625, 4] = [0.02875, 0.49]
 *         g/√s = [0.25/0.16955825, 2/0.7] = [1.4744196, 2.8571429]
 *         w = [0.96837722 − 0.014744196, −1.96837722 − 0.028571429]
 *           = [0.95363303, −1.99694865] */
static void test_rmsprop(void)
{
    float w[2], s[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_rmsprop_step(w, s, G1, 2, 0.01f, 0.9f, 1e-8f);
    TU_ASSERT_NEAR(w[0], 0.96837722, TOL);
    TU_ASSERT_NEAR(w[1], -1.96837722, TOL);
    nn_rmsprop_step(w, s, G2, 2, 0.01f, 0.9f, 1e-8f);
    TU_ASSERT_NEAR(s[0], 0.02875, 1e-8);
    TU_ASSERT_NEAR(s[1], 0.49, 1e-6);
    TU_ASSERT_NEAR(w[0], 0.95363303, TOL);
    TU_ASSERT_NEAR(w[1], -1.99694865, TOL);
}

/* lr = 1, ρ = 0.9, ε = 1e-6.
 * step 1: s = [0.025, 0.1]
 *         Δ = g √(0 + ε) / √(s + ε) = [0.5 · 1e-3 / √0.025001, −1e-3 / √0.100001]
 *           = [0.5e-3 / 0.15811704, −1e-3 / 0.31622935] = [3.1622144e-3, −3.1622619e-3]
 *         d = 0.1 Δ² = [0.99996e-6, 0.99999e-6]
 *         w = [1 − 3.1622144e-3, −2 + 3.1622619e-3] = [0.99683779, −1.99683774]
 * step 2: s = [0.02875, 0.49] (as RMSProp)
 *         Δ = [0.25 √1.99996e-6 / √0.028751, 2 √1.99999e-6 / √0.490001]
 *           = [0.25 · 1.4142e-3 / 0.16956, 2 · 1.4142e-3 / 0.70000]
 *           = [2.0850870e-3, 4.0405960e-3]
 *         d = 0.9 d + 0.1 Δ² = [1.3347228e-6, 2.5326326e-6]
 *         w = [0.99683779 − 0.0020850870, −1.99683774 − 0.0040405960]
 *           = [0.99475270, −2.00087833] */
static void test_adadelta(void)
{
    float w[2], s[2] = {0, 0}, d[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_adadelta_step(w, s, d, G1, 2, 1.0f, 0.9f, 1e-6f);
    TU_ASSERT_NEAR(w[0], 0.99683779, TOL);
    TU_ASSERT_NEAR(w[1], -1.99683774, TOL);
    TU_ASSERT_NEAR(d[0], 0.99996e-6, 1e-11);
    TU_ASSERT_NEAR(d[1], 0.99999e-6, 1e-11);
    nn_adadelta_step(w, s, d, G2, 2, 1.0f, 0.9f, 1e-6f);
    TU_ASSERT_NEAR(d[0], 1.3347228e-6, 1e-11);
    TU_ASSERT_NEAR(d[1], 2.5326326e-6, 1e-11);
    TU_ASSERT_NEAR(w[0], 0.99475270, TOL);
    TU_ASSERT_NEAR(w[1], -2.00087833, TOL);
}

/* lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
 * step 1: m = 0.1 g = [0.05, −0.1];  v = 0.001 g² = [2.5e-4, 1e-3]
 *         m̂ = m / 0.1 = g;  v̂ = v / 0.001 = g²
 *         the step is lr · g / (|g| + ε) = lr · sign(g):  w = [0.999, −1.999]
 *         (without the bias correction it would be √10 times larger)
 * step 2: m = 0.9 m + 0.1 g₂ = [0.045 + 0.025, −0.09 + 0.2] = [0.07, 0.11]
 *         v = 0.999 v + 0.001 g₂² = [2.4975e-4 + 6.25e-5, 9.99e-4 + 4e-3]
 *           = [3.1225e-4, 4.999e-3]
 *         m̂ = m / (1 − 0.9²) = m / 0.19 = [0.36842105, 0.57894737]
 *         v̂ = v / (1 − 0.999²) = v / 0.001999 = [0.15620310, 2.5007504]
 *         √v̂ = [0.39522538, 1.5813761]
 *         lr m̂ / √v̂ = [9.3217962e-4, 3.6610352e-4]
 *         w = [0.999 − 0.00093217962, −1.999 − 0.00036610352] = [0.99806782, −1.99936610] */
static void test_adam(void)
{
    float w[2], m[2] = {0, 0}, v[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_adam_step(w, m, v, G1, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 1);
    TU_ASSERT_NEAR(w[0], 0.999, TOL);
    TU_ASSERT_NEAR(w[1], -1.999, TOL);
    nn_adam_step(w, m, v, G2, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 2);
    /* The state holds the raw moments, not the bias-corrected ones. In
     * float, 0.999 is 0.99900001, so 1 − β₂ is 1.3e-5 (relative) below
     * 0.001 and so is v; the tolerance on v allows for it. */
    TU_ASSERT_NEAR(m[0], 0.07, 1e-7);
    TU_ASSERT_NEAR(m[1], 0.11, 1e-7);
    TU_ASSERT_NEAR(v[0], 3.1225e-4, 3.1225e-4 * 3e-5);
    TU_ASSERT_NEAR(v[1], 4.999e-3, 4.999e-3 * 3e-5);
    TU_ASSERT_NEAR(w[0], 0.99806782, TOL);
    TU_ASSERT_NEAR(w[1], -1.99936610, TOL);
}

/* Adam's first step has size lr whatever the scale of the gradient:
 * gradients of 1e-4 and 1e4 both move their weight by lr = 0.01. */
static void test_adam_first_step_scale_free(void)
{
    float w[3] = {0, 0, 0}, m[3] = {0}, v[3] = {0};
    const float g[3] = {1e-4f, -1e4f, 3.0f};
    nn_adam_step(w, m, v, g, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 1);
    /* 1e-4 / (1e-4 + 1e-8) = 0.9999: ε shows only for tiny gradients */
    TU_ASSERT_NEAR(w[0], -0.01 * 1e-4 / (1e-4 + 1e-8), 1e-8);
    TU_ASSERT_NEAR(w[1], 0.01, 1e-8);
    TU_ASSERT_NEAR(w[2], -0.01, 1e-8);
}

/* Where ε goes decides the step once √s is as small as ε; PyTorch adds ε
 * to √s, outside the root. From w = 0, lr = 1:
 *   AdaGrad, g = 1e-6, ε = 1e-6:  h = 1e-12, step = 1e-6 / (1e-6 + 1e-6) = 0.5
 *     (inside the root: 1e-6 / √(1e-12 + 1e-6) ≈ 0.001)
 *   RMSProp, g = 1e-3, ρ = 0.9, ε = 1e-4:  s = 0.1 · 1e-6 = 1e-7,
 *     step = 1e-3 / (√1e-7 + 1e-4) = 1e-3 / 4.1622777e-4 = 2.4025307
 *     (inside the root: 1e-3 / √(1e-7 + 1e-4) ≈ 0.1) */
static void test_eps_outside_root(void)
{
    float w = 0, h = 0, s = 0;
    const float g_small = 1e-6f, g = 1e-3f;
    nn_adagrad_step(&w, &h, &g_small, 1, 1.0f, 1e-6f);
    TU_ASSERT_NEAR(w, -0.5, 1e-6);
    w = 0;
    nn_rmsprop_step(&w, &s, &g, 1, 1.0f, 0.9f, 1e-4f);
    TU_ASSERT_NEAR(w, -2.4025307, 1e-5);
}

/* lr = 0.01, λ = 0.5, β and ε as for Adam: first w ← (1 − 0.005) w.
 * step 1: 0.995 w = [0.995, −1.99];  Adam: ∓0.01  →  w = [0.985, −1.98]
 * step 2: 0.995 w = [0.980075, −1.9701];  the Adam step is that of
 *         test_adam times 10 (lr 0.01): [0.0093217962, 0.0036610352]
 *         w = [0.98007500 − 0.0093217962, −1.97010000 − 0.0036610352]
 *           = [0.97075320, −1.97376104] */
static void test_adamw(void)
{
    float w[2], m[2] = {0, 0}, v[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_adamw_step(w, m, v, G1, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    TU_ASSERT_NEAR(w[0], 0.985, TOL);
    TU_ASSERT_NEAR(w[1], -1.98, TOL);
    nn_adamw_step(w, m, v, G2, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 2);
    TU_ASSERT_NEAR(w[0], 0.97075320, TOL);
    TU_ASSERT_NEAR(w[1], -1.97376104, TOL);
}

/* Decoupled decay: with g = 0 the Adam part is 0 / (0 + ε) = 0, so w only
 * shrinks by 1 − lr λ = 0.995. (L2 folded into g would instead make the
 * gradient λw and move w by a whole lr = 0.01.) With λ = 0, AdamW is Adam. */
static void test_adamw_decoupled(void)
{
    float w[2], m[2] = {0, 0}, v[2] = {0, 0};
    const float zero[2] = {0, 0};
    memcpy(w, W0, sizeof w);
    nn_adamw_step(w, m, v, zero, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    TU_ASSERT_NEAR(w[0], 0.995, 1e-7);
    TU_ASSERT_NEAR(w[1], -1.99, 1e-7);

    float wa[2], ma[2] = {0, 0}, va[2] = {0, 0};
    float wb[2], mb[2] = {0, 0}, vb[2] = {0, 0};
    memcpy(wa, W0, sizeof wa);
    memcpy(wb, W0, sizeof wb);
    for (int t = 1; t <= 3; t++) {
        nn_adam_step(wa, ma, va, t == 2 ? G2 : G1, 2, 0.01f, 0.9f, 0.999f, 1e-8f, t);
        nn_adamw_step(wb, mb, vb, t == 2 ? G2 : G1, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, t);
    }
    TU_ASSERT_CLOSE(wb, wa, 2, 1e-7);
}

/* ------------------------------------------------------------ convergence */

typedef enum { MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW, N_OPT } opt;

static const char *const opt_name[N_OPT] = {"momentum", "nesterov", "adagrad", "rmsprop",
                                            "adadelta", "adam", "adamw"};

/* Minimise f(w) = ½ Σ a_i w_i² (gradient a_i w_i, minimum at 0) from
 * w = [1, −1, 1, −1]; curvatures 0.2 to 1.8, a condition number of 9.
 * Returns max |w_i| after the given number of steps. */
static double quadratic_run(opt o, int steps)
{
    enum { N = 4 };
    const float a[N] = {0.2f, 0.5f, 1.0f, 1.8f};
    float w[N] = {1, -1, 1, -1}, g[N], s1[N] = {0}, s2[N] = {0};
    for (int t = 1; t <= steps; t++) {
        for (int i = 0; i < N; i++)
            g[i] = a[i] * w[i];
        switch (o) {
        case MOMENTUM: nn_momentum_step(w, s1, g, N, 0.1f, 0.9f); break;
        case NESTEROV: nn_nesterov_step(w, s1, g, N, 0.1f, 0.9f); break;
        case ADAGRAD: nn_adagrad_step(w, s1, g, N, 0.5f, 1e-10f); break;
        case RMSPROP: nn_rmsprop_step(w, s1, g, N, 0.01f, 0.9f, 1e-8f); break;
        case ADADELTA: nn_adadelta_step(w, s1, s2, g, N, 1.0f, 0.9f, 1e-6f); break;
        case ADAM: nn_adam_step(w, s1, s2, g, N, 0.01f, 0.9f, 0.999f, 1e-8f, t); break;
        default: nn_adamw_step(w, s1, s2, g, N, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, t); break;
        }
    }
    double worst = 0.0;
    for (int i = 0; i < N; i++)
        worst = isfinite(w[i]) ? fmax(worst, fabs(w[i])) : INFINITY;
    return worst;
}

/* From |w| = 1, each optimizer must reach the minimum to within tol.
 * RMSProp with a constant rate ends up hopping around 0 with steps of
 * about lr, hence its looser bound; the others converge geometrically. */
static void test_quadratic_convergence(void)
{
    static const struct { opt o; int steps; double tol; } runs[] = {
        {MOMENTUM, 500, 1e-4}, {NESTEROV, 500, 1e-4}, {ADAGRAD, 300, 1e-4},
        {RMSPROP, 1000, 0.01}, {ADADELTA, 1000, 1e-4}, {ADAM, 1000, 1e-4},
        {ADAMW, 1000, 1e-4},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        double left = quadratic_run(runs[k].o, runs[k].steps);
        char msg[120];
        snprintf(msg, sizeof msg, "%s: max |w| = %.3g after %d steps, expected < %.0e",
                 opt_name[runs[k].o], left, runs[k].steps, runs[k].tol);
        CU_assertImplementation(left < runs[k].tol, __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

/* ------------------------------------------------------------ schedules */

/* lr0 = 0.1, step_size = 3, γ = 0.5: ⌊epoch / 3⌋ = 0, 0, 1, 2, 3 for the
 * epochs 0, 2, 3, 7, 9, so lr = 0.1, 0.1, 0.05, 0.025, 0.0125. */
static void test_lr_step_decay(void)
{
    TU_ASSERT_NEAR(nn_lr_step_decay(0.1f, 0, 3, 0.5f), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_step_decay(0.1f, 2, 3, 0.5f), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_step_decay(0.1f, 3, 3, 0.5f), 0.05, 1e-8);
    TU_ASSERT_NEAR(nn_lr_step_decay(0.1f, 7, 3, 0.5f), 0.025, 1e-8);
    TU_ASSERT_NEAR(nn_lr_step_decay(0.1f, 9, 3, 0.5f), 0.0125, 1e-8);
}

/* lr0 = 0.1, γ = 0.9: 0.1, 0.1 · 0.9 = 0.09, 0.1 · 0.9³ = 0.0729. */
static void test_lr_exponential(void)
{
    TU_ASSERT_NEAR(nn_lr_exponential(0.1f, 0, 0.9f), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_exponential(0.1f, 1, 0.9f), 0.09, 1e-8);
    TU_ASSERT_NEAR(nn_lr_exponential(0.1f, 3, 0.9f), 0.0729, 1e-8);
}

/* lr0 = 0.1, lr_min = 0.001, T = 10; ½ (lr0 − lr_min) = 0.0495.
 *   t = 0:  0.001 + 0.0495 · (1 + 1) = 0.1
 *   t = 2:  0.001 + 0.0495 · (1 + cos 36°) = 0.001 + 0.0495 · 1.80901699 = 0.09054634
 *   t = 5:  0.001 + 0.0495 · (1 + 0) = 0.0505
 *   t = 10: 0.001 + 0.0495 · (1 − 1) = 0.001, and t = 15 is clamped to 10 */
static void test_lr_cosine(void)
{
    TU_ASSERT_NEAR(nn_lr_cosine(0.1f, 0, 10, 0.001f), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_cosine(0.1f, 2, 10, 0.001f), 0.09054634, 1e-8);
    TU_ASSERT_NEAR(nn_lr_cosine(0.1f, 5, 10, 0.001f), 0.0505, 1e-8);
    TU_ASSERT_NEAR(nn_lr_cosine(0.1f, 10, 10, 0.001f), 0.001, 1e-9);
    TU_ASSERT_NEAR(nn_lr_cosine(0.1f, 15, 10, 0.001f), 0.001, 1e-9);
}

/* lr0 = 0.1 over 4 warm-up steps: 0.1 · 1/4, 0.1 · 2/4, 0.1 · 4/4 at
 * t = 0, 1, 3; after that, 0.1. */
static void test_lr_warmup(void)
{
    TU_ASSERT_NEAR(nn_lr_warmup(0.1f, 0, 4), 0.025, 1e-8);
    TU_ASSERT_NEAR(nn_lr_warmup(0.1f, 1, 4), 0.05, 1e-8);
    TU_ASSERT_NEAR(nn_lr_warmup(0.1f, 3, 4), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_warmup(0.1f, 4, 4), 0.1, 1e-8);
    TU_ASSERT_NEAR(nn_lr_warmup(0.1f, 100, 4), 0.1, 1e-8);
}

void suite_optimizers(void)
{
    CU_pSuite s = CU_add_suite("optimizers", NULL, NULL);
    CU_add_test(s, "momentum, two steps", test_momentum);
    CU_add_test(s, "nesterov, two steps", test_nesterov);
    CU_add_test(s, "adagrad, two steps", test_adagrad);
    CU_add_test(s, "rmsprop, two steps", test_rmsprop);
    CU_add_test(s, "adadelta, two steps", test_adadelta);
    CU_add_test(s, "adam, two steps with bias correction", test_adam);
    CU_add_test(s, "adam first step is lr whatever the scale", test_adam_first_step_scale_free);
    CU_add_test(s, "adagrad and rmsprop: eps outside the root", test_eps_outside_root);
    CU_add_test(s, "adamw, two steps", test_adamw);
    CU_add_test(s, "adamw decay is decoupled", test_adamw_decoupled);
    CU_add_test(s, "convergence on a quadratic", test_quadratic_convergence);
    CU_add_test(s, "lr step decay", test_lr_step_decay);
    CU_add_test(s, "lr exponential", test_lr_exponential);
    CU_add_test(s, "lr cosine", test_lr_cosine);
    CU_add_test(s, "lr warmup", test_lr_warmup);
}
