/*
 * Model specifications: presets, the MLP shorthand and layer lists.
 *
 *   "lenet5"                  a preset: replaced by its layer list
 *   "784-256-128-10" + relu   the MLP shorthand: input shape [784, 1, 1] and
 *                             "dense:256,relu,dense:128,relu,dense:10"
 *   "conv:6x5x5:pad=2,relu,maxpool:2,...,dense:10"   a layer list
 *
 * Parsing fills in each layer's kind and settings; model.c then works out
 * the shapes and allocates.
 */
#include "model_spec.h"
#include "nnlab/error.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE 1000000

static const struct {
    const char *name;
    const char *spec;
} presets[] = {
    { "mlp", "784-256-128-10" },
    { "lenet5", "conv:6x5x5:pad=2,relu,maxpool:2,conv:16x5x5,relu,maxpool:2,flatten,"
                "dense:120,relu,dense:84,relu,dense:10" },
    { "lenet5-bn", "conv:6x5x5:pad=2,batchnorm,relu,maxpool:2,conv:16x5x5,batchnorm,relu,"
                   "maxpool:2,flatten,dense:120,batchnorm,relu,dense:84,batchnorm,relu,"
                   "dropout:0.25,dense:10" },
};

const char *nn_spec_preset(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(name, presets[i].name) == 0)
            return presets[i].spec;
    return name;
}

/* A whole-string integer in [lo, hi], or -1. */
static int parse_int(const char *s, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    return (int)v;
}

/* "784-256-10" → widths; returns the count, or -1. */
static int parse_widths(int *widths, int max, const char *spec)
{
    int n = 0;
    char buf[NN_SPEC_MAX];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, "-", &save); tok;
         tok = strtok_r(NULL, "-", &save)) {
        if (n == max || (widths[n++] = parse_int(tok, 1, MAX_SIZE)) < 0)
            return -1;
    }
    /* strtok_r skips empty fields, so "784--10" must be caught by length */
    return n >= 2 && spec[0] != '-' && spec[strlen(spec) - 1] != '-' && !strstr(spec, "--")
               ? n : -1;
}

int nn_spec_is_mlp(const char *spec)
{
    return strspn(spec, "0123456789-") == strlen(spec) && spec[0] != '\0';
}

static int expand_mlp(nn_layer *layers, int max, const char *spec, nn_act act, int *in_shape)
{
    int widths[NN_MAX_LAYERS];
    int n = parse_widths(widths, NN_MAX_LAYERS, spec);
    if (n < 0 || 2 * (n - 1) - 1 > max)
        return nn_fail("model '%s': expected layer widths like 784-256-10", spec), -1;
    int count = 0;
    for (int i = 1; i < n; i++) {
        layers[count].kind = NN_LAYER_DENSE;
        layers[count++].out_c = widths[i];
        if (i + 1 < n) {
            layers[count].kind = NN_LAYER_ACTIVATION;
            layers[count++].act = act;
        }
    }
    in_shape[0] = widths[0];
    in_shape[1] = in_shape[2] = 1;
    return count;
}

/* "stride=2" or "pad=1" after a conv or pool; -1 on anything else. */
static int parse_option(nn_layer *l, const char *opt)
{
    const char *eq = strchr(opt, '=');
    if (!eq)
        return -1;
    int v = parse_int(eq + 1, 0, 1000);
    if (strncmp(opt, "stride=", 7) == 0 && v >= 1)
        l->stride = v;
    else if (strncmp(opt, "pad=", 4) == 0 && v >= 0 && l->kind == NN_LAYER_CONV)
        l->pad = v;
    else
        return -1;
    return 0;
}

/* "6x5x5" → out channels, kernel height, kernel width. */
static int parse_conv_size(nn_layer *l, const char *arg)
{
    char tail;
    if (!arg || sscanf(arg, "%dx%dx%d%c", &l->out_c, &l->kh, &l->kw, &tail) != 3 ||
        l->out_c < 1 || l->out_c > MAX_SIZE || l->kh < 1 || l->kh > 1000 || l->kw < 1 ||
        l->kw > 1000)
        return -1;
    return 0;
}

