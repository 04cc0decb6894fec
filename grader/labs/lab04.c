/*
 * Lab 4 (backprop.c) — public tests.
 *
 * Where the expected values come from: small cases are worked by hand in
 * the comments; everything else is recomputed here in double by the
 * formulas written out below (the activations and their derivatives, the
 * losses, a whole MLP forward and backward pass, a whole training epoch).
 * The band of the two training runs is the reference's, committed in
 * grader/bands/ by grader/bands/lab04-mkbands.sh (see grader/bands/README.md):
 * the tests link YOUR backprop.c, so a band computed here from
 * nn_mlp_train_epoch() would be computed by the code under test. None of
 * the other numbers was captured from running the reference.
 *
 * Backward functions ACCUMULATE (+=): their gradient buffers start from
 * known non-zero values, so a function that overwrites (=) fails, and so
 * does one that writes nothing. Plain outputs are poisoned with NaN before
 * each call; NaN never passes a check.
 *
 * Logs for the report's plots (grader/plots/lab04.sh), in gr_out_dir()/data/:
 *   lab04-gradcheck.csv         what,params,yours,grader,worst (max relative errors)
 *   lab04-spirals-loss.csv      epoch,loss,band_lo,band_hi
 *   lab04-spirals-points.csv    x,y,label  (the training points)
 *   lab04-spirals-boundary.csv  x,y,class,confidence  (the trained network on a grid)
 *   lab04-spirals-summary.csv   accuracy,epochs,seed
 *   lab04-fashion-loss.csv      epoch,loss,band_lo,band_hi
 *   lab04-fashion-summary.csv   accuracy,epochs,seed
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "bands/lab04-runs.h"
#include "nnlab/activations.h"
#include "nnlab/backprop.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include "nnlab/rng.h"

#ifndef NNLAB_ROOT
#define NNLAB_ROOT "."
#endif

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

/* Assert |got[i] − want[i]| <= rtol·scale[i] + atol for every i (scale NULL:
 * |want[i]|), the message naming the worst index. NaN fails. `scale` is the
 * size of the terms a float sum adds up, Σ|terms|: a sum of k float terms
 * is off by up to about k·6e-8 of it, however small the result. */
static void expect_all(const float *got, const double *want, const double *scale, int n,
                       double rtol, double atol, const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        double s = scale ? scale[i] : fabs(want[i]);
        double ratio = fabs(got[i] - want[i]) / (rtol * s + atol);
        if (!(ratio <= worst_ratio)) { /* NaN compares false: it becomes the worst */
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[160];
    snprintf(name, sizeof name, "%.80s[%d]", what, worst);
    double s = scale ? scale[worst] : fabs(want[worst]);
    gr_assert_near(got[worst], want[worst], rtol * s + atol, name, __FILE__, line);
}

/* max_i |a_i − b_i| <= tol (NaN: false). */
static int all_near(const float *a, const double *b, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= tol))
            return 0;
    return 1;
}

/* Uniform floats in [lo, hi) from the kit's generator. */
static void fill(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* Open gr_out_dir()/data/NAME for writing (creating data/), or NULL: a log
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

/* ------------------------------------------------------------ the formulas, in double */

static double sigmoid_d(double x)
{
    double e = exp(-fabs(x)); /* <= 1: no overflow on either side */
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
static double softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

/* f(x) of every activation (activations.h; lab 2). */
static double act_d(nn_act a, double x)
{
    switch (a) {
    case NN_ACT_STEP: return x >= 0.0 ? 1.0 : 0.0;
    case NN_ACT_LINEAR: return x;
    case NN_ACT_SIGMOID: return sigmoid_d(x);
    case NN_ACT_TANH: return tanh(x);
    case NN_ACT_RELU: return x > 0.0 ? x : 0.0;
    case NN_ACT_LEAKY_RELU: return x > 0.0 ? x : NN_LEAKY_SLOPE * x;
    case NN_ACT_ELU: return x > 0.0 ? x : NN_ELU_ALPHA * expm1(x);
    case NN_ACT_GELU: return 0.5 * x * erfc(-x / sqrt(2.0)); /* x Φ(x) */
    case NN_ACT_SOFTPLUS: return softplus_d(x);
    case NN_ACT_SOFTSIGN: return x / (1.0 + fabs(x));
    case NN_ACT_SWISH: return x * sigmoid_d(x);
    case NN_ACT_MISH: return x * tanh(softplus_d(x));
    default: return NAN;
    }
}

/* f'(x), with the header's values at the kinks (x = 0): step 0, ReLU 0,
 * leaky ReLU 0.01 (the left side). */
static double dact_d(nn_act a, double x)
{
    const double pi = 3.14159265358979323846;
    double s = sigmoid_d(x), t;
    switch (a) {
    case NN_ACT_STEP: return 0.0;
    case NN_ACT_LINEAR: return 1.0;
    case NN_ACT_SIGMOID: return s * (1.0 - s);
    case NN_ACT_TANH: t = tanh(x); return 1.0 - t * t;
    case NN_ACT_RELU: return x > 0.0 ? 1.0 : 0.0;
    case NN_ACT_LEAKY_RELU: return x > 0.0 ? 1.0 : NN_LEAKY_SLOPE;
    case NN_ACT_ELU: return x > 0.0 ? 1.0 : NN_ELU_ALPHA * exp(x);
    case NN_ACT_GELU: /* Φ(x) + x φ(x) */
        return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2.0 * pi);
    case NN_ACT_SOFTPLUS: return s;
    case NN_ACT_SOFTSIGN: t = 1.0 + fabs(x); return 1.0 / (t * t);
    case NN_ACT_SWISH: return s * (1.0 + x * (1.0 - s));
    case NN_ACT_MISH: t = tanh(softplus_d(x)); return t + x * s * (1.0 - t * t);
    default: return NAN;
    }
}

static const char *const act_names[NN_ACT_COUNT] = {
    "step", "linear", "sigmoid", "tanh", "relu", "leaky relu",
    "elu", "gelu", "softplus", "softsign", "swish", "mish",
};

/* Softmax of one row in double, max subtracted. */
static void softmax_row_d(double *p, const double *x, int n)
{
    double m = x[0], s = 0.0;
    for (int j = 1; j < n; j++)
        m = fmax(m, x[j]);
    for (int j = 0; j < n; j++)
        s += p[j] = exp(x[j] - m);
    for (int j = 0; j < n; j++)
        p[j] /= s;
}

/* Mean softmax cross-entropy of logits [batch, classes], by log-sum-exp. */
static double ce_loss_d(const double *logits, const int *y, int batch, int classes)
{
    double sum = 0.0;
    for (int r = 0; r < batch; r++) {
        const double *x = logits + (size_t)r * classes;
        double m = x[0], s = 0.0;
        for (int j = 1; j < classes; j++)
            m = fmax(m, x[j]);
        for (int j = 0; j < classes; j++)
            s += exp(x[j] - m);
        sum += m + log(s) - x[y[r]];
    }
    return sum / batch;
}

/* ------------------------------------------------------------ an MLP in double */

enum { DMAX = 5 }; /* layers */

/* An MLP with double weights: layer l maps s[l] to s[l+1], w[l] [s[l+1], s[l]]. */
typedef struct {
    int L;
    const int *s;
    nn_act act;
    double *w[DMAX], *b[DMAX];
} dnet;

/* Double copies of a float network's weights. */
static void dnet_from(dnet *d, const nn_mlp *net)
{
    d->L = net->n_layers;
    d->s = net->sizes;
    d->act = net->act;
    for (int l = 0; l < d->L; l++) {
        int nw = d->s[l + 1] * d->s[l], nb = d->s[l + 1];
        d->w[l] = malloc(sizeof(double) * (size_t)nw);
        d->b[l] = malloc(sizeof(double) * (size_t)nb);
        for (int i = 0; i < nw; i++)
            d->w[l][i] = net->w[l][i];
        for (int i = 0; i < nb; i++)
            d->b[l][i] = net->b[l][i];
    }
}

static void dnet_free(dnet *d)
{
    for (int l = 0; l < d->L; l++) {
        free(d->w[l]);
        free(d->b[l]);
    }
}

/* Activations of a batch: z[l] [batch, s[l+1]], a[l] [batch, s[l]]. */
typedef struct {
    double *z[DMAX], *a[DMAX + 1];
} dacts;

static void dacts_alloc(dacts *t, const int *s, int L, int batch)
{
    for (int l = 0; l < L; l++)
        t->z[l] = malloc(sizeof(double) * (size_t)batch * s[l + 1]);
    for (int l = 0; l <= L; l++)
        t->a[l] = malloc(sizeof(double) * (size_t)batch * s[l]);
}

static void dacts_free(dacts *t, int L)
{
    for (int l = 0; l < L; l++)
        free(t->z[l]);
    for (int l = 0; l <= L; l++)
        free(t->a[l]);
}

/* Forward: z[l] = a[l] W_lᵀ + b_l; a[l+1] = f(z[l]) for hidden layers, the
 * logits z[L−1] for the last. The caller fills a[0]. */
static void dnet_forward(const dnet *d, dacts *t, int batch)
{
    for (int l = 0; l < d->L; l++) {
        int ni = d->s[l], no = d->s[l + 1];
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < no; j++) {
                double v = d->b[l][j];
                for (int i = 0; i < ni; i++)
                    v += t->a[l][r * ni + i] * d->w[l][j * ni + i];
                t->z[l][r * no + j] = v;
                t->a[l + 1][r * no + j] = l < d->L - 1 ? act_d(d->act, v) : v;
            }
    }
}

/* Backward of the mean cross-entropy, ADDED into dw, db:
 *   dz[L−1] = (softmax(z[L−1]) − onehot(y)) / batch
 *   dW_l += dz[l]ᵀ a[l],  db_l += Σ_rows dz[l],  da[l] = dz[l] W_l,
 *   dz[l−1] = da[l] ⊙ f'(z[l−1]). */
