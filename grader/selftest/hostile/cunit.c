/*
 * Hostile submissions, part 3: student code calling CUnit itself. None of
 * it may turn a failure into a pass, or break the tests after it.
 * (CUnit 2.1-3 assert()s that no test is running in CU_cleanup_registry,
 * so the first two abort; a CUnit built with NDEBUG would go on, and the
 * runner's checks of the registry catch it then.)
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

static void cleans_up_registry(void)
{
    CU_FAIL("a real failure before the cleanup");
    CU_cleanup_registry();
}

static void cleans_up_then_exits(void)
{
    CU_cleanup_registry();
    exit(0);
}

static void asserts_true_then_exits(void)
{
    for (int i = 0; i < 100000; i++)
        CU_assertImplementation(CU_TRUE, 1, "fake", "fake.c", "", CU_FALSE);
    exit(0);
}

static void pass_spam_then_failure(void)
{
    for (int i = 0; i < 100000; i++)
        CU_PASS("fake");
    CU_FAIL("the real failure");
}

static void clears_results(void)
{
    CU_FAIL("a failure the code then tries to hide");
    CU_clear_previous_results();
}

static void initializes_registry(void)
{
    CU_FAIL("a failure before a new registry");
    CU_initialize_registry();
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"CU_cleanup_registry", 1, 1.0, NULL, cleans_up_registry},
    {"CU_cleanup_registry then exit", 1, 1.0, NULL, cleans_up_then_exits},
    {"CU_TRUE spam then exit", 1, 1.0, NULL, asserts_true_then_exits},
    {"CU_PASS spam then a failure", 1, 1.0, NULL, pass_spam_then_failure},
    {"CU_clear_previous_results", 1, 1.0, NULL, clears_results},
    {"CU_initialize_registry", 1, 1.0, NULL, initializes_registry},
    {"passes last", 1, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
