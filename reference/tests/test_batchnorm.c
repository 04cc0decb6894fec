/*
 * Tests of lab 6, part 2 (batchnorm.c).
 *
 * Every layout is [batch, c, spatial] and is tested both ways it is used:
 * after a dense layer (spatial = 1) and after a conv layer (spatial = h·w).
 * Expected values come from a double-precision batch norm written here
 * (bn_ref), from central finite differences of a loss computed with it, or
 * from small examples worked by hand in the comments.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/batchnorm.h"
#include "testutil.h"

enum { MAXC = 16 };

/* ------------------------------------------------------------ helpers */

static void poison(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = NAN;
}

/* Index of element (n, ch, s) of a [batch, c, spatial] array. */
static size_t at(int n, int ch, int s, int c, int spatial)
{
    return ((size_t)n * c + ch) * spatial + s;
}

/* Batch norm's training forward in double, from the definition:
 * per channel μ = mean of its m = batch·spatial values, σ² = mean of
 * (x − μ)², x̂ = (x − μ)/√(σ² + ε). Fills mu[c], var[c] and xhat. */
static void bn_ref(double *xhat, double *mu, double *var, const float *x, int batch, int c,
                   int spatial, double eps)
{
    double m = (double)batch * spatial;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0, sq = 0.0;
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < spatial; s++)
                sum += x[at(n, ch, s, c, spatial)];
        mu[ch] = sum / m;
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < spatial; s++) {
                double d = x[at(n, ch, s, c, spatial)] - mu[ch];
                sq += d * d;
            }
        var[ch] = sq / m;
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < spatial; s++) {
                size_t i = at(n, ch, s, c, spatial);
                xhat[i] = (x[i] - mu[ch]) / sqrt(var[ch] + eps);
            }
    }
}

/* x = offset + spread · U(−1, 1) with an offset and a spread that differ from
 * channel to channel, so that statistics mixed across channels show. */
static void fill_channels(float *x, int batch, int c, int spatial, nn_rng *rng)
{
    for (int ch = 0; ch < c; ch++) {
        float off = (float)(ch % 3) * 4.0f - 3.0f, spread = 0.5f + (float)ch;
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < spatial; s++)
                x[at(n, ch, s, c, spatial)] = off + spread * (2.0f * nn_rng_uniform(rng) - 1.0f);
    }
}

/* max_i |a_i − g_i| / max(1e-8, max_i |g_i|): error relative to the scale of
 * the reference g (components of a gradient that cancel to nearly 0 make
 * element-by-element ratios meaningless). +Inf if a value is not finite. */
static double scaled_err(const float *a, const double *g, int n)
{
    double diff = 0.0, scale = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(g[i]))
            return INFINITY;
        diff = fmax(diff, fabs(a[i] - g[i]));
        scale = fmax(scale, fabs(g[i]));
    }
    return diff / fmax(1e-8, scale);
}

#define ASSERT_SCALED(a, g, n, tol)                                               \
    do {                                                                          \
        double e_ = scaled_err((a), (g), (n));                                    \
        char m_[160];                                                             \
        snprintf(m_, sizeof m_, "%s vs %s: scaled error %.3g > tol %.1g", #a, #g,  \
                 e_, (double)(tol));                                              \
        CU_assertImplementation(e_ < (tol), __LINE__, m_, __FILE__, "", CU_FALSE); \
    } while (0)

/* The shapes every test runs in: a dense layer's [batch, features] and a
 * conv layer's [batch, channels, h·w]. */
typedef struct {
    int batch, c, spatial;
} layout;

static const layout LAYOUTS[2] = {{8, 3, 1}, {4, 3, 6}};

/* ------------------------------------------------------------ train forward */

/* γ = 1, β = 0: each channel of out has mean 0 and (biased) variance
 * σ²/(σ² + ε), i.e. 1 up to ε; mean, invstd and x̂ match bn_ref. */
