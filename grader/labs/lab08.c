/*
 * Lab 8 (kernels.cu) — public tests.
 *
 * Every kernel runs on the GPU and is compared with the same computation
 * written out below on the CPU, in double: c = a + b, C = A·B, max(x, 0),
 * the row softmax with its maximum subtracted, the sum, im2col's index
 * formula. None of the numbers was captured from the reference.
 *
 * Each call gets fresh random inputs (the seed is printed with every
 * failure), sizes that are not multiples of any block or tile, and an
 * output poisoned with NaN; behind every output buffer lies a guard zone of
 * 65536 floats holding a marker, which must be intact afterwards (a kernel
 * without its bounds test writes there). A refused launch or a fault inside
 * a kernel fails the test with CUDA's message.
 *
 * Tolerances (stated with each check):
 *   exact       vector add (one float rounding both ways), ReLU, im2col (copies);
 *   matmul      |got − want| <= 2k·u · Σ_p |a_ip·b_pj|, u = 2⁻²⁴: twice the
 *               worst-case error of any order of float summation, relative
 *               to the size of the terms (the result itself may be near 0);
 *   softmax     relative 1e-5 (gr_rel_err);
 *   sum         |got − want| <= 2n·u · Σ|x_i|, the same bound.
 *
 * Performance is measured on the machine that grades, against the same
 * machine: the tiled product must beat the naive one (NAIVE_SPEEDUP); the
 * report test writes every kernel's GFLOP/s or GB/s, and its share of
 * cuBLAS or of the device's copy bandwidth, to data/lab08-perf.csv
 * (plotted by grader/plots/lab08.sh). When compute-sanitizer is installed,
 * memcheck and racecheck run the kernels (a workload this file runs when
 * started with NNLAB_LAB08_WORKLOAD=1) and any finding fails.
 *
 * Without a CUDA device, or without the CUDA toolkit when the grader was
 * built, every test is skipped with the reason: never passed, never failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "grader.h"
#include "nnlab/error.h"
#include "nnlab/rng.h"

#ifdef NNLAB_HAVE_CUDA
#include <cuda_runtime_api.h>
#include "gpu.h"
#include "kernels.h"
#endif

/* The tiled product must be this many times faster than the naive one at
 * 1024×1024×1024 (measured against the reference's naive kernel, so that
 * a slow naive kernel of yours cannot make it easy). */
#define NAIVE_SPEEDUP 1.3

/* CUDA reserves far more address space than it uses (tens of GB for its
 * unified addressing), so it cannot start under the runner's RLIMIT_AS:
 * this symbol asks the runner to bound the test's data (RLIMIT_DATA), as
 * it does under AddressSanitizer, instead of its address space. */
const int gr_unlimited_address_space = 1;

/* Helpers shared with the hidden tests (grader/hidden/lab08.c). */
void lab8_need_gpu(void);
void lab8_fail(int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void lab8_fail(int line, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
}

#ifndef NNLAB_HAVE_CUDA

void lab8_need_gpu(void)
{
    gr_skip("no CUDA device: the CUDA toolkit (nvcc) was not found when the grader was built, "
            "so lab 8 is neither compiled nor run on this machine");
}

#define SKIPPED(name) \
    static void name(void) { lab8_need_gpu(); }
SKIPPED(test_vec_add)
SKIPPED(test_matmul_naive)
SKIPPED(test_matmul_tiled)
SKIPPED(test_relu_forward)
SKIPPED(test_relu_backward)
SKIPPED(test_softmax)
SKIPPED(test_softmax_large)
SKIPPED(test_sum)
SKIPPED(test_im2col)
SKIPPED(test_speedup)
SKIPPED(test_perf_report)
SKIPPED(test_memcheck)
SKIPPED(test_racecheck)

#else /* NNLAB_HAVE_CUDA */

/* ------------------------------------------------------------ the device */

void lab8_need_gpu(void)
{
    char why[512];
    if (!nn_gpu_probe(why, sizeof why))
        gr_skip("no CUDA device: %s", why);
}

/* ------------------------------------------------------------ random inputs */

uint64_t lab8_seed;
static nn_rng lab8_rng;

/* A fresh seed per test: the clock's nanoseconds and the process id. */
void lab8_reseed(void);
void lab8_reseed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lab8_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    nn_rng_seed(&lab8_rng, lab8_seed);
}

void lab8_random(float *x, size_t n, float lo, float hi);
void lab8_random(float *x, size_t n, float lo, float hi)
{
    if (!lab8_seed)
        lab8_reseed();
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(&lab8_rng);
}

/* ------------------------------------------------------------ device buffers */

/* Behind every buffer: GUARD floats holding MARK (a NaN with a payload no
 * kernel computes). */
#define GUARD 65536
static const uint32_t MARK = 0x7fa5a5a5u;

float *lab8_alloc(size_t n);
float *lab8_upload(const float *host, size_t n);
float *lab8_output(size_t n);
int lab8_download(float *host, const float *dev, size_t n);
int lab8_guard_ok(const float *dev, size_t n, const char *what);
int lab8_ran(const char *call);
void lab8_free(void *dev);

/* n floats and a marked guard zone on the device; NULL (and a failed
 * check) when that cannot be had. */
float *lab8_alloc(size_t n)
{
    float *d = NULL;
    uint32_t *mark = malloc(GUARD * sizeof *mark);
    cudaError_t e = cudaMalloc((void **)&d, (n + GUARD) * sizeof(float));
    if (e == cudaSuccess && mark) {
        for (int i = 0; i < GUARD; i++)
            mark[i] = MARK;
        e = cudaMemcpy(d + n, mark, GUARD * sizeof *mark, cudaMemcpyHostToDevice);
    }
    free(mark);
    if (e != cudaSuccess || !d) {
        lab8_fail(__LINE__, "the grader could not allocate %zu floats on the GPU: %s", n,
                  cudaGetErrorString(e));
        cudaFree(d);
        return NULL;
    }
    return d;
}

