/*
 * Lab 5 (optimizers.c) — hidden tests: the same contract on inputs the
 * public tests leave out (long vectors, late steps, the edges of the
 * schedules, the special cases that reduce to simpler rules). Expected
 * values follow from an identity, are worked by hand, or are recomputed
 * in double by the update rules written out here.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "grader.h"
#include "nnlab/backprop.h"
#include "nnlab/optimizers.h"
#include "nnlab/rng.h"

#define EXPECT(got, want, tol, what) \
    gr_assert_near((double)(got), (double)(want), (tol), (what), __FILE__, __LINE__)

/* Assert got[i] within rtol·|want[i]| + atol of want[i] for every i, the
 * message naming the worst index. NaN fails. */
static void expect_all(const float *got, const double *want, int n, double rtol, double atol,
                       const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        double ratio = fabs(got[i] - want[i]) / (rtol * fabs(want[i]) + atol);
        if (!(ratio <= worst_ratio)) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    gr_assert_near(got[worst], want[worst], rtol * fabs(want[worst]) + atol, name, __FILE__, line);
}

/* ------------------------------------------------------------ long vectors */

enum { N = 1000, STEPS = 3 };
enum { MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW };
static const char *const names[] = {"momentum", "nesterov", "adagrad", "rmsprop",
                                    "adadelta", "adam",     "adamw"};

/* Three steps of optimizer o on N weights, w and each step's g uniform in
 * [−2, 2] from a seeded stream, against the header's rule in double
 * (relative 1e-5, absolute 1e-6). One slot past N in every array holds a
 * sentinel that must stay untouched. */
static void long_vector(int o)
{
    static float w[N + 1], s1[N + 1], s2[N + 1], g[STEPS][N];
    static double wd[N], s1d[N], s2d[N];
    nn_rng rng;
    nn_rng_seed(&rng, 505 + (uint64_t)o);
    for (int i = 0; i < N; i++) {
        w[i] = 4.0f * nn_rng_uniform(&rng) - 2.0f;
        wd[i] = w[i];
        s1[i] = s2[i] = 0.0f;
        s1d[i] = s2d[i] = 0.0;
    }
    for (int t = 0; t < STEPS; t++)
        for (int i = 0; i < N; i++)
            g[t][i] = 4.0f * nn_rng_uniform(&rng) - 2.0f;
    w[N] = s1[N] = s2[N] = -3.5f;

    const double lr = 0.05, mu = 0.8, rho = 0.95, b1 = 0.85, b2 = 0.99, eps = 1e-6, wdec = 0.1;
    for (int t = 1; t <= STEPS; t++) {
        const float *gt = g[t - 1];
        switch (o) {
        case MOMENTUM: nn_momentum_step(w, s1, gt, N, (float)lr, (float)mu); break;
        case NESTEROV: nn_nesterov_step(w, s1, gt, N, (float)lr, (float)mu); break;
        case ADAGRAD: nn_adagrad_step(w, s1, gt, N, (float)lr, (float)eps); break;
        case RMSPROP: nn_rmsprop_step(w, s1, gt, N, (float)lr, (float)rho, (float)eps); break;
        case ADADELTA: nn_adadelta_step(w, s1, s2, gt, N, 1.0f, (float)rho, (float)eps); break;
        case ADAM:
            nn_adam_step(w, s1, s2, gt, N, (float)lr, (float)b1, (float)b2, (float)eps, t);
            break;
        default:
            nn_adamw_step(w, s1, s2, gt, N, (float)lr, (float)b1, (float)b2, (float)eps,
                          (float)wdec, t);
            break;
        }
        /* The same in double: the formulas of optimizers.h. The float
         * constants are used as float, so both sides see the same numbers. */
        const double flr = (float)lr, fmu = (float)mu, frho = (float)rho, fb1 = (float)b1,
                     fb2 = (float)b2, feps = (float)eps, fwd = (float)wdec;
        for (int i = 0; i < N; i++) {
            double gi = gt[i];
            switch (o) {
            case MOMENTUM: s1d[i] = fmu * s1d[i] + gi; wd[i] -= flr * s1d[i]; break;
            case NESTEROV: s1d[i] = fmu * s1d[i] + gi; wd[i] -= flr * (gi + fmu * s1d[i]); break;
            case ADAGRAD: s1d[i] += gi * gi; wd[i] -= flr * gi / (sqrt(s1d[i]) + feps); break;
            case RMSPROP:
                s1d[i] = frho * s1d[i] + (1 - frho) * gi * gi;
                wd[i] -= flr * gi / (sqrt(s1d[i]) + feps);
                break;
            case ADADELTA: {
                s1d[i] = frho * s1d[i] + (1 - frho) * gi * gi;
                double delta = gi * sqrt(s2d[i] + feps) / sqrt(s1d[i] + feps);
                s2d[i] = frho * s2d[i] + (1 - frho) * delta * delta;
                wd[i] -= delta;
                break;
            }
            default:
                if (o == ADAMW)
                    wd[i] *= 1 - flr * fwd;
                s1d[i] = fb1 * s1d[i] + (1 - fb1) * gi;
                s2d[i] = fb2 * s2d[i] + (1 - fb2) * gi * gi;
                wd[i] -= flr * (s1d[i] / (1 - pow(fb1, t))) / (sqrt(s2d[i] / (1 - pow(fb2, t))) + feps);
                break;
            }
        }
    }
    char what[64];
    snprintf(what, sizeof what, "%s: w after 3 steps on 1000 weights", names[o]);
    expect_all(w, wd, N, 1e-5, 1e-6, what, __LINE__);
    snprintf(what, sizeof what, "%s: first state array after 3 steps", names[o]);
    expect_all(s1, s1d, N, 1e-5, 1e-7, what, __LINE__);
    EXPECT(w[N], -3.5, 0.0, "w[1000], past n (must stay untouched)");
    EXPECT(s1[N], -3.5, 0.0, "first state array [1000], past n (must stay untouched)");
    EXPECT(s2[N], -3.5, 0.0, "second state array [1000], past n (must stay untouched)");
}

