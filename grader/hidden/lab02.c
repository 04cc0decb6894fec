/*
 * Lab 2 (activations.c) — hidden tests: edge cases the public tests leave
 * out. Expected values come from double formulas written out here or are
 * worked by hand. Tolerance as in the public tests: |got − want| <=
 * 1e-5·|want| + 1e-6.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "grader.h"
#include "nnlab/activations.h"

static double sigmoid_d(double x)
{
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
static double softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

/* Every activation in double, by enum value. */
static double act_d(nn_act a, double x)
{
    switch (a) {
    case NN_ACT_STEP: return x >= 0.0 ? 1.0 : 0.0;
    case NN_ACT_LINEAR: return x;
    case NN_ACT_SIGMOID: return sigmoid_d(x);
    case NN_ACT_TANH: return tanh(x);
    case NN_ACT_RELU: return x > 0.0 ? x : 0.0;
    case NN_ACT_LEAKY_RELU: return x > 0.0 ? x : 0.01 * x;
    case NN_ACT_ELU: return x > 0.0 ? x : expm1(x);
    case NN_ACT_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
    case NN_ACT_SOFTPLUS: return softplus_d(x);
    case NN_ACT_SOFTSIGN: return x / (1.0 + fabs(x));
    case NN_ACT_SWISH: return x * sigmoid_d(x);
    case NN_ACT_MISH: return x * tanh(softplus_d(x));
    case NN_ACT_COUNT: break;
    }
    return NAN;
}

static const char *const enum_names[NN_ACT_COUNT] = {
    "NN_ACT_STEP", "NN_ACT_LINEAR",   "NN_ACT_SIGMOID", "NN_ACT_TANH",
    "NN_ACT_RELU", "NN_ACT_LEAKY_RELU", "NN_ACT_ELU",   "NN_ACT_GELU",
    "NN_ACT_SOFTPLUS", "NN_ACT_SOFTSIGN", "NN_ACT_SWISH", "NN_ACT_MISH",
};

static void expect(double got, double want, const char *what, int line)
{
    gr_assert_near(got, want, 1e-5 * fabs(want) + 1e-6, what, __FILE__, line);
}

#define EXPECT(got, want, what) expect((got), (want), (what), __LINE__)

static void test_sigmoid_edge(void)
{
    /* e^x overflows float just past x = 88.72: e^x/(1 + e^x) breaks at
     * x = 88.8, e^{−x}/(1 + e^{−x})² (a common σ') at x = −88.8. Both sides
     * of the edge: σ and σ' finite and right; σ never decreasing. */
    const float xs[] = {-1e30f, -150.0f, -89.0f, -88.8f, -88.7f, -88.0f,
                        88.0f,  88.7f,   88.8f,  89.0f,  150.0f, 1e30f};
    enum { N = (int)(sizeof xs / sizeof xs[0]) };
    int hinted = 0;
    float prev = -1.0f;
    for (int i = 0; i < N; i++) {
        float s = nn_sigmoid(xs[i]), d = nn_sigmoid_grad(xs[i]);
        if ((!isfinite(s) || !isfinite(d)) && !hinted++)
            gr_hint("at x = %g: σ = %g, σ' = %g. Never exponentiate a positive number: use "
                    "e^{-|x|} and branch on the sign; σ' = σ(1 - σ)",
                    (double)xs[i], (double)s, (double)d);
        char what[48];
        snprintf(what, sizeof what, "nn_sigmoid(%g)", (double)xs[i]);
        EXPECT(s, sigmoid_d(xs[i]), what);
        snprintf(what, sizeof what, "nn_sigmoid_grad(%g)", (double)xs[i]);
        EXPECT(d, sigmoid_d(xs[i]) * sigmoid_d(-(double)xs[i]), what);
        snprintf(what, sizeof what, "nn_sigmoid(%g) >= the value before", (double)xs[i]);
        gr_assert_near(s >= prev, 1.0, 0.0, what, __FILE__, __LINE__);
        prev = s;
    }
}

static void test_forward_in_place(void)
{
    /* out == in is allowed (header): every activation, in place, on 41
     * points of [−8, 8] and ±1e4. */
    enum { N = 43 };
    float buf[N];
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        for (int i = 0; i < 41; i++)
            buf[i] = (float)(i - 20) / 2.5f;
        buf[41] = -1e4f;
        buf[42] = 1e4f;
        float in[N];
        memcpy(in, buf, sizeof in);
        nn_activation_forward(buf, buf, N, (nn_act)a);
        int worst = 0;
        double worst_ratio = -1.0;
        for (int i = 0; i < N; i++) {
            double want = act_d((nn_act)a, in[i]);
            double ratio = fabs(buf[i] - want) / (1e-5 * fabs(want) + 1e-6);
            if (!(ratio <= worst_ratio)) {
                worst = i;
                worst_ratio = ratio;
            }
        }
        char what[80];
        snprintf(what, sizeof what, "in place nn_activation_forward(%s) at x = %g", enum_names[a],
                 (double)in[worst]);
        EXPECT(buf[worst], act_d((nn_act)a, in[worst]), what);
    }
}

