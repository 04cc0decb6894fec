/*
 * Tests of the GPU reference: every kernel of gemm.cu and ops.cu held to
 * the CPU module it mirrors, and nn_gpu_train() held to nn_train() on the
 * same model, data and seed.
 *
 *   build/bin/nnlab-gpu-tests          (make test-gpu)
 *
 * Without a usable CUDA device every test is reported skipped, with the
 * reason; the program then exits 0. The same source also runs on the CPU
 * under the emulator (emu/, make test-gpu-emu), which checks the kernels'
 * logic on machines without a GPU.
 *
 * Expected values come from the CPU modules (their own tests hold them to
 * hand-worked values) or are recomputed here in double. Outputs are
 * poisoned with NaN before each call. Tolerances are stated per check.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_util.cuh"
#include "ops.h"
#include "pcg.h"

extern "C" {
#include "nnlab/backprop.h"
#include "nnlab/dropout.h"
#include "nnlab/forward.h"
#include "nnlab/optimizers.h"
#include "nnlab/rng.h"
}

/* ------------------------------------------------------------ harness */

static int passed, failed, skipped, failures_now;
static nn_gpu_context *ctx;
static nn_rng rng;

static void fail_at(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (failures_now++ < 5) {
        printf("      line %d: ", line);
        vprintf(fmt, ap);
        printf("\n");
    }
    va_end(ap);
}

#define CHECK(cond, ...)                         \
    do {                                         \
        if (!(cond))                             \
            fail_at(__LINE__, __VA_ARGS__);      \
    } while (0)
/* A CUDA or library call that must succeed. */
#define OK(call) CHECK((call) == NN_OK, "%s failed: %s", #call, nn_last_error())

static void run(const char *name, void (*test)(void), const char *skip)
{
    if (skip) {
        skipped++;
        printf("skip  %s: %s\n", name, skip);
        return;
    }
    failures_now = 0;
    test();
    if (cudaDeviceSynchronize() != cudaSuccess)
        fail_at(0, "the GPU reported an error: %s", cudaGetErrorString(cudaGetLastError()));
    if (failures_now) {
        failed++;
        printf("FAIL  %s\n", name);
    } else {
        passed++;
        printf("ok    %s\n", name);
    }
}

/* ------------------------------------------------------------ buffers */

static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * nn_rng_uniform(&rng);
}

static float *host_random(size_t n, float lo, float hi)
{
    float *x = (float *)malloc(n * sizeof *x + 1);
    for (size_t i = 0; i < n; i++)
        x[i] = uniform(lo, hi);
    return x;
}

static float *host_nan(size_t n)
{
    float *x = (float *)malloc(n * sizeof *x + 1);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

static void *to_dev(const void *host, size_t bytes)
{
    void *d = NULL;
    if (cudaMalloc(&d, bytes ? bytes : 4) != cudaSuccess ||
        (bytes && cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess)) {
        fprintf(stderr, "test_gpu: cannot allocate %zu bytes on the device\n", bytes);
        exit(1);
    }
    return d;
}

static float *dev_floats(const float *host, size_t n)
{
    return (float *)to_dev(host, n * sizeof(float));
}

static void to_host(void *host, const void *dev, size_t bytes)
{
    if (cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
        fail_at(0, "copying back from the device failed: %s",
                cudaGetErrorString(cudaGetLastError()));
}

/* max over i of |got − want| / (atol + rtol·|want|): <= 1 passes, NaN fails. */
static double worst(const float *got, const float *want, size_t n, double atol, double rtol,
                    size_t *at)
{
    double w = 0.0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d == 0.0) /* equal (an exact check has no tolerance to divide by) */
            continue;
        double e = d / (atol + rtol * fabs((double)want[i]));
        if (!(e <= w)) { /* NaN compares false: it wins */
            w = isnan(e) ? INFINITY : e;
            *at = i;
            if (isinf(w))
                break;
        }
    }
    return w;
}

#define CHECK_CLOSE(got, want, n, atol, rtol, what)                                            \
    do {                                                                                       \
        size_t at_;                                                                            \
        double w_ = worst((got), (want), (n), (atol), (rtol), &at_);                           \
        CHECK(w_ <= 1.0, "%s: element %zu is %.9g, expected %.9g (tolerance %g + %g·|x|)",    \
              (what), at_, (double)(got)[at_], (double)(want)[at_], (double)(atol),            \
              (double)(rtol));                                                                 \
    } while (0)

/* ------------------------------------------------------------ sgemm */

/* C = α·op(A)·op(B) + β·C0 in double, with the size of its terms
 * Σ|α·a·b| + |β·c0|: float's rounding error is relative to that sum, not
 * to the result (which may be near 0 by cancellation). */
static void gemm_want(double *want, double *scale, int ta, int tb, int m, int n, int k,
                      float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                      const float *c0, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                double x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double y = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += x * y;
                mag += fabs(x * y);
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * c0[(size_t)i * ldc + j];
            want[(size_t)i * n + j] = alpha * s + c;
            scale[(size_t)i * n + j] = fabs(alpha) * mag + fabs(c);
        }
}

