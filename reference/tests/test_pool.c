/*
 * Tests of lab 7, pooling (pool.c).
 *
 * Expected values are worked by hand in the comments or computed by the
 * test's own pooling in double; gradients are checked against central
 * finite differences of L = Σ out · R. Outputs are poisoned with NaN (and
 * argmax with −1) before every forward call, so a function that writes
 * nothing fails.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/pool.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static int out_h(const nn_pool_shape *s) { return (s->h - s->k) / s->stride + 1; }
static int out_w(const nn_pool_shape *s) { return (s->w - s->k) / s->stride + 1; }
static int n_in(const nn_pool_shape *s) { return s->batch * s->c * s->h * s->w; }
static int n_out(const nn_pool_shape *s) { return s->batch * s->c * out_h(s) * out_w(s); }

static float *poisoned(int n)
{
    float *p = malloc(sizeof *p * (size_t)n);
    for (int i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

static int *poisoned_int(int n)
{
    int *p = malloc(sizeof *p * (size_t)n);
    for (int i = 0; i < n; i++)
        p[i] = -1;
    return p;
}

/* max_i |a_i − b_i| / max(1e-8, max_i |b_i|), +Inf if a value is not
 * finite: the error relative to the scale of b (a mean can cancel to
 * almost 0, where an element-by-element ratio says nothing). */
static double scaled_err(const float *a, const double *b, int n)
{
    double diff = 0.0, scale = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return INFINITY;
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return diff / fmax(1e-8, scale);
}

