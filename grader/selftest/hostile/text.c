/*
 * Hostile submissions, part 6: what the reports must survive and say.
 * Names and output with quotes, markup, tabs, control characters, NUL
 * bytes and invalid UTF-8 (results.json must stay valid JSON); the
 * messages of the grader.h checks and hints; gr_skip(); the file-size
 * limit; a table entry without a function; a hidden table.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

static void prints_binary_junk(void)
{
    static const char junk[] = "bad utf-8: \xff\xfe\xc3( \xed\xa0\x80 nul:\0: esc:\x1b[31m bell:\a "
                               "quote:\" backslash:\\ </pre><script>alert(1)</script>\n";
    fwrite(junk, 1, sizeof junk - 1, stdout);
    fprintf(stderr, "to stderr: \"%s\" & <b>\n", "quoted");
    CU_PASS("printed");
}

static void fails_with_quotes(void)
{
    CU_FAIL("a \"quoted\" <message> & a\ttab");
}

static void close_check_fails(void)
{
    float want[4] = {0.1f, 0.2f, 0.3f, 0.7310586f}, out[4] = {0.1f, 0.2f, 0.3f, 0.5f};
    gr_hint("did you forget the bias?");
    GR_ASSERT_CLOSE(out, want, 4, 1e-5);
}

static void near_check_nan(void)
{
    float x[2];
    gr_poison(x, 2);
    GR_ASSERT_NEAR(x[1], 0.25, 1e-6);
}

static void checks_pass(void)
{
    float a[3] = {1, 2, 3}, b[3] = {1, 2, 3.00001f}, nan[1] = {NAN};
    GR_ASSERT_CLOSE(a, b, 3, 1e-5);
    GR_ASSERT_NEAR(a[0], 1.0000001, 1e-6);
    CU_ASSERT(gr_rel_err(a, b, 3) < 1e-5);
    CU_ASSERT(isinf(gr_rel_err(a, nan, 1)));
    CU_ASSERT(gr_rel_err(a, a, 0) == 0.0);
}

static void skips(void)
{
    gr_skip("no CUDA device on this machine");
    CU_FAIL("not reached");
}

/* Writes a CSV log where the plots look for it, then a 20 MB file. */
static void writes_big_file(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data/hostile.csv", gr_out_dir());
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("epoch,loss\n1,0.5\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/data/big.bin", gr_out_dir());
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char block[1 << 20];
    for (int i = 0; i < 20; i++)
        fwrite(block, 1, sizeof block, f);
    fclose(f);
}

static void writes_csv(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data/hostile.csv", gr_out_dir());
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(fputs("epoch,loss\n1,0.5\n", f) >= 0);
    CU_ASSERT(fclose(f) == 0);
}

const gr_test gr_public_tests[] = {
    {"passes first", 1, 1.0, NULL, passes},
    {"prints \"junk\" <b>&amp;</b>\tand\na newline", 1, 1.0, NULL, prints_binary_junk},
    {"fails with quotes", 1, 1.0, NULL, fails_with_quotes},
    {"close check fails", 1, 1.0, NULL, close_check_fails},
    {"near check NaN", 1, 1.0, NULL, near_check_nan},
    {"checks pass", 1, 1.0, NULL, checks_pass},
    {"skips", 5, 1.0, NULL, skips},
    {"writes a 20 MB file", 1, 2.0, NULL, writes_big_file},
    {"writes a csv", 1, 1.0, NULL, writes_csv},
    {"no function", 1, 1.0, NULL, NULL},
    {NULL, 0, 0, NULL, NULL},
};

const gr_test gr_hidden_tests[] = {
    {"hidden passes", 3, 1.0, NULL, passes},
    {NULL, 0, 0, NULL, NULL},
};
