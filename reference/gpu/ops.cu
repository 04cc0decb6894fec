/*
 * The GPU reference's kernels between the matrix products: gathering a
 * minibatch, bias + activation fused forward and backward, softmax
 * cross-entropy, reductions, the optimizers' update rules, im2col and
 * col2im, pooling and dropout. Each mirrors a CPU module, named in its
 * comment, whose math it repeats; ops.h gives the shapes.
 *
 * Two patterns recur.
 *
 * Element-wise kernels give one thread to each element: thread
 * t = blockIdx.x·blockDim.x + threadIdx.x handles element t, and the
 * threads of a warp touch 32 consecutive floats, one memory transaction.
 *
 * Reductions (sums over a batch, a row's max) add within a warp first,
 * with register shuffles: after
 *     v += __shfl_xor_sync(all, v, 16); … v += __shfl_xor_sync(all, v, 1);
 * every lane holds the sum of the 32 (a butterfly: 5 steps instead of 31).
 * Warps then meet in shared memory. No atomics: each sum is taken in a
 * fixed order, so the same inputs give the same bits, run after run.
 */
#include <math.h>

#include "cuda_util.cuh"
#include "ops.h"
#include "pcg.h"

#define THREADS 256
#define FULL_MASK 0xffffffffu

/* ------------------------------------------------------------ activations */

/* f and f' of activations.c, in the same float arithmetic. */
__device__ float sigmoid_f(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

__device__ float softplus_f(float x)
{
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

__device__ float act_f(nn_act act, float x)
{
    switch (act) {
    case NN_ACT_STEP: return x >= 0.0f ? 1.0f : 0.0f;
    case NN_ACT_SIGMOID: return sigmoid_f(x);
    case NN_ACT_TANH: return tanhf(x);
    case NN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case NN_ACT_LEAKY_RELU: return x > 0.0f ? x : NN_LEAKY_SLOPE * x;
    case NN_ACT_ELU: return x > 0.0f ? x : NN_ELU_ALPHA * expm1f(x);
    case NN_ACT_GELU: return x * 0.5f * erfcf(-x * 0.70710678f);
    case NN_ACT_SOFTPLUS: return softplus_f(x);
    case NN_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case NN_ACT_SWISH: return x * sigmoid_f(x);
    case NN_ACT_MISH: return x * tanhf(softplus_f(x));
    default: return x; /* linear */
    }
}

__device__ float act_grad(nn_act act, float x)
{
    switch (act) {
    case NN_ACT_STEP: return 0.0f;
    case NN_ACT_SIGMOID: {
        float s = sigmoid_f(x);
        return s * (1.0f - s);
    }
    case NN_ACT_TANH: {
        float t = tanhf(x);
        return 1.0f - t * t;
    }
    case NN_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case NN_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : NN_LEAKY_SLOPE;
    case NN_ACT_ELU: return x > 0.0f ? 1.0f : NN_ELU_ALPHA * expf(x);
    case NN_ACT_GELU: /* Φ(x) + x φ(x) */
        return 0.5f * erfcf(-x * 0.70710678f) + x * expf(-0.5f * x * x) * 0.39894228f;
    case NN_ACT_SOFTPLUS: return sigmoid_f(x);
    case NN_ACT_SOFTSIGN: {
        float d = 1.0f + fabsf(x);
        return 1.0f / (d * d);
    }
    case NN_ACT_SWISH: {
        float s = sigmoid_f(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case NN_ACT_MISH: {
        float t = tanhf(softplus_f(x));
        return t + x * sigmoid_f(x) * (1.0f - t * t);
    }
    default: return 1.0f; /* linear */
    }
}

/* ------------------------------------------------------------ reductions */

__device__ __forceinline__ float warp_sum(float v)
{
    for (int d = 16; d > 0; d >>= 1)
        v += __shfl_xor_sync(FULL_MASK, v, d);
    return v;
}

__device__ __forceinline__ double warp_sum(double v)
{
    for (int d = 16; d > 0; d >>= 1)
        v += __shfl_xor_sync(FULL_MASK, v, d);
    return v;
}

/* The sum of v over a block of THREADS threads, returned to thread 0. */
__device__ float block_sum(float v)
{
    __shared__ float partial[THREADS / 32];
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0)
        partial[threadIdx.x / 32] = v;
    __syncthreads();
    v = 0.0f;
    if (threadIdx.x < 32) {
        v = threadIdx.x < THREADS / 32 ? partial[threadIdx.x] : 0.0f;
        v = warp_sum(v);
    }
    __syncthreads(); /* partial may be reused by a later call */
    return v;
}

/* out[j] = Σ_r in[r, j]: thread j walks down column j; neighbouring
 * threads read neighbouring floats of each row. */
__global__ void sum_rows_kernel(float *out, const float *in, int rows, long long cols)
{
    long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols)
        return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++)
        s += in[r * cols + j];
    out[j] = s;
}

int nn_gpu_sum_rows(float *out, const float *in, int rows, long long cols)
{
    if (cols <= 0)
        return NN_OK;
    sum_rows_kernel<<<nn_blocks(cols, THREADS), THREADS>>>(out, in, rows, cols);
    return NN_LAUNCHED("sum_rows_kernel");
}

/* ------------------------------------------------------------ data */

/* nn_dataset_gather(): x = byte · (1/255) exactly as the CPU computes it,
 * so both sides train on the same floats. */
__global__ void gather_kernel(float *x, int *y, const uint8_t *u8, const float *f32,
                              const int *labels, const int *idx, int rows, int dim)
{
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (long long)rows * dim)
        return;
    int r = (int)(t / dim), j = (int)(t % dim);
    long long src = (long long)idx[r] * dim + j;
    x[t] = u8 ? (float)u8[src] * (1.0f / 255.0f) : f32[src];
    if (j == 0)
        y[r] = labels[idx[r]];
}