#define ASSERT_SCALED(a, b, n, tol)                                               \
    do {                                                                          \
        double e_ = scaled_err((a), (b), (n));                                    \
        char m_[160];                                                             \
        snprintf(m_, sizeof m_, "%s vs %s: error %.3g (relative to the largest) > tol %.1g", \
                 #a, #b, e_, (double)(tol));                                      \
        CU_assertImplementation(e_ < (tol), __LINE__, m_, __FILE__, "", CU_FALSE); \
    } while (0)

/* in[n] = distinct values, 0.01 apart in a random order: no two inputs tie,
 * and a finite-difference step of 1e-3 changes no window's winner. */
static float *distinct_inputs(int n, nn_rng *rng)
{
    float *p = malloc(sizeof *p * (size_t)n);
    for (int i = 0; i < n; i++)
        p[i] = 0.01f * (float)(i - n / 2);
    for (int i = n - 1; i > 0; i--) { /* Fisher–Yates shuffle */
        int j = (int)(nn_rng_uniform(rng) * (float)(i + 1));
        if (j > i)
            j = i;
        float t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

/* The test's own pooling in double. Max: the first largest value of each
 * window in row-major order, and its index in the plane. */
static void pool_ref(double *out, int *argmax, const float *in, const nn_pool_shape *s, int max)
{
    int oh = out_h(s), ow = out_w(s);
    for (int pc = 0; pc < s->batch * s->c; pc++) {
        const float *plane = in + (size_t)pc * s->h * s->w;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double acc = max ? -INFINITY : 0.0;
                int best = -1;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) {
                        int at = (y * s->stride + i) * s->w + x * s->stride + j;
                        if (!max)
                            acc += plane[at];
                        else if (plane[at] > acc)
                            acc = plane[at], best = at;
                    }
                *out++ = max ? acc : acc / (s->k * s->k);
                if (argmax)
                    *argmax++ = best;
            }
    }
}

/* Non-overlapping 2×2 (LeNet's, and with odd sizes a dropped last row
 * and column), overlapping windows (k 3 stride 2, k 2 stride 1), k 3
 * stride 3, and one window over the whole image. */
static const nn_pool_shape shapes[] = {
    /* batch c h  w  k stride */
    { 2, 3, 8, 8, 2, 2 },
    { 2, 2, 7, 9, 2, 2 },
    { 1, 2, 7, 6, 3, 2 },
    { 2, 1, 6, 6, 2, 1 },
    { 1, 3, 9, 9, 3, 3 },
    { 1, 1, 5, 5, 5, 1 },
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

/* ------------------------------------------------------------ forward */

/* Channel 0 (channel 1 is the same + 100):
 *   1 3 | 2 0
 *   5 4 | 1 2        max:  5 @ 4    2 @ 2 (tie with the 2 @ 7: the first)
 *   ----+----              9 @ 13   7 @ 10 (three 7s: the first)
 *   0 0 | 7 7        mean: 13/4 = 3.25   5/4 = 1.25
 *   2 9 | 6 7              11/4 = 2.75   27/4 = 6.75
 * argmax is y·w + x within the channel's own plane. */
static const float hand_in[16] = { 1, 3, 2, 0, 5, 4, 1, 2, 0, 0, 7, 7, 2, 9, 6, 7 };

static void test_maxpool_forward_by_hand(void)
{
    float in[32];
    for (int k = 0; k < 16; k++) {
        in[k] = hand_in[k];
        in[16 + k] = hand_in[k] + 100.0f;
    }
    static const float want[8] = { 5, 2, 9, 7, 105, 102, 109, 107 };
    static const int want_arg[8] = { 4, 2, 13, 10, 4, 2, 13, 10 };
    nn_pool_shape s = { 1, 2, 4, 4, 2, 2 };
    float *out = poisoned(8);
    int *arg = poisoned_int(8);
    nn_maxpool_forward(out, arg, in, &s);
    TU_ASSERT_CLOSE(out, want, 8, 1e-7);
    for (int k = 0; k < 8; k++)
        CU_ASSERT_EQUAL(arg[k], want_arg[k]);
    free(out), free(arg);
}

/* Overlapping 3×3 windows at stride 2 on a 5×5 plane of negative values,
 * in[y][x] = −(5y + x + 1): the largest of each window is its top-left
 * pixel, at (2y, 2x): −1 @ 0, −3 @ 2, −11 @ 10, −13 @ 12. (A max that
 * starts from 0 instead of the first pixel returns 0 here.) */
static void test_maxpool_overlap_by_hand(void)
{
    float in[25];
    for (int k = 0; k < 25; k++)
        in[k] = -(float)(k + 1);
    static const float want[4] = { -1, -3, -11, -13 };
    static const int want_arg[4] = { 0, 2, 10, 12 };
    nn_pool_shape s = { 1, 1, 5, 5, 3, 2 };
    float *out = poisoned(4);
    int *arg = poisoned_int(4);
    nn_maxpool_forward(out, arg, in, &s);
    TU_ASSERT_CLOSE(out, want, 4, 1e-7);
    for (int k = 0; k < 4; k++)
        CU_ASSERT_EQUAL(arg[k], want_arg[k]);
    free(out), free(arg);
}

/* A constant plane: every pixel ties, and each window must report its own
 * first (top-left) pixel, (y·stride)·w + x·stride, for 2×2 stride 2 as
 * well as for overlapping 3×3 stride 2. */
static void test_maxpool_ties_first(void)
{
    const nn_pool_shape cases[2] = { { 1, 1, 6, 6, 2, 2 }, { 1, 1, 7, 7, 3, 2 } };
    float in[49];
    for (int k = 0; k < 49; k++)
        in[k] = 0.25f;
    for (int t = 0; t < 2; t++) {
        const nn_pool_shape *s = &cases[t];
        int oh = out_h(s), ow = out_w(s);
        float *out = poisoned(oh * ow);
        int *arg = poisoned_int(oh * ow);
        nn_maxpool_forward(out, arg, in, s);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                CU_ASSERT_EQUAL(arg[y * ow + x], (y * s->w + x) * s->stride);
                CU_ASSERT_EQUAL(out[y * ow + x], 0.25f);
            }
        free(out), free(arg);
    }
}

static void test_avgpool_forward_by_hand(void)
{
    static const float want[4] = { 3.25f, 1.25f, 2.75f, 6.75f };
    nn_pool_shape s = { 1, 1, 4, 4, 2, 2 };
    float *out = poisoned(4);
    nn_avgpool_forward(out, hand_in, &s);
    TU_ASSERT_CLOSE(out, want, 4, 1e-7);
    free(out);
}

/* Both forwards against the test's own pooling, every shape. */
static void test_forward_vs_reference(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 81);
    for (int t = 0; t < N_SHAPES; t++) {
        const nn_pool_shape *s = &shapes[t];
        int ni = n_in(s), no = n_out(s);
        float *in = malloc(sizeof *in * (size_t)ni);
        tu_fill(in, ni, -1, 1, &rng);
        double *want = malloc(sizeof *want * (size_t)no);
        float *out = poisoned(no), *want_f = malloc(sizeof *want_f * (size_t)no);
        int *arg = poisoned_int(no), *want_arg = malloc(sizeof *want_arg * (size_t)no);

        pool_ref(want, want_arg, in, s, 1);
        for (int k = 0; k < no; k++)
            want_f[k] = (float)want[k];
        nn_maxpool_forward(out, arg, in, s);
        TU_ASSERT_CLOSE(out, want_f, no, 1e-7);
        CU_ASSERT(memcmp(arg, want_arg, sizeof *arg * (size_t)no) == 0);

        pool_ref(want, NULL, in, s, 0);
        for (int k = 0; k < no; k++)
            want_f[k] = (float)want[k], out[k] = NAN;
        nn_avgpool_forward(out, in, s);
        ASSERT_SCALED(out, want, no, 1e-6);
        free(in), free(want), free(out), free(want_f), free(arg), free(want_arg);
    }
}

