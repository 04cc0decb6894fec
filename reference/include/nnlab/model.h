/**
 * @file model.h
 * @brief The model container: a sequence of layers with forward, backward,
 *        named parameters and checkpoints.
 *
 * A model is built from a specification string. Two forms:
 *
 * - MLP shorthand, layer widths joined by '-': "784-256-128-10" gives
 *   dense layers with the hidden activation between them, logits at the end.
 * - A layer list joined by ',', for any network:
 *   "conv:6x5x5:pad=2,relu,maxpool:2,conv:16x5x5,relu,maxpool:2,flatten,
 *   dense:120,relu,dense:84,relu,dense:10". Layers:
 *   `dense:N`, `conv:COUTxKHxKW[:stride=S][:pad=P]`, `maxpool:K[:stride=S]`,
 *   `avgpool:K[:stride=S]` (stride defaults to K), `flatten`, `dropout:P`,
 *   `batchnorm` (per feature after a dense layer, per channel after a conv
 *   layer), and any activation name (`relu`, `tanh`, ...).
 * - Presets: "mlp" (784-256-128-10), "lenet5" (the list above), and
 *   "lenet5-bn" (LeNet-5 with batch norm after each conv and hidden dense
 *   layer and dropout 0.25 before the classifier).
 *
 * The container owns every buffer (parameters, gradients, per-layer outputs
 * for a batch, scratch) and calls the lab modules' kernels for the
 * arithmetic, so a student's lab files plug straight into it.
 */
#ifndef NNLAB_MODEL_H
#define NNLAB_MODEL_H

#include "nnlab/activations.h"
#include "nnlab/rng.h"
#include "nnlab/tensor.h"
#include <stdio.h>

/** Longest model specification string, including the NUL. */
#define NN_SPEC_MAX 512

/** Kinds of layer. */
typedef enum {
    NN_LAYER_DENSE,      /**< out = in Wᵀ + b */
    NN_LAYER_ACTIVATION, /**< out = f(in), element-wise */
    NN_LAYER_CONV,       /**< 2-D convolution (conv.h) */
    NN_LAYER_MAXPOOL,    /**< max pooling (pool.h) */
    NN_LAYER_AVGPOOL,    /**< average pooling (pool.h) */
    NN_LAYER_FLATTEN,    /**< [c, h, w] seen as [c·h·w]: a copy */
    NN_LAYER_DROPOUT,    /**< inverted dropout (dropout.h) */
    NN_LAYER_BATCHNORM   /**< batch normalisation (batchnorm.h) */
} nn_layer_kind;

/** One layer, its settings and its buffers. Shapes are per example. */
typedef struct {
    nn_layer_kind kind;  /**< what the layer computes */
    int in_c;            /**< input channels (features for flat data) */
    int in_h;            /**< input height (1 for flat data) */
    int in_w;            /**< input width (1 for flat data) */
    int out_c;           /**< output channels */
    int out_h;           /**< output height */
    int out_w;           /**< output width */
    int n_in;            /**< in_c·in_h·in_w */
    int n_out;           /**< out_c·out_h·out_w */
    nn_act act;          /**< activation (NN_LAYER_ACTIVATION) */
    int kh;              /**< kernel/window height (conv, pooling) */
    int kw;              /**< kernel/window width (conv, pooling) */
    int stride;          /**< step (conv, pooling) */
    int pad;             /**< zero padding (conv) */
    float p;             /**< drop probability (dropout) */
    nn_tensor w;         /**< weights: dense [n_out, n_in], conv [c_out, c_in, kh, kw]; batch norm γ [c] */
    nn_tensor b;         /**< bias [n_out] or [c_out]; batch norm β [c] */
    nn_tensor dw;        /**< gradient of w */
    nn_tensor db;        /**< gradient of b */
    nn_tensor run_mean;  /**< batch norm running mean [c] */
    nn_tensor run_var;   /**< batch norm running variance [c] */
    nn_tensor mean;      /**< batch norm batch mean [c] */
    nn_tensor invstd;    /**< batch norm 1/√(σ² + ε) [c] */
    float *out;          /**< [capacity, n_out] output of the last forward */
    float *dout;         /**< [capacity, n_out] gradient of the loss w.r.t. out */
    float *aux;          /**< [capacity, n_out] dropout mask or batch norm x̂ */
    int *argmax;         /**< [capacity, n_out] max pooling's chosen inputs */
} nn_layer;

/** A named tensor of the model: a trainable parameter (grad set) or a
 *  statistic saved in checkpoints but not trained (grad NULL). */
