/*
 * Lab 1 (neuron.c) — hidden tests: edge cases the public tests leave out.
 * Expected values are worked by hand, follow from an identity, or are
 * recomputed in double by formulas written out here.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "grader.h"
#include "nnlab/neuron.h"
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

/* σ(z) in double without overflow: e^{−|z|} only. */
static double sigmoid_d(double z)
{
    double e = exp(-fabs(z));
    return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

static void test_sigmoid_boundary(void)
{
    /* Float overflows at e^{88.72}: e^z/(1 + e^z) breaks (inf/inf) just
     * past z = 88.7, 1/(1 + e^{−z}) just before z = −88.7. Either side of
     * the edge σ must be finite, in [0, 1], within 1e-6 (relative, or
     * 1e-7 absolute: σ(−89) ≈ 2.2e−39 is a subnormal float and 0 is as
     * good an answer), and never decrease in z. */
    const float z[] = {-1e30f, -150.0f, -104.0f, -89.0f, -88.8f, -88.7f, -88.0f, -87.0f,
                       87.0f,  88.0f,   88.7f,   88.8f,  89.0f,  104.0f, 150.0f, 1e30f};
    enum { N = (int)(sizeof z / sizeof z[0]) };
    float prev = -1.0f;
    int hinted = 0;
    for (int i = 0; i < N; i++) {
        float s = nn_neuron_sigmoid(z[i]);
        if (!isfinite(s) && !hinted++)
            gr_hint("sigmoid gave %g for z = %g: never exponentiate a positive number; "
                    "use e^{-|z|} and branch on the sign of z", (double)s, (double)z[i]);
        double want = sigmoid_d(z[i]);
        char what[48];
        snprintf(what, sizeof what, "nn_neuron_sigmoid(%g)", (double)z[i]);
        gr_assert_near(s, want, 1e-7 + 1e-6 * want, what, __FILE__, __LINE__);
        check(s >= prev, __LINE__, "sigmoid decreased from z = %g to z = %g", (double)z[i > 0 ? i - 1 : 0],
              (double)z[i]);
        prev = s;
    }
}

/* The AND table, rows (0,0), (0,1), (1,0), (1,1). */
static const float and_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int and_y[4] = {0, 0, 0, 1};

static void test_perceptron_lr_scaling(void)
{
    /* From w = 0, b = 0 the learning rate only scales the weights: every
     * update adds lr·(±x) and lr·(±1), so w(lr) = lr·w(1) at every step,
     * z scales by lr, and the step sees the same signs. With lr = 0.25 (a
     * power of 2, so the scaling is exact in float) AND takes the same
     * 2, 3, 3, 2, 1, 0 errors as with lr = 1 (public test) and ends at
     * 0.25·((2, 1), −3) = ((0.5, 0.25), −0.75). */
    static const int errors[6] = {2, 3, 3, 2, 1, 0};
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    for (int e = 0; e < 6; e++) {
        int got = nn_perceptron_epoch(w, &b, and_x, and_y, 0.25f, 4, 2);
        char what[64];
        snprintf(what, sizeof what, "errors in AND epoch %d with lr = 0.25", e + 1);
        EXPECT(got, errors[e], 0.0, what);
    }
    if (w[0] == 2.0f && b == -3.0f)
        gr_hint("the weights came out as with lr = 1: multiply the update by lr");
    EXPECT(w[0], 0.5, 0.0, "w[0] after 6 AND epochs with lr = 0.25");
    EXPECT(w[1], 0.25, 0.0, "w[1] after 6 AND epochs with lr = 0.25");
    EXPECT(b, -0.75, 0.0, "b after 6 AND epochs with lr = 0.25");
}

static void test_perceptron_xor(void)
{
    /* XOR is not linearly separable: every (w, b) gets at least one of its
     * four rows wrong, so no epoch can end without an error, however long
     * the rule runs. The weights stay finite (they are bounded sums of
     * ±lr·x). */
    static const int xor_y[4] = {0, 1, 1, 0};
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    int fewest = 5;
    for (int e = 0; e < 50; e++) {
        int got = nn_perceptron_epoch(w, &b, and_x, xor_y, 0.5f, 4, 2);
        if (got < fewest)
            fewest = got;
    }
    check(fewest >= 1, __LINE__,
          "expected at least 1 error in every XOR epoch (XOR is not linearly separable), got an "
          "epoch with %d", fewest);
    check(isfinite(w[0]) && isfinite(w[1]) && isfinite(b), __LINE__,
          "weights after 50 XOR epochs: (%g, %g), b = %g", (double)w[0], (double)w[1], (double)b);
}

static void test_logistic_step_wide(void)
{
    /* 7 rows of 5 features from a seeded stream, a non-zero start, against
     * the loss and the gradient step in double (relative tolerance 1e-5). */
    enum { R = 7, N = 5 };
    float x[R * N], w[N], b = 0.3f;
    int y[R];
    nn_rng rng;
    nn_rng_seed(&rng, 2024);
    for (int i = 0; i < R * N; i++)
        x[i] = 4.0f * nn_rng_uniform(&rng) - 2.0f;
    for (int i = 0; i < N; i++)
        w[i] = 2.0f * nn_rng_uniform(&rng) - 1.0f;
    for (int r = 0; r < R; r++)
        y[r] = (int)nn_rng_below(&rng, 2);

    double gw[N] = {0}, gb = 0.0, loss = 0.0;
    for (int r = 0; r < R; r++) {
        double z = b;
        for (int i = 0; i < N; i++)
            z += (double)w[i] * x[r * N + i];
        double p = sigmoid_d(z);
        loss -= y[r] ? log(p) : log(1.0 - p);
        for (int i = 0; i < N; i++)
            gw[i] += (p - y[r]) * x[r * N + i];
        gb += p - y[r];
    }
    float want[N + 2], loss_w_b[N + 2];
    want[0] = (float)(loss / R);
    for (int i = 0; i < N; i++)
        want[1 + i] = (float)(w[i] - 0.7 * gw[i] / R);
    want[N + 1] = (float)(b - 0.7 * gb / R);

    loss_w_b[0] = nn_logistic_step(w, &b, x, y, 0.7f, R, N);
    for (int i = 0; i < N; i++)
        loss_w_b[1 + i] = w[i];
    loss_w_b[N + 1] = b;
    GR_ASSERT_CLOSE(loss_w_b, want, N + 2, 1e-5);
}

static void test_logistic_predict_many(void)
{
    /* 50 rows of 3 features with z reaching about ±50, against σ in double
     * (1e-6 relative plus 1e-7 absolute); the slot after the last row must
     * stay untouched. */
    enum { R = 50, N = 3 };
    float x[R * N], p[R + 1];
    double want[R];
    const float w[N] = {4.0f, -3.0f, 2.5f};
    nn_rng rng;
    nn_rng_seed(&rng, 77);
    for (int i = 0; i < R * N; i++)
        x[i] = 12.0f * nn_rng_uniform(&rng) - 6.0f;
    for (int r = 0; r < R; r++) {
        double z = -0.5;
        for (int i = 0; i < N; i++)
            z += (double)w[i] * x[r * N + i];
        want[r] = sigmoid_d(z);
    }
    gr_poison(p, R);
    p[R] = -7.0f;
    nn_logistic_predict(p, w, -0.5f, x, R, N);
    int worst = 0;
    double worst_ratio = -1.0;
    for (int r = 0; r < R; r++) {
        double ratio = fabs(p[r] - want[r]) / (1e-6 * want[r] + 1e-7);
        if (!(ratio <= worst_ratio)) {
            worst = r;
            worst_ratio = ratio;
        }
    }
    char what[32];
    snprintf(what, sizeof what, "p[%d]", worst);
    gr_assert_near(p[worst], want[worst], 1e-6 * want[worst] + 1e-7, what, __FILE__, __LINE__);
    EXPECT(p[R], -7.0, 0.0, "p[50], past the last row (must stay untouched)");
}

const gr_test gr_hidden_tests[] = {
    {"sigmoid at the float overflow edge", 1, 1.0, "nn_neuron_sigmoid", test_sigmoid_boundary},
    {"perceptron learning-rate scaling", 1, 1.0, "nn_perceptron_epoch,nn_perceptron_update",
     test_perceptron_lr_scaling},
    {"perceptron never settles on xor", 1, 1.0, "nn_perceptron_epoch,nn_perceptron_update",
     test_perceptron_xor},
    {"logistic step, five features", 1, 1.0, "nn_logistic_step", test_logistic_step_wide},
    {"logistic predict, fifty rows", 1, 1.0, "nn_logistic_predict", test_logistic_predict_many},
    {NULL, 0, 0, NULL, NULL}
};
