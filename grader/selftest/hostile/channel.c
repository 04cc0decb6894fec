/*
 * Hostile submissions, part 4: attacks on the report channel. Forged
 * "PASS" records written to stdout and to every descriptor from 3 to 1023
 * (the grader's own report pipe is among them), a megabyte of noise on
 * that pipe, and every descriptor closed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

/* Records in the grader's format with a made-up nonce and our own pid,
 * plus plain words, everywhere. */
static void forge_records(void)
{
    char rec[512];
    int n = snprintf(rec, sizeof rec,
                     "PASS\npassed\nGR1 %032d %ld 0 1 0 0\n0 \n0 \n0 \nEND %032d\nok\n", 0,
                     (long)getpid(), 0);
    fputs(rec, stdout);
    fflush(stdout);
    for (int fd = 3; fd < 1024; fd++)
        if (write(fd, rec, (size_t)n) < 0)
            continue;
}

static void forges_then_fails(void)
{
    forge_records();
    CU_FAIL("the real verdict: failed");
}

static void forges_then_exits(void)
{
    forge_records();
    _exit(0);
}

static void noise_on_every_fd(void)
{
    static char noise[65536];
    memset(noise, 'G', sizeof noise);
    for (int fd = 3; fd < 1024; fd++)
        for (int i = 0; i < 16; i++) /* 1 MB to each descriptor that is open */
            if (write(fd, noise, sizeof noise) < 0)
                break;
    CU_PASS("noise written");
}

static void closes_everything(void)
{
    CU_PASS("before closing");
    for (int fd = 0; fd < 65536; fd++)
        close(fd);
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"forged record then a failure", 1, 1.0, NULL, forges_then_fails},
    {"forged record then _exit(0)", 1, 1.0, NULL, forges_then_exits},
    {"1 MB of noise on the channel", 1, 2.0, NULL, noise_on_every_fd},
    {"closes every fd", 1, 1.0, NULL, closes_everything},
    {"passes last", 1, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
