/*
 * The trainer: minibatch epochs with softmax cross-entropy, an optimizer
 * bound to the model's parameters, learning-rate schedules, evaluation and
 * the CSV log.
 *
 * One step on a minibatch (X, y) of B rows:
 *   logits = model(X)                         forward
 *   L      = (1/B) Σ_r CE(logits_r, y_r)      nn_cross_entropy_loss
 *   ∂L/∂θ  = backprop from ∂L/∂logits         nn_model_backward
 *   θ      ← update(θ, ∂L/∂θ)                 the optimizer (lab 5)
 */
#include "nnlab/train.h"
#include "nnlab/backprop.h"
#include "nnlab/dropout.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include "nnlab/optimizers.h"
#include "nnlab/progress.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const opt_names[] = {
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
};
#define N_OPTS ((int)(sizeof opt_names / sizeof opt_names[0]))

static const char *const schedule_names[] = {
    "constant", "step", "exponential", "cosine", "warmup",
};
#define N_SCHEDULES ((int)(sizeof schedule_names / sizeof schedule_names[0]))

/* ------------------------------------------------------------ optimizers */

nn_opt_config nn_opt_defaults(nn_opt_kind kind, float lr)
{
    nn_opt_config c = { kind, lr, 0.9f, 0.9f, 0.999f, 0.99f, 1e-8f, 0.0f };
    if (kind == NN_OPT_ADAGRAD)
        c.eps = 1e-10f;
    if (kind == NN_OPT_ADADELTA) {
        c.rho = 0.9f;
        c.eps = 1e-6f;
    }
    if (kind == NN_OPT_ADAMW)
        c.weight_decay = 0.01f;
    return c;
}

const char *nn_opt_name(nn_opt_kind kind)
{
    return (unsigned)kind < (unsigned)N_OPTS ? opt_names[kind] : "?";
}

int nn_opt_from_name(const char *name)
{
    for (int i = 0; i < N_OPTS; i++)
        if (strcmp(name, opt_names[i]) == 0)
            return i;
    nn_fail("unknown optimizer '%s' (sgd, momentum, nesterov, adagrad, rmsprop, "
            "adadelta, adam, adamw)", name);
    return -1;
}

int nn_schedule_from_name(const char *name)
{
    for (int i = 0; i < N_SCHEDULES; i++)
        if (strcmp(name, schedule_names[i]) == 0)
            return i;
    nn_fail("unknown schedule '%s' (constant, step, exponential, cosine, warmup)", name);
    return -1;
}

/* Which optimizers keep one state array per parameter, which two. */
static int state_arrays(nn_opt_kind k)
{
    switch (k) {
    case NN_OPT_SGD: return 0;
    case NN_OPT_ADADELTA: case NN_OPT_ADAM: case NN_OPT_ADAMW: return 2;
    default: return 1;
    }
}

int nn_optimizer_init(nn_optimizer *o, const nn_model *m, const nn_opt_config *cfg)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = m->n_params;
    o->s1 = calloc((size_t)o->n, sizeof *o->s1);
    o->s2 = calloc((size_t)o->n, sizeof *o->s2);
    if (!o->s1 || !o->s2)
        return nn_optimizer_free(o), nn_fail("out of memory for optimizer state");
    int arrays = state_arrays(cfg->kind);
    for (int i = 0; i < o->n; i++) {
        const nn_tensor *p = m->params[i].value;
        if (!m->params[i].grad) /* a running statistic: not trained */
            continue;
        if ((arrays >= 1 && nn_tensor_alloc(&o->s1[i], p->ndim, p->shape)) ||
            (arrays >= 2 && nn_tensor_alloc(&o->s2[i], p->ndim, p->shape)))
            return nn_optimizer_free(o), NN_ERROR;
    }
    return NN_OK;
}

