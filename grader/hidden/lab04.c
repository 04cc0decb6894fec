/*
 * Lab 4 (backprop.c) — hidden tests: the same contract on inputs the
 * public tests leave out (training-size layers, ten classes, steps that
 * round in float, a batch of one, a batch above the row count, deeper
 * networks, bad arguments).
 *
 * Where the expected values come from: formulas in double written out
 * here, and for whole networks the GRADIENT BY CENTRAL DIFFERENCES of a
 * double forward pass, (L(θ + h) − L(θ − h)) / 2h with h = 1e-5 (error
 * about 1e-9: truncation h²·L'''/6 plus rounding 1e-16·L/h): a method
 * independent of backpropagation. Nothing was captured from the reference.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grader.h"
#include "nnlab/backprop.h"
#include "nnlab/error.h"
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

/* Assert |got[i] − want[i]| <= rtol·scale[i] + atol for every i, naming the
 * worst index (scale NULL: |want[i]|). NaN fails. */
static void expect_all(const float *got, const double *want, const double *scale, int n,
                       double rtol, double atol, const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        double s = scale ? scale[i] : fabs(want[i]);
        double ratio = fabs(got[i] - want[i]) / (rtol * s + atol);
        if (!(ratio <= worst_ratio)) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[160];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    double s = scale ? scale[worst] : fabs(want[worst]);
    gr_assert_near(got[worst], want[worst], rtol * s + atol, name, __FILE__, line);
}