static void dnet_backward(double **dw, double **db, const dnet *d, const dacts *t, const int *y,
                          int batch)
{
    int L = d->L;
    const int *s = d->s;
    double *dz = malloc(sizeof(double) * (size_t)batch * s[L]);
    for (int r = 0; r < batch; r++) {
        softmax_row_d(dz + r * s[L], t->z[L - 1] + r * s[L], s[L]);
        dz[r * s[L] + y[r]] -= 1.0;
        for (int j = 0; j < s[L]; j++)
            dz[r * s[L] + j] /= batch;
    }
    for (int l = L - 1; l >= 0; l--) {
        int ni = s[l], no = s[l + 1];
        for (int j = 0; j < no; j++)
            for (int r = 0; r < batch; r++) {
                db[l][j] += dz[r * no + j];
                for (int i = 0; i < ni; i++)
                    dw[l][j * ni + i] += dz[r * no + j] * t->a[l][r * ni + i];
            }
        if (l == 0)
            break;
        double *below = malloc(sizeof(double) * (size_t)batch * ni);
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < ni; i++) {
                double v = 0.0;
                for (int j = 0; j < no; j++)
                    v += dz[r * no + j] * d->w[l][j * ni + i];
                below[r * ni + i] = v * dact_d(d->act, t->z[l - 1][r * ni + i]);
            }
        free(dz);
        dz = below;
    }
    free(dz);
}

/* A float network with its own storage, weights uniform in ±wscale, biases
 * in ±0.2, from rng. */
typedef struct {
    int sizes[DMAX + 1];
    float *w[DMAX], *b[DMAX];
    nn_mlp net;
} fnet;

static void fnet_init(fnet *f, const int *sizes, int L, nn_act act, float wscale, nn_rng *rng)
{
    memcpy(f->sizes, sizes, sizeof(int) * (size_t)(L + 1));
    for (int l = 0; l < L; l++) {
        f->w[l] = malloc(sizeof(float) * (size_t)sizes[l + 1] * sizes[l]);
        f->b[l] = malloc(sizeof(float) * (size_t)sizes[l + 1]);
        fill(f->w[l], sizes[l + 1] * sizes[l], -wscale, wscale, rng);
        fill(f->b[l], sizes[l + 1], -0.2f, 0.2f, rng);
    }
    f->net.n_layers = L;
    f->net.sizes = f->sizes;
    f->net.w = f->w;
    f->net.b = f->b;
    f->net.act = act;
}

static void fnet_free(fnet *f)
{
    for (int l = 0; l < f->net.n_layers; l++) {
        free(f->w[l]);
        free(f->b[l]);
    }
}

/* ------------------------------------------------------------ dense backward */

/* The by-hand case of the tests below: batch 2, n_in 3, n_out 2.
 *   in = [ 1  2  0 ]    W = [ 1  0 −1 ]    G = dout = [ 1    −1 ]
 *        [−1  0  3 ]        [ 2  1  0 ]               [ 0.5   2 ]
 * dW = Gᵀ in:  row j = Σ_r G[r,j] in[r]
 *   j = 0: 1·(1, 2, 0) + 0.5·(−1, 0, 3) = (0.5, 2, 1.5)
 *   j = 1: −1·(1, 2, 0) + 2·(−1, 0, 3)  = (−3, −2, 6)
 * db = column sums of G = (1.5, 1)
 * din = G W:  row r = Σ_j G[r,j] W[j]
 *   r = 0: 1·(1, 0, −1) − 1·(2, 1, 0)   = (−1, −1, −1)
 *   r = 1: 0.5·(1, 0, −1) + 2·(2, 1, 0) = (4.5, 2, −0.5) */
static const float hand_in[6] = {1, 2, 0, -1, 0, 3};
static const float hand_w[6] = {1, 0, -1, 2, 1, 0};
static const float hand_g[4] = {1, -1, 0.5f, 2};
static const double hand_dw[6] = {0.5, 2, 1.5, -3, -2, 6};
static const double hand_db[2] = {1.5, 1};
static const double hand_din[6] = {-1, -1, -1, 4.5, 2, -0.5};

static void test_dense_by_hand(void)
{
    /* Buffers one longer than needed, the extra slot a sentinel. */
    float dw[7] = {0}, db[3] = {0}, din[7] = {0};
    dw[6] = db[2] = din[6] = 777.0f;
    nn_dense_backward(din, dw, db, hand_g, hand_in, hand_w, 2, 3, 2);

    /* Known mistakes, recognised by what they give. */
    const double dw_t[6] = {0.5, -3, 2, -2, 1.5, 6}; /* inᵀ G, [n_in, n_out] */
    if (!all_near(dw, hand_dw, 6, 1e-5) && all_near(dw, dw_t, 6, 1e-5))
        gr_hint("dW came out transposed: it has W's shape [n_out, n_in], dW[j][i] = Σ_r "
                "G[r][j] in[r][i], i.e. dW = Gᵀ·in (not inᵀ·G)");
    else if (all_near(db, (const double[]){1, -1}, 2, 1e-6) ||
             all_near(db, (const double[]){0.5, 2}, 2, 1e-6))
        gr_hint("db is one row of G: the bias is added to every row of the batch, so its "
                "gradient is the SUM of G over the rows: db[j] = Σ_r G[r][j]");
    else if (all_near(db, (const double[]){0.75, 0.5}, 2, 1e-6))
        gr_hint("db is the mean of G over the rows: sum it (the 1/batch of the mean loss is "
                "already in G, from the loss backward)");

    expect_all(dw, hand_dw, NULL, 6, 1e-6, 1e-6, "dw", __LINE__);
    expect_all(db, hand_db, NULL, 2, 1e-6, 1e-6, "db", __LINE__);
    expect_all(din, hand_din, NULL, 6, 1e-6, 1e-6, "din", __LINE__);
    check(dw[6] == 777.0f && db[2] == 777.0f && din[6] == 777.0f, __LINE__,
          "wrote past the end of a buffer (dw[6] = %g, db[2] = %g, din[6] = %g; want 777 each)",
          (double)dw[6], (double)db[2], (double)din[6]);
}

/* Expected dense gradients in double, and the size of their terms:
 *   dW[j,i] = Σ_r G[r,j] in[r,i], db[j] = Σ_r G[r,j], din[r,i] = Σ_j G[r,j] W[j,i]. */
static void dense_d(double *dw, double *dws, double *db, double *dbs, double *din, double *dins,
                    const float *g, const float *in, const float *w, int B, int ni, int no)
{
    for (int j = 0; j < no; j++) {
        db[j] = dbs[j] = 0.0;
        for (int r = 0; r < B; r++) {
            db[j] += g[r * no + j];
            dbs[j] += fabs(g[r * no + j]);
        }
        for (int i = 0; i < ni; i++) {
            double v = 0.0, m = 0.0;
            for (int r = 0; r < B; r++) {
                v += (double)g[r * no + j] * in[r * ni + i];
                m += fabs((double)g[r * no + j] * in[r * ni + i]);
            }
            dw[j * ni + i] = v;
            dws[j * ni + i] = m;
        }
    }
    for (int r = 0; r < B; r++)
        for (int i = 0; i < ni; i++) {
            double v = 0.0, m = 0.0;
            for (int j = 0; j < no; j++) {
                v += (double)g[r * no + j] * w[j * ni + i];
                m += fabs((double)g[r * no + j] * w[j * ni + i]);
            }
            din[r * ni + i] = v;
            dins[r * ni + i] = m;
        }
}

/* One dense backward of sizes B×ni→no on random data, against dense_d();
 * with_din = 0 passes din = NULL. Tolerance: 1e-5 of Σ|terms| + 1e-7. */
static void dense_random_case(int B, int ni, int no, int with_din, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    size_t nw = (size_t)no * ni;
    float *in = malloc(sizeof(float) * (size_t)B * ni), *w = malloc(sizeof(float) * nw);
    float *g = malloc(sizeof(float) * (size_t)B * no);
    float *dw = calloc(nw, sizeof(float)), *db = calloc((size_t)no, sizeof(float));
    float *din = calloc((size_t)B * ni, sizeof(float));
    double *e = malloc(sizeof(double) * 2 * (nw + no + (size_t)B * ni));
    double *edw = e, *edws = e + nw, *edb = e + 2 * nw, *edbs = edb + no;
    double *edin = edbs + no, *edins = edin + (size_t)B * ni;
    fill(in, B * ni, -1, 1, &rng);
    fill(w, (int)nw, -1, 1, &rng);
    fill(g, B * no, -1, 1, &rng);
    dense_d(edw, edws, edb, edbs, edin, edins, g, in, w, B, ni, no);
    nn_dense_backward(with_din ? din : NULL, dw, db, g, in, w, B, ni, no);
    char what[96];
    snprintf(what, sizeof what, "dw (batch %d, %d -> %d%s)", B, ni, no, with_din ? "" : ", din NULL");
    expect_all(dw, edw, edws, (int)nw, 1e-5, 1e-7, what, __LINE__);
    snprintf(what, sizeof what, "db (batch %d, %d -> %d%s)", B, ni, no, with_din ? "" : ", din NULL");
    expect_all(db, edb, edbs, no, 1e-5, 1e-7, what, __LINE__);
    if (with_din) {
        snprintf(what, sizeof what, "din (batch %d, %d -> %d)", B, ni, no);
        expect_all(din, edin, edins, B * ni, 1e-5, 1e-7, what, __LINE__);
    }
    free(in), free(w), free(g), free(dw), free(db), free(din), free(e);
}

static void test_dense_random(void)
{
    /* Sizes that are no multiple of anything, a batch of one, one input,
     * and the first layer's call with din = NULL (it must still fill dW
     * and db, and not crash). */
    dense_random_case(7, 13, 5, 1, 11);
    dense_random_case(1, 9, 4, 1, 12);
    dense_random_case(3, 1, 6, 1, 13);
    dense_random_case(6, 10, 3, 0, 14);
}