static void check_gemm(nn_sgemm_kind kind, int ta, int tb, int m, int n, int k, int batch,
                       int shared_a, float alpha, float beta)
{
    int lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
    size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    long long sa = shared_a ? 0 : (long long)na;
    float *a = host_random(na * batch, -1, 1), *b = host_random(nb * batch, -1, 1);
    float *c0 = beta == 0.0f ? host_nan(nc * batch) : host_random(nc * batch, -1, 1);
    float *got = (float *)malloc(nc * batch * sizeof *got + 1);
    double *want = (double *)malloc(nc * sizeof *want + 1), *scale = (double *)malloc(nc * sizeof *scale + 1);
    float *da = dev_floats(a, na * batch), *db = dev_floats(b, nb * batch),
          *dc = dev_floats(c0, nc * batch);
    OK(nn_gpu_sgemm(ctx, kind, ta, tb, m, n, k, alpha, da, lda, sa, db, ldb, (long long)nb, beta,
                    dc, ldc, (long long)nc, batch));
    to_host(got, dc, nc * batch * sizeof(float));
    for (int z = 0; z < batch && failures_now == 0; z++) {
        gemm_want(want, scale, ta, tb, m, n, k, alpha, a + (shared_a ? 0 : z * na), lda,
                  b + z * nb, ldb, beta, c0 + z * nc, ldc);
        for (size_t i = 0; i < nc; i++) {
            double err = fabs(got[z * nc + i] - want[i]);
            /* 2e-6·(k + 2): a generous bound for float sums of k terms. */
            double tol = 2e-6 * (k + 2) * scale[i] + 1e-30;
            if (!(err <= tol)) {
                fail_at(__LINE__, "sgemm kind %d, %s%s %dx%dx%d batch %d: C[%zu,%zu] of product %d "
                        "is %.9g, expected %.9g", (int)kind, ta ? "T" : "N", tb ? "T" : "N", m,
                        n, k, batch, i / n, i % n, z, got[z * nc + i], want[i]);
                break;
            }
        }
    }
    cudaFree(da);
    cudaFree(db);
    cudaFree(dc);
    free(a), free(b), free(c0), free(got), free(want), free(scale);
}

/* Shapes for every tiling of gemm.cu, the split-K ones (few tiles, long k:
 * 20×30×1000, 10×64×784) included. */
static const int shapes[][3] = {{1, 1, 1}, {37, 45, 29}, {130, 67, 300}, {257, 129, 64},
                                {64, 64, 8}, {5, 300, 7}, {128, 33, 256}, {20, 30, 1000},
                                {10, 64, 784}};

