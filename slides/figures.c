/*
 * The numbers behind every plot of the slides, computed by the reference.
 *
 *   build/slides/figures OUTDIR
 *
 * Links build/lib/libnnlab.a: each figure calls the reference module of
 * its lab (nn_sigmoid for the sigmoid plot, nn_adam_step for Adam's
 * trajectory, nn_conv2d_forward for the edge maps, nn_train for the
 * learning curves), so the slides show what the code the students replace
 * actually computes. It writes whitespace-separated .dat files, gnuplot
 * variable files (NAME.gp) and LaTeX snippets (NAME.tex) into OUTDIR;
 * slides/figures.gp turns the .dat files into PDFs.
 *
 * Everything is seeded and single-threaded: the same figures on every
 * build. Total run time is well under a second.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnlab/activations.h"
#include "nnlab/backprop.h"
#include "nnlab/batchnorm.h"
#include "nnlab/conv.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include "nnlab/model.h"
#include "nnlab/neuron.h"
#include "nnlab/optimizers.h"
#include "nnlab/pool.h"
#include "nnlab/rng.h"
#include "nnlab/train.h"

static const char *outdir;

/* ------------------------------------------------------------ output */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("figures: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static FILE *open_out(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s", path);
    return f;
}

static void close_out(FILE *f)
{
    if (ferror(f) || fclose(f) != 0)
        die("write error");
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory");
    return p;
}

/* Standardise each column of x [rows, n] to mean 0, standard deviation 1. */
static void standardize(float *x, int rows, int n)
{
    for (int j = 0; j < n; j++) {
        double s = 0, ss = 0;
        for (int r = 0; r < rows; r++)
            s += x[r * n + j];
        double mean = s / rows;
        for (int r = 0; r < rows; r++)
            ss += (x[r * n + j] - mean) * (x[r * n + j] - mean);
        double sd = sqrt(ss / rows);
        for (int r = 0; r < rows; r++)
            x[r * n + j] = (float)((x[r * n + j] - mean) / sd);
    }
}

/* A row-major CSV table from datasets/ (path relative to the source tree). */
static void read_table(nn_table *t, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/datasets/%s", NNLAB_ROOT, name);
    if (nn_csv_read(t, path) != NN_OK)
        die("%s", nn_last_error());
}

/* ------------------------------------------------------------ small models */

/* Train a model given by a layer list on a data set; history may be NULL. */
static nn_model *train_model(const char *spec, const nn_dataset *train, const nn_dataset *val,
                             nn_opt_kind opt, float lr, float weight_decay, int epochs, int batch,
                             int patience, uint64_t seed, nn_epoch_stats *history)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    int shape[3] = {train->dim, 1, 1};
    nn_model *m = nn_model_create(spec, NN_ACT_RELU, shape, &rng);
    if (!m)
        die("%s", nn_last_error());
    nn_train_config cfg = {0};
    cfg.epochs = epochs;
    cfg.batch = batch;
    cfg.seed = seed;
    cfg.opt = nn_opt_defaults(opt, lr);
    cfg.opt.weight_decay = weight_decay;
    cfg.schedule = NN_SCHED_CONSTANT;
    cfg.patience = patience;
    if (nn_train(m, train, val, &cfg, history) != NN_OK)
        die("%s", nn_last_error());
    return m;
}

/* Class of every point of a res × res grid over [lo, hi]² as "x y class". */
static void write_regions(const char *name, nn_model *m, float lo, float hi, int res)
{
    FILE *f = open_out(name);
    float *x = xcalloc((size_t)res * 2, sizeof *x);
    if (nn_model_reserve(m, res) != NN_OK)
        die("%s", nn_last_error());
    nn_model_set_training(m, 0);
    int k = nn_model_outputs(m);
    for (int i = 0; i < res; i++) {
        float yv = lo + (hi - lo) * i / (res - 1);
        for (int j = 0; j < res; j++) {
            x[2 * j] = lo + (hi - lo) * j / (res - 1);
            x[2 * j + 1] = yv;
        }
        const float *logits = nn_model_forward(m, x, res);
        for (int j = 0; j < res; j++)
            fprintf(f, "%g %g %d\n", x[2 * j], yv, nn_argmax(logits + (size_t)j * k, k));
        fputc('\n', f);
    }
    free(x);
    close_out(f);
}

static void write_points(const char *name, const nn_dataset *ds)
{
    FILE *f = open_out(name);
    for (int r = 0; r < ds->n; r++)
        fprintf(f, "%g %g %d\n", ds->f32[2 * r], ds->f32[2 * r + 1], ds->labels[r]);
    close_out(f);
}

/* ------------------------------------------------------------ intro */

