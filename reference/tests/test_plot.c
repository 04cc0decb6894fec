/*
 * Tests of plot.c's pictures: confusion matrices, image grids, filters and
 * decision regions.
 *
 * Where gnuplot is installed, each picture must come out as a PNG of the
 * documented size; where it is not, those checks pass with a note, and the
 * picture functions must say that gnuplot is missing. Argument checks and
 * the confusion counts need no gnuplot. Files go to a fresh mkdtemp()
 * directory under $TMPDIR (or /tmp), removed when the suite ends.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nnlab/data.h"
#include "nnlab/error.h"
#include "nnlab/model.h"
#include "nnlab/plot.h"
#include "nnlab/rng.h"
#include "testutil.h"

static char tmp_dir[512];
static int have_tmp_dir;

/* A file name inside the suite's directory, in one of 16 static buffers
 * used in turn: valid for the next 15 calls. */
static const char *tmp_file(const char *name)
{
    static char paths[16][1024];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, sizeof paths[0], "%s/%s", tmp_dir, name);
    return p;
}

static int suite_init(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nnlab-test-plot-XXXXXX", base && *base ? base : "/tmp");
    have_tmp_dir = mkdtemp(tmp_dir) != NULL;
    return have_tmp_dir ? 0 : 1;
}

static int suite_clean(void)
{
    if (!have_tmp_dir)
        return 0;
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove(tmp_file(e->d_name));
    if (d)
        closedir(d);
    rmdir(tmp_dir);
    have_tmp_dir = 0;
    return 0;
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Does the last error message contain word? Prints it when not. */
static int error_mentions(const char *word)
{
    if (strstr(nn_last_error(), word))
        return 1;
    fprintf(stderr, "\n  expected an error mentioning \"%s\", got \"%s\"\n", word, nn_last_error());
    return 0;
}

/* Is path a PNG (its 8-byte signature, then the IHDR chunk)? Its size in
 * pixels out, read from IHDR as two big-endian 32-bit numbers. */
static int read_png_size(const char *path, int *width, int *height)
{
    uint8_t head[24] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    if (n != sizeof head || memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0 ||
        memcmp(head + 12, "IHDR", 4) != 0)
        return 0;
    *width = head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
    *height = head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
    return 1;
}

/* Assert that path is a PNG: of exactly w x h pixels when w > 0, else
 * of some size over 50 x 50. */
#define ASSERT_PNG(path, w, h)                                                   \
    do {                                                                         \
        int pw_ = 0, ph_ = 0;                                                    \
        CU_ASSERT_FATAL(read_png_size((path), &pw_, &ph_));                      \
        if ((w) > 0) {                                                           \
            CU_ASSERT_EQUAL(pw_, (w));                                           \
            CU_ASSERT_EQUAL(ph_, (h));                                           \
        } else {                                                                 \
            CU_ASSERT(pw_ > 50 && ph_ > 50);                                     \
        }                                                                        \
    } while (0)

/* The tests that draw need gnuplot; without it they pass with a note. */
#define NEED_GNUPLOT()                                                           \
    do {                                                                         \
        if (!nn_have_gnuplot()) {                                                \
            CU_PASS("skipped: gnuplot is not installed");                        \
            return;                                                              \
        }                                                                        \
    } while (0)

/* A class name with a quote and one with a newline: both must be drawn
 * (escaped), unlike file names, which are refused. */
static const char *const names3[3] = {"it's", "two\nlines", "T-shirt/top"};

/* ================================================================ confusion */

/* Nine examples of three classes, worked by hand (row = true class):
 *
 *            pred 0  pred 1  pred 2
 *   true 0      1       1       0      examples 0, 1
 *   true 1      0       2       1      examples 2, 3, 4
 *   true 2      1       0       3      examples 5, 6, 7, 8
 *
 * plus two examples outside [0, 3) that must not be counted. */
static const int cm_labels[11] = {0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 1};
static const int cm_pred[11] = {0, 1, 1, 1, 2, 2, 0, 2, 2, 0, -1};

static void test_confusion_counts(void)
{
    static const int expected[9] = {1, 1, 0, 0, 2, 1, 1, 0, 3};
    int counts[9];
    for (int i = 0; i < 9; i++)
        counts[i] = 77;   /* must be overwritten, not added to */
    nn_confusion_counts(counts, cm_pred, cm_labels, 11, 3);
    CU_ASSERT_EQUAL(memcmp(counts, expected, sizeof counts), 0);
    for (int i = 0; i < 9; i++)
        if (counts[i] != expected[i])
            fprintf(stderr, "\n  counts[%d] = %d, expected %d\n", i, counts[i], expected[i]);

    /* Predictions equal to the labels: everything on the diagonal. */
    int diag[9];
    nn_confusion_counts(diag, cm_labels, cm_labels, 9, 3);
    CU_ASSERT_EQUAL(diag[0], 2);
    CU_ASSERT_EQUAL(diag[4], 3);
    CU_ASSERT_EQUAL(diag[8], 4);
    CU_ASSERT_EQUAL(diag[1] + diag[2] + diag[3] + diag[5] + diag[6] + diag[7], 0);
}

static void test_confusion_png(void)
{
    NEED_GNUPLOT();
    const char *png = tmp_file("confusion.png");
    CU_ASSERT_EQUAL_FATAL(nn_plot_confusion(png, cm_pred, cm_labels, 9, 3, names3, "Bob's model"),
                          NN_OK);
    ASSERT_PNG(png, 900, 800);
    /* Without names or title; two classes; many classes (no cell labels). */
    png = tmp_file("confusion-plain.png");
    CU_ASSERT_EQUAL(nn_plot_confusion(png, cm_pred, cm_labels, 9, 3, NULL, NULL), NN_OK);
    ASSERT_PNG(png, 900, 800);
    int zeros[4] = {0};
    CU_ASSERT_EQUAL(nn_plot_confusion(png, zeros, zeros, 4, 2, NULL, NULL), NN_OK);
    int many[200];
    for (int i = 0; i < 200; i++)
        many[i] = i % 40;
    CU_ASSERT_EQUAL(nn_plot_confusion(png, many, many, 200, 40, NULL, NULL), NN_OK);
    ASSERT_PNG(png, 900, 800);
}

static void test_confusion_errors(void)
{
    const char *png = tmp_file("bad-confusion.png");
    CU_ASSERT_EQUAL(nn_plot_confusion(png, cm_pred, cm_labels, 11, 3, NULL, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("labels[9] = 3"));
    int labels[2] = {0, 1}, pred[2] = {0, 2};
    CU_ASSERT_EQUAL(nn_plot_confusion(png, pred, labels, 2, 2, NULL, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("pred[1] = 2"));
    CU_ASSERT_EQUAL(nn_plot_confusion(png, pred, labels, 0, 2, NULL, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("n = 0"));
    CU_ASSERT_EQUAL(nn_plot_confusion(png, pred, labels, 2, 1, NULL, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("classes = 1"));
    CU_ASSERT_FALSE(file_exists(png));
}

/* ================================================================ images */

enum { IMG_N = 36, IMG_H = 12, IMG_W = 10 };

/* IMG_N small test pictures: a bright square at a place of its own on a
 * dark ramp; three wrongly predicted. */
static void make_images(float *img, int *labels, int *pred)
{
    for (int k = 0; k < IMG_N; k++) {
        for (int i = 0; i < IMG_H; i++)
            for (int j = 0; j < IMG_W; j++) {
                int in_square = i >= k % 8 && i < k % 8 + 4 && j >= k % 6 && j < k % 6 + 4;
                img[(k * IMG_H + i) * IMG_W + j] = in_square ? 1.0f : 0.02f * (float)(i + j);
            }
        labels[k] = k % 3;
        pred[k] = k % 12 == 5 ? (k + 1) % 3 : k % 3;
    }
    img[0] = -0.5f;   /* out of [0, 1]: clamped, not an error */
    img[1] = 7.0f;
}

static void test_images_png(void)
{
    NEED_GNUPLOT();
    static float img[IMG_N * IMG_H * IMG_W];
    int labels[IMG_N], pred[IMG_N];
    make_images(img, labels, pred);
    const char *png = tmp_file("images.png");
    CU_ASSERT_EQUAL_FATAL(nn_plot_images(png, img, IMG_N, IMG_H, IMG_W, labels, pred, names3, 6),
                          NN_OK);
    ASSERT_PNG(png, 0, 0);
    /* Without predictions or names, and with the default column count. */
    png = tmp_file("images-plain.png");
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 5, IMG_H, IMG_W, labels, NULL, NULL, 0), NN_OK);
    ASSERT_PNG(png, 0, 0);
    /* One image of a single row of pixels. */
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 1, 1, IMG_W, labels, pred, NULL, 0), NN_OK);
    ASSERT_PNG(png, 0, 0);
}

static void test_images_errors(void)
{
    float img[4] = {0};
    int labels[1] = {0};
    const char *png = tmp_file("bad-images.png");
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 0, 2, 2, labels, NULL, NULL, 0), NN_ERROR);
    CU_ASSERT(error_mentions("got 0 of 2 x 2"));
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 1, 2, 0, labels, NULL, NULL, 0), NN_ERROR);
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 1, 2, 2, NULL, NULL, NULL, 0), NN_ERROR);
    CU_ASSERT(error_mentions("labels"));
    CU_ASSERT_FALSE(file_exists(png));
}