static void test_sgemm_steps(void)
{
    for (int kind = NN_SGEMM_NAIVE; kind <= NN_SGEMM_TILED; kind++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_gemm((nn_sgemm_kind)kind, 0, 0, shapes[s][0], shapes[s][1], shapes[s][2], 1, 0,
                       1.0f, 0.0f);
    check_gemm(NN_SGEMM_TILED, 0, 0, 33, 31, 65, 2, 0, 1.5f, 0.5f); /* α, β, batch */
}

static void test_sgemm_regblock(void)
{
    for (int kind = NN_SGEMM_REGBLOCK; kind <= NN_SGEMM_CUBLAS; kind++)
        for (int t = 0; t < 4; t++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                check_gemm((nn_sgemm_kind)kind, t & 1, t >> 1, shapes[s][0], shapes[s][1],
                           shapes[s][2], 1, 0, 1.0f, 0.0f);
}

static void test_sgemm_batched(void)
{
    for (int kind = NN_SGEMM_REGBLOCK; kind <= NN_SGEMM_CUBLAS; kind++)
        for (int t = 0; t < 4; t++) {
            check_gemm((nn_sgemm_kind)kind, t & 1, t >> 1, 6, 100, 25, 3, 1, 1.0f, 0.0f);
            check_gemm((nn_sgemm_kind)kind, t & 1, t >> 1, 17, 9, 40, 2, 0, -0.5f, 2.0f);
            /* odd leading dimensions: float4 loads must stand down */
            check_gemm((nn_sgemm_kind)kind, t & 1, t >> 1, 13, 11, 7, 2, 0, 1.0f, 1.0f);
            /* split k, batched, with β */
            check_gemm((nn_sgemm_kind)kind, t & 1, t >> 1, 7, 9, 500, 2, 0, 0.5f, -1.0f);
        }
}

/* ------------------------------------------------------------ bias + activation */

static void check_bias_act(nn_act act, int rows, int channels, int spatial)
{
    size_t n = (size_t)rows * channels * spatial;
    float *z0 = host_random(n, -3, 3), *b = host_random(channels, -1, 1);
    float *da = host_random(n, -1, 1), *nan = host_nan(n);
    float *z = (float *)malloc(n * sizeof *z), *a = (float *)malloc(n * sizeof *a);
    float *dz = (float *)malloc(n * sizeof *dz), *db = (float *)malloc(channels * sizeof *db);
    float *wz = (float *)malloc(n * sizeof *wz), *wa = (float *)malloc(n * sizeof *wa);
    float *wdz = (float *)malloc(n * sizeof *wdz), *wdb = (float *)malloc(channels * sizeof *wdb);
    /* The CPU: z = z0 + b[c], a = f(z), dz = da·f'(z), db[c] = Σ dz (double). */
    for (size_t t = 0; t < n; t++)
        wz[t] = z0[t] + b[t / spatial % channels];
    nn_activation_forward(wa, wz, (int)n, act);
    for (size_t t = 0; t < n; t++)
        wdz[t] = da[t] * nn_activation_grad(act, wz[t]);
    for (int c = 0; c < channels; c++) {
        double s = 0.0;
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < spatial; p++)
                s += wdz[((size_t)r * channels + c) * spatial + p];
        wdb[c] = (float)s;
    }
    float *dz0 = dev_floats(z0, n), *dA = dev_floats(nan, n), *dB = dev_floats(b, channels);
    float *dDa = dev_floats(da, n), *dDz = dev_floats(nan, n), *dDb = dev_floats(nan, channels);
    float *work = dev_floats(nan, (size_t)channels * NN_GPU_BIAS_SPLIT);
    OK(nn_gpu_bias_act_forward(dz0, dA, dB, rows, channels, spatial, act));
    OK(nn_gpu_bias_act_backward(dDz, dDb, work, dDa, dz0, rows, channels, spatial, act));
    to_host(z, dz0, n * 4), to_host(a, dA, n * 4), to_host(dz, dDz, n * 4);
    to_host(db, dDb, channels * 4);
    char what[64];
    snprintf(what, sizeof what, "%s z (spatial %d)", nn_act_name(act), spatial);
    CHECK_CLOSE(z, wz, n, 1e-6, 1e-6, what);
    snprintf(what, sizeof what, "%s a (spatial %d)", nn_act_name(act), spatial);
    CHECK_CLOSE(a, wa, n, 1e-6, 1e-5, what);
    snprintf(what, sizeof what, "%s dz (spatial %d)", nn_act_name(act), spatial);
    CHECK_CLOSE(dz, wdz, n, 1e-6, 1e-5, what);
    snprintf(what, sizeof what, "%s db (spatial %d)", nn_act_name(act), spatial);
    CHECK_CLOSE(db, wdb, (size_t)channels, 1e-5, 1e-5, what);
    void *devs[] = {dz0, dA, dB, dDa, dDz, dDb, work};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        cudaFree(devs[i]);
    free(z0), free(b), free(da), free(nan), free(z), free(a), free(dz), free(db);
    free(wz), free(wa), free(wdz), free(wdb);
}

static void test_bias_act(void)
{
    for (int act = 0; act < NN_ACT_COUNT; act++) {
        check_bias_act((nn_act)act, 37, 45, 1);   /* a dense layer */
        check_bias_act((nn_act)act, 3, 5, 77);    /* a conv layer */
    }
    check_bias_act(NN_ACT_RELU, 128, 6, 784);     /* LeNet's first layer */
}

static void test_bias_linear_no_dz(void)
{
    /* The output layer: dz NULL, db alone. */
    int rows = 19, channels = 10;
    float *da = host_random((size_t)rows * channels, -1, 1), *nan = host_nan(channels), db[10];
    float want[10];
    for (int c = 0; c < channels; c++) {
        double s = 0.0;
        for (int r = 0; r < rows; r++)
            s += da[r * channels + c];
        want[c] = (float)s;
    }
    float *dDa = dev_floats(da, (size_t)rows * channels), *dDb = dev_floats(nan, channels);
    OK(nn_gpu_bias_act_backward(NULL, dDb, NULL, dDa, dDa, rows, channels, 1, NN_ACT_LINEAR));
    to_host(db, dDb, sizeof db);
    CHECK_CLOSE(db, want, (size_t)channels, 1e-6, 1e-6, "db of a linear output layer");
    cudaFree(dDa), cudaFree(dDb);
    free(da), free(nan);
}

/* ------------------------------------------------------------ softmax cross-entropy */

static void check_xent(int rows, int classes, float spread, int ties)
{
    size_t n = (size_t)rows * classes;
    float *x = host_random(n, -spread, spread), *nan = host_nan(n);
    int *y = (int *)malloc(rows * sizeof *y);
    for (int r = 0; r < rows; r++) {
        y[r] = (int)nn_rng_below(&rng, (uint32_t)classes);
        if (ties && r % 2) /* two equal maxima: the first must win, as nn_argmax */
            x[(size_t)r * classes + classes - 1] = x[(size_t)r * classes] = spread + 1.0f;
    }
    float *want_d = (float *)calloc(n, sizeof(float)), *got_d = (float *)malloc(n * sizeof(float));
    nn_cross_entropy_backward(want_d, x, y, rows, classes);
    double want_loss = (double)nn_cross_entropy_loss(x, y, rows, classes) * rows;
    long long want_right = 0;
    for (int r = 0; r < rows; r++)
        want_right += nn_argmax(x + (size_t)r * classes, classes) == y[r];
    nn_gpu_sums zero = {0.0, 0}, sums;
    float batch_loss = NAN;
    float *dx = dev_floats(x, n), *dd = dev_floats(nan, n), *dl = dev_floats(&batch_loss, 1);
    int *dy = (int *)to_dev(y, rows * sizeof(int));
    nn_gpu_sums *ds = (nn_gpu_sums *)to_dev(&zero, sizeof zero);
    OK(nn_gpu_softmax_xent(dd, ds, dl, dx, dy, rows, classes));
    to_host(got_d, dd, n * 4), to_host(&sums, ds, sizeof sums), to_host(&batch_loss, dl, 4);
    CHECK_CLOSE(got_d, want_d, n, 1e-7, 1e-4, "dlogits");
    CHECK(fabs(sums.loss - want_loss) <= 1e-5 * fabs(want_loss) + 1e-6,
          "%dx%d: summed loss %.9g, expected %.9g", rows, classes, sums.loss, want_loss);
    CHECK(fabs(batch_loss - want_loss / rows) <= 1e-5 * fabs(want_loss / rows) + 1e-7,
          "%dx%d: batch loss %.9g, expected %.9g", rows, classes, batch_loss, want_loss / rows);
    CHECK(sums.correct == want_right, "%dx%d: %lld correct, expected %lld (argmax ties: first)",
          rows, classes, sums.correct, want_right);
    cudaFree(dx), cudaFree(dd), cudaFree(dl), cudaFree(dy), cudaFree(ds);
    free(x), free(nan), free(y), free(want_d), free(got_d);
}

static void test_softmax_xent(void)
{
    check_xent(37, 10, 5.0f, 0);
    check_xent(300, 10, 5.0f, 1);
    check_xent(9, 70, 3.0f, 1);   /* more classes than a warp has lanes */
    check_xent(5, 3, 300.0f, 0);  /* logits far beyond e^88: must stay finite */
}

/* ------------------------------------------------------------ reductions */

static void test_sum_rows(void)
{
    int rows = 37;
    long long cols = 1000;
    float *x = host_random((size_t)rows * cols, -1, 1), *nan = host_nan(cols);
    float *want = (float *)malloc(cols * sizeof(float)), *got = (float *)malloc(cols * sizeof(float));
    for (long long j = 0; j < cols; j++) {
        double s = 0.0;
        for (int r = 0; r < rows; r++)
            s += x[r * cols + j];
        want[j] = (float)s;
    }
    float *dx = dev_floats(x, (size_t)rows * cols), *dy = dev_floats(nan, cols);
    OK(nn_gpu_sum_rows(dy, dx, rows, cols));
    to_host(got, dy, cols * 4);
    CHECK_CLOSE(got, want, (size_t)cols, 1e-5, 1e-5, "sum over rows");
    cudaFree(dx), cudaFree(dy);
    free(x), free(nan), free(want), free(got);
}

/* ------------------------------------------------------------ optimizers */

/* train.c's update(), with its coupled decay, on the CPU. */
static void cpu_update(const nn_opt_config *c, float *w, float *s1, float *s2, float *g, int n,
                       float lr, int t)
{
    if (c->weight_decay > 0.0f && c->kind != NN_OPT_ADAMW)
        nn_l2_backward(g, w, n, c->weight_decay);
    switch (c->kind) {
    case NN_OPT_SGD: nn_sgd_step(w, g, n, lr); break;
    case NN_OPT_MOMENTUM: nn_momentum_step(w, s1, g, n, lr, c->momentum); break;
    case NN_OPT_NESTEROV: nn_nesterov_step(w, s1, g, n, lr, c->momentum); break;
    case NN_OPT_ADAGRAD: nn_adagrad_step(w, s1, g, n, lr, c->eps); break;
    case NN_OPT_RMSPROP: nn_rmsprop_step(w, s1, g, n, lr, c->rho, c->eps); break;
    case NN_OPT_ADADELTA: nn_adadelta_step(w, s1, s2, g, n, lr, c->rho, c->eps); break;
    case NN_OPT_ADAM: nn_adam_step(w, s1, s2, g, n, lr, c->beta1, c->beta2, c->eps, t); break;
    case NN_OPT_ADAMW:
        nn_adamw_step(w, s1, s2, g, n, lr, c->beta1, c->beta2, c->eps, c->weight_decay, t);
        break;
    }
}

static void test_optimizers(void)
{
    const int n = 333;
    for (int kind = 0; kind <= NN_OPT_ADAMW; kind++)
        for (int decay = 0; decay < 2; decay++) {
            nn_opt_config c = nn_opt_defaults((nn_opt_kind)kind, 0.01f);
            c.weight_decay = decay ? 0.05f : 0.0f;
            float *w = host_random(n, -1, 1), *s1 = (float *)calloc(n, 4), *s2 = (float *)calloc(n, 4);
            float *dw = dev_floats(w, n), *ds1 = dev_floats(s1, n), *ds2 = dev_floats(s2, n);
            /* a second copy, updated by the one-launch version through a table */
            float *dw2 = dev_floats(w, n), *ds12 = dev_floats(s1, n), *ds22 = dev_floats(s2, n);
            for (int t = 1; t <= 3; t++) {
                float *g = host_random(n, -1, 1), lr = 0.01f * t;
                float *dg = dev_floats(g, n);
                double c1 = 1.0 - pow(c.beta1, t), c2 = 1.0 - pow(c.beta2, t);
                nn_gpu_update u = {c.kind, lr, c.momentum, c.beta1, c.beta2, c.rho, c.eps,
                                   c.weight_decay, (float)(lr / c1), (float)sqrt(c2)};
                OK(nn_gpu_optimizer_step(dw, ds1, ds2, dg, n, &u));
                nn_gpu_tensor row = {dw2, ds12, ds22, dg, n};
                nn_gpu_tensor *table = (nn_gpu_tensor *)to_dev(&row, sizeof row);
                OK(nn_gpu_optimizer_step_all(table, 1, n, &u));
                cudaFree(table);
                cpu_update(&c, w, s1, s2, g, n, lr, t);
                cudaFree(dg);
                free(g);
            }
            float *got = (float *)malloc(n * 4);
            char what[64];
            to_host(got, dw, n * 4);
            snprintf(what, sizeof what, "%s%s weights", nn_opt_name(c.kind), decay ? " + decay" : "");
            CHECK_CLOSE(got, w, (size_t)n, 1e-6, 1e-5, what);
            float *got2 = (float *)malloc(n * 4);
            to_host(got2, dw2, n * 4);
            CHECK(memcmp(got, got2, n * 4) == 0, "%s: the one-launch update differs from the "
                  "per-tensor one", what);
            free(got2);
            cudaFree(dw2), cudaFree(ds12), cudaFree(ds22);
            if (kind != NN_OPT_SGD) {
                to_host(got, ds1, n * 4);
                snprintf(what, sizeof what, "%s%s state 1", nn_opt_name(c.kind), decay ? " + decay" : "");
                CHECK_CLOSE(got, s1, (size_t)n, 1e-6, 1e-5, what);
            }
            cudaFree(dw), cudaFree(ds1), cudaFree(ds2);
            free(w), free(s1), free(s2), free(got);
        }
}

/* ------------------------------------------------------------ convolution */

static void check_im2col(nn_conv_shape s)
{
    int oh = nn_conv_out_size(s.h, s.kh, s.stride, s.pad), ow = nn_conv_out_size(s.w, s.kw, s.stride, s.pad);
    size_t K = (size_t)s.c_in * s.kh * s.kw, P = (size_t)oh * ow, img = (size_t)s.c_in * s.h * s.w;
    size_t ncols = s.batch * K * P, nin = s.batch * img;
    float *in = host_random(nin, -1, 1), *dc = host_random(ncols, -1, 1);
    float *want = (float *)malloc(ncols * 4), *got = (float *)malloc(ncols * 4);
    float *want_in = (float *)calloc(nin, 4), *got_in = (float *)malloc(nin * 4);
    for (int n = 0; n < s.batch; n++) {
        nn_im2col(want + n * K * P, in + n * img, &s);
        nn_col2im(want_in + n * img, dc + n * K * P, &s);
    }
    float *nan = host_nan(ncols > nin ? ncols : nin);
    float *d_in = dev_floats(in, nin), *d_cols = dev_floats(nan, ncols);
    float *d_dc = dev_floats(dc, ncols), *d_din = dev_floats(nan, nin);
    OK(nn_gpu_im2col(d_cols, d_in, &s));
    OK(nn_gpu_col2im(d_din, d_dc, &s));
    to_host(got, d_cols, ncols * 4), to_host(got_in, d_din, nin * 4);
    char what[96];
    snprintf(what, sizeof what, "im2col %dx%dx%dx%d k%dx%d s%d p%d", s.batch, s.c_in, s.h, s.w,
             s.kh, s.kw, s.stride, s.pad);
    CHECK_CLOSE(got, want, ncols, 0.0, 1e-30, what); /* a copy: exact */
    snprintf(what, sizeof what, "col2im %dx%dx%dx%d k%dx%d s%d p%d", s.batch, s.c_in, s.h, s.w,
             s.kh, s.kw, s.stride, s.pad);
    CHECK_CLOSE(got_in, want_in, nin, 1e-6, 1e-6, what);
    cudaFree(d_in), cudaFree(d_cols), cudaFree(d_dc), cudaFree(d_din);
    free(in), free(dc), free(want), free(got), free(want_in), free(got_in), free(nan);
}

static void test_im2col(void)
{
    nn_conv_shape shapes_[] = {
        {2, 3, 7, 9, 4, 3, 2, 2, 1},   /* stride 2, padding, non-square kernel */
        {1, 1, 5, 5, 1, 5, 5, 1, 2},   /* padding of 2 around a 5×5 kernel */
        {2, 1, 28, 28, 6, 5, 5, 1, 2}, /* LeNet's first layer */
        {3, 6, 14, 14, 16, 5, 5, 1, 0},/* its second */
        {1, 2, 6, 5, 1, 2, 3, 3, 2},   /* stride larger than the kernel */
    };
    for (size_t i = 0; i < sizeof shapes_ / sizeof shapes_[0]; i++)
        check_im2col(shapes_[i]);
}

/* ------------------------------------------------------------ pooling */

static void check_pool(nn_pool_shape s)
{
    int oh = s.h < s.k ? 0 : (s.h - s.k) / s.stride + 1, ow = s.w < s.k ? 0 : (s.w - s.k) / s.stride + 1;
    size_t nin = (size_t)s.batch * s.c * s.h * s.w, nout = (size_t)s.batch * s.c * oh * ow;
    float *in = (float *)malloc(nin * 4), *dout = host_random(nout, -1, 1), *nan = host_nan(nin);
    for (size_t i = 0; i < nin; i++) /* few distinct values: many ties */
        in[i] = (float)nn_rng_below(&rng, 5);
    float *want = (float *)malloc(nout * 4), *got = (float *)malloc(nout * 4);
    int *warg = (int *)malloc(nout * sizeof(int)), *garg = (int *)malloc(nout * sizeof(int));
    float *wdin = (float *)calloc(nin, 4), *gdin = (float *)malloc(nin * 4);
    nn_maxpool_forward(want, warg, in, &s);
    nn_maxpool_backward(wdin, dout, warg, &s);
    float *d_in = dev_floats(in, nin), *d_out = dev_floats(nan, nout), *d_dout = dev_floats(dout, nout);
    float *d_din = dev_floats(nan, nin);
    int *d_arg = (int *)to_dev(garg, nout * sizeof(int));
    OK(nn_gpu_maxpool_forward(d_out, d_arg, d_in, &s));
    OK(nn_gpu_maxpool_backward(d_din, d_dout, d_arg, &s));
    to_host(got, d_out, nout * 4), to_host(garg, d_arg, nout * sizeof(int)), to_host(gdin, d_din, nin * 4);
    CHECK_CLOSE(got, want, nout, 0.0, 1e-30, "maxpool forward");
    int same = 1;
    for (size_t i = 0; i < nout; i++)
        same &= garg[i] == warg[i];
    CHECK(same, "maxpool k%d s%d: the argmax differs from pool.c's (ties go to the first)", s.k, s.stride);
    CHECK_CLOSE(gdin, wdin, nin, 1e-6, 1e-6, "maxpool backward");
    /* average pooling on the same shapes */
    memset(wdin, 0, nin * 4);
    nn_avgpool_forward(want, in, &s);
    nn_avgpool_backward(wdin, dout, &s);
    OK(nn_gpu_avgpool_forward(d_out, d_in, &s));
    OK(nn_gpu_avgpool_backward(d_din, d_dout, &s));
    to_host(got, d_out, nout * 4), to_host(gdin, d_din, nin * 4);
    CHECK_CLOSE(got, want, nout, 1e-6, 1e-6, "avgpool forward");
    CHECK_CLOSE(gdin, wdin, nin, 1e-6, 1e-6, "avgpool backward");
    cudaFree(d_in), cudaFree(d_out), cudaFree(d_dout), cudaFree(d_din), cudaFree(d_arg);
    free(in), free(dout), free(nan), free(want), free(got), free(warg), free(garg), free(wdin), free(gdin);
}

static void test_pool(void)
{
    nn_pool_shape s1 = {2, 3, 8, 10, 2, 2}, s2 = {1, 2, 9, 7, 3, 2}, s3 = {2, 2, 5, 5, 2, 1},
                  s4 = {3, 6, 28, 28, 2, 2};
    check_pool(s1);
    check_pool(s2); /* overlapping windows */
    check_pool(s3);
    check_pool(s4);
}

/* ------------------------------------------------------------ dropout, gather */

static void test_dropout_mask(void)
{
    /* The same generator gives the CPU and the GPU the same mask, and
     * leaves both generators in the same state. */
    const long long n = 4099;
    const float p = 0.3f;
    nn_rng cpu, gpu;
    nn_rng_seed_stream(&cpu, 12345, 7);
    gpu = cpu;
    float *in = host_random(n, -1, 1), *nan = host_nan(n);
    float *wout = (float *)malloc(n * 4), *wmask = (float *)malloc(n * 4);
    float *gout = (float *)malloc(n * 4), *gmask = (float *)malloc(n * 4);
    nn_dropout_forward(wout, wmask, in, (int)n, p, 1, &cpu);
    float *d_in = dev_floats(in, n), *d_out = dev_floats(nan, n), *d_mask = dev_floats(nan, n);
    OK(nn_gpu_dropout_forward(d_out, d_mask, d_in, n, p, 1.0f / (1.0f - p), gpu.state, gpu.inc));
    gpu.state = nn_pcg_advance(gpu.state, gpu.inc, (uint64_t)n);
    to_host(gout, d_out, n * 4), to_host(gmask, d_mask, n * 4);
    CHECK(memcmp(gmask, wmask, n * 4) == 0, "the GPU mask differs from nn_dropout_forward's");
    CHECK(memcmp(gout, wout, n * 4) == 0, "the GPU output differs from nn_dropout_forward's");
    CHECK(gpu.state == cpu.state, "the generator jumped ahead %lld draws is not where %lld draws "
          "leave it", n, n);
    /* backward: din = dout ⊙ mask */
    float *dout = host_random(n, -1, 1), *want = (float *)calloc(n, 4);
    nn_dropout_backward(want, dout, wmask, (int)n);
    float *d_dout = dev_floats(dout, n);
    OK(nn_gpu_dropout_backward(d_out, d_dout, d_mask, n));
    to_host(gout, d_out, n * 4);
    CHECK_CLOSE(gout, want, (size_t)n, 0.0, 1e-30, "dropout backward");
    cudaFree(d_in), cudaFree(d_out), cudaFree(d_mask), cudaFree(d_dout);
    free(in), free(nan), free(wout), free(wmask), free(gout), free(gmask), free(dout), free(want);
}

static void test_gather(void)
{
    const int n = 50, dim = 13, rows = 17;
    uint8_t u8[n * dim];
    float f32[n * dim];
    int labels[n], idx[rows];
    for (int i = 0; i < n * dim; i++) {
        u8[i] = (uint8_t)nn_rng_below(&rng, 256);
        f32[i] = uniform(-1, 1);
    }
    for (int i = 0; i < n; i++)
        labels[i] = i % 7;
    for (int r = 0; r < rows; r++)
        idx[r] = (int)nn_rng_below(&rng, n);
    for (int as_bytes = 0; as_bytes < 2; as_bytes++) {
        nn_dataset ds;
        memset(&ds, 0, sizeof ds);
        ds.n = n, ds.dim = dim, ds.classes = 7, ds.labels = labels;
        if (as_bytes)
            ds.u8 = u8;
        else
            ds.f32 = f32;
        float want[rows * dim], got[rows * dim], nan[rows * dim];
        int wy[rows], gy[rows];
        for (int i = 0; i < rows * dim; i++)
            nan[i] = NAN;
        nn_dataset_gather(want, wy, &ds, idx, rows);
        uint8_t *d_u8 = as_bytes ? (uint8_t *)to_dev(u8, sizeof u8) : NULL;
        float *d_f32 = as_bytes ? NULL : dev_floats(f32, n * dim), *d_x = dev_floats(nan, rows * dim);
        int *d_lab = (int *)to_dev(labels, sizeof labels), *d_idx = (int *)to_dev(idx, sizeof idx);
        int *d_y = (int *)to_dev(wy, sizeof wy);
        OK(nn_gpu_gather(d_x, d_y, d_u8, d_f32, d_lab, d_idx, rows, dim));
        to_host(got, d_x, sizeof got), to_host(gy, d_y, sizeof gy);
        CHECK(memcmp(got, want, sizeof got) == 0, "gathered %s rows differ from nn_dataset_gather's",
              as_bytes ? "byte" : "float");
        cudaFree(d_u8), cudaFree(d_f32), cudaFree(d_x), cudaFree(d_lab), cudaFree(d_idx), cudaFree(d_y);
        CHECK(memcmp(gy, wy, sizeof gy) == 0, "gathered labels differ");
    }
}

/* ------------------------------------------------------------ training */

/* A small labelled set: n rows of dim features, label = a fixed rule of
 * the features, so that a network can learn it. As bytes for images. */
static void make_set(nn_dataset *ds, int n, int c, int h, int w, int classes, int bytes)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n, ds->dim = c * h * w, ds->classes = classes;
    if (h > 1)
        ds->channels = c, ds->height = h, ds->width = w;
    ds->labels = (int *)malloc(n * sizeof(int));
    if (bytes)
        ds->u8 = (uint8_t *)malloc((size_t)n * ds->dim);
    else
        ds->f32 = (float *)malloc((size_t)n * ds->dim * sizeof(float));
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < ds->dim; j++) {
            float v = nn_rng_uniform(&rng);
            if (bytes)
                ds->u8[(size_t)i * ds->dim + j] = (uint8_t)(v * 255.0f);
            else
                ds->f32[(size_t)i * ds->dim + j] = 2 * v - 1;
            s += (j % 3 == 0 ? v : -0.5 * v) * (1 + j % 2);
        }
        ds->labels[i] = (int)(fabs(s * 7.0)) % classes;
    }
    snprintf(ds->name, sizeof ds->name, "test-set");
}

