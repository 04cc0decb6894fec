/*
 * Lab 7 — convolution.
 *
 * A convolution layer slides c_out small filters over an image and takes,
 * at every position, the dot product of each filter with the patch under
 * it (conv.h gives the formula). Written as loops, that is seven nested
 * loops and a few multiply-adds per memory access: correct, short, slow.
 *
 * im2col turns it into one matrix product. Copy every patch, flattened
 * to c_in·kh·kw numbers, into a column of a matrix X; then all the dot
 * products of all the filters with all the patches are the single product
 *     Y [c_out, oh·ow] = W [c_out, c_in·kh·kw] · X [c_in·kh·kw, oh·ow],
 * which sgemm computes near the machine's peak. The copy costs memory
 * (each pixel appears in up to kh·kw columns) but only O(size of X) time,
 * against O(c_out · size of X) for the product.
 *
 * The backward pass is the same product read the other two ways:
 *     ∂L/∂W += G · Xᵀ      ∂L/∂X = Wᵀ · G
 * with G = ∂L/∂Y, and col2im, the adjoint of im2col, sums ∂L/∂X back onto
 * the pixels each column was copied from.
 *
 * The direct loops stay beside the fast version: they are the definition
 * that the tests hold the fast version to.
 *
 * SELF-TEST MISTAKE (conv-out-size-pad-once): the output size counts the padding once: (in + p - k)/s + 1 instead of (in + 2p - k)/s + 1
 */
#include "nnlab/conv.h"
#include <cblas.h>
#include <stddef.h>
#include <string.h>

int nn_conv_out_size(int in, int k, int stride, int pad)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)in; (void)k; (void)stride; (void)pad; return 0; */
    /* The padded input has in + 2p pixels; a window of k fits at offsets
     * 0, s, 2s, … up to in + 2p − k: (in + 2p − k) / s + 1 of them. A window
     * that does not fit at all gives a negative span, which C's division
     * would round toward zero, so that case is answered first. */
    int span = in + pad - k; /* MISTAKE: the padding is on both sides, 2 * pad */
    return span < 0 ? 0 : span / stride + 1;
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/*
 * Padding without a test per pixel. Kernel offset j reads input column
 * x·s − p + j, which lies inside [0, in) exactly for x in [x0, x1):
 *     x·s >= p − j        x >= ⌈(p − j) / s⌉
 *     x·s <= in − 1 + p − j    x <= ⌊(in − 1 + p − j) / s⌋
 * clipped to [0, out). Outside that interval the column reads padding. The
 * same function gives the valid rows y for kernel row i.
 */
static void valid_range(int *x0, int *x1, int j, int in, int out, int stride, int pad)
{
    int lo = pad - j, hi = in - 1 + pad - j;
    int a = lo > 0 ? (lo + stride - 1) / stride : 0;
    int b = hi < 0 ? 0 : hi / stride + 1;
    if (b > out)
        b = out;
    *x0 = a < b ? a : b;
    *x1 = b;
}

/* One output row y of an im2col row: dst[x] = row[x·s + off] for x in
 * [x0, x1), the valid pixels, and 0 on either side; row NULL when the
 * whole output row reads padding. */
static void im2col_row(float *dst, const float *row, int x0, int x1, int ow, int st, int off)
{
    if (!row) {
        memset(dst, 0, sizeof *dst * ow);
        return;
    }
    for (int x = 0; x < x0; x++)
        dst[x] = 0.0f;
    /* Stride 1, the common case: the pixels are contiguous, one memcpy
     * (several times faster than the loop). */
    if (st == 1)
        memcpy(dst + x0, row + x0 + off, sizeof *dst * (x1 - x0));
    else
        for (int x = x0; x < x1; x++)
            dst[x] = row[x * st + off];
    for (int x = x1; x < ow; x++)
        dst[x] = 0.0f;
}

/* im2col of one image into a matrix whose rows are ld floats apart, so
 * that several images can sit side by side in one wide matrix. Row
 * (c·kh + i)·kw + j, column y·ow + x gets in[c, y·s − p + i, x·s − p + j].
 *
 * Most of the rows are not built from the image. Kernel row i at output
 * row y reads input row y·s − p + i, the same one that kernel row i − s
 * reads at output row y + 1:  X(c,i,j)[y, :] = X(c,i−s,j)[y+1, :].  So
 * for i >= s the matrix row is the row s·kw above it moved left by one
 * output row (ow floats), one long memcpy, and only its last output row is
 * new. With stride 1 that turns kh·oh short copies into oh + 2(kh − 1). */
