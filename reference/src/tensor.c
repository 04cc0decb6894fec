/* Aligned buffers and tensors: the only place the framework calls malloc. */
#include "nnlab/tensor.h"
#include "nnlab/error.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *nn_alloc(size_t bytes)
{
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes)
        return nn_fail("allocation of %zu bytes overflows", bytes), NULL;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        nn_fail("out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

void nn_free(void *p)
{
    free(p);
}

int nn_tensor_alloc(nn_tensor *t, int ndim, const int *shape)
{
    memset(t, 0, sizeof *t);
    if (ndim < 1 || ndim > NN_MAX_DIMS)
        return nn_fail("tensor rank %d outside 1..%d", ndim, NN_MAX_DIMS);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return nn_fail("tensor dimension %d is %d, must be >= 1", i, shape[i]);
        if (size > SIZE_MAX / sizeof(float) / (size_t)shape[i])
            return nn_fail("tensor too large");
        size *= (size_t)shape[i];
        t->shape[i] = shape[i];
    }
    t->data = nn_alloc(size * sizeof(float));
    if (!t->data)
        return NN_ERROR;
    t->ndim = ndim;
    t->size = size;
    return NN_OK;
}

void nn_tensor_free(nn_tensor *t)
{
    nn_free(t->data);
    memset(t, 0, sizeof *t);
}

void nn_tensor_zero(nn_tensor *t)
{
    memset(t->data, 0, t->size * sizeof(float));
}
