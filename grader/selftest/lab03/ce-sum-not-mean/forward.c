/*
 * Lab 3 — the forward pass.
 *
 * A dense layer is a matrix product: a batch of inputs X [batch, n_in]
 * times the transposed weights Wᵀ [n_in, n_out], plus the bias on every
 * row. An MLP chains such layers with an activation between them. Nearly
 * all the time of training goes into those products, so the lab writes one
 * by hand first, then hands it to BLAS (cblas_sgemm), which does the same
 * arithmetic blocked for the caches and vectorised, many times faster.
 *
 * The losses at the end turn the network's outputs into one number to
 * minimise; the initialisers choose where the minimisation starts.
 *
 * SELF-TEST MISTAKE (ce-sum-not-mean): cross-entropy summed over the batch instead of averaged
 */
#include "nnlab/forward.h"
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

void nn_matmul_naive(float *c, const float *a, const float *b, int m, int k, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)k; (void)n; */
    /* C[i, j] = Σ_p A[i, p] B[p, j]. The loops run i, p, j rather than
     * i, j, p: row i of C grows by A[i, p] times row p of B, so the inner
     * loop walks B and C with stride 1 (the i, j, p order would read B
     * down a column, a cache miss per element once B is large). */
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * n;
        for (int j = 0; j < n; j++)
            ci[j] = 0.0f;
        for (int p = 0; p < k; p++) {
            float aip = a[(size_t)i * k + p];
            const float *bp = b + (size_t)p * n;
            for (int j = 0; j < n; j++)
                ci[j] += aip * bp[j];
        }
    }
    /* END SOLUTION */
}

void nn_matmul_blas(float *c, const float *a, const float *b, int m, int k, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)k; (void)n; */
    /* sgemm computes C = α op(A) op(B) + β C. Here α = 1, β = 0 (C is
     * overwritten), and each leading dimension is the row length of its
     * matrix as stored: k for A, n for B and C. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
                1.0f, a, k, b, n, 0.0f, c, n);
    /* END SOLUTION */
}

void nn_dense_forward(float *out, const float *in, const float *w, const float *b,
                      int batch, int n_in, int n_out)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)w; (void)b; (void)batch; (void)n_in; (void)n_out; */
    /* out = in Wᵀ + b in one call: start every row of out at b, then let
     * sgemm add the product with β = 1. W is stored [n_out, n_in], so
     * CblasTrans reads it as Wᵀ [n_in, n_out] with no copy. */
    for (int r = 0; r < batch; r++)
        memcpy(out + (size_t)r * n_out, b, (size_t)n_out * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n_out, n_in,
                1.0f, in, n_in, w, n_in, 1.0f, out, n_out);
    /* END SOLUTION */
}

void nn_mlp_forward(float **z, float **a, const nn_mlp *net, int batch)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)z; (void)a; (void)net; (void)batch; */
    /* Backward needs both z[l] (for f'(z)) and a[l] (for ∂L/∂W = δᵀ a), so
     * each layer writes its own buffers instead of overwriting the last. */
    int last = net->n_layers - 1;
    for (int l = 0; l <= last; l++) {
        int n_in = net->sizes[l], n_out = net->sizes[l + 1];
        nn_dense_forward(z[l], a[l], net->w[l], net->b[l], batch, n_in, n_out);
        if (l < last)
            nn_activation_forward(a[l + 1], z[l], batch * n_out, net->act);
    }
    /* The last layer stays linear: its outputs are the logits, which the
     * loss turns into probabilities itself (softmax inside cross-entropy). */
    size_t n_logits = (size_t)batch * net->sizes[last + 1];
    if (a[last + 1] != z[last]) /* nothing to copy if the caller shares them */
        memcpy(a[last + 1], z[last], n_logits * sizeof **a);
    /* END SOLUTION */
}

void nn_init_uniform(float *w, int n, float limit, nn_rng *rng)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)n; (void)limit; (void)rng; */
    /* u ~ U[0, 1) maps to limit (2u − 1) ~ U[−limit, limit). */
    for (int i = 0; i < n; i++)
        w[i] = limit * (2.0f * nn_rng_uniform(rng) - 1.0f);
    /* END SOLUTION */
}

