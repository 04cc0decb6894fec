/*
 * Lab 3 (forward.c) — public tests.
 *
 * Where the expected values come from: small cases are worked by hand in
 * the comments; larger ones are recomputed here in double by the formula
 * written out in this file (a product as a sum of products, a loss as its
 * definition, the log-sum-exp shifted by the row max). Initialisers are
 * checked against the moments of the distribution they must draw from
 * (mean, variance, range, tails), with tolerances of several standard
 * errors of the sample. None of the numbers was captured from the
 * reference. Outputs are poisoned with NaN before each call, so a function
 * that writes nothing cannot pass, and NaN never passes a check.
 *
 * Tolerances:
 *   - sums of products (matmul, dense, MLP): |got − want| <= tol·Σ_p |t_p|,
 *     the scale of the sum of the terms t_p, with tol = max(1e-5, 1.2e-7·k)
 *     for k terms: twice the worst case k·2⁻²⁴ of float rounding. An entry
 *     near 0 through cancellation may carry a large relative error and still
 *     be right; every mistake these tests are after is off by O(1);
 *   - losses: |got − want| <= 1e-5·|want| + 1e-6, plus one float rounding of
 *     the largest logit for the cross-entropy of huge logits.
 *
 * The test "deep network: activations by init" runs a
 * 784-256-256-256-256-256-256-10 network (zero biases, standard normal
 * inputs) under four initialisations and both tanh and ReLU, and writes for
 * the report (grader/plots/lab03.sh), under gr_out_dir()/data/:
 *   lab03-deep-<act>-<init>.csv        layer,lo,hi,fraction   histograms
 *   lab03-deep-<act>-<init>-stats.csv  layer,mean,std,rms,zero,saturated
 *   lab03-network.csv                  layer,n_in,n_out,weights,biases,params
 * with act in {tanh, relu} and init in {small, large, xavier, he}.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "nnlab/forward.h"
#include "nnlab/rng.h"

/* ------------------------------------------------------------ helpers */

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

/* Loss tolerance: |got − want| <= 1e-5·|want| + 1e-6 (+ extra). */
static void expect_loss(double got, double want, double extra, const char *what, int line)
{
    gr_assert_near(got, want, 1e-5 * fabs(want) + 1e-6 + extra, what, __FILE__, line);
}

static double sum_tol(int k) { return fmax(1e-5, 1.2e-7 * k); }

/* The index where |got − want| / scale is largest (NaN counts as worst),
 * and that ratio (+Inf for NaN). */
static int worst_scaled(const float *got, const double *want, const double *scale, int n,
                        double *ratio)
{
    int worst = 0;
    double w = -1.0;
    for (int i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(scale[i], 1e-30);
        if (!(e <= w)) {
            worst = i;
            w = isfinite(e) ? e : INFINITY;
        }
    }
    *ratio = w;
    return worst;
}

/* Whether got[n] matches want[n] within tol·scale. */
static int matches(const float *got, const double *want, const double *scale, int n, double tol)
{
    double r;
    worst_scaled(got, want, scale, n, &r);
    return r <= tol;
}

/* Assert got[n] within tol·scale of want[n]; the message names the worst
 * entry as what[row, col] for a matrix with `cols` columns. */
static void expect_sums(const float *got, const double *want, const double *scale, int n,
                        int cols, double tol, const char *what, int line)
{
    double r;
    int i = worst_scaled(got, want, scale, n, &r);
    if (r <= tol) {
        check(1, line, "%s: within tol", what);
        return;
    }
    if (isinf(r))
        check(0, line, "%s[%d, %d]: expected %.7g, got %g (not a finite number: never passes)",
              what, i / cols, i % cols, want[i], (double)got[i]);
    else
        check(0, line, "%s[%d, %d]: expected %.7g, got %.7g (|diff| = %.2g x the size of the "
              "terms summed, > tol %.2g)", what, i / cols, i % cols, want[i], (double)got[i], r, tol);
}

/* C = A B in double, and the scale Σ_p |A[i, p] B[p, j]| of each entry. */
static void matmul_d(double *c, double *scale, const float *a, const float *b, int m, int k,
                     int n)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, abs_sum = 0.0;
            for (int p = 0; p < k; p++) {
                double t = (double)a[(size_t)i * k + p] * b[(size_t)p * n + j];
                s += t;
                abs_sum += fabs(t);
            }
            c[(size_t)i * n + j] = s;
            scale[(size_t)i * n + j] = abs_sum;
        }
}

/* out = in Wᵀ + b in double (W [n_out, n_in]), and each entry's scale
 * Σ_i |in[r, i] W[j, i]| + |b[j]|. `w_layout_in_out` reads W as if it were
 * stored [n_in, n_out] instead (the transposed-weights mistake); `bias` 0
 * leaves b out (the forgotten-bias mistake). */
static void dense_d(double *out, double *scale, const float *in, const float *w, const float *b,
                    int batch, int n_in, int n_out, int w_layout_in_out, int bias)
{
    for (int r = 0; r < batch; r++)
        for (int j = 0; j < n_out; j++) {
            double s = bias ? b[j] : 0.0, abs_sum = bias ? fabs(b[j]) : 0.0;
            for (int i = 0; i < n_in; i++) {
                float wji = w_layout_in_out ? w[(size_t)i * n_out + j] : w[(size_t)j * n_in + i];
                double t = (double)in[(size_t)r * n_in + i] * wji;
                s += t;
                abs_sum += fabs(t);
            }
            out[(size_t)r * n_out + j] = s;
            scale[(size_t)r * n_out + j] = abs_sum;
        }
}