static void test_dense_accumulates(void)
{
    /* Backward ADDS into dW, db and din (DESIGN.md section 3): the buffers
     * start at 0.25·(k + 1) and the by-hand case is added twice:
     * want = start + 2·(by-hand gradient). Every value is a small multiple
     * of 1/8, exact in float. */
    float dw[6], db[2], din[6];
    double wdw[6], wdb[2], wdin[6], once[6];
    for (int k = 0; k < 6; k++) {
        dw[k] = din[k] = 0.25f * (float)(k + 1);
        wdw[k] = 0.25 * (k + 1) + 2 * hand_dw[k];
        wdin[k] = 0.25 * (k + 1) + 2 * hand_din[k];
        once[k] = 0.25 * (k + 1) + hand_dw[k];
    }
    db[0] = 0.25f, db[1] = 0.5f;
    wdb[0] = 0.25 + 2 * hand_db[0], wdb[1] = 0.5 + 2 * hand_db[1];
    nn_dense_backward(din, dw, db, hand_g, hand_in, hand_w, 2, 3, 2);
    nn_dense_backward(din, dw, db, hand_g, hand_in, hand_w, 2, 3, 2);
    if (all_near(dw, hand_dw, 6, 1e-6) || all_near(din, hand_din, 6, 1e-6) ||
        all_near(dw, once, 6, 1e-6))
        gr_hint("the gradient buffers were overwritten, not added to: backward functions "
                "ACCUMULATE (+=), and the caller zeroes the gradients before each step. With "
                "cblas_sgemm, beta = 1 adds to C");
    expect_all(dw, wdw, NULL, 6, 1e-6, 1e-6, "dw after two calls", __LINE__);
    expect_all(db, wdb, NULL, 2, 1e-6, 1e-6, "db after two calls", __LINE__);
    expect_all(din, wdin, NULL, 6, 1e-6, 1e-6, "din after two calls", __LINE__);
}

/* ------------------------------------------------------------ activation backward */

static void test_activation_backward(void)
{
    /* din_i += dout_i · f'(x_i) at the forward INPUT x, for every
     * activation; din starts at 0.125·(i + 1). The points include 0 (the
     * kinks: ReLU' = 0, leaky ReLU' = 0.01, step' = 0 there) and ±0.01.
     * Tolerance 1e-5·|dout·f'| + 1e-6 (a few float roundings). */
    enum { N = 11 };
    const float x[N] = {-3.0f, -1.5f, -0.5f, -0.01f, 0.0f, 0.01f, 0.5f, 1.0f, 1.5f, 3.0f, 6.0f};
    const float g[N] = {0.5f, -2.0f, 1.0f, 3.0f, -1.0f, 0.25f, 2.0f, -0.5f, 1.5f, -1.25f, 0.75f};
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        float din[N + 1];
        double want[N], scale[N], from_out[N], no_acc[N];
        for (int i = 0; i < N; i++) {
            din[i] = 0.125f * (float)(i + 1);
            double d = g[i] * dact_d((nn_act)a, x[i]);
            want[i] = din[i] + d;
            scale[i] = fabs(d);
            no_acc[i] = d;
            /* the mistake: f' evaluated at the output f(x) */
            from_out[i] = din[i] + g[i] * dact_d((nn_act)a, act_d((nn_act)a, x[i]));
        }
        din[N] = 777.0f;
        nn_activation_backward(din, g, x, N, (nn_act)a);
        if (!all_near(din, want, N, 1e-5) && all_near(din, from_out, N, 1e-5))
            gr_hint("%s: f' was evaluated at the output f(x): the backward pass gets the "
                    "forward INPUT (the pre-activation z), din = dout · f'(z)", act_names[a]);
        else if (!all_near(din, want, N, 1e-5) && all_near(din, no_acc, N, 1e-5))
            gr_hint("din was overwritten, not added to: din[i] += dout[i] * f'(in[i])");
        char what[64];
        snprintf(what, sizeof what, "din (%s)", act_names[a]);
        expect_all(din, want, scale, N, 1e-5, 1e-6, what, __LINE__);
        check(din[N] == 777.0f, __LINE__, "%s: wrote past the %d elements (din[%d] = %g)",
              act_names[a], N, N, (double)din[N]);
    }

    /* ReLU on a long random row (the loop a compiler vectorises): the
     * gradient passes where x > 0, and is dropped elsewhere. */
    enum { M = 1003 };
    static float xr[M], gr[M], dr[M];
    double want[M], scale[M];
    nn_rng rng;
    nn_rng_seed(&rng, 44);
    fill(xr, M, -1, 1, &rng);
    fill(gr, M, -2, 2, &rng);
    for (int i = 0; i < M; i++) {
        dr[i] = -0.5f;
        want[i] = -0.5 + (xr[i] > 0 ? gr[i] : 0.0);
        scale[i] = 1.0;
    }
    nn_activation_backward(dr, gr, xr, M, NN_ACT_RELU);
    expect_all(dr, want, scale, M, 1e-6, 0.0, "din (relu, 1003 random values)", __LINE__);
}

/* ------------------------------------------------------------ loss backward */

static void test_mse_backward(void)
{
    /* L = (1/N) Σ (p − t)², N = batch·n = 4, so dL/dp = 2 (p − t) / 4:
     *   p − t = (1, 0, −2, 0.5)  ->  (0.5, 0, −1, 0.25),
     * added to dpred = 1: want (1.5, 1, 0, 1.25). Exact in float. */
    const float p[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 3.5f};
    const double want[4] = {1.5, 1, 0, 1.25};
    float d[5] = {1, 1, 1, 1, 777};
    nn_mse_backward(d, p, t, 2, 2);
    if (all_near(d, (const double[]){1.25, 1, 0.5, 1.125}, 4, 1e-6))
        gr_hint("the factor 2 of d(p - t)^2/dp = 2 (p - t) is missing");
    else if (all_near(d, (const double[]){2, 1, -1, 1.5}, 4, 1e-6))
        gr_hint("divided by the batch only: the loss is the mean over all batch·n values, so "
                "dL/dp = 2 (p - t) / (batch·n)");
    else if (all_near(d, (const double[]){0.5, 0, -1, 0.25}, 4, 1e-6))
        gr_hint("dpred was overwritten, not added to (+=)");
    expect_all(d, want, NULL, 4, 1e-6, 1e-7, "dpred (batch 2, n 2)", __LINE__);
    check(d[4] == 777.0f, __LINE__, "wrote past the 4 values (dpred[4] = %g)", (double)d[4]);
}

static void test_bce_backward(void)
{
    /* dL/dp = (p − y) / (p (1 − p) n) with n = 4, i.e. −1/(p n) for y = 1
     * and 1/((1 − p) n) for y = 0:
     *   p = 0.5, y = 1: −1/2;    p = 0.25, y = 0: 1/3;
     *   p = 0.8, y = 1: −1/3.2;  p = 0.1, y = 0: 1/3.6;
     * added to dp = −1. Tolerance 1e-6 relative. */
    const float p[4] = {0.5f, 0.25f, 0.8f, 0.1f}, y[4] = {1, 0, 1, 0};
    const double want[4] = {-1.5, -1 + 1.0 / 3, -1 - 1 / 3.2, -1 + 1 / 3.6};
    float d[4] = {-1, -1, -1, -1};
    nn_bce_backward(d, p, y, 4);
    if (all_near(d, (const double[]){-0.5, 1.0 / 3, -1 / 3.2, 1 / 3.6}, 4, 1e-6))
        gr_hint("dp was overwritten, not added to (+=)");
    else if (all_near(d, (const double[]){-3, -1 + 4.0 / 3, -1 - 4 / 3.2, -1 + 4 / 3.6}, 4, 1e-6))
        gr_hint("the 1/n of the mean is missing: dL/dp = (p - y) / (p (1 - p) n)");
    expect_all(d, want, NULL, 4, 1e-6, 1e-7, "dp", __LINE__);

    /* A soft target: p = 0.6, y = 0.3, n = 1: 0.3 / 0.24 = 1.25. */
    float d1 = 0.0f;
    nn_bce_backward(&d1, (const float[]){0.6f}, (const float[]){0.3f}, 1);
    gr_assert_near(d1, 1.25, 1.25e-6, "dp (p = 0.6, y = 0.3)", __FILE__, __LINE__);

    /* p = 0 and p = 1 exactly: the header clamps p to [1e-7, 1 − 1e-7], so
     * the gradient is large, finite and of the right sign (−1/(1e-7·2) and
     * about +1/(1.2e-7·2): 1 − 1e-7 rounds in float). */
    float de[2] = {0, 0};
    nn_bce_backward(de, (const float[]){0.0f, 1.0f}, (const float[]){1, 0}, 2);
    if (!isfinite(de[0]) || !isfinite(de[1]))
        gr_hint("p = 0 or 1 gave %g, %g: clamp p to [1e-7, 1 - 1e-7] first (the header says "
                "so), as the loss clamps its logs", (double)de[0], (double)de[1]);
    check(isfinite(de[0]) && de[0] <= -1e6 && isfinite(de[1]) && de[1] >= 1e6, __LINE__,
          "p = (0, 1), y = (1, 0): expected a large finite gradient (about -5e6, +4.2e6: p "
          "clamped to [1e-7, 1 - 1e-7]), got (%g, %g)", (double)de[0], (double)de[1]);
}

static void test_cross_entropy_backward(void)
{
    /* dlogits = (softmax(x) − onehot(y)) / batch, batch = 2, added to 0.5:
     *   row 0: x = (0, ln 2, ln 5): softmax = (1, 2, 5)/8, y = 2:
     *          (1/8, 2/8, −3/8)/2 = (1/16, 1/8, −3/16)
     *   row 1: x = (−1, −1, −1): softmax = 1/3 each, y = 0:
     *          (−2/3, 1/3, 1/3)/2 = (−1/3, 1/6, 1/6)
     * Tolerance 1e-6 relative + 1e-7. */
    const float x[6] = {0.0f, (float)log(2.0), (float)log(5.0), -1, -1, -1};
    const int y[2] = {2, 0};
    const double grad[6] = {1.0 / 16, 1.0 / 8, -3.0 / 16, -1.0 / 3, 1.0 / 6, 1.0 / 6};
    double want[6], never[6], twice[6];
    float d[7];
    for (int k = 0; k < 6; k++) {
        d[k] = 0.5f;
        want[k] = 0.5 + grad[k];
        never[k] = 0.5 + 2 * grad[k]; /* not divided by the batch */
        twice[k] = 0.5 + grad[k] / 2; /* divided by the batch twice */
    }
    d[6] = 777.0f;
    nn_cross_entropy_backward(d, x, y, 2, 3);
    if (all_near(d, never, 6, 1e-5))
        gr_hint("the gradient is not averaged over the batch: the loss is the MEAN over the "
                "rows, so dL/dlogits = (softmax - onehot) / batch");
    else if (all_near(d, twice, 6, 1e-5))
        gr_hint("the gradient is divided by the batch twice: (softmax - onehot) / batch, once");
    else if (all_near(d, grad, 6, 1e-5))
        gr_hint("dlogits was overwritten, not added to (+=)");
    expect_all(d, want, NULL, 6, 1e-6, 1e-7, "dlogits (batch 2, 3 classes)", __LINE__);
    check(d[6] == 777.0f, __LINE__, "wrote past the 6 values (dlogits[6] = %g)", (double)d[6]);

    /* Logits of ±1e4: e^{1e4} overflows, so subtract the row max first.
     *   row 0: x = (1e4, 0, −1e4), y = 0: softmax = (1, 0, 0): all 0
     *   row 1: x = (−1e4, 1e4, 0), y = 0: softmax = (0, 1, 0):
     *          (−1, 1, 0)/2 = (−0.5, 0.5, 0)
     * e^{−1e4} is 0 in float, so these are exact; tolerance 1e-6. */
    const float xl[6] = {1e4f, 0, -1e4f, -1e4f, 1e4f, 0};
    const double wl[6] = {0, 0, 0, -0.5, 0.5, 0};
    float dl[6];
    for (int k = 0; k < 6; k++)
        dl[k] = 0.0f;
    nn_cross_entropy_backward(dl, xl, (const int[]){0, 0}, 2, 3);
    if (!isfinite(dl[0]) || !isfinite(dl[4]))
        gr_hint("logits of 1e4 gave %g: e^{1e4} overflows. Subtract the row max before "
                "exponentiating (softmax is unchanged by it)", (double)(isfinite(dl[0]) ? dl[4] : dl[0]));
    expect_all(dl, wl, NULL, 6, 0.0, 1e-6, "dlogits of (1e4, 0, -1e4), (-1e4, 1e4, 0)", __LINE__);
}

