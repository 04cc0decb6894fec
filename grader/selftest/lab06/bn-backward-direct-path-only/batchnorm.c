/*
 * Lab 6, part 2: batch normalisation (Ioffe & Szegedy, 2015).
 *
 * SELF-TEST MISTAKE (bn-backward-direct-path-only): din = γ·invstd·dy: the paths through μ and σ² are left out
 *
 * As training changes the early layers, the distribution of what they feed
 * the later ones keeps moving, and each layer chases a moving target. Batch
 * norm pins the first two moments: every channel is shifted and scaled to
 * mean 0, variance 1 over the batch, then given a learned scale γ and shift
 * β. (γ = σ, β = μ would undo it, so nothing is lost that the network
 * needs.) In practice this allows larger learning rates and makes training
 * far less sensitive to the initial weights.
 *
 * At evaluation a prediction must not depend on which other examples share
 * its batch, so the statistics are replaced by running averages kept during
 * training.
 *
 * The per-channel sums run over m = batch·spatial values (12 800 after a
 * conv layer of 128 images of 10×10 pixels). They are accumulated in double:
 * a float sum that has grown large drops the low digits of each new term,
 * which would shift the mean by far more than float precision when |μ| ≫ σ.
 */
#include "nnlab/batchnorm.h"
#include <math.h>
#include <stddef.h>

/* BEGIN SOLUTION */
/*
 * Channel ch of a [batch, c, spatial] array is `batch` runs of `spatial`
 * contiguous values, one run per sample, c·spatial floats apart: sample n's
 * run starts at (n·c + ch)·spatial. Each helper below walks one channel run
 * by run, in memory order.
 */
static size_t run_start(int n, int ch, int c, int spatial)
{
    return ((size_t)n * c + ch) * spatial;
}

/* Σ x over channel ch. */
static double channel_sum(const float *x, int ch, int batch, int c, int spatial)
{
    double sum = 0.0;
    for (int n = 0; n < batch; n++) {
        const float *r = x + run_start(n, ch, c, spatial);
        for (int s = 0; s < spatial; s++)
            sum += r[s];
    }
    return sum;
}

/* Σ (x − μ)² over channel ch. */
static double channel_sq_dev(const float *x, double mu, int ch, int batch, int c, int spatial)
{
    double sum = 0.0;
    for (int n = 0; n < batch; n++) {
        const float *r = x + run_start(n, ch, c, spatial);
        for (int s = 0; s < spatial; s++) {
            double d = r[s] - mu;
            sum += d * d;
        }
    }
    return sum;
}

/* y = a (x − sub) + add over channel ch. y may equal x. */
static void channel_affine(float *y, const float *x, float sub, float a, float add, int ch,
                           int batch, int c, int spatial)
{
    for (int n = 0; n < batch; n++) {
        size_t r = run_start(n, ch, c, spatial);
        for (int s = 0; s < spatial; s++)
            y[r + s] = a * (x[r + s] - sub) + add;
    }
}

/* Σ dy and Σ dy·x̂ over channel ch, in one pass. */
static void channel_grad_sums(double *sum_dy, double *sum_dy_xhat, const float *dy,
                              const float *xhat, int ch, int batch, int c, int spatial)
{
    double g = 0.0, gx = 0.0;
    for (int n = 0; n < batch; n++) {
        size_t r = run_start(n, ch, c, spatial);
        for (int s = 0; s < spatial; s++) {
            g += dy[r + s];
            gx += (double)dy[r + s] * xhat[r + s];
        }
    }
    *sum_dy = g;
    *sum_dy_xhat = gx;
}

/* dx += k (dy − mean_dy − x̂ · mean_dy_xhat) over channel ch. */
static void channel_input_grad(float *dx, const float *dy, const float *xhat, float k,
                               float mean_dy, float mean_dy_xhat, int ch, int batch, int c,
                               int spatial)
{
    for (int n = 0; n < batch; n++) {
        size_t r = run_start(n, ch, c, spatial);
        for (int s = 0; s < spatial; s++)
            dx[r + s] += k * dy[r + s]; /* MISTAKE: only the direct path */
    (void)xhat; (void)mean_dy; (void)mean_dy_xhat;
    }
}
/* END SOLUTION */

