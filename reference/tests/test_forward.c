/*
 * Tests of lab 3 (forward.c): matrix products, dense layers, the MLP
 * forward pass, weight initialisation, losses and accuracy. Expected values
 * are worked by hand in the comments or recomputed in double here.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>
#include "nnlab/forward.h"
#include "testutil.h"

static void fill_nan(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = NAN;
}

/*
 * A float sum of k terms t_p is off by at most about k·6e-8 · Σ|t_p|, however
 * much the terms cancel: an entry of a product near 0 can carry a large
 * relative error and still be right. So sums are checked against that scale,
 *   |got_i − want_i| <= tol · scale_i,   scale_i = Σ_p |t_p|,
 * with tol = 1e-5, ample for the k <= 33 here. NaN never passes.
 */
static void assert_close_to_scale(const float *got, const double *want,
                                  const double *scale, int n, const char *what,
                                  unsigned line)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(scale[i], 1e-30);
        if (!(e <= worst)) /* also catches NaN */
            worst = isnan(e) ? INFINITY : e;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "%s: max |got - want| / scale = %.3g > tol 1e-5", what, worst);
    CU_assertImplementation(worst <= 1e-5, line, msg, __FILE__, "", CU_FALSE);
}

/* C = A B in double, one dot product per entry (the j-outer order), and
 * the scale Σ_p |A[i, p] B[p, j]| of each entry. */
static void ref_matmul(double *c, double *scale, const float *a, const float *b,
                       int m, int k, int n)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0.0, abs_sum = 0.0;
            for (int p = 0; p < k; p++) {
                double t = (double)a[i * k + p] * b[p * n + j];
                s += t;
                abs_sum += fabs(t);
            }
            c[i * n + j] = s;
            scale[i * n + j] = abs_sum;
        }
}

static void test_matmul_by_hand(void)
{
    /* [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50] */
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, want[4] = {19, 22, 43, 50};
    float c[4];
    fill_nan(c, 4);
    nn_matmul_naive(c, a, b, 2, 2, 2);
    TU_ASSERT_CLOSE(c, want, 4, 1e-7);
    fill_nan(c, 4);
    nn_matmul_blas(c, a, b, 2, 2, 2);
    TU_ASSERT_CLOSE(c, want, 4, 1e-7);
}

static void test_matmul_odd_sizes(void)
{
    /* Sizes that fit no SIMD width or block, including k = 1 and m = 1.
     * C starts as NaN, so a product that adds to C instead of overwriting
     * it fails. */
    const int shapes[][3] = {{7, 13, 5}, {1, 9, 4}, {6, 1, 3}, {3, 4, 1}, {17, 33, 19}};
    static float a[17 * 33], b[33 * 19], c_naive[17 * 19], c_blas[17 * 19];
    static double want[17 * 19], scale[17 * 19];
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        tu_fill(a, m * k, -1.0f, 1.0f, &rng);
        tu_fill(b, k * n, -1.0f, 1.0f, &rng);
        fill_nan(c_naive, m * n);
        fill_nan(c_blas, m * n);
        ref_matmul(want, scale, a, b, m, k, n);
        nn_matmul_naive(c_naive, a, b, m, k, n);
        nn_matmul_blas(c_blas, a, b, m, k, n);
        assert_close_to_scale(c_naive, want, scale, m * n, "nn_matmul_naive", __LINE__);
        assert_close_to_scale(c_blas, want, scale, m * n, "nn_matmul_blas", __LINE__);
    }
}

static void test_dense_by_hand(void)
{
    /* in = (1, 2); W rows (1, 0), (0, 1), (1, 1); b = (0.5, −1, 0):
     * out = (1 + 0.5, 2 − 1, 3 + 0) = (1.5, 1, 3). */
    const float in[2] = {1, 2}, w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0.5f, -1, 0};
    const float want[3] = {1.5f, 1, 3};
    float out[3];
    fill_nan(out, 3);
    nn_dense_forward(out, in, w, b, 1, 2, 3);
    TU_ASSERT_CLOSE(out, want, 3, 1e-7);
}

