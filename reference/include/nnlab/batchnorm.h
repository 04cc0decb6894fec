/**
 * @file batchnorm.h
 * @brief Lab 6 (part 2): batch normalisation (Ioffe & Szegedy, 2015).
 *
 * One layout serves both uses: x is [batch, c, spatial]. After a dense
 * layer spatial = 1 (normalise each feature over the batch); after a conv
 * layer spatial = h·w (normalise each channel over the batch and every
 * pixel). Statistics are taken over m = batch·spatial values per channel.
 *
 * Training:  μ = (1/m) Σ x,  σ² = (1/m) Σ (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),
 *            y = γ x̂ + β;  running stats r ← (1 − momentum) r + momentum · stat,
 *            with the unbiased variance σ²·m/(m − 1) for the running variance
 *            (as PyTorch). With m = 1 that estimate does not exist (PyTorch
 *            refuses such a batch): the running variance is left unchanged.
 * Evaluation: y = γ (x − r_mean)/√(r_var + ε) + β.
 */
#ifndef NNLAB_BATCHNORM_H
#define NNLAB_BATCHNORM_H

/**
 * @brief Batch norm forward in training mode (batch statistics).
 * @param out [batch, c, spatial] output y
 * @param xhat [batch, c, spatial] normalised input x̂, kept for backward
 * @param mean [c] batch mean μ, kept
 * @param invstd [c] 1/√(σ² + ε), kept for backward
 * @param run_mean [c] running mean, updated
 * @param run_var [c] running variance, updated
 * @param in [batch, c, spatial] input x
 * @param gamma [c] scale γ
 * @param beta [c] shift β
 * @param batch images or rows
 * @param c channels or features
 * @param spatial pixels per channel (1 after a dense layer)
 * @param momentum weight of the new statistic in the running average (0.1)
 * @param eps ε (1e-5)
 */
void nn_batchnorm_forward_train(float *out, float *xhat, float *mean, float *invstd,
                                float *run_mean, float *run_var, const float *in,
                                const float *gamma, const float *beta, int batch, int c,
                                int spatial, float momentum, float eps);

/**
 * @brief Batch norm forward in evaluation mode (running statistics).
 * @param out [batch, c, spatial] output
 * @param in [batch, c, spatial] input
 * @param gamma [c] scale γ
 * @param beta [c] shift β
 * @param run_mean [c] running mean
 * @param run_var [c] running variance
 * @param batch images or rows
 * @param c channels or features
 * @param spatial pixels per channel
 * @param eps ε
 */
void nn_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                               const float *beta, const float *run_mean, const float *run_var,
                               int batch, int c, int spatial, float eps);

/**
 * @brief Batch norm backward (training mode), accumulating:
 *        ∂L/∂β += Σ dy,  ∂L/∂γ += Σ dy·x̂,
 *        ∂L/∂x += (γ·invstd / m) (m·dy − Σ dy − x̂ Σ dy·x̂).
 * @param din [batch, c, spatial] input gradient, accumulated
 * @param dgamma [c] accumulated
 * @param dbeta [c] accumulated
 * @param dout [batch, c, spatial] output gradient dy
 * @param xhat [batch, c, spatial] from the forward pass
 * @param gamma [c] scale γ
 * @param invstd [c] from the forward pass
 * @param batch images or rows
 * @param c channels or features
 * @param spatial pixels per channel
 */
void nn_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *xhat, const float *gamma, const float *invstd,
                           int batch, int c, int spatial);

#endif
