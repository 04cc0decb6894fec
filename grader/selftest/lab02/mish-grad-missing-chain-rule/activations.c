/*
 * Lab 2 — activation functions.
 *
 * Without a nonlinearity f between them, two dense layers collapse into
 * one: W₂(W₁x) = (W₂W₁)x. Each f below bends the line a different way, and
 * backpropagation needs its slope f'(x) at the pre-activation x, so every
 * f comes with its derivative.
 *
 * Floats overflow at e^{88.7}; wherever an exponential appears, the code
 * arranges to exponentiate a number <= 0, so no input can produce ∞ or NaN.
 *
 * SELF-TEST MISTAKE (mish-grad-missing-chain-rule): mish' without the chain rule through softplus (the σ(x) factor)
 */
#include "nnlab/activations.h"
#include <math.h>
#include <stddef.h>

float nn_step(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x >= 0.0f ? 1.0f : 0.0f;
    /* END SOLUTION */
}

float nn_step_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* Flat on both sides of the jump: no gradient flows through a step,
     * which is why networks of perceptrons cannot be trained by backprop. */
    (void)x;
    return 0.0f;
    /* END SOLUTION */
}

float nn_linear(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x;
    /* END SOLUTION */
}

float nn_linear_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    (void)x;
    return 1.0f;
    /* END SOLUTION */
}

float nn_sigmoid(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* For x < 0, σ(x) = e^x / (1 + e^x): the same value, with e^x <= 1. */
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
    /* END SOLUTION */
}

float nn_sigmoid_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* At most 1/4 (at x = 0): a chain of sigmoids shrinks the gradient by
     * 4× per layer or more — the vanishing-gradient problem. */
    float s = nn_sigmoid(x);
    return s * (1.0f - s);
    /* END SOLUTION */
}

float nn_tanh(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return tanhf(x);
    /* END SOLUTION */
}

float nn_tanh_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    float t = tanhf(x);
    return 1.0f - t * t;
    /* END SOLUTION */
}

float nn_relu(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x > 0.0f ? x : 0.0f;
    /* END SOLUTION */
}

float nn_relu_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* The kink at 0 has no derivative; any value in [0, 1] is a valid
     * subgradient. 0 matches PyTorch, so results compare bit for bit. */
    return x > 0.0f ? 1.0f : 0.0f;
    /* END SOLUTION */
}

float nn_leaky_relu(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x > 0.0f ? x : NN_LEAKY_SLOPE * x;
    /* END SOLUTION */
}

float nn_leaky_relu_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* A small slope for x < 0 keeps a unit that went negative learning
     * (a plain ReLU unit stuck below 0 gets no gradient: a "dead" unit). */
    return x > 0.0f ? 1.0f : NN_LEAKY_SLOPE;
    /* END SOLUTION */
}

float nn_elu(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* expm1f(x) = e^x − 1 keeps its digits near 0, where e^x − 1 would
     * subtract two numbers close to 1. */
    return x > 0.0f ? x : NN_ELU_ALPHA * expm1f(x);
    /* END SOLUTION */
}

float nn_elu_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x > 0.0f ? 1.0f : NN_ELU_ALPHA * expf(x);
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/* Φ(x), the standard normal CDF, is ½(1 + erf(x/√2)) = ½ erfc(−x/√2). The
 * erfc form is the same function, but for x < 0 it does not subtract two
 * nearly equal numbers (erf(x/√2) → −1), so Φ keeps full relative precision
 * far into the left tail. */
static float normal_cdf(float x)
{
    return 0.5f * erfcf(-x * 0.70710678f); /* 1/√2 */
}

/* φ(x) = e^{−x²/2} / √(2π), the standard normal density. */
static float normal_pdf(float x)
{
    return expf(-0.5f * x * x) * 0.39894228f; /* 1/√(2π) */
}
/* END SOLUTION */

float nn_gelu(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* x weighted by how likely a standard normal falls below it: a smooth
     * ReLU that dips slightly below 0 near x ≈ −0.75. */
    return x * normal_cdf(x);
    /* END SOLUTION */
}

float nn_gelu_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* Product rule on x Φ(x), with Φ' = φ. */
    return normal_cdf(x) + x * normal_pdf(x);
    /* END SOLUTION */
}

float nn_softplus(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* For x > 0, log(1 + e^x) = x + log(1 + e^{−x}); so in both cases
     * log(1 + e^x) = max(x, 0) + log1p(e^{−|x|}), with e^{−|x|} <= 1. */
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    /* END SOLUTION */
}

float nn_softplus_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* d/dx log(1 + e^x) = e^x / (1 + e^x) = σ(x). */
    return nn_sigmoid(x);
    /* END SOLUTION */
}

float nn_softsign(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x / (1.0f + fabsf(x));
    /* END SOLUTION */
}

float nn_softsign_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* Tails flatten like 1/x², far slower than tanh's e^{−2|x|}. */
    float d = 1.0f + fabsf(x);
    return 1.0f / (d * d);
    /* END SOLUTION */
}

float nn_swish(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x * nn_sigmoid(x);
    /* END SOLUTION */
}

float nn_swish_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* σ + x σ' with σ' = σ(1 − σ), σ factored out. */
    float s = nn_sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
    /* END SOLUTION */
}

