/*
 * Lab 4's two band runs: minibatch SGD through nn_mlp_train_epoch() on the
 * spirals and on a Fashion-MNIST subset, from a seed.
 *
 * One source for both sides of the band test:
 *   - grader/bands/lab04-mkbands.c links the REFERENCE backprop.c and runs each
 *     configuration with the seeds 1..seeds: the min and max of their
 *     per-epoch losses are the committed band files;
 *   - grader/labs/lab04.c links the STUDENT's backprop.c and runs the same
 *     configuration with the seed test_seed (one of those seeds), and
 *     checks that the loss stays inside the band widened by the margin.
 * Change a setting here and the band files must be regenerated
 * (grader/bands/lab04-mkbands.sh), or the reference itself leaves its band.
 *
 * Plain C (nnlab headers only, no CUnit), static functions: each includer
 * gets its own copy.
 */
#ifndef NNLAB_GRADER_LAB04_RUNS_H
#define NNLAB_GRADER_LAB04_RUNS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/backprop.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"

enum { LAB04_MAX_LAYERS = 3, LAB04_MAX_EPOCHS = 100 };

/* One training configuration. */
typedef struct {
    const char *name;      /* "spirals", "fashion": the band file is lab04-NAME.csv */
    int n_layers;
    int sizes[LAB04_MAX_LAYERS + 1];
    nn_act act;            /* hidden activation; weights He-initialised */
    int rows;              /* training examples */
    int test_rows;         /* held-out examples, for the accuracy */
    int batch;             /* rows % batch != 0: every epoch ends on a partial batch */
    float lr;
    int epochs;
    int seeds;             /* the band: seeds 1..seeds */
    int test_seed;         /* the graded run: one of them */
} lab04_run;

/* The spirals: nn_load_dataset("spirals", 1), 3 interleaved arms, 1000
 * training and 500 test points; the training rows are SORTED BY CLASS
 * (arm 0, then 1, then 2), so that an epoch that does not shuffle sees one
 * class at a time. 1000 = 62·16 + 8. */
static const lab04_run LAB04_SPIRALS = {
    "spirals", 3, {2, 32, 32, 3}, NN_ACT_RELU, 1000, 500, 16, 0.1f, 100, 32, 1,
};

/* Fashion-MNIST: the first 5000 training images, the first 1000 test
 * images, pixels / 255. 5000 = 156·32 + 8. */
static const lab04_run LAB04_FASHION = {
    "fashion", 2, {784, 64, 10}, NN_ACT_RELU, 5000, 1000, 32, 0.05f, 10, 16, 1,
};

/* The band margin: the test accepts loss L at an epoch when
 *   min − (LAB04_MARGIN_REL·min + LAB04_MARGIN_ABS) <= L <= max + (LAB04_MARGIN_REL·max + LAB04_MARGIN_ABS)
 * where min, max are over the reference's seeds. (Chosen so that the
 * reference itself, re-run with its learning rate changed in the 7th digit
 * — float rounding grown over 100 epochs — never left it in 64 runs; the
 * known mistakes leave it within 25 epochs.) */
#define LAB04_MARGIN_REL 0.10
#define LAB04_MARGIN_ABS 0.02

/* Training and test data of a run, features as floats. */
typedef struct {
    float *x, *test_x;  /* [rows, sizes[0]], [test_rows, sizes[0]] */
    int *y, *test_y;    /* [rows], [test_rows] */
} lab04_data;

static void lab04_data_free(lab04_data *d)
{
    free(d->x);
    free(d->y);
    free(d->test_x);
    free(d->test_y);
    memset(d, 0, sizeof *d);
}

/* Copy rows idx[0..n) of ds into x, y (as floats). */
static int lab04_take(float **x, int **y, const nn_dataset *ds, const int *idx, int n)
{
    *x = malloc(sizeof(float) * (size_t)n * (size_t)ds->dim);
    *y = malloc(sizeof(int) * (size_t)n);
    if (!*x || !*y)
        return 0;
    nn_dataset_gather(*x, *y, ds, idx, n);
    return 1;
}

/* Load the data of run `cfg`. 0 with a reason in why[size] when it
 * cannot (Fashion-MNIST not installed, out of memory). */
