/*
 * Lab 6 (dropout.c, batchnorm.c) — public tests.
 *
 * Where the expected values come from: dropout masks are replayed from a
 * copy of the same nn_rng stream and the rule of the header (element i is
 * dropped when the i-th draw u_i < p, a kept one is scaled by 1/(1 − p));
 * batch-norm values are worked by hand in the comments or recomputed in
 * double by the formulas written out in this file; batch-norm gradients
 * are central finite differences of that double forward pass. None of the
 * numbers was captured from the reference. Outputs are poisoned with NaN
 * before each call, and NaN never passes.
 *
 * Three tests train small networks on Fashion-MNIST through nnlab's model
 * and trainer (model.h, train.h), with your modules linked in, and log
 * CSV files under gr_out_dir()/data/ for the report's plots
 * (grader/plots/lab06.sh), each "epoch,train_loss,train_acc,val_loss,val_acc":
 *   lab06-dropout-none.csv   MLP 784-256-256-10 without dropout (it overfits)
 *   lab06-dropout.csv        the same MLP with dropout (0.2 on the pixels, 0.5
 *                            after each hidden layer)
 *   lab06-early-stop.csv     the MLP without dropout, stopped early (patience 5);
 *                            and lab06-early-stop-best.csv: best_epoch,stop_epoch,patience
 *   lab06-bn-none.csv        a deep MLP (six hidden layers) at learning rate 0.5
 *   lab06-bn.csv             the same with batch norm after each hidden dense layer
 * train_* is the trainer's running mean over the epoch's minibatches (in
 * training mode: dropout active, batch statistics); val_* is measured in
 * evaluation mode after the epoch. Without Fashion-MNIST
 * (/usr/share/datasets/fashion-mnist, or NNLAB_DATA) those tests are skipped.
 * The conv-layout forward test needs no data set and logs
 *   lab06-bn-channels.csv    channel,x,xhat,y: a [3, 4, 40] batch before and after.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "grader.h"
#include "nnlab/batchnorm.h"
#include "nnlab/data.h"
#include "nnlab/dropout.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include "nnlab/rng.h"
#include "nnlab/train.h"

/* ------------------------------------------------------------ helpers */

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
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
}

/* Assert |got[i] − want[i]| <= rtol·|want[i]| + atol for every i, naming
 * the worst index in the message. NaN fails. */
static void expect_all(const float *got, const double *want, int n, double rtol, double atol,
                       const char *what, int line)
{
    int worst = 0;
    double worst_ratio = -1.0;
    for (int i = 0; i < n; i++) {
        /* error / allowance, with 0/0 = 0 (an exact match where the
         * allowance is 0) and NaN = +∞ (NaN never passes) */
        double err = fabs(got[i] - want[i]), allow = rtol * fabs(want[i]) + atol;
        double ratio = err == 0.0 ? 0.0 : isnan(err) ? INFINITY : err / allow;
        if (ratio > worst_ratio) {
            worst = i;
            worst_ratio = ratio;
        }
    }
    char name[120];
    snprintf(name, sizeof name, "%.100s[%d]", what, worst);
    gr_assert_near(got[worst], want[worst], rtol * fabs(want[worst]) + atol, name, __FILE__, line);
}

/* Assert got[n] matches want[n] to within tol · max_i |want_i| (a gradient
 * of a normalised layer sums to zero per channel, so single components can
 * be tiny: they are judged on the scale of the largest one). */
static void expect_scaled(const float *got, const double *want, int n, double tol,
                          const char *what, int line)
{
    double scale = 0.0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    expect_all(got, want, n, 0.0, tol * fmax(scale, 1e-30), what, line);
}

/* Fill x[n] with uniform values in [lo, hi). */
static void fill(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

static void to_double(double *d, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = x[i];
}

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

/* ------------------------------------------------------------ dropout */

/* Replay the header's rule on a copy of the stream: the expected mask and
 * output of nn_dropout_forward(in, n, p, training = 1), in double. */
static void dropout_replay(double *mask, double *out, const float *in, int n, float p,
                           nn_rng *replay)
{
    double keep = 1.0 / (1.0 - (double)p);
    for (int i = 0; i < n; i++) {
        int dropped = nn_rng_uniform(replay) < p;
        mask[i] = dropped ? 0.0 : keep;
        out[i] = in[i] * mask[i];
    }
}

/* A hint for a mask that breaks a known rule, read off mask[n] against the
 * replayed want[n] (0 or 1/(1 − p)). */
static void dropout_mask_hint(const float *mask, const double *want, int n, float p)
{
    int ones = 0, swapped = 0, scaled_down = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        kept += want[i] != 0.0;
        ones += want[i] != 0.0 && mask[i] == 1.0f;
        scaled_down += want[i] != 0.0 && fabsf(mask[i] - (1.0f - p)) < 1e-6f;
        swapped += (want[i] != 0.0) == (mask[i] == 0.0f);
    }
    if (kept > 0 && ones == kept)
        gr_hint("kept units must be scaled by 1/(1 - p) (inverted dropout: E[out] = in), "
                "and the mask holds that factor, not 1");
    else if (kept > 0 && scaled_down == kept)
        gr_hint("a kept unit is multiplied by 1/(1 - p), not by (1 - p)");
    else if (swapped == n)
        gr_hint("every unit you kept should be dropped and vice versa: element i is dropped "
                "when the i-th draw nn_rng_uniform(rng) < p");
}

static void check_dropout_exact(float p, uint64_t seed, int in_place)
{
    enum { N = 1000 };
    float in[N], buf[N], mask[N];
    double want_mask[N], want_out[N];
    nn_rng rng, replay;
    nn_rng_seed(&rng, seed);
    fill(in, N, -2.0f, 2.0f, &rng);
    replay = rng;
    dropout_replay(want_mask, want_out, in, N, p, &replay);

    gr_poison(mask, N);
    float *out = buf;
    if (in_place) {
        memcpy(buf, in, sizeof buf);
        nn_dropout_forward(buf, mask, buf, N, p, 1, &rng);
    } else {
        gr_poison(out, N);
        nn_dropout_forward(out, mask, in, N, p, 1, &rng);
    }
    dropout_mask_hint(mask, want_mask, N, p);
    char what[96];
    snprintf(what, sizeof what, "mask (p = %g%s)", (double)p, in_place ? ", out == in" : "");
    /* A kept mask is 1/(1 − p) as a float: one rounding, 1e-6 relative. A
     * dropped one is exactly 0. */
    expect_all(mask, want_mask, N, 1e-6, 0.0, what, __LINE__);
    snprintf(what, sizeof what, "out (p = %g%s)", (double)p, in_place ? ", out == in" : "");
    expect_all(out, want_out, N, 1e-6, 0.0, what, __LINE__);
    /* One draw per element, no more: the stream continues where the replay
     * stopped. */
    uint32_t next = nn_rng_u32(&rng), want_next = nn_rng_u32(&replay);
    if (next != want_next)
        gr_hint("draw exactly one nn_rng_uniform(rng) per element, in order (element 0 first): "
                "the model's next masks depend on where the stream stands");
    check(next == want_next, __LINE__,
          "after %d elements the stream should have advanced by exactly %d uniform draws "
          "(p = %g); it did not", N, N, (double)p);
}

static void test_dropout_exact(void)
{
    /* p = 0.25 keeps with factor 1/0.75 = 4/3; p = 0.5 with factor 2
     * (exact in float); then p = 0.5 in place, out == in. */
    check_dropout_exact(0.25f, 601, 0);
    check_dropout_exact(0.5f, 602, 0);
    check_dropout_exact(0.5f, 603, 1);
}