/* One parameter tensor through the chosen update rule of optimizers.c. */
static void update(const nn_opt_config *c, float *w, float *s1, float *s2, const float *g,
                   int n, float lr, int t)
{
    switch (c->kind) {
    case NN_OPT_SGD: nn_sgd_step(w, g, n, lr); break;
    case NN_OPT_MOMENTUM: nn_momentum_step(w, s1, g, n, lr, c->momentum); break;
    case NN_OPT_NESTEROV: nn_nesterov_step(w, s1, g, n, lr, c->momentum); break;
    case NN_OPT_ADAGRAD: nn_adagrad_step(w, s1, g, n, lr, c->eps); break;
    case NN_OPT_RMSPROP: nn_rmsprop_step(w, s1, g, n, lr, c->rho, c->eps); break;
    case NN_OPT_ADADELTA: nn_adadelta_step(w, s1, s2, g, n, lr, c->rho, c->eps); break;
    case NN_OPT_ADAM:
        nn_adam_step(w, s1, s2, g, n, lr, c->beta1, c->beta2, c->eps, t);
        break;
    case NN_OPT_ADAMW:
        nn_adamw_step(w, s1, s2, g, n, lr, c->beta1, c->beta2, c->eps, c->weight_decay, t);
        break;
    }
}

/* Coupled L2 decay adds λw to the gradient before the update, so the
 * optimizer's own scaling applies to it; AdamW decays the weights directly
 * instead (Loshchilov & Hutter, 2019). */
void nn_optimizer_step(nn_optimizer *o, nn_model *m, float lr)
{
    o->step++;
    for (int i = 0; i < o->n; i++) {
        nn_param *p = &m->params[i];
        if (!p->grad)
            continue;
        int n = (int)p->value->size;
        if (o->cfg.weight_decay > 0.0f && o->cfg.kind != NN_OPT_ADAMW)
            nn_l2_backward(p->grad->data, p->value->data, n, o->cfg.weight_decay);
        update(&o->cfg, p->value->data, o->s1[i].data, o->s2[i].data, p->grad->data, n, lr,
               o->step);
    }
}

void nn_optimizer_free(nn_optimizer *o)
{
    for (int i = 0; i < o->n; i++) {
        if (o->s1)
            nn_tensor_free(&o->s1[i]);
        if (o->s2)
            nn_tensor_free(&o->s2[i]);
    }
    free(o->s1);
    free(o->s2);
    memset(o, 0, sizeof *o);
}

float nn_schedule_lr(nn_schedule s, float lr0, int epoch, int epochs, int step,
                     int steps_per_epoch)
{
    switch (s) {
    case NN_SCHED_STEP: {
        int every = epochs >= 3 ? epochs / 3 : 1;
        return nn_lr_step_decay(lr0, epoch, every, 0.1f);
    }
    case NN_SCHED_EXPONENTIAL: return nn_lr_exponential(lr0, epoch, 0.9f);
    case NN_SCHED_COSINE: return nn_lr_cosine(lr0, epoch, epochs, 0.0f);
    case NN_SCHED_WARMUP: return nn_lr_warmup(lr0, step, steps_per_epoch);
    default: return lr0;
    }
}

/* ------------------------------------------------------------ batches */

/* Scratch for one minibatch: inputs, labels, logit gradients, row order. */
typedef struct {
    float *x;
    int *y;
    float *dlogits;
    int *order;
} batch_buffers;

static void free_buffers(batch_buffers *b)
{
    nn_free(b->x);
    nn_free(b->y);
    nn_free(b->dlogits);
    nn_free(b->order);
}

