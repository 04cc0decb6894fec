/*
 * Tests of lab 2 (activations.c). Every activation is checked against its
 * textbook formula evaluated in double, every derivative against a central
 * finite difference of that double formula, and softmax against the
 * unshifted definition; none of the expected values comes from nnlab.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>
#include "nnlab/activations.h"
#include "testutil.h"

/* The definitions, in double, written as plainly as possible. On the
 * inputs used here (|x| <= 6) none of them overflows or cancels badly. */
static double ref_step(double x) { return x >= 0.0 ? 1.0 : 0.0; }
static double ref_linear(double x) { return x; }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return (exp(2 * x) - 1.0) / (exp(2 * x) + 1.0); }
static double ref_relu(double x) { return x > 0.0 ? x : 0.0; }
static double ref_leaky(double x) { return x > 0.0 ? x : 0.01 * x; }
static double ref_elu(double x) { return x > 0.0 ? x : exp(x) - 1.0; }
static double ref_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double ref_softplus(double x) { return log(1.0 + exp(x)); }
static double ref_softsign(double x) { return x / (1.0 + fabs(x)); }
static double ref_swish(double x) { return x / (1.0 + exp(-x)); }
static double ref_mish(double x) { return x * tanh(log(1.0 + exp(x))); }

static const struct {
    nn_act act;
    const char *name;
    float (*f)(float);
    float (*df)(float);
    double (*ref)(double);
} acts[] = {
    {NN_ACT_STEP, "step", nn_step, nn_step_grad, ref_step},
    {NN_ACT_LINEAR, "linear", nn_linear, nn_linear_grad, ref_linear},
    {NN_ACT_SIGMOID, "sigmoid", nn_sigmoid, nn_sigmoid_grad, ref_sigmoid},
    {NN_ACT_TANH, "tanh", nn_tanh, nn_tanh_grad, ref_tanh},
    {NN_ACT_RELU, "relu", nn_relu, nn_relu_grad, ref_relu},
    {NN_ACT_LEAKY_RELU, "leaky_relu", nn_leaky_relu, nn_leaky_relu_grad, ref_leaky},
    {NN_ACT_ELU, "elu", nn_elu, nn_elu_grad, ref_elu},
    {NN_ACT_GELU, "gelu", nn_gelu, nn_gelu_grad, ref_gelu},
    {NN_ACT_SOFTPLUS, "softplus", nn_softplus, nn_softplus_grad, ref_softplus},
    {NN_ACT_SOFTSIGN, "softsign", nn_softsign, nn_softsign_grad, ref_softsign},
    {NN_ACT_SWISH, "swish", nn_swish, nn_swish_grad, ref_swish},
    {NN_ACT_MISH, "mish", nn_mish, nn_mish_grad, ref_mish},
};
enum { N_ACTS = (int)(sizeof acts / sizeof acts[0]) };

/* Assert rel_err(got, want) < tol, the message naming the function and x. */
static void expect(double got, double want, double tol, const char *what, double x,
                   unsigned line)
{
    double err = tu_rel_err_d(&got, &want, 1);
    char msg[200];
    snprintf(msg, sizeof msg, "%s(%g) = %.9g, expected %.9g (rel err %.2g, tol %.0e)",
             what, x, got, want, err, tol);
    CU_assertImplementation(err < tol, line, msg, __FILE__, "", CU_FALSE);
}

/* Central difference (f(x + h) − f(x − h)) / 2h: error O(h²) from the
 * Taylor series plus O(ε/h) from rounding; h = 1e-5 in double puts both
 * near 1e-10. */
static double central_diff(double (*f)(double), double x)
{
    const double h = 1e-5;
    return (f(x + h) - f(x - h)) / (2.0 * h);
}

static void test_values(void)
{
    /* Float results within 1e-5 of the double formula: a few roundings.
     * x = ±1e-3 catch e^x − 1 computed without expm1 in ELU. */
    const float xs[] = {-6, -3, -1, -0.5f, -1e-3f, 0, 1e-3f, 0.25f, 1, 2.5f, 6};
    CU_ASSERT_EQUAL_FATAL(N_ACTS, NN_ACT_COUNT); /* the table covers the enum */
    for (int k = 0; k < N_ACTS; k++)
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
            expect(acts[k].f(xs[i]), acts[k].ref(xs[i]), 1e-5, acts[k].name, xs[i],
                   __LINE__);
}

