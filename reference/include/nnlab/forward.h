/**
 * @file forward.h
 * @brief Lab 3: the forward pass — matrix products, dense layers, an MLP,
 *        weight initialisation, losses and accuracy.
 *
 * Layout: row-major, batch first. A dense layer with n_in inputs and n_out
 * outputs stores its weights as W [n_out, n_in] (one row per output unit,
 * as PyTorch's nn.Linear) and its bias as b [n_out].
 */
#ifndef NNLAB_FORWARD_H
#define NNLAB_FORWARD_H

#include "nnlab/activations.h"
#include "nnlab/rng.h"

/**
 * @brief Matrix product by three loops: C = A B.
 * @param c [m, n] output
 * @param a [m, k] left factor
 * @param b [k, n] right factor
 * @param m rows of A and C
 * @param k columns of A, rows of B
 * @param n columns of B and C
 */
void nn_matmul_naive(float *c, const float *a, const float *b, int m, int k, int n);

/**
 * @brief The same product through cblas_sgemm: C = A B.
 * @param c [m, n] output
 * @param a [m, k] left factor
 * @param b [k, n] right factor
 * @param m rows of A and C
 * @param k columns of A, rows of B
 * @param n columns of B and C
 */
void nn_matmul_blas(float *c, const float *a, const float *b, int m, int k, int n);

/**
 * @brief Dense (fully connected) layer: out = in Wᵀ + b.
 *
 * out[r, j] = Σ_i in[r, i] W[j, i] + b[j], through one cblas_sgemm.
 * @param out [batch, n_out] output (pre-activation z)
 * @param in [batch, n_in] input
 * @param w [n_out, n_in] weights
 * @param b [n_out] bias
 * @param batch number of rows
 * @param n_in inputs per row
 * @param n_out outputs per row
 */
void nn_dense_forward(float *out, const float *in, const float *w, const float *b,
                      int batch, int n_in, int n_out);

/**
 * @brief An MLP, described by plain arrays (no framework types).
 *
 * Layer l (0-based, l < n_layers) maps sizes[l] inputs to sizes[l+1]
 * outputs with w[l] [sizes[l+1], sizes[l]] and b[l] [sizes[l+1]]. Hidden
 * layers apply `act`; the last layer's output is left linear (logits).
 */
typedef struct {
    int n_layers;       /**< number of dense layers */
    const int *sizes;   /**< [n_layers + 1] widths, input first */
    float **w;          /**< [n_layers] weight arrays */
    float **b;          /**< [n_layers] bias arrays */
    nn_act act;         /**< hidden activation */
} nn_mlp;

/**
 * @brief MLP forward, keeping what backward needs.
 *
 * a[0] = x; for each layer l: z[l] = a[l] W_lᵀ + b_l; a[l+1] = f(z[l]) for
 * hidden layers, a[n_layers] = z[n_layers−1] (the logits) for the last.
 * @param z [n_layers] buffers, z[l] [batch, sizes[l+1]]
 * @param a [n_layers + 1] buffers, a[l] [batch, sizes[l]]; a[0] is the input
 *          and is read, not written
 * @param net the network
 * @param batch number of rows
 */
void nn_mlp_forward(float **z, float **a, const nn_mlp *net, int batch);

/**
 * @brief Uniform initialisation: w_i ~ U(−limit, limit).
 * @param w [n] weights
 * @param n number of weights
 * @param limit half-width of the interval
 * @param rng random stream
 */
void nn_init_uniform(float *w, int n, float limit, nn_rng *rng);

/**
 * @brief Xavier/Glorot uniform: limit = √(6 / (fan_in + fan_out)).
 *
 * Keeps the variance of activations and gradients equal across layers for
 * tanh/sigmoid networks (Glorot & Bengio, 2010).
 * @param w [fan_out * fan_in] weights
 * @param fan_in inputs per unit
 * @param fan_out outputs
 * @param rng random stream
 */
void nn_init_xavier(float *w, int fan_in, int fan_out, nn_rng *rng);

/**
 * @brief He/Kaiming normal: w ~ N(0, 2 / fan_in).
 *
 * ReLU zeroes half its inputs, halving the variance; the factor 2
 * restores it (He et al., 2015).
 * @param w [fan_out * fan_in] weights
 * @param fan_in inputs per unit
 * @param fan_out outputs
 * @param rng random stream
 */
void nn_init_he(float *w, int fan_in, int fan_out, nn_rng *rng);

/**
 * @brief Mean squared error L = (1/(batch·n)) Σ (pred − target)².
 * @param pred [batch, n] predictions
 * @param target [batch, n] targets
 * @param batch rows
 * @param n values per row
 * @return L
 */
float nn_mse_loss(const float *pred, const float *target, int batch, int n);

/**
 * @brief Binary cross-entropy on probabilities,
 *        L = −(1/n) Σ [y log p + (1 − y) log(1 − p)].
 *
 * Each log is clamped below at −100 (as PyTorch), so p = 0 or 1 gives a
 * large finite loss rather than ∞ or NaN.
 * @param p [n] predicted probabilities
 * @param y [n] targets in [0, 1]
 * @param n number of values
 * @return L
 */
float nn_bce_loss(const float *p, const float *y, int n);

/**
 * @brief Softmax cross-entropy from logits, by log-sum-exp:
 *        L = (1/batch) Σ_r [log Σ_j e^{x_rj} − x_{r,y_r}].
 *
 * Stable for logits of any magnitude (the max is subtracted first).
 * @param logits [batch, classes]
 * @param labels [batch] class indices in [0, classes)
 * @param batch rows
 * @param classes number of classes
 * @return L, the mean loss per row
 */
float nn_cross_entropy_loss(const float *logits, const int *labels, int batch, int classes);

/**
 * @brief Index of the largest value of a row (first one on ties).
 * @param row [n] values
 * @param n number of values
 * @return the index in [0, n)
 */
int nn_argmax(const float *row, int n);

/**
 * @brief Fraction of rows whose argmax equals the label.
 * @param scores [batch, classes] logits or probabilities
 * @param labels [batch] class indices
 * @param batch rows
 * @param classes number of classes
 * @return accuracy in [0, 1]
 */
float nn_accuracy(const float *scores, const int *labels, int batch, int classes);

#endif
