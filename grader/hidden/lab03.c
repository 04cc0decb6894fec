/*
 * Lab 3 (forward.c) — hidden tests: the same contract on shapes and sizes
 * the public tests leave out. Expected values are worked by hand or
 * recomputed in double by the formulas written out here. Tolerances as in
 * the public tests: sums of k products within max(1e-5, 1.2e-7·k) times
 * the sum of their absolute values; losses within 1e-5·|want| + 1e-6.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grader.h"
#include "nnlab/forward.h"
#include "nnlab/rng.h"

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

static void expect_loss(double got, double want, const char *what, int line)
{
    gr_assert_near(got, want, 1e-5 * fabs(want) + 1e-6, what, __FILE__, line);
}

static double sum_tol(int k) { return fmax(1e-5, 1.2e-7 * k); }

static void fill_uniform(float *x, size_t n, float lo, float hi, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* Assert got[rows, cols] matches want within tol·scale (NaN fails). */
static void expect_sums(const float *got, const double *want, const double *scale, int rows,
                        int cols, double tol, const char *what, int line)
{
    int n = rows * cols, worst = 0;
    double r = -1.0;
    for (int i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(scale[i], 1e-30);
        if (!(e <= r)) {
            worst = i;
            r = isfinite(e) ? e : INFINITY;
        }
    }
    check(r <= tol, line, "%s[%d, %d]: expected %.7g, got %.7g (|diff| = %.2g x the size of the "
          "terms summed, tol %.2g)", what, worst / cols, worst % cols, want[worst],
          (double)got[worst], r, tol);
}

/* ------------------------------------------------------------ products */

static void test_matmul_shapes(void)
{
    /* A row times a column (m = n = 1, a dot product of 300), a column
     * times a row (k = 1, an outer product), and shapes of real layers;
     * both functions, against double. */
    const int shapes[][3] = {{1, 300, 1}, {200, 1, 3}, {64, 300, 70}, {5, 784, 10}, {2, 2, 50}};
    nn_rng rng;
    nn_rng_seed(&rng, 301);
    for (int s = 0; s < 5; s++) {
        int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)k * n * sizeof *b);
        float *c = malloc(((size_t)m * n + 1) * sizeof *c);
        double *want = malloc((size_t)m * n * sizeof *want), *scale = malloc((size_t)m * n * sizeof *scale);
        if (!a || !b || !c || !want || !scale) {
            check(0, __LINE__, "out of memory in the test (not your code's fault)");
            free(a), free(b), free(c), free(want), free(scale);
            return;
        }
        fill_uniform(a, (size_t)m * k, -1.0f, 1.0f, &rng);
        fill_uniform(b, (size_t)k * n, -1.0f, 1.0f, &rng);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 0, abs_sum = 0;
                for (int p = 0; p < k; p++) {
                    double t = (double)a[i * k + p] * b[p * n + j];
                    sum += t;
                    abs_sum += fabs(t);
                }
                want[i * n + j] = sum;
                scale[i * n + j] = abs_sum;
            }
        for (int f = 0; f < 2; f++) {
            gr_poison(c, m * n);
            c[m * n] = 777.0f;
            (f ? nn_matmul_blas : nn_matmul_naive)(c, a, b, m, k, n);
            char what[80];
            snprintf(what, sizeof what, "%s, m = %d, k = %d, n = %d: C",
                     f ? "nn_matmul_blas" : "nn_matmul_naive", m, k, n);
            expect_sums(c, want, scale, m, n, sum_tol(k), what, __LINE__);
            check(c[m * n] == 777.0f, __LINE__, "%s wrote past the end of C", what);
        }
        free(a), free(b), free(c), free(want), free(scale);
    }
}

/* ------------------------------------------------------------ dense layer */