/* Train the same model on the CPU and on the GPU; the epochs' losses and
 * the final weights must agree (they differ only by float rounding: sums
 * taken in another order). */
static void check_training(const char *spec, const int shape[3], const nn_dataset *train,
                           const nn_dataset *val, nn_opt_config opt, int epochs, int batch,
                           nn_gemm_impl gemm)
{
    nn_rng r1, r2;
    nn_rng_seed(&r1, 42);
    nn_rng_seed(&r2, 42);
    nn_model *cpu = nn_model_create(spec, NN_ACT_RELU, shape, &r1);
    nn_model *gpu = nn_model_create(spec, NN_ACT_RELU, shape, &r2);
    CHECK(cpu && gpu, "cannot build %s: %s", spec, nn_last_error());
    if (!cpu || !gpu)
        return;
    nn_train_config cfg = {epochs, batch, 7, opt, NN_SCHED_COSINE, NULL, 0, 0};
    nn_epoch_stats hc[8], hg[8];
    OK(nn_train(cpu, train, val, &cfg, hc));
    OK(nn_gpu_train(gpu, train, val, &cfg, gemm, hg));
    for (int e = 0; e < epochs && failures_now == 0; e++) {
        CHECK(fabsf(hg[e].train_loss - hc[e].train_loss) <= 1e-4f * (1 + hc[e].train_loss),
              "%s (%s gemm), epoch %d: GPU train loss %.7f, CPU %.7f", spec,
              gemm ? "cuBLAS" : "own", e + 1, hg[e].train_loss, hc[e].train_loss);
        CHECK(!val || fabsf(hg[e].val_loss - hc[e].val_loss) <= 1e-4f * (1 + hc[e].val_loss),
              "%s, epoch %d: GPU val loss %.7f, CPU %.7f", spec, e + 1, hg[e].val_loss,
              hc[e].val_loss);
        CHECK(hg[e].lr == hc[e].lr, "%s, epoch %d: learning rate %g vs %g", spec, e + 1, hg[e].lr,
              hc[e].lr);
    }
    for (int i = 0; i < cpu->n_params && failures_now == 0; i++) {
        char what[256];
        snprintf(what, sizeof what, "%s: %s after training", spec, cpu->params[i].name);
        CHECK_CLOSE(gpu->params[i].value->data, cpu->params[i].value->data,
                    cpu->params[i].value->size, 1e-5, 1e-3, what);
    }
    CHECK(gpu->rng.state == cpu->rng.state, "%s: the dropout stream ended elsewhere than the CPU's",
          spec);
    nn_model_free(cpu);
    nn_model_free(gpu);
}