/* x[n] uniform in [lo, hi) from the kit's generator. */
static void fill_uniform(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* Open gr_out_dir()/data/NAME for writing (creating data/), or NULL: data
 * that cannot be written costs no points, the report just lacks a plot. */
static FILE *open_data(const char *name)
{
    char path[4096];
    mkdir(gr_out_dir(), 0777); /* normally there already */
    snprintf(path, sizeof path, "%s/data", gr_out_dir());
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return NULL;
    snprintf(path, sizeof path, "%s/data/%s", gr_out_dir(), name);
    return fopen(path, "w");
}

/* ------------------------------------------------------------ matrix products */

typedef void (*matmul_fn)(float *c, const float *a, const float *b, int m, int k, int n);

/* Inputs live in large buffers padded with NaN: a wrong leading dimension
 * reads the padding (and the result turns NaN) rather than another
 * variable, and never leaves the buffer. */
enum { PAD = 4096 };

/* One product of shape (m, k, n) with random entries in [−1, 1), against
 * double; C gets a sentinel after its m·n entries. Returns whether right. */
static int check_product(matmul_fn f, const char *name, int m, int k, int n, nn_rng *rng,
                         int line)
{
    size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    float *a = malloc((na + PAD) * sizeof *a), *b = malloc((nb + PAD) * sizeof *b);
    float *c = malloc((nc + 1) * sizeof *c);
    double *want = malloc(nc * sizeof *want), *scale = malloc(nc * sizeof *scale);
    if (!a || !b || !c || !want || !scale) {
        check(0, line, "out of memory in the test (not your code's fault)");
        free(a), free(b), free(c), free(want), free(scale);
        return 0;
    }
    gr_poison(a + na, PAD);
    gr_poison(b + nb, PAD);
    fill_uniform(a, (int)na, -1.0f, 1.0f, rng);
    fill_uniform(b, (int)nb, -1.0f, 1.0f, rng);
    matmul_d(want, scale, a, b, m, k, n);
    gr_poison(c, (int)nc);
    c[nc] = 777.0f;
    f(c, a, b, m, k, n);
    char what[96];
    snprintf(what, sizeof what, "%s: C = A B with m = %d, k = %d, n = %d, C", name, m, k, n);
    int ok = matches(c, want, scale, (int)nc, sum_tol(k));
    expect_sums(c, want, scale, (int)nc, n, sum_tol(k), what, line);
    check(c[nc] == 777.0f, line, "%s (m = %d, k = %d, n = %d) wrote past the end of C "
          "(C[m*n] changed from 777 to %g)", name, m, k, n, (double)c[nc]);
    free(a), free(b), free(c), free(want), free(scale);
    return ok;
}

/* The by-hand product and the shapes shared by both matmul tests. */
static void check_matmul(matmul_fn f, const char *name, int blas)
{
    /* [1 2 3; 4 5 6] [7 8; 9 10; 11 12] = [1·7 + 2·9 + 3·11, 1·8 + 2·10 + 3·12;
     * 4·7 + 5·9 + 6·11, 4·8 + 5·10 + 6·12] = [58 64; 139 154]. Not square, so
     * m, k, n and every leading dimension must be in its place. */
    static float a[6 + PAD], b[6 + PAD];
    const float a0[6] = {1, 2, 3, 4, 5, 6}, b0[6] = {7, 8, 9, 10, 11, 12};
    memcpy(a, a0, sizeof a0);
    memcpy(b, b0, sizeof b0);
    gr_poison(a + 6, PAD);
    gr_poison(b + 6, PAD);
    float c[5];
    gr_poison(c, 4);
    c[4] = 777.0f;
    f(c, a, b, 2, 3, 2);
    const double want[4] = {58, 64, 139, 154};
    if (c[0] == 58 && c[1] == 139 && c[2] == 64 && c[3] == 154)
        gr_hint("C came out transposed ([58 139; 64 154]): C is row-major, C[i, j] at "
                "c[i*n + j]%s", blas ? " (CblasRowMajor, ldc = n)" : "");
    /* B indexed b[j*k + p], as if stored [n, k]: B read as [7 10; 8 11; 9 12]
     * gives [1·7 + 2·8 + 3·9, 1·10 + 2·11 + 3·12; ...] = [50 68; 122 167]. */
    else if (c[0] == 50 && c[1] == 68 && c[2] == 122 && c[3] == 167)
        gr_hint("B was read as if stored [n, k] (b[j*k + p]): B [k, n] is row-major, B[p, j] "
                "is b[p*n + j]");
    else if (!blas && isnan(c[0]) && isnan(c[3]))
        gr_hint("C came out NaN: the test fills C with NaN before the call, and C = A B must "
                "overwrite it: start every C[i, j] at 0 rather than adding to what C holds");
    int hand_ok = 1;
    for (int i = 0; i < 4; i++)
        hand_ok &= c[i] == (float)want[i];

    nn_rng rng;
    nn_rng_seed(&rng, 31);
    /* Square first: a product right on squares and wrong on the rest has
     * m, k, n or a leading dimension in the wrong place. */
    int square_ok = check_product(f, name, 4, 4, 4, &rng, __LINE__);
    const int shapes[][3] = {{7, 13, 5}, {1, 9, 4}, {6, 1, 3}, {3, 4, 1}, {17, 33, 19}};
    int rest_ok = 1;
    for (int s = 0; s < 5; s++)
        rest_ok &= check_product(f, name, shapes[s][0], shapes[s][1], shapes[s][2], &rng, __LINE__);
    if (square_ok && !(rest_ok && hand_ok))
        gr_hint("right on square matrices, wrong on the others: m, k, n or a leading dimension "
                "is in the wrong place. A row-major [rows, cols] matrix has leading dimension "
                "cols: A [m, k] -> k, B [k, n] -> n, C [m, n] -> n%s",
                blas ? "; and cblas_sgemm takes M, N, K in that order" : "");
    if (!hand_ok && isnan(c[0]) && blas)
        gr_hint("C was not written: is cblas_sgemm called? If OpenBLAS printed \"parameter "
                "number N had an illegal value\", a leading dimension is too small (lda >= k, "
                "ldb >= n, ldc >= n for row-major)");
    for (int i = 0; i < 4; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s([1 2 3; 4 5 6] [7 8; 9 10; 11 12])[%d, %d]", name, i / 2,
                 i % 2);
        gr_assert_near(c[i], want[i], 1e-5 * want[i], what, __FILE__, __LINE__);
    }
    check(c[4] == 777.0f, __LINE__, "%s wrote past the end of C", name);
}

static void test_matmul_naive(void)
{
    check_matmul(nn_matmul_naive, "nn_matmul_naive", 0);
}

static void test_matmul_blas(void)
{
    check_matmul(nn_matmul_blas, "nn_matmul_blas", 1);
}

/* ------------------------------------------------------------ dense layer */

/* One dense layer with random in, W, b against double; hints for the
 * known mistakes, recognised by what the output equals instead. */
static void check_dense(int batch, int n_in, int n_out, nn_rng *rng, int line)
{
    size_t ni = (size_t)batch * n_in, nw = (size_t)n_out * n_in, no = (size_t)batch * n_out;
    float *in = malloc((ni + PAD) * sizeof *in), *w = malloc((nw + PAD) * sizeof *w);
    float *b = malloc((size_t)(n_out + PAD) * sizeof *b), *out = malloc((no + 1) * sizeof *out);
    double *want = malloc(no * sizeof *want), *scale = malloc(no * sizeof *scale);
    double *alt = malloc(no * sizeof *alt), *alt_scale = malloc(no * sizeof *alt_scale);
    if (!in || !w || !b || !out || !want || !scale || !alt || !alt_scale) {
        check(0, line, "out of memory in the test (not your code's fault)");
        goto done;
    }
    gr_poison(in + ni, PAD);
    gr_poison(w + nw, PAD);
    gr_poison(b + n_out, PAD);
    fill_uniform(in, (int)ni, -1.0f, 1.0f, rng);
    fill_uniform(w, (int)nw, -1.0f, 1.0f, rng);
    fill_uniform(b, n_out, 0.5f, 1.5f, rng); /* clearly non-zero: a lost bias shows */
    dense_d(want, scale, in, w, b, batch, n_in, n_out, 0, 1);
    gr_poison(out, (int)no);
    out[no] = 777.0f;
    nn_dense_forward(out, in, w, b, batch, n_in, n_out);

    double tol = sum_tol(n_in + 1);
    if (!matches(out, want, scale, (int)no, tol)) {
        int nan = 0;
        for (size_t i = 0; i < no; i++)
            nan |= isnan(out[i]);
        dense_d(alt, alt_scale, in, w, b, batch, n_in, n_out, 0, 0);
        int no_bias = matches(out, alt, scale, (int)no, tol);
        dense_d(alt, alt_scale, in, w, b, batch, n_in, n_out, 1, 1);
        int transposed = matches(out, alt, alt_scale, (int)no, tol);
        dense_d(alt, alt_scale, in, w, b, batch, n_in, n_out, 1, 0);
        int both = matches(out, alt, alt_scale, (int)no, tol);
        if (no_bias)
            gr_hint("out = in Wᵀ without the bias: add b[j] to every row of out");
        else if (transposed || both)
            gr_hint("the weights are used transposed: W is stored [n_out, n_in] (row j holds "
                    "unit j's weights), so out = in Wᵀ: W[j, i] is w[j*n_in + i]; with "
                    "cblas_sgemm, CblasTrans on W and ldb = n_in%s",
                    both ? "; and the bias is missing" : "");
        else if (nan)
            gr_hint("out holds NaN (the test fills it with NaN before the call): every entry must "
                    "be written; with β = 1, sgemm adds to what out holds, so set each row to b "
                    "first");
    }
    char what[96];
    snprintf(what, sizeof what, "nn_dense_forward(batch = %d, n_in = %d, n_out = %d): out", batch,
             n_in, n_out);
    expect_sums(out, want, scale, (int)no, n_out, tol, what, line);
    check(out[no] == 777.0f, line, "nn_dense_forward(batch = %d, n_in = %d, n_out = %d) wrote past "
          "the end of out", batch, n_in, n_out);
done:
    free(in), free(w), free(b), free(out), free(want), free(scale), free(alt), free(alt_scale);
}