static void test_softmax_backward(void)
{
    /* din += y ⊙ (G − Σ_j G_j y_j) per row, y = softmax(x) (given, as the
     * forward output): 3 rows of 5, x and G random, din starting at 0.1.
     * Expected in double; tolerance 1e-5 of Σ|terms| + 1e-7. */
    enum { R = 3, C = 5 };
    nn_rng rng;
    nn_rng_seed(&rng, 45);
    float x[R * C], g[R * C], y[R * C], d[R * C + 1];
    double want[R * C], scale[R * C], yd[C], xd[C];
    fill(x, R * C, -2, 2, &rng);
    fill(g, R * C, -1, 1, &rng);
    for (int r = 0; r < R; r++) {
        for (int j = 0; j < C; j++)
            xd[j] = x[r * C + j];
        softmax_row_d(yd, xd, C);
        for (int j = 0; j < C; j++)
            y[r * C + j] = (float)yd[j];
        double dot = 0.0, mag = 0.0;
        for (int j = 0; j < C; j++) {
            dot += (double)g[r * C + j] * y[r * C + j];
            mag += fabs((double)g[r * C + j] * y[r * C + j]);
        }
        for (int i = 0; i < C; i++) {
            want[r * C + i] = 0.1f + y[r * C + i] * (g[r * C + i] - dot);
            scale[r * C + i] = y[r * C + i] * (fabs(g[r * C + i]) + mag) + 0.1;
        }
    }
    for (int k = 0; k < R * C; k++)
        d[k] = 0.1f;
    d[R * C] = 777.0f;
    nn_softmax_backward(d, g, y, R, C);
    expect_all(d, want, scale, R * C, 1e-5, 1e-7, "din (3 rows of 5)", __LINE__);
    check(d[R * C] == 777.0f, __LINE__, "wrote past the 15 values (din[15] = %g)", (double)d[R * C]);
}

/* ------------------------------------------------------------ SGD */

static void test_sgd_step(void)
{
    /* w ← w − lr g with lr = 0.25:
     *   (1, −2, 0.5, 3) − 0.25·(0.5, −1, 2, 0) = (0.875, −1.75, 0, 3). Exact. */
    float w[5] = {1, -2, 0.5f, 3, 777};
    const float g[4] = {0.5f, -1, 2, 0};
    nn_sgd_step(w, g, 4, 0.25f);
    if (all_near(w, (const double[]){1.125, -2.25, 1, 3}, 4, 1e-7))
        gr_hint("w moved up the gradient: the step is w <- w - lr g (the loss decreases along "
                "-g)");
    expect_all(w, (const double[]){0.875, -1.75, 0, 3}, NULL, 4, 0.0, 0.0, "w", __LINE__);
    check(w[4] == 777.0f, __LINE__, "wrote past the 4 weights (w[4] = %g)", (double)w[4]);
    /* n = 0: nothing moves. */
    nn_sgd_step(w, g, 0, 0.25f);
    check(w[0] == 0.875f, __LINE__, "n = 0 changed w[0] to %g", (double)w[0]);
}

/* ------------------------------------------------------------ gradient check */

/* f(θ) = Σ θ_i³ in double: the objective of the gradient-check test. */
typedef struct {
    const float *theta;
    int n, calls;
} cubic_ctx;

static double cubic(void *p)
{
    cubic_ctx *c = p;
    double s = 0.0;
    for (int i = 0; i < c->n; i++)
        s += (double)c->theta[i] * c->theta[i] * c->theta[i];
    c->calls++;
    return s;
}

static void test_grad_check(void)
{
    /* f(θ) = Σ θ_i³, analytic gradient a_i = 3θ_i², h = 2^−10. The θ_i are
     * chosen so that θ_i ± h is exact in float: the step taken is exactly
     * 2h. The central difference of a cubic is then, exactly,
     *   (f(θ + h) − f(θ − h)) / 2h = ((θ+h)³ − (θ−h)³) / 2h = 3θ² + h²,
     * so rel_i = |3θ² + h² − 3θ²| / (|3θ² + h²| + |3θ²|) = h² / (6θ² + h²).
     * A one-sided difference gives 3θ² + 3θh + h² instead, a relative error
     * near h / 2θ (about 1e-3 here): a thousand times more. Checked: each
     * rel_i within 1e-3 of its value relative (+1e-12), the return value the
     * max, and θ restored bit for bit. */
    enum { N = 5 };
    const double h = 1.0 / 1024;
    float theta[N] = {0.5f, -1.25f, 2.0f, 0.75f, -3.0f}, saved[N];
    float a[N];
    double rel[N + 1], want[N];
    memcpy(saved, theta, sizeof theta);
    for (int i = 0; i < N; i++) {
        double t = theta[i];
        a[i] = (float)(3 * t * t);
        want[i] = h * h / (6 * t * t + h * h);
    }
    for (int i = 0; i <= N; i++)
        rel[i] = NAN;
    rel[N] = 777.0;
    cubic_ctx c = {theta, N, 0};
    double worst = nn_grad_check(rel, cubic, &c, theta, a, N, h);

    int one_sided = 1, no_two = 1;
    for (int i = 0; i < N; i++) {
        /* (f(θ + h) − f(θ)) / h = 3θ² + 3θh + h² for a cubic */
        double t = theta[i], g1 = 3 * t * t + 3 * t * h + h * h;
        double r1 = fabs(g1 - 3 * t * t) / (fabs(g1) + 3 * t * t);
        one_sided &= fabs(rel[i] - r1) < 0.1 * r1;
        no_two &= fabs(rel[i] - 1.0 / 3) < 1e-3; /* (f(θ+h) − f(θ−h)) / h: twice the slope */
    }
    if (one_sided)
        gr_hint("the relative errors are about h / 2θ: a one-sided difference (f(θ + h) - f(θ)) "
                "/ h. Use the central one, (f(θ + h) - f(θ - h)) / 2h: its error is O(h²), "
                "not O(h)");
    else if (no_two)
        gr_hint("every relative error is 1/3: the numeric slope is twice the true one. The "
                "central difference divides by the whole step, 2h");
    else if (c.calls != 2 * N)
        gr_hint("f was called %d times for %d parameters: twice per parameter (at θ_i + h and "
                "θ_i - h) is what the central difference needs", c.calls, N);
    for (int i = 0; i < N; i++) {
        char what[64];
        snprintf(what, sizeof what, "rel_err[%d] (θ = %g)", i, (double)saved[i]);
        gr_assert_near(rel[i], want[i], 1e-3 * want[i] + 1e-12, what, __FILE__, __LINE__);
    }
    double wmax = 0;
    for (int i = 0; i < N; i++)
        wmax = fmax(wmax, want[i]);
    gr_assert_near(worst, wmax, 1e-3 * wmax + 1e-12, "returned max relative error", __FILE__,
                   __LINE__);
    check(memcmp(theta, saved, sizeof theta) == 0, __LINE__,
          "θ was not restored: (%.9g, %.9g, %.9g, %.9g, %.9g), want (0.5, -1.25, 2, 0.75, -3)",
          (double)theta[0], (double)theta[1], (double)theta[2], (double)theta[3], (double)theta[4]);
    check(rel[N] == 777.0, __LINE__, "wrote past rel_err[%d]", N - 1);

    /* A wrong analytic entry: a_2 = 24 instead of 12. Its relative error is
     * |12 + h² − 24| / (12 + h² + 24) ≈ 1/3, and the max is that. rel_err
     * may be NULL. */
    a[2] = 24.0f;
    double bad = nn_grad_check(NULL, cubic, &c, theta, a, N, h);
    double wbad = (12 - h * h) / (36 + h * h);
    gr_assert_near(bad, wbad, 1e-6, "max relative error with a[2] = 24 (twice the true 12)",
                   __FILE__, __LINE__);

    /* A NaN gradient must never pass: its relative error is NaN, and NaN
     * compares false with everything, so a plain `if (rel > worst)` skips
     * it. The max must come out NaN or >= 1, never small. */
    a[2] = 12.0f;
    a[3] = NAN;
    for (int i = 0; i < N; i++)
        rel[i] = -1.0;
    double with_nan = nn_grad_check(rel, cubic, &c, theta, a, N, h);
    if (with_nan < 1.0)
        gr_hint("a NaN analytic gradient gave a max relative error of %g: NaN > x is false, "
                "so the max skipped it. Count a NaN relative error as +infinity", with_nan);
    check(!(with_nan < 1.0), __LINE__,
          "analytic gradient with a NaN: the max relative error must be NaN or infinite (a "
          "NaN gradient never passes), got %g", with_nan);
    check(!(rel[3] < 1.0), __LINE__, "rel_err[3] of a NaN gradient must be NaN or infinite, got %g",
          rel[3]);
}

