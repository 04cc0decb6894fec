/*
 * The matrix product on the GPU, in four steps.
 *
 *     C [m, n] = α · A [m, k] · B [k, n] + β · C        (row-major)
 *
 * is 2·m·n·k floating-point operations on (mk + kn + mn) numbers: every
 * number is used about n, m or k times. Each step below keeps the same
 * arithmetic and moves the numbers more cleverly, and each is several
 * times faster than the one before (make bench-gpu measures them):
 *
 *   1. naive       one thread per element of C, the threads of a warp
 *                  walking down a column of C: they read 32 different rows
 *                  of A, 32 memory transactions per load;
 *   2. coalesced   the same, the warp walking along a row of C: its 32
 *                  reads of B are 32 neighbouring floats, one transaction,
 *                  and its reads of A are one float broadcast to all;
 *   3. tiled       a block of 32×32 threads stages a 32×32 tile of A and
 *                  one of B in shared memory, then every thread reads them
 *                  32 times from there: global traffic ÷ 32;
 *   4. register    a block computes a 128×128 tile of C with 256 threads,
 *      blocking    8×8 outputs each, kept in registers: per step of k a
 *                  thread loads 8 numbers of A and 8 of B from shared
 *                  memory and does 64 multiply-adds with them, and the
 *                  tiles come in as float4 (16-byte) loads.
 *
 * Step 4 also takes transposed operands and batches (blockIdx.z), which
 * is what training needs: the dense layer's forward is in·Wᵀ, its weight
 * gradient Gᵀ·in, the convolution a batch of W·X products.
 *
 * cuBLAS is the yardstick. Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ,
 * so cuBLAS (column-major) is called with the operands swapped; its math
 * mode is left at the default, which for sgemm is plain FP32 (no TF32).
 */
#include "cuda_util.cuh"

/* β = 0 must not read C: it may hold anything, NaN included. */
__device__ __forceinline__ float blend(float alpha, float acc, float beta, const float *c)
{
    return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

/* ------------------------------------------------------------ step 1 */

/* Thread (x, y) of the grid computes C[row = x, col = y]. Consecutive
 * threadIdx.x are consecutive rows: a warp reads A[row, p] for 32 rows,
 * 32 floats lda apart. */
__global__ void sgemm_naive(int m, int n, int k, float alpha, const float *a, int lda, long long sa,
                            const float *b, int ldb, long long sb, float beta, float *c, int ldc,
                            long long sc)
{
    a += blockIdx.z * sa;
    b += blockIdx.z * sb;
    c += blockIdx.z * sc;
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    int col = blockIdx.y * blockDim.y + threadIdx.y;
    if (row >= m || col >= n)
        return;
    float acc = 0.0f;
    for (int p = 0; p < k; p++)
        acc += a[(long long)row * lda + p] * b[(long long)p * ldb + col];
    float *out = c + (long long)row * ldc + col;
    *out = blend(alpha, acc, beta, out);
}

/* ------------------------------------------------------------ step 2 */

/* The same loop with x and y exchanged: consecutive threadIdx.x are now
 * consecutive columns, so a warp's reads of B[p, col] are 32 neighbouring
 * floats and its reads of A[row, p] one address (a broadcast). */
__global__ void sgemm_coalesced(int m, int n, int k, float alpha, const float *a, int lda,
                                long long sa, const float *b, int ldb, long long sb, float beta,
                                float *c, int ldc, long long sc)
{
    a += blockIdx.z * sa;
    b += blockIdx.z * sb;
    c += blockIdx.z * sc;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    if (row >= m || col >= n)
        return;
    float acc = 0.0f;
    for (int p = 0; p < k; p++)
        acc += a[(long long)row * lda + p] * b[(long long)p * ldb + col];
    float *out = c + (long long)row * ldc + col;
    *out = blend(alpha, acc, beta, out);
}

/* ------------------------------------------------------------ step 3 */

#define TILE 32

/* A 32×32 block of threads owns a 32×32 tile of C. For each 32-wide slice
 * of k, every thread copies one number of A and one of B into shared
 * memory; after the barrier each thread reads a row of the A tile and a
 * column of the B tile from there, 2·32 shared reads for 32 multiply-adds
 * instead of 2·32 global ones. Entries past the edges of A and B are
 * stored as 0, so sizes need not be multiples of 32. The second barrier
 * keeps the next slice from overwriting a tile that slower threads are
 * still reading. */
__global__ void sgemm_tiled(int m, int n, int k, float alpha, const float *a, int lda, long long sa,
                            const float *b, int ldb, long long sb, float beta, float *c, int ldc,
                            long long sc)
{
    __shared__ float as[TILE][TILE];
    __shared__ float bs[TILE][TILE + 1]; /* +1: a column read hits 32 different banks */
    a += blockIdx.z * sa;
    b += blockIdx.z * sb;
    c += blockIdx.z * sc;
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int p0 = 0; p0 < k; p0 += TILE) {
        as[ty][tx] = row < m && p0 + tx < k ? a[(long long)row * lda + p0 + tx] : 0.0f;
        bs[ty][tx] = p0 + ty < k && col < n ? b[(long long)(p0 + ty) * ldb + col] : 0.0f;
        __syncthreads();
        for (int p = 0; p < TILE; p++)
            acc += as[ty][p] * bs[p][tx];
        __syncthreads();
    }
    if (row < m && col < n) {
        float *out = c + (long long)row * ldc + col;
        *out = blend(alpha, acc, beta, out);
    }
}