static void test_dropout_statistics(void)
{
    /* n = 200 000 ones, p = 0.3. The kept count is Binomial(n, 0.7): its
     * share has standard deviation √(0.7·0.3/n) = 0.00102, so within 5σ it
     * lies in 0.7 ± 0.0052. Each output is 0 or 1/0.7: mean 1, variance
     * p/(1 − p) = 0.4286, so the mean of the outputs has standard deviation
     * √(0.4286/n) = 0.00146, within 5σ in 1 ± 0.0073. Any stream passes this
     * test, even one of your own: it checks the rule, not the draws. */
    enum { N = 200000 };
    static float in[N], out[N], mask[N];
    for (int i = 0; i < N; i++)
        in[i] = 1.0f;
    gr_poison(out, N);
    gr_poison(mask, N);
    nn_rng rng;
    nn_rng_seed(&rng, 604);
    nn_dropout_forward(out, mask, in, N, 0.3f, 1, &rng);
    double kept = 0.0, sum = 0.0;
    for (int i = 0; i < N; i++) {
        kept += out[i] != 0.0f;
        sum += out[i];
    }
    double share = kept / N, mean = sum / N;
    if (fabs(share - 0.3) < 0.01)
        gr_hint("%.1f%% of the units were kept with p = 0.3: p is the probability to DROP a "
                "unit (dropped when u < p)", 100.0 * share);
    else if (fabs(mean - 0.7) < 0.01)
        gr_hint("the mean output is 0.7, not 1: scale the kept units by 1/(1 - p)");
    check(fabs(share - 0.7) <= 0.0052, __LINE__,
          "share of units kept with p = 0.3: expected 0.7 ± 0.0052 (5 standard deviations), "
          "got %.5f", share);
    check(fabs(mean - 1.0) <= 0.0073, __LINE__,
          "mean of out = dropout(1, p = 0.3) over %d units: expected 1 ± 0.0073 (E[out] = in, "
          "5 standard deviations), got %.5f", N, mean);
}

static void test_dropout_eval(void)
{
    /* training = 0: out = in exactly, mask = 1 everywhere, and the stream
     * is left alone (evaluation draws nothing). p = 0.5, then in place. */
    enum { N = 257 };
    float in[N], out[N], mask[N];
    nn_rng rng, before;
    nn_rng_seed(&rng, 605);
    fill(in, N, -3.0f, 3.0f, &rng);
    before = rng;
    gr_poison(out, N);
    gr_poison(mask, N);
    nn_dropout_forward(out, mask, in, N, 0.5f, 0, &rng);
    int zeros = 0, halved = 0;
    for (int i = 0; i < N; i++) {
        zeros += out[i] == 0.0f && in[i] != 0.0f;
        halved += out[i] == 0.5f * in[i];
    }
    if (zeros > N / 8)
        gr_hint("dropout is active at evaluation (training = 0): there every unit is kept and "
                "the layer is the identity");
    else if (halved == N)
        gr_hint("at evaluation the output is in itself: inverted dropout scales at training "
                "time, so evaluation needs no (1 - p) factor");
    double want[N], ones[N];
    to_double(want, in, N);
    for (int i = 0; i < N; i++)
        ones[i] = 1.0;
    expect_all(out, want, N, 0.0, 0.0, "out at evaluation (p = 0.5)", __LINE__);
    expect_all(mask, ones, N, 0.0, 0.0, "mask at evaluation (p = 0.5)", __LINE__);
    if (memcmp(&rng, &before, sizeof rng) != 0)
        gr_hint("at evaluation draw nothing from the stream: the rng must be left untouched");
    check(memcmp(&rng, &before, sizeof rng) == 0, __LINE__,
          "at evaluation the random stream must be left untouched; it moved");

    float buf[N];
    memcpy(buf, in, sizeof buf);
    gr_poison(mask, N);
    nn_dropout_forward(buf, mask, buf, N, 0.5f, 0, &rng);
    expect_all(buf, want, N, 0.0, 0.0, "out at evaluation, in place (out == in)", __LINE__);
}

static void test_dropout_backward(void)
{
    /* By hand: din += dout ⊙ mask, onto a din that already holds values
     * (backward accumulates).
     *   mask  =  0,   2,    2,   0,   2
     *   dout  =  1,  −3,  0.5,   4, 0.25
     *   din₀  = 10,  10,   −1, 0.5,   0
     *   din   = 10,   4,    0, 0.5,  0.5 */
    const float mask[5] = {0, 2, 2, 0, 2}, dout[5] = {1, -3, 0.5f, 4, 0.25f};
    float din[5] = {10, 10, -1, 0.5f, 0};
    const double want[5] = {10, 4, 0, 0.5, 0.5};
    nn_dropout_backward(din, dout, mask, 5);
    if (din[0] == 11.0f && din[3] == 4.5f)
        gr_hint("the gradient went through dropped units: multiply dout by the mask saved in "
                "the forward pass (a dropped unit passes no gradient back)");
    else if (din[0] == 0.0f && din[1] == -6.0f)
        gr_hint("din was overwritten: backward ACCUMULATES, din += dout * mask");
    expect_all(din, want, 5, 0.0, 0.0, "din (worked by hand)", __LINE__);

    /* A mask as the forward pass makes it for p = 0.4 (0, or 1/0.6 as a
     * float), on 333 elements, against din₀ + dout·mask in double; 1e-6
     * relative plus 1e-7 absolute. Your forward pass is not called: this
     * test holds whatever state it is in. */
    enum { N = 333 };
    float m[N], d[N], g[N], g0[N];
    double want2[N];
    nn_rng rng;
    nn_rng_seed(&rng, 606);
    for (int i = 0; i < N; i++)
        m[i] = nn_rng_uniform(&rng) < 0.4f ? 0.0f : 1.0f / (1.0f - 0.4f);
    fill(d, N, -2.0f, 2.0f, &rng);
    fill(g0, N, -1.0f, 1.0f, &rng);
    for (int i = 0; i < N; i++)
        want2[i] = g0[i] + (double)d[i] * m[i];
    memcpy(g, g0, sizeof g);
    nn_dropout_backward(g, d, m, N);
    int zero_one = 1;
    for (int i = 0; i < N; i++)
        zero_one &= fabs(g[i] - (g0[i] + (m[i] != 0.0f ? d[i] : 0.0f))) < 1e-6;
    if (zero_one)
        gr_hint("the mask already holds the factor 0 or 1/(1 - p): din += dout * mask, not "
                "dout times 0 or 1");
    expect_all(g, want2, N, 1e-6, 1e-7, "din with a p = 0.4 mask", __LINE__);
}

/* ------------------------------------------------------------ L2 */

