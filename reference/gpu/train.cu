/*
 * Training on the GPU: nn_train() (train.c) with every minibatch step on
 * the device.
 *
 * The model stays the CPU's nn_model: its layer list says what to compute,
 * and its weights are copied to the GPU at the start and back at the end.
 * Everything that decides WHICH numbers are used stays on the CPU and is
 * the same code as there: the shuffles (the trainer's seeded stream), the
 * learning-rate schedule, Adam's bias corrections, early stopping, the
 * CSV log. The data set is uploaded once (47 MB of Fashion-MNIST bytes);
 * per epoch only the shuffled row order goes up, and per step nothing:
 *
 *   gather x, y by the order     (ops.cu)            one kernel
 *   forward                      gemm + fused bias/activation, pooling, …
 *   softmax cross-entropy        losses and ∂L/∂logits, one kernel
 *   backward                     the same layers in reverse
 *   optimizer                    one kernel per parameter tensor
 *
 * Nothing waits for the GPU inside an epoch: the losses are summed on the
 * device and read at its end (and a few times for the progress bar when
 * it is drawn on a terminal). So a NaN loss is noticed at the end of the
 * epoch it happened in, and reported as nn_train() reports it.
 *
 * Layer by layer the arithmetic is the CPU's: a dense layer is
 * out = in·Wᵀ + b (one product with B transposed), a conv layer im2col then
 * one product per image, and a dense or conv layer followed by an
 * activation adds its bias inside the activation's kernel (fused), forward
 * and backward. Dropout masks come from the model's own stream (pcg.h), so
 * the same seed drops the same units as on the CPU.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_util.cuh"
#include "ops.h"
#include "pcg.h"

extern "C" {
#include "nnlab/dropout.h"
#include "nnlab/progress.h"
}

/* One layer's device buffers (NULL where the layer has none). */
typedef struct {
    float *w, *b, *dw, *db; /* parameters and their gradients */
    float *out, *dout;      /* [capacity, n_out] output and its gradient */
    float *aux;             /* [capacity, n_out] dropout mask */
    int *argmax;            /* [capacity, n_out] max pooling's winners */
    int fused;              /* dense/conv whose bias the next (activation) layer adds */
} dev_layer;

/* A trainable tensor, its gradient and the optimizer's state arrays. */
typedef struct {
    float *value, *grad, *s1, *s2;
    float *host;            /* the nn_model's copy of value */
    long long n;
} dev_param;

typedef struct {
    nn_model *m;
    nn_gpu_context *ctx;
    nn_sgemm_kind gemm;
    int cap;                /* rows the buffers hold */
    dev_layer *layers;      /* [m->n_layers] */
    dev_param *params;      /* [n_params] */
    int n_params;
    nn_gpu_tensor *table;   /* [n_params] the same, on the device, for one optimizer launch */
    long long max_n;        /* the largest tensor */
    float *cols, *dcols;    /* [cap, K, P] the largest conv layer's im2col matrices */
    float *partial;         /* [cap, c_out, K] per-image filter gradients */
    float *bias_work;       /* [channels, NN_GPU_BIAS_SPLIT] */
    float *best;            /* early stopping: the best epoch's parameters */
} gpu_net;

/* A data set on the device, and one minibatch's buffers. */
typedef struct {
    uint8_t *u8;
    float *f32;
    int *labels, *order;
    int n, dim;
} gpu_data;

typedef struct {
    float *x, *dlogits, *losses;
    int *y;
    nn_gpu_sums *sums;
} gpu_batch;

/* ------------------------------------------------------------ memory */

static int dev_alloc(void *p, size_t bytes)
{
    *(void **)p = NULL;
    return bytes ? NN_CUDA(cudaMalloc((void **)p, bytes)) : NN_OK;
}

static int dev_zeros(void *p, size_t bytes)
{
    return dev_alloc(p, bytes) || (bytes && NN_CUDA(cudaMemset(*(void **)p, 0, bytes)))
               ? NN_ERROR : NN_OK;
}

static int upload(void *p, const void *host, size_t bytes)
{
    return dev_alloc(p, bytes) ||
                   (bytes && NN_CUDA(cudaMemcpy(*(void **)p, host, bytes, cudaMemcpyHostToDevice)))
               ? NN_ERROR : NN_OK;
}

static size_t tensor_bytes(const nn_tensor *t)
{
    return t->size * sizeof(float);
}

/* ------------------------------------------------------------ shapes */