int nn_gpu_gather(float *x, int *y, const uint8_t *u8, const float *f32, const int *labels,
                  const int *idx, int rows, int dim)
{
    long long n = (long long)rows * dim;
    if (n <= 0)
        return NN_OK;
    gather_kernel<<<nn_blocks(n, THREADS), THREADS>>>(x, y, u8, f32, labels, idx, rows, dim);
    return NN_LAUNCHED("gather_kernel");
}

/* ------------------------------------------------------------ bias + activation */

/* z ← z + b[c], a = f(z), element (r, c, p) at (r·channels + c)·spatial + p.
 * Unfused, this would be two passes over z (add the bias, apply f), each
 * reading and writing the whole tensor; fused it is one. */
__global__ void bias_act_forward_kernel(float *z, float *a, const float *b, long long n,
                                        int channels, int spatial, nn_act act)
{
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n)
        return;
    int c = (int)((t / spatial) % channels);
    float v = z[t] + b[c];
    z[t] = v;
    a[t] = act_f(act, v);
}

int nn_gpu_bias_act_forward(float *z, float *a, const float *b, int rows, int channels,
                            int spatial, nn_act act)
{
    long long n = (long long)rows * channels * spatial;
    if (n <= 0)
        return NN_OK;
    bias_act_forward_kernel<<<nn_blocks(n, THREADS), THREADS>>>(z, a, b, n, channels, spatial,
                                                                act);
    return NN_LAUNCHED("bias_act_forward_kernel");
}

/* Dense layers (spatial = 1): a 32×8 block owns 32 columns. Thread (x, y)
 * takes rows y, y + 8, … of column x (a warp reads 32 neighbouring floats
 * of a row), forms dz = da·f'(z), and the 8 partial sums of a column meet
 * in shared memory: db[c] = Σ_r dz[r, c]. */
__global__ void bias_act_backward_dense(float *dz, float *db, const float *da, const float *z,
                                        int rows, int channels, nn_act act)
{
    __shared__ float part[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (c < channels)
        for (int r = threadIdx.y; r < rows; r += 8) {
            long long t = (long long)r * channels + c;
            float g = da[t] * act_grad(act, z[t]);
            if (dz)
                dz[t] = g;
            s += g;
        }
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < channels) {
        for (int k = 1; k < 8; k++)
            s += part[k][threadIdx.x];
        db[c] = s;
    }
}

