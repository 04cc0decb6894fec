/*
 * Tests of lab 4 (backprop.c).
 *
 * Every analytic gradient is checked against an independent value: a
 * central finite difference of a loss the test computes itself in double,
 * a double-precision recomputation of the formula, or numbers worked by
 * hand in the comments. Nothing here was copied from a run of the code.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/backprop.h"
#include "nnlab/error.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

/* max_i |a_i − g_i| / max(1e-8, max_i |g_i|): the error of a gradient a
 * relative to the scale of the reference g. (Element by element the ratio
 * says nothing for components that cancel to almost 0.) +Inf when a value
 * is not finite, so NaN never passes. */
static double grad_err(const float *a, const double *g, int n)
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

#define ASSERT_GRAD(a, g, n, tol)                                                 \
    do {                                                                          \
        double e_ = grad_err((a), (g), (n));                                      \
        char m_[160];                                                             \
        snprintf(m_, sizeof m_, "%s vs %s: gradient error %.3g > tol %.1g", #a, #g, \
                 e_, (double)(tol));                                              \
        CU_assertImplementation(e_ < (tol), __LINE__, m_, __FILE__, "", CU_FALSE); \
    } while (0)

/* g_i = (f(p + h e_i) − f(p − h e_i)) / (step actually taken), for the float
 * parameters p[n] that f reads; p is left as it was. */
static void numeric_grad(double *g, nn_objective f, void *ctx, float *p, int n, double h)
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

/* log Σ_j e^{x_j} − x_label, the cross-entropy of one row of logits. */
static double ce_row(const double *x, int label, int classes)
{
    double m = x[0], s = 0.0;
    for (int j = 1; j < classes; j++)
        m = fmax(m, x[j]);
    for (int j = 0; j < classes; j++)
        s += exp(x[j] - m);
    return m + log(s) - x[label];
}

/* ------------------------------------------------------------ dense */

typedef struct {
    float *in, *w, *b;
    const float *r;
    int batch, n_in, n_out;
} dense_ctx;

/* Σ_rj R[r,j] out[r,j] with out = in Wᵀ + b, in double: its gradient with
 * respect to out is R, so dense backward with dout = R must match it. */
static double dense_objective(void *p)
{
    const dense_ctx *c = p;
    double sum = 0.0;
    for (int r = 0; r < c->batch; r++)
        for (int j = 0; j < c->n_out; j++) {
            double o = c->b[j];
            for (int i = 0; i < c->n_in; i++)
                o += (double)c->in[r * c->n_in + i] * c->w[j * c->n_in + i];
            sum += c->r[r * c->n_out + j] * o;
        }
    return sum;
}

static void test_dense_backward_fd(void)
{
    enum { B = 5, NI = 7, NO = 3 };
    float in[B * NI], w[NO * NI], b[NO], r[B * NO];
    float din[B * NI] = {0}, dw[NO * NI] = {0}, db[NO] = {0};
    double g_in[B * NI], g_w[NO * NI], g_b[NO];
    nn_rng rng;
    nn_rng_seed(&rng, 41);
    tu_fill(in, B * NI, -1, 1, &rng);
    tu_fill(w, NO * NI, -1, 1, &rng);
    tu_fill(b, NO, -1, 1, &rng);
    tu_fill(r, B * NO, -1, 1, &rng);

    nn_dense_backward(din, dw, db, r, in, w, B, NI, NO);

    dense_ctx c = {in, w, b, r, B, NI, NO};
    numeric_grad(g_w, dense_objective, &c, w, NO * NI, 1e-3);
    numeric_grad(g_b, dense_objective, &c, b, NO, 1e-3);
    numeric_grad(g_in, dense_objective, &c, in, B * NI, 1e-3);
    ASSERT_GRAD(dw, g_w, NO * NI, 1e-5);
    ASSERT_GRAD(db, g_b, NO, 1e-5);
    ASSERT_GRAD(din, g_in, B * NI, 1e-5);
}

/* The three formulas of dense backward recomputed in double:
 * dW = Gᵀ in, db = Σ_rows G, din = G W. */
static void dense_grads_double(double *din, double *dw, double *db, const float *g,
                               const float *in, const float *w, int batch, int n_in, int n_out)
{
    for (int j = 0; j < n_out; j++) {
        db[j] = 0.0;
        for (int r = 0; r < batch; r++)
            db[j] += g[r * n_out + j];
        for (int i = 0; i < n_in; i++) {
            double s = 0.0;
            for (int r = 0; r < batch; r++)
                s += (double)g[r * n_out + j] * in[r * n_in + i];
            dw[j * n_in + i] = s;
        }
    }
    for (int r = 0; r < batch; r++)
        for (int i = 0; i < n_in; i++) {
            double s = 0.0;
            for (int j = 0; j < n_out; j++)
                s += (double)g[r * n_out + j] * w[j * n_in + i];
            din[r * n_in + i] = s;
        }
}

/* A Fashion-MNIST sized layer (128 × 784 → 10), the shape training runs:
 * beyond a toy size, BLAS takes its blocked code paths. */
