/*
 * libFuzzer target for the safetensors reader: nn_st_parse() must accept or
 * refuse any bytes with a message, never crash, hang, leak or read outside
 * the buffer (built with AddressSanitizer and UBSan by tools/fuzz.sh).
 * Seeds: reference/fuzz/corpus/safetensors/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "nnlab/checkpoint.h"
#include "nnlab/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the sums go, so that the compiler cannot skip the reads. */
static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_st_file f;
    if (nn_st_parse(&f, data, size) == NN_OK) {
        /* Touch what was parsed, so the sanitizers check every byte of it,
         * and check the promises of the header: a shape of 1..4 positive
         * extents whose product is the size. */
        float sum = 0.0f;
        for (int i = 0; i < f.n_tensors; i++) {
            const nn_tensor *t = &nn_st_find(&f, f.tensors[i].name)->t;
            size_t size = 1;
            if (t->ndim < 1 || t->ndim > NN_MAX_DIMS)
                __builtin_trap();
            for (int d = 0; d < t->ndim; d++)
                size *= t->shape[d] > 0 ? (size_t)t->shape[d] : 0;
            if (size != t->size)
                __builtin_trap();
            for (size_t k = 0; k < t->size; k++)
                sum += t->data[k];
        }
        for (int i = 0; i < f.n_meta; i++)
            sum += (float)strlen(nn_st_meta_get(&f, f.meta[i].key));
        sink = sum;
    } else if (nn_last_error()[0] == '\0') {
        __builtin_trap();   /* a refusal must say why */
    }
    nn_st_free(&f);
    return 0;
}