/* Images: channel c's sum runs over rows·spatial numbers (128·784 for
 * LeNet's first layer), too many for one block. Block (s, c) sums every
 * NN_GPU_BIAS_SPLIT-th stretch of THREADS of them into work[c, s];
 * bias_sum_kernel then adds the NN_GPU_BIAS_SPLIT partial sums in order. */
__global__ void bias_act_backward_image(float *dz, float *work, const float *da, const float *z,
                                        int rows, int channels, int spatial, nn_act act)
{
    int c = blockIdx.y;
    long long count = (long long)rows * spatial;
    float s = 0.0f;
    for (long long e = (long long)blockIdx.x * THREADS + threadIdx.x; e < count;
         e += (long long)gridDim.x * THREADS) {
        long long r = e / spatial, p = e % spatial;
        long long t = (r * channels + c) * spatial + p;
        float g = da[t] * act_grad(act, z[t]);
        if (dz)
            dz[t] = g;
        s += g;
    }
    s = block_sum(s);
    if (threadIdx.x == 0)
        work[c * gridDim.x + blockIdx.x] = s;
}

__global__ void bias_sum_kernel(float *db, const float *work, int channels, int split)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels)
        return;
    float s = 0.0f;
    for (int k = 0; k < split; k++)
        s += work[c * split + k];
    db[c] = s;
}

int nn_gpu_bias_act_backward(float *dz, float *db, float *work, const float *da, const float *z,
                             int rows, int channels, int spatial, nn_act act)
{
    if (channels <= 0)
        return NN_OK;
    if (spatial == 1) {
        bias_act_backward_dense<<<nn_blocks(channels, 32), dim3(32, 8)>>>(dz, db, da, z, rows,
                                                                          channels, act);
        return NN_LAUNCHED("bias_act_backward_dense");
    }
    dim3 grid(NN_GPU_BIAS_SPLIT, channels);
    bias_act_backward_image<<<grid, THREADS>>>(dz, work, da, z, rows, channels, spatial, act);
    if (NN_LAUNCHED("bias_act_backward_image"))
        return NN_ERROR;
    bias_sum_kernel<<<nn_blocks(channels, THREADS), THREADS>>>(db, work, channels,
                                                               NN_GPU_BIAS_SPLIT);
    return NN_LAUNCHED("bias_sum_kernel");
}

__global__ void act_forward_kernel(float *a, const float *z, long long n, nn_act act)
{
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n)
        a[t] = act_f(act, z[t]);
}

__global__ void act_backward_kernel(float *dz, const float *da, const float *z, long long n,
                                    nn_act act)
{
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n)
        dz[t] = da[t] * act_grad(act, z[t]);
}

int nn_gpu_act_forward(float *a, const float *z, long long n, nn_act act)
{
    if (n <= 0)
        return NN_OK;
    act_forward_kernel<<<nn_blocks(n, THREADS), THREADS>>>(a, z, n, act);
    return NN_LAUNCHED("act_forward_kernel");
}

int nn_gpu_act_backward(float *dz, const float *da, const float *z, long long n, nn_act act)
{
    if (n <= 0)
        return NN_OK;
    act_backward_kernel<<<nn_blocks(n, THREADS), THREADS>>>(dz, da, z, n, act);
    return NN_LAUNCHED("act_backward_kernel");
}

/* ------------------------------------------------------------ softmax cross-entropy */

/* The better of two (value, index) candidates for the argmax: the larger
 * value, and on a tie the smaller index, which is what nn_argmax's
 * left-to-right scan with a strict > returns. */
__device__ __forceinline__ void better(float &v, int &j, float v2, int j2)
{
    if (v2 > v || (v2 == v && j2 < j)) {
        v = v2;
        j = j2;
    }
}

/*
 * One block, one warp per row (rows r = warp, warp + 8, …). Per row, as
 * nn_cross_entropy_loss() and nn_cross_entropy_backward():
 *     m = max_j x_j,   L_r = (m − x_y) + log Σ_j e^{x_j − m}   (in double)
 *     ∂L/∂x_j = (e^{x_j − m} / Σ_k e^{x_k − m} − [j = y]) / rows
 * The lanes stride over the classes and combine with shuffles. The block
 * then adds its warps' losses and counts in a fixed order, so the sums
 * are the same every run.
 */