static void test_long_momentum(void)
{
    long_vector(MOMENTUM);
    long_vector(NESTEROV);
}
static void test_long_adaptive(void)
{
    long_vector(ADAGRAD);
    long_vector(RMSPROP);
    long_vector(ADADELTA);
}
static void test_long_adam(void)
{
    long_vector(ADAM);
    long_vector(ADAMW);
}

/* ------------------------------------------------------------ special cases */

static void test_reductions(void)
{
    /* μ = 0: momentum and Nesterov are plain SGD, w − lr g (v = g).
     * λ = 0: AdamW is Adam, step for step (both from the same state). */
    const float g[3] = {0.5f, -4.0f, 1e-3f};
    float w[3] = {1.0f, 2.0f, -3.0f}, v[3] = {0, 0, 0};
    nn_momentum_step(w, v, g, 3, 0.25f, 0.0f);
    const double sgd[3] = {1.0 - 0.125, 2.0 + 1.0, -3.0 - 0.25e-3};
    expect_all(w, sgd, 3, 1e-7, 1e-7, "momentum with mu = 0: w", __LINE__);
    float wn[3] = {1.0f, 2.0f, -3.0f}, vn[3] = {0, 0, 0};
    nn_nesterov_step(wn, vn, g, 3, 0.25f, 0.0f);
    expect_all(wn, sgd, 3, 1e-7, 1e-7, "nesterov with mu = 0: w", __LINE__);

    float wa[3] = {1.0f, 2.0f, -3.0f}, ma[3] = {0}, va[3] = {0};
    float wb[3] = {1.0f, 2.0f, -3.0f}, mb[3] = {0}, vb[3] = {0};
    for (int t = 1; t <= 4; t++) {
        const float gt[3] = {g[0] * t, g[1] / t, g[2] - t};
        nn_adam_step(wa, ma, va, gt, 3, 0.01f, 0.9f, 0.999f, 1e-8f, t);
        nn_adamw_step(wb, mb, vb, gt, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, t);
    }
    double want[3] = {wa[0], wa[1], wa[2]};
    expect_all(wb, want, 3, 1e-7, 1e-7, "adamw with lambda = 0 against adam, after 4 steps", __LINE__);
}

static void test_adam_late(void)
{
    /* Late in training: the state of a long run under a constant gradient
     * g, m = g and v = g² (the bias has decayed away), at t = 10000. Then
     * c₁ = 1 − 0.9¹⁰⁰⁰⁰ = 1 (to double precision) and c₂ = 1 − 0.999¹⁰⁰⁰⁰
     * = 1 − 4.5173e-5, so the step is lr g/(|g|/√c₂ + ε), a hair over lr.
     * A power computed by repeated float multiplication, or t overflowing
     * somewhere, shows here. */
    const int t = 10000;
    const float g[2] = {0.3f, -7.0f};
    float w[2] = {0.0f, 0.0f}, m[2] = {g[0], g[1]}, v[2] = {g[0] * g[0], g[1] * g[1]};
    nn_adam_step(w, m, v, g, 2, 0.002f, 0.9f, 0.999f, 1e-8f, t);
    double c2 = 1.0 - pow((double)0.999f, t);
    double want[2];
    for (int i = 0; i < 2; i++) /* a constant g leaves m = g and v = g² as they are */
        want[i] = -(double)0.002f * g[i] / (fabs((double)g[i]) / sqrt(c2) + 1e-8);
    expect_all(w, want, 2, 1e-5, 1e-9, "adam at t = 10000 with m = g, v = g^2", __LINE__);
}