static void free_set(nn_dataset *ds)
{
    free(ds->labels);
    free(ds->u8);
    free(ds->f32);
}

static void test_train_mlp(void)
{
    nn_dataset train, val;
    make_set(&train, 200, 6, 1, 1, 3, 0);
    make_set(&val, 50, 6, 1, 1, 3, 0);
    int shape[3] = {6, 1, 1};
    for (int gemm = 0; gemm < 2; gemm++) {
        check_training("dense:16,relu,dropout:0.25,dense:12,tanh,dense:3", shape, &train, &val,
                       nn_opt_defaults(NN_OPT_ADAM, 0.01f), 3, 32, (nn_gemm_impl)gemm);
        nn_opt_config sgd = nn_opt_defaults(NN_OPT_MOMENTUM, 0.05f);
        sgd.weight_decay = 1e-3f;
        check_training("dense:9,sigmoid,dense:3", shape, &train, NULL, sgd, 2, 23,
                       (nn_gemm_impl)gemm);
    }
    free_set(&train);
    free_set(&val);
}

static void test_train_cnn(void)
{
    nn_dataset train, val;
    make_set(&train, 48, 1, 8, 8, 3, 1);
    make_set(&val, 20, 1, 8, 8, 3, 1);
    int shape[3] = {1, 8, 8};
    for (int gemm = 0; gemm < 2; gemm++)
        check_training("conv:3x3x3:pad=1,relu,maxpool:2,conv:4x3x3,relu,avgpool:2,flatten,"
                       "dense:5,relu,dense:3",
                       shape, &train, &val, nn_opt_defaults(NN_OPT_MOMENTUM, 0.02f), 2, 16,
                       (nn_gemm_impl)gemm);
    free_set(&train);
    free_set(&val);
}