__global__ void softmax_xent_kernel(float *dlogits, nn_gpu_sums *sums, float *batch_loss,
                                    const float *logits, const int *y, int rows, int classes)
{
    __shared__ double warp_loss[THREADS / 32];
    __shared__ int warp_correct[THREADS / 32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    double loss = 0.0;
    int correct = 0;
    float inv_batch = 1.0f / (float)rows;
    for (int r = warp; r < rows; r += THREADS / 32) {
        const float *x = logits + (long long)r * classes;
        float m = -INFINITY;
        int arg = 0x7fffffff;
        for (int j = lane; j < classes; j += 32)
            better(m, arg, x[j], j);
        for (int d = 16; d > 0; d >>= 1)
            better(m, arg, __shfl_xor_sync(FULL_MASK, m, d), __shfl_xor_sync(FULL_MASK, arg, d));
        double s = 0.0;
        float sf = 0.0f;
        for (int j = lane; j < classes; j += 32) {
            s += exp((double)x[j] - m);
            sf += expf(x[j] - m);
        }
        s = warp_sum(s);
        sf = warp_sum(sf);
        int label = y[r];
        loss += ((double)m - x[label]) + log(s);
        correct += arg == label;
        if (dlogits) {
            float *d = dlogits + (long long)r * classes;
            float scale = inv_batch / sf;
            for (int j = lane; j < classes; j += 32)
                d[j] = expf(x[j] - m) * scale - (j == label ? inv_batch : 0.0f);
        }
    }
    if (lane == 0) { /* every lane holds the same values; lane 0 speaks for the warp */
        warp_loss[warp] = loss;
        warp_correct[warp] = correct;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        long long right = 0;
        for (int w = 0; w < THREADS / 32; w++) {
            total += warp_loss[w];
            right += warp_correct[w];
        }
        sums->loss += total;
        sums->correct += right;
        if (batch_loss)
            *batch_loss = (float)(total / rows);
    }
}

int nn_gpu_softmax_xent(float *dlogits, nn_gpu_sums *sums, float *batch_loss,
                        const float *logits, const int *y, int rows, int classes)
{
    if (rows <= 0 || classes <= 0)
        return NN_OK;
    softmax_xent_kernel<<<1, THREADS>>>(dlogits, sums, batch_loss, logits, y, rows, classes);
    return NN_LAUNCHED("softmax_xent_kernel");
}

/* ------------------------------------------------------------ optimizers */

/* The update rules of optimizers.c for weight i. The kind is the same for
 * every thread of a launch, so the switch never splits a warp. */
__device__ void update_one(float *w, float *s1, float *s2, const float *grad, long long i,
                           const nn_gpu_update &u)
{
    float g = grad[i];
    if (u.decay > 0.0f && u.kind != NN_OPT_ADAMW)
        g += u.decay * w[i]; /* coupled L2: g + λw (nn_l2_backward) */
    switch (u.kind) {
    case NN_OPT_SGD: w[i] -= u.lr * g; break;
    case NN_OPT_MOMENTUM:
        s1[i] = u.momentum * s1[i] + g;
        w[i] -= u.lr * s1[i];
        break;
    case NN_OPT_NESTEROV:
        s1[i] = u.momentum * s1[i] + g;
        w[i] -= u.lr * (g + u.momentum * s1[i]);
        break;
    case NN_OPT_ADAGRAD:
        s1[i] += g * g;
        w[i] -= u.lr * g / (sqrtf(s1[i]) + u.eps);
        break;
    case NN_OPT_RMSPROP:
        s1[i] = u.rho * s1[i] + (1.0f - u.rho) * g * g;
        w[i] -= u.lr * g / (sqrtf(s1[i]) + u.eps);
        break;
    case NN_OPT_ADADELTA: {
        s1[i] = u.rho * s1[i] + (1.0f - u.rho) * g * g;
        float delta = sqrtf(s2[i] + u.eps) / sqrtf(s1[i] + u.eps) * g;
        s2[i] = u.rho * s2[i] + (1.0f - u.rho) * delta * delta;
        w[i] -= u.lr * delta;
        break;
    }
    case NN_OPT_ADAMW: /* shrink first (decoupled decay), then Adam */
        w[i] *= 1.0f - u.lr * u.decay;
        /* fall through */
    case NN_OPT_ADAM:
        s1[i] = u.beta1 * s1[i] + (1.0f - u.beta1) * g;
        s2[i] = u.beta2 * s2[i] + (1.0f - u.beta2) * g * g;
        w[i] -= u.adam_step * s1[i] / (sqrtf(s2[i]) / u.adam_root_c2 + u.eps);
        break;
    }
}

__global__ void optimizer_kernel(float *w, float *s1, float *s2, const float *grad, long long n,
                                 nn_gpu_update u)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        update_one(w, s1, s2, grad, i, u);
}