static void test_dense_vs_double(void)
{
    /* out[r, j] = Σ_i in[r, i] W[j, i] + b[j], each sum in double. */
    enum { B = 5, NI = 7, NO = 3 };
    float in[B * NI], w[NO * NI], b[NO], out[B * NO];
    double want[B * NO], scale[B * NO];
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    tu_fill(in, B * NI, -2.0f, 2.0f, &rng);
    tu_fill(w, NO * NI, -1.0f, 1.0f, &rng);
    tu_fill(b, NO, -1.0f, 1.0f, &rng);
    for (int r = 0; r < B; r++)
        for (int j = 0; j < NO; j++) {
            double s = b[j], abs_sum = fabs(b[j]);
            for (int i = 0; i < NI; i++) {
                double t = (double)in[r * NI + i] * w[j * NI + i];
                s += t;
                abs_sum += fabs(t);
            }
            want[r * NO + j] = s;
            scale[r * NO + j] = abs_sum;
        }
    fill_nan(out, B * NO);
    nn_dense_forward(out, in, w, b, B, NI, NO);
    assert_close_to_scale(out, want, scale, B * NO, "nn_dense_forward", __LINE__);
}

static void test_mlp_by_hand(void)
{
    /* A 2-3-2 ReLU net on two rows.
     * Layer 0: W0 rows (1, 2), (−1, 1), (2, −0.5); b0 = (0.5, 1, −1).
     *   x = (1, −1):  z0 = (1 − 2 + 0.5, −1 − 1 + 1, 2 + 0.5 − 1) = (−0.5, −1, 1.5)
     *   x = (0.5, 2): z0 = (0.5 + 4 + 0.5, −0.5 + 2 + 1, 1 − 1 − 1) = (5, 2.5, −1)
     *   a1 = relu(z0) = (0, 0, 1.5) and (5, 2.5, 0).
     * Layer 1: W1 rows (1, −1, 2), (0.5, 0.25, −1); b1 = (0.1, −0.2).
     *   z1 = (3 + 0.1, −1.5 − 0.2) = (3.1, −1.7)
     *   z1 = (5 − 2.5 + 0.1, 2.5 + 0.625 − 0.2) = (2.6, 2.925)
     *   a2 = z1 (the logits stay linear). */
    const int sizes[3] = {2, 3, 2};
    float w0[6] = {1, 2, -1, 1, 2, -0.5f}, b0[3] = {0.5f, 1, -1};
    float w1[6] = {1, -1, 2, 0.5f, 0.25f, -1}, b1[2] = {0.1f, -0.2f};
    float *w[2] = {w0, w1}, *b[2] = {b0, b1};
    nn_mlp net = {2, sizes, w, b, NN_ACT_RELU};
    float x[4] = {1, -1, 0.5f, 2}, z0[6], a1[6], z1[4], a2[4];
    const float x_copy[4] = {1, -1, 0.5f, 2};
    const float want_z0[6] = {-0.5f, -1, 1.5f, 5, 2.5f, -1};
    const float want_a1[6] = {0, 0, 1.5f, 5, 2.5f, 0};
    const float want_z1[4] = {3.1f, -1.7f, 2.6f, 2.925f};
    float *z[2] = {z0, z1}, *a[3] = {x, a1, a2};
    fill_nan(z0, 6);
    fill_nan(a1, 6);
    fill_nan(z1, 4);
    fill_nan(a2, 4);
    nn_mlp_forward(z, a, &net, 2);
    TU_ASSERT_CLOSE(z0, want_z0, 6, 1e-6);
    TU_ASSERT_CLOSE(a1, want_a1, 6, 1e-6);
    TU_ASSERT_CLOSE(z1, want_z1, 4, 1e-6);
    TU_ASSERT_CLOSE(a2, want_z1, 4, 1e-6);
    CU_ASSERT(memcmp(x, x_copy, sizeof x) == 0); /* the input is read only */
}