static void fill(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* ------------------------------------------------------------ an MLP's loss in double */

static double sigmoid_d(double x)
{
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* The hidden activations these tests use. */
static double act_d(nn_act a, double x)
{
    switch (a) {
    case NN_ACT_SIGMOID: return sigmoid_d(x);
    case NN_ACT_TANH: return tanh(x);
    case NN_ACT_LEAKY_RELU: return x > 0.0 ? x : NN_LEAKY_SLOPE * x;
    case NN_ACT_SOFTPLUS: return fmax(x, 0.0) + log1p(exp(-fabs(x)));
    default: return NAN;
    }
}

enum { MAXW = 64 }; /* widest layer */

/* Mean softmax cross-entropy of the network on rows idx[0..n) of x, the
 * forward pass in double from the float weights (the parameter being
 * differentiated is `theta`, perturbed to `value`; NULL for none). */
static double mlp_loss_d(const nn_mlp *net, const float *x, const int *y, const int *idx, int n,
                         const float *theta, double value)
{
    const int *s = net->sizes;
    int L = net->n_layers;
    double sum = 0.0, a[MAXW], z[MAXW];
    for (int k = 0; k < n; k++) {
        int r = idx ? idx[k] : k;
        for (int i = 0; i < s[0]; i++)
            a[i] = x[r * s[0] + i];
        for (int l = 0; l < L; l++) {
            for (int j = 0; j < s[l + 1]; j++) {
                const float *b = net->b[l] + j, *w = net->w[l] + j * s[l];
                double v = b == theta ? value : *b;
                for (int i = 0; i < s[l]; i++)
                    v += a[i] * (w + i == theta ? value : w[i]);
                z[j] = v;
            }
            for (int j = 0; j < s[l + 1]; j++)
                a[j] = l < L - 1 ? act_d(net->act, z[j]) : z[j];
        }
        double m = a[0], e = 0.0;
        for (int j = 1; j < s[L]; j++)
            m = fmax(m, a[j]);
        for (int j = 0; j < s[L]; j++)
            e += exp(a[j] - m);
        sum += m + log(e) - a[y[r]];
    }
    return sum / n;
}

/* dL/dθ for every weight and bias by central differences, h = 1e-5, in the
 * order w[0], b[0], w[1], b[1], ...; returns the count. */
static int mlp_grad_fd(double *g, const nn_mlp *net, const float *x, const int *y, const int *idx,
                       int n)
{
    const double h = 1e-5;
    int k = 0;
    for (int l = 0; l < net->n_layers; l++) {
        int nw = net->sizes[l + 1] * net->sizes[l];
        for (int part = 0; part < 2; part++) {
            float *p = part ? net->b[l] : net->w[l];
            int cnt = part ? net->sizes[l + 1] : nw;
            for (int i = 0; i < cnt; i++)
                g[k++] = (mlp_loss_d(net, x, y, idx, n, p + i, p[i] + h) -
                          mlp_loss_d(net, x, y, idx, n, p + i, p[i] - h)) / (2 * h);
        }
    }
    return k;
}

/* A network with its own storage: weights uniform in ±0.9, biases ±0.2. */
typedef struct {
    int sizes[6];
    float *w[5], *b[5];
    nn_mlp net;
} fnet;

static void fnet_init(fnet *f, const int *sizes, int L, nn_act act, nn_rng *rng)
{
    memcpy(f->sizes, sizes, sizeof(int) * (size_t)(L + 1));
    for (int l = 0; l < L; l++) {
        f->w[l] = malloc(sizeof(float) * (size_t)sizes[l + 1] * sizes[l]);
        f->b[l] = malloc(sizeof(float) * (size_t)sizes[l + 1]);
        fill(f->w[l], sizes[l + 1] * sizes[l], -0.9f, 0.9f, rng);
        fill(f->b[l], sizes[l + 1], -0.2f, 0.2f, rng);
    }
    f->net = (nn_mlp){L, f->sizes, f->w, f->b, act};
}

static void fnet_free(fnet *f)
{
    for (int l = 0; l < f->net.n_layers; l++)
        free(f->w[l]), free(f->b[l]);
}

static int n_params(const nn_mlp *net)
{
    int k = 0;
    for (int l = 0; l < net->n_layers; l++)
        k += net->sizes[l + 1] * (net->sizes[l] + 1);
    return k;
}

/* The network's parameters as one array, in mlp_grad_fd()'s order. */
static void flatten(float *p, const nn_mlp *net)
{
    int k = 0;
    for (int l = 0; l < net->n_layers; l++) {
        for (int i = 0; i < net->sizes[l + 1] * net->sizes[l]; i++)
            p[k++] = net->w[l][i];
        for (int i = 0; i < net->sizes[l + 1]; i++)
            p[k++] = net->b[l][i];
    }
}

/* ------------------------------------------------------------ dense backward */

static void test_dense_training_size(void)
{
    /* A batch of 64 through 784 -> 10 (a Fashion-MNIST layer), din NULL
     * and not, dW and db starting at 1: against the sums in double,
     * tolerance 1e-5 of Σ|terms| (a float sum of 64 or 784 terms). */
    enum { B = 64, NI = 784, NO = 10 };
    nn_rng rng;
    nn_rng_seed(&rng, 101);
    static float in[B * NI], w[NO * NI], g[B * NO], dw[NO * NI], db[NO], din[B * NI];
    static double edw[NO * NI], sdw[NO * NI], edin[B * NI], sdin[B * NI];
    double edb[NO], sdb[NO];
    fill(in, B * NI, 0, 1, &rng);
    fill(w, NO * NI, -0.1f, 0.1f, &rng);
    fill(g, B * NO, -0.02f, 0.02f, &rng);
    for (int j = 0; j < NO; j++) {
        edb[j] = 1.0, sdb[j] = 1.0;
        for (int r = 0; r < B; r++)
            edb[j] += g[r * NO + j], sdb[j] += fabs(g[r * NO + j]);
        for (int i = 0; i < NI; i++) {
            double v = 1.0, m = 1.0;
            for (int r = 0; r < B; r++) {
                v += (double)g[r * NO + j] * in[r * NI + i];
                m += fabs((double)g[r * NO + j] * in[r * NI + i]);
            }
            edw[j * NI + i] = v, sdw[j * NI + i] = m;
        }
    }
    for (int r = 0; r < B; r++)
        for (int i = 0; i < NI; i++) {
            double v = 0.0, m = 0.0;
            for (int j = 0; j < NO; j++) {
                v += (double)g[r * NO + j] * w[j * NI + i];
                m += fabs((double)g[r * NO + j] * w[j * NI + i]);
            }
            edin[r * NI + i] = v, sdin[r * NI + i] = m;
        }
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < NO * NI; k++)
            dw[k] = 1.0f;
        for (int k = 0; k < NO; k++)
            db[k] = 1.0f;
        memset(din, 0, sizeof din);
        nn_dense_backward(pass ? din : NULL, dw, db, g, in, w, B, NI, NO);
        expect_all(dw, edw, sdw, NO * NI, 1e-5, 1e-7, pass ? "dw" : "dw (din NULL)", __LINE__);
        expect_all(db, edb, sdb, NO, 1e-5, 1e-7, pass ? "db" : "db (din NULL)", __LINE__);
    }
    expect_all(din, edin, sdin, B * NI, 1e-5, 1e-7, "din", __LINE__);
}