/* Every tensor of the model in one launch: row y of the grid takes tensor
 * y of the table, its blocks stride over that tensor's weights. (A step of
 * LeNet-5 updates ten tensors: one launch instead of ten.) */
__global__ void optimizer_all_kernel(const nn_gpu_tensor *table, nn_gpu_update u)
{
    nn_gpu_tensor t = table[blockIdx.y];
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < t.n;
         i += (long long)gridDim.x * blockDim.x)
        update_one(t.w, t.s1, t.s2, t.g, i, u);
}

int nn_gpu_optimizer_step(float *w, float *s1, float *s2, const float *g, long long n,
                          const nn_gpu_update *u)
{
    if (n <= 0)
        return NN_OK;
    optimizer_kernel<<<nn_blocks(n, THREADS), THREADS>>>(w, s1, s2, g, n, *u);
    return NN_LAUNCHED("optimizer_kernel");
}

int nn_gpu_optimizer_step_all(const nn_gpu_tensor *table, int count, long long max_n,
                              const nn_gpu_update *u)
{
    if (count <= 0 || max_n <= 0)
        return NN_OK;
    unsigned bx = nn_blocks(max_n, THREADS);
    dim3 grid(bx < 1024 ? bx : 1024, count);
    optimizer_all_kernel<<<grid, THREADS>>>(table, *u);
    return NN_LAUNCHED("optimizer_all_kernel");
}

/* ------------------------------------------------------------ convolution */

/* One thread per entry of the batch's column matrices: entry (n, row, q)
 * with row = (c·kh + i)·kw + j and q = y·ow + x holds
 * in[n, c, y·s − p + i, x·s − p + j], or 0 in the padding (conv.h's layout,
 * one matrix per image). Consecutive threads write consecutive q. */
__global__ void im2col_kernel(float *cols, const float *in, nn_conv_shape s, int oh, int ow)
{
    long long K = (long long)s.c_in * s.kh * s.kw, P = (long long)oh * ow;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= s.batch * K * P)
        return;
    long long n = t / (K * P);
    int row = (int)((t / P) % K), q = (int)(t % P);
    int c = row / (s.kh * s.kw), i = (row / s.kw) % s.kh, j = row % s.kw;
    int iy = (q / ow) * s.stride - s.pad + i, ix = (q % ow) * s.stride - s.pad + j;
    bool inside = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
    cols[t] = inside ? in[((n * s.c_in + c) * s.h + iy) * s.w + ix] : 0.0f;
}

int nn_gpu_im2col(float *cols, const float *in, const nn_conv_shape *s)
{
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    long long total = (long long)s->batch * s->c_in * s->kh * s->kw * oh * ow;
    if (total <= 0)
        return NN_OK;
    im2col_kernel<<<nn_blocks(total, THREADS), THREADS>>>(cols, in, *s, oh, ow);
    return NN_LAUNCHED("im2col_kernel");
}

/* col2im, gathered: one thread per input pixel (n, c, iy, ix) adds the
 * column entries copied from it. Kernel offset i reaches it from output row
 * y = (iy + p − i) / s when that division is exact and y lies in [0, oh);
 * likewise j and x. Gathering instead of scattering needs no atomics. */
