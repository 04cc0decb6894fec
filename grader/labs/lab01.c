/*
 * Lab 1 (neuron.c) — public tests.
 *
 * Every expected value is worked by hand in the comments, follows from an
 * identity, or is recomputed in double by a formula written out in this
 * file; none was captured from running the reference. Outputs are poisoned
 * with NaN before each call, so a function that writes nothing cannot pass,
 * and NaN never passes a check.
 *
 * The two training tests log CSV files under gr_out_dir()/data/ for the
 * report's plots (grader/plots/lab01.sh):
 *   lab01-iris-points.csv   sepal_length,sepal_width,versicolor (cm, as read)
 *   lab01-perceptron.csv    epoch,errors,w0,w1,b (after each epoch)
 *   lab01-study-points.csv  study_hours,sleep_hours,passed (hours, as read)
 *   lab01-logistic.csv      epoch,loss,accuracy,w0,w1,b (after `epoch` steps)
 * Both trainings see standardized features, (x − mean)/std with the std
 * over the rows (divided by R): w and b in the logs are for those.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/neuron.h"

#ifndef NNLAB_ROOT
#define NNLAB_ROOT "."
#endif

/* ------------------------------------------------------------ helpers */

/* Assert |got − want| <= tol, the message naming the call by `what`. */
#define EXPECT(got, want, tol, what) \
    gr_assert_near((double)(got), (double)(want), (tol), (what), __FILE__, __LINE__)

/* Assert cond with a message of our own (what was expected, what came). */
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

/* Assert got[i] within rtol·|want[i]| + atol of want[i] for every i, the
 * message naming the worst index: a relative tolerance, with an absolute
 * floor for values near 0 (σ(−30) ≈ 1e−13 may come out as 0). NaN fails. */