static void test_dense_forward(void)
{
    /* By hand: batch 2, n_in 3, n_out 2,
     *   in = [1 2 3; −1 0 2], W = [1 0 −1; 2 1 0.5] (row j: unit j), b = (0.5, −1):
     *   out[0] = (1 − 3 + 0.5, 2 + 2 + 1.5 − 1)  = (−1.5, 4.5)
     *   out[1] = (−1 − 2 + 0.5, −2 + 1 − 1)      = (−2.5, −2).
     * Transposed weights would give (2.5, 4.5, ...), no bias (−2, 5.5, ...). */
    static float in[6 + PAD], w[6 + PAD], b[2 + PAD];
    const float in0[6] = {1, 2, 3, -1, 0, 2}, w0[6] = {1, 0, -1, 2, 1, 0.5f}, b0[2] = {0.5f, -1};
    memcpy(in, in0, sizeof in0);
    memcpy(w, w0, sizeof w0);
    memcpy(b, b0, sizeof b0);
    gr_poison(in + 6, PAD);
    gr_poison(w + 6, PAD);
    gr_poison(b + 2, PAD);
    float out[4];
    gr_poison(out, 4);
    nn_dense_forward(out, in, w, b, 2, 3, 2);
    const double want[4] = {-1.5, 4.5, -2.5, -2};
    if (out[0] == -2.0f && out[1] == 5.5f)
        gr_hint("out = in Wᵀ without the bias: add b[j] to every row of out");
    else if (out[0] == 2.5f && out[1] == 4.5f)
        gr_hint("the weights are used transposed: W is stored [n_out, n_in], so out = in Wᵀ "
                "(CblasTrans on W, ldb = n_in)");
    for (int i = 0; i < 4; i++) {
        char what[96];
        snprintf(what, sizeof what, "nn_dense_forward by hand (see lab03.c), out[%d, %d]", i / 2,
                 i % 2);
        gr_assert_near(out[i], want[i], 1e-5 * fabs(want[i]), what, __FILE__, __LINE__);
    }

    /* Random layers of odd sizes, one row, one input, one output. */
    nn_rng rng;
    nn_rng_seed(&rng, 32);
    const int shapes[][3] = {{4, 7, 5}, {1, 12, 3}, {9, 1, 4}, {5, 6, 1}, {16, 33, 20}};
    for (int s = 0; s < 5; s++)
        check_dense(shapes[s][0], shapes[s][1], shapes[s][2], &rng, __LINE__);
}

/* ------------------------------------------------------------ MLP */

static double act_d(nn_act act, double x)
{
    switch (act) {
    case NN_ACT_TANH: return tanh(x);
    case NN_ACT_RELU: return x > 0.0 ? x : 0.0;
    case NN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    default: return NAN;
    }
}

static void test_mlp_by_hand(void)
{
    /* Sizes 2-3-2, ReLU hidden layer, a batch of 2 rows:
     *   W0 = [1 1; −1 2; 0.5 −0.5], b0 = (0, 1, −0.25),
     *   W1 = [1 −1 2; 0.5 0 −1],    b1 = (0.1, 0).
     * Row (1, −2):  z0 = (1 − 2, −1 − 4 + 1, 0.5 + 1 − 0.25) = (−1, −4, 1.25),
     *               a1 = (0, 0, 1.25),
     *               z1 = (2·1.25 + 0.1, −1.25) = (2.6, −1.25) = a2.
     * Row (0.5, 1): z0 = (1.5, −0.5 + 2 + 1, 0.25 − 0.5 − 0.25) = (1.5, 2.5, −0.5),
     *               a1 = (1.5, 2.5, 0),
     *               z1 = (1.5 − 2.5 + 0.1, 0.75) = (−0.9, 0.75) = a2.
     * The logits a2 = z1 stay linear: −1.25 and −0.9 are not cut to 0. */
    const int sizes[3] = {2, 3, 2};
    float w0[6] = {1, 1, -1, 2, 0.5f, -0.5f}, b0[3] = {0, 1, -0.25f};
    float w1[6] = {1, -1, 2, 0.5f, 0, -1}, b1[2] = {0.1f, 0};
    float *w[2] = {w0, w1}, *b[2] = {b0, b1};
    nn_mlp net = {2, sizes, w, b, NN_ACT_RELU};
    float x[4] = {1, -2, 0.5f, 1}, z0[6], z1[4], a1[6], a2[4];
    float *z[2] = {z0, z1}, *a[3] = {x, a1, a2};
    gr_poison(z0, 6);
    gr_poison(z1, 4);
    gr_poison(a1, 6);
    gr_poison(a2, 4);
    nn_mlp_forward(z, a, &net, 2);
    const double wz0[6] = {-1, -4, 1.25, 1.5, 2.5, -0.5}, wa1[6] = {0, 0, 1.25, 1.5, 2.5, 0};
    const double wz1[4] = {2.6, -1.25, -0.9, 0.75};
    if (a2[1] == 0.0f && a2[2] == 0.0f && fabsf(z1[1] + 1.25f) < 1e-5f)
        gr_hint("the last layer's outputs were put through the activation: the last layer stays "
                "linear, a[n_layers] = z[n_layers-1] (the logits)");
    else if (fabsf(a1[0] + 1.0f) < 1e-5f && fabsf(a1[1] + 4.0f) < 1e-5f)
        gr_hint("a[1] = z[0]: the hidden layers' activation (net->act) was not applied");
    check(x[0] == 1 && x[1] == -2 && x[2] == 0.5f && x[3] == 1, __LINE__,
          "a[0] (the input) was changed: it is read, not written");
    for (int i = 0; i < 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "by hand: z[0][%d, %d]", i / 3, i % 3);
        gr_assert_near(z0[i], wz0[i], 1e-6, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "by hand: a[1][%d, %d] = relu(z[0])", i / 3, i % 3);
        gr_assert_near(a1[i], wa1[i], 1e-6, what, __FILE__, __LINE__);
    }
    for (int i = 0; i < 4; i++) {
        char what[64];
        snprintf(what, sizeof what, "by hand: z[1][%d, %d]", i / 2, i % 2);
        gr_assert_near(z1[i], wz1[i], 1e-5, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "by hand: a[2][%d, %d] (the logits, = z[1])", i / 2, i % 2);
        gr_assert_near(a2[i], wz1[i], 1e-5, what, __FILE__, __LINE__);
    }
}

/* An MLP with the given sizes and activation, random weights, against a
 * forward pass in double (each layer from the student's own previous
 * activations, so one error is reported where it happens). */