/* ------------------------------------------------------------ cross-entropy */

static void test_cross_entropy_ten_classes(void)
{
    /* 5 rows of 10 logits in ±20, labels 0, 9, 3, 9, 5; dlogits starts at
     * −0.125. Each row of softmax − onehot sums to 0 (both sum to 1), so
     * each row's added gradient sums to 0 too; and each value against
     * (p_j − [j = y]) / 5 in double, tolerance 1e-5 relative + 1e-7. */
    enum { B = 5, C = 10 };
    const int y[B] = {0, 9, 3, 9, 5};
    nn_rng rng;
    nn_rng_seed(&rng, 102);
    float x[B * C], d[B * C];
    double want[B * C];
    fill(x, B * C, -20, 20, &rng);
    for (int r = 0; r < B; r++) {
        double m = x[r * C], s = 0.0;
        for (int j = 1; j < C; j++)
            m = fmax(m, x[r * C + j]);
        for (int j = 0; j < C; j++)
            s += exp(x[r * C + j] - m);
        for (int j = 0; j < C; j++)
            want[r * C + j] = -0.125 + (exp(x[r * C + j] - m) / s - (j == y[r])) / B;
    }
    for (int k = 0; k < B * C; k++)
        d[k] = -0.125f;
    nn_cross_entropy_backward(d, x, y, B, C);
    expect_all(d, want, NULL, B * C, 1e-5, 1e-7, "dlogits (5 rows, 10 classes)", __LINE__);
    for (int r = 0; r < B; r++) {
        double s = 0.0;
        for (int j = 0; j < C; j++)
            s += d[r * C + j] + 0.125;
        check(fabs(s) < 1e-6, __LINE__, "row %d of the added gradient sums to %g, not 0", r, s);
    }
}

/* ------------------------------------------------------------ gradient check */

typedef struct {
    const float *theta;
    const double *c;
    int n;
} lin_ctx;

static double linear_f(void *p) /* f = Σ c_i θ_i */
{
    lin_ctx *o = p;
    double s = 0.0;
    for (int i = 0; i < o->n; i++)
        s += o->c[i] * o->theta[i];
    return s;
}

