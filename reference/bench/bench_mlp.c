/*
 * nnlab-bench — one training epoch of the 784-256-128-10 MLP on
 * Fashion-MNIST (batch 128, SGD lr 0.1, one BLAS thread), and its floor.
 *
 *   nnlab-bench epoch   time one epoch of the reference trainer
 *   nnlab-bench floor   time only the epoch's matrix products (same shapes,
 *                       same transposes, same count) straight through sgemm
 *
 * Each prints one line of key=value pairs for reference/bench/bench.sh,
 * which alternates runs with PyTorch and prints the comparison. The floor
 * is what an epoch would cost if everything but the matrix products were
 * free: its FLOPs divided by the rate sgemm reaches on those shapes.
 */
#include "nnlab/blas.h"
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

static int bench_epoch(void)
{
    nn_dataset train = { 0 }, test = { 0 };
    if (nn_load_dataset(&train, &test, "fashion-mnist", 1))
        return fprintf(stderr, "nnlab-bench: %s\n", nn_last_error()), 1;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_model *m = nn_model_create("784-256-128-10", NN_ACT_RELU, NULL, &rng);
    nn_train_config cfg = { 1, BATCH, 1, nn_opt_defaults(NN_OPT_SGD, 0.1f),
                            NN_SCHED_CONSTANT, NULL, 0, 0 };
    nn_epoch_stats st;
    if (!m || nn_train(m, &train, NULL, &cfg, &st))
        return fprintf(stderr, "nnlab-bench: %s\n", nn_last_error()), 1;
    printf("side=nnlab seconds=%.4f loss=%.4f peak_rss_mb=%.1f\n", st.seconds, st.train_loss,
           peak_rss_kb() / 1024.0);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return 0;
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
    if (argc == 2 && strcmp(argv[1], "epoch") == 0)
        return bench_epoch();
    if (argc == 2 && strcmp(argv[1], "floor") == 0)
        return bench_floor();
    fprintf(stderr, "usage: nnlab-bench epoch|floor\n"
                    "  epoch  one epoch of the 784-256-128-10 MLP, batch 128, SGD lr 0.1\n"
                    "  floor  the same epoch's matrix products alone, through sgemm\n");
    return 2;
}
