/*
 * Lab 2 (activations.c) — public tests.
 *
 * Where the expected values come from: every activation is written out
 * below in double precision, in a form that cannot overflow; every
 * derivative is checked against a central finite difference of that double
 * formula, (f(x + h) − f(x − h)) / 2h with h = 1e-5, accurate to about
 * 1e-10 (truncation h²·f'''/6 plus rounding ε·|f|/h). Conventions at the
 * kinks come from the header (activations.h) and are worked by hand. None
 * of the numbers was captured from the reference.
 *
 * Tolerance, for values and derivatives alike: |got − want| <= 1e-5·|want|
 * + 1e-6. The relative part allows a few float roundings; the absolute part
 * allows the cancellation every textbook formula has somewhere (1 − tanh²x
 * near |x| = 5, ½(1 + erf(x/√2)) in the left tail, e^x − 1 near 0). The
 * mistakes these tests are after are far bigger: the tanh approximation of
 * GELU is off by 1e-4 to 5e-4, 1 − x² for tanh' by O(1), and ∞ or NaN never
 * passes.
 *
 * Each value test writes its curve on [−5, 5] to gr_out_dir()/data/
 * lab02-<name>.csv (x,f), each derivative test lab02-<name>-grad.csv (x,df);
 * the softmax tests write lab02-softmax.csv and lab02-log-softmax.csv. The
 * report draws them over the reference's (grader/plots/lab02.sh).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "nnlab/activations.h"

/* ------------------------------------------------------------ the formulas, in double */

static double sigmoid_d(double x)
{
    double e = exp(-fabs(x)); /* <= 1: no overflow on either side */
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
static double softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static double step_d(double x) { return x >= 0.0 ? 1.0 : 0.0; }
static double linear_d(double x) { return x; }
static double tanh_d(double x) { return tanh(x); }
static double relu_d(double x) { return x > 0.0 ? x : 0.0; }
static double leaky_d(double x) { return x > 0.0 ? x : 0.01 * x; }
static double elu_d(double x) { return x > 0.0 ? x : expm1(x); }
static double gelu_d(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); } /* x Φ(x) */
static double softsign_d(double x) { return x / (1.0 + fabs(x)); }
static double swish_d(double x) { return x * sigmoid_d(x); }
static double mish_d(double x) { return x * tanh(softplus_d(x)); }

/* The activations in enum order. `kink`: no derivative at 0, so the
 * finite difference skips x = 0 and the header's convention is checked. */
typedef struct {
    const char *name; /* in messages */
    const char *slug; /* in file names */
    float (*f)(float);
    float (*df)(float);
    double (*ref)(double);
    int kink;
} act_info;

static const act_info acts[NN_ACT_COUNT] = {
    [NN_ACT_STEP] = {"nn_step", "step", nn_step, nn_step_grad, step_d, 1},
    [NN_ACT_LINEAR] = {"nn_linear", "linear", nn_linear, nn_linear_grad, linear_d, 0},
    [NN_ACT_SIGMOID] = {"nn_sigmoid", "sigmoid", nn_sigmoid, nn_sigmoid_grad, sigmoid_d, 0},
    [NN_ACT_TANH] = {"nn_tanh", "tanh", nn_tanh, nn_tanh_grad, tanh_d, 0},
    [NN_ACT_RELU] = {"nn_relu", "relu", nn_relu, nn_relu_grad, relu_d, 1},
    [NN_ACT_LEAKY_RELU] = {"nn_leaky_relu", "leaky-relu", nn_leaky_relu, nn_leaky_relu_grad,
                           leaky_d, 1},
    [NN_ACT_ELU] = {"nn_elu", "elu", nn_elu, nn_elu_grad, elu_d, 1},
    [NN_ACT_GELU] = {"nn_gelu", "gelu", nn_gelu, nn_gelu_grad, gelu_d, 0},
    [NN_ACT_SOFTPLUS] = {"nn_softplus", "softplus", nn_softplus, nn_softplus_grad, softplus_d, 0},
    [NN_ACT_SOFTSIGN] = {"nn_softsign", "softsign", nn_softsign, nn_softsign_grad, softsign_d, 1},
    [NN_ACT_SWISH] = {"nn_swish", "swish", nn_swish, nn_swish_grad, swish_d, 0},
    [NN_ACT_MISH] = {"nn_mish", "mish", nn_mish, nn_mish_grad, mish_d, 0},
};

static const char *const enum_names[NN_ACT_COUNT] = {
    "NN_ACT_STEP", "NN_ACT_LINEAR",   "NN_ACT_SIGMOID", "NN_ACT_TANH",
    "NN_ACT_RELU", "NN_ACT_LEAKY_RELU", "NN_ACT_ELU",   "NN_ACT_GELU",
    "NN_ACT_SOFTPLUS", "NN_ACT_SOFTSIGN", "NN_ACT_SWISH", "NN_ACT_MISH",
};

/* Central difference of the double formula (see the top of the file). */
static double slope_d(double (*f)(double), double x)
{
    const double h = 1e-5;
    return (f(x + h) - f(x - h)) / (2.0 * h);
}

/* ------------------------------------------------------------ helpers */

#define RTOL 1e-5
#define ATOL 1e-6

/* Assert |got − want| <= RTOL·|want| + ATOL; `what` names the call. */
static void expect(double got, double want, const char *what, int line)
{
    gr_assert_near(got, want, RTOL * fabs(want) + ATOL, what, __FILE__, line);
}

static int close_enough(double got, double want)
{
    return fabs(got - want) <= RTOL * fabs(want) + ATOL; /* false for NaN */
}

