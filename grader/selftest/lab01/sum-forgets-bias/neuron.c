/*
 * Lab 1 — one artificial neuron.
 *
 * A neuron weighs its inputs, adds a bias and decides:
 *
 *     z = w·x + b,      ŷ = g(z).
 *
 * With the step function for g it is Rosenblatt's perceptron (1958), which
 * learns by nudging w towards the examples it gets wrong. With the sigmoid
 * for g, ŷ reads as a probability P(y = 1 | x) and fitting it by gradient
 * descent on the cross-entropy is logistic regression: the smallest
 * network that learns by gradients, and the pattern every later lab follows.
 *
 * SELF-TEST MISTAKE (sum-forgets-bias): z = w·x without the bias
 */
#include "nnlab/neuron.h"
#include <math.h>
#include <stddef.h>

float nn_neuron_sum(const float *w, float b, const float *x, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)b; (void)x; (void)n; return 0.0f; */
    float z = 0.0f; /* MISTAKE: the bias is left out */
    (void)b;
    for (int i = 0; i < n; i++)
        z += w[i] * x[i];
    return z;
    /* END SOLUTION */
}

float nn_neuron_step(float z)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)z; return 0.0f; */
    return z >= 0.0f ? 1.0f : 0.0f;
    /* END SOLUTION */
}

float nn_neuron_sign(float z)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)z; return 0.0f; */
    return z >= 0.0f ? 1.0f : -1.0f;
    /* END SOLUTION */
}

float nn_neuron_sigmoid(float z)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)z; return 0.0f; */
    /* e^{-z} overflows float for z < −88. For z < 0 multiply above and
     * below by e^{z}: σ(z) = e^{z} / (1 + e^{z}), where e^{z} <= 1.
     * Either branch only ever exponentiates a non-positive number. */
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
    /* END SOLUTION */
}

int nn_perceptron_update(float *w, float *b, const float *x, int y, float lr, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)b; (void)x; (void)y; (void)lr; (void)n; return 0; */
    float y_hat = nn_neuron_step(nn_neuron_sum(w, *b, x, n));
    float err = (float)y - y_hat; /* +1: fired too little, −1: too much */
    if (err == 0.0f)
        return 0;
    /* Moving w along ±x changes z by lr·err·|x|² (plus lr·err through b):
     * towards the right side of the threshold for this example. */
    for (int i = 0; i < n; i++)
        w[i] += lr * err * x[i];
    *b += lr * err;
    return 1;
    /* END SOLUTION */
}

int nn_perceptron_epoch(float *w, float *b, const float *x, const int *y,
                        float lr, int rows, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)b; (void)x; (void)y; (void)lr; (void)rows; (void)n; return 0; */
    int mistakes = 0;
    for (int r = 0; r < rows; r++)
        mistakes += nn_perceptron_update(w, b, x + (size_t)r * n, y[r], lr, n);
    return mistakes;
    /* END SOLUTION */
}

void nn_logistic_predict(float *p, const float *w, float b, const float *x,
                         int rows, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)p; (void)w; (void)b; (void)x; (void)rows; (void)n; */
    for (int r = 0; r < rows; r++)
        p[r] = nn_neuron_sigmoid(nn_neuron_sum(w, b, x + (size_t)r * n, n));
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/* log(1 + e^z) without overflow: for z > 0, log(1 + e^z) = z + log(1 + e^{−z}),
 * so in both cases only e^{−|z|} <= 1 is ever computed. */
static float softplus(float z)
{
    return fmaxf(z, 0.0f) + log1pf(expf(-fabsf(z)));
}
/* END SOLUTION */

float nn_logistic_step(float *w, float *b, const float *x, const int *y,
                       float lr, int rows, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)b; (void)x; (void)y; (void)lr; (void)rows; (void)n; return 0.0f; */
    /* Every p_r must use the old w, so the gradient is summed over the whole
     * table before w moves. A lab-1 table has a handful of features, so its
     * gradient fits on the stack. */
    float grad_w[n];
    float grad_b = 0.0f;
    float loss = 0.0f;
    for (int i = 0; i < n; i++)
        grad_w[i] = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float z = nn_neuron_sum(w, *b, xr, n);
        /* With p = σ(z): −log(1 − p) = log(1 + e^z) = softplus(z) and
         * −log p = softplus(−z) = softplus(z) − z, so the loss of the row is
         * softplus(z) − y z. It stays accurate where p rounds to 0 or 1 in
         * float and log p or log(1 − p) would be −∞. */
        loss += softplus(z) - (float)y[r] * z;
        float err = nn_neuron_sigmoid(z) - (float)y[r]; /* ∂loss_r/∂z = p − y */
        for (int i = 0; i < n; i++)
            grad_w[i] += err * xr[i];
        grad_b += err;
    }
    float step = lr / (float)rows; /* the 1/R of the mean, folded into lr */
    for (int i = 0; i < n; i++)
        w[i] -= step * grad_w[i];
    *b -= step * grad_b;
    return loss / (float)rows;
    /* END SOLUTION */
}