/* The same spirals, a linear classifier and an MLP: feature learning. */
static void fig_intro(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    nn_dataset ds = {0};
    if (nn_make_synthetic(&ds, NN_SYN_SPIRALS, 600, 3, 0.05f, &rng) != NN_OK)
        die("%s", nn_last_error());
    write_points("intro-spirals.dat", &ds);
    nn_model *lin = train_model("dense:3", &ds, NULL, NN_OPT_ADAM, 0.05f, 0, 100, 32, 0, 1, NULL);
    nn_model *mlp = train_model("dense:64,relu,dense:64,relu,dense:3", &ds, NULL, NN_OPT_ADAM,
                                0.01f, 0, 200, 32, 0, 1, NULL);
    float acc_lin, acc_mlp;
    nn_evaluate(lin, &ds, 100, NULL, &acc_lin);
    nn_evaluate(mlp, &ds, 100, NULL, &acc_mlp);
    write_regions("intro-linear.dat", lin, -1.2f, 1.2f, 160);
    write_regions("intro-mlp.dat", mlp, -1.2f, 1.2f, 160);
    FILE *f = open_out("intro-vars.gp");
    fprintf(f, "acc_lin = %.1f\nacc_mlp = %.1f\n", 100 * acc_lin, 100 * acc_mlp);
    close_out(f);
    nn_model_free(lin);
    nn_model_free(mlp);
    nn_dataset_free(&ds);
}

/* ------------------------------------------------------------ lab 1 */

static void fig_lab01(void)
{
    /* Output functions of one neuron. */
    FILE *f = open_out("lab01-outputs.dat");
    for (int i = 0; i <= 240; i++) {
        float z = -6.0f + 0.05f * i;
        fprintf(f, "%g %g %g %g\n", z, nn_neuron_step(z), nn_neuron_sign(z), nn_neuron_sigmoid(z));
    }
    close_out(f);

    /* The perceptron on setosa vs versicolor, sepal length and width
     * (standardised), epoch by epoch: the lab's own test. */
    nn_table t = {0};
    read_table(&t, "iris.csv");
    int rows = 100, n = 2;
    float *x = xcalloc((size_t)rows * n, sizeof *x);
    int *y = xcalloc((size_t)rows, sizeof *y);
    for (int r = 0; r < rows; r++) {
        x[r * n] = t.values[r * t.cols + 0];
        x[r * n + 1] = t.values[r * t.cols + 1];
        y[r] = (int)t.values[r * t.cols + 4] == 1;   /* versicolor = 1 */
    }
    nn_table_free(&t);
    standardize(x, rows, n);
    f = open_out("lab01-iris.dat");
    for (int r = 0; r < rows; r++)
        fprintf(f, "%g %g %d\n", x[r * n], x[r * n + 1], y[r]);
    close_out(f);
    f = open_out("lab01-perceptron.dat");
    float w[2] = {0, 0}, b = 0;
    for (int e = 1; e <= 10; e++) {
        int errors = nn_perceptron_epoch(w, &b, x, y, 0.1f, rows, n);
        fprintf(f, "%d %g %g %g %d\n", e, w[0], w[1], b, errors);
        if (errors == 0)
            break;
    }
    close_out(f);
    free(x);
    free(y);

    /* Logistic regression on the study table: loss and accuracy per step. */
    read_table(&t, "study.csv");
    rows = t.rows;
    x = xcalloc((size_t)rows * n, sizeof *x);
    y = xcalloc((size_t)rows, sizeof *y);
    for (int r = 0; r < rows; r++) {
        x[r * n] = t.values[r * t.cols + 0];
        x[r * n + 1] = t.values[r * t.cols + 1];
        y[r] = (int)t.values[r * t.cols + 2];
    }
    nn_table_free(&t);
    standardize(x, rows, n);
    f = open_out("lab01-logistic.dat");
    w[0] = w[1] = b = 0;
    float *p = xcalloc((size_t)rows, sizeof *p);
    for (int s = 0; s <= 200; s++) {
        nn_logistic_predict(p, w, b, x, rows, n);
        int right = 0;
        for (int r = 0; r < rows; r++)
            right += (p[r] >= 0.5f) == (y[r] == 1);
        float loss = nn_logistic_step(w, &b, x, y, 0.5f, rows, n);
        fprintf(f, "%d %g %g\n", s, loss, (double)right / rows);
    }
    close_out(f);
    free(p);
    free(x);
    free(y);
}

/* ------------------------------------------------------------ lab 2 */

/* A deep MLP at initialisation: the size of ∂L/∂W per layer, the
 * vanishing-gradient picture. Inputs N(0, 1), random labels. */
