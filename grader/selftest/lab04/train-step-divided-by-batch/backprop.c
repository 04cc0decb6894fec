/*
 * Lab 4: backpropagation.
 *
 * The forward pass computes a chain  x → z₁ → a₁ → … → logits → L.  The
 * backward pass walks it in reverse and applies the chain rule once per
 * link: given G = ∂L/∂(output of a step), each function below turns it into
 * the gradient with respect to that step's inputs and parameters.
 *
 * Every backward function ADDS its result (+=) into the gradient buffers.
 * A value that feeds two consumers then receives the sum of both
 * contributions, which is exactly what the multivariate chain rule asks
 * for; the price is that the caller zeroes the gradients before each step.
 *
 * SELF-TEST MISTAKE (train-step-divided-by-batch): the SGD step in the loop uses lr / batch: the mean gradient averaged twice
 */
#include "nnlab/backprop.h"
#include "nnlab/error.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, int batch, int n_in, int n_out)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dw; (void)db; (void)dout; (void)in; (void)w; (void)batch; (void)n_in; (void)n_out; */
    /* out[r,j] = Σ_i in[r,i] W[j,i] + b[j], so with G = dout:
     *   ∂L/∂W[j,i] = Σ_r G[r,j] in[r,i]   i.e. dW += Gᵀ · in   [n_out, n_in]
     *   ∂L/∂in[r,i] = Σ_j G[r,j] W[j,i]   i.e. din += G · W    [batch, n_in]
     *   ∂L/∂b[j]   = Σ_r G[r,j]           the column sums of G
     * beta = 1 makes sgemm add to what the buffers already hold. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, batch,
                1.0f, dout, n_out, in, n_in, 1.0f, dw, n_in);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n_in, n_out,
                    1.0f, dout, n_out, w, n_in, 1.0f, din, n_in);
    /* Row by row, so that G is read in memory order. */
    for (int r = 0; r < batch; r++) {
        const float *g = dout + (size_t)r * n_out;
        for (int j = 0; j < n_out; j++)
            db[j] += g[j];
    }
    /* END SOLUTION */
}

void nn_activation_backward(float *din, const float *dout, const float *in, int n, nn_act act)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)in; (void)n; (void)act; */
    /* a = f(z) element by element, so the Jacobian is diagonal:
     * ∂L/∂z_i = ∂L/∂a_i · f'(z_i). */
    switch (act) {
    case NN_ACT_RELU:
        /* ReLU' is 1 for z > 0 and 0 otherwise: pass G through or drop it.
         * The commonest hidden activation gets a loop with no call and no
         * branch in it: both values are loaded, then one is selected, which
         * the compiler turns into SIMD. */
        for (int i = 0; i < n; i++) {
            float g = dout[i];
            din[i] += in[i] > 0.0f ? g : 0.0f;
        }
        break;
    default:
        for (int i = 0; i < n; i++)
            din[i] += dout[i] * nn_activation_grad(act, in[i]);
        break;
    }
    /* END SOLUTION */
}

void nn_mse_backward(float *dpred, const float *pred, const float *target, int batch, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)dpred; (void)pred; (void)target; (void)batch; (void)n; */
    /* L = (1/N) Σ (p − t)², N = batch·n, so ∂L/∂p = 2 (p − t) / N. */
    size_t count = (size_t)batch * (size_t)n;
    float scale = 2.0f / (float)count;
    for (size_t i = 0; i < count; i++)
        dpred[i] += scale * (pred[i] - target[i]);
    /* END SOLUTION */
}

void nn_bce_backward(float *dp, const float *p, const float *y, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)dp; (void)p; (void)y; (void)n; */
    /* L = −(1/n) Σ [y log p + (1 − y) log(1 − p)], so
     *   ∂L/∂p = (1/n) [−y/p + (1 − y)/(1 − p)] = (p − y) / (p (1 − p) n).
     * At p = 0 or 1 the denominator vanishes; clamping p keeps the gradient
     * large but finite, the counterpart of the loss clamping its logs. */
    const float lo = 1e-7f, hi = 1.0f - 1e-7f;
    for (int i = 0; i < n; i++) {
        float q = p[i] < lo ? lo : p[i] > hi ? hi : p[i];
        dp[i] += (q - y[i]) / (q * (1.0f - q) * (float)n);
    }
    /* END SOLUTION */
}

