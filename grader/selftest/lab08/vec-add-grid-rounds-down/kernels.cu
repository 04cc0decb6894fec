/*
 * Lab 8: CUDA kernels (reference solution).
 *
 * A kernel is a function the GPU runs once per thread. Threads come in
 * blocks (up to 1024 threads, which share a fast "shared" memory and can
 * wait for each other at __syncthreads()), blocks in a grid. Each thread
 * finds its work from its coordinates:
 *
 *     i = blockIdx.x · blockDim.x + threadIdx.x        (which block, its size, which thread in it)
 *
 * The grid is rounded up to whole blocks, so the last block usually has
 * threads past the end of the data: every kernel tests its index before
 * touching memory. The GPU runs threads 32 at a time (a warp); the 32
 * memory accesses of a warp are served together, in as few 32-byte
 * segments as they touch, so neighbouring threads should touch
 * neighbouring addresses (coalescing).
 *
 * Each launcher below chooses the grid and launches; it returns at once
 * (kernels run asynchronously). kernels.h gives the shapes.
 *
 * SELF-TEST MISTAKE (vec-add-grid-rounds-down): the grid has n / BLOCK blocks, rounded down: the last elements are never computed
 */
#include "kernels.h"

#include <cuda_runtime.h>

/* Threads per block for the one-dimensional kernels: a multiple of 32
 * (whole warps); 256 lets several blocks share a multiprocessor. */
#define BLOCK 256

/* ------------------------------------------------------------ vector add */

__global__ void vec_add_kernel(float *c, const float *a, const float *b, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)n; */
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) /* the last block runs past n */
        c[i] = a[i] + b[i];
    /* END SOLUTION */
}

void nn_cuda_vec_add(float *c, const float *a, const float *b, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)n; */
    if (n <= 0) /* a grid of 0 blocks is an invalid launch */
        return;
    int blocks = n / BLOCK; /* MISTAKE: rounds down */
    vec_add_kernel<<<blocks, BLOCK>>>(c, a, b, n);
    /* END SOLUTION */
}

/* ------------------------------------------------------------ matrix product */

/* C[row, col] = Σ_p A[row, p] · B[p, col], one thread per element of C.
 * Threads of a warp differ in threadIdx.x, so x goes along a row of C:
 * the warp then reads 32 neighbouring floats of B at once (coalesced)
 * and the same float of A (a broadcast). */
__global__ void matmul_naive_kernel(float *c, const float *a, const float *b, int m, int n, int k)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)n; (void)k; */
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < m && col < n) {
        float sum = 0.0f;
        for (int p = 0; p < k; p++)
            sum += a[row * k + p] * b[p * n + col];
        c[row * n + col] = sum;
    }
    /* END SOLUTION */
}

void nn_cuda_matmul_naive(float *c, const float *a, const float *b, int m, int n, int k)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)n; (void)k; */
    if (m <= 0 || n <= 0)
        return;
    dim3 block(16, 16);                                /* 256 threads: a 16×16 patch of C */
    dim3 grid((n + 15) / 16, (m + 15) / 16);           /* x: columns, y: rows */
    matmul_naive_kernel<<<grid, block>>>(c, a, b, m, n, k);
    /* END SOLUTION */
}

/* The tile side: a block of TILE×TILE threads computes a TILE×TILE patch of C. */
#define TILE 32

/*
 * The naive kernel reads every number of A n times and of B m times from
 * global memory. Here a block first copies a TILE×TILE tile of A and one
 * of B into shared memory (each thread copies one number of each), waits
 * until the whole tile is there, and then every thread reads its row of
 * the A tile and its column of the B tile from shared memory: each number
 * now comes from global memory once per block instead of TILE times.
 *
 *   for each tile t along k:
 *       as[ty][tx] = A[row, t + tx]      (0 past the edge of A)
 *       bs[ty][tx] = B[t + ty, col]      (0 past the edge of B)
 *       __syncthreads()                  every thread's copy is done
 *       sum += Σ_p as[ty][p] · bs[p][tx]
 *       __syncthreads()                  nobody still reads before the next copy
 *
 * The zeros past the edges add nothing to the sums, so m, n, k need not be
 * multiples of TILE. Every thread reaches both barriers, even those past
 * the edge of C: they copy, wait, and only skip the final write.
 */