static nn_conv_shape conv_shape(const nn_layer *l, int rows)
{
    nn_conv_shape s = {rows, l->in_c, l->in_h, l->in_w, l->out_c, l->kh, l->kw, l->stride, l->pad};
    return s;
}

static nn_pool_shape pool_shape(const nn_layer *l, int rows)
{
    nn_pool_shape s = {rows, l->in_c, l->in_h, l->in_w, l->kh, l->stride};
    return s;
}

/* The bias of a dense layer is per output (channels = n_out, spatial = 1),
 * of a conv layer per filter (channels = c_out, spatial = oh·ow). */
static void bias_layout(const nn_layer *l, int *channels, int *spatial)
{
    int conv = l->kind == NN_LAYER_CONV;
    *channels = conv ? l->out_c : l->n_out;
    *spatial = conv ? l->out_h * l->out_w : 1;
}

extern "C" int nn_gpu_supports(const nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == NN_LAYER_BATCHNORM)
            return nn_fail("layer %d is batch norm, which the GPU path does not run yet: "
                           "train this model with --device cpu", i);
    return NN_OK;
}

/* ------------------------------------------------------------ the network on the device */

static void net_free(gpu_net *g)
{
    for (int i = 0; g->layers && i < g->m->n_layers; i++) {
        dev_layer *d = &g->layers[i];
        void *bufs[] = {d->w, d->b, d->dw, d->db, d->out, d->dout, d->aux, d->argmax};
        for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
            cudaFree(bufs[k]);
    }
    for (int i = 0; g->params && i < g->n_params; i++) {
        cudaFree(g->params[i].s1);
        cudaFree(g->params[i].s2);
    }
    cudaFree(g->cols);
    cudaFree(g->dcols);
    cudaFree(g->partial);
    cudaFree(g->bias_work);
    cudaFree(g->best);
    cudaFree(g->table);
    free(g->layers);
    free(g->params);
    memset(g, 0, sizeof *g);
}

static int alloc_layer(dev_layer *d, const nn_layer *l, int cap)
{
    size_t n = (size_t)cap * l->n_out;
    if (l->w.data && (upload(&d->w, l->w.data, tensor_bytes(&l->w)) ||
                      upload(&d->b, l->b.data, tensor_bytes(&l->b)) ||
                      dev_zeros(&d->dw, tensor_bytes(&l->w)) || dev_zeros(&d->db, tensor_bytes(&l->b))))
        return NN_ERROR;
    if (dev_alloc(&d->out, n * sizeof(float)) || dev_alloc(&d->dout, n * sizeof(float)))
        return NN_ERROR;
    if (l->kind == NN_LAYER_DROPOUT && dev_alloc(&d->aux, n * sizeof(float)))
        return NN_ERROR;
    if (l->kind == NN_LAYER_MAXPOOL && dev_alloc(&d->argmax, n * sizeof(int)))
        return NN_ERROR;
    return NN_OK;
}

/* The scratch of the conv layers and bias reductions, sized for the largest. */
static int alloc_work(gpu_net *g)
{
    long long cols = 0, partial = 0, channels = 0;
    for (int i = 0; i < g->m->n_layers; i++) {
        const nn_layer *l = &g->m->layers[i];
        if (l->kind != NN_LAYER_CONV && l->kind != NN_LAYER_DENSE)
            continue;
        int c, p;
        bias_layout(l, &c, &p);
        channels = c > channels ? c : channels;
        if (l->kind == NN_LAYER_CONV) {
            long long K = (long long)l->in_c * l->kh * l->kw, P = (long long)l->out_h * l->out_w;
            cols = K * P > cols ? K * P : cols;
            partial = l->out_c * K > partial ? l->out_c * K : partial;
        }
    }
    size_t f = sizeof(float);
    return dev_alloc(&g->cols, (size_t)g->cap * cols * f) ||
                   dev_alloc(&g->dcols, (size_t)g->cap * cols * f) ||
                   dev_alloc(&g->partial, (size_t)g->cap * partial * f) ||
                   dev_alloc(&g->bias_work, (size_t)channels * NN_GPU_BIAS_SPLIT * f)
               ? NN_ERROR : NN_OK;
}