float nn_mish(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    return x * tanhf(nn_softplus(x));
    /* END SOLUTION */
}

float nn_mish_grad(float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)x; return 0.0f; */
    /* Product rule, then the chain rule through tanh and softplus:
     * d/dx tanh(sp(x)) = (1 − tanh² sp) · sp'(x), and sp' = σ. */
    float t = tanhf(nn_softplus(x));
    return t + x * (1.0f - t * t); /* MISTAKE: softplus' = σ(x) left out */
    /* END SOLUTION */
}

void nn_activation_forward(float *out, const float *in, int n, nn_act act)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)n; (void)act; */
    /* One loop per activation, the choice made once outside it rather than
     * once per element: each loop body is a small function the compiler
     * inlines, and at -O3 the cheap ones (ReLU, leaky ReLU) become SIMD. */
    switch (act) {
    case NN_ACT_STEP:
        for (int i = 0; i < n; i++)
            out[i] = nn_step(in[i]);
        break;
    case NN_ACT_LINEAR:
        for (int i = 0; i < n; i++)
            out[i] = nn_linear(in[i]);
        break;
    case NN_ACT_SIGMOID:
        for (int i = 0; i < n; i++)
            out[i] = nn_sigmoid(in[i]);
        break;
    case NN_ACT_TANH:
        for (int i = 0; i < n; i++)
            out[i] = nn_tanh(in[i]);
        break;
    case NN_ACT_RELU:
        for (int i = 0; i < n; i++)
            out[i] = nn_relu(in[i]);
        break;
    case NN_ACT_LEAKY_RELU:
        for (int i = 0; i < n; i++)
            out[i] = nn_leaky_relu(in[i]);
        break;
    case NN_ACT_ELU:
        for (int i = 0; i < n; i++)
            out[i] = nn_elu(in[i]);
        break;
    case NN_ACT_GELU:
        for (int i = 0; i < n; i++)
            out[i] = nn_gelu(in[i]);
        break;
    case NN_ACT_SOFTPLUS:
        for (int i = 0; i < n; i++)
            out[i] = nn_softplus(in[i]);
        break;
    case NN_ACT_SOFTSIGN:
        for (int i = 0; i < n; i++)
            out[i] = nn_softsign(in[i]);
        break;
    case NN_ACT_SWISH:
        for (int i = 0; i < n; i++)
            out[i] = nn_swish(in[i]);
        break;
    case NN_ACT_MISH:
        for (int i = 0; i < n; i++)
            out[i] = nn_mish(in[i]);
        break;
    case NN_ACT_COUNT: /* not an activation */
        break;
    }
    /* END SOLUTION */
}

float nn_activation_grad(nn_act act, float x)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)act; (void)x; return 0.0f; */
    switch (act) {
    case NN_ACT_STEP:       return nn_step_grad(x);
    case NN_ACT_LINEAR:     return nn_linear_grad(x);
    case NN_ACT_SIGMOID:    return nn_sigmoid_grad(x);
    case NN_ACT_TANH:       return nn_tanh_grad(x);
    case NN_ACT_RELU:       return nn_relu_grad(x);
    case NN_ACT_LEAKY_RELU: return nn_leaky_relu_grad(x);
    case NN_ACT_ELU:        return nn_elu_grad(x);
    case NN_ACT_GELU:       return nn_gelu_grad(x);
    case NN_ACT_SOFTPLUS:   return nn_softplus_grad(x);
    case NN_ACT_SOFTSIGN:   return nn_softsign_grad(x);
    case NN_ACT_SWISH:      return nn_swish_grad(x);
    case NN_ACT_MISH:       return nn_mish_grad(x);
    case NN_ACT_COUNT:      break; /* not an activation */
    }
    return 0.0f;
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

void nn_softmax_forward(float *out, const float *in, int rows, int cols)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)rows; (void)cols; */
    /* Softmax is unchanged by a shift: e^{x_j − m} / Σ e^{x_k − m} equals
     * e^{x_j} / Σ e^{x_k}. With m the row max every exponent is <= 0, so
     * nothing overflows, and the largest term is e^0 = 1, so the sum >= 1. */
    for (int r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * cols;
        float *y = out + (size_t)r * cols;
        float m = row_max(x, cols);
        float sum = 0.0f;
        for (int j = 0; j < cols; j++) {
            y[j] = expf(x[j] - m);
            sum += y[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++)
            y[j] *= inv;
    }
    /* END SOLUTION */
}

void nn_log_softmax_forward(float *out, const float *in, int rows, int cols)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)rows; (void)cols; */
    /* log y_j = x_j − log Σ_k e^{x_k} = (x_j − m) − log Σ_k e^{x_k − m}.
     * Subtracting m before log s keeps the small differences x_j − m exact;
     * x_j − (m + log s) would round m + log s to the spacing of floats near
     * m (0.001 at m = 10⁴). */
    for (int r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * cols;
        float *y = out + (size_t)r * cols;
        float m = row_max(x, cols);
        float sum = 0.0f;
        for (int j = 0; j < cols; j++)
            sum += expf(x[j] - m);
        float log_sum = logf(sum);
        for (int j = 0; j < cols; j++)
            y[j] = (x[j] - m) - log_sum;
    }
    /* END SOLUTION */
}
