/*
 * Tests of lab 7, convolution (conv.c).
 *
 * Expected values come from outside the code under test: matrices and
 * outputs worked by hand in the comments, a convolution the test computes
 * itself in double (through an explicitly zero-padded copy of the input,
 * not through im2col), central finite differences of a loss built on it,
 * and identities (col2im is the adjoint of im2col). The fast version is
 * then held to the direct one on many shapes. Every output is poisoned
 * with NaN before a forward call, so a function that writes nothing fails.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nnlab/conv.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

/* max_i |a_i − b_i| / max(1e-8, max_i |b_i|): the error of a relative to the
 * scale of the reference b. (Element by element the ratio would blow up on
 * outputs that cancel to almost 0.) +Inf when a value is not finite. */
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

/* The same for two float arrays. */
static double scaled_err_f(const float *a, const float *b, int n)
{
    double *bd = malloc(sizeof *bd * (size_t)n);
    for (int i = 0; i < n; i++)
        bd[i] = b[i];
    double e = scaled_err(a, bd, n);
    free(bd);
    return e;
}

#define ASSERT_SCALED_F(a, b, n, tol)                                             \
    do {                                                                          \
        double e_ = scaled_err_f((a), (b), (n));                                  \
        char m_[160];                                                             \
        snprintf(m_, sizeof m_, "%s vs %s: error %.3g (relative to the largest) > tol %.1g", \
                 #a, #b, e_, (double)(tol));                                      \
        CU_assertImplementation(e_ < (tol), __LINE__, m_, __FILE__, "", CU_FALSE); \
    } while (0)

static float *poisoned(size_t n)
{
    float *p = malloc(sizeof *p * n);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

static float *random_floats(size_t n, nn_rng *rng)
{
    float *p = malloc(sizeof *p * n);
    tu_fill(p, (int)n, -1, 1, rng);
    return p;
}

static int out_h(const nn_conv_shape *s) { return (s->h + 2 * s->pad - s->kh) / s->stride + 1; }
static int out_w(const nn_conv_shape *s) { return (s->w + 2 * s->pad - s->kw) / s->stride + 1; }
static int n_in(const nn_conv_shape *s) { return s->batch * s->c_in * s->h * s->w; }
static int n_out(const nn_conv_shape *s) { return s->batch * s->c_out * out_h(s) * out_w(s); }
static int n_w(const nn_conv_shape *s) { return s->c_out * s->c_in * s->kh * s->kw; }

/* The test's own convolution, in double: copy each image into a zero
 * border of width pad, then slide the filters with no bounds tests. */
static void conv_ref(double *out, const float *in, const float *w, const float *b,
                     const nn_conv_shape *s)
{
    int hp = s->h + 2 * s->pad, wp = s->w + 2 * s->pad, oh = out_h(s), ow = out_w(s);
    double *padded = calloc((size_t)s->c_in * hp * wp, sizeof *padded);
    for (int n = 0; n < s->batch; n++) {
        for (int c = 0; c < s->c_in; c++)
            for (int y = 0; y < s->h; y++)
                for (int x = 0; x < s->w; x++)
                    padded[(c * hp + y + s->pad) * wp + x + s->pad] =
                        in[((n * s->c_in + c) * s->h + y) * s->w + x];
        for (int o = 0; o < s->c_out; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    double sum = b[o];
                    for (int c = 0; c < s->c_in; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++)
                                sum += w[((o * s->c_in + c) * s->kh + i) * s->kw + j] *
                                       padded[(c * hp + y * s->stride + i) * wp +
                                              x * s->stride + j];
                    *out++ = sum;
                }
    }
    free(padded);
}

/* Shapes the fast version is held to: LeNet's two layers (batch 13 spans
 * several chunks, the last one partial), stride 2 and 3, pad 1 and 2,
 * non-square kernels and images, 1×1 kernels, three input channels. */
static const nn_conv_shape shapes[] = {
    /* batch c_in h  w  c_out kh kw stride pad */
    { 3, 3, 7, 6, 4, 3, 2, 2, 1 },
    { 2, 1, 28, 28, 6, 5, 5, 1, 2 },
    { 13, 6, 14, 14, 16, 5, 5, 1, 0 },
    { 2, 2, 9, 8, 3, 3, 3, 2, 2 },
    { 3, 3, 5, 5, 2, 1, 1, 1, 0 },
    { 4, 2, 6, 7, 5, 2, 3, 3, 1 },
    { 1, 1, 4, 4, 1, 4, 4, 1, 0 },
    { 2, 3, 5, 9, 2, 3, 5, 1, 2 },
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

/* ------------------------------------------------------------ output size */

static void test_out_size(void)
{
    CU_ASSERT_EQUAL(nn_conv_out_size(28, 5, 1, 2), 28);  /* (28 − 5 + 4)/1 + 1, "same" */
    CU_ASSERT_EQUAL(nn_conv_out_size(14, 5, 1, 0), 10);  /* (14 − 5)/1 + 1 */
    CU_ASSERT_EQUAL(nn_conv_out_size(28, 2, 2, 0), 14);  /* 2×2 pooling */
    CU_ASSERT_EQUAL(nn_conv_out_size(7, 3, 2, 1), 4);    /* (7 − 3 + 2)/2 + 1 = 3 + 1 */
    CU_ASSERT_EQUAL(nn_conv_out_size(6, 3, 2, 0), 2);    /* (6 − 3)/2 = 1.5, rounded down */
    CU_ASSERT_EQUAL(nn_conv_out_size(224, 7, 2, 3), 112); /* (224 − 7 + 6)/2 + 1 = 111 + 1 */
    CU_ASSERT_EQUAL(nn_conv_out_size(5, 5, 1, 0), 1);    /* the kernel covers the image */
    CU_ASSERT_EQUAL(nn_conv_out_size(1, 3, 1, 1), 1);    /* fits thanks to the padding */
    CU_ASSERT(nn_conv_out_size(3, 5, 1, 0) <= 0);        /* does not fit */
}

/* ------------------------------------------------------------ im2col */

/* Two channels of 3×3, the second the first + 10:
 *   1 2 3      11 12 13
 *   4 5 6      14 15 16
 *   7 8 9      17 18 19
 * 2×2 kernel, stride 1, no padding: 2×2 outputs. Row (c·2 + i)·2 + j
 * lists in[c, y + i, x + j] for the windows (y, x) = (0,0) (0,1) (1,0) (1,1). */
static void test_im2col_by_hand(void)
{
    float img[18];
    for (int k = 0; k < 9; k++) {
        img[k] = (float)(k + 1);
        img[9 + k] = (float)(k + 11);
    }
    static const float want[8 * 4] = {
        1, 2, 4, 5,      /* c 0, i 0, j 0 */
        2, 3, 5, 6,      /* c 0, i 0, j 1 */
        4, 5, 7, 8,      /* c 0, i 1, j 0 */
        5, 6, 8, 9,      /* c 0, i 1, j 1 */
        11, 12, 14, 15,  /* c 1 … */
        12, 13, 15, 16,
        14, 15, 17, 18,
        15, 16, 18, 19,
    };
    nn_conv_shape s = { 1, 2, 3, 3, 1, 2, 2, 1, 0 };
    float *col = poisoned(8 * 4);
    nn_im2col(col, img, &s);
    TU_ASSERT_CLOSE(col, want, 8 * 4, 1e-7);
    free(col);
}

/* The image  1 2 / 3 4  with a border of zeros (pad 1):
 *   0 0 0 0
 *   0 1 2 0
 *   0 3 4 0
 *   0 0 0 0
 * 2×2 kernel, stride 1: 3×3 windows. Row (i, j) reads padded[y + i][x + j]. */
static void test_im2col_pad_by_hand(void)
{
    const float img[4] = { 1, 2, 3, 4 };
    static const float want[4 * 9] = {
        0, 0, 0, 0, 1, 2, 0, 3, 4, /* i 0, j 0 */
        0, 0, 0, 1, 2, 0, 3, 4, 0, /* i 0, j 1 */
        0, 1, 2, 0, 3, 4, 0, 0, 0, /* i 1, j 0 */
        1, 2, 0, 3, 4, 0, 0, 0, 0, /* i 1, j 1 */
    };
    nn_conv_shape s = { 1, 1, 2, 2, 1, 2, 2, 1, 1 };
    float *col = poisoned(4 * 9);
    nn_im2col(col, img, &s);
    TU_ASSERT_CLOSE(col, want, 4 * 9, 1e-7);
    free(col);
}

/* 1..9 in a 3×3 image with a zero border (pad 1) makes a 5×5 grid; a 2×2
 * kernel at stride 2 sits at padded (0,0) (0,2) (2,0) (2,2):
 *   0 0 0 0 0
 *   0 1 2 3 0
 *   0 4 5 6 0
 *   0 7 8 9 0
 *   0 0 0 0 0                                                          */
static void test_im2col_stride_by_hand(void)
{
    const float img[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static const float want[4 * 4] = {
        0, 0, 0, 5, /* i 0, j 0: padded[2y][2x] */
        0, 0, 4, 6, /* i 0, j 1: padded[2y][2x + 1] */
        0, 2, 0, 8, /* i 1, j 0 */
        1, 3, 7, 9, /* i 1, j 1 */
    };
    nn_conv_shape s = { 1, 1, 3, 3, 1, 2, 2, 2, 1 };
    float *col = poisoned(4 * 4);
    nn_im2col(col, img, &s);
    TU_ASSERT_CLOSE(col, want, 4 * 4, 1e-7);
    free(col);
}

/* col2im of all ones counts the windows that cover each pixel: for 2×2
 * windows on a 3×3 image, 1 2 1 / 2 4 2 / 1 2 1. It adds to what the
 * image held (here 0.5 everywhere). */
static void test_col2im_by_hand(void)
{
    float col[4 * 4], img[9];
    for (int k = 0; k < 16; k++)
        col[k] = 1.0f;
    for (int k = 0; k < 9; k++)
        img[k] = 0.5f;
    static const float want[9] = { 1.5f, 2.5f, 1.5f, 2.5f, 4.5f, 2.5f, 1.5f, 2.5f, 1.5f };
    nn_conv_shape s = { 1, 1, 3, 3, 1, 2, 2, 1, 0 };
    nn_col2im(img, col, &s);
    TU_ASSERT_CLOSE(img, want, 9, 1e-7);
}

/* col2im is the adjoint of im2col: <im2col(x), y> = <x, col2im(y)> for
 * every x and y, summed in double. This is what makes col2im the right
 * backward pass, and it catches a col2im that drops or misplaces a term. */
static void test_col2im_adjoint(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 71);
    for (int t = 0; t < N_SHAPES; t++) {
        nn_conv_shape s = shapes[t];
        int nx = s.c_in * s.h * s.w, ny = s.c_in * s.kh * s.kw * out_h(&s) * out_w(&s);
        float *x = random_floats((size_t)nx, &rng), *y = random_floats((size_t)ny, &rng);
        float *col = poisoned((size_t)ny), *img = calloc((size_t)nx, sizeof *img);
        nn_im2col(col, x, &s);
        nn_col2im(img, y, &s);
        double lhs = 0.0, rhs = 0.0;
        for (int k = 0; k < ny; k++)
            lhs += (double)col[k] * y[k];
        for (int k = 0; k < nx; k++)
            rhs += (double)x[k] * img[k];
        TU_ASSERT_NEAR(lhs, rhs, 1e-5 * fmax(1.0, fabs(rhs)));
        CU_ASSERT(rhs != 0.0); /* a col2im that does nothing gives <x, 0> */
        free(x), free(y), free(col), free(img);
    }
}

/* ------------------------------------------------------------ direct */

/* in = 1..9 (3×3), w = 1 2 / 3 4, b = 0.5, stride 1, no padding:
 *   out(0,0) = 1·1 + 2·2 + 3·4 + 4·5 = 37     out(0,1) = 2 + 6 + 15 + 24 = 47
 *   out(1,0) = 4 + 10 + 21 + 32 = 67          out(1,1) = 5 + 12 + 24 + 36 = 77
 * plus 0.5 each. With pad 1 and stride 2, the windows of the im2col
 * stride example: out = 1·(0 0 0 5) + 2·(0 0 4 6) + 3·(0 2 0 8) + 4·(1 3 7 9)
 * = 4 18 36 77 (no bias). */
static void test_direct_forward_by_hand(void)
{
    const float in[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    const float w[4] = { 1, 2, 3, 4 }, b[1] = { 0.5f }, zero[1] = { 0.0f };
    static const float want[4] = { 37.5f, 47.5f, 67.5f, 77.5f };
    static const float want_pad[4] = { 4, 18, 36, 77 };
    float out[4];
    nn_conv_shape s = { 1, 1, 3, 3, 1, 2, 2, 1, 0 };
    for (int k = 0; k < 4; k++)
        out[k] = NAN;
    nn_conv2d_forward_direct(out, in, w, b, &s);
    TU_ASSERT_CLOSE(out, want, 4, 1e-7);

    nn_conv_shape sp = { 1, 1, 3, 3, 1, 2, 2, 2, 1 };
    for (int k = 0; k < 4; k++)
        out[k] = NAN;
    nn_conv2d_forward_direct(out, in, w, zero, &sp);
    TU_ASSERT_CLOSE(out, want_pad, 4, 1e-7);
}

/* Direct forward against the test's own double convolution, every shape. */
static void test_direct_forward_vs_reference(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 72);
    for (int t = 0; t < N_SHAPES; t++) {
        const nn_conv_shape *s = &shapes[t];
        float *in = random_floats((size_t)n_in(s), &rng);
        float *w = random_floats((size_t)n_w(s), &rng);
        float *b = random_floats((size_t)s->c_out, &rng);
        float *out = poisoned((size_t)n_out(s));
        double *want = malloc(sizeof *want * (size_t)n_out(s));
        conv_ref(want, in, w, b, s);
        nn_conv2d_forward_direct(out, in, w, b, s);
        ASSERT_SCALED(out, want, n_out(s), 1e-5);
        free(in), free(w), free(b), free(out), free(want);
    }
}

/* ------------------------------------------------------------ fast forward */

/* The workspace is allocated to the size the module asks for, exactly, and
 * poisoned: the fast version may neither overrun nor rely on its contents. */
static float *workspace(const nn_conv_shape *s)
{
    long n = nn_conv2d_workspace(s);
    return poisoned(n > 0 ? (size_t)n : 1);
}

static void test_fast_forward_vs_direct(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 73);
    for (int t = 0; t < N_SHAPES; t++) {
        const nn_conv_shape *s = &shapes[t];
        float *in = random_floats((size_t)n_in(s), &rng);
        float *w = random_floats((size_t)n_w(s), &rng);
        float *b = random_floats((size_t)s->c_out, &rng);
        float *direct = poisoned((size_t)n_out(s)), *fast = poisoned((size_t)n_out(s));
        float *work = workspace(s);
        nn_conv2d_forward_direct(direct, in, w, b, s);
        nn_conv2d_forward(fast, in, w, b, work, s);
        ASSERT_SCALED_F(fast, direct, n_out(s), 1e-5);
        free(in), free(w), free(b), free(direct), free(fast), free(work);
    }
}

/* The workspace sized for a batch must serve any smaller batch, as the
 * model container allocates it once for its largest batch. */
static void test_workspace_grows_with_batch(void)
{
    nn_conv_shape s = shapes[2];
    long last = 0;
    for (s.batch = 1; s.batch <= 64; s.batch++) {
        long n = nn_conv2d_workspace(&s);
        CU_ASSERT(n >= last);
        last = n;
    }
    CU_ASSERT(last > 0);
}

/* ------------------------------------------------------------ backward */

typedef struct {
    float *in, *w, *b;
    const float *r;
    const nn_conv_shape *s;
} conv_ctx;

/* L = Σ out · R in double, out from the test's own convolution: its
 * gradient with respect to out is R, so backward with dout = R must give
 * ∂L/∂in, ∂L/∂w and ∂L/∂b. */
static double conv_objective(void *p)
{
    const conv_ctx *c = p;
    int n = n_out(c->s);
    double *out = malloc(sizeof *out * (size_t)n), sum = 0.0;
    conv_ref(out, c->in, c->w, c->b, c->s);
    for (int k = 0; k < n; k++)
        sum += out[k] * c->r[k];
    free(out);
    return sum;
}

/* g_i = (L(p + h e_i) − L(p − h e_i)) / (step actually taken); p restored. */
static void numeric_grad(double *g, conv_ctx *c, float *p, int n, double h)
{
    for (int i = 0; i < n; i++) {
        float saved = p[i], up = (float)(saved + h), down = (float)(saved - h);
        p[i] = up;
        double f_up = conv_objective(c);
        p[i] = down;
        double f_down = conv_objective(c);
        p[i] = saved;
        g[i] = (f_up - f_down) / ((double)up - (double)down);
    }
}

/* Backward (direct or fast) of the shape s against central differences. */
static void check_backward_fd(const nn_conv_shape *s, int fast, unsigned seed)
{
    int ni = n_in(s), nw = n_w(s), no = n_out(s);
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    float *in = random_floats((size_t)ni, &rng), *w = random_floats((size_t)nw, &rng);
    float *b = random_floats((size_t)s->c_out, &rng), *r = random_floats((size_t)no, &rng);
    float *din = calloc((size_t)ni, sizeof *din), *dw = calloc((size_t)nw, sizeof *dw);
    float *db = calloc((size_t)s->c_out, sizeof *db);
    double *g_in = malloc(sizeof *g_in * (size_t)ni), *g_w = malloc(sizeof *g_w * (size_t)nw);
    double *g_b = malloc(sizeof *g_b * (size_t)s->c_out);
    if (fast) {
        float *work = workspace(s);
        nn_conv2d_backward(din, dw, db, r, in, w, work, s);
        free(work);
    } else {
        nn_conv2d_backward_direct(din, dw, db, r, in, w, s);
    }
    conv_ctx c = { in, w, b, r, s };
    numeric_grad(g_in, &c, in, ni, 1e-2);
    numeric_grad(g_w, &c, w, nw, 1e-2);
    numeric_grad(g_b, &c, b, s->c_out, 1e-2);
    ASSERT_SCALED(din, g_in, ni, 1e-5);
    ASSERT_SCALED(dw, g_w, nw, 1e-5);
    ASSERT_SCALED(db, g_b, s->c_out, 1e-5);
    free(in), free(w), free(b), free(r), free(din), free(dw), free(db);
    free(g_in), free(g_w), free(g_b);
}

/* L is linear in each parameter, so central differences are exact up to
 * rounding and a large step (1e-2) keeps that rounding small. Stride 2 and
 * padding 1 leave some pixels in no window and some in several. */
static void test_direct_backward_fd(void)
{
    const nn_conv_shape s = { 2, 2, 5, 6, 3, 3, 2, 2, 1 };
    const nn_conv_shape s2 = { 1, 3, 4, 4, 2, 3, 3, 1, 2 };
    check_backward_fd(&s, 0, 74);
    check_backward_fd(&s2, 0, 75);
}

static void test_fast_backward_fd(void)
{
    const nn_conv_shape s = { 2, 2, 5, 6, 3, 3, 2, 2, 1 };
    check_backward_fd(&s, 1, 76);
}

/* Fast backward against direct backward on every shape. Both start from
 * the same nonzero gradients (they accumulate), and the direct one must
 * have changed them, so two untouched stubs do not agree their way to a pass. */
static void test_fast_backward_vs_direct(void)
{
    nn_rng rng;
    nn_rng_seed(&rng, 77);
    for (int t = 0; t < N_SHAPES; t++) {
        const nn_conv_shape *s = &shapes[t];
        int ni = n_in(s), nw = n_w(s), no = n_out(s);
        float *in = random_floats((size_t)ni, &rng), *w = random_floats((size_t)nw, &rng);
        float *dout = random_floats((size_t)no, &rng);
        float *grads[2][3];
        for (int v = 0; v < 2; v++) {
            nn_rng start;
            nn_rng_seed(&start, 78); /* the same starting gradients for both */
            grads[v][0] = random_floats((size_t)ni, &start);
            grads[v][1] = random_floats((size_t)nw, &start);
            grads[v][2] = random_floats((size_t)s->c_out, &start);
        }
        float *start_w = malloc(sizeof *start_w * (size_t)nw);
        memcpy(start_w, grads[0][1], sizeof *start_w * (size_t)nw);
        float *work = workspace(s);
        nn_conv2d_backward_direct(grads[0][0], grads[0][1], grads[0][2], dout, in, w, s);
        nn_conv2d_backward(grads[1][0], grads[1][1], grads[1][2], dout, in, w, work, s);
        CU_ASSERT(memcmp(start_w, grads[0][1], sizeof *start_w * (size_t)nw) != 0);
        ASSERT_SCALED_F(grads[1][0], grads[0][0], ni, 1e-5);
        ASSERT_SCALED_F(grads[1][1], grads[0][1], nw, 1e-5);
        ASSERT_SCALED_F(grads[1][2], grads[0][2], s->c_out, 1e-5);
        for (int v = 0; v < 2; v++)
            for (int k = 0; k < 3; k++)
                free(grads[v][k]);
        free(in), free(w), free(dout), free(start_w), free(work);
    }
}

/* Backward twice from zero gives twice backward once (it adds, +=), and
 * din == NULL skips the input gradient without changing dw and db. */
static void check_accumulates(int fast)
{
    const nn_conv_shape s = { 3, 2, 6, 5, 3, 3, 3, 2, 1 };
    int ni = n_in(&s), nw = n_w(&s), no = n_out(&s);
    nn_rng rng;
    nn_rng_seed(&rng, 79);
    float *in = random_floats((size_t)ni, &rng), *w = random_floats((size_t)nw, &rng);
    float *dout = random_floats((size_t)no, &rng), *work = workspace(&s);
    float *din[2], *dw[3], *db[3];
    for (int v = 0; v < 3; v++) {
        dw[v] = calloc((size_t)nw, sizeof(float));
        db[v] = calloc((size_t)s.c_out, sizeof(float));
        if (v < 2)
            din[v] = calloc((size_t)ni, sizeof(float));
    }
    for (int v = 0; v < 3; v++) {
        int times = v == 1 ? 2 : 1;
        float *d = v < 2 ? din[v] : NULL; /* run 2: no input gradient */
        for (int k = 0; k < times; k++) {
            if (fast)
                nn_conv2d_backward(d, dw[v], db[v], dout, in, w, work, &s);
            else
                nn_conv2d_backward_direct(d, dw[v], db[v], dout, in, w, &s);
        }
    }
    for (int k = 0; k < ni; k++)
        din[0][k] *= 2.0f;
    for (int k = 0; k < nw; k++)
        dw[0][k] *= 2.0f;
    for (int k = 0; k < s.c_out; k++)
        db[0][k] *= 2.0f;
    ASSERT_SCALED_F(din[1], din[0], ni, 1e-6);
    ASSERT_SCALED_F(dw[1], dw[0], nw, 1e-6);
    ASSERT_SCALED_F(db[1], db[0], s.c_out, 1e-6);
    /* run 2 (din NULL) has the dw, db of one call, i.e. half of 2·run 0 */
    for (int k = 0; k < nw; k++)
        dw[0][k] *= 0.5f;
    for (int k = 0; k < s.c_out; k++)
        db[0][k] *= 0.5f;
    ASSERT_SCALED_F(dw[2], dw[0], nw, 1e-6);
    ASSERT_SCALED_F(db[2], db[0], s.c_out, 1e-6);
    CU_ASSERT(db[0][0] != 0.0f);
    for (int v = 0; v < 3; v++) {
        free(dw[v]), free(db[v]);
        if (v < 2)
            free(din[v]);
    }
    free(in), free(w), free(dout), free(work);
}

static void test_direct_backward_accumulates(void) { check_accumulates(0); }
static void test_fast_backward_accumulates(void) { check_accumulates(1); }

void suite_conv(void)
{
    CU_pSuite s = CU_add_suite("conv", NULL, NULL);
    CU_add_test(s, "output size by hand", test_out_size);
    CU_add_test(s, "im2col by hand, 2 channels", test_im2col_by_hand);
    CU_add_test(s, "im2col by hand, pad 1", test_im2col_pad_by_hand);
    CU_add_test(s, "im2col by hand, stride 2 pad 1", test_im2col_stride_by_hand);
    CU_add_test(s, "col2im by hand, accumulates", test_col2im_by_hand);
    CU_add_test(s, "col2im is the adjoint of im2col", test_col2im_adjoint);
    CU_add_test(s, "direct forward by hand", test_direct_forward_by_hand);
    CU_add_test(s, "direct forward vs double reference", test_direct_forward_vs_reference);
    CU_add_test(s, "fast forward vs direct, 8 shapes", test_fast_forward_vs_direct);
    CU_add_test(s, "workspace grows with the batch", test_workspace_grows_with_batch);
    CU_add_test(s, "direct backward vs finite differences", test_direct_backward_fd);
    CU_add_test(s, "fast backward vs finite differences", test_fast_backward_fd);
    CU_add_test(s, "fast backward vs direct, 8 shapes", test_fast_backward_vs_direct);
    CU_add_test(s, "direct backward accumulates, din NULL", test_direct_backward_accumulates);
    CU_add_test(s, "fast backward accumulates, din NULL", test_fast_backward_accumulates);
}
