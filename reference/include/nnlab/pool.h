/**
 * @file pool.h
 * @brief Lab 7: max and average pooling, forward and backward.
 *
 * Layout NCHW. A window of k×k pixels moves by `stride`; no padding. The
 * output size is (in − k) / stride + 1 per dimension (nn_conv_out_size
 * with pad 0). Windows may overlap (stride < k).
 */
#ifndef NNLAB_POOL_H
#define NNLAB_POOL_H

/** The sizes of one pooling layer. */
typedef struct {
    int batch;   /**< images */
    int c;       /**< channels */
    int h;       /**< input height */
    int w;       /**< input width */
    int k;       /**< window size */
    int stride;  /**< step between windows, >= 1 */
} nn_pool_shape;

/**
 * @brief Max pooling: out = max over the window; remembers where the max
 *        was (first one on ties) for the backward pass.
 * @param out [batch, c, oh, ow] output
 * @param argmax [batch, c, oh, ow] index (y·w + x within its channel plane)
 *               of the chosen input pixel
 * @param in [batch, c, h, w] input
 * @param s sizes
 */
void nn_maxpool_forward(float *out, int *argmax, const float *in, const nn_pool_shape *s);

/**
 * @brief Max pooling backward: each output gradient goes to the one input
 *        pixel that was the max (accumulated; overlapping windows add).
 * @param din [batch, c, h, w] input gradient, accumulated
 * @param dout [batch, c, oh, ow] output gradient
 * @param argmax [batch, c, oh, ow] from the forward pass
 * @param s sizes
 */
void nn_maxpool_backward(float *din, const float *dout, const int *argmax,
                         const nn_pool_shape *s);

/**
 * @brief Average pooling: out = (1/k²) Σ over the window.
 * @param out [batch, c, oh, ow] output
 * @param in [batch, c, h, w] input
 * @param s sizes
 */
void nn_avgpool_forward(float *out, const float *in, const nn_pool_shape *s);

/**
 * @brief Average pooling backward: each input pixel of a window receives
 *        dout / k² (accumulated).
 * @param din [batch, c, h, w] input gradient, accumulated
 * @param dout [batch, c, oh, ow] output gradient
 * @param s sizes
 */
void nn_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s);

#endif