static void test_l2(void)
{
    /* w = (1, −2, 3, 0.5), λ = 0.1: Σ w² = 1 + 4 + 9 + 0.25 = 14.25, so the
     * penalty (λ/2) Σ w² = 0.7125; its gradient λ w = (0.1, −0.2, 0.3, 0.05)
     * accumulates onto dw = (1, 1, 1, 1): (1.1, 0.8, 1.3, 1.05). */
    const float w[4] = {1, -2, 3, 0.5f};
    float pen = nn_l2_penalty(w, 4, 0.1f);
    if (fabsf(pen - 1.425f) < 1e-5f)
        gr_hint("the penalty is (λ/2) Σ w²: you forgot the ½ (its gradient is then λ w)");
    EXPECT(pen, 0.7125, 1e-6, "nn_l2_penalty(w = (1, -2, 3, 0.5), λ = 0.1)");
    EXPECT(nn_l2_penalty(w, 0, 0.1f), 0.0, 0.0, "nn_l2_penalty with n = 0");

    float dw[4] = {1, 1, 1, 1};
    nn_l2_backward(dw, w, 4, 0.1f);
    if (fabsf(dw[0] - 1.2f) < 1e-6f && fabsf(dw[1] - 0.6f) < 1e-6f)
        gr_hint("the gradient of (λ/2) w² is λ w, not 2 λ w");
    else if (fabsf(dw[0] - 0.1f) < 1e-6f && fabsf(dw[1] + 0.2f) < 1e-6f)
        gr_hint("dw was overwritten: the decay ACCUMULATES onto the loss gradient, dw += λ w");
    const double want[4] = {1.1, 0.8, 1.3, 1.05};
    expect_all(dw, want, 4, 1e-6, 0.0, "dw after nn_l2_backward(λ = 0.1) onto dw = 1", __LINE__);

    /* 1001 weights w_i = sin(i), λ = 0.003, against the sums in double
     * (relative 1e-5: a float sum of 1001 positive terms rounds far less). */
    enum { N = 1001 };
    float wl[N], g[N];
    double pen_d = 0.0, want_g[N];
    for (int i = 0; i < N; i++) {
        wl[i] = (float)sin((double)i);
        g[i] = (float)cos((double)i);
        pen_d += 0.5 * 0.003 * (double)wl[i] * wl[i];
        want_g[i] = g[i] + (double)0.003f * wl[i];
    }
    float got = nn_l2_penalty(wl, N, 0.003f);
    GR_ASSERT_CLOSE(&got, &(float){(float)pen_d}, 1, 1e-5);
    nn_l2_backward(g, wl, N, 0.003f);
    expect_all(g, want_g, N, 1e-6, 1e-7, "dw after nn_l2_backward(λ = 0.003), 1001 weights",
               __LINE__);
}

/* ------------------------------------------------------------ early stopping */

static void test_early_stop(void)
{
    nn_early_stop es;
    memset(&es, 0x55, sizeof es); /* not zero: init must set every field */
    nn_early_stop_init(&es, 3);
    check(isinf(es.best) && es.best > 0, __LINE__,
          "after init, best must be +INFINITY (so that the first epoch improves), got %g",
          (double)es.best);
    EXPECT(es.best_epoch, -1, 0.0, "best_epoch after init");
    EXPECT(es.patience, 3, 0.0, "patience after init");
    EXPECT(es.wait, 0, 0.0, "wait after init");

    /* Patience 3, worked by hand (return, best, best_epoch, wait after):
     *   epoch 1: 1.00  improves          1  1.00 1 0
     *   epoch 2: 0.80  improves          1  0.80 2 0
     *   epoch 3: 0.85  no                0  0.80 2 1
     *   epoch 4: 0.80  equal: no         0  0.80 2 2
     *   epoch 5: 0.70  improves          1  0.70 5 0
     *   epoch 6: 0.75  no                0  0.70 5 1
     *   epoch 7: 0.90  no                0  0.70 5 2
     *   epoch 8: 0.71  no: wait = 3     -1  0.70 5 3 */
    const float loss[8] = {1.0f, 0.8f, 0.85f, 0.8f, 0.7f, 0.75f, 0.9f, 0.71f};
    const int ret[8] = {1, 1, 0, 0, 1, 0, 0, -1};
    const float best[8] = {1.0f, 0.8f, 0.8f, 0.8f, 0.7f, 0.7f, 0.7f, 0.7f};
    const int best_epoch[8] = {1, 2, 2, 2, 5, 5, 5, 5}, wait[8] = {0, 0, 1, 2, 0, 1, 2, 3};
    int got[8], got_best_epoch[8], got_wait[8];
    float got_best[8];
    for (int e = 0; e < 8; e++) {
        got[e] = nn_early_stop_update(&es, loss[e], e + 1);
        got_best[e] = es.best;
        got_best_epoch[e] = es.best_epoch;
        got_wait[e] = es.wait;
    }
    if (got[3] == 1)
        gr_hint("epoch 4 equals the best loss so far (0.8): only a strictly lower loss is an "
                "improvement");
    else if (got_wait[4] != 0 && got[4] == 1)
        gr_hint("an improvement resets wait to 0");
    else if (got[6] == -1)
        gr_hint("stop (-1) when wait reaches patience, not before: here at epoch 8");
    else if (got[7] == 0 && got_wait[7] == 3)
        gr_hint("wait has reached patience (3) at epoch 8: return -1 there");
    for (int e = 0; e < 8; e++) {
        char what[80];
        snprintf(what, sizeof what, "epoch %d (loss %g): return value", e + 1, (double)loss[e]);
        EXPECT(got[e], ret[e], 0.0, what);
        snprintf(what, sizeof what, "epoch %d: best", e + 1);
        EXPECT(got_best[e], best[e], 0.0, what);
        snprintf(what, sizeof what, "epoch %d: best_epoch", e + 1);
        EXPECT(got_best_epoch[e], best_epoch[e], 0.0, what);
        snprintf(what, sizeof what, "epoch %d: wait", e + 1);
        EXPECT(got_wait[e], wait[e], 0.0, what);
    }
}

/* ------------------------------------------------------------ batch norm, in double */

static size_t at(int n, int ch, int s, int c, int spatial)
{
    return ((size_t)n * c + ch) * spatial + s;
}

/* The training forward pass in double (batch.h): per channel,
 * μ = (1/m) Σ x, σ² = (1/m) Σ (x − μ)², x̂ = (x − μ)/√(σ² + ε),
 * y = γ x̂ + β, with m = batch·spatial. y, mu, var may be NULL. */
static void bn_forward_d(double *y, double *xhat, double *mu, double *var, const double *x,
                         const double *gamma, const double *beta, int batch, int c, int spatial,
                         double eps)
{
    double m = (double)batch * spatial;
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0, q = 0.0;
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++)
                s += x[at(n, ch, k, c, spatial)];
        double mean = s / m;
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++) {
                double d = x[at(n, ch, k, c, spatial)] - mean;
                q += d * d;
            }
        double v = q / m, inv = 1.0 / sqrt(v + eps);
        for (int n = 0; n < batch; n++)
            for (int k = 0; k < spatial; k++) {
                size_t i = at(n, ch, k, c, spatial);
                xhat[i] = (x[i] - mean) * inv;
                if (y)
                    y[i] = gamma[ch] * xhat[i] + beta[ch];
            }
        if (mu)
            mu[ch] = mean;
        if (var)
            var[ch] = v;
    }
}

/* ------------------------------------------------------------ batch norm forward */