static void test_derivatives_vs_finite_differences(void)
{
    /* Tolerance 1e-4: f' is computed in float, and 1 − tanh² x loses
     * digits where tanh x is near ±1 (about 1e-5 at x = 3). The points
     * stay off 0, where step, ReLU and leaky ReLU have no derivative. */
    const float xs[] = {-3, -1.5f, -0.3f, 0.2f, 0.7f, 1.3f, 3};
    char what[64];
    for (int k = 0; k < N_ACTS; k++)
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            double want = central_diff(acts[k].ref, xs[i]);
            snprintf(what, sizeof what, "%s_grad", acts[k].name);
            expect(acts[k].df(xs[i]), want, 1e-4, what, xs[i], __LINE__);
            snprintf(what, sizeof what, "nn_activation_grad(%s)", acts[k].name);
            expect(nn_activation_grad(acts[k].act, xs[i]), want, 1e-4, what, xs[i],
                   __LINE__);
        }
}

static void test_derivatives_at_zero(void)
{
    /* The kinks take the header's conventions; the smooth ones are
     * worked by hand: σ'(0) = ¼, Φ(0) = ½, mish'(0) = tanh(log 2) = 3/5. */
    TU_ASSERT_NEAR(nn_step_grad(0.0f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_relu_grad(0.0f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_leaky_relu_grad(0.0f), NN_LEAKY_SLOPE, 0.0);
    TU_ASSERT_NEAR(nn_elu_grad(0.0f), NN_ELU_ALPHA, 1e-7);
    TU_ASSERT_NEAR(nn_linear_grad(0.0f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_sigmoid_grad(0.0f), 0.25, 1e-7);
    TU_ASSERT_NEAR(nn_tanh_grad(0.0f), 1.0, 1e-7);
    TU_ASSERT_NEAR(nn_gelu_grad(0.0f), 0.5, 1e-7);
    TU_ASSERT_NEAR(nn_softplus_grad(0.0f), 0.5, 1e-7);
    TU_ASSERT_NEAR(nn_softsign_grad(0.0f), 1.0, 1e-7);
    TU_ASSERT_NEAR(nn_swish_grad(0.0f), 0.5, 1e-7);
    TU_ASSERT_NEAR(nn_mish_grad(0.0f), 0.6, 1e-6);
    /* Just beside the kinks, the slopes of each side. */
    TU_ASSERT_NEAR(nn_relu_grad(1e-6f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_relu_grad(-1e-6f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_leaky_relu_grad(-1e-6f), NN_LEAKY_SLOPE, 0.0);
}

static void test_extreme_inputs(void)
{
    /* |x| = 1e4 overflows e^{|x|} in float: results must still be finite. */
    const float xs[] = {-1e4f, 1e4f};
    for (int k = 0; k < N_ACTS; k++)
        for (int i = 0; i < 2; i++) {
            float f = acts[k].f(xs[i]), df = acts[k].df(xs[i]);
            char msg[120];
            snprintf(msg, sizeof msg, "%s(%g) = %g, %s_grad = %g: not finite",
                     acts[k].name, xs[i], f, acts[k].name, df);
            CU_assertImplementation(isfinite(f) && isfinite(df), __LINE__, msg,
                                    __FILE__, "", CU_FALSE);
        }
    /* The limits, exactly: σ → 0, 1; softplus → 0, x. */
    TU_ASSERT_NEAR(nn_sigmoid(-1e4f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_sigmoid(1e4f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_softplus(-1e4f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_softplus(1e4f), 1e4, 0.0);
    TU_ASSERT_NEAR(nn_softplus_grad(1e4f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_elu(-1e4f), -NN_ELU_ALPHA, 0.0);
    TU_ASSERT_NEAR(nn_mish(1e4f), 1e4, 0.0);
}

static void test_forward_arrays(void)
{
    /* nn_activation_forward on 1000 points of [−6, 6], out-of-place and in
     * place, element by element against the double formula. */
    enum { N = 1000 };
    static float in[N], out[N], want[N], inplace[N];
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    tu_fill(in, N, -6.0f, 6.0f, &rng);
    for (int k = 0; k < N_ACTS; k++) {
        for (int i = 0; i < N; i++) {
            want[i] = (float)acts[k].ref(in[i]);
            out[i] = NAN;
        }
        memcpy(inplace, in, sizeof in);
        nn_activation_forward(out, in, N, acts[k].act);
        nn_activation_forward(inplace, inplace, N, acts[k].act);
        double err = tu_rel_err(out, want, N), err_inplace = tu_rel_err(inplace, want, N);
        char msg[120];
        snprintf(msg, sizeof msg, "nn_activation_forward(%s): rel err %.2g, in place %.2g",
                 acts[k].name, err, err_inplace);
        CU_assertImplementation(err < 1e-5 && err_inplace < 1e-5, __LINE__, msg,
                                __FILE__, "", CU_FALSE);
    }
}

/* Softmax of one row by its definition, in double, with no shift. */
static void ref_softmax(double *y, const float *x, int n)
{
    double sum = 0.0;
    for (int j = 0; j < n; j++)
        sum += exp(x[j]);
    for (int j = 0; j < n; j++)
        y[j] = exp(x[j]) / sum;
}

enum { ROWS = 4, COLS = 7 };

static void random_logits(float *x, int n)
{
    nn_rng rng;
    nn_rng_seed(&rng, 9);
    tu_fill(x, n, -5.0f, 5.0f, &rng);
}

static void test_softmax_values(void)
{
    float x[ROWS * COLS], y[ROWS * COLS], want[ROWS * COLS];
    double p[COLS];
    random_logits(x, ROWS * COLS);
    for (int i = 0; i < ROWS * COLS; i++)
        y[i] = NAN;
    nn_softmax_forward(y, x, ROWS, COLS);
    for (int r = 0; r < ROWS; r++) {
        ref_softmax(p, x + r * COLS, COLS);
        double sum = 0.0;
        for (int j = 0; j < COLS; j++) {
            want[r * COLS + j] = (float)p[j];
            sum += y[r * COLS + j];
        }
        TU_ASSERT_NEAR(sum, 1.0, 1e-6);
    }
    TU_ASSERT_CLOSE(y, want, ROWS * COLS, 1e-5);
    nn_softmax_forward(x, x, ROWS, COLS); /* in place */
    TU_ASSERT_CLOSE(x, want, ROWS * COLS, 1e-5);
}

static void test_softmax_large_logits(void)
{
    /* Shifting a row changes nothing: softmax(10⁴ + t) = softmax(t). The
     * second row is one-hot to float precision (e^{−10⁴} underflows). */
    const float x[6] = {1e4f, 1e4f - 1.0f, 1e4f - 2.0f, -1e4f, 0.0f, 1e4f};
    const float t[3] = {0.0f, -1.0f, -2.0f};
    float y[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, want[6];
    double p[3];
    ref_softmax(p, t, 3);
    for (int j = 0; j < 3; j++)
        want[j] = (float)p[j];
    want[3] = want[4] = 0.0f;
    want[5] = 1.0f;
    nn_softmax_forward(y, x, 2, 3);
    TU_ASSERT_CLOSE(y, want, 6, 1e-6);
}

static void test_log_softmax_values(void)
{
    float x[ROWS * COLS], y[ROWS * COLS], want[ROWS * COLS];
    random_logits(x, ROWS * COLS);
    for (int i = 0; i < ROWS * COLS; i++)
        y[i] = NAN;
    nn_log_softmax_forward(y, x, ROWS, COLS);
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x + r * COLS;
        double sum = 0.0, lse = 0.0;
        for (int j = 0; j < COLS; j++)
            lse += exp(xr[j]);
        lse = log(lse);
        for (int j = 0; j < COLS; j++) {
            want[r * COLS + j] = (float)(xr[j] - lse);
            sum += exp(y[r * COLS + j]);
        }
        TU_ASSERT_NEAR(log(sum), 0.0, 1e-6); /* log Σ softmax = 0 */
    }
    TU_ASSERT_CLOSE(y, want, ROWS * COLS, 1e-5);
    nn_log_softmax_forward(x, x, ROWS, COLS); /* in place */
    TU_ASSERT_CLOSE(x, want, ROWS * COLS, 1e-5);
}

static void test_log_softmax_large_logits(void)
{
    /* Rows (10⁴, 10⁴), (10⁴, −10⁴), (−10⁴, −10⁴):
     * −log 2 twice; 0 and −2·10⁴ (e^{−2·10⁴} vanishes beside 1); −log 2 twice.
     * −log 2 must come out to float precision, not to the 0.001 spacing of
     * floats near 10⁴. */
    const float x[6] = {1e4f, 1e4f, 1e4f, -1e4f, -1e4f, -1e4f};
    float y[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    const float ln2 = (float)log(2.0);
    const float want[6] = {-ln2, -ln2, 0.0f, -2e4f, -ln2, -ln2};
    nn_log_softmax_forward(y, x, 3, 2);
    TU_ASSERT_CLOSE(y, want, 6, 1e-6);
}

void suite_activations(void)
{
    CU_pSuite s = CU_add_suite("activations", NULL, NULL);
    CU_add_test(s, "values vs double formulas", test_values);
    CU_add_test(s, "derivatives vs finite differences", test_derivatives_vs_finite_differences);
    CU_add_test(s, "derivatives at 0", test_derivatives_at_zero);
    CU_add_test(s, "finite at +-1e4", test_extreme_inputs);
    CU_add_test(s, "activation_forward on arrays", test_forward_arrays);
    CU_add_test(s, "softmax values", test_softmax_values);
    CU_add_test(s, "softmax at 1e4 logits", test_softmax_large_logits);
    CU_add_test(s, "log-softmax values", test_log_softmax_values);
    CU_add_test(s, "log-softmax at 1e4 logits", test_log_softmax_large_logits);
}