static void test_train_errors(void)
{
    nn_dataset train;
    make_set(&train, 64, 4, 1, 1, 2, 0);
    int shape[3] = {4, 1, 1};
    nn_rng r;
    nn_rng_seed(&r, 1);
    nn_model *m = nn_model_create("dense:8,relu,dense:2", NN_ACT_RELU, shape, &r);
    nn_train_config cfg = {2, 16, 1, nn_opt_defaults(NN_OPT_SGD, 1e30f), NN_SCHED_CONSTANT, NULL,
                           0, 0};
    CHECK(nn_gpu_train(m, &train, NULL, &cfg, NN_GEMM_OWN, NULL) == NN_ERROR &&
              strstr(nn_last_error(), "training stopped: the loss became"),
          "a diverging run must stop with nn_train's message, got: %s", nn_last_error());
    nn_model_free(m);
    nn_model *bn = nn_model_create("dense:8,batchnorm,relu,dense:2", NN_ACT_RELU, shape, &r);
    cfg.opt.lr = 0.1f;
    CHECK(nn_gpu_train(bn, &train, NULL, &cfg, NN_GEMM_OWN, NULL) == NN_ERROR &&
              strstr(nn_last_error(), "batch norm"),
          "batch norm must be refused with a message, got: %s", nn_last_error());
    nn_model_free(bn);
    free_set(&train);
}