float *lab8_upload(const float *host, size_t n)
{
    float *d = lab8_alloc(n);
    if (d && n && cudaMemcpy(d, host, n * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
        lab8_fail(__LINE__, "the grader could not copy to the GPU: %s",
                  cudaGetErrorString(cudaGetLastError()));
        cudaFree(d);
        return NULL;
    }
    return d;
}

/* An output buffer: n NaNs (poison) and the guard zone. */
float *lab8_output(size_t n)
{
    float *nan = malloc((n ? n : 1) * sizeof *nan);
    float *d = NULL;
    if (nan) {
        for (size_t i = 0; i < n; i++)
            nan[i] = NAN;
        d = lab8_upload(nan, n);
    }
    free(nan);
    return d;
}

int lab8_download(float *host, const float *dev, size_t n)
{
    cudaError_t e = n ? cudaMemcpy(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost)
                      : cudaSuccess;
    if (e != cudaSuccess)
        lab8_fail(__LINE__, "copying the result back failed: %s (%s)", cudaGetErrorString(e),
                  cudaGetErrorName(e));
    return e == cudaSuccess;
}

/* The guard zone behind an output of n floats is untouched. */
int lab8_guard_ok(const float *dev, size_t n, const char *what)
{
    uint32_t *mark = malloc(GUARD * sizeof *mark);
    int ok = mark && cudaMemcpy(mark, dev + n, GUARD * sizeof *mark, cudaMemcpyDeviceToHost) ==
                         cudaSuccess;
    for (int i = 0; ok && i < GUARD; i++)
        if (mark[i] != MARK) {
            gr_hint("a thread past the end of the data wrote anyway: every thread of the last "
                    "block runs, so test the index first (if (i < n) ...; for a matrix, "
                    "row < m && col < n)");
            lab8_fail(__LINE__, "%s: wrote past the end of the output (element %zu of %zu was "
                                "overwritten)", what, n + (size_t)i, n);
            ok = 0;
            break;
        }
    free(mark);
    return ok;
}

/* After a call of yours: the launch was accepted and the kernel ran
 * without a fault. */
int lab8_ran(const char *call)
{
    cudaError_t e = cudaGetLastError();
    const char *when = "launching";
    if (e == cudaSuccess) {
        e = cudaDeviceSynchronize();
        when = "running";
    }
    if (e == cudaSuccess)
        return 1;
    if (e == cudaErrorInvalidConfiguration)
        gr_hint("the launch was refused: a grid of 0 blocks (return early when there is "
                "nothing to do), more than 1024 threads in a block, or a grid dimension too "
                "large");
    else if (e == cudaErrorIllegalAddress)
        gr_hint("a thread read or wrote outside its buffers: check each index against its "
                "bound before using it, and the row-major index row * columns + col");
    lab8_fail(__LINE__, "%s: CUDA error while %s your kernel: %s (%s)", call, when,
              cudaGetErrorString(e), cudaGetErrorName(e));
    return 0;
}

void lab8_free(void *dev)
{
    cudaFree(dev);
}

/* ------------------------------------------------------------ vector add */

static void check_vec_add(int n)
{
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *got = malloc(n * sizeof *got);
    float *want = malloc(n * sizeof *want);
    lab8_random(a, n, -10, 10);
    lab8_random(b, n, -10, 10);
    for (int i = 0; i < n; i++)
        want[i] = (float)((double)a[i] + b[i]); /* float + float is exact in double */
    float *da = lab8_upload(a, n), *db = lab8_upload(b, n), *dc = lab8_output(n);
    if (da && db && dc) {
        nn_cuda_vec_add(dc, da, db, n);
        if (lab8_ran("nn_cuda_vec_add") && lab8_download(got, dc, n)) {
            char what[64];
            snprintf(what, sizeof what, "nn_cuda_vec_add, n = %d (seed %llu)", n,
                     (unsigned long long)lab8_seed);
            if (isnan(got[n - 1]))
                gr_hint("the last elements were never written: launch ⌈n / threads⌉ blocks, "
                        "(n + threads − 1) / threads, not n / threads");
            gr_assert_close(got, want, n, 1e-7, what, __FILE__, __LINE__);
            lab8_guard_ok(dc, n, what);
        }
    }
    lab8_free(da), lab8_free(db), lab8_free(dc);
    free(a), free(b), free(got), free(want);
}

static void test_vec_add(void)
{
    lab8_need_gpu();
    const int sizes[] = {1, 255, 256, 257, 100003};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_vec_add(sizes[i]);
}

/* ------------------------------------------------------------ matrix product */

/* Compare C [m, n] with A·B computed in double; tolerance 2k·u·Σ|a·b|.
 * Returns 1 when it matches. Shared with the hidden tests. */
int lab8_check_matmul(const float *got, const float *a, const float *b, int m, int n, int k,
                      const char *what);
int lab8_check_matmul(const float *got, const float *a, const float *b, int m, int n, int k,
                      const char *what)
{
    const double u = 1.0 / 16777216.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                double t = (double)a[(size_t)i * k + p] * b[(size_t)p * n + j];
                s += t;
                mag += fabs(t);
            }
            double g = got[(size_t)i * n + j], tol = 2.0 * (k > 0 ? k : 1) * u * mag;
            if (!(fabs(g - s) <= tol)) { /* NaN fails */
                if (isnan(g))
                    gr_hint("C[%d, %d] was never written: the grid must cover every row and "
                            "column ((n + 15) / 16 blocks across, (m + 15) / 16 down), with x "
                            "along the columns", i, j);
                lab8_fail(__LINE__, "%s: C[%d, %d] is %.8g, expected %.8g (tolerance %.2g; "
                                    "seed %llu)",
                          what, i, j, g, s, tol, (unsigned long long)lab8_seed);
                return 0;
            }
        }
    return 1;
}