/* Open gr_out_dir()/data/NAME for writing (creating data/), or NULL: a
 * curve that cannot be written costs no points, the report just lacks it. */
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

/* The plotted grid: x = −5, −4.95, ..., 5 (x = 0 exactly at i = 100). */
enum { GRID = 201 };
static float grid_x(int i) { return (float)(i - 100) / 20.0f; }

/* Points off the grid: large |x| (where e^{|x|} overflows float beyond
 * 88.7), and tiny ones. */
static const float far_x[] = {-1e4f, -1000.0f, -100.0f, -20.0f, -1e-3f,
                              1e-3f,  20.0f,    100.0f,  1000.0f, 1e4f};
enum { N_FAR = (int)(sizeof far_x / sizeof far_x[0]) };

static void write_curve(const char *slug, const char *suffix, const char *col, const float *y)
{
    char name[64];
    snprintf(name, sizeof name, "lab02-%s%s.csv", slug, suffix);
    FILE *f = open_data(name);
    if (!f)
        return;
    fprintf(f, "x,%s\n", col);
    for (int i = 0; i < GRID; i++)
        fprintf(f, "%g,%.9g\n", (double)grid_x(i), (double)y[i]);
    fclose(f);
}

/* Values of activation a: the grid (written out for the plot) and the
 * far points, against the double formula. */
static void check_values(nn_act a)
{
    const act_info *A = &acts[a];
    float y[GRID];
    gr_poison(y, GRID);
    for (int i = 0; i < GRID; i++)
        y[i] = A->f(grid_x(i));
    write_curve(A->slug, "", "f", y);

    char what[64];
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < GRID; i++) {
        double want = A->ref(grid_x(i));
        double ratio = fabs(y[i] - want) / (RTOL * fabs(want) + ATOL);
        if (!(ratio <= worst_ratio)) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    snprintf(what, sizeof what, "%s(%g)", A->name, (double)grid_x(worst));
    expect(y[worst], A->ref(grid_x(worst)), what, __LINE__);
    for (int i = 0; i < N_FAR; i++) {
        snprintf(what, sizeof what, "%s(%g)", A->name, (double)far_x[i]);
        expect(A->f(far_x[i]), A->ref(far_x[i]), what, __LINE__);
    }
}

/* Derivative of activation a: the grid (written out) and the far points,
 * against the central difference of the double formula; x = 0 skipped for
 * the kinked ones (each test checks its convention). */