static void test_dense_mnist(void)
{
    /* A first layer of a Fashion-MNIST network (784 -> 256) on 3 rows, and
     * 784 -> 10 and 256 -> 1 on one row, against double. */
    const int shapes[][3] = {{3, 784, 256}, {1, 784, 10}, {1, 256, 1}};
    nn_rng rng;
    nn_rng_seed(&rng, 302);
    for (int s = 0; s < 3; s++) {
        int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
        size_t no = (size_t)batch * n_out;
        float *in = malloc((size_t)batch * n_in * sizeof *in);
        float *w = malloc((size_t)n_out * n_in * sizeof *w), *b = malloc((size_t)n_out * sizeof *b);
        float *out = malloc((no + 1) * sizeof *out);
        double *want = malloc(no * sizeof *want), *scale = malloc(no * sizeof *scale);
        if (!in || !w || !b || !out || !want || !scale) {
            check(0, __LINE__, "out of memory in the test (not your code's fault)");
            free(in), free(w), free(b), free(out), free(want), free(scale);
            return;
        }
        fill_uniform(in, (size_t)batch * n_in, 0.0f, 1.0f, &rng); /* pixels in [0, 1] */
        fill_uniform(w, (size_t)n_out * n_in, -0.1f, 0.1f, &rng);
        fill_uniform(b, (size_t)n_out, -1.0f, 1.0f, &rng);
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < n_out; j++) {
                double sum = b[j], abs_sum = fabs(b[j]);
                for (int i = 0; i < n_in; i++) {
                    double t = (double)in[r * n_in + i] * w[j * n_in + i];
                    sum += t;
                    abs_sum += fabs(t);
                }
                want[r * n_out + j] = sum;
                scale[r * n_out + j] = abs_sum;
            }
        gr_poison(out, (int)no);
        out[no] = 777.0f;
        nn_dense_forward(out, in, w, b, batch, n_in, n_out);
        char what[80];
        snprintf(what, sizeof what, "nn_dense_forward(batch %d, %d -> %d): out", batch, n_in, n_out);
        expect_sums(out, want, scale, batch, n_out, sum_tol(n_in + 1), what, __LINE__);
        check(out[no] == 777.0f, __LINE__, "%s: wrote past the end", what);
        free(in), free(w), free(b), free(out), free(want), free(scale);
    }
}

/* ------------------------------------------------------------ MLP */

static void test_mlp_shapes(void)
{
    /* (a) One layer: no hidden layer, so no activation at all: the logits
     *     z[0] = x W0ᵀ + b0, copied to a[1]. By hand, sizes 2-2, tanh:
     *     W0 = [2 0; 0 −3], b0 = (1, 1), x = (1, 1): z = (3, −2) (tanh would
     *     give 0.995, −0.964).
     * (b) Four layers 6-5-5-5-3 with sigmoid, 3 rows, against double. */
    const int s1[2] = {2, 2};
    float w0[4] = {2, 0, 0, -3}, b0[2] = {1, 1}, x[2] = {1, 1}, z0[2], a1[2];
    float *w1p[1] = {w0}, *b1p[1] = {b0}, *zp[1] = {z0}, *ap[2] = {x, a1};
    nn_mlp one = {1, s1, w1p, b1p, NN_ACT_TANH};
    gr_poison(z0, 2);
    gr_poison(a1, 2);
    nn_mlp_forward(zp, ap, &one, 1);
    gr_assert_near(z0[0], 3, 1e-6, "one layer: z[0][0]", __FILE__, __LINE__);
    gr_assert_near(z0[1], -2, 1e-6, "one layer: z[0][1]", __FILE__, __LINE__);
    gr_assert_near(a1[0], 3, 1e-6, "one layer: a[1][0] (logits: no activation)", __FILE__, __LINE__);
    gr_assert_near(a1[1], -2, 1e-6, "one layer: a[1][1] (logits: no activation)", __FILE__, __LINE__);

    enum { L = 4, B = 3 };
    const int sz[L + 1] = {6, 5, 5, 5, 3};
    float w[L][30], b[L][5], z[L][B * 5], a[L + 1][B * 6];
    float *wp[L], *bp[L], *zq[L], *aq[L + 1];
    nn_rng rng;
    nn_rng_seed(&rng, 303);
    fill_uniform(a[0], B * 6, -2.0f, 2.0f, &rng);
    aq[0] = a[0];
    for (int l = 0; l < L; l++) {
        fill_uniform(w[l], (size_t)sz[l] * sz[l + 1], -1.0f, 1.0f, &rng);
        fill_uniform(b[l], (size_t)sz[l + 1], -1.0f, 1.0f, &rng);
        gr_poison(z[l], B * sz[l + 1]);
        gr_poison(a[l + 1], B * sz[l + 1]);
        wp[l] = w[l], bp[l] = b[l], zq[l] = z[l], aq[l + 1] = a[l + 1];
    }
    nn_mlp net = {L, sz, wp, bp, NN_ACT_SIGMOID};
    nn_mlp_forward(zq, aq, &net, B);
    /* The whole pass in double from the input. */
    double h[B][6], hn[B][6];
    for (int r = 0; r < B; r++)
        for (int i = 0; i < 6; i++)
            h[r][i] = a[0][r * 6 + i];
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < B; r++)
            for (int j = 0; j < sz[l + 1]; j++) {
                double s = b[l][j];
                for (int i = 0; i < sz[l]; i++)
                    s += h[r][i] * w[l][j * sz[l] + i];
                hn[r][j] = l < L - 1 ? 1.0 / (1.0 + exp(-s)) : s;
            }
        memcpy(h, hn, sizeof h);
    }
    for (int r = 0; r < B; r++)
        for (int j = 0; j < 3; j++) {
            char what[64];
            snprintf(what, sizeof what, "6-5-5-5-3 sigmoid network: logits a[4][%d, %d]", r, j);
            gr_assert_near(a[L][r * 3 + j], h[r][j], 1e-5 * fabs(h[r][j]) + 1e-5, what, __FILE__,
                           __LINE__);
        }
}

