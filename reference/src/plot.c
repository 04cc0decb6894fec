/*
 * Pictures through gnuplot (DESIGN sections 4 and 5): a training log drawn
 * as a PNG (pngcairo) for reports and as text (`dumb`) in the terminal;
 * confusion matrices, image grids, filters and decision regions as PNGs.
 *
 * gnuplot runs as a child process reading its script from a pipe. It is
 * started as `gnuplot /dev/stdin` rather than plain `gnuplot`: given a
 * script file, gnuplot stops at the first error and exits nonzero, whereas
 * on plain standard input it reports the error and carries on, e.g. with
 * the PNG going to our stdout when `set output` failed.
 */
#include "nnlab/plot.h"
#include "nnlab/error.h"
#include "nnlab/forward.h"
#include "nnlab/tensor.h"
#include "nnlab/train.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ================================================================ gnuplot */

static int is_executable(const char *file)
{
    struct stat st;
    return stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0;
}

/* Look along PATH the way the shell will, without starting one. */
int nn_have_gnuplot(void)
{
    const char *dir = getenv("PATH");
    if (!dir)
        dir = "/usr/bin:/bin";
    for (;;) {
        size_t n = strcspn(dir, ":");
        char file[4096];
        /* An empty PATH entry means the current directory. */
        int len = snprintf(file, sizeof file, "%.*s%sgnuplot", (int)n, dir, n ? "/" : "");
        if (len > 0 && (size_t)len < sizeof file && is_executable(file))
            return 1;
        if (dir[n] == '\0')
            return 0;
        dir += n + 1;
    }
}

/* A running gnuplot and the SIGPIPE handling to restore afterwards. */
typedef struct {
    FILE *in;                    /* gnuplot's standard input */
    struct sigaction old_pipe;
} gnuplot_run;

static int need_gnuplot(void)
{
    if (!nn_have_gnuplot())
        return nn_fail("gnuplot is not on the PATH (Debian: apt install gnuplot-nox)");
    return NN_OK;
}

