/**
 * @file conv.h
 * @brief Lab 7: 2-D convolution — im2col, the direct definition, and the
 *        fast forward/backward through one matrix product.
 *
 * Layout: NCHW, row-major: an image batch is [batch, channels, height,
 * width]; filters are [c_out, c_in, kh, kw] (as PyTorch's nn.Conv2d).
 * Output size per spatial dimension: out = (in + 2·pad − k) / stride + 1.
 *
 * Convolution here is cross-correlation, as in every deep-learning library:
 *   out[n,o,y,x] = b[o] + Σ_{c,i,j} w[o,c,i,j] · in[n, c, y·s − p + i, x·s − p + j]
 * with in = 0 outside the image (zero padding).
 */
#ifndef NNLAB_CONV_H
#define NNLAB_CONV_H

/** The sizes of one convolution. */
typedef struct {
    int batch;   /**< images */
    int c_in;    /**< input channels */
    int h;       /**< input height */
    int w;       /**< input width */
    int c_out;   /**< output channels (filters) */
    int kh;      /**< kernel height */
    int kw;      /**< kernel width */
    int stride;  /**< step between windows, >= 1 */
    int pad;     /**< zeros added on every side, >= 0 */
} nn_conv_shape;

/**
 * @brief Output size of a convolution or pooling along one dimension:
 *        (in + 2·pad − k) / stride + 1, rounded down.
 * @param in input size
 * @param k kernel (window) size
 * @param stride step
 * @param pad zero padding on each side
 * @return the output size (<= 0 when the kernel does not fit)
 */
int nn_conv_out_size(int in, int k, int stride, int pad);

/**
 * @brief im2col: unfold one image's receptive fields into columns.
 *
 * Row (c·kh + i)·kw + j, column y·ow + x holds in[c, y·s − p + i, x·s − p + j]
 * (0 in the padding), so the convolution becomes W [c_out, c_in·kh·kw] times
 * this matrix.
 * @param col [c_in·kh·kw, oh·ow] output
 * @param img [c_in, h, w] one image
 * @param s sizes (batch is ignored)
 */
void nn_im2col(float *col, const float *img, const nn_conv_shape *s);

/**
 * @brief col2im, the adjoint of im2col: ACCUMULATE (+=) every column entry
 *        into the image pixel it was copied from (padding entries dropped).
 * @param img [c_in, h, w] one image's gradient, accumulated
 * @param col [c_in·kh·kw, oh·ow] column gradients
 * @param s sizes (batch is ignored)
 */
void nn_col2im(float *img, const float *col, const nn_conv_shape *s);

/**
 * @brief Convolution forward by its definition (seven nested loops): the
 *        readable reference that the fast version is tested against.
 * @param out [batch, c_out, oh, ow] output
 * @param in [batch, c_in, h, w] input
 * @param w [c_out, c_in, kh, kw] filters
 * @param b [c_out] bias
 * @param s sizes
 */
void nn_conv2d_forward_direct(float *out, const float *in, const float *w, const float *b,
                              const nn_conv_shape *s);

/**
 * @brief Convolution backward by its definition: for every term of the
 *        forward sum, ∂L/∂w[o,c,i,j] += g·in[...], ∂L/∂in[...] += g·w[o,c,i,j],
 *        and ∂L/∂b[o] += g, where g = ∂L/∂out[n,o,y,x]. Accumulates.
 * @param din [batch, c_in, h, w] input gradient, accumulated; NULL to skip
 * @param dw [c_out, c_in, kh, kw] filter gradient, accumulated
 * @param db [c_out] bias gradient, accumulated
 * @param dout [batch, c_out, oh, ow] output gradient
 * @param in [batch, c_in, h, w] the forward input
 * @param w [c_out, c_in, kh, kw] filters
 * @param s sizes
 */
void nn_conv2d_backward_direct(float *din, float *dw, float *db, const float *dout,
                               const float *in, const float *w, const nn_conv_shape *s);

/**
 * @brief Size of the scratch buffer nn_conv2d_forward/backward need.
 *
 * The size must never decrease as s->batch grows: the model allocates the
 * buffer once, for its largest batch, and uses it for smaller ones. The
 * reference works on chunks of nb <= batch images (about 384 KB of
 * im2col columns) and needs (K + 1 + c_out)·nb·P + (K + 1)·c_out floats,
 * K = c_in·kh·kw, P = oh·ow.
 * @param s sizes
 * @return number of floats
 */
long nn_conv2d_workspace(const nn_conv_shape *s);

/**
 * @brief Convolution forward through im2col and sgemm:
 *        out_n = W · im2col(in_n) + b, W seen as [c_out, c_in·kh·kw].
 * @param out [batch, c_out, oh, ow] output
 * @param in [batch, c_in, h, w] input
 * @param w [c_out, c_in, kh, kw] filters
 * @param b [c_out] bias
 * @param work [nn_conv2d_workspace(s)] scratch
 * @param s sizes
 */
void nn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                       float *work, const nn_conv_shape *s);

/**
 * @brief Convolution backward through im2col and sgemm, accumulating:
 *        ∂L/∂W += G_n · im2col(in_n)ᵀ, ∂L/∂b += Σ G_n, and
 *        ∂L/∂in_n += col2im(Wᵀ · G_n), with G_n = ∂L/∂out_n as [c_out, oh·ow].
 * @param din [batch, c_in, h, w] input gradient, accumulated; NULL to skip
 * @param dw [c_out, c_in, kh, kw] filter gradient, accumulated
 * @param db [c_out] bias gradient, accumulated
 * @param dout [batch, c_out, oh, ow] output gradient
 * @param in [batch, c_in, h, w] the forward input
 * @param w [c_out, c_in, kh, kw] filters
 * @param work [nn_conv2d_workspace(s)] scratch
 * @param s sizes
 */
void nn_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, float *work, const nn_conv_shape *s);

#endif