static int alloc_buffers(batch_buffers *b, const nn_model *m, const nn_dataset *ds, int batch)
{
    memset(b, 0, sizeof *b);
    if (ds->dim != nn_model_inputs(m))
        return nn_fail("data set '%s' has %d features, the model takes %d", ds->name, ds->dim,
                       nn_model_inputs(m));
    if (ds->classes > nn_model_outputs(m))
        return nn_fail("data set '%s' has %d classes, the model outputs only %d", ds->name,
                       ds->classes, nn_model_outputs(m));
    b->x = nn_alloc((size_t)batch * (size_t)ds->dim * sizeof(float));
    b->y = nn_alloc((size_t)batch * sizeof(int));
    b->dlogits = nn_alloc((size_t)batch * (size_t)nn_model_outputs(m) * sizeof(float));
    b->order = nn_alloc((size_t)ds->n * sizeof(int));
    if (!b->x || !b->y || !b->dlogits || !b->order)
        return free_buffers(b), NN_ERROR;
    for (int i = 0; i < ds->n; i++)
        b->order[i] = i;
    return NN_OK;
}

/* Number of rows of the logits whose argmax is the label. */
static int count_correct(const float *logits, const int *y, int rows, int classes)
{
    int correct = 0;
    for (int r = 0; r < rows; r++)
        correct += nn_argmax(logits + (size_t)r * classes, classes) == y[r];
    return correct;
}

/* ------------------------------------------------------------ evaluation */

int nn_evaluate(nn_model *m, const nn_dataset *ds, int batch, float *loss, float *acc)
{
    batch_buffers b;
    if (alloc_buffers(&b, m, ds, batch))
        return NN_ERROR;
    int classes = nn_model_outputs(m);
    double total = 0.0;
    long correct = 0;
    nn_model_set_training(m, 0);
    for (int start = 0; start < ds->n; start += batch) {
        int rows = ds->n - start < batch ? ds->n - start : batch;
        nn_dataset_gather(b.x, b.y, ds, b.order + start, rows);
        const float *logits = nn_model_forward(m, b.x, rows);
        if (!logits)
            return free_buffers(&b), NN_ERROR;
        total += (double)nn_cross_entropy_loss(logits, b.y, rows, classes) * rows;
        correct += count_correct(logits, b.y, rows, classes);
    }
    if (loss)
        *loss = (float)(total / ds->n);
    if (acc)
        *acc = (float)correct / (float)ds->n;
    free_buffers(&b);
    return NN_OK;
}

int nn_predict(int *pred, float *prob, nn_model *m, const nn_dataset *ds, int batch)
{
    batch_buffers b;
    if (alloc_buffers(&b, m, ds, batch))
        return NN_ERROR;
    int classes = nn_model_outputs(m);
    float *p = nn_alloc((size_t)batch * (size_t)classes * sizeof(float));
    nn_model_set_training(m, 0);
    int status = p ? NN_OK : NN_ERROR;
    for (int start = 0; status == NN_OK && start < ds->n; start += batch) {
        int rows = ds->n - start < batch ? ds->n - start : batch;
        nn_dataset_gather(b.x, b.y, ds, b.order + start, rows);
        const float *logits = nn_model_forward(m, b.x, rows);
        if (!logits) {
            status = NN_ERROR;
            break;
        }
        nn_softmax_forward(p, logits, rows, classes);
        for (int r = 0; r < rows; r++) {
            pred[start + r] = nn_argmax(p + (size_t)r * classes, classes);
            if (prob)
                prob[start + r] = p[(size_t)r * classes + pred[start + r]];
        }
    }
    nn_free(p);
    free_buffers(&b);
    return status;
}

/* ------------------------------------------------------------ training */

/* Running sums over one epoch. */
typedef struct {
    double loss;
    long correct;
    long rows;
} epoch_sums;

