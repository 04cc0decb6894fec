/*
 * Lab 4's loss bands from the reference: grader/bands/lab04-mkbands.sh builds
 * this against the reference library (build/lib/libnnlab.a, whose
 * backprop.o is the reference solution) and runs it.
 *
 *   lab04-mkbands OUT_DIR [spirals|fashion]...      (default: both)
 *
 * For each run of grader/bands/lab04-runs.h it trains seeds 1..cfg.seeds
 * exactly as the test does and writes OUT_DIR/lab04-NAME.csv:
 *   epoch,min,max        the smallest and largest mean training loss that
 *                        epoch over the seeds, raw (the test adds the margin)
 * It prints one line per run; a run whose data is missing (Fashion-MNIST
 * not installed) is reported and its file left as it was. Exit status 1
 * when a run failed for another reason.
 */
#include <math.h>
#include "bands/lab04-runs.h"

static int make_band(const lab04_run *cfg, const char *out_dir)
{
    char why[512];
    lab04_data d;
    if (!lab04_load(&d, cfg, why, sizeof why)) {
        printf("%-8s skipped: %s\n", cfg->name, why);
        return strcmp(cfg->name, "fashion") == 0; /* missing data is not a failure */
    }
    float lo[LAB04_MAX_EPOCHS], hi[LAB04_MAX_EPOCHS], loss[LAB04_MAX_EPOCHS];
    for (int s = 1; s <= cfg->seeds; s++) {
        lab04_net net;
        if (!lab04_train(loss, &net, &d, cfg, (uint64_t)s, NULL, NULL)) {
            printf("%-8s failed: out of memory\n", cfg->name);
            lab04_data_free(&d);
            return 0;
        }
        lab04_net_free(&net);
        for (int e = 0; e < cfg->epochs; e++) {
            if (!isfinite(loss[e])) {
                printf("%-8s failed: seed %d gave loss %g at epoch %d\n", cfg->name, s,
                       (double)loss[e], e + 1);
                lab04_data_free(&d);
                return 0;
            }
            if (s == 1 || loss[e] < lo[e])
                lo[e] = loss[e];
            if (s == 1 || loss[e] > hi[e])
                hi[e] = loss[e];
        }
    }
    lab04_data_free(&d);

    char path[4096];
    snprintf(path, sizeof path, "%s/lab04-%s.csv", out_dir, cfg->name);
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("%-8s failed: cannot write %s\n", cfg->name, path);
        return 0;
    }
    fprintf(f, "epoch,min,max\n");
    for (int e = 0; e < cfg->epochs; e++)
        fprintf(f, "%d,%.9g,%.9g\n", e + 1, (double)lo[e], (double)hi[e]);
    if (fclose(f) != 0) {
        printf("%-8s failed: cannot write %s\n", cfg->name, path);
        return 0;
    }
    printf("%-8s %s: %d seeds, %d epochs; last epoch's loss in [%.4f, %.4f]\n", cfg->name, path,
           cfg->seeds, cfg->epochs, (double)lo[cfg->epochs - 1], (double)hi[cfg->epochs - 1]);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lab04-mkbands OUT_DIR [spirals|fashion]...\n");
        return 2;
    }
    const lab04_run *runs[] = {&LAB04_SPIRALS, &LAB04_FASHION};
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        int wanted = argc == 2;
        for (int a = 2; a < argc; a++)
            wanted |= strcmp(argv[a], runs[i]->name) == 0;
        if (wanted)
            ok &= make_band(runs[i], argv[1]);
    }
    return ok ? 0 : 1;
}