/* ------------------------------------------------------------ MLP backward */

/* One MLP case: a random network and batch; nn_mlp_backward() against
 * dnet_backward() from the same z and a. dw, db start at 0.5 and 0.25
 * (backward adds); the scratch dz, da are full of NaN on entry (their
 * contents must be ignored). Tolerance: 1e-5 of the largest |gradient| of
 * the array, + 1e-7. Returns 1 when the last layer was right but an
 * earlier one was not (for the hint). */
static int mlp_case(const int *sizes, int L, nn_act act, int batch, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    fnet f;
    fnet_init(&f, sizes, L, act, 0.9f, &rng);
    int *y = malloc(sizeof(int) * (size_t)batch);
    for (int r = 0; r < batch; r++)
        y[r] = (int)nn_rng_below(&rng, (uint32_t)sizes[L]);

    /* Forward in double; z and a handed to the student are those, in float
     * (a[l+1] = f(z[l]) rounded). The expected gradient starts from the
     * same float values. */
    dnet d;
    dnet_from(&d, &f.net);
    dacts t;
    dacts_alloc(&t, sizes, L, batch);
    for (int i = 0; i < batch * sizes[0]; i++)
        t.a[0][i] = -1.0 + 2.0 * nn_rng_uniform(&rng);
    dnet_forward(&d, &t, batch);
    float *z[DMAX], *a[DMAX + 1], *dz[DMAX], *da[DMAX + 1], *dw[DMAX], *db[DMAX];
    double *ew[DMAX], *eb[DMAX];
    for (int l = 0; l <= L; l++) {
        int n = batch * sizes[l];
        a[l] = malloc(sizeof(float) * (size_t)n);
        da[l] = malloc(sizeof(float) * (size_t)n);
        gr_poison(da[l], n);
        for (int i = 0; i < n; i++)
            t.a[l][i] = a[l][i] = (float)t.a[l][i];
    }
    for (int l = 0; l < L; l++) {
        int n = batch * sizes[l + 1], nw = sizes[l + 1] * sizes[l];
        z[l] = malloc(sizeof(float) * (size_t)n);
        dz[l] = malloc(sizeof(float) * (size_t)n);
        gr_poison(dz[l], n);
        for (int i = 0; i < n; i++)
            t.z[l][i] = z[l][i] = (float)t.z[l][i];
        dw[l] = malloc(sizeof(float) * (size_t)nw);
        db[l] = malloc(sizeof(float) * (size_t)sizes[l + 1]);
        ew[l] = malloc(sizeof(double) * (size_t)nw);
        eb[l] = malloc(sizeof(double) * (size_t)sizes[l + 1]);
        for (int i = 0; i < nw; i++)
            dw[l][i] = 0.5f, ew[l][i] = 0.0;
        for (int i = 0; i < sizes[l + 1]; i++)
            db[l][i] = 0.25f, eb[l][i] = 0.0;
    }
    dnet_backward(ew, eb, &d, &t, y, batch);

    nn_mlp_backward(dw, db, dz, da, z, a, y, &f.net, batch);

    int last_ok = 1, earlier_bad = 0, nan_seen = 0;
    for (int l = L - 1; l >= 0; l--) {
        int nw = sizes[l + 1] * sizes[l], nb = sizes[l + 1];
        double m = 0.0;
        for (int i = 0; i < nw; i++)
            m = fmax(m, fabs(ew[l][i]));
        for (int i = 0; i < nb; i++)
            m = fmax(m, fabs(eb[l][i]));
        double tol = 1e-5 * m + 1e-7;
        int ok = 1;
        for (int i = 0; i < nw; i++) {
            ok &= fabs(dw[l][i] - (0.5 + ew[l][i])) <= tol;
            nan_seen |= isnan(dw[l][i]);
        }
        for (int i = 0; i < nb; i++) {
            ok &= fabs(db[l][i] - (0.25 + eb[l][i])) <= tol;
            nan_seen |= isnan(db[l][i]);
        }
        if (l == L - 1)
            last_ok = ok;
        else if (!ok)
            earlier_bad = 1;
        /* the messages: dw[l] then db[l], as start + gradient */
        for (int i = 0; i < nw; i++)
            ew[l][i] += 0.5;
        for (int i = 0; i < nb; i++)
            eb[l][i] += 0.25;
        char net[64] = "", what[96];
        for (int k = 0; k <= L; k++)
            snprintf(net + strlen(net), sizeof net - strlen(net), k ? "-%d" : "%d", sizes[k]);
        snprintf(what, sizeof what, "dw[%d] (net %s, %s, batch %d)", l, net, act_names[act], batch);
        expect_all(dw[l], ew[l], NULL, nw, 0.0, tol, what, __LINE__);
        snprintf(what, sizeof what, "db[%d] (net %s, %s, batch %d)", l, net, act_names[act], batch);
        expect_all(db[l], eb[l], NULL, nb, 0.0, tol, what, __LINE__);
    }
    if (nan_seen)
        gr_hint("NaN in the gradients: dz and da are scratch whose contents on entry are "
                "garbage (here NaN). The backward kernels ADD into them, so zero each one "
                "before it is accumulated into");

    for (int l = 0; l <= L; l++)
        free(a[l]), free(da[l]);
    for (int l = 0; l < L; l++)
        free(z[l]), free(dz[l]), free(dw[l]), free(db[l]), free(ew[l]), free(eb[l]);
    dacts_free(&t, L);
    dnet_free(&d);
    fnet_free(&f);
    free(y);
    return last_ok && earlier_bad;
}

static void test_mlp_backward(void)
{
    /* Three networks: 3-5-4-3 tanh (two hidden layers), 2-6-3 ReLU, and
     * 4-3, no hidden layer (softmax regression). */
    int hint = 0;
    hint |= mlp_case((const int[]){3, 5, 4, 3}, 3, NN_ACT_TANH, 4, 21);
    hint |= mlp_case((const int[]){2, 6, 3}, 2, NN_ACT_RELU, 5, 22);
    hint |= mlp_case((const int[]){4, 3}, 1, NN_ACT_TANH, 3, 23);
    if (hint)
        gr_hint("the last layer's gradients are right, an earlier layer's are not: between "
                "layers, dz[l-1] = da[l] * f'(z[l-1]): f' at the pre-activation z[l-1] of the "
                "layer BELOW (the one that produced a[l]), not at z[l] or at another layer's "
                "output; and dense backward's din is the da[l] of that layer");
}

/* ------------------------------------------------------------ gradient-check table */

/* Objectives in double for the table: each reads its float parameters
 * through the context, as nn_grad_check() perturbs them. */
typedef struct { /* f = Σ_rj R[r,j] (in Wᵀ + b)[r,j] */
    const float *in, *w, *b, *r;
    int batch, ni, no;
} dense_obj;

static double dense_f(void *p)
{
    dense_obj *o = p;
    double s = 0.0;
    for (int r = 0; r < o->batch; r++)
        for (int j = 0; j < o->no; j++) {
            double v = o->b[j];
            for (int i = 0; i < o->ni; i++)
                v += (double)o->in[r * o->ni + i] * o->w[j * o->ni + i];
            s += o->r[r * o->no + j] * v;
        }
    return s;
}

typedef struct { /* f = Σ_i R_i act(x_i) */
    const float *x, *r;
    int n;
    nn_act act;
} act_obj;

static double act_f(void *p)
{
    act_obj *o = p;
    double s = 0.0;
    for (int i = 0; i < o->n; i++)
        s += o->r[i] * act_d(o->act, o->x[i]);
    return s;
}

typedef struct { /* the losses, and Σ R ⊙ softmax(x) */
    const float *x, *t, *r;
    const int *labels;
    int batch, n;
} loss_obj;

static double mse_f(void *p)
{
    loss_obj *o = p;
    double s = 0.0;
    for (int i = 0; i < o->batch * o->n; i++)
        s += ((double)o->x[i] - o->t[i]) * ((double)o->x[i] - o->t[i]);
    return s / (o->batch * o->n);
}

static double bce_f(void *p)
{
    loss_obj *o = p;
    double s = 0.0;
    for (int i = 0; i < o->n; i++)
        s -= o->t[i] * log(o->x[i]) + (1.0 - o->t[i]) * log(1.0 - o->x[i]);
    return s / o->n;
}

static double ce_f(void *p)
{
    loss_obj *o = p;
    double *x = malloc(sizeof(double) * (size_t)o->batch * o->n);
    for (int i = 0; i < o->batch * o->n; i++)
        x[i] = o->x[i];
    double l = ce_loss_d(x, o->labels, o->batch, o->n);
    free(x);
    return l;
}

static double softmax_f(void *p)
{
    loss_obj *o = p;
    double s = 0.0, x[16], y[16];
    for (int r = 0; r < o->batch; r++) {
        for (int j = 0; j < o->n; j++)
            x[j] = o->x[r * o->n + j];
        softmax_row_d(y, x, o->n);
        for (int j = 0; j < o->n; j++)
            s += o->r[r * o->n + j] * y[j];
    }
    return s;
}

typedef struct { /* the MLP's mean cross-entropy, forward in double */
    const nn_mlp *net;
    const float *x;
    const int *y;
    int batch;
} mlp_obj;

static double mlp_f(void *p)
{
    mlp_obj *o = p;
    dnet d;
    dnet_from(&d, o->net);
    dacts t;
    dacts_alloc(&t, o->net->sizes, d.L, o->batch);
    for (int i = 0; i < o->batch * o->net->sizes[0]; i++)
        t.a[0][i] = o->x[i];
    dnet_forward(&d, &t, o->batch);
    double l = ce_loss_d(t.z[d.L - 1], o->y, o->batch, o->net->sizes[d.L]);
    dacts_free(&t, d.L);
    dnet_free(&d);
    return l;
}

/* The grader's own central-difference check (the header's formula). */
static double own_check(nn_objective f, void *ctx, float *theta, const float *a, int n, double h)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        float saved = theta[i], up = (float)(saved + h), down = (float)(saved - h);
        theta[i] = up;
        double fu = f(ctx);
        theta[i] = down;
        double fd = f(ctx);
        theta[i] = saved;
        double g = (fu - fd) / ((double)up - (double)down);
        double rel = fabs(g - a[i]) / fmax(1e-8, fabs(g) + fabs(a[i]));
        if (!(rel <= worst))
            worst = isnan(rel) ? INFINITY : rel;
    }
    return worst;
}