typedef void (*matmul_fn)(float *, const float *, const float *, int, int, int);

/* Run one product of yours on fresh inputs; 1 when right. */
int lab8_matmul_case(matmul_fn fn, const char *name, int m, int n, int k);
int lab8_matmul_case(matmul_fn fn, const char *name, int m, int n, int k)
{
    size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
    float *a = malloc((na ? na : 1) * sizeof *a), *b = malloc((nb ? nb : 1) * sizeof *b);
    float *got = malloc((nc ? nc : 1) * sizeof *got);
    int ok = 0;
    lab8_random(a, na, -1, 1);
    lab8_random(b, nb, -1, 1);
    float *da = lab8_upload(a, na), *db = lab8_upload(b, nb), *dc = lab8_output(nc);
    if (da && db && dc) {
        char what[96];
        snprintf(what, sizeof what, "%s with m = %d, n = %d, k = %d", name, m, n, k);
        fn(dc, da, db, m, n, k);
        ok = lab8_ran(name) && lab8_download(got, dc, nc) &&
             lab8_check_matmul(got, a, b, m, n, k, what) && lab8_guard_ok(dc, nc, what);
    }
    lab8_free(da), lab8_free(db), lab8_free(dc);
    free(a), free(b), free(got);
    return ok;
}

static const int matmul_shapes[][3] = {
    {1, 1, 1}, {17, 33, 45}, {100, 257, 64}, {129, 31, 300}, {64, 64, 64}, {250, 190, 1000},
};

static void test_matmul_naive(void)
{
    lab8_need_gpu();
    for (size_t s = 0; s < sizeof matmul_shapes / sizeof matmul_shapes[0]; s++)
        if (!lab8_matmul_case(nn_cuda_matmul_naive, "nn_cuda_matmul_naive", matmul_shapes[s][0],
                              matmul_shapes[s][1], matmul_shapes[s][2]))
            return;
}

static void test_matmul_tiled(void)
{
    lab8_need_gpu();
    for (size_t s = 0; s < sizeof matmul_shapes / sizeof matmul_shapes[0]; s++)
        if (!lab8_matmul_case(nn_cuda_matmul_tiled, "nn_cuda_matmul_tiled", matmul_shapes[s][0],
                              matmul_shapes[s][1], matmul_shapes[s][2])) {
            gr_hint("for tile t: as[ty][tx] = A[row][t + tx] and bs[ty][tx] = B[t + ty][col], "
                    "0 past the edges; __syncthreads() after the copy and again after the "
                    "products; every thread reaches both (no early return)");
            return;
        }
}

/* ------------------------------------------------------------ ReLU */

/* Inputs in [−1, 1] with every tenth one exactly 0 (the kink). */
static void relu_inputs(float *x, int n)
{
    lab8_random(x, n, -1, 1);
    for (int i = 0; i < n; i += 10)
        x[i] = 0.0f;
}

static void test_relu_forward(void)
{
    lab8_need_gpu();
    const int sizes[] = {1, 1000, 65537};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
        relu_inputs(x, n);
        for (int i = 0; i < n; i++)
            want[i] = x[i] > 0.0f ? x[i] : 0.0f;
        float *dx = lab8_upload(x, n), *dy = lab8_output(n);
        int ok = 0;
        if (dx && dy) {
            nn_cuda_relu_forward(dy, dx, n);
            if (lab8_ran("nn_cuda_relu_forward") && lab8_download(got, dy, n)) {
                char what[64];
                snprintf(what, sizeof what, "nn_cuda_relu_forward, n = %d", n);
                gr_assert_close(got, want, n, 0.0, what, __FILE__, __LINE__); /* exact */
                ok = lab8_guard_ok(dy, n, what);
            }
        }
        lab8_free(dx), lab8_free(dy);
        free(x), free(want), free(got);
        if (!ok)
            return;
    }
}

static void test_relu_backward(void)
{
    lab8_need_gpu();
    const int sizes[] = {1, 1000, 65537};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *d0 = malloc(n * sizeof *d0);
        float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
        relu_inputs(x, n);
        lab8_random(g, n, -1, 1);
        lab8_random(d0, n, -1, 1); /* what din held before: backward adds to it */
        for (int i = 0; i < n; i++)
            want[i] = (float)((double)d0[i] + (x[i] > 0.0f ? g[i] : 0.0));
        float *dx = lab8_upload(x, n), *dg = lab8_upload(g, n), *dd = lab8_upload(d0, n);
        int ok = 0;
        if (dx && dg && dd) {
            nn_cuda_relu_backward(dd, dg, dx, n);
            if (lab8_ran("nn_cuda_relu_backward") && lab8_download(got, dd, n)) {
                char what[64];
                snprintf(what, sizeof what, "nn_cuda_relu_backward, n = %d", n);
                int overwrote = 1, at_zero = 0;
                for (int i = 0; i < n; i++) {
                    overwrote &= got[i] == (x[i] > 0.0f ? g[i] : 0.0f);
                    at_zero |= x[i] == 0.0f && got[i] != d0[i];
                }
                if (overwrote)
                    gr_hint("din must ACCUMULATE: din[i] += ..., as every backward function "
                            "of the kit (the caller zeroes it when it needs to)");
                else if (at_zero)
                    gr_hint("at in = 0 the derivative is 0 (ReLU'(0) = 0, as in lab 2): "
                            "test in > 0, not in >= 0");
                gr_assert_close(got, want, n, 1e-7, what, __FILE__, __LINE__);
                ok = lab8_guard_ok(dd, n, what);
            }
        }
        lab8_free(dx), lab8_free(dg), lab8_free(dd);
        free(x), free(g), free(d0), free(want), free(got);
        if (!ok)
            return;
    }
}