static void check_mlp(const int *sizes, int n_layers, nn_act act, int batch, nn_rng *rng, int line)
{
    enum { MAXL = 8 };
    float *w[MAXL] = {0}, *b[MAXL] = {0}, *z[MAXL] = {0}, *a[MAXL + 1] = {0};
    double *want = NULL, *scale = NULL;
    int ok = n_layers <= MAXL;
    size_t biggest = 0;
    for (int l = 0; ok && l <= n_layers; l++) {
        size_t n = (size_t)batch * sizes[l];
        biggest = n > biggest ? n : biggest;
        a[l] = malloc(n * sizeof **a);
        ok = a[l] != NULL;
        if (l < n_layers && ok) {
            w[l] = malloc((size_t)sizes[l + 1] * sizes[l] * sizeof **w);
            b[l] = malloc((size_t)sizes[l + 1] * sizeof **b);
            z[l] = malloc((size_t)batch * sizes[l + 1] * sizeof **z);
            ok = w[l] && b[l] && z[l];
        }
    }
    want = malloc(biggest * sizeof *want);
    scale = malloc(biggest * sizeof *scale);
    if (!ok || !want || !scale) {
        check(0, line, "out of memory in the test (not your code's fault)");
        goto done;
    }
    fill_uniform(a[0], batch * sizes[0], -1.0f, 1.0f, rng);
    for (int l = 0; l < n_layers; l++) {
        float lim = 1.5f / sqrtf((float)sizes[l]); /* keeps the activations O(1) */
        fill_uniform(w[l], sizes[l + 1] * sizes[l], -lim, lim, rng);
        fill_uniform(b[l], sizes[l + 1], -0.5f, 0.5f, rng);
        gr_poison(z[l], batch * sizes[l + 1]);
        gr_poison(a[l + 1], batch * sizes[l + 1]);
    }
    float first_in = a[0][0];
    nn_mlp net = {n_layers, sizes, w, b, act};
    nn_mlp_forward(z, a, &net, batch);
    check(a[0][0] == first_in, line, "a[0] (the input) was changed: it is read, not written");
    for (int l = 0; l < n_layers; l++) {
        int n_out = sizes[l + 1], n = batch * n_out;
        dense_d(want, scale, a[l], w[l], b[l], batch, sizes[l], n_out, 0, 1);
        char what[96];
        snprintf(what, sizeof what, "layer %d of %d (%d -> %d): z[%d]", l, n_layers, sizes[l],
                 n_out, l);
        expect_sums(z[l], want, scale, n, n_out, sum_tol(sizes[l] + 1), what, line);
        /* a[l+1] = f(z[l]) from the student's z, or z itself for the last. */
        int last = l == n_layers - 1, worst = 0;
        double worst_err = -1.0;
        for (int i = 0; i < n; i++) {
            double target = last ? z[l][i] : act_d(act, z[l][i]);
            double e = fabs(a[l + 1][i] - target) / (1e-5 * fabs(target) + 1e-6);
            if (!(e <= worst_err)) {
                worst = i;
                worst_err = e;
            }
        }
        double target = last ? z[l][worst] : act_d(act, z[l][worst]);
        if (last && worst_err > 1.0 &&
            fabs(a[l + 1][worst] - act_d(act, z[l][worst])) <= 1e-5 * fabs(target) + 1e-6)
            gr_hint("the last layer's outputs were put through the activation: the last layer "
                    "stays linear, a[n_layers] = z[n_layers-1] (the logits)");
        snprintf(what, sizeof what, "a[%d][%d, %d] = %s(z[%d])", l + 1, worst / n_out,
                 worst % n_out, last ? "identity" : "act", l);
        gr_assert_near(a[l + 1][worst], target, 1e-5 * fabs(target) + 1e-6, what, __FILE__, line);
    }
done:
    for (int l = 0; l <= n_layers && l <= MAXL; l++) {
        free(a[l]);
        if (l < MAXL)
            free(w[l]), free(b[l]), free(z[l]);
    }
    free(want), free(scale);
}

static void test_mlp_forward(void)
{
    test_mlp_by_hand();
    nn_rng rng;
    nn_rng_seed(&rng, 33);
    const int s3[4] = {5, 7, 4, 3};
    check_mlp(s3, 3, NN_ACT_TANH, 4, &rng, __LINE__);
    const int s2[3] = {12, 30, 10};
    check_mlp(s2, 2, NN_ACT_RELU, 9, &rng, __LINE__);
}

/* ------------------------------------------------------------ initialisation */

/* Sample moments of w[n] in double. */
typedef struct {
    double mean, var, min, max, beyond2; /* beyond2: share with |w| > 2·sd_expected */
    int finite;
} moments;

static moments moments_of(const float *w, int n, double sd_expected)
{
    moments m = {0, 0, INFINITY, -INFINITY, 0, 1};
    for (int i = 0; i < n; i++) {
        if (!isfinite(w[i])) {
            m.finite = 0;
            continue;
        }
        m.mean += w[i];
        m.min = fmin(m.min, w[i]);
        m.max = fmax(m.max, w[i]);
        m.beyond2 += fabs(w[i]) > 2.0 * sd_expected;
    }
    m.mean /= n;
    for (int i = 0; i < n; i++)
        if (isfinite(w[i]))
            m.var += (w[i] - m.mean) * (w[i] - m.mean);
    m.var /= n;
    m.beyond2 /= n;
    return m;
}

/* Checks of a uniform sample of n values on [−limit, limit]:
 *   every value within [−limit, limit] (up to one float rounding);
 *   the extremes near ±limit: out of n draws, P(max < limit(1 − 0.02)) =
 *   0.99ⁿ, below 1e−80 for the n here;
 *   variance limit²/3 within 5% (its standard error is √(4/(5n)) ≈ 0.9%
 *   relative for n = 10⁴: over 5 standard errors);
 *   mean 0 within 5 standard errors limit/√(3n). */
static void check_uniform_sample(const float *w, int n, double limit, const char *what, int line)
{
    moments m = moments_of(w, n, limit);
    check(m.finite, line, "%s: not every weight is a finite number", what);
    check(m.min >= -limit * (1 + 1e-6) && m.max <= limit * (1 + 1e-6), line,
          "%s: every weight must lie in [-%.6g, %.6g]; got values from %.6g to %.6g", what, limit,
          limit, m.min, m.max);
    check(m.min <= -0.98 * limit && m.max >= 0.98 * limit, line,
          "%s: %d draws from U(-%.6g, %.6g) should reach near both ends; got min %.6g, max %.6g",
          what, n, limit, limit, m.min, m.max);
    double var = limit * limit / 3.0;
    check(fabs(m.var - var) <= 0.05 * var, line,
          "%s: variance of U(-L, L) is L²/3 = %.6g; the sample's is %.6g", what, var, m.var);
    double se = limit / sqrt(3.0 * n);
    check(fabs(m.mean) <= 5 * se, line, "%s: mean should be 0 (within %.3g); got %.6g", what,
          5 * se, m.mean);
}

/* The generator is used, and only it: two generators seeded alike give
 * the same weights; one generator used twice gives new ones. */
typedef void (*init_call)(float *w, nn_rng *rng);
static void check_seeding(init_call f, int n, const char *what, int line)
{
    float *w1 = malloc((size_t)n * sizeof *w1), *w2 = malloc((size_t)n * sizeof *w2);
    if (!w1 || !w2) {
        check(0, line, "out of memory in the test (not your code's fault)");
        free(w1), free(w2);
        return;
    }
    nn_rng r1, r2;
    nn_rng_seed(&r1, 1234);
    nn_rng_seed(&r2, 1234);
    gr_poison(w1, n);
    gr_poison(w2, n);
    f(w1, &r1);
    f(w2, &r2);
    check(memcmp(w1, w2, (size_t)n * sizeof *w1) == 0, line,
          "%s: two generators seeded alike must give the same weights (draw from the rng you "
          "are given; no rand(), no seeding of your own)", what);
    f(w2, &r2);
    int same = memcmp(w1, w2, (size_t)n * sizeof *w1) == 0;
    if (same)
        gr_hint("the same weights came out twice from one generator: draw from the rng you are "
                "given (it moves on with each draw); do not copy or reseed it");
    check(!same, line, "%s: a second call on the same generator must give new weights", what);
    free(w1), free(w2);
}

static void init_uniform_037(float *w, nn_rng *rng) { nn_init_uniform(w, 1000, 0.37f, rng); }
static void init_xavier_100_300(float *w, nn_rng *rng) { nn_init_xavier(w, 100, 300, rng); }
static void init_he_64_256(float *w, nn_rng *rng) { nn_init_he(w, 64, 256, rng); }

static void test_init_uniform(void)
{
    /* n = 20000 draws of U(−0.37, 0.37); a sentinel after them. */
    enum { N = 20000 };
    static float w[N + 1];
    nn_rng rng;
    nn_rng_seed(&rng, 41);
    gr_poison(w, N);
    w[N] = 777.0f;
    nn_init_uniform(w, N, 0.37f, &rng);
    moments m = moments_of(w, N, 0.37);
    if (m.finite && m.min >= 0.0 && m.max > 0.3)
        gr_hint("all weights are >= 0: U(-limit, limit) is limit·(2u - 1) for u in [0, 1), not "
                "limit·u");
    check_uniform_sample(w, N, 0.37, "nn_init_uniform(n = 20000, limit = 0.37)", __LINE__);
    check(w[N] == 777.0f, __LINE__, "nn_init_uniform wrote past w[n-1]");
    check_seeding(init_uniform_037, 1000, "nn_init_uniform", __LINE__);
}

