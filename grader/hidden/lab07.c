/*
 * Lab 7 (conv.c, pool.c) — hidden tests: shapes and cases the public tests
 * leave out. Expected values as in the public tests (grader/labs/lab07.c):
 * the definitions from conv.h and pool.h written out in double, gradients
 * by linearity (∂L/∂θ_k of L = Σ dout · conv is L at θ = e_k), inputs that
 * are multiples of 1/16 so that float sums are exact in any order.
 * Tolerance |got − want| <= 1e-5·(1 + |want|); NaN never passes.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grader.h"
#include "nnlab/conv.h"
#include "nnlab/pool.h"

static void check(int cond, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void check(int cond, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
}

static int close_to(double got, double want) { return fabs(got - want) <= 1e-5 * (1.0 + fabs(want)); }

/* Assert got[n] == want[n] (within the tolerance), naming the first bad index. */
static void expect_array(const float *got, const double *want, long n, const char *what, int line)
{
    for (long k = 0; k < n; k++)
        if (!close_to(got[k], want[k])) {
            long bad = 0;
            for (long q = k; q < n; q++)
                bad += !close_to(got[q], want[q]);
            check(0, line, "%s[%ld] (flat index): expected %.9g, got %.9g (%ld of %ld values wrong)",
                  what, k, want[k], (double)got[k], bad, n);
            return;
        }
}

static void fill16(float *x, long n, unsigned seed)
{
    unsigned s = seed * 2654435761u + 12345u;
    for (long i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int)((s >> 9) % 33u) - 16) / 16.0f;
    }
}