/* ------------------------------------------------------------ row softmax */

/* Softmax of each row in double, the maximum subtracted. */
void lab8_softmax_want(float *want, const float *x, int rows, int cols);
void lab8_softmax_want(float *want, const float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * cols;
        double m = row[0], s = 0.0;
        for (int j = 1; j < cols; j++)
            m = fmax(m, row[j]);
        for (int j = 0; j < cols; j++)
            s += exp(row[j] - m);
        for (int j = 0; j < cols; j++)
            want[(size_t)r * cols + j] = (float)(exp(row[j] - m) / s);
    }
}

/* One softmax of yours on rows × cols inputs in [lo, hi]; 1 when right. */
int lab8_softmax_case(int rows, int cols, float lo, float hi);
int lab8_softmax_case(int rows, int cols, float lo, float hi)
{
    size_t n = (size_t)rows * cols;
    float *x = malloc((n ? n : 1) * sizeof *x), *want = malloc((n ? n : 1) * sizeof *want);
    float *got = malloc((n ? n : 1) * sizeof *got);
    int ok = 0;
    lab8_random(x, n, lo, hi);
    lab8_softmax_want(want, x, rows, cols);
    float *dx = lab8_upload(x, n), *dy = lab8_output(n);
    if (dx && dy) {
        nn_cuda_softmax_rows(dy, dx, rows, cols);
        if (lab8_ran("nn_cuda_softmax_rows") && lab8_download(got, dy, n)) {
            char what[96];
            snprintf(what, sizeof what, "nn_cuda_softmax_rows, %d x %d, logits in [%g, %g]", rows,
                     cols, (double)lo, (double)hi);
            int finite = 1;
            for (size_t i = 0; i < n; i++)
                finite &= isfinite(got[i]);
            if (!finite && hi > 80)
                gr_hint("e^x overflows a float past x = 88.7: subtract the row's maximum "
                        "before exponentiating (every exponent is then <= 0)");
            else if (!finite)
                gr_hint("some outputs were never written or are NaN: one block per row, and "
                        "every thread strides over the columns (j = tid, tid + blockDim.x, …)");
            double err = gr_rel_err(got, want, (int)n);
            ok = err <= 1e-5;
            gr_assert_close(got, want, (int)n, 1e-5, what, __FILE__, __LINE__);
            ok = ok && lab8_guard_ok(dy, n, what);
        }
    }
    lab8_free(dx), lab8_free(dy);
    free(x), free(want), free(got);
    return ok;
}

static void test_softmax(void)
{
    lab8_need_gpu();
    const int shapes[][2] = {{1, 1}, {3, 10}, {37, 10}, {5, 1000}, {2, 3001}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        if (!lab8_softmax_case(shapes[s][0], shapes[s][1], -5, 5))
            return;
}

static void test_softmax_large(void)
{
    lab8_need_gpu();
    if (lab8_softmax_case(7, 10, 900, 1000))
        lab8_softmax_case(3, 513, -1000, 1000);
}

/* ------------------------------------------------------------ sum */

/* Σ x in double, and the bound 2n·u·Σ|x|; 1 when got is within it. */
int lab8_check_sum(float got, const float *x, int n, const char *what);
int lab8_check_sum(float got, const float *x, int n, const char *what)
{
    double s = 0.0, mag = 0.0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        mag += fabs(x[i]);
    }
    double tol = 2.0 * (n > 0 ? n : 1) * (1.0 / 16777216.0) * mag;
    if (isnan(got))
        gr_hint("out starts with whatever it held: set it to 0 (cudaMemsetAsync(out, 0, "
                "sizeof(float))) before the blocks add into it");
    else if (mag == s && n > 1 && got < 0.9 * s)
        gr_hint("only part of the sum arrived: the grid-stride loop must cover all n, and "
                "each block must add its total to out with atomicAdd (a plain store keeps "
                "one block's share)");
    if (!(fabs(got - s) <= tol)) {
        lab8_fail(__LINE__, "%s: got %.9g, expected %.9g (tolerance %.2g; seed %llu)", what,
                  (double)got, s, tol, (unsigned long long)lab8_seed);
        return 0;
    }
    return 1;
}

int lab8_sum_case(int n, float lo, float hi);
int lab8_sum_case(int n, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x), got = NAN;
    int ok = 0;
    lab8_random(x, n, lo, hi);
    float *dx = lab8_upload(x, n), *dy = lab8_output(1);
    if (dx && dy) {
        nn_cuda_sum(dy, dx, n);
        char what[64];
        snprintf(what, sizeof what, "nn_cuda_sum, n = %d", n);
        ok = lab8_ran("nn_cuda_sum") && lab8_download(&got, dy, 1);
        ok = ok && lab8_check_sum(got, x, n, what) && lab8_guard_ok(dy, 1, what);
    }
    lab8_free(dx), lab8_free(dy);
    free(x);
    return ok;
}

