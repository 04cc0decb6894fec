/**
 * @file neuron.h
 * @brief Lab 1: one artificial neuron, the perceptron rule, logistic regression.
 *
 * A neuron computes a weighted sum of its inputs plus a bias,
 * z = w·x + b, and passes z through an output function. With a step
 * output it is Rosenblatt's perceptron; with a sigmoid output and the
 * binary cross-entropy loss it is logistic regression.
 */
#ifndef NNLAB_NEURON_H
#define NNLAB_NEURON_H

/**
 * @brief Weighted sum plus bias: z = Σ_i w_i x_i + b.
 * @param w [n] weights
 * @param b bias
 * @param x [n] inputs
 * @param n number of inputs
 * @return z
 */
float nn_neuron_sum(const float *w, float b, const float *x, int n);

/** @brief Step output: 1 if z >= 0, else 0. @param z weighted sum @return 0 or 1 */
float nn_neuron_step(float z);

/** @brief Sign output: +1 if z >= 0, else -1. @param z weighted sum @return -1 or +1 */
float nn_neuron_sign(float z);

/**
 * @brief Sigmoid output σ(z) = 1 / (1 + e^{-z}), in (0, 1).
 *
 * Must not overflow for large |z|.
 * @param z weighted sum
 * @return σ(z)
 */
float nn_neuron_sigmoid(float z);

/**
 * @brief One perceptron update on one example.
 *
 * Prediction ŷ = step(w·x + b). If ŷ ≠ y:
 * w ← w + lr (y − ŷ) x and b ← b + lr (y − ŷ).
 * @param w [n] weights, updated in place
 * @param b bias, updated in place
 * @param x [n] example
 * @param y its label, 0 or 1
 * @param lr learning rate
 * @param n number of inputs
 * @return 1 if the example was misclassified (an update happened), else 0
 */
int nn_perceptron_update(float *w, float *b, const float *x, int y, float lr, int n);

/**
 * @brief One pass of the perceptron rule over a table, in row order.
 * @param w [n] weights, updated in place
 * @param b bias, updated in place
 * @param x [rows, n] examples
 * @param y [rows] labels, 0 or 1
 * @param lr learning rate
 * @param rows number of examples
 * @param n number of inputs
 * @return number of misclassified examples during the pass
 */
int nn_perceptron_epoch(float *w, float *b, const float *x, const int *y,
                        float lr, int rows, int n);

/**
 * @brief Logistic regression probabilities p_r = σ(w·x_r + b).
 * @param p [rows] output probabilities
 * @param w [n] weights
 * @param b bias
 * @param x [rows, n] examples
 * @param rows number of examples
 * @param n number of inputs
 */
void nn_logistic_predict(float *p, const float *w, float b, const float *x,
                         int rows, int n);

/**
 * @brief One full-batch gradient-descent step of logistic regression.
 *
 * Loss L = −(1/R) Σ_r [y_r log p_r + (1 − y_r) log(1 − p_r)]; its gradient
 * is ∂L/∂w = (1/R) Σ_r (p_r − y_r) x_r and ∂L/∂b = (1/R) Σ_r (p_r − y_r).
 * Then w ← w − lr ∂L/∂w, b ← b − lr ∂L/∂b.
 * @param w [n] weights, updated in place
 * @param b bias, updated in place
 * @param x [rows, n] examples
 * @param y [rows] labels, 0 or 1
 * @param lr learning rate
 * @param rows number of examples
 * @param n number of inputs
 * @return the loss L before the step. It stays finite and accurate where p
 *         rounds to 0 or 1 in float: the loss of one row equals
 *         log(1 + e^z) − y z, z = w·x + b.
 */
float nn_logistic_step(float *w, float *b, const float *x, const int *y,
                       float lr, int rows, int n);

#endif