/* The trainable tensors in the order of m->params: weight, bias per layer. */
static int bind_params(gpu_net *g, nn_opt_kind kind)
{
    int arrays = kind == NN_OPT_SGD ? 0
                 : (kind == NN_OPT_ADADELTA || kind == NN_OPT_ADAM || kind == NN_OPT_ADAMW) ? 2 : 1;
    g->params = (dev_param *)calloc((size_t)2 * g->m->n_layers + 1, sizeof *g->params);
    if (!g->params)
        return nn_fail("out of memory");
    for (int i = 0; i < g->m->n_layers; i++) {
        nn_layer *l = &g->m->layers[i];
        dev_layer *d = &g->layers[i];
        if (!l->w.data)
            continue;
        dev_param w = {d->w, d->dw, NULL, NULL, l->w.data, (long long)l->w.size};
        dev_param b = {d->b, d->db, NULL, NULL, l->b.data, (long long)l->b.size};
        g->params[g->n_params++] = w;
        g->params[g->n_params++] = b;
    }
    nn_gpu_tensor *table = (nn_gpu_tensor *)calloc((size_t)g->n_params + 1, sizeof *table);
    if (!table)
        return nn_fail("out of memory");
    for (int i = 0; i < g->n_params; i++) {
        dev_param *p = &g->params[i];
        size_t bytes = (size_t)p->n * sizeof(float);
        if ((arrays >= 1 && dev_zeros(&p->s1, bytes)) || (arrays >= 2 && dev_zeros(&p->s2, bytes)))
            return free(table), NN_ERROR;
        nn_gpu_tensor t = {p->value, p->s1, p->s2, p->grad, p->n};
        table[i] = t;
        g->max_n = p->n > g->max_n ? p->n : g->max_n;
    }
    int status = upload(&g->table, table, (size_t)g->n_params * sizeof *table);
    free(table);
    return status;
}

static int net_open(gpu_net *g, nn_model *m, int cap, nn_gemm_impl gemm, nn_opt_kind kind)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    g->cap = cap;
    g->gemm = gemm == NN_GEMM_CUBLAS ? NN_SGEMM_CUBLAS : NN_SGEMM_OWN;
    g->layers = (dev_layer *)calloc((size_t)m->n_layers, sizeof *g->layers);
    if (!g->layers)
        return nn_fail("out of memory");
    for (int i = 0; i < m->n_layers; i++) {
        nn_layer_kind k = m->layers[i].kind;
        g->layers[i].fused = (k == NN_LAYER_DENSE || k == NN_LAYER_CONV) && i + 1 < m->n_layers &&
                             m->layers[i + 1].kind == NN_LAYER_ACTIVATION;
        if (alloc_layer(&g->layers[i], &m->layers[i], cap))
            return NN_ERROR;
    }
    return alloc_work(g) || bind_params(g, kind) ? NN_ERROR : NN_OK;
}

/* The weights back into the model (what nn_train() leaves there). */
static int download_params(gpu_net *g)
{
    for (int i = 0; i < g->n_params; i++) {
        const dev_param *p = &g->params[i];
        if (NN_CUDA(cudaMemcpy(p->host, p->value, (size_t)p->n * sizeof(float),
                               cudaMemcpyDeviceToHost)))
            return NN_ERROR;
    }
    return NN_OK;
}

/* Early stopping: copy every parameter to or from g->best. */
static int copy_best(gpu_net *g, int to_model)
{
    if (!g->best) {
        size_t total = 0;
        for (int i = 0; i < g->n_params; i++)
            total += (size_t)g->params[i].n;
        if (dev_alloc(&g->best, total * sizeof(float)))
            return NN_ERROR;
    }
    float *at = g->best;
    for (int i = 0; i < g->n_params; i++) {
        size_t bytes = (size_t)g->params[i].n * sizeof(float);
        void *dst = to_model ? (void *)g->params[i].value : (void *)at;
        const void *src = to_model ? (const void *)at : (const void *)g->params[i].value;
        if (NN_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)))
            return NN_ERROR;
        at += g->params[i].n;
    }
    return NN_OK;
}

/* ------------------------------------------------------------ forward */

static int gemm(const gpu_net *g, int ta, int tb, int m, int n, int k, const float *a, int lda,
                long long sa, const float *b, int ldb, long long sb, float *c, int ldc,
                long long sc, int batch)
{
    return nn_gpu_sgemm(g->ctx, g->gemm, ta, tb, m, n, k, 1.0f, a, lda, sa, b, ldb, sb, 0.0f, c,
                        ldc, sc, batch);
}

static int copy_d2d(float *dst, const float *src, long long n)
{
    return NN_CUDA(cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice));
}