static void test_bn_by_hand(void)
{
    /* Dense layout: batch 4, c 2, spatial 1; ε = 0.5 (chosen so that the
     * numbers come out round), γ = (2, −1), β = (0.5, 3).
     *   channel 0: x = 1, 2, 3, 6: μ = 3, deviations −2, −1, 0, 3,
     *              σ² = (4 + 1 + 0 + 9)/4 = 3.5, invstd = 1/√(3.5 + 0.5) = ½,
     *              x̂ = −1, −½, 0, 1.5; y = 2 x̂ + 0.5 = −1.5, −0.5, 0.5, 3.5
     *   channel 1: x = 10 four times: μ = 10, σ² = 0, invstd = 1/√0.5 = √2,
     *              x̂ = 0, y = β = 3 (ε keeps a constant channel finite) */
    const float x[8] = {1, 10, 2, 10, 3, 10, 6, 10}, gamma[2] = {2, -1}, beta[2] = {0.5f, 3};
    float out[8], xhat[8], mean[2], invstd[2], rm[2] = {0, 0}, rv[2] = {1, 1};
    const double want_xhat[8] = {-1, 0, -0.5, 0, 0, 0, 1.5, 0};
    const double want_out[8] = {-1.5, 3, -0.5, 3, 0.5, 3, 3.5, 3};
    const double want_mean[2] = {3, 10}, want_invstd[2] = {0.5, sqrt(2.0)};
    gr_poison(out, 8);
    gr_poison(xhat, 8);
    gr_poison(mean, 2);
    gr_poison(invstd, 2);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, 4, 2, 1, 0.1f,
                               0.5f);
    if (fabsf(invstd[0] - 1.0f / (sqrtf(3.5f) + 0.5f)) < 1e-5f)
        gr_hint("ε goes inside the square root: invstd = 1/√(σ² + ε)");
    else if (fabsf(invstd[0] - 1.0f / sqrtf(14.0f / 3.0f + 0.5f)) < 1e-5f)
        gr_hint("normalise with the biased variance σ² = (1/m) Σ (x - μ)²; the unbiased "
                "m/(m - 1) version is only for the running variance");
    else if (fabsf(xhat[1]) > 0.5f && isfinite(xhat[1]))
        gr_hint("each channel (column) is normalised over the batch, not each row over its "
                "features: channel ch of row n is x[n*c + ch] here");
    expect_all(mean, want_mean, 2, 1e-6, 0.0, "mean", __LINE__);
    expect_all(invstd, want_invstd, 2, 1e-6, 0.0, "invstd", __LINE__);
    expect_all(xhat, want_xhat, 8, 1e-6, 1e-7, "xhat", __LINE__);
    expect_all(out, want_out, 8, 1e-6, 1e-7, "out", __LINE__);
}

static void test_bn_conv_layout(void)
{
    /* Conv layout [batch 3, c 4, spatial 40], channel ch drawn around
     * 3ch − 4 with spread ch + 1, ε = 1e-5, random γ and β: everything
     * against bn_forward_d in double (1e-5 relative plus 1e-6 absolute).
     * The values, x̂ and y are logged for the report's picture. */
    enum { B = 3, C = 4, S = 40, N = B * C * S };
    float x[N], gamma[C], beta[C], out[N], xhat[N], mean[C], invstd[C], rm[C], rv[C];
    double xd[N], gd[C], bd[C], want_y[N], want_xhat[N], mu[C], var[C], inv[C];
    nn_rng rng;
    nn_rng_seed(&rng, 611);
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++)
                x[at(n, ch, s, C, S)] = (float)(3 * ch - 4) + (float)(ch + 1) * nn_rng_normal(&rng);
    fill(gamma, C, 0.5f, 2.0f, &rng);
    fill(beta, C, -1.0f, 1.0f, &rng);
    for (int ch = 0; ch < C; ch++)
        rm[ch] = 0.0f, rv[ch] = 1.0f;
    to_double(xd, x, N);
    to_double(gd, gamma, C);
    to_double(bd, beta, C);
    bn_forward_d(want_y, want_xhat, mu, var, xd, gd, bd, B, C, S, (double)1e-5f);
    for (int ch = 0; ch < C; ch++)
        inv[ch] = 1.0 / sqrt(var[ch] + (double)1e-5f);
    gr_poison(out, N);
    gr_poison(xhat, N);
    gr_poison(mean, C);
    gr_poison(invstd, C);
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, B, C, S, 0.1f,
                               1e-5f);
    FILE *f = open_log("lab06-bn-channels.csv");
    if (f) {
        fprintf(f, "channel,x,xhat,y\n");
        for (int n = 0; n < B; n++)
            for (int ch = 0; ch < C; ch++)
                for (int s = 0; s < S; s++) {
                    size_t i = at(n, ch, s, C, S);
                    fprintf(f, "%d,%.7g,%.7g,%.7g\n", ch, (double)x[i], (double)xhat[i],
                            (double)out[i]);
                }
        fclose(f);
    }
    if (fabs(mean[0] - mu[0]) > 0.1 && isfinite(mean[0]))
        gr_hint("[batch, c, spatial] layout: channel ch of sample n is the run of `spatial` "
                "values starting at (n*c + ch)*spatial; its statistics are over all %d of "
                "them (batch*spatial)", B * S);
    expect_all(mean, mu, C, 1e-5, 1e-6, "mean", __LINE__);
    expect_all(invstd, inv, C, 1e-5, 1e-6, "invstd", __LINE__);
    expect_all(xhat, want_xhat, N, 1e-5, 1e-6, "xhat", __LINE__);
    expect_all(out, want_y, N, 1e-5, 1e-6, "out", __LINE__);
}

static void test_bn_running(void)
{
    /* The batch of test_bn_by_hand (channel 0: 1, 2, 3, 6 with μ = 3,
     * σ² = 3.5; channel 1: 10 four times), momentum 0.1, from running mean
     * (1, 0) and variance (2, 1). The running variance takes the unbiased
     * σ² m/(m − 1) = 3.5·4/3 = 14/3:
     *   mean:     0.9·1 + 0.1·3  = 1.2;      0.9·0 + 0.1·10 = 1
     *   variance: 0.9·2 + 0.1·14/3 = 2.2667; 0.9·1 + 0.1·0  = 0.9 */
    const float x[8] = {1, 10, 2, 10, 3, 10, 6, 10}, gamma[2] = {1, 1}, beta[2] = {0, 0};
    float out[8], xhat[8], mean[2], invstd[2], rm[2] = {1, 0}, rv[2] = {2, 1};
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x, gamma, beta, 4, 2, 1, 0.1f,
                               1e-5f);
    const double want_rm[2] = {1.2, 1.0}, want_rv[2] = {1.8 + 1.4 / 3.0, 0.9};
    if (rm[0] == 1.0f && rm[1] == 0.0f)
        gr_hint("the running mean was never updated: r_mean <- (1 - momentum) r_mean + "
                "momentum * μ, every training step");
    else if (fabsf(rm[0] - 2.8f) < 1e-5f)
        gr_hint("momentum is the weight of the NEW statistic: r <- (1 - momentum) r + "
                "momentum * stat (0.1 means the average moves slowly)");
    else if (fabsf(rv[0] - 2.15f) < 1e-5f)
        gr_hint("the running variance takes the unbiased estimate σ² m/(m - 1), as PyTorch "
                "does (the batch's own σ² underestimates the population's)");
    else if (rv[0] == 2.0f && rv[1] == 1.0f)
        gr_hint("the running variance was never updated");
    expect_all(rm, want_rm, 2, 1e-6, 0.0, "running mean after one step", __LINE__);
    expect_all(rv, want_rv, 2, 1e-6, 0.0, "running variance after one step", __LINE__);

    /* A second step with momentum 0.5 on x' = 2x (channel 0: μ = 6,
     * unbiased variance 4·14/3 = 56/3; channel 1: 20, 0):
     *   mean:     0.5·1.2 + 0.5·6 = 3.6;   0.5·1 + 0.5·20 = 10.5
     *   variance: 0.5·(1.8 + 1.4/3) + 0.5·56/3 = 0.9 + 0.7/3 + 28/3 = 10.4667;
     *             0.5·0.9 + 0 = 0.45 */
    float x2[8];
    for (int i = 0; i < 8; i++)
        x2[i] = 2.0f * x[i];
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, x2, gamma, beta, 4, 2, 1, 0.5f,
                               1e-5f);
    const double want_rm2[2] = {3.6, 10.5}, want_rv2[2] = {0.9 + 0.7 / 3.0 + 28.0 / 3.0, 0.45};
    expect_all(rm, want_rm2, 2, 1e-6, 0.0, "running mean after a second step (momentum 0.5)",
               __LINE__);
    expect_all(rv, want_rv2, 2, 1e-6, 0.0, "running variance after a second step (momentum 0.5)",
               __LINE__);

    /* One value per channel (batch 1, spatial 1): m = 1 has no unbiased
     * variance (m/(m − 1) = 1/0): the running variance stays, the running
     * mean moves: 0.9·0 + 0.1·5 = 0.5 and 0.9·0 + 0.1·(−1) = −0.1. */
    const float x1[2] = {5, -1};
    float rm1[2] = {0, 0}, rv1[2] = {1, 2};
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm1, rv1, x1, gamma, beta, 1, 2, 1, 0.1f,
                               1e-5f);
    if (!isfinite(rv1[0]))
        gr_hint("with a single value per channel (m = 1) m/(m - 1) divides by zero: leave the "
                "running variance unchanged then");
    const double want_rm1[2] = {0.5, -0.1}, want_rv1[2] = {1, 2};
    expect_all(rm1, want_rm1, 2, 1e-6, 0.0, "running mean after a batch of one value", __LINE__);
    expect_all(rv1, want_rv1, 2, 0.0, 0.0, "running variance after a batch of one value (m = 1)",
               __LINE__);
}