static void im2col_ld(float *col, size_t ld, const float *img, const nn_conv_shape *s)
{
    const int h = s->h, w = s->w, st = s->stride, pad = s->pad;
    int oh = nn_conv_out_size(h, s->kh, st, pad);
    int ow = nn_conv_out_size(w, s->kw, st, pad);
    size_t up = (size_t)st * s->kw * ld; /* from row (c,i,j) to row (c,i−s,j) */
    for (int c = 0; c < s->c_in; c++) {
        const float *plane = img + (size_t)c * h * w;
        for (int i = 0; i < s->kh; i++) {
            int y0, y1;
            valid_range(&y0, &y1, i, h, oh, st, pad);
            for (int j = 0; j < s->kw; j++, col += ld) {
                int x0, x1, off = j - pad;
                valid_range(&x0, &x1, j, w, ow, st, pad);
                int y = 0;
                if (i >= st && oh > 0) {
                    y = oh - 1;
                    memcpy(col, col - up + ow, sizeof *col * (size_t)y * ow);
                }
                for (; y < oh; y++) {
                    int iy = y * st - pad + i; /* inside the image for y in [y0, y1) */
                    const float *row = y >= y0 && y < y1 ? plane + (size_t)iy * w : NULL;
                    im2col_row(col + (size_t)y * ow, row, x0, x1, ow, st, off);
                }
            }
        }
    }
}

/* dst[t] += src[t] for t < n. restrict promises the compiler that the two
 * rows do not overlap, so it may add several floats per instruction. */
static void add_row(float *restrict dst, const float *restrict src, int n)
{
    for (int t = 0; t < n; t++)
        dst[t] += src[t];
}

/* col2im into one image from a matrix with rows ld floats apart: the
 * mirror of im2col_ld, with += where that has =, and padding skipped.
 * Stride 1 is again the fast case, contiguous rows. */
static void col2im_ld(float *img, const float *col, size_t ld, const nn_conv_shape *s)
{
    const int h = s->h, w = s->w, st = s->stride, pad = s->pad;
    int oh = nn_conv_out_size(h, s->kh, st, pad);
    int ow = nn_conv_out_size(w, s->kw, st, pad);
    for (int c = 0; c < s->c_in; c++) {
        float *plane = img + (size_t)c * h * w;
        for (int i = 0; i < s->kh; i++) {
            int y0, y1;
            valid_range(&y0, &y1, i, h, oh, st, pad);
            for (int j = 0; j < s->kw; j++, col += ld) {
                int x0, x1, off = j - pad;
                valid_range(&x0, &x1, j, w, ow, st, pad);
                for (int y = y0; y < y1; y++) {
                    const float *src = col + (size_t)y * ow;
                    float *row = plane + (size_t)(y * st - pad + i) * w;
                    if (st == 1)
                        add_row(row + x0 + off, src + x0, x1 - x0);
                    else
                        for (int x = x0; x < x1; x++)
                            row[x * st + off] += src[x];
                }
            }
        }
    }
}
/* END SOLUTION */

void nn_im2col(float *col, const float *img, const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)col; (void)img; (void)s; */
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    im2col_ld(col, (size_t)oh * ow, img, s);
    /* END SOLUTION */
}

void nn_col2im(float *img, const float *col, const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)img; (void)col; (void)s; */
    /* im2col is a linear map X = M·x whose matrix M has a single 1 in each
     * row that reads a pixel (and none in a padding row). Its adjoint Mᵀ
     * sends each entry of X back to that pixel, adding where one pixel was
     * copied to several columns: exactly what the chain rule needs,
     * ∂L/∂x = Mᵀ ∂L/∂X. */
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    col2im_ld(img, col, (size_t)oh * ow, s);
    /* END SOLUTION */
}