static int lab04_load(lab04_data *d, const lab04_run *cfg, char *why, size_t size)
{
    nn_dataset train, test;
    memset(d, 0, sizeof *d);
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    int ok = 0;
    if (strcmp(cfg->name, "spirals") == 0) {
        if (nn_load_dataset(&train, &test, "spirals", 1) != NN_OK) {
            snprintf(why, size, "nn_load_dataset(spirals): %s", nn_last_error());
            return 0;
        }
    } else {
        char dir[4096];
        if (nn_find_dataset(dir, sizeof dir, "fashion-mnist") != NN_OK ||
            nn_load_idx_dir(&train, &test, dir, "fashion-mnist") != NN_OK) {
            snprintf(why, size, "Fashion-MNIST is not available here: %s", nn_last_error());
            return 0;
        }
    }
    int n = cfg->rows > cfg->test_rows ? cfg->rows : cfg->test_rows;
    int *idx = malloc(sizeof(int) * (size_t)n);
    if (train.n >= cfg->rows && test.n >= cfg->test_rows && train.dim == cfg->sizes[0] && idx) {
        /* Training rows: the spirals sorted by class (a stable sort), the
         * images in file order. */
        int k = 0;
        if (strcmp(cfg->name, "spirals") == 0) {
            for (int c = 0; c < train.classes; c++)
                for (int i = 0; i < cfg->rows; i++)
                    if (train.labels[i] == c)
                        idx[k++] = i;
        } else {
            for (; k < cfg->rows; k++)
                idx[k] = k;
        }
        ok = k == cfg->rows && lab04_take(&d->x, &d->y, &train, idx, cfg->rows);
        for (int i = 0; i < cfg->test_rows; i++)
            idx[i] = i;
        ok = ok && lab04_take(&d->test_x, &d->test_y, &test, idx, cfg->test_rows);
        if (!ok)
            snprintf(why, size, "out of memory for the %s data", cfg->name);
    } else {
        snprintf(why, size, "the %s data has %d and %d rows of %d features (need %d, %d, %d)",
                 cfg->name, train.n, test.n, train.dim, cfg->rows, cfg->test_rows, cfg->sizes[0]);
    }
    free(idx);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    if (!ok)
        lab04_data_free(d);
    return ok;
}

/* A network of run `cfg`: weights and biases. */
typedef struct {
    float *w[LAB04_MAX_LAYERS], *b[LAB04_MAX_LAYERS];
    nn_mlp mlp;
} lab04_net;

static void lab04_net_free(lab04_net *net)
{
    for (int l = 0; l < LAB04_MAX_LAYERS; l++) {
        free(net->w[l]);
        free(net->b[l]);
    }
    memset(net, 0, sizeof *net);
}

/* He-initialised weights, layer by layer from rng, zero biases. */
static int lab04_net_init(lab04_net *net, const lab04_run *cfg, nn_rng *rng)
{
    memset(net, 0, sizeof *net);
    const int *s = cfg->sizes;
    for (int l = 0; l < cfg->n_layers; l++) {
        net->w[l] = malloc(sizeof(float) * (size_t)s[l + 1] * (size_t)s[l]);
        net->b[l] = calloc((size_t)s[l + 1], sizeof(float));
        if (!net->w[l] || !net->b[l]) {
            lab04_net_free(net);
            return 0;
        }
        nn_init_he(net->w[l], s[l], s[l + 1], rng);
    }
    net->mlp.n_layers = cfg->n_layers;
    net->mlp.sizes = cfg->sizes;
    net->mlp.w = net->w;
    net->mlp.b = net->b;
    net->mlp.act = cfg->act;
    return 1;
}

/* The run itself: seed an rng, initialise the network from it, then
 * cfg->epochs calls of nn_mlp_train_epoch() with the same rng (it shuffles
 * from where the initialisation left it). loss[e] is what epoch e + 1
 * returned; each(e + 1, loss[e], arg), when given, sees it at once (the
 * test logs it, so that a run that crashes later still shows its start).
 * The trained network stays in *net (free it). */
static int lab04_train(float *loss, lab04_net *net, const lab04_data *d, const lab04_run *cfg,
                       uint64_t seed, void (*each)(int epoch, float loss, void *arg), void *arg)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    if (!lab04_net_init(net, cfg, &rng))
        return 0;
    for (int e = 0; e < cfg->epochs; e++) {
        loss[e] = nn_mlp_train_epoch(&net->mlp, d->x, d->y, cfg->rows, cfg->batch, cfg->lr, &rng);
        if (each)
            each(e + 1, loss[e], arg);
    }
    return 1;
}

#endif
