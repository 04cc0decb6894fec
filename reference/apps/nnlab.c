/*
 * nnlab — train, evaluate, predict and plot from the command line.
 *
 *   nnlab train   --data fashion-mnist --model 784-256-128-10 --opt adam ...
 *   nnlab eval    --model model.safetensors --data fashion-mnist
 *   nnlab predict --model model.safetensors --data fashion-mnist --count 10
 *   nnlab plot    run.csv -o loss.png
 *
 * Exit status: 0 success, 1 a failure at run time (message on stderr),
 * 2 a usage error (bad or missing flag).
 */
#include "nnlab/blas.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include "nnlab/plot.h"
#include "nnlab/train.h"
#include "../gpu/gpu.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

/* The GPU path (reference/gpu/) is linked in only by `make gpu`: without
 * it these functions are absent, and their addresses are NULL. */
#pragma weak nn_gpu_train
#pragma weak nn_gpu_probe
#pragma weak nn_gpu_describe

/* ------------------------------------------------------------ flags */

typedef enum { FLAG_STR, FLAG_INT, FLAG_FLOAT, FLAG_BOOL } flag_type;

typedef struct {
    const char *name;   /* without the leading "--" */
    char letter;        /* one-letter alias ("-o"), or 0 */
    flag_type type;
    void *value;        /* const char **, int *, float * or int * */
    const char *help;
} flag;

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "nnlab %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'nnlab %s --help')\n", cmd);
    return EXIT_USAGE;
}

static int set_flag(const char *cmd, const flag *f, const char *text)
{
    char *end;
    errno = 0;
    if (f->type == FLAG_STR) {
        *(const char **)f->value = text;
    } else if (f->type == FLAG_INT) {
        long v = strtol(text, &end, 10);
        if (*text == '\0' || *end || errno || v < -2147483647L || v > 2147483647L)
            return usage_error(cmd, "--%s expects an integer", f->name);
        *(int *)f->value = (int)v;
    } else {
        float v = strtof(text, &end);
        if (*text == '\0' || *end || errno || !isfinite(v))
            return usage_error(cmd, "--%s expects a number", f->name);
        *(float *)f->value = v;
    }
    return 0;
}

