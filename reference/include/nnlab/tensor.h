/**
 * @file tensor.h
 * @brief Buffers and tensors: the framework's memory.
 *
 * Lab kernels never allocate: they take plain `float *` arrays. The
 * framework owns memory through these helpers. Buffers are 64-byte aligned
 * (one cache line, one AVX-512 register) and zero-filled.
 */
#ifndef NNLAB_TENSOR_H
#define NNLAB_TENSOR_H

#include <stddef.h>

/** Most dimensions a tensor can have: [batch, channels, height, width]. */
#define NN_MAX_DIMS 4

/** A dense row-major float array with a shape. */
typedef struct {
    float *data;               /**< [size] values, row-major, owned */
    int ndim;                  /**< number of dimensions, 1..NN_MAX_DIMS */
    int shape[NN_MAX_DIMS];    /**< extent of each dimension */
    size_t size;               /**< product of the shape */
} nn_tensor;

/**
 * @brief Allocate a zero-filled, 64-byte aligned buffer.
 * @param bytes size in bytes (0 gives a valid, freeable pointer)
 * @return the buffer, or NULL with nn_last_error() set when out of memory
 */
void *nn_alloc(size_t bytes);

/** @brief Free a buffer from nn_alloc(); NULL is allowed. @param p buffer */
void nn_free(void *p);

/**
 * @brief Allocate a zero-filled tensor.
 * @param t tensor to fill in
 * @param ndim number of dimensions, 1..NN_MAX_DIMS
 * @param shape [ndim] extents, each >= 1
 * @return NN_OK, or NN_ERROR (bad shape, out of memory)
 */
int nn_tensor_alloc(nn_tensor *t, int ndim, const int *shape);

/** @brief Release a tensor's data and reset it; safe to call twice. @param t tensor */
void nn_tensor_free(nn_tensor *t);

/** @brief Set every element to zero. @param t tensor */
void nn_tensor_zero(nn_tensor *t);

#endif