static void layer_grad_norms(double *norm, nn_act act, int depth, int width, int batch,
                             uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    int *sizes = xcalloc((size_t)depth + 1, sizeof *sizes);
    for (int l = 0; l <= depth; l++)
        sizes[l] = l == depth ? 10 : width;
    float **w = xcalloc((size_t)depth, sizeof *w), **b = xcalloc((size_t)depth, sizeof *b);
    float **dw = xcalloc((size_t)depth, sizeof *dw), **db = xcalloc((size_t)depth, sizeof *db);
    float **z = xcalloc((size_t)depth, sizeof *z), **dz = xcalloc((size_t)depth, sizeof *dz);
    float **a = xcalloc((size_t)depth + 1, sizeof *a), **da = xcalloc((size_t)depth + 1, sizeof *da);
    for (int l = 0; l < depth; l++) {
        int ni = sizes[l], no = sizes[l + 1];
        w[l] = xcalloc((size_t)ni * no, sizeof(float));
        dw[l] = xcalloc((size_t)ni * no, sizeof(float));
        b[l] = xcalloc((size_t)no, sizeof(float));
        db[l] = xcalloc((size_t)no, sizeof(float));
        z[l] = xcalloc((size_t)batch * no, sizeof(float));
        dz[l] = xcalloc((size_t)batch * no, sizeof(float));
        if (act == NN_ACT_RELU)
            nn_init_he(w[l], ni, no, &rng);
        else
            nn_init_xavier(w[l], ni, no, &rng);
    }
    for (int l = 0; l <= depth; l++) {
        a[l] = xcalloc((size_t)batch * sizes[l], sizeof(float));
        da[l] = xcalloc((size_t)batch * sizes[l], sizeof(float));
    }
    for (int i = 0; i < batch * width; i++)
        a[0][i] = nn_rng_normal(&rng);
    int *labels = xcalloc((size_t)batch, sizeof *labels);
    for (int r = 0; r < batch; r++)
        labels[r] = (int)(nn_rng_uniform(&rng) * 10) % 10;
    nn_mlp net = {depth, sizes, w, b, act};
    nn_mlp_forward(z, a, &net, batch);
    nn_mlp_backward(dw, db, dz, da, z, a, labels, &net, batch);
    for (int l = 0; l < depth; l++) {
        double s = 0;
        for (int i = 0; i < sizes[l] * sizes[l + 1]; i++)
            s += (double)dw[l][i] * dw[l][i];
        norm[l] = sqrt(s);
        free(w[l]); free(dw[l]); free(b[l]); free(db[l]); free(z[l]); free(dz[l]);
    }
    for (int l = 0; l <= depth; l++) {
        free(a[l]);
        free(da[l]);
    }
    free(w); free(dw); free(b); free(db); free(z); free(dz); free(a); free(da);
    free(sizes);
    free(labels);
}

static void fig_lab02(void)
{
    /* Every activation and its derivative on [−5, 5]. */
    FILE *f = open_out("lab02-act.dat");
    for (int i = 0; i <= 400; i++) {
        float x = -5.0f + 0.025f * i;
        fprintf(f, "%g", x);
        for (int k = 0; k < NN_ACT_COUNT; k++) {
            float v;
            nn_activation_forward(&v, &x, 1, (nn_act)k);
            fprintf(f, " %g %g", v, nn_activation_grad((nn_act)k, x));
        }
        fputc('\n', f);
    }
    close_out(f);

    /* Gradient norm per layer of a 15-layer MLP, three activations. */
    enum { DEPTH = 15 };
    double g_sig[DEPTH], g_tanh[DEPTH], g_relu[DEPTH];
    layer_grad_norms(g_sig, NN_ACT_SIGMOID, DEPTH, 64, 128, 11);
    layer_grad_norms(g_tanh, NN_ACT_TANH, DEPTH, 64, 128, 11);
    layer_grad_norms(g_relu, NN_ACT_RELU, DEPTH, 64, 128, 11);
    f = open_out("lab02-vanish.dat");
    for (int l = 0; l < DEPTH; l++)
        fprintf(f, "%d %g %g %g\n", l + 1, g_sig[l], g_tanh[l], g_relu[l]);
    close_out(f);

    /* Softmax at three temperatures. */
    const float logits[6] = {2.0f, 1.0f, 0.1f, -0.5f, 1.5f, -1.0f};
    const float temps[3] = {0.5f, 1.0f, 2.0f};
    float p[3][6];
    for (int t = 0; t < 3; t++) {
        float scaled[6];
        for (int j = 0; j < 6; j++)
            scaled[j] = logits[j] / temps[t];
        nn_softmax_forward(p[t], scaled, 1, 6);
    }
    f = open_out("lab02-softmax.dat");
    for (int j = 0; j < 6; j++)
        fprintf(f, "%d %g %g %g %g\n", j + 1, logits[j], p[0][j], p[1][j], p[2][j]);
    close_out(f);
}

/* ------------------------------------------------------------ lab 3 */

/* Standard deviation of each layer's activations in a deep MLP, for an
 * initialisation: init 0 = U(−0.05, 0.05), 1 = Xavier, 2 = He. */
static void activation_stds(double *sd, nn_act act, int init, int depth, int width, int batch)
{
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    float *w = xcalloc((size_t)width * width, sizeof *w);
    float *b = xcalloc((size_t)width, sizeof *b);
    float *in = xcalloc((size_t)batch * width, sizeof *in);
    float *out = xcalloc((size_t)batch * width, sizeof *out);
    for (int i = 0; i < batch * width; i++)
        in[i] = nn_rng_normal(&rng);
    for (int l = 0; l < depth; l++) {
        if (init == 0)
            nn_init_uniform(w, width * width, 0.05f, &rng);
        else if (init == 1)
            nn_init_xavier(w, width, width, &rng);
        else
            nn_init_he(w, width, width, &rng);
        nn_dense_forward(out, in, w, b, batch, width, width);
        nn_activation_forward(out, out, batch * width, act);
        double s = 0, ss = 0;
        for (int i = 0; i < batch * width; i++) {
            s += out[i];
            ss += (double)out[i] * out[i];
        }
        double n = (double)batch * width, mean = s / n;
        sd[l] = sqrt(fmax(ss / n - mean * mean, 0));
        float *tmp = in;
        in = out;
        out = tmp;
    }
    free(w);
    free(b);
    free(in);
    free(out);
}

