/*
 * nnlab-gpu-bench — the GPU reference measured (make bench-gpu runs it).
 *
 *   nnlab-gpu-bench kernels          the device's ceilings, then every kernel:
 *                                    sgemm steps 1-4 and cuBLAS at 1024, 2048,
 *                                    4096 (FP32, no TF32), and the training
 *                                    kernels in GB/s
 *   nnlab-gpu-bench epoch mlp|lenet [own|cublas]
 *                                    one training epoch on Fashion-MNIST, as
 *                                    nnlab-bench times it on the CPU: the
 *                                    784-256-128-10 MLP (batch 128, SGD lr 0.1)
 *                                    or LeNet-5 (batch 128, SGD momentum 0.9,
 *                                    lr 0.01); two epochs are run and the
 *                                    second is timed (the first pays for CUDA's
 *                                    start-up and the upload)
 *
 * Lines "key=value ..." for reference/gpu/bench-gpu.sh. Without a usable
 * CUDA device it says why and exits 0 ("skipped").
 *
 * The ceilings are measured, not taken from data sheets: copy bandwidth is
 * a device-to-device cudaMemcpy of 512 MiB (read + write), and arithmetic
 * throughput a kernel of independent FMA chains (2 FLOP each) filling the
 * device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_util.cuh"
#include "ops.h"

#define BATCH 128

/* ------------------------------------------------------------ timing */

typedef int (*work_fn)(void *);

