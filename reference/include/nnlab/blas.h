/**
 * @file blas.h
 * @brief The framework's BLAS wrapper: row-major sgemm and thread control.
 *
 * Lab 3 teaches the raw `cblas_sgemm` call; the framework goes through this
 * thin wrapper so that thread count and argument order live in one place.
 */
#ifndef NNLAB_BLAS_H
#define NNLAB_BLAS_H

/**
 * @brief C = alpha * op(A) * op(B) + beta * C, all row-major.
 *
 * op(X) is X or its transpose Xᵀ.
 * @param trans_a nonzero: use Aᵀ
 * @param trans_b nonzero: use Bᵀ
 * @param m rows of op(A) and of C
 * @param n columns of op(B) and of C
 * @param k columns of op(A) = rows of op(B)
 * @param alpha scale of the product
 * @param a A, [m, k] (or [k, m] when transposed), leading dimension lda
 * @param lda row stride of A
 * @param b B, [k, n] (or [n, k] when transposed), leading dimension ldb
 * @param ldb row stride of B
 * @param beta scale of the old C (0: overwrite, 1: accumulate)
 * @param c C, [m, n], leading dimension ldc
 * @param ldc row stride of C
 */
void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc);

/**
 * @brief Set the number of threads BLAS may use.
 * @param n threads, >= 1
 */
void nn_blas_set_threads(int n);

/** @brief Number of threads BLAS currently uses. @return the thread count */
int nn_blas_threads(void);

#endif
