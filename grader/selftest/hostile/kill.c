/*
 * Hostile submissions, part 5: a test that kills the grader.
 *
 * As root the grader runs tests as user nobody, who may not signal it:
 * kill() fails with EPERM and the test just fails. Run by an ordinary
 * user there is no other user to switch to, so the kill succeeds and the
 * grader dies; results.json, rewritten after every test, still holds the
 * tests before and shows this one and the rest as not run. hostile.sh
 * checks both (the second with setpriv, when it runs as root).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

static void kills_the_grader(void)
{
    CU_ASSERT_EQUAL(kill(getppid(), SIGKILL), 0);
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"kills the grader", 1, 1.0, NULL, kills_the_grader},
    {"passes last", 1, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
