/*
 * Lab 8 (kernels.cu) — hidden tests: the edges the public tests leave out.
 *
 *   - sizes of 0 and 1: a launcher must launch nothing for 0 (a grid of 0
 *     blocks is an invalid launch), and the sum of nothing is 0;
 *   - k = 0 (C = 0), one-row and one-column products, tall and wide ones;
 *   - a sum of ones whose exact value is known: every partial sum is an
 *     integer below 2²⁴, exact in float in any order, so no tolerance;
 *   - rows wider than a block of threads, one-column rows (softmax 1);
 *   - im2col with a 1×1 kernel, a stride larger than the kernel, and a
 *     kernel larger than the image (no window fits: nothing to write).
 *
 * The helpers (fresh inputs, guard zones, CUDA checks, the double-precision
 * expected values) are the public tests' (grader/labs/lab08.c).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "grader.h"

#ifdef NNLAB_HAVE_CUDA
#include <cuda_runtime_api.h>
#include "kernels.h"
#endif

void lab8_need_gpu(void);
void lab8_fail(int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifndef NNLAB_HAVE_CUDA

static void test_zero_sizes(void) { lab8_need_gpu(); }
static void test_matmul_edges(void) { lab8_need_gpu(); }
static void test_sum_exact(void) { lab8_need_gpu(); }
static void test_softmax_edges(void) { lab8_need_gpu(); }
static void test_im2col_edges(void) { lab8_need_gpu(); }

#else

typedef void (*matmul_fn)(float *, const float *, const float *, int, int, int);
float *lab8_upload(const float *host, size_t n);
float *lab8_output(size_t n);
int lab8_download(float *host, const float *dev, size_t n);
int lab8_guard_ok(const float *dev, size_t n, const char *what);
int lab8_ran(const char *call);
void lab8_free(void *dev);
int lab8_matmul_case(matmul_fn fn, const char *name, int m, int n, int k);
int lab8_softmax_case(int rows, int cols, float lo, float hi);
int lab8_sum_case(int n, float lo, float hi);
int lab8_im2col_case(int c, int h, int w, int kh, int kw, int s, int p);

/* Size 0: nothing launched, nothing written (the guard zone starts at 0). */
static void test_zero_sizes(void)
{
    lab8_need_gpu();
    float one = 1.0f;
    float *a = lab8_upload(&one, 1), *out = lab8_output(0), *sum = lab8_output(1);
    if (!a || !out || !sum)
        goto done;
    nn_cuda_vec_add(out, a, a, 0);
    if (!lab8_ran("nn_cuda_vec_add with n = 0") || !lab8_guard_ok(out, 0, "nn_cuda_vec_add, n = 0"))
        goto done;
    nn_cuda_relu_forward(out, a, 0);
    if (!lab8_ran("nn_cuda_relu_forward with n = 0") ||
        !lab8_guard_ok(out, 0, "nn_cuda_relu_forward, n = 0"))
        goto done;
    nn_cuda_relu_backward(out, a, a, 0);
    if (!lab8_ran("nn_cuda_relu_backward with n = 0") ||
        !lab8_guard_ok(out, 0, "nn_cuda_relu_backward, n = 0"))
        goto done;
    nn_cuda_matmul_naive(out, a, a, 0, 0, 5);
    nn_cuda_matmul_tiled(out, a, a, 0, 3, 5);
    if (!lab8_ran("a matmul with m = 0") || !lab8_guard_ok(out, 0, "a matmul with m = 0"))
        goto done;
    nn_cuda_softmax_rows(out, a, 0, 10);
    if (!lab8_ran("nn_cuda_softmax_rows with 0 rows") ||
        !lab8_guard_ok(out, 0, "nn_cuda_softmax_rows, 0 rows"))
        goto done;
    float got = NAN;
    nn_cuda_sum(sum, a, 0);
    if (lab8_ran("nn_cuda_sum with n = 0") && lab8_download(&got, sum, 1) && got != 0.0f) {
        gr_hint("the sum of no numbers is 0: out is set to 0 even when there is nothing to add");
        lab8_fail(__LINE__, "nn_cuda_sum with n = 0 gave %g, expected 0", (double)got);
    }
done:
    lab8_free(a), lab8_free(out), lab8_free(sum);
}

