/*
 * The model container: a sequence of layers.
 *
 * LeNet-5 ("lenet5") is, per example:
 *   [1,28,28] conv 6x5x5 pad 2 → [6,28,28] relu → maxpool 2 → [6,14,14]
 *   conv 16x5x5 → [16,10,10] relu → maxpool 2 → [16,5,5] flatten → [400]
 *   dense 120, relu, dense 84, relu, dense 10 → logits
 * Layer i's parameters are named as PyTorch names those of the same
 * nn.Sequential ("layers.0.weight", "layers.3.running_mean", ...), so a
 * checkpoint loads into either.
 *
 * The container only moves data between layers; the arithmetic is done by
 * the lab modules (forward.c, backprop.c, activations.c, conv.c, pool.c,
 * dropout.c, batchnorm.c).
 */
#include "nnlab/model.h"
#include "model_spec.h"
#include "nnlab/backprop.h"
#include "nnlab/batchnorm.h"
#include "nnlab/checkpoint.h"
#include "nnlab/conv.h"
#include "nnlab/dropout.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include "nnlab/pool.h"
#include <stdlib.h>
#include <string.h>

/* PyTorch's batch-norm defaults. */
#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f
/* The dropout stream, apart from the initialisation's. */
#define DROPOUT_STREAM 7u

static const char *const act_names[NN_ACT_COUNT] = {
    "step", "linear", "sigmoid", "tanh", "relu", "leaky_relu",
    "elu", "gelu", "softplus", "softsign", "swish", "mish",
};

const char *nn_act_name(nn_act act)
{
    return (unsigned)act < NN_ACT_COUNT ? act_names[act] : "?";
}

int nn_act_from_name(const char *name)
{
    for (int i = 0; i < NN_ACT_COUNT; i++)
        if (strcmp(name, act_names[i]) == 0)
            return i;
    nn_fail("unknown activation '%s' (try relu, tanh, sigmoid, gelu, ...)", name);
    return -1;
}

/* ------------------------------------------------------------ shapes */

static nn_conv_shape conv_shape(const nn_layer *l, int batch)
{
    nn_conv_shape s = { batch, l->in_c, l->in_h, l->in_w, l->out_c,
                        l->kh, l->kw, l->stride, l->pad };
    return s;
}

static nn_pool_shape pool_shape(const nn_layer *l, int batch)
{
    nn_pool_shape s = { batch, l->in_c, l->in_h, l->in_w, l->kh, l->stride };
    return s;
}

/* A layer's output shape from its input shape and settings. */
static int shape_layer(nn_layer *l, int index)
{
    l->n_in = l->in_c * l->in_h * l->in_w;
    l->out_c = l->kind == NN_LAYER_DENSE || l->kind == NN_LAYER_CONV ? l->out_c : l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    if (l->kind == NN_LAYER_DENSE || l->kind == NN_LAYER_FLATTEN) {
        l->out_c = l->kind == NN_LAYER_DENSE ? l->out_c : l->n_in;
        l->out_h = l->out_w = 1;
    } else if (l->kind != NN_LAYER_ACTIVATION && l->kind != NN_LAYER_DROPOUT &&
               l->kind != NN_LAYER_BATCHNORM) {
        /* conv and pooling: (in + 2·pad − k) / stride + 1 */
        l->out_h = nn_conv_out_size(l->in_h, l->kh, l->stride, l->pad);
        l->out_w = nn_conv_out_size(l->in_w, l->kw, l->stride, l->pad);
        if (l->out_h < 1 || l->out_w < 1)
            return nn_fail("model: layer %d's %dx%d window does not fit its %dx%d input", index,
                           l->kh, l->kw, l->in_h, l->in_w);
    }
    l->n_out = l->out_c * l->out_h * l->out_w;
    return NN_OK;
}

/* ------------------------------------------------------------ building */

static int alloc_pair(nn_tensor *v, nn_tensor *g, int ndim, const int *shape)
{
    return nn_tensor_alloc(v, ndim, shape) || nn_tensor_alloc(g, ndim, shape) ? NN_ERROR : NN_OK;
}

