/*
 * Hostile submissions, part 1: tests that die in the common ways. Each
 * must cost its own test only; the passing tests around them must pass.
 * The statuses expected are listed in grader/selftest/hostile.sh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_EQUAL(1 + 1, 2);
}

static void calls_exit_zero(void)
{
    exit(0); /* a student's exit(0) must not look like success */
}

static void calls_abort(void)
{
    abort();
}

static void loops_forever(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
}

/* Unbounded recursion the compiler cannot turn into a loop: each frame
 * keeps a buffer alive across the call. */
static int recurse(volatile char *previous, int depth)
{
    volatile char frame[1024];
    frame[0] = previous ? previous[0] : 0;
    if (depth < 0)
        return 0;
    return recurse(frame, depth + 1) + frame[1];
}

static void overflows_stack(void)
{
    CU_ASSERT(recurse(NULL, 0) != 12345);
}

/* 8 GB is past the 2 GB address-space limit: malloc returns NULL, and
 * the code uses it unchecked. */
static void huge_malloc_and_touch(void)
{
    size_t n = (size_t)8 << 30;
    char *volatile p = malloc(n); /* volatile: the compiler may not elide it */
    memset(p, 1, n);
    CU_ASSERT(p[n - 1] == 1);
    free(p);
}

/* Allocate 64 MB blocks until the address space runs out, then use the
 * NULL pointer malloc returned. */
static char *volatile sink;
static void runs_out_of_memory(void)
{
    for (;;) {
        char *p = malloc((size_t)64 << 20);
        p[0] = 1;
        sink = p;
    }
}

static void prints_100_mb(void)
{
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    for (int i = 0; i < 100 * 1024; i++)
        fputs(line, stdout);
    CU_PASS("printed");
}

static void divides_by_zero(void)
{
    volatile int zero = 0, quotient = 7 / zero;
    CU_ASSERT(quotient == 0);
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"exit zero", 1, 1.0, NULL, calls_exit_zero},
    {"abort", 1, 1.0, NULL, calls_abort},
    {"infinite loop", 1, 1.0, NULL, loops_forever},
    {"stack overflow", 1, 2.0, NULL, overflows_stack},
    {"huge malloc", 1, 2.0, NULL, huge_malloc_and_touch},
    {"out of memory", 1, 5.0, NULL, runs_out_of_memory},
    {"prints 100 MB", 1, 5.0, NULL, prints_100_mb},
    {"divides by zero", 1, 1.0, NULL, divides_by_zero},
    {"passes last", 2, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
