/* The trainer: learning, every optimizer, NaN stop, determinism, logs,
 * schedules, evaluation. */
#include "testutil.h"
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/train.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_model *make(const char *spec, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    return nn_model_create(spec, NN_ACT_RELU, NULL, &rng);
}

static nn_train_config config(nn_opt_kind kind, float lr, int epochs)
{
    nn_train_config c = { epochs, 32, 1, nn_opt_defaults(kind, lr), NN_SCHED_CONSTANT, NULL, 0, 0 };
    return c;
}

/* Spirals are not linearly separable: a 2-64-64-3 MLP must bend its
 * boundary around the arms. Chance is 33%; 90% shows real learning. */
static void test_learns_spirals(void)
{
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "spirals", 1), NN_OK);
    nn_model *m = make("2-64-64-3", 1);
    nn_train_config c = config(NN_OPT_ADAM, 0.01f, 60);
    CU_ASSERT_EQUAL_FATAL(nn_train(m, &train, NULL, &c, NULL), NN_OK);
    float loss, acc;
    CU_ASSERT_EQUAL(nn_evaluate(m, &test, 100, &loss, &acc), NN_OK);
    char msg[80];
    snprintf(msg, sizeof msg, "spirals test accuracy %.3f (want > 0.9)", acc);
    CU_assertImplementation(acc > 0.9f, __LINE__, msg, __FILE__, "", CU_FALSE);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

/* Every optimizer, at a learning rate suited to it, must cut the training
 * loss of blobs by half within 15 epochs. */
static void test_every_optimizer_learns(void)
{
    static const float lr[] = { 0.1f, 0.05f, 0.05f, 0.05f, 0.005f, 1.0f, 0.005f, 0.005f };
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "blobs", 2), NN_OK);
    for (int k = NN_OPT_SGD; k <= NN_OPT_ADAMW; k++) {
        nn_model *m = make("2-16-4", 3);
        nn_train_config c = config((nn_opt_kind)k, lr[k], 15);
        nn_epoch_stats h[15];
        CU_ASSERT_EQUAL_FATAL(nn_train(m, &train, NULL, &c, h), NN_OK);
        char msg[120];
        snprintf(msg, sizeof msg, "%s: loss %.4f -> %.4f, want at most half", nn_opt_name(k),
                 h[0].train_loss, h[14].train_loss);
        CU_assertImplementation(h[14].train_loss < 0.5f * h[0].train_loss, __LINE__, msg,
                                __FILE__, "", CU_FALSE);
        nn_model_free(m);
    }
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_nan_stops_with_message(void)
{
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "spirals", 1), NN_OK);
    nn_model *m = make("2-64-3", 1);
    nn_train_config c = config(NN_OPT_SGD, 1e30f, 3);
    CU_ASSERT_EQUAL(nn_train(m, &train, NULL, &c, NULL), NN_ERROR);
    const char *e = nn_last_error();
    CU_ASSERT(strstr(e, "NaN") != NULL || strstr(e, "infinite") != NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "epoch 1"));
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void run_history(nn_epoch_stats *h, uint64_t seed)
{
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "moons", 1), NN_OK);
    nn_model *m = make("2-16-2", seed);
    nn_train_config c = config(NN_OPT_ADAM, 0.01f, 4);
    c.seed = seed;
    CU_ASSERT_EQUAL(nn_train(m, &train, &test, &c, h), NN_OK);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_same_seed_same_run(void)
{
    nn_epoch_stats a[4], b[4], c[4];
    run_history(a, 7);
    run_history(b, 7);
    run_history(c, 8);
    for (int e = 0; e < 4; e++) {
        CU_ASSERT_EQUAL(memcmp(&a[e].train_loss, &b[e].train_loss, sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(&a[e].val_loss, &b[e].val_loss, sizeof(float)), 0);
    }
    CU_ASSERT(a[3].train_loss != c[3].train_loss);
}

static void test_csv_log(void)
{
    char dir[] = "/tmp/nnlab-train-XXXXXX", path[64], line[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/run.csv", dir);
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "xor", 1), NN_OK);
    nn_model *m = make("2-8-2", 1);
    nn_train_config c = config(NN_OPT_ADAM, 0.01f, 3);
    c.log_path = path;
    CU_ASSERT_EQUAL(nn_train(m, &train, &test, &c, NULL), NN_OK);
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int rows = 0, last_epoch = 0;
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    CU_ASSERT_STRING_EQUAL(line, "epoch,train_loss,train_acc,val_loss,val_acc,lr\n");
    while (fgets(line, sizeof line, f)) {
        rows++;
        CU_ASSERT_EQUAL(sscanf(line, "%d,", &last_epoch), 1);
    }
    fclose(f);
    CU_ASSERT_EQUAL(rows, 3);
    CU_ASSERT_EQUAL(last_epoch, 3);
    c.log_path = "/nonexistent-dir/run.csv";
    CU_ASSERT_EQUAL(nn_train(m, &train, NULL, &c, NULL), NN_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(nn_last_error(), "/nonexistent-dir/run.csv"));
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    remove(path);
    rmdir(dir);
}