static void check_derivative(nn_act a)
{
    const act_info *A = &acts[a];
    float dy[GRID];
    gr_poison(dy, GRID);
    for (int i = 0; i < GRID; i++)
        dy[i] = A->df(grid_x(i));
    write_curve(A->slug, "-grad", "df", dy);

    char what[64];
    int worst = -1;
    double worst_ratio = -1.0;
    for (int i = 0; i < GRID; i++) {
        if (A->kink && i == 100)
            continue;
        double want = slope_d(A->ref, grid_x(i));
        double ratio = fabs(dy[i] - want) / (RTOL * fabs(want) + ATOL);
        if (!(ratio <= worst_ratio)) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    snprintf(what, sizeof what, "%s_grad(%g)", A->name, (double)grid_x(worst));
    expect(dy[worst], slope_d(A->ref, grid_x(worst)), what, __LINE__);
    for (int i = 0; i < N_FAR; i++) {
        snprintf(what, sizeof what, "%s_grad(%g)", A->name, (double)far_x[i]);
        expect(A->df(far_x[i]), slope_d(A->ref, far_x[i]), what, __LINE__);
    }
}

/* The first far point where f (or f') is not finite, or 0. */
static float first_nonfinite(float (*f)(float))
{
    for (int i = 0; i < N_FAR; i++)
        if (!isfinite(f(far_x[i])))
            return far_x[i];
    return 0.0f;
}

#define EXPECT(got, want, what) expect((got), (want), (what), __LINE__)

/* ------------------------------------------------------------ step, linear */

static void test_step(void)
{
    /* step(x) = 1 for x >= 0, else 0: step(0) = 1 (as nn_neuron_step in
     * lab 1). Its derivative is 0 wherever it exists; 0 at x = 0 too. */
    if (nn_step(0.0f) == 0.0f && nn_step(1.0f) == 1.0f)
        gr_hint("step(0) should be 1: the step fires for x >= 0");
    check_values(NN_ACT_STEP);
    EXPECT(nn_step(0.0f), 1.0, "nn_step(0)");
    check_derivative(NN_ACT_STEP);
    EXPECT(nn_step_grad(0.0f), 0.0, "nn_step_grad(0)");
}

static void test_linear(void)
{
    /* f(x) = x, f'(x) = 1 everywhere. */
    check_values(NN_ACT_LINEAR);
    check_derivative(NN_ACT_LINEAR);
    EXPECT(nn_linear_grad(0.0f), 1.0, "nn_linear_grad(0)");
}

/* ------------------------------------------------------------ sigmoid */

static void test_sigmoid(void)
{
    float bad = first_nonfinite(nn_sigmoid);
    if (bad > 0)
        gr_hint("sigmoid gave %g for x = %g: e^x / (1 + e^x) is inf/inf there. Compute "
                "e^{-|x|} (it never overflows) and branch on the sign of x",
                (double)nn_sigmoid(bad), (double)bad);
    else if (bad < 0)
        gr_hint("sigmoid overflowed for x = %g: compute exp(-|x|) and branch on the sign",
                (double)bad);
    /* σ(0) = ½; σ(ln 3) = 1/(1 + ⅓) = ¾. */
    EXPECT(nn_sigmoid(0.0f), 0.5, "nn_sigmoid(0)");
    EXPECT(nn_sigmoid((float)log(3.0)), 0.75, "nn_sigmoid(ln 3)");
    check_values(NN_ACT_SIGMOID);
}

static void test_sigmoid_grad(void)
{
    float bad = first_nonfinite(nn_sigmoid_grad);
    if (bad < 0)
        gr_hint("sigmoid'(%g) came out %g: e^{-x} / (1 + e^{-x})^2 is inf/inf there. Use "
                "σ(x)(1 - σ(x)) with your stable σ", (double)bad, (double)nn_sigmoid_grad(bad));
    else if (bad > 0)
        gr_hint("sigmoid'(%g) came out %g: use σ(x)(1 - σ(x)) with a σ that never overflows",
                (double)bad, (double)nn_sigmoid_grad(bad));
    /* σ'(0) = σ(0)(1 − σ(0)) = ¼, its largest value. */
    EXPECT(nn_sigmoid_grad(0.0f), 0.25, "nn_sigmoid_grad(0)");
    check_derivative(NN_ACT_SIGMOID);
}

/* ------------------------------------------------------------ tanh */

static void test_tanh(void)
{
    float bad = first_nonfinite(nn_tanh);
    if (bad != 0)
        gr_hint("tanh gave %g for x = %g: (e^{2x} - 1) / (e^{2x} + 1) is inf/inf there. Use "
                "tanhf, or branch on the sign so that only e^{-2|x|} is computed",
                (double)nn_tanh(bad), (double)bad);
    /* tanh(ln 2) = (2 − ½)/(2 + ½) = 3/5. */
    EXPECT(nn_tanh((float)log(2.0)), 0.6, "nn_tanh(ln 2)");
    check_values(NN_ACT_TANH);
}

static void test_tanh_grad(void)
{
    /* tanh'(x) = 1 − tanh²x: tanh'(0) = 1, tanh'(ln 2) = 1 − 9/25 = 16/25. */
    if (fabsf(nn_tanh_grad(2.0f) + 3.0f) < 1e-3f)
        gr_hint("tanh'(x) = 1 - tanh(x)^2, not 1 - x^2 (that would hold if x were already "
                "tanh's output)");
    EXPECT(nn_tanh_grad(0.0f), 1.0, "nn_tanh_grad(0)");
    EXPECT(nn_tanh_grad((float)log(2.0)), 0.64, "nn_tanh_grad(ln 2)");
    check_derivative(NN_ACT_TANH);
}

/* ------------------------------------------------------------ ReLU */

static void test_relu(void)
{
    EXPECT(nn_relu(0.0f), 0.0, "nn_relu(0)");
    EXPECT(nn_relu(2.5f), 2.5, "nn_relu(2.5)");
    check_values(NN_ACT_RELU);
}

static void test_relu_grad(void)
{
    /* 1 for x > 0, 0 for x < 0, and 0 at x = 0 by the header's convention
     * (PyTorch's too): any value in [0, 1] is a subgradient there, and a
     * fixed choice makes results comparable. */
    if (nn_relu_grad(0.0f) == 1.0f && nn_relu_grad(1.0f) == 1.0f)
        gr_hint("ReLU'(0) should be 0 (as PyTorch): use x > 0, not x >= 0");
    EXPECT(nn_relu_grad(0.0f), 0.0, "nn_relu_grad(0)");
    EXPECT(nn_relu_grad(1e-3f), 1.0, "nn_relu_grad(0.001)");
    EXPECT(nn_relu_grad(-1e-3f), 0.0, "nn_relu_grad(-0.001)");
    check_derivative(NN_ACT_RELU);
}

/* ------------------------------------------------------------ leaky ReLU */

static void test_leaky_relu(void)
{
    /* x for x > 0, NN_LEAKY_SLOPE·x = 0.01·x otherwise. */
    if (fabsf(nn_leaky_relu(2.0f) - 0.02f) < 1e-6f)
        gr_hint("leaky slope applied to positive inputs: f(x) = x for x > 0, 0.01 x for x <= 0");
    else if (nn_leaky_relu(-2.0f) == 0.0f && nn_leaky_relu(2.0f) == 2.0f)
        gr_hint("negative inputs give 0: that is ReLU. Leaky ReLU lets NN_LEAKY_SLOPE·x through "
                "for x <= 0");
    EXPECT(nn_leaky_relu(2.0f), 2.0, "nn_leaky_relu(2)");
    EXPECT(nn_leaky_relu(-2.0f), -0.02, "nn_leaky_relu(-2)");
    EXPECT(nn_leaky_relu(0.0f), 0.0, "nn_leaky_relu(0)");
    check_values(NN_ACT_LEAKY_RELU);
}

static void test_leaky_relu_grad(void)
{
    /* 1 for x > 0, NN_LEAKY_SLOPE for x <= 0: 0 belongs to the leaky side,
     * as ReLU'(0) = 0. */
    if (fabsf(nn_leaky_relu_grad(2.0f) - 0.01f) < 1e-7f)
        gr_hint("leaky slope applied to positive inputs: the derivative is 1 for x > 0");
    else if (nn_leaky_relu_grad(0.0f) == 1.0f && nn_leaky_relu_grad(-1.0f) == 0.01f)
        gr_hint("leaky ReLU'(0) should be NN_LEAKY_SLOPE: 0 counts as the negative side (as "
                "ReLU'(0) = 0)");
    EXPECT(nn_leaky_relu_grad(2.0f), 1.0, "nn_leaky_relu_grad(2)");
    EXPECT(nn_leaky_relu_grad(-2.0f), NN_LEAKY_SLOPE, "nn_leaky_relu_grad(-2)");
    EXPECT(nn_leaky_relu_grad(0.0f), NN_LEAKY_SLOPE, "nn_leaky_relu_grad(0)");
    check_derivative(NN_ACT_LEAKY_RELU);
}

/* ------------------------------------------------------------ ELU */

static void test_elu(void)
{
    /* x for x > 0, α(e^x − 1) otherwise (α = NN_ELU_ALPHA = 1): ELU(0) = 0,
     * ELU(−ln 2) = ½ − 1 = −½, ELU → −α as x → −∞. */
    if (fabsf(nn_elu(-1.0f) - expf(-1.0f)) < 1e-6f)
        gr_hint("ELU(x) = α (e^x - 1) for x <= 0: the - 1 is missing");
    EXPECT(nn_elu(0.0f), 0.0, "nn_elu(0)");
    EXPECT(nn_elu((float)-log(2.0)), -0.5, "nn_elu(-ln 2)");
    check_values(NN_ACT_ELU);
}

static void test_elu_grad(void)
{
    /* 1 for x > 0, α e^x otherwise; both sides give 1 at x = 0 (α = 1). */
    if (fabsf(nn_elu_grad(-1.0f) - expm1f(-1.0f)) < 1e-6f)
        gr_hint("ELU'(x) = α e^x for x <= 0 (ELU(x) + α), not α (e^x - 1)");
    EXPECT(nn_elu_grad(0.0f), NN_ELU_ALPHA, "nn_elu_grad(0)");
    EXPECT(nn_elu_grad((float)-log(2.0)), 0.5, "nn_elu_grad(-ln 2)");
    check_derivative(NN_ACT_ELU);
}

/* ------------------------------------------------------------ GELU */

/* The tanh approximation of GELU (Hendrycks and Gimpel 2016), in double:
 * only to recognise it and say so. */
static double gelu_tanh_d(double x)
{
    const double pi = 3.14159265358979323846;
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
}

static void test_gelu(void)
{
    /* x Φ(x), Φ the standard normal CDF. GELU(0) = 0; GELU(1) = Φ(1) =
     * 0.841344746...; the tanh approximation is off by 4.7e-4 at x = 2.7,
     * far outside the tolerance. */
    float g = nn_gelu(2.7f);
    if (fabs(g - gelu_tanh_d(2.7f)) < 2e-5 && !close_enough(g, gelu_d(2.7f)))
        gr_hint("that is the tanh approximation of GELU; this lab wants the exact "
                "x Φ(x) = x · ½(1 + erf(x/√2)) (erff or erfcf from <math.h>)");
    EXPECT(nn_gelu(0.0f), 0.0, "nn_gelu(0)");
    EXPECT(nn_gelu(1.0f), 0.841344746068543, "nn_gelu(1)");
    check_values(NN_ACT_GELU);
}

static void test_gelu_grad(void)
{
    /* GELU'(x) = Φ(x) + x φ(x): ½ at 0; Φ(1) + φ(1) = 0.841344746 +
     * 0.241970725 = 1.083315471 at 1. */
    float d1 = nn_gelu_grad(1.0f);
    if (fabs(d1 - 0.841344746068543) < 1e-5)
        gr_hint("GELU'(x) = Φ(x) + x φ(x): the product rule gives two terms, the second "
                "with φ(x) = e^{-x²/2} / √(2π)");
    else if (fabs(nn_gelu_grad(2.0f) - slope_d(gelu_tanh_d, 2.0)) < 5e-5)
        gr_hint("that is the derivative of the tanh approximation of GELU; this lab wants the "
                "exact Φ(x) + x φ(x)");
    EXPECT(nn_gelu_grad(0.0f), 0.5, "nn_gelu_grad(0)");
    EXPECT(d1, 1.083315470594, "nn_gelu_grad(1)");
    check_derivative(NN_ACT_GELU);
}

/* ------------------------------------------------------------ softplus */

static void test_softplus(void)
{
    /* log(1 + e^x): log 2 at 0; → x for large x (softplus(100) = 100 +
     * log1p(e^−100) = 100 in float), → e^x for very negative x. */
    float bad = first_nonfinite(nn_softplus);
    if (bad != 0)
        gr_hint("softplus overflowed for x = %g: log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})",
                (double)bad);
    EXPECT(nn_softplus(0.0f), log(2.0), "nn_softplus(0)");
    check_values(NN_ACT_SOFTPLUS);
}

static void test_softplus_grad(void)
{
    /* softplus' = e^x / (1 + e^x) = σ(x): ½ at 0. */
    float bad = first_nonfinite(nn_softplus_grad);
    if (bad != 0)
        gr_hint("softplus'(%g) came out %g: softplus' is σ(x), so call your stable sigmoid",
                (double)bad, (double)nn_softplus_grad(bad));
    EXPECT(nn_softplus_grad(0.0f), 0.5, "nn_softplus_grad(0)");
    check_derivative(NN_ACT_SOFTPLUS);
}

/* ------------------------------------------------------------ softsign */

static void test_softsign(void)
{
    /* x / (1 + |x|): ±½ at ±1, → ±1 slowly. */
    if (fabsf(nn_softsign(-1.0f) - 0.5f) < 1e-6f)
        gr_hint("softsign(-1) should be -1/2: divide x (not |x|) by 1 + |x|");
    EXPECT(nn_softsign(1.0f), 0.5, "nn_softsign(1)");
    EXPECT(nn_softsign(-3.0f), -0.75, "nn_softsign(-3)");
    check_values(NN_ACT_SOFTSIGN);
}

static void test_softsign_grad(void)
{
    /* 1 / (1 + |x|)²: 1 at 0 (from both sides), ¼ at ±1, 1/16 at ±3. */
    float d = nn_softsign_grad(-3.0f);
    if (fabsf(d - 0.25f) < 1e-6f)
        gr_hint("softsign'(x) = 1 / (1 + |x|)^2: the square is missing");
    else if (fabsf(d - 0.1f) < 1e-6f)
        gr_hint("softsign'(x) = 1 / (1 + |x|)^2, not 1 / (1 + x^2)");
    EXPECT(nn_softsign_grad(0.0f), 1.0, "nn_softsign_grad(0)");
    EXPECT(nn_softsign_grad(1.0f), 0.25, "nn_softsign_grad(1)");
    EXPECT(d, 1.0 / 16.0, "nn_softsign_grad(-3)");
    check_derivative(NN_ACT_SOFTSIGN);
}

/* ------------------------------------------------------------ swish */

static void test_swish(void)
{
    /* x σ(x): 0 at 0; ln 3 · ¾ at ln 3. */
    float bad = first_nonfinite(nn_swish);
    if (bad != 0)
        gr_hint("swish gave %g for x = %g: x σ(x) needs a σ that never overflows",
                (double)nn_swish(bad), (double)bad);
    EXPECT(nn_swish(0.0f), 0.0, "nn_swish(0)");
    EXPECT(nn_swish((float)log(3.0)), 0.75 * (double)(float)log(3.0), "nn_swish(ln 3)");
    check_values(NN_ACT_SWISH);
}

static void test_swish_grad(void)
{
    /* σ + x σ' = σ(x)(1 + x(1 − σ(x))): ½ at 0; at ln 3,
     * ¾(1 + ln 3 · ¼) = 0.955986... */
    float d = nn_swish_grad((float)log(3.0));
    double l3 = (double)(float)log(3.0);
    if (fabs(d - 0.75) < 1e-5)
        gr_hint("swish'(x) = σ(x) + x σ'(x): the product rule has two terms");
    else if (fabs(d - 0.1875) < 1e-5)
        gr_hint("that is σ'(x) = σ(x)(1 - σ(x)); swish'(x) = σ(x) + x σ(x)(1 - σ(x))");
    EXPECT(nn_swish_grad(0.0f), 0.5, "nn_swish_grad(0)");
    EXPECT(d, 0.75 * (1.0 + 0.25 * l3), "nn_swish_grad(ln 3)");
    check_derivative(NN_ACT_SWISH);
}

/* ------------------------------------------------------------ mish */

static void test_mish(void)
{
    /* x tanh(softplus(x)): 0 at 0; at 1, tanh(log(1 + e)) = ((1+e)² − 1) /
     * ((1+e)² + 1) = 0.865098..., times 1. */
    float bad = first_nonfinite(nn_mish);
    if (bad != 0)
        gr_hint("mish gave %g for x = %g: compute softplus without overflow",
                (double)nn_mish(bad), (double)bad);
    EXPECT(nn_mish(0.0f), 0.0, "nn_mish(0)");
    double e1 = (1.0 + exp(1.0)) * (1.0 + exp(1.0));
    EXPECT(nn_mish(1.0f), (e1 - 1.0) / (e1 + 1.0), "nn_mish(1)");
    check_values(NN_ACT_MISH);
}

static void test_mish_grad(void)
{
    /* tanh(sp) + x σ(x)(1 − tanh²(sp)), sp = softplus(x): at 0,
     * tanh(log 2) = 3/5 (the x term vanishes). */
    float d = nn_mish_grad(1.5f);
    double t = tanh(softplus_d(1.5));
    if (fabs(d - (t + 1.5 * (1.0 - t * t))) < 1e-5)
        gr_hint("mish'(x): the chain rule through softplus brings its derivative σ(x): "
                "tanh(sp) + x σ(x) (1 - tanh(sp)^2)");
    EXPECT(nn_mish_grad(0.0f), 0.6, "nn_mish_grad(0)");
    check_derivative(NN_ACT_MISH);
}

/* ------------------------------------------------------------ dispatch */

static void test_activation_forward(void)
{
    /* Every activation on one array: 61 points of [−6, 6] and ±1e4, out of
     * place, each element against the double formula. A sentinel after the
     * n outputs must stay untouched. */
    enum { N = 63 };
    float in[N], out[N + 1];
    for (int i = 0; i < 61; i++)
        in[i] = (float)(i - 30) / 5.0f;
    in[61] = -1e4f;
    in[62] = 1e4f;
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        gr_poison(out, N);
        out[N] = 777.0f;
        nn_activation_forward(out, in, N, (nn_act)a);
        int bad = -1; /* the worst element, if any is out of tolerance */
        double worst_ratio = 1.0;
        for (int i = 0; i < N; i++) {
            double want = acts[a].ref(in[i]);
            double ratio = fabs(out[i] - want) / (RTOL * fabs(want) + ATOL);
            if (!(ratio <= worst_ratio)) {
                bad = i;
                worst_ratio = ratio;
            }
        }
        if (bad >= 0 && !isnan(out[bad])) {
            /* Wrong but written: did it compute another activation? */
            for (int o = 0; o < NN_ACT_COUNT; o++) {
                int same = o != a;
                for (int i = 0; i < N && same; i++)
                    same = close_enough(out[i], acts[o].ref(in[i]));
                if (same) {
                    gr_hint("nn_activation_forward(..., %s) computed %s: check that case of "
                            "the switch (a missing break falls through to the next one)",
                            enum_names[a], acts[o].name);
                    break;
                }
            }
        }
        char what[80];
        int k = bad >= 0 ? bad : 0;
        snprintf(what, sizeof what, "nn_activation_forward(%s) at x = %g", enum_names[a],
                 (double)in[k]);
        expect(out[k], acts[a].ref(in[k]), what, __LINE__);
        snprintf(what, sizeof what, "nn_activation_forward(%s): out[n] (past the end)",
                 enum_names[a]);
        gr_assert_near(out[N], 777.0, 0.0, what, __FILE__, __LINE__);
    }
}