/* ------------------------------------------------------------ step 4 */

/*
 * A block of (BM/TM)·(BN/TN) threads computes a BM×BN tile of C. For each
 * BK-wide slice of k it stages A's BM×BK tile as as[BK][BM] (k first, so
 * that a thread's TM numbers of one k are contiguous) and B's BK×BN tile
 * as bs[BK][BN]. Thread (ty, tx) owns rows ty·TM … ty·TM+TM−1 and columns
 * tx·TN … tx·TN+TN−1 of the tile; per k it loads TM + TN numbers into
 * registers and does TM·TN multiply-adds: with 8×8, 64 FMAs for 16 loads.
 *
 * Loading: the operand is read along its contiguous dimension, four floats
 * at a time (a float4 is one 16-byte instruction) when `vec` says rows and
 * pointers are 16-byte aligned and the four lie inside the matrix, else one
 * at a time; anything outside the matrix is stored as 0.
 * TA: A is stored [k, m] (we read Aᵀ); TB: B is stored [n, k].
 */
template <int BM, int BK, bool TA>
__device__ __forceinline__ void load_a(float (*as)[BM], const float *a, int lda, int m, int k,
                                       int row0, int k0, bool vec, int tid, int threads)
{
    if (!TA) { /* a[r·lda + p], contiguous in p: float4 along k */
        for (int f = tid; f < BM * BK / 4; f += threads) {
            int r = f / (BK / 4), p = (f % (BK / 4)) * 4;
            int gr = row0 + r, gp = k0 + p;
            const float *src = a + (long long)gr * lda + gp;
            if (vec && gr < m && gp + 3 < k) {
                float4 v = *reinterpret_cast<const float4 *>(src);
                as[p][r] = v.x, as[p + 1][r] = v.y, as[p + 2][r] = v.z, as[p + 3][r] = v.w;
            } else {
                for (int q = 0; q < 4; q++)
                    as[p + q][r] = gr < m && gp + q < k ? src[q] : 0.0f;
            }
        }
    } else { /* a[p·lda + r], contiguous in r: float4 along m, stored as it comes */
        for (int f = tid; f < BM * BK / 4; f += threads) {
            int p = f / (BM / 4), r = (f % (BM / 4)) * 4;
            int gp = k0 + p, gr = row0 + r;
            const float *src = a + (long long)gp * lda + gr;
            if (vec && gp < k && gr + 3 < m) {
                *reinterpret_cast<float4 *>(&as[p][r]) = *reinterpret_cast<const float4 *>(src);
            } else {
                for (int q = 0; q < 4; q++)
                    as[p][r + q] = gp < k && gr + q < m ? src[q] : 0.0f;
            }
        }
    }
}