/* Dropout in training: the mask from the model's stream, which then moves
 * on by n draws, exactly as n calls of nn_rng_uniform() would move it. */
static int dropout_forward(nn_model *m, dev_layer *d, const nn_layer *l, const float *in,
                           long long n)
{
    float keep = 1.0f / (1.0f - l->p);
    if (nn_gpu_dropout_forward(d->out, d->aux, in, n, l->p, keep, m->rng.state, m->rng.inc))
        return NN_ERROR;
    m->rng.state = nn_pcg_advance(m->rng.state, m->rng.inc, (uint64_t)n);
    return NN_OK;
}

static int layer_forward(gpu_net *g, int i, const float *in, int rows, int training)
{
    const nn_layer *l = &g->m->layers[i];
    dev_layer *d = &g->layers[i];
    long long n = (long long)rows * l->n_in;
    int channels, spatial;
    switch (l->kind) {
    case NN_LAYER_DENSE: /* out = in·Wᵀ (+ b, here unless the activation adds it) */
        if (gemm(g, 0, 1, rows, l->n_out, l->n_in, in, l->n_in, 0, d->w, l->n_in, 0, d->out,
                 l->n_out, 0, 1))
            return NN_ERROR;
        return d->fused ? NN_OK
                        : nn_gpu_bias_act_forward(d->out, d->out, d->b, rows, l->n_out, 1,
                                                  NN_ACT_LINEAR);
    case NN_LAYER_CONV: { /* out_n = W [c_out, K] · im2col(in_n) [K, P] (+ b) */
        nn_conv_shape s = conv_shape(l, rows);
        int K = l->in_c * l->kh * l->kw, P = l->out_h * l->out_w;
        if (nn_gpu_im2col(g->cols, in, &s) ||
            gemm(g, 0, 0, l->out_c, P, K, d->w, K, 0, g->cols, P, (long long)K * P, d->out, P,
                 (long long)l->out_c * P, rows))
            return NN_ERROR;
        return d->fused ? NN_OK
                        : nn_gpu_bias_act_forward(d->out, d->out, d->b, rows, l->out_c, P,
                                                  NN_ACT_LINEAR);
    }
    case NN_LAYER_ACTIVATION:
        if (i > 0 && g->layers[i - 1].fused) { /* z = in + b, out = f(z) */
            bias_layout(&g->m->layers[i - 1], &channels, &spatial);
            return nn_gpu_bias_act_forward((float *)in, d->out, g->layers[i - 1].b, rows, channels,
                                           spatial, l->act);
        }
        return nn_gpu_act_forward(d->out, in, n, l->act);
    case NN_LAYER_MAXPOOL: {
        nn_pool_shape s = pool_shape(l, rows);
        return nn_gpu_maxpool_forward(d->out, d->argmax, in, &s);
    }
    case NN_LAYER_AVGPOOL: {
        nn_pool_shape s = pool_shape(l, rows);
        return nn_gpu_avgpool_forward(d->out, in, &s);
    }
    case NN_LAYER_FLATTEN: return copy_d2d(d->out, in, n);
    case NN_LAYER_DROPOUT:
        /* Evaluation: the identity, and no draws (as nn_dropout_forward). */
        return training ? dropout_forward(g->m, d, l, in, n) : copy_d2d(d->out, in, n);
    case NN_LAYER_BATCHNORM: break;
    }
    return nn_fail("layer %d: not supported on the GPU", i);
}

/* The logits [rows, outputs], on the device. */
static const float *net_forward(gpu_net *g, const float *x, int rows, int training)
{
    const float *in = x;
    for (int i = 0; i < g->m->n_layers; i++) {
        if (layer_forward(g, i, in, rows, training))
            return NULL;
        in = g->layers[i].out;
    }
    return in;
}

/* ------------------------------------------------------------ backward */

/*
 * Layer i reads the gradient of its output, dout, and its input, in, and
 * writes the gradient of its input into din (NULL for the first layer:
 * nobody needs it) and of its parameters into dw, db. A fused dense/conv
 * layer's bias gradient and the gradient of its pre-activation output are
 * written by the activation above it, in one kernel.
 */