__global__ void col2im_kernel(float *din, const float *dcols, nn_conv_shape s, int oh, int ow)
{
    long long total = (long long)s.batch * s.c_in * s.h * s.w;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total)
        return;
    int ix = (int)(t % s.w), iy = (int)((t / s.w) % s.h);
    int c = (int)((t / ((long long)s.w * s.h)) % s.c_in);
    long long n = t / ((long long)s.w * s.h * s.c_in);
    long long K = (long long)s.c_in * s.kh * s.kw, P = (long long)oh * ow;
    const float *mat = dcols + n * K * P;
    float sum = 0.0f;
    for (int i = 0; i < s.kh; i++) {
        int ys = iy + s.pad - i;
        if (ys < 0 || ys % s.stride)
            continue;
        int y = ys / s.stride;
        if (y >= oh)
            continue;
        for (int j = 0; j < s.kw; j++) {
            int xs = ix + s.pad - j;
            if (xs < 0 || xs % s.stride)
                continue;
            int x = xs / s.stride;
            if (x >= ow)
                continue;
            sum += mat[((long long)(c * s.kh + i) * s.kw + j) * P + (long long)y * ow + x];
        }
    }
    din[t] = sum;
}

int nn_gpu_col2im(float *din, const float *dcols, const nn_conv_shape *s)
{
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    long long total = (long long)s->batch * s->c_in * s->h * s->w;
    if (total <= 0)
        return NN_OK;
    col2im_kernel<<<nn_blocks(total, THREADS), THREADS>>>(din, dcols, *s, oh, ow);
    return NN_LAUNCHED("col2im_kernel");
}

/* ------------------------------------------------------------ pooling */

static int pooled(int in, int k, int stride)
{
    return in < k ? 0 : (in - k) / stride + 1;
}

/* One thread per output. The window is scanned in row-major order and a
 * value replaces the best only when strictly larger: ties go to the first,
 * as in pool.c, so both sides route the gradient to the same pixel. The
 * argmax is the index within the channel's plane. */
__global__ void maxpool_forward_kernel(float *out, int *argmax, const float *in, nn_pool_shape s,
                                       int oh, int ow)
{
    long long total = (long long)s.batch * s.c * oh * ow;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total)
        return;
    int x = (int)(t % ow), y = (int)((t / ow) % oh);
    long long plane = t / ((long long)oh * ow);
    const float *src = in + plane * s.h * s.w;
    int best = y * s.stride * s.w + x * s.stride;
    float m = src[best];
    for (int i = 0; i < s.k; i++)
        for (int j = 0; j < s.k; j++) {
            int at = (y * s.stride + i) * s.w + x * s.stride + j;
            if (src[at] > m) {
                m = src[at];
                best = at;
            }
        }
    out[t] = m;
    argmax[t] = best;
}

/* Each output's gradient to its winner. Windows overlap when stride < k,
 * so two outputs may pick the same pixel: atomicAdd. */
__global__ void maxpool_backward_kernel(float *din, const float *dout, const int *argmax,
                                        nn_pool_shape s, int oh, int ow)
{
    long long total = (long long)s.batch * s.c * oh * ow;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total)
        return;
    long long plane = t / ((long long)oh * ow);
    atomicAdd(din + plane * s.h * s.w + argmax[t], dout[t]);
}

__global__ void avgpool_forward_kernel(float *out, const float *in, nn_pool_shape s, int oh,
                                       int ow)
{
    long long total = (long long)s.batch * s.c * oh * ow;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total)
        return;
    int x = (int)(t % ow), y = (int)((t / ow) % oh);
    const float *win = in + t / ((long long)oh * ow) * s.h * s.w + y * s.stride * s.w +
                       x * s.stride;
    float sum = 0.0f;
    for (int i = 0; i < s.k; i++)
        for (int j = 0; j < s.k; j++)
            sum += win[i * s.w + j];
    out[t] = sum * (1.0f / (float)(s.k * s.k));
}

__global__ void avgpool_backward_kernel(float *din, const float *dout, nn_pool_shape s, int oh,
                                        int ow)
{
    long long total = (long long)s.batch * s.c * oh * ow;
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total)
        return;
    int x = (int)(t % ow), y = (int)((t / ow) % oh);
    float *win = din + t / ((long long)oh * ow) * s.h * s.w + y * s.stride * s.w + x * s.stride;
    float g = dout[t] * (1.0f / (float)(s.k * s.k));
    for (int i = 0; i < s.k; i++)
        for (int j = 0; j < s.k; j++)
            atomicAdd(win + i * s.w + j, g);
}

