/**
 * @file optimizers.h
 * @brief Lab 5: optimizers and learning-rate schedules.
 *
 * Each optimizer is one function that updates n parameters in place from
 * their gradient g and the optimizer's own state arrays (zero at start).
 * The update rules follow PyTorch's torch.optim, so results can be compared.
 */
#ifndef NNLAB_OPTIMIZERS_H
#define NNLAB_OPTIMIZERS_H

/**
 * @brief SGD with momentum: v ← μ v + g;  w ← w − lr v.
 * @param w [n] parameters
 * @param v [n] velocity (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param mu momentum μ
 */
void nn_momentum_step(float *w, float *v, const float *g, int n, float lr, float mu);

/**
 * @brief Nesterov momentum: v ← μ v + g;  w ← w − lr (g + μ v).
 * @param w [n] parameters
 * @param v [n] velocity (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param mu momentum μ
 */
void nn_nesterov_step(float *w, float *v, const float *g, int n, float lr, float mu);

/**
 * @brief AdaGrad: h ← h + g²;  w ← w − lr g / (√h + ε).
 * @param w [n] parameters
 * @param h [n] sum of squared gradients (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param eps ε
 */
void nn_adagrad_step(float *w, float *h, const float *g, int n, float lr, float eps);

/**
 * @brief RMSProp: s ← ρ s + (1 − ρ) g²;  w ← w − lr g / (√s + ε).
 * @param w [n] parameters
 * @param s [n] running mean of g² (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param rho decay ρ
 * @param eps ε
 */
void nn_rmsprop_step(float *w, float *s, const float *g, int n, float lr, float rho, float eps);

/**
 * @brief AdaDelta: s ← ρ s + (1 − ρ) g²;  Δ = g √(d + ε) / √(s + ε);
 *        d ← ρ d + (1 − ρ) Δ²;  w ← w − lr Δ.
 * @param w [n] parameters
 * @param s [n] running mean of g² (state)
 * @param d [n] running mean of Δ² (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate (1.0 in the original method)
 * @param rho decay ρ
 * @param eps ε
 */
void nn_adadelta_step(float *w, float *s, float *d, const float *g, int n, float lr,
                      float rho, float eps);

/**
 * @brief Adam with bias correction:
 *        m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
 *        m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);  w ← w − lr m̂ / (√v̂ + ε).
 * @param w [n] parameters
 * @param m [n] first moment (state)
 * @param v [n] second moment (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param beta1 β₁
 * @param beta2 β₂
 * @param eps ε
 * @param t step number, starting at 1
 */
void nn_adam_step(float *w, float *m, float *v, const float *g, int n, float lr,
                  float beta1, float beta2, float eps, int t);

/**
 * @brief AdamW: decoupled weight decay w ← w − lr λ w, then an Adam step.
 * @param w [n] parameters
 * @param m [n] first moment (state)
 * @param v [n] second moment (state)
 * @param g [n] gradient
 * @param n number of parameters
 * @param lr learning rate
 * @param beta1 β₁
 * @param beta2 β₂
 * @param eps ε
 * @param weight_decay λ
 * @param t step number, starting at 1
 */
void nn_adamw_step(float *w, float *m, float *v, const float *g, int n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int t);

/**
 * @brief Step decay: lr = lr0 · γ^⌊epoch / step_size⌋.
 * @param lr0 initial rate
 * @param epoch epoch, from 0
 * @param step_size epochs between decays, >= 1
 * @param gamma factor per decay
 * @return the learning rate
 */
float nn_lr_step_decay(float lr0, int epoch, int step_size, float gamma);

/**
 * @brief Exponential decay: lr = lr0 · γ^epoch.
 * @param lr0 initial rate
 * @param epoch epoch, from 0
 * @param gamma factor per epoch
 * @return the learning rate
 */
float nn_lr_exponential(float lr0, int epoch, float gamma);

/**
 * @brief Cosine annealing: lr = lr_min + ½ (lr0 − lr_min)(1 + cos(π t / T)).
 * @param lr0 initial rate
 * @param t step or epoch, from 0; clamped to T
 * @param total T, >= 1
 * @param lr_min final rate
 * @return the learning rate
 */
float nn_lr_cosine(float lr0, int t, int total, float lr_min);

/**
 * @brief Linear warm-up: lr = lr0 · (t + 1) / warmup for t < warmup, then lr0.
 * @param lr0 target rate
 * @param t step, from 0
 * @param warmup number of warm-up steps, >= 1
 * @return the learning rate
 */
float nn_lr_warmup(float lr0, int t, int warmup);

#endif