static void fig_lab03(void)
{
    /* Losses for one example as the prediction varies. */
    FILE *f = open_out("lab03-losses.dat");
    for (int i = 1; i < 200; i++) {
        float p = i / 200.0f, one = 1.0f, zero = 0.0f;
        fprintf(f, "%g %g %g %g %g\n", p, nn_bce_loss(&p, &one, 1), nn_bce_loss(&p, &zero, 1),
                nn_mse_loss(&p, &one, 1, 1), nn_mse_loss(&p, &zero, 1, 1));
    }
    close_out(f);
    /* Cross-entropy of a 3-class example against the margin of the right logit. */
    f = open_out("lab03-ce.dat");
    for (int i = 0; i <= 160; i++) {
        float m = -8.0f + 0.1f * i;
        float logits[3] = {m, 0.0f, 0.0f};
        int label = 0;
        fprintf(f, "%g %g\n", m, nn_cross_entropy_loss(logits, &label, 1, 3));
    }
    close_out(f);

    /* Activations' spread through 12 layers of width 256. */
    enum { DEPTH = 12 };
    double sd[6][DEPTH];
    activation_stds(sd[0], NN_ACT_TANH, 0, DEPTH, 256, 256);
    activation_stds(sd[1], NN_ACT_TANH, 1, DEPTH, 256, 256);
    activation_stds(sd[2], NN_ACT_RELU, 0, DEPTH, 256, 256);
    activation_stds(sd[3], NN_ACT_RELU, 1, DEPTH, 256, 256);
    activation_stds(sd[4], NN_ACT_RELU, 2, DEPTH, 256, 256);
    activation_stds(sd[5], NN_ACT_TANH, 2, DEPTH, 256, 256);
    f = open_out("lab03-init.dat");
    for (int l = 0; l < DEPTH; l++) {
        fprintf(f, "%d", l + 1);
        for (int k = 0; k < 6; k++)
            fprintf(f, " %g", sd[k][l]);
        fputc('\n', f);
    }
    close_out(f);

    /* Parameter count of the demo MLP, layer by layer, from the model. */
    int shape[3] = {784, 1, 1};
    nn_model *m = nn_model_create("784-256-128-10", NN_ACT_RELU, shape, NULL);
    if (!m)
        die("%s", nn_last_error());
    f = open_out("lab03-params.tex");
    fprintf(f, "\\begin{tabular}{lrr}\n\\toprule\nlayer & shape of $W$, $b$ & parameters\\\\\n\\midrule\n");
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->kind != NN_LAYER_DENSE)
            continue;
        fprintf(f, "dense %d $\\to$ %d & $%d \\times %d$, $%d$ & %ld\\\\\n", l->n_in, l->n_out,
                l->n_out, l->n_in, l->n_out, (long)(l->w.size + l->b.size));
    }
    fprintf(f, "\\midrule\ntotal & & %ld\\\\\n\\bottomrule\n\\end{tabular}\n",
            nn_model_count_params(m));
    close_out(f);
    nn_model_free(m);
}

/* ------------------------------------------------------------ lab 4 */

/* Full-data loss of a plain-array MLP (lab 3's forward, lab 3's loss). */
static float mlp_loss(const nn_mlp *net, float **z, float **a, const float *x, const int *y,
                      int rows)
{
    memcpy(a[0], x, (size_t)rows * net->sizes[0] * sizeof(float));
    nn_mlp_forward(z, a, net, rows);
    return nn_cross_entropy_loss(a[net->n_layers], y, rows, net->sizes[net->n_layers]);
}

/* Minibatch SGD on moons with the lab-4 functions, the loss on the whole
 * training set recorded after every update. */