template <int BN, int BK, bool TB>
__device__ __forceinline__ void load_b(float (*bs)[BN], const float *b, int ldb, int k, int n,
                                       int k0, int col0, bool vec, int tid, int threads)
{
    if (!TB) { /* b[p·ldb + col], contiguous in col: float4 along n */
        for (int f = tid; f < BN * BK / 4; f += threads) {
            int p = f / (BN / 4), cc = (f % (BN / 4)) * 4;
            int gp = k0 + p, gc = col0 + cc;
            const float *src = b + (long long)gp * ldb + gc;
            if (vec && gp < k && gc + 3 < n) {
                *reinterpret_cast<float4 *>(&bs[p][cc]) = *reinterpret_cast<const float4 *>(src);
            } else {
                for (int q = 0; q < 4; q++)
                    bs[p][cc + q] = gp < k && gc + q < n ? src[q] : 0.0f;
            }
        }
    } else { /* b[col·ldb + p], contiguous in p: float4 along k */
        for (int f = tid; f < BN * BK / 4; f += threads) {
            int cc = f / (BK / 4), p = (f % (BK / 4)) * 4;
            int gc = col0 + cc, gp = k0 + p;
            const float *src = b + (long long)gc * ldb + gp;
            if (vec && gc < n && gp + 3 < k) {
                float4 v = *reinterpret_cast<const float4 *>(src);
                bs[p][cc] = v.x, bs[p + 1][cc] = v.y, bs[p + 2][cc] = v.z, bs[p + 3][cc] = v.w;
            } else {
                for (int q = 0; q < 4; q++)
                    bs[p + q][cc] = gc < n && gp + q < k ? src[q] : 0.0f;
            }
        }
    }
}

/* T contiguous floats of shared memory into registers: float4 loads when
 * T is a multiple of 4 (the address then is 16-byte aligned too). */
template <int T>
__device__ __forceinline__ void fetch(float *reg, const float *shared)
{
    if constexpr (T % 4 == 0) {
        for (int i = 0; i < T / 4; i++) {
            float4 v = reinterpret_cast<const float4 *>(shared)[i];
            reg[4 * i] = v.x, reg[4 * i + 1] = v.y, reg[4 * i + 2] = v.z, reg[4 * i + 3] = v.w;
        }
    } else {
        for (int i = 0; i < T; i++)
            reg[i] = shared[i];
    }
}

/*
 * Split-K: a product with few output tiles (a batch of 128 rows times a
 * 256-wide layer is 32 tiles of 32×32, for a GPU of 132 multiprocessors)
 * leaves most of the GPU idle. With splits > 1, blockIdx.z also chooses a
 * slice [k_begin, k_end) of the summed dimension: each block writes its
 * partial sum α·Σ_slice to `part` (one m×n matrix per slice and product),
 * and sum_splits() adds the slices in order, and β·C. Without split,
 * part is NULL and the block writes C itself.
 */
template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
sgemm_regblock(int m, int n, int k, float alpha, const float *__restrict__ a, int lda,
               long long sa, const float *__restrict__ b, int ldb, long long sb, float beta,
               float *__restrict__ c, int ldc, long long sc, bool vec, int splits, int kchunk,
               float *__restrict__ part)
{
    constexpr int THREADS = (BM / TM) * (BN / TN);
    __shared__ __align__(16) float as[BK][BM];
    __shared__ __align__(16) float bs[BK][BN];
    const int z = blockIdx.z / splits, split = blockIdx.z % splits;
    a += z * sa;
    b += z * sb;
    c += z * sc;
    const int k_begin = split * kchunk;
    const int k_end = k_begin + kchunk < k ? k_begin + kchunk : k;
    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;

    float acc[TM][TN] = {};
    float ra[TM], rb[TN];
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        load_a<BM, BK, TA>(as, a, lda, m, k_end, row0, k0, vec, tid, THREADS);
        load_b<BN, BK, TB>(bs, b, ldb, k_end, n, k0, col0, vec, tid, THREADS);
        __syncthreads();
#pragma unroll
        for (int p = 0; p < BK; p++) {
            fetch<TM>(ra, &as[p][ty * TM]);
            fetch<TN>(rb, &bs[p][tx * TN]);
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++)
                    acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    float *slice = part ? part + ((long long)z * splits + split) * m * n : NULL;
    for (int i = 0; i < TM; i++) {
        int row = row0 + ty * TM + i;
        if (row >= m)
            break;
        for (int j = 0; j < TN; j++) {
            int col = col0 + tx * TN + j;
            if (col >= n)
                continue;
            if (slice) {
                slice[(long long)row * n + col] = alpha * acc[i][j];
            } else {
                float *out = c + (long long)row * ldc + col;
                *out = blend(alpha, acc[i][j], beta, out);
            }
        }
    }
}