static void test_init_xavier(void)
{
    /* fan_in 100, fan_out 300: limit √(6/400) = 0.12247, Var = 2/400 = 0.005;
     * 30000 weights and a sentinel. √(6/fan_in) = 0.245 and √(2/400) =
     * 0.0707 (the normal variant's std used as the limit) are far off. */
    enum { FI = 100, FO = 300, N = FI * FO };
    static float w[N + 1];
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    gr_poison(w, N);
    w[N] = 777.0f;
    nn_init_xavier(w, FI, FO, &rng);
    double limit = sqrt(6.0 / (FI + FO));
    moments m = moments_of(w, N, limit);
    if (m.finite && fabs(m.max - sqrt(2.0 / (FI + FO))) < 0.01)
        gr_hint("the weights stop at √(2/(fan_in + fan_out)): that is Glorot's standard "
                "deviation; the uniform limit is √(6/(fan_in + fan_out)) (Var U(-L, L) = L²/3)");
    else if (m.finite && fabs(m.max - sqrt(6.0 / FI)) < 0.02)
        gr_hint("the limit looks like √(6/fan_in): Xavier averages both fans, "
                "√(6/(fan_in + fan_out))");
    else if (m.finite && fabs(m.max - sqrt(6.0 / FO)) < 0.005)
        gr_hint("the limit looks like √(6/fan_out): Xavier averages both fans, "
                "√(6/(fan_in + fan_out))");
    check_uniform_sample(w, N, limit, "nn_init_xavier(fan_in = 100, fan_out = 300)", __LINE__);
    check(w[N] == 777.0f, __LINE__, "nn_init_xavier wrote past w[fan_in*fan_out - 1]");
    check_seeding(init_xavier_100_300, N, "nn_init_xavier", __LINE__);
}

static void test_init_he(void)
{
    /* fan_in 64, fan_out 256: N(0, 2/64), sd 0.17678; 16384 weights.
     *   mean 0 within 5 standard errors sd/√n;
     *   variance 2/64 within 6% (standard error √(2/n) = 1.1%);
     *   a normal tail: P(|w| > 2 sd) = 4.55% (standard error 0.16%), accepted
     *   in [3.6%, 5.5%]; a uniform with the same variance has none (its
     *   limit is √3 sd). 2/fan_out would be 4 times too small a variance. */
    enum { FI = 64, FO = 256, N = FI * FO };
    static float w[N + 1];
    nn_rng rng;
    nn_rng_seed(&rng, 43);
    gr_poison(w, N);
    w[N] = 777.0f;
    nn_init_he(w, FI, FO, &rng);
    double sd = sqrt(2.0 / FI), var = sd * sd;
    moments m = moments_of(w, N, sd);
    if (m.finite && fabs(m.var - 2.0 / FO) < 0.1 * (2.0 / FO))
        gr_hint("the variance is 2/fan_out: He scales by the fan-in, Var w = 2/fan_in (each unit "
                "sums fan_in inputs)");
    else if (m.finite && fabs(m.var - 1.0 / FI) < 0.1 / FI)
        gr_hint("the variance is 1/fan_in: He's factor 2 (for the half of the inputs ReLU zeroes) "
                "is missing");
    else if (m.finite && fabs(m.var - var * var) < 0.1 * var * var)
        gr_hint("the variance is (2/fan_in)²: scale a standard normal by the standard deviation "
                "√(2/fan_in), not by the variance");
    else if (m.finite && fabs(m.var - var) < 0.06 * var && m.beyond2 < 0.01)
        gr_hint("the variance is right but the weights are not normal (no tail beyond 2 standard "
                "deviations): He init here draws from N(0, 2/fan_in) (nn_rng_normal)");
    check(m.finite, __LINE__, "nn_init_he: not every weight is a finite number");
    check(fabs(m.mean) <= 5 * sd / sqrt((double)N), __LINE__,
          "nn_init_he(64, 256): mean should be 0 (within %.3g); got %.6g", 5 * sd / sqrt((double)N),
          m.mean);
    check(fabs(m.var - var) <= 0.06 * var, __LINE__,
          "nn_init_he(fan_in = 64, fan_out = 256): variance should be 2/fan_in = %.6g; the "
          "sample's is %.6g", var, m.var);
    check(m.beyond2 >= 0.036 && m.beyond2 <= 0.055, __LINE__,
          "nn_init_he(64, 256): a normal sample has 4.55%% of its values beyond 2 standard "
          "deviations; got %.2f%%", 100 * m.beyond2);
    check(w[N] == 777.0f, __LINE__, "nn_init_he wrote past w[fan_in*fan_out - 1]");
    check_seeding(init_he_64_256, N, "nn_init_he", __LINE__);
}

/* ------------------------------------------------------------ the deep network */

enum { DEEP_HIDDEN = 6, DEEP_LAYERS = DEEP_HIDDEN + 1, DEEP_BATCH = 200 };
static const int deep_sizes[DEEP_LAYERS + 1] = {784, 256, 256, 256, 256, 256, 256, 10};
static const char *const init_slug[4] = {"small", "large", "xavier", "he"};
enum { TANH_BINS = 40, RELU_BINS = 68 };
#define RELU_LOG_LO (-10.0) /* ReLU histograms: log10 a over [−10, 7], bins of ¼ */
#define RELU_LOG_HI 7.0

/* Statistics of one hidden layer's activations (in double). */
typedef struct {
    double mean, std, rms, zero, saturated;
} layer_stats;

static layer_stats stats_of(const float *a, int n)
{
    layer_stats s = {0, 0, 0, 0, 0};
    int finite = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]))
            continue;
        finite++;
        s.mean += a[i];
        s.rms += (double)a[i] * a[i];
        s.zero += a[i] == 0.0f;
        s.saturated += fabsf(a[i]) > 0.99f;
    }
    if (finite == 0)
        return (layer_stats){NAN, NAN, NAN, NAN, NAN};
    s.mean /= finite;
    s.std = sqrt(fmax(s.rms / finite - s.mean * s.mean, 0.0));
    s.rms = sqrt(s.rms / finite);
    s.zero /= n;
    s.saturated /= n;
    return s;
}

/* The histogram of one layer into f: tanh on [−1, 1] in TANH_BINS bins;
 * ReLU as log10 a of the positive values over [RELU_LOG_LO, RELU_LOG_HI]
 * (the zeros are the stats file's `zero`). Values beyond the range go into
 * the end bins; fractions are of all n values. */
static void write_histogram(FILE *f, int layer, const float *a, int n, int relu)
{
    int bins = relu ? RELU_BINS : TANH_BINS;
    double lo = relu ? RELU_LOG_LO : -1.0, hi = relu ? RELU_LOG_HI : 1.0, width = (hi - lo) / bins;
    int count[RELU_BINS > TANH_BINS ? RELU_BINS : TANH_BINS] = {0};
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || (relu && a[i] <= 0.0f))
            continue;
        double x = relu ? log10(a[i]) : a[i];
        int k = (int)floor((x - lo) / width);
        count[k < 0 ? 0 : k >= bins ? bins - 1 : k]++;
    }
    for (int k = 0; k < bins; k++)
        fprintf(f, "%d,%.6g,%.6g,%.6g\n", layer, lo + k * width, lo + (k + 1) * width,
                (double)count[k] / n);
}

/* Initialise every layer of the deep network by scheme `init` (biases 0). */
static void deep_init(float **w, float **b, int init, nn_rng *rng)
{
    for (int l = 0; l < DEEP_LAYERS; l++) {
        int fi = deep_sizes[l], fo = deep_sizes[l + 1];
        switch (init) {
        case 0: nn_init_uniform(w[l], fi * fo, 0.01f, rng); break;
        case 1: nn_init_uniform(w[l], fi * fo, 1.0f, rng); break;
        case 2: nn_init_xavier(w[l], fi, fo, rng); break;
        default: nn_init_he(w[l], fi, fo, rng); break;
        }
        memset(b[l], 0, (size_t)fo * sizeof **b);
    }
}