static int layer_backward(gpu_net *g, int i, float *din, const float *dout, const float *in,
                          int rows)
{
    const nn_layer *l = &g->m->layers[i];
    dev_layer *d = &g->layers[i];
    long long n = (long long)rows * l->n_in;
    int channels, spatial;
    switch (l->kind) {
    case NN_LAYER_ACTIVATION:
        if (i > 0 && g->layers[i - 1].fused) { /* dz = dout ⊙ f'(z) into din, db = Σ dz */
            bias_layout(&g->m->layers[i - 1], &channels, &spatial);
            return nn_gpu_bias_act_backward(din, g->layers[i - 1].db, g->bias_work, dout, in, rows,
                                            channels, spatial, l->act);
        }
        return din ? nn_gpu_act_backward(din, dout, in, n, l->act) : NN_OK;
    case NN_LAYER_DENSE: /* dW = Gᵀ·in, din = G·W (db = Σ_rows G unless fused) */
        if (!d->fused && nn_gpu_bias_act_backward(NULL, d->db, g->bias_work, dout, dout, rows,
                                                  l->n_out, 1, NN_ACT_LINEAR))
            return NN_ERROR;
        if (gemm(g, 1, 0, l->n_out, l->n_in, rows, dout, l->n_out, 0, in, l->n_in, 0, d->dw,
                 l->n_in, 0, 1))
            return NN_ERROR;
        return din ? gemm(g, 0, 0, rows, l->n_in, l->n_out, dout, l->n_out, 0, d->w, l->n_in, 0,
                          din, l->n_in, 0, 1)
                   : NN_OK;
    case NN_LAYER_CONV: {
        /* Per image n, with G_n = dout_n [c_out, P] and X_n = im2col(in_n) [K, P]:
         * dW = Σ_n G_n·X_nᵀ (one product per image into `partial`, then a
         * sum over the images in order), dX_n = Wᵀ·G_n, din_n = col2im(dX_n). */
        nn_conv_shape s = conv_shape(l, rows);
        int K = l->in_c * l->kh * l->kw, P = l->out_h * l->out_w;
        long long kp = (long long)K * P, cp = (long long)l->out_c * P;
        if (!d->fused && nn_gpu_bias_act_backward(NULL, d->db, g->bias_work, dout, dout, rows,
                                                  l->out_c, P, NN_ACT_LINEAR))
            return NN_ERROR;
        if (nn_gpu_im2col(g->cols, in, &s) ||
            gemm(g, 0, 1, l->out_c, K, P, dout, P, cp, g->cols, P, kp, g->partial, K,
                 (long long)l->out_c * K, rows) ||
            nn_gpu_sum_rows(d->dw, g->partial, rows, (long long)l->out_c * K))
            return NN_ERROR;
        if (!din)
            return NN_OK;
        return gemm(g, 1, 0, K, P, l->out_c, d->w, K, 0, dout, P, cp, g->dcols, P, kp, rows) ||
                       nn_gpu_col2im(din, g->dcols, &s)
                   ? NN_ERROR : NN_OK;
    }
    case NN_LAYER_MAXPOOL: {
        nn_pool_shape s = pool_shape(l, rows);
        return din ? nn_gpu_maxpool_backward(din, dout, d->argmax, &s) : NN_OK;
    }
    case NN_LAYER_AVGPOOL: {
        nn_pool_shape s = pool_shape(l, rows);
        return din ? nn_gpu_avgpool_backward(din, dout, &s) : NN_OK;
    }
    case NN_LAYER_FLATTEN: return din ? copy_d2d(din, dout, n) : NN_OK;
    case NN_LAYER_DROPOUT: return din ? nn_gpu_dropout_backward(din, dout, d->aux, n) : NN_OK;
    case NN_LAYER_BATCHNORM: break;
    }
    return nn_fail("layer %d: not supported on the GPU", i);
}

static int net_backward(gpu_net *g, const float *x, const float *dlogits, int rows)
{
    int last = g->m->n_layers - 1;
    for (int i = last; i >= 0; i--) {
        const float *dout = i == last ? dlogits : g->layers[i].dout;
        const float *in = i > 0 ? g->layers[i - 1].out : x;
        float *din = i > 0 ? g->layers[i - 1].dout : NULL;
        if (layer_backward(g, i, din, dout, in, rows))
            return NN_ERROR;
    }
    return NN_OK;
}

/* ------------------------------------------------------------ optimizer */

/* train.c's nn_optimizer_step(): the step count t, then every tensor (one
 * launch for all of them). Adam's bias corrections are computed here, in
 * double, as optimizers.c computes them. */