static void sgd_curve(double *curve, int batch, float lr, const nn_dataset *ds, int epochs,
                      int points_per_epoch)
{
    enum { L = 2 };
    int sizes[L + 1] = {2, 32, 2};
    int rows = ds->n;
    nn_rng rng;
    nn_rng_seed(&rng, 21);
    float *w[L], *b[L], *dw[L], *db[L], *z[L], *dz[L], *a[L + 1], *da[L + 1];
    for (int l = 0; l < L; l++) {
        w[l] = xcalloc((size_t)sizes[l] * sizes[l + 1], sizeof(float));
        dw[l] = xcalloc((size_t)sizes[l] * sizes[l + 1], sizeof(float));
        b[l] = xcalloc((size_t)sizes[l + 1], sizeof(float));
        db[l] = xcalloc((size_t)sizes[l + 1], sizeof(float));
        z[l] = xcalloc((size_t)rows * sizes[l + 1], sizeof(float));
        dz[l] = xcalloc((size_t)rows * sizes[l + 1], sizeof(float));
        nn_init_he(w[l], sizes[l], sizes[l + 1], &rng);
    }
    for (int l = 0; l <= L; l++) {
        a[l] = xcalloc((size_t)rows * sizes[l], sizeof(float));
        da[l] = xcalloc((size_t)rows * sizes[l], sizeof(float));
    }
    nn_mlp net = {L, sizes, w, b, NN_ACT_RELU};
    int *idx = xcalloc((size_t)rows, sizeof *idx);
    float *xb = xcalloc((size_t)rows * 2, sizeof *xb);
    int *yb = xcalloc((size_t)rows, sizeof *yb);
    for (int i = 0; i < rows; i++)
        idx[i] = i;
    /* Record the full loss points_per_epoch times per epoch, at the
     * update closest to each fraction of the epoch. */
    int steps = (rows + batch - 1) / batch, k = 0;
    curve[k++] = mlp_loss(&net, z, a, ds->f32, ds->labels, rows);
    for (int e = 0; e < epochs; e++) {
        nn_rng_shuffle(&rng, idx, rows);
        int next = 1;
        for (int s = 0; s < steps; s++) {
            int start = s * batch, nb = rows - start < batch ? rows - start : batch;
            nn_dataset_gather(xb, yb, ds, idx + start, nb);
            memcpy(a[0], xb, (size_t)nb * 2 * sizeof(float));
            nn_mlp_forward(z, a, &net, nb);
            for (int l = 0; l < L; l++) {
                memset(dw[l], 0, (size_t)sizes[l] * sizes[l + 1] * sizeof(float));
                memset(db[l], 0, (size_t)sizes[l + 1] * sizeof(float));
            }
            nn_mlp_backward(dw, db, dz, da, z, a, yb, &net, nb);
            for (int l = 0; l < L; l++) {
                nn_sgd_step(w[l], dw[l], sizes[l] * sizes[l + 1], lr);
                nn_sgd_step(b[l], db[l], sizes[l + 1], lr);
            }
            while (next <= points_per_epoch && (s + 1) * points_per_epoch >= next * steps) {
                curve[k++] = mlp_loss(&net, z, a, ds->f32, ds->labels, rows);
                next++;
            }
        }
    }
    for (int l = 0; l < L; l++) {
        free(w[l]); free(dw[l]); free(b[l]); free(db[l]); free(z[l]); free(dz[l]);
    }
    for (int l = 0; l <= L; l++) {
        free(a[l]);
        free(da[l]);
    }
    free(idx);
    free(xb);
    free(yb);
}

static double sig_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static void fig_lab04(void)
{
    /* Gradient descent on f(w) = w², g = 2w, three learning rates. */
    FILE *f = open_out("lab04-gd.dat");
    const float rates[3] = {0.05f, 0.9f, 1.1f};
    float w[3] = {-2.0f, -2.0f, -0.3f};
    for (int s = 0; s <= 10; s++) {
        fprintf(f, "%d", s);
        for (int k = 0; k < 3; k++) {
            fprintf(f, " %g %g", w[k], (double)w[k] * w[k]);
            float g = 2.0f * w[k];
            nn_sgd_step(&w[k], &g, 1, rates[k]);
        }
        fputc('\n', f);
    }
    close_out(f);

    /* Batch vs minibatch vs stochastic on moons. */
    nn_rng rng;
    nn_rng_seed(&rng, 8);
    nn_dataset ds = {0};
    if (nn_make_synthetic(&ds, NN_SYN_MOONS, 256, 2, 0.15f, &rng) != NN_OK)
        die("%s", nn_last_error());
    enum { EPOCHS = 30, PER = 8 };
    static double c_full[EPOCHS * PER + 1], c_mini[EPOCHS * PER + 1], c_sgd[EPOCHS * PER + 1];
    sgd_curve(c_full, 256, 0.5f, &ds, EPOCHS, PER);
    sgd_curve(c_mini, 16, 0.1f, &ds, EPOCHS, PER);
    sgd_curve(c_sgd, 1, 0.02f, &ds, EPOCHS, PER);
    f = open_out("lab04-batch.dat");
    for (int i = 0; i <= EPOCHS * PER; i++)
        fprintf(f, "%g %g %g %g\n", (double)i / PER, c_full[i], c_mini[i], c_sgd[i]);
    close_out(f);
    nn_dataset_free(&ds);

    /* Error of the central difference against h, in float (the reference
     * sigmoid) and in double, at x = 0.5: truncation against rounding. */
    f = open_out("lab04-fd.dat");
    double x0 = 0.5, exact = sig_d(x0) * (1 - sig_d(x0));
    for (int i = 0; i <= 60; i++) {
        double h = pow(10.0, -10.0 + i * 0.15);
        float hf = (float)h;
        float xp = (float)x0 + hf, xm = (float)x0 - hf;
        /* The step actually taken in float is xp − xm, not 2h. */
        double fd_f = ((double)nn_sigmoid(xp) - nn_sigmoid(xm)) / ((double)xp - xm);
        double fd_d = (sig_d(x0 + h) - sig_d(x0 - h)) / (2 * h);
        fprintf(f, "%g %g %g\n", h, fabs(fd_f - exact) / exact + 1e-17,
                fabs(fd_d - exact) / exact + 1e-17);
    }
    close_out(f);
}

/* ------------------------------------------------------------ lab 5 */

/* The valley f(x, y) = ½ x² + 10 y², its gradient (x, 20 y). */
static void valley_grad(float *g, const float *p)
{
    g[0] = p[0];
    g[1] = 20.0f * p[1];
}

