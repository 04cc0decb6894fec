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
    for (size_t pc = 0; pc < (size_t)s->batch * s->c; pc++, in += plane)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int best = y * s->stride * s->w + x * s->stride;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) {
                        int at = best + i * s->w + j;
                        if (in[at] > in[best])
                            best = at;
                    }
                *out++ = in[best];
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