static void check_normalises(layout L, uint64_t seed)
{
    enum { MAXN = 8 * 3 * 6 };
    int n = L.batch * L.c * L.spatial;
    float x[MAXN], out[MAXN], xhat[MAXN], mean[MAXC], invstd[MAXC];
    float gamma[MAXC], beta[MAXC], rm[MAXC] = {0}, rv[MAXC] = {0};
    double ref[MAXN], mu[MAXC], var[MAXC], m = (double)L.batch * L.spatial;
    const double eps = 1e-5;
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fill_channels(x, L.batch, L.c, L.spatial, &rng);
    for (int ch = 0; ch < L.c; ch++) {
        gamma[ch] = 1.0f;
        beta[ch] = 0.0f;
    }
    poison(out, n);
    poison(xhat, n);
    poison(mean, L.c);
    poison(invstd, L.c);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, L.batch, L.c,
                               L.spatial, 0.1f, (float)eps);
    bn_ref(ref, mu, var, x, L.batch, L.c, L.spatial, eps);
    for (int ch = 0; ch < L.c; ch++) {
        double s1 = 0.0, s2 = 0.0;
        for (int b = 0; b < L.batch; b++)
            for (int s = 0; s < L.spatial; s++)
                s1 += out[at(b, ch, s, L.c, L.spatial)];
        for (int b = 0; b < L.batch; b++)
            for (int s = 0; s < L.spatial; s++) {
                double d = out[at(b, ch, s, L.c, L.spatial)] - s1 / m;
                s2 += d * d;
            }
        TU_ASSERT_NEAR(s1 / m, 0.0, 1e-6);
        TU_ASSERT_NEAR(s2 / m, var[ch] / (var[ch] + eps), 1e-5);
        TU_ASSERT_NEAR(mean[ch], mu[ch], 1e-6 * (1.0 + fabs(mu[ch])));
        TU_ASSERT_NEAR(invstd[ch], 1.0 / sqrt(var[ch] + eps), 1e-6 / sqrt(var[ch]));
    }
    ASSERT_SCALED(xhat, ref, n, 1e-6);
}

static void test_bn_train_normalises(void)
{
    check_normalises(LAYOUTS[0], 701);
    check_normalises(LAYOUTS[1], 702);
}

/* Random γ and β: out = γ x̂ + β with x̂ from bn_ref. */
static void check_gamma_beta(layout L, uint64_t seed)
{
    enum { MAXN = 8 * 3 * 6 };
    int n = L.batch * L.c * L.spatial;
    float x[MAXN], out[MAXN], xhat[MAXN], mean[MAXC], invstd[MAXC];
    float gamma[MAXC], beta[MAXC], rm[MAXC] = {0}, rv[MAXC] = {0};
    double ref[MAXN], mu[MAXC], var[MAXC];
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fill_channels(x, L.batch, L.c, L.spatial, &rng);
    tu_fill(gamma, L.c, 0.5f, 2.0f, &rng);
    tu_fill(beta, L.c, -1.0f, 1.0f, &rng);
    poison(out, n);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, L.batch, L.c,
                               L.spatial, 0.1f, 1e-5f);
    bn_ref(ref, mu, var, x, L.batch, L.c, L.spatial, 1e-5);
    for (int b = 0; b < L.batch; b++)
        for (int ch = 0; ch < L.c; ch++)
            for (int s = 0; s < L.spatial; s++) {
                size_t i = at(b, ch, s, L.c, L.spatial);
                ref[i] = gamma[ch] * ref[i] + beta[ch];
            }
    ASSERT_SCALED(out, ref, n, 1e-6);
}

static void test_bn_train_gamma_beta(void)
{
    check_gamma_beta(LAYOUTS[0], 703);
    check_gamma_beta(LAYOUTS[1], 704);
}

/* batch 2, c 2, spatial 2, ε = 0, momentum 0.1. Memory order n, ch, s:
 *   x = [1 2 | 0 0 || 3 6 | 4 4]
 * channel 0 holds {1, 2, 3, 6}: μ = 3, deviations −2 −1 0 3, Σ d² = 14,
 *   σ² = 14/4 = 3.5, unbiased 14/3; invstd = 1/√3.5 = 0.534522484;
 *   x̂ = d/√3.5 = [−1.069044968, −0.534522484, 0, 1.603567451].
 * channel 1 holds {0, 0, 4, 4}: μ = 2, Σ d² = 16, σ² = 4, unbiased 16/3;
 *   invstd = 0.5, x̂ = [−1, −1, 1, 1].
 * γ = [1, 3], β = [0, 0.5]: channel 1 out = 3 x̂ + 0.5 = [−2.5, −2.5, 3.5, 3.5].
 * running mean [0, 1] → 0.9 [0, 1] + 0.1 [3, 2] = [0.3, 1.1];
 * running var  [1, 2] → 0.9 [1, 2] + 0.1 [14/3, 16/3] = [1.366666667, 2.333333333]
 * (the biased σ² would give [1.25, 2.2]). */