static void test_matmul_edges(void)
{
    lab8_need_gpu();
    static const int shapes[][3] = {{3, 4, 0}, {1, 1, 1000}, {1, 700, 5}, {700, 1, 5},
                                    {31, 33, 1}, {300, 2, 300}};
    static const matmul_fn fns[2] = {nn_cuda_matmul_naive, nn_cuda_matmul_tiled};
    static const char *const names[2] = {"nn_cuda_matmul_naive", "nn_cuda_matmul_tiled"};
    for (int f = 0; f < 2; f++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            if (!lab8_matmul_case(fns[f], names[f], shapes[s][0], shapes[s][1], shapes[s][2]))
                break;
}

/* Σ of n ones is n exactly: every partial sum is an integer < 2²⁴. */
static void test_sum_exact(void)
{
    lab8_need_gpu();
    const int n = 10000001;
    float *ones = malloc((size_t)n * sizeof *ones), got = NAN;
    for (int i = 0; ones && i < n; i++)
        ones[i] = 1.0f;
    float *d = ones ? lab8_upload(ones, n) : NULL, *out = lab8_output(1);
    if (d && out) {
        nn_cuda_sum(out, d, n);
        if (lab8_ran("nn_cuda_sum") && lab8_download(&got, out, 1) && got != (float)n)
            lab8_fail(__LINE__, "the sum of %d ones is %.9g, expected exactly %d", n, (double)got,
                      n);
        /* Twice in a row: out must start again from 0. */
        nn_cuda_sum(out, d, n);
        if (lab8_ran("nn_cuda_sum") && lab8_download(&got, out, 1) && got != (float)n) {
            gr_hint("a second call must not add to the first one's result: zero out first");
            lab8_fail(__LINE__, "a second sum of %d ones gave %.9g", n, (double)got);
        }
    }
    lab8_free(d), lab8_free(out);
    free(ones);
}

static void test_softmax_edges(void)
{
    lab8_need_gpu();
    if (lab8_softmax_case(4, 1, -3, 3) &&  /* one column: every output is 1 */
        lab8_softmax_case(1, 10000, -8, 8)) /* far wider than a block */
        lab8_softmax_case(300, 3, -2, 2);
}

static void test_im2col_edges(void)
{
    lab8_need_gpu();
    if (lab8_im2col_case(4, 6, 7, 1, 1, 1, 0) && /* 1×1 kernel: a reshape */
        lab8_im2col_case(2, 9, 8, 2, 2, 3, 0) &&   /* stride beyond the kernel */
        lab8_im2col_case(1, 3, 3, 5, 5, 1, 2))     /* padding all round */
        lab8_im2col_case(1, 2, 2, 5, 5, 1, 0);     /* no window fits: nothing to write */
}

#endif /* NNLAB_HAVE_CUDA */

const gr_test gr_hidden_tests[] = {
    {"size 0 launches nothing", 2, 30.0,
     "nn_cuda_vec_add,vec_add_kernel,nn_cuda_relu_forward,relu_forward_kernel,"
     "nn_cuda_relu_backward,relu_backward_kernel,nn_cuda_matmul_naive,matmul_naive_kernel,"
     "nn_cuda_matmul_tiled,matmul_tiled_kernel,nn_cuda_softmax_rows,softmax_rows_kernel,"
     "nn_cuda_sum,sum_kernel",
     test_zero_sizes},
    {"matmul: k = 0, single rows and columns", 2, 30.0,
     "nn_cuda_matmul_naive,matmul_naive_kernel,nn_cuda_matmul_tiled,matmul_tiled_kernel",
     test_matmul_edges},
    {"sum of ten million ones is exact", 1, 30.0, "nn_cuda_sum,sum_kernel", test_sum_exact},
    {"softmax: one column, very wide rows", 1, 30.0, "nn_cuda_softmax_rows,softmax_rows_kernel",
     test_softmax_edges},
    {"bonus: im2col edge shapes", 1, 30.0, "nn_cuda_im2col,im2col_kernel", test_im2col_edges},
    {NULL, 0, 0, NULL, NULL}
};