static void test_activation_grad(void)
{
    /* nn_activation_grad(act, x) = f'(x) for every act, off the kinks,
     * against the finite difference of the double formula. */
    const float xs[] = {-2.5f, -0.5f, 0.7f, 3.0f};
    for (int a = 0; a < NN_ACT_COUNT; a++)
        for (int i = 0; i < 4; i++) {
            float got = nn_activation_grad((nn_act)a, xs[i]);
            double want = slope_d(acts[a].ref, xs[i]);
            if (!close_enough(got, want) && close_enough(got, acts[a].ref(xs[i])) &&
                !close_enough(want, acts[a].ref(xs[i])))
                gr_hint("nn_activation_grad(%s, x) returned f(x): it must return the derivative "
                        "f'(x)", enum_names[a]);
            char what[80];
            snprintf(what, sizeof what, "nn_activation_grad(%s, %g)", enum_names[a],
                     (double)xs[i]);
            expect(got, want, what, __LINE__);
        }
}

/* ------------------------------------------------------------ softmax */

/* log Σ_k e^{x_k} of a row, in double, shifted by the max. */
static double logsumexp_d(const float *x, int n)
{
    double m = x[0], s = 0.0;
    for (int j = 1; j < n; j++)
        m = fmax(m, x[j]);
    for (int j = 0; j < n; j++)
        s += exp(x[j] - m);
    return m + log(s);
}

