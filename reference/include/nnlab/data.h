/**
 * @file data.h
 * @brief Data sets: IDX files (MNIST, Fashion-MNIST), CSV tables, Iris,
 *        synthetic 2-D sets, train/validation split, minibatch gathering.
 *
 * A data set is a table of n examples of dim features with an integer
 * class label each. Images are kept as bytes (0..255) and scaled to
 * [0, 1] floats only when a minibatch is gathered, which keeps Fashion-MNIST
 * at 47 MB in memory instead of 188 MB.
 */
#ifndef NNLAB_DATA_H
#define NNLAB_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "nnlab/rng.h"

/** A labelled data set. Exactly one of u8 and f32 holds the features. */
typedef struct {
    int n;              /**< number of examples */
    int dim;            /**< features per example (channels·height·width for images) */
    int classes;        /**< number of classes; labels lie in [0, classes) */
    int channels;       /**< image channels (1), or 0 for a plain table */
    int height;         /**< image height, or 0 */
    int width;          /**< image width, or 0 */
    uint8_t *u8;        /**< [n, dim] pixel bytes, scaled by 1/255 on gathering; or NULL */
    float *f32;         /**< [n, dim] float features; or NULL */
    int *labels;        /**< [n] class labels */
    char name[32];      /**< e.g. "fashion-mnist/train" */
} nn_dataset;

/** An IDX array as stored by MNIST-style files (unsigned-byte type only). */
typedef struct {
    int ndim;           /**< number of dimensions, 1..3 */
    int dims[3];        /**< extents */
    size_t size;        /**< product of the extents */
    uint8_t *data;      /**< [size] values, owned */
} nn_idx;

/**
 * @brief Parse an IDX file held in memory.
 *
 * Checks: at least 4 bytes; magic 0x00 0x00 0x08 (unsigned byte) and a
 * dimension count 1..3; every dimension in [1, 2^24]; the payload exactly
 * the product of the dimensions.
 * @param out parsed array (its data is a fresh copy)
 * @param buf [len] file bytes
 * @param len number of bytes
 * @return NN_OK, or NN_ERROR with a message naming the failed check
 */
int nn_idx_parse(nn_idx *out, const uint8_t *buf, size_t len);

/**
 * @brief Read an IDX file, plain or gzip-compressed (.gz).
 * @param out parsed array
 * @param path file name
 * @return NN_OK, or NN_ERROR naming the file and the problem
 */
int nn_idx_read(nn_idx *out, const char *path);

/** @brief Free an IDX array. @param idx array */
void nn_idx_free(nn_idx *idx);

/**
 * @brief Load the MNIST-format training and test sets from a folder.
 *
 * The folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally with
 * ".gz". Images and labels must agree in count; labels must be < 10.
 * @param train training set out
 * @param test test set out
 * @param dir folder
 * @param name data set name stored in the sets ("fashion-mnist", "mnist")
 * @return NN_OK or NN_ERROR
 */
int nn_load_idx_dir(nn_dataset *train, nn_dataset *test, const char *dir, const char *name);

/**
 * @brief Find the folder of a named IDX data set.
 *
 * Searched in order: $NNLAB_DATA/NAME, datasets/downloads/NAME under
 * the current folder and under NNLAB_ROOT (the source tree, compiled in),
 * and for fashion-mnist Debian's /usr/share/datasets/fashion-mnist. The
 * first folder holding train-images-idx3-ubyte (or .gz) wins.
 * @param dir [size] folder found
 * @param size capacity of dir
 * @param name "fashion-mnist" or "mnist"
 * @return NN_OK, or NN_ERROR saying where it looked and how to get the data
 */
int nn_find_dataset(char *dir, size_t size, const char *name);

/**
 * @brief Load a named data set: "fashion-mnist", "mnist" (found by
 *        nn_find_dataset()), "iris" (the bundled table), or a synthetic one:
 *        "xor", "spirals", "moons", "circles", "blobs" (seeded).
 *
 * Synthetic sets give 1000 training and 500 test points; Iris
 * (iris.csv, looked for in $NNLAB_DATA, datasets/ and NNLAB_ROOT/datasets/)
 * splits its 150 rows 120/30 by a seeded shuffle.
 * @param train training set out
 * @param test test set out
 * @param name data set name
 * @param seed seed for synthetic sets and splits
 * @return NN_OK or NN_ERROR
 */