/* ------------------------------------------------------------ losses */

static void test_mse_million(void)
{
    /* 10⁶ values: pred uniform in [0, 1), target 0. A float running sum
     * of 10⁶ terms near ⅓ drifts by a few 10⁻⁴ relative (each addition to a
     * sum near 3·10⁵ rounds to a multiple of 2⁻⁵); the mean must be good to
     * 1e-5. Sum in double (or pairwise). */
    enum { N = 1000000 };
    float *p = malloc(N * sizeof *p), *t = calloc(N, sizeof *t);
    if (!p || !t) {
        check(0, __LINE__, "out of memory in the test (not your code's fault)");
        free(p), free(t);
        return;
    }
    nn_rng rng;
    nn_rng_seed(&rng, 304);
    fill_uniform(p, N, 0.0f, 1.0f, &rng);
    double want = 0;
    for (int i = 0; i < N; i++)
        want += (double)p[i] * p[i];
    float got = nn_mse_loss(p, t, 1000, 1000);
    if (isfinite(got) && fabs(got - want / N) > 1e-5 * want / N && fabs(got - want / N) < 0.02 * want / N)
        gr_hint("off by %.2g relative over 10^6 values: a float accumulator loses the low digits "
                "of each term once the sum is large; accumulate in double",
                fabs(got - want / N) / (want / N));
    expect_loss(got, want / N, "nn_mse_loss(10^6 values, batch 1000, n 1000)", __LINE__);
    free(p), free(t);
}

static void test_cross_entropy_shapes(void)
{
    /* One class: softmax is 1, the loss 0, whatever the logit. Ten equal
     * logits: ln 10. 1000 rows of 10 logits in [−8, 8]: the mean of the
     * rows' losses, each −log softmax in double. */
    const float one[3] = {-30, 0, 500};
    const int zeros[3] = {0, 0, 0};
    expect_loss(nn_cross_entropy_loss(one, zeros, 3, 1), 0.0,
                "nn_cross_entropy_loss(3 rows of one class)", __LINE__);
    float eq[10];
    for (int j = 0; j < 10; j++)
        eq[j] = -2.5f;
    const int seven = 7;
    expect_loss(nn_cross_entropy_loss(eq, &seven, 1, 10), log(10.0),
                "nn_cross_entropy_loss(ten equal logits)", __LINE__);

    enum { B = 1000, K = 10 };
    static float x[B * K];
    static int y[B];
    nn_rng rng;
    nn_rng_seed(&rng, 305);
    fill_uniform(x, B * K, -8.0f, 8.0f, &rng);
    double want = 0;
    for (int r = 0; r < B; r++) {
        y[r] = (int)nn_rng_below(&rng, K);
        const float *row = x + r * K;
        double m = row[0], s = 0;
        for (int j = 1; j < K; j++)
            m = fmax(m, row[j]);
        for (int j = 0; j < K; j++)
            s += exp(row[j] - m);
        want += (m - row[y[r]]) + log(s);
    }
    expect_loss(nn_cross_entropy_loss(x, y, B, K), want / B,
                "nn_cross_entropy_loss(1000 rows of 10)", __LINE__);
}

/* ------------------------------------------------------------ init and accuracy */