/* The example logits the report plots, and the temperatures. */
enum { CLASSES = 6, TEMPS = 3 };
static const float example_logits[CLASSES] = {2.0f, 1.0f, 0.1f, -1.2f, 3.0f, 0.5f};
static const float temps[TEMPS] = {0.5f, 1.0f, 2.0f};

static void test_softmax(void)
{
    /* (a) Worked by hand: logits (0, ln 2, ln 3, ln 4, 0) give e^x = 1, 2,
     *     3, 4, 1, sum 11: p = (1, 2, 3, 4, 1)/11. Equal logits: p = ⅕ each.
     * (b) The example logits at temperatures T = ½, 1, 2 (rows x/T), against
     *     e^{x_j − lse} in double. Each row sums to 1 (within 1e-6). */
    float x[2 * 5] = {0.0f, (float)log(2.0), (float)log(3.0), (float)log(4.0), 0.0f,
                      7.0f, 7.0f,            7.0f,            7.0f,            7.0f};
    float p[2 * 5 + 1];
    gr_poison(p, 10);
    p[10] = 555.0f;
    nn_softmax_forward(p, x, 2, 5);
    const double want_a[10] = {1 / 11.0, 2 / 11.0, 3 / 11.0, 4 / 11.0, 1 / 11.0,
                               0.2,      0.2,      0.2,      0.2,      0.2};
    double total = 0.0;
    for (int j = 0; j < 10; j++)
        total += p[j];
    if (fabs(total - 1.0) < 1e-5)
        gr_hint("the 2 rows sum to 1 together, not each: normalise every row by its own sum");
    for (int j = 0; j < 10; j++) {
        char what[64];
        snprintf(what, sizeof what, "softmax row %d, class %d", j / 5, j % 5);
        expect(p[j], want_a[j], what, __LINE__);
    }
    gr_assert_near(p[10], 555.0, 0.0, "softmax: out[rows*cols] (past the end)", __FILE__,
                   __LINE__);

    float xt[TEMPS * CLASSES], pt[TEMPS * CLASSES];
    for (int t = 0; t < TEMPS; t++)
        for (int j = 0; j < CLASSES; j++)
            xt[t * CLASSES + j] = example_logits[j] / temps[t];
    gr_poison(pt, TEMPS * CLASSES);
    nn_softmax_forward(pt, xt, TEMPS, CLASSES);
    FILE *f = open_data("lab02-softmax.csv");
    if (f) {
        fprintf(f, "class,logit,p_t0.5,p_t1,p_t2\n");
        for (int j = 0; j < CLASSES; j++)
            fprintf(f, "%d,%g,%.9g,%.9g,%.9g\n", j, (double)example_logits[j], (double)pt[j],
                    (double)pt[CLASSES + j], (double)pt[2 * CLASSES + j]);
        fclose(f);
    }
    for (int t = 0; t < TEMPS; t++) {
        const float *xr = xt + t * CLASSES;
        double lse = logsumexp_d(xr, CLASSES), sum = 0.0;
        for (int j = 0; j < CLASSES; j++) {
            char what[64];
            snprintf(what, sizeof what, "softmax of the logits / %g, class %d", (double)temps[t], j);
            expect(pt[t * CLASSES + j], exp(xr[j] - lse), what, __LINE__);
            sum += pt[t * CLASSES + j];
        }
        char what[64];
        snprintf(what, sizeof what, "sum of softmax row %d", t);
        gr_assert_near(sum, 1.0, 1e-6, what, __FILE__, __LINE__);
    }
}