/* Median milliseconds of `reps` calls after one warm-up; < 0 on error. */
static double time_ms(work_fn fn, void *arg, int reps)
{
    cudaEvent_t a, b;
    double t[15];
    if (reps > 15)
        reps = 15;
    if (NN_CUDA(cudaEventCreate(&a)) || NN_CUDA(cudaEventCreate(&b)))
        return -1;
    int ok = fn(arg) == NN_OK && NN_CUDA(cudaDeviceSynchronize()) == NN_OK;
    for (int r = 0; r < reps && ok; r++) {
        float ms = 0;
        ok = NN_CUDA(cudaEventRecord(a, 0)) == NN_OK && fn(arg) == NN_OK &&
             NN_CUDA(cudaEventRecord(b, 0)) == NN_OK && NN_CUDA(cudaEventSynchronize(b)) == NN_OK &&
             NN_CUDA(cudaEventElapsedTime(&ms, a, b)) == NN_OK;
        t[r] = ms;
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    if (!ok)
        return -1;
    for (int i = 1; i < reps; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[reps / 2];
}

/* ------------------------------------------------------------ ceilings */

/* 8 independent chains of FMAs per thread, 2 FLOP each: the multiply-add
 * units stay busy, nothing waits on memory. The result is stored only if
 * impossible, so the compiler cannot drop the loop. */
__global__ void fma_kernel(float *sink, int iters, float seed)
{
    float a[8];
    for (int j = 0; j < 8; j++)
        a[j] = seed + j + threadIdx.x;
    for (int i = 0; i < iters; i++)
#pragma unroll
        for (int j = 0; j < 8; j++)
            a[j] = a[j] * 0.999999f + 1e-7f;
    float s = 0;
    for (int j = 0; j < 8; j++)
        s += a[j];
    if (s == -1.0f)
        *sink = s;
}

typedef struct {
    nn_gpu_context *g;
    float *a, *b, *c, *d, *e;
    int n, m, k, iters, blocks;
    nn_sgemm_kind kind;
    long long bytes;
    nn_conv_shape conv;
    nn_pool_shape pool;
    nn_gpu_sums *sums;
    int *labels, *argmax;
} bench_args;

static int run_fma(void *p)
{
    bench_args *q = (bench_args *)p;
    fma_kernel<<<q->blocks, 256>>>(q->c, q->iters, 1.0f);
    return NN_LAUNCHED("fma_kernel");
}

static int run_copy(void *p)
{
    bench_args *q = (bench_args *)p;
    return NN_CUDA(cudaMemcpyAsync(q->c, q->a, (size_t)q->bytes, cudaMemcpyDeviceToDevice));
}

static int run_sgemm(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_sgemm(q->g, q->kind, 0, 0, q->n, q->n, q->n, 1.0f, q->a, q->n, 0, q->b, q->n, 0,
                        0.0f, q->c, q->n, 0, 1);
}

static int run_bias_relu(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_bias_act_forward(q->a, q->c, q->b, q->m, q->k, 1, NN_ACT_RELU);
}

static int run_bias_relu_back(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_bias_act_backward(q->c, q->d, q->e, q->b, q->a, q->m, q->k, 1, NN_ACT_RELU);
}

static int run_xent(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_softmax_xent(q->c, q->sums, NULL, q->a, q->labels, q->m, q->k);
}

static int run_im2col(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_im2col(q->c, q->a, &q->conv);
}

static int run_col2im(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_col2im(q->c, q->a, &q->conv);
}

static int run_maxpool(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_maxpool_forward(q->c, q->argmax, q->a, &q->pool);
}

static int run_dropout(void *p)
{
    bench_args *q = (bench_args *)p;
    return nn_gpu_dropout_forward(q->c, q->d, q->a, q->bytes / 4, 0.25f, 1.0f / 0.75f, 12345, 15);
}

static int run_adam(void *p)
{
    bench_args *q = (bench_args *)p;
    nn_gpu_update u = {NN_OPT_ADAM, 1e-3f, 0.9f, 0.9f, 0.999f, 0.99f, 1e-8f, 0.0f, 1e-2f, 0.03f};
    return nn_gpu_optimizer_step(q->c, q->d, q->e, q->a, q->bytes / 4, &u);
}

/* ------------------------------------------------------------ kernels */

static void line(const char *kernel, const char *size, double ms, double amount, const char *unit,
                 double ceiling, const char *against)
{
    double rate = amount / ms * 1e-6;
    printf("kernel=%s size=%s ms=%.4f rate=%.1f unit=%s pct=%.1f against=%s\n", kernel, size, ms,
           rate, unit, 100.0 * rate / ceiling, against);
    fflush(stdout);
}

static int bench_kernels(nn_gpu_context *g)
{
    const size_t big = (size_t)1 << 27; /* 512 MiB of floats per buffer */
    bench_args q;
    memset(&q, 0, sizeof q);
    q.g = g;
    if (NN_CUDA(cudaMalloc((void **)&q.a, big * 4)) || NN_CUDA(cudaMalloc((void **)&q.b, big * 4)) ||
        NN_CUDA(cudaMalloc((void **)&q.c, big * 4)) || NN_CUDA(cudaMalloc((void **)&q.d, big * 4)) ||
        NN_CUDA(cudaMalloc((void **)&q.e, big * 4)) ||
        NN_CUDA(cudaMalloc((void **)&q.sums, sizeof(nn_gpu_sums))) ||
        NN_CUDA(cudaMalloc((void **)&q.labels, 65536 * sizeof(int))) ||
        NN_CUDA(cudaMalloc((void **)&q.argmax, big / 4 * sizeof(int))))
        return NN_ERROR;
    /* Random-ish inputs: sgemm speed does not depend on the values, but
     * NaNs or denormals could. Labels 0 (valid for any class count). */
    float *h = (float *)malloc((size_t)4096 * 4096 * sizeof(float));
    for (size_t i = 0; h && i < (size_t)4096 * 4096; i++)
        h[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    if (!h || NN_CUDA(cudaMemcpy(q.a, h, (size_t)4096 * 4096 * 4, cudaMemcpyHostToDevice)) ||
        NN_CUDA(cudaMemcpy(q.b, h, (size_t)4096 * 4096 * 4, cudaMemcpyHostToDevice)) ||
        NN_CUDA(cudaMemset(q.labels, 0, 65536 * sizeof(int))))
        return free(h), NN_ERROR;
    free(h);

    /* ceilings */
    q.bytes = (long long)big * 4;
    double copy_ms = time_ms(run_copy, &q, 5);
    double bw = 2.0 * q.bytes / copy_ms * 1e-6; /* GB/s, read + write */
    q.blocks = g->sms * 32;
    q.iters = 1024;
    double fma_ms = time_ms(run_fma, &q, 5);
    double peak = 2.0 * 8 * q.iters * 256.0 * q.blocks / fma_ms * 1e-6; /* GFLOP/s */
    if (copy_ms <= 0 || fma_ms <= 0)
        return NN_ERROR;
    printf("ceiling=copy rate=%.1f unit=GB/s\nceiling=fma rate=%.1f unit=GFLOP/s\n", bw, peak);

    /* the matrix product, four steps and cuBLAS */
    static const int sizes[3] = {1024, 2048, 4096};
    static const char *const names[] = {"", "sgemm_naive", "sgemm_coalesced", "sgemm_tiled",
                                        "sgemm_regblock", "", "cublas"};
    for (int s = 0; s < 3; s++) {
        char size[16];
        q.n = sizes[s];
        snprintf(size, sizeof size, "%d", q.n);
        double flops = 2.0 * q.n * q.n * q.n;
        q.kind = NN_SGEMM_CUBLAS;
        double blas_ms = time_ms(run_sgemm, &q, 5);
        if (blas_ms <= 0)
            return NN_ERROR;
        double blas = flops / blas_ms * 1e-6;
        for (int k = NN_SGEMM_NAIVE; k <= NN_SGEMM_REGBLOCK; k++) {
            q.kind = (nn_sgemm_kind)k;
            double ms = time_ms(run_sgemm, &q, k == NN_SGEMM_NAIVE && q.n == 4096 ? 3 : 5);
            if (ms <= 0)
                return NN_ERROR;
            line(names[k], size, ms, flops, "GFLOP/s", blas, "cublas");
        }
        line("cublas", size, blas_ms, flops, "GFLOP/s", peak, "fma");
    }

    /* the training kernels, at LeNet-5 and MLP shapes scaled to fill the
     * GPU: bytes moved per call / time, against the copy bandwidth */
    q.m = 65536;
    q.k = 256;
    double mk = (double)q.m * q.k * 4;
    double ms = time_ms(run_bias_relu, &q, 5);
    line("bias_relu_forward", "65536x256", ms, 3 * mk, "GB/s", bw, "copy");
    ms = time_ms(run_bias_relu_back, &q, 5);
    line("bias_relu_backward", "65536x256", ms, 3 * mk, "GB/s", bw, "copy");
    q.m = BATCH; /* one block: the kernel is made for a batch of logits */
    q.k = 10;
    ms = time_ms(run_xent, &q, 5);
    line("softmax_xent", "128x10", ms, 2.0 * q.m * q.k * 4, "GB/s", bw, "copy");
    nn_conv_shape conv = {1024, 6, 14, 14, 16, 5, 5, 1, 0}; /* LeNet's conv2, batch 1024 */
    q.conv = conv;
    double cols = 1024.0 * 150 * 100 * 4, img = 1024.0 * 6 * 14 * 14 * 4;
    ms = time_ms(run_im2col, &q, 5);
    line("im2col", "lenet-conv2-b1024", ms, cols + img, "GB/s", bw, "copy");
    ms = time_ms(run_col2im, &q, 5);
    line("col2im", "lenet-conv2-b1024", ms, cols + img, "GB/s", bw, "copy");
    nn_pool_shape pool = {1024, 6, 28, 28, 2, 2};
    q.pool = pool;
    double pin = 1024.0 * 6 * 28 * 28 * 4;
    ms = time_ms(run_maxpool, &q, 5);
    line("maxpool_forward", "b1024x6x28x28", ms, pin * 1.5, "GB/s", bw, "copy");
    q.bytes = (long long)1 << 28; /* 64 M floats */
    ms = time_ms(run_dropout, &q, 5);
    line("dropout_forward", "2^26", ms, 3.0 * q.bytes, "GB/s", bw, "copy");
    ms = time_ms(run_adam, &q, 5);
    line("adam_step", "2^26", ms, 7.0 * q.bytes, "GB/s", bw, "copy");
    void *bufs[] = {q.a, q.b, q.c, q.d, q.e, q.sums, q.labels, q.argmax};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    return NN_OK;
}

/* ------------------------------------------------------------ epochs */

static int bench_epoch(const char *which, nn_gemm_impl gemm)
{
    int lenet = strcmp(which, "lenet") == 0;
    nn_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (nn_load_dataset(&train, &test, "fashion-mnist", 1))
        return NN_ERROR;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    int shape[3] = {1, 28, 28};
    nn_model *m = nn_model_create(lenet ? "lenet5" : "784-256-128-10", NN_ACT_RELU, shape, &rng);
    nn_opt_config opt = lenet ? nn_opt_defaults(NN_OPT_MOMENTUM, 0.01f)
                              : nn_opt_defaults(NN_OPT_SGD, 0.1f);
    nn_train_config cfg = {2, BATCH, 1, opt, NN_SCHED_CONSTANT, NULL, 0, 0};
    nn_epoch_stats st[2];
    int status = m ? nn_gpu_train(m, &train, NULL, &cfg, gemm, st) : NN_ERROR;
    if (status == NN_OK)
        printf("side=nnlab-gpu%s gemm=%s seconds=%.4f first_epoch_seconds=%.4f loss=%.4f\n",
               lenet ? "-lenet" : "", gemm == NN_GEMM_CUBLAS ? "cublas" : "own", st[1].seconds,
               st[0].seconds, st[1].train_loss);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return status;
}

int main(int argc, char **argv)
{
    char why[512], about[512];
    const char *mode = argc > 1 ? argv[1] : "";
    int kernels = strcmp(mode, "kernels") == 0;
    int epoch = strcmp(mode, "epoch") == 0 && argc > 2 &&
                (strcmp(argv[2], "mlp") == 0 || strcmp(argv[2], "lenet") == 0);
    if (!kernels && !epoch) {
        fprintf(stderr, "usage: nnlab-gpu-bench kernels | epoch mlp|lenet [own|cublas]\n");
        return 2;
    }
    if (!nn_gpu_probe(why, sizeof why)) {
        printf("skipped: %s\n", why);
        return 0;
    }
    if (nn_gpu_describe(about, sizeof about) == NN_OK)
        printf("device=%s\n", about);
    int status;
    if (kernels) {
        nn_gpu_context *g = nn_gpu_open();
        status = g ? bench_kernels(g) : NN_ERROR;
        nn_gpu_close(g);
    } else {
        nn_gemm_impl gemm = argc > 3 && strcmp(argv[3], "cublas") == 0 ? NN_GEMM_CUBLAS : NN_GEMM_OWN;
        status = bench_epoch(argv[2], gemm);
    }
    if (status != NN_OK) {
        fprintf(stderr, "nnlab-gpu-bench: %s\n", nn_last_error());
        return 1;
    }
    return 0;
}
