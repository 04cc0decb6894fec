/*
 * Tests of lab 1 (neuron.c): weighted sum, output functions, the perceptron
 * rule and logistic regression. Expected values are worked by hand in the
 * comments or recomputed in double by a formula written out here.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include "nnlab/neuron.h"
#include "testutil.h"

/* The truth tables of AND, OR and XOR on inputs {0,1}². */
static const float table_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int and_y[4] = {0, 0, 0, 1};
static const int or_y[4] = {0, 1, 1, 1};
static const int xor_y[4] = {0, 1, 1, 0};

static void test_sum_by_hand(void)
{
    /* 0.5·2 − 1·3 + 2·(−1) + 0.25 = 1 − 3 − 2 + 0.25 */
    const float w[3] = {0.5f, -1.0f, 2.0f}, x[3] = {2.0f, 3.0f, -1.0f};
    TU_ASSERT_NEAR(nn_neuron_sum(w, 0.25f, x, 3), -3.75, 1e-6);
    /* No inputs: only the bias is left. */
    TU_ASSERT_NEAR(nn_neuron_sum(w, 0.25f, x, 0), 0.25, 0.0);
}

static void test_sum_vs_double(void)
{
    enum { N = 101 };
    float w[N], x[N];
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    tu_fill(w, N, -1.0f, 1.0f, &rng);
    tu_fill(x, N, -2.0f, 2.0f, &rng);
    double want = -0.5;
    for (int i = N - 1; i >= 0; i--) /* a different order than any loop i = 0..n */
        want += (double)w[i] * x[i];
    float got = nn_neuron_sum(w, -0.5f, x, N);
    TU_ASSERT_NEAR(got, want, 1e-4);
}