static void test_bn_train_by_hand(void)
{
    const float x[8] = {1, 2, 0, 0, 3, 6, 4, 4}, gamma[2] = {1, 3}, beta[2] = {0, 0.5f};
    float rm[2] = {0, 1}, rv[2] = {1, 2};
    float out[8], xhat[8], mean[2], invstd[2];
    const float want_xhat[8] = {-1.069044968f, -0.534522484f, -1, -1,
                                0, 1.603567451f, 1, 1};
    const float want_out[8] = {-1.069044968f, -0.534522484f, -2.5f, -2.5f,
                               0, 1.603567451f, 3.5f, 3.5f};
    const float want_mean[2] = {3, 2}, want_invstd[2] = {0.534522484f, 0.5f};
    const float want_rm[2] = {0.3f, 1.1f}, want_rv[2] = {1.366666667f, 2.333333333f};
    poison(out, 8);
    poison(xhat, 8);
    poison(mean, 2);
    poison(invstd, 2);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, 2, 2, 2,
                               0.1f, 0.0f);
    TU_ASSERT_CLOSE(mean, want_mean, 2, 1e-6);
    TU_ASSERT_CLOSE(invstd, want_invstd, 2, 1e-6);
    TU_ASSERT_CLOSE(xhat, want_xhat, 8, 1e-6);
    TU_ASSERT_CLOSE(out, want_out, 8, 1e-6);
    TU_ASSERT_CLOSE(rm, want_rm, 2, 1e-6);
    TU_ASSERT_CLOSE(rv, want_rv, 2, 1e-6);
}

/* One value per channel (batch 1, spatial 1): σ² = 0, so x̂ = 0 and out = β;
 * invstd = 1/√ε. The running mean moves as usual, 0.9·0 + 0.1·x; the
 * running variance, which m/(m − 1) = 1/0 cannot estimate, stays. */
static void test_bn_train_single_value(void)
{
    const float x[2] = {5, -1}, gamma[2] = {2, 3}, beta[2] = {0.25f, -0.5f};
    float rm[2] = {0, 0}, rv[2] = {1, 2}, out[2], xhat[2], mean[2], invstd[2];
    const float want_rm[2] = {0.5f, -0.1f}, want_rv[2] = {1, 2}, zero[2] = {0, 0};
    const float want_invstd[2] = {316.227766f, 316.227766f};
    poison(out, 2);
    poison(xhat, 2);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, 1, 2, 1,
                               0.1f, 1e-5f);
    TU_ASSERT_CLOSE(out, beta, 2, 1e-7);
    TU_ASSERT_CLOSE(xhat, zero, 2, 1e-7);
    TU_ASSERT_CLOSE(invstd, want_invstd, 2, 1e-6);
    TU_ASSERT_CLOSE(rm, want_rm, 2, 1e-6);
    TU_ASSERT_CLOSE(rv, want_rv, 2, 1e-7);
}

/* ------------------------------------------------------------ eval forward */

/* batch 2, c 2, spatial 3, ε = 0. Running mean [1, −2], var [4, 0.25],
 * γ = [2, 1], β = [0.5, 0]:
 *   channel 0: 2 (x − 1)/2 + 0.5 = x − 0.5
 *   channel 1: (x + 2)/0.5       = 2x + 4
 * The batch is far from the running statistics (channel 0 has mean 8, not
 * 1), so normalising with the batch's own statistics fails by a wide
 * margin. Then ε = 0.1 on random inputs against the formula in double. */
static void test_bn_eval_running_stats(void)
{
    const float x[12] = {3, 5, 7, 0, 0.5f, -1, 9, 11, 13, 1, 2, -0.5f};
    const float want[12] = {2.5f, 4.5f, 6.5f, 4, 5, 2, 8.5f, 10.5f, 12.5f, 6, 8, 3};
    const float gamma[2] = {2, 1}, beta[2] = {0.5f, 0}, rm[2] = {1, -2}, rv[2] = {4, 0.25f};
    float out[12];
    poison(out, 12);
    nn_batchnorm_forward_eval(out, x, gamma, beta, rm, rv, 2, 2, 3, 0.0f);
    TU_ASSERT_CLOSE(out, want, 12, 1e-6);

    enum { B = 5, C = 4, S = 7, N = B * C * S };
    float xr[N], outr[N], g[C], b[C], m[C], v[C];
    double ref[N];
    nn_rng rng;
    nn_rng_seed(&rng, 705);
    fill_channels(xr, B, C, S, &rng);
    tu_fill(g, C, 0.5f, 2, &rng);
    tu_fill(b, C, -1, 1, &rng);
    tu_fill(m, C, -2, 2, &rng);
    tu_fill(v, C, 0.1f, 3, &rng);
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t i = at(n, ch, s, C, S);
                ref[i] = g[ch] * (xr[i] - m[ch]) / sqrt(v[ch] + (double)0.1f) + b[ch];
            }
    poison(outr, N);
    nn_batchnorm_forward_eval(outr, xr, g, b, m, v, B, C, S, 0.1f);
    ASSERT_SCALED(outr, ref, N, 1e-6);
}