static int optimizer_step(gpu_net *g, const nn_opt_config *c, float lr, int t)
{
    double c1 = 1.0 - pow(c->beta1, t), c2 = 1.0 - pow(c->beta2, t);
    nn_gpu_update u = {c->kind, lr, c->momentum, c->beta1, c->beta2, c->rho, c->eps,
                       c->weight_decay, (float)(lr / c1), (float)sqrt(c2)};
    return nn_gpu_optimizer_step_all(g->table, g->n_params, g->max_n, &u);
}

/* ------------------------------------------------------------ data */

static void data_free(gpu_data *d)
{
    cudaFree(d->u8);
    cudaFree(d->f32);
    cudaFree(d->labels);
    cudaFree(d->order);
    memset(d, 0, sizeof *d);
}

/* The set on the device, with the order 0, 1, …, n − 1. */
static int data_open(gpu_data *d, const nn_dataset *ds, int *order)
{
    memset(d, 0, sizeof *d);
    size_t cells = (size_t)ds->n * ds->dim;
    d->n = ds->n;
    d->dim = ds->dim;
    for (int i = 0; i < ds->n; i++)
        order[i] = i;
    if ((ds->u8 ? upload(&d->u8, ds->u8, cells) : upload(&d->f32, ds->f32, cells * sizeof(float))) ||
        upload(&d->labels, ds->labels, (size_t)ds->n * sizeof(int)) ||
        upload(&d->order, order, (size_t)ds->n * sizeof(int)))
        return NN_ERROR;
    return NN_OK;
}

static void batch_free(gpu_batch *b)
{
    cudaFree(b->x);
    cudaFree(b->dlogits);
    cudaFree(b->losses);
    cudaFree(b->y);
    cudaFree(b->sums);
    memset(b, 0, sizeof *b);
}

static int batch_open(gpu_batch *b, int cap, int dim, int classes, int batches)
{
    memset(b, 0, sizeof *b);
    return dev_alloc(&b->x, (size_t)cap * dim * sizeof(float)) ||
                   dev_alloc(&b->dlogits, (size_t)cap * classes * sizeof(float)) ||
                   dev_alloc(&b->losses, (size_t)batches * sizeof(float)) ||
                   dev_alloc(&b->y, (size_t)cap * sizeof(int)) ||
                   dev_alloc(&b->sums, sizeof(nn_gpu_sums))
               ? NN_ERROR : NN_OK;
}

static int read_sums(nn_gpu_sums *h, const gpu_batch *b)
{
    return NN_CUDA(cudaMemcpy(h, b->sums, sizeof *h, cudaMemcpyDeviceToHost));
}

/* ------------------------------------------------------------ evaluation */

/* nn_evaluate() on the device: evaluation mode, the set in order. */
static int gpu_evaluate(gpu_net *g, gpu_batch *b, const gpu_data *d, int batch, float *loss,
                        float *acc)
{
    int classes = nn_model_outputs(g->m);
    nn_gpu_sums s;
    if (NN_CUDA(cudaMemsetAsync(b->sums, 0, sizeof(nn_gpu_sums))))
        return NN_ERROR;
    for (int start = 0; start < d->n; start += batch) {
        int rows = d->n - start < batch ? d->n - start : batch;
        const float *logits;
        if (nn_gpu_gather(b->x, b->y, d->u8, d->f32, d->labels, d->order + start, rows, d->dim) ||
            !(logits = net_forward(g, b->x, rows, 0)) ||
            nn_gpu_softmax_xent(NULL, b->sums, NULL, logits, b->y, rows, classes))
            return NN_ERROR;
    }
    if (read_sums(&s, b))
        return NN_ERROR;
    *loss = (float)(s.loss / d->n);
    *acc = (float)s.correct / (float)d->n;
    return NN_OK;
}

/* ------------------------------------------------------------ training */

typedef struct {
    gpu_net net;
    gpu_data train, val;
    gpu_batch b;
    int *order;          /* host copy of the shuffled rows */
    float *lrs;          /* [batches] the rate of each step, for the NaN message */
    float *losses;       /* [batches] host copy of the batch losses */
    nn_rng rng;          /* the shuffles: the stream nn_train() uses */
    nn_early_stop es;
    FILE *log;
    int step, batches;
} trainer;