/* One optimizer step on rows order[0..rows); returns the batch loss. */
static float train_step(nn_model *m, nn_optimizer *o, batch_buffers *b, const nn_dataset *ds,
                        const int *order, int rows, float lr, epoch_sums *sums)
{
    int classes = nn_model_outputs(m);
    nn_dataset_gather(b->x, b->y, ds, order, rows);
    const float *logits = nn_model_forward(m, b->x, rows);
    float loss = nn_cross_entropy_loss(logits, b->y, rows, classes);
    sums->correct += count_correct(logits, b->y, rows, classes);
    sums->loss += (double)loss * rows;
    sums->rows += rows;
    memset(b->dlogits, 0, (size_t)rows * (size_t)classes * sizeof(float));
    nn_cross_entropy_backward(b->dlogits, logits, b->y, rows, classes);
    nn_model_zero_grad(m);
    nn_model_backward(m, b->x, b->dlogits, rows);
    nn_optimizer_step(o, m, lr);
    return loss;
}

static int run_epoch(nn_model *m, nn_optimizer *o, batch_buffers *b, const nn_dataset *ds,
                     const nn_train_config *cfg, int epoch, nn_rng *rng, nn_progress *bar,
                     nn_epoch_stats *st)
{
    int batches = (ds->n + cfg->batch - 1) / cfg->batch;
    epoch_sums sums = { 0.0, 0, 0 };
    nn_progress_begin(bar, stderr, epoch + 1, cfg->epochs, batches);
    nn_rng_shuffle(rng, b->order, ds->n);
    nn_model_set_training(m, 1);
    for (int i = 0; i < batches; i++) {
        int start = i * cfg->batch;
        int rows = ds->n - start < cfg->batch ? ds->n - start : cfg->batch;
        st->lr = nn_schedule_lr(cfg->schedule, cfg->opt.lr, epoch, cfg->epochs,
                                o->step, batches);
        float loss = train_step(m, o, b, ds, b->order + start, rows, st->lr, &sums);
        if (!isfinite(loss))
            return nn_fail("training stopped: the loss became %s at epoch %d, batch %d "
                           "(learning rate %g too high?)",
                           isnan(loss) ? "NaN" : "infinite", epoch + 1, i + 1, st->lr);
        if (cfg->progress)
            nn_progress_update(bar, i + 1, rows, (float)(sums.loss / sums.rows));
    }
    st->epoch = epoch + 1;
    st->train_loss = (float)(sums.loss / sums.rows);
    st->train_acc = (float)sums.correct / (float)sums.rows;
    st->seconds = nn_now() - bar->start;
    return NN_OK;
}

/* The epoch's closing line: training figures, then validation if any. */
static void end_line(nn_progress *bar, const nn_epoch_stats *st, int has_val)
{
    char text[160];
    int len = snprintf(text, sizeof text, "loss %.4f acc %.2f%%", st->train_loss,
                       100.0 * st->train_acc);
    if (has_val)
        snprintf(text + len, sizeof text - (size_t)len, " | val loss %.4f acc %.2f%%",
                 st->val_loss, 100.0 * st->val_acc);
    nn_progress_end(bar, text);
}

static int log_epoch(FILE *log, const nn_epoch_stats *st)
{
    fprintf(log, "%d,%.6f,%.6f,%.6f,%.6f,%.6g\n", st->epoch, st->train_loss, st->train_acc,
            st->val_loss, st->val_acc, st->lr);
    return fflush(log) == 0 && !ferror(log) ? NN_OK : nn_fail("cannot write the training log");
}

static int check_config(const nn_train_config *cfg, const nn_dataset *train)
{
    if (cfg->epochs < 1 || cfg->batch < 1)
        return nn_fail("epochs and batch size must be at least 1");
    if (train->n < 1)
        return nn_fail("training set '%s' is empty", train->name);
    if (!(cfg->opt.lr > 0.0f) || !isfinite(cfg->opt.lr))
        return nn_fail("learning rate must be a positive number");
    return NN_OK;
}

/* Everything one training run holds. */
typedef struct {
    batch_buffers b;
    nn_optimizer o;
    FILE *log;
    nn_rng rng;          /* the shuffles */
    nn_early_stop es;
    float *best;         /* the model's tensors at the best validation loss */
} trainer;

static long model_floats(const nn_model *m)
{
    long n = 0;
    for (int i = 0; i < m->n_params; i++)
        n += (long)m->params[i].value->size;
    return n;
}

