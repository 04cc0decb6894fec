/**
 * @file kernels.h
 * @brief Lab 8: CUDA kernels — vector add, matrix product (naive, then
 *        tiled in shared memory), ReLU forward and backward, row softmax,
 *        a sum reduction, and (bonus) im2col.
 *
 * Each function is a host-side launcher: it chooses a grid and a block
 * size and launches its kernel (the __global__ function beside it in
 * kernels.cu) on the default stream, then returns at once, without
 * waiting for the GPU. It returns nothing: a refused launch or a fault in
 * the kernel is seen by the caller through cudaGetLastError() and
 * cudaDeviceSynchronize().
 *
 * Every pointer is DEVICE memory (cudaMalloc), row-major, batch first,
 * outputs first, as the CPU kernels of labs 1–7. Sizes are any
 * non-negative numbers: nothing needs to be a multiple of the block or the
 * tile, and a size of 0 launches nothing. Callable from C and C++.
 */
#ifndef NNLAB_KERNELS_H
#define NNLAB_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief c = a + b, element by element.
 * @param c [n] output
 * @param a [n] input
 * @param b [n] input
 * @param n number of elements
 */
void nn_cuda_vec_add(float *c, const float *a, const float *b, int n);

/**
 * @brief C = A·B, one thread per element of C.
 * @param c [m, n] output
 * @param a [m, k] left factor
 * @param b [k, n] right factor
 * @param m rows of A and C
 * @param n columns of B and C
 * @param k columns of A, rows of B
 */
void nn_cuda_matmul_naive(float *c, const float *a, const float *b, int m, int n, int k);

/**
 * @brief C = A·B with tiles of A and B staged in shared memory.
 * @param c [m, n] output
 * @param a [m, k] left factor
 * @param b [k, n] right factor
 * @param m rows of A and C
 * @param n columns of B and C
 * @param k columns of A, rows of B
 */
void nn_cuda_matmul_tiled(float *c, const float *a, const float *b, int m, int n, int k);

/**
 * @brief ReLU: out = max(in, 0).
 * @param out [n] output
 * @param in [n] input
 * @param n number of elements
 */
void nn_cuda_relu_forward(float *out, const float *in, int n);

/**
 * @brief ReLU backward, ACCUMULATING: din += dout where in > 0.
 * @param din [n] gradient of the input, accumulated
 * @param dout [n] gradient of the output
 * @param in [n] the forward input
 * @param n number of elements
 */
void nn_cuda_relu_backward(float *din, const float *dout, const float *in, int n);

/**
 * @brief Softmax of each row: out[r, j] = e^{in[r, j] − m_r} / Σ_k e^{in[r, k] − m_r},
 *        m_r the row's maximum.
 * @param out [rows, cols] output
 * @param in [rows, cols] input (logits)
 * @param rows number of rows
 * @param cols number of columns
 */
void nn_cuda_softmax_rows(float *out, const float *in, int rows, int cols);

/**
 * @brief out[0] = Σ_i in[i] (0 when n = 0).
 * @param out [1] the sum (overwritten)
 * @param in [n] input
 * @param n number of elements
 */
void nn_cuda_sum(float *out, const float *in, int n);

/**
 * @brief Bonus: im2col of one image, as nn_im2col() of lab 7: row
 *        (ch·kh + i)·kw + j, column y·ow + x holds
 *        img[ch, y·stride − pad + i, x·stride − pad + j], 0 in the padding.
 * @param col [c·kh·kw, oh·ow] output, oh = (h + 2·pad − kh) / stride + 1, ow likewise
 * @param img [c, h, w] input image
 * @param c channels
 * @param h height
 * @param w width
 * @param kh kernel height
 * @param kw kernel width
 * @param stride step between windows (>= 1)
 * @param pad zeros on every side (>= 0)
 */
void nn_cuda_im2col(float *col, const float *img, int c, int h, int w, int kh, int kw, int stride,
                    int pad);

#ifdef __cplusplus
}
#endif

#endif
