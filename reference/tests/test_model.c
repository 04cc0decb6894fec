/* The model container: specification parsing, parameters, forward and
 * backward against an independent double-precision MLP, checkpoints. */
#include "testutil.h"
#include "nnlab/backprop.h"
#include "nnlab/checkpoint.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_model *make(const char *spec, nn_act act, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    return nn_model_create(spec, act, NULL, &rng);
}

static void test_spec_layers_and_names(void)
{
    nn_model *m = make("4-3-2", NN_ACT_RELU, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->n_layers, 3);
    CU_ASSERT_EQUAL(m->layers[1].kind, NN_LAYER_ACTIVATION);
    CU_ASSERT_EQUAL(m->n_params, 4);
    CU_ASSERT_STRING_EQUAL(m->params[0].name, "layers.0.weight");
    CU_ASSERT_STRING_EQUAL(m->params[3].name, "layers.2.bias");
    /* 4·3 + 3 + 3·2 + 2 = 23 */
    CU_ASSERT_EQUAL(nn_model_count_params(m), 23);
    CU_ASSERT_EQUAL(nn_model_inputs(m), 4);
    CU_ASSERT_EQUAL(nn_model_outputs(m), 2);
    nn_model_free(m);
    /* 784·256 + 256 + 256·128 + 128 + 128·10 + 10 = 235146 */
    m = make("784-256-128-10", NN_ACT_RELU, 1);
    CU_ASSERT_EQUAL(nn_model_count_params(m), 235146);
    nn_model_free(m);
}

static void test_bad_specs(void)
{
    const char *bad[] = { "", "784", "784-0-10", "784--10", "a-b", "784-10x", "10-", "-10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_clear_error();
        nn_model *m = make(bad[i], NN_ACT_RELU, 1);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT(strlen(nn_last_error()) > 0);
        nn_model_free(m);
    }
    CU_ASSERT_EQUAL(nn_act_from_name("tanh"), NN_ACT_TANH);
    CU_ASSERT_EQUAL(nn_act_from_name("nope"), -1);
    CU_ASSERT_STRING_EQUAL(nn_act_name(NN_ACT_LEAKY_RELU), "leaky_relu");
}

/* An independent forward pass in double: tanh hidden layers, linear output. */
static void forward_double(double *logits, const nn_model *m, const double *x, int batch)
{
    double cur[64 * 8], next[64 * 8];
    int width = nn_model_inputs(m);
    memcpy(cur, x, sizeof(double) * (size_t)(batch * width));
    for (int i = 0; i < m->n_layers; i += 2) {
        const nn_layer *l = &m->layers[i];
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < l->n_out; j++) {
                double s = l->b.data[j];
                for (int k = 0; k < l->n_in; k++)
                    s += (double)l->w.data[j * l->n_in + k] * cur[r * l->n_in + k];
                next[r * l->n_out + j] = i + 1 < m->n_layers ? tanh(s) : s;
            }
        width = l->n_out;
        memcpy(cur, next, sizeof(double) * (size_t)(batch * width));
    }
    memcpy(logits, cur, sizeof(double) * (size_t)(batch * width));
}

