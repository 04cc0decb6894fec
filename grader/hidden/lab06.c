/*
 * Lab 6 (dropout.c, batchnorm.c) — hidden tests: the same contract on
 * inputs the public tests leave out. Expected values are replayed from a
 * copy of the random stream, worked by hand, or recomputed in double by the
 * formulas written out here (batch-norm gradients: central differences of
 * the double forward pass).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grader.h"
#include "nnlab/batchnorm.h"
#include "nnlab/dropout.h"
#include "nnlab/rng.h"

#define EXPECT(got, want, tol, what) \
    gr_assert_near((double)(got), (double)(want), (tol), (what), __FILE__, __LINE__)

static void check(int cond, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void check(int cond, int line, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
}

/* |got[i] − want[i]| <= rtol·|want[i]| + atol for every i; NaN fails. */
static void expect_all(const float *got, const double *want, int n, double rtol, double atol,
                       const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        /* error / allowance, with 0/0 = 0 (an exact match where the
         * allowance is 0) and NaN = +∞ (NaN never passes) */
        double err = fabs(got[i] - want[i]), allow = rtol * fabs(want[i]) + atol;
        double ratio = err == 0.0 ? 0.0 : isnan(err) ? INFINITY : err / allow;
        if (ratio > worst_ratio) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[120];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    gr_assert_near(got[worst], want[worst], rtol * fabs(want[worst]) + atol, name, __FILE__, line);
}