#define TABLE_TOL 1e-4 /* the largest relative error a row may show */

typedef struct {
    FILE *log;
    int rows, bad;
    char failed[300];
} table;

/* One row: your nn_grad_check() of `analytic` (what your backward gave)
 * for the parameters theta[n] of objective f, and the grader's own check. */
static void table_row(table *t, const char *what, nn_objective f, void *ctx, float *theta,
                      const float *analytic, int n)
{
    const double h = 1e-3;
    double *rel = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        rel[i] = NAN;
    double yours = nn_grad_check(rel, f, ctx, theta, analytic, n, h);
    double rmax = 0.0;
    int worst = 0, unwritten = 0;
    for (int i = 0; i < n; i++) {
        unwritten |= isnan(rel[i]) && !isnan(analytic[i]);
        if (!(rel[i] <= rmax)) {
            rmax = rel[i];
            worst = i;
        }
    }
    double grader = own_check(f, ctx, theta, analytic, n, h);
    if (t->log)
        fprintf(t->log, "%s,%d,%.3e,%.3e,%d\n", what, n, yours, grader, worst);
    t->rows++;
    int ok = yours <= TABLE_TOL && grader <= TABLE_TOL && !unwritten;
    if (!ok) {
        t->bad++;
        size_t len = strlen(t->failed);
        if (len < sizeof t->failed - 40)
            snprintf(t->failed + len, sizeof t->failed - len, "%s%s (yours %.2g, grader's %.2g)",
                     len ? "; " : "", what, yours, grader);
    }
    if (unwritten)
        gr_hint("nn_grad_check left rel_err[] unwritten (still NaN): it must fill one relative "
                "error per parameter");
    else if (yours <= TABLE_TOL && grader > TABLE_TOL)
        gr_hint("your gradient check passed a gradient that is wrong (%s: the grader's check "
                "finds %.2g): check nn_grad_check too", what, grader);
    free(rel);
}

static void test_gradcheck_table(void)
{
    /* Your nn_grad_check() on your own backward functions, h = 1e-3, the
     * objectives in double (so that the only error is the difference
     * quotient's, O(h²)): a table of the largest relative error per
     * parameter array, written for the report. Each row must stay below
     * 1e-4 both by your check and by the grader's (the same formula,
     * written out above): a wrong gradient has errors of 1e-2 to 1, a
     * one-sided difference about 1e-3. The points stay 0.02 or more from
     * the kinks (ReLU at 0), where no difference quotient is right. */
    table t = {open_data("lab04-gradcheck.csv"), 0, 0, ""};
    if (t.log)
        fprintf(t.log, "what,params,yours,grader,worst\n");
    nn_rng rng;
    nn_rng_seed(&rng, 46);

    { /* a dense layer, 3 rows, 4 -> 5, f = Σ R ⊙ out */
        enum { B = 3, NI = 4, NO = 5 };
        float in[B * NI], w[NO * NI], b[NO], r[B * NO];
        float dw[NO * NI] = {0}, db[NO] = {0}, din[B * NI] = {0};
        fill(in, B * NI, -1, 1, &rng);
        fill(w, NO * NI, -1, 1, &rng);
        fill(b, NO, -1, 1, &rng);
        fill(r, B * NO, -1, 1, &rng);
        nn_dense_backward(din, dw, db, r, in, w, B, NI, NO);
        dense_obj o = {in, w, b, r, B, NI, NO};
        table_row(&t, "dense W", dense_f, &o, w, dw, NO * NI);
        table_row(&t, "dense b", dense_f, &o, b, db, NO);
        table_row(&t, "dense input", dense_f, &o, in, din, B * NI);
    }
    for (int a = 0; a < NN_ACT_COUNT; a++) { /* each activation, f = Σ R ⊙ act(x) */
        enum { N = 8 };
        float x[N], r[N], din[N] = {0};
        fill(x, N, -3, 3, &rng);
        for (int i = 0; i < N; i++)
            if (fabsf(x[i]) < 0.02f)
                x[i] = 0.5f;
        fill(r, N, -1, 1, &rng);
        nn_activation_backward(din, r, x, N, (nn_act)a);
        act_obj o = {x, r, N, (nn_act)a};
        char what[48];
        snprintf(what, sizeof what, "activation %s", act_names[a]);
        table_row(&t, what, act_f, &o, x, din, N);
    }
    { /* the losses */
        enum { B = 3, N = 4 };
        float p[B * N], tg[B * N], d[B * N] = {0};
        fill(p, B * N, -1, 1, &rng);
        fill(tg, B * N, -1, 1, &rng);
        nn_mse_backward(d, p, tg, B, N);
        loss_obj o = {p, tg, NULL, NULL, B, N};
        table_row(&t, "mse loss", mse_f, &o, p, d, B * N);

        float q[6], y[6], dq[6] = {0};
        fill(q, 6, 0.2f, 0.8f, &rng); /* the difference quotient's error grows as 1/p² */
        for (int i = 0; i < 6; i++)
            y[i] = (float)(i % 2); /* hard labels: no gradient near 0 */
        nn_bce_backward(dq, q, y, 6);
        loss_obj ob = {q, y, NULL, NULL, 1, 6};
        table_row(&t, "bce loss", bce_f, &ob, q, dq, 6);

        float x[B * N], dx[B * N] = {0};
        const int labels[B] = {3, 0, 2};
        fill(x, B * N, -2, 2, &rng);
        nn_cross_entropy_backward(dx, x, labels, B, N);
        loss_obj oc = {x, NULL, NULL, labels, B, N};
        table_row(&t, "cross-entropy loss", ce_f, &oc, x, dx, B * N);

        float r[B * N], y2[B * N], ds[B * N] = {0};
        double xd[N], yd[N];
        fill(r, B * N, -1, 1, &rng);
        for (int row = 0; row < B; row++) {
            for (int j = 0; j < N; j++)
                xd[j] = x[row * N + j];
            softmax_row_d(yd, xd, N);
            for (int j = 0; j < N; j++)
                y2[row * N + j] = (float)yd[j];
        }
        nn_softmax_backward(ds, r, y2, B, N);
        loss_obj os = {x, NULL, r, NULL, B, N};
        table_row(&t, "softmax", softmax_f, &os, x, ds, B * N);
    }
    { /* an MLP 3-5-4-3, tanh, batch 4: every parameter array */
        enum { L = 3, B = 4 };
        const int sizes[L + 1] = {3, 5, 4, 3};
        fnet f;
        fnet_init(&f, sizes, L, NN_ACT_TANH, 0.9f, &rng);
        float x[B * 3];
        const int y[B] = {0, 2, 1, 2};
        fill(x, B * 3, -1, 1, &rng);
        float *z[L], *a[L + 1], *dz[L], *da[L + 1], *dw[L], *db[L];
        for (int l = 0; l <= L; l++) {
            a[l] = malloc(sizeof(float) * B * sizes[l]);
            da[l] = calloc((size_t)B * sizes[l], sizeof(float));
        }
        for (int l = 0; l < L; l++) {
            z[l] = malloc(sizeof(float) * B * sizes[l + 1]);
            dz[l] = calloc((size_t)B * sizes[l + 1], sizeof(float));
            dw[l] = calloc((size_t)sizes[l + 1] * sizes[l], sizeof(float));
            db[l] = calloc((size_t)sizes[l + 1], sizeof(float));
        }
        memcpy(a[0], x, sizeof x);
        nn_mlp_forward(z, a, &f.net, B); /* lab 3's reference forward pass */
        nn_mlp_backward(dw, db, dz, da, z, a, y, &f.net, B);
        mlp_obj o = {&f.net, x, y, B};
        for (int l = 0; l < L; l++) {
            char what[32];
            snprintf(what, sizeof what, "mlp W%d", l + 1);
            table_row(&t, what, mlp_f, &o, f.w[l], dw[l], sizes[l + 1] * sizes[l]);
            snprintf(what, sizeof what, "mlp b%d", l + 1);
            table_row(&t, what, mlp_f, &o, f.b[l], db[l], sizes[l + 1]);
        }
        for (int l = 0; l <= L; l++)
            free(a[l]), free(da[l]);
        for (int l = 0; l < L; l++)
            free(z[l]), free(dz[l]), free(dw[l]), free(db[l]);
        fnet_free(&f);
    }
    if (t.log)
        fclose(t.log);
    check(t.bad == 0, __LINE__,
          "%d of the %d gradient checks found a relative error above 1e-4: %s", t.bad, t.rows,
          t.failed);
}

/* ------------------------------------------------------------ the training loop */

/* How epoch_d() runs: as it must, or as a known mistake does (for the hints). */
enum {
    EPOCH_RIGHT,
    EPOCH_DROP_LAST,   /* a last, partial batch skipped */
    EPOCH_BATCH_MEAN,  /* the loss returned: the mean of the batch losses */
    EPOCH_LR_OVER_N,   /* each step lr/n: the gradient averaged twice */
    EPOCH_NO_ZEROING,  /* dW, db never zeroed: each step adds all earlier gradients */
};

/* One epoch of minibatch SGD in double, as nn_mlp_train_epoch() must do
 * it: rows in the order `order`, batches of `batch` (the last one
 * smaller), each: forward, mean cross-entropy (before the step), zero the
 * gradients, backward, w ← w − lr·g. Returns the epoch's mean loss over
 * the examples, Σ_b n_b·L_b / rows. */