/* C = Σ_s part[z, s] + β·C, the slices added in order (the same bits every run). */
__global__ void sum_splits(float *c, int ldc, long long sc, const float *part, int m, int n,
                           int splits, float beta, int batch)
{
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long mn = (long long)m * n;
    if (t >= mn * batch)
        return;
    long long z = t / mn, e = t % mn;
    const float *p = part + z * splits * mn + e;
    float acc = 0.0f;
    for (int s = 0; s < splits; s++)
        acc += p[s * mn];
    float *out = c + z * sc + (e / n) * ldc + e % n;
    *out = beta == 0.0f ? acc : acc + beta * *out;
}

/* ------------------------------------------------------------ dispatch */

/* The arguments of one (batched) product, as nn_gpu_sgemm() takes them. */
struct gemm_args {
    int ta, tb, m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int lda, ldb, ldc;
    long long sa, sb, sc;
    int batch;
};

static bool aligned16(const void *p)
{
    return ((unsigned long long)p & 15u) == 0;
}

/* float4 loads are legal when every row (and every matrix of the batch)
 * starts on a 16-byte boundary. */
static bool can_vectorize(const gemm_args &g)
{
    return aligned16(g.a) && aligned16(g.b) && g.lda % 4 == 0 && g.ldb % 4 == 0 &&
           g.sa % 4 == 0 && g.sb % 4 == 0;
}

/* The product on a BM×BN tiling, its k split in `splits` slices (1: none);
 * part is the slices' scratch, splits·batch·m·n floats. */
template <int BM, int BN, int BK, int TM, int TN>
static int launch_regblock(const gemm_args &g, int splits = 1, float *part = NULL)
{
    /* each slice a whole number of BK steps */
    int kchunk = splits > 1 ? (g.k + splits * BK - 1) / (splits * BK) * BK : (g.k > 0 ? g.k : 1);
    dim3 block((BM / TM) * (BN / TN));
    dim3 grid(nn_blocks(g.n, BN), nn_blocks(g.m, BM), g.batch * splits);
    bool vec = can_vectorize(g);
#define NN_REGBLOCK(TA, TB)                                                                   \
    sgemm_regblock<BM, BN, BK, TM, TN, TA, TB><<<grid, block>>>(                              \
        g.m, g.n, g.k, g.alpha, g.a, g.lda, g.sa, g.b, g.ldb, g.sb, g.beta, g.c, g.ldc, g.sc, vec, \
        splits, kchunk, splits > 1 ? part : NULL)
    if (!g.ta && !g.tb)
        NN_REGBLOCK(false, false);
    else if (!g.ta && g.tb)
        NN_REGBLOCK(false, true);
    else if (g.ta && !g.tb)
        NN_REGBLOCK(true, false);
    else
        NN_REGBLOCK(true, true);
#undef NN_REGBLOCK
    if (NN_LAUNCHED("sgemm_regblock"))
        return NN_ERROR;
    if (splits == 1)
        return NN_OK;
    long long total = (long long)g.m * g.n * g.batch;
    sum_splits<<<nn_blocks(total, 256), 256>>>(g.c, g.ldc, g.sc, part, g.m, g.n, splits, g.beta,
                                               g.batch);
    return NN_LAUNCHED("sum_splits");
}

/* Blocks of a BM×BN tiling of the batch. */
static long long tiles(const gemm_args &g, int bm, int bn)
{
    return (long long)nn_blocks(g.m, bm) * nn_blocks(g.n, bn) * g.batch;
}

/* Scratch for split-K slices, kept in the session and grown on demand
 * (the stream runs one product after another, so one buffer serves all). */