static float *floats(long n) { return malloc(sizeof(float) * (size_t)(n > 0 ? n : 1)); }
static double *doubles(long n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }
static double *to_double(const float *x, long n)
{
    double *d = doubles(n);
    for (long i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* ------------------------------------------------------------ the definitions */

static int out_size_d(int in, int k, int stride, int pad)
{
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}
static int oh_of(const nn_conv_shape *s) { return out_size_d(s->h, s->kh, s->stride, s->pad); }
static int ow_of(const nn_conv_shape *s) { return out_size_d(s->w, s->kw, s->stride, s->pad); }
static long in_n(const nn_conv_shape *s) { return (long)s->batch * s->c_in * s->h * s->w; }
static long w_n(const nn_conv_shape *s) { return (long)s->c_out * s->c_in * s->kh * s->kw; }
static long out_n(const nn_conv_shape *s) { return (long)s->batch * s->c_out * oh_of(s) * ow_of(s); }

/* out[n,o,y,x] = b[o] + Σ_{c,i,j} w[o,c,i,j] · in[n, c, y·s − p + i, x·s − p + j]; b may be NULL. */
static void conv_d(double *out, const double *in, const double *w, const double *b,
                   const nn_conv_shape *s)
{
    int oh = oh_of(s), ow = ow_of(s);
    for (int n = 0; n < s->batch; n++)
        for (int o = 0; o < s->c_out; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    double sum = b ? b[o] : 0.0;
                    for (int c = 0; c < s->c_in; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int iy = y * s->stride - s->pad + i, ix = x * s->stride - s->pad + j;
                                if (iy >= 0 && iy < s->h && ix >= 0 && ix < s->w)
                                    sum += w[((o * s->c_in + c) * s->kh + i) * s->kw + j] *
                                           in[(((long)n * s->c_in + c) * s->h + iy) * s->w + ix];
                            }
                    *out++ = sum;
                }
}

static double loss_d(const double *dout, const double *in, const double *w, const double *b,
                     const nn_conv_shape *s, double *scratch)
{
    conv_d(scratch, in, w, b, s);
    double l = 0.0;
    for (long q = 0; q < out_n(s); q++)
        l += dout[q] * scratch[q];
    return l;
}

/* ∂L/∂in, ∂L/∂w, ∂L/∂b of L = Σ dout · conv(in, w, b), by linearity. */
static void grads_d(double *din, double *dw, double *db, const float *dout_f, const float *in_f,
                    const float *w_f, const nn_conv_shape *s)
{
    long ni = in_n(s), nw = w_n(s);
    double *dout = to_double(dout_f, out_n(s)), *in = to_double(in_f, ni), *w = to_double(w_f, nw),
           *e = doubles(ni > nw ? ni : nw), *b = doubles(s->c_out), *scratch = doubles(out_n(s));
    for (long k = 0; k < ni; k++) {
        e[k] = 1.0;
        din[k] = loss_d(dout, e, w, NULL, s, scratch);
        e[k] = 0.0;
    }
    for (long k = 0; k < nw; k++) {
        e[k] = 1.0;
        dw[k] = loss_d(dout, in, e, NULL, s, scratch);
        e[k] = 0.0;
    }
    for (int o = 0; o < s->c_out; o++) {
        b[o] = 1.0;
        db[o] = loss_d(dout, in, e, b, s, scratch);
        b[o] = 0.0;
    }
    free(dout), free(in), free(w), free(e), free(b), free(scratch);
}

/* A workspace of the size asked for (poisoned), or NULL with a failure. */
static float *workspace(const nn_conv_shape *s, int line)
{
    long need = nn_conv2d_workspace(s), n = (need > 0 ? need : 0) + 16;
    float *work = n < (1L << 28) ? floats(n) : NULL;
    check(work != NULL, line, "nn_conv2d_workspace asked for %ld floats: too many to allocate", need);
    if (work)
        gr_poison(work, (int)n);
    return work;
}

/* Shapes the public tests do not try. */
static const nn_conv_shape odd_shapes[] = {
    /* batch, c_in, h, w, c_out, kh, kw, stride, pad */
    {2, 3, 5, 9, 2, 1, 4, 3, 2}, /* 1×4 kernel, stride 3, pad 2, wide image */
    {1, 2, 8, 3, 3, 3, 1, 2, 0}, /* 3×1 kernel, tall image */
    {2, 1, 4, 4, 2, 4, 4, 1, 0}, /* the kernel covers the image: 1×1 output */
    {2, 5, 3, 4, 3, 1, 1, 1, 0}, /* 1×1 convolution: a matrix product per pixel */
    {1, 1, 2, 2, 2, 3, 3, 1, 1}, /* a kernel larger than the image, fitting with the padding */
    {3, 2, 6, 6, 2, 3, 3, 3, 0}, /* stride = kernel: windows side by side */
};
static const char *const odd_names[] = {
    "2 images, 3 channels 5x9, 1x4 kernel, stride 3, pad 2",
    "1 image, 2 channels 8x3, 3x1 kernel, stride 2",
    "2 images 4x4, 4x4 kernel (1x1 output)",
    "2 images, 5 channels 3x4, 1x1 kernel",
    "1 image 2x2, 3x3 kernel, pad 1",
    "3 images, 2 channels 6x6, 3x3 kernel, stride 3",
};
enum { N_ODD = (int)(sizeof odd_shapes / sizeof odd_shapes[0]) };

static void test_forward_odd_shapes(void)
{
    for (int t = 0; t < N_ODD; t++) {
        const nn_conv_shape *s = &odd_shapes[t];
        long ni = in_n(s), nw = w_n(s), no = out_n(s);
        float *in = floats(ni), *w = floats(nw), *b = floats(s->c_out), *out = floats(no + 2);
        fill16(in, ni, 10 + (unsigned)t);
        fill16(w, nw, 20 + (unsigned)t);
        fill16(b, s->c_out, 30 + (unsigned)t);
        double *ind = to_double(in, ni), *wd = to_double(w, nw), *bd = to_double(b, s->c_out),
               *want = doubles(no);
        conv_d(want, ind, wd, bd, s);
        char what[160];
        for (int fast = 0; fast < 2; fast++) {
            gr_poison(out, (int)no);
            out[no] = out[no + 1] = 4321.0f;
            float *work = fast ? workspace(s, __LINE__) : NULL;
            if (fast && !work)
                break;
            if (fast)
                nn_conv2d_forward(out, in, w, b, work, s);
            else
                nn_conv2d_forward_direct(out, in, w, b, s);
            free(work);
            snprintf(what, sizeof what, "%s, %s: out", odd_names[t],
                     fast ? "nn_conv2d_forward" : "nn_conv2d_forward_direct");
            expect_array(out, want, no, what, __LINE__);
            check(out[no] == 4321.0f && out[no + 1] == 4321.0f, __LINE__,
                  "%s: written past the end of out", what);
        }
        free(in), free(w), free(b), free(out), free(ind), free(wd), free(bd), free(want);
    }
}

static void test_backward_odd_shapes(void)
{
    for (int t = 0; t < N_ODD; t++) {
        const nn_conv_shape *s = &odd_shapes[t];
        long ni = in_n(s), nw = w_n(s), no = out_n(s);
        float *in = floats(ni), *w = floats(nw), *dout = floats(no);
        float *din = floats(ni), *dw = floats(nw), *db = floats(s->c_out);
        double *wi = doubles(ni), *ww = doubles(nw), *wb = doubles(s->c_out);
        fill16(in, ni, 40 + (unsigned)t);
        fill16(w, nw, 50 + (unsigned)t);
        fill16(dout, no, 60 + (unsigned)t);
        grads_d(wi, ww, wb, dout, in, w, s);
        char what[160];
        for (int fast = 0; fast < 2; fast++) {
            for (long k = 0; k < ni; k++)
                din[k] = 0.0f;
            for (long k = 0; k < nw; k++)
                dw[k] = 0.0f;
            for (int o = 0; o < s->c_out; o++)
                db[o] = 0.0f;
            float *work = fast ? workspace(s, __LINE__) : NULL;
            if (fast && !work)
                break;
            if (fast)
                nn_conv2d_backward(din, dw, db, dout, in, w, work, s);
            else
                nn_conv2d_backward_direct(din, dw, db, dout, in, w, s);
            free(work);
            const char *fn = fast ? "nn_conv2d_backward" : "nn_conv2d_backward_direct";
            snprintf(what, sizeof what, "%s, %s: din", odd_names[t], fn);
            expect_array(din, wi, ni, what, __LINE__);
            snprintf(what, sizeof what, "%s, %s: dw", odd_names[t], fn);
            expect_array(dw, ww, nw, what, __LINE__);
            snprintf(what, sizeof what, "%s, %s: db", odd_names[t], fn);
            expect_array(db, wb, s->c_out, what, __LINE__);
        }
        free(in), free(w), free(dout), free(din), free(dw), free(db), free(wi), free(ww), free(wb);
    }
}

static void test_backward_no_din(void)
{
    /* din = NULL: the first layer of a network needs no input gradient
     * (conv.h). dw and db must still come out right, and accumulate. */
    nn_conv_shape s = {3, 2, 6, 5, 3, 3, 3, 1, 1};
    long ni = in_n(&s), nw = w_n(&s), no = out_n(&s);
    float *in = floats(ni), *w = floats(nw), *dout = floats(no), *dw = floats(nw), db[3];
    double *wi = doubles(ni), *ww = doubles(nw), wb[3];
    fill16(in, ni, 71);
    fill16(w, nw, 72);
    fill16(dout, no, 73);
    grads_d(wi, ww, wb, dout, in, w, &s);
    for (long k = 0; k < nw; k++)
        ww[k] += 1.0;
    for (int o = 0; o < 3; o++)
        wb[o] += 1.0;
    for (int fast = 0; fast < 2; fast++) {
        for (long k = 0; k < nw; k++)
            dw[k] = 1.0f;
        for (int o = 0; o < 3; o++)
            db[o] = 1.0f;
        float *work = fast ? workspace(&s, __LINE__) : NULL;
        if (fast && !work)
            break;
        if (fast)
            nn_conv2d_backward(NULL, dw, db, dout, in, w, work, &s);
        else
            nn_conv2d_backward_direct(NULL, dw, db, dout, in, w, &s);
        free(work);
        expect_array(dw, ww, nw, fast ? "nn_conv2d_backward(din = NULL): 1 + dw"
                                      : "nn_conv2d_backward_direct(din = NULL): 1 + dw", __LINE__);
        expect_array(db, wb, 3, fast ? "nn_conv2d_backward(din = NULL): 1 + db"
                                     : "nn_conv2d_backward_direct(din = NULL): 1 + db", __LINE__);
    }
    free(in), free(w), free(dout), free(dw), free(wi), free(ww);
}

static void test_workspace_monotone(void)
{
    /* The model allocates the workspace once, for its largest batch, and
     * uses it for smaller ones: the size must never decrease as the batch
     * grows (conv.h). Checked for LeNet's two layers, batch 1..70; then a
     * forward pass of 1 image in the workspace of 70. */
    nn_conv_shape layers[2] = {{1, 1, 28, 28, 6, 5, 5, 1, 2}, {1, 6, 14, 14, 16, 5, 5, 1, 0}};
    for (int l = 0; l < 2; l++) {
        long prev = 0;
        for (int b = 1; b <= 70; b++) {
            layers[l].batch = b;
            long need = nn_conv2d_workspace(&layers[l]);
            if (need < prev) {
                check(0, __LINE__, "layer %d: nn_conv2d_workspace fell from %ld floats at batch %d to "
                      "%ld at batch %d", l + 1, prev, b - 1, need, b);
                return;
            }
            prev = need;
        }
        check(prev > 0, __LINE__, "layer %d: nn_conv2d_workspace gave %ld at batch 70", l + 1, prev);
    }
    nn_conv_shape s = layers[1];
    s.batch = 70;
    float *work = workspace(&s, __LINE__);
    if (!work)
        return;
    s.batch = 1;
    long ni = in_n(&s), nw = w_n(&s), no = out_n(&s);
    float *in = floats(ni), *w = floats(nw), *b = floats(16), *out = floats(no);
    fill16(in, ni, 81);
    fill16(w, nw, 82);
    fill16(b, 16, 83);
    double *ind = to_double(in, ni), *wd = to_double(w, nw), *bd = to_double(b, 16), *want = doubles(no);
    conv_d(want, ind, wd, bd, &s);
    gr_poison(out, (int)no);
    nn_conv2d_forward(out, in, w, b, work, &s);
    expect_array(out, want, no, "1 image in the workspace sized for 70: out", __LINE__);
    free(work), free(in), free(w), free(b), free(out), free(ind), free(wd), free(bd), free(want);
}

static void test_col2im_gaps(void)
{
    /* Stride 3 with a 2×2 kernel on a 7×7 image: windows at rows/columns
     * 0–1 and 3–4 only, (7 − 2)/3 + 1 = 2 per side. Rows and columns 2, 5
     * and 6 are in no window: col2im must leave them as they were (7), and
     * every covered pixel gets exactly its one column entry. */
    nn_conv_shape s = {1, 1, 7, 7, 1, 2, 2, 3, 0};
    float col[16], img[49];
    fill16(col, 16, 91);
    for (int p = 0; p < 49; p++)
        img[p] = 7.0f;
    nn_col2im(img, col, &s);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++) {
            double want = 7.0;
            if (y % 3 < 2 && x % 3 < 2 && y < 5 && x < 5) {
                int i = y % 3, j = x % 3, wy = y / 3, wx = x / 3;
                want += col[(i * 2 + j) * 4 + wy * 2 + wx];
            }
            check(close_to(img[y * 7 + x], want), __LINE__,
                  "col2im, 7x7 image, 2x2 kernel, stride 3, into an image of 7s: pixel (y=%d, x=%d) "
                  "expected %g, got %g", y, x, want, (double)img[y * 7 + x]);
        }
}

static void test_out_size_sweep(void)
{
    /* Every in 1..12, k 1..6, stride 1..4, pad 0..3 where the kernel fits:
     * (in + 2p − k)/s + 1, rounded down. */
    for (int in = 1; in <= 12; in++)
        for (int k = 1; k <= 6; k++)
            for (int st = 1; st <= 4; st++)
                for (int p = 0; p <= 3; p++) {
                    if (in + 2 * p < k)
                        continue;
                    int want = (in + 2 * p - k) / st + 1, got = nn_conv_out_size(in, k, st, p);
                    if (got != want) {
                        check(0, __LINE__, "nn_conv_out_size(in = %d, k = %d, stride = %d, pad = %d): "
                              "expected %d, got %d", in, k, st, p, want, got);
                        return;
                    }
                }
}

/* ------------------------------------------------------------ pooling */

static int pool_out(int in, int k, int stride) { return in < k ? 0 : (in - k) / stride + 1; }

static void test_maxpool_negative(void)
{
    /* Every input negative (−11.25 … −1/16), 2 images × 3 channels of 6×5,
     * 3×3 windows, stride 2 (2×2 outputs). A max started at 0 gives 0. The
     * argmax is the index y·w + x within each plane. */
    nn_pool_shape s = {2, 3, 6, 5, 3, 2};
    enum { NI = 2 * 3 * 6 * 5 };
    int oh = pool_out(6, 3, 2), ow = pool_out(5, 3, 2), no = 2 * 3 * oh * ow;
    float in[NI], out[2 * 3 * 2 * 2 + 1];
    int arg[2 * 3 * 2 * 2];
    for (int p = 0; p < NI; p++)
        in[p] = -(float)((p * 37) % NI + 1) / 16.0f; /* distinct: 37 and 180 are coprime */
    gr_poison(out, no);
    out[no] = 4321.0f;
    nn_maxpool_forward(out, arg, in, &s);
    for (int q = 0; q < no; q++) {
        const float *plane = in + q / (oh * ow) * 30;
        int y = q % (oh * ow) / ow, x = q % ow, at = -1;
        float best = -INFINITY;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                int k = (y * 2 + i) * 5 + x * 2 + j;
                if (plane[k] > best)
                    best = plane[k], at = k;
            }
        check(out[q] == best && arg[q] == at, __LINE__,
              "negative inputs, output %d (plane %d, y=%d, x=%d): expected max %g at %d, got %g at %d",
              q, q / (oh * ow), y, x, (double)best, at, (double)out[q], arg[q]);
    }
    check(out[no] == 4321.0f, __LINE__, "written past the end of out");
}

