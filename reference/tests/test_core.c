/* Framework core: RNG streams, buffers and tensors, the BLAS wrapper, errors. */
#include "testutil.h"
#include "nnlab/blas.h"
#include "nnlab/error.h"
#include "nnlab/rng.h"
#include "nnlab/tensor.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* PCG32's published demo (pcg32-demo, seed 42, stream 54) prints these
 * first six outputs; any platform must reproduce them bit for bit. */
static void test_rng_pinned_stream(void)
{
    static const uint32_t expected[6] = { 0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                          0x83d2f293u, 0xbfa4784bu, 0xcbed606eu };
    nn_rng rng;
    nn_rng_seed_stream(&rng, 42, 54);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(nn_rng_u32(&rng), expected[i]);
}

static void test_rng_default_stream_is_54(void)
{
    nn_rng a, b;
    nn_rng_seed(&a, 42);
    nn_rng_seed_stream(&b, 42, 54);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += nn_rng_u32(&a) == nn_rng_u32(&b);
    CU_ASSERT_EQUAL(same, 100);
}

static void test_rng_seeds_differ(void)
{
    nn_rng a, b;
    nn_rng_seed(&a, 1);
    nn_rng_seed(&b, 2);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += nn_rng_u32(&a) == nn_rng_u32(&b);
    CU_ASSERT(same < 4);
}

/* U[0,1): mean 1/2 and variance 1/12; with n = 200000 draws the standard
 * error of the mean is √(1/12/n) ≈ 6.5e-4, so 5e-3 is a > 7σ bound. */
static void test_rng_uniform_moments(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    const int n = 200000;
    double sum = 0, sq = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        double u = nn_rng_uniform(&rng);
        sum += u;
        sq += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    double mean = sum / n, var = sq / n - mean * mean;
    TU_ASSERT_NEAR(mean, 0.5, 5e-3);
    TU_ASSERT_NEAR(var, 1.0 / 12.0, 2e-3);
    CU_ASSERT(lo >= 0.0 && hi < 1.0);
}

/* N(0,1): mean 0, variance 1, and about 68.27% within one σ. */
static void test_rng_normal_moments(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    const int n = 200000;
    double sum = 0, sq = 0;
    int within = 0;
    for (int i = 0; i < n; i++) {
        double z = nn_rng_normal(&rng);
        CU_ASSERT_FATAL(isfinite(z));
        sum += z;
        sq += z * z;
        within += fabs(z) < 1.0;
    }
    TU_ASSERT_NEAR(sum / n, 0.0, 1e-2);
    TU_ASSERT_NEAR(sq / n, 1.0, 2e-2);
    TU_ASSERT_NEAR((double)within / n, 0.6827, 5e-3);
}

/* Each of n = 7 residues should come up 1/7 of the time (χ² with 6 dof;
 * 40 is far beyond its 99.99th percentile of about 27.9). */
static void test_rng_below_uniform(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    int count[7] = { 0 };
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        uint32_t r = nn_rng_below(&rng, 7);
        CU_ASSERT_FATAL(r < 7);
        count[r]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 7; k++)
        chi2 += (count[k] - n / 7.0) * (count[k] - n / 7.0) / (n / 7.0);
    CU_ASSERT(chi2 < 40.0);
    CU_ASSERT_EQUAL(nn_rng_below(&rng, 1), 0u);
}

static void test_rng_shuffle_is_permutation(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    int idx[100], seen[100] = { 0 }, moved = 0;
    for (int i = 0; i < 100; i++)
        idx[i] = i;
    nn_rng_shuffle(&rng, idx, 100);
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_FATAL(idx[i] >= 0 && idx[i] < 100);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT(moved > 80);
}

static void test_alloc_aligned_zeroed(void)
{
    float *p = nn_alloc(1000 * sizeof(float));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL((uintptr_t)p % 64, 0);
    int nonzero = 0;
    for (int i = 0; i < 1000; i++)
        nonzero += p[i] != 0.0f;
    CU_ASSERT_EQUAL(nonzero, 0);
    nn_free(p);
}