int nn_load_dataset(nn_dataset *train, nn_dataset *test, const char *name, uint64_t seed);

/** @brief Free a data set's arrays; safe on a zeroed struct. @param ds data set */
void nn_dataset_free(nn_dataset *ds);

/**
 * @brief Gather a minibatch: rows idx[0..count) as floats (bytes / 255).
 * @param x [count, dim] features out
 * @param y [count] labels out
 * @param ds data set
 * @param idx [count] row indices
 * @param count number of rows
 */
void nn_dataset_gather(float *x, int *y, const nn_dataset *ds, const int *idx, int count);

/**
 * @brief Move a seeded random fraction of a data set into a validation set.
 * @param train data set; shuffled, and shrunk to the remaining rows
 * @param val validation set out (a fresh copy of the moved rows)
 * @param fraction share moved, in (0, 1)
 * @param rng random stream
 * @return NN_OK or NN_ERROR
 */
int nn_dataset_split(nn_dataset *train, nn_dataset *val, float fraction, nn_rng *rng);

/** Which synthetic 2-D data set to generate. */
typedef enum {
    NN_SYN_XOR,      /**< four Gaussian clusters, label = xor of the quadrant signs (2 classes) */
    NN_SYN_SPIRALS,  /**< interleaved arms of Archimedean spirals (`classes` arms) */
    NN_SYN_MOONS,    /**< two interleaving half circles (2 classes) */
    NN_SYN_CIRCLES,  /**< a circle inside a ring (2 classes) */
    NN_SYN_BLOBS     /**< isotropic Gaussian blobs around spread centres (`classes` blobs) */
} nn_synthetic;

/**
 * @brief Generate a synthetic 2-D data set from a seed.
 * @param ds data set out (dim 2, f32 features)
 * @param kind which set
 * @param n number of points, >= classes
 * @param classes number of classes (forced to 2 for xor, moons, circles)
 * @param noise standard deviation of the Gaussian noise added to each point
 * @param rng random stream
 * @return NN_OK or NN_ERROR
 */
int nn_make_synthetic(nn_dataset *ds, nn_synthetic kind, int n, int classes, float noise,
                      nn_rng *rng);

/** A numeric CSV table with a header line. */
typedef struct {
    int rows;           /**< data rows */
    int cols;           /**< columns */
    char **names;       /**< [cols] header names */
    float *values;      /**< [rows, cols] numeric cells; a non-numeric column holds category indices */
    char ***levels;     /**< [cols] for a non-numeric column, its category names in order of first appearance; NULL for numeric columns */
    int *n_levels;      /**< [cols] number of categories (0 for numeric columns) */
} nn_table;

/**
 * @brief Parse CSV text: a header line, then rows of equal width.
 *
 * Fields are separated by commas (no quoting); surrounding spaces are
 * ignored; empty lines are skipped; at least one data row must follow the
 * header. A column whose every cell is a finite number is numeric; a column
 * with no number in it is categorical and is coded 0, 1, 2, ... in order of
 * first appearance; a column mixing numbers and text is rejected (it is
 * most often a typo or a missing-value marker such as "NA").
 * @param t table out
 * @param text [len] the CSV text (need not be NUL-terminated)
 * @param len number of bytes
 * @return NN_OK, or NN_ERROR naming the line and the problem
 */
int nn_csv_parse(nn_table *t, const char *text, size_t len);

/**
 * @brief Read a CSV file (at most 64 MB).
 * @param t table out
 * @param path file name
 * @return NN_OK or NN_ERROR
 */
int nn_csv_read(nn_table *t, const char *path);

/** @brief Free a table; safe on a zeroed struct. @param t table */
void nn_table_free(nn_table *t);

/**
 * @brief Turn a table into a data set: every column but `label_col` is a
 *        feature, `label_col` (categorical or integer) is the class.
 * @param ds data set out (f32 features)
 * @param t table
 * @param label_col index of the label column
 * @return NN_OK or NN_ERROR
 */
int nn_table_to_dataset(nn_dataset *ds, const nn_table *t, int label_col);

#endif