static void write_network_table(void)
{
    FILE *f = open_data("lab03-network.csv");
    if (!f)
        return;
    fprintf(f, "layer,n_in,n_out,weights,biases,params\n");
    for (int l = 0; l < DEEP_LAYERS; l++) {
        long fi = deep_sizes[l], fo = deep_sizes[l + 1];
        fprintf(f, "%d,%ld,%ld,%ld,%ld,%ld\n", l + 1, fi, fo, fi * fo, fo, fi * fo + fo);
    }
    fclose(f);
}

static void test_deep_network(void)
{
    /* What the theory says for this network (fan_in 256 in the hidden
     * layers, standard normal inputs), checked on the last hidden layer a6:
     *   tanh, U(±0.01): Var z = 256·(0.01²/3)·Var a ≈ 0.0085·Var a: the
     *       scale shrinks about 11 times a layer; std(a6) < 1e-3 (vanished);
     *   tanh, U(±1): Var z = 256/3·E a² ≫ 1: most units saturate; more than
     *       half of a6 beyond |a| > 0.99;
     *   tanh, Xavier: Var w = 1/256 keeps Var z ≈ Var a while tanh is
     *       near-linear: 0.1 < std(a6) < 1;
     *   ReLU, He: Var w = 2/256 keeps E a² constant: rms(a6)/rms(a1) within
     *       [0.5, 2];
     *   ReLU, Xavier: E a² halves each layer: rms(a6)/rms(a1) ≈ 2^{−5/2} =
     *       0.18, accepted in [0.05, 0.5];
     *   ReLU, U(±1): E a² grows 256/6 ≈ 43 times a layer: rms(a6)/rms(a1) >
     *       1000.
     * Every run writes its histograms first, so a failing one is still in
     * the report's plots. */
    float *w[DEEP_LAYERS] = {0}, *b[DEEP_LAYERS] = {0}, *z[DEEP_LAYERS] = {0};
    float *a[DEEP_LAYERS + 1] = {0};
    int ok = 1;
    for (int l = 0; l <= DEEP_LAYERS && ok; l++) {
        a[l] = malloc((size_t)DEEP_BATCH * deep_sizes[l] * sizeof **a);
        ok = a[l] != NULL;
        if (l < DEEP_LAYERS && ok) {
            w[l] = malloc((size_t)deep_sizes[l] * deep_sizes[l + 1] * sizeof **w);
            b[l] = malloc((size_t)deep_sizes[l + 1] * sizeof **b);
            z[l] = malloc((size_t)DEEP_BATCH * deep_sizes[l + 1] * sizeof **z);
            ok = w[l] && b[l] && z[l];
        }
    }
    if (!ok) {
        check(0, __LINE__, "out of memory in the test (not your code's fault)");
        goto done;
    }
    write_network_table();
    nn_rng rng;
    nn_rng_seed(&rng, 2024);
    for (int i = 0; i < DEEP_BATCH * deep_sizes[0]; i++)
        a[0][i] = nn_rng_normal(&rng);

    layer_stats st[2][4][DEEP_HIDDEN + 1];
    for (int act = 0; act < 2; act++)
        for (int init = 0; init < 4; init++) {
            nn_rng_seed(&rng, 100 + (uint64_t)init); /* the same weights for tanh and ReLU */
            for (int l = 0; l < DEEP_LAYERS; l++)
                gr_poison(w[l], deep_sizes[l] * deep_sizes[l + 1]);
            deep_init(w, b, init, &rng);
            for (int l = 0; l < DEEP_LAYERS; l++) {
                gr_poison(z[l], DEEP_BATCH * deep_sizes[l + 1]);
                gr_poison(a[l + 1], DEEP_BATCH * deep_sizes[l + 1]);
            }
            nn_mlp net = {DEEP_LAYERS, deep_sizes, w, b, act ? NN_ACT_RELU : NN_ACT_TANH};
            nn_mlp_forward(z, a, &net, DEEP_BATCH);
            char name[64];
            snprintf(name, sizeof name, "lab03-deep-%s-%s.csv", act ? "relu" : "tanh",
                     init_slug[init]);
            FILE *h = open_data(name);
            snprintf(name, sizeof name, "lab03-deep-%s-%s-stats.csv", act ? "relu" : "tanh",
                     init_slug[init]);
            FILE *s = open_data(name);
            if (h)
                fprintf(h, "layer,lo,hi,fraction\n");
            if (s)
                fprintf(s, "layer,mean,std,rms,zero,saturated\n");
            for (int l = 1; l <= DEEP_HIDDEN; l++) {
                int n = DEEP_BATCH * deep_sizes[l];
                layer_stats t = stats_of(a[l], n);
                st[act][init][l] = t;
                if (h)
                    write_histogram(h, l, a[l], n, act);
                if (s)
                    fprintf(s, "%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", l, t.mean, t.std, t.rms, t.zero,
                            t.saturated);
            }
            if (h)
                fclose(h);
            if (s)
                fclose(s);
        }

    const int L = DEEP_HIDDEN;
    layer_stats *tanh_s = st[0][0], *tanh_l = st[0][1], *tanh_x = st[0][2];
    layer_stats *relu_l = st[1][1], *relu_x = st[1][2], *relu_h = st[1][3];
    check(tanh_s[L].std < 1e-3, __LINE__,
          "tanh, U(±0.01): the activations of layer %d should have vanished (std < 1e-3); "
          "std is %.3g", L, tanh_s[L].std);
    check(tanh_l[L].saturated > 0.5, __LINE__,
          "tanh, U(±1): most activations of layer %d should be saturated (|a| > 0.99); "
          "%.1f%% are", L, 100 * tanh_l[L].saturated);
    check(tanh_x[L].std > 0.1 && tanh_x[L].std < 1.0, __LINE__,
          "tanh, Xavier: the activations of layer %d should keep their scale (0.1 < std < 1); "
          "std is %.3g", L, tanh_x[L].std);
    double r_he = relu_h[L].rms / relu_h[1].rms, r_x = relu_x[L].rms / relu_x[1].rms;
    double r_l = relu_l[L].rms / relu_l[1].rms;
    check(r_he >= 0.5 && r_he <= 2.0, __LINE__,
          "ReLU, He: rms(a%d)/rms(a1) should stay near 1 (within [0.5, 2]); it is %.3g", L, r_he);
    check(r_x >= 0.05 && r_x <= 0.5, __LINE__,
          "ReLU, Xavier: E a² halves each layer, rms(a%d)/rms(a1) ≈ 0.18 (within [0.05, 0.5]); "
          "it is %.3g", L, r_x);
    check(r_l > 1e3, __LINE__,
          "ReLU, U(±1): the activations should explode (rms(a%d)/rms(a1) > 1000); the ratio "
          "is %.3g", L, r_l);
done:
    for (int l = 0; l <= DEEP_LAYERS; l++) {
        free(a[l]);
        if (l < DEEP_LAYERS)
            free(w[l]), free(b[l]), free(z[l]);
    }
}

/* ------------------------------------------------------------ MSE */

static void test_mse(void)
{
    /* pred = [1 2 3; 4 5 6], target all 1: (0 + 1 + 4 + 9 + 16 + 25)/6 =
     * 55/6 = 9.1667 (the mean over all batch·n values). */
    const float pred[6] = {1, 2, 3, 4, 5, 6}, target[6] = {1, 1, 1, 1, 1, 1};
    float got = nn_mse_loss(pred, target, 2, 3);
    if (fabsf(got - 27.5f) < 1e-4f)
        gr_hint("55/2: the sum of squares divided by batch only; MSE divides by batch·n");
    else if (fabsf(got - 55.0f) < 1e-4f)
        gr_hint("55 is the sum of squared errors: divide by batch·n for the mean");
    else if (fabsf(got - 55.0f / 18.0f) < 1e-4f)
        gr_hint("55/18: divided by n twice (or by batch·n·n)");
    else if (fabsf(got - (float)sqrt(55.0 / 6.0)) < 1e-4f)
        gr_hint("the square root of the MSE (the RMSE): leave the root out");
    expect_loss(got, 55.0 / 6.0, 0, "nn_mse_loss([1 2 3; 4 5 6], all ones, batch 2, n 3)",
                __LINE__);

    /* Random: 7 rows of 5 against the sum in double. */
    enum { B = 7, N = 5 };
    float p[B * N], t[B * N];
    nn_rng rng;
    nn_rng_seed(&rng, 51);
    fill_uniform(p, B * N, -2.0f, 2.0f, &rng);
    fill_uniform(t, B * N, -1.0f, 1.0f, &rng);
    double want = 0;
    for (int i = 0; i < B * N; i++)
        want += ((double)p[i] - t[i]) * ((double)p[i] - t[i]);
    expect_loss(nn_mse_loss(p, t, B, N), want / (B * N), 0, "nn_mse_loss(7 random rows of 5)",
                __LINE__);
    expect_loss(nn_mse_loss(p, p, B, N), 0.0, 0, "nn_mse_loss(x, x): no error at all", __LINE__);
}