static void trajectory(const char *name, int kind, float lr, int steps)
{
    float p[2] = {-4.5f, 0.8f}, g[2], s1[2] = {0, 0}, s2[2] = {0, 0};
    FILE *f = open_out(name);
    fprintf(f, "%g %g\n", p[0], p[1]);
    for (int t = 1; t <= steps; t++) {
        valley_grad(g, p);
        switch (kind) {
        case 0: nn_sgd_step(p, g, 2, lr); break;
        case 1: nn_momentum_step(p, s1, g, 2, lr, 0.9f); break;
        case 2: nn_nesterov_step(p, s1, g, 2, lr, 0.9f); break;
        case 3: nn_adagrad_step(p, s1, g, 2, lr, 1e-10f); break;
        case 4: nn_rmsprop_step(p, s1, g, 2, lr, 0.99f, 1e-8f); break;
        case 5: nn_adam_step(p, s1, s2, g, 2, lr, 0.9f, 0.999f, 1e-8f, t); break;
        default: die("no optimizer %d", kind);
        }
        fprintf(f, "%g %g\n", p[0], p[1]);
    }
    close_out(f);
}

static void fig_lab05(void)
{
    trajectory("lab05-sgd.dat", 0, 0.09f, 40);
    trajectory("lab05-momentum.dat", 1, 0.02f, 40);
    trajectory("lab05-nesterov.dat", 2, 0.02f, 40);
    trajectory("lab05-adagrad.dat", 3, 1.0f, 40);
    trajectory("lab05-rmsprop.dat", 4, 0.1f, 40);
    trajectory("lab05-adam.dat", 5, 0.15f, 40);

    FILE *f = open_out("lab05-schedules.dat");
    for (int e = 0; e <= 30; e++)
        fprintf(f, "%d %g %g %g %g\n", e, nn_lr_step_decay(0.1f, e, 10, 0.3f),
                nn_lr_exponential(0.1f, e, 0.9f), nn_lr_cosine(0.1f, e, 30, 0.0f),
                nn_lr_warmup(0.1f, e, 5));
    close_out(f);

    /* The same network on spirals, one optimizer each. */
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    nn_dataset ds = {0};
    if (nn_make_synthetic(&ds, NN_SYN_SPIRALS, 600, 3, 0.05f, &rng) != NN_OK)
        die("%s", nn_last_error());
    enum { EPOCHS = 60 };
    enum { K = 5 };
    const nn_opt_kind kinds[K] = {NN_OPT_SGD, NN_OPT_MOMENTUM, NN_OPT_ADAGRAD, NN_OPT_RMSPROP,
                                  NN_OPT_ADAM};
    const float lrs[K] = {0.1f, 0.05f, 0.05f, 0.003f, 0.01f};
    nn_epoch_stats hist[K][EPOCHS];
    for (int k = 0; k < K; k++) {
        nn_model *m = train_model("dense:64,relu,dense:64,relu,dense:3", &ds, NULL, kinds[k],
                                  lrs[k], 0, EPOCHS, 32, 0, 2, hist[k]);
        nn_model_free(m);
    }
    f = open_out("lab05-curves.dat");
    for (int e = 0; e < EPOCHS; e++) {
        fprintf(f, "%d", e + 1);
        for (int k = 0; k < K; k++)
            fprintf(f, " %g", hist[k][e].train_loss);
        fputc('\n', f);
    }
    close_out(f);
    nn_dataset_free(&ds);
}

/* ------------------------------------------------------------ lab 6 */

/* A 28 × 28 picture of an ankle boot (a Fashion-MNIST class), drawn by
 * hand: shaft on the left, toe on the right, so that a mirror image shows. */
static void draw_boot(float *img)
{
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int shaft = x >= 6 && x <= 13 && y >= 3 && y <= 22;
            int foot = x >= 6 && x <= 24 && y >= 15 && y <= 22 && !(x > 16 && y < 15 + (x - 16));
            int sole = x >= 5 && x <= 25 && y >= 23 && y <= 24;
            int lace = x >= 11 && x <= 13 && y >= 6 && y <= 14 && y % 3 == 0;
            float v = 0.0f;
            if (shaft || foot)
                v = 0.55f;
            if (sole || lace)
                v = 1.0f;
            img[y * 28 + x] = v;
        }
}

/* An h × w picture as a 112 × 112 gnuplot matrix, each pixel repeated
 * (112 / h) times in each direction: gnuplot then draws one sharp bitmap,
 * which no PDF viewer blurs or cuts with seams. */
static void write_image(const char *name, const float *img, int h, int w)
{
    enum { SIZE = 112 };
    FILE *f = open_out(name);
    for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++)
            fprintf(f, "%s%g", x ? " " : "", img[(y * h / SIZE) * w + x * w / SIZE]);
        fputc('\n', f);
    }
    close_out(f);
}