static void test_alloc_failure_message(void)
{
    nn_clear_error();
    void *p = nn_alloc(SIZE_MAX - 10);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(strlen(nn_last_error()) > 0);
}

static void test_tensor_shapes(void)
{
    nn_tensor t;
    int shape[3] = { 2, 3, 4 };
    CU_ASSERT_EQUAL_FATAL(nn_tensor_alloc(&t, 3, shape), NN_OK);
    CU_ASSERT_EQUAL(t.size, 24u);
    CU_ASSERT_EQUAL(t.shape[2], 4);
    t.data[23] = 5.0f;
    nn_tensor_zero(&t);
    CU_ASSERT_EQUAL(t.data[23], 0.0f);
    nn_tensor_free(&t);
    nn_tensor_free(&t);
    CU_ASSERT_PTR_NULL(t.data);
    int bad[2] = { 3, 0 };
    CU_ASSERT_EQUAL(nn_tensor_alloc(&t, 2, bad), NN_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(nn_last_error(), "dimension"));
    CU_ASSERT_EQUAL(nn_tensor_alloc(&t, 5, shape), NN_ERROR);
}

/* C = α op(A) op(B) + β C for all four transpose pairs, against a double loop. */
static void test_sgemm_wrapper(void)
{
    enum { M = 5, N = 7, K = 3 };
    float a[M * K], b[K * N], c[M * N], want[M * N];
    nn_rng rng;
    nn_rng_seed(&rng, 9);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            tu_fill(a, M * K, -1, 1, &rng);
            tu_fill(b, K * N, -1, 1, &rng);
            tu_fill(c, M * N, -1, 1, &rng);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int p = 0; p < K; p++)
                        s += (double)(ta ? a[p * M + i] : a[i * K + p]) *
                             (tb ? b[j * K + p] : b[p * N + j]);
                    want[i * N + j] = (float)(2.0 * s + 0.5 * c[i * N + j]);
                }
            nn_sgemm(ta, tb, M, N, K, 2.0f, a, ta ? M : K, b, tb ? K : N, 0.5f, c, N);
            TU_ASSERT_CLOSE(c, want, M * N, 1e-5);
        }
}

static void test_blas_threads(void)
{
    nn_blas_set_threads(1);
    CU_ASSERT_EQUAL(nn_blas_threads(), 1);
}

static void test_error_message(void)
{
    CU_ASSERT_EQUAL(nn_fail("cannot open %s", "x.idx"), NN_ERROR);
    CU_ASSERT_STRING_EQUAL(nn_last_error(), "cannot open x.idx");
    nn_clear_error();
    CU_ASSERT_STRING_EQUAL(nn_last_error(), "");
}

void suite_core(void)
{
    CU_pSuite s = CU_add_suite("core", NULL, NULL);
    CU_add_test(s, "rng: PCG32 demo stream pinned", test_rng_pinned_stream);
    CU_add_test(s, "rng: nn_rng_seed is stream 54", test_rng_default_stream_is_54);
    CU_add_test(s, "rng: different seeds differ", test_rng_seeds_differ);
    CU_add_test(s, "rng: uniform moments", test_rng_uniform_moments);
    CU_add_test(s, "rng: normal moments", test_rng_normal_moments);
    CU_add_test(s, "rng: below is unbiased", test_rng_below_uniform);
    CU_add_test(s, "rng: shuffle is a permutation", test_rng_shuffle_is_permutation);
    CU_add_test(s, "alloc: aligned and zeroed", test_alloc_aligned_zeroed);
    CU_add_test(s, "alloc: failure sets a message", test_alloc_failure_message);
    CU_add_test(s, "tensor: shapes and errors", test_tensor_shapes);
    CU_add_test(s, "blas: sgemm wrapper, all transposes", test_sgemm_wrapper);
    CU_add_test(s, "blas: thread control", test_blas_threads);
    CU_add_test(s, "error: message set and cleared", test_error_message);
}