/* ------------------------------------------------------------ backward */

typedef struct {
    float *x, *gamma, *beta;
    const float *r;
    double *xhat;
    layout L;
    double eps;
} bn_ctx;

/* L = Σ out · R with out = γ x̂ + β from bn_ref: ∂L/∂out = R, so backward
 * with dout = R must give this loss's gradients. */
static double bn_objective(void *p)
{
    const bn_ctx *k = p;
    double mu[MAXC], var[MAXC], sum = 0.0;
    layout L = k->L;
    bn_ref(k->xhat, mu, var, k->x, L.batch, L.c, L.spatial, k->eps);
    for (int n = 0; n < L.batch; n++)
        for (int ch = 0; ch < L.c; ch++)
            for (int s = 0; s < L.spatial; s++) {
                size_t i = at(n, ch, s, L.c, L.spatial);
                sum += k->r[i] * (k->gamma[ch] * k->xhat[i] + k->beta[ch]);
            }
    return sum;
}

/* g_i = (f(p + h e_i) − f(p − h e_i)) / (step actually taken) for the float
 * parameters p[n] that f reads; p is left as it was. */
static void numeric_grad(double *g, double (*f)(void *), void *ctx, float *p, int n, double h)
{
    for (int i = 0; i < n; i++) {
        float saved = p[i], up = (float)(saved + h), down = (float)(saved - h);
        p[i] = up;
        double f_up = f(ctx);
        p[i] = down;
        double f_down = f(ctx);
        p[i] = saved;
        g[i] = (f_up - f_down) / ((double)up - (double)down);
    }
}

/* Where the gradient buffers start: zero, or (prior = 1) random values
 * that backward must keep and add to. */
static void start_grad(float *d, int n, int prior, nn_rng *rng)
{
    if (prior)
        tu_fill(d, n, -1, 1, rng);
    else
        memset(d, 0, sizeof(float) * (size_t)n);
}

/* d − d0: what one backward call added. */
static void added(float *d, const float *d0, int n)
{
    for (int i = 0; i < n; i++)
        d[i] -= d0[i];
}

/* din, dγ, dβ from a real training forward, against finite differences;
 * with prior = 1 the buffers start nonzero and the increase is compared. */
static void check_backward_fd(layout L, uint64_t seed, int prior)
{
    enum { MAXN = 8 * 3 * 6 };
    int n = L.batch * L.c * L.spatial;
    float x[MAXN], r[MAXN], out[MAXN], xhat[MAXN], din[MAXN], din0[MAXN];
    float gamma[MAXC], beta[MAXC], mean[MAXC], invstd[MAXC], rm[MAXC] = {0}, rv[MAXC] = {0};
    float dgamma[MAXC], dbeta[MAXC], dgamma0[MAXC], dbeta0[MAXC];
    double g_x[MAXN], g_gamma[MAXC], g_beta[MAXC], scratch[MAXN];
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fill_channels(x, L.batch, L.c, L.spatial, &rng);
    tu_fill(r, n, -1, 1, &rng);
    tu_fill(gamma, L.c, 0.5f, 2, &rng);
    tu_fill(beta, L.c, -1, 1, &rng);
    start_grad(din0, n, prior, &rng);
    start_grad(dgamma0, L.c, prior, &rng);
    start_grad(dbeta0, L.c, prior, &rng);
    memcpy(din, din0, sizeof din);
    memcpy(dgamma, dgamma0, sizeof dgamma);
    memcpy(dbeta, dbeta0, sizeof dbeta);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, L.batch, L.c,
                               L.spatial, 0.1f, 1e-5f);
    nn_batchnorm_backward(din, dgamma, dbeta, r, xhat, gamma, invstd, L.batch, L.c, L.spatial);
    added(din, din0, n);
    added(dgamma, dgamma0, L.c);
    added(dbeta, dbeta0, L.c);

    bn_ctx k = {x, gamma, beta, r, scratch, L, (double)1e-5f};
    numeric_grad(g_x, bn_objective, &k, x, n, 1e-3);
    numeric_grad(g_gamma, bn_objective, &k, gamma, L.c, 1e-3);
    numeric_grad(g_beta, bn_objective, &k, beta, L.c, 1e-3);
    ASSERT_SCALED(din, g_x, n, 1e-4);
    ASSERT_SCALED(dgamma, g_gamma, L.c, 1e-4);
    ASSERT_SCALED(dbeta, g_beta, L.c, 1e-4);
}