static int check(const nn_model *m, const nn_dataset *train, const nn_dataset *val,
                 const nn_train_config *cfg)
{
    if (cfg->epochs < 1 || cfg->batch < 1)
        return nn_fail("epochs and batch size must be at least 1");
    if (train->n < 1)
        return nn_fail("training set '%s' is empty", train->name);
    if (!(cfg->opt.lr > 0.0f) || !isfinite(cfg->opt.lr))
        return nn_fail("learning rate must be a positive number");
    if (cfg->patience > 0 && !val)
        return nn_fail("early stopping (patience %d) needs a validation set", cfg->patience);
    if (cfg->batch > 65535)
        return nn_fail("the GPU path takes batches of at most 65535 rows");
    for (const nn_dataset *ds = train; ds; ds = ds == train ? val : NULL) {
        if (ds->dim != nn_model_inputs(m))
            return nn_fail("data set '%s' has %d features, the model takes %d", ds->name, ds->dim,
                           nn_model_inputs(m));
        if (ds->classes > nn_model_outputs(m))
            return nn_fail("data set '%s' has %d classes, the model outputs only %d", ds->name,
                           ds->classes, nn_model_outputs(m));
    }
    return nn_gpu_supports(m);
}

static void trainer_close(trainer *t, int *status, const char *log_path)
{
    nn_gpu_context *ctx = t->net.ctx;
    if (t->log && fclose(t->log) != 0 && *status == NN_OK)
        *status = nn_fail("cannot write the training log %s", log_path);
    net_free(&t->net);
    data_free(&t->train);
    data_free(&t->val);
    batch_free(&t->b);
    free(t->order);
    free(t->lrs);
    free(t->losses);
    nn_gpu_close(ctx);
}

static int trainer_open(trainer *t, nn_model *m, const nn_dataset *train, const nn_dataset *val,
                        const nn_train_config *cfg, nn_gemm_impl gemm)
{
    memset(t, 0, sizeof *t);
    if (check(m, train, val, cfg))
        return NN_ERROR;
    nn_gpu_context *ctx = nn_gpu_open();
    if (!ctx)
        return NN_ERROR;
    int n = train->n > (val ? val->n : 0) ? train->n : val->n;
    t->batches = (train->n + cfg->batch - 1) / cfg->batch;
    t->order = (int *)malloc((size_t)n * sizeof(int));
    t->lrs = (float *)malloc((size_t)t->batches * sizeof(float));
    t->losses = (float *)malloc((size_t)t->batches * sizeof(float));
    int status = net_open(&t->net, m, cfg->batch, gemm, cfg->opt.kind);
    t->net.ctx = ctx;
    if (status || !t->order || !t->lrs || !t->losses)
        return status ? NN_ERROR : nn_fail("out of memory");
    if ((val && data_open(&t->val, val, t->order)) || data_open(&t->train, train, t->order) ||
        batch_open(&t->b, cfg->batch, train->dim, nn_model_outputs(m), t->batches))
        return NN_ERROR;
    nn_rng_seed(&t->rng, cfg->seed);
    nn_early_stop_init(&t->es, cfg->patience > 0 ? cfg->patience : 1);
    if (cfg->log_path) {
        if (!(t->log = fopen(cfg->log_path, "w")))
            return nn_fail("cannot create training log %s", cfg->log_path);
        fprintf(t->log, "epoch,train_loss,train_acc,val_loss,val_acc,lr\n");
    }
    return NN_OK;
}

/* Rows start … start + rows − 1 of the epoch's order: one optimizer step. */
static int train_step(trainer *t, const nn_train_config *cfg, int i, int start, int rows,
                      float lr)
{
    gpu_net *g = &t->net;
    gpu_batch *b = &t->b;
    const gpu_data *d = &t->train;
    const float *logits;
    if (nn_gpu_gather(b->x, b->y, d->u8, d->f32, d->labels, d->order + start, rows, d->dim) ||
        !(logits = net_forward(g, b->x, rows, 1)) ||
        nn_gpu_softmax_xent(b->dlogits, b->sums, b->losses + i, logits, b->y, rows,
                            nn_model_outputs(g->m)) ||
        net_backward(g, b->x, b->dlogits, rows))
        return NN_ERROR;
    return optimizer_step(g, &cfg->opt, lr, ++t->step);
}

/* The first non-finite batch loss of the epoch, reported as nn_train() does. */
static int check_losses(trainer *t, int epoch)
{
    if (NN_CUDA(cudaMemcpy(t->losses, t->b.losses, (size_t)t->batches * sizeof(float),
                           cudaMemcpyDeviceToHost)))
        return NN_ERROR;
    for (int i = 0; i < t->batches; i++)
        if (!isfinite(t->losses[i]))
            return nn_fail("training stopped: the loss became %s at epoch %d, batch %d "
                           "(learning rate %g too high?)",
                           isnan(t->losses[i]) ? "NaN" : "infinite", epoch + 1, i + 1,
                           (double)t->lrs[i]);
    return NN_OK;
}