static void fig_lab06(void)
{
    /* Overfitting: a wide MLP on 40 noisy points, validated on 400;
     * without and with dropout + L2. */
    nn_rng rng;
    nn_rng_seed(&rng, 12);
    nn_dataset tr = {0}, va = {0};
    if (nn_make_synthetic(&tr, NN_SYN_MOONS, 40, 2, 0.3f, &rng) != NN_OK ||
        nn_make_synthetic(&va, NN_SYN_MOONS, 400, 2, 0.3f, &rng) != NN_OK)
        die("%s", nn_last_error());
    enum { EPOCHS = 300 };
    static nn_epoch_stats plain[EPOCHS], reg[EPOCHS];
    nn_model *m1 = train_model("dense:128,relu,dense:128,relu,dense:2", &tr, &va, NN_OPT_ADAM,
                               0.01f, 0, EPOCHS, 8, 0, 3, plain);
    nn_model *m2 = train_model("dense:128,relu,dropout:0.5,dense:128,relu,dropout:0.5,dense:2",
                               &tr, &va, NN_OPT_ADAM, 0.01f, 1e-3f, EPOCHS, 8, 0, 3, reg);
    FILE *f = open_out("lab06-overfit.dat");
    int best = 0;
    for (int e = 0; e < EPOCHS; e++) {
        fprintf(f, "%d %g %g %g %g\n", e + 1, plain[e].train_loss, plain[e].val_loss,
                reg[e].train_loss, reg[e].val_loss);
        if (plain[e].val_loss < plain[best].val_loss)
            best = e;
    }
    close_out(f);
    f = open_out("lab06-vars.gp");
    fprintf(f, "best_epoch = %d\nbest_val = %g\n", best + 1, plain[best].val_loss);
    close_out(f);
    write_regions("lab06-plain.dat", m1, -2.0f, 3.0f, 120);
    write_regions("lab06-reg.dat", m2, -2.0f, 3.0f, 120);
    write_points("lab06-train.dat", &tr);
    nn_model_free(m1);
    nn_model_free(m2);
    nn_dataset_free(&tr);
    nn_dataset_free(&va);

    /* Batch norm: two features on very different scales, before and after. */
    enum { B = 200 };
    float in[B * 2], out[B * 2], xhat[B * 2], mean[2], invstd[2], rm[2] = {0, 0}, rv[2] = {1, 1};
    const float gamma[2] = {1, 1}, beta[2] = {0, 0};
    for (int r = 0; r < B; r++) {
        float u = nn_rng_normal(&rng), v = nn_rng_normal(&rng);
        in[2 * r] = 6.0f + 3.0f * u;
        in[2 * r + 1] = -4.0f + 0.4f * (0.6f * u + 0.8f * v);
    }
    nn_batchnorm_forward_train(out, xhat, mean, invstd, rm, rv, in, gamma, beta, B, 2, 1, 0.1f,
                               1e-5f);
    f = open_out("lab06-bn.dat");
    for (int r = 0; r < B; r++)
        fprintf(f, "%g %g %g %g\n", in[2 * r], in[2 * r + 1], out[2 * r], out[2 * r + 1]);
    close_out(f);

    /* Data augmentation: one picture, flipped, shifted, noisy. */
    float img[28 * 28], aug[28 * 28];
    draw_boot(img);
    write_image("lab06-aug0.dat", img, 28, 28);
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            aug[y * 28 + x] = img[y * 28 + 27 - x];
    write_image("lab06-aug1.dat", aug, 28, 28);
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int sy = y - 3, sx = x + 2;
            aug[y * 28 + x] = sy >= 0 && sx < 28 ? img[sy * 28 + sx] : 0.0f;
        }
    write_image("lab06-aug2.dat", aug, 28, 28);
    for (int i = 0; i < 28 * 28; i++) {
        float v = img[i] + 0.2f * nn_rng_normal(&rng);
        aug[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    write_image("lab06-aug3.dat", aug, 28, 28);
}

/* ------------------------------------------------------------ lab 7 */

static void fig_lab07(void)
{
    /* Two 3 × 3 edge filters (Sobel) on the picture, through the
     * reference convolution, then ReLU and 2 × 2 max pooling. */
    float img[28 * 28];
    draw_boot(img);
    const float w[2 * 9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1,    /* vertical edges */
                            -1, -2, -1, 0, 0, 0, 1, 2, 1};   /* horizontal edges */
    const float b[2] = {0, 0};
    nn_conv_shape s = {1, 1, 28, 28, 2, 3, 3, 1, 1};
    float out[2 * 28 * 28];
    float *work = xcalloc((size_t)nn_conv2d_workspace(&s), sizeof(float));
    nn_conv2d_forward(out, img, w, b, work, &s);
    free(work);
    write_image("lab07-in.dat", img, 28, 28);
    write_image("lab07-edge-x.dat", out, 28, 28);
    write_image("lab07-edge-y.dat", out + 28 * 28, 28, 28);
    float relu[2 * 28 * 28], pooled[2 * 14 * 14];
    int argmax[2 * 14 * 14];
    nn_activation_forward(relu, out, 2 * 28 * 28, NN_ACT_RELU);
    nn_pool_shape ps = {1, 2, 28, 28, 2, 2};
    nn_maxpool_forward(pooled, argmax, relu, &ps);
    write_image("lab07-pool-x.dat", pooled, 14, 14);

    /* LeNet-5 as the model container builds it: shapes and parameters. */
    int shape[3] = {1, 28, 28};
    nn_model *m = nn_model_create("lenet5", NN_ACT_RELU, shape, NULL);
    if (!m)
        die("%s", nn_last_error());
    FILE *f = open_out("lab07-lenet.tex");
    fprintf(f, "\\begin{tabular}{llr}\n\\toprule\nlayer & output $c \\times h \\times w$ & "
               "parameters\\\\\n\\midrule\ninput & $1 \\times 28 \\times 28$ & \\\\\n");
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        char what[64];
        switch (l->kind) {
        case NN_LAYER_CONV:
            snprintf(what, sizeof what, "conv $%d\\times%d$, %d filters%s", l->kh, l->kw, l->out_c,
                     l->pad ? ", pad 2" : "");
            break;
        case NN_LAYER_MAXPOOL: snprintf(what, sizeof what, "max pool $%d\\times%d$", l->kh, l->kw); break;
        case NN_LAYER_AVGPOOL: snprintf(what, sizeof what, "avg pool $%d\\times%d$", l->kh, l->kw); break;
        case NN_LAYER_DENSE: snprintf(what, sizeof what, "dense %d $\\to$ %d", l->n_in, l->n_out); break;
        case NN_LAYER_FLATTEN: snprintf(what, sizeof what, "flatten"); break;
        case NN_LAYER_ACTIVATION: snprintf(what, sizeof what, "%s", nn_act_name(l->act)); break;
        default: snprintf(what, sizeof what, "other"); break;
        }
        long n = l->w.data ? (long)(l->w.size + l->b.size) : 0;
        if (n)
            fprintf(f, "%s & $%d \\times %d \\times %d$ & %ld\\\\\n", what, l->out_c, l->out_h,
                    l->out_w, n);
        else
            fprintf(f, "%s & $%d \\times %d \\times %d$ & \\\\\n", what, l->out_c, l->out_h,
                    l->out_w);
    }
    fprintf(f, "\\midrule\ntotal & & %ld\\\\\n\\bottomrule\n\\end{tabular}\n",
            nn_model_count_params(m));
    close_out(f);
    nn_model_free(m);

    /* Output size against padding and stride, for a 28-pixel input and a
     * 5 × 5 kernel. */
    f = open_out("lab07-sizes.tex");
    fprintf(f, "\\begin{tabular}{rrrr}\n\\toprule\nkernel & stride & pad & output\\\\\n\\midrule\n");
    const int cases[][3] = {{5, 1, 0}, {5, 1, 2}, {3, 1, 1}, {3, 2, 1}, {2, 2, 0}, {7, 3, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fprintf(f, "%d & %d & %d & %d\\\\\n", cases[i][0], cases[i][1], cases[i][2],
                nn_conv_out_size(28, cases[i][0], cases[i][1], cases[i][2]));
    fprintf(f, "\\bottomrule\n\\end{tabular}\n");
    close_out(f);
}

/* ------------------------------------------------------------ lab 8 */

/* A roofline: attainable FLOP/s = min(peak, bandwidth × intensity), and
 * the intensity (FLOP per byte moved from memory) of the lab's kernels. */
static void fig_lab08(void)
{
    FILE *f = open_out("lab08-roofline.dat");
    /* Illustrative round numbers: a data-centre GPU (60 TFLOP/s FP32,
     * 4 TB/s) and a 16-core CPU (1.5 TFLOP/s, 100 GB/s). */
    for (int i = 0; i <= 100; i++) {
        double I = pow(10.0, -2.0 + i * 0.05);
        fprintf(f, "%g %g %g\n", I, fmin(60e12, 4e12 * I), fmin(1.5e12, 100e9 * I));
    }
    close_out(f);
    /* Intensities, float32 (4 bytes), each number read or written once
     * from memory unless said otherwise:
     *   ReLU: 1 comparison per 4-byte read + 4-byte write = 1/8;
     *   naive matmul (no reuse, every operand from memory): 2 FLOP per
     *   two 4-byte loads = 1/4;
     *   tiled with T × T tiles in shared memory: each loaded number is
     *   used T times, so 2T FLOP per 8 bytes = T/4;
     *   the whole n × n product, each matrix moved once: 2n³ / (12 n²). */
    f = open_out("lab08-kernels.dat");
    /* intensity, FLOP/s, label, where the label goes */
    const struct { double I; const char *label; double lx, ly; } k[] = {
        {1.0 / 8, "ReLU", 0.6, 0.25},
        {1.0 / 4, "naive\\nmatmul", 1.5, 4.0},
        {16.0 / 4, "tiled\\nT = 16", 0.55, 3.5},
        {32.0 / 4, "tiled\\nT = 32", 1.8, 0.3},
        {2.0 * 4096 / 12, "sgemm, n = 4096", 1.0, 0.25},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double perf = fmin(60e12, 4e12 * k[i].I);
        fprintf(f, "%g %g \"%s\" %g %g\n", k[i].I, perf, k[i].label, k[i].I * k[i].lx,
                perf * k[i].ly);
    }
    close_out(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    fig_intro();
    fig_lab01();
    fig_lab02();
    fig_lab03();
    fig_lab04();
    fig_lab05();
    fig_lab06();
    fig_lab07();
    fig_lab08();
    return 0;
}