static void test_init_small_fans(void)
{
    /* Exactly fan_in·fan_out values, each finite and within its law's
     * range: Xavier(1, 7): |w| <= √(6/8); He(5, 3): 15 normal values, odd
     * (a pair-making normal generator must not write a 16th); uniform with
     * n = 1 and n = 0 (nothing written). */
    float w[17];
    nn_rng rng;
    nn_rng_seed(&rng, 306);
    gr_poison(w, 16);
    w[7] = 777.0f;
    nn_init_xavier(w, 1, 7, &rng);
    for (int i = 0; i < 7; i++)
        check(isfinite(w[i]) && fabsf(w[i]) <= sqrtf(6.0f / 8.0f) * (1 + 1e-6f), __LINE__,
              "nn_init_xavier(1, 7): w[%d] = %g, outside [-%g, %g]", i, (double)w[i],
              sqrt(6.0 / 8.0), sqrt(6.0 / 8.0));
    check(w[7] == 777.0f, __LINE__, "nn_init_xavier(1, 7) wrote past its 7 weights");
    gr_poison(w, 16);
    w[15] = 777.0f;
    nn_init_he(w, 5, 3, &rng);
    for (int i = 0; i < 15; i++)
        check(isfinite(w[i]) && w[i] != 0.0f, __LINE__, "nn_init_he(5, 3): w[%d] = %g", i,
              (double)w[i]);
    check(w[15] == 777.0f, __LINE__, "nn_init_he(5, 3) wrote past its 15 weights");
    gr_poison(w, 3);
    w[1] = 777.0f;
    nn_init_uniform(w, 1, 0.5f, &rng);
    check(isfinite(w[0]) && fabsf(w[0]) <= 0.5f, __LINE__, "nn_init_uniform(n = 1, 0.5): w[0] = %g",
          (double)w[0]);
    check(w[1] == 777.0f, __LINE__, "nn_init_uniform(n = 1) wrote past w[0]");
    w[0] = 555.0f;
    nn_init_uniform(w, 0, 0.5f, &rng);
    check(w[0] == 555.0f, __LINE__, "nn_init_uniform(n = 0) wrote w[0]");
}

static void test_accuracy_edges(void)
{
    /* One class: argmax 0, every label 0: accuracy 1. One row, wrong: 0.
     * 7 rows, 3 right: 3/7 (not a round binary fraction). */
    const float one[4] = {-1, 3, 0, 2};
    const int zeros[4] = {0, 0, 0, 0};
    expect_loss(nn_accuracy(one, zeros, 4, 1), 1.0, "nn_accuracy(4 rows of one class)", __LINE__);
    const float row[3] = {0.1f, 0.7f, 0.2f};
    const int lab0 = 0;
    expect_loss(nn_accuracy(row, &lab0, 1, 3), 0.0, "nn_accuracy(one row, wrong)", __LINE__);
    const float s[14] = {1, 0, 0, 1, 1, 0, 0, 1, 2, 1, 3, 3, 5, 4};
    const int y[7] = {0, 1, 1, 0, 0, 1, 1}; /* argmax 0, 1, 0, 1, 0, 0 (tie), 0: rows 0, 1, 4 */
    expect_loss(nn_accuracy(s, y, 7, 2), 3.0 / 7.0, "nn_accuracy(7 rows, 3 right)", __LINE__);
}

const gr_test gr_hidden_tests[] = {
    {"matmul: thin and wide shapes", 1, 2.0, "nn_matmul_naive,nn_matmul_blas",
     test_matmul_shapes},
    {"dense forward: MNIST sizes", 1, 1.0, "nn_dense_forward", test_dense_mnist},
    {"mlp forward: 1 and 4 layers", 1, 1.0, "nn_mlp_forward", test_mlp_shapes},
    {"mse over 10^6 values", 1, 2.0, "nn_mse_loss", test_mse_million},
    {"cross-entropy: 1 class, 1000 rows", 1, 1.0, "nn_cross_entropy_loss",
     test_cross_entropy_shapes},
    {"init: small and odd fans", 1, 1.0, "nn_init_uniform,nn_init_xavier,nn_init_he",
     test_init_small_fans},
    {"accuracy: small cases", 1, 1.0, "nn_accuracy", test_accuracy_edges},
    {NULL, 0, 0, NULL, NULL}
};