static int gnuplot_start(gnuplot_run *g)
{
    if (need_gnuplot() != NN_OK)
        return NN_ERROR;
    /* What we printed must appear before gnuplot's own output. */
    fflush(stdout);
    g->in = popen("gnuplot /dev/stdin", "w");
    if (!g->in)
        return nn_fail("cannot start gnuplot: %s", strerror(errno));
    /* If gnuplot stops early, writing more must fail with EPIPE rather than
     * kill this process with SIGPIPE. Set after popen(), so that gnuplot
     * itself keeps the default. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &g->old_pipe);
    return NN_OK;
}

/* Close the pipe, wait for gnuplot and judge by its exit status. */
static int gnuplot_finish(gnuplot_run *g)
{
    int write_failed = fflush(g->in) != 0 || ferror(g->in);
    int status = pclose(g->in);
    int err = errno;
    sigaction(SIGPIPE, &g->old_pipe, NULL);
    if (status == -1)
        return nn_fail("gnuplot: %s", strerror(err));
    if (WIFSIGNALED(status))
        return nn_fail("gnuplot was killed by signal %d", WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return nn_fail("gnuplot failed with exit status %d (its message is above)",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (write_failed)
        return nn_fail("could not send the whole script to gnuplot");
    return NN_OK;
}

int nn_gnuplot(const char *script)
{
    gnuplot_run g;
    if (gnuplot_start(&g) != NN_OK)
        return NN_ERROR;
    fputs(script, g.in);
    return gnuplot_finish(&g);
}

/* ================================================================ the log */

#define MAX_COLUMNS 64

/* Which columns of the log to draw, numbered from 1 as gnuplot's `using`. */
typedef struct {
    char x_label[32];
    int loss[MAX_COLUMNS], n_loss;
    int acc[MAX_COLUMNS], n_acc;
} log_columns;

/* Does s contain word, ignoring case? */
static int contains_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && tolower((unsigned char)s[i]) == word[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* Letters, digits, '_', ' ', '-': safe inside a gnuplot '...' string. */
static int is_plain(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_ -", *s))
            return 0;
    return 1;
}

/* Sort the header's columns: the first is x; names with "loss" go on the
 * left axis, names with "acc" on the right. */
static void classify_columns(char *header, log_columns *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->x_label, "epoch");
    char *field = header;
    for (int col = 1; field; col++) {
        char *next = strchr(field, ',');
        if (next)
            *next++ = '\0';
        field[strcspn(field, "\r\n")] = '\0';
        while (*field == ' ')
            field++;
        if (col == 1) {
            if (*field && is_plain(field) && strlen(field) < sizeof c->x_label)
                strcpy(c->x_label, field);
        } else if (contains_word(field, "loss") && c->n_loss < MAX_COLUMNS) {
            c->loss[c->n_loss++] = col;
        } else if (contains_word(field, "acc") && c->n_acc < MAX_COLUMNS) {
            c->acc[c->n_acc++] = col;
        }
        field = next;
    }
}

/* Mark in has_data[col] the columns of one CSV row holding a finite
 * number (a run without validation logs "nan" there). */
static void mark_finite(char *row, int *has_data)
{
    char *field = row;
    for (int col = 1; field && col <= MAX_COLUMNS; col++) {
        char *end;
        double v = strtod(field, &end);
        if (end != field && isfinite(v))
            has_data[col - 1] = 1;
        field = strchr(field, ',');
        if (field)
            field++;
    }
}

/* Keep only the columns in cols[0..n) that have data; return how many. */
static int keep_with_data(int *cols, int n, const int *has_data)
{
    int kept = 0;
    for (int i = 0; i < n; i++)
        if (has_data[cols[i] - 1])
            cols[kept++] = cols[i];
    return kept;
}

/* Read the log's header line, check that a data row follows, and leave out
 * the columns that hold no finite number in any row. */
static int read_columns(const char *path, log_columns *c)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return nn_fail("cannot open training log %s: %s", path, strerror(errno));
    char header[4096], row[4096];
    int has_data[MAX_COLUMNS] = {0}, rows = 0;
    int have_header = fgets(header, sizeof header, fp) != NULL;
    while (have_header && fgets(row, sizeof row, fp)) {
        mark_finite(row, has_data);
        rows++;
    }
    fclose(fp);
    if (!have_header)
        return nn_fail("training log %s is empty", path);
    if (rows == 0)
        return nn_fail("training log %s has a header but no data rows", path);
    classify_columns(header, c);
    c->n_loss = keep_with_data(c->loss, c->n_loss, has_data);
    c->n_acc = keep_with_data(c->acc, c->n_acc, has_data);
    if (c->n_loss + c->n_acc == 0)
        return nn_fail("training log %s has no column named like *loss* or *acc* with a finite value", path);
    return NN_OK;
}

/* gnuplot reads a name inside '...' literally, except that a quote ends
 * the string and a newline the command. Refuse both rather than escape. */
static int check_quotable(const char *path, const char *what)
{
    if (strpbrk(path, "'\n\r"))
        return nn_fail("cannot plot: the %s name \"%s\" contains a quote or a newline", what, path);
    return NN_OK;
}

/* The pngcairo terminal creates the file itself; failing here first gives
 * a message that names the file. */
static int check_writable(const char *png)
{
    FILE *fp = fopen(png, "wb");
    if (!fp)
        return nn_fail("cannot write %s: %s", png, strerror(errno));
    fclose(fp);
    return NN_OK;
}

/* Curves for columns cols[n] against column 1 on the given axes. The
 * first opens the plot command; later ones name the file as '', gnuplot's
 * "the same file again". */
static void plot_columns(FILE *gp, const char *csv, const int *cols, int n, const char *axes,
                         const char *style, int *first)
{
    for (int i = 0; i < n; i++) {
        fprintf(gp, "%s'%s' using 1:%d with lines %s axes %s", *first ? "plot " : ", ",
                *first ? csv : "", cols[i], style, axes);
        *first = 0;
    }
}

/* Loss on the left axis; for the PNG also accuracy (dashed) on the right.
 * A log without loss columns shows its accuracy on the left instead. The
 * terminal and output are already set. */
static void emit_plot(FILE *gp, const char *csv, const log_columns *c, int png)
{
    int acc_right = png && c->n_loss > 0 && c->n_acc > 0, first = 1;
    fputs("reset\n"
          "set datafile separator ','\n", gp);
    /* Text is too coarse for a grid; in the PNG the key goes to the right
     * middle, between falling loss and rising accuracy. */
    fputs(png ? "set key autotitle columnhead center right\nset grid\n"
              : "set key autotitle columnhead top right\n", gp);
    fprintf(gp, "set xlabel '%s'\nset ylabel '%s'\n", c->x_label, c->n_loss ? "loss" : "accuracy");
    if (acc_right)
        fputs("set ytics nomirror\nset y2tics\nset y2label 'accuracy'\n", gp);
    if (c->n_loss > 0)
        plot_columns(gp, csv, c->loss, c->n_loss, "x1y1", "lw 2", &first);
    else
        plot_columns(gp, csv, c->acc, c->n_acc, "x1y1", "lw 2", &first);
    if (acc_right)
        plot_columns(gp, csv, c->acc, c->n_acc, "x1y2", "lw 2 dt 2", &first);
    fputs("\n", gp);
}

int nn_plot_log(const char *csv_path, const char *png_path, int ascii)
{
    log_columns c;
    if (check_quotable(csv_path, "log") != NN_OK ||
        (png_path && check_quotable(png_path, "PNG") != NN_OK) ||
        read_columns(csv_path, &c) != NN_OK)
        return NN_ERROR;
    if (!png_path && !ascii)
        return NN_OK;
    if (png_path && check_writable(png_path) != NN_OK)
        return NN_ERROR;
    gnuplot_run g;
    if (gnuplot_start(&g) != NN_OK)
        return NN_ERROR;
    if (png_path) {
        /* noenhanced: column names like train_loss keep their underscore
         * instead of turning it into a subscript. */
        fprintf(g.in, "set terminal pngcairo noenhanced size 900,560 font 'DejaVu Sans,10'\n"
                      "set output '%s'\n", png_path);
        emit_plot(g.in, csv_path, &c, 1);
        fputs("set output\n", g.in);
    }
    if (ascii) {
        fputs("set terminal dumb noenhanced 100 30\nset output\n", g.in);
        emit_plot(g.in, csv_path, &c, 0);
    }
    return gnuplot_finish(&g);
}

/* ================================================================ pictures */

/* The pictures below send their data inside the script as gnuplot data
 * blocks ($name << EOD ... EOD), so no temporary file is left behind. */

/* Write text as a gnuplot '...' string. Inside single quotes gnuplot takes
 * every character literally except the quote, which is written twice; a
 * newline would end the command, so control characters become spaces. */
static void put_quoted(FILE *gp, const char *text)
{
    fputc('\'', gp);
    for (const char *c = text; *c; c++) {
        if (*c == '\'')
            fputs("''", gp);
        else
            fputc((unsigned char)*c < ' ' ? ' ' : *c, gp);
    }
    fputc('\'', gp);
}

/* Class k as text: its name when there is one, else its number in buf. */
static const char *class_name(char buf[16], const char *const *names, int k)
{
    if (names && k >= 0 && names[k])
        return names[k];
    snprintf(buf, 16, "%d", k);
    return buf;
}

/* Is every v[i] a class in [0, classes)? Fails naming the first that is not. */
static int check_classes(const int *v, int n, int classes, const char *what)
{
    for (int i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= classes)
            return nn_fail("%s[%d] = %d is not a class in [0, %d)", what, i, v[i], classes);
    return NN_OK;
}

/* Check the file name, then start gnuplot drawing into it: pngcairo with
 * DejaVu Sans 10, noenhanced so that names such as "T-shirt/top" or
 * "class_1" print as written instead of as sub- and superscripts. gnuplot
 * is looked for before the file is created, to leave no empty PNG. */
static int png_begin(gnuplot_run *g, const char *png, int width, int height)
{
    if (check_quotable(png, "PNG") != NN_OK || need_gnuplot() != NN_OK ||
        check_writable(png) != NN_OK || gnuplot_start(g) != NN_OK)
        return NN_ERROR;
    fprintf(g->in, "set terminal pngcairo noenhanced size %d,%d font 'DejaVu Sans,10'\n"
                   "set output '%s'\n", width, height, png);
    return NN_OK;
}

/* Close the PNG and wait for gnuplot's verdict. */
static int png_end(gnuplot_run *g)
{
    fputs("set output\n", g->in);
    return gnuplot_finish(g);
}

/* ================================================================ confusion */

void nn_confusion_counts(int *counts, const int *pred, const int *labels, int n, int classes)
{
    if (classes <= 0)
        return;
    memset(counts, 0, (size_t)classes * (size_t)classes * sizeof *counts);
    for (int i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < classes && pred[i] >= 0 && pred[i] < classes)
            counts[labels[i] * classes + pred[i]]++;
}

/* Class names as the tics of an axis ("x" or "y"), at positions 0, 1, ... */
static void put_class_tics(FILE *gp, const char *axis, const char *const *names, int classes)
{
    char buf[16];
    fprintf(gp, "set %stics (", axis);
    for (int k = 0; k < classes; k++) {
        put_quoted(gp, class_name(buf, names, k));
        fprintf(gp, " %d%s", k, k + 1 < classes ? ", " : ")\n");
    }
}

/* The cell counts, each in a colour that reads on its shade: white on the
 * dark cells (above half the largest count), black on the light ones, and
 * light gray for the zeros so that the mistakes that do happen stand out. */
static void put_cell_labels(FILE *gp, int max, int classes)
{
    int size = classes <= 12 ? 10 : classes <= 20 ? 8 : 6;
    fprintf(gp, ", $counts matrix using 1:2:($3 == 0 ? '0' : '')"
                " with labels tc '#b0b0b0' font ',%d'"
                ", $counts matrix using 1:2:($3 > 0 && $3 <= %g ? sprintf('%%.0f', $3) : '')"
                " with labels tc 'black' font ',%d'"
                ", $counts matrix using 1:2:($3 > %g ? sprintf('%%.0f', $3) : '')"
                " with labels tc 'white' font ',%d'",
            size, max / 2.0, size, max / 2.0, size);
}

/* The counts as the data block $counts, one line per true class. gnuplot's
 * `matrix` reads line t, column p as the point (p, t): x is the prediction,
 * y the truth. */
static void put_counts(FILE *gp, const int *counts, int classes)
{
    fputs("$counts << EOD\n", gp);
    for (int t = 0; t < classes; t++)
        for (int p = 0; p < classes; p++)
            fprintf(gp, "%d%c", counts[t * classes + p], p + 1 < classes ? ' ' : '\n');
    fputs("EOD\n", gp);
}

/* Cells are unit squares centred on the class numbers, class 0 on top as
 * in the printed matrix. Past 20 classes the tics thin out (every fifth
 * number) or shrink (names). */
static void confusion_axes(FILE *gp, const char *const *names, int classes)
{
    int crowded = classes > 20;
    fprintf(gp, "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\nset size ratio -1\n"
                "set xlabel 'predicted class'\nset ylabel 'true class'\n"
                "set tics scale 0\nset xtics %d\nset ytics %d\n",
            classes - 0.5, classes - 0.5, crowded ? 5 : 1, crowded ? 5 : 1);
    if (names) {
        put_class_tics(gp, "x", names, classes);
        put_class_tics(gp, "y", names, classes);
        fprintf(gp, "set xtics rotate by %s right font ',%d'\nset ytics font ',%d'\n",
                crowded ? "90" : "40", crowded ? 7 : 10, crowded ? 7 : 10);
    }
}

int nn_plot_confusion(const char *png, const int *pred, const int *labels, int n, int classes,
                      const char *const *names, const char *title)
{
    if (check_quotable(png, "PNG") != NN_OK)
        return NN_ERROR;
    if (n < 1 || classes < 2 || classes > 100)
        return nn_fail("confusion matrix: need n >= 1 and 2 <= classes <= 100, got n = %d, "
                       "classes = %d", n, classes);
    if (check_classes(labels, n, classes, "labels") != NN_OK ||
        check_classes(pred, n, classes, "pred") != NN_OK)
        return NN_ERROR;
    int *counts = nn_alloc((size_t)classes * (size_t)classes * sizeof *counts);
    if (!counts)
        return NN_ERROR;
    nn_confusion_counts(counts, pred, labels, n, classes);
    int max = 1, right = 0;
    for (int k = 0; k < classes * classes; k++)
        max = counts[k] > max ? counts[k] : max;
    for (int k = 0; k < classes; k++)
        right += counts[k * classes + k];

    gnuplot_run g;
    int status = png_begin(&g, png, 900, 800);
    if (status == NN_OK)
        put_counts(g.in, counts, classes);
    nn_free(counts);
    if (status != NN_OK)
        return NN_ERROR;
    /* Title, then n and accuracy below it: gnuplot joins strings with '.',
     * and only a double-quoted "\n" is a newline. */
    fputs("set title ", g.in);
    put_quoted(g.in, title ? title : "confusion matrix");
    fprintf(g.in, " . \"\\n\" . 'n = %d, accuracy %.1f%%' font ',12'\n", n, 100.0 * right / n);
    confusion_axes(g.in, names, classes);
    /* White to dark blue (ColorBrewer "Blues"): more examples, darker cell.
     * Whole numbers on the colour bar even when the counts are small. */
    fprintf(g.in, "set palette defined (0 '#ffffff', 1 '#deebf7', 2 '#9ecae1', 3 '#4292c6',"
                  " 4 '#08519c', 5 '#08306b')\n"
                  "set cbrange [0:%d]\nset cblabel 'examples' offset 1\n%sunset key\n"
                  "plot $counts matrix with image",
            max, max <= 10 ? "set cbtics 1\n" : "");
    if (classes <= 30)
        put_cell_labels(g.in, max, classes);
    fputs("\n", g.in);
    return png_end(&g);
}

/* ================================================================ tile grids */

/* A grid of image tiles, a caption band under each and an optional header
 * line on top. The plot's coordinates are the PNG's own pixels, y growing
 * downwards like image rows: the axes span the whole canvas, so tiles,
 * captions and frames are all placed in pixels. */
typedef struct {
    int cols, rows;          /* tiles per row, rows of tiles */
    int tile_w, tile_h;      /* drawn size of a tile */
    int cell_w, cell_h;      /* a tile with its gap and caption band */
    int header;              /* height of the header band, 0 for none */
    int left, top;           /* corner of tile 0 */
    int width, height;       /* the canvas */
} tile_grid;

/* Space between tiles: across, room for a caption wider than its tile
 * ("T-shirt/top / T-shirt/top"); down, a little air above the next row. */
enum { GAP_X = 30, GAP_Y = 8, CAPTION_PX = 22, HEADER_PX = 40 };

/* Lay out n tiles of h x w pixels, drawn `tile` pixels on their longer
 * side, `cols` per row, under a header line (NULL for none). The grid is
 * centred on a canvas wide enough for the header: about 8 pixels a
 * character at 12 points. */
static tile_grid tile_layout(int n, int h, int w, int cols, int tile, const char *header)
{
    tile_grid g;
    int longer = h > w ? h : w;
    g.cols = cols < n ? cols : n;
    g.rows = (n + g.cols - 1) / g.cols;
    g.tile_w = tile * w / longer;
    g.tile_h = tile * h / longer;
    g.cell_w = g.tile_w + GAP_X;
    g.cell_h = g.tile_h + CAPTION_PX + GAP_Y;
    g.header = header ? HEADER_PX : 0;
    int grid_w = g.cols * g.cell_w, header_w = header ? 8 * (int)strlen(header) + 40 : 0;
    g.width = grid_w > header_w ? grid_w : header_w;
    g.height = g.header + g.rows * g.cell_h + GAP_Y;
    g.left = (g.width - grid_w + GAP_X) / 2;
    g.top = g.header + GAP_Y;
    return g;
}

/* Pixel position of the top-left corner of tile k. */
static void tile_corner(const tile_grid *g, int k, int *x, int *y)
{
    *x = g->left + k % g->cols * g->cell_w;
    *y = g->top + k / g->cols * g->cell_h;
}

/* Axes equal to the canvas in pixels, y downwards, nothing around them;
 * values 0..1 from black to white; the header line, if any. */
static void tile_axes(FILE *gp, const tile_grid *g, const char *header)
{
    fprintf(gp, "set lmargin at screen 0\nset rmargin at screen 1\n"
                "set tmargin at screen 1\nset bmargin at screen 0\n"
                "set xrange [0:%d]\nset yrange [%d:0]\n"
                "unset border\nunset tics\nunset key\nunset colorbox\n"
                "set palette gray\nset cbrange [0:1]\n",
            g->width, g->height);
    if (header) {
        fputs("set label ", gp);
        put_quoted(gp, header);
        fprintf(gp, " at %d, %d center font ',12'\n", g->width / 2, g->header / 2 + 4);
    }
}

/* gnuplot draws an image only from a grid of at least 2x2 points, so a
 * side of one pixel (a 1x5 filter, say) is written twice. */
static int repeats(int side)
{
    return side > 1 ? 1 : 2;
}

/* Tile k's pixels v[h, w] as the data block $tileK, mapped from [lo, hi]
 * to [0, 1] and clamped. */
static void put_tile(FILE *gp, int k, const float *v, int h, int w, float lo, float hi)
{
    fprintf(gp, "$tile%d << EOD\n", k);
    for (int i = 0; i < h * repeats(h); i++)
        for (int j = 0; j < w * repeats(w); j++) {
            float x = (v[i / repeats(h) * w + j / repeats(w)] - lo) / (hi - lo);
            x = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
            fprintf(gp, "%.3g%c", (double)x, j + 1 < w * repeats(w) ? ' ' : '\n');
        }
    fputs("EOD\n", gp);
}

/* Text centred in the caption band of tile k. */
static void put_caption(FILE *gp, const tile_grid *g, int k, const char *text, const char *colour)
{
    int x, y;
    tile_corner(g, k, &x, &y);
    fputs("set label ", gp);
    put_quoted(gp, text);
    fprintf(gp, " at %d, %d center font ',8.5' tc '%s'\n", x + g->tile_w / 2,
            y + g->tile_h + CAPTION_PX / 2 + 2, colour);
}

/* A frame `pad` pixels outside tile k, drawn with gnuplot's border style. */
static void put_frame(FILE *gp, const tile_grid *g, int k, int pad, const char *style)
{
    int x, y;
    tile_corner(g, k, &x, &y);
    fprintf(gp, "set object rect from %d, %d to %d, %d front fs empty border %s\n", x - pad,
            y - pad, x + g->tile_w + pad, y + g->tile_h + pad, style);
}

/* Plot every tile in one command. `matrix` numbers a block's columns and
 * rows from 0; pixel (i, j) of tile k is drawn as a square centred at
 * corner + (j + ½, i + ½)·scale. pngcairo scales an image up by repeating
 * pixels, so even a 5x5 filter stays sharp. (The `pixels` option, one
 * rectangle per pixel, would leave faint seams between them.) */
static void plot_tiles(FILE *gp, const tile_grid *g, int n, int h, int w)
{
    double sx = (double)g->tile_w / (w * repeats(w)), sy = (double)g->tile_h / (h * repeats(h));
    fputs("plot ", gp);
    for (int k = 0; k < n; k++) {
        int x, y;
        tile_corner(g, k, &x, &y);
        fprintf(gp, "%s$tile%d matrix using (%d + ($1 + 0.5) * %g):(%d + ($2 + 0.5) * %g):3"
                    " with image",
                k ? ", " : "", k, x, sx, y, sy);
    }
    fputs("\n", gp);
}

/* ================================================================ images */

/* Caption "true / predicted" of image k and its frame: red for a wrong
 * prediction, else a thin gray line that keeps a light image apart from
 * the page. */
static void image_caption(FILE *gp, const tile_grid *g, int k, int label, const int *pred,
                          const char *const *names)
{
    char a[16], b[16], text[200];
    int wrong = pred && pred[k] != label;
    if (pred)
        snprintf(text, sizeof text, "%s / %s", class_name(a, names, label),
                 class_name(b, names, pred[k]));
    else
        snprintf(text, sizeof text, "%s", class_name(a, names, label));
    put_caption(gp, g, k, text, wrong ? "#d62728" : "#333333");
    put_frame(gp, g, k, wrong ? 3 : 0, wrong ? "rgb '#d62728' lw 3" : "rgb '#c0c0c0'");
}

int nn_plot_images(const char *png, const float *images, int n, int h, int w,
                   const int *labels, const int *pred, const char *const *names, int cols)
{
    if (check_quotable(png, "PNG") != NN_OK)
        return NN_ERROR;
    if (n < 1 || n > 400 || h < 1 || h > 256 || w < 1 || w > 256)
        return nn_fail("image grid: need 1..400 images of 1..256 x 1..256 pixels, got %d of "
                       "%d x %d", n, h, w);
    if (!images || !labels)
        return nn_fail("image grid: images and labels are required");
    if (cols <= 0)
        cols = (int)ceil(sqrt((double)n));
    /* The header explains the captions; without predictions there is
     * nothing to explain. */
    char header[160];
    if (pred) {
        int wrong = 0;
        for (int k = 0; k < n; k++)
            wrong += pred[k] != labels[k];
        snprintf(header, sizeof header,
                 "true / predicted class: %d of %d right, wrong ones in red", n - wrong, n);
    }
    tile_grid g = tile_layout(n, h, w, cols, 120, pred ? header : NULL);

    gnuplot_run run;
    if (png_begin(&run, png, g.width, g.height) != NN_OK)
        return NN_ERROR;
    tile_axes(run.in, &g, pred ? header : NULL);
    for (int k = 0; k < n; k++) {
        put_tile(run.in, k, images + (size_t)k * h * w, h, w, 0.0f, 1.0f);
        image_caption(run.in, &g, k, labels[k], pred, names);
    }
    plot_tiles(run.in, &g, n, h, w);
    return png_end(&run);
}

/* ================================================================ filters */

enum { MAX_KERNEL = 64 };

/* Filter o averaged over its c_in input channels: out[kh, kw]. */
static void mean_kernel(float *out, const float *w, int o, int c_in, int kh, int kw)
{
    int size = kh * kw;
    const float *f = w + (size_t)o * c_in * size;
    for (int i = 0; i < size; i++) {
        double sum = 0.0;
        for (int c = 0; c < c_in; c++)
            sum += f[c * size + i];
        out[i] = (float)(sum / c_in);
    }
}

/* Filter o as tile o, stretched from its own min to its own max. */
static void put_filter(FILE *gp, const float *w, int o, int c_in, int kh, int kw)
{
    float k[MAX_KERNEL * MAX_KERNEL];
    mean_kernel(k, w, o, c_in, kh, kw);
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < kh * kw; i++) {
        lo = k[i] < lo ? k[i] : lo;
        hi = k[i] > hi ? k[i] : hi;
    }
    /* A constant filter has no pattern to stretch: show it mid-gray. */
    if (hi - lo < 1e-12f) {
        lo -= 1.0f;
        hi += 1.0f;
    }
    put_tile(gp, o, k, kh, kw, lo, hi);
}

int nn_plot_filters(const char *png, const float *w, int c_out, int c_in, int kh, int kw)
{
    if (check_quotable(png, "PNG") != NN_OK)
        return NN_ERROR;
    if (!w || c_out < 1 || c_out > 256 || c_in < 1 || kh < 1 || kh > MAX_KERNEL || kw < 1 ||
        kw > MAX_KERNEL)
        return nn_fail("filters: need 1..256 filters of 1..%d x 1..%d and c_in >= 1, got "
                       "[%d, %d, %d, %d]", MAX_KERNEL, MAX_KERNEL, c_out, c_in, kh, kw);
    char header[160], channels[48] = "";
    if (c_in > 1)
        snprintf(channels, sizeof channels, " (mean of %d input channels)", c_in);
    snprintf(header, sizeof header, "%d filters %dx%d%s: black = min, white = max of each",
             c_out, kh, kw, channels);
    tile_grid g = tile_layout(c_out, kh, kw, 8, 96, header);

    gnuplot_run run;
    if (png_begin(&run, png, g.width, g.height) != NN_OK)
        return NN_ERROR;
    tile_axes(run.in, &g, header);
    for (int o = 0; o < c_out; o++) {
        char number[16];
        put_filter(run.in, w, o, c_in, kh, kw);
        snprintf(number, sizeof number, "%d", o);
        put_caption(run.in, &g, o, number, "#333333");
        /* A thin frame: a tile's white edge would melt into the page. */
        put_frame(run.in, &g, o, 0, "rgb '#a0a0a0'");
    }
    plot_tiles(run.in, &g, c_out, kh, kw);
    return png_end(&run);
}

/* ================================================================ boundary */

/* Tableau 10: hues that stay distinct on a projector and in print; class k
 * gets colour k (cycling past 10). */
static const unsigned class_rgb[10] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                       0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac};