/* Tolerance at huge logits: one float rounding of the row's largest |x|
 * (x − lse is exact only to the spacing of floats near x, 0.001 at 10⁴)
 * on top of the usual one. */
static void expect_logit_scale(double got, double want, double scale, const char *what,
                               int line)
{
    gr_assert_near(got, want, RTOL * fabs(want) + ATOL + 1.2e-7 * scale, what, __FILE__, line);
}

static void test_softmax_large(void)
{
    /* Shifting a row changes nothing, softmax(x + c) = softmax(x), so:
     *   (1e4, 1e4 − 1, 1e4 − 2)    = softmax(0, −1, −2)
     *   (−1e4, −1e4 + 1, −1e4 + 3) = softmax(0, 1, 3)
     *   (1e4, 0, −1e4)             = (1, 0, 0) to float precision
     *   (−1e4, −1e4, −1e4)         = ⅓ each.
     * e^{±1e4} is ∞ or 0 in float: only the shifted form works. */
    const float x[12] = {1e4f,  1e4f - 1.0f, 1e4f - 2.0f, -1e4f, -1e4f + 1.0f, -1e4f + 3.0f,
                         1e4f,  0.0f,        -1e4f,       -1e4f, -1e4f,        -1e4f};
    const float shifted[12] = {0, -1, -2, 0, 1, 3, 1e4f, 0, -1e4f, 0, 0, 0};
    float p[12], small[3] = {1.0f, 2.0f, 3.0f};
    nn_softmax_forward(small, small, 1, 3); /* a finite answer here: the function works */
    int works = isfinite(small[0]) && isfinite(small[1]) && isfinite(small[2]);
    gr_poison(p, 12);
    nn_softmax_forward(p, x, 4, 3);
    for (int j = 0; j < 12 && works; j++)
        if (!isfinite(p[j])) {
            gr_hint("softmax gave %g for large logits: subtract the row max first "
                    "(e^{x_j - m} / Σ e^{x_k - m} is the same value, and never overflows)",
                    (double)p[j]);
            break;
        }
    for (int r = 0; r < 4; r++) {
        double lse = logsumexp_d(shifted + 3 * r, 3);
        for (int j = 0; j < 3; j++) {
            char what[64];
            snprintf(what, sizeof what, "softmax row (%g, %g, %g), class %d", (double)x[3 * r],
                     (double)x[3 * r + 1], (double)x[3 * r + 2], j);
            expect(p[3 * r + j], exp(shifted[3 * r + j] - lse), what, __LINE__);
        }
    }
}

