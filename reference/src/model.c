/*
 * The model container: a sequence of dense and activation layers.
 *
 * For "784-256-128-10" with ReLU the layers are
 *   dense(784→256), relu, dense(256→128), relu, dense(128→10)
 * and the parameters are named as PyTorch names those of the same
 * nn.Sequential ("layers.0.weight", "layers.2.bias", ...), so checkpoints
 * load into either.
 *
 * The container only moves data between layers; the arithmetic is done by
 * the lab modules (forward.c, backprop.c, activations.c).
 */
#include "nnlab/model.h"
#include "nnlab/backprop.h"
#include "nnlab/checkpoint.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH 1000000
#define MAX_LAYERS 64

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

/* Parse "784-256-10" into widths[]; returns the count, or -1. */
static int parse_widths(int *widths, const char *spec)
{
    int n = 0;
    const char *p = spec;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > MAX_WIDTH)
            return nn_fail("model '%s': expected layer widths like 784-256-10", spec), -1;
        if (n == MAX_LAYERS)
            return nn_fail("model '%s': more than %d layers", spec, MAX_LAYERS), -1;
        widths[n++] = (int)v;
        if (*end == '\0')
            break;
        if (*end != '-')
            return nn_fail("model '%s': unexpected '%c'", spec, *end), -1;
        p = end + 1;
    }
    if (n < 2)
        return nn_fail("model '%s': need at least an input and an output width", spec), -1;
    return n;
}

/* He init suits the ReLU family (it halves the variance), Xavier the rest. */
static void init_dense(nn_layer *l, nn_act act, nn_rng *rng)
{
    if (act == NN_ACT_RELU || act == NN_ACT_LEAKY_RELU || act == NN_ACT_ELU ||
        act == NN_ACT_GELU || act == NN_ACT_SWISH || act == NN_ACT_MISH)
        nn_init_he(l->w.data, l->n_in, l->n_out, rng);
    else
        nn_init_xavier(l->w.data, l->n_in, l->n_out, rng);
}

static int make_dense(nn_layer *l, int n_in, int n_out)
{
    int wshape[2] = { n_out, n_in };
    l->kind = NN_LAYER_DENSE;
    l->n_in = n_in;
    l->n_out = n_out;
    if (nn_tensor_alloc(&l->w, 2, wshape) || nn_tensor_alloc(&l->dw, 2, wshape) ||
        nn_tensor_alloc(&l->b, 1, &n_out) || nn_tensor_alloc(&l->db, 1, &n_out))
        return NN_ERROR;
    return NN_OK;
}

static void add_param(nn_model *m, int layer, const char *what, nn_tensor *v, nn_tensor *g)
{
    nn_param *p = &m->params[m->n_params++];
    snprintf(p->name, sizeof p->name, "layers.%d.%s", layer, what);
    p->value = v;
    p->grad = g;
}

/* Dense layers at even positions, activations between them. */
static int build_layers(nn_model *m, const int *widths, int n_widths, nn_rng *rng)
{
    int n_dense = n_widths - 1;
    m->n_layers = 2 * n_dense - 1;
    m->layers = calloc((size_t)m->n_layers, sizeof *m->layers);
    m->params = calloc((size_t)(2 * n_dense), sizeof *m->params);
    if (!m->layers || !m->params)
        return nn_fail("out of memory building model");
    for (int i = 0; i < n_dense; i++) {
        nn_layer *l = &m->layers[2 * i];
        if (make_dense(l, widths[i], widths[i + 1]))
            return NN_ERROR;
        if (rng)
            init_dense(l, m->act, rng);
        add_param(m, 2 * i, "weight", &l->w, &l->dw);
        add_param(m, 2 * i, "bias", &l->b, &l->db);
        if (i + 1 < n_dense) {
            nn_layer *a = &m->layers[2 * i + 1];
            a->kind = NN_LAYER_ACTIVATION;
            a->act = m->act;
            a->n_in = a->n_out = widths[i + 1];
        }
    }
    return NN_OK;
}