static void test_grad_check_rounding(void)
{
    /* f(θ) = Σ c_i θ_i, a = c: the true slope is exactly c_i. At θ = 12345.6
     * a float has a spacing of 2^−10 ≈ 0.00098, so θ ± 1e-3 rounds and the
     * step actually taken is not 2h = 0.002 (it is 0.00195 or 0.00293):
     * dividing f(up) − f(down) = c·(up − down) by 2h is off by 2% or more,
     * dividing by up − down (the header's contract) is exact up to double
     * rounding. Each rel_err must be below 1e-7; θ must come back bit for
     * bit (θ + h − h is not θ in float). */
    enum { N = 5 };
    float theta[N] = {12345.6f, 1000.3f, -0.1f, 3.7e-3f, -777.77f}, saved[N];
    const double c[N] = {2.0, -3.0, 0.5, 1.0, 0.25};
    float a[N];
    double rel[N];
    for (int i = 0; i < N; i++)
        a[i] = (float)c[i], rel[i] = NAN;
    memcpy(saved, theta, sizeof theta);
    lin_ctx o = {theta, c, N};
    double worst = nn_grad_check(rel, linear_f, &o, theta, a, N, 1e-3);
    if (rel[0] > 1e-3 && rel[2] < 1e-7)
        gr_hint("the relative error is 1e-2 where θ is large: θ ± h rounds in float, so divide "
                "f(θ + h) - f(θ - h) by the step actually taken, (double)up - (double)down, "
                "not by 2h (the header says so)");
    for (int i = 0; i < N; i++) {
        char what[48];
        snprintf(what, sizeof what, "rel_err[%d] (θ = %g)", i, (double)saved[i]);
        gr_assert_near(rel[i], 0.0, 1e-7, what, __FILE__, __LINE__);
    }
    gr_assert_near(worst, 0.0, 1e-7, "returned max", __FILE__, __LINE__);
    for (int i = 0; i < N; i++)
        check(memcmp(&theta[i], &saved[i], sizeof(float)) == 0, __LINE__,
              "θ[%d] was not restored bit for bit: %.9g, want %.9g (save it and copy it back; "
              "θ + h - h is not θ in float)", i, (double)theta[i], (double)saved[i]);
}

/* ------------------------------------------------------------ MLP backward */

/* nn_mlp_backward() on a random network against the central differences
 * of the double forward; dw, db start at 0; tolerance 1e-5 of the largest
 * |gradient| + 1e-6 (the float forward of z, a is within 1e-7). */
static void mlp_case(const int *sizes, int L, nn_act act, int batch, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fnet f;
    fnet_init(&f, sizes, L, act, &rng);
    int *y = malloc(sizeof(int) * (size_t)batch);
    float *x = malloc(sizeof(float) * (size_t)batch * sizes[0]);
    fill(x, batch * sizes[0], -1, 1, &rng);
    for (int r = 0; r < batch; r++)
        y[r] = (int)nn_rng_below(&rng, (uint32_t)sizes[L]);
    float *z[5], *a[6], *dz[5], *da[6], *dw[5], *db[5];
    for (int l = 0; l <= L; l++) {
        a[l] = malloc(sizeof(float) * (size_t)batch * sizes[l]);
        da[l] = malloc(sizeof(float) * (size_t)batch * sizes[l]);
        gr_poison(da[l], batch * sizes[l]);
    }
    for (int l = 0; l < L; l++) {
        z[l] = malloc(sizeof(float) * (size_t)batch * sizes[l + 1]);
        dz[l] = malloc(sizeof(float) * (size_t)batch * sizes[l + 1]);
        gr_poison(dz[l], batch * sizes[l + 1]);
        dw[l] = calloc((size_t)sizes[l + 1] * sizes[l], sizeof(float));
        db[l] = calloc((size_t)sizes[l + 1], sizeof(float));
    }
    memcpy(a[0], x, sizeof(float) * (size_t)batch * sizes[0]);
    nn_mlp_forward(z, a, &f.net, batch); /* lab 3's reference */
    nn_mlp_backward(dw, db, dz, da, z, a, y, &f.net, batch);

    int n = n_params(&f.net);
    double *g = malloc(sizeof(double) * (size_t)n), m = 0.0;
    float *got = malloc(sizeof(float) * (size_t)n);
    mlp_grad_fd(g, &f.net, x, y, NULL, batch);
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(g[i]));
    int k = 0;
    for (int l = 0; l < L; l++) {
        memcpy(got + k, dw[l], sizeof(float) * (size_t)sizes[l + 1] * sizes[l]);
        k += sizes[l + 1] * sizes[l];
        memcpy(got + k, db[l], sizeof(float) * (size_t)sizes[l + 1]);
        k += sizes[l + 1];
    }
    char what[96];
    snprintf(what, sizeof what, "dw0, db0, dw1, ... (%d layers, batch %d), as one array", L, batch);
    expect_all(got, g, NULL, n, 0.0, 1e-5 * m + 1e-6, what, __LINE__);
    free(g), free(got), free(x), free(y);
    for (int l = 0; l <= L; l++)
        free(a[l]), free(da[l]);
    for (int l = 0; l < L; l++)
        free(z[l]), free(dz[l]), free(dw[l]), free(db[l]);
    fnet_free(&f);
}

