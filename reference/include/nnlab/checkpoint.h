/**
 * @file checkpoint.h
 * @brief safetensors files: named float32 tensors plus string metadata.
 *
 * Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON mapping each tensor name to its dtype,
 * shape and [begin, end) byte offsets in the data section, an optional
 * "__metadata__" object of string pairs, then the raw data. Files written
 * here load in PyTorch (`safetensors.torch.load_file`) and numpy.
 */
#ifndef NNLAB_CHECKPOINT_H
#define NNLAB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "nnlab/tensor.h"

/** Longest tensor or metadata name, including the NUL. */
#define NN_NAME_MAX 64

/** One named tensor of a safetensors file. */
typedef struct {
    char name[NN_NAME_MAX];  /**< tensor name, e.g. "layers.0.weight" */
    nn_tensor t;             /**< shape and float32 data (owned by the file struct after reading) */
} nn_st_tensor;

/** One metadata entry. */
typedef struct {
    char key[NN_NAME_MAX];   /**< key */
    char *value;             /**< value, owned */
} nn_st_meta;

/** The contents of a safetensors file. */
typedef struct {
    int n_tensors;           /**< number of tensors */
    nn_st_tensor *tensors;   /**< [n_tensors] */
    int n_meta;              /**< number of metadata entries */
    nn_st_meta *meta;        /**< [n_meta] */
} nn_st_file;

/**
 * @brief Parse a safetensors file held in memory (F32 tensors only).
 *
 * Rejects: fewer than 8 bytes; a header length beyond the buffer or above
 * 100 MB; JSON that does not parse; a dtype other than F32; more than
 * NN_MAX_DIMS dimensions, a scalar (shape []) or a zero extent; offsets out
 * of order, overlapping, outside the data section, or not matching the
 * shape's byte count; gaps between tensors or bytes after the last one (as
 * the reference implementation does); duplicate names; names or metadata
 * keys of NN_NAME_MAX bytes or more. Tensors keep the header's order.
 * @param f contents out; free with nn_st_free()
 * @param buf [len] file bytes
 * @param len number of bytes
 * @return NN_OK or NN_ERROR with a message naming the problem
 */
int nn_st_parse(nn_st_file *f, const uint8_t *buf, size_t len);

/**
 * @brief Read a safetensors file.
 * @param f contents out
 * @param path file name
 * @return NN_OK or NN_ERROR naming the file and the problem
 */
int nn_st_read(nn_st_file *f, const char *path);

/**
 * @brief Write tensors and metadata as a safetensors file.
 *
 * Written to `path.tmp` then renamed, so a failure never leaves a
 * half-written file under the final name. Tensors are laid out in the given
 * order, contiguously; names must be unique, non-empty and not
 * "__metadata__", and each tensor's size must match its shape.
 * @param path file name
 * @param f contents
 * @return NN_OK or NN_ERROR
 */
int nn_st_write(const char *path, const nn_st_file *f);

/**
 * @brief Find a tensor by name.
 * @param f contents
 * @param name tensor name
 * @return the tensor, or NULL
 */
const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name);

/**
 * @brief Find a metadata value by key.
 * @param f contents
 * @param key metadata key
 * @return the value, or NULL
 */
const char *nn_st_meta_get(const nn_st_file *f, const char *key);

/**
 * @brief Free everything a file struct owns; safe on a zeroed struct.
 *
 * For structs filled by nn_st_parse()/nn_st_read(). Metadata values are
 * released with nn_free() (that is, free()).
 * @param f contents
 */
void nn_st_free(nn_st_file *f);

#endif