static void test_step_and_sign(void)
{
    TU_ASSERT_NEAR(nn_neuron_step(3.0f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_neuron_step(0.0f), 1.0, 0.0); /* z >= 0 fires */
    TU_ASSERT_NEAR(nn_neuron_step(-1e-7f), 0.0, 0.0);
    TU_ASSERT_NEAR(nn_neuron_sign(0.5f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_neuron_sign(0.0f), 1.0, 0.0);
    TU_ASSERT_NEAR(nn_neuron_sign(-2.0f), -1.0, 0.0);
}

static void test_sigmoid_values(void)
{
    /* Relative tolerance 1e-6: a few float roundings. */
    const float z[] = {-80.0f, -20.0f, -5.0f, -0.5f, 0.0f, 0.5f, 5.0f, 20.0f};
    int n = (int)(sizeof z / sizeof z[0]);
    float got[8], want[8];
    for (int i = 0; i < n; i++) {
        got[i] = nn_neuron_sigmoid(z[i]);
        want[i] = (float)exp(-log1p(exp(-(double)z[i]))); /* σ(z) = e^{−log(1 + e^{−z})} */
    }
    TU_ASSERT_CLOSE(got, want, n, 1e-6);
    TU_ASSERT_NEAR(nn_neuron_sigmoid(0.0f), 0.5, 0.0);
}

static void test_sigmoid_extremes(void)
{
    float lo = nn_neuron_sigmoid(-1e4f), hi = nn_neuron_sigmoid(1e4f);
    CU_ASSERT(isfinite(lo) && isfinite(hi));
    TU_ASSERT_NEAR(lo, 0.0, 0.0);
    TU_ASSERT_NEAR(hi, 1.0, 0.0);
}

static void test_perceptron_update_by_hand(void)
{
    /* w = 0, b = 0: z = 0, step fires ŷ = 1, but y = 0. Update with
     * lr (y − ŷ) = −0.5: w = −0.5·(1, 1), b = −0.5. */
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    const float x[2] = {1.0f, 1.0f};
    CU_ASSERT_EQUAL(nn_perceptron_update(w, &b, x, 0, 0.5f, 2), 1);
    TU_ASSERT_NEAR(w[0], -0.5, 0.0);
    TU_ASSERT_NEAR(w[1], -0.5, 0.0);
    TU_ASSERT_NEAR(b, -0.5, 0.0);
    /* Now z = −1.5 < 0, ŷ = 0 = y: nothing moves. */
    CU_ASSERT_EQUAL(nn_perceptron_update(w, &b, x, 0, 0.5f, 2), 0);
    TU_ASSERT_NEAR(w[0], -0.5, 0.0);
    TU_ASSERT_NEAR(b, -0.5, 0.0);
    /* y = 1 on the same x: ŷ = 0, so lr (y − ŷ) = +0.5 undoes the first step. */
    CU_ASSERT_EQUAL(nn_perceptron_update(w, &b, x, 1, 0.5f, 2), 1);
    TU_ASSERT_NEAR(w[0], 0.0, 0.0);
    TU_ASSERT_NEAR(b, 0.0, 0.0);
}

/* Rows of table_x that w, b classify wrongly, decided here in double. */
static int misclassified(const float *w, float b, const int *y)
{
    int wrong = 0;
    for (int r = 0; r < 4; r++) {
        double z = (double)w[0] * table_x[2 * r] + (double)w[1] * table_x[2 * r + 1] + b;
        wrong += (z >= 0.0) != (y[r] == 1);
    }
    return wrong;
}

/* Train from zero until an epoch makes no mistake; return the epochs used,
 * or −1 if max_epochs pass without converging. */
static int train_perceptron(float *w, float *b, const int *y, int max_epochs)
{
    w[0] = w[1] = *b = 0.0f;
    for (int e = 1; e <= max_epochs; e++)
        if (nn_perceptron_epoch(w, b, table_x, y, 1.0f, 4, 2) == 0)
            return e;
    return -1;
}

static void test_perceptron_learns_and_or(void)
{
    /* AND and OR are linearly separable, so the perceptron convergence
     * theorem promises a finite number of mistakes; from zero with lr = 1
     * both take a handful of epochs. 20 is a generous bound. */
    float w[2], b;
    int epochs = train_perceptron(w, &b, and_y, 20);
    CU_ASSERT(epochs > 1); /* zero weights misclassify AND at first */
    CU_ASSERT_EQUAL(misclassified(w, b, and_y), 0);
    epochs = train_perceptron(w, &b, or_y, 20);
    CU_ASSERT(epochs > 1);
    CU_ASSERT_EQUAL(misclassified(w, b, or_y), 0);
}

static void test_perceptron_fails_on_xor(void)
{
    /* No line separates XOR: every epoch must make at least one mistake. */
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    for (int e = 0; e < 50; e++)
        CU_ASSERT_FATAL(nn_perceptron_epoch(w, &b, table_x, xor_y, 1.0f, 4, 2) > 0);
}

static void test_logistic_predict(void)
{
    const float w[2] = {0.5f, -1.5f}, x[6] = {1, 2, -3, 0.5f, 0, 0};
    float p[3], want[3];
    nn_logistic_predict(p, w, 0.25f, x, 3, 2);
    for (int r = 0; r < 3; r++) {
        double z = 0.25 + 0.5 * x[2 * r] - 1.5 * x[2 * r + 1];
        want[r] = (float)(1.0 / (1.0 + exp(-z)));
    }
    TU_ASSERT_CLOSE(p, want, 3, 1e-6);
}

static void test_logistic_step_by_hand(void)
{
    /* w = 0, b = 0: every p = ½, so the loss is log 2 and p − y = ∓½.
     * x = (1,2), (3,−1), (0,1); y = 1, 0, 1; p − y = −½, +½, −½.
     * Σ (p − y) x = (−½ + 3/2 + 0, −1 − ½ − ½) = (1, −2); Σ (p − y) = −½.
     * With R = 3, lr = 0.3: w = −0.1·(1, −2) = (−0.1, 0.2), b = +0.05. */
    const float x[6] = {1, 2, 3, -1, 0, 1};
    const int y[3] = {1, 0, 1};
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    float loss = nn_logistic_step(w, &b, x, y, 0.3f, 3, 2);
    TU_ASSERT_NEAR(loss, log(2.0), 1e-6);
    TU_ASSERT_NEAR(w[0], -0.1, 1e-6);
    TU_ASSERT_NEAR(w[1], 0.2, 1e-6);
    TU_ASSERT_NEAR(b, 0.05, 1e-6);
}

static void test_logistic_step_vs_double(void)
{
    /* A random table and start, recomputed in double from the header's
     * formulas: the loss in its textbook form y log p + (1 − y) log(1 − p). */
    enum { R = 17, N = 3 };
    float x[R * N], w[N], b = 0.3f;
    int y[R];
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    tu_fill(x, R * N, -2.0f, 2.0f, &rng);
    tu_fill(w, N, -1.0f, 1.0f, &rng);
    for (int r = 0; r < R; r++)
        y[r] = (int)nn_rng_below(&rng, 2);
    double loss = 0.0, gw[N] = {0}, gb = 0.0;
    for (int r = 0; r < R; r++) {
        double z = b;
        for (int i = 0; i < N; i++)
            z += (double)w[i] * x[r * N + i];
        double p = 1.0 / (1.0 + exp(-z));
        loss -= y[r] ? log(p) : log(1.0 - p);
        for (int i = 0; i < N; i++)
            gw[i] += (p - y[r]) * x[r * N + i] / R;
        gb += (p - y[r]) / R;
    }
    float want_w[N];
    for (int i = 0; i < N; i++)
        want_w[i] = (float)(w[i] - 0.2 * gw[i]);
    float want_b = (float)(b - 0.2 * gb);
    float got = nn_logistic_step(w, &b, x, y, 0.2f, R, N);
    TU_ASSERT_NEAR(got, loss / R, 1e-5);
    TU_ASSERT_CLOSE(w, want_w, N, 1e-5);
    TU_ASSERT_CLOSE(&b, &want_b, 1, 1e-5);
}

static void test_logistic_loss_decreases(void)
{
    /* The loss is convex, and its Hessian, the mean of p(1 − p) x̃ x̃ᵀ with
     * x̃ = (x, 1), has no eigenvalue above max |x̃|²/4 = 3/4 on this table.
     * Gradient descent then lowers the loss at every step if lr < 2/(3/4). */
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    float prev = nn_logistic_step(w, &b, table_x, or_y, 1.0f, 4, 2);
    for (int step = 0; step < 200; step++) {
        float loss = nn_logistic_step(w, &b, table_x, or_y, 1.0f, 4, 2);
        CU_ASSERT_FATAL(loss < prev);
        prev = loss;
    }
    CU_ASSERT(prev < 0.1f); /* OR is separable: the loss goes towards 0 */
}

static void test_logistic_loss_saturated(void)
{
    /* z = 30 rounds p = σ(30) to exactly 1 in float, so log(1 − p) = −∞.
     * The true loss of y = 0 is −log(1 − σ(30)) = log(1 + e^{30}) ≈ 30 + e^{−30}. */
    const float x[1] = {1.0f};
    const int y0[1] = {0}, y1[1] = {1};
    float w[1] = {30.0f}, b = 0.0f;
    float loss = nn_logistic_step(w, &b, x, y0, 0.0f, 1, 1);
    CU_ASSERT(isfinite(loss));
    TU_ASSERT_NEAR(loss, 30.0, 1e-5);
    loss = nn_logistic_step(w, &b, x, y1, 0.0f, 1, 1);
    TU_ASSERT_NEAR(loss, 0.0, 1e-10); /* log(1 + e^{−30}) ≈ 9e−14 */
}

void suite_neuron(void)
{
    CU_pSuite s = CU_add_suite("neuron", NULL, NULL);
    CU_add_test(s, "sum by hand", test_sum_by_hand);
    CU_add_test(s, "sum vs double", test_sum_vs_double);
    CU_add_test(s, "step and sign", test_step_and_sign);
    CU_add_test(s, "sigmoid values", test_sigmoid_values);
    CU_add_test(s, "sigmoid at +-1e4", test_sigmoid_extremes);
    CU_add_test(s, "perceptron update by hand", test_perceptron_update_by_hand);
    CU_add_test(s, "perceptron learns AND, OR", test_perceptron_learns_and_or);
    CU_add_test(s, "perceptron never settles on XOR", test_perceptron_fails_on_xor);
    CU_add_test(s, "logistic predict", test_logistic_predict);
    CU_add_test(s, "logistic step by hand", test_logistic_step_by_hand);
    CU_add_test(s, "logistic step vs double", test_logistic_step_vs_double);
    CU_add_test(s, "logistic loss decreases", test_logistic_loss_decreases);
    CU_add_test(s, "logistic loss saturated", test_logistic_loss_saturated);
}