static void test_bn_eval(void)
{
    /* batch 2, c 2, spatial 3, ε = 0. Running mean (1, −2), variance
     * (4, 0.25), γ = (2, 1), β = (0.5, 0):
     *   channel 0: 2 (x − 1)/√4 + 0.5 = x − 0.5
     *   channel 1: 1 (x + 2)/√0.25    = 2x + 4
     * The batch is far from the running statistics (channel 0 has mean 8),
     * so normalising with the batch's own statistics misses by a lot. */
    const float x[12] = {3, 5, 7, 0, 0.5f, -1, 9, 11, 13, 1, 2, -0.5f};
    const double want[12] = {2.5, 4.5, 6.5, 4, 5, 2, 8.5, 10.5, 12.5, 6, 8, 3};
    const float gamma[2] = {2, 1}, beta[2] = {0.5f, 0}, rm[2] = {1, -2}, rv[2] = {4, 0.25f};
    float out[12];
    gr_poison(out, 12);
    nn_batchnorm_forward_eval(out, x, gamma, beta, rm, rv, 2, 2, 3, 0.0f);
    /* With the batch's statistics, channel 0 (values 3 5 7 9 11 13) would
     * come out with mean β = 0.5: a telltale. */
    double m0 = (out[0] + out[1] + out[2] + out[6] + out[7] + out[8]) / 6.0;
    if (fabs(m0 - 0.5) < 1e-3)
        gr_hint("at evaluation normalise with the RUNNING mean and variance, not the batch's: "
                "a prediction must not depend on the other examples in its batch");
    expect_all(out, want, 12, 1e-6, 1e-7, "out (worked by hand)", __LINE__);

    /* One example alone (batch 1): its own statistics would make every
     * channel of a dense layer x̂ = 0, out = β. With the running ones:
     * channel 0: 7 − 0.5 = 6.5, channel 1: 2·(−1) + 4 = 2 (spatial 1). */
    const float one[2] = {7, -1};
    const double want1[2] = {6.5, 2};
    float out1[2];
    gr_poison(out1, 2);
    nn_batchnorm_forward_eval(out1, one, gamma, beta, rm, rv, 1, 2, 1, 0.0f);
    expect_all(out1, want1, 2, 1e-6, 1e-7, "out for a batch of one example", __LINE__);

    /* Random [5, 4, 7] with ε = 0.1 against γ (x − r_mean)/√(r_var + ε) + β
     * in double. */
    enum { B = 5, C = 4, S = 7, N = B * C * S };
    float xr[N], outr[N], g[C], b[C], m[C], v[C];
    double ref[N];
    nn_rng rng;
    nn_rng_seed(&rng, 612);
    fill(xr, N, -3.0f, 3.0f, &rng);
    fill(g, C, 0.5f, 2.0f, &rng);
    fill(b, C, -1.0f, 1.0f, &rng);
    fill(m, C, -2.0f, 2.0f, &rng);
    fill(v, C, 0.1f, 3.0f, &rng);
    for (int n = 0; n < B; n++)
        for (int ch = 0; ch < C; ch++)
            for (int s = 0; s < S; s++) {
                size_t i = at(n, ch, s, C, S);
                ref[i] = g[ch] * (xr[i] - m[ch]) / sqrt(v[ch] + (double)0.1f) + b[ch];
            }
    gr_poison(outr, N);
    nn_batchnorm_forward_eval(outr, xr, g, b, m, v, B, C, S, 0.1f);
    expect_all(outr, ref, N, 1e-5, 1e-6, "out, [5, 4, 7] with ε = 0.1", __LINE__);
}

/* ------------------------------------------------------------ batch norm backward */

/* One backward problem: x, γ, β, dout = r, and the gradients of
 * L = Σ_i r_i y_i(x, γ, β) by central differences of bn_forward_d. */
typedef struct {
    int batch, c, spatial;
    double eps;
    double *x, *gamma, *beta, *r;
} bn_problem;

static double bn_objective(const bn_problem *p)
{
    int n = p->batch * p->c * p->spatial;
    double *y = malloc(sizeof(double) * (size_t)n), *xh = malloc(sizeof(double) * (size_t)n);
    double sum = 0.0;
    bn_forward_d(y, xh, NULL, NULL, p->x, p->gamma, p->beta, p->batch, p->c, p->spatial, p->eps);
    for (int i = 0; i < n; i++)
        sum += p->r[i] * y[i];
    free(y);
    free(xh);
    return sum;
}

/* g[i] = ∂L/∂v[i] by (L(v + h) − L(v − h)) / 2h, h = 1e-5 (1 + |v|):
 * truncation ~h²·L''' and rounding ~1e-16·|L|/h, both below 1e-8 here. */
static void numeric_grad(double *g, const bn_problem *p, double *v, int n)
{
    for (int i = 0; i < n; i++) {
        double keep = v[i], h = 1e-5 * (1.0 + fabs(keep));
        v[i] = keep + h;
        double up = bn_objective(p);
        v[i] = keep - h;
        double down = bn_objective(p);
        v[i] = keep;
        g[i] = (up - down) / (2.0 * h);
    }
}

enum { MAXN = 256, MAXC = 8 };

/* Set up a problem from a seed and run the student's backward on it, onto
 * din, dgamma, dbeta that hold `prior` (0: zeros). want_* get prior plus
 * the finite-difference gradients. */
typedef struct {
    float x[MAXN], gamma[MAXC], beta[MAXC], dout[MAXN], xhat[MAXN], invstd[MAXC];
    float din[MAXN], dgamma[MAXC], dbeta[MAXC];
    double want_din[MAXN], want_dgamma[MAXC], want_dbeta[MAXC];
    double fresh_din[MAXN], fresh_dgamma[MAXC], fresh_dbeta[MAXC];
} bn_case;