static void test_forward_matches_double(void)
{
    enum { B = 3 };
    nn_model *m = make("5-4-6-3", NN_ACT_TANH, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    for (int i = 0; i < m->n_params; i++)
        tu_fill(m->params[i].value->data, (int)m->params[i].value->size, -1, 1, &rng);
    float x[B * 5];
    double xd[B * 5], want[B * 3];
    tu_fill(x, B * 5, -1, 1, &rng);
    for (int i = 0; i < B * 5; i++)
        xd[i] = x[i];
    forward_double(want, m, xd, B);
    const float *got = nn_model_forward(m, x, B);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    float wantf[B * 3];
    for (int i = 0; i < B * 3; i++)
        wantf[i] = (float)want[i];
    TU_ASSERT_CLOSE(got, wantf, B * 3, 1e-5);
    nn_model_free(m);
}

/* Objective for the gradient check: L = Σ logits ⊙ R, in double. */
typedef struct {
    nn_model *m;
    const double *x;
    const double *r;
    int batch;
} objective_ctx;

static double objective(void *p)
{
    objective_ctx *c = p;
    double logits[64];
    forward_double(logits, c->m, c->x, c->batch);
    double s = 0;
    for (int i = 0; i < c->batch * nn_model_outputs(c->m); i++)
        s += logits[i] * c->r[i];
    return s;
}

/* ∂L/∂θ from nn_model_backward (dlogits = R) against central differences. */
static void test_backward_matches_finite_differences(void)
{
    enum { B = 4, OUT = 3 };
    nn_model *m = make("5-4-6-3", NN_ACT_TANH, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    float x[B * 5], r[B * OUT];
    double xd[B * 5], rd[B * OUT];
    tu_fill(x, B * 5, -1, 1, &rng);
    tu_fill(r, B * OUT, -1, 1, &rng);
    for (int i = 0; i < B * 5; i++)
        xd[i] = x[i];
    for (int i = 0; i < B * OUT; i++)
        rd[i] = r[i];
    nn_model_zero_grad(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nn_model_forward(m, x, B));
    nn_model_backward(m, x, r, B);
    objective_ctx ctx = { m, xd, rd, B };
    for (int i = 0; i < m->n_params; i++) {
        nn_param *p = &m->params[i];
        float *theta = p->value->data;
        int n = (int)p->value->size;
        float num[64];
        const double h = 1e-3;
        for (int k = 0; k < n; k++) {
            float keep = theta[k];
            theta[k] = keep + (float)h;
            double up = objective(&ctx);
            theta[k] = keep - (float)h;
            double down = objective(&ctx);
            theta[k] = keep;
            /* the float step actually taken, not h, divides */
            num[k] = (float)((up - down) / ((double)(keep + (float)h) - (double)(keep - (float)h)));
        }
        TU_ASSERT_CLOSE(p->grad->data, num, n, 1e-3);
    }
    nn_model_free(m);
}

static void test_reserve_grows(void)
{
    nn_model *m = make("3-2", NN_ACT_RELU, 1);
    float x[30] = { 0 };
    CU_ASSERT_PTR_NOT_NULL(nn_model_forward(m, x, 2));
    CU_ASSERT_PTR_NOT_NULL(nn_model_forward(m, x, 10));
    CU_ASSERT(m->capacity >= 10);
    nn_model_free(m);
}

static void test_checkpoint_round_trip(void)
{
    char dir[] = "/tmp/nnlab-model-XXXXXX", path[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    nn_model *a = make("6-5-4", NN_ACT_GELU, 8);
    CU_ASSERT_EQUAL_FATAL(nn_model_save(a, path), NN_OK);
    nn_model *b = nn_model_load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(b->spec, "6-5-4");
    CU_ASSERT_EQUAL(b->act, NN_ACT_GELU);
    for (int i = 0; i < a->n_params; i++)
        CU_ASSERT_EQUAL(memcmp(a->params[i].value->data, b->params[i].value->data,
                               a->params[i].value->size * sizeof(float)), 0);
    float x[12];
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    tu_fill(x, 12, -2, 2, &rng);
    float ya[8];
    memcpy(ya, nn_model_forward(a, x, 2), sizeof ya);
    CU_ASSERT_EQUAL(memcmp(ya, nn_model_forward(b, x, 2), sizeof ya), 0);
    nn_model_free(a);
    nn_model_free(b);
    remove(path);
    rmdir(dir);
}

static void test_load_errors(void)
{
    nn_clear_error();
    CU_ASSERT_PTR_NULL(nn_model_load("/nonexistent/m.safetensors"));
    CU_ASSERT_PTR_NOT_NULL(strstr(nn_last_error(), "/nonexistent/m.safetensors"));
    /* a valid safetensors file that is not an nnlab checkpoint */
    char dir[] = "/tmp/nnlab-model-XXXXXX", path[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/plain.safetensors", dir);
    nn_st_tensor t = { "w", { 0 } };
    int shape[1] = { 3 };
    CU_ASSERT_EQUAL_FATAL(nn_tensor_alloc(&t.t, 1, shape), NN_OK);
    nn_st_file f = { 1, &t, 0, NULL };
    CU_ASSERT_EQUAL_FATAL(nn_st_write(path, &f), NN_OK);
    CU_ASSERT_PTR_NULL(nn_model_load(path));
    CU_ASSERT_PTR_NOT_NULL(strstr(nn_last_error(), "not an nnlab checkpoint"));
    nn_tensor_free(&t.t);
    remove(path);
    rmdir(dir);
}


/* LeNet-5's parameters, counted by hand:
 * conv1 6·1·5·5 + 6 = 156, conv2 16·6·5·5 + 16 = 2416,
 * dense 400·120 + 120 = 48120, 120·84 + 84 = 10164, 84·10 + 10 = 850. */
static void test_lenet5_preset(void)
{
    int shape[3] = { 1, 28, 28 };
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_model *m = nn_model_create("lenet5", NN_ACT_RELU, shape, &rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(nn_model_count_params(m), 156 + 2416 + 48120 + 10164 + 850);
    CU_ASSERT_EQUAL(m->n_layers, 12);
    CU_ASSERT_EQUAL(m->layers[2].out_h, 14);  /* (28 − 2)/2 + 1 */
    CU_ASSERT_EQUAL(m->layers[3].out_h, 10);  /* (14 − 5)/1 + 1 */
    CU_ASSERT_EQUAL(m->layers[6].n_out, 400); /* 16·5·5 */
    CU_ASSERT_EQUAL(nn_model_outputs(m), 10);
    nn_model_free(m);
}

static void test_layer_list_specs(void)
{
    int shape[3] = { 3, 9, 7 };
    nn_model *m = nn_model_create("conv:4x3x2:stride=2:pad=1,batchnorm,tanh,avgpool:2:stride=1,"
                                  "flatten,dropout:0.5,dense:5,batchnorm,dense:2",
                                  NN_ACT_RELU, shape, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    /* conv: (9 + 2 − 3)/2 + 1 = 5, (7 + 2 − 2)/2 + 1 = 4; avgpool 2 stride 1: 4 x 3 */
    CU_ASSERT_EQUAL(m->layers[0].out_h, 5);
    CU_ASSERT_EQUAL(m->layers[0].out_w, 4);
    CU_ASSERT_EQUAL(m->layers[3].out_h, 4);
    CU_ASSERT_EQUAL(m->layers[3].out_w, 3);
    CU_ASSERT_EQUAL(m->layers[4].n_out, 4 * 4 * 3);
    CU_ASSERT_EQUAL(m->layers[6].n_in, 48);
    CU_ASSERT_STRING_EQUAL(m->params[2].name, "layers.1.weight");
    CU_ASSERT_STRING_EQUAL(m->params[m->n_params - 1].name, "layers.7.running_var");
    nn_model_free(m);
    const char *bad[] = { "conv:6x5", "conv:6x5x5:pad=-1", "maxpool", "maxpool:2:pad=1",
                          "dense:0", "dropout:1", "dropout:x", "relu:3", "conv:6x30x30",
                          "flatten:2", "dense:10,,dense:2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_clear_error();
        m = nn_model_create(bad[i], NN_ACT_RELU, (int[3]){ 1, 28, 28 }, NULL);
        if (m)
            fprintf(stderr, "accepted bad spec '%s'\n", bad[i]);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT(strlen(nn_last_error()) > 0);
        nn_model_free(m);
    }
}

/* Float objective for the wiring check of a whole CNN: L = Σ logits ⊙ R. */
typedef struct {
    nn_model *m;
    const float *x;
    const float *r;
    int batch;
} cnn_ctx;

static double cnn_objective(void *p)
{
    cnn_ctx *c = p;
    const float *y = nn_model_forward(c->m, c->x, c->batch);
    double s = 0;
    for (int i = 0; i < c->batch * nn_model_outputs(c->m); i++)
        s += (double)y[i] * c->r[i];
    return s;
}

/* Central difference of the float objective at theta[k], step h. */
static double central_difference(cnn_ctx *ctx, float *theta, int k, float h)
{
    float keep = theta[k];
    theta[k] = keep + h;
    double up = cnn_objective(ctx);
    theta[k] = keep - h;
    double down = cnn_objective(ctx);
    theta[k] = keep;
    return (up - down) / (2.0 * h);
}

/* Every layer kind in one network, in training mode (batch norm with batch
 * statistics; dropout p = 0 keeps the objective deterministic). The float
 * forward limits the finite differences to about 1e-4 absolute, so the
 * check is |a − g| <= 2e-2 (|a| + |g|) + 1e-4: it checks the wiring between
 * layers (each kernel has its own exact check). The absolute term matters:
 * a bias right before batch norm has a true gradient of 0, since batch norm
 * subtracts whatever constant the bias adds. */
static void test_cnn_backward_wiring(void)
{
    enum { B = 3 };
    int shape[3] = { 2, 6, 6 };
    nn_rng rng;
    nn_rng_seed(&rng, 12);
    nn_model *m = nn_model_create("conv:3x3x3:pad=1,batchnorm,tanh,avgpool:2,conv:4x2x2,"
                                  "maxpool:2,flatten,dropout:0,dense:5,batchnorm,softplus,"
                                  "dense:3", NN_ACT_RELU, shape, &rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nn_model_set_training(m, 1);
    float x[B * 72], r[B * 3];
    tu_fill(x, B * 72, -1, 1, &rng);
    tu_fill(r, B * 3, -1, 1, &rng);
    nn_model_zero_grad(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nn_model_forward(m, x, B));
    nn_model_backward(m, x, r, B);
    cnn_ctx ctx = { m, x, r, B };
    int checked = 0;
    for (int i = 0; i < m->n_params; i++) {
        nn_param *p = &m->params[i];
        for (size_t k = 0; p->grad && k < p->value->size; k++) {
            double g = central_difference(&ctx, p->value->data, (int)k, 1e-2f);
            double a = p->grad->data[k];
            char msg[160];
            snprintf(msg, sizeof msg, "%s[%zu]: analytic %.6g, numerical %.6g", p->name, k, a, g);
            CU_assertImplementation(fabs(a - g) <= 2e-2 * (fabs(a) + fabs(g)) + 1e-4, __LINE__,
                                    msg, __FILE__, "", CU_FALSE);
            checked++;
        }
    }
    CU_ASSERT(checked == nn_model_count_params(m));
    nn_model_free(m);
}

/* Train a CNN with batch norm briefly (running statistics move away from
 * 0 and 1), save, load, and compare evaluation-mode predictions bit for bit. */
static void test_cnn_checkpoint_round_trip(void)
{
    int shape[3] = { 1, 8, 8 };
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    nn_model *a = nn_model_create("conv:4x3x3,batchnorm,relu,maxpool:2,flatten,dense:6,"
                                  "batchnorm,relu,dropout:0.2,dense:3", NN_ACT_RELU, shape,
                                  &rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    float x[16 * 64], dlogits[16 * 3];
    tu_fill(x, 16 * 64, 0, 1, &rng);
    tu_fill(dlogits, 16 * 3, -0.1f, 0.1f, &rng);
    nn_model_set_training(a, 1);
    for (int step = 0; step < 3; step++) {
        nn_model_forward(a, x, 16);
        nn_model_zero_grad(a);
        nn_model_backward(a, x, dlogits, 16);
        for (int i = 0; i < a->n_params; i++)
            for (size_t k = 0; a->params[i].grad && k < a->params[i].value->size; k++)
                a->params[i].value->data[k] -= 0.1f * a->params[i].grad->data[k];
    }
    CU_ASSERT(a->layers[1].run_mean.data[0] != 0.0f);
    char dir[] = "/tmp/nnlab-model-XXXXXX", path[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cnn.safetensors", dir);
    CU_ASSERT_EQUAL_FATAL(nn_model_save(a, path), NN_OK);
    nn_model *b = nn_model_load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->in_h, 8);
    nn_model_set_training(a, 0);
    nn_model_set_training(b, 0);
    float ya[16 * 3];
    memcpy(ya, nn_model_forward(a, x, 16), sizeof ya);
    CU_ASSERT_EQUAL(memcmp(ya, nn_model_forward(b, x, 16), sizeof ya), 0);
    nn_model_free(a);
    nn_model_free(b);
    remove(path);
    rmdir(dir);
}

/* Evaluation mode turns dropout off and batch norm to running statistics:
 * the same input twice gives the same output; training mode with dropout
 * gives a different one each call. */
static void test_training_and_eval_modes(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    nn_model *m = nn_model_create("8-16-4", NN_ACT_RELU, NULL, &rng);
    nn_model_free(m);
    m = nn_model_create("dense:16,relu,dropout:0.5,dense:4", NN_ACT_RELU, (int[3]){ 8, 1, 1 },
                        &rng);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float x[2 * 8], y1[8], y2[8];
    tu_fill(x, 16, -1, 1, &rng);
    nn_model_set_training(m, 0);
    memcpy(y1, nn_model_forward(m, x, 2), sizeof y1);
    memcpy(y2, nn_model_forward(m, x, 2), sizeof y2);
    CU_ASSERT_EQUAL(memcmp(y1, y2, sizeof y1), 0);
    nn_model_set_training(m, 1);
    memcpy(y1, nn_model_forward(m, x, 2), sizeof y1);
    memcpy(y2, nn_model_forward(m, x, 2), sizeof y2);
    CU_ASSERT(memcmp(y1, y2, sizeof y1) != 0);
    nn_model_free(m);
}

void suite_model(void)
{
    CU_pSuite s = CU_add_suite("model", NULL, NULL);
    CU_add_test(s, "spec: layers, names, parameter count", test_spec_layers_and_names);
    CU_add_test(s, "spec: bad specifications rejected", test_bad_specs);
    CU_add_test(s, "forward equals a double-precision MLP", test_forward_matches_double);
    CU_add_test(s, "backward equals central differences", test_backward_matches_finite_differences);
    CU_add_test(s, "buffers grow with the batch", test_reserve_grows);
    CU_add_test(s, "checkpoint round trip is exact", test_checkpoint_round_trip);
    CU_add_test(s, "checkpoint load errors", test_load_errors);
    CU_add_test(s, "lenet5 preset: shapes and parameter count", test_lenet5_preset);
    CU_add_test(s, "layer lists: shapes, names, bad specs", test_layer_list_specs);
    CU_add_test(s, "CNN backward wiring vs finite differences", test_cnn_backward_wiring);
    CU_add_test(s, "CNN with batch norm: checkpoint round trip", test_cnn_checkpoint_round_trip);
    CU_add_test(s, "training and evaluation modes", test_training_and_eval_modes);
}
