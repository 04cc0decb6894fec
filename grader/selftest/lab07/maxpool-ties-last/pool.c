/*
 * Lab 7 — pooling.
 *
 * A pooling layer shrinks each channel by summarising every k×k window in
 * one number: its largest value (max pooling) or its mean (average
 * pooling). It has no parameters; it makes the next layers cheaper and
 * their view of the image wider, and the max makes the network indifferent
 * to where exactly, within a window, a feature was found.
 *
 * Every channel of every image is pooled on its own, so each function
 * below walks the batch·c planes one after another.
 *
 * SELF-TEST MISTAKE (maxpool-ties-last): on ties max pooling keeps the last maximum (>=) instead of the first (>)
 */
#include "nnlab/pool.h"
#include <stddef.h>

/* BEGIN SOLUTION */
/* Windows start at 0, s, 2s, … and must fit: (in − k) / s + 1 of them.
 * (The same count as nn_conv_out_size with no padding, kept here so that
 * pooling does not depend on the convolution half of the lab.) */
static int pooled_size(int in, int k, int stride)
{
    return in < k ? 0 : (in - k) / stride + 1;
}

/* Max pooling of one [h, w] plane (row length w) in the commonest case,
 * 2×2 windows with stride 2, written out: two pairs compared, then the
 * winners. Each comparison keeps the earlier pixel on a tie, as the
 * general loop does. It runs about three times as fast as that loop. */
static void maxpool_2x2_plane(float *out, int *argmax, const float *in, int oh, int ow, int w)
{
    for (int y = 0; y < oh; y++) {
        const float *r0 = in + 2 * y * w, *r1 = r0 + w;
        for (int x = 0; x < ow; x++, out++, argmax++) {
            int at = 2 * y * w + 2 * x;
            float a = r0[2 * x], b = r0[2 * x + 1], c = r1[2 * x], e = r1[2 * x + 1];
            /* MISTAKE: >= keeps the last of equal values; > keeps the first */
            float top = b >= a ? b : a, bottom = e >= c ? e : c;
            int i_top = b >= a ? at + 1 : at, i_bottom = e >= c ? at + w + 1 : at + w;
            *out = bottom >= top ? bottom : top;
            *argmax = bottom >= top ? i_bottom : i_top;
        }
    }
}
/* END SOLUTION */

void nn_maxpool_forward(float *out, int *argmax, const float *in, const nn_pool_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)argmax; (void)in; (void)s; */
    /* out[y,x] = max_{i,j < k} in[y·s + i, x·s + j]. The backward pass needs
     * to know which input won, so the index is kept beside the value. The
     * window is scanned in row-major order and only a strictly larger value
     * replaces the best so far: on ties the first one wins. */
    int oh = pooled_size(s->h, s->k, s->stride);
    int ow = pooled_size(s->w, s->k, s->stride);
    size_t plane = (size_t)s->h * s->w;
    if (s->k == 2 && s->stride == 2) {
        for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, in += plane)
            maxpool_2x2_plane(out + pc * oh * ow, argmax + pc * oh * ow, in, oh, ow, s->w);
        return;
    }
    for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, in += plane)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int first = (y * s->w + x) * s->stride, best = first;
                float m = in[first];
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) {
                        int at = first + i * s->w + j;
                        float v = in[at];
                        /* Two selects rather than an if: they compile to
                         * conditional moves, where a branch on the data
                         * would be mispredicted half the time. */
                        best = v >= m ? at : best; /* MISTAKE: > belongs */
                        m = v >= m ? v : m;
                    }
                *out++ = m;
                *argmax++ = best;
            }
    /* END SOLUTION */
}

void nn_maxpool_backward(float *din, const float *dout, const int *argmax,
                         const nn_pool_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)argmax; (void)s; */
    /* max is, near a point where one input is strictly largest, simply that
     * input: ∂out/∂in = 1 for the winner and 0 for the rest. So each output
     * gradient goes, whole, to the pixel the forward pass recorded. */
    int oh = pooled_size(s->h, s->k, s->stride);
    int ow = pooled_size(s->w, s->k, s->stride);
    size_t plane = (size_t)s->h * s->w;
    for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, din += plane)
        for (int q = 0; q < oh * ow; q++)
            din[*argmax++] += *dout++;
    /* END SOLUTION */
}

void nn_avgpool_forward(float *out, const float *in, const nn_pool_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)in; (void)s; */
    /* out[y,x] = (1/k²) Σ_{i,j < k} in[y·s + i, x·s + j]. */
    int oh = pooled_size(s->h, s->k, s->stride);
    int ow = pooled_size(s->w, s->k, s->stride);
    size_t plane = (size_t)s->h * s->w;
    float scale = 1.0f / (float)(s->k * s->k);
    for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, in += plane)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                const float *win = in + (size_t)y * s->stride * s->w + x * s->stride;
                float sum = 0.0f;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++)
                        sum += win[i * s->w + j];
                *out++ = sum * scale;
            }
    /* END SOLUTION */
}

void nn_avgpool_backward(float *din, const float *dout, const nn_pool_shape *s)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)s; */
    /* Every input of a window enters its output with weight 1/k², so each
     * receives dout/k²; a pixel shared by overlapping windows collects a
     * share from each. */
    int oh = pooled_size(s->h, s->k, s->stride);
    int ow = pooled_size(s->w, s->k, s->stride);
    size_t plane = (size_t)s->h * s->w;
    float scale = 1.0f / (float)(s->k * s->k);
    for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, din += plane)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float *win = din + (size_t)y * s->stride * s->w + x * s->stride;
                float g = *dout++ * scale;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++)
                        win[i * s->w + j] += g;
            }
    /* END SOLUTION */
}