static void test_sum(void)
{
    lab8_need_gpu();
    const int sizes[] = {1, 255, 256, 257, 100000, 1000003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        if (!lab8_sum_case(sizes[s], 0, 1))
            return;
    lab8_sum_case(4099, -1, 1); /* signs mixed */
}

/* ------------------------------------------------------------ bonus: im2col */

/* im2col by its definition (lab 7, conv.h), in the test's own loops. */
void lab8_im2col_want(float *col, const float *img, int c, int h, int w, int kh, int kw, int s,
                      int p, int oh, int ow);
void lab8_im2col_want(float *col, const float *img, int c, int h, int w, int kh, int kw, int s,
                      int p, int oh, int ow)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++) {
                        int iy = y * s - p + i, ix = x * s - p + j;
                        int row = (ch * kh + i) * kw + j;
                        col[(size_t)row * oh * ow + y * ow + x] =
                            iy >= 0 && iy < h && ix >= 0 && ix < w ? img[(ch * h + iy) * w + ix]
                                                                   : 0.0f;
                    }
}

int lab8_im2col_case(int c, int h, int w, int kh, int kw, int s, int p);
int lab8_im2col_case(int c, int h, int w, int kh, int kw, int s, int p)
{
    int oh = h + 2 * p < kh ? 0 : (h + 2 * p - kh) / s + 1;
    int ow = w + 2 * p < kw ? 0 : (w + 2 * p - kw) / s + 1;
    size_t nimg = (size_t)c * h * w, ncol = (size_t)c * kh * kw * oh * ow;
    float *img = malloc(nimg * sizeof *img), *want = malloc((ncol ? ncol : 1) * sizeof *want);
    float *got = malloc((ncol ? ncol : 1) * sizeof *got);
    int ok = 0;
    lab8_random(img, nimg, -1, 1);
    lab8_im2col_want(want, img, c, h, w, kh, kw, s, p, oh, ow);
    float *dimg = lab8_upload(img, nimg), *dcol = lab8_output(ncol);
    if (dimg && dcol) {
        nn_cuda_im2col(dcol, dimg, c, h, w, kh, kw, s, p);
        char what[128];
        snprintf(what, sizeof what, "nn_cuda_im2col, image %dx%dx%d, kernel %dx%d, stride %d, pad %d",
                 c, h, w, kh, kw, s, p);
        ok = lab8_ran("nn_cuda_im2col") && lab8_download(got, dcol, ncol);
        if (ok) {
            double err = gr_rel_err(got, want, (int)ncol);
            if (!(err == 0.0))
                gr_hint("row (ch·kh + i)·kw + j, column y·ow + x holds "
                        "img[ch][y·stride − pad + i][x·stride − pad + j], 0 outside the image");
            gr_assert_close(got, want, (int)ncol, 0.0, what, __FILE__, __LINE__);
            ok = err == 0.0 && lab8_guard_ok(dcol, ncol, what);
        }
    }
    lab8_free(dimg), lab8_free(dcol);
    free(img), free(want), free(got);
    return ok;
}

static void test_im2col(void)
{
    lab8_need_gpu();
    const int shapes[][7] = {
        {1, 5, 5, 3, 3, 1, 1}, {3, 7, 9, 3, 2, 2, 1}, {2, 6, 5, 2, 3, 3, 2}, {1, 28, 28, 5, 5, 1, 2},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *q = shapes[s];
        if (!lab8_im2col_case(q[0], q[1], q[2], q[3], q[4], q[5], q[6]))
            return;
    }
}

/* ------------------------------------------------------------ performance */

/* Milliseconds of one call, the median of 5 after a warm-up; < 0 on a CUDA
 * error (reported). */
typedef void (*timed_fn)(void *);

static double time_ms(timed_fn fn, void *arg, const char *what)
{
    cudaEvent_t start, stop;
    double t[5];
    if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
        lab8_fail(__LINE__, "cudaEventCreate failed");
        return -1;
    }
    int ok = 1;
    fn(arg); /* warm-up: first-launch costs, caches */
    ok = lab8_ran(what);
    for (int r = 0; r < 5 && ok; r++) {
        float ms = 0;
        cudaEventRecord(start, 0);
        fn(arg);
        cudaEventRecord(stop, 0);
        ok = lab8_ran(what) && cudaEventElapsedTime(&ms, start, stop) == cudaSuccess;
        t[r] = ms;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    if (!ok)
        return -1;
    for (int i = 1; i < 5; i++) /* insertion sort: the median is t[2] */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[2];
}

/* The operands of a timed call. */
typedef struct {
    float *c, *a, *b, *d;
    int m, n, k, rows, cols, ch, h, w;
    nn_gpu_context *ctx;
} perf_args;

static void run_naive(void *p) { perf_args *q = p; nn_cuda_matmul_naive(q->c, q->a, q->b, q->m, q->n, q->k); }
static void run_tiled(void *p) { perf_args *q = p; nn_cuda_matmul_tiled(q->c, q->a, q->b, q->m, q->n, q->k); }
static void run_ref_naive(void *p)
{
    perf_args *q = p;
    nn_gpu_sgemm(q->ctx, NN_SGEMM_COALESCED, 0, 0, q->m, q->n, q->k, 1.0f, q->a, q->k, 0, q->b,
                 q->n, 0, 0.0f, q->c, q->n, 0, 1);
}
static void run_cublas(void *p)
{
    perf_args *q = p;
    nn_gpu_sgemm(q->ctx, NN_SGEMM_CUBLAS, 0, 0, q->m, q->n, q->k, 1.0f, q->a, q->k, 0, q->b, q->n,
                 0, 0.0f, q->c, q->n, 0, 1);
}
static void run_vec_add(void *p) { perf_args *q = p; nn_cuda_vec_add(q->c, q->a, q->b, q->n); }
static void run_relu_fwd(void *p) { perf_args *q = p; nn_cuda_relu_forward(q->c, q->a, q->n); }
static void run_relu_bwd(void *p) { perf_args *q = p; nn_cuda_relu_backward(q->c, q->b, q->a, q->n); }
static void run_softmax(void *p) { perf_args *q = p; nn_cuda_softmax_rows(q->c, q->a, q->rows, q->cols); }
static void run_sum(void *p) { perf_args *q = p; nn_cuda_sum(q->d, q->a, q->n); }
static void run_im2col(void *p) { perf_args *q = p; nn_cuda_im2col(q->c, q->a, q->ch, q->h, q->w, 3, 3, 1, 1); }
static void run_copy(void *p)
{
    perf_args *q = p;
    cudaMemcpyAsync(q->c, q->a, (size_t)q->n * sizeof(float), cudaMemcpyDeviceToDevice, 0);
}