static void bn_backward_case(bn_case *k, int batch, int c, int spatial, uint64_t seed, int prior)
{
    int n = batch * c * spatial;
    double xd[MAXN], gd[MAXC], bd[MAXC], rd[MAXN], xh[MAXN], var[MAXC];
    const double eps = (double)1e-5f;
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        k->x[i] = 2.0f * nn_rng_normal(&rng) + 0.5f;
    fill(k->gamma, c, 0.5f, 2.0f, &rng);
    fill(k->beta, c, -1.0f, 1.0f, &rng);
    fill(k->dout, n, -1.0f, 1.0f, &rng);
    to_double(xd, k->x, n);
    to_double(gd, k->gamma, c);
    to_double(bd, k->beta, c);
    to_double(rd, k->dout, n);
    /* What the forward pass would have kept: x̂ and invstd, from double. */
    bn_forward_d(NULL, xh, NULL, var, xd, gd, bd, batch, c, spatial, eps);
    for (int i = 0; i < n; i++)
        k->xhat[i] = (float)xh[i];
    for (int ch = 0; ch < c; ch++)
        k->invstd[ch] = (float)(1.0 / sqrt(var[ch] + eps));

    bn_problem p = {batch, c, spatial, eps, xd, gd, bd, rd};
    numeric_grad(k->fresh_din, &p, xd, n);
    numeric_grad(k->fresh_dgamma, &p, gd, c);
    numeric_grad(k->fresh_dbeta, &p, bd, c);
    for (int i = 0; i < n; i++) {
        k->din[i] = prior ? nn_rng_uniform(&rng) - 0.5f : 0.0f;
        k->want_din[i] = k->din[i] + k->fresh_din[i];
    }
    for (int ch = 0; ch < c; ch++) {
        k->dgamma[ch] = prior ? nn_rng_uniform(&rng) + 1.0f : 0.0f;
        k->dbeta[ch] = prior ? nn_rng_uniform(&rng) - 2.0f : 0.0f;
        k->want_dgamma[ch] = k->dgamma[ch] + k->fresh_dgamma[ch];
        k->want_dbeta[ch] = k->dbeta[ch] + k->fresh_dbeta[ch];
    }
    nn_batchnorm_backward(k->din, k->dgamma, k->dbeta, k->dout, k->xhat, k->gamma, k->invstd,
                          batch, c, spatial);
}

/* Hints for a backward that is off in a known way: compare din with the
 * term-by-term pieces of the formula. */
static void bn_backward_hint(const bn_case *k, int batch, int c, int spatial)
{
    int n = batch * c * spatial;
    double m = (double)batch * spatial, naive = 0.0, bessel = 0.0, scale = 0.0;
    for (int ch = 0; ch < c; ch++) {
        double sg = 0.0, sgx = 0.0;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                size_t i = at(b, ch, s, c, spatial);
                sg += k->dout[i];
                sgx += (double)k->dout[i] * k->xhat[i];
            }
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                size_t i = at(b, ch, s, c, spatial);
                double kk = (double)k->gamma[ch] * k->invstd[ch];
                /* only the direct path: γ·invstd·dy */
                naive = fmax(naive, fabs(k->din[i] - kk * k->dout[i]));
                /* the variance path with 1/(m − 1) */
                double alt = kk * (k->dout[i] - sg / m - k->xhat[i] * sgx / (m - 1.0));
                bessel = fmax(bessel, fabs(k->din[i] - alt));
            }
    }
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(k->fresh_din[i]));
    if (naive < 1e-5 * scale)
        gr_hint("din = γ·invstd·dy is only the direct path: x also moves μ and σ², which moves "
                "every x̂ of its channel: dx = γ·invstd·(dy - mean(dy) - x̂·mean(dy·x̂))");
    else if (bessel < 1e-5 * scale)
        gr_hint("the variance path uses σ² = (1/m) Σ (x - μ)², the one the forward pass "
                "normalised with: mean(dy·x̂) divides by m, not m - 1");
    else {
        int swapped = 1;
        for (int ch = 0; ch < c; ch++)
            swapped &= fabs(k->dgamma[ch] - k->fresh_dbeta[ch]) < 1e-4 * (1 + fabs(k->fresh_dbeta[ch]));
        if (swapped)
            gr_hint("dgamma and dbeta are swapped: dβ = Σ dy, dγ = Σ dy·x̂");
    }
}

static void check_bn_backward(int batch, int c, int spatial, uint64_t seed, int prior,
                              const char *label)
{
    static bn_case k;
    int n = batch * c * spatial;
    bn_backward_case(&k, batch, c, spatial, seed, prior);
    bn_backward_hint(&k, batch, c, spatial);
    char what[120];
    /* Tolerance 1e-4 of the largest component: float rounding in a few
     * sums of m terms is ~1e-6; the mistakes the hints name are 10% and
     * more. */
    snprintf(what, sizeof what, "din, %s", label);
    expect_scaled(k.din, k.want_din, n, 1e-4, what, __LINE__);
    snprintf(what, sizeof what, "dgamma, %s", label);
    expect_scaled(k.dgamma, k.want_dgamma, c, 1e-4, what, __LINE__);
    snprintf(what, sizeof what, "dbeta, %s", label);
    expect_scaled(k.dbeta, k.want_dbeta, c, 1e-4, what, __LINE__);
}

static void test_bn_backward(void)
{
    /* Against central differences of L = Σ dy·y, y from bn_forward_d:
     * a dense layout [6, 3, 1] and a conv layout [2, 2, 4]. */
    check_bn_backward(6, 3, 1, 621, 0, "[batch 6, c 3, spatial 1]");
    check_bn_backward(2, 2, 4, 622, 0, "[batch 2, c 2, spatial 4]");
}

static void test_bn_backward_accumulates(void)
{
    /* din, dgamma and dbeta hold values before the call; afterwards they
     * must hold those values plus the gradient (a layer used twice, or the
     * trainer's gradient buffers, rely on +=). */
    static bn_case k;
    bn_backward_case(&k, 5, 2, 3, 623, 1);
    int over_g = 1, over_b = 1, over_x = 1;
    for (int ch = 0; ch < 2; ch++) {
        over_g &= fabs(k.dgamma[ch] - k.fresh_dgamma[ch]) < 1e-4 * (1 + fabs(k.fresh_dgamma[ch]));
        over_b &= fabs(k.dbeta[ch] - k.fresh_dbeta[ch]) < 1e-4 * (1 + fabs(k.fresh_dbeta[ch]));
    }
    for (int i = 0; i < 30; i++)
        over_x &= fabs(k.din[i] - k.fresh_din[i]) < 1e-4 * (1 + fabs(k.fresh_din[i]));
    if (over_g || over_b)
        gr_hint("dgamma and dbeta were overwritten: backward ACCUMULATES, dγ += Σ dy·x̂, "
                "dβ += Σ dy");
    else if (over_x)
        gr_hint("din was overwritten: backward ACCUMULATES, din += ...");
    expect_scaled(k.din, k.want_din, 30, 1e-4, "din (onto earlier values)", __LINE__);
    expect_scaled(k.dgamma, k.want_dgamma, 2, 1e-4, "dgamma (onto earlier values)", __LINE__);
    expect_scaled(k.dbeta, k.want_dbeta, 2, 1e-4, "dbeta (onto earlier values)", __LINE__);
}

/* ------------------------------------------------------------ Fashion-MNIST */

/* The first `n` images of Fashion-MNIST's training file from `from` on, a
 * view into the loaded set (no copy; never freed on its own). */
static nn_dataset view(const nn_dataset *d, int from, int n)
{
    nn_dataset v = *d;
    v.n = n;
    v.u8 = d->u8 + (size_t)from * d->dim;
    v.labels = d->labels + from;
    return v;
}

/* Load Fashion-MNIST or skip the test (the reason says where it looked). */
static void load_fashion(nn_dataset *train, nn_dataset *test)
{
    char dir[4096];
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (nn_find_dataset(dir, sizeof dir, "fashion-mnist") != NN_OK)
        gr_skip("Fashion-MNIST is not installed (%s)", nn_last_error());
    if (nn_load_idx_dir(train, test, dir, "fashion-mnist") != NN_OK)
        gr_skip("Fashion-MNIST could not be read: %s", nn_last_error());
}