void nn_cross_entropy_backward(float *dlogits, const float *logits, const int *labels,
                               int batch, int classes)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)dlogits; (void)logits; (void)labels; (void)batch; (void)classes; */
    /* Per row, L_r = log Σ_j e^{x_j} − x_y, and ∂L_r/∂x_j = softmax(x)_j − [j = y]:
     * the softmax's exponentials and the log cancel into a difference of
     * probabilities. The mean over the batch divides by batch. As in the
     * forward pass, subtracting m = max_j x_j keeps every e^{x_j − m} ≤ 1,
     * so logits of any size give a finite gradient. */
    float inv_batch = 1.0f / (float)batch;
    for (int r = 0; r < batch; r++) {
        const float *x = logits + (size_t)r * classes;
        float *d = dlogits + (size_t)r * classes;
        float m = x[0];
        for (int j = 1; j < classes; j++)
            if (x[j] > m)
                m = x[j];
        float sum = 0.0f;
        for (int j = 0; j < classes; j++)
            sum += expf(x[j] - m);
        float scale = inv_batch / sum;
        for (int j = 0; j < classes; j++)
            d[j] += expf(x[j] - m) * scale;
        d[labels[r]] -= inv_batch;
    }
    /* END SOLUTION */
}

void nn_softmax_backward(float *din, const float *dout, const float *out, int rows, int cols)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)out; (void)rows; (void)cols; */
    /* y = softmax(x) has Jacobian ∂y_j/∂x_i = y_j ([i = j] − y_i), so
     *   ∂L/∂x_i = Σ_j G_j y_j ([i = j] − y_i) = y_i (G_i − Σ_j G_j y_j).
     * One dot product per row replaces the cols × cols Jacobian. */
    for (int r = 0; r < rows; r++) {
        const float *g = dout + (size_t)r * cols;
        const float *y = out + (size_t)r * cols;
        float *d = din + (size_t)r * cols;
        float dot = 0.0f;
        for (int j = 0; j < cols; j++)
            dot += g[j] * y[j];
        for (int i = 0; i < cols; i++)
            d[i] += y[i] * (g[i] - dot);
    }
    /* END SOLUTION */
}

double nn_grad_check(double *rel_err, nn_objective f, void *ctx, float *theta,
                     const float *analytic, int n, double h)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)rel_err; (void)f; (void)ctx; (void)theta; (void)analytic; (void)n; (void)h; return 0.0; */
    /* The central difference (f(θ + h) − f(θ − h)) / 2h has error O(h²),
     * against O(h) for the one-sided (f(θ + h) − f(θ)) / h. */
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        float saved = theta[i];
        /* θ is float: θ ± h is rounded, so divide by the step actually taken. */
        float up = (float)(saved + h), down = (float)(saved - h);
        theta[i] = up;
        double f_up = f(ctx);
        theta[i] = down;
        double f_down = f(ctx);
        theta[i] = saved; /* restored bit for bit, not by subtracting h */
        double numeric = (f_up - f_down) / ((double)up - (double)down);
        double a = analytic[i];
        double rel = fabs(numeric - a) / fmax(1e-8, fabs(numeric) + fabs(a));
        if (isnan(rel)) /* a NaN or infinite gradient must never pass */
            rel = INFINITY;
        if (rel_err)
            rel_err[i] = rel;
        if (rel > worst)
            worst = rel;
    }
    return worst;
    /* END SOLUTION */
}