/* Parse argv against the flag table; at most one positional argument. */
static int parse_flags(const char *cmd, int argc, char **argv, const flag *flags, int n_flags,
                       const char **positional)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 && !(a[0] == '-' && a[1] && !a[2])) {
            if (!positional || *positional)
                return usage_error(cmd, "unexpected argument '%s'", a);
            *positional = a;
            continue;
        }
        const flag *f = NULL;
        for (int k = 0; k < n_flags && !f; k++)
            if (a[1] == '-' ? strcmp(a + 2, flags[k].name) == 0 : flags[k].letter == a[1])
                f = &flags[k];
        if (!f)
            return usage_error(cmd, "unknown option '%s'", a);
        if (f->type == FLAG_BOOL) {
            *(int *)f->value = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error(cmd, "option '%s' needs a value", a);
        int rc = set_flag(cmd, f, argv[++i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static void print_flags(const flag *flags, int n)
{
    for (int i = 0; i < n; i++) {
        const char *arg = flags[i].type == FLAG_BOOL ? "" : flags[i].type == FLAG_STR ? " S"
                          : flags[i].type == FLAG_INT ? " N" : " X";
        char alias[8] = "    ";
        if (flags[i].letter)
            snprintf(alias, sizeof alias, "-%c, ", flags[i].letter);
        printf("  %s--%s%-*s %s\n", alias, flags[i].name, (int)(16 - strlen(flags[i].name)), arg,
               flags[i].help);
    }
}

static int fail(const char *cmd)
{
    fprintf(stderr, "nnlab %s: %s\n", cmd, nn_last_error());
    return EXIT_FAILURE;
}

/* ------------------------------------------------------------ train */

typedef struct {
    const char *data, *model, *act, *opt, *schedule, *log, *save, *plot, *device, *gemm;
    float lr, val, momentum, weight_decay;
    int epochs, batch, seed, threads, limit, patience, ascii, quiet;
} train_args;

#define N_TRAIN_FLAGS 22

static void train_flags(flag *f, train_args *a)
{
    const flag table[N_TRAIN_FLAGS] = {
        { "data", 0, FLAG_STR, &a->data, "data set: fashion-mnist, mnist, iris, xor, spirals, moons, circles, blobs [fashion-mnist]" },
        { "model", 0, FLAG_STR, &a->model, "widths (784-256-10), a layer list (conv:6x5x5:pad=2,relu,...) or a preset: mlp, lenet5, lenet5-bn [784-256-128-10]" },
        { "act", 0, FLAG_STR, &a->act, "hidden activation: relu, tanh, sigmoid, gelu, ... [relu]" },
        { "opt", 0, FLAG_STR, &a->opt, "optimizer: sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw [adam]" },
        { "lr", 0, FLAG_FLOAT, &a->lr, "learning rate [1e-3]" },
        { "momentum", 0, FLAG_FLOAT, &a->momentum, "momentum for momentum/nesterov [0.9]" },
        { "weight-decay", 0, FLAG_FLOAT, &a->weight_decay, "L2 weight decay λ (decoupled for adamw) [0; adamw 0.01]" },
        { "schedule", 0, FLAG_STR, &a->schedule, "constant, step, exponential, cosine, warmup [constant]" },
        { "epochs", 0, FLAG_INT, &a->epochs, "passes over the training set [10]" },
        { "batch", 0, FLAG_INT, &a->batch, "minibatch size [128]" },
        { "seed", 0, FLAG_INT, &a->seed, "random seed: same seed, same run [1]" },
        { "val", 0, FLAG_FLOAT, &a->val, "fraction of the training set held out for validation [0.1]" },
        { "limit", 0, FLAG_INT, &a->limit, "use only the first N training examples [all]" },
        { "patience", 0, FLAG_INT, &a->patience, "early stopping: epochs without a better validation loss [off]" },
        { "threads", 0, FLAG_INT, &a->threads, "BLAS threads [1]" },
        { "log", 0, FLAG_STR, &a->log, "write the per-epoch CSV log to this file" },
        { "save", 0, FLAG_STR, &a->save, "save the trained model (safetensors)" },
        { "plot", 0, FLAG_STR, &a->plot, "draw the curves to this PNG" },
        { "ascii", 0, FLAG_BOOL, &a->ascii, "draw the loss curve in the terminal too" },
        { "quiet", 0, FLAG_BOOL, &a->quiet, "no progress bar" },
        { "device", 0, FLAG_STR, &a->device, "cpu, or cuda: train on the GPU (an nnlab built by make gpu) [cpu]" },
        { "gemm", 0, FLAG_STR, &a->gemm, "with --device cuda: own (the kit's kernels) or cublas [own]" },
    };
    memcpy(f, table, sizeof table);
}

static void train_help(const flag *flags)
{
    printf("usage: nnlab train [options]\n\n"
           "Train a network with softmax cross-entropy, then report its test accuracy.\n\n");
    print_flags(flags, N_TRAIN_FLAGS);
    printf("\nexample:\n  nnlab train --data fashion-mnist --model 784-256-128-10 --act relu "
           "--opt adam --lr 1e-3 \\\n      --epochs 10 --batch 128 --seed 1 --log run.csv "
           "--save model.safetensors\n");
}

/* Resolve names to enums; a usage message and -1 on a bad name. */
static int train_config(nn_train_config *cfg, int *act, const train_args *a)
{
    int opt = nn_opt_from_name(a->opt);
    int sched = nn_schedule_from_name(a->schedule);
    *act = nn_act_from_name(a->act);
    if (opt < 0 || sched < 0 || *act < 0)
        return -1;
    if (a->epochs < 1 || a->batch < 1 || !(a->lr > 0) || a->val < 0 || a->val >= 1 ||
        a->threads < 1 || a->patience < 0)
        return nn_fail("--epochs, --batch, --threads must be >= 1, --lr > 0, "
                       "--val in [0, 1), --patience >= 0"), -1;
    if (a->patience > 0 && a->val == 0)
        return nn_fail("--patience needs a validation set (--val > 0)"), -1;
    cfg->epochs = a->epochs;
    cfg->batch = a->batch;
    cfg->seed = (uint64_t)a->seed;
    cfg->opt = nn_opt_defaults((nn_opt_kind)opt, a->lr);
    cfg->opt.momentum = a->momentum;
    if (a->weight_decay >= 0)
        cfg->opt.weight_decay = a->weight_decay;
    cfg->schedule = (nn_schedule)sched;
    cfg->log_path = a->log;
    cfg->progress = !a->quiet;
    cfg->patience = a->patience;
    return 0;
}

/* Load the data, cut the validation set and apply --limit. */
static int load_split(nn_dataset *train, nn_dataset *val, nn_dataset *test, const train_args *a)
{
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)a->seed);
    if (nn_load_dataset(train, test, a->data, (uint64_t)a->seed))
        return NN_ERROR;
    if (a->limit > 0 && a->limit < train->n)
        train->n = a->limit;
    if (a->val > 0 && nn_dataset_split(train, val, a->val, &rng))
        return NN_ERROR;
    return NN_OK;
}

/* --device and --gemm: 0 to go on (*cuda set), else the exit status, after
 * the message (no CUDA in this build, no usable device). */
static int check_device(const train_args *a, int *cuda, nn_gemm_impl *gemm)
{
    char why[512], about[512];
    *cuda = strcmp(a->device, "cuda") == 0;
    if (!*cuda && strcmp(a->device, "cpu") != 0)
        return usage_error("train", "--device must be cpu or cuda, not '%s'", a->device);
    if (a->gemm && strcmp(a->gemm, "own") != 0 && strcmp(a->gemm, "cublas") != 0)
        return usage_error("train", "--gemm must be own or cublas, not '%s'", a->gemm);
    if (a->gemm && !*cuda)
        return usage_error("train", "%s", "--gemm chooses the GPU's matrix product: give --device cuda");
    *gemm = a->gemm && strcmp(a->gemm, "cublas") == 0 ? NN_GEMM_CUBLAS : NN_GEMM_OWN;
    if (!*cuda)
        return 0;
    if (!nn_gpu_train) {
        fprintf(stderr, "nnlab train: this nnlab was built without CUDA support (make gpu)\n");
        return EXIT_FAILURE;
    }
    if (!nn_gpu_probe(why, sizeof why)) {
        fprintf(stderr, "nnlab train: --device cuda: no usable CUDA device: %s\n", why);
        return EXIT_FAILURE;
    }
    if (nn_gpu_describe(about, sizeof about) == NN_OK)
        printf("device: %s\n", about);
    return 0;
}

static int report(nn_model *m, const nn_dataset *test, const train_args *a)
{
    float loss, acc;
    if (nn_evaluate(m, test, 256, &loss, &acc))
        return NN_ERROR;
    printf("test loss %.4f  test accuracy %.2f%%  (%d examples)\n", loss, 100.0 * acc, test->n);
    if (a->save) {
        if (nn_model_save(m, a->save))
            return NN_ERROR;
        printf("saved %s\n", a->save);
    }
    if ((a->plot || a->ascii) && a->log && nn_plot_log(a->log, a->plot, a->ascii))
        return NN_ERROR;
    return NN_OK;
}

static int cmd_train(int argc, char **argv)
{
    train_args a = { "fashion-mnist", "784-256-128-10", "relu", "adam", "constant", NULL, NULL,
                     NULL, "cpu", NULL, 1e-3f, 0.1f, 0.9f, -1.0f, 10, 128, 1, 1, 0, 0, 0, 0 };
    flag flags[N_TRAIN_FLAGS];
    train_flags(flags, &a);
    if (wants_help(argc, argv))
        return train_help(flags), 0;
    int rc = parse_flags("train", argc, argv, flags, N_TRAIN_FLAGS, NULL);
    if (rc)
        return rc;
    nn_train_config cfg;
    int act;
    if (train_config(&cfg, &act, &a))
        return usage_error("train", "%s", nn_last_error());
    if ((a.plot || a.ascii) && !a.log)
        return usage_error("train", "%s", "--plot and --ascii draw the --log file: give --log");
    int cuda = 0;
    nn_gemm_impl gemm = NN_GEMM_OWN;
    if ((rc = check_device(&a, &cuda, &gemm)))
        return rc;
    nn_blas_set_threads(a.threads);
    nn_dataset train = { 0 }, val = { 0 }, test = { 0 };
    nn_model *m = NULL;
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)a.seed);
    int status = load_split(&train, &val, &test, &a);
    int shape[3] = { train.channels ? train.channels : train.dim, train.height ? train.height : 1,
                     train.width ? train.width : 1 };
    if (status == NN_OK && !(m = nn_model_create(a.model, (nn_act)act, shape, &rng)))
        status = NN_ERROR;
    if (status == NN_OK) {
        printf("nnlab train: %s (%d train, %d val, %d test), model %s, %s\n", train.name,
               train.n, val.n, test.n, a.model, a.opt);
        if (!a.quiet)
            nn_model_summary(m, stdout);
        fflush(stdout);
        status = cuda ? nn_gpu_train(m, &train, val.n ? &val : NULL, &cfg, gemm, NULL)
                      : nn_train(m, &train, val.n ? &val : NULL, &cfg, NULL);
    }
    if (status == NN_OK)
        status = report(m, &test, &a);
    if (status != NN_OK)
        fail("train");
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&val);
    nn_dataset_free(&test);
    return status == NN_OK ? 0 : EXIT_FAILURE;
}