/* Channel `shift` of colour rgb mixed with white (a < 1) or black (a > 1):
 * c' = a·c + (1 − a)·255 for tints, c' = c / a for shades. */
static int channel(unsigned rgb, int shift, double a)
{
    double c = (rgb >> shift) & 0xff;
    return (int)(a <= 1.0 ? a * c + (1.0 - a) * 255.0 : c / a);
}

/* Colour rgb tinted (a < 1) or shaded (a > 1), channel by channel. */
static unsigned mix(unsigned rgb, double a)
{
    return (unsigned)channel(rgb, 16, a) << 16 | (unsigned)channel(rgb, 8, a) << 8 |
           (unsigned)channel(rgb, 0, a);
}

/* A region of the plane, x in [x0, x1], y in [y0, y1]. */
typedef struct {
    double x0, x1, y0, y1;
} plane_box;

/* The points' bounding box widened by 10% of its size on every side (by
 * 1 along an axis where all points agree), so no point sits on the edge. */
static plane_box data_box(const nn_dataset *ds)
{
    plane_box b = {ds->f32[0], ds->f32[0], ds->f32[1], ds->f32[1]};
    for (int i = 1; i < ds->n; i++) {
        double x = ds->f32[2 * i], y = ds->f32[2 * i + 1];
        b.x0 = x < b.x0 ? x : b.x0;
        b.x1 = x > b.x1 ? x : b.x1;
        b.y0 = y < b.y0 ? y : b.y0;
        b.y1 = y > b.y1 ? y : b.y1;
    }
    double mx = b.x1 > b.x0 ? 0.1 * (b.x1 - b.x0) : 1.0;
    double my = b.y1 > b.y0 ? 0.1 * (b.y1 - b.y0) : 1.0;
    return (plane_box){b.x0 - mx, b.x1 + mx, b.y0 - my, b.y1 + my};
}