__global__ void matmul_tiled_kernel(float *c, const float *a, const float *b, int m, int n, int k)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)n; (void)k; */
    __shared__ float as[TILE][TILE];
    __shared__ float bs[TILE][TILE];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty;
    int col = blockIdx.x * TILE + tx;
    float sum = 0.0f;
    for (int t = 0; t < k; t += TILE) {
        as[ty][tx] = row < m && t + tx < k ? a[row * k + t + tx] : 0.0f;
        bs[ty][tx] = t + ty < k && col < n ? b[(t + ty) * n + col] : 0.0f;
        __syncthreads();
        for (int p = 0; p < TILE; p++)
            sum += as[ty][p] * bs[p][tx];
        __syncthreads();
    }
    if (row < m && col < n)
        c[row * n + col] = sum;
    /* END SOLUTION */
}

void nn_cuda_matmul_tiled(float *c, const float *a, const float *b, int m, int n, int k)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)c; (void)a; (void)b; (void)m; (void)n; (void)k; */
    if (m <= 0 || n <= 0)
        return;
    dim3 block(TILE, TILE);
    dim3 grid((n + TILE - 1) / TILE, (m + TILE - 1) / TILE);
    matmul_tiled_kernel<<<grid, block>>>(c, a, b, m, n, k);
    /* END SOLUTION */
}

/* ------------------------------------------------------------ ReLU */

__global__ void relu_forward_kernel(float *out, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)n; */
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
    /* END SOLUTION */
}

void nn_cuda_relu_forward(float *out, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)n; */
    if (n <= 0)
        return;
    relu_forward_kernel<<<(n + BLOCK - 1) / BLOCK, BLOCK>>>(out, in, n);
    /* END SOLUTION */
}

/* ∂L/∂in = ∂L/∂out · [in > 0], added to what din holds (backward
 * functions accumulate, as on the CPU). */
__global__ void relu_backward_kernel(float *din, const float *dout, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)in; (void)n; */
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && in[i] > 0.0f)
        din[i] += dout[i];
    /* END SOLUTION */
}

void nn_cuda_relu_backward(float *din, const float *dout, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)in; (void)n; */
    if (n <= 0)
        return;
    relu_backward_kernel<<<(n + BLOCK - 1) / BLOCK, BLOCK>>>(din, dout, in, n);
    /* END SOLUTION */
}

/* ------------------------------------------------------------ row softmax */

/* Threads per row of the softmax: a power of two, for the halving below. */
#define ROW_THREADS 128

/*
 * One block per row. The row's maximum and its sum of exponentials are
 * reductions over the whole row, done in two stages: each thread first
 * combines the columns j = tid, tid + 128, … on its own, then the 128
 * partial results meet in shared memory, halving at every step:
 *
 *     for s = 64, 32, …, 1:   red[t] = red[t] ⊕ red[t + s]   (t < s), then __syncthreads()
 *
 * after which red[0] holds the result. Subtracting the maximum keeps every
 * exponent <= 0, so no e^x overflows, however large the logits.
 */
__global__ void softmax_rows_kernel(float *out, const float *in, int rows, int cols)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)rows; (void)cols; */
    __shared__ float red[ROW_THREADS];
    int t = threadIdx.x;
    if (blockIdx.x >= rows) /* never, with one block per row; but cheap to be sure */
        return;
    const float *x = in + (long long)blockIdx.x * cols;
    float *y = out + (long long)blockIdx.x * cols;

    float m = -INFINITY; /* m = max_j x_j */
    for (int j = t; j < cols; j += ROW_THREADS)
        m = fmaxf(m, x[j]);
    red[t] = m;
    __syncthreads();
    for (int s = ROW_THREADS / 2; s > 0; s /= 2) {
        if (t < s)
            red[t] = fmaxf(red[t], red[t + s]);
        __syncthreads();
    }
    m = red[0];
    __syncthreads(); /* everyone has read red[0] before it is reused */

    float sum = 0.0f; /* Σ_j e^{x_j − m} */
    for (int j = t; j < cols; j += ROW_THREADS)
        sum += expf(x[j] - m);
    red[t] = sum;
    __syncthreads();
    for (int s = ROW_THREADS / 2; s > 0; s /= 2) {
        if (t < s)
            red[t] += red[t + s];
        __syncthreads();
    }
    float inv = 1.0f / red[0];

    for (int j = t; j < cols; j += ROW_THREADS)
        y[j] = expf(x[j] - m) * inv;
    /* END SOLUTION */
}