/* ------------------------------------------------------------ eval, predict */

typedef struct {
    const char *model, *data, *split, *out;
    int seed, index, count;
} eval_args;

#define N_EVAL_FLAGS 7

static void eval_flags(flag *f, eval_args *a)
{
    const flag table[N_EVAL_FLAGS] = {
        { "model", 0, FLAG_STR, &a->model, "checkpoint written by 'nnlab train --save' (required)" },
        { "data", 0, FLAG_STR, &a->data, "data set [fashion-mnist]" },
        { "split", 0, FLAG_STR, &a->split, "test or train [test]" },
        { "seed", 0, FLAG_INT, &a->seed, "seed of synthetic data sets (as in training) [1]" },
        { "index", 0, FLAG_INT, &a->index, "predict: first example [0]" },
        { "count", 0, FLAG_INT, &a->count, "predict: number of examples [10]" },
        { "out", 0, FLAG_STR, &a->out, "predict: write index,label,predicted,probability CSV here" },
    };
    memcpy(f, table, sizeof table);
}

/* Shared by eval and predict: parse, load the model and the chosen split. */
static int open_model(const char *cmd, int argc, char **argv, eval_args *a, nn_model **m,
                      nn_dataset *train, nn_dataset *test, nn_dataset **ds)
{
    flag flags[N_EVAL_FLAGS];
    eval_flags(flags, a);
    int n_flags = strcmp(cmd, "eval") == 0 ? 4 : N_EVAL_FLAGS;
    if (wants_help(argc, argv)) {
        printf("usage: nnlab %s --model FILE [options]\n\n%s\n\n", cmd,
               n_flags == 4 ? "Report a saved model's loss and accuracy on a data set."
                            : "Print a saved model's predictions for some examples.");
        print_flags(flags, n_flags);
        return -1;
    }
    int rc = parse_flags(cmd, argc, argv, flags, n_flags, NULL);
    if (rc)
        return rc;
    if (!a->model)
        return usage_error(cmd, "%s", "--model FILE is required");
    if (strcmp(a->split, "test") != 0 && strcmp(a->split, "train") != 0)
        return usage_error(cmd, "--split must be test or train, not '%s'", a->split);
    if (!(*m = nn_model_load(a->model)) ||
        nn_load_dataset(train, test, a->data, (uint64_t)a->seed))
        return fail(cmd);
    *ds = strcmp(a->split, "test") == 0 ? test : train;
    return 0;
}