static void test_pool_window_one(void)
{
    /* 1×1 windows, stride 1: pooling is the identity, forward and
     * backward (each dout goes to its own pixel; din accumulates). */
    nn_pool_shape s = {2, 2, 3, 4, 1, 1};
    enum { N = 2 * 2 * 3 * 4 };
    float in[N], out[N], dout[N], din[N];
    int arg[N];
    fill16(in, N, 101);
    fill16(dout, N, 102);
    for (int avg = 0; avg < 2; avg++) {
        gr_poison(out, N);
        if (avg)
            nn_avgpool_forward(out, in, &s);
        else
            nn_maxpool_forward(out, arg, in, &s);
        for (int p = 0; p < N; p++)
            din[p] = 2.0f;
        if (avg)
            nn_avgpool_backward(din, dout, &s);
        else
            nn_maxpool_backward(din, dout, arg, &s);
        for (int p = 0; p < N; p++) {
            check(out[p] == in[p], __LINE__, "%s pooling with 1x1 windows: out[%d] expected %g, got %g",
                  avg ? "average" : "max", p, (double)in[p], (double)out[p]);
            check(close_to(din[p], 2.0 + dout[p]), __LINE__,
                  "%s pooling backward with 1x1 windows into din = 2: din[%d] expected %g, got %g",
                  avg ? "average" : "max", p, 2.0 + dout[p], (double)din[p]);
        }
    }
}