#define PERF_N (1 << 24)   /* elements of the memory-bound kernels' vectors (64 MB) */
#define PERF_MNK 1024      /* the products' m = n = k */

/* The operands: three vectors of PERF_N floats (also holding the products'
 * matrices), random; NULL with a failed check when memory is short. */
static int perf_open(perf_args *q)
{
    memset(q, 0, sizeof *q);
    float *h = malloc((size_t)PERF_N * sizeof *h);
    if (!h)
        return lab8_fail(__LINE__, "out of host memory"), 0;
    lab8_random(h, PERF_N, -1, 1);
    q->a = lab8_upload(h, PERF_N);
    q->b = lab8_upload(h, PERF_N);
    q->c = lab8_output(PERF_N);
    q->d = lab8_output(1);
    free(h);
    q->m = q->n = q->k = PERF_MNK;
    if (!(q->ctx = nn_gpu_open()))
        lab8_fail(__LINE__, "the grader could not open the GPU: %s", nn_last_error());
    return q->a && q->b && q->c && q->d && q->ctx;
}

static void perf_close(perf_args *q)
{
    lab8_free(q->a), lab8_free(q->b), lab8_free(q->c), lab8_free(q->d);
    nn_gpu_close(q->ctx);
}

static void test_speedup(void)
{
    lab8_need_gpu();
    perf_args q;
    if (!perf_open(&q)) {
        perf_close(&q);
        return;
    }
    double naive = time_ms(run_ref_naive, &q, "the reference naive matmul");
    double tiled = naive > 0 ? time_ms(run_tiled, &q, "nn_cuda_matmul_tiled") : -1;
    if (naive > 0 && tiled > 0) {
        double flops = 2.0 * PERF_MNK * PERF_MNK * PERF_MNK;
        printf("1024x1024x1024: naive (reference) %.3f ms = %.0f GFLOP/s; your tiled %.3f ms = "
               "%.0f GFLOP/s; %.2fx\n", naive, flops / naive * 1e-6, tiled, flops / tiled * 1e-6,
               naive / tiled);
        if (!(naive / tiled >= NAIVE_SPEEDUP)) {
            gr_hint("each thread should read its A row and B column from the shared tiles, "
                    "not from global memory; bs[p][tx] with tx along the warp is conflict-free");
            lab8_fail(__LINE__, "your tiled matmul took %.3f ms at 1024x1024x1024, the naive one "
                                "%.3f ms: %.2fx faster, at least %.1fx expected",
                      tiled, naive, naive / tiled, NAIVE_SPEEDUP);
        }
    }
    perf_close(&q);
}

/* One row of the report: printed, and appended to data/lab08-perf.csv. */
static void perf_row(FILE *csv, const char *kernel, const char *size, double ms, double amount,
                     const char *unit, double ceiling, const char *against)
{
    double rate = amount / ms * 1e-6; /* per millisecond → G per second */
    double share = ceiling > 0 ? 100.0 * rate / ceiling : NAN;
    printf("  %-22s %-18s %9.3f ms %10.1f %-7s %6.1f%% of %s\n", kernel, size, ms, rate, unit,
           share, against);
    if (csv)
        fprintf(csv, "%s,%s,%.6f,%.3f,%s,%.3f,%.2f,%s\n", kernel, size, ms, rate, unit, ceiling,
                share, against);
}

static FILE *open_csv(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data", gr_out_dir());
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return NULL;
    snprintf(path, sizeof path, "%s/data/%s", gr_out_dir(), name);
    return fopen(path, "w");
}