/* Train a fresh model of `spec` (weights from seed 6) with the trainer,
 * log every epoch run to gr_out_dir()/data/LOG, return nn_train's status
 * (the history holds the epochs run; the rest have epoch = 0). */
static int train_logged(nn_model **out, const char *spec, const nn_dataset *train,
                        const nn_dataset *val, const nn_train_config *cfg,
                        nn_epoch_stats *hist, const char *log)
{
    int shape[3] = {784, 1, 1};
    nn_rng rng;
    nn_rng_seed(&rng, 6);
    nn_model *m = nn_model_create(spec, NN_ACT_RELU, shape, &rng);
    check(m != NULL, __LINE__, "the grader could not build the model %s (%s): ask the staff",
          spec, nn_last_error());
    if (!m)
        return NN_ERROR;
    int status = nn_train(m, train, val, cfg, hist);
    FILE *f = open_log(log);
    if (f) {
        fprintf(f, "epoch,train_loss,train_acc,val_loss,val_acc\n");
        for (int e = 0; e < cfg->epochs && hist[e].epoch > 0; e++)
            fprintf(f, "%d,%.6g,%.6g,%.6g,%.6g\n", hist[e].epoch, (double)hist[e].train_loss,
                    (double)hist[e].train_acc, (double)hist[e].val_loss, (double)hist[e].val_acc);
        fclose(f);
    }
    if (out)
        *out = m;
    else
        nn_model_free(m);
    return status;
}

/* Number of epochs run (history rows with epoch > 0). */
static int epochs_run(const nn_epoch_stats *h, int epochs)
{
    int e = 0;
    while (e < epochs && h[e].epoch > 0)
        e++;
    return e;
}

/* Mean of val_loss (what = 0), val_acc (1) or val_loss − train_loss (2)
 * over epochs [from, to) of the history; NaN stays NaN. */
static double mean_of(const nn_epoch_stats *h, int from, int to, int what)
{
    double s = 0.0;
    for (int e = from; e < to; e++)
        s += what == 0 ? h[e].val_loss : what == 1 ? h[e].val_acc : h[e].val_loss - h[e].train_loss;
    return s / (to - from);
}

/* The MLP of the dropout and early-stopping tests: 784-256-256-10 with
 * ReLU, Adam (lr 1e-3), minibatches of 30, trained on the first 300
 * training images, validated on the last 500 of the training file: it
 * memorises its 300 images within 20 epochs. With dropout: 0.2 on the
 * pixels, 0.5 after each hidden layer (Srivastava et al., 2014). */
#define MLP_PLAIN "dense:256,relu,dense:256,relu,dense:10"
#define MLP_DROPOUT "dropout:0.2,dense:256,relu,dropout:0.5,dense:256,relu,dropout:0.5,dense:10"
enum { MLP_TRAIN = 300, MLP_VAL = 500, MLP_EPOCHS = 50 };

static nn_train_config mlp_config(int epochs)
{
    nn_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = epochs;
    c.batch = 30;
    c.seed = 66;
    c.opt = nn_opt_defaults(NN_OPT_ADAM, 1e-3f);
    c.schedule = NN_SCHED_CONSTANT;
    return c;
}