static void test_mlp_deep_vs_double(void)
{
    /* 5-8-6-4 tanh net on 3 rows against a double forward pass:
     * tanh on both hidden layers, none on the output. */
    enum { B = 3, L = 3 };
    const int sizes[L + 1] = {5, 8, 6, 4};
    static float wbuf[8 * 5 + 6 * 8 + 4 * 6], bbuf[8 + 6 + 4];
    static float x[B * 5], zb[B * (8 + 6 + 4)], ab[B * (8 + 6 + 4)];
    float *w[L], *b[L], *z[L], *a[L + 1] = {x};
    nn_rng rng;
    nn_rng_seed(&rng, 6);
    tu_fill(wbuf, (int)(sizeof wbuf / sizeof *wbuf), -0.8f, 0.8f, &rng);
    tu_fill(bbuf, (int)(sizeof bbuf / sizeof *bbuf), -0.5f, 0.5f, &rng);
    tu_fill(x, B * 5, -1.0f, 1.0f, &rng);
    fill_nan(zb, B * 18);
    fill_nan(ab, B * 18);
    for (int l = 0, wo = 0, bo = 0; l < L; l++) {
        w[l] = wbuf + wo;
        b[l] = bbuf + bo;
        z[l] = zb + B * bo;
        a[l + 1] = ab + B * bo;
        wo += sizes[l + 1] * sizes[l];
        bo += sizes[l + 1];
    }
    nn_mlp net = {L, sizes, w, b, NN_ACT_TANH};
    nn_mlp_forward(z, a, &net, B);

    double h[B][8] = {{0}}, next[B][8] = {{0}};
    for (int r = 0; r < B; r++)
        for (int i = 0; i < 5; i++)
            h[r][i] = x[r * 5 + i];
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < B; r++)
            for (int j = 0; j < sizes[l + 1]; j++) {
                double s = b[l][j];
                for (int i = 0; i < sizes[l]; i++)
                    s += w[l][j * sizes[l] + i] * h[r][i];
                next[r][j] = l < L - 1 ? tanh(s) : s;
            }
        memcpy(h, next, sizeof h);
    }
    /* The logits are O(1) and tanh is 1-Lipschitz, so float rounding moves
     * them by far less than the absolute tolerance 1e-5. */
    double want[B * 4], unit[B * 4];
    for (int r = 0; r < B; r++)
        for (int j = 0; j < 4; j++) {
            want[r * 4 + j] = h[r][j];
            unit[r * 4 + j] = 1.0;
        }
    assert_close_to_scale(a[L], want, unit, B * 4, "logits a[L]", __LINE__);
    assert_close_to_scale(z[L - 1], want, unit, B * 4, "z[L-1]", __LINE__);
}

/* Mean and variance of w[n], in double. */
static void moments(const float *w, int n, double *mean, double *var)
{
    double s = 0.0, s2 = 0.0;
    for (int i = 0; i < n; i++)
        s += w[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        s2 += (w[i] - *mean) * (w[i] - *mean);
    *var = s2 / (n - 1);
}

enum { N_INIT = 100000 };
static float init_a[N_INIT], init_b[N_INIT];

/* Fraction of w[n] with |w| > t. */
static double tail_fraction(const float *w, int n, double t)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += fabs(w[i]) > t;
    return (double)count / n;
}

static void test_init_uniform(void)
{
    /* U(−L, L) has mean 0 and variance L²/3. Over 10⁵ draws the sample
     * mean has standard deviation L/√(3·10⁵) ≈ 0.0018 L and the sample
     * variance a relative one of ≈ 0.003; the bounds are 5σ and 2 %. */
    const float limit = 0.5f;
    double mean, var;
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    nn_init_uniform(init_a, N_INIT, limit, &rng);
    moments(init_a, N_INIT, &mean, &var);
    CU_ASSERT(fabs(mean) < 0.01 * limit);
    CU_ASSERT(fabs(var / (limit * limit / 3.0) - 1.0) < 0.02);
    CU_ASSERT(tail_fraction(init_a, N_INIT, limit) == 0.0);     /* all inside */
    CU_ASSERT(fabs(tail_fraction(init_a, N_INIT, 0.5 * limit) - 0.5) < 0.01);
}

static void test_init_xavier(void)
{
    /* fan_in = 400, fan_out = 250: Var w = 2/650, |w| <= √(6/650). Bounds
     * as for the uniform: mean within 6σ, variance within 2 %. */
    const int fan_in = 400, fan_out = 250;
    double mean, var, target = 2.0 / (fan_in + fan_out);
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    nn_init_xavier(init_a, fan_in, fan_out, &rng);
    moments(init_a, N_INIT, &mean, &var);
    CU_ASSERT(fabs(mean) < 0.02 * sqrt(target));
    CU_ASSERT(fabs(var / target - 1.0) < 0.02);
    CU_ASSERT(tail_fraction(init_a, N_INIT, sqrt(6.0 / (fan_in + fan_out)) * 1.000001) == 0.0);
}

static void test_init_he(void)
{
    /* fan_in = 500, fan_out = 200: w ~ N(0, 2/500). The sample variance of
     * 10⁵ normal draws has a relative standard deviation √(2/10⁵) ≈ 0.0045;
     * the bound is 3 %, and 6σ on the mean. A normal puts 4.55 % of its mass beyond 2σ, where
     * a uniform of the same variance (|w| <= 1.73σ) puts none. */
    const int fan_in = 500, fan_out = 200;
    double mean, var, target = 2.0 / fan_in;
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    nn_init_he(init_a, fan_in, fan_out, &rng);
    moments(init_a, N_INIT, &mean, &var);
    CU_ASSERT(fabs(mean) < 0.02 * sqrt(target));
    CU_ASSERT(fabs(var / target - 1.0) < 0.03);
    CU_ASSERT(fabs(tail_fraction(init_a, N_INIT, 2.0 * sqrt(target)) - 0.0455) < 0.003);
}