static void test_mlp_deeper(void)
{
    /* Four dense layers 3-6-5-4-2 with sigmoid, three 4-7-7-3 with leaky
     * ReLU (negative inputs do pass, times 0.01), softplus with a batch of
     * one. */
    mlp_case((const int[]){3, 6, 5, 4, 2}, 4, NN_ACT_SIGMOID, 5, 103);
    mlp_case((const int[]){4, 7, 7, 3}, 3, NN_ACT_LEAKY_RELU, 6, 104);
    mlp_case((const int[]){5, 8, 4}, 2, NN_ACT_SOFTPLUS, 1, 105);
}

/* ------------------------------------------------------------ the training loop */

/* One epoch expected in double: shuffle order = 0..rows−1 with a copy of
 * the rng, then for each batch w ← w − lr·(finite-difference gradient of
 * the batch's mean loss), all parameters from the same point. */
static void epoch_fd(float *p_out, double *loss_out, const nn_mlp *net, const float *x,
                     const int *y, int rows, int batch, double lr, nn_rng rng)
{
    int *order = malloc(sizeof(int) * (size_t)rows);
    for (int i = 0; i < rows; i++)
        order[i] = i;
    nn_rng_shuffle(&rng, order, rows);
    int n = n_params(net);
    double *g = malloc(sizeof(double) * (size_t)n), sum = 0.0;
    if (batch > rows)
        batch = rows;
    for (int start = 0; start < rows; start += batch) {
        int nb = rows - start < batch ? rows - start : batch;
        sum += mlp_loss_d(net, x, y, order + start, nb, NULL, 0.0) * nb;
        mlp_grad_fd(g, net, x, y, order + start, nb);
        int k = 0;
        for (int l = 0; l < net->n_layers; l++) {
            for (int i = 0; i < net->sizes[l + 1] * net->sizes[l]; i++)
                net->w[l][i] = (float)(net->w[l][i] - lr * g[k++]);
            for (int i = 0; i < net->sizes[l + 1]; i++)
                net->b[l][i] = (float)(net->b[l][i] - lr * g[k++]);
        }
    }
    flatten(p_out, net);
    *loss_out = sum / rows;
    free(g);
    free(order);
}