/* Centre of grid cell (i, j): row i from the bottom, column j from the left. */
static void cell_centre(const plane_box *b, int res, int i, int j, double *x, double *y)
{
    *x = b->x0 + (j + 0.5) * (b->x1 - b->x0) / res;
    *y = b->y0 + (i + 0.5) * (b->y1 - b->y0) / res;
}

/* The model's class for every cell of a res x res grid over b:
 * cls[i·res + j] for row i, column j, evaluated BATCH cells at a time. */
static int grid_classes(int *cls, nn_model *m, const plane_box *b, int res)
{
    enum { BATCH = 1024 };
    float x[BATCH * 2];
    int cells = res * res, outputs = nn_model_outputs(m);
    for (int start = 0; start < cells; start += BATCH) {
        int rows = cells - start < BATCH ? cells - start : BATCH;
        for (int r = 0; r < rows; r++) {
            double cx, cy;
            cell_centre(b, res, (start + r) / res, (start + r) % res, &cx, &cy);
            x[2 * r] = (float)cx;
            x[2 * r + 1] = (float)cy;
        }
        const float *logits = nn_model_forward(m, x, rows);
        if (!logits)
            return NN_ERROR;
        for (int r = 0; r < rows; r++)
            cls[start + r] = nn_argmax(logits + (size_t)r * outputs, outputs);
    }
    return NN_OK;
}