static void test_init_reproducible(void)
{
    /* Same seed, same weights; another seed, other weights. The draws go in
     * array order, so a shorter array gets a prefix of a longer one. */
    nn_rng r1, r2;
    nn_rng_seed(&r1, 7);
    nn_rng_seed(&r2, 7);
    nn_init_he(init_a, 100, 10, &r1);
    nn_init_he(init_b, 100, 10, &r2);
    CU_ASSERT(memcmp(init_a, init_b, 1000 * sizeof(float)) == 0);
    nn_rng_seed(&r2, 7);
    nn_init_he(init_b, 100, 3, &r2);
    CU_ASSERT(memcmp(init_a, init_b, 300 * sizeof(float)) == 0);
    nn_rng_seed(&r1, 7);
    nn_rng_seed(&r2, 8);
    nn_init_xavier(init_a, 10, 10, &r1);
    nn_init_xavier(init_b, 10, 10, &r2);
    CU_ASSERT(memcmp(init_a, init_b, 100 * sizeof(float)) != 0);
    nn_rng_seed(&r1, 7);
    nn_init_uniform(init_b, 40, 1.0f, &r1);
    nn_rng_seed(&r1, 7);
    nn_init_uniform(init_a, 100, 1.0f, &r1);
    CU_ASSERT(memcmp(init_a, init_b, 40 * sizeof(float)) == 0);
}

static void test_mse(void)
{
    /* Differences (0, 2, −2, 0): (0 + 4 + 4 + 0) / 4 = 2. */
    const float pred[4] = {1, 2, 3, 4}, target[4] = {1, 0, 5, 4};
    TU_ASSERT_NEAR(nn_mse_loss(pred, target, 2, 2), 2.0, 1e-6);
    TU_ASSERT_NEAR(nn_mse_loss(pred, pred, 2, 2), 0.0, 0.0);
}

static void test_bce(void)
{
    /* −(log 0.9 + log 0.8)/2 = (0.1053605 + 0.2231436)/2 */
    const float p[2] = {0.9f, 0.2f}, y[2] = {1, 0};
    TU_ASSERT_NEAR(nn_bce_loss(p, y, 2), 0.5 * (-log(0.9) - log(0.8)), 1e-6);
    /* Soft target y = 0.3, p = 0.6: −(0.3 log 0.6 + 0.7 log 0.4) ≈ 0.7946512 */
    const float ps[1] = {0.6f}, ys[1] = {0.3f};
    TU_ASSERT_NEAR(nn_bce_loss(ps, ys, 1), -(0.3 * log(0.6) + 0.7 * log(0.4)), 1e-6);
}

static void test_bce_clamped(void)
{
    /* Wrong and certain: log 0 clamps to −100, loss 100. Right and certain:
     * 0 (the clamped −100 is multiplied by a zero weight, never NaN). */
    const float p[4] = {0, 1, 0, 1}, y[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        float loss = nn_bce_loss(p + i, y + i, 1);
        CU_ASSERT(isfinite(loss));
        TU_ASSERT_NEAR(loss, i < 2 ? 100.0 : 0.0, 1e-4);
    }
    TU_ASSERT_NEAR(nn_bce_loss(p, y, 4), 50.0, 1e-4);
}

static void test_cross_entropy(void)
{
    /* Row (0, 0, 0), any label: log 3 = 1.0986123.
     * Row (1, 2, 3), label 2: log(e + e² + e³) − 3 = log(1 + e⁻¹ + e⁻²) = 0.4076059.
     * Mean: 0.7531091. */
    const float logits[6] = {0, 0, 0, 1, 2, 3};
    const int labels[2] = {1, 2};
    double want = 0.5 * (log(3.0) + log(1.0 + exp(-1.0) + exp(-2.0)));
    TU_ASSERT_NEAR(nn_cross_entropy_loss(logits, labels, 2, 3), want, 1e-6);
    TU_ASSERT_NEAR(want, 0.7531091, 1e-7);
}