static double epoch_d(dnet *d, const float *x, const int *y, const int *order, int rows, int batch,
                      double lr, int mode)
{
    int L = d->L;
    const int *s = d->s;
    dacts t;
    dacts_alloc(&t, s, L, batch);
    int *lab = malloc(sizeof(int) * (size_t)batch);
    double *dw[DMAX], *db[DMAX];
    for (int l = 0; l < L; l++) {
        dw[l] = malloc(sizeof(double) * (size_t)s[l + 1] * s[l]);
        db[l] = malloc(sizeof(double) * (size_t)s[l + 1]);
    }
    double sum = 0.0, means = 0.0;
    int batches = 0;
    for (int start = 0; start < rows; start += batch) {
        int n = rows - start < batch ? rows - start : batch;
        if (mode == EPOCH_DROP_LAST && n < batch)
            break;
        for (int k = 0; k < n; k++) {
            for (int i = 0; i < s[0]; i++)
                t.a[0][k * s[0] + i] = x[order[start + k] * s[0] + i];
            lab[k] = y[order[start + k]];
        }
        dnet_forward(d, &t, n);
        double l = ce_loss_d(t.z[L - 1], lab, n, s[L]);
        sum += l * n;
        means += l;
        batches++;
        for (int k = 0; k < L && (mode != EPOCH_NO_ZEROING || start == 0); k++) {
            memset(dw[k], 0, sizeof(double) * (size_t)s[k + 1] * s[k]);
            memset(db[k], 0, sizeof(double) * (size_t)s[k + 1]);
        }
        dnet_backward(dw, db, d, &t, lab, n);
        double step = mode == EPOCH_LR_OVER_N ? lr / n : lr;
        for (int k = 0; k < L; k++) {
            for (int i = 0; i < s[k + 1] * s[k]; i++)
                d->w[k][i] -= step * dw[k][i];
            for (int i = 0; i < s[k + 1]; i++)
                d->b[k][i] -= step * db[k][i];
        }
    }
    for (int l = 0; l < L; l++)
        free(dw[l]), free(db[l]);
    free(lab);
    dacts_free(&t, L);
    return mode == EPOCH_BATCH_MEAN ? means / batches : sum / rows;
}

/* max |float weights − double weights| <= tol·max|double weights| (NaN: no). */
static int net_matches(const nn_mlp *f, const dnet *d, double tol)
{
    double m = 0.0, e = 0.0;
    for (int l = 0; l < d->L; l++) {
        for (int i = 0; i < d->s[l + 1] * d->s[l]; i++) {
            m = fmax(m, fabs(d->w[l][i]));
            double v = fabs(f->w[l][i] - d->w[l][i]);
            e = isnan(v) || v > e ? v : e;
        }
        for (int i = 0; i < d->s[l + 1]; i++) {
            m = fmax(m, fabs(d->b[l][i]));
            double v = fabs(f->b[l][i] - d->b[l][i]);
            e = isnan(v) || v > e ? v : e;
        }
    }
    return e <= tol * m;
}

/* Copy a float network's weights into a double one built like it. */
static void dnet_set(dnet *d, const nn_mlp *f)
{
    for (int l = 0; l < d->L; l++) {
        for (int i = 0; i < d->s[l + 1] * d->s[l]; i++)
            d->w[l][i] = f->w[l][i];
        for (int i = 0; i < d->s[l + 1]; i++)
            d->b[l][i] = f->b[l][i];
    }
}

/* The first epoch's known mistakes, recognised by the weights (and loss)
 * they give from the weights `start`; NULL when none matches. */
static const char *epoch_mistake(const nn_mlp *got, float loss, const nn_mlp *start,
                                 const float *x, const int *y, const int *order, int rows,
                                 int batch, double lr)
{
    int *ident = malloc(sizeof(int) * (size_t)rows);
    for (int i = 0; i < rows; i++)
        ident[i] = i;
    struct {
        const int *ord;
        double lr;
        int mode;
        const char *hint;
    } alt[] = {
        {ident, lr, EPOCH_RIGHT, "the result is what an unshuffled epoch gives: shuffle the "
                                 "row order at the start of each epoch, nn_rng_shuffle(rng, "
                                 "order, rows) on order = 0..rows-1 (these rows are sorted by "
                                 "class)"},
        {order, lr, EPOCH_DROP_LAST, "the last, partial batch was dropped: the last batch is "
                                     "smaller, n = rows - start, and is trained on like the "
                                     "others"},
        {order, lr, EPOCH_LR_OVER_N, "each step is lr/n times the gradient: the gradient is "
                                     "averaged twice (the cross-entropy backward already "
                                     "divides by the batch)"},
        {order, lr, EPOCH_NO_ZEROING, "the gradients were not zeroed before each backward: "
                                      "backward ADDS into dW and db, so each step also took "
                                      "every earlier batch's gradient again"},
        {order, -lr, EPOCH_RIGHT, "the weights moved up the gradient: w <- w - lr g"},
    };
    const char *hint = NULL;
    int nan = 0;
    for (int l = 0; l < got->n_layers; l++)
        for (int i = 0; i < got->sizes[l + 1] * got->sizes[l]; i++)
            nan |= !(fabsf(got->w[l][i]) < 1e6f); /* NaN, infinite or exploded */
    if (nan || !(loss < 1e6f))
        hint = "the weights or the loss blew up in one epoch: are the gradient buffers zeroed "
               "before each backward (malloc gives garbage, and backward ADDS into them)? Is "
               "every buffer big enough for a full batch?";
    dnet v;
    dnet_from(&v, start);
    for (size_t k = 0; k < sizeof alt / sizeof alt[0] && !hint; k++) {
        dnet_set(&v, start);
        epoch_d(&v, x, y, alt[k].ord, rows, batch, alt[k].lr, alt[k].mode);
        if (net_matches(got, &v, 1e-4))
            hint = alt[k].hint;
    }
    if (!hint) {
        dnet_set(&v, start);
        double bm = epoch_d(&v, x, y, order, rows, batch, lr, EPOCH_BATCH_MEAN);
        if (net_matches(got, &v, 1e-4) && fabs(loss - bm) <= 1e-5 * bm)
            hint = "the returned loss is the mean of the batch losses: the last batch is "
                   "smaller, so weight each batch's loss by its rows, Σ n_b L_b / rows";
    }
    dnet_free(&v);
    free(ident);
    return hint;
}

static void test_train_epoch(void)
{
    /* Ten examples, SORTED BY CLASS (0 0 0 1 1 1 1 2 2 2), a 2-4-3 tanh
     * network, batch 4 (so batches of 4, 4 and a last one of 2), lr 0.5.
     * The contract (see the handout): order = 0..rows−1, shuffled once with
     * nn_rng_shuffle(rng, order, rows) at the start of the epoch; then the
     * batches in that order, each one: forward, loss, zero the gradients,
     * backward, SGD step; return Σ_b n_b·L_b / rows. The same epoch runs
     * here in double (epoch_d) from the same weights, with the order drawn
     * from a copy of the rng. Two epochs in a row, each from where your
     * previous one left the weights: the weights within 1e-4 of their
     * largest, the mean loss within 1e-5 relative. */
    enum { ROWS = 10, B = 4 };
    const int sizes[3] = {2, 4, 3};
    const int y[ROWS] = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
    float x[ROWS * 2];
    nn_rng rng;
    nn_rng_seed(&rng, 47);
    fill(x, ROWS * 2, -1, 1, &rng);
    fnet f, start;
    fnet_init(&f, sizes, 2, NN_ACT_TANH, 1.0f, &rng);
    fnet_init(&start, sizes, 2, NN_ACT_TANH, 1.0f, &rng); /* storage for a copy */
    dnet d;
    dnet_from(&d, &f.net);

    nn_rng train_rng, mirror;
    nn_rng_seed(&train_rng, 2024);
    mirror = train_rng;
    for (int e = 0; e < 2; e++) {
        int order[ROWS];
        for (int i = 0; i < ROWS; i++)
            order[i] = i;
        nn_rng_shuffle(&mirror, order, ROWS);
        for (int l = 0; l < 2; l++) {
            memcpy(start.w[l], f.w[l], sizeof(float) * (size_t)sizes[l + 1] * sizes[l]);
            memcpy(start.b[l], f.b[l], sizeof(float) * (size_t)sizes[l + 1]);
        }
        dnet_set(&d, &f.net);
        double want = epoch_d(&d, x, y, order, ROWS, B, 0.5, EPOCH_RIGHT);
        float loss = nn_mlp_train_epoch(&f.net, x, y, ROWS, B, 0.5f, &train_rng);
        int same = net_matches(&f.net, &d, 1e-4);
        if (!same || !(fabs(loss - want) <= 1e-5 * want)) {
            const char *hint = epoch_mistake(&f.net, loss, &start.net, x, y, order, ROWS, B, 0.5);
            if (hint)
                gr_hint("%s", hint);
        }
        char what[64];
        snprintf(what, sizeof what, "mean loss returned by epoch %d", e + 1);
        gr_assert_near(loss, want, 1e-5 * want, what, __FILE__, __LINE__);
        check(same, __LINE__,
              "after epoch %d the weights differ from one epoch of minibatch SGD done in double "
              "(W1[0][0] = %g, want %g; b2[0] = %g, want %g)", e + 1, (double)f.w[0][0],
              d.w[0][0], (double)f.b[1][0], d.b[1][0]);
    }
    dnet_free(&d);
    fnet_free(&f);
    fnet_free(&start);
}

/* ------------------------------------------------------------ training runs and bands */

/* Read grader/bands/NAME (epoch,min,max) into lo, hi, widened by the
 * margin of lab04-runs.h. 0 (and a failed assertion) when it cannot. */
static int read_band(const char *name, double *lo, double *hi, int epochs)
{
    char path[4096];
    const char *roots[2] = {NNLAB_ROOT "/grader/bands", "grader/bands"};
    FILE *f = NULL;
    for (int k = 0; k < 2 && !f; k++) {
        snprintf(path, sizeof path, "%s/%s", roots[k], name);
        f = fopen(path, "r");
    }
    int n = 0;
    if (f) {
        char line[256];
        if (fgets(line, sizeof line, f) && strncmp(line, "epoch,min,max", 13) == 0) {
            int e;
            double a, b;
            while (n < epochs && fgets(line, sizeof line, f) &&
                   sscanf(line, "%d,%lf,%lf", &e, &a, &b) == 3 && e == n + 1) {
                lo[n] = a - (LAB04_MARGIN_REL * a + LAB04_MARGIN_ABS);
                hi[n] = b + (LAB04_MARGIN_REL * b + LAB04_MARGIN_ABS);
                n++;
            }
        }
        fclose(f);
    }
    check(n == epochs, __LINE__,
          "the grader could not read %d epochs of its band file grader/bands/%s (not your "
          "code's fault: ask the staff; grader/bands/lab04-mkbands.sh makes it)", epochs, name);
    return n == epochs;
}

typedef struct {
    FILE *log;
    const double *lo, *hi;
} epoch_log;

