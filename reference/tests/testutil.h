/*
 * Helpers shared by the reference library's CUnit tests.
 *
 * Float checks use the relative error of DESIGN section 4,
 *   max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|),
 * computed in double; NaN or Inf in either array never passes.
 */
#ifndef NNLAB_TESTUTIL_H
#define NNLAB_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include "nnlab/rng.h"

/* Largest relative error between a[n] and b[n]; +Inf if any value is not finite. */
double tu_rel_err(const float *a, const float *b, int n);
/* Same for doubles. */
double tu_rel_err_d(const double *a, const double *b, int n);
/* Fill x[n] with U(lo, hi) from rng. */
void tu_fill(float *x, int n, float lo, float hi, nn_rng *rng);

/* Assert that a[n] and b[n] agree within relative tolerance tol; on failure
 * the message names the arrays, the error and the tolerance. */
#define TU_ASSERT_CLOSE(a, b, n, tol)                                             \
    do {                                                                          \
        double tu_e_ = tu_rel_err((a), (b), (n));                                 \
        char tu_m_[200];                                                          \
        snprintf(tu_m_, sizeof tu_m_, "%s vs %s: rel err %.3g > tol %.1g", #a, #b, \
                 tu_e_, (double)(tol));                                           \
        CU_assertImplementation(tu_e_ < (tol), __LINE__, tu_m_, __FILE__, "", CU_FALSE); \
    } while (0)

/* Assert a scalar relation with a message naming the values. */
#define TU_ASSERT_NEAR(a, b, tol)                                                 \
    do {                                                                          \
        double tu_a_ = (a), tu_b_ = (b);                                          \
        double tu_d_ = tu_a_ > tu_b_ ? tu_a_ - tu_b_ : tu_b_ - tu_a_;             \
        char tu_m_[200];                                                          \
        snprintf(tu_m_, sizeof tu_m_, "%s = %.9g, expected %.9g (tol %.1g)", #a,  \
                 tu_a_, tu_b_, (double)(tol));                                    \
        CU_assertImplementation(tu_d_ <= (tol), __LINE__, tu_m_, __FILE__, "", CU_FALSE); \
    } while (0)

#endif