static int cmd_eval(int argc, char **argv)
{
    eval_args a = { NULL, "fashion-mnist", "test", NULL, 1, 0, 10 };
    nn_model *m = NULL;
    nn_dataset train = { 0 }, test = { 0 }, *ds = NULL;
    int rc = open_model("eval", argc, argv, &a, &m, &train, &test, &ds);
    float loss, acc;
    if (rc == 0 && nn_evaluate(m, ds, 256, &loss, &acc))
        rc = fail("eval");
    else if (rc == 0)
        printf("%s: loss %.4f  accuracy %.2f%%  (%d examples)\n", ds->name, loss, 100.0 * acc,
               ds->n);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return rc < 0 ? 0 : rc;
}

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static const char *class_name(const nn_dataset *ds, int c, char *buf)
{
    if (strncmp(ds->name, "fashion-mnist", 13) == 0 && c >= 0 && c < 10)
        return fashion_names[c];
    sprintf(buf, "%d", c);
    return buf;
}

static int write_predictions(FILE *out, const nn_dataset *ds, const int *pred,
                             const float *prob, int first, int count)
{
    int wrong = 0;
    for (int i = 0; i < count; i++) {
        int k = first + i, y = ds->labels[k];
        char b1[16], b2[16];
        wrong += pred[k] != y;
        if (out == stdout)
            printf("%6d  true %-12s predicted %-12s p=%.3f%s\n", k, class_name(ds, y, b1),
                   class_name(ds, pred[k], b2), prob[k], pred[k] == y ? "" : "  <-- wrong");
        else
            fprintf(out, "%d,%d,%d,%.6f\n", k, y, pred[k], prob[k]);
    }
    return wrong;
}