static void test_perf_report(void)
{
    lab8_need_gpu();
    perf_args q;
    if (!perf_open(&q)) {
        perf_close(&q);
        return;
    }
    double flops = 2.0 * PERF_MNK * PERF_MNK * PERF_MNK, vec = (double)PERF_N * 4;
    /* The ceilings: cuBLAS for the products, a device-to-device copy (read
     * + write) for the memory-bound kernels. */
    double t_blas = time_ms(run_cublas, &q, "cublasSgemm");
    q.n = PERF_N;
    double t_copy = time_ms(run_copy, &q, "cudaMemcpy device to device");
    if (t_blas <= 0 || t_copy <= 0) {
        perf_close(&q);
        return;
    }
    double blas = flops / t_blas * 1e-6, bw = 2 * vec / t_copy * 1e-6;
    FILE *csv = open_csv("lab08-perf.csv");
    if (csv)
        fprintf(csv, "kernel,size,ms,rate,unit,ceiling,percent,against\n");
    printf("ceilings: cuBLAS sgemm %.0f GFLOP/s, device copy %.0f GB/s\n", blas, bw);
    perf_row(csv, "cuBLAS sgemm", "1024^3", t_blas, flops, "GFLOP/s", blas, "cuBLAS");
    perf_row(csv, "copy (cudaMemcpy)", "2^24 floats", t_copy, 2 * vec, "GB/s", bw, "copy");
    struct {
        const char *name, *size, *unit;
        timed_fn fn;
        double amount;
    } rows[] = {
        {"matmul_naive", "1024^3", "GFLOP/s", run_naive, flops},
        {"matmul_tiled", "1024^3", "GFLOP/s", run_tiled, flops},
        {"vec_add", "2^24", "GB/s", run_vec_add, 3 * vec},       /* read a, b; write c */
        {"relu_forward", "2^24", "GB/s", run_relu_fwd, 2 * vec}, /* read in; write out */
        {"relu_backward", "2^24", "GB/s", run_relu_bwd, 4 * vec},/* read in, dout, din; write din */
        {"softmax_rows", "16384x1024", "GB/s", run_softmax, 2 * vec}, /* read, write */
        {"sum", "2^24", "GB/s", run_sum, vec},
        {"im2col", "64x128x128 3x3", "GB/s", run_im2col, 10.0 * 64 * 128 * 128 * 4}, /* read + 9 writes */
    };
    int ok = 1;
    q.rows = 16384, q.cols = 1024, q.ch = 64, q.h = 128, q.w = 128;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && ok; i++) {
        q.n = i < 2 ? PERF_MNK : PERF_N;
        double ms = time_ms(rows[i].fn, &q, rows[i].name);
        ok = ms > 0;
        if (ok)
            perf_row(csv, rows[i].name, rows[i].size, ms, rows[i].amount, rows[i].unit,
                     i < 2 ? blas : bw, i < 2 ? "cuBLAS" : "copy");
    }
    if (csv && fclose(csv) != 0)
        lab8_fail(__LINE__, "could not write data/lab08-perf.csv");
    perf_close(&q);
}

/* ------------------------------------------------------------ compute-sanitizer */

/* The workload the sanitizers watch: every kernel of yours once, on odd
 * sizes, in buffers of exactly the right size (memcheck flags any access
 * past them; racecheck any shared-memory race). It runs INSTEAD of the
 * grader when the test binary starts with NNLAB_LAB08_WORKLOAD=1. */
__attribute__((constructor)) static void sanitizer_workload(void)
{
    const char *w = getenv("NNLAB_LAB08_WORKLOAD");
    if (!w || strcmp(w, "1") != 0)
        return;
    enum { N = 1000, M = 37, NC = 16, K = 15, ROWS = 7, COLS = 129 };
    float *x = NULL, *y = NULL, *z = NULL, *a = NULL, *b = NULL, *c = NULL, *col = NULL;
    /* each buffer exactly as large as its call needs */
    cudaMalloc((void **)&x, N * sizeof(float));
    cudaMalloc((void **)&y, N * sizeof(float));
    cudaMalloc((void **)&z, N * sizeof(float));
    cudaMalloc((void **)&a, M * K * sizeof(float));
    cudaMalloc((void **)&b, K * NC * sizeof(float));
    cudaMalloc((void **)&c, M * NC * sizeof(float));
    cudaMalloc((void **)&col, 3 * 3 * 3 * 25 * sizeof(float));
    cudaMemset(x, 0, N * sizeof(float));
    cudaMemset(y, 0, N * sizeof(float));
    cudaMemset(a, 0, M * K * sizeof(float));
    cudaMemset(b, 0, K * NC * sizeof(float));
    nn_cuda_vec_add(z, x, y, N);
    nn_cuda_relu_forward(z, x, N);
    nn_cuda_relu_backward(z, y, x, N);
    nn_cuda_matmul_naive(c, a, b, M, NC, K);
    nn_cuda_matmul_tiled(c, a, b, M, NC, K);
    nn_cuda_softmax_rows(z, x, ROWS, COLS); /* 903 of the 1000 floats */
    nn_cuda_sum(z, x, N);
    nn_cuda_im2col(col, x, 3, 5, 5, 3, 3, 1, 1); /* 75 floats in, 27 × 25 out */
    cudaDeviceSynchronize();
    _exit(0);
}

/* compute-sanitizer's path: $CUDA_HOME/bin, /usr/local/cuda/bin, or PATH. */
static int find_sanitizer(char *path, size_t size)
{
    const char *home = getenv("CUDA_HOME");
    if (home && *home) {
        snprintf(path, size, "%s/bin/compute-sanitizer", home);
        if (access(path, X_OK) == 0)
            return 1;
    }
    snprintf(path, size, "/usr/local/cuda/bin/compute-sanitizer");
    if (access(path, X_OK) == 0)
        return 1;
    const char *p = getenv("PATH");
    while (p && *p) {
        size_t len = strcspn(p, ":");
        snprintf(path, size, "%.*s/compute-sanitizer", (int)len, p);
        if (len && access(path, X_OK) == 0)
            return 1;
        p += len + (p[len] == ':');
    }
    return 0;
}

/* Run TOOL on this binary's workload; its output into out (NUL-ended),
 * its exit status returned (-1 when it could not start). */