void nn_cuda_softmax_rows(float *out, const float *in, int rows, int cols)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)rows; (void)cols; */
    if (rows <= 0 || cols <= 0)
        return;
    softmax_rows_kernel<<<rows, ROW_THREADS>>>(out, in, rows, cols);
    /* END SOLUTION */
}

/* ------------------------------------------------------------ sum */

/* Blocks of the sum: enough to fill any GPU; each thread then adds many
 * elements on its own before the block combines them. */
#define SUM_BLOCKS 1024

/*
 * Three levels: each thread adds the elements i, i + (all threads), …
 * (a "grid-stride" loop: any n fits any grid); the block's threads
 * combine in shared memory by halving; thread 0 of each block adds the
 * block's total to out with atomicAdd, which the hardware performs as one
 * indivisible read-add-write, so two blocks never lose each other's sum.
 * The order of the additions varies from run to run: float results may
 * differ in the last bits.
 */
__global__ void sum_kernel(float *out, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)n; */
    __shared__ float red[BLOCK];
    int t = threadIdx.x;
    float s = 0.0f;
    for (int i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x)
        s += in[i];
    red[t] = s;
    __syncthreads();
    for (int half = BLOCK / 2; half > 0; half /= 2) {
        if (t < half)
            red[t] += red[t + half];
        __syncthreads();
    }
    if (t == 0)
        atomicAdd(out, red[0]);
    /* END SOLUTION */
}

void nn_cuda_sum(float *out, const float *in, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)n; */
    /* The blocks add into out: it starts at 0 (queued before the kernel,
     * on the same stream, so it happens first). */
    (void)cudaMemsetAsync(out, 0, sizeof(float));
    if (n <= 0)
        return;
    int blocks = (n + BLOCK - 1) / BLOCK;
    if (blocks > SUM_BLOCKS)
        blocks = SUM_BLOCKS;
    sum_kernel<<<blocks, BLOCK>>>(out, in, n);
    /* END SOLUTION */
}

/* ------------------------------------------------------------ bonus: im2col */

/* One thread per entry of the column matrix [c·kh·kw, oh·ow]: thread t
 * owns row t / P, column t % P (P = oh·ow), so neighbouring threads write
 * neighbouring floats. */
__global__ void im2col_kernel(float *col, const float *img, int c, int h, int w, int kh, int kw,
                              int stride, int pad, int oh, int ow)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)col; (void)img; (void)c; (void)h; (void)w; (void)kh; (void)kw; (void)stride; (void)pad; (void)oh; (void)ow; */
    int P = oh * ow;
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= c * kh * kw * P)
        return;
    int row = t / P, q = t % P;
    int ch = row / (kh * kw), i = row / kw % kh, j = row % kw;
    int iy = q / ow * stride - pad + i; /* the input pixel under kernel offset (i, j) */
    int ix = q % ow * stride - pad + j;
    col[t] = iy >= 0 && iy < h && ix >= 0 && ix < w ? img[(ch * h + iy) * w + ix] : 0.0f;
    /* END SOLUTION */
}

void nn_cuda_im2col(float *col, const float *img, int c, int h, int w, int kh, int kw, int stride,
                    int pad)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)col; (void)img; (void)c; (void)h; (void)w; (void)kh; (void)kw; (void)stride; (void)pad; */
    /* (in + 2·pad − k) / stride + 1 windows fit; none when the kernel is
     * larger than the padded image. */
    int oh = h + 2 * pad < kh ? 0 : (h + 2 * pad - kh) / stride + 1;
    int ow = w + 2 * pad < kw ? 0 : (w + 2 * pad - kw) / stride + 1;
    int total = c * kh * kw * oh * ow;
    if (total <= 0)
        return;
    im2col_kernel<<<(total + BLOCK - 1) / BLOCK, BLOCK>>>(col, img, c, h, w, kh, kw, stride, pad,
                                                          oh, ow);
    /* END SOLUTION */
}