static void expect_all(const float *got, const double *want, int n, double rtol, double atol,
                       const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        double tol = rtol * fabs(want[i]) + atol, err = fabs(got[i] - want[i]);
        double ratio = tol > 0 ? err / tol : (err == 0 ? 0.0 : INFINITY);
        if (!(ratio <= worst_ratio)) { /* NaN compares false: it becomes the worst */
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[96];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    gr_assert_near(got[worst], want[worst], rtol * fabs(want[worst]) + atol, name, __FILE__, line);
}

/* Read a bundled table: $NNLAB_DATA/NAME, then NNLAB_ROOT/datasets/NAME
 * (the source tree, compiled in), then datasets/NAME. */
static int read_table(nn_table *t, const char *name)
{
    char path[4096];
    const char *env = getenv("NNLAB_DATA");
    if (env) {
        snprintf(path, sizeof path, "%s/%s", env, name);
        if (nn_csv_read(t, path) == NN_OK)
            return 1;
    }
    snprintf(path, sizeof path, "%s/datasets/%s", NNLAB_ROOT, name);
    if (nn_csv_read(t, path) == NN_OK)
        return 1;
    snprintf(path, sizeof path, "datasets/%s", name);
    if (nn_csv_read(t, path) == NN_OK)
        return 1;
    check(0, __LINE__, "the grader could not read %s (%s): not your code's fault, ask the staff",
          name, nn_last_error());
    return 0;
}

/* Setosa (label 0) and versicolor (label 1) flowers of iris.csv in file
 * order: x[r] = (sepal length, sepal width) in cm. */
static int load_iris(float *x, int *y, int rows)
{
    nn_table t;
    if (!read_table(&t, "iris.csv"))
        return 0;
    int species = t.cols - 1, setosa = -1, versicolor = -1, n = 0;
    for (int k = 0; t.levels && t.levels[species] && k < t.n_levels[species]; k++) {
        if (strcmp(t.levels[species][k], "setosa") == 0)
            setosa = k;
        if (strcmp(t.levels[species][k], "versicolor") == 0)
            versicolor = k;
    }
    for (int r = 0; r < t.rows && setosa >= 0 && versicolor >= 0; r++) {
        const float *row = t.values + (size_t)r * t.cols;
        int code = (int)row[species];
        if ((code != setosa && code != versicolor) || n == rows)
            continue;
        x[2 * n] = row[0];     /* sepal length */
        x[2 * n + 1] = row[1]; /* sepal width */
        y[n++] = code == versicolor;
    }
    nn_table_free(&t);
    check(n == rows, __LINE__, "iris.csv: expected %d setosa and versicolor rows, found %d", rows, n);
    return n == rows;
}

/* study.csv: study_hours,sleep_hours,passed. */
static int load_study(float *x, int *y, int rows)
{
    nn_table t;
    if (!read_table(&t, "study.csv"))
        return 0;
    int ok = t.rows == rows && t.cols == 3;
    for (int r = 0; ok && r < rows; r++) {
        x[2 * r] = t.values[3 * r];
        x[2 * r + 1] = t.values[3 * r + 1];
        y[r] = t.values[3 * r + 2] != 0.0f;
    }
    nn_table_free(&t);
    check(ok, __LINE__, "study.csv: expected %d rows of 3 columns", rows);
    return ok;
}

/* (x − mean)/std per column, std over the rows (divided by R), in double. */
static void standardize(float *x, int rows, int n)
{
    for (int j = 0; j < n; j++) {
        double m = 0.0, v = 0.0;
        for (int r = 0; r < rows; r++)
            m += x[r * n + j];
        m /= rows;
        for (int r = 0; r < rows; r++)
            v += (x[r * n + j] - m) * (x[r * n + j] - m);
        double sd = sqrt(v / rows);
        for (int r = 0; r < rows; r++)
            x[r * n + j] = (float)((x[r * n + j] - m) / sd);
    }
}

/* Share of rows with (w·x + b >= 0) == (y = 1), in double; wb = (w0, w1, b). */
static double accuracy(const float wb[3], const float *x, const int *y, int rows)
{
    int right = 0;
    for (int r = 0; r < rows; r++) {
        double z = (double)wb[0] * x[2 * r] + (double)wb[1] * x[2 * r + 1] + wb[2];
        right += (z >= 0.0) == (y[r] == 1);
    }
    return (double)right / rows;
}

/* `steps` full-batch gradient steps of logistic regression in double, from
 * w = 0, b = 0: the expected end point. *loss is the loss of the result. */
static void logistic_double(double w[2], double *b, double *loss, const float *x, const int *y,
                            int rows, double lr, int steps)
{
    w[0] = w[1] = *b = 0.0;
    for (int s = 0; s <= steps; s++) {
        double gw0 = 0, gw1 = 0, gb = 0, l = 0;
        for (int r = 0; r < rows; r++) {
            double z = w[0] * x[2 * r] + w[1] * x[2 * r + 1] + *b;
            double p = 1.0 / (1.0 + exp(-z));
            l += log1p(exp(-fabs(z))) + fmax(z, 0.0) - y[r] * z; /* −log p or −log(1 − p) */
            gw0 += (p - y[r]) * x[2 * r];
            gw1 += (p - y[r]) * x[2 * r + 1];
            gb += p - y[r];
        }
        *loss = l / rows;
        if (s == steps)
            break;
        w[0] -= lr * gw0 / rows;
        w[1] -= lr * gw1 / rows;
        *b -= lr * gb / rows;
    }
}

/* ------------------------------------------------------------ CSV logs */

/* Open gr_out_dir()/data/NAME for writing (creating data/), or NULL: a log
 * that cannot be written costs no points, the report just lacks a plot. */
static FILE *open_log(const char *name)
{
    char path[4096];
    mkdir(gr_out_dir(), 0777); /* normally there already */
    snprintf(path, sizeof path, "%s/data", gr_out_dir());
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return NULL;
    snprintf(path, sizeof path, "%s/data/%s", gr_out_dir(), name);
    return fopen(path, "w");
}

static void write_points(const char *name, const char *header, const float *x, const int *y,
                         int rows)
{
    FILE *f = open_log(name);
    if (!f)
        return;
    fprintf(f, "%s\n", header);
    for (int r = 0; r < rows; r++)
        fprintf(f, "%g,%g,%d\n", (double)x[2 * r], (double)x[2 * r + 1], y[r]);
    fclose(f);
}

/* ------------------------------------------------------------ neuron sum */

static void test_sum(void)
{
    /* 0.5·2 + (−1)·3 + 2·(−1) + 0.25 = 1 − 3 − 2 + 0.25 = −3.75 */
    const float w[3] = {0.5f, -1.0f, 2.0f}, x[3] = {2.0f, 3.0f, -1.0f};
    if (nn_neuron_sum(w, 0.25f, x, 3) == -4.0f)
        gr_hint("z = w·x + b: the bias b is missing from the sum");
    EXPECT(nn_neuron_sum(w, 0.25f, x, 3), -3.75, 1e-6,
           "nn_neuron_sum(w = (0.5, -1, 2), b = 0.25, x = (2, 3, -1), n = 3)");

    /* No inputs at all: only the bias is left. */
    GR_ASSERT_NEAR(nn_neuron_sum(w, 0.25f, x, 0), 0.25, 0.0);
    /* One input: 0.5·2 − 7 = −6 */
    GR_ASSERT_NEAR(nn_neuron_sum(w, -7.0f, x, 1), -6.0, 1e-6);

    /* 37 inputs against the same sum in double, added in reverse order.
     * w_i x_i = (i − 18)/8 · 0.25·(−1)^i: exact in float, so the float sum
     * can only round in the additions (tolerance 1e-5, relative). */
    enum { N = 37 };
    float wl[N], xl[N];
    double want = 1.5;
    for (int i = 0; i < N; i++) {
        wl[i] = (float)(i - 18) / 8.0f;
        xl[i] = (i % 2) ? -0.25f : 0.25f;
    }
    for (int i = N - 1; i >= 0; i--)
        want += (double)wl[i] * xl[i];
    float z37 = nn_neuron_sum(wl, 1.5f, xl, N);
    GR_ASSERT_CLOSE(&z37, &(float){(float)want}, 1, 1e-5);
}

/* ------------------------------------------------------------ outputs */

static void test_step(void)
{
    if (nn_neuron_step(0.0f) == 0.0f && nn_neuron_step(3.0f) == 1.0f)
        gr_hint("step(0) should be 1: the neuron fires when z >= 0");
    GR_ASSERT_NEAR(nn_neuron_step(3.0f), 1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_step(1e-30f), 1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_step(0.0f), 1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_step(-1e-7f), 0.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_step(-250.0f), 0.0, 0.0);
}

static void test_sign(void)
{
    float at0 = nn_neuron_sign(0.0f);
    if (at0 == -1.0f && nn_neuron_sign(2.0f) == 1.0f)
        gr_hint("sign(0) should be +1: the neuron fires when z >= 0, as step(0) = 1");
    else if (at0 == 0.0f && nn_neuron_sign(2.0f) == 1.0f)
        gr_hint("sign(0) should be +1, not 0 (C's and numpy's sign give 0; this neuron fires "
                "when z >= 0)");
    GR_ASSERT_NEAR(nn_neuron_sign(0.5f), 1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_sign(1e6f), 1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_sign(-2.0f), -1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_sign(-1e-7f), -1.0, 0.0);
    GR_ASSERT_NEAR(nn_neuron_sign(0.0f), 1.0, 0.0);
}

static void test_sigmoid(void)
{
    /* σ(0) = 1/2 exactly; σ(ln 3) = 1/(1 + 1/3) = 3/4. */
    GR_ASSERT_NEAR(nn_neuron_sigmoid(0.0f), 0.5, 0.0);
    GR_ASSERT_NEAR(nn_neuron_sigmoid((float)log(3.0)), 0.75, 1e-6);
    /* Other points against 1/(1 + e^{−z}) in double (no overflow for
     * |z| <= 30). Tolerance 1e-6 relative, plus 1e-7 absolute: a few float
     * roundings, and σ(−30) ≈ 9e−14 may round to 0. */
    const float z[] = {-30.0f, -9.0f, -2.5f, -1.0f, -0.1f, 0.1f, 1.0f, 2.5f, 9.0f, 30.0f};
    enum { N = (int)(sizeof z / sizeof z[0]) };
    float sigma_at[N];
    double want[N];
    for (int i = 0; i < N; i++) {
        sigma_at[i] = nn_neuron_sigmoid(z[i]);
        want[i] = 1.0 / (1.0 + exp(-(double)z[i]));
    }
    expect_all(sigma_at, want, N, 1e-6, 1e-7,
               "sigmoid at z = (-30, -9, -2.5, -1, -0.1, 0.1, 1, 2.5, 9, 30)", __LINE__);
    /* Symmetry σ(−z) = 1 − σ(z). */
    for (int i = 0; i < N; i++)
        GR_ASSERT_NEAR((double)nn_neuron_sigmoid(-z[i]) + nn_neuron_sigmoid(z[i]), 1.0, 1e-6);
}

static void test_sigmoid_large(void)
{
    /* e^{±1000} is far beyond float's largest number (3.4e38 ≈ e^{88.7}).
     * σ must come out finite, at its limits: σ(z) = 1 − e^{−z} + ... rounds
     * to 1 in float from z ≈ 17 on; σ(−z) ≈ e^{−z} is below 1e−21 here. */
    const float z[] = {-1000.0f, -100.0f, -50.0f, 50.0f, 100.0f, 1000.0f};
    const double want[] = {0.0, 0.0, 0.0, 1.0, 1.0, 1.0};
    for (int i = 0; i < 6; i++) {
        float s = nn_neuron_sigmoid(z[i]);
        if (!isfinite(s)) {
            if (z[i] > 0)
                gr_hint("sigmoid gave %g for z = %g: e^z / (1 + e^z) is inf/inf there. "
                        "Compute e^{-|z|} (it never overflows) and branch on the sign of z",
                        (double)s, (double)z[i]);
            else
                gr_hint("sigmoid overflowed for z = %g: compute exp(-|z|) and branch on the sign",
                        (double)z[i]);
            break;
        }
    }
    for (int i = 0; i < 6; i++) {
        char what[48];
        snprintf(what, sizeof what, "nn_neuron_sigmoid(%g)", (double)z[i]);
        gr_assert_near(nn_neuron_sigmoid(z[i]), want[i], 1e-12, what, __FILE__, __LINE__);
    }
}

/* ------------------------------------------------------------ perceptron */

static void test_perceptron_update(void)
{
    /* (a) w = 0, b = 0, x = (1, 1), y = 0, lr = 0.5: z = 0, the step fires
     * (ŷ = 1 ≠ y), so lr (y − ŷ) = −0.5: w = (−0.5, −0.5), b = −0.5. */
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    const float x1[2] = {1.0f, 1.0f};
    int r = nn_perceptron_update(w, &b, x1, 0, 0.5f, 2);
    if (r == 0 && w[0] == 0.0f && w[1] == 0.0f)
        gr_hint("at w = 0, b = 0 the sum is z = 0 and the step fires (ŷ = 1): with y = 0 "
                "that is a mistake, and the rule must update");
    else if (w[0] == -0.5f && b == 0.0f)
        gr_hint("the bias was not updated: b <- b + lr (y - ŷ), as if it were a weight on a "
                "constant input 1");
    else if (w[0] == 0.5f)
        gr_hint("w moved the wrong way: w <- w + lr (y - ŷ) x, with y - ŷ = -1 here");
    EXPECT(r, 1, 0.0, "(a) w = 0, b = 0, x = (1, 1), y = 0: return value");
    EXPECT(w[0], -0.5, 0.0, "(a) new w[0]");
    EXPECT(w[1], -0.5, 0.0, "(a) new w[1]");
    EXPECT(b, -0.5, 0.0, "(a) new b");

    /* (b) The same example again: z = −0.5 − 0.5 − 0.5 = −1.5, ŷ = 0 = y.
     * A correct prediction: nothing may change, and the return is 0. */
    float w2[2] = {-0.5f, -0.5f}, b2 = -0.5f;
    r = nn_perceptron_update(w2, &b2, x1, 0, 0.5f, 2);
    if (w2[0] != -0.5f || w2[1] != -0.5f || b2 != -0.5f)
        gr_hint("perceptron updated on a correct prediction: only a misclassified example "
                "(ŷ != y) changes w and b");
    else if (r != 0)
        gr_hint("return 1 only when the example was misclassified (an update happened), else 0");
    EXPECT(w2[0], -0.5, 0.0, "(b) correct prediction (z = -1.5, y = 0): w[0] must not change");
    EXPECT(w2[1], -0.5, 0.0, "(b) correct prediction: w[1] must not change");
    EXPECT(b2, -0.5, 0.0, "(b) correct prediction: b must not change");
    EXPECT(r, 0, 0.0, "(b) correct prediction: return value");

    /* (c) Fired too little: w = (−0.5, −0.5), b = −0.5, x = (2, 1), y = 1,
     * lr = 0.5. z = −1 − 0.5 − 0.5 = −2, ŷ = 0; lr (y − ŷ) = +0.5:
     * w = (−0.5 + 1, −0.5 + 0.5) = (0.5, 0), b = 0. */
    const float x3[2] = {2.0f, 1.0f};
    r = nn_perceptron_update(w2, &b2, x3, 1, 0.5f, 2);
    EXPECT(r, 1, 0.0, "(c) w = (-0.5, -0.5), b = -0.5, x = (2, 1), y = 1: return value");
    EXPECT(w2[0], 0.5, 0.0, "(c) new w[0]");
    EXPECT(w2[1], 0.0, 0.0, "(c) new w[1]");
    EXPECT(b2, 0.0, 0.0, "(c) new b");

    /* (d) Three inputs, lr = 0.25: w = (1, −2, 0.5), b = 1, x = (3, 1, 2),
     * y = 0. z = 3 − 2 + 1 + 1 = 3, ŷ = 1; lr (y − ŷ) = −0.25:
     * w = (0.25, −2.25, 0), b = 0.75. */
    float w4[3] = {1.0f, -2.0f, 0.5f}, b4 = 1.0f;
    const float x4[3] = {3.0f, 1.0f, 2.0f};
    r = nn_perceptron_update(w4, &b4, x4, 0, 0.25f, 3);
    EXPECT(r, 1, 0.0, "(d) w = (1, -2, 0.5), b = 1, x = (3, 1, 2), y = 0, lr = 0.25: return value");
    EXPECT(w4[0], 0.25, 1e-7, "(d) new w[0]");
    EXPECT(w4[1], -2.25, 1e-7, "(d) new w[1]");
    EXPECT(w4[2], 0.0, 1e-7, "(d) new w[2]");
    EXPECT(b4, 0.75, 1e-7, "(d) new b");
}

/* The AND table, rows (0,0), (0,1), (1,0), (1,1). */
static const float and_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const int and_y[4] = {0, 0, 0, 1};

static void test_perceptron_epoch(void)
{
    /* Perceptron on AND from w = 0, b = 0 with lr = 1 (every number stays
     * a small integer, exact in float). Worked by hand, row by row:
     *   epoch 1: (0,0) z=0 fires, y=0: b=-1 | (0,1),(1,0) z=-1 ok |
     *            (1,1) z=-1, y=1: w=(1,1), b=0          -> 2 errors
     *   epoch 2: (0,0) z=0: b=-1 | (0,1) z=0: w=(1,0), b=-2 | (1,0) ok |
     *            (1,1) z=-1: w=(2,1), b=-1              -> 3 errors
     *   epoch 3: (0,1) z=0: w=(2,0), b=-2 | (1,0) z=0: w=(1,0), b=-3 |
     *            (1,1) z=-2: w=(2,1), b=-2              -> 3 errors
     *   epoch 4: (1,0) z=0: w=(1,1), b=-3 | (1,1) z=-1: w=(2,2), b=-2 -> 2
     *   epoch 5: (0,1) z=0: w=(2,1), b=-3 | (1,1) z=0 fires, y=1 ok   -> 1
     *   epoch 6: z = -3, -2, -1, 0 for the four rows: all right      -> 0
     * AND is learnt: w = (2, 1), b = -3. */
    static const int errors[6] = {2, 3, 3, 2, 1, 0};

    /* First a table already learnt: w = (1, 1), b = −1.5 gives
     * z = −1.5, −0.5, −0.5, 0.5, every row right. No error, no change. */
    float w_done[2] = {1.0f, 1.0f}, b_done = -1.5f;
    int done = nn_perceptron_epoch(w_done, &b_done, and_x, and_y, 1.0f, 4, 2);
    if (done == 4 && w_done[0] == 1.0f && w_done[1] == 1.0f && b_done == -1.5f)
        gr_hint("an epoch returns the number of misclassified rows, not the number of rows");
    EXPECT(done, 0, 0.0, "errors in an AND epoch from w = (1, 1), b = -1.5 (all rows right)");
    EXPECT(w_done[0], 1.0, 0.0, "w[0] after an epoch with all rows right (must not change)");
    EXPECT(b_done, -1.5, 0.0, "b after an epoch with all rows right (must not change)");

    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    int got[6];
    got[0] = nn_perceptron_epoch(w, &b, and_x, and_y, 1.0f, 4, 2);
    if (got[0] == 0 && w[0] == 0.0f && b == 0.0f)
        gr_hint("nothing changed in the first epoch: call nn_perceptron_update on each row r, "
                "whose inputs start at x + r*n");
    EXPECT(got[0], 2, 0.0, "errors in AND epoch 1 (from w = 0, b = 0, lr = 1)");
    EXPECT(w[0], 1.0, 0.0, "w[0] after AND epoch 1");
    EXPECT(w[1], 1.0, 0.0, "w[1] after AND epoch 1");
    EXPECT(b, 0.0, 0.0, "b after AND epoch 1");
    for (int e = 1; e < 6; e++)
        got[e] = nn_perceptron_epoch(w, &b, and_x, and_y, 1.0f, 4, 2);
    for (int e = 1; e < 6; e++) {
        char what[48];
        snprintf(what, sizeof what, "errors in AND epoch %d", e + 1);
        gr_assert_near(got[e], errors[e], 0.0, what, __FILE__, __LINE__);
    }
    EXPECT(w[0], 2.0, 0.0, "w[0] after AND epoch 6");
    EXPECT(w[1], 1.0, 0.0, "w[1] after AND epoch 6");
    EXPECT(b, -3.0, 0.0, "b after AND epoch 6");
}

static void test_perceptron_iris(void)
{
    /* Setosa (0) against versicolor (1) on sepal length and sepal width,
     * the first 100 rows of iris.csv in file order. The features are
     * standardized here, (x − mean)/std per column, so that the line
     * w·x + b = 0 starts out through the middle of the flowers; then
     * w = 0, b = 0, lr = 0.1, 10 epochs. The two species are linearly
     * separable in this plane, so by the perceptron convergence theorem
     * the rule stops making mistakes after finitely many updates: here
     * within 10 epochs. */
    enum { ROWS = 100, EPOCHS = 10 };
    static float x[ROWS * 2];
    static int y[ROWS];
    if (!load_iris(x, y, ROWS))
        return;
    write_points("lab01-iris-points.csv", "sepal_length,sepal_width,versicolor", x, y, ROWS);
    standardize(x, ROWS, 2);

    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    int errors[EPOCHS];
    float hist[EPOCHS][3];
    int first_clean = 0;
    for (int e = 0; e < EPOCHS; e++) {
        errors[e] = nn_perceptron_epoch(w, &b, x, y, 0.1f, ROWS, 2);
        hist[e][0] = w[0];
        hist[e][1] = w[1];
        hist[e][2] = b;
        if (errors[e] == 0 && !first_clean)
            first_clean = e + 1;
    }
    FILE *f = open_log("lab01-perceptron.csv");
    if (f) {
        fprintf(f, "epoch,errors,w0,w1,b\n");
        for (int e = 0; e < EPOCHS; e++)
            fprintf(f, "%d,%d,%.9g,%.9g,%.9g\n", e + 1, errors[e], (double)hist[e][0],
                    (double)hist[e][1], (double)hist[e][2]);
        fclose(f);
    }

    /* w = 0, b = 0 gives z = 0 on the first flower, a setosa: the step
     * fires, a mistake. So the first epoch has at least one error. */
    check(errors[0] >= 1, __LINE__,
          "epoch 1: expected at least 1 error (w = 0 fires on the first flower, a setosa), "
          "got %d", errors[0]);
    check(first_clean >= 1, __LINE__,
          "expected an epoch with 0 errors within %d epochs; the errors per epoch were "
          "%d %d %d %d %d %d %d %d %d %d", EPOCHS, errors[0], errors[1], errors[2], errors[3],
          errors[4], errors[5], errors[6], errors[7], errors[8], errors[9]);
    /* The final line separates every flower, checked here in double. */
    const float wb[3] = {w[0], w[1], b};
    int wrong = (int)lrint((1.0 - accuracy(wb, x, y, ROWS)) * ROWS);
    check(wrong == 0, __LINE__,
          "expected the final w = (%g, %g), b = %g to separate all %d flowers; %d are on the "
          "wrong side", (double)w[0], (double)w[1], (double)b, ROWS, wrong);
}

/* ------------------------------------------------------------ logistic */

static void test_logistic_predict(void)
{
    /* w = (1, −1), b = 0.5 on four rows: z = 0.5, 1.5, −1.5, −29.5; p = σ(z)
     * in double (1e-6 relative, 1e-7 absolute). The output array has a
     * fifth, sentinel slot that must stay untouched. */
    const float w[2] = {1.0f, -1.0f};
    const float x[8] = {0, 0, 2, 1, 1, 3, -15, 15};
    const double z[4] = {0.5, 1.5, -1.5, -29.5};
    float p[5];
    double want[4];
    gr_poison(p, 4);
    p[4] = 12345.0f;
    nn_logistic_predict(p, w, 0.5f, x, 4, 2);
    for (int r = 0; r < 4; r++)
        want[r] = 1.0 / (1.0 + exp(-z[r]));
    if (isnan(p[1]) && !isnan(p[0]))
        gr_hint("only the first row was written: row r of x starts at x + r*n");
    expect_all(p, want, 4, 1e-6, 1e-7, "p", __LINE__);
    EXPECT(p[4], 12345.0, 0.0, "p[4], past the 4 rows (must stay untouched)");
}

static void test_logistic_step(void)
{
    /* Three rows, two features, w = 0, b = 0, lr = 0.6:
     *   x = (1, 2), (−1, 0), (0, −1);  y = 1, 0, 1.
     * Every p = σ(0) = 1/2, so the loss is −log(1/2) = ln 2, and
     * p − y = (−1/2, 1/2, −1/2):
     *   ∂L/∂w = (1/3)[−½(1,2) + ½(−1,0) − ½(0,−1)] = (1/3)(−1, −½) = (−1/3, −1/6)
     *   ∂L/∂b = (1/3)(−½ + ½ − ½) = −1/6
     *   w = 0 − 0.6·(−1/3, −1/6) = (0.2, 0.1),  b = 0 − 0.6·(−1/6) = 0.1 */
    const float x[6] = {1, 2, -1, 0, 0, -1};
    const int y[3] = {1, 0, 1};
    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    float loss = nn_logistic_step(w, &b, x, y, 0.6f, 3, 2);
    if (fabsf(w[0] - 0.6f) < 1e-5f && fabsf(w[1] - 0.3f) < 1e-5f)
        gr_hint("logistic gradient not averaged over the rows: divide the summed gradient by R "
                "(the loss is a mean)");
    else if (fabsf(w[0] + 0.2f) < 1e-5f && fabsf(w[1] + 0.1f) < 1e-5f)
        gr_hint("w moved up the gradient: w <- w - lr dL/dw");
    else if (fabsf(w[0] - 0.2f) < 1e-5f && b == 0.0f)
        gr_hint("the bias was not updated: b <- b - lr dL/db, dL/db = mean of (p - y)");
    else if (isfinite(loss) && fabsf(loss - 0.6931472f) > 1e-4f && loss != 0.0f)
        gr_hint("return the mean loss at the weights before the step (ln 2 here: every p = 1/2). "
                "If w moves inside the row loop, later rows see a new w: sum the gradient over "
                "all rows first, then step");
    EXPECT(loss, log(2.0), 1e-6, "step 1 returned loss (the loss before the step, ln 2)");
    EXPECT(w[0], 0.2, 1e-6, "w[0] after step 1");
    EXPECT(w[1], 0.1, 1e-6, "w[1] after step 1");
    EXPECT(b, 0.1, 1e-6, "b after step 1");

    /* A second step from there, against the formulas in double: the loss
     * before the step and the new w, b (relative tolerance 1e-5). Every
     * p_r uses the old w. */
    double wd[2] = {w[0], w[1]}, bd = b, gw[2] = {0, 0}, gb = 0, ld = 0;
    for (int r = 0; r < 3; r++) {
        double zr = wd[0] * x[2 * r] + wd[1] * x[2 * r + 1] + bd;
        double p = 1.0 / (1.0 + exp(-zr));
        ld -= y[r] ? log(p) : log(1.0 - p);
        gw[0] += (p - y[r]) * x[2 * r];
        gw[1] += (p - y[r]) * x[2 * r + 1];
        gb += p - y[r];
    }
    const float want[4] = {(float)(ld / 3), (float)(wd[0] - 0.6 * gw[0] / 3),
                           (float)(wd[1] - 0.6 * gw[1] / 3), (float)(bd - 0.6 * gb / 3)};
    float step2_loss_w0_w1_b[4];
    step2_loss_w0_w1_b[0] = nn_logistic_step(w, &b, x, y, 0.6f, 3, 2);
    step2_loss_w0_w1_b[1] = w[0];
    step2_loss_w0_w1_b[2] = w[1];
    step2_loss_w0_w1_b[3] = b;
    GR_ASSERT_CLOSE(step2_loss_w0_w1_b, want, 4, 1e-5);
}

static void test_logistic_loss_stable(void)
{
    /* One feature, w = 60, b = 0, lr = 0 (nothing moves):
     *   x = 1,  y = 0: z = 60,  p = σ(60) rounds to 1 in float, and
     *                  −log(1 − p) would be +inf. Its true loss is
     *                  log(1 + e^60) − 0 = 60 + log1p(e^−60) = 60.
     *   x = −1, y = 1: z = −60, −log p = log(1 + e^60) = 60 as well.
     *   x = 1,  y = 1: z = 60,  loss log(1 + e^−60) ≈ 8.8e−27 ≈ 0.
     * Mean over the three rows: 120/3 = 40. */
    const float x[3] = {1.0f, -1.0f, 1.0f};
    const int y[3] = {0, 1, 1};
    float w = 60.0f, b = 0.0f;
    float loss = nn_logistic_step(&w, &b, x, y, 0.0f, 3, 1);
    if (!isfinite(loss))
        gr_hint("the loss came out %g: -log(1 - p) is +inf when p rounds to 1 in float. Compute "
                "each row's loss from z: log(1 + e^z) - y z = max(z, 0) + log1p(e^-|z|) - y z",
                (double)loss);
    else if (loss > 10.0f && loss < 39.9f)
        gr_hint("the loss came out %g, less than the true 40: clamping p away from 0 and 1 (an "
                "epsilon) caps each row's loss. Compute it from z: max(z, 0) + log1p(e^-|z|) - y z",
                (double)loss);
    EXPECT(loss, 40.0, 40.0 * 1e-6, "loss of z = (60, -60, 60), y = (0, 1, 1)");
    EXPECT(w, 60.0, 0.0, "w after a step with lr = 0");
}

static void test_logistic_study(void)
{
    /* Logistic regression on datasets/study.csv (30 made-up students: hours
     * of study and of sleep the night before -> passed). The features are
     * standardized here, (x − mean)/std per column, the way one prepares
     * data for gradient descent; then 200 full-batch steps with lr = 0.5
     * from w = 0, b = 0.
     *   - loss before the first step: every p = ½, so ln 2;
     *   - the loss is convex and lr is small enough, so it never goes up;
     *   - the final w, b match the same 200 steps done here in double
     *     (relative tolerance 1e-3: float and double drift apart slowly);
     *   - at least 27 of the 30 students are classified right (p >= ½). */
    enum { ROWS = 30, STEPS = 200 };
    static float x[ROWS * 2];
    static int y[ROWS];
    if (!load_study(x, y, ROWS))
        return;
    write_points("lab01-study-points.csv", "study_hours,sleep_hours,passed", x, y, ROWS);
    standardize(x, ROWS, 2);

    float w[2] = {0.0f, 0.0f}, b = 0.0f;
    static float log_rows[STEPS + 1][6];
    float loss = 0.0f, prev = INFINITY;
    int rises = 0, first_rise = -1;
    for (int e = 0; e <= STEPS; e++) {
        float before[3] = {w[0], w[1], b};
        /* The last call only reads the loss of the final weights (lr = 0). */
        loss = nn_logistic_step(w, &b, x, y, e < STEPS ? 0.5f : 0.0f, ROWS, 2);
        log_rows[e][0] = (float)e;
        log_rows[e][1] = loss;
        log_rows[e][2] = (float)accuracy(before, x, y, ROWS);
        log_rows[e][3] = before[0];
        log_rows[e][4] = before[1];
        log_rows[e][5] = before[2];
        if (e > 0 && !(loss <= prev + 1e-6f)) { /* NaN counts as a rise */
            if (first_rise < 0)
                first_rise = e;
            rises++;
        }
        prev = loss;
    }
    FILE *f = open_log("lab01-logistic.csv");
    if (f) {
        fprintf(f, "epoch,loss,accuracy,w0,w1,b\n");
        for (int e = 0; e <= STEPS; e++)
            fprintf(f, "%d,%.9g,%.6g,%.9g,%.9g,%.9g\n", e, (double)log_rows[e][1],
                    (double)log_rows[e][2], (double)log_rows[e][3], (double)log_rows[e][4],
                    (double)log_rows[e][5]);
        fclose(f);
    }

    double wd[2], bd, lossd;
    logistic_double(wd, &bd, &lossd, x, y, ROWS, 0.5, STEPS);

    EXPECT(log_rows[0][1], log(2.0), 1e-6, "loss at w = 0, b = 0 (ln 2)");
    if (first_rise > 0)
        gr_hint("the loss went up at step %d (from %g to %g): check the sign of the step and "
                "that the gradient is averaged over the rows",
                first_rise, (double)log_rows[first_rise - 1][1], (double)log_rows[first_rise][1]);
    check(rises == 0, __LINE__, "expected the loss never to go up; it rose %d times, first at step %d",
          rises, first_rise);
    const float w0_w1_b_loss_after_200[4] = {w[0], w[1], b, loss};
    const float want[4] = {(float)wd[0], (float)wd[1], (float)bd, (float)lossd};
    GR_ASSERT_CLOSE(w0_w1_b_loss_after_200, want, 4, 1e-3);
    const float final[3] = {w[0], w[1], b};
    int right = (int)lrint(accuracy(final, x, y, ROWS) * ROWS);
    check(right >= 27, __LINE__, "expected at least 27 of the 30 students classified right, got %d",
          right);
}

const gr_test gr_public_tests[] = {
    {"neuron sum", 2, 1.0, "nn_neuron_sum", test_sum},
    {"step output", 1, 1.0, "nn_neuron_step", test_step},
    {"sign output", 1, 1.0, "nn_neuron_sign", test_sign},
    {"sigmoid output", 1, 1.0, "nn_neuron_sigmoid", test_sigmoid},
    {"sigmoid at large |z|", 1, 1.0, "nn_neuron_sigmoid", test_sigmoid_large},
    {"perceptron update", 2, 1.0, "nn_perceptron_update", test_perceptron_update},
    {"perceptron epoch", 2, 1.0, "nn_perceptron_epoch,nn_perceptron_update", test_perceptron_epoch},
    {"perceptron learns iris", 3, 2.0, "nn_perceptron_epoch,nn_perceptron_update",
     test_perceptron_iris},
    {"logistic predict", 1, 1.0, "nn_logistic_predict", test_logistic_predict},
    {"logistic step", 3, 1.0, "nn_logistic_step", test_logistic_step},
    {"logistic loss where p rounds to 0 or 1", 1, 1.0, "nn_logistic_step",
     test_logistic_loss_stable},
    {"logistic regression learns study", 2, 2.0, "nn_logistic_step", test_logistic_study},
    {NULL, 0, 0, NULL, NULL}
};