static void log_epoch(int epoch, float loss, void *arg)
{
    epoch_log *g = arg;
    if (g->log) {
        fprintf(g->log, "%d,%.9g,%.9g,%.9g\n", epoch, (double)loss, g->lo[epoch - 1],
                g->hi[epoch - 1]);
        fflush(g->log);
    }
}

/* Accuracy of the trained network on the held-out rows (lab 3's reference
 * forward pass). */
static double held_out_accuracy(const lab04_net *net, const lab04_data *d, const lab04_run *cfg)
{
    float *z[LAB04_MAX_LAYERS], *a[LAB04_MAX_LAYERS + 1];
    int n = cfg->test_rows, L = cfg->n_layers;
    a[0] = d->test_x;
    for (int l = 0; l < L; l++) {
        z[l] = malloc(sizeof(float) * (size_t)n * cfg->sizes[l + 1]);
        a[l + 1] = malloc(sizeof(float) * (size_t)n * cfg->sizes[l + 1]);
    }
    nn_mlp_forward(z, a, &net->mlp, n);
    double acc = nn_accuracy(z[L - 1], d->test_y, n, cfg->sizes[L]);
    for (int l = 0; l < L; l++)
        free(z[l]), free(a[l + 1]);
    return acc;
}

/* The spirals: the training points and the trained network's class and
 * confidence (largest softmax probability) on a 121 × 121 grid. */
static void write_spirals(const lab04_net *net, const lab04_data *d, const lab04_run *cfg)
{
    FILE *f = open_data("lab04-spirals-points.csv");
    if (f) {
        fprintf(f, "x,y,label\n");
        for (int r = 0; r < cfg->rows; r++)
            fprintf(f, "%.6g,%.6g,%d\n", (double)d->x[2 * r], (double)d->x[2 * r + 1], d->y[r]);
        fclose(f);
    }
    enum { G = 121 };
    const double lim = 1.3;
    float *z[LAB04_MAX_LAYERS], *a[LAB04_MAX_LAYERS + 1];
    int L = cfg->n_layers;
    a[0] = malloc(sizeof(float) * G * G * 2);
    for (int l = 0; l < L; l++) {
        z[l] = malloc(sizeof(float) * G * G * (size_t)cfg->sizes[l + 1]);
        a[l + 1] = malloc(sizeof(float) * G * G * (size_t)cfg->sizes[l + 1]);
    }
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            a[0][2 * (i * G + j)] = (float)(-lim + 2 * lim * j / (G - 1));
            a[0][2 * (i * G + j) + 1] = (float)(-lim + 2 * lim * i / (G - 1));
        }
    nn_mlp_forward(z, a, &net->mlp, G * G);
    f = open_data("lab04-spirals-boundary.csv");
    if (f) {
        fprintf(f, "x,y,class,confidence\n");
        int C = cfg->sizes[L];
        for (int k = 0; k < G * G; k++) {
            double lg[16], p[16];
            for (int c = 0; c < C; c++)
                lg[c] = z[L - 1][k * C + c];
            softmax_row_d(p, lg, C);
            int best = 0;
            for (int c = 1; c < C; c++)
                if (p[c] > p[best])
                    best = c;
            if (isnan(p[0]))
                best = -1;
            fprintf(f, "%.4f,%.4f,%d,%.4f\n", (double)a[0][2 * k], (double)a[0][2 * k + 1], best,
                    isnan(p[0]) ? 0.0 : p[best]);
        }
        fclose(f);
    }
    free(a[0]);
    for (int l = 0; l < L; l++)
        free(z[l]), free(a[l + 1]);
}

/* Train run `cfg` with your nn_mlp_train_epoch() and check every epoch's
 * loss against the reference's band. */
static void band_test(const lab04_run *cfg, int skip_if_missing)
{
    char why[600];
    lab04_data d;
    if (!lab04_load(&d, cfg, why, sizeof why)) {
        if (skip_if_missing)
            gr_skip("%s", why);
        check(0, __LINE__, "the grader could not load its data (not your code's fault): %s", why);
        return;
    }
    double lo[LAB04_MAX_EPOCHS], hi[LAB04_MAX_EPOCHS];
    char name[64];
    snprintf(name, sizeof name, "lab04-%s.csv", cfg->name);
    if (!read_band(name, lo, hi, cfg->epochs)) {
        lab04_data_free(&d);
        return;
    }
    snprintf(name, sizeof name, "lab04-%s-loss.csv", cfg->name);
    epoch_log g = {open_data(name), lo, hi};
    if (g.log)
        fprintf(g.log, "epoch,loss,band_lo,band_hi\n");

    float loss[LAB04_MAX_EPOCHS];
    lab04_net net;
    int trained = lab04_train(loss, &net, &d, cfg, (uint64_t)cfg->test_seed, log_epoch, &g);
    if (g.log)
        fclose(g.log);
    check(trained, __LINE__, "the grader ran out of memory (not your code's fault)");
    if (!trained) {
        lab04_data_free(&d);
        return;
    }
    double acc = held_out_accuracy(&net, &d, cfg);
    snprintf(name, sizeof name, "lab04-%s-summary.csv", cfg->name);
    FILE *f = open_data(name);
    if (f) {
        fprintf(f, "accuracy,epochs,seed\n%.4f,%d,%d\n", acc, cfg->epochs, cfg->test_seed);
        fclose(f);
    }
    if (strcmp(cfg->name, "spirals") == 0)
        write_spirals(&net, &d, cfg);

    int out = -1, above = 0;
    for (int e = 0; e < cfg->epochs && out < 0; e++)
        if (!(loss[e] >= lo[e] && loss[e] <= hi[e])) {
            out = e;
            above = loss[e] > hi[e];
        }
    if (out >= 0) {
        float last = loss[cfg->epochs - 1];
        if (!isfinite(loss[out]))
            gr_hint("the loss became %g at epoch %d: the steps blow up. Is the step w -= lr g "
                    "(not +=)? Are the gradients zeroed before each backward, and averaged over "
                    "the batch (not summed)?",
                    (double)loss[out], out + 1);
        else if (above && last > 0.8 * loss[0])
            gr_hint("the network barely learns (loss %.3g after %d epochs, from %.3g). Common "
                    "causes: the gradient averaged twice (steps too small) or not at all (steps "
                    "`batch` times too large stall a ReLU network); no shuffle (the spirals "
                    "rows come sorted by class, so an unshuffled epoch sees one class at a "
                    "time); a step up the gradient", (double)last, cfg->epochs, (double)loss[0]);
        else if (above)
            gr_hint("the loss falls, but more slowly than the reference's ever did: compare "
                    "your curve with the band in the report (a step of the wrong size, a "
                    "batch skipped, the gradient of only part of the batch?)");
        else
            gr_hint("the loss is below what the reference's ever was: is it the mean over the "
                    "epoch of each minibatch's loss, taken before its step (Σ n_b L_b / rows)? "
                    "Without a shuffle it is low for a bad reason: these rows are sorted by "
                    "class, so each batch holds one class and the network just predicts it");
    }
    check(out < 0, __LINE__,
          "%s, seed %d: the loss left the reference's band at epoch %d: %.5g, band [%.5g, "
          "%.5g] (the min and max over %d reference seeds, widened by %g%% + %g)",
          cfg->name, cfg->test_seed, out + 1, out >= 0 ? (double)loss[out] : 0.0,
          out >= 0 ? lo[out] : 0.0, out >= 0 ? hi[out] : 0.0, cfg->seeds,
          100 * LAB04_MARGIN_REL, LAB04_MARGIN_ABS);
    lab04_net_free(&net);
    lab04_data_free(&d);
}

static void test_spirals(void)
{
    /* 1000 spiral points of 3 arms, sorted by class; 2-32-32-3 ReLU, He
     * init from seed 1, batch 16, lr 0.1, 100 epochs (grader/bands/
     * lab04-runs.h). Every epoch's mean loss must lie in the reference's
     * band: the min and max over seeds 1..32 of the reference, widened by
     * 10% + 0.02 (float rounding, grown over 100 epochs, stays well
     * inside). */
    band_test(&LAB04_SPIRALS, 0);
}

static void test_fashion(void)
{
    /* The first 5000 Fashion-MNIST training images, 784-64-10 ReLU, batch
     * 32, lr 0.05, 10 epochs from seed 1; the band of seeds 1..16, widened
     * by 10% + 0.02. Skipped, with the reason, where Fashion-MNIST is not
     * installed (Debian: dataset-fashion-mnist; or datasets/fetch.sh). */
    band_test(&LAB04_FASHION, 1);
}

const gr_test gr_public_tests[] = {
    {"dense backward by hand", 2, 1.0, "nn_dense_backward", test_dense_by_hand},
    {"dense backward, random sizes", 2, 1.0, "nn_dense_backward", test_dense_random},
    {"dense backward accumulates", 1, 1.0, "nn_dense_backward", test_dense_accumulates},
    {"activation backward", 2, 1.0, "nn_activation_backward", test_activation_backward},
    {"mse backward", 1, 1.0, "nn_mse_backward", test_mse_backward},
    {"bce backward", 1, 1.0, "nn_bce_backward", test_bce_backward},
    {"cross-entropy backward", 2, 1.0, "nn_cross_entropy_backward", test_cross_entropy_backward},
    {"softmax backward", 1, 1.0, "nn_softmax_backward", test_softmax_backward},
    {"sgd step", 1, 1.0, "nn_sgd_step", test_sgd_step},
    {"gradient check", 2, 1.0, "nn_grad_check", test_grad_check},
    {"mlp backward", 3, 1.0, "nn_mlp_backward", test_mlp_backward},
    {"gradient check of your layers", 3, 2.0,
     "nn_grad_check,nn_dense_backward,nn_activation_backward,nn_mse_backward,nn_bce_backward,"
     "nn_cross_entropy_backward,nn_softmax_backward,nn_mlp_backward",
     test_gradcheck_table},
    {"training loop, one epoch", 3, 1.0, "nn_mlp_train_epoch", test_train_epoch},
    {"training on the spirals", 3, 5.0, "nn_mlp_train_epoch", test_spirals},
    {"training on Fashion-MNIST", 3, 10.0, "nn_mlp_train_epoch", test_fashion},
    {NULL, 0, 0, NULL, NULL}
};