/* Your epoch against epoch_fd() from the same weights and rng. */
static void epoch_case(int rows, int batch, uint64_t seed)
{
    const int sizes[3] = {2, 5, 3};
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fnet f, e;
    fnet_init(&f, sizes, 2, NN_ACT_TANH, &rng);
    nn_rng copy = rng;
    fnet_init(&e, sizes, 2, NN_ACT_TANH, &copy); /* storage; weights copied below */
    float *x = malloc(sizeof(float) * (size_t)rows * 2);
    int *y = malloc(sizeof(int) * (size_t)rows);
    fill(x, rows * 2, -1, 1, &rng);
    for (int r = 0; r < rows; r++)
        y[r] = r * 3 / rows; /* sorted by class */
    for (int l = 0; l < 2; l++) {
        memcpy(e.w[l], f.w[l], sizeof(float) * (size_t)sizes[l + 1] * sizes[l]);
        memcpy(e.b[l], f.b[l], sizeof(float) * (size_t)sizes[l + 1]);
    }
    int n = n_params(&f.net);
    float *got = malloc(sizeof(float) * (size_t)n), *want = malloc(sizeof(float) * (size_t)n);
    double wloss;
    nn_rng train;
    nn_rng_seed(&train, seed + 1000);
    epoch_fd(want, &wloss, &e.net, x, y, rows, batch, 0.3, train);
    float loss = nn_mlp_train_epoch(&f.net, x, y, rows, batch, 0.3f, &train);
    flatten(got, &f.net);
    double *wd = malloc(sizeof(double) * (size_t)n), m = 0.0;
    for (int i = 0; i < n; i++)
        wd[i] = want[i], m = fmax(m, fabs(want[i]));
    char what[64];
    snprintf(what, sizeof what, "mean loss (rows %d, batch %d)", rows, batch);
    gr_assert_near(loss, wloss, 1e-5 * wloss, what, __FILE__, __LINE__);
    snprintf(what, sizeof what, "weights after the epoch (rows %d, batch %d)", rows, batch);
    expect_all(got, wd, NULL, n, 0.0, 1e-5 * m, what, __LINE__);
    free(wd), free(got), free(want), free(x), free(y);
    fnet_free(&f);
    fnet_free(&e);
}

static void test_epoch_batch_sizes(void)
{
    /* A batch of one (pure SGD: 7 steps in the shuffled order); a batch of
     * 10 above the 7 rows (one full-batch step: the header's batch is
     * capped at rows); a batch equal to the rows. Tolerance 1e-5. */
    epoch_case(7, 1, 106);
    epoch_case(7, 10, 107);
    epoch_case(9, 9, 108);
}

static void test_epoch_bad_arguments(void)
{
    /* rows < 1 or batch < 1: NaN, a message in nn_last_error(), and the
     * network untouched. */
    const int sizes[3] = {2, 3, 2};
    nn_rng rng;
    nn_rng_seed(&rng, 109);
    fnet f;
    fnet_init(&f, sizes, 2, NN_ACT_TANH, &rng);
    float before[17], after[17], x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    int y[2] = {0, 1};
    flatten(before, &f.net);
    const int args[3][2] = {{0, 4}, {2, 0}, {-3, -1}};
    for (int k = 0; k < 3; k++) {
        nn_clear_error();
        float l = nn_mlp_train_epoch(&f.net, x, y, args[k][0], args[k][1], 0.1f, &rng);
        check(isnan(l), __LINE__, "rows = %d, batch = %d: expected NaN, got %g", args[k][0],
              args[k][1], (double)l);
        check(nn_last_error()[0] != '\0', __LINE__,
              "rows = %d, batch = %d: nn_last_error() says nothing (call nn_fail)", args[k][0],
              args[k][1]);
    }
    flatten(after, &f.net);
    check(memcmp(before, after, sizeof before) == 0, __LINE__,
          "bad arguments changed the network's weights");
    fnet_free(&f);
}

const gr_test gr_hidden_tests[] = {
    {"dense backward at training size", 1, 2.0, "nn_dense_backward", test_dense_training_size},
    {"cross-entropy backward, ten classes", 1, 1.0, "nn_cross_entropy_backward",
     test_cross_entropy_ten_classes},
    {"gradient check, steps that round", 1, 1.0, "nn_grad_check", test_grad_check_rounding},
    {"mlp backward, deeper networks", 1, 1.0, "nn_mlp_backward", test_mlp_deeper},
    {"training loop, other batch sizes", 1, 2.0, "nn_mlp_train_epoch", test_epoch_batch_sizes},
    {"training loop, bad arguments", 1, 1.0, "nn_mlp_train_epoch", test_epoch_bad_arguments},
    {NULL, 0, 0, NULL, NULL}
};
