/*
 * The GPU reference's kernels other than the matrix product (ops.cu):
 * what the trainer (train.cu) runs between the products. Internal; the
 * tests (test_gpu.cu) hold each one to the CPU module it mirrors.
 *
 * Every function queues its kernel(s) on the default stream and returns
 * NN_OK, or NN_ERROR when the launch was refused. All pointers are device
 * memory. Shapes are written [rows, …], row-major, batch first, as on the
 * CPU.
 *
 * One difference from the CPU kernels: backward functions WRITE their
 * gradients (=) instead of accumulating (+=). In a sequential network each
 * gradient buffer has exactly one producer per step, so writing gives the
 * same numbers and saves zeroing every buffer first.
 */
#ifndef NNLAB_GPU_OPS_H
#define NNLAB_GPU_OPS_H

#include <stdint.h>

extern "C" {
#include "nnlab/activations.h"
#include "nnlab/conv.h"
#include "nnlab/pool.h"
#include "nnlab/train.h"
}

/** Partial sums per channel used by nn_gpu_bias_act_backward() on images. */
#define NN_GPU_BIAS_SPLIT 32

/**
 * Minibatch gathering, as nn_dataset_gather(): x[r, :] = row idx[r] of the
 * data (bytes scaled by 1/255, or floats), y[r] = its label.
 * @param x [rows, dim] out
 * @param y [rows] out
 * @param u8 [n, dim] pixel bytes, or NULL
 * @param f32 [n, dim] float features (when u8 is NULL)
 * @param labels [n]
 * @param idx [rows] row numbers
 */
int nn_gpu_gather(float *x, int *y, const uint8_t *u8, const float *f32, const int *labels,
                  const int *idx, int rows, int dim);

/**
 * Bias and activation in one pass: z ← z + b[channel], a = f(z).
 * Element (r, c, p) of [rows, channels, spatial] gets b[c]; a dense layer
 * is spatial = 1, a conv layer spatial = oh·ow. a may be z (f = linear).
 */
int nn_gpu_bias_act_forward(float *z, float *a, const float *b, int rows, int channels,
                            int spatial, nn_act act);

/**
 * Their backward in one pass: dz = da ⊙ f'(z) and db[c] = Σ over rows and
 * spatial of dz. dz may be NULL (f = linear: dz would be da itself).
 * @param work [channels · NN_GPU_BIAS_SPLIT] scratch (spatial > 1 only)
 */
int nn_gpu_bias_act_backward(float *dz, float *db, float *work, const float *da, const float *z,
                             int rows, int channels, int spatial, nn_act act);

/** a = f(z), element-wise over n. */
int nn_gpu_act_forward(float *a, const float *z, long long n, nn_act act);

/** dz = da ⊙ f'(z), element-wise over n. */
int nn_gpu_act_backward(float *dz, const float *da, const float *z, long long n, nn_act act);

/** Running sums of an epoch, kept on the GPU. */
typedef struct {
    double loss;         /**< Σ of the per-row cross-entropy losses */
    long long correct;   /**< rows whose argmax is the label */
} nn_gpu_sums;

/**
 * Softmax cross-entropy of a batch, as nn_cross_entropy_loss() and
 * nn_cross_entropy_backward(): adds the rows' losses and correct
 * predictions to *sums, writes the batch's mean loss to *batch_loss (if
 * not NULL) and, when dlogits is not NULL, dlogits = (softmax − onehot)/rows.
 */
int nn_gpu_softmax_xent(float *dlogits, nn_gpu_sums *sums, float *batch_loss,
                        const float *logits, const int *y, int rows, int classes);

/** out[j] = Σ_r in[r, j] for j < cols: a sum over the leading axis, in order. */
int nn_gpu_sum_rows(float *out, const float *in, int rows, long long cols);

/** One optimizer step's settings (train.h's nn_opt_config for this step). */
typedef struct {
    nn_opt_kind kind;    /**< the update rule */
    float lr;            /**< this step's learning rate */
    float momentum;      /**< μ */
    float beta1;         /**< β₁ */
    float beta2;         /**< β₂ */
    float rho;           /**< ρ */
    float eps;           /**< ε */
    float decay;         /**< coupled L2 λ (added to g), or AdamW's decoupled λ */
    float adam_step;     /**< lr / (1 − β₁ᵗ), computed on the host in double */
    float adam_root_c2;  /**< √(1 − β₂ᵗ) */
} nn_gpu_update;

/** One tensor through the update rule (optimizers.c, train.c's update()). */
int nn_gpu_optimizer_step(float *w, float *s1, float *s2, const float *g, long long n,
                          const nn_gpu_update *u);

/** A trainable tensor for nn_gpu_optimizer_step_all(): weights, state, gradient. */
typedef struct {
    float *w, *s1, *s2;  /**< [n] weights and the optimizer's state arrays (NULL if unused) */
    const float *g;      /**< [n] gradient */
    long long n;         /**< number of weights */
} nn_gpu_tensor;

/** Every tensor of `table` (DEVICE memory, count entries, the largest max_n
 *  weights) through the update rule, in one launch. */
int nn_gpu_optimizer_step_all(const nn_gpu_tensor *table, int count, long long max_n,
                              const nn_gpu_update *u);

/** im2col of a whole batch: cols [batch, c_in·kh·kw, oh·ow], image n's matrix at n·K·P. */
int nn_gpu_im2col(float *cols, const float *in, const nn_conv_shape *s);

/** col2im of a whole batch, written: din [batch, c_in, h, w] = Σ of the column entries
 *  copied from each pixel. */
int nn_gpu_col2im(float *din, const float *dcols, const nn_conv_shape *s);

/** Max pooling forward, as nn_maxpool_forward() (argmax within each plane, ties: first). */
int nn_gpu_maxpool_forward(float *out, int *argmax, const float *in, const nn_pool_shape *s);

/** Max pooling backward, written: din = 0, then each dout goes to its argmax. */
int nn_gpu_maxpool_backward(float *din, const float *dout, const int *argmax,
                            const nn_pool_shape *s);

/** Average pooling forward, as nn_avgpool_forward(). */
int nn_gpu_avgpool_forward(float *out, const float *in, const nn_pool_shape *s);

/** Average pooling backward, written. */
int nn_gpu_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s);

/**
 * Inverted dropout in training, with the kit's stream: element i uses draw
 * number i of the generator at (state, inc), so the mask is the CPU's for
 * the same generator. The caller then advances its generator by n draws.
 * @param keep 1/(1 − p), computed by the caller in float as the CPU does
 */
int nn_gpu_dropout_forward(float *out, float *mask, const float *in, long long n, float p,
                           float keep, uint64_t state, uint64_t inc);

/** din = dout ⊙ mask. */
int nn_gpu_dropout_backward(float *din, const float *dout, const float *mask, long long n);

#endif
