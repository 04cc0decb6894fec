/*
 * The emulator's scheduler and its stand-ins for the CUDA runtime and
 * cuBLAS (see cuda_emu.h). For tests on a machine without a GPU only:
 * nothing here is linked into nnlab or the grader.
 *
 * Scheduling: the threads of a block are coroutines run round-robin, each
 * until it finishes or reaches a barrier. When no thread can run, the
 * barriers are checked: a warp whose live lanes all wait at a shuffle goes
 * on; when every live thread waits at __syncthreads(), all go on. Threads
 * that have returned no longer count (as on Volta and later GPUs). Threads
 * waiting at different barriers forever are a deadlock: reported, then
 * abort().
 *
 * NNLAB_EMU_NO_DEVICE=1 in the environment makes the runtime answer as a
 * machine with a driver but no device; NNLAB_EMU_NO_DRIVER=1 as one with no
 * driver: to exercise the "skipped" paths.
 */
#include "cuda_emu.h"

#include <cblas.h>
#include <cublas_v2.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <ucontext.h>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

enum state { RUNNABLE, AT_BLOCK, AT_WARP, DONE };

struct thread {
    ucontext_t ctx;
    state st;
    dim3 idx;
};

constexpr size_t STACK = 256 * 1024;
constexpr int MAX_THREADS = 1024;

thread threads[MAX_THREADS]; /* constant-initialised: usable from constructors */
uint64_t slots[MAX_THREADS];
ucontext_t scheduler;
int current;
char *stacks;
void (*body_fn)(void *);
void *body_arg;
cudaError_t last_error = cudaSuccess;

void trampoline()
{
    body_fn(body_arg);
    threads[current].st = DONE; /* uc_link returns to the scheduler */
}

void wait_at(state s)
{
    threads[current].st = s;
    swapcontext(&threads[current].ctx, &scheduler);
}

/* Let through whatever barrier is complete; 0 when none is. */
int release(int n)
{
    int released = 0, live = 0, at_block = 0;
    for (int w = 0; w * 32 < n; w++) {
        int lanes = 0, waiting = 0;
        for (int i = w * 32; i < n && i < w * 32 + 32; i++) {
            lanes += threads[i].st != DONE;
            waiting += threads[i].st == AT_WARP;
        }
        if (lanes > 0 && waiting == lanes) {
            for (int i = w * 32; i < n && i < w * 32 + 32; i++)
                threads[i].st = RUNNABLE;
            released = 1;
        }
    }
    if (released)
        return 1;
    for (int i = 0; i < n; i++) {
        live += threads[i].st != DONE;
        at_block += threads[i].st == AT_BLOCK;
    }
    if (live > 0 && at_block == live) {
        for (int i = 0; i < n; i++)
            if (threads[i].st == AT_BLOCK)
                threads[i].st = RUNNABLE;
        return 1;
    }
    return 0;
}

void run_block(int n)
{
    for (int i = 0; i < n; i++) {
        thread &t = threads[i];
        t.idx = dim3(i % blockDim.x, i / blockDim.x % blockDim.y, i / (blockDim.x * blockDim.y));
        t.st = RUNNABLE;
        getcontext(&t.ctx);
        t.ctx.uc_stack.ss_sp = stacks + (size_t)i * STACK;
        t.ctx.uc_stack.ss_size = STACK;
        t.ctx.uc_link = &scheduler;
        makecontext(&t.ctx, trampoline, 0);
    }
    for (;;) {
        int ran = 0;
        for (int i = 0; i < n; i++)
            if (threads[i].st == RUNNABLE) {
                current = i;
                threadIdx = threads[i].idx;
                swapcontext(&scheduler, &threads[i].ctx);
                ran = 1;
            }
        int done = 1;
        for (int i = 0; i < n; i++)
            done &= threads[i].st == DONE;
        if (done)
            return;
        if (!ran && !release(n)) {
            fprintf(stderr, "emulator: deadlock in block (%u,%u,%u): threads wait at different "
                            "barriers (a __syncthreads() or shuffle not reached by all)\n",
                    blockIdx.x, blockIdx.y, blockIdx.z);
            abort();
        }
        if (ran)
            release(n);
    }
}

bool env(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

} // namespace