/* Output size (h − k) / stride + 1, rounded down: a 7×6 plane with 3×3
 * windows at stride 2 gives 3×2 = 6 outputs. All 6 are written, and the
 * sentinels after them are not. */
static void test_output_size(void)
{
    nn_pool_shape s = { 1, 1, 7, 6, 3, 2 };
    float in[42], out[10];
    int arg[10];
    for (int k = 0; k < 42; k++)
        in[k] = (float)k;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < 10; k++)
            out[k] = k < 6 ? NAN : 1234.0f, arg[k] = k < 6 ? -1 : 1234;
        if (pass == 0)
            nn_maxpool_forward(out, arg, in, &s);
        else
            nn_avgpool_forward(out, in, &s);
        for (int k = 0; k < 6; k++)
            CU_ASSERT(isfinite(out[k]));
        for (int k = 6; k < 10; k++)
            CU_ASSERT_EQUAL(out[k], 1234.0f);
        if (pass == 0) {
            CU_ASSERT_EQUAL(arg[5], 6 * 6 + 4); /* last window's max: row 6, column 4 */
            CU_ASSERT_EQUAL(arg[6], 1234);
        }
    }
}

/* ------------------------------------------------------------ backward */

/* The hand example again, dout = 1 2 3 4 on din = 0.5 everywhere: each
 * gradient lands, added, on its window's max (pixels 4, 2, 13, 10). */
static void test_maxpool_backward_by_hand(void)
{
    const int arg[4] = { 4, 2, 13, 10 };
    const float dout[4] = { 1, 2, 3, 4 };
    float din[16];
    for (int k = 0; k < 16; k++)
        din[k] = 0.5f;
    float want[16];
    memcpy(want, din, sizeof want);
    want[4] += 1, want[2] += 2, want[13] += 3, want[10] += 4;
    nn_pool_shape s = { 1, 1, 4, 4, 2, 2 };
    nn_maxpool_backward(din, dout, arg, &s);
    TU_ASSERT_CLOSE(din, want, 16, 1e-7);
}

typedef struct {
    float *in;
    const float *r;
    const nn_pool_shape *s;
    int max;
} pool_ctx;

/* L = Σ out · R in double, out from the test's own pooling. */
static double pool_objective(const pool_ctx *c)
{
    int no = n_out(c->s);
    double *out = malloc(sizeof *out * (size_t)no), sum = 0.0;
    pool_ref(out, NULL, c->in, c->s, c->max);
    for (int k = 0; k < no; k++)
        sum += out[k] * c->r[k];
    free(out);
    return sum;
}

/* Pool backward (max or average) of shape s against central differences;
 * the inputs are distinct, so max pooling is differentiable there. */
