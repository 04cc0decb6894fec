/*
 * Lab 5: optimizers and learning-rate schedules.
 *
 * Plain gradient descent takes the same step size along every direction.
 * When the loss surface is a long narrow valley, a step small enough not
 * to bounce across the steep walls crawls along the flat floor. The
 * optimizers below fix this in two ways:
 *
 *   momentum   average the gradients over time: components that keep their
 *              sign add up, components that flip sign cancel;
 *   adaptive   divide each parameter's step by a running size of its own
 *              gradient, so steep and flat directions move at similar rates.
 *
 * Adam does both. Each step function updates n parameters in place and
 * keeps its state in arrays the caller zeroes once, before the first step.
 * The formulas follow PyTorch's torch.optim term for term (which ε goes
 * inside or outside the square root matters), so both give the same
 * numbers.
 *
 * SELF-TEST MISTAKE (adagrad-eps-inside-root): AdaGrad with eps inside the root: g / sqrt(h + eps)
 */
#include "nnlab/optimizers.h"
#include <math.h>

void nn_momentum_step(float *w, float *v, const float *g, int n, float lr, float mu)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)v; (void)g; (void)n; (void)lr; (void)mu; */
    /* v is a decaying sum of past gradients, v_t = Σ_k μᵏ g_{t−k}: under a
     * constant gradient it grows to g / (1 − μ), ten times g for μ = 0.9. */
    for (int i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        w[i] -= lr * v[i];
    }
    /* END SOLUTION */
}

void nn_nesterov_step(float *w, float *v, const float *g, int n, float lr, float mu)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)v; (void)g; (void)n; (void)lr; (void)mu; */
    /* Nesterov looks ahead: the next step will again carry μ v, so the
     * step is taken along g + μ v, the momentum direction after the update,
     * rather than along v alone. */
    for (int i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        w[i] -= lr * (g[i] + mu * v[i]);
    }
    /* END SOLUTION */
}

void nn_adagrad_step(float *w, float *h, const float *g, int n, float lr, float eps)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)h; (void)g; (void)n; (void)lr; (void)eps; */
    /* Each parameter's rate is lr / √(Σ g²): frequently large gradients get
     * small steps, rare ones large steps. h only grows, so the rate only
     * falls, which is why AdaGrad can stall on long training runs. */
    for (int i = 0; i < n; i++) {
        h[i] += g[i] * g[i];
        w[i] -= lr * g[i] / sqrtf(h[i] + eps); /* MISTAKE */
    }
    /* END SOLUTION */
}

void nn_rmsprop_step(float *w, float *s, const float *g, int n, float lr, float rho, float eps)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)s; (void)g; (void)n; (void)lr; (void)rho; (void)eps; */
    /* AdaGrad with a memory of about 1 / (1 − ρ) steps: an exponential
     * moving average of g² replaces the sum, so the rate can rise again. */
    for (int i = 0; i < n; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        w[i] -= lr * g[i] / (sqrtf(s[i]) + eps);
    }
    /* END SOLUTION */
}

void nn_adadelta_step(float *w, float *s, float *d, const float *g, int n, float lr,
                      float rho, float eps)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)s; (void)d; (void)g; (void)n; (void)lr; (void)rho; (void)eps; */
    /* RMSProp's step g / √s has no units of w. AdaDelta multiplies it by
     * the RMS of its own past updates, √d, which does, so no learning rate
     * is needed (lr = 1). ε starts the process: with d = 0 the first
     * steps have size ≈ √ε. */
    for (int i = 0; i < n; i++) {
        s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
        float delta = sqrtf(d[i] + eps) / sqrtf(s[i] + eps) * g[i];
        d[i] = rho * d[i] + (1.0f - rho) * delta * delta;
        w[i] -= lr * delta;
    }
    /* END SOLUTION */
}

void nn_adam_step(float *w, float *m, float *v, const float *g, int n, float lr,
                  float beta1, float beta2, float eps, int t)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)m; (void)v; (void)g; (void)n; (void)lr; (void)beta1; (void)beta2; (void)eps; (void)t; */
    /* m and v start at 0, so early on they are biased toward 0: after t
     * steps of a constant g, m = (1 − β₁ᵗ) g. Dividing by 1 − β₁ᵗ (and
     * 1 − β₂ᵗ for v) removes the bias; at t = 1, m̂ = g and v̂ = g², and the
     * first step moves each weight by lr · g / |g| = lr in the downhill
     * direction. As PyTorch does, the corrections fold into the step size
     * and the square root:  w −= (lr / c₁) · m / (√v / √c₂ + ε). */
    double c1 = 1.0 - pow(beta1, t), c2 = 1.0 - pow(beta2, t);
    float step = (float)(lr / c1), root_c2 = (float)sqrt(c2);
    for (int i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        w[i] -= step * m[i] / (sqrtf(v[i]) / root_c2 + eps);
    }
    /* END SOLUTION */
}

void nn_adamw_step(float *w, float *m, float *v, const float *g, int n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int t)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)m; (void)v; (void)g; (void)n; (void)lr; (void)beta1; (void)beta2; (void)eps; (void)weight_decay; (void)t; */
    /* L2 regularisation adds λ w to g, and Adam's division by √v̂ then
     * rescales the decay differently for every weight. AdamW (Loshchilov &
     * Hutter, 2019) decouples the two: shrink w by the factor 1 − lr λ,
     * then take an ordinary Adam step on the loss gradient alone. */
    float keep = 1.0f - lr * weight_decay;
    for (int i = 0; i < n; i++)
        w[i] *= keep;
    nn_adam_step(w, m, v, g, n, lr, beta1, beta2, eps, t);
    /* END SOLUTION */
}

float nn_lr_step_decay(float lr0, int epoch, int step_size, float gamma)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)lr0; (void)epoch; (void)step_size; (void)gamma; return 0.0f; */
    /* Integer division: the rate is constant for step_size epochs at a time. */
    return (float)(lr0 * pow(gamma, epoch / step_size));
    /* END SOLUTION */
}

float nn_lr_exponential(float lr0, int epoch, float gamma)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)lr0; (void)epoch; (void)gamma; return 0.0f; */
    return (float)(lr0 * pow(gamma, epoch));
    /* END SOLUTION */
}

float nn_lr_cosine(float lr0, int t, int total, float lr_min)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)lr0; (void)t; (void)total; (void)lr_min; return 0.0f; */
    /* Half a cosine period from lr0 down to lr_min: flat at both ends, so
     * training starts at full speed and settles gently. */
    const double pi = 3.14159265358979323846;
    if (t > total)
        t = total;
    return (float)(lr_min + 0.5 * ((double)lr0 - lr_min) * (1.0 + cos(pi * t / total)));
    /* END SOLUTION */
}

float nn_lr_warmup(float lr0, int t, int warmup)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)lr0; (void)t; (void)warmup; return 0.0f; */
    /* At the start the weights are random and the gradients large and
     * unreliable (and Adam's v is still small); a rate that ramps up over
     * the first steps keeps them from throwing the weights far off. */
    if (t >= warmup)
        return lr0;
    return lr0 * (float)(t + 1) / (float)warmup;
    /* END SOLUTION */
}