/* ------------------------------------------------------------ binary cross-entropy */

static double bce_term_d(double p, double y)
{
    return -(y * fmax(log(p), -100.0) + (1.0 - y) * fmax(log(1.0 - p), -100.0));
}

static void test_bce(void)
{
    /* By hand: p = ½ gives ln 2 whatever y (both logs are ln ½);
     * p = 0.8, y = 1: −ln 0.8 = 0.22314; p = 0.8, y = 0: −ln 0.2 = 1.60944;
     * y = ¼ (a soft target) at p = ½: ln 2. Mean of the four:
     * (2 ln 2 − ln 0.8 − ln 0.2)/4 = (2 ln 2 + ln 6.25)/4 = ln 25 / 4 = 0.80472. */
    const float p[4] = {0.5f, 0.8f, 0.8f, 0.5f}, y[4] = {1, 1, 0, 0.25f};
    expect_loss(nn_bce_loss(p, y, 1), log(2.0), 0, "nn_bce_loss(p = 0.5, y = 1)", __LINE__);
    expect_loss(nn_bce_loss(p + 1, y + 1, 1), -log(0.8), 0, "nn_bce_loss(p = 0.8, y = 1)",
                __LINE__);
    float one_minus = nn_bce_loss(p + 2, y + 2, 1);
    if (fabsf(one_minus - (float)-log(0.8)) < 1e-4f)
        gr_hint("with y = 0 the loss is -log(1 - p): the (1 - y) log(1 - p) term is missing");
    expect_loss(one_minus, -log(0.2), 0, "nn_bce_loss(p = 0.8, y = 0)", __LINE__);
    float all = nn_bce_loss(p, y, 4);
    if (fabsf(all - (float)log(25.0)) < 1e-4f)
        gr_hint("the sum of the four terms: the loss is their mean (divide by n)");
    expect_loss(all, log(25.0) / 4, 0, "nn_bce_loss(the four above, n = 4)", __LINE__);

    /* 40 random (p, y) with p in [0.01, 0.99], y in [0, 1], against the
     * definition in double. */
    enum { N = 40 };
    float pr[N], yr[N];
    nn_rng rng;
    nn_rng_seed(&rng, 52);
    fill_uniform(pr, N, 0.01f, 0.99f, &rng);
    fill_uniform(yr, N, 0.0f, 1.0f, &rng);
    double want = 0;
    for (int i = 0; i < N; i++)
        want += bce_term_d(pr[i], yr[i]);
    expect_loss(nn_bce_loss(pr, yr, N), want / N, 0, "nn_bce_loss(40 random p and y)", __LINE__);
}

static void test_bce_edges(void)
{
    /* p = 0 or 1 exactly (a saturated sigmoid): each log is clamped at
     * −100 (header, as PyTorch), so
     *   p = 0, y = 0 and p = 1, y = 1: 0 (the clamped log is multiplied by 0);
     *   p = 0, y = 1 and p = 1, y = 0: 100.
     * And near 0: p = 1e−30, y = 1: −ln 1e−30 = 69.0776 (not clamped);
     * p = 1e−45 (a subnormal float, 1.4e−45), y = 1: ln p = −103.3, clamped: 100. */
    const float p[6] = {0, 1, 0, 1, 1e-30f, 1e-45f}, y[6] = {0, 1, 1, 0, 1, 1};
    const double want[6] = {0, 0, 100, 100, -log((double)1e-30f), 100};
    float got[6];
    for (int i = 0; i < 6; i++)
        got[i] = nn_bce_loss(p + i, y + i, 1);
    if (isnan(got[0]) || isnan(got[1]))
        gr_hint("NaN at p = 0, y = 0 (or p = 1, y = 1): 0·log(0) = 0·(-inf) is NaN. Clamp each "
                "log below at -100 before multiplying");
    else if (isinf(got[2]) || isinf(got[3]))
        gr_hint("inf at p = 0, y = 1: log(0) = -inf. Clamp each log below at -100 (as PyTorch)");
    else if (got[2] > 5 && got[2] < 40)
        gr_hint("p = 0, y = 1 gave %g: that is clamping p to [ε, 1 - ε]; the header clamps "
                "each log at -100 instead, so the loss there is 100", (double)got[2]);
    for (int i = 0; i < 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "nn_bce_loss(p = %g, y = %g)", (double)p[i], (double)y[i]);
        expect_loss(got[i], want[i], 0, what, __LINE__);
    }
    expect_loss(nn_bce_loss(p, y, 4), 50.0, 0, "nn_bce_loss(p = (0, 1, 0, 1), y = (0, 1, 1, 0))",
                __LINE__);
}

/* ------------------------------------------------------------ cross-entropy */

/* −log softmax(x)_y of one row, in double, shifted by the max. */
static double ce_row_d(const float *x, int classes, int label)
{
    double m = x[0], s = 0;
    for (int j = 1; j < classes; j++)
        m = fmax(m, x[j]);
    for (int j = 0; j < classes; j++)
        s += exp(x[j] - m);
    return (m - x[label]) + log(s);
}

static void test_cross_entropy(void)
{
    /* By hand: logits (0, ln 2, ln 3, ln 4, 0) have e^x = (1, 2, 3, 4, 1),
     * sum 11: label 3 costs −ln(4/11) = ln 2.75 = 1.01160, label 0 ln 11 =
     * 2.39790; the batch of both rows, their mean. Equal logits over 4
     * classes: ln 4 whatever the label. */
    const float l2 = (float)log(2.0), l3 = (float)log(3.0), l4 = (float)log(4.0);
    const float x[10] = {0, l2, l3, l4, 0, 0, l2, l3, l4, 0};
    const int lab[2] = {3, 0};
    expect_loss(nn_cross_entropy_loss(x, lab, 1, 5), log(2.75), 0,
                "nn_cross_entropy_loss((0, ln 2, ln 3, ln 4, 0), label 3)", __LINE__);
    expect_loss(nn_cross_entropy_loss(x + 5, lab + 1, 1, 5), log(11.0), 0,
                "nn_cross_entropy_loss((0, ln 2, ln 3, ln 4, 0), label 0)", __LINE__);
    float both = nn_cross_entropy_loss(x, lab, 2, 5);
    if (fabsf(both - (float)(log(2.75) + log(11.0))) < 1e-4f)
        gr_hint("the sum over the rows: the loss is the mean per row (divide by batch)");
    expect_loss(both, (log(2.75) + log(11.0)) / 2, 0, "nn_cross_entropy_loss(both rows, batch 2)",
                __LINE__);
    const float eq[4] = {1.5f, 1.5f, 1.5f, 1.5f};
    const int l1 = 2;
    expect_loss(nn_cross_entropy_loss(eq, &l1, 1, 4), log(4.0), 0,
                "nn_cross_entropy_loss(four equal logits)", __LINE__);

    /* 8 random rows of 10 logits in [−6, 6] against the formula in double. */
    enum { B = 8, K = 10 };
    float xr[B * K];
    int yr[B];
    nn_rng rng;
    nn_rng_seed(&rng, 53);
    fill_uniform(xr, B * K, -6.0f, 6.0f, &rng);
    double want = 0;
    for (int r = 0; r < B; r++) {
        yr[r] = (int)nn_rng_below(&rng, K);
        want += ce_row_d(xr + r * K, K, yr[r]);
    }
    expect_loss(nn_cross_entropy_loss(xr, yr, B, K), want / B, 0,
                "nn_cross_entropy_loss(8 random rows of 10)", __LINE__);
}