static int alloc_layer(nn_layer *l)
{
    if (l->kind == NN_LAYER_DENSE) {
        int shape[2] = { l->n_out, l->n_in };
        return alloc_pair(&l->w, &l->dw, 2, shape) || alloc_pair(&l->b, &l->db, 1, &l->n_out)
                   ? NN_ERROR : NN_OK;
    }
    if (l->kind == NN_LAYER_CONV) {
        int shape[4] = { l->out_c, l->in_c, l->kh, l->kw };
        return alloc_pair(&l->w, &l->dw, 4, shape) || alloc_pair(&l->b, &l->db, 1, &l->out_c)
                   ? NN_ERROR : NN_OK;
    }
    if (l->kind == NN_LAYER_BATCHNORM) {
        if (alloc_pair(&l->w, &l->dw, 1, &l->in_c) || alloc_pair(&l->b, &l->db, 1, &l->in_c) ||
            alloc_pair(&l->run_mean, &l->run_var, 1, &l->in_c) ||
            alloc_pair(&l->mean, &l->invstd, 1, &l->in_c))
            return NN_ERROR;
        for (int i = 0; i < l->in_c; i++)
            l->w.data[i] = l->run_var.data[i] = 1.0f; /* γ = 1: start as the identity */
    }
    return NN_OK;
}

static void add_param(nn_model *m, int layer, const char *what, nn_tensor *v, nn_tensor *g)
{
    nn_param *p = &m->params[m->n_params++];
    snprintf(p->name, sizeof p->name, "layers.%d.%s", layer, what);
    p->value = v;
    p->grad = g;
}

/* Trainable parameters first (the optimizer walks those), then statistics. */
static void name_params(nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (l->w.data) {
            add_param(m, i, "weight", &l->w, &l->dw);
            add_param(m, i, "bias", &l->b, &l->db);
        }
    }
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NN_LAYER_BATCHNORM) {
            add_param(m, i, "running_mean", &m->layers[i].run_mean, NULL);
            add_param(m, i, "running_var", &m->layers[i].run_var, NULL);
        }
}

static int is_relu_family(nn_act a)
{
    return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU || a == NN_ACT_ELU || a == NN_ACT_GELU ||
           a == NN_ACT_SWISH || a == NN_ACT_MISH;
}

/* He init suits layers feeding the ReLU family (ReLU halves the variance),
 * Xavier the rest: look for the next activation, stopping at the next
 * weighted layer. A conv layer is c_out units (filters) of c_in·kh·kw
 * inputs each: fan_in = c_in·kh·kw, fan_out = c_out. */
static void init_weights(nn_model *m, int i, nn_rng *rng)
{
    nn_layer *l = &m->layers[i];
    int fan_in = l->kind == NN_LAYER_CONV ? l->in_c * l->kh * l->kw : l->n_in;
    int fan_out = l->kind == NN_LAYER_CONV ? l->out_c : l->n_out;
    int he = 0;
    for (int j = i + 1; j < m->n_layers; j++) {
        nn_layer_kind k = m->layers[j].kind;
        if (k == NN_LAYER_DENSE || k == NN_LAYER_CONV)
            break;
        if (k == NN_LAYER_ACTIVATION) {
            he = is_relu_family(m->layers[j].act);
            break;
        }
    }
    if (he)
        nn_init_he(l->w.data, fan_in, fan_out, rng);
    else
        nn_init_xavier(l->w.data, fan_in, fan_out, rng);
}

/* Chain the shapes from the input, allocate, name and initialise. */
static int build(nn_model *m, nn_rng *rng)
{
    int c = m->in_c, h = m->in_h, w = m->in_w, params = 0;
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        l->in_c = c;
        l->in_h = h;
        l->in_w = w;
        if (shape_layer(l, i) || alloc_layer(l))
            return NN_ERROR;
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
        params += 2 * (l->w.data != NULL) + 2 * (l->kind == NN_LAYER_BATCHNORM);
    }
    m->params = calloc((size_t)params + 1, sizeof *m->params);
    if (!m->params)
        return nn_fail("out of memory building model");
    name_params(m);
    if (!rng)
        return NN_OK;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NN_LAYER_DENSE || m->layers[i].kind == NN_LAYER_CONV)
            init_weights(m, i, rng);
    /* The dropout masks get a stream of their own, seeded from the same
     * generator: one seed fixes both the weights and the masks. */
    nn_rng_seed_stream(&m->rng, nn_rng_u32(rng), DROPOUT_STREAM);
    return NN_OK;
}

