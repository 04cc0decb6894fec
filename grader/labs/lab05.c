/*
 * Lab 5 (optimizers.c) — public tests.
 *
 * Where the expected values come from:
 *   - the "two steps" tests take every optimizer from w = (1, −2) through
 *     the gradients g₁ = (0.5, −1) then g₂ = (0.25, 2); both steps are
 *     worked by hand in the comments (the second one shows whether the
 *     state carried over from the first);
 *   - the long runs follow from closed forms (a constant gradient: a
 *     geometric series for momentum, m̂ = g and v̂ = g² exactly for Adam);
 *   - on a quadratic, each optimizer is also run here in double, by the
 *     update rule written out in this file, and must reach the minimum;
 *   - the schedules are worked by hand or follow from an identity.
 * None of the numbers was captured from running the reference.
 *
 * Tolerances: 1e-6 absolute on weights of size about 1 (float holds 7
 * digits, and a step adds a few roundings); long runs and comparisons
 * with double state theirs. NaN never passes; state arrays start at 0 and
 * outputs nobody should touch hold sentinels.
 *
 * Logs for the report (grader/plots/lab05.sh), under gr_out_dir()/data/:
 *   lab05-traj-<surface>.csv   step,sgd_x,sgd_y,momentum_x,...,adamw_y:
 *                              each optimizer's path on rosenbrock, beale, saddle
 *   lab05-mlp.csv              step,sgd,momentum,...,adamw: full-batch loss of
 *                              one small MLP trained by each optimizer
 *   lab05-sched-<name>.csv     t,lr for step, exponential, cosine, warmup
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "nnlab/backprop.h"
#include "nnlab/data.h"
#include "nnlab/forward.h"
#include "nnlab/model.h"
#include "nnlab/optimizers.h"
#include "nnlab/rng.h"
#include "nnlab/train.h"

/* ------------------------------------------------------------ helpers */

/* Assert |got − want| <= tol, the message naming the value by `what`. */
#define EXPECT(got, want, tol, what) \
    gr_assert_near((double)(got), (double)(want), (tol), (what), __FILE__, __LINE__)

