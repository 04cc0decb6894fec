/**
 * @file backprop.h
 * @brief Lab 4: backpropagation, the gradient check, SGD, the training loop.
 *
 * Convention: every backward function ACCUMULATES (+=) into its gradient
 * buffers, so that a value used twice receives the sum of both
 * contributions. The caller zeroes gradients before each step.
 */
#ifndef NNLAB_BACKPROP_H
#define NNLAB_BACKPROP_H

#include "nnlab/activations.h"
#include "nnlab/forward.h"
#include "nnlab/rng.h"

/**
 * @brief Dense layer backward, for out = in Wᵀ + b.
 *
 * With G = ∂L/∂out: ∂L/∂W += Gᵀ in, ∂L/∂b += Σ_rows G, ∂L/∂in += G W.
 * @param din [batch, n_in] input gradient, accumulated; NULL to skip it
 *            (the first layer of a network needs none)
 * @param dw [n_out, n_in] weight gradient, accumulated
 * @param db [n_out] bias gradient, accumulated
 * @param dout [batch, n_out] gradient of the loss with respect to out
 * @param in [batch, n_in] the forward input
 * @param w [n_out, n_in] weights
 * @param batch rows
 * @param n_in inputs per row
 * @param n_out outputs per row
 */
void nn_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, int batch, int n_in, int n_out);

/**
 * @brief Element-wise activation backward: din_i += dout_i · f'(in_i).
 * @param din [n] input gradient, accumulated
 * @param dout [n] output gradient
 * @param in [n] the forward input (pre-activation)
 * @param n number of elements
 * @param act which f
 */
void nn_activation_backward(float *din, const float *dout, const float *in, int n, nn_act act);

/**
 * @brief MSE backward: dpred += 2 (pred − target) / (batch·n).
 * @param dpred [batch, n] gradient, accumulated
 * @param pred [batch, n] predictions
 * @param target [batch, n] targets
 * @param batch rows
 * @param n values per row
 */
void nn_mse_backward(float *dpred, const float *pred, const float *target, int batch, int n);

/**
 * @brief BCE backward on probabilities:
 *        dp += (p − y) / (p (1 − p) n), with p clamped to [1e-7, 1 − 1e-7].
 * @param dp [n] gradient, accumulated
 * @param p [n] probabilities
 * @param y [n] targets
 * @param n number of values
 */
void nn_bce_backward(float *dp, const float *p, const float *y, int n);

/**
 * @brief Softmax cross-entropy backward from logits:
 *        dlogits += (softmax(logits) − onehot(label)) / batch.
 * @param dlogits [batch, classes] gradient, accumulated
 * @param logits [batch, classes] logits
 * @param labels [batch] class indices
 * @param batch rows
 * @param classes number of classes
 */
void nn_cross_entropy_backward(float *dlogits, const float *logits, const int *labels,
                               int batch, int classes);

/**
 * @brief Softmax backward: din += y ⊙ (dout − Σ_j dout_j y_j), per row.
 * @param din [rows, cols] gradient, accumulated
 * @param dout [rows, cols] output gradient
 * @param out [rows, cols] the forward output y = softmax(x)
 * @param rows rows
 * @param cols columns
 */
void nn_softmax_backward(float *din, const float *dout, const float *out, int rows, int cols);

/**
 * @brief A scalar function of a parameter array, for the gradient check.
 * @param ctx caller's data
 * @return the function's value (e.g. a loss) at the current parameters
 */
typedef double (*nn_objective)(void *ctx);

/**
 * @brief Numerical gradient check by central differences.
 *
 * For each i: g_i ≈ (f(θ + h e_i) − f(θ − h e_i)) / 2h, computed in
 * double (2h being the step actually taken once θ_i ± h is rounded to
 * float), and rel_i = |g_i − a_i| / max(1e-8, |g_i| + |a_i|), where a is
 * the analytic gradient. θ is perturbed in place and restored exactly.
 * @param rel_err [n] per-parameter relative error out; NULL to skip
 * @param f objective, reading the parameters through ctx
 * @param ctx passed to f
 * @param theta [n] parameters the objective reads
 * @param analytic [n] gradient to check
 * @param n number of parameters
 * @param h step (1e-3 suits float parameters and a double objective)
 * @return the largest relative error
 */
double nn_grad_check(double *rel_err, nn_objective f, void *ctx, float *theta,
                     const float *analytic, int n, double h);

/**
 * @brief Plain gradient-descent step: w ← w − lr g.
 * @param w [n] parameters, updated
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 */
void nn_sgd_step(float *w, const float *g, int n, float lr);

/**
 * @brief MLP backward after nn_mlp_forward(), cross-entropy loss on logits.
 *
 * Fills dw[l] and db[l] (accumulating) for every layer.
 * @param dw [n_layers] weight gradients, dw[l] [sizes[l+1], sizes[l]]
 * @param db [n_layers] bias gradients, db[l] [sizes[l+1]]
 * @param dz [n_layers] scratch, dz[l] [batch, sizes[l+1]]; contents on
 *           entry are ignored
 * @param da [n_layers + 1] scratch, da[l] [batch, sizes[l]]; contents on
 *           entry are ignored
 * @param z the forward pass's z buffers
 * @param a the forward pass's a buffers
 * @param labels [batch] class indices
 * @param net the network
 * @param batch rows
 */
void nn_mlp_backward(float **dw, float **db, float **dz, float **da, float **z, float **a,
                     const int *labels, const nn_mlp *net, int batch);

/**
 * @brief One epoch of minibatch SGD on an MLP with cross-entropy loss.
 *
 * Shuffles the rows with rng (the order 0, 1, …, rows−1, shuffled once
 * with nn_rng_shuffle(rng, order, rows)), then for each minibatch of that
 * order: forward, zero the gradients, backward, SGD step. The last batch
 * may be smaller. The same seed therefore gives the same epoch in every
 * correct implementation.
 * @param net the network, trained in place
 * @param x [rows, sizes[0]] inputs
 * @param y [rows] labels
 * @param rows number of examples
 * @param batch minibatch size
 * @param lr learning rate
 * @param rng random stream for the shuffle
 * @return the mean training loss over the epoch, Σ n_b·L_b / rows over
 *         the minibatches b of n_b rows (each loss L_b taken before its
 *         step), or NaN with nn_last_error() set when
 *         rows or batch is below 1 or memory runs out
 */
float nn_mlp_train_epoch(nn_mlp *net, const float *x, const int *y, int rows, int batch,
                         float lr, nn_rng *rng);

#endif