static int cmd_predict(int argc, char **argv)
{
    eval_args a = { NULL, "fashion-mnist", "test", NULL, 1, 0, 10 };
    nn_model *m = NULL;
    nn_dataset train = { 0 }, test = { 0 }, *ds = NULL;
    int rc = open_model("predict", argc, argv, &a, &m, &train, &test, &ds);
    int *pred = NULL;
    float *prob = NULL;
    if (rc == 0 && (a.index < 0 || a.count < 1 || a.index >= ds->n))
        rc = usage_error("predict", "--index must name an example of %s and --count be >= 1",
                         ds->name);
    if (rc == 0) {
        if (a.index + a.count > ds->n)
            a.count = ds->n - a.index;
        pred = calloc((size_t)ds->n, sizeof *pred);
        prob = calloc((size_t)ds->n, sizeof *prob);
        if (!pred || !prob || nn_predict(pred, prob, m, ds, 256))
            rc = pred && prob ? fail("predict") : (nn_fail("out of memory"), fail("predict"));
    }
    if (rc == 0) {
        FILE *out = a.out ? fopen(a.out, "w") : stdout;
        if (!out) {
            nn_fail("cannot create %s", a.out);
            rc = fail("predict");
        } else {
            if (a.out)
                fprintf(out, "index,label,predicted,probability\n");
            int wrong = write_predictions(out, ds, pred, prob, a.index, a.count);
            if (a.out && fclose(out) != 0)
                rc = (nn_fail("cannot write %s", a.out), fail("predict"));
            printf("%d of %d correct\n", a.count - wrong, a.count);
        }
    }
    free(pred);
    free(prob);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return rc < 0 ? 0 : rc;
}

/* ------------------------------------------------------------ plot */

typedef struct {
    const char *png, *model, *data;
    int ascii, count, seed;
} plot_args;

#define N_PLOT_FLAGS 6

static void plot_flags(flag *f, plot_args *a)
{
    const flag table[N_PLOT_FLAGS] = {
        { "output", 'o', FLAG_STR, &a->png, "PNG file to write" },
        { "ascii", 0, FLAG_BOOL, &a->ascii, "curves: draw them in the terminal too" },
        { "model", 0, FLAG_STR, &a->model, "pictures: the checkpoint to look at" },
        { "data", 0, FLAG_STR, &a->data, "confusion, samples, boundary: data set (test split) [fashion-mnist]" },
        { "count", 0, FLAG_INT, &a->count, "samples: number of images [36]" },
        { "seed", 0, FLAG_INT, &a->seed, "seed of synthetic data sets (as in training) [1]" },
    };
    memcpy(f, table, sizeof table);
}

static void plot_help(const flag *flags)
{
    printf("usage: nnlab plot LOG.csv -o PNG [--ascii]       training curves\n"
           "       nnlab plot confusion --model FILE -o PNG  confusion matrix on the test set\n"
           "       nnlab plot samples --model FILE -o PNG    test images, true and predicted labels\n"
           "       nnlab plot filters --model FILE -o PNG    the first conv layer's filters\n"
           "       nnlab plot boundary --model FILE --data spirals -o PNG\n"
           "                                                 decision regions of a 2-D data set\n\n");
    print_flags(flags, N_PLOT_FLAGS);
}

/* The first conv layer's filters. */
static int plot_filters(const plot_args *a, nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        if (l->kind == NN_LAYER_CONV)
            return nn_plot_filters(a->png, l->w.data, l->out_c, l->in_c, l->kh, l->kw);
    }
    return nn_fail("%s has no conv layer", a->model);
}