/* Assert cond with a message of our own (what was expected, what came). */
static void check(int cond, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void check(int cond, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
}

/* Assert got[i] within rtol·|want[i]| + atol of want[i] for every i, the
 * message naming the worst index. NaN fails. */
static void expect_all(const float *got, const double *want, int n, double rtol, double atol,
                       const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        double ratio = fabs(got[i] - want[i]) / (rtol * fabs(want[i]) + atol);
        if (!(ratio <= worst_ratio)) { /* NaN compares false: it becomes the worst */
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[128];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    gr_assert_near(got[worst], want[worst], rtol * fabs(want[worst]) + atol, name, __FILE__, line);
}

/* Both components of a 2-vector equal to (a, b) within 1e-6. */
static int is2(const float *x, double a, double b)
{
    return fabs(x[0] - a) < 1e-6 && fabs(x[1] - b) < 1e-6;
}

/* Open gr_out_dir()/data/NAME for writing (creating data/), or NULL: a log
 * that cannot be written costs no points, the report just lacks a plot. */
static FILE *open_log(const char *name)
{
    char path[4096];
    mkdir(gr_out_dir(), 0777); /* normally there already */
    snprintf(path, sizeof path, "%s/data", gr_out_dir());
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return NULL;
    snprintf(path, sizeof path, "%s/data/%s", gr_out_dir(), name);
    return fopen(path, "w");
}

/* The common start of the "two steps" tests. */
static const float W0[2] = {1.0f, -2.0f}, G1[2] = {0.5f, -1.0f}, G2[2] = {0.25f, 2.0f};
#define TOL 1e-6

/* ------------------------------------------------------------ the optimizers, by kind */

/* The optimizers as one enum, SGD (lab 4's nn_sgd_step) first: the
 * surfaces and the MLP draw it as the baseline. */
enum { SGD, MOMENTUM, NESTEROV, ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW, N_OPT };
static const char *const opt_name[N_OPT] = {"sgd",     "momentum", "nesterov", "adagrad",
                                            "rmsprop", "adadelta", "adam",     "adamw"};

/* Hyper-parameters of one run; μ, ρ, β, ε, λ as in the header. */
typedef struct {
    float lr, mu, rho, beta1, beta2, eps, wd;
} hyper;

/* PyTorch's defaults for each optimizer, lr set by the caller. */
static hyper defaults(int o, float lr)
{
    hyper h = {lr, 0.9f, 0.99f, 0.9f, 0.999f, 1e-8f, 0.0f};
    if (o == ADAGRAD)
        h.eps = 1e-10f;
    if (o == ADADELTA) {
        h.rho = 0.9f;
        h.eps = 1e-6f;
    }
    if (o == ADAMW)
        h.wd = 0.01f;
    return h;
}

/* Step t (from 1) of optimizer o, the student's functions. */
static void step_f(int o, const hyper *h, float *w, float *s1, float *s2, const float *g, int n,
                   int t)
{
    switch (o) {
    case SGD: nn_sgd_step(w, g, n, h->lr); break;
    case MOMENTUM: nn_momentum_step(w, s1, g, n, h->lr, h->mu); break;
    case NESTEROV: nn_nesterov_step(w, s1, g, n, h->lr, h->mu); break;
    case ADAGRAD: nn_adagrad_step(w, s1, g, n, h->lr, h->eps); break;
    case RMSPROP: nn_rmsprop_step(w, s1, g, n, h->lr, h->rho, h->eps); break;
    case ADADELTA: nn_adadelta_step(w, s1, s2, g, n, h->lr, h->rho, h->eps); break;
    case ADAM: nn_adam_step(w, s1, s2, g, n, h->lr, h->beta1, h->beta2, h->eps, t); break;
    default: nn_adamw_step(w, s1, s2, g, n, h->lr, h->beta1, h->beta2, h->eps, h->wd, t); break;
    }
}

/* The same update rules in double, written out here (the header's
 * formulas, ε outside the root for AdaGrad, RMSProp and Adam). */
static void step_d(int o, const hyper *h, double *w, double *s1, double *s2, const double *g,
                   int n, int t)
{
    const double lr = h->lr, mu = h->mu, rho = h->rho, b1 = h->beta1, b2 = h->beta2,
                 eps = h->eps;
    for (int i = 0; i < n; i++) {
        switch (o) {
        case SGD: w[i] -= lr * g[i]; break;
        case MOMENTUM: /* v ← μv + g;  w ← w − lr v */
            s1[i] = mu * s1[i] + g[i];
            w[i] -= lr * s1[i];
            break;
        case NESTEROV: /* v ← μv + g;  w ← w − lr (g + μv) */
            s1[i] = mu * s1[i] + g[i];
            w[i] -= lr * (g[i] + mu * s1[i]);
            break;
        case ADAGRAD: /* h ← h + g²;  w ← w − lr g / (√h + ε) */
            s1[i] += g[i] * g[i];
            w[i] -= lr * g[i] / (sqrt(s1[i]) + eps);
            break;
        case RMSPROP: /* s ← ρs + (1 − ρ)g²;  w ← w − lr g / (√s + ε) */
            s1[i] = rho * s1[i] + (1 - rho) * g[i] * g[i];
            w[i] -= lr * g[i] / (sqrt(s1[i]) + eps);
            break;
        case ADADELTA: { /* s as RMSProp; Δ = g √(d + ε)/√(s + ε); d ← ρd + (1 − ρ)Δ² */
            s1[i] = rho * s1[i] + (1 - rho) * g[i] * g[i];
            double delta = g[i] * sqrt(s2[i] + eps) / sqrt(s1[i] + eps);
            s2[i] = rho * s2[i] + (1 - rho) * delta * delta;
            w[i] -= lr * delta;
            break;
        }
        default: { /* AdamW: w ← (1 − lr λ) w first; λ = 0 for Adam */
            if (o == ADAMW)
                w[i] *= 1.0 - lr * (double)h->wd;
            s1[i] = b1 * s1[i] + (1 - b1) * g[i];
            s2[i] = b2 * s2[i] + (1 - b2) * g[i] * g[i];
            double mhat = s1[i] / (1 - pow(b1, t)), vhat = s2[i] / (1 - pow(b2, t));
            w[i] -= lr * mhat / (sqrt(vhat) + eps);
            break;
        }
        }
    }
}

/* ------------------------------------------------------------ momentum */

static void test_momentum(void)
{
    /* lr = 0.1, μ = 0.9.
     * step 1: v = 0.9·0 + g₁ = (0.5, −1);  w = (1 − 0.05, −2 + 0.1) = (0.95, −1.9)
     * step 2: v = 0.9 (0.5, −1) + (0.25, 2) = (0.7, 1.1)
     *         w = (0.95 − 0.07, −1.9 − 0.11) = (0.88, −2.01) */
    float w[3] = {W0[0], W0[1], 77.0f}, v[3] = {0.0f, 0.0f, 77.0f};
    nn_momentum_step(w, v, G1, 2, 0.1f, 0.9f);
    if (is2(w, 1.0, -2.0) && is2(v, 0.5, -1.0))
        gr_hint("w did not move in step 1: update v first (v = mu v + g), then step along the "
                "new v (w -= lr v)");
    else if (is2(v, 0.05, -0.1))
        gr_hint("v = mu v + (1 - mu) g is an average; the header's (and PyTorch's) momentum "
                "sums: v = mu v + g");
    EXPECT(v[0], 0.5, TOL, "step 1: v[0]");
    EXPECT(v[1], -1.0, TOL, "step 1: v[1]");
    EXPECT(w[0], 0.95, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.9, TOL, "step 1: w[1]");
    nn_momentum_step(w, v, G2, 2, 0.1f, 0.9f);
    if (is2(w, 0.925, -2.1))
        gr_hint("step 2 moved w by lr g alone, as plain SGD: the velocity must be kept between "
                "steps. v is the caller's state array: store mu v + g back into v[i]");
    EXPECT(v[0], 0.7, TOL, "step 2: v[0]");
    EXPECT(v[1], 1.1, TOL, "step 2: v[1]");
    EXPECT(w[0], 0.88, TOL, "step 2: w[0]");
    EXPECT(w[1], -2.01, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(v[2], 77.0, 0.0, "v[2], past n = 2 (must stay untouched)");
}

static void test_momentum_slope(void)
{
    /* A constant gradient g (a plane): after t steps from v = 0,
     *   v_t = g (1 + μ + ... + μ^{t−1}) = g (1 − μᵗ) / (1 − μ)
     *   w_t = w₀ − lr Σ_{k=1..t} v_k = w₀ − lr g/(1 − μ) · [t − μ (1 − μᵗ)/(1 − μ)].
     * With μ = 0.9 the velocity grows to ten times g: momentum moves ten
     * times as fast as SGD along a steady slope. Then one step with g = 0:
     * the weights coast on, v ← μ v and w ← w − lr μ v.
     * lr = 0.01, t = 100, g = (1, −0.5, 2); computed here in double,
     * compared within 1e-4 relative (100 steps of float rounding). */
    enum { T = 100 };
    const double lr = 0.01, mu = 0.9;
    const float g[3] = {1.0f, -0.5f, 2.0f}, zero[3] = {0, 0, 0};
    float w[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    for (int t = 0; t < T; t++)
        nn_momentum_step(w, v, g, 3, (float)lr, (float)mu);
    double muT = pow(mu, T), want_w[3], want_v[3];
    for (int i = 0; i < 3; i++) {
        want_v[i] = g[i] * (1 - muT) / (1 - mu);
        want_w[i] = -lr * g[i] / (1 - mu) * (T - mu * (1 - muT) / (1 - mu));
    }
    if (fabs(w[0] + T * lr * g[0]) < 1e-3)
        gr_hint("after 100 steps w moved as far as plain SGD (lr g per step): the velocity is "
                "not kept between steps. Store v[i] = mu v[i] + g[i] in the state array");
    expect_all(v, want_v, 3, 1e-4, 1e-6, "v after 100 steps of g = (1, -0.5, 2)", __LINE__);
    expect_all(w, want_w, 3, 1e-4, 1e-6, "w after 100 steps of g = (1, -0.5, 2)", __LINE__);
    double coast_v[3], coast_w[3];
    for (int i = 0; i < 3; i++) {
        coast_v[i] = mu * v[i];
        coast_w[i] = w[i] - lr * mu * v[i];
    }
    float before = w[0];
    nn_momentum_step(w, v, zero, 3, (float)lr, (float)mu);
    if (w[0] == before)
        gr_hint("with g = 0 the weights did not move: momentum must coast on its velocity");
    expect_all(v, coast_v, 3, 1e-5, 1e-6, "v after one more step with g = 0", __LINE__);
    expect_all(w, coast_w, 3, 1e-5, 1e-6, "w after one more step with g = 0 (coasting)", __LINE__);
}

/* ------------------------------------------------------------ nesterov */

static void test_nesterov(void)
{
    /* lr = 0.1, μ = 0.9; the step is along g + μv with the updated v.
     * step 1: v = (0.5, −1);  g + μv = (0.95, −1.9);  w = (0.905, −1.81)
     * step 2: v = (0.7, 1.1); g + μv = (0.25 + 0.63, 2 + 0.99) = (0.88, 2.99)
     *         w = (0.905 − 0.088, −1.81 − 0.299) = (0.817, −2.109) */
    float w[3] = {W0[0], W0[1], 77.0f}, v[3] = {0.0f, 0.0f, 77.0f};
    nn_nesterov_step(w, v, G1, 2, 0.1f, 0.9f);
    if (is2(w, 0.95, -1.9))
        gr_hint("that is plain momentum: w -= lr v (or w -= lr (g + mu v) with v before its "
                "update, which is the same). Nesterov looks ahead: v = mu v + g first, then "
                "w -= lr (g + mu v) with the new v");
    EXPECT(v[0], 0.5, TOL, "step 1: v[0]");
    EXPECT(v[1], -1.0, TOL, "step 1: v[1]");
    EXPECT(w[0], 0.905, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.81, TOL, "step 1: w[1]");
    nn_nesterov_step(w, v, G2, 2, 0.1f, 0.9f);
    EXPECT(v[0], 0.7, TOL, "step 2: v[0]");
    EXPECT(v[1], 1.1, TOL, "step 2: v[1]");
    EXPECT(w[0], 0.817, TOL, "step 2: w[0]");
    EXPECT(w[1], -2.109, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(v[2], 77.0, 0.0, "v[2], past n = 2 (must stay untouched)");
}

/* ------------------------------------------------------------ adagrad */

static void test_adagrad(void)
{
    /* lr = 0.1, ε = 1e-10 (too small to matter here).
     * step 1: h = (0.25, 1);  g/√h = (1, −1);  w = (0.9, −1.9)
     * step 2: h = (0.3125, 5); g/√h = (0.25/(√5/4), 2/√5) = (1/√5, 2/√5)
     *         = (0.44721360, 0.89442719)
     *         w = (0.9 − 0.044721360, −1.9 − 0.089442719) = (0.85527864, −1.98944272) */
    float w[3] = {W0[0], W0[1], 77.0f}, h[3] = {0.0f, 0.0f, 77.0f};
    nn_adagrad_step(w, h, G1, 2, 0.1f, 1e-10f);
    EXPECT(h[0], 0.25, TOL, "step 1: h[0]");
    EXPECT(h[1], 1.0, TOL, "step 1: h[1]");
    EXPECT(w[0], 0.9, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.9, TOL, "step 1: w[1]");
    nn_adagrad_step(w, h, G2, 2, 0.1f, 1e-10f);
    if (fabsf(h[0] - 0.0625f) < 1e-6f)
        gr_hint("h must sum the squared gradients of every step so far: h += g * g");
    EXPECT(h[0], 0.3125, TOL, "step 2: h[0]");
    EXPECT(h[1], 5.0, 1e-5, "step 2: h[1]");
    EXPECT(w[0], 0.85527864, TOL, "step 2: w[0]");
    EXPECT(w[1], -1.98944272, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(h[2], 77.0, 0.0, "h[2], past n = 2 (must stay untouched)");
}

static void test_adagrad_eps(void)
{
    /* Where ε goes matters once √h is as small as ε. The header (and
     * PyTorch) add it outside the root. From w = 0, lr = 1, g = 1e-6,
     * ε = 1e-6: h = 1e-12, √h = 1e-6, step = 1e-6 / (1e-6 + 1e-6) = 0.5.
     * Inside the root it would be 1e-6 / √(1e-12 + 1e-6) ≈ 0.001.
     * A second case where ε is negligible: g = 4, ε = 1e-6: step 4/(4 + ε). */
    float w = 0.0f, h = 0.0f;
    const float g = 1e-6f;
    nn_adagrad_step(&w, &h, &g, 1, 1.0f, 1e-6f);
    if (fabsf(w + 1e-3f) < 1e-4f)
        gr_hint("the step came out 1e-3, not 0.5: epsilon is added outside the root, "
                "g / (sqrt(h) + eps), not g / sqrt(h + eps)");
    EXPECT(w, -0.5, 1e-5, "w after one step from 0 with g = 1e-6, eps = 1e-6, lr = 1");
    float w2 = 0.0f, h2 = 0.0f;
    const float g2 = 4.0f;
    nn_adagrad_step(&w2, &h2, &g2, 1, 1.0f, 1e-6f);
    EXPECT(w2, -4.0 / (4.0 + 1e-6), 1e-6, "w after one step from 0 with g = 4, eps = 1e-6, lr = 1");
}

/* ------------------------------------------------------------ rmsprop */

static void test_rmsprop(void)
{
    /* lr = 0.01, ρ = 0.9, ε = 1e-8.
     * step 1: s = 0.1 g² = (0.025, 0.1);  g/√s = ±1/√0.1 = ±√10 = ±3.1622777
     *         w = (1 − 0.031622777, −2 + 0.031622777) = (0.96837722, −1.96837722)
     * step 2: s = 0.9 (0.025, 0.1) + 0.1 (0.0625, 4) = (0.02875, 0.49)
     *         g/√s = (0.25/0.16955825, 2/0.7) = (1.4744196, 2.8571429)
     *         w = (0.96837722 − 0.014744196, −1.96837722 − 0.028571429)
     *           = (0.95363303, −1.99694865) */
    float w[3] = {W0[0], W0[1], 77.0f}, s[3] = {0.0f, 0.0f, 77.0f};
    nn_rmsprop_step(w, s, G1, 2, 0.01f, 0.9f, 1e-8f);
    if (is2(w, 0.99, -1.99))
        gr_hint("each weight moved by exactly lr: that is g / sqrt(g^2), the root of this "
                "step's g^2. Divide by the root of the running mean s instead: g / (sqrt(s) + eps)");
    else if (is2(w, 0.8, -1.9))
        gr_hint("the step is g / s: take the square root of the running mean, g / (sqrt(s) + eps)");
    else if (is2(s, 0.225, 0.9))
        gr_hint("s = rho s + (1 - rho) g^2: the new g^2 gets the weight 1 - rho, the old s rho");
    EXPECT(s[0], 0.025, 1e-8, "step 1: s[0]");
    EXPECT(s[1], 0.1, 1e-7, "step 1: s[1]");
    EXPECT(w[0], 0.96837722, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.96837722, TOL, "step 1: w[1]");
    nn_rmsprop_step(w, s, G2, 2, 0.01f, 0.9f, 1e-8f);
    EXPECT(s[0], 0.02875, 1e-8, "step 2: s[0]");
    EXPECT(s[1], 0.49, 1e-6, "step 2: s[1]");
    EXPECT(w[0], 0.95363303, TOL, "step 2: w[0]");
    EXPECT(w[1], -1.99694865, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(s[2], 77.0, 0.0, "s[2], past n = 2 (must stay untouched)");
}

static void test_rmsprop_eps(void)
{
    /* From w = 0, lr = 1, g = 1e-3, ρ = 0.9, ε = 1e-4: s = 0.1 · 1e-6 = 1e-7,
     * √s = 3.1622777e-4, step = 1e-3 / (3.1622777e-4 + 1e-4) = 2.4025307.
     * Inside the root: 1e-3 / √(1e-7 + 1e-4) ≈ 0.09995. */
    float w = 0.0f, s = 0.0f;
    const float g = 1e-3f;
    nn_rmsprop_step(&w, &s, &g, 1, 1.0f, 0.9f, 1e-4f);
    if (fabsf(w + 0.09995f) < 1e-3f)
        gr_hint("epsilon is added outside the root: g / (sqrt(s) + eps), not g / sqrt(s + eps)");
    EXPECT(w, -2.4025307, 1e-5, "w after one step from 0 with g = 1e-3, rho = 0.9, eps = 1e-4");
}

/* ------------------------------------------------------------ adadelta */

static void test_adadelta(void)
{
    /* lr = 1, ρ = 0.9, ε = 1e-6.
     * step 1: s = (0.025, 0.1)
     *         Δ = g √(0 + ε) / √(s + ε) = (0.5e-3 / √0.025001, −1e-3 / √0.100001)
     *           = (3.1622144e-3, −3.1622619e-3)
     *         d = 0.1 Δ² = (0.99996e-6, 0.99999e-6)
     *         w = (1 − 3.1622144e-3, −2 + 3.1622619e-3) = (0.99683779, −1.99683774)
     * step 2: s = (0.02875, 0.49) (as RMSProp)
     *         Δ = (0.25 √1.99996e-6 / √0.028751, 2 √1.99999e-6 / √0.490001)
     *           = (2.0850870e-3, 4.0405960e-3)
     *         d = 0.9 d + 0.1 Δ² = (1.3347228e-6, 2.5326326e-6)
     *         w = (0.99683779 − 0.0020850870, −1.99683774 − 0.0040405960)
     *           = (0.99475270, −2.00087833) */
    float w[3] = {W0[0], W0[1], 77.0f}, s[3] = {0.0f, 0.0f, 77.0f}, d[3] = {0.0f, 0.0f, 77.0f};
    nn_adadelta_step(w, s, d, G1, 2, 1.0f, 0.9f, 1e-6f);
    if (is2(w, 1.0, -2.0))
        gr_hint("w did not move: with d = 0 the first step is g sqrt(eps) / sqrt(s + eps), "
                "about 1e-3 here, not 0 (eps inside both roots)");
    else if (is2(w, 0.5, -1.0))
        gr_hint("step 1 used s before its update: update s = rho s + (1 - rho) g^2 first, then "
                "compute the step from the new s");
    EXPECT(w[0], 0.99683779, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.99683774, TOL, "step 1: w[1]");
    EXPECT(d[0], 0.99996e-6, 1e-11, "step 1: d[0]");
    EXPECT(d[1], 0.99999e-6, 1e-11, "step 1: d[1]");
    nn_adadelta_step(w, s, d, G2, 2, 1.0f, 0.9f, 1e-6f);
    EXPECT(s[0], 0.02875, 1e-8, "step 2: s[0]");
    EXPECT(s[1], 0.49, 1e-6, "step 2: s[1]");
    EXPECT(d[0], 1.3347228e-6, 1e-11, "step 2: d[0]");
    EXPECT(d[1], 2.5326326e-6, 1e-11, "step 2: d[1]");
    EXPECT(w[0], 0.99475270, TOL, "step 2: w[0]");
    EXPECT(w[1], -2.00087833, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(s[2], 77.0, 0.0, "s[2], past n = 2 (must stay untouched)");
    EXPECT(d[2], 77.0, 0.0, "d[2], past n = 2 (must stay untouched)");
}

/* ------------------------------------------------------------ adam */

static void test_adam(void)
{
    /* lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
     * step 1: m = 0.1 g = (0.05, −0.1);  v = 0.001 g² = (2.5e-4, 1e-3)
     *         m̂ = m / 0.1 = g;  v̂ = v / 0.001 = g²
     *         the step is lr · g / (|g| + ε) = lr · sign(g):  w = (0.999, −1.999)
     *         (without the bias correction: lr · 0.1/√0.001 = √10 lr, 3.16 times larger)
     * step 2: m = 0.9 m + 0.1 g₂ = (0.045 + 0.025, −0.09 + 0.2) = (0.07, 0.11)
     *         v = 0.999 v + 0.001 g₂² = (3.1225e-4, 4.999e-3)
     *         m̂ = m / (1 − 0.9²) = m / 0.19 = (0.36842105, 0.57894737)
     *         v̂ = v / (1 − 0.999²) = v / 0.001999 = (0.15620310, 2.5007504)
     *         lr m̂ / √v̂ = (9.3217962e-4, 3.6610352e-4)
     *         w = (0.999 − 0.00093217962, −1.999 − 0.00036610352) = (0.99806782, −1.99936610)
     * The state arrays hold the raw moments m and v, not m̂ and v̂. In float,
     * 0.999 is 0.99900001, so 1 − β₂ is 1.3e-5 (relative) below 0.001 and so
     * is v: its tolerance is 3e-5 relative. */
    float w[3] = {W0[0], W0[1], 77.0f}, m[3] = {0.0f, 0.0f, 77.0f}, v[3] = {0.0f, 0.0f, 77.0f};
    nn_adam_step(w, m, v, G1, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 1);
    if (fabs(w[0] - (1.0 - 1e-3 * sqrt(10.0))) < 1e-6)
        gr_hint("the first step is sqrt(10) lr: the bias correction is missing. Divide m by "
                "1 - beta1^t and v by 1 - beta2^t (t starts at 1)");
    else if (is2(m, 0.5, -1.0) || is2(v, 0.25, 1.0))
        gr_hint("m and v must keep the raw moments: compute the corrected m-hat and v-hat in "
                "local variables, do not store them back into the state");
    EXPECT(w[0], 0.999, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.999, TOL, "step 1: w[1]");
    EXPECT(m[0], 0.05, 1e-7, "step 1: m[0] (the raw first moment)");
    EXPECT(m[1], -0.1, 2e-7, "step 1: m[1]");
    EXPECT(v[0], 2.5e-4, 2.5e-4 * 3e-5, "step 1: v[0] (the raw second moment)");
    EXPECT(v[1], 1e-3, 1e-3 * 3e-5, "step 1: v[1]");
    nn_adam_step(w, m, v, G2, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 2);
    /* t stuck at 1: m̂ = 0.07/0.1, v̂ = 3.1225e-4/0.001. */
    if (fabs(w[0] - (0.999 - 1e-3 * 0.7 / sqrt(0.31225))) < 2e-6)
        gr_hint("step 2 is as if t were still 1 in the bias correction: pass on t, the step "
                "number, to pow(beta, t)");
    EXPECT(m[0], 0.07, 1e-7, "step 2: m[0]");
    EXPECT(m[1], 0.11, 1e-7, "step 2: m[1]");
    EXPECT(v[0], 3.1225e-4, 3.1225e-4 * 3e-5, "step 2: v[0]");
    EXPECT(v[1], 4.999e-3, 4.999e-3 * 3e-5, "step 2: v[1]");
    EXPECT(w[0], 0.99806782, TOL, "step 2: w[0]");
    EXPECT(w[1], -1.99936610, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(m[2], 77.0, 0.0, "m[2], past n = 2 (must stay untouched)");
    EXPECT(v[2], 77.0, 0.0, "v[2], past n = 2 (must stay untouched)");
}

static void test_adam_scale_free(void)
{
    /* Adam's first step has size lr whatever the scale of the gradient:
     * m̂ = g and v̂ = g², so each weight moves by lr · g / (|g| + ε). From
     * w = 0, lr = 0.01: gradients 1e-4, −1e4 and 3 move their weights by
     * −0.01 · 1e-4/(1e-4 + 1e-8) = −0.0099990001, +0.01 and −0.01. ε shows
     * only for the tiny gradient; ε inside the root, √(g² + ε) = 1.4142e-4,
     * would make that step 0.0070711. */
    float w[3] = {0, 0, 0}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    const float g[3] = {1e-4f, -1e4f, 3.0f};
    nn_adam_step(w, m, v, g, 3, 0.01f, 0.9f, 0.999f, 1e-8f, 1);
    if (fabsf(w[0] + 0.0070711f) < 1e-5f)
        gr_hint("epsilon is added outside the root: m-hat / (sqrt(v-hat) + eps)");
    else if (fabsf(w[2] + 0.0316228f) < 1e-5f)
        gr_hint("the first step is sqrt(10) lr: the bias correction is missing");
    EXPECT(w[0], -0.01 * 1e-4 / (1e-4 + 1e-8), 1e-8, "w[0] after one step with g = 1e-4");
    EXPECT(w[1], 0.01, 1e-8, "w[1] after one step with g = -1e4");
    EXPECT(w[2], -0.01, 1e-8, "w[2] after one step with g = 3");
}

static void test_adam_constant(void)
{
    /* Under a constant gradient g the bias correction is exact at every
     * step: m_t = (1 − β₁ᵗ) g, so m̂_t = g, and v̂_t = g². Every step moves
     * each weight by lr · g/(|g| + ε), so after 200 steps from w = 0
     *   w = −200 lr g/(|g| + ε).
     * Without the correction the early steps are up to √10 times longer
     * (m/√v = (1 − β₁ᵗ)/√(1 − β₂ᵗ)), and after 200 steps w is far off.
     * lr = 0.005, g = (2, −1e-3, 50); tolerance 1e-4 relative. */
    enum { T = 200 };
    const float g[3] = {2.0f, -1e-3f, 50.0f};
    float w[3] = {0, 0, 0}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    int first_off = 0;
    double off_by = 0.0;
    for (int t = 1; t <= T; t++) {
        float before = w[0];
        nn_adam_step(w, m, v, g, 3, 0.005f, 0.9f, 0.999f, 1e-8f, t);
        if (!first_off && !(fabs((before - w[0]) - 0.005) < 1e-6)) {
            first_off = t;
            off_by = before - w[0];
        }
    }
    double want[3];
    for (int i = 0; i < 3; i++)
        want[i] = -T * 0.005 * g[i] / (fabs(g[i]) + 1e-8);
    if (first_off)
        gr_hint("with a constant gradient every step should move w by exactly lr = 0.005; "
                "step %d moved w[0] by %g. Check the bias correction, with t the step number",
                first_off, off_by);
    expect_all(w, want, 3, 1e-4, 1e-7, "w after 200 steps of g = (2, -1e-3, 50), lr = 0.005",
               __LINE__);
}

/* ------------------------------------------------------------ adamw */

static void test_adamw(void)
{
    /* lr = 0.01, λ = 0.5, β and ε as for Adam: first w ← (1 − lr λ) w = 0.995 w.
     * step 1: 0.995 w = (0.995, −1.99);  Adam: ∓0.01 (lr · sign g)  →  w = (0.985, −1.98)
     * step 2: 0.995 w = (0.980075, −1.9701);  the Adam step is test_adam's
     *         times 10 (lr 0.01): (0.0093217962, 0.0036610352)
     *         w = (0.9800750 − 0.0093217962, −1.9701000 − 0.0036610352)
     *           = (0.97075320, −1.97376104) */
    float w[3] = {W0[0], W0[1], 77.0f}, m[3] = {0.0f, 0.0f, 77.0f}, v[3] = {0.0f, 0.0f, 77.0f};
    nn_adamw_step(w, m, v, G1, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    if (is2(w, 0.99, -1.99))
        gr_hint("w moved by an Adam step alone: the decay is missing, or it went into the "
                "gradient (g + lambda w), where Adam's division by sqrt(v-hat) cancels its scale. "
                "Shrink w by (1 - lr lambda) directly, then take the Adam step on g");
    else if (is2(w, 0.98505, -1.98005))
        gr_hint("decay w before the Adam step, as PyTorch does: w *= 1 - lr lambda, then Adam");
    else if (is2(w, 0.49, -0.99))
        gr_hint("the decay factor is 1 - lr lambda, not 1 - lambda");
    EXPECT(w[0], 0.985, TOL, "step 1: w[0]");
    EXPECT(w[1], -1.98, TOL, "step 1: w[1]");
    nn_adamw_step(w, m, v, G2, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 2);
    EXPECT(w[0], 0.97075320, TOL, "step 2: w[0]");
    EXPECT(w[1], -1.97376104, TOL, "step 2: w[1]");
    EXPECT(w[2], 77.0, 0.0, "w[2], past n = 2 (must stay untouched)");
    EXPECT(m[2], 77.0, 0.0, "m[2], past n = 2 (must stay untouched)");
    EXPECT(v[2], 77.0, 0.0, "v[2], past n = 2 (must stay untouched)");
}

static void test_adamw_decoupled(void)
{
    /* Decoupled decay: with g = 0, Adam's part is 0 / (0 + ε) = 0, so w only
     * shrinks by 1 − lr λ = 0.995: (1, −2) → (0.995, −1.99), and m, v stay 0.
     * L2 folded into the gradient (g += λw) would instead give Adam the
     * gradient λw and move each weight by a whole lr = 0.01, to (0.99, −1.99):
     * Adam's division by √v̂ undoes the decay's scaling. */
    float w[2] = {W0[0], W0[1]}, m[2] = {0, 0}, v[2] = {0, 0};
    const float zero[2] = {0, 0};
    nn_adamw_step(w, m, v, zero, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
    if (is2(w, 0.99, -1.99) || is2(w, 0.985, -1.98))
        gr_hint("the decay went through Adam (g += lambda w): AdamW decouples it. Shrink w by "
                "(1 - lr lambda), then take the Adam step on g alone");
    EXPECT(w[0], 0.995, 1e-7, "w[0] after one step with g = 0, lr = 0.01, lambda = 0.5");
    EXPECT(w[1], -1.99, 1e-7, "w[1] after one step with g = 0");
    EXPECT(m[0], 0.0, 0.0, "m[0] after a step with g = 0 (the decay is not a gradient)");
    EXPECT(v[1], 0.0, 0.0, "v[1] after a step with g = 0");
    /* Ten more steps of g = 0: w = 0.995¹¹ (1, −2). */
    for (int t = 2; t <= 11; t++)
        nn_adamw_step(w, m, v, zero, 2, 0.01f, 0.9f, 0.999f, 1e-8f, 0.5f, t);
    EXPECT(w[0], pow(0.995, 11), 1e-6, "w[0] after 11 steps with g = 0 (0.995^11)");
    EXPECT(w[1], -2.0 * pow(0.995, 11), 1e-6, "w[1] after 11 steps with g = 0");
}

/* ------------------------------------------------------------ long runs on a quadratic */

/* f(w) = ½ Σ a_i w_i², gradient a_i w_i, minimum at 0; curvatures 0.2 to
 * 1.8 (condition number 9), from w = (1, −1, 1, −1). Each optimizer runs
 * `steps` steps with the student's functions and, beside it, in double by
 * step_d(). After 25 steps the two must agree within 2e-5 (a few float
 * roundings per step); at the end max |w_i| must be below tol. */
enum { QN = 4 };
static const float quad_a[QN] = {0.2f, 0.5f, 1.0f, 1.8f};

static void quadratic(int o, float lr, int steps, double tol)
{
    hyper h = defaults(o, lr);
    if (o == RMSPROP)
        h.rho = 0.9f;
    float w[QN] = {1, -1, 1, -1}, g[QN], s1[QN] = {0}, s2[QN] = {0};
    double wd[QN] = {1, -1, 1, -1}, gd[QN], s1d[QN] = {0}, s2d[QN] = {0}, at25[QN];
    float w25[QN];
    for (int t = 1; t <= steps; t++) {
        for (int i = 0; i < QN; i++) {
            g[i] = quad_a[i] * w[i];
            gd[i] = quad_a[i] * wd[i];
        }
        step_f(o, &h, w, s1, s2, g, QN, t);
        if (t <= 25)
            step_d(o, &h, wd, s1d, s2d, gd, QN, t);
        if (t == 25) {
            memcpy(w25, w, sizeof w25);
            memcpy(at25, wd, sizeof at25);
        }
    }
    char what[96];
    snprintf(what, sizeof what, "%s (lr = %g): w after 25 steps", opt_name[o], (double)lr);
    expect_all(w25, at25, QN, 0.0, 2e-5, what, __LINE__);
    double left = 0.0;
    for (int i = 0; i < QN; i++)
        left = isfinite(w[i]) ? fmax(left, fabs(w[i])) : INFINITY;
    check(left < tol, __LINE__, "%s (lr = %g): expected max |w_i| < %g after %d steps (the minimum "
          "is at 0), got %g", opt_name[o], (double)lr, tol, steps, left);
}

/* RMSProp with a constant rate ends up hopping around 0 with steps of
 * about lr, hence its looser bound; the others converge geometrically. */
static void test_quad_momentum(void) { quadratic(MOMENTUM, 0.1f, 500, 1e-4); }
static void test_quad_nesterov(void) { quadratic(NESTEROV, 0.1f, 500, 1e-4); }
static void test_quad_adagrad(void) { quadratic(ADAGRAD, 0.5f, 300, 1e-4); }
static void test_quad_rmsprop(void) { quadratic(RMSPROP, 0.01f, 1000, 0.01); }
static void test_quad_adadelta(void) { quadratic(ADADELTA, 1.0f, 1000, 1e-4); }
static void test_quad_adam(void) { quadratic(ADAM, 0.01f, 1000, 1e-4); }
static void test_quad_adamw(void) { quadratic(ADAMW, 0.01f, 1000, 1e-4); }

/* ------------------------------------------------------------ 2-D test surfaces */

/* Each surface in double: the value, and its gradient into gx, gy. */
typedef double (*surface_fn)(double x, double y, double *gx, double *gy);

/* Rosenbrock: (1 − x)² + 100 (y − x²)², a curved valley; minimum 0 at (1, 1). */
static double rosenbrock(double x, double y, double *gx, double *gy)
{
    double r = y - x * x;
    *gx = -2.0 * (1.0 - x) - 400.0 * x * r;
    *gy = 200.0 * r;
    return (1.0 - x) * (1.0 - x) + 100.0 * r * r;
}

/* Beale: Σ_k (c_k − x + x y^k)², c = (1.5, 2.25, 2.625); minimum 0 at (3, ½). */
static double beale(double x, double y, double *gx, double *gy)
{
    static const double c[3] = {1.5, 2.25, 2.625};
    double f = 0.0, yk = 1.0;
    *gx = *gy = 0.0;
    for (int k = 1; k <= 3; k++) {
        double dyk = k * yk; /* d(y^k)/dy = k y^{k−1} */
        yk *= y;
        double r = c[k - 1] - x + x * yk;
        f += r * r;
        *gx += 2.0 * r * (yk - 1.0);
        *gy += 2.0 * r * x * dyk;
    }
    return f;
}

/* A saddle: ½ (x² − y²); a minimum along x, a maximum along y at (0, 0). */
static double saddle(double x, double y, double *gx, double *gy)
{
    *gx = x;
    *gy = -y;
    return 0.5 * (x * x - y * y);
}

/* Per surface: start, steps, learning rate per optimizer (SGD first).
 * The rates are each method's usual scale, picked so every path is stable
 * and visible on the same axes. */
typedef struct {
    const char *name;
    surface_fn f;
    float x0, y0;
    int steps;
    float lr[N_OPT];
} surface;

static const surface surfaces[3] = {
    {"rosenbrock", rosenbrock, -1.2f, 1.0f, 1000, {1e-3f, 3e-4f, 3e-4f, 0.5f, 0.01f, 1.0f, 0.05f, 0.05f}},
    {"beale", beale, 1.0f, 1.5f, 1000, {1e-3f, 3e-4f, 3e-4f, 0.3f, 0.01f, 1.0f, 0.05f, 0.05f}},
    {"saddle", saddle, 1.0f, 1e-3f, 200, {0.05f, 0.01f, 0.01f, 0.1f, 0.01f, 1.0f, 0.05f, 0.05f}},
};

/* Run every optimizer on surface S from its start, writing the paths into
 * path[o][t] (t = 0..steps). On the saddle a path that has slid off
 * (|y| > 2) stops there: f is unbounded below. Returns the step at which
 * each one left the saddle in left[o] (0 if never). */
static void run_surface(const surface *S, float (*path)[1001][2], int *left)
{
    for (int o = 0; o < N_OPT; o++) {
        hyper h = defaults(o, S->lr[o]);
        float w[2] = {S->x0, S->y0}, s1[2] = {0, 0}, s2[2] = {0, 0}, g[2];
        left[o] = 0;
        path[o][0][0] = w[0];
        path[o][0][1] = w[1];
        for (int t = 1; t <= S->steps; t++) {
            if (!left[o]) {
                double gx, gy;
                S->f(w[0], w[1], &gx, &gy);
                g[0] = (float)gx;
                g[1] = (float)gy;
                step_f(o, &h, w, s1, s2, g, 2, t);
                if (S->f == saddle && fabsf(w[1]) > 2.0f)
                    left[o] = t;
            }
            path[o][t][0] = w[0];
            path[o][t][1] = w[1];
        }
    }
}

static void write_paths(const surface *S, float (*path)[1001][2])
{
    char name[64];
    snprintf(name, sizeof name, "lab05-traj-%s.csv", S->name);
    FILE *f = open_log(name);
    if (!f)
        return;
    fprintf(f, "step");
    for (int o = 0; o < N_OPT; o++)
        fprintf(f, ",%s_x,%s_y", opt_name[o], opt_name[o]);
    fprintf(f, "\n");
    for (int t = 0; t <= S->steps; t++) {
        fprintf(f, "%d", t);
        for (int o = 0; o < N_OPT; o++)
            fprintf(f, ",%.7g,%.7g", (double)path[o][t][0], (double)path[o][t][1]);
        fprintf(f, "\n");
    }
    fclose(f);
}

static void test_surfaces(void)
{
    /* Every optimizer on three classic test surfaces (SGD, from lab 4, is
     * drawn as the baseline but not checked here):
     *   Rosenbrock from (−1.2, 1), 1000 steps: f falls from 24.2 to below
     *     24.2/10 (every method is in the valley's floor by then);
     *   Beale from (1, 1.5), 1000 steps: f falls from 41.25 to below 4.125;
     *   the saddle ½(x² − y²) from (1, 0.001): each method leaves it
     *     (|y| > 2) within 200 steps. Momentum builds up speed along y, the
     *     adaptive methods divide the tiny gradient along y by its own size;
     *     plain gradient descent at momentum's rate would need ~760 steps.
     * Every point of every path must be finite. */
    static float path[N_OPT][1001][2];
    int left[N_OPT];
    for (int k = 0; k < 3; k++) {
        const surface *S = &surfaces[k];
        run_surface(S, path, left);
        write_paths(S, path);
        double gx, gy, f0 = S->f(S->x0, S->y0, &gx, &gy);
        for (int o = MOMENTUM; o < N_OPT; o++) {
            int bad = -1;
            for (int t = 0; t <= S->steps && bad < 0; t++)
                if (!isfinite(path[o][t][0]) || !isfinite(path[o][t][1]))
                    bad = t;
            check(bad < 0, __LINE__, "%s on %s: the path is not finite from step %d on", opt_name[o],
                  S->name, bad);
            if (bad >= 0)
                continue;
            if (S->f == saddle) {
                check(left[o] > 0, __LINE__, "%s (lr = %g) on the saddle 0.5 (x^2 - y^2) from (1, "
                      "0.001): expected |y| > 2 within 200 steps, got y = %g at the end",
                      opt_name[o], (double)S->lr[o], (double)path[o][S->steps][1]);
            } else {
                const float *e = path[o][S->steps];
                double fe = S->f(e[0], e[1], &gx, &gy);
                check(fe < f0 / 10, __LINE__, "%s (lr = %g) on %s from (%g, %g): expected f < %g "
                      "after %d steps, got f = %g at (%g, %g)", opt_name[o], (double)S->lr[o],
                      S->name, (double)S->x0, (double)S->y0, f0 / 10, S->steps, fe, (double)e[0],
                      (double)e[1]);
            }
        }
    }
}

/* ------------------------------------------------------------ an MLP */

static void test_mlp(void)
{
    /* One small MLP, 2-32-32-3 with ReLU, on 300 points of three
     * interleaved spirals, trained by each optimizer from the same initial
     * weights: 300 full-batch steps (softmax cross-entropy), through the
     * framework's nn_optimizer_step, which calls your update rules. The
     * loss starts at about ln 3 (1.1) for everyone; every optimizer must
     * bring it below 0.9 times its start, with no NaN on the way. (How far
     * below is the report's business: the chart shows all eight curves.) */
    enum { N = 300, C = 3, STEPS = 300 };
    static const float lr[N_OPT] = {0.5f, 0.1f, 0.1f, 0.1f, 0.005f, 1.0f, 0.01f, 0.01f};
    static float loss[N_OPT][STEPS + 1];
    static float dlogits[N * C];
    nn_rng rng;
    nn_dataset ds;
    nn_rng_seed(&rng, 5);
    if (nn_make_synthetic(&ds, NN_SYN_SPIRALS, N, C, 0.1f, &rng) != 0) {
        check(0, __LINE__, "the grader could not make its data set: not your code's fault, ask the staff");
        return;
    }
    for (int o = 0; o < N_OPT; o++) {
        nn_rng init;
        nn_rng_seed(&init, 7); /* the same initial weights for every optimizer */
        nn_model *m = nn_model_create("2-32-32-3", NN_ACT_RELU, NULL, &init);
        nn_opt_config cfg = nn_opt_defaults((nn_opt_kind)o, lr[o]);
        nn_optimizer opt;
        if (!m || nn_model_reserve(m, N) != 0 || nn_optimizer_init(&opt, m, &cfg) != 0) {
            check(0, __LINE__, "the grader could not build its MLP: not your code's fault");
            nn_model_free(m);
            return;
        }
        for (int t = 0; t <= STEPS; t++) {
            const float *logits = nn_model_forward(m, ds.f32, N);
            loss[o][t] = nn_cross_entropy_loss(logits, ds.labels, N, C);
            if (t == STEPS || !isfinite(loss[o][t])) {
                for (int k = t + 1; k <= STEPS; k++)
                    loss[o][k] = NAN;
                break;
            }
            memset(dlogits, 0, sizeof dlogits);
            nn_cross_entropy_backward(dlogits, logits, ds.labels, N, C);
            nn_model_zero_grad(m);
            nn_model_backward(m, ds.f32, dlogits, N);
            nn_optimizer_step(&opt, m, lr[o]);
        }
        nn_optimizer_free(&opt);
        nn_model_free(m);
    }
    nn_dataset_free(&ds);

    FILE *f = open_log("lab05-mlp.csv");
    if (f) {
        fprintf(f, "step");
        for (int o = 0; o < N_OPT; o++)
            fprintf(f, ",%s", opt_name[o]);
        fprintf(f, "\n");
        for (int t = 0; t <= STEPS; t++) {
            fprintf(f, "%d", t);
            for (int o = 0; o < N_OPT; o++)
                fprintf(f, ",%.7g", (double)loss[o][t]);
            fprintf(f, "\n");
        }
        fclose(f);
    }
    for (int o = MOMENTUM; o < N_OPT; o++) {
        float start = loss[o][0], end = loss[o][STEPS];
        check(isfinite(end) && end < 0.9f * start, __LINE__,
              "%s (lr = %g): expected the loss to fall below 0.9 x %g = %g in %d steps, got %g",
              opt_name[o], (double)lr[o], (double)start, 0.9 * start, STEPS, (double)end);
    }
}

/* ------------------------------------------------------------ schedules */

/* Write t, lr(t) for t = 0..50 into lab05-sched-NAME.csv (for the plot). */
static void write_schedule(const char *name, float (*lr)(int t))
{
    char file[64];
    snprintf(file, sizeof file, "lab05-sched-%s.csv", name);
    FILE *f = open_log(file);
    if (!f)
        return;
    fprintf(f, "t,lr\n");
    for (int t = 0; t <= 50; t++)
        fprintf(f, "%d,%.8g\n", t, (double)lr(t));
    fclose(f);
}

/* The plotted settings: lr0 = 0.1 throughout. */
static float plot_step(int t) { return nn_lr_step_decay(0.1f, t, 10, 0.5f); }
static float plot_exponential(int t) { return nn_lr_exponential(0.1f, t, 0.95f); }
static float plot_cosine(int t) { return nn_lr_cosine(0.1f, t, 40, 0.005f); }
static float plot_warmup(int t) { return nn_lr_warmup(0.1f, t, 10); }

static void test_lr_step(void)
{
    write_schedule("step", plot_step);
    /* lr0 = 0.1, step_size = 3, γ = 0.5: ⌊epoch / 3⌋ = 0, 0, 1, 2, 3 at
     * epochs 0, 2, 3, 7, 9, so lr = 0.1, 0.1, 0.05, 0.025, 0.0125. */
    float at2 = nn_lr_step_decay(0.1f, 2, 3, 0.5f);
    if (isfinite(at2) && at2 < 0.0999f && at2 > 0.05f)
        gr_hint("the rate changed inside a step of 3 epochs: the exponent is the integer "
                "epoch / step_size (C's integer division), not a fraction");
    EXPECT(nn_lr_step_decay(0.1f, 0, 3, 0.5f), 0.1, 1e-8, "step decay, epoch 0 (lr0 = 0.1, step 3, gamma 0.5)");
    EXPECT(at2, 0.1, 1e-8, "step decay, epoch 2");
    EXPECT(nn_lr_step_decay(0.1f, 3, 3, 0.5f), 0.05, 1e-8, "step decay, epoch 3");
    EXPECT(nn_lr_step_decay(0.1f, 7, 3, 0.5f), 0.025, 1e-8, "step decay, epoch 7");
    EXPECT(nn_lr_step_decay(0.1f, 9, 3, 0.5f), 0.0125, 1e-9, "step decay, epoch 9");
    /* step_size = 1 decays every epoch: 2 · 0.1⁴ = 2e-4 at epoch 4. */
    EXPECT(nn_lr_step_decay(2.0f, 4, 1, 0.1f), 2e-4, 1e-10, "step decay, lr0 = 2, step 1, gamma 0.1, epoch 4");
}

static void test_lr_exponential(void)
{
    write_schedule("exponential", plot_exponential);
    /* lr0 = 0.1, γ = 0.9: 0.1, 0.09, 0.0729 at epochs 0, 1, 3; at 10,
     * 0.1 · 0.9¹⁰ = 0.034867844. */
    EXPECT(nn_lr_exponential(0.1f, 0, 0.9f), 0.1, 1e-8, "exponential, epoch 0 (lr0 = 0.1, gamma 0.9)");
    EXPECT(nn_lr_exponential(0.1f, 1, 0.9f), 0.09, 1e-8, "exponential, epoch 1");
    EXPECT(nn_lr_exponential(0.1f, 3, 0.9f), 0.0729, 1e-8, "exponential, epoch 3");
    EXPECT(nn_lr_exponential(0.1f, 10, 0.9f), 0.034867844, 1e-8, "exponential, epoch 10");
}

static void test_lr_cosine(void)
{
    write_schedule("cosine", plot_cosine);
    /* lr0 = 0.1, lr_min = 0.001, T = 10; ½ (lr0 − lr_min) = 0.0495.
     *   t = 0:  0.001 + 0.0495 · (1 + 1) = 0.1           (starts at lr0)
     *   t = 2:  0.001 + 0.0495 · (1 + cos 36°) = 0.09054634
     *   t = 5:  0.001 + 0.0495 · (1 + 0) = 0.0505        (half-way: the mean)
     *   t = 10: 0.001 + 0.0495 · (1 − 1) = 0.001         (ends at lr_min)
     *   t = 15: clamped to T: 0.001.
     * And the identity cos(π − a) = −cos a: lr(t) + lr(T − t) = lr0 + lr_min. */
    float at0 = nn_lr_cosine(0.1f, 0, 10, 0.001f), at10 = nn_lr_cosine(0.1f, 10, 10, 0.001f);
    if (isfinite(at0) && fabs(at0 - (0.001 + 0.0495 * (1.0 + cos(acos(-1.0) / 10)))) < 1e-6)
        gr_hint("lr(0) came out lr(1): off by one. Use t as given (from 0): cos(pi t / T)");
    else if (isfinite(at10) && at10 > 0.0011f && fabsf(nn_lr_cosine(0.1f, 9, 10, 0.001f) - 0.001f) < 1e-7f)
        gr_hint("lr_min is reached at t = T - 1: off by one. Divide by T, not T - 1");
    EXPECT(at0, 0.1, 1e-8, "cosine, t = 0 (lr0 = 0.1, T = 10, lr_min = 0.001)");
    EXPECT(nn_lr_cosine(0.1f, 2, 10, 0.001f), 0.09054634, 1e-8, "cosine, t = 2");
    EXPECT(nn_lr_cosine(0.1f, 5, 10, 0.001f), 0.0505, 1e-8, "cosine, t = 5");
    EXPECT(at10, 0.001, 1e-9, "cosine, t = 10 = T");
    EXPECT(nn_lr_cosine(0.1f, 15, 10, 0.001f), 0.001, 1e-9, "cosine, t = 15 > T (clamped)");
    for (int t = 0; t <= 10; t++) {
        char what[80];
        snprintf(what, sizeof what, "cosine: lr(%d) + lr(%d), expected lr0 + lr_min", t, 10 - t);
        gr_assert_near((double)nn_lr_cosine(0.1f, t, 10, 0.001f) + nn_lr_cosine(0.1f, 10 - t, 10, 0.001f),
                       0.101, 1e-7, what, __FILE__, __LINE__);
    }
}

static void test_lr_warmup(void)
{
    write_schedule("warmup", plot_warmup);
    /* lr0 = 0.1 over 4 warm-up steps: 0.1 · 1/4, 0.1 · 2/4, 0.1 · 4/4 at
     * t = 0, 1, 3; from t = 4 on, 0.1. The first step already gets a
     * quarter of the rate, not 0 (a step with lr = 0 would be wasted). */
    float at0 = nn_lr_warmup(0.1f, 0, 4);
    if (at0 == 0.0f)
        gr_hint("lr(0) = 0 wastes the first step: the header ramps lr0 (t + 1) / warmup");
    EXPECT(at0, 0.025, 1e-8, "warmup, t = 0 (lr0 = 0.1, warmup = 4)");
    EXPECT(nn_lr_warmup(0.1f, 1, 4), 0.05, 1e-8, "warmup, t = 1");
    EXPECT(nn_lr_warmup(0.1f, 3, 4), 0.1, 1e-8, "warmup, t = 3");
    EXPECT(nn_lr_warmup(0.1f, 4, 4), 0.1, 1e-8, "warmup, t = 4");
    EXPECT(nn_lr_warmup(0.1f, 100, 4), 0.1, 1e-8, "warmup, t = 100");
}

const gr_test gr_public_tests[] = {
    {"momentum, two steps", 2, 1.0, "nn_momentum_step", test_momentum},
    {"momentum on a constant slope", 1, 1.0, "nn_momentum_step", test_momentum_slope},
    {"nesterov, two steps", 2, 1.0, "nn_nesterov_step", test_nesterov},
    {"adagrad, two steps", 2, 1.0, "nn_adagrad_step", test_adagrad},
    {"adagrad: eps outside the root", 1, 1.0, "nn_adagrad_step", test_adagrad_eps},
    {"rmsprop, two steps", 2, 1.0, "nn_rmsprop_step", test_rmsprop},
    {"rmsprop: eps outside the root", 1, 1.0, "nn_rmsprop_step", test_rmsprop_eps},
    {"adadelta, two steps", 2, 1.0, "nn_adadelta_step", test_adadelta},
    {"adam, two steps with bias correction", 3, 1.0, "nn_adam_step", test_adam},
    {"adam: first step is lr whatever the scale", 1, 1.0, "nn_adam_step", test_adam_scale_free},
    {"adam on a constant gradient", 1, 1.0, "nn_adam_step", test_adam_constant},
    {"adamw, two steps", 2, 1.0, "nn_adamw_step", test_adamw},
    {"adamw: decay is decoupled", 1, 1.0, "nn_adamw_step", test_adamw_decoupled},
    {"momentum on a quadratic", 1, 1.0, "nn_momentum_step", test_quad_momentum},
    {"nesterov on a quadratic", 1, 1.0, "nn_nesterov_step", test_quad_nesterov},
    {"adagrad on a quadratic", 1, 1.0, "nn_adagrad_step", test_quad_adagrad},
    {"rmsprop on a quadratic", 1, 1.0, "nn_rmsprop_step", test_quad_rmsprop},
    {"adadelta on a quadratic", 1, 1.0, "nn_adadelta_step", test_quad_adadelta},
    {"adam on a quadratic", 1, 1.0, "nn_adam_step", test_quad_adam},
    {"adamw on a quadratic", 1, 1.0, "nn_adamw_step", test_quad_adamw},
    {"test surfaces: rosenbrock, beale, saddle", 3, 2.0,
     "nn_momentum_step,nn_nesterov_step,nn_adagrad_step,nn_rmsprop_step,nn_adadelta_step,"
     "nn_adam_step,nn_adamw_step",
     test_surfaces},
    {"every optimizer trains an MLP", 3, 5.0,
     "nn_momentum_step,nn_nesterov_step,nn_adagrad_step,nn_rmsprop_step,nn_adadelta_step,"
     "nn_adam_step,nn_adamw_step",
     test_mlp},
    {"lr step decay", 1, 1.0, "nn_lr_step_decay", test_lr_step},
    {"lr exponential", 1, 1.0, "nn_lr_exponential", test_lr_exponential},
    {"lr cosine", 2, 1.0, "nn_lr_cosine", test_lr_cosine},
    {"lr warmup", 1, 1.0, "nn_lr_warmup", test_lr_warmup},
    {NULL, 0, 0, NULL, NULL}
};