static float *split_scratch(nn_gpu_context *ctx, size_t floats)
{
    if (floats <= ctx->scratch_floats)
        return ctx->scratch;
    cudaFree(ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_floats = 0;
    if (NN_CUDA(cudaMalloc((void **)&ctx->scratch, floats * sizeof(float))))
        return NULL;
    ctx->scratch_floats = floats;
    return ctx->scratch;
}

/* Training's products are often small (a batch of 128 rows): a 128×128
 * tiling of them would leave most of the GPU idle. Take the largest tile
 * that still gives every SM a block; when even 32×32 tiles are too few and
 * k is long, split k so that about one block per SM runs. */
static int launch_own(nn_gpu_context *ctx, const gemm_args &g)
{
    if (tiles(g, 128, 128) >= ctx->sms)
        return launch_regblock<128, 128, 8, 8, 8>(g);
    if (tiles(g, 64, 64) >= ctx->sms)
        return launch_regblock<64, 64, 16, 4, 4>(g);
    long long t = tiles(g, 32, 32);
    int splits = (int)((ctx->sms + t - 1) / t);
    if (splits > g.k / 64)  /* at least 64 of k per slice */
        splits = g.k / 64;
    if (splits > 16)
        splits = 16;
    while (splits > 1 && (long long)splits * g.batch > 65535) /* gridDim.z's limit */
        splits--;
    if (splits < 2)
        return launch_regblock<32, 32, 16, 2, 2>(g);
    float *part = split_scratch(ctx, (size_t)splits * g.batch * g.m * g.n);
    return part ? launch_regblock<32, 32, 16, 2, 2>(g, splits, part) : NN_ERROR;
}

/* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a
 * row-major matrix read as column-major is its transpose: so cuBLAS gets
 * B first, A second, n and m exchanged, each with its own flag. */
static int launch_cublas(nn_gpu_context *ctx, const gemm_args &g)
{
    if (!ctx->blas && (NN_CUBLAS(cublasCreate(&ctx->blas)) ||
                       NN_CUBLAS(cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH))))
        return NN_ERROR;
    cublasOperation_t opa = g.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opb = g.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (g.batch == 1)
        return NN_CUBLAS(cublasSgemm(ctx->blas, opb, opa, g.n, g.m, g.k, &g.alpha, g.b, g.ldb,
                                     g.a, g.lda, &g.beta, g.c, g.ldc));
    return NN_CUBLAS(cublasSgemmStridedBatched(ctx->blas, opb, opa, g.n, g.m, g.k, &g.alpha,
                                               g.b, g.ldb, g.sb, g.a, g.lda, g.sa, &g.beta, g.c,
                                               g.ldc, g.sc, g.batch));
}

extern "C" int nn_gpu_sgemm(nn_gpu_context *ctx, nn_sgemm_kind kind, int ta, int tb, int m, int n,
                            int k, float alpha, const float *a, int lda, long long sa,
                            const float *b, int ldb, long long sb, float beta, float *c, int ldc,
                            long long sc, int batch)
{
    gemm_args g = {ta, tb, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, sa, sb, sc, batch};
    if (m < 0 || n < 0 || k < 0 || batch < 1 || batch > 65535)
        return nn_fail("sgemm: bad sizes m=%d n=%d k=%d batch=%d", m, n, k, batch);
    if (m == 0 || n == 0)
        return NN_OK;
    if (kind <= NN_SGEMM_TILED && (ta || tb))
        return nn_fail("sgemm: steps 1-3 multiply untransposed matrices only");
    switch (kind) {
    case NN_SGEMM_NAIVE: {
        dim3 block(16, 16), grid(nn_blocks(m, 16), nn_blocks(n, 16), batch);
        sgemm_naive<<<grid, block>>>(m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc);
        return NN_LAUNCHED("sgemm_naive");
    }
    case NN_SGEMM_COALESCED: {
        dim3 block(16, 16), grid(nn_blocks(n, 16), nn_blocks(m, 16), batch);
        sgemm_coalesced<<<grid, block>>>(m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc);
        return NN_LAUNCHED("sgemm_coalesced");
    }
    case NN_SGEMM_TILED: {
        dim3 block(TILE, TILE), grid(nn_blocks(n, TILE), nn_blocks(m, TILE), batch);
        sgemm_tiled<<<grid, block>>>(m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc);
        return NN_LAUNCHED("sgemm_tiled");
    }
    case NN_SGEMM_REGBLOCK: return launch_regblock<128, 128, 8, 8, 8>(g);
    case NN_SGEMM_OWN: return launch_own(ctx, g);
    case NN_SGEMM_CUBLAS: return launch_cublas(ctx, g);
    }
    return nn_fail("sgemm: unknown kind %d", (int)kind);
}
