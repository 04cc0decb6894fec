/**
 * @file plot.h
 * @brief Pictures with gnuplot: training curves (PNG or ASCII), confusion
 *        matrices, image grids, convolution filters, decision boundaries.
 *
 * Every picture is a PNG drawn by gnuplot's pngcairo terminal with the font
 * DejaVu Sans. File names containing a single quote or a newline are refused
 * (gnuplot could not quote them); class names and titles may hold any text.
 * Each function returns NN_ERROR with nn_last_error() set when its arguments
 * are wrong, gnuplot is missing, or gnuplot fails.
 */
#ifndef NNLAB_PLOT_H
#define NNLAB_PLOT_H

#include "nnlab/data.h"
#include "nnlab/model.h"

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

/**
 * @brief Count a confusion matrix: counts[t·classes + p] is the number of
 *        examples of true class t predicted as class p.
 *
 * The diagonal holds the right answers; row t sums to the number of
 * examples of class t. Pairs with a label or prediction outside
 * [0, classes) are not counted.
 * @param counts [classes, classes] output, row = true class, column = predicted
 * @param pred [n] predicted classes
 * @param labels [n] true classes
 * @param n number of examples
 * @param classes number of classes
 */
void nn_confusion_counts(int *counts, const int *pred, const int *labels, int n, int classes);

/**
 * @brief Draw a confusion matrix as a heatmap with the count in each cell.
 *
 * True class down the y axis (class 0 at the top), predicted class along
 * the x axis, so the right answers run down the diagonal. Cells are shaded
 * from white (0) to dark blue (the largest count); the subtitle gives n and
 * the accuracy. PNG 900x800.
 * @param png PNG file to write
 * @param pred [n] predicted classes, each in [0, classes)
 * @param labels [n] true classes, each in [0, classes)
 * @param n number of examples, >= 1
 * @param classes number of classes, 2..100 (counts are written in the
 *        cells up to 30 classes; beyond, the shading alone tells)
 * @param names [classes] class names for the tics, or NULL for 0, 1, 2, ...
 * @param title title, or NULL for "confusion matrix"
 * @return NN_OK, or NN_ERROR (bad arguments, a class out of range, no gnuplot,
 *         gnuplot failed)
 */
int nn_plot_confusion(const char *png, const int *pred, const int *labels, int n, int classes,
                      const char *const *names, const char *title);

/**
 * @brief Draw grayscale images in a grid, each captioned with its class.
 *
 * Each caption reads "true / predicted"; a wrong prediction gets a red
 * caption and a red frame, and a header line counts them. Without pred
 * the caption is the true class alone. Pixel values are clamped to [0, 1]
 * and drawn black (0) to white (1).
 * @param png PNG file to write (about 150 pixels per image across)
 * @param images [n, h, w] pixel values in [0, 1]
 * @param n number of images, 1..400
 * @param h image height, 1..256
 * @param w image width, 1..256
 * @param labels [n] true classes
 * @param pred [n] predicted classes, or NULL
 * @param names class names indexed by class, covering every label and
 *        prediction; or NULL to print class numbers
 * @param cols images per row; <= 0 for a square-ish grid (⌈√n⌉)
 * @return NN_OK, or NN_ERROR (bad arguments, no gnuplot, gnuplot failed)
 */
int nn_plot_images(const char *png, const float *images, int n, int h, int w,
                   const int *labels, const int *pred, const char *const *names, int cols);

/**
 * @brief Draw a convolution layer's filters, one tile per output channel.
 *
 * A filter with several input channels is shown as the mean over them: on
 * a gray input (the same image in every channel) the filter acts exactly as
 * that mean kernel, times c_in. Each tile is scaled to its own minimum
 * (black) and maximum (white), so the pattern shows whatever the weights'
 * size; a constant filter is drawn mid-gray. At most 8 tiles per row.
 * @param png PNG file to write
 * @param w [c_out, c_in, kh, kw] filters, as in conv.h (e.g. the first
 *        conv layer's nn_layer::w)
 * @param c_out number of filters, 1..256
 * @param c_in input channels, >= 1
 * @param kh kernel height, 1..64
 * @param kw kernel width, 1..64
 * @return NN_OK, or NN_ERROR (bad arguments, no gnuplot, gnuplot failed)
 */
int nn_plot_filters(const char *png, const float *w, int c_out, int c_in, int kh, int kw);

/**
 * @brief Draw a classifier's decision regions over a 2-D data set.
 *
 * The model's predicted class is evaluated on a resolution x resolution
 * grid spanning the points' bounding box plus a 10% margin on every side
 * and drawn as light class colours; the points go on top in the full
 * colour of their true class. The title gives the model's accuracy on the
 * points. Leaves the model in evaluation mode (nn_model_set_training(m, 0)).
 * PNG 820 pixels wide, as tall as the data with equal scales on both axes.
 * @param png PNG file to write
 * @param m model with 2 inputs and at least ds->classes outputs
 * @param ds data set with dim 2 and f32 features (a synthetic set, say)
 * @param resolution grid cells per side, 2..1000 (200 looks smooth)
 * @return NN_OK, or NN_ERROR (not 2-D data, model and data disagree,
 *         out of memory, no gnuplot, gnuplot failed)
 */
int nn_plot_boundary(const char *png, nn_model *m, const nn_dataset *ds, int resolution);

#endif