/* The regions as an RGB image (x y r g b per cell) in light class colours,
 * then one data block $classK of the points of each true class K. */
static void put_boundary_data(FILE *gp, const int *cls, const plane_box *b, int res,
                              const nn_dataset *ds)
{
    fputs("$regions << EOD\n", gp);
    for (int i = 0; i < res; i++)
        for (int j = 0; j < res; j++) {
            double x, y;
            cell_centre(b, res, i, j, &x, &y);
            unsigned c = mix(class_rgb[cls[i * res + j] % 10], 0.3);
            fprintf(gp, "%.6g %.6g %u %u %u\n", x, y, c >> 16, c >> 8 & 0xff, c & 0xff);
        }
    fputs("EOD\n", gp);
    for (int k = 0; k < ds->classes; k++) {
        fprintf(gp, "$class%d << EOD\n", k);
        for (int i = 0; i < ds->n; i++)
            if (ds->labels[i] == k)
                fprintf(gp, "%.6g %.6g\n", (double)ds->f32[2 * i], (double)ds->f32[2 * i + 1]);
        fputs("EOD\n", gp);
    }
}

/* Regions underneath; each class's points as filled discs in its colour
 * with a darker rim, so points stay visible on their own region's tint. */
static void plot_boundary(FILE *gp, int classes)
{
    fputs("plot $regions using 1:2:3:4:5 with rgbimage notitle", gp);
    for (int k = 0; k < classes; k++) {
        unsigned c = class_rgb[k % 10];
        fprintf(gp, ", $class%d with points pt 7 ps 0.8 lc rgb '#%06x' title 'class %d'"
                    ", $class%d with points pt 6 ps 0.8 lw 0.8 lc rgb '#%06x' notitle",
                k, c, k, k, mix(c, 1.6));
    }
    fputs("\n", gp);
}