static void check_backward_fd(const nn_pool_shape *s, int max, unsigned seed)
{
    int ni = n_in(s), no = n_out(s);
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    float *in = distinct_inputs(ni, &rng), *r = malloc(sizeof *r * (size_t)no);
    tu_fill(r, no, -1, 1, &rng);
    float *din = calloc((size_t)ni, sizeof *din), *out = poisoned(no);
    int *arg = poisoned_int(no);
    double *g = malloc(sizeof *g * (size_t)ni);
    if (max) {
        nn_maxpool_forward(out, arg, in, s);
        nn_maxpool_backward(din, r, arg, s);
    } else {
        nn_avgpool_backward(din, r, s);
    }
    pool_ctx c = { in, r, s, max };
    for (int i = 0; i < ni; i++) {
        float saved = in[i], up = saved + 1e-3f, down = saved - 1e-3f;
        in[i] = up;
        double f_up = pool_objective(&c);
        in[i] = down;
        double f_down = pool_objective(&c);
        in[i] = saved;
        g[i] = (f_up - f_down) / ((double)up - (double)down);
    }
    ASSERT_SCALED(din, g, ni, 1e-4);
    free(in), free(r), free(din), free(out), free(arg), free(g);
}

static void test_maxpool_backward_fd(void)
{
    for (int t = 0; t < N_SHAPES; t++)
        check_backward_fd(&shapes[t], 1, 90 + (unsigned)t);
}

static void test_avgpool_backward_fd(void)
{
    for (int t = 0; t < N_SHAPES; t++)
        check_backward_fd(&shapes[t], 0, 100 + (unsigned)t);
}

/* Backward twice gives twice backward once: both add into din. */
static void test_backward_accumulates(void)
{
    const nn_pool_shape s = { 2, 2, 7, 6, 3, 2 };
    int ni = n_in(&s), no = n_out(&s);
    nn_rng rng;
    nn_rng_seed(&rng, 110);
    float *in = distinct_inputs(ni, &rng), *dout = malloc(sizeof *dout * (size_t)no);
    tu_fill(dout, no, -1, 1, &rng);
    float *out = poisoned(no);
    int *arg = poisoned_int(no);
    nn_maxpool_forward(out, arg, in, &s);
    for (int max = 0; max < 2; max++) {
        float *once = calloc((size_t)ni, sizeof *once), *twice = calloc((size_t)ni, sizeof *twice);
        for (int k = 0; k < 3; k++) {
            float *d = k == 0 ? once : twice;
            if (max)
                nn_maxpool_backward(d, dout, arg, &s);
            else
                nn_avgpool_backward(d, dout, &s);
        }
        int nonzero = 0;
        for (int k = 0; k < ni; k++) {
            nonzero |= once[k] != 0.0f;
            once[k] *= 2.0f;
        }
        CU_ASSERT(nonzero);
        TU_ASSERT_CLOSE(twice, once, ni, 1e-6);
        free(once), free(twice);
    }
    free(in), free(dout), free(out), free(arg);
}

void suite_pool(void)
{
    CU_pSuite s = CU_add_suite("pool", NULL, NULL);
    CU_add_test(s, "maxpool forward by hand, 2 channels", test_maxpool_forward_by_hand);
    CU_add_test(s, "maxpool overlapping windows by hand", test_maxpool_overlap_by_hand);
    CU_add_test(s, "maxpool argmax: first on ties", test_maxpool_ties_first);
    CU_add_test(s, "avgpool forward by hand", test_avgpool_forward_by_hand);
    CU_add_test(s, "forward vs double reference, 6 shapes", test_forward_vs_reference);
    CU_add_test(s, "output size, rounded down", test_output_size);
    CU_add_test(s, "maxpool backward by hand", test_maxpool_backward_by_hand);
    CU_add_test(s, "maxpool backward vs finite differences", test_maxpool_backward_fd);
    CU_add_test(s, "avgpool backward vs finite differences", test_avgpool_backward_fd);
    CU_add_test(s, "backward accumulates", test_backward_accumulates);
}
