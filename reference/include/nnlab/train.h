/**
 * @file train.h
 * @brief The trainer: optimizers over a model's parameters, learning-rate
 *        schedules, minibatch epochs, evaluation, CSV logs.
 */
#ifndef NNLAB_TRAIN_H
#define NNLAB_TRAIN_H

#include <stdint.h>
#include "nnlab/data.h"
#include "nnlab/model.h"

/** Optimizers (lab 5's update rules). */
typedef enum {
    NN_OPT_SGD, NN_OPT_MOMENTUM, NN_OPT_NESTEROV, NN_OPT_ADAGRAD,
    NN_OPT_RMSPROP, NN_OPT_ADADELTA, NN_OPT_ADAM, NN_OPT_ADAMW
} nn_opt_kind;

/** Optimizer settings; nn_opt_defaults() gives PyTorch's defaults. */
typedef struct {
    nn_opt_kind kind;    /**< which update rule */
    float lr;            /**< learning rate */
    float momentum;      /**< μ (momentum, nesterov) */
    float beta1;         /**< β₁ (adam, adamw) */
    float beta2;         /**< β₂ (adam, adamw) */
    float rho;           /**< ρ (rmsprop, adadelta) */
    float eps;           /**< ε */
    float weight_decay;  /**< λ: L2 decay coupled into the gradient (g += λw),
                              decoupled for adamw; 0 for none */
} nn_opt_config;

/** Learning-rate schedules (lab 5), applied per epoch. */
typedef enum {
    NN_SCHED_CONSTANT,   /**< lr0 throughout */
    NN_SCHED_STEP,       /**< ×0.1 every third of the epochs */
    NN_SCHED_EXPONENTIAL,/**< ×0.9 per epoch */
    NN_SCHED_COSINE,     /**< cosine from lr0 to 0 over the epochs */
    NN_SCHED_WARMUP      /**< linear warm-up over the first epoch's steps */
} nn_schedule;

/** An optimizer bound to a model's parameters. */
typedef struct {
    nn_opt_config cfg;   /**< settings */
    int step;            /**< steps taken (t of Adam) */
    int n;               /**< number of parameter tensors */
    nn_tensor *s1;       /**< [n] first state array per parameter (velocity, m, h, s) */
    nn_tensor *s2;       /**< [n] second state array (v of Adam, d of AdaDelta) */
} nn_optimizer;

/** Training settings. */
typedef struct {
    int epochs;          /**< passes over the training set */
    int batch;           /**< minibatch size */
    uint64_t seed;       /**< drives the shuffles */
    nn_opt_config opt;   /**< optimizer */
    nn_schedule schedule;/**< learning-rate schedule */
    const char *log_path;/**< CSV log written epoch by epoch; NULL for none */
    int progress;        /**< 1: draw progress on stderr; 0: silent */
    int patience;        /**< early stopping: stop after this many epochs without a
                              lower validation loss and restore the best weights;
                              0 for none (needs a validation set) */
} nn_train_config;

/** What one epoch achieved. */
typedef struct {
    int epoch;           /**< from 1 */
    float lr;            /**< learning rate used */
    float train_loss;    /**< mean minibatch loss */
    float train_acc;     /**< accuracy over the epoch's minibatches */
    float val_loss;      /**< validation loss (NaN without a validation set) */
    float val_acc;       /**< validation accuracy (NaN without one) */
    double seconds;      /**< wall time of the epoch */
} nn_epoch_stats;

/**
 * @brief PyTorch's defaults for an optimizer.
 * @param kind optimizer
 * @param lr learning rate
 * @return the settings
 */
nn_opt_config nn_opt_defaults(nn_opt_kind kind, float lr);

/** @brief Name of an optimizer. @param kind optimizer @return "sgd", "adam", ...; "?" when out of range */
const char *nn_opt_name(nn_opt_kind kind);

/**
 * @brief Optimizer from its name.
 * @param name e.g. "adam"
 * @return the kind, or -1 with nn_last_error() set
 */
int nn_opt_from_name(const char *name);

/**
 * @brief Schedule from its name: constant, step, exponential, cosine, warmup.
 * @param name schedule name
 * @return the schedule, or -1 with nn_last_error() set
 */
int nn_schedule_from_name(const char *name);

/**
 * @brief Bind an optimizer to a model (state arrays zeroed).
 * @param o optimizer out
 * @param m model
 * @param cfg settings
 * @return NN_OK or NN_ERROR
 */
int nn_optimizer_init(nn_optimizer *o, const nn_model *m, const nn_opt_config *cfg);

/**
 * @brief Update every parameter from its gradient.
 * @param o optimizer
 * @param m model (its gradients filled by nn_model_backward())
 * @param lr learning rate for this step
 */
void nn_optimizer_step(nn_optimizer *o, nn_model *m, float lr);

/** @brief Free the optimizer's state. @param o optimizer */
void nn_optimizer_free(nn_optimizer *o);

/**
 * @brief Learning rate of a schedule at an epoch and step.
 * @param s schedule
 * @param lr0 base rate
 * @param epoch epoch, from 0
 * @param epochs total epochs
 * @param step optimizer step, from 0
 * @param steps_per_epoch batches per epoch
 * @return the learning rate
 */
float nn_schedule_lr(nn_schedule s, float lr0, int epoch, int epochs, int step,
                     int steps_per_epoch);

/**
 * @brief Train a model with softmax cross-entropy.
 *
 * Each epoch shuffles the training rows (seeded), runs minibatches in
 * training mode (forward, loss, zero gradients, backward, optimizer step),
 * evaluates on the validation set in evaluation mode, appends a row to the
 * CSV log and flushes it. With cfg->patience, stops early and leaves the
 * weights of the best validation epoch in the model. Stops with NN_ERROR
 * the moment a loss is NaN or infinite; the log written so far is kept.
 * @param m model
 * @param train training set
 * @param val validation set, or NULL
 * @param cfg settings
 * @param history [cfg->epochs] per-epoch results out, or NULL (epochs
 *        not run after an early stop have epoch = 0)
 * @return NN_OK or NN_ERROR
 */
int nn_train(nn_model *m, const nn_dataset *train, const nn_dataset *val,
             const nn_train_config *cfg, nn_epoch_stats *history);

/**
 * @brief Mean cross-entropy loss and accuracy of a model on a data set.
 * @param m model
 * @param ds data set
 * @param batch rows per forward pass
 * @param loss mean loss out (may be NULL)
 * @param acc accuracy in [0, 1] out (may be NULL)
 * @return NN_OK or NN_ERROR (out of memory, shape mismatch)
 */
int nn_evaluate(nn_model *m, const nn_dataset *ds, int batch, float *loss, float *acc);

/**
 * @brief Predicted class of every row (argmax of the logits).
 * @param pred [ds->n] predictions out
 * @param prob [ds->n] softmax probability of the predicted class out, or NULL
 * @param m model
 * @param ds data set
 * @param batch rows per forward pass
 * @return NN_OK or NN_ERROR
 */
int nn_predict(int *pred, float *prob, nn_model *m, const nn_dataset *ds, int batch);

#endif