static void test_avgpool_overlap(void)
{
    /* 2×2 windows, stride 1, on 2 channels of 3×4 (2×3 outputs each): the
     * centre pixels are in up to four windows. Backward by linearity,
     * ∂L/∂in[p] = Σ_q dout[q]·[p in window q]/4. */
    nn_pool_shape s = {1, 2, 3, 4, 2, 1};
    enum { NI = 24, NO = 12 };
    float in[NI], out[NO], dout[NO], din[NI];
    double want_out[NO], want_in[NI];
    fill16(in, NI, 111);
    fill16(dout, NO, 112);
    for (int p = 0; p < NI; p++)
        want_in[p] = 0.0;
    for (int q = 0; q < NO; q++) {
        int c = q / 6, y = q % 6 / 3, x = q % 3;
        double sum = 0.0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                int p = c * 12 + (y + i) * 4 + x + j;
                sum += in[p];
                want_in[p] += dout[q] / 4.0;
            }
        want_out[q] = sum / 4.0;
    }
    gr_poison(out, NO);
    nn_avgpool_forward(out, in, &s);
    expect_array(out, want_out, NO, "average pooling, 2x2 windows, stride 1: out", __LINE__);
    for (int p = 0; p < NI; p++)
        din[p] = 0.0f;
    nn_avgpool_backward(din, dout, &s);
    expect_array(din, want_in, NI, "average pooling backward, 2x2 windows, stride 1: din", __LINE__);
}

