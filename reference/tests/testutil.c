#include "testutil.h"
#include <math.h>

double tu_rel_err_d(const double *a, const double *b, int n)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return INFINITY;
        double e = fabs(a[i] - b[i]) / fmax(1e-8, fabs(a[i]) + fabs(b[i]));
        if (e > worst)
            worst = e;
    }
    return worst;
}

double tu_rel_err(const float *a, const float *b, int n)
{
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (!isfinite(x) || !isfinite(y))
            return INFINITY;
        double e = fabs(x - y) / fmax(1e-8, fabs(x) + fabs(y));
        if (e > worst)
            worst = e;
    }
    return worst;
}

void tu_fill(float *x, int n, float lo, float hi, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}