nn_model *nn_model_create(const char *spec, nn_act act, const int *in_shape, nn_rng *rng)
{
    nn_layer layers[NN_MAX_LAYERS];
    int shape[3] = { 1, 28, 28 };
    memset(layers, 0, sizeof layers);
    if ((unsigned)act >= NN_ACT_COUNT)
        return nn_fail("activation %d out of range", (int)act), NULL;
    if (in_shape && !nn_spec_is_mlp(nn_spec_preset(spec)))
        memcpy(shape, in_shape, sizeof shape);
    int n = nn_spec_parse(layers, NN_MAX_LAYERS, spec, act, shape);
    if (n < 0)
        return NULL;
    nn_model *m = calloc(1, sizeof *m);
    if (!m || !(m->layers = calloc((size_t)n, sizeof *m->layers))) {
        free(m);
        return nn_fail("out of memory building model"), NULL;
    }
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    m->act = act;
    m->in_c = shape[0];
    m->in_h = shape[1];
    m->in_w = shape[2];
    m->n_layers = n;
    memcpy(m->layers, layers, (size_t)n * sizeof *layers);
    nn_rng_seed_stream(&m->rng, 0, DROPOUT_STREAM);
    if (build(m, rng)) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

static void free_batch_buffers(nn_layer *l)
{
    nn_free(l->out);
    nn_free(l->dout);
    nn_free(l->aux);
    nn_free(l->argmax);
    l->out = l->dout = l->aux = NULL;
    l->argmax = NULL;
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->layers && i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        nn_tensor *t[] = { &l->w, &l->b, &l->dw, &l->db, &l->run_mean, &l->run_var,
                           &l->mean, &l->invstd };
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
            nn_tensor_free(t[k]);
        free_batch_buffers(l);
    }
    nn_free(m->work);
    free(m->layers);
    free(m->params);
    free(m);
}

/* ------------------------------------------------------------ queries */

int nn_model_inputs(const nn_model *m)
{
    return m->in_c * m->in_h * m->in_w;
}

int nn_model_outputs(const nn_model *m)
{
    return m->layers[m->n_layers - 1].n_out;
}

long nn_model_count_params(const nn_model *m)
{
    long total = 0;
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].grad)
            total += (long)m->params[i].value->size;
    return total;
}

static const char *const kind_names[] = {
    "dense", "activation", "conv", "maxpool", "avgpool", "flatten", "dropout", "batchnorm",
};

void nn_model_summary(const nn_model *m, FILE *out)
{
    fprintf(out, "  %-3s %-12s %-16s %10s\n", "#", "layer", "output", "parameters");
    char in[32];
    snprintf(in, sizeof in, "%dx%dx%d", m->in_c, m->in_h, m->in_w);
    fprintf(out, "  %-3s %-12s %-16s %10s\n", "", "input", in, "");
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        char shape[32];
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out_c, l->out_h, l->out_w);
        long n = l->w.data ? (long)(l->w.size + l->b.size) : 0;
        fprintf(out, "  %-3d %-12s %-16s %10ld\n", i,
                l->kind == NN_LAYER_ACTIVATION ? nn_act_name(l->act) : kind_names[l->kind],
                shape, n);
    }
    fprintf(out, "  total %ld trainable parameters\n", nn_model_count_params(m));
}

void nn_model_set_training(nn_model *m, int training)
{
    m->training = training;
}

/* ------------------------------------------------------------ buffers */

static int reserve_layer(nn_layer *l, int batch)
{
    size_t n = (size_t)batch * (size_t)l->n_out;
    free_batch_buffers(l);
    l->out = nn_alloc(n * sizeof(float));
    l->dout = nn_alloc(n * sizeof(float));
    if (l->kind == NN_LAYER_DROPOUT || l->kind == NN_LAYER_BATCHNORM)
        l->aux = nn_alloc(n * sizeof(float));
    if (l->kind == NN_LAYER_MAXPOOL)
        l->argmax = nn_alloc(n * sizeof(int));
    if (!l->out || !l->dout ||
        ((l->kind == NN_LAYER_DROPOUT || l->kind == NN_LAYER_BATCHNORM) && !l->aux) ||
        (l->kind == NN_LAYER_MAXPOOL && !l->argmax))
        return NN_ERROR;
    return NN_OK;
}