static void test_bn_backward_fd(void)
{
    check_backward_fd(LAYOUTS[0], 706, 0);
    check_backward_fd(LAYOUTS[1], 707, 0);
}

static void test_bn_backward_accumulates(void)
{
    check_backward_fd(LAYOUTS[0], 708, 1);
    check_backward_fd(LAYOUTS[1], 709, 1);
}

/* ------------------------------------------------------------ training size */

/* The shape of a conv feature map in training, [128, 16, 10·10]: m = 12 800
 * values per channel, half the channels centred at 1000 with σ ≈ 1. A mean
 * summed in float drifts by ~1e-3 there (float's spacing at the 1.3e7 the
 * sum reaches is 1), so x̂ is off by ~1e-3; the double sums keep it within
 * float precision of x − μ (~6e-5 at 1000, relative to the largest |x̂| of
 * about 4: 2e-5). Forward against bn_ref, backward against the header's
 * formula recomputed in double from the same x̂ and invstd. */
static void test_bn_training_size(void)
{
    enum { B = 128, C = 16, S = 100, N = B * C * S };
    float *x = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
    float *xhat = malloc(sizeof(float) * N), *dy = malloc(sizeof(float) * N);
    float *din = calloc(N, sizeof(float));
    double *ref = malloc(sizeof(double) * N), *ref_din = malloc(sizeof(double) * N);
    float gamma[C], beta[C], mean[C], invstd[C], rm[C] = {0}, rv[C] = {0};
    float dg[C] = {0}, db[C] = {0};
    double mu[C], var[C], ref_dg[C], ref_db[C], m = (double)B * S;
    nn_rng rng;
    nn_rng_seed(&rng, 710);
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++)
                x[at(n, ch, s, C, S)] = (ch % 2 ? 1000.0f : 0.0f) + nn_rng_normal(&rng);
    tu_fill(dy, N, -1, 1, &rng);
    tu_fill(gamma, C, 0.5f, 2, &rng);
    tu_fill(beta, C, -1, 1, &rng);
    poison(out, N);
    poison(xhat, N);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, B, C, S, 0.1f,
                               1e-5f);
    bn_ref(ref, mu, var, x, B, C, S, (double)1e-5f);
    ASSERT_SCALED(xhat, ref, N, 1e-4);

    nn_batchnorm_backward(din, dg, db, dy, xhat, gamma, invstd, B, C, S);
    for (int ch = 0; ch < C; ch++) {
        double sg = 0.0, sgx = 0.0;
        for (int n = 0; n < B; n++)
            for (int s = 0; s < S; s++) {
                size_t i = at(n, ch, s, C, S);
                sg += dy[i];
                sgx += (double)dy[i] * xhat[i];
            }
        ref_db[ch] = sg;
        ref_dg[ch] = sgx;
        for (int n = 0; n < B; n++)
            for (int s = 0; s < S; s++) {
                size_t i = at(n, ch, s, C, S);
                ref_din[i] = (double)gamma[ch] * invstd[ch] / m * (m * dy[i] - sg - xhat[i] * sgx);
            }
    }
    ASSERT_SCALED(din, ref_din, N, 1e-4);
    ASSERT_SCALED(dg, ref_dg, C, 1e-5);
    ASSERT_SCALED(db, ref_db, C, 1e-5);
    free(x);
    free(out);
    free(xhat);
    free(dy);
    free(din);
    free(ref);
    free(ref_din);
}

void suite_batchnorm(void)
{
    CU_pSuite s = CU_add_suite("batchnorm", NULL, NULL);
    CU_add_test(s, "train forward normalises, both layouts", test_bn_train_normalises);
    CU_add_test(s, "train forward applies gamma, beta", test_bn_train_gamma_beta);
    CU_add_test(s, "train forward and running stats by hand", test_bn_train_by_hand);
    CU_add_test(s, "train forward, one value per channel", test_bn_train_single_value);
    CU_add_test(s, "eval forward uses running stats", test_bn_eval_running_stats);
    CU_add_test(s, "backward vs finite differences, both layouts", test_bn_backward_fd);
    CU_add_test(s, "backward accumulates", test_bn_backward_accumulates);
    CU_add_test(s, "forward, backward at [128, 16, 100]", test_bn_training_size);
}