/* Title, axes and plot. Equal scales on both axes (a circle stays a
 * circle): gnuplot fits the plot to the canvas that the caller sized. */
static void draw_boundary(FILE *gp, const plane_box *b, const nn_dataset *ds, const char *spec,
                          double accuracy)
{
    fputs("set title ", gp);
    put_quoted(gp, ds->name);
    fputs(" . ': ' . ", gp);
    put_quoted(gp, spec);
    fprintf(gp, " . ', accuracy %.1f%%' font ',12'\n", 100.0 * accuracy);
    fprintf(gp, "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\nset size ratio -1\n"
                "set xlabel 'x1'\nset ylabel 'x2'\nset tics out nomirror\nset border front\n"
                "set key outside right top\n",
            b->x0, b->x1, b->y0, b->y1);
    plot_boundary(gp, ds->classes);
}

int nn_plot_boundary(const char *png, nn_model *m, const nn_dataset *ds, int resolution)
{
    if (check_quotable(png, "PNG") != NN_OK)
        return NN_ERROR;
    if (ds->dim != 2 || !ds->f32)
        return nn_fail("decision regions need 2-D data with float features; data set '%s' has "
                       "%d %s features", ds->name, ds->dim, ds->f32 ? "float" : "byte");
    if (ds->n < 1)
        return nn_fail("decision regions: data set '%s' is empty", ds->name);
    if (nn_model_inputs(m) != 2)
        return nn_fail("decision regions need a model with 2 inputs; this one takes %d",
                       nn_model_inputs(m));
    if (resolution < 2 || resolution > 1000)
        return nn_fail("decision regions: resolution %d is not in 2..1000", resolution);

    /* The accuracy on the points first: nn_predict checks that the model
     * has an output for every class, and puts it in evaluation mode (no
     * dropout, batch norm's running statistics) for the grid too. */
    int *pred = nn_alloc((size_t)ds->n * sizeof *pred);
    int *cls = nn_alloc((size_t)resolution * (size_t)resolution * sizeof *cls);
    plane_box b = data_box(ds);
    int status = pred && cls ? NN_OK : NN_ERROR, right = 0;
    if (status == NN_OK)
        status = nn_predict(pred, NULL, m, ds, 256);
    if (status == NN_OK)
        status = grid_classes(cls, m, &b, resolution);
    for (int i = 0; status == NN_OK && i < ds->n; i++)
        right += pred[i] == ds->labels[i];

    /* The plot area is about 600 pixels wide; the canvas as tall as the
     * data's aspect ratio needs, within reason. */
    double aspect = (b.y1 - b.y0) / (b.x1 - b.x0);
    int height = 160 + (int)(600 * (aspect < 0.4 ? 0.4 : aspect > 1.2 ? 1.2 : aspect));
    gnuplot_run g;
    if (status == NN_OK)
        status = png_begin(&g, png, 820, height);
    if (status == NN_OK) {
        put_boundary_data(g.in, cls, &b, resolution, ds);
        draw_boundary(g.in, &b, ds, m->spec, (double)right / ds->n);
        status = png_end(&g);
    }
    nn_free(pred);
    nn_free(cls);
    return status;
}
