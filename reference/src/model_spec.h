/*
 * Private to model.c and model_spec.c: turning a specification string
 * into layer settings.
 */
#ifndef NNLAB_MODEL_SPEC_H
#define NNLAB_MODEL_SPEC_H

#include "nnlab/model.h"

/* Most layers a model may have. */
#define NN_MAX_LAYERS 64

/* The layer list of a preset name, or the name itself when it is none. */
const char *nn_spec_preset(const char *name);

/* Is this the MLP shorthand ("784-256-10")? */
int nn_spec_is_mlp(const char *spec);

/* Fill layers[0..n) (zeroed by the caller) with each layer's kind and settings (kind, out_c for
 * dense and conv, kh, kw, stride, pad, p, act); shapes are left to the
 * caller. The MLP shorthand also sets in_shape[3] from its first width.
 * Returns n, or -1 with nn_last_error() set. */
int nn_spec_parse(nn_layer *layers, int max, const char *spec, nn_act act, int *in_shape);

#endif