static void test_dense_backward_training_size(void)
{
    enum { B = 128, NI = 784, NO = 10 };
    float *in = malloc(sizeof(float) * B * NI), *din = calloc(B * NI, sizeof(float));
    float *w = malloc(sizeof(float) * NO * NI), *dw = calloc(NO * NI, sizeof(float));
    float g[B * NO], db[NO] = {0};
    double *e_in = malloc(sizeof(double) * B * NI), *e_w = malloc(sizeof(double) * NO * NI);
    double e_b[NO];
    CU_ASSERT_FATAL(in && din && w && dw && e_in && e_w);
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    tu_fill(in, B * NI, 0, 1, &rng);
    tu_fill(w, NO * NI, -0.1f, 0.1f, &rng);
    tu_fill(g, B * NO, -0.01f, 0.01f, &rng);

    nn_dense_backward(din, dw, db, g, in, w, B, NI, NO);
    dense_grads_double(e_in, e_w, e_b, g, in, w, B, NI, NO);
    ASSERT_GRAD(dw, e_w, NO * NI, 1e-5);
    ASSERT_GRAD(db, e_b, NO, 1e-5);
    ASSERT_GRAD(din, e_in, B * NI, 1e-5);
    free(in);
    free(din);
    free(w);
    free(dw);
    free(e_in);
    free(e_w);
}

/* Gradients already in the buffers are kept: starting from P, two calls
 * leave P + 2G. din = NULL skips the input gradient and nothing else. */
static void test_dense_backward_accumulates(void)
{
    enum { B = 6, NI = 9, NO = 4 };
    float in[B * NI], w[NO * NI], g[B * NO];
    float din[B * NI], dw[NO * NI], db[NO], dw2[NO * NI], db2[NO];
    double e_in[B * NI], e_w[NO * NI], e_b[NO];
    nn_rng rng;
    nn_rng_seed(&rng, 43);
    tu_fill(in, B * NI, -1, 1, &rng);
    tu_fill(w, NO * NI, -1, 1, &rng);
    tu_fill(g, B * NO, -1, 1, &rng);
    for (int i = 0; i < B * NI; i++)
        din[i] = 0.5f;
    for (int i = 0; i < NO * NI; i++)
        dw[i] = dw2[i] = -0.25f;
    for (int i = 0; i < NO; i++)
        db[i] = db2[i] = 2.0f;

    nn_dense_backward(din, dw, db, g, in, w, B, NI, NO);
    nn_dense_backward(din, dw, db, g, in, w, B, NI, NO);
    dense_grads_double(e_in, e_w, e_b, g, in, w, B, NI, NO);
    for (int i = 0; i < B * NI; i++)
        e_in[i] = 0.5 + 2 * e_in[i];
    for (int i = 0; i < NO * NI; i++)
        e_w[i] = -0.25 + 2 * e_w[i];
    for (int i = 0; i < NO; i++)
        e_b[i] = 2.0 + 2 * e_b[i];
    ASSERT_GRAD(din, e_in, B * NI, 1e-6);
    ASSERT_GRAD(dw, e_w, NO * NI, 1e-6);
    ASSERT_GRAD(db, e_b, NO, 1e-6);

    /* Without din: the same dW and db after two calls. */
    nn_dense_backward(NULL, dw2, db2, g, in, w, B, NI, NO);
    nn_dense_backward(NULL, dw2, db2, g, in, w, B, NI, NO);
    TU_ASSERT_CLOSE(dw2, dw, NO * NI, 1e-6);
    TU_ASSERT_CLOSE(db2, db, NO, 1e-6);
}

/* Batch 2, 2 inputs, 2 outputs, worked by hand.
 *   in = [[1, 2], [3, 4]], W = [[1, 0], [0, 2]], G = [[1, -1], [2, 0]]
 *   dW = Gᵀ in = [[1·1 + 2·3, 1·2 + 2·4], [−1·1 + 0·3, −1·2 + 0·4]] = [[7, 10], [−1, −2]]
 *   db = column sums of G = [3, −1]
 *   din = G W = [[1·1 + (−1)·0, 1·0 + (−1)·2], [2·1 + 0, 0 + 0]] = [[1, −2], [2, 0]] */
static void test_dense_backward_by_hand(void)
{
    const float in[4] = {1, 2, 3, 4}, w[4] = {1, 0, 0, 2}, g[4] = {1, -1, 2, 0};
    float din[4] = {0}, dw[4] = {0}, db[2] = {0};
    const float e_w[4] = {7, 10, -1, -2}, e_b[2] = {3, -1}, e_in[4] = {1, -2, 2, 0};
    nn_dense_backward(din, dw, db, g, in, w, 2, 2, 2);
    TU_ASSERT_CLOSE(dw, e_w, 4, 1e-6);
    TU_ASSERT_CLOSE(db, e_b, 2, 1e-6);
    TU_ASSERT_CLOSE(din, e_in, 4, 1e-6);
}

/* ------------------------------------------------------------ activations */