int nn_model_reserve(nn_model *m, int batch)
{
    if (batch <= m->capacity)
        return NN_OK;
    long work = 0;
    m->capacity = 0;
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (reserve_layer(l, batch))
            return NN_ERROR;
        if (l->kind == NN_LAYER_CONV) {
            nn_conv_shape s = conv_shape(l, batch);
            long need = nn_conv2d_workspace(&s);
            work = need > work ? need : work;
        }
    }
    nn_free(m->work);
    if (!(m->work = nn_alloc((size_t)work * sizeof(float))))
        return NN_ERROR;
    m->capacity = batch;
    return NN_OK;
}

/* ------------------------------------------------------------ forward */

static void batchnorm_forward(nn_model *m, nn_layer *l, const float *in, int batch)
{
    int spatial = l->in_h * l->in_w;
    if (m->training)
        nn_batchnorm_forward_train(l->out, l->aux, l->mean.data, l->invstd.data,
                                   l->run_mean.data, l->run_var.data, in, l->w.data,
                                   l->b.data, batch, l->in_c, spatial, BN_MOMENTUM, BN_EPS);
    else
        nn_batchnorm_forward_eval(l->out, in, l->w.data, l->b.data, l->run_mean.data,
                                  l->run_var.data, batch, l->in_c, spatial, BN_EPS);
}

static void layer_forward(nn_model *m, nn_layer *l, const float *in, int batch)
{
    int n = batch * l->n_in;
    nn_conv_shape cs = conv_shape(l, batch);
    nn_pool_shape ps = pool_shape(l, batch);
    switch (l->kind) {
    case NN_LAYER_DENSE:
        nn_dense_forward(l->out, in, l->w.data, l->b.data, batch, l->n_in, l->n_out);
        break;
    case NN_LAYER_ACTIVATION: nn_activation_forward(l->out, in, n, l->act); break;
    case NN_LAYER_CONV: nn_conv2d_forward(l->out, in, l->w.data, l->b.data, m->work, &cs); break;
    case NN_LAYER_MAXPOOL: nn_maxpool_forward(l->out, l->argmax, in, &ps); break;
    case NN_LAYER_AVGPOOL: nn_avgpool_forward(l->out, in, &ps); break;
    case NN_LAYER_FLATTEN: memcpy(l->out, in, (size_t)n * sizeof(float)); break;
    case NN_LAYER_DROPOUT:
        nn_dropout_forward(l->out, l->aux, in, n, l->p, m->training, &m->rng);
        break;
    case NN_LAYER_BATCHNORM: batchnorm_forward(m, l, in, batch); break;
    }
}

const float *nn_model_forward(nn_model *m, const float *x, int batch)
{
    if (nn_model_reserve(m, batch))
        return NULL;
    const float *in = x;
    for (int i = 0; i < m->n_layers; i++) {
        layer_forward(m, &m->layers[i], in, batch);
        in = m->layers[i].out;
    }
    return in;
}

/* ------------------------------------------------------------ backward */

/* din += dout: the gradient of a copy. */
static void add_into(float *din, const float *dout, int n)
{
    for (int i = 0; i < n; i++)
        din[i] += dout[i];
}

/* Layer backward: accumulate into the parameter gradients and, when din is
 * not NULL, into the gradient of the layer's input. */
static void layer_backward(nn_model *m, nn_layer *l, float *din, const float *dout,
                           const float *in, int batch)
{
    int n = batch * l->n_in;
    nn_conv_shape cs = conv_shape(l, batch);
    nn_pool_shape ps = pool_shape(l, batch);
    switch (l->kind) {
    case NN_LAYER_DENSE:
        nn_dense_backward(din, l->dw.data, l->db.data, dout, in, l->w.data, batch, l->n_in,
                          l->n_out);
        break;
    case NN_LAYER_CONV:
        nn_conv2d_backward(din, l->dw.data, l->db.data, dout, in, l->w.data, m->work, &cs);
        break;
    case NN_LAYER_BATCHNORM:
        if (din)
            nn_batchnorm_backward(din, l->dw.data, l->db.data, dout, l->aux, l->w.data,
                                  l->invstd.data, batch, l->in_c, l->in_h * l->in_w);
        break;
    default:
        if (!din)
            break;
        if (l->kind == NN_LAYER_ACTIVATION)
            nn_activation_backward(din, dout, in, n, l->act);
        else if (l->kind == NN_LAYER_MAXPOOL)
            nn_maxpool_backward(din, dout, l->argmax, &ps);
        else if (l->kind == NN_LAYER_AVGPOOL)
            nn_avgpool_backward(din, dout, &ps);
        else if (l->kind == NN_LAYER_DROPOUT)
            nn_dropout_backward(din, dout, l->aux, n);
        else
            add_into(din, dout, n);
    }
}