static int run_epoch(trainer *t, const nn_train_config *cfg, int epoch, nn_progress *bar,
                     nn_epoch_stats *st)
{
    int n = t->train.n;
    nn_gpu_sums sums;
    nn_progress_begin(bar, stderr, epoch + 1, cfg->epochs, t->batches);
    nn_rng_shuffle(&t->rng, t->order, n);
    if (NN_CUDA(cudaMemcpy(t->train.order, t->order, (size_t)n * sizeof(int),
                           cudaMemcpyHostToDevice)) ||
        NN_CUDA(cudaMemsetAsync(t->b.sums, 0, sizeof(nn_gpu_sums))))
        return NN_ERROR;
    /* The loss on the bar is read from the GPU 20 times an epoch, and only
     * when the bar is drawn (on a terminal): each read waits for the GPU. */
    int every = bar->tty && cfg->progress ? (t->batches + 19) / 20 : 0;
    float shown = NAN;
    for (int i = 0; i < t->batches; i++) {
        int start = i * cfg->batch;
        int rows = n - start < cfg->batch ? n - start : cfg->batch;
        st->lr = t->lrs[i] = nn_schedule_lr(cfg->schedule, cfg->opt.lr, epoch, cfg->epochs,
                                            t->step, t->batches);
        if (train_step(t, cfg, i, start, rows, st->lr))
            return NN_ERROR;
        if (every && ((i + 1) % every == 0 || i + 1 == t->batches)) {
            if (read_sums(&sums, &t->b))
                return NN_ERROR;
            shown = (float)(sums.loss / (start + rows));
        }
        if (cfg->progress)
            nn_progress_update(bar, i + 1, rows, shown);
    }
    if (read_sums(&sums, &t->b) || check_losses(t, epoch))
        return NN_ERROR;
    st->epoch = epoch + 1;
    st->train_loss = (float)(sums.loss / n);
    st->train_acc = (float)sums.correct / (float)n;
    st->seconds = nn_now() - bar->start;
    return NN_OK;
}

/* As train.c: the epoch's closing line and its CSV row. */
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

/* Early stopping after an epoch: 1 means stop (the best weights are kept). */
static int stop_early(trainer *t, const nn_epoch_stats *st, int progress, int *status)
{
    int verdict = nn_early_stop_update(&t->es, st->val_loss, st->epoch);
    if (verdict == 1 && copy_best(&t->net, 0))
        *status = NN_ERROR;
    if (verdict != -1)
        return 0;
    if (progress)
        fprintf(stderr, "early stop: no better validation loss for %d epochs; "
                        "keeping epoch %d's weights\n", t->es.patience, t->es.best_epoch);
    return 1;
}

extern "C" int nn_gpu_train(nn_model *m, const nn_dataset *train, const nn_dataset *val,
                            const nn_train_config *cfg, nn_gemm_impl gemm,
                            nn_epoch_stats *history)
{
    trainer t;
    int status = trainer_open(&t, m, train, val, cfg, gemm);
    if (history)
        memset(history, 0, (size_t)cfg->epochs * sizeof *history);
    for (int e = 0; status == NN_OK && e < cfg->epochs; e++) {
        nn_epoch_stats st = {0, 0, 0, 0, NAN, NAN, 0};
        nn_progress bar;
        nn_model_set_training(m, 1);
        status = run_epoch(&t, cfg, e, &bar, &st);
        if (status == NN_OK && val) {
            nn_model_set_training(m, 0);
            status = gpu_evaluate(&t.net, &t.b, &t.val, cfg->batch, &st.val_loss, &st.val_acc);
        }
        if (status == NN_OK && cfg->progress)
            end_line(&bar, &st, val != NULL);
        if (status == NN_OK && t.log)
            status = log_epoch(t.log, &st);
        if (status == NN_OK && history)
            history[e] = st;
        if (status == NN_OK && cfg->patience > 0 && stop_early(&t, &st, cfg->progress, &status))
            break;
    }
    if (status == NN_OK && cfg->patience > 0 && t.es.best_epoch >= 0)
        status = copy_best(&t.net, 1);
    if (status == NN_OK)
        status = download_params(&t.net);
    trainer_close(&t, &status, cfg->log_path);
    return status;
}
