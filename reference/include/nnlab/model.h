/**
 * @file model.h
 * @brief The model container: a sequence of layers with forward, backward
 *        and named parameters.
 *
 * A model is built from a specification string such as "784-256-128-10"
 * (layer widths, input first) and a hidden activation: dense layers with
 * the activation between them, logits at the end. The container owns
 * every buffer (parameters, gradients, per-layer outputs for a batch) and
 * calls the lab modules' kernels (nn_dense_forward, nn_activation_forward,
 * nn_dense_backward, nn_activation_backward) to do the arithmetic, so a
 * student's lab files plug straight into it.
 */
#ifndef NNLAB_MODEL_H
#define NNLAB_MODEL_H

#include "nnlab/activations.h"
#include "nnlab/rng.h"
#include "nnlab/tensor.h"

/** Longest model specification string, including the NUL. */
#define NN_SPEC_MAX 256

/** Kinds of layer. */
typedef enum {
    NN_LAYER_DENSE,      /**< out = in Wᵀ + b */
    NN_LAYER_ACTIVATION  /**< out = f(in), element-wise */
} nn_layer_kind;

/** One layer and its buffers. */
typedef struct {
    nn_layer_kind kind;  /**< what the layer computes */
    int n_in;            /**< features per example in */
    int n_out;           /**< features per example out */
    nn_act act;          /**< activation (NN_LAYER_ACTIVATION) */
    nn_tensor w;         /**< weights [n_out, n_in] (dense) */
    nn_tensor b;         /**< bias [n_out] (dense) */
    nn_tensor dw;        /**< weight gradient, same shape as w */
    nn_tensor db;        /**< bias gradient, same shape as b */
    float *out;          /**< [capacity, n_out] output of the last forward */
    float *dout;         /**< [capacity, n_out] gradient of the loss w.r.t. out */
} nn_layer;

/** A trainable parameter: a view into a layer's tensors. */
typedef struct {
    char name[64];       /**< PyTorch-style name, e.g. "layers.0.weight" */
    nn_tensor *value;    /**< the parameter */
    nn_tensor *grad;     /**< its gradient */
} nn_param;

/** A sequential model. */
typedef struct {
    char spec[NN_SPEC_MAX]; /**< the specification it was built from */
    nn_act act;             /**< hidden activation */
    int n_layers;           /**< number of layers */
    nn_layer *layers;       /**< [n_layers] */
    int n_params;           /**< number of parameter tensors */
    nn_param *params;       /**< [n_params] */
    int capacity;           /**< largest batch the buffers hold */
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
 * "784-256-128-10" gives dense 784→256, act, dense 256→128, act,
 * dense 128→10. Weights: He normal for the ReLU family, Xavier uniform
 * otherwise; biases zero.
 * @param spec layer widths joined by '-', at least two, each 1..1000000
 * @param act hidden activation
 * @param rng random stream for the initial weights
 * @return the model, or NULL with nn_last_error() set (bad spec, out of memory)
 */
nn_model *nn_model_create(const char *spec, nn_act act, nn_rng *rng);

/** @brief Free a model and everything it owns; NULL is allowed. @param m model */
void nn_model_free(nn_model *m);

/** @brief Features per example the model takes. @param m model @return the input width */
int nn_model_inputs(const nn_model *m);

/** @brief Number of outputs (classes). @param m model @return the output width */
int nn_model_outputs(const nn_model *m);

/** @brief Total number of scalar parameters. @param m model @return Σ of the parameter tensor sizes */
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
 * @brief Save parameters and the specification as a safetensors file.
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