void nn_batchnorm_forward_train(float *out, float *xhat, float *mean, float *invstd,
                                float *run_mean, float *run_var, const float *in,
                                const float *gamma, const float *beta, int batch, int c,
                                int spatial, float momentum, float eps)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)xhat; (void)mean; (void)invstd; (void)run_mean; (void)run_var; (void)in; (void)gamma; (void)beta; (void)batch; (void)c; (void)spatial; (void)momentum; (void)eps; */
    double m = (double)batch * spatial;
    for (int ch = 0; ch < c; ch++) {
        /* Two passes: the mean, then the squared deviations from it. The
         * one-pass E[x²] − μ² subtracts two nearly equal large numbers when
         * |μ| ≫ σ, and can even come out negative. */
        double mu = channel_sum(in, ch, batch, c, spatial) / m;
        double var = channel_sq_dev(in, mu, ch, batch, c, spatial) / m;
        mean[ch] = (float)mu;
        invstd[ch] = (float)(1.0 / sqrt(var + eps)); /* ε keeps a constant channel finite */
        channel_affine(xhat, in, mean[ch], invstd[ch], 0.0f, ch, batch, c, spatial);
        channel_affine(out, xhat, 0.0f, gamma[ch], beta[ch], ch, batch, c, spatial);
        /* Exponential moving averages for evaluation. σ² underestimates the
         * population variance by the factor (m − 1)/m, because the
         * deviations are taken from the batch's own mean; Bessel's
         * correction σ² m/(m − 1) removes the bias. With m = 1 there is no
         * spread to see, and the running variance is left as it is. */
        run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * (float)mu;
        if (m > 1.0) {
            float unbiased = (float)(var * m / (m - 1.0));
            run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * unbiased;
        }
    }
    /* END SOLUTION */
}

void nn_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                               const float *beta, const float *run_mean, const float *run_var,
                               int batch, int c, int spatial, float eps)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)gamma; (void)beta; (void)run_mean; (void)run_var; (void)batch; (void)c; (void)spatial; (void)eps; */
    /* With fixed statistics the layer is an affine map per channel,
     * y = a (x − r_mean) + β with a = γ/√(r_var + ε): one multiply-add per
     * value, and every example's output depends on that example alone. */
    for (int ch = 0; ch < c; ch++) {
        float a = gamma[ch] / sqrtf(run_var[ch] + eps);
        channel_affine(out, in, run_mean[ch], a, beta[ch], ch, batch, c, spatial);
    }
    /* END SOLUTION */
}

void nn_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *xhat, const float *gamma, const float *invstd,
                           int batch, int c, int spatial)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dgamma; (void)dbeta; (void)dout; (void)xhat; (void)gamma; (void)invstd; (void)batch; (void)c; (void)spatial; */
    /* y = γ x̂ + β gives ∂L/∂β = Σ dy and ∂L/∂γ = Σ dy x̂ directly.
     * For x, x_j reaches each x̂_i = (x_i − μ)·invstd along three paths:
     * directly (i = j), through the mean μ and through the variance σ². With ∂L/∂x̂ = γ dy, ∂μ/∂x_j = 1/m and
     * ∂σ²/∂x_j = 2 (x_j − μ)/m, the three add up to
     *   ∂L/∂x_j = γ·invstd · (dy_j − mean(dy) − x̂_j · mean(dy·x̂)),
     * the header's (γ·invstd/m)(m·dy − Σ dy − x̂ Σ dy·x̂) divided through.
     * The two subtractions project out of dy the directions a shift or a
     * rescaling of x would take: normalisation makes L blind to a shift,
     * and to a rescaling up to ε. */
    double m = (double)batch * spatial;
    for (int ch = 0; ch < c; ch++) {
        double sum_dy, sum_dy_xhat;
        channel_grad_sums(&sum_dy, &sum_dy_xhat, dout, xhat, ch, batch, c, spatial);
        dbeta[ch] += (float)sum_dy;
        dgamma[ch] += (float)sum_dy_xhat;
        channel_input_grad(din, dout, xhat, gamma[ch] * invstd[ch], (float)(sum_dy / m),
                           (float)(sum_dy_xhat / m), ch, batch, c, spatial);
    }
    /* END SOLUTION */
}
