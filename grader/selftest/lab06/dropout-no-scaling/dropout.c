/*
 * Lab 6, part 1: regularization.
 *
 * SELF-TEST MISTAKE (dropout-no-scaling): kept units are not scaled by 1/(1 - p) (mask 0 or 1)
 *
 * A network with enough weights can memorise its training set: the
 * training loss keeps falling while the loss on unseen data turns and
 * rises. The three tools below push back in different ways:
 *
 *   dropout        zero a random fraction p of the activations at every
 *                  step, so no unit can count on any particular other one
 *                  being there; it must learn features useful on their own
 *                  (Srivastava et al., 2014);
 *   L2 decay       add (λ/2) Σ w² to the loss: large weights cost, and the
 *                  gradient step shrinks every weight a little towards 0;
 *   early stopping watch the validation loss after each epoch; stop once it
 *                  has not improved for `patience` epochs and keep the
 *                  weights of the best one.
 */
#include "nnlab/dropout.h"
#include <math.h>

void nn_dropout_forward(float *out, float *mask, const float *in, int n, float p,
                        int training, nn_rng *rng)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)out; (void)mask; (void)in; (void)n; (void)p; (void)training; (void)rng; */
    /* At evaluation every unit is present: the layer is the identity. */
    if (!training) {
        for (int i = 0; i < n; i++) {
            out[i] = in[i];
            mask[i] = 1.0f;
        }
        return;
    }
    /* A unit survives with probability 1 − p, so E[mask] = (1 − p) · 1/(1 − p)
     * = 1 and E[out] = in. Scaling at training time ("inverted" dropout)
     * is what lets evaluation skip the layer instead of multiplying every
     * activation by 1 − p there. */
    float keep = 1.0f; /* MISTAKE: no 1/(1 - p) scaling */
    for (int i = 0; i < n; i++) {
        mask[i] = nn_rng_uniform(rng) < p ? 0.0f : keep;
        out[i] = in[i] * mask[i];
    }
    /* END SOLUTION */
}

void nn_dropout_backward(float *din, const float *dout, const float *mask, int n)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)din; (void)dout; (void)mask; (void)n; */
    /* out_i = mask_i · in_i with mask_i a constant of this step, so
     * ∂L/∂in_i = mask_i ∂L/∂out_i: a dropped unit passes no gradient back. */
    for (int i = 0; i < n; i++)
        din[i] += dout[i] * mask[i];
    /* END SOLUTION */
}

float nn_l2_penalty(const float *w, int n, float lambda)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)w; (void)n; (void)lambda; return 0.0f; */
    /* A sum of many squares, accumulated in double as the losses are. */
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += (double)w[i] * w[i];
    return (float)(0.5 * lambda * sum);
    /* END SOLUTION */
}

void nn_l2_backward(float *dw, const float *w, int n, float lambda)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)dw; (void)w; (void)n; (void)lambda; */
    /* ∂/∂w_i (λ/2) Σ_j w_j² = λ w_i. An SGD step then reads
     * w ← w − lr (g + λ w) = (1 − lr λ) w − lr g: each step first shrinks,
     * "decays", the weights by the factor 1 − lr λ. */
    for (int i = 0; i < n; i++)
        dw[i] += lambda * w[i];
    /* END SOLUTION */
}

void nn_early_stop_init(nn_early_stop *es, int patience)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)es; (void)patience; */
    /* best = ∞ makes the first epoch an improvement, whatever its loss. */
    es->best = INFINITY;
    es->best_epoch = -1;
    es->patience = patience;
    es->wait = 0;
    /* END SOLUTION */
}

int nn_early_stop_update(nn_early_stop *es, float val_loss, int epoch)
{
    /* BEGIN SOLUTION */
    /* STUB: (void)es; (void)val_loss; (void)epoch; return 0; */
    /* Strictly lower only: a loss that merely equals the best is no
     * progress, and a NaN loss (any comparison with NaN is false) never
     * counts as one. */
    if (val_loss < es->best) {
        es->best = val_loss;
        es->best_epoch = epoch;
        es->wait = 0;
        return 1;
    }
    es->wait++;
    return es->wait >= es->patience ? -1 : 0;
    /* END SOLUTION */
}