const gr_test gr_hidden_tests[] = {
    {"conv forward, odd shapes", 1, 2.0, "nn_conv2d_forward_direct,nn_conv2d_forward",
     test_forward_odd_shapes},
    {"conv backward, odd shapes", 1, 2.0, "nn_conv2d_backward_direct,nn_conv2d_backward",
     test_backward_odd_shapes},
    {"conv backward, din NULL", 1, 2.0,
     "nn_conv2d_backward_direct,nn_conv2d_backward", test_backward_no_din},
    {"conv workspace, growing batch", 1, 2.0,
     "nn_conv2d_workspace,nn_conv2d_forward", test_workspace_monotone},
    {"col2im, gaps between windows", 1, 1.0, "nn_col2im", test_col2im_gaps},
    {"output size, small cases", 1, 1.0, "nn_conv_out_size", test_out_size_sweep},
    {"max pooling, negative inputs", 1, 1.0, "nn_maxpool_forward", test_maxpool_negative},
    {"pooling, 1x1 windows", 1, 1.0,
     "nn_maxpool_forward,nn_maxpool_backward,nn_avgpool_forward,nn_avgpool_backward",
     test_pool_window_one},
    {"average pooling, overlaps", 1, 1.0,
     "nn_avgpool_forward,nn_avgpool_backward", test_avgpool_overlap},
    {NULL, 0, 0, NULL, NULL}
};
