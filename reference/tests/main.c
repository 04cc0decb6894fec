/*
 * The reference library's CUnit test program.
 *
 * Each test_<name>.c registers one suite through suite_<name>(). The run
 * ends with the line "N passed, N failed" counted in tests (not asserts),
 * which `make test` adds up across all its stages.
 *
 * Usage: nnlab-tests [SUITE...]   (no argument: every suite)
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include "nnlab/blas.h"

#define SUITES(X) \
    X(core) X(data) X(checkpoint) X(neuron) X(activations) X(forward) \
    X(backprop) X(optimizers) X(dropout) X(batchnorm) X(conv) X(pool) X(pictures) X(model) X(train)

#define DECLARE(name) void suite_##name(void) __attribute__((weak));
SUITES(DECLARE)

struct entry { const char *name; void (*add)(void); };
#define ENTRY(name) { #name, suite_##name },
static const struct entry suites[] = { SUITES(ENTRY) };

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    nn_blas_set_threads(1);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].add && wanted(suites[i].name, argc, argv))
            suites[i].add();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    CU_RunSummary *s = CU_get_run_summary();
    unsigned run = s->nTestsRun, failed = s->nTestsFailed;
    CU_cleanup_registry();
    printf("%u passed, %u failed\n", run - failed, failed);
    return failed ? 1 : 0;
}