void nn_init_xavier(float *w, int fan_in, int fan_out, nn_rng *rng)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)fan_in; (void)fan_out; (void)rng; */
    /* Var U(−L, L) = L²/3. Glorot and Bengio ask for Var w = 2/(fan_in + fan_out),
     * a compromise between 1/fan_in (keeps forward activations' variance)
     * and 1/fan_out (keeps backward gradients' variance): L = √(6/(fan_in + fan_out)). */
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    nn_init_uniform(w, fan_in * fan_out, limit, rng);
    /* END SOLUTION */
}

void nn_init_he(float *w, int fan_in, int fan_out, nn_rng *rng)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)fan_in; (void)fan_out; (void)rng; */
    /* z = Σ_i w_i x_i over fan_in inputs has Var z = fan_in Var w E[x²]; after
     * a ReLU E[x²] is half the previous layer's Var z, so Var w = 2/fan_in
     * keeps Var z the same from layer to layer. */
    float std = sqrtf(2.0f / (float)fan_in);
    int n = fan_in * fan_out;
    for (int i = 0; i < n; i++)
        w[i] = std * nn_rng_normal(rng);
    /* END SOLUTION */
}

/*
 * The losses add up thousands of small terms. They do it in double: a
 * float sum that has grown large drops the low digits of each new term,
 * and a loss is computed once per batch, so the precision costs nothing.
 */

float nn_mse_loss(const float *pred, const float *target, int batch, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)pred; (void)target; (void)batch; (void)n; return 0.0f; */
    size_t count = (size_t)batch * n;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)pred[i] - target[i];
        sum += d * d;
    }
    return (float)(sum / (double)count);
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/* log p clamped below at −100 (PyTorch's choice): log 0 = −∞ would make
 * the loss ∞ and, multiplied by a zero target, NaN. */
static double clamped_log(double p)
{
    return fmax(log(p), -100.0);
}
/* END SOLUTION */

float nn_bce_loss(const float *p, const float *y, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)p; (void)y; (void)n; return 0.0f; */
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += y[i] * clamped_log(p[i]) + (1.0 - y[i]) * clamped_log(1.0 - p[i]);
    return (float)(-sum / n);
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/* Largest of row[0..n). */
static float row_max(const float *row, int n)
{
    float m = row[0];
    for (int j = 1; j < n; j++)
        m = fmaxf(m, row[j]);
    return m;
}
/* END SOLUTION */

float nn_cross_entropy_loss(const float *logits, const int *labels, int batch, int classes)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)logits; (void)labels; (void)batch; (void)classes; return 0.0f; */
    /* −log softmax(x)_y = log Σ_j e^{x_j} − x_y = (m − x_y) + log Σ_j e^{x_j − m}
     * with m = max_j x_j: every exponent is <= 0 and the sum lies in
     * [1, classes], so no logit is too large, nor any probability too small. */
    double sum = 0.0;
    for (int r = 0; r < batch; r++) {
        const float *x = logits + (size_t)r * classes;
        float m = row_max(x, classes);
        double s = 0.0;
        for (int j = 0; j < classes; j++)
            s += exp((double)x[j] - m);
        sum += ((double)m - x[labels[r]]) + log(s);
    }
    return (float)sum; /* MISTAKE: not divided by batch */
    /* END SOLUTION */
}

int nn_argmax(const float *row, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)row; (void)n; return 0; */
    int best = 0;
    for (int j = 1; j < n; j++)
        if (row[j] > row[best]) /* strict: an equal later value never wins */
            best = j;
    return best;
    /* END SOLUTION */
}

float nn_accuracy(const float *scores, const int *labels, int batch, int classes)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)scores; (void)labels; (void)batch; (void)classes; return 0.0f; */
    int correct = 0;
    for (int r = 0; r < batch; r++)
        correct += nn_argmax(scores + (size_t)r * classes, classes) == labels[r];
    return (float)correct / (float)batch;
    /* END SOLUTION */
}