/* ================================================================ filters */

static void test_filters_png(void)
{
    NEED_GNUPLOT();
    /* Six 5x5 filters of 3 channels; filter 5 constant (drawn mid-gray). */
    static float w[6 * 3 * 5 * 5];
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    tu_fill(w, 5 * 3 * 25, -0.3f, 0.3f, &rng);
    for (int i = 5 * 3 * 25; i < 6 * 3 * 25; i++)
        w[i] = 0.25f;
    const char *png = tmp_file("filters.png");
    CU_ASSERT_EQUAL_FATAL(nn_plot_filters(png, w, 6, 3, 5, 5), NN_OK);
    ASSERT_PNG(png, 0, 0);
    png = tmp_file("filters-one-channel.png");
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 18, 1, 5, 5), NN_OK);
    ASSERT_PNG(png, 0, 0);
    /* Sides of one pixel: 1x1 and 1x3 kernels. */
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 4, 1, 1, 1), NN_OK);
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 4, 2, 1, 3), NN_OK);
    ASSERT_PNG(png, 0, 0);
}

static void test_filters_errors(void)
{
    float w[4] = {0};
    const char *png = tmp_file("bad-filters.png");
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 1, 1, 0, 2), NN_ERROR);
    CU_ASSERT(error_mentions("[1, 1, 0, 2]"));
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 0, 1, 2, 2), NN_ERROR);
    CU_ASSERT_EQUAL(nn_plot_filters(png, w, 1, 0, 2, 2), NN_ERROR);
    CU_ASSERT_EQUAL(nn_plot_filters(png, NULL, 1, 1, 2, 2), NN_ERROR);
    CU_ASSERT_FALSE(file_exists(png));
}

