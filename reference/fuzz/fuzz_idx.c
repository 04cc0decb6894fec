/*
 * libFuzzer target for the IDX parser: nn_idx_parse() must accept or refuse
 * any bytes with a message, never crash, hang, leak or read outside the
 * buffer (built with AddressSanitizer and UBSan by tools/fuzz.sh).
 * Seeds: reference/fuzz/corpus/idx/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "nnlab/data.h"
#include "nnlab/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the sums go, so that the compiler cannot skip the reads. */
static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_idx idx;
    nn_clear_error();
    if (nn_idx_parse(&idx, data, size) == NN_OK) {
        /* The header's promises: 1..3 extents in [1, 2^24] whose product is
         * the payload, which is the rest of the input, copied exactly. */
        if (idx.ndim < 1 || idx.ndim > 3)
            __builtin_trap();
        size_t product = 1;
        for (int d = 0; d < idx.ndim; d++) {
            if (idx.dims[d] < 1 || idx.dims[d] > (1 << 24))
                __builtin_trap();
            product *= (size_t)idx.dims[d];
        }
        size_t header = 4 + 4 * (size_t)idx.ndim;
        if (product != idx.size || header + idx.size != size)
            __builtin_trap();
        if (memcmp(idx.data, data + header, idx.size) != 0)
            __builtin_trap();
        unsigned sum = 0;
        for (size_t k = 0; k < idx.size; k++)
            sum += idx.data[k];
        sink = sum;
    } else if (nn_last_error()[0] == '\0') {
        __builtin_trap(); /* a refusal must say why */
    }
    nn_idx_free(&idx);
    return 0;
}
