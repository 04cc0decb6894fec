/*
 * Finding the GPU, and saying clearly why there is none.
 *
 * A CUDA program meets four situations on a machine: no driver at all
 * (libcuda.so is missing: a laptop, a CI runner), a driver older than the
 * toolkit the program was built with, a driver but no device, and a device
 * whose architecture this build has no code for. Each gets its own
 * message; none of them is a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cuda_util.cuh"

/* The architectures this build holds code for ("80 90"), from gpu.mk. */
#ifndef NN_CUDA_ARCH_LIST
#define NN_CUDA_ARCH_LIST "?"
#endif

int nn_cuda_check(cudaError_t e, const char *call, const char *file, int line)
{
    if (e == cudaSuccess)
        return NN_OK;
    return nn_fail("CUDA error in %s (%s:%d): %s (%s)", call, file, line, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

int nn_cublas_check(cublasStatus_t s, const char *call, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return NN_OK;
    return nn_fail("cuBLAS error in %s (%s:%d): %s", call, file, line, cublasGetStatusString(s));
}

/* A kernel that does nothing: asking for its attributes tells whether the
 * device can run this build's code. */
__global__ void probe_kernel(int *flag)
{
    if (flag)
        *flag = 1;
}

/* " (ulimit -v is N MB ...)" when an address-space limit is set: CUDA
 * reserves far more address space than it uses and fails under one. */
static void limit_note(char *note, size_t size)
{
    struct rlimit rl;
    note[0] = '\0';
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(note, size,
                 "; this process may map at most %llu MB (ulimit -v / RLIMIT_AS), and CUDA "
                 "needs its address space unlimited",
                 (unsigned long long)(rl.rlim_cur >> 20));
}

static int say(char *why, size_t size, int answer, const char *text)
{
    if (why && size)
        snprintf(why, size, "%s", text);
    return answer;
}

int nn_gpu_probe(char *why, size_t size)
{
    char text[512], note[200];
    int count = 0, driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver); /* 0 when no driver is installed */
    cudaRuntimeGetVersion(&runtime);
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        count = 0;
    limit_note(note, sizeof note);
    if (driver == 0)
        return say(why, size, 0,
                   "no CUDA driver is installed (libcuda.so.1 not found): this machine cannot "
                   "run CUDA programs");
    if (e == cudaErrorInsufficientDriver) {
        snprintf(text, sizeof text,
                 "the NVIDIA driver is too old: it supports CUDA %d.%d, this program was built "
                 "with CUDA %d.%d (update the driver, or build with an older toolkit)",
                 driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
        return say(why, size, 0, text);
    }
    if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
        snprintf(text, sizeof text, "no CUDA device found (the driver, for CUDA %d.%d, is installed)",
                 driver / 1000, driver % 1000 / 10);
        return say(why, size, 0, text);
    }
    if (e != cudaSuccess) {
        snprintf(text, sizeof text, "CUDA could not start: %s (%s)%s", cudaGetErrorString(e),
                 cudaGetErrorName(e), note);
        return say(why, size, 0, text);
    }
    /* The first call that needs the device creates its context. */
    cudaFuncAttributes attr;
    e = cudaFuncGetAttributes(&attr, (const void *)probe_kernel);
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction) {
        int major = 0, minor = 0;
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
        snprintf(text, sizeof text,
                 "the CUDA device has compute capability %d.%d and this build holds code for "
                 "CUDA_ARCH=\"%s\" only: rebuild with CUDA_ARCH=%d%d (make clean; make gpu "
                 "CUDA_ARCH=%d%d)",
                 major, minor, NN_CUDA_ARCH_LIST, major, minor, major, minor);
        return say(why, size, 0, text);
    }
    if (e != cudaSuccess) {
        snprintf(text, sizeof text, "CUDA could not start on device 0: %s (%s)%s",
                 cudaGetErrorString(e), cudaGetErrorName(e), note);
        return say(why, size, 0, text);
    }
    return say(why, size, 1, "");
}

int nn_gpu_describe(char *text, size_t size)
{
    char why[512];
    if (!nn_gpu_probe(why, sizeof why))
        return nn_fail("%s", why);
    cudaDeviceProp p;
    int driver = 0, runtime = 0;
    if (NN_CUDA(cudaGetDeviceProperties(&p, 0)))
        return NN_ERROR;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    snprintf(text, size, "%s (compute %d.%d, %d SMs, %.1f GiB), driver CUDA %d.%d, runtime %d.%d",
             p.name, p.major, p.minor, p.multiProcessorCount,
             (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), driver / 1000,
             driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
    return NN_OK;
}

nn_gpu_context *nn_gpu_open(void)
{
    char why[512];
    if (!nn_gpu_probe(why, sizeof why))
        return nn_fail("no usable CUDA device: %s", why), (nn_gpu_context *)NULL;
    nn_gpu_context *g = (nn_gpu_context *)calloc(1, sizeof *g);
    if (!g)
        return nn_fail("out of memory"), (nn_gpu_context *)NULL;
    if (NN_CUDA(cudaSetDevice(0)) ||
        NN_CUDA(cudaDeviceGetAttribute(&g->sms, cudaDevAttrMultiProcessorCount, 0))) {
        free(g);
        return NULL;
    }
    return g;
}

void nn_gpu_close(nn_gpu_context *g)
{
    if (!g)
        return;
    if (g->blas)
        cublasDestroy(g->blas);
    cudaFree(g->scratch);
    free(g);
}