#ifdef NNLAB_CUDA_EMU
/* The messages of nn_gpu_probe(), on the emulator's make-believe machines. */
static void test_probe_messages(void)
{
    char why[512];
    setenv("NNLAB_EMU_NO_DRIVER", "1", 1);
    CHECK(!nn_gpu_probe(why, sizeof why) && strstr(why, "no CUDA driver"), "no driver: %s", why);
    unsetenv("NNLAB_EMU_NO_DRIVER");
    setenv("NNLAB_EMU_NO_DEVICE", "1", 1);
    CHECK(!nn_gpu_probe(why, sizeof why) && strstr(why, "no CUDA device"), "no device: %s", why);
    CHECK(!nn_gpu_open() && strstr(nn_last_error(), "no usable CUDA device"),
          "nn_gpu_open without a device: %s", nn_last_error());
    unsetenv("NNLAB_EMU_NO_DEVICE");
    CHECK(nn_gpu_probe(why, sizeof why), "the emulated device: %s", why);
}
#endif

/* ------------------------------------------------------------ main */

int main(void)
{
    char why[512], about[512];
    const char *skip = NULL;
    nn_rng_seed(&rng, 2024);
    if (!nn_gpu_probe(why, sizeof why)) {
        skip = why;
    } else if (!(ctx = nn_gpu_open())) {
        snprintf(why, sizeof why, "%s", nn_last_error());
        skip = why;
    } else if (nn_gpu_describe(about, sizeof about) == NN_OK) {
        printf("device: %s\n", about);
    }
    run("sgemm steps 1-3 (naive, coalesced, tiled)", test_sgemm_steps, skip);
    run("sgemm step 4, own and cuBLAS, every transpose", test_sgemm_regblock, skip);
    run("sgemm batched, alpha, beta, odd strides", test_sgemm_batched, skip);
    run("bias + activation forward and backward, every activation", test_bias_act, skip);
    run("bias gradient of a linear layer", test_bias_linear_no_dz, skip);
    run("softmax cross-entropy: loss, gradient, argmax", test_softmax_xent, skip);
    run("sum over rows", test_sum_rows, skip);
    run("optimizers, with and without weight decay", test_optimizers, skip);
    run("im2col and col2im", test_im2col, skip);
    run("max and average pooling", test_pool, skip);
    run("dropout: the CPU's mask from the same stream", test_dropout_mask, skip);
    run("minibatch gathering", test_gather, skip);
    run("training an MLP: GPU against CPU", test_train_mlp, skip);
    run("training a CNN: GPU against CPU", test_train_cnn, skip);
    run("training errors: NaN stop, batch norm", test_train_errors, skip);
#ifdef NNLAB_CUDA_EMU
    run("device probe messages (emulated machines)", test_probe_messages, NULL);
#endif
    nn_gpu_close(ctx);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