static void fill(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

static size_t at(int n, int ch, int s, int c, int spatial)
{
    return ((size_t)n * c + ch) * spatial + s;
}

/* ------------------------------------------------------------ dropout */

static void test_dropout_high_p(void)
{
    /* p = 0.9 (factor 1/0.1 = 10) on 777 elements, in place (out == in),
     * against the header's rule replayed on a copy of the stream. */
    enum { N = 777 };
    float x[N], in[N], mask[N];
    double want_x[N], want_mask[N];
    nn_rng rng, replay;
    nn_rng_seed(&rng, 661);
    fill(in, N, -5.0f, 5.0f, &rng);
    replay = rng;
    for (int i = 0; i < N; i++) {
        int dropped = nn_rng_uniform(&replay) < 0.9f;
        want_mask[i] = dropped ? 0.0 : 1.0 / (1.0 - (double)0.9f);
        want_x[i] = in[i] * want_mask[i];
    }
    memcpy(x, in, sizeof x);
    gr_poison(mask, N);
    nn_dropout_forward(x, mask, x, N, 0.9f, 1, &rng);
    expect_all(mask, want_mask, N, 1e-6, 0.0, "mask (p = 0.9, in place)", __LINE__);
    expect_all(x, want_x, N, 1e-6, 0.0, "out (p = 0.9, in place)", __LINE__);
    check(nn_rng_u32(&rng) == nn_rng_u32(&replay), __LINE__,
          "after %d elements the stream should have advanced by exactly %d draws", N, N);
}

static void test_dropout_p_zero(void)
{
    /* p = 0 while training: no draw is below 0, so every unit is kept with
     * factor 1/(1 − 0) = 1: out = in and mask = 1, exactly. */
    enum { N = 100 };
    float in[N], out[N], mask[N];
    double want[N], ones[N];
    nn_rng rng;
    nn_rng_seed(&rng, 662);
    fill(in, N, -1.0f, 1.0f, &rng);
    for (int i = 0; i < N; i++) {
        want[i] = in[i];
        ones[i] = 1.0;
    }
    gr_poison(out, N);
    gr_poison(mask, N);
    nn_dropout_forward(out, mask, in, N, 0.0f, 1, &rng);
    expect_all(out, want, N, 0.0, 0.0, "out with p = 0 (training)", __LINE__);
    expect_all(mask, ones, N, 0.0, 0.0, "mask with p = 0 (training)", __LINE__);
}

/* ------------------------------------------------------------ early stopping */

static void test_early_stop_edges(void)
{
    /* Patience 1, a NaN first: NaN < +∞ is false, so it is no improvement;
     * wait = 1 reaches patience: stop (-1) at once, best stays +∞. */
    nn_early_stop es;
    nn_early_stop_init(&es, 1);
    int r = nn_early_stop_update(&es, NAN, 7);
    if (r == 1)
        gr_hint("a NaN validation loss must never count as an improvement (any comparison "
                "with NaN is false: use val_loss < best)");
    EXPECT(r, -1, 0.0, "patience 1, first loss NaN: return");
    check(isinf(es.best) && es.best > 0, __LINE__, "best after a NaN: expected +inf, got %g",
          (double)es.best);
    EXPECT(es.best_epoch, -1, 0.0, "best_epoch after a NaN");

    /* Patience 2 with epoch numbers 10, 20, ... (the caller's own):
     *   10: 0.5 improves  1 (best_epoch 10)   20: NaN  0 (wait 1)
     *   30: 0.4 improves  1 (best_epoch 30)   40: 0.4  0 (equal; wait 1)
     *   50: 0.5          -1 (wait 2) */
    nn_early_stop_init(&es, 2);
    const float loss[5] = {0.5f, NAN, 0.4f, 0.4f, 0.5f};
    const int want[5] = {1, 0, 1, 0, -1}, want_be[5] = {10, 10, 30, 30, 30};
    for (int e = 0; e < 5; e++) {
        char what[64];
        r = nn_early_stop_update(&es, loss[e], 10 * (e + 1));
        snprintf(what, sizeof what, "epoch %d (loss %g): return", 10 * (e + 1), (double)loss[e]);
        EXPECT(r, want[e], 0.0, what);
        snprintf(what, sizeof what, "epoch %d: best_epoch", 10 * (e + 1));
        EXPECT(es.best_epoch, want_be[e], 0.0, what);
    }
    EXPECT(es.best, 0.4f, 0.0, "best after the sequence");
}

/* ------------------------------------------------------------ batch norm */

static void test_bn_large_mean(void)
{
    /* Channels far from 0: x = 1000 + 0.5 z (channel 0), −3000 + 2 z
     * (channel 1), 50 + 0.01 z (channel 2), z ~ N(0, 1); batch 64. In float
     * E[x²] − μ² subtracts two numbers near 10⁶ (or 10⁷) whose difference
     * is ~0.25: the one-pass variance loses every digit. Against the two-pass
     * formulas in double: x̂ within 2e-3 absolute (it is O(1)), invstd
     * within 1e-3 relative. */
    enum { B = 64, C = 3, N = B * C };
    const double centre[C] = {1000.0, -3000.0, 50.0}, spread[C] = {0.5, 2.0, 0.01};
    float x[N], out[N], xhat[N], mean[C], invstd[C], rm[C] = {0, 0, 0}, rv[C] = {1, 1, 1};
    const float gamma[C] = {1, 1, 1}, beta[C] = {0, 0, 0};
    double want_xhat[N], want_inv[C];
    nn_rng rng;
    nn_rng_seed(&rng, 663);
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < C; ch++)
            x[at(n, ch, 0, C, 1)] = (float)(centre[ch] + spread[ch] * nn_rng_normal(&rng));
    for (int ch = 0; ch < C; ch++) {
        double s = 0.0, q = 0.0;
        for (int n = 0; n < B; n++)
            s += x[at(n, ch, 0, C, 1)];
        double mu = s / B;
        for (int n = 0; n < B; n++)
            q += (x[at(n, ch, 0, C, 1)] - mu) * (x[at(n, ch, 0, C, 1)] - mu);
        want_inv[ch] = 1.0 / sqrt(q / B + (double)1e-5f);
        for (int n = 0; n < B; n++)
            want_xhat[at(n, ch, 0, C, 1)] = (x[at(n, ch, 0, C, 1)] - mu) * want_inv[ch];
    }
    gr_poison(out, N);
    gr_poison(xhat, N);
    gr_poison(invstd, C);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, B, C, 1, 0.1f,
                               1e-5f);
    if (!(fabs(invstd[0] - want_inv[0]) < 1e-3 * want_inv[0]))
        gr_hint("compute the variance in two passes, Σ (x - μ)² after μ (in double if you "
                "can): E[x²] - μ² cancels catastrophically when |μ| >> σ");
    expect_all(invstd, want_inv, C, 1e-3, 0.0, "invstd, channels with |mean| >> std", __LINE__);
    expect_all(xhat, want_xhat, N, 0.0, 2e-3, "xhat, channels with |mean| >> std", __LINE__);
}