static void test_schedule_edges(void)
{
    /* Worked by hand:
     *   step decay with γ = 1 never changes: 0.3 at epoch 50;
     *   step decay, lr0 = 1, step 5, γ = 0.1: epochs 4, 5, 9, 14 → 1, 0.1, 0.1, 0.01;
     *   exponential with γ = 0.5 at epoch 10: 2⁻¹⁰ lr0 = 0.0009765625 for lr0 = 1;
     *   cosine with T = 1: lr0 at t = 0, lr_min at t = 1 and after;
     *   cosine with lr_min = lr0 is constant;
     *   cosine, T = 4, lr0 = 1, lr_min = 0: (1 + cos(π/4))/2 = 0.85355339 at t = 1;
     *   warmup over 1 step is lr0 from t = 0;
     *   warmup over 5 steps of lr0 = 1: 0.2, 0.4, 0.6, 0.8, 1, 1. */
    EXPECT(nn_lr_step_decay(0.3f, 50, 7, 1.0f), 0.3, 1e-7, "step decay, gamma = 1, epoch 50");
    EXPECT(nn_lr_step_decay(1.0f, 4, 5, 0.1f), 1.0, 1e-7, "step decay (1, step 5, 0.1), epoch 4");
    EXPECT(nn_lr_step_decay(1.0f, 5, 5, 0.1f), 0.1, 1e-8, "step decay (1, step 5, 0.1), epoch 5");
    EXPECT(nn_lr_step_decay(1.0f, 9, 5, 0.1f), 0.1, 1e-8, "step decay (1, step 5, 0.1), epoch 9");
    EXPECT(nn_lr_step_decay(1.0f, 14, 5, 0.1f), 0.01, 1e-9, "step decay (1, step 5, 0.1), epoch 14");
    EXPECT(nn_lr_exponential(1.0f, 10, 0.5f), 0.0009765625, 1e-12, "exponential (1, 0.5), epoch 10");
    EXPECT(nn_lr_cosine(0.2f, 0, 1, 0.01f), 0.2, 1e-8, "cosine, T = 1, t = 0");
    EXPECT(nn_lr_cosine(0.2f, 1, 1, 0.01f), 0.01, 1e-9, "cosine, T = 1, t = 1");
    EXPECT(nn_lr_cosine(0.2f, 7, 1, 0.01f), 0.01, 1e-9, "cosine, T = 1, t = 7");
    EXPECT(nn_lr_cosine(0.05f, 3, 8, 0.05f), 0.05, 1e-9, "cosine with lr_min = lr0");
    EXPECT(nn_lr_cosine(1.0f, 1, 4, 0.0f), 0.85355339, 1e-7, "cosine (1, T = 4, 0), t = 1");
    EXPECT(nn_lr_warmup(0.7f, 0, 1), 0.7, 1e-7, "warmup over 1 step, t = 0");
    static const double ramp[6] = {0.2, 0.4, 0.6, 0.8, 1.0, 1.0};
    for (int t = 0; t < 6; t++) {
        char what[48];
        snprintf(what, sizeof what, "warmup (1, 5 steps), t = %d", t);
        gr_assert_near(nn_lr_warmup(1.0f, t, 5), ramp[t], 1e-7, what, __FILE__, __LINE__);
    }
}

const gr_test gr_hidden_tests[] = {
    {"momentum and nesterov on 1000 weights", 1, 1.0, "nn_momentum_step,nn_nesterov_step",
     test_long_momentum},
    {"adagrad, rmsprop, adadelta on 1000 weights", 1, 1.0,
     "nn_adagrad_step,nn_rmsprop_step,nn_adadelta_step", test_long_adaptive},
    {"adam and adamw on 1000 weights", 1, 1.0, "nn_adam_step,nn_adamw_step", test_long_adam},
    {"mu = 0 and lambda = 0 reduce to simpler rules", 1, 1.0,
     "nn_momentum_step,nn_nesterov_step,nn_adamw_step", test_reductions},
    {"adam late in training", 1, 1.0, "nn_adam_step", test_adam_late},
    {"schedules at the edges", 1, 1.0,
     "nn_lr_step_decay,nn_lr_exponential,nn_lr_cosine,nn_lr_warmup", test_schedule_edges},
    {NULL, 0, 0, NULL, NULL}
};