int nn_gpu_maxpool_forward(float *out, int *argmax, const float *in, const nn_pool_shape *s)
{
    int oh = pooled(s->h, s->k, s->stride), ow = pooled(s->w, s->k, s->stride);
    long long total = (long long)s->batch * s->c * oh * ow;
    if (total <= 0)
        return NN_OK;
    maxpool_forward_kernel<<<nn_blocks(total, THREADS), THREADS>>>(out, argmax, in, *s, oh, ow);
    return NN_LAUNCHED("maxpool_forward_kernel");
}

int nn_gpu_maxpool_backward(float *din, const float *dout, const int *argmax,
                            const nn_pool_shape *s)
{
    int oh = pooled(s->h, s->k, s->stride), ow = pooled(s->w, s->k, s->stride);
    long long total = (long long)s->batch * s->c * oh * ow;
    size_t bytes = (size_t)s->batch * s->c * s->h * s->w * sizeof(float);
    if (NN_CUDA(cudaMemsetAsync(din, 0, bytes)))
        return NN_ERROR;
    if (total <= 0)
        return NN_OK;
    maxpool_backward_kernel<<<nn_blocks(total, THREADS), THREADS>>>(din, dout, argmax, *s, oh,
                                                                     ow);
    return NN_LAUNCHED("maxpool_backward_kernel");
}

int nn_gpu_avgpool_forward(float *out, const float *in, const nn_pool_shape *s)
{
    int oh = pooled(s->h, s->k, s->stride), ow = pooled(s->w, s->k, s->stride);
    long long total = (long long)s->batch * s->c * oh * ow;
    if (total <= 0)
        return NN_OK;
    avgpool_forward_kernel<<<nn_blocks(total, THREADS), THREADS>>>(out, in, *s, oh, ow);
    return NN_LAUNCHED("avgpool_forward_kernel");
}

int nn_gpu_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s)
{
    int oh = pooled(s->h, s->k, s->stride), ow = pooled(s->w, s->k, s->stride);
    long long total = (long long)s->batch * s->c * oh * ow;
    size_t bytes = (size_t)s->batch * s->c * s->h * s->w * sizeof(float);
    if (NN_CUDA(cudaMemsetAsync(din, 0, bytes)))
        return NN_ERROR;
    if (total <= 0)
        return NN_OK;
    avgpool_backward_kernel<<<nn_blocks(total, THREADS), THREADS>>>(din, dout, *s, oh, ow);
    return NN_LAUNCHED("avgpool_backward_kernel");
}

/* ------------------------------------------------------------ dropout */

/* mask_i = keep unless draw i of the kit's stream is < p, then 0; the
 * draw is computed by jumping the generator ahead i steps (pcg.h). */
__global__ void dropout_forward_kernel(float *out, float *mask, const float *in, long long n,
                                       float p, float keep, uint64_t state, uint64_t inc)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float m = nn_pcg_uniform_at(state, inc, (uint64_t)i) < p ? 0.0f : keep;
    mask[i] = m;
    out[i] = in[i] * m;
}

__global__ void dropout_backward_kernel(float *din, const float *dout, const float *mask,
                                        long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        din[i] = dout[i] * mask[i];
}

int nn_gpu_dropout_forward(float *out, float *mask, const float *in, long long n, float p,
                           float keep, uint64_t state, uint64_t inc)
{
    if (n <= 0)
        return NN_OK;
    dropout_forward_kernel<<<nn_blocks(n, THREADS), THREADS>>>(out, mask, in, n, p, keep, state,
                                                                inc);
    return NN_LAUNCHED("dropout_forward_kernel");
}

int nn_gpu_dropout_backward(float *din, const float *dout, const float *mask, long long n)
{
    if (n <= 0)
        return NN_OK;
    dropout_backward_kernel<<<nn_blocks(n, THREADS), THREADS>>>(din, dout, mask, n);
    return NN_LAUNCHED("dropout_backward_kernel");
}
