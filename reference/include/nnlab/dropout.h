/**
 * @file dropout.h
 * @brief Lab 6 (part 1): regularization — inverted dropout, L2 weight
 *        decay, early stopping.
 */
#ifndef NNLAB_DROPOUT_H
#define NNLAB_DROPOUT_H

#include "nnlab/rng.h"

/**
 * @brief Inverted dropout forward.
 *
 * Training: each element is kept with probability 1 − p and then scaled
 * by 1/(1 − p), so that E[out] = in; dropped elements are 0. The mask
 * stores the factor used (0 or 1/(1 − p)). One uniform draw per element,
 * in order: element i is dropped when nn_rng_uniform(rng) < p.
 * Evaluation (training = 0): out = in, mask = 1, rng untouched.
 * @param out [n] output (may equal in)
 * @param mask [n] factor applied to each element, kept for backward
 * @param in [n] input
 * @param n number of elements
 * @param p drop probability, 0 <= p < 1
 * @param training nonzero while training
 * @param rng random stream for the mask
 */
void nn_dropout_forward(float *out, float *mask, const float *in, int n, float p,
                        int training, nn_rng *rng);

/**
 * @brief Inverted dropout backward: din += dout ⊙ mask.
 * @param din [n] input gradient, accumulated
 * @param dout [n] output gradient
 * @param mask [n] from the forward pass
 * @param n number of elements
 */
void nn_dropout_backward(float *din, const float *dout, const float *mask, int n);

/**
 * @brief L2 penalty (λ/2) Σ w².
 * @param w [n] weights
 * @param n number of weights
 * @param lambda λ
 * @return the penalty, added to the loss
 */
float nn_l2_penalty(const float *w, int n, float lambda);

/**
 * @brief Gradient of the L2 penalty: dw += λ w (coupled weight decay).
 * @param dw [n] weight gradient, accumulated
 * @param w [n] weights
 * @param n number of weights
 * @param lambda λ
 */
void nn_l2_backward(float *dw, const float *w, int n, float lambda);

/** Early-stopping state: the best validation loss seen and the wait since. */
typedef struct {
    float best;        /**< lowest validation loss so far (start: INFINITY) */
    int best_epoch;    /**< epoch it was reached (start: -1) */
    int patience;      /**< epochs without improvement tolerated */
    int wait;          /**< epochs since the last improvement */
} nn_early_stop;

/**
 * @brief Start early stopping.
 * @param es state out
 * @param patience epochs without improvement before stopping, >= 1
 */
void nn_early_stop_init(nn_early_stop *es, int patience);

/**
 * @brief Record an epoch's validation loss.
 *
 * An epoch improves when val_loss < best; then best and best_epoch are
 * updated and wait resets to 0. Otherwise wait grows by one.
 * @param es state
 * @param val_loss this epoch's validation loss
 * @param epoch this epoch's number
 * @return 1 if this epoch improved (save the weights now), -1 if wait has
 *         reached patience (stop, restore the saved weights), else 0
 */
int nn_early_stop_update(nn_early_stop *es, float val_loss, int epoch);

#endif