/* Every activation: din = 0.25 + dout · f'(x), with f' by central
 * differences of nn_activation_forward. The inputs stay 0.15 away from 0,
 * where step, ReLU, leaky ReLU and ELU have kinks. f is evaluated in float,
 * so the difference quotient carries an error of about ulp(f) / 2h ≈ 1e-5. */
static void test_activation_backward_fd(void)
{
    enum { N = 10 };
    const float x[N] = {-3.1f, -2.05f, -1.3f, -0.55f, -0.15f, 0.2f, 0.65f, 1.35f, 2.4f, 3.3f};
    const float h = 1e-2f;
    float dout[N];
    nn_rng rng;
    nn_rng_seed(&rng, 44);
    tu_fill(dout, N, -1, 1, &rng);
    for (int act = 0; act < NN_ACT_COUNT; act++) {
        float din[N], up[N], down[N], xu[N], xd[N];
        double expect[N];
        for (int i = 0; i < N; i++) {
            din[i] = 0.25f;
            xu[i] = x[i] + h;
            xd[i] = x[i] - h;
        }
        nn_activation_forward(up, xu, N, (nn_act)act);
        nn_activation_forward(down, xd, N, (nn_act)act);
        for (int i = 0; i < N; i++)
            expect[i] = 0.25 + dout[i] * ((double)up[i] - down[i]) / ((double)xu[i] - xd[i]);
        nn_activation_backward(din, dout, x, N, (nn_act)act);
        double e = grad_err(din, expect, N);
        char msg[120];
        snprintf(msg, sizeof msg, "activation %d: gradient error %.3g > 1e-3", act, e);
        CU_assertImplementation(e < 1e-3, __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

/* ReLU by hand, including x = 0 where PyTorch takes ReLU'(0) = 0:
 *   x = [−1, 0, 2], dout = [5, 7, 11], din starts at 1:
 *   din = [1 + 5·0, 1 + 7·0, 1 + 11·1] = [1, 1, 12] */
static void test_relu_backward_by_hand(void)
{
    const float x[3] = {-1, 0, 2}, dout[3] = {5, 7, 11}, expect[3] = {1, 1, 12};
    float din[3] = {1, 1, 1};
    nn_activation_backward(din, dout, x, 3, NN_ACT_RELU);
    TU_ASSERT_CLOSE(din, expect, 3, 1e-7);
}

/* ------------------------------------------------------------ losses */

typedef struct {
    float *pred;
    const float *target;
    const int *labels;
    int rows, cols;
} loss_ctx;

static double mse_objective(void *p)
{
    const loss_ctx *c = p;
    int n = c->rows * c->cols;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += ((double)c->pred[i] - c->target[i]) * ((double)c->pred[i] - c->target[i]);
    return s / n;
}

static double bce_objective(void *p)
{
    const loss_ctx *c = p;
    double s = 0.0;
    for (int i = 0; i < c->cols; i++) {
        double q = c->pred[i], y = c->target[i];
        s -= y * log(q) + (1 - y) * log(1 - q);
    }
    return s / c->cols;
}

static double ce_objective(void *p)
{
    const loss_ctx *c = p;
    double s = 0.0, x[16];
    for (int r = 0; r < c->rows; r++) {
        for (int j = 0; j < c->cols; j++)
            x[j] = c->pred[r * c->cols + j];
        s += ce_row(x, c->labels[r], c->cols);
    }
    return s / c->rows;
}

static void test_mse_backward(void)
{
    /* By hand, batch 1, n 2: pred = [1, 2], target = [0, 4]:
     * 2 (p − t) / 2 = [1, −2]. */
    const float p1[2] = {1, 2}, t1[2] = {0, 4}, e1[2] = {1, -2};
    float d1[2] = {0, 0};
    nn_mse_backward(d1, p1, t1, 1, 2);
    TU_ASSERT_CLOSE(d1, e1, 2, 1e-7);

    enum { B = 3, N = 5 };
    float pred[B * N], target[B * N], d[B * N] = {0};
    double g[B * N];
    nn_rng rng;
    nn_rng_seed(&rng, 45);
    tu_fill(pred, B * N, -2, 2, &rng);
    tu_fill(target, B * N, -2, 2, &rng);
    nn_mse_backward(d, pred, target, B, N);
    loss_ctx c = {pred, target, NULL, B, N};
    numeric_grad(g, mse_objective, &c, pred, B * N, 1e-3);
    ASSERT_GRAD(d, g, B * N, 1e-5);
}

static void test_bce_backward(void)
{
    enum { N = 6 };
    float p[N], d[N] = {0};
    const float y[N] = {0, 1, 1, 0, 0.3f, 0.8f};
    double g[N];
    nn_rng rng;
    nn_rng_seed(&rng, 46);
    tu_fill(p, N, 0.1f, 0.9f, &rng);
    nn_bce_backward(d, p, y, N);
    loss_ctx c = {p, y, NULL, 1, N};
    numeric_grad(g, bce_objective, &c, p, N, 1e-4);
    ASSERT_GRAD(d, g, N, 1e-4);

    /* Saturated predictions, the worst possible: p = 0 for y = 1 and p = 1
     * for y = 0. Clamped to 1e-7, the first gives
     *   (1e-7 − 1) / (1e-7 · (1 − 1e-7) · 2) ≈ −5·10⁶;
     * the second is as large and positive. Finite either way. */
    const float ps[2] = {0, 1}, ys[2] = {1, 0};
    float ds[2] = {0, 0};
    nn_bce_backward(ds, ps, ys, 2);
    CU_ASSERT(isfinite(ds[0]) && isfinite(ds[1]));
    TU_ASSERT_NEAR(ds[0], -5e6, 5e3);
    CU_ASSERT(ds[1] > 1e6);
}

static void test_cross_entropy_backward(void)
{
    /* By hand, batch 2, 4 classes.
     * Row 0: logits all 0, so softmax = [¼, ¼, ¼, ¼]; label 2:
     *   (softmax − onehot) / 2 = [0.125, 0.125, −0.375, 0.125].
     * Row 1: logits [ln 3, 0, 0, 0], so softmax = [3, 1, 1, 1] / 6; label 0:
     *   ([½, ⅙, ⅙, ⅙] − [1, 0, 0, 0]) / 2 = [−¼, 1/12, 1/12, 1/12]. */
    const float x[8] = {0, 0, 0, 0, (float)log(3.0), 0, 0, 0};
    const int lab[2] = {2, 0};
    const float expect[8] = {0.125f, 0.125f, -0.375f, 0.125f,
                             -0.25f, 1 / 12.0f, 1 / 12.0f, 1 / 12.0f};
    float d1[8] = {0};
    nn_cross_entropy_backward(d1, x, lab, 2, 4);
    TU_ASSERT_CLOSE(d1, expect, 8, 1e-6);

    enum { B = 4, C = 5 };
    float logits[B * C], d[B * C] = {0};
    const int labels[B] = {0, 4, 2, 2};
    double g[B * C];
    nn_rng rng;
    nn_rng_seed(&rng, 47);
    tu_fill(logits, B * C, -3, 3, &rng);
    nn_cross_entropy_backward(d, logits, labels, B, C);
    loss_ctx c = {logits, NULL, labels, B, C};
    numeric_grad(g, ce_objective, &c, logits, B * C, 1e-3);
    ASSERT_GRAD(d, g, B * C, 1e-5);
}

/* Logits of ±1e4 overflow e^x in any precision unless the max is
 * subtracted first. By hand, batch 2:
 *   [1e4, −1e4, 0], label 1: softmax = [1, 0, 0] → ([1, 0, 0] − [0, 1, 0]) / 2
 *   [−1e4, 1e4, 1e4], label 0: softmax = [0, ½, ½] → ([0, ½, ½] − [1, 0, 0]) / 2 */
static void test_cross_entropy_backward_extreme(void)
{
    const float x[6] = {1e4f, -1e4f, 0, -1e4f, 1e4f, 1e4f};
    const int lab[2] = {1, 0};
    const float expect[6] = {0.5f, -0.5f, 0, -0.5f, 0.25f, 0.25f};
    float d[6] = {0};
    nn_cross_entropy_backward(d, x, lab, 2, 3);
    for (int i = 0; i < 6; i++)
        TU_ASSERT_NEAR(d[i], expect[i], 1e-6);
}

/* ------------------------------------------------------------ softmax */

typedef struct {
    float *x;
    const float *r;
    int rows, cols;
} softmax_ctx;

/* softmax of one row, in double */
static void softmax_row_d(double *y, const float *x, int n)
{
    double m = x[0], s = 0.0;
    for (int j = 1; j < n; j++)
        m = fmax(m, x[j]);
    for (int j = 0; j < n; j++)
        s += y[j] = exp(x[j] - m);
    for (int j = 0; j < n; j++)
        y[j] /= s;
}

/* Σ R ⊙ softmax(x), in double */
static double softmax_objective(void *p)
{
    const softmax_ctx *c = p;
    double y[16], s = 0.0;
    for (int r = 0; r < c->rows; r++) {
        softmax_row_d(y, c->x + r * c->cols, c->cols);
        for (int j = 0; j < c->cols; j++)
            s += c->r[r * c->cols + j] * y[j];
    }
    return s;
}

static void test_softmax_backward(void)
{
    enum { R = 3, C = 6 };
    float x[R * C], r[R * C], y[R * C], d[R * C] = {0};
    double g[R * C], yd[C];
    nn_rng rng;
    nn_rng_seed(&rng, 48);
    tu_fill(x, R * C, -2, 2, &rng);
    tu_fill(r, R * C, -1, 1, &rng);
    for (int i = 0; i < R; i++) {
        softmax_row_d(yd, x + i * C, C);
        for (int j = 0; j < C; j++)
            y[i * C + j] = (float)yd[j];
    }
    nn_softmax_backward(d, r, y, R, C);
    softmax_ctx c = {x, r, R, C};
    numeric_grad(g, softmax_objective, &c, x, R * C, 1e-3);
    ASSERT_GRAD(d, g, R * C, 1e-4);
}

/* Every loss and element-wise backward adds: two calls from zero give
 * twice one call. */
static void test_backward_accumulates(void)
{
    enum { B = 2, C = 5, N = B * C };
    float a[N], b[N], once[N], twice[N], twice_of_once[N];
    const int labels[B] = {3, 1};
    nn_rng rng;
    nn_rng_seed(&rng, 49);
    tu_fill(a, N, 0.1f, 0.9f, &rng);
    tu_fill(b, N, 0.1f, 0.9f, &rng);
    for (int k = 0; k < 5; k++) {
        memset(once, 0, sizeof once);
        memset(twice, 0, sizeof twice);
        for (int rep = 0; rep < 3; rep++) {
            float *d = rep == 0 ? once : twice;
            switch (k) {
            case 0: nn_mse_backward(d, a, b, B, C); break;
            case 1: nn_bce_backward(d, a, b, N); break;
            case 2: nn_cross_entropy_backward(d, a, labels, B, C); break;
            case 3: nn_softmax_backward(d, a, b, B, C); break;
            default: nn_activation_backward(d, a, b, N, NN_ACT_TANH); break;
            }
        }
        float biggest = 0.0f;
        for (int i = 0; i < N; i++) {
            twice_of_once[i] = 2 * once[i];
            biggest = fmaxf(biggest, fabsf(once[i]));
        }
        CU_ASSERT(biggest > 0.01f); /* there is a gradient to double */
        TU_ASSERT_CLOSE(twice, twice_of_once, N, 1e-6);
    }
}

/* ------------------------------------------------------------ grad check */

enum { GC_N = 5 };

typedef struct {
    float *theta;
    const float *c;
    int n, calls;
} cubic_ctx;

/* f(θ) = Σ c_i θ_i³, so ∂f/∂θ_i = 3 c_i θ_i². */
static double cubic_objective(void *p)
{
    cubic_ctx *k = p;
    double s = 0.0;
    k->calls++;
    for (int i = 0; i < k->n; i++)
        s += k->c[i] * (double)k->theta[i] * k->theta[i] * k->theta[i];
    return s;
}

/* θ_i are multiples of 1/64 and h = 2⁻¹⁰, so θ ± h are exact in float and
 * the quotient is exactly the central difference of the cubic:
 *   ((θ + h)³ − (θ − h)³) / 2h = 3θ² + h²,
 * hence for the true gradient a = 3cθ²,
 *   rel = |c| h² / (|3cθ² + ch²| + |3cθ²|) = h² / (6θ² + h²).
 * A one-sided difference would be off by 3θh instead, rel ≈ h / 2θ. */
static void test_grad_check(void)
{
    const float c[GC_N] = {1, -2, 0.5f, 3, -1};
    const float start[GC_N] = {0.5f, -0.75f, 1.25f, 0.25f, -1.5f};
    const double h = 1.0 / 1024;
    float theta[GC_N], a[GC_N];
    double rel[GC_N];
    memcpy(theta, start, sizeof theta);
    for (int i = 0; i < GC_N; i++)
        a[i] = 3 * c[i] * start[i] * start[i];
    cubic_ctx k = {theta, c, GC_N, 0};

    double worst = nn_grad_check(rel, cubic_objective, &k, theta, a, GC_N, h);
    for (int i = 0; i < GC_N; i++)
        TU_ASSERT_NEAR(rel[i], h * h / (6 * (double)start[i] * start[i] + h * h), 1e-12);
    /* the largest is at θ = 0.25: h² / (0.375 + h²) ≈ 2.54e-6 */
    TU_ASSERT_NEAR(worst, h * h / (0.375 + h * h), 1e-12);
    CU_ASSERT(memcmp(theta, start, sizeof theta) == 0);

    /* A gradient 10 % too large in one component: rel = 0.1 / 2.1 there. */
    a[2] *= 1.1f;
    worst = nn_grad_check(rel, cubic_objective, &k, theta, a, GC_N, h);
    TU_ASSERT_NEAR(rel[2], 0.1 / 2.1, 1e-5);
    TU_ASSERT_NEAR(worst, 0.1 / 2.1, 1e-5);
    CU_ASSERT(memcmp(theta, start, sizeof theta) == 0);

    /* The wrong sign: |g + g| / (|g| + |g|) = 1. rel_err may be NULL. */
    a[2] = -3 * c[2] * start[2] * start[2];
    TU_ASSERT_NEAR(nn_grad_check(NULL, cubic_objective, &k, theta, a, GC_N, h), 1.0, 1e-6);

    /* A NaN gradient never passes a check of the form `worst < tol`. */
    a[2] = NAN;
    worst = nn_grad_check(rel, cubic_objective, &k, theta, a, GC_N, h);
    CU_ASSERT_FALSE(worst < 1.0);
    CU_ASSERT(memcmp(theta, start, sizeof theta) == 0);
}

/* Random θ, for which θ ± h is rounded in float, must come back bit for
 * bit: undoing the steps in float arithmetic (θ + h − 2h + h) would not. */
static void test_grad_check_restores_theta(void)
{
    enum { N = 64 };
    float theta[N], saved[N], a[N], c[N];
    nn_rng rng;
    nn_rng_seed(&rng, 50);
    tu_fill(theta, N, 0.3f, 1, &rng); /* away from 0, where rel ≈ h² / 6θ² grows */
    memcpy(saved, theta, sizeof theta);
    for (int i = 0; i < N; i++) {
        c[i] = 1;
        a[i] = 3 * theta[i] * theta[i];
    }
    cubic_ctx k = {theta, c, N, 0};
    double worst = nn_grad_check(NULL, cubic_objective, &k, theta, a, N, 1e-2);
    CU_ASSERT(k.calls >= 2 * N); /* f(θ + h) and f(θ − h) per parameter */
    CU_ASSERT(memcmp(theta, saved, sizeof theta) == 0);
    CU_ASSERT(worst < 1e-3);
}

/* ------------------------------------------------------------ SGD */

/* w − lr g with lr = 0.1:
 *   [1 − 0.05, −2 − 0.1, 0.5 + 0.4] = [0.95, −2.1, 0.9] */
static void test_sgd_step(void)
{
    float w[3] = {1, -2, 0.5f};
    const float g[3] = {0.5f, 1, -4}, expect[3] = {0.95f, -2.1f, 0.9f};
    nn_sgd_step(w, g, 3, 0.1f);
    TU_ASSERT_CLOSE(w, expect, 3, 1e-6);
}

/* ------------------------------------------------------------ MLP */

enum { MAXL = 3, MAXBUF = 64 };

/* A network and every buffer forward and backward need, in fixed arrays. */
typedef struct {
    int sizes[MAXL + 1];
    float wm[MAXL][MAXBUF], bm[MAXL][MAXBUF], dwm[MAXL][MAXBUF], dbm[MAXL][MAXBUF];
    float zm[MAXL][MAXBUF], dzm[MAXL][MAXBUF], am[MAXL + 1][MAXBUF], dam[MAXL + 1][MAXBUF];
    float *w[MAXL], *b[MAXL], *dw[MAXL], *db[MAXL], *z[MAXL], *dz[MAXL];
    float *a[MAXL + 1], *da[MAXL + 1];
    nn_mlp net;
    int labels[8];
    int batch;
} tiny_mlp;

static void tiny_init(tiny_mlp *t, const int *sizes, int n_layers, int batch, nn_act act,
                      uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    memset(t, 0, sizeof *t);
    memcpy(t->sizes, sizes, sizeof(int) * (size_t)(n_layers + 1));
    for (int l = 0; l <= n_layers; l++) {
        t->a[l] = t->am[l];
        t->da[l] = t->dam[l];
    }
    for (int l = 0; l < n_layers; l++) {
        t->w[l] = t->wm[l];
        t->b[l] = t->bm[l];
        t->dw[l] = t->dwm[l];
        t->db[l] = t->dbm[l];
        t->z[l] = t->zm[l];
        t->dz[l] = t->dzm[l];
        tu_fill(t->w[l], sizes[l + 1] * sizes[l], -1, 1, &rng);
        tu_fill(t->b[l], sizes[l + 1], -0.5f, 0.5f, &rng);
    }
    tu_fill(t->a[0], batch * sizes[0], -1, 1, &rng);
    for (int r = 0; r < batch; r++)
        t->labels[r] = (int)nn_rng_below(&rng, (uint32_t)sizes[n_layers]);
    t->batch = batch;
    t->net = (nn_mlp){n_layers, t->sizes, t->w, t->b, act};
}

/* The mean cross-entropy of a tanh MLP, forward pass in double. */
static double tiny_objective(void *p)
{
    const tiny_mlp *t = p;
    const int *s = t->sizes;
    int L = t->net.n_layers;
    double loss = 0.0;
    for (int r = 0; r < t->batch; r++) {
        double cur[MAXBUF], next[MAXBUF];
        for (int i = 0; i < s[0]; i++)
            cur[i] = t->a[0][r * s[0] + i];
        for (int l = 0; l < L; l++) {
            for (int j = 0; j < s[l + 1]; j++) {
                double zj = t->b[l][j];
                for (int i = 0; i < s[l]; i++)
                    zj += t->w[l][j * s[l] + i] * cur[i];
                next[j] = l < L - 1 ? tanh(zj) : zj;
            }
            memcpy(cur, next, sizeof(double) * (size_t)s[l + 1]);
        }
        loss += ce_row(cur, t->labels[r], s[L]);
    }
    return loss / t->batch;
}

/* 3-layer tanh net 3 → 5 → 4 → 3, batch 2: every dW and db against
 * central differences of the whole network's loss. The scratch dz, da
 * start out holding junk, which must not leak into the result; calling
 * backward a second time doubles every gradient. */
static void test_mlp_backward_fd(void)
{
    static const int sizes[4] = {3, 5, 4, 3};
    tiny_mlp t;
    tiny_init(&t, sizes, 3, 2, NN_ACT_TANH, 51);
    for (int l = 0; l <= 3; l++)
        for (int i = 0; i < MAXBUF; i++) {
            t.dam[l][i] = 7.0f;
            if (l < 3)
                t.dzm[l][i] = -3.0f;
        }
    nn_mlp_forward(t.z, t.a, &t.net, t.batch);
    nn_mlp_backward(t.dw, t.db, t.dz, t.da, t.z, t.a, t.labels, &t.net, t.batch);
    for (int l = 0; l < 3; l++) {
        double g_w[MAXBUF], g_b[MAXBUF];
        int nw = sizes[l + 1] * sizes[l];
        numeric_grad(g_w, tiny_objective, &t, t.w[l], nw, 1e-3);
        numeric_grad(g_b, tiny_objective, &t, t.b[l], sizes[l + 1], 1e-3);
        ASSERT_GRAD(t.dw[l], g_w, nw, 1e-4);
        ASSERT_GRAD(t.db[l], g_b, sizes[l + 1], 1e-4);
    }

    float once[MAXBUF], twice[MAXBUF];
    for (int i = 0; i < sizes[1] * sizes[0]; i++)
        once[i] = 2 * t.dw[0][i];
    nn_mlp_backward(t.dw, t.db, t.dz, t.da, t.z, t.a, t.labels, &t.net, t.batch);
    memcpy(twice, t.dw[0], sizeof(float) * (size_t)(sizes[1] * sizes[0]));
    TU_ASSERT_CLOSE(twice, once, sizes[1] * sizes[0], 1e-6);
}

/* ------------------------------------------------------------ training loop */

enum { TR_ROWS = 150, TR_IN = 2, TR_HIDDEN = 16, TR_CLASSES = 3 };

/* Three Gaussian blobs of 50 points, σ = 0.5, centred on a circle of
 * radius 2 (centres 3.5 apart, 7σ): separable but for a few stragglers. */
static void make_blobs(float *x, int *y, uint64_t seed)
{
    const float cx[TR_CLASSES] = {2.0f, -1.0f, -1.0f}, cy[TR_CLASSES] = {0.0f, 1.73f, -1.73f};
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < TR_ROWS; i++) {
        y[i] = i % TR_CLASSES;
        x[2 * i] = cx[y[i]] + 0.5f * nn_rng_normal(&rng);
        x[2 * i + 1] = cy[y[i]] + 0.5f * nn_rng_normal(&rng);
    }
}

/* A 2 → 16 → 3 network with its own storage. */
typedef struct {
    int sizes[3];
    float w0[TR_HIDDEN * TR_IN], b0[TR_HIDDEN], w1[TR_CLASSES * TR_HIDDEN], b1[TR_CLASSES];
    float *w[2], *b[2];
    nn_mlp net;
} blob_net;

static void blob_net_init(blob_net *m, nn_act act, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    m->sizes[0] = TR_IN;
    m->sizes[1] = TR_HIDDEN;
    m->sizes[2] = TR_CLASSES;
    m->w[0] = m->w0;
    m->w[1] = m->w1;
    m->b[0] = m->b0;
    m->b[1] = m->b1;
    tu_fill(m->w0, TR_HIDDEN * TR_IN, -0.5f, 0.5f, &rng);
    tu_fill(m->w1, TR_CLASSES * TR_HIDDEN, -0.5f, 0.5f, &rng);
    memset(m->b0, 0, sizeof m->b0);
    memset(m->b1, 0, sizeof m->b1);
    m->net = (nn_mlp){2, m->sizes, m->w, m->b, act};
}

/* Mean cross-entropy of a blob_net with tanh over the whole set, in double. */
static double blob_loss(const blob_net *m, const float *x, const int *y)
{
    double total = 0.0;
    for (int r = 0; r < TR_ROWS; r++) {
        double hidden[TR_HIDDEN], logits[TR_CLASSES];
        for (int j = 0; j < TR_HIDDEN; j++)
            hidden[j] = tanh(m->b0[j] + (double)m->w0[2 * j] * x[2 * r] +
                             (double)m->w0[2 * j + 1] * x[2 * r + 1]);
        for (int k = 0; k < TR_CLASSES; k++) {
            double s = m->b1[k];
            for (int j = 0; j < TR_HIDDEN; j++)
                s += m->w1[TR_HIDDEN * k + j] * hidden[j];
            logits[k] = s;
        }
        total += ce_row(logits, y[r], TR_CLASSES);
    }
    return total / TR_ROWS;
}

/* 150 rows in minibatches of 16 (the last one has 6). The first epoch's
 * mean loss is already below ln 3 ≈ 1.1 (the net learns as it goes); by the
 * 30th it must be under a tenth of that and under 0.05. */
static void test_train_epoch_learns(void)
{
    float x[TR_ROWS * TR_IN];
    int y[TR_ROWS];
    blob_net m;
    nn_rng rng;
    make_blobs(x, y, 52);
    blob_net_init(&m, NN_ACT_RELU, 53);
    nn_rng_seed(&rng, 54);
    float first = nn_mlp_train_epoch(&m.net, x, y, TR_ROWS, 16, 0.1f, &rng), last = first;
    for (int e = 1; e < 30; e++)
        last = nn_mlp_train_epoch(&m.net, x, y, TR_ROWS, 16, 0.1f, &rng);
    CU_ASSERT_FATAL(isfinite(first) && isfinite(last));
    CU_ASSERT(last < 0.1f * first);
    CU_ASSERT(last < 0.05f);
}

/* With lr = 0 nothing moves, so the returned mean over minibatches (of
 * unequal size: 150 = 9 · 16 + 6) must be the loss of the whole set. */
static void test_train_epoch_mean_loss(void)
{
    float x[TR_ROWS * TR_IN];
    int y[TR_ROWS];
    blob_net m;
    nn_rng rng;
    make_blobs(x, y, 55);
    blob_net_init(&m, NN_ACT_TANH, 56);
    blob_net before = m;
    nn_rng_seed(&rng, 57);
    float loss = nn_mlp_train_epoch(&m.net, x, y, TR_ROWS, 16, 0.0f, &rng);
    TU_ASSERT_NEAR(loss, blob_loss(&m, x, y), 1e-5);
    CU_ASSERT(memcmp(m.w0, before.w0, sizeof m.w0) == 0);
    CU_ASSERT(memcmp(m.w1, before.w1, sizeof m.w1) == 0);
}

/* Same seed, same run to the bit; another seed, another shuffle. */
static void test_train_epoch_deterministic(void)
{
    float x[TR_ROWS * TR_IN];
    int y[TR_ROWS];
    blob_net m[3];
    float loss[3] = {0};
    make_blobs(x, y, 58);
    for (int k = 0; k < 3; k++) {
        nn_rng rng;
        nn_rng_seed(&rng, k < 2 ? 59 : 60);
        blob_net_init(&m[k], NN_ACT_RELU, 61);
        for (int e = 0; e < 3; e++)
            loss[k] = nn_mlp_train_epoch(&m[k].net, x, y, TR_ROWS, 10, 0.05f, &rng);
    }
    CU_ASSERT(memcmp(m[0].w0, m[1].w0, sizeof m[0].w0) == 0);
    CU_ASSERT(memcmp(m[0].w1, m[1].w1, sizeof m[0].w1) == 0);
    CU_ASSERT(memcmp(m[0].b1, m[1].b1, sizeof m[0].b1) == 0);
    CU_ASSERT(loss[0] == loss[1]);
    CU_ASSERT(memcmp(m[0].w0, m[2].w0, sizeof m[0].w0) != 0);
}

static void test_train_epoch_bad_args(void)
{
    float x[TR_IN] = {0};
    int y[1] = {0};
    blob_net m;
    nn_rng rng;
    nn_rng_seed(&rng, 62);
    blob_net_init(&m, NN_ACT_RELU, 63);
    nn_clear_error();
    CU_ASSERT(isnan(nn_mlp_train_epoch(&m.net, x, y, 1, 0, 0.1f, &rng)));
    CU_ASSERT(nn_last_error()[0] != '\0');
}

void suite_backprop(void)
{
    CU_pSuite s = CU_add_suite("backprop", NULL, NULL);
    CU_add_test(s, "dense backward vs finite differences", test_dense_backward_fd);
    CU_add_test(s, "dense backward at 128x784->10", test_dense_backward_training_size);
    CU_add_test(s, "dense backward accumulates, din NULL", test_dense_backward_accumulates);
    CU_add_test(s, "dense backward by hand", test_dense_backward_by_hand);
    CU_add_test(s, "activation backward, every act", test_activation_backward_fd);
    CU_add_test(s, "relu backward by hand", test_relu_backward_by_hand);
    CU_add_test(s, "mse backward", test_mse_backward);
    CU_add_test(s, "bce backward", test_bce_backward);
    CU_add_test(s, "cross-entropy backward", test_cross_entropy_backward);
    CU_add_test(s, "cross-entropy backward at +-1e4", test_cross_entropy_backward_extreme);
    CU_add_test(s, "softmax backward", test_softmax_backward);
    CU_add_test(s, "loss backward accumulates", test_backward_accumulates);
    CU_add_test(s, "grad check", test_grad_check);
    CU_add_test(s, "grad check restores theta", test_grad_check_restores_theta);
    CU_add_test(s, "sgd step", test_sgd_step);
    CU_add_test(s, "mlp backward vs finite differences", test_mlp_backward_fd);
    CU_add_test(s, "train epoch learns blobs", test_train_epoch_learns);
    CU_add_test(s, "train epoch returns the mean loss", test_train_epoch_mean_loss);
    CU_add_test(s, "train epoch deterministic", test_train_epoch_deterministic);
    CU_add_test(s, "train epoch bad arguments", test_train_epoch_bad_args);
}
