/**
 * @file activations.h
 * @brief Lab 2: activation functions, their derivatives, softmax.
 *
 * Each activation f has a scalar function `nn_<name>(x)` and its derivative
 * `nn_<name>_grad(x)` = f'(x), both taken at the pre-activation x.
 * nn_activation_forward() applies one of them to an array.
 */
#ifndef NNLAB_ACTIVATIONS_H
#define NNLAB_ACTIVATIONS_H

/** Slope of leaky ReLU for x < 0. */
#define NN_LEAKY_SLOPE 0.01f
/** α of ELU: the value ELU approaches as x → −∞ is −α. */
#define NN_ELU_ALPHA 1.0f

/** The activation functions, selectable at run time. */
typedef enum {
    NN_ACT_STEP,       /**< 1 if x >= 0 else 0 (derivative 0) */
    NN_ACT_LINEAR,     /**< x */
    NN_ACT_SIGMOID,    /**< 1 / (1 + e^{-x}) */
    NN_ACT_TANH,       /**< tanh x */
    NN_ACT_RELU,       /**< max(0, x) */
    NN_ACT_LEAKY_RELU, /**< x if x > 0 else NN_LEAKY_SLOPE x */
    NN_ACT_ELU,        /**< x if x > 0 else α (e^x − 1) */
    NN_ACT_GELU,       /**< x Φ(x), Φ the standard normal CDF */
    NN_ACT_SOFTPLUS,   /**< log(1 + e^x) */
    NN_ACT_SOFTSIGN,   /**< x / (1 + |x|) */
    NN_ACT_SWISH,      /**< x σ(x) (also called SiLU) */
    NN_ACT_MISH,       /**< x tanh(softplus(x)) */
    NN_ACT_COUNT       /**< number of activations */
} nn_act;

/** @brief Step: 1 if x >= 0 else 0. @param x input @return f(x) */
float nn_step(float x);
/** @brief Derivative of step: 0 everywhere (undefined at 0; 0 by convention). @param x input @return f'(x) */
float nn_step_grad(float x);
/** @brief Identity. @param x input @return f(x) */
float nn_linear(float x);
/** @brief Derivative of identity: 1. @param x input @return f'(x) */
float nn_linear_grad(float x);
/** @brief σ(x) = 1/(1+e^{-x}), computed without overflow for any x. @param x input @return f(x) */
float nn_sigmoid(float x);
/** @brief σ'(x) = σ(x)(1 − σ(x)). @param x input @return f'(x) */
float nn_sigmoid_grad(float x);
/** @brief tanh x. @param x input @return f(x) */
float nn_tanh(float x);
/** @brief tanh'(x) = 1 − tanh² x. @param x input @return f'(x) */
float nn_tanh_grad(float x);
/** @brief ReLU: max(0, x). @param x input @return f(x) */
float nn_relu(float x);
/** @brief ReLU'(x) = 1 if x > 0 else 0 (0 at x = 0, as PyTorch). @param x input @return f'(x) */
float nn_relu_grad(float x);
/** @brief Leaky ReLU: x if x > 0 else NN_LEAKY_SLOPE·x. @param x input @return f(x) */
float nn_leaky_relu(float x);
/** @brief Leaky ReLU': 1 if x > 0 else NN_LEAKY_SLOPE. @param x input @return f'(x) */
float nn_leaky_relu_grad(float x);
/** @brief ELU: x if x > 0 else α(e^x − 1). @param x input @return f(x) */
float nn_elu(float x);
/** @brief ELU': 1 if x > 0 else α e^x. @param x input @return f'(x) */
float nn_elu_grad(float x);
/** @brief GELU (exact): x Φ(x) = x · ½(1 + erf(x/√2)). @param x input @return f(x) */
float nn_gelu(float x);
/** @brief GELU': Φ(x) + x φ(x), φ the standard normal density. @param x input @return f'(x) */
float nn_gelu_grad(float x);
/** @brief Softplus log(1 + e^x), stable for large |x|. @param x input @return f(x) */
float nn_softplus(float x);
/** @brief Softplus' = σ(x). @param x input @return f'(x) */
float nn_softplus_grad(float x);
/** @brief Softsign x/(1 + |x|). @param x input @return f(x) */
float nn_softsign(float x);
/** @brief Softsign' = 1/(1 + |x|)². @param x input @return f'(x) */
float nn_softsign_grad(float x);
/** @brief Swish (SiLU) x σ(x). @param x input @return f(x) */
float nn_swish(float x);
/** @brief Swish' = σ(x)(1 + x(1 − σ(x))). @param x input @return f'(x) */
float nn_swish_grad(float x);
/** @brief Mish x tanh(softplus(x)). @param x input @return f(x) */
float nn_mish(float x);
/** @brief Mish' = tanh(sp) + x σ(x)(1 − tanh²(sp)), sp = softplus(x). @param x input @return f'(x) */
float nn_mish_grad(float x);

/**
 * @brief Apply one activation element-wise: out_i = f(in_i).
 * @param out [n] outputs (may equal in)
 * @param in [n] pre-activations
 * @param n number of elements
 * @param act which f
 */
void nn_activation_forward(float *out, const float *in, int n, nn_act act);

/**
 * @brief The derivative of an activation at x (dispatch over the enum).
 * @param act which f
 * @param x input
 * @return f'(x)
 */
float nn_activation_grad(nn_act act, float x);

/**
 * @brief Row-wise softmax, stable: y_j = e^{x_j − m} / Σ_k e^{x_k − m},
 *        m = max_k x_k.
 * @param out [rows, cols] probabilities, each row sums to 1 (may equal in)
 * @param in [rows, cols] logits
 * @param rows number of rows (batch)
 * @param cols number of classes
 */
void nn_softmax_forward(float *out, const float *in, int rows, int cols);

/**
 * @brief Row-wise log-softmax: y_j = x_j − m − log Σ_k e^{x_k − m}.
 * @param out [rows, cols] log-probabilities (may equal in)
 * @param in [rows, cols] logits
 * @param rows number of rows (batch)
 * @param cols number of classes
 */
void nn_log_softmax_forward(float *out, const float *in, int rows, int cols);

#endif