/* One token "name[:arg][:opt=v...]" of a layer list. */
static int parse_token(nn_layer *l, char *tok)
{
    char *save = NULL;
    char *name = strtok_r(tok, ":", &save);
    char *arg = strtok_r(NULL, ":", &save);
    if (!name)
        return -1;
    l->stride = 1;
    if (strcmp(name, "dense") == 0) {
        l->kind = NN_LAYER_DENSE;
        if (!arg || (l->out_c = parse_int(arg, 1, MAX_SIZE)) < 0)
            return -1;
    } else if (strcmp(name, "conv") == 0) {
        l->kind = NN_LAYER_CONV;
        if (parse_conv_size(l, arg))
            return -1;
    } else if (strcmp(name, "maxpool") == 0 || strcmp(name, "avgpool") == 0) {
        l->kind = name[0] == 'm' ? NN_LAYER_MAXPOOL : NN_LAYER_AVGPOOL;
        if (!arg || (l->kh = l->kw = l->stride = parse_int(arg, 1, 1000)) < 0)
            return -1;
    } else if (strcmp(name, "dropout") == 0) {
        char *end;
        l->kind = NN_LAYER_DROPOUT;
        l->p = arg ? strtof(arg, &end) : -1.0f;
        if (!arg || *end || !(l->p >= 0.0f && l->p < 1.0f))
            return -1;
    } else if (strcmp(name, "flatten") == 0 || strcmp(name, "batchnorm") == 0) {
        l->kind = name[0] == 'f' ? NN_LAYER_FLATTEN : NN_LAYER_BATCHNORM;
        if (arg)
            return -1;
    } else {
        int act = nn_act_from_name(name);
        if (act < 0 || arg)
            return -1;
        l->kind = NN_LAYER_ACTIVATION;
        l->act = (nn_act)act;
        return 0;
    }
    for (char *opt = strtok_r(NULL, ":", &save); opt; opt = strtok_r(NULL, ":", &save))
        if ((l->kind != NN_LAYER_CONV && l->kind != NN_LAYER_MAXPOOL &&
             l->kind != NN_LAYER_AVGPOOL) || parse_option(l, opt))
            return -1;
    return 0;
}

static int parse_list(nn_layer *layers, int max, const char *spec)
{
    size_t len = strlen(spec);
    if (strstr(spec, ",,") || spec[0] == ',' || (len && spec[len - 1] == ','))
        return nn_fail("model '%s': empty layer between commas", spec), -1;
    char buf[NN_SPEC_MAX];
    snprintf(buf, sizeof buf, "%s", spec);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == max)
            return nn_fail("model '%s': more than %d layers", spec, max), -1;
        char copy[NN_SPEC_MAX];
        snprintf(copy, sizeof copy, "%s", tok);
        if (parse_token(&layers[n], tok))
            return nn_fail("model: cannot read layer '%s' (expected dense:N, conv:CxKxK[:stride=S]"
                           "[:pad=P], maxpool:K, avgpool:K, flatten, dropout:P, batchnorm, or "
                           "an activation)", copy), -1;
        n++;
    }
    if (n == 0)
        return nn_fail("model: empty specification"), -1;
    return n;
}

int nn_spec_parse(nn_layer *layers, int max, const char *spec, nn_act act, int *in_shape)
{
    if (strlen(spec) >= NN_SPEC_MAX)
        return nn_fail("model specification longer than %d characters", NN_SPEC_MAX - 1), -1;
    const char *full = nn_spec_preset(spec);
    if (nn_spec_is_mlp(full))
        return expand_mlp(layers, max, full, act, in_shape);
    return parse_list(layers, max, full);
}
