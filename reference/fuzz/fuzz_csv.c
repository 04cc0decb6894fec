/*
 * libFuzzer target for the CSV parser: nn_csv_parse() must accept or refuse
 * any text with a message, never crash, hang, leak or read outside the
 * buffer (built with AddressSanitizer and UBSan by tools/fuzz.sh). A parsed
 * table also goes through nn_table_to_dataset() with its last column as
 * the label. Seeds: reference/fuzz/corpus/csv/.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "nnlab/data.h"
#include "nnlab/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the sums go, so that the compiler cannot skip the reads. */
static volatile float sink;

/* The table's promises: a name per column, finite cells, and in a text
 * column whole codes below its number of categories. */
static void check_table(const nn_table *t)
{
    if (t->rows < 1 || t->cols < 1)
        __builtin_trap();
    float sum = 0.0f;
    for (int c = 0; c < t->cols; c++) {
        sum += (float)strlen(t->names[c]);
        int levels = t->levels[c] ? t->n_levels[c] : 0;
        for (int k = 0; k < levels; k++)
            sum += (float)strlen(t->levels[c][k]);
        for (int r = 0; r < t->rows; r++) {
            float v = t->values[(size_t)r * t->cols + c];
            if (!isfinite(v))
                __builtin_trap();
            if (t->levels[c] && (v < 0 || v >= (float)levels || v != floorf(v)))
                __builtin_trap();
            sum += v;
        }
    }
    sink = sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_table t;
    nn_clear_error();
    if (nn_csv_parse(&t, (const char *)data, size) == NN_OK) {
        check_table(&t);
        nn_dataset ds;
        nn_clear_error();
        if (nn_table_to_dataset(&ds, &t, t.cols - 1) == NN_OK) {
            for (int i = 0; i < ds.n; i++)
                if (ds.labels[i] < 0 || ds.labels[i] >= ds.classes)
                    __builtin_trap();
            nn_dataset_free(&ds);
        } else if (nn_last_error()[0] == '\0') {
            __builtin_trap();
        }
    } else if (nn_last_error()[0] == '\0') {
        __builtin_trap(); /* a refusal must say why */
    }
    nn_table_free(&t);
    return 0;
}