static void test_bn_running_converges(void)
{
    /* 30 training steps on the same batch (channel 0: 2, 4, 6, 8: μ = 5,
     * unbiased variance 20/3; channel 1: −1, 1, −1, 1: μ = 0, 4/3), momentum
     * 0.1, from running mean 0 and variance 1. After k steps
     * r = s + (r₀ − s)(1 − momentum)^k, s the batch statistic:
     *   mean (5, 0)(1 − 0.9^30),  variance s + (1 − s)·0.9^30. */
    const float x[8] = {2, -1, 4, 1, 6, -1, 8, 1}, gamma[2] = {1, 1}, beta[2] = {0, 0};
    float out[8], xhat[8], mean[2], invstd[2], rm[2] = {0, 0}, rv[2] = {1, 1};
    for (int k = 0; k < 30; k++)
        nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, 4, 2, 1,
                                   0.1f, 1e-5f);
    double f = pow(1.0 - (double)0.1f, 30);
    const double want_rm[2] = {5.0 * (1.0 - f), 0.0};
    const double want_rv[2] = {20.0 / 3.0 + (1.0 - 20.0 / 3.0) * f, 4.0 / 3.0 + (1.0 - 4.0 / 3.0) * f};
    expect_all(rm, want_rm, 2, 1e-5, 1e-6, "running mean after 30 steps", __LINE__);
    expect_all(rv, want_rv, 2, 1e-5, 1e-6, "running variance after 30 steps", __LINE__);
}

/* The training forward in double (as in the public tests). */
static void bn_forward_d(double *y, const double *x, const double *gamma, const double *beta,
                         int batch, int c, int spatial, double eps)
{
    double m = (double)batch * spatial;
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0, q = 0.0;
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++)
                s += x[at(n, ch, k, c, spatial)];
        double mu = s / m;
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++)
                q += (x[at(n, ch, k, c, spatial)] - mu) * (x[at(n, ch, k, c, spatial)] - mu);
        double inv = 1.0 / sqrt(q / m + eps);
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++) {
                size_t i = at(n, ch, k, c, spatial);
                y[i] = gamma[ch] * (x[i] - mu) * inv + beta[ch];
            }
    }
}

enum { B = 1, C = 3, S = 9, N = B * C * S };

static double objective(const double *x, const double *g, const double *b, const double *r)
{
    double y[N], sum = 0.0;
    bn_forward_d(y, x, g, b, B, C, S, (double)1e-5f);
    for (int i = 0; i < N; i++)
        sum += r[i] * y[i];
    return sum;
}

/* ∂L/∂v[i] by central differences, h = 1e-5 (1 + |v|). */
static void numeric_grad(double *grad, double *v, int n, const double *x, const double *g,
                         const double *b, const double *r)
{
    for (int i = 0; i < n; i++) {
        double keep = v[i], h = 1e-5 * (1.0 + fabs(keep));
        v[i] = keep + h;
        double up = objective(x, g, b, r);
        v[i] = keep - h;
        double down = objective(x, g, b, r);
        v[i] = keep;
        grad[i] = (up - down) / (2.0 * h);
    }
}

