/**
 * @file plot.h
 * @brief Curves with gnuplot: training logs to PNG (pngcairo) or ASCII.
 */
#ifndef NNLAB_PLOT_H
#define NNLAB_PLOT_H

/**
 * @brief Is gnuplot on the PATH?
 * @return 1 if `gnuplot` can be run, else 0
 */
int nn_have_gnuplot(void);

/**
 * @brief Draw a training log's loss and accuracy curves.
 *
 * The log is a CSV with a header naming its columns (as written by the
 * trainer: epoch,train_loss,train_acc,val_loss,val_acc,...). The first
 * column is x; columns whose name contains "loss" go on the left axis,
 * those containing "acc" on the right; others are ignored. File names
 * containing a single quote or a newline are refused (gnuplot could not
 * quote them).
 * @param csv_path training log
 * @param png_path PNG to write (pngcairo, 900x560); NULL for none
 * @param ascii nonzero: also draw the loss curves on stdout as text (`dumb`)
 * @return NN_OK, or NN_ERROR (no gnuplot, unreadable log, no data rows, no
 *         loss or accuracy column, gnuplot failed)
 */
int nn_plot_log(const char *csv_path, const char *png_path, int ascii);

/**
 * @brief Run a gnuplot script given as text.
 * @param script the commands
 * @return NN_OK, or NN_ERROR with gnuplot's exit status
 */
int nn_gnuplot(const char *script);

#endif
