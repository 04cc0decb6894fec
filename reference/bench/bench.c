/*
 * nnlab-bench — training epochs on Fashion-MNIST, one BLAS thread.
 *
 *   nnlab-bench epoch   one epoch of the 784-256-128-10 MLP (batch 128, SGD lr 0.1)
 *   nnlab-bench floor   only that epoch's matrix products (same shapes, same
 *                       transposes, same count) straight through sgemm
 *   nnlab-bench lenet   one epoch of LeNet-5 (batch 128, SGD momentum 0.9, lr 0.01)
 *   nnlab-bench convs   LeNet-5's two conv layers alone, forward and backward,
 *                       an epoch's worth of batches: GFLOP/s of each
 *
 * Each prints key=value lines for reference/bench/bench.sh, which
 * alternates runs with PyTorch and prints the comparison. The floor is what
 * an epoch would cost if everything but the matrix products were free: its
 * FLOPs divided by the rate sgemm reaches on those shapes.
 */
#include "nnlab/blas.h"
#include "nnlab/conv.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include "nnlab/progress.h"
#include "nnlab/train.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BATCH 128
static const int widths[] = { 784, 256, 128, 10 };
#define N_DENSE 3

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* One training epoch of a model on Fashion-MNIST; prints its line. */
static int bench_epoch(const char *side, const char *spec, nn_opt_config opt)
{
    nn_dataset train = { 0 }, test = { 0 };
    if (nn_load_dataset(&train, &test, "fashion-mnist", 1))
        return fprintf(stderr, "nnlab-bench: %s\n", nn_last_error()), 1;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    int shape[3] = { 1, 28, 28 };
    nn_model *m = nn_model_create(spec, NN_ACT_RELU, shape, &rng);
    nn_train_config cfg = { 1, BATCH, 1, opt, NN_SCHED_CONSTANT, NULL, 0, 0 };
    nn_epoch_stats st;
    if (!m || nn_train(m, &train, NULL, &cfg, &st))
        return fprintf(stderr, "nnlab-bench: %s\n", nn_last_error()), 1;
    printf("side=%s seconds=%.4f loss=%.4f peak_rss_mb=%.1f\n", side, st.seconds,
           st.train_loss, peak_rss_kb() / 1024.0);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return 0;
}

/* Time forward and backward of one conv layer over an epoch of batches. */
static void bench_conv(const char *name, nn_conv_shape s, int first)
{
    int oh = nn_conv_out_size(s.h, s.kh, s.stride, s.pad);
    int ow = nn_conv_out_size(s.w, s.kw, s.stride, s.pad);
    size_t n_in = (size_t)s.batch * s.c_in * s.h * s.w;
    size_t n_out = (size_t)s.batch * s.c_out * oh * ow;
    size_t n_w = (size_t)s.c_out * s.c_in * s.kh * s.kw;
    float *in = nn_alloc(n_in * 4), *din = nn_alloc(n_in * 4), *out = nn_alloc(n_out * 4);
    float *w = nn_alloc(n_w * 4), *dw = nn_alloc(n_w * 4), *b = nn_alloc((size_t)s.c_out * 4);
    float *db = nn_alloc((size_t)s.c_out * 4);
    float *work = nn_alloc((size_t)nn_conv2d_workspace(&s) * 4);
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    for (size_t i = 0; in && i < n_in; i++)
        in[i] = nn_rng_uniform(&rng);
    for (size_t i = 0; w && i < n_w; i++)
        w[i] = nn_rng_uniform(&rng) - 0.5f;
    const int batches = 469;
    /* A convolution is a product with 2·c_out·oh·ow·c_in·kh·kw FLOPs per
     * image; backward does it twice (weights, and the input unless first). */
    double flops = 2.0 * s.batch * s.c_out * oh * ow * s.c_in * s.kh * s.kw * batches;
    double t0 = nn_now();
    for (int i = 0; i < batches; i++)
        nn_conv2d_forward(out, in, w, b, work, &s);
    double t1 = nn_now();
    for (int i = 0; i < batches; i++)
        nn_conv2d_backward(first ? NULL : din, dw, db, out, in, w, work, &s);
    double t2 = nn_now();
    double back = flops * (first ? 1 : 2);
    printf("side=conv layer=%s fwd_seconds=%.4f fwd_gflops=%.2f bwd_seconds=%.4f "
           "bwd_gflops=%.2f\n", name, t1 - t0, flops * 1e-9 / (t1 - t0), t2 - t1,
           back * 1e-9 / (t2 - t1));
    nn_free(in);
    nn_free(din);
    nn_free(out);
    nn_free(w);
    nn_free(dw);
    nn_free(b);
    nn_free(db);
    nn_free(work);
}