/*
 * Walk the layers backwards. Layer i reads the gradient of its output
 * (dlogits for the last layer, else its own dout) and accumulates the
 * gradient of its input into layer i−1's dout, which is zeroed first.
 * The first layer needs no input gradient: nobody consumes it.
 */
void nn_model_backward(nn_model *m, const float *x, const float *dlogits, int batch)
{
    for (int i = m->n_layers - 1; i >= 0; i--) {
        nn_layer *l = &m->layers[i];
        const float *dout = i == m->n_layers - 1 ? dlogits : l->dout;
        const float *in = i > 0 ? m->layers[i - 1].out : x;
        float *din = i > 0 ? m->layers[i - 1].dout : NULL;
        if (din)
            memset(din, 0, (size_t)batch * (size_t)l->n_in * sizeof(float));
        layer_backward(m, l, din, dout, in, batch);
    }
}

void nn_model_zero_grad(nn_model *m)
{
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].grad)
            nn_tensor_zero(m->params[i].grad);
}

/* ------------------------------------------------------------ checkpoints */

int nn_model_save(const nn_model *m, const char *path)
{
    nn_st_tensor *tensors = calloc((size_t)m->n_params + 1, sizeof *tensors);
    if (!tensors)
        return nn_fail("out of memory saving %s", path);
    char input[48];
    snprintf(input, sizeof input, "%dx%dx%d", m->in_c, m->in_h, m->in_w);
    nn_st_meta meta[4] = {
        { "format", "nnlab-1" },
        { "nnlab_model", (char *)m->spec },
        { "nnlab_act", (char *)nn_act_name(m->act) },
        { "nnlab_input", input },
    };
    for (int i = 0; i < m->n_params; i++) {
        snprintf(tensors[i].name, sizeof tensors[i].name, "%s", m->params[i].name);
        tensors[i].t = *m->params[i].value;
    }
    nn_st_file f = { m->n_params, tensors, 4, meta };
    int status = nn_st_write(path, &f);
    free(tensors);
    return status;
}

/* Copy each named tensor of the file into the model tensor of that name. */
static int load_params(nn_model *m, const nn_st_file *f, const char *path)
{
    for (int i = 0; i < m->n_params; i++) {
        const nn_param *p = &m->params[i];
        const nn_st_tensor *t = nn_st_find(f, p->name);
        if (!t)
            return nn_fail("%s: tensor '%s' missing", path, p->name);
        if (t->t.size != p->value->size)
            return nn_fail("%s: tensor '%s' has %zu values, the model expects %zu", path,
                           p->name, t->t.size, p->value->size);
        memcpy(p->value->data, t->t.data, t->t.size * sizeof(float));
    }
    return NN_OK;
}

static nn_model *model_from_meta(const nn_st_file *f, const char *path)
{
    const char *spec = nn_st_meta_get(f, "nnlab_model");
    const char *act = nn_st_meta_get(f, "nnlab_act");
    const char *input = nn_st_meta_get(f, "nnlab_input");
    int shape[3] = { 1, 28, 28 };
    char tail;
    if (!spec || !act)
        return nn_fail("%s: not an nnlab checkpoint (no nnlab_model/nnlab_act metadata)",
                       path), NULL;
    if (input && (sscanf(input, "%dx%dx%d%c", &shape[0], &shape[1], &shape[2], &tail) != 3 ||
                  shape[0] < 1 || shape[1] < 1 || shape[2] < 1))
        return nn_fail("%s: bad input shape '%s'", path, input), NULL;
    int a = nn_act_from_name(act);
    return a < 0 ? NULL : nn_model_create(spec, (nn_act)a, shape, NULL);
}

nn_model *nn_model_load(const char *path)
{
    nn_st_file f;
    if (nn_st_read(&f, path))
        return NULL;
    nn_model *m = model_from_meta(&f, path);
    if (m && load_params(m, &f, path)) {
        nn_model_free(m);
        m = NULL;
    }
    nn_st_free(&f);
    return m;
}