/* Hand values: cosine over 10 epochs is lr0 at 0 and lr0/2 at 5; step
 * decay over 9 epochs multiplies by 0.1 every 3; warm-up over 4 steps
 * climbs lr0/4, lr0/2, 3lr0/4, lr0. */
static void test_schedules(void)
{
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_CONSTANT, 0.1f, 5, 10, 0, 1), 0.1, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_COSINE, 0.1f, 0, 10, 0, 1), 0.1, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_COSINE, 0.1f, 5, 10, 0, 1), 0.05, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_STEP, 1.0f, 2, 9, 0, 1), 1.0, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_STEP, 1.0f, 3, 9, 0, 1), 0.1, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_STEP, 1.0f, 7, 9, 0, 1), 0.01, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_EXPONENTIAL, 1.0f, 2, 9, 0, 1), 0.81, 1e-6);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_WARMUP, 1.0f, 0, 9, 0, 4), 0.25, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_WARMUP, 1.0f, 0, 9, 2, 4), 0.75, 1e-7);
    TU_ASSERT_NEAR(nn_schedule_lr(NN_SCHED_WARMUP, 1.0f, 1, 9, 9, 4), 1.0, 1e-7);
    CU_ASSERT_EQUAL(nn_schedule_from_name("cosine"), NN_SCHED_COSINE);
    CU_ASSERT_EQUAL(nn_schedule_from_name("linear"), -1);
    CU_ASSERT_EQUAL(nn_opt_from_name("adamw"), NN_OPT_ADAMW);
    CU_ASSERT_EQUAL(nn_opt_from_name("lion"), -1);
}

/* A model with zero weights gives equal logits: loss ln(classes) exactly,
 * and argmax (first on ties) predicts class 0 everywhere. */
static void test_evaluate_zero_model(void)
{
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "spirals", 1), NN_OK);
    nn_model *m = make("2-4-3", 1);
    for (int i = 0; i < m->n_params; i++)
        nn_tensor_zero(m->params[i].value);
    float loss, acc;
    CU_ASSERT_EQUAL(nn_evaluate(m, &test, 64, &loss, &acc), NN_OK);
    int zeros = 0;
    for (int i = 0; i < test.n; i++)
        zeros += test.labels[i] == 0;
    TU_ASSERT_NEAR(loss, log(3.0), 1e-6);
    TU_ASSERT_NEAR(acc, (double)zeros / test.n, 1e-6);
    int pred[500];
    CU_ASSERT_FATAL(test.n <= 500);
    CU_ASSERT_EQUAL(nn_predict(pred, NULL, m, &test, 64), NN_OK);
    CU_ASSERT_EQUAL(pred[0], 0);
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

static void test_shape_mismatch(void)
{
    nn_dataset train = { 0 }, test = { 0 };
    CU_ASSERT_EQUAL_FATAL(nn_load_dataset(&train, &test, "xor", 1), NN_OK);
    nn_model *m = make("3-2", 1);
    nn_train_config c = config(NN_OPT_SGD, 0.1f, 1);
    CU_ASSERT_EQUAL(nn_train(m, &train, NULL, &c, NULL), NN_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(nn_last_error(), "features"));
    nn_model_free(m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}

void suite_train(void)
{
    CU_pSuite s = CU_add_suite("train", NULL, NULL);
    CU_add_test(s, "learns spirals above 90%", test_learns_spirals);
    CU_add_test(s, "every optimizer halves the loss", test_every_optimizer_learns);
    CU_add_test(s, "NaN loss stops with a message", test_nan_stops_with_message);
    CU_add_test(s, "same seed, bit-identical run", test_same_seed_same_run);
    CU_add_test(s, "CSV log written per epoch", test_csv_log);
    CU_add_test(s, "learning-rate schedules", test_schedules);
    CU_add_test(s, "evaluate a zero model", test_evaluate_zero_model);
    CU_add_test(s, "data/model shape mismatch", test_shape_mismatch);
}