void nn_conv2d_forward_direct(float *out, const float *in, const float *w, const float *b,
                              const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)w; (void)b; (void)s; */
    /* out[n,o,y,x] = b[o] + Σ_{c,i,j} w[o,c,i,j] · in[n, c, y·s − p + i, x·s − p + j],
     * the taps that fall in the padding adding 0. */
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    for (int n = 0; n < s->batch; n++)
        for (int o = 0; o < s->c_out; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    float sum = b[o];
                    for (int c = 0; c < s->c_in; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int iy = y * s->stride - s->pad + i;
                                int ix = x * s->stride - s->pad + j;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                    continue;
                                sum += w[((o * s->c_in + c) * s->kh + i) * s->kw + j] *
                                       in[(((size_t)n * s->c_in + c) * s->h + iy) * s->w + ix];
                            }
                    *out++ = sum;
                }
    /* END SOLUTION */
}

void nn_conv2d_backward_direct(float *din, float *dw, float *db, const float *dout,
                               const float *in, const float *w, const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dw; (void)db; (void)dout; (void)in; (void)w; (void)s; */
    /* The forward loops again. Each term w·in of the sum for out[n,o,y,x]
     * receives g = ∂L/∂out[n,o,y,x] and, by the product rule, passes g·in
     * to the weight and g·w to the input; the bias enters every output of
     * channel o with coefficient 1 and collects g. */
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    for (int n = 0; n < s->batch; n++)
        for (int o = 0; o < s->c_out; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    float g = *dout++;
                    db[o] += g;
                    for (int c = 0; c < s->c_in; c++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int iy = y * s->stride - s->pad + i;
                                int ix = x * s->stride - s->pad + j;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                    continue;
                                size_t wi = ((size_t)(o * s->c_in + c) * s->kh + i) * s->kw + j;
                                size_t xi = (((size_t)n * s->c_in + c) * s->h + iy) * s->w + ix;
                                dw[wi] += g * in[xi];
                                if (din)
                                    din[xi] += g * w[wi];
                            }
                }
    /* END SOLUTION */
}

/* BEGIN SOLUTION */
/*
 * The fast version handles the batch a chunk of nb images at a time. The
 * im2col matrices of the chunk sit side by side in one wide matrix
 *     X [K, nb·P],   K = c_in·kh·kw,  P = oh·ow,
 * so that each pass is ONE sgemm with a long dimension nb·P, instead of nb
 * small products that would each pay BLAS's fixed costs (for LeNet's second
 * layer a single image is a 16 × 150 × 100 product, too small to run fast).
 * nb is picked so that X stays around COL_FLOATS floats (384 KB), small
 * enough to stay in a typical L2 cache between im2col writing it and
 * sgemm reading it; larger chunks measured no faster.
 *
 * The workspace holds, one after the other:
 *   X  [K + 1, nb·P]    the chunk's im2col, plus a row of ones (backward)
 *   Y  [c_out, nb·P]    the chunk's outputs, or output gradients, side by side
 *   D  [K + 1, c_out]   the transposed filter and bias gradients (backward)
 */
#define COL_FLOATS (96 * 1024)

/* The dimensions every fast pass needs. */
typedef struct {
    size_t k;   /* rows of X: c_in·kh·kw */
    size_t p;   /* output pixels per channel: oh·ow */
    size_t in;  /* floats of one input image */
    size_t out; /* floats of one output image: c_out·P */
    int nb;     /* images per chunk */
} conv_dims;

static conv_dims dims_of(const nn_conv_shape *s)
{
    conv_dims d;
    int oh = nn_conv_out_size(s->h, s->kh, s->stride, s->pad);
    int ow = nn_conv_out_size(s->w, s->kw, s->stride, s->pad);
    d.k = (size_t)s->c_in * s->kh * s->kw;
    d.p = (size_t)oh * ow;
    d.in = (size_t)s->c_in * s->h * s->w;
    d.out = (size_t)s->c_out * d.p;
    size_t nb = COL_FLOATS / (d.k * d.p);
    d.nb = nb < 1 ? 1 : nb < (size_t)s->batch ? (int)nb : s->batch;
    return d;
}

/* X = [im2col(in_0) … im2col(in_{nb−1})], ld = nb·P floats per row. */
static void im2col_chunk(float *x, const float *in, int nb, const conv_dims *d,
                         const nn_conv_shape *s)
{
    for (int n = 0; n < nb; n++)
        im2col_ld(x + n * d->p, (size_t)nb * d->p, in + n * d->in, s);
}
/* END SOLUTION */