nn_model *nn_model_create(const char *spec, nn_act act, nn_rng *rng)
{
    int widths[MAX_LAYERS];
    if (strlen(spec) >= NN_SPEC_MAX)
        return nn_fail("model specification longer than %d characters", NN_SPEC_MAX - 1), NULL;
    if ((unsigned)act >= NN_ACT_COUNT)
        return nn_fail("activation %d out of range", (int)act), NULL;
    int n = parse_widths(widths, spec);
    if (n < 0)
        return NULL;
    nn_model *m = calloc(1, sizeof *m);
    if (!m)
        return nn_fail("out of memory building model"), NULL;
    strcpy(m->spec, spec);
    m->act = act;
    if (build_layers(m, widths, n, rng)) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->layers && i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        nn_tensor_free(&l->w);
        nn_tensor_free(&l->b);
        nn_tensor_free(&l->dw);
        nn_tensor_free(&l->db);
        nn_free(l->out);
        nn_free(l->dout);
    }
    free(m->layers);
    free(m->params);
    free(m);
}

int nn_model_inputs(const nn_model *m)
{
    return m->layers[0].n_in;
}

int nn_model_outputs(const nn_model *m)
{
    return m->layers[m->n_layers - 1].n_out;
}

long nn_model_count_params(const nn_model *m)
{
    long total = 0;
    for (int i = 0; i < m->n_params; i++)
        total += (long)m->params[i].value->size;
    return total;
}

int nn_model_reserve(nn_model *m, int batch)
{
    if (batch <= m->capacity)
        return NN_OK;
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        size_t bytes = (size_t)batch * (size_t)l->n_out * sizeof(float);
        nn_free(l->out);
        nn_free(l->dout);
        l->out = nn_alloc(bytes);
        l->dout = nn_alloc(bytes);
        if (!l->out || !l->dout) {
            m->capacity = 0;
            return NN_ERROR;
        }
    }
    m->capacity = batch;
    return NN_OK;
}

const float *nn_model_forward(nn_model *m, const float *x, int batch)
{
    if (nn_model_reserve(m, batch))
        return NULL;
    const float *in = x;
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (l->kind == NN_LAYER_DENSE)
            nn_dense_forward(l->out, in, l->w.data, l->b.data, batch, l->n_in, l->n_out);
        else
            nn_activation_forward(l->out, in, batch * l->n_in, l->act);
        in = l->out;
    }
    return in;
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
        if (l->kind == NN_LAYER_DENSE)
            nn_dense_backward(din, l->dw.data, l->db.data, dout, in, l->w.data, batch,
                              l->n_in, l->n_out);
        else
            nn_activation_backward(din, dout, in, batch * l->n_in, l->act);
    }
}

void nn_model_zero_grad(nn_model *m)
{
    for (int i = 0; i < m->n_params; i++)
        nn_tensor_zero(m->params[i].grad);
}

int nn_model_save(const nn_model *m, const char *path)
{
    nn_st_tensor tensors[2 * MAX_LAYERS];
    nn_st_meta meta[3] = {
        { "format", "nnlab-1" },
        { "nnlab_model", (char *)m->spec },
        { "nnlab_act", (char *)nn_act_name(m->act) },
    };
    for (int i = 0; i < m->n_params; i++) {
        snprintf(tensors[i].name, sizeof tensors[i].name, "%s", m->params[i].name);
        tensors[i].t = *m->params[i].value;
    }
    nn_st_file f = { m->n_params, tensors, 3, meta };
    return nn_st_write(path, &f);
}

/* Copy each named tensor of the file into the parameter of the same name. */
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

nn_model *nn_model_load(const char *path)
{
    nn_st_file f;
    if (nn_st_read(&f, path))
        return NULL;
    const char *spec = nn_st_meta_get(&f, "nnlab_model");
    const char *act = nn_st_meta_get(&f, "nnlab_act");
    nn_model *m = NULL;
    if (!spec || !act)
        nn_fail("%s: not an nnlab checkpoint (no nnlab_model/nnlab_act metadata)", path);
    else if (nn_act_from_name(act) >= 0)
        m = nn_model_create(spec, (nn_act)nn_act_from_name(act), NULL);
    if (m && load_params(m, &f, path)) {
        nn_model_free(m);
        m = NULL;
    }
    nn_st_free(&f);
    return m;
}