static void test_softmax_edges(void)
{
    /* One class: p = 1 whatever the logit. In place (out == in): 2 rows of
     * 4, by hand: (0, 0, ln 2, ln 4) -> e^x = 1, 1, 2, 4, p = (1, 1, 2, 4)/8;
     * (−3, −3, −3, −3) -> ¼ each. */
    float one[3] = {-50.0f, 0.0f, 1e4f};
    nn_softmax_forward(one, one, 3, 1);
    for (int r = 0; r < 3; r++)
        EXPECT(one[r], 1.0, "softmax of a single class");
    float x[8] = {0.0f, 0.0f, (float)log(2.0), (float)log(4.0), -3.0f, -3.0f, -3.0f, -3.0f};
    const double want[8] = {0.125, 0.125, 0.25, 0.5, 0.25, 0.25, 0.25, 0.25};
    nn_softmax_forward(x, x, 2, 4);
    for (int j = 0; j < 8; j++) {
        char what[48];
        snprintf(what, sizeof what, "in-place softmax, row %d, class %d", j / 4, j % 4);
        EXPECT(x[j], want[j], what);
    }
}

static void test_log_softmax_edges(void)
{
    /* One class: log p = 0. In place: (0, 0, ln 2, ln 4) -> log((1, 1, 2,
     * 4)/8) = (−3 ln 2, −3 ln 2, −2 ln 2, −ln 2); (50, −50) -> 0 and −100
     * (e^{−100} ≈ 4e−44 vanishes beside 1). */
    float one[2] = {-7.0f, 1e4f};
    nn_log_softmax_forward(one, one, 2, 1);
    EXPECT(one[0], 0.0, "log-softmax of a single class (logit -7)");
    EXPECT(one[1], 0.0, "log-softmax of a single class (logit 1e4)");
    const double l2 = log(2.0);
    float x[6] = {0.0f, 0.0f, (float)l2, (float)log(4.0), 50.0f, -50.0f};
    const double want[6] = {-3 * l2, -3 * l2, -2 * l2, -l2, 0.0, -100.0};
    nn_log_softmax_forward(x, x, 1, 4);
    nn_log_softmax_forward(x + 4, x + 4, 1, 2);
    for (int j = 0; j < 6; j++) {
        char what[48];
        snprintf(what, sizeof what, "in-place log-softmax, element %d", j);
        EXPECT(x[j], want[j], what);
    }
}

static void test_beside_the_kinks(void)
{
    /* Just beside 0 (1e-30 is a normal float), each side takes its own
     * formula: the conventions at exactly 0 are not stretched. */
    const float t = 1e-30f;
    EXPECT(nn_step(t), 1.0, "nn_step(1e-30)");
    EXPECT(nn_step(-t), 0.0, "nn_step(-1e-30)");
    EXPECT(nn_relu(-t), 0.0, "nn_relu(-1e-30)");
    EXPECT(nn_relu_grad(t), 1.0, "nn_relu_grad(1e-30)");
    EXPECT(nn_relu_grad(-t), 0.0, "nn_relu_grad(-1e-30)");
    EXPECT(nn_leaky_relu_grad(t), 1.0, "nn_leaky_relu_grad(1e-30)");
    EXPECT(nn_leaky_relu_grad(-t), NN_LEAKY_SLOPE, "nn_leaky_relu_grad(-1e-30)");
    gr_assert_near(nn_leaky_relu(-t), -1e-32, 1e-38, "nn_leaky_relu(-1e-30)", __FILE__, __LINE__);
    EXPECT(nn_elu(-t), 0.0, "nn_elu(-1e-30)");
    EXPECT(nn_elu_grad(t), 1.0, "nn_elu_grad(1e-30)");
    EXPECT(nn_elu_grad(-t), 1.0, "nn_elu_grad(-1e-30)");
    EXPECT(nn_softsign_grad(-t), 1.0, "nn_softsign_grad(-1e-30)");
}

const gr_test gr_hidden_tests[] = {
    {"sigmoid at the float overflow edge", 1, 1.0, "nn_sigmoid,nn_sigmoid_grad",
     test_sigmoid_edge},
    {"activation_forward in place", 1, 1.0, "nn_activation_forward", test_forward_in_place},
    {"softmax: one class, in place", 1, 1.0, "nn_softmax_forward", test_softmax_edges},
    {"log-softmax: one class, in place", 1, 1.0, "nn_log_softmax_forward", test_log_softmax_edges},
    {"beside the kinks", 1, 1.0, "nn_step,nn_relu,nn_relu_grad,nn_leaky_relu,nn_leaky_relu_grad,"
     "nn_elu,nn_elu_grad,nn_softsign_grad", test_beside_the_kinks},
    {NULL, 0, 0, NULL, NULL}
};
