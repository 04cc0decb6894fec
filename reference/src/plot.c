/*
 * Curves through gnuplot (DESIGN sections 4 and 5): a training log drawn
 * as a PNG (pngcairo) for reports and as text (`dumb`) in the terminal.
 *
 * gnuplot runs as a child process reading its script from a pipe. It is
 * started as `gnuplot /dev/stdin` rather than plain `gnuplot`: given a
 * script file, gnuplot stops at the first error and exits nonzero, whereas
 * on plain standard input it reports the error and carries on, e.g. with
 * the PNG going to our stdout when `set output` failed.
 */
#include "nnlab/plot.h"
#include "nnlab/error.h"
#include <ctype.h>
#include <errno.h>
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

static int gnuplot_start(gnuplot_run *g)
{
    if (!nn_have_gnuplot())
        return nn_fail("gnuplot is not on the PATH (Debian: apt install gnuplot-nox)");
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

/* Read the log's header line and check that a data row follows. */
static int read_columns(const char *path, log_columns *c)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return nn_fail("cannot open training log %s: %s", path, strerror(errno));
    char header[4096], row[256];
    int have_header = fgets(header, sizeof header, fp) != NULL;
    int have_row = have_header && fgets(row, sizeof row, fp) != NULL;
    fclose(fp);
    if (!have_header)
        return nn_fail("training log %s is empty", path);
    if (!have_row)
        return nn_fail("training log %s has a header but no data rows", path);
    classify_columns(header, c);
    if (c->n_loss + c->n_acc == 0)
        return nn_fail("training log %s has no column named like *loss* or *acc*", path);
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
