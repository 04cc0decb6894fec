/**
 * @file gpu.h
 * @brief The CUDA reference: device checks, the matrix product in four
 *        steps (and cuBLAS), and training a model on the GPU.
 *
 * Plain C declarations, callable from C and C++; the definitions are CUDA
 * (reference/gpu/ *.cu) and are linked only into programs built by
 * `make gpu` (nnlab) or by the lab 8 grader. Every pointer named "device"
 * below is GPU memory (cudaMalloc).
 *
 * Every function that can fail returns NN_OK or NN_ERROR and records a
 * message (nn_last_error()): no CUDA device, no driver, a driver too old
 * for the toolkit, a kernel that failed. None of them exits or aborts.
 */
#ifndef NNLAB_GPU_H
#define NNLAB_GPU_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "nnlab/data.h"
#include "nnlab/model.h"
#include "nnlab/train.h"

/**
 * @brief Is there a CUDA device this program can use?
 *
 * Asks the CUDA runtime for the devices, and checks that this build holds
 * code the first device can run (CUDA_ARCH at build time). Never fails
 * loudly: the answer and, when it is no, the reason.
 * @param why [size] the reason when there is none, e.g. "no CUDA driver is
 *        installed"; may be NULL
 * @param size bytes of why
 * @return 1 when device 0 can run this build's kernels, 0 otherwise
 */
int nn_gpu_probe(char *why, size_t size);

/**
 * @brief One line about device 0: name, compute capability, SMs, memory,
 *        driver and runtime versions.
 * @param text [size] the line out
 * @param size bytes of text
 * @return NN_OK, or NN_ERROR when there is no usable device
 */
int nn_gpu_describe(char *text, size_t size);

/** Which matrix product the GPU path uses. */
typedef enum {
    NN_GEMM_OWN = 0,    /**< this kit's register-blocked kernel (step 4 of gemm.cu) */
    NN_GEMM_CUBLAS = 1  /**< cublasSgemm, FP32 (no TF32) */
} nn_gemm_impl;

/** The steps of gemm.cu, for the benchmark and the tests. */
typedef enum {
    NN_SGEMM_NAIVE = 1,     /**< step 1: one thread per output, threads along a column (uncoalesced) */
    NN_SGEMM_COALESCED = 2, /**< step 2: threads along a row: a warp reads B in one transaction */
    NN_SGEMM_TILED = 3,     /**< step 3: 32×32 tiles of A and B staged in shared memory */
    NN_SGEMM_REGBLOCK = 4,  /**< step 4: 128×128 block tiles, 8×8 outputs per thread in registers, float4 loads */
    NN_SGEMM_OWN = 5,       /**< step 4 with the tile size chosen for the shape (what training uses) */
    NN_SGEMM_CUBLAS = 6     /**< cuBLAS */
} nn_sgemm_kind;

/** A GPU session: the device's properties and, once needed, a cuBLAS handle. */
typedef struct nn_gpu_context nn_gpu_context;

/**
 * @brief Open a session on device 0.
 * @return the session, or NULL with nn_last_error() set (no usable device)
 */
nn_gpu_context *nn_gpu_open(void);

/** @brief Close a session; NULL is allowed. @param g session */
void nn_gpu_close(nn_gpu_context *g);

/**
 * @brief Row-major C = α·op(A)·op(B) + β·C on the GPU, batched.
 *
 * op(A) is [m, k], op(B) is [k, n]; op(X) = Xᵀ when the flag is set, so A
 * is stored [m, k] (or [k, m] with ta) with rows lda floats apart, and so
 * on. Matrix z of the batch starts z·stride floats after the first one.
 * With β = 0, C is not read (it may hold NaN). Asynchronous: kernels are
 * queued on the default stream.
 * Steps 1–3 handle ta = tb = 0 only.
 * @param g session
 * @param kind which kernel
 * @param ta 1: use Aᵀ
 * @param tb 1: use Bᵀ
 * @param m rows of C
 * @param n columns of C
 * @param k the summed dimension
 * @param alpha α
 * @param a device A
 * @param lda row stride of A
 * @param sa batch stride of A (0: the same A for every product)
 * @param b device B
 * @param ldb row stride of B
 * @param sb batch stride of B
 * @param beta β
 * @param c device C
 * @param ldc row stride of C
 * @param sc batch stride of C
 * @param batch number of products (>= 1)
 * @return NN_OK, or NN_ERROR (bad arguments, launch failure)
 */
int nn_gpu_sgemm(nn_gpu_context *g, nn_sgemm_kind kind, int ta, int tb, int m, int n, int k,
                 float alpha, const float *a, int lda, long long sa, const float *b, int ldb,
                 long long sb, float beta, float *c, int ldc, long long sc, int batch);

/**
 * @brief Can the GPU path train this model? (Every layer but batch norm.)
 * @param m model
 * @return NN_OK, or NN_ERROR naming the layer it cannot run
 */
int nn_gpu_supports(const nn_model *m);

/**
 * @brief nn_train() on the GPU: same epochs, same shuffles (the same
 *        seeded stream), same dropout masks, same CSV log and progress.
 *
 * The weights go to the GPU at the start and come back into m at the end
 * (the best epoch's with cfg->patience), so evaluating, saving and
 * plotting work as after nn_train(). A non-finite loss is found at the end
 * of its epoch and reported as nn_train() reports it.
 * @param m model (nn_gpu_supports() must accept it)
 * @param train training set
 * @param val validation set, or NULL
 * @param cfg settings, as for nn_train()
 * @param gemm own kernels or cuBLAS for the matrix products
 * @param history [cfg->epochs] per-epoch results out, or NULL
 * @return NN_OK or NN_ERROR
 */
int nn_gpu_train(nn_model *m, const nn_dataset *train, const nn_dataset *val,
                 const nn_train_config *cfg, nn_gemm_impl gemm, nn_epoch_stats *history);

#ifdef __cplusplus
}
#endif

#endif