typedef struct {
    char name[64];       /**< PyTorch-style name, e.g. "layers.0.weight" */
    nn_tensor *value;    /**< the tensor */
    nn_tensor *grad;     /**< its gradient, or NULL for a running statistic */
} nn_param;

/** A sequential model. */
typedef struct {
    char spec[NN_SPEC_MAX]; /**< the specification it was built from */
    nn_act act;             /**< hidden activation of the MLP shorthand */
    int in_c;               /**< input channels */
    int in_h;               /**< input height */
    int in_w;               /**< input width */
    int n_layers;           /**< number of layers */
    nn_layer *layers;       /**< [n_layers] */
    int n_params;           /**< number of named tensors */
    nn_param *params;       /**< [n_params]: parameters, then running statistics */
    int capacity;           /**< largest batch the buffers hold */
    int training;           /**< 1: dropout active, batch norm uses batch statistics */
    nn_rng rng;             /**< the dropout masks' stream */
    float *work;            /**< convolution scratch */
} nn_model;

/**
 * @brief Name of an activation ("relu", "tanh", "leaky_relu", ...).
 * @param act activation
 * @return static string, "?" when out of range
 */
const char *nn_act_name(nn_act act);

/**
 * @brief Activation from its name, as printed by nn_act_name().
 * @param name e.g. "relu"
 * @return the activation, or -1 (with nn_last_error() set) when unknown
 */
int nn_act_from_name(const char *name);

/**
 * @brief Build a model from a specification and initialise its weights.
 *
 * Weights: He normal for layers followed by a ReLU-family activation,
 * Xavier uniform otherwise; biases zero; batch norm γ = 1, β = 0, running
 * mean 0 and variance 1.
 * @param spec specification or preset (see the file description)
 * @param act hidden activation of the MLP shorthand (ignored by layer lists)
 * @param in_shape [3] input channels, height, width; NULL means
 *        [first width, 1, 1] for the MLP shorthand and [1, 28, 28] otherwise
 * @param rng random stream for the initial weights; NULL leaves them zero
 * @return the model, or NULL with nn_last_error() set (bad spec, out of memory)
 */
nn_model *nn_model_create(const char *spec, nn_act act, const int *in_shape, nn_rng *rng);

/**
 * @brief Print one line per layer: kind, output shape, parameter count.
 * @param m model
 * @param out stream
 */
void nn_model_summary(const nn_model *m, FILE *out);

/**
 * @brief Switch between training mode (dropout on, batch statistics) and
 *        evaluation mode (dropout off, running statistics).
 * @param m model
 * @param training 1 to train, 0 to evaluate
 */
void nn_model_set_training(nn_model *m, int training);

/** @brief Free a model and everything it owns; NULL is allowed. @param m model */
void nn_model_free(nn_model *m);

/** @brief Features per example the model takes. @param m model @return the input width */
int nn_model_inputs(const nn_model *m);

/** @brief Number of outputs (classes). @param m model @return the output width */
int nn_model_outputs(const nn_model *m);

/** @brief Total number of trainable scalars. @param m model @return Σ of the parameter tensor sizes */
long nn_model_count_params(const nn_model *m);

/**
 * @brief Make the per-batch buffers hold at least `batch` rows.
 * @param m model
 * @param batch rows, >= 1
 * @return NN_OK or NN_ERROR (out of memory)
 */
int nn_model_reserve(nn_model *m, int batch);

/**
 * @brief Forward pass.
 * @param m model (batch <= capacity: see nn_model_reserve())
 * @param x [batch, inputs] input rows
 * @param batch number of rows
 * @return the logits [batch, outputs], owned by the model, valid until the
 *         next forward
 */
const float *nn_model_forward(nn_model *m, const float *x, int batch);

/**
 * @brief Backward pass after nn_model_forward() on the same x.
 *
 * Accumulates every parameter gradient (call nn_model_zero_grad() first).
 * @param m model
 * @param x [batch, inputs] the forward input
 * @param dlogits [batch, outputs] gradient of the loss w.r.t. the logits
 * @param batch number of rows
 */
void nn_model_backward(nn_model *m, const float *x, const float *dlogits, int batch);

/** @brief Set every parameter gradient to zero. @param m model */
void nn_model_zero_grad(nn_model *m);

/**
 * @brief Save parameters, running statistics, the specification and the
 *        input shape as a safetensors file.
 * @param m model
 * @param path file name
 * @return NN_OK or NN_ERROR
 */
int nn_model_save(const nn_model *m, const char *path);

/**
 * @brief Load a model saved by nn_model_save().
 * @param path file name
 * @return the model, or NULL with nn_last_error() set (missing file, not
 *         an nnlab checkpoint, shapes that do not match the specification)
 */
nn_model *nn_model_load(const char *path);

#endif