/* The first count test images, as floats, with the model's predictions. */
static int plot_samples(const plot_args *a, const nn_dataset *ds, const int *pred)
{
    if (!ds->height)
        return nn_fail("%s is not an image data set", ds->name);
    int n = a->count < ds->n ? a->count : ds->n;
    float *x = malloc((size_t)n * (size_t)ds->dim * sizeof *x);
    int *y = malloc((size_t)n * sizeof *y), *idx = malloc((size_t)n * sizeof *idx);
    int status = x && y && idx ? NN_OK : nn_fail("out of memory");
    for (int i = 0; status == NN_OK && i < n; i++)
        idx[i] = i;
    if (status == NN_OK) {
        nn_dataset_gather(x, y, ds, idx, n);
        status = nn_plot_images(a->png, x, n, ds->height, ds->width, y, pred,
                                strncmp(ds->name, "fashion-mnist", 13) ? NULL : fashion_names,
                                n < 6 ? n : 6);
    }
    free(x);
    free(y);
    free(idx);
    return status;
}

/* Pictures that need a model: confusion, samples, filters, boundary. */
static int plot_picture(const char *what, const plot_args *a)
{
    nn_model *m = nn_model_load(a->model);
    nn_dataset train = { 0 }, test = { 0 };
    int *pred = NULL, status = m ? NN_OK : NN_ERROR;
    int needs_data = strcmp(what, "filters") != 0;
    if (status == NN_OK && needs_data)
        status = nn_load_dataset(&train, &test, a->data, (uint64_t)a->seed);
    if (status == NN_OK && needs_data && strcmp(what, "boundary") != 0) {
        pred = malloc((size_t)test.n * sizeof *pred);
        status = pred ? nn_predict(pred, NULL, m, &test, 256) : nn_fail("out of memory");
    }
    if (status == NN_OK && strcmp(what, "filters") == 0)
        status = plot_filters(a, m);
    else if (status == NN_OK && strcmp(what, "boundary") == 0)
        status = nn_plot_boundary(a->png, m, &test, 200);
    else if (status == NN_OK && strcmp(what, "samples") == 0)
        status = plot_samples(a, &test, pred);
    else if (status == NN_OK)
        status = nn_plot_confusion(a->png, pred, test.labels, test.n, nn_model_outputs(m),
                                   strncmp(test.name, "fashion-mnist", 13) ? NULL : fashion_names,
                                   test.name);
    free(pred);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return status;
}

static int is_picture(const char *what)
{
    return what && (strcmp(what, "confusion") == 0 || strcmp(what, "samples") == 0 ||
                    strcmp(what, "filters") == 0 || strcmp(what, "boundary") == 0);
}

static int cmd_plot(int argc, char **argv)
{
    plot_args a = { NULL, NULL, "fashion-mnist", 0, 36, 1 };
    const char *what = NULL;
    flag flags[N_PLOT_FLAGS];
    plot_flags(flags, &a);
    if (wants_help(argc, argv))
        return plot_help(flags), 0;
    int rc = parse_flags("plot", argc, argv, flags, N_PLOT_FLAGS, &what);
    if (rc)
        return rc;
    if (!what)
        return usage_error("plot", "%s", "give a CSV log or confusion, samples, filters, boundary");
    if (is_picture(what)) {
        if (!a.model || !a.png)
            return usage_error("plot", "%s", "pictures need --model FILE and -o PNG");
        if (a.count < 1 || a.count > 400)
            return usage_error("plot", "%s", "--count must lie in 1..400");
        if (plot_picture(what, &a))
            return fail("plot");
    } else {
        if (!a.png && !a.ascii)
            return usage_error("plot", "%s", "give -o PNG, --ascii, or both");
        if (nn_plot_log(what, a.png, a.ascii))
            return fail("plot");
    }
    if (a.png)
        printf("wrote %s\n", a.png);
    return 0;
}

/* ------------------------------------------------------------ main */

static void main_help(void)
{
    printf("usage: nnlab COMMAND [options]\n\n"
           "commands:\n"
           "  train     train a network and report its test accuracy\n"
           "  eval      loss and accuracy of a saved model\n"
           "  predict   predictions of a saved model for some examples\n"
           "  plot      draw a training log with gnuplot\n\n"
           "'nnlab COMMAND --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        main_help();
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 2, argv + 2);
    if (strcmp(cmd, "plot") == 0)
        return cmd_plot(argc - 2, argv + 2);
    fprintf(stderr, "nnlab: unknown command '%s' (train, eval, predict, plot; see nnlab --help)\n",
            cmd);
    return EXIT_USAGE;
}