static void test_bn_backward_one_image(void)
{
    /* Conv layout with a single image, [1, 3, 9]: the statistics run over
     * the 9 pixels of each channel (m = batch·spatial = 9). Gradients onto
     * earlier values, against central differences of L = Σ dy·y (tolerance
     * 1e-4 of the largest component). */
    float x[N], gamma[C], beta[C], dout[N], xhat[N], invstd[C], din[N], dg[C], db[C];
    double xd[N], gd[C], bd[C], rd[N], wx[N], wg[C], wb[C];
    nn_rng rng;
    nn_rng_seed(&rng, 664);
    for (int i = 0; i < N; i++)
        x[i] = 3.0f * nn_rng_normal(&rng) - 1.0f;
    fill(gamma, C, -2.0f, 2.0f, &rng);
    fill(beta, C, -1.0f, 1.0f, &rng);
    fill(dout, N, -1.0f, 1.0f, &rng);
    fill(din, N, -1.0f, 1.0f, &rng);
    fill(dg, C, -1.0f, 1.0f, &rng);
    fill(db, C, -1.0f, 1.0f, &rng);
    for (int i = 0; i < N; i++)
        xd[i] = x[i], rd[i] = dout[i];
    for (int ch = 0; ch < C; ch++)
        gd[ch] = gamma[ch], bd[ch] = beta[ch];
    /* x̂ and invstd as the forward pass keeps them, from double. */
    for (int ch = 0; ch < C; ch++) {
        double s = 0.0, q = 0.0;
        for (int k = 0; k < S; k++)
            s += xd[at(0, ch, k, C, S)];
        double mu = s / S;
        for (int k = 0; k < S; k++)
            q += (xd[at(0, ch, k, C, S)] - mu) * (xd[at(0, ch, k, C, S)] - mu);
        double inv = 1.0 / sqrt(q / S + (double)1e-5f);
        invstd[ch] = (float)inv;
        for (int k = 0; k < S; k++)
            xhat[at(0, ch, k, C, S)] = (float)((xd[at(0, ch, k, C, S)] - mu) * inv);
    }
    numeric_grad(wx, xd, N, xd, gd, bd, rd);
    numeric_grad(wg, gd, C, xd, gd, bd, rd);
    numeric_grad(wb, bd, C, xd, gd, bd, rd);
    double sx = 0.0, sg = 0.0, sb = 0.0;
    for (int i = 0; i < N; i++) {
        sx = fmax(sx, fabs(wx[i]));
        wx[i] += din[i];
    }
    for (int ch = 0; ch < C; ch++) {
        sg = fmax(sg, fabs(wg[ch]));
        sb = fmax(sb, fabs(wb[ch]));
        wg[ch] += dg[ch];
        wb[ch] += db[ch];
    }
    nn_batchnorm_backward(din, dg, db, dout, xhat, gamma, invstd, B, C, S);
    expect_all(din, wx, N, 0.0, 1e-4 * sx, "din, [1, 3, 9]", __LINE__);
    expect_all(dg, wg, C, 0.0, 1e-4 * sg, "dgamma, [1, 3, 9]", __LINE__);
    expect_all(db, wb, C, 0.0, 1e-4 * sb, "dbeta, [1, 3, 9]", __LINE__);
}

const gr_test gr_hidden_tests[] = {
    {"dropout with p = 0.9, in place", 1, 1.0, "nn_dropout_forward", test_dropout_high_p},
    {"dropout with p = 0 while training", 1, 1.0, "nn_dropout_forward", test_dropout_p_zero},
    {"early stopping with NaN losses", 1, 1.0, "nn_early_stop_init,nn_early_stop_update",
     test_early_stop_edges},
    {"batch norm when |mean| >> std", 1, 1.0, "nn_batchnorm_forward_train", test_bn_large_mean},
    {"batch norm running statistics converge", 1, 1.0, "nn_batchnorm_forward_train",
     test_bn_running_converges},
    {"batch norm backward, one image", 1, 1.0, "nn_batchnorm_backward",
     test_bn_backward_one_image},
    {NULL, 0, 0, NULL, NULL}
};