static int sanitize(const char *tool, char *out, size_t size)
{
    char sanitizer[4096], self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!find_sanitizer(sanitizer, sizeof sanitizer) || len <= 0)
        return -2;
    self[len] = '\0';
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        setenv("NNLAB_LAB08_WORKLOAD", "1", 1);
        execl(sanitizer, sanitizer, "--tool", tool, "--error-exitcode", "86", "--print-limit",
              "10", self, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t used = 0;
    ssize_t got;
    char sink[4096];
    for (;;) { /* keep the first size − 1 bytes, drain the rest */
        int room = used + 1 < size;
        got = read(fd[0], room ? out + used : sink, room ? size - 1 - used : sizeof sink);
        if (got <= 0)
            break;
        if (room)
            used += (size_t)got;
    }
    out[used] = '\0';
    close(fd[0]);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Does line[0..n) contain word? */
static int contains(const char *line, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (memcmp(line + i, word, w) == 0)
            return 1;
    return 0;
}

/* The first lines of a sanitizer report that say what went wrong. */
static void findings(char *dst, size_t size, const char *out)
{
    size_t used = 0;
    dst[0] = '\0';
    for (const char *line = out; *line && used + 1 < size;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (contains(line, n, "Invalid") || contains(line, n, "hazard") ||
            contains(line, n, "Race") || contains(line, n, "by thread") ||
            contains(line, n, "  at ")) {
            int w = snprintf(dst + used, size - used, "%.*s\n", (int)(n < 160 ? n : 160), line);
            used += w > 0 ? (size_t)w : 0;
        }
        line = end ? end + 1 : line + n;
    }
}

static void sanitizer_test(const char *tool)
{
    lab8_need_gpu();
    static char out[1 << 16];
    int status = sanitize(tool, out, sizeof out);
    if (status == -2)
        gr_skip("compute-sanitizer is not installed (it comes with the CUDA toolkit, in "
                "$CUDA_HOME/bin): the %s check did not run", tool);
    const char *summary = strstr(out, "ERROR SUMMARY:");
    if (!summary)
        summary = strstr(out, "RACECHECK SUMMARY:");
    if (status == 0 && summary && (strstr(summary, " 0 errors") || strstr(summary, " 0 hazards")))
        return; /* clean */
    if (status == 86 || (summary && !strstr(summary, " 0 errors"))) {
        char what[1200];
        findings(what, sizeof what, out);
        gr_hint("%s", strcmp(tool, "racecheck") == 0
                          ? "threads read shared memory that others were still writing (or "
                            "write what others still read): a __syncthreads() is missing"
                          : "a thread read or wrote outside a buffer: a missing bounds test, "
                            "or an index computed wrongly");
        lab8_fail(__LINE__, "compute-sanitizer --tool %s found problems in your kernels:\n%s",
                  tool, what[0] ? what : out);
        return;
    }
    const char *last = out + strlen(out);
    while (last > out && (last[-1] == '\n' || last[-1] == ' '))
        last--;
    const char *from = last;
    while (from > out && from[-1] != '\n')
        from--;
    gr_skip("compute-sanitizer --tool %s could not run here (exit %d): %.*s", tool, status,
            (int)(last - from), from);
}

static void test_memcheck(void)
{
    sanitizer_test("memcheck");
}

static void test_racecheck(void)
{
    sanitizer_test("racecheck");
}

#endif /* NNLAB_HAVE_CUDA */

/* Time limits allow for CUDA's start-up in every test's own process. */
const gr_test gr_public_tests[] = {
    {"vector add", 2, 30.0, "nn_cuda_vec_add,vec_add_kernel", test_vec_add},
    {"naive matmul", 3, 30.0, "nn_cuda_matmul_naive,matmul_naive_kernel", test_matmul_naive},
    {"tiled matmul", 4, 30.0, "nn_cuda_matmul_tiled,matmul_tiled_kernel", test_matmul_tiled},
    {"relu forward", 1, 30.0, "nn_cuda_relu_forward,relu_forward_kernel", test_relu_forward},
    {"relu backward accumulates", 2, 30.0, "nn_cuda_relu_backward,relu_backward_kernel",
     test_relu_backward},
    {"row softmax", 3, 30.0, "nn_cuda_softmax_rows,softmax_rows_kernel", test_softmax},
    {"row softmax at large logits", 1, 30.0, "nn_cuda_softmax_rows,softmax_rows_kernel",
     test_softmax_large},
    {"sum reduction", 3, 30.0, "nn_cuda_sum,sum_kernel", test_sum},
    {"bonus: im2col", 2, 30.0, "nn_cuda_im2col,im2col_kernel", test_im2col},
    {"performance: tiled at least 1.3x naive", 3, 60.0, "nn_cuda_matmul_tiled,matmul_tiled_kernel",
     test_speedup},
    {"performance report (GFLOP/s, GB/s)", 1, 120.0,
     "nn_cuda_vec_add,vec_add_kernel,nn_cuda_matmul_naive,matmul_naive_kernel,"
     "nn_cuda_matmul_tiled,matmul_tiled_kernel,nn_cuda_relu_forward,relu_forward_kernel,"
     "nn_cuda_relu_backward,relu_backward_kernel,nn_cuda_softmax_rows,softmax_rows_kernel,"
     "nn_cuda_sum,sum_kernel,nn_cuda_im2col,im2col_kernel",
     test_perf_report},
    {"compute-sanitizer memcheck", 2, 180.0,
     "nn_cuda_vec_add,vec_add_kernel,nn_cuda_matmul_naive,matmul_naive_kernel,"
     "nn_cuda_matmul_tiled,matmul_tiled_kernel,nn_cuda_relu_forward,relu_forward_kernel,"
     "nn_cuda_relu_backward,relu_backward_kernel,nn_cuda_softmax_rows,softmax_rows_kernel,"
     "nn_cuda_sum,sum_kernel,nn_cuda_im2col,im2col_kernel",
     test_memcheck},
    {"compute-sanitizer racecheck", 2, 180.0,
     "nn_cuda_matmul_tiled,matmul_tiled_kernel,nn_cuda_softmax_rows,softmax_rows_kernel,"
     "nn_cuda_sum,sum_kernel",
     test_racecheck},
    {NULL, 0, 0, NULL, NULL}
};