void emu::run(const launch_config &cfg, void (*body)(void *), void *arg)
{
    const dim3 &g = cfg.grid, &b = cfg.block;
    unsigned long long n = (unsigned long long)b.x * b.y * b.z;
    if (n == 0 || n > 1024 || b.z > 64 || g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 ||
        g.z > 65535) {
        last_error = cudaErrorInvalidConfiguration;
        return;
    }
    if (!stacks) {
        void *p = mmap(nullptr, STACK * MAX_THREADS, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "emulator: cannot map thread stacks\n");
            abort();
        }
        stacks = static_cast<char *>(p);
    }
    body_fn = body;
    body_arg = arg;
    gridDim = g;
    blockDim = b;
    for (unsigned z = 0; z < g.z; z++)
        for (unsigned y = 0; y < g.y; y++)
            for (unsigned x = 0; x < g.x; x++) {
                blockIdx = dim3(x, y, z);
                run_block((int)n);
            }
}

void emu::sync_block()
{
    wait_at(AT_BLOCK);
}

void emu::sync_warp()
{
    wait_at(AT_WARP);
}

uint64_t *emu::warp_slot(int lane)
{
    return &slots[current / 32 * 32 + lane];
}

int emu::lane_id()
{
    return current % 32;
}

/* ------------------------------------------------------------ the runtime */

extern "C" {

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    default: return "emulated CUDA error";
    }
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    default: return "cudaErrorUnknown";
    }
}

cudaError_t cudaDriverGetVersion(int *v)
{
    *v = env("NNLAB_EMU_NO_DRIVER") ? 0 : 13000;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
    *v = 13000;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n)
{
    if (env("NNLAB_EMU_NO_DRIVER"))
        return cudaErrorInsufficientDriver;
    if (env("NNLAB_EMU_NO_DEVICE"))
        return *n = 0, cudaErrorNoDevice;
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int d)
{
    return d == 0 ? cudaSuccess : cudaErrorInvalidValue;
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *fn)
{
    (void)fn;
    memset(attr, 0, sizeof *attr);
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    (void)device;
    switch (attr) {
    case cudaDevAttrMultiProcessorCount: *value = 4; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: *value = 0;
    }
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int device)
{
    (void)device;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CPU emulator (no GPU)");
    p->major = 9;
    p->multiProcessorCount = 4;
    p->totalGlobalMem = (size_t)1 << 30;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t n)
{
    /* Exactly n bytes (AddressSanitizer then flags any access past them),
     * 256-byte aligned as cudaMalloc's are. */
    *p = nullptr;
    if (n && posix_memalign(p, 256, n) != 0)
        return *p = nullptr, cudaErrorMemoryAllocation;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t n)
{
    return cudaMalloc(p, n);
}

cudaError_t cudaFreeHost(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    (void)kind;
    if (n)
        memmove(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    (void)stream;
    return cudaMemcpy(dst, src, n, kind);
}

cudaError_t cudaMemset(void *p, int value, size_t n)
{
    if (n)
        memset(p, value, n);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t n, cudaStream_t stream)
{
    (void)stream;
    return cudaMemset(p, value, n);
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    (void)s;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
    *free_bytes = *total = (size_t)1 << 30;
    return cudaSuccess;
}

struct CUevent_st {
    double t;
};

static double now()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    *e = new CUevent_st{0.0};
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    (void)s;
    e->t = now();
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    (void)e;
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    *ms = (float)((b->t - a->t) * 1e3);
    return cudaSuccess;
}

/* ------------------------------------------------------------ cuBLAS (column-major) */

cublasStatus_t cublasCreate_v2(cublasHandle_t *h)
{
    static int token;
    *h = reinterpret_cast<cublasHandle_t>(&token);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h)
{
    (void)h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
    (void)h;
    (void)mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t s)
{
    return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "emulated cuBLAS error";
}

static CBLAS_TRANSPOSE op(cublasOperation_t o)
{
    return o == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const float *alpha, const float *a, int lda,
                              const float *b, int ldb, const float *beta, float *c, int ldc)
{
    (void)h;
    if (*beta == 0.0f) /* cuBLAS does not read C when β = 0 */
        for (int j = 0; j < n; j++)
            memset(c + (size_t)j * ldc, 0, sizeof(float) * (size_t)m);
    cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *a, int lda,
                                         long long sa, const float *b, int ldb, long long sb,
                                         const float *beta, float *c, int ldc, long long sc,
                                         int batch)
{
    for (int z = 0; z < batch; z++)
        cublasSgemm_v2(h, ta, tb, m, n, k, alpha, a + z * sa, lda, b + z * sb, ldb, beta,
                       c + z * sc, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