long nn_conv2d_workspace(const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)s; return 0; */
    /* X, Y and D, as laid out above. */
    conv_dims d = dims_of(s);
    size_t k1 = d.k + 1, chunk = (size_t)d.nb * d.p;
    return (long)(k1 * chunk + (size_t)s->c_out * chunk + k1 * (size_t)s->c_out);
    /* END SOLUTION */
}

void nn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                       float *work, const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)w; (void)b; (void)work; (void)s; */
    /* Per chunk: Y = W · X in one sgemm, then out_n[o, :] = Y[o, n·P : (n+1)·P]
     * + b[o]. Row o of Y holds output channel o of the whole chunk; the
     * last pass puts each image's block back in NCHW order and adds the
     * bias on the way, a pass the bias would need anyway. */
    conv_dims d = dims_of(s);
    float *x = work, *y = x + (d.k + 1) * d.nb * d.p;
    for (int n0 = 0; n0 < s->batch; n0 += d.nb) {
        int nb = s->batch - n0 < d.nb ? s->batch - n0 : d.nb;
        size_t ld = (size_t)nb * d.p;
        im2col_chunk(x, in + n0 * d.in, nb, &d, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c_out, (int)ld, (int)d.k,
                    1.0f, w, (int)d.k, x, (int)ld, 0.0f, y, (int)ld);
        for (int n = 0; n < nb; n++)
            for (int o = 0; o < s->c_out; o++) {
                float *dst = out + (n0 + n) * d.out + o * d.p;
                const float *src = y + o * ld + n * d.p;
                for (size_t q = 0; q < d.p; q++)
                    dst[q] = src[q] + b[o];
            }
    }
    /* END SOLUTION */
}

void nn_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, float *work, const nn_conv_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dw; (void)db; (void)dout; (void)in; (void)w; (void)work; (void)s; */
    /* Per chunk, with G = [G_0 … G_{nb−1}] [c_out, nb·P] the chunk's output
     * gradients side by side:
     *   ∂L/∂Wᵀ += X · Gᵀ    one sgemm, whose inner dimension nb·P sums
     *                        Σ_n X_n G_nᵀ over the chunk by itself
     *   ∂L/∂b  += G · 1     the bias is a weight on a constant input 1: a
     *                        row of ones under X makes the same sgemm give
     *                        it as row K of the result
     *   ∂X      = Wᵀ · G    written over X (no longer needed), then
     *   ∂L/∂in_n += col2im(∂X_n).
     * The gradient is built transposed, D = [∂L/∂W | ∂L/∂b]ᵀ [K + 1, c_out],
     * summed over the chunks and added to dw and db at the end: OpenBLAS
     * computes X · Gᵀ faster than G · Xᵀ (measured: 84 against 70 GFLOP/s
     * on LeNet's second layer). X is rebuilt by im2col rather than kept
     * from the forward pass, which would need all the batch's X at once. */
    conv_dims d = dims_of(s);
    size_t k1 = d.k + 1;
    float *x = work, *g = x + k1 * d.nb * d.p, *dt = g + (size_t)s->c_out * d.nb * d.p;
    memset(dt, 0, sizeof *dt * k1 * s->c_out);
    for (int n0 = 0; n0 < s->batch; n0 += d.nb) {
        int nb = s->batch - n0 < d.nb ? s->batch - n0 : d.nb;
        size_t ld = (size_t)nb * d.p;
        for (int n = 0; n < nb; n++)
            for (int o = 0; o < s->c_out; o++)
                memcpy(g + o * ld + n * d.p, dout + (n0 + n) * d.out + o * d.p,
                       sizeof *g * d.p);
        im2col_chunk(x, in + n0 * d.in, nb, &d, s);
        for (size_t q = 0; q < ld; q++)
            x[d.k * ld + q] = 1.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)k1, s->c_out, (int)ld,
                    1.0f, x, (int)ld, g, (int)ld, 1.0f, dt, s->c_out);
        if (!din)
            continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d.k, (int)ld, s->c_out,
                    1.0f, w, (int)d.k, g, (int)ld, 0.0f, x, (int)ld);
        for (int n = 0; n < nb; n++)
            col2im_ld(din + (n0 + n) * d.in, x + n * d.p, ld, s);
    }
    for (int o = 0; o < s->c_out; o++) {
        for (size_t k = 0; k < d.k; k++)
            dw[o * d.k + k] += dt[k * s->c_out + o];
        db[o] += dt[d.k * s->c_out + o];
    }
    /* END SOLUTION */
}