static void test_cross_entropy_large(void)
{
    /* Rows where e^x overflows float (x > 88.7) or a probability
     * underflows (e^{−104} is 0 even as a subnormal float), worked by hand
     * from −log softmax(x)_y = log Σ_j e^{x_j − x_y}:
     *   (1e4, 0),       y = 0: log(1 + e^{−1e4}) = 0
     *   (1e4, 0),       y = 1: 1e4 + log(1 + e^{−1e4}) = 1e4
     *   (1000, 1000),   y = 0: ln 2
     *   (−1e4, −1e4+1), y = 0: log(1 + e) = 1.31326
     *   (0, −200),      y = 1: 200 (softmax gives e^{−200}: 0 in float)
     *   (50, 0, −50),   y = 2: 100 + log(1 + e^{−50} + e^{−100}) = 100
     * Tolerance: the usual one plus one float rounding of the largest |x|. */
    const float x[6][3] = {{1e4f, 0, 0},        {1e4f, 0, 0},    {1000, 1000, 0},
                           {-1e4f, -1e4f + 1, 0}, {0, -200, 0}, {50, 0, -50}};
    const int classes[6] = {2, 2, 2, 2, 2, 3}, label[6] = {0, 1, 0, 0, 1, 2};
    const double want[6] = {0, 1e4, log(2.0), log1p(exp(1.0)), 200, 100};
    const float small[2] = {1, 2};
    const int zero = 0;
    float got_small = nn_cross_entropy_loss(small, &zero, 1, 2); /* finite: the function works */
    int hinted = 0;
    for (int i = 0; i < 6; i++) {
        float got = nn_cross_entropy_loss(x[i], label + i, 1, classes[i]);
        if (!hinted && isfinite(got_small) && !isfinite(got)) {
            hinted = 1;
            if (i == 4 || (i == 1 && isinf(got)))
                gr_hint("%g for a row where the label's probability underflows to 0: do not take "
                        "log(softmax); use -log p_y = (m - x_y) + log Σ_j e^{x_j - m} with m the "
                        "row max", (double)got);
            else
                gr_hint("%g for logits of size %g: e^x overflows float beyond x = 88.7. Subtract "
                        "the row max m first (log-sum-exp): -log p_y = (m - x_y) + "
                        "log Σ_j e^{x_j - m}", (double)got, (double)fabsf(x[i][0]));
        }
        char what[96];
        if (classes[i] == 2)
            snprintf(what, sizeof what, "nn_cross_entropy_loss((%g, %g), label %d)",
                     (double)x[i][0], (double)x[i][1], label[i]);
        else
            snprintf(what, sizeof what, "nn_cross_entropy_loss((%g, %g, %g), label %d)",
                     (double)x[i][0], (double)x[i][1], (double)x[i][2], label[i]);
        expect_loss(got, want[i], 1.2e-7 * fabs(x[i][0]), what, __LINE__);
    }
}

/* ------------------------------------------------------------ argmax, accuracy */

static void test_argmax(void)
{
    /* By hand: (3, 1, 2) -> 0; (−3, −1, −2) -> 1 (every value below 0);
     * (1, 5, 5, 2) -> 1 (first on ties); (7, 7, 7) -> 0; one value -> 0;
     * (−5, −5, −1) -> 2 (the largest last). */
    const float r1[3] = {3, 1, 2}, r2[3] = {-3, -1, -2}, r3[4] = {1, 5, 5, 2}, r4[3] = {7, 7, 7};
    const float r5[1] = {-4}, r6[3] = {-5, -5, -1};
    if (nn_argmax(r2, 3) == 0 && nn_argmax(r1, 3) == 0)
        gr_hint("argmax of (-3, -1, -2) gave 0: start from row[0] as the best so far, not from "
                "the value 0");
    else if (nn_argmax(r3, 4) == 2)
        gr_hint("argmax of (1, 5, 5, 2) gave 2: on ties the first index wins (compare with >, "
                "not >=), as numpy and PyTorch do");
    GR_ASSERT_NEAR(nn_argmax(r1, 3), 0, 0);
    GR_ASSERT_NEAR(nn_argmax(r2, 3), 1, 0);
    GR_ASSERT_NEAR(nn_argmax(r3, 4), 1, 0);
    GR_ASSERT_NEAR(nn_argmax(r4, 3), 0, 0);
    GR_ASSERT_NEAR(nn_argmax(r5, 1), 0, 0);
    GR_ASSERT_NEAR(nn_argmax(r6, 3), 2, 0);
}

static void test_accuracy(void)
{
    /* 4 rows of 3 scores; argmax 0, 2, 1 (tie of 1 and 2: the first), 2
     * (every score below 0); labels 0, 2, 2, 2: rows 0, 1, 3 right: 3/4. */
    const float s[12] = {0.9f, 0.05f, 0.05f, 1, 2, 3, 0.1f, 0.45f, 0.45f, -3, -2, -1};
    const int y[4] = {0, 2, 2, 2};
    float acc = nn_accuracy(s, y, 4, 3);
    if (acc == 0.0f)
        gr_hint("accuracy 0: an integer division? correct / batch with two ints is 0 for "
                "correct < batch; convert to float first");
    else if (acc == 75.0f)
        gr_hint("75: a percentage; the accuracy is a fraction in [0, 1]");
    else if (acc == 3.0f)
        gr_hint("3 is the number of right rows: divide by batch");
    else if (acc == 1.0f)
        gr_hint("accuracy 1: the tied row (0.1, 0.45, 0.45) with label 2 counts as wrong, its "
                "argmax is 1 (first on ties)");
    expect_loss(acc, 0.75, 0, "nn_accuracy(4 rows by hand, see lab03.c)", __LINE__);
    const int all[4] = {0, 2, 1, 2};
    expect_loss(nn_accuracy(s, all, 4, 3), 1.0, 0, "nn_accuracy(every row right)", __LINE__);
    const int none[4] = {1, 0, 0, 0};
    expect_loss(nn_accuracy(s, none, 4, 3), 0.0, 0, "nn_accuracy(every row wrong)", __LINE__);
    expect_loss(nn_accuracy(s, y + 1, 3, 3), 1.0 / 3.0, 0,
                "nn_accuracy(rows 0-2, labels 2, 2, 2): 1/3", __LINE__);
}

const gr_test gr_public_tests[] = {
    {"matmul naive", 3, 1.0, "nn_matmul_naive", test_matmul_naive},
    {"matmul through cblas_sgemm", 3, 1.0, "nn_matmul_blas", test_matmul_blas},
    {"dense forward", 4, 1.0, "nn_dense_forward", test_dense_forward},
    {"mlp forward", 4, 1.0, "nn_mlp_forward", test_mlp_forward},
    {"init uniform", 1, 1.0, "nn_init_uniform", test_init_uniform},
    {"init xavier", 2, 1.0, "nn_init_xavier", test_init_xavier},
    {"init he", 2, 1.0, "nn_init_he", test_init_he},
    {"deep network: activations by init", 2, 5.0,
     "nn_init_uniform,nn_init_xavier,nn_init_he,nn_mlp_forward", test_deep_network},
    {"mse loss", 2, 1.0, "nn_mse_loss", test_mse},
    {"binary cross-entropy", 2, 1.0, "nn_bce_loss", test_bce},
    {"binary cross-entropy at p = 0 and 1", 1, 1.0, "nn_bce_loss", test_bce_edges},
    {"softmax cross-entropy", 3, 1.0, "nn_cross_entropy_loss", test_cross_entropy},
    {"softmax cross-entropy at large logits", 2, 1.0, "nn_cross_entropy_loss",
     test_cross_entropy_large},
    {"argmax", 1, 1.0, "nn_argmax", test_argmax},
    {"accuracy", 2, 1.0, "nn_accuracy", test_accuracy},
    {NULL, 0, 0, NULL, NULL}
};