static void test_log_softmax(void)
{
    /* log p_j = x_j − log Σ_k e^{x_k}: where softmax is far from 0, this is
     * log(softmax), here computed in double. Checks: (a) by hand, logits
     * (0, ln 2, ln 3, ln 4, 0) give log(1/11), log(2/11), ...; (b) the example
     * logits at T = ½, 1, 2; (c) Σ_j e^{log p_j} = 1 per row. */
    float x[5] = {0.0f, (float)log(2.0), (float)log(3.0), (float)log(4.0), 0.0f};
    float lp[5 + 1];
    gr_poison(lp, 5);
    lp[5] = 555.0f;
    nn_log_softmax_forward(lp, x, 1, 5);
    const double want_a[5] = {log(1 / 11.0), log(2 / 11.0), log(3 / 11.0), log(4 / 11.0),
                              log(1 / 11.0)};
    for (int j = 0; j < 5; j++) {
        char what[64];
        snprintf(what, sizeof what, "log-softmax of (0, ln 2, ln 3, ln 4, 0), class %d", j);
        expect(lp[j], want_a[j], what, __LINE__);
    }
    gr_assert_near(lp[5], 555.0, 0.0, "log-softmax: out[rows*cols] (past the end)", __FILE__,
                   __LINE__);

    float xt[TEMPS * CLASSES], lt[TEMPS * CLASSES];
    for (int t = 0; t < TEMPS; t++)
        for (int j = 0; j < CLASSES; j++)
            xt[t * CLASSES + j] = example_logits[j] / temps[t];
    gr_poison(lt, TEMPS * CLASSES);
    nn_log_softmax_forward(lt, xt, TEMPS, CLASSES);
    FILE *f = open_data("lab02-log-softmax.csv");
    if (f) {
        fprintf(f, "class,logit,logp_t0.5,logp_t1,logp_t2\n");
        for (int j = 0; j < CLASSES; j++)
            fprintf(f, "%d,%g,%.9g,%.9g,%.9g\n", j, (double)example_logits[j], (double)lt[j],
                    (double)lt[CLASSES + j], (double)lt[2 * CLASSES + j]);
        fclose(f);
    }
    for (int t = 0; t < TEMPS; t++) {
        const float *xr = xt + t * CLASSES;
        double lse = logsumexp_d(xr, CLASSES), sum = 0.0;
        for (int j = 0; j < CLASSES; j++) {
            char what[64];
            snprintf(what, sizeof what, "log-softmax of the logits / %g, class %d",
                     (double)temps[t], j);
            expect(lt[t * CLASSES + j], xr[j] - lse, what, __LINE__);
            sum += exp(lt[t * CLASSES + j]);
        }
        char what[64];
        snprintf(what, sizeof what, "sum of exp(log-softmax) in row %d", t);
        gr_assert_near(sum, 1.0, 1e-5, what, __FILE__, __LINE__);
    }
}