static void test_cross_entropy_vs_double(void)
{
    /* −log softmax(x)_y by its definition, in double. */
    enum { B = 6, C = 10 };
    float logits[B * C];
    int labels[B];
    nn_rng rng;
    nn_rng_seed(&rng, 12);
    tu_fill(logits, B * C, -4.0f, 4.0f, &rng);
    double want = 0.0;
    for (int r = 0; r < B; r++) {
        labels[r] = (int)nn_rng_below(&rng, C);
        double sum = 0.0;
        for (int j = 0; j < C; j++)
            sum += exp(logits[r * C + j]);
        want -= log(exp(logits[r * C + labels[r]]) / sum) / B;
    }
    TU_ASSERT_NEAR(nn_cross_entropy_loss(logits, labels, B, C), want, 1e-5);
}

static void test_cross_entropy_large_logits(void)
{
    /* Logits (10⁴, 0, −10⁴): label 0 costs log(1 + e⁻¹⁰⁰⁰⁰ + …) = 0,
     * label 1 costs 10⁴, label 2 costs 2·10⁴. Row (10⁴, 10⁴): log 2. */
    const float x[3] = {1e4f, 0.0f, -1e4f}, tie[2] = {1e4f, 1e4f};
    const int l0[1] = {0}, l1[1] = {1}, l2[1] = {2};
    TU_ASSERT_NEAR(nn_cross_entropy_loss(x, l0, 1, 3), 0.0, 1e-6);
    TU_ASSERT_NEAR(nn_cross_entropy_loss(x, l1, 1, 3), 1e4, 1e-3);
    TU_ASSERT_NEAR(nn_cross_entropy_loss(x, l2, 1, 3), 2e4, 1e-3);
    TU_ASSERT_NEAR(nn_cross_entropy_loss(tie, l1, 1, 2), log(2.0), 1e-6);
}

static void test_argmax(void)
{
    const float a[4] = {1, 3, 3, 2}, b[3] = {-5, -2, -9}, c[1] = {7}, d[3] = {0, 0, 5};
    const float e[3] = {4, 4, 4};
    CU_ASSERT_EQUAL(nn_argmax(a, 4), 1); /* first of the tied 3s */
    CU_ASSERT_EQUAL(nn_argmax(b, 3), 1);
    CU_ASSERT_EQUAL(nn_argmax(c, 1), 0);
    CU_ASSERT_EQUAL(nn_argmax(d, 3), 2);
    CU_ASSERT_EQUAL(nn_argmax(e, 3), 0);
}

static void test_accuracy(void)
{
    /* Row argmaxes 2, 0, 1 (first of a tie), 1; labels 2, 0, 2, 1: 3 of 4. */
    const float scores[12] = {0.1f, 0.2f, 0.7f, 5, -1, 2, 0, 3, 3, -2, 1, 0};
    const int labels[4] = {2, 0, 2, 1};
    TU_ASSERT_NEAR(nn_accuracy(scores, labels, 4, 3), 0.75, 1e-7);
    const int all_right[4] = {2, 0, 1, 1};
    TU_ASSERT_NEAR(nn_accuracy(scores, all_right, 4, 3), 1.0, 0.0);
}

void suite_forward(void)
{
    CU_pSuite s = CU_add_suite("forward", NULL, NULL);
    CU_add_test(s, "matmul by hand", test_matmul_by_hand);
    CU_add_test(s, "matmul naive and blas, odd sizes", test_matmul_odd_sizes);
    CU_add_test(s, "dense forward by hand", test_dense_by_hand);
    CU_add_test(s, "dense forward vs double", test_dense_vs_double);
    CU_add_test(s, "mlp forward by hand", test_mlp_by_hand);
    CU_add_test(s, "mlp forward, 3 layers, vs double", test_mlp_deep_vs_double);
    CU_add_test(s, "init uniform statistics", test_init_uniform);
    CU_add_test(s, "init xavier statistics", test_init_xavier);
    CU_add_test(s, "init he statistics", test_init_he);
    CU_add_test(s, "init reproducible, array order", test_init_reproducible);
    CU_add_test(s, "mse by hand", test_mse);
    CU_add_test(s, "bce by hand", test_bce);
    CU_add_test(s, "bce at p = 0 and 1", test_bce_clamped);
    CU_add_test(s, "cross-entropy by hand", test_cross_entropy);
    CU_add_test(s, "cross-entropy vs double", test_cross_entropy_vs_double);
    CU_add_test(s, "cross-entropy at 1e4 logits", test_cross_entropy_large_logits);
    CU_add_test(s, "argmax, first on ties", test_argmax);
    CU_add_test(s, "accuracy", test_accuracy);
}