static void test_dropout_training(void)
{
    /* The same MLP, from the same initial weights, trained 50 epochs with
     * and without dropout (0.2 on the pixels, 0.5 after each hidden
     * layer). Without dropout it
     * memorises the 300 images (training loss -> 0) while the validation
     * loss turns and climbs: overfitting. With dropout the validation loss
     * stays lower and the gap between the two curves narrower. What must
     * hold for your dropout (the reference does each with a wide margin):
     *   - the run completes (no NaN);
     *   - its best validation accuracy reaches 70% (reference ~80%);
     *   - over the last 5 epochs its mean validation loss is below that of
     *     the run without dropout by at least 0.15 (reference: ~0.3);
     *   - over the last 5 epochs its gap, validation minus training loss,
     *     is at most 60% of the gap without dropout (reference: ~30%). */
    nn_dataset train, test;
    load_fashion(&train, &test);
    nn_dataset tr = view(&train, 0, MLP_TRAIN), va = view(&train, train.n - MLP_VAL, MLP_VAL);
    nn_train_config cfg = mlp_config(MLP_EPOCHS);
    static nn_epoch_stats plain[MLP_EPOCHS], drop[MLP_EPOCHS];
    int s0 = train_logged(NULL, MLP_PLAIN, &tr, &va, &cfg, plain, "lab06-dropout-none.csv");
    int s1 = train_logged(NULL, MLP_DROPOUT, &tr, &va, &cfg, drop, "lab06-dropout.csv");
    check(s0 == NN_OK && epochs_run(plain, MLP_EPOCHS) == MLP_EPOCHS, __LINE__,
          "the grader's run without dropout failed (%s): ask the staff", nn_last_error());
    int ran = epochs_run(drop, MLP_EPOCHS);
    if (s1 != NN_OK) {
        gr_hint("the training with your dropout stopped: %s", nn_last_error());
        check(0, __LINE__, "training with dropout stopped after %d of %d epochs: %s", ran,
              MLP_EPOCHS, nn_last_error());
        return;
    }
    double best_acc = 0.0;
    for (int e = 0; e < ran; e++)
        best_acc = fmax(best_acc, drop[e].val_acc);
    int n = MLP_EPOCHS;
    double val0 = mean_of(plain, n - 5, n, 0), val1 = mean_of(drop, n - 5, n, 0);
    double gap0 = mean_of(plain, n - 5, n, 2), gap1 = mean_of(drop, n - 5, n, 2);
    if (!(val1 < val0 - 0.15) || !(gap1 <= 0.6 * gap0))
        gr_hint("check the dropout tests above first; at evaluation (training = 0) dropout must "
                "be the identity, and kept units scaled by 1/(1 - p) during training");
    check(best_acc >= 0.70, __LINE__,
          "with dropout the best validation accuracy should reach 70%%; it reached %.1f%%",
          100.0 * best_acc);
    check(val1 < val0 - 0.15, __LINE__,
          "mean validation loss over the last 5 epochs: expected below %.3f (that without "
          "dropout, %.3f, minus 0.15); with your dropout it was %.3f", val0 - 0.15, val0, val1);
    check(gap1 <= 0.6 * gap0, __LINE__,
          "generalisation gap (validation minus training loss, last 5 epochs): expected at "
          "most 60%% of the %.3f without dropout, i.e. %.3f; with your dropout it was %.3f",
          gap0, 0.6 * gap0, gap1);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_early_stop_training(void)
{
    /* The MLP without dropout, at most 50 epochs, early stopping with
     * patience 5: the trainer calls your nn_early_stop_init and
     * nn_early_stop_update after every epoch, saves the weights when an
     * epoch improves (1) and stops at -1, restoring the best weights. From
     * the validation losses the trainer reports, the test works out where
     * a correct early stop ends:
     *   - b, the first epoch with the lowest validation loss of those run;
     *   - the run stops exactly at epoch b + 5 (well before 50: the loss
     *     climbs after ~15 epochs), without a lower loss after b;
     *   - the model it leaves has b's validation loss (the best weights were
     *     restored), re-evaluated here, within 1e-6 relative. */
    enum { PATIENCE = 5 };
    nn_dataset train, test;
    load_fashion(&train, &test);
    nn_dataset tr = view(&train, 0, MLP_TRAIN), va = view(&train, train.n - MLP_VAL, MLP_VAL);
    nn_train_config cfg = mlp_config(MLP_EPOCHS);
    cfg.patience = PATIENCE;
    static nn_epoch_stats h[MLP_EPOCHS];
    nn_model *m = NULL;
    int status = train_logged(&m, MLP_PLAIN, &tr, &va, &cfg, h, "lab06-early-stop.csv");
    int ran = epochs_run(h, MLP_EPOCHS);
    int b = 0;
    for (int e = 1; e < ran; e++)
        if (h[e].val_loss < h[b].val_loss)
            b = e;
    FILE *f = open_log("lab06-early-stop-best.csv");
    if (f) {
        fprintf(f, "best_epoch,stop_epoch,patience\n%d,%d,%d\n", b + 1, ran, PATIENCE);
        fclose(f);
    }
    check(status == NN_OK, __LINE__, "the training stopped with an error: %s", nn_last_error());
    if (!m || status != NN_OK)
        return;
    if (ran == MLP_EPOCHS)
        gr_hint("the training never stopped: nn_early_stop_update must return -1 once wait "
                "reaches patience");
    else if (ran == b + 1 + PATIENCE - 1 || ran == b + 1 + PATIENCE + 1)
        gr_hint("stopped one epoch %s: return -1 when wait (epochs since the best) reaches "
                "patience", ran < b + 1 + PATIENCE ? "early" : "late");
    check(ran == b + 1 + PATIENCE, __LINE__,
          "the lowest validation loss (%.4f) came at epoch %d, so with patience %d the run "
          "should stop at epoch %d; it ran %d epochs", (double)h[b].val_loss, b + 1, PATIENCE,
          b + 1 + PATIENCE, ran);
    float loss = NAN;
    nn_evaluate(m, &va, cfg.batch, &loss, NULL);
    if (!(fabs(loss - h[b].val_loss) <= 1e-6 * fabs(h[b].val_loss)))
        gr_hint("the model left behind is not epoch %d's: return 1 exactly when an epoch "
                "improves, so that the trainer saves those weights", b + 1);
    EXPECT(loss, h[b].val_loss, 1e-6 * fabs(h[b].val_loss),
           "validation loss of the model after training (the best epoch's weights)");
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_bn_training(void)
{
    /* A deep MLP, six hidden layers of 128 ReLU units, plain SGD at a high
     * learning rate, 0.5, minibatches of 256, 12 epochs on the first 2000
     * training images (validation: the last 1000). Without batch norm the
     * first steps are far too large for the deep stack: the loss jumps
     * above 5, most ReLUs die, and the network sits at chance (loss ln 10,
     * 10% accuracy) for most of the run. With batch norm after every
     * hidden dense layer (before its ReLU) each layer's input keeps mean 0
     * and variance 1 whatever the weights do, and the same learning rate
     * trains it. What must hold with your batch norm (the reference does
     * each with a wide margin):
     *   - the run completes (no NaN);
     *   - its best validation accuracy reaches 75% (reference ~79%);
     *   - its mean validation accuracy over the last 4 epochs beats the run
     *     without batch norm by at least 20 points (reference: ~45). An
     *     epoch that run did not reach (its loss became NaN) counts as
     *     chance, 10%. */
    enum { TRAIN = 2000, VAL = 1000, EPOCHS = 12 };
    nn_dataset train, test;
    load_fashion(&train, &test);
    nn_dataset tr = view(&train, 0, TRAIN), va = view(&train, train.n - VAL, VAL);
    char plain[NN_SPEC_MAX] = "", bn[NN_SPEC_MAX] = "";
    for (int i = 0; i < 6; i++) {
        strcat(plain, "dense:128,relu,");
        strcat(bn, "dense:128,batchnorm,relu,");
    }
    strcat(plain, "dense:10");
    strcat(bn, "dense:10");
    nn_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.epochs = EPOCHS;
    cfg.batch = 256;
    cfg.seed = 67;
    cfg.opt = nn_opt_defaults(NN_OPT_SGD, 0.5f);
    static nn_epoch_stats h0[EPOCHS], h1[EPOCHS];
    int s0 = train_logged(NULL, plain, &tr, &va, &cfg, h0, "lab06-bn-none.csv");
    int s1 = train_logged(NULL, bn, &tr, &va, &cfg, h1, "lab06-bn.csv");
    int ran0 = epochs_run(h0, EPOCHS), ran1 = epochs_run(h1, EPOCHS);
    (void)s0;
    if (s1 != NN_OK) {
        gr_hint("the training with your batch norm stopped: %s", nn_last_error());
        check(0, __LINE__, "training with batch norm stopped after %d of %d epochs: %s", ran1,
              EPOCHS, nn_last_error());
        return;
    }
    double best = 0.0;
    for (int e = 0; e < ran1; e++)
        best = fmax(best, h1[e].val_acc);
    double acc0 = 0.0;
    for (int e = EPOCHS - 4; e < EPOCHS; e++)
        acc0 += e < ran0 && isfinite(h0[e].val_acc) ? h0[e].val_acc : 0.1;
    acc0 /= 4;
    double acc1 = mean_of(h1, EPOCHS - 4, EPOCHS, 1);
    if (!(best >= 0.75) || !(acc1 >= acc0 + 0.20))
        gr_hint("check the batch norm tests above first: the training forward (batch "
                "statistics, running averages), the evaluation forward (running statistics) "
                "and the backward pass all take part");
    check(best >= 0.75, __LINE__,
          "with batch norm the best validation accuracy should reach 75%%; it reached %.1f%%",
          100.0 * best);
    check(acc1 >= acc0 + 0.20, __LINE__,
          "mean validation accuracy over the last 4 epochs: expected at least %.1f%% (%.1f%% "
          "without batch norm, plus 20 points); with your batch norm %.1f%%",
          100.0 * (acc0 + 0.20), 100.0 * acc0, 100.0 * acc1);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

const gr_test gr_public_tests[] = {
    {"dropout forward replays the random stream", 3, 1.0, "nn_dropout_forward", test_dropout_exact},
    {"dropout keeps 1 - p on average", 1, 1.0, "nn_dropout_forward", test_dropout_statistics},
    {"dropout at evaluation is the identity", 2, 1.0, "nn_dropout_forward", test_dropout_eval},
    {"dropout backward", 2, 1.0, "nn_dropout_backward", test_dropout_backward},
    {"L2 penalty and its gradient", 2, 1.0, "nn_l2_penalty,nn_l2_backward", test_l2},
    {"early stopping by hand", 2, 1.0, "nn_early_stop_init,nn_early_stop_update", test_early_stop},
    {"batch norm forward by hand", 3, 1.0, "nn_batchnorm_forward_train", test_bn_by_hand},
    {"batch norm forward, conv layout", 2, 1.0, "nn_batchnorm_forward_train", test_bn_conv_layout},
    {"batch norm running statistics", 2, 1.0, "nn_batchnorm_forward_train", test_bn_running},
    {"batch norm at evaluation", 2, 1.0, "nn_batchnorm_forward_eval", test_bn_eval},
    {"batch norm backward", 3, 1.0, "nn_batchnorm_backward", test_bn_backward},
    {"batch norm backward accumulates", 1, 1.0, "nn_batchnorm_backward",
     test_bn_backward_accumulates},
    {"dropout against overfitting", 3, 20.0,
     "nn_dropout_forward,nn_dropout_backward", test_dropout_training},
    {"early stopping in the trainer", 2, 15.0,
     "nn_early_stop_init,nn_early_stop_update", test_early_stop_training},
    {"batch norm at a high learning rate", 3, 15.0,
     "nn_batchnorm_forward_train,nn_batchnorm_forward_eval,nn_batchnorm_backward",
     test_bn_training},
    {NULL, 0, 0, NULL, NULL}
};