void nn_sgd_step(float *w, const float *g, int n, float lr)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)g; (void)n; (void)lr; */
    /* −g is the direction of steepest descent; lr sets how far to go. */
    for (int i = 0; i < n; i++)
        w[i] -= lr * g[i];
    /* END SOLUTION */
}

void nn_mlp_backward(float **dw, float **db, float **dz, float **da, float **z, float **a,
                     const int *labels, const nn_mlp *net, int batch)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)dw; (void)db; (void)dz; (void)da; (void)z; (void)a; (void)labels; (void)net; (void)batch; */
    /* Walk the layers in reverse. For layer l,
     *   dz[l] = ∂L/∂z[l]        from the loss (last layer) or the activation
     *   da[l] = ∂L/∂a[l]        the dense layer's input gradient
     * and dw[l], db[l] follow from dz[l] and the layer's input a[l].
     * dz and da are scratch: zeroed here, since the backward kernels add.
     * The logits are linear, so their gradient goes straight into dz[last];
     * da[0], the gradient of the data, is never needed. Neither da[0] nor
     * da[n_layers] is touched. */
    const int *s = net->sizes;
    int last = net->n_layers - 1;
    memset(dz[last], 0, sizeof(float) * (size_t)batch * s[last + 1]);
    nn_cross_entropy_backward(dz[last], z[last], labels, batch, s[last + 1]);
    for (int l = last; l >= 0; l--) {
        float *din = NULL;
        if (l > 0) {
            din = da[l];
            memset(din, 0, sizeof(float) * (size_t)batch * s[l]);
        }
        nn_dense_backward(din, dw[l], db[l], dz[l], a[l], net->w[l], batch, s[l], s[l + 1]);
        if (l > 0) {
            /* a[l] = f(z[l−1]) */
            memset(dz[l - 1], 0, sizeof(float) * (size_t)batch * s[l]);
            nn_activation_backward(dz[l - 1], din, z[l - 1], batch * s[l], net->act);
        }
    }
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/* The buffers of one training epoch: forward activations z and a, their
 * gradients dz and da (all n_layers + 1 of da, as nn_mlp_backward() lays
 * them out), the parameter gradients dw and db, the shuffled order of the
 * examples and the labels of the current minibatch. Activations are sized
 * for a full minibatch; a smaller last batch uses their first rows. */
typedef struct {
    float **z, **a, **dz, **da, **dw, **db;
    float *grads;   /* dw and db, contiguous so one memset zeroes them */
    size_t n_grads; /* floats in grads */
    float *arena;   /* every float buffer */
    int *order;     /* [rows] */
    int *labels;    /* [batch] */
} epoch_scratch;

static void scratch_free(epoch_scratch *s)
{
    free(s->z); /* the six pointer arrays share one block */
    free(s->arena);
    free(s->order);
    free(s->labels);
}

/* Hand out n floats from the arena. */
static float *carve(float **next, size_t n)
{
    float *p = *next;
    *next += n;
    return p;
}

/* Point every buffer into the arena: the gradients dw, db first, then
 * z, dz [batch, sizes[l+1]] and a, da [batch, sizes[l]]. */
static void scratch_carve(epoch_scratch *s, const nn_mlp *net, int batch)
{
    int L = net->n_layers;
    const int *sz = net->sizes;
    float *next = s->arena;
    for (int l = 0; l < L; l++) {
        s->dw[l] = carve(&next, (size_t)sz[l + 1] * sz[l]);
        s->db[l] = carve(&next, (size_t)sz[l + 1]);
    }
    s->grads = s->arena;
    s->n_grads = (size_t)(next - s->arena);
    for (int l = 0; l < L; l++) {
        s->z[l] = carve(&next, (size_t)batch * sz[l + 1]);
        s->dz[l] = carve(&next, (size_t)batch * sz[l + 1]);
    }
    for (int l = 0; l <= L; l++) {
        s->a[l] = carve(&next, (size_t)batch * sz[l]);
        s->da[l] = carve(&next, (size_t)batch * sz[l]);
    }
}