static void test_log_softmax_large(void)
{
    /* Rows where log(softmax) breaks, worked by hand:
     *   (0, −200, −1e4): e^{−200} underflows float, so softmax gives 0 and
     *                    log 0 = −∞; the true values are 0 (to 1e−87),
     *                    −200 and −1e4.
     *   (1e4, 1e4):      −ln 2 twice.
     *   (1e4, −1e4):     0 and −2e4.
     *   (−1e4, −1e4 + 1): −log(1 + e) = −1.3133 and 1 − log(1 + e) = −0.3133.
     * Tolerance: the usual one plus one float rounding of the largest |x| in
     * the row (about 0.001 at 1e4). */
    const float x[3] = {0.0f, -200.0f, -1e4f};
    float lp[3], small[3] = {1.0f, 2.0f, 3.0f};
    nn_log_softmax_forward(small, small, 1, 3); /* a finite answer here: the function works */
    int works = isfinite(small[0]) && isfinite(small[1]) && isfinite(small[2]);
    gr_poison(lp, 3);
    nn_log_softmax_forward(lp, x, 1, 3);
    if (!works)
        ;
    else if (isinf(lp[1]) && lp[1] < 0)
        gr_hint("log-softmax gave -inf for a logit 200 below the max: log(softmax) underflows. "
                "Compute (x_j - m) - log Σ_k e^{x_k - m} directly");
    else if (isnan(lp[0]) || isnan(lp[1]))
        gr_hint("log-softmax gave NaN: subtract the row max m first, then "
                "log p_j = (x_j - m) - log Σ_k e^{x_k - m}");
    expect_logit_scale(lp[0], 0.0, 1e4, "log-softmax of (0, -200, -1e4), class 0", __LINE__);
    expect_logit_scale(lp[1], -200.0, 1e4, "log-softmax of (0, -200, -1e4), class 1", __LINE__);
    expect_logit_scale(lp[2], -1e4, 1e4, "log-softmax of (0, -200, -1e4), class 2", __LINE__);

    const float y[6] = {1e4f, 1e4f, 1e4f, -1e4f, -1e4f, -1e4f + 1.0f};
    const double l1e = log1p(exp(1.0));
    const double want[6] = {-log(2.0), -log(2.0), 0.0, -2e4, -l1e, 1.0 - l1e};
    float ly[6];
    gr_poison(ly, 6);
    nn_log_softmax_forward(ly, y, 3, 2);
    if (works && (isnan(ly[0]) || isnan(ly[4])))
        gr_hint("log-softmax gave NaN for logits of ±1e4: subtract the row max m first");
    for (int j = 0; j < 6; j++) {
        char what[64];
        snprintf(what, sizeof what, "log-softmax of (%g, %g), class %d", (double)y[j & ~1],
                 (double)y[j | 1], j & 1);
        expect_logit_scale(ly[j], want[j], 1e4, what, __LINE__);
    }
}

const gr_test gr_public_tests[] = {
    {"step", 1, 1.0, "nn_step,nn_step_grad", test_step},
    {"linear", 1, 1.0, "nn_linear,nn_linear_grad", test_linear},
    {"sigmoid", 1, 1.0, "nn_sigmoid", test_sigmoid},
    {"sigmoid derivative", 1, 1.0, "nn_sigmoid_grad", test_sigmoid_grad},
    {"tanh", 1, 1.0, "nn_tanh", test_tanh},
    {"tanh derivative", 1, 1.0, "nn_tanh_grad", test_tanh_grad},
    {"relu", 1, 1.0, "nn_relu", test_relu},
    {"relu derivative", 1, 1.0, "nn_relu_grad", test_relu_grad},
    {"leaky relu", 1, 1.0, "nn_leaky_relu", test_leaky_relu},
    {"leaky relu derivative", 1, 1.0, "nn_leaky_relu_grad", test_leaky_relu_grad},
    {"elu", 1, 1.0, "nn_elu", test_elu},
    {"elu derivative", 1, 1.0, "nn_elu_grad", test_elu_grad},
    {"gelu", 1, 1.0, "nn_gelu", test_gelu},
    {"gelu derivative", 1, 1.0, "nn_gelu_grad", test_gelu_grad},
    {"softplus", 1, 1.0, "nn_softplus", test_softplus},
    {"softplus derivative", 1, 1.0, "nn_softplus_grad", test_softplus_grad},
    {"softsign", 1, 1.0, "nn_softsign", test_softsign},
    {"softsign derivative", 1, 1.0, "nn_softsign_grad", test_softsign_grad},
    {"swish", 1, 1.0, "nn_swish", test_swish},
    {"swish derivative", 1, 1.0, "nn_swish_grad", test_swish_grad},
    {"mish", 1, 1.0, "nn_mish", test_mish},
    {"mish derivative", 1, 1.0, "nn_mish_grad", test_mish_grad},
    {"activation_forward", 2, 1.0, "nn_activation_forward", test_activation_forward},
    {"activation_grad", 1, 1.0, "nn_activation_grad", test_activation_grad},
    {"softmax", 2, 1.0, "nn_softmax_forward", test_softmax},
    {"softmax at large logits", 1, 1.0, "nn_softmax_forward", test_softmax_large},
    {"log-softmax", 1, 1.0, "nn_log_softmax_forward", test_log_softmax},
    {"log-softmax at large gaps", 1, 1.0, "nn_log_softmax_forward", test_log_softmax_large},
    {NULL, 0, 0, NULL, NULL}
};
