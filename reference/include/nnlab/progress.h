/**
 * @file progress.h
 * @brief A training progress bar: epoch, batch, loss, images/s, ETA.
 *
 * On a terminal the bar redraws in place (at most ten times a second);
 * when the output is a file or a pipe it prints one plain line per epoch.
 */
#ifndef NNLAB_PROGRESS_H
#define NNLAB_PROGRESS_H

#include <stdio.h>

/** Progress of one epoch. */
typedef struct {
    FILE *out;          /**< where to draw (stderr by default) */
    int tty;            /**< redraw in place (out is a terminal) */
    int epoch;          /**< current epoch, from 1 */
    int epochs;         /**< number of epochs */
    int batches;        /**< batches in this epoch */
    long images;        /**< images seen this epoch */
    double start;       /**< epoch start, seconds */
    double last_draw;   /**< last redraw, seconds */
} nn_progress;

/** @brief Monotonic wall-clock time. @return seconds since an arbitrary fixed point */
double nn_now(void);

/**
 * @brief Begin an epoch.
 * @param p progress state
 * @param out stream to draw on; NULL for stderr
 * @param epoch epoch number, from 1
 * @param epochs total epochs
 * @param batches batches in the epoch
 */
void nn_progress_begin(nn_progress *p, FILE *out, int epoch, int epochs, int batches);

/**
 * @brief Report a finished batch (draws on a terminal only).
 * @param p progress state
 * @param batch batches done, 1..batches
 * @param images rows in this batch
 * @param loss running mean loss of the epoch
 */
void nn_progress_update(nn_progress *p, int batch, int images, float loss);

/**
 * @brief End the epoch with one line: the summary text, images/s and time.
 * @param p progress state
 * @param summary e.g. "loss 0.41 acc 85.2% | val loss 0.44 acc 84.1%"
 */
void nn_progress_end(nn_progress *p, const char *summary);

#endif