/* Allocate everything; 0 (nothing left allocated) when memory runs out. */
static int scratch_alloc(epoch_scratch *s, const nn_mlp *net, int rows, int batch)
{
    int L = net->n_layers;
    const int *sz = net->sizes;
    size_t floats = 0;
    for (int l = 0; l < L; l++)
        floats += (size_t)sz[l + 1] * sz[l] + sz[l + 1]    /* dw, db */
                  + 2 * (size_t)batch * sz[l + 1];          /* z, dz */
    for (int l = 0; l <= L; l++)
        floats += 2 * (size_t)batch * sz[l];                /* a, da */

    memset(s, 0, sizeof *s);
    s->z = malloc(sizeof(float *) * (size_t)(6 * L + 2));
    s->arena = malloc(sizeof(float) * floats);
    s->order = malloc(sizeof(int) * (size_t)rows);
    s->labels = malloc(sizeof(int) * (size_t)batch);
    if (!s->z || !s->arena || !s->order || !s->labels) {
        scratch_free(s);
        return 0;
    }
    /* one block of 6L + 2 pointers: z, dz, dw, db have L, a and da L + 1 */
    s->a = s->z + L;
    s->dz = s->a + L + 1;
    s->da = s->dz + L;
    s->dw = s->da + L + 1;
    s->db = s->dw + L;
    scratch_carve(s, net, batch);
    for (int i = 0; i < rows; i++)
        s->order[i] = i;
    return 1;
}

/* Copy the examples order[0..n) into the network input a[0] and labels. */
static void gather(epoch_scratch *s, const float *x, const int *y, const int *order, int n,
                   int n_in)
{
    for (int k = 0; k < n; k++) {
        memcpy(s->a[0] + (size_t)k * n_in, x + (size_t)order[k] * n_in,
               sizeof(float) * (size_t)n_in);
        s->labels[k] = y[order[k]];
    }
}
/* END SOLUTION */

float nn_mlp_train_epoch(nn_mlp *net, const float *x, const int *y, int rows, int batch,
                         float lr, nn_rng *rng)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)net; (void)x; (void)y; (void)rows; (void)batch; (void)lr; (void)rng; return 0.0f; */
    if (rows < 1 || batch < 1) {
        nn_fail("nn_mlp_train_epoch: need rows >= 1 and batch >= 1 (got %d, %d)", rows, batch);
        return NAN;
    }
    if (batch > rows)
        batch = rows;
    epoch_scratch s;
    if (!scratch_alloc(&s, net, rows, batch)) {
        nn_fail("nn_mlp_train_epoch: out of memory for a batch of %d", batch);
        return NAN;
    }
    /* A fresh order every epoch, so that minibatches differ from epoch to
     * epoch and each gradient is an unbiased estimate of the full one. */
    nn_rng_shuffle(rng, s.order, rows);

    int L = net->n_layers, classes = net->sizes[L];
    double loss_sum = 0.0; /* Σ over examples; the batch mean times its size */
    for (int start = 0; start < rows; start += batch) {
        int n = rows - start < batch ? rows - start : batch;
        gather(&s, x, y, s.order + start, n, net->sizes[0]);
        nn_mlp_forward(s.z, s.a, net, n);
        loss_sum += (double)nn_cross_entropy_loss(s.z[L - 1], s.labels, n, classes) * n;

        memset(s.grads, 0, sizeof(float) * s.n_grads);
        nn_mlp_backward(s.dw, s.db, s.dz, s.da, s.z, s.a, s.labels, net, n);
        for (int l = 0; l < L; l++) {
            int fan_out = net->sizes[l + 1];
            nn_sgd_step(net->w[l], s.dw[l], fan_out * net->sizes[l], lr / n); /* MISTAKE */
            nn_sgd_step(net->b[l], s.db[l], fan_out, lr / n);
        }
    }
    scratch_free(&s);
    return (float)(loss_sum / rows);
    /* END SOLUTION */
}