/* ================================================================ boundary */

/* Three Gaussian blobs and an untrained 2-8-3 network. */
static int make_blobs(nn_dataset *ds, nn_model **m)
{
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    if (nn_make_synthetic(ds, NN_SYN_BLOBS, 90, 3, 0.2f, &rng) != NN_OK)
        return NN_ERROR;
    *m = nn_model_create("2-8-3", NN_ACT_RELU, NULL, &rng);
    return *m ? NN_OK : NN_ERROR;
}

static void test_boundary_png(void)
{
    NEED_GNUPLOT();
    nn_dataset ds;
    nn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(make_blobs(&ds, &m), NN_OK);
    nn_model_set_training(m, 1);
    const char *png = tmp_file("boundary.png");
    CU_ASSERT_EQUAL(nn_plot_boundary(png, m, &ds, 60), NN_OK);
    ASSERT_PNG(png, 0, 0);
    CU_ASSERT_EQUAL(m->training, 0);   /* left in evaluation mode */
    nn_model_free(m);
    nn_dataset_free(&ds);
}

static void test_boundary_errors(void)
{
    nn_dataset ds;
    nn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(make_blobs(&ds, &m), NN_OK);
    const char *png = tmp_file("bad-boundary.png");

    /* A table of three features. */
    float x[6] = {0, 1, 2, 3, 4, 5};
    int y[2] = {0, 1};
    nn_dataset table = {.n = 2, .dim = 3, .classes = 2, .f32 = x, .labels = y, .name = "table"};
    CU_ASSERT_EQUAL(nn_plot_boundary(png, m, &table, 50), NN_ERROR);
    CU_ASSERT(error_mentions("2-D"));
    CU_ASSERT(error_mentions("'table' has 3"));
    /* Two features, but bytes (an image set's layout). */
    uint8_t px[4] = {0};
    nn_dataset bytes = {.n = 2, .dim = 2, .classes = 2, .u8 = px, .labels = y, .name = "tiny"};
    CU_ASSERT_EQUAL(nn_plot_boundary(png, m, &bytes, 50), NN_ERROR);
    CU_ASSERT(error_mentions("byte"));
    /* A model that does not take two inputs. */
    nn_model *wide = nn_model_create("3-4-2", NN_ACT_RELU, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wide);
    CU_ASSERT_EQUAL(nn_plot_boundary(png, wide, &ds, 50), NN_ERROR);
    CU_ASSERT(error_mentions("2 inputs"));
    nn_model_free(wide);
    /* Fewer outputs than the data has classes. */
    nn_model *binary = nn_model_create("2-4-2", NN_ACT_RELU, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(binary);
    CU_ASSERT_EQUAL(nn_plot_boundary(png, binary, &ds, 50), NN_ERROR);
    CU_ASSERT(error_mentions("classes"));
    nn_model_free(binary);
    CU_ASSERT_EQUAL(nn_plot_boundary(png, m, &ds, 1), NN_ERROR);
    CU_ASSERT(error_mentions("resolution"));
    CU_ASSERT_FALSE(file_exists(png));
    nn_model_free(m);
    nn_dataset_free(&ds);
}

/* ================================================================ all */

/* Every picture refuses a file name gnuplot could not quote, before it
 * draws anything, with or without gnuplot installed. */
static void test_bad_file_names(void)
{
    static const char *const bad[2] = {"it's.png", "a\nb.png"};
    static const char *const why[2] = {"quote", "newline"};
    float img[4] = {0};
    int labels[1] = {0};
    nn_dataset ds;
    nn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(make_blobs(&ds, &m), NN_OK);
    for (int b = 0; b < 2; b++) {
        const char *png = tmp_file(bad[b]);
        CU_ASSERT_EQUAL(nn_plot_confusion(png, labels, labels, 1, 2, NULL, NULL), NN_ERROR);
        CU_ASSERT(error_mentions(why[b]));
        CU_ASSERT_EQUAL(nn_plot_images(png, img, 1, 2, 2, labels, NULL, NULL, 0), NN_ERROR);
        CU_ASSERT(error_mentions(why[b]));
        CU_ASSERT_EQUAL(nn_plot_filters(png, img, 1, 1, 2, 2), NN_ERROR);
        CU_ASSERT(error_mentions(why[b]));
        CU_ASSERT_EQUAL(nn_plot_boundary(png, m, &ds, 20), NN_ERROR);
        CU_ASSERT(error_mentions(why[b]));
        CU_ASSERT_FALSE(file_exists(png));
    }
    nn_model_free(m);
    nn_dataset_free(&ds);
}

/* With gnuplot off the PATH, each picture says so and leaves no file. */
static void test_no_gnuplot(void)
{
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", tmp_dir, 1);   /* a folder with no gnuplot in it */
    float img[4] = {0};
    int labels[1] = {0};
    const char *png = tmp_file("none.png");
    CU_ASSERT_EQUAL(nn_plot_confusion(png, labels, labels, 1, 2, NULL, NULL), NN_ERROR);
    CU_ASSERT(error_mentions("gnuplot is not on the PATH"));
    CU_ASSERT_EQUAL(nn_plot_images(png, img, 1, 2, 2, labels, NULL, NULL, 0), NN_ERROR);
    CU_ASSERT(error_mentions("gnuplot"));
    CU_ASSERT_EQUAL(nn_plot_filters(png, img, 1, 1, 2, 2), NN_ERROR);
    CU_ASSERT(error_mentions("gnuplot"));
    if (saved) {
        setenv("PATH", saved, 1);
        free(saved);
    } else {
        unsetenv("PATH");
    }
    CU_ASSERT_FALSE(file_exists(png));
}

void suite_pictures(void)
{
    CU_pSuite s = CU_add_suite("pictures", suite_init, suite_clean);
    CU_add_test(s, "confusion counts: a hand-worked 3-class example", test_confusion_counts);
    CU_add_test(s, "confusion matrix to PNG", test_confusion_png);
    CU_add_test(s, "confusion matrix rejects bad classes and sizes", test_confusion_errors);
    CU_add_test(s, "image grid to PNG", test_images_png);
    CU_add_test(s, "image grid rejects bad sizes", test_images_errors);
    CU_add_test(s, "filters to PNG", test_filters_png);
    CU_add_test(s, "filters reject bad shapes", test_filters_errors);
    CU_add_test(s, "decision regions to PNG, model left in evaluation mode", test_boundary_png);
    CU_add_test(s, "decision regions reject non-2-D data and mismatched models",
                test_boundary_errors);
    CU_add_test(s, "file names with a quote or newline refused", test_bad_file_names);
    CU_add_test(s, "missing gnuplot reported", test_no_gnuplot);
}
