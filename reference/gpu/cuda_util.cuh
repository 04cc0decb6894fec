/*
 * What every CUDA source of the reference shares: the session structure,
 * checked CUDA calls and the grid-size arithmetic. Internal (C++).
 *
 * The rule: every CUDA call is checked. NN_CUDA(call) is NN_OK, or
 * NN_ERROR with the message "CUDA error in call (file:line): text", so
 * calls chain as the C code does:  if (NN_CUDA(a) || NN_CUDA(b)) return NN_ERROR;
 * A kernel launch reports bad launch settings through cudaGetLastError()
 * at once (NN_LAUNCHED); faults inside a kernel show up at the next call
 * that waits for the GPU (cudaMemcpy, cudaDeviceSynchronize).
 */
#ifndef NNLAB_GPU_CUDA_UTIL_CUH
#define NNLAB_GPU_CUDA_UTIL_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "nnlab/error.h"
}
#include "gpu.h"

struct nn_gpu_context {
    int device;           /* always 0: the kit uses one GPU */
    int sms;              /* streaming multiprocessors */
    cublasHandle_t blas;  /* created on the first cuBLAS product, else NULL */
    float *scratch;       /* split-K slices of the own sgemm (gemm.cu), grown on demand */
    size_t scratch_floats;
};

/* NN_OK, or NN_ERROR with a message naming the call and the CUDA error. */
int nn_cuda_check(cudaError_t e, const char *call, const char *file, int line);
int nn_cublas_check(cublasStatus_t s, const char *call, const char *file, int line);

#define NN_CUDA(call) nn_cuda_check((call), #call, __FILE__, __LINE__)
#define NN_CUBLAS(call) nn_cublas_check((call), #call, __FILE__, __LINE__)
/* After a launch: the launch settings were accepted. */
#define NN_LAUNCHED(kernel) nn_cuda_check(cudaGetLastError(), kernel " launch", __FILE__, __LINE__)

/* Blocks of `threads` threads that cover n items: ⌈n / threads⌉. */
static inline unsigned nn_blocks(long long n, int threads)
{
    return (unsigned)((n + threads - 1) / threads);
}

#endif
