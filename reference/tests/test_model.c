/* The model container: specification parsing, parameters, forward and
 * backward against an independent double-precision MLP, checkpoints. */
#include "testutil.h"
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
}