/* Copy every tensor of the model (running statistics too) to or from buf. */
static void copy_model(nn_model *m, float *buf, int to_model)
{
    for (int i = 0; i < m->n_params; i++) {
        nn_tensor *t = m->params[i].value;
        if (to_model)
            memcpy(t->data, buf, t->size * sizeof(float));
        else
            memcpy(buf, t->data, t->size * sizeof(float));
        buf += t->size;
    }
}

static void trainer_close(trainer *t, int *status, const char *log_path)
{
    if (t->log && fclose(t->log) != 0 && *status == NN_OK)
        *status = nn_fail("cannot write the training log %s", log_path);
    nn_optimizer_free(&t->o);
    free_buffers(&t->b);
    nn_free(t->best);
}

static int trainer_open(trainer *t, const nn_model *m, const nn_dataset *train,
                        const nn_dataset *val, const nn_train_config *cfg)
{
    memset(t, 0, sizeof *t);
    if (check_config(cfg, train))
        return NN_ERROR;
    if (cfg->patience > 0 && !val)
        return nn_fail("early stopping (patience %d) needs a validation set", cfg->patience);
    if (alloc_buffers(&t->b, m, train, cfg->batch))
        return NN_ERROR;
    nn_rng_seed(&t->rng, cfg->seed);
    nn_early_stop_init(&t->es, cfg->patience > 0 ? cfg->patience : 1);
    if (nn_optimizer_init(&t->o, m, &cfg->opt) ||
        (cfg->patience > 0 && !(t->best = nn_alloc((size_t)model_floats(m) * sizeof(float)))))
        return NN_ERROR;
    if (cfg->log_path) {
        if (!(t->log = fopen(cfg->log_path, "w")))
            return nn_fail("cannot create training log %s", cfg->log_path);
        fprintf(t->log, "epoch,train_loss,train_acc,val_loss,val_acc,lr\n");
    }
    return NN_OK;
}

/* Early stopping after an epoch: keep the best weights; 1 means stop. */
static int stop_early(trainer *t, nn_model *m, const nn_epoch_stats *st, int progress)
{
    int verdict = nn_early_stop_update(&t->es, st->val_loss, st->epoch);
    if (verdict == 1)
        copy_model(m, t->best, 0);
    if (verdict != -1)
        return 0;
    if (progress)
        fprintf(stderr, "early stop: no better validation loss for %d epochs; "
                        "keeping epoch %d's weights\n", t->es.patience, t->es.best_epoch);
    return 1;
}

int nn_train(nn_model *m, const nn_dataset *train, const nn_dataset *val,
             const nn_train_config *cfg, nn_epoch_stats *history)
{
    trainer t;
    int status = trainer_open(&t, m, train, val, cfg);
    if (history)
        memset(history, 0, (size_t)cfg->epochs * sizeof *history);
    for (int e = 0; status == NN_OK && e < cfg->epochs; e++) {
        nn_epoch_stats st = { 0, 0, 0, 0, NAN, NAN, 0 };
        nn_progress bar;
        status = run_epoch(m, &t.o, &t.b, train, cfg, e, &t.rng, &bar, &st);
        if (status == NN_OK && val)
            status = nn_evaluate(m, val, cfg->batch, &st.val_loss, &st.val_acc);
        if (status == NN_OK && cfg->progress)
            end_line(&bar, &st, val != NULL);
        if (status == NN_OK && t.log)
            status = log_epoch(t.log, &st);
        if (status == NN_OK && history)
            history[e] = st;
        if (status == NN_OK && cfg->patience > 0 && stop_early(&t, m, &st, cfg->progress))
            break;
    }
    if (status == NN_OK && cfg->patience > 0 && t.es.best_epoch >= 0)
        copy_model(m, t.best, 1);
    trainer_close(&t, &status, cfg->log_path);
    return status;
}