/* The sgemm calls of one training step on `rows` rows, as the trainer
 * makes them: per dense layer a forward product, a weight-gradient
 * product and (all but the first layer) an input-gradient product. */
static double step_products(float **act, float **grad, float **w, float **dw, int rows)
{
    double flops = 0.0;
    for (int l = 0; l < N_DENSE; l++) {
        int k = widths[l], n = widths[l + 1];
        nn_sgemm(0, 1, rows, n, k, 1.0f, act[l], k, w[l], k, 1.0f, act[l + 1], n);
        nn_sgemm(1, 0, n, k, rows, 1.0f, grad[l + 1], n, act[l], k, 1.0f, dw[l], k);
        flops += 4.0 * rows * n * k;
        if (l > 0) {
            nn_sgemm(0, 0, rows, k, n, 1.0f, grad[l + 1], n, w[l], k, 1.0f, grad[l], k);
            flops += 2.0 * rows * n * k;
        }
    }
    return flops;
}

static int bench_floor(void)
{
    float *act[N_DENSE + 1], *grad[N_DENSE + 1], *w[N_DENSE], *dw[N_DENSE];
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    for (int l = 0; l <= N_DENSE; l++) {
        size_t n = (size_t)BATCH * widths[l];
        act[l] = nn_alloc(n * sizeof(float));
        grad[l] = nn_alloc(n * sizeof(float));
        for (size_t i = 0; act[l] && grad[l] && i < n; i++) {
            act[l][i] = nn_rng_uniform(&rng) * 1e-3f;
            grad[l][i] = nn_rng_uniform(&rng) * 1e-3f;
        }
        if (l < N_DENSE) {
            size_t nw = (size_t)widths[l] * widths[l + 1];
            w[l] = nn_alloc(nw * sizeof(float));
            dw[l] = nn_alloc(nw * sizeof(float));
            for (size_t i = 0; w[l] && i < nw; i++)
                w[l][i] = nn_rng_uniform(&rng) * 1e-3f;
        }
    }
    const int n_train = 60000, full = n_train / BATCH, rest = n_train % BATCH;
    step_products(act, grad, w, dw, BATCH); /* warm-up: page in, pack once */
    double t0 = nn_now(), flops = 0.0;
    for (int b = 0; b < full; b++)
        flops += step_products(act, grad, w, dw, BATCH);
    if (rest)
        flops += step_products(act, grad, w, dw, rest);
    double seconds = nn_now() - t0;
    printf("side=floor seconds=%.4f gflop=%.3f gflops=%.2f\n", seconds, flops * 1e-9,
           flops * 1e-9 / seconds);
    for (int l = 0; l <= N_DENSE; l++) {
        nn_free(act[l]);
        nn_free(grad[l]);
        if (l < N_DENSE) {
            nn_free(w[l]);
            nn_free(dw[l]);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    nn_blas_set_threads(1);
    const char *mode = argc == 2 ? argv[1] : "";
    if (strcmp(mode, "epoch") == 0)
        return bench_epoch("nnlab", "784-256-128-10", nn_opt_defaults(NN_OPT_SGD, 0.1f));
    if (strcmp(mode, "floor") == 0)
        return bench_floor();
    if (strcmp(mode, "lenet") == 0)
        return bench_epoch("nnlab-lenet", "lenet5", nn_opt_defaults(NN_OPT_MOMENTUM, 0.01f));
    if (strcmp(mode, "convs") == 0) {
        bench_conv("conv1", (nn_conv_shape){ BATCH, 1, 28, 28, 6, 5, 5, 1, 2 }, 1);
        bench_conv("conv2", (nn_conv_shape){ BATCH, 6, 14, 14, 16, 5, 5, 1, 0 }, 0);
        return 0;
    }
    fprintf(stderr, "usage: nnlab-bench epoch|floor|lenet|convs\n"
                    "  epoch  one epoch of the 784-256-128-10 MLP, batch 128, SGD lr 0.1\n"
                    "  floor  the same epoch's matrix products alone, through sgemm\n"
                    "  lenet  one epoch of LeNet-5, batch 128, SGD momentum 0.9, lr 0.01\n"
                    "  convs  LeNet-5's conv layers alone: GFLOP/s forward and backward\n");
    return 2;
}
