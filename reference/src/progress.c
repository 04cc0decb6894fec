/* The progress bar: redrawn in place on a terminal, one line per epoch elsewhere. */
#include "nnlab/progress.h"
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24

double nn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nn_progress_begin(nn_progress *p, FILE *out, int epoch, int epochs, int batches)
{
    p->out = out ? out : stderr;
    p->tty = isatty(fileno(p->out));
    p->epoch = epoch;
    p->epochs = epochs;
    p->batches = batches;
    p->images = 0;
    p->start = nn_now();
    p->last_draw = 0.0;
}

void nn_progress_update(nn_progress *p, int batch, int images, float loss)
{
    p->images += images;
    double now = nn_now();
    if (!p->tty || (now - p->last_draw < 0.1 && batch < p->batches))
        return;
    p->last_draw = now;
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)p->images / elapsed : 0.0;
    /* ETA: the remaining batches at the average time per batch so far. */
    double eta = elapsed / batch * (p->batches - batch);
    int filled = (int)((long)BAR_WIDTH * batch / p->batches);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->out, "\r\033[Kepoch %d/%d [%s] %d/%d loss %.4f %.0f img/s ETA %.0fs",
            p->epoch, p->epochs, bar, batch, p->batches, loss, rate, eta);
    fflush(p->out);
}

void nn_progress_end(nn_progress *p, const char *summary)
{
    double elapsed = nn_now() - p->start;
    double rate = elapsed > 0 ? (double)p->images / elapsed : 0.0;
    fprintf(p->out, "%sepoch %d/%d  %s  (%.1fs, %.0f img/s)\n", p->tty ? "\r\033[K" : "",
            p->epoch, p->epochs, summary, elapsed, rate);
    fflush(p->out);
}
