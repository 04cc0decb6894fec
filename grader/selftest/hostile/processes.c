/*
 * Hostile submissions, part 2: processes and CPU. A fork bomb, children
 * left sleeping past the limit, a daemon that leaves the test's process
 * group, and threads that burn CPU faster than the wall clock runs. The
 * hostile script checks afterwards that no process named "grhostile" is
 * left on the machine.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

static void fork_bomb(void)
{
    prctl(PR_SET_NAME, "grhostile");
    for (;;)
        fork();
}

/* Children that outlive the limit, the parent sleeping past it too. */
static void sleeps_with_children(void)
{
    for (int i = 0; i < 3; i++)
        if (fork() == 0) {
            prctl(PR_SET_NAME, "grhostile");
            for (;;)
                sleep(100);
        }
    sleep(100);
}

/* A daemon: a new session (out of the test's process group), holding the
 * output pipe open; the test itself passes at once. The grader must not
 * wait for the pipe to close, and must still kill the daemon. */
static void leaves_a_daemon(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        if (fork() == 0) {
            prctl(PR_SET_NAME, "grhostile");
            for (;;)
                sleep(100);
        }
        _exit(0);
    }
    CU_ASSERT(pid > 0);
}

static void *spin(void *arg)
{
    for (volatile unsigned long i = 0;; i++)
        ;
    return arg;
}

/* Four threads: CPU time runs out before the (longer) wall-clock limit
 * on a machine with two idle cores or more; else the wall clock wins. */
static void burns_cpu_in_threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spin, NULL);
    spin(NULL);
}

/* The CPU limit the grader gave is ceil(limit) + 1 s, after the wall
 * clock, for a single thread. Lowered to 1 s here, SIGXCPU comes first on
 * any machine: this checks the grader's verdict for it. */
static void lowers_its_cpu_limit(void)
{
    struct rlimit rl = {1, 2};
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_CPU, &rl), 0);
    spin(NULL);
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"fork bomb", 1, 1.0, NULL, fork_bomb},
    {"sleeps with children", 1, 1.0, NULL, sleeps_with_children},
    {"leaves a daemon", 1, 1.0, NULL, leaves_a_daemon},
    {"burns cpu in threads", 1, 3.0, NULL, burns_cpu_in_threads},
    {"lowers its cpu limit", 1, 3.0, NULL, lowers_its_cpu_limit},
    {"passes last", 1, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
