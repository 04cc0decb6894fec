/*
 * A CUDA emulator for checking kernel LOGIC on a machine without a GPU.
 *
 * The CUDA sources of reference/gpu/ are compiled by g++ with this header
 * forced in first (-include), after sed has rewritten every launch
 *     kernel<<<grid, block>>>(args)
 * into
 *     kernel % emu::launch_config(grid, block) % std::make_tuple(args)
 * which runs the kernel at once, on the CPU: every CUDA thread of a block
 * is a coroutine (ucontext), one block after another. __syncthreads() and
 * the warp shuffles are real barriers: a thread waits there until every
 * live thread of its block (its warp) has arrived, so a kernel that leaves
 * one out reads stale or unwritten data here as it would on a GPU. Device
 * memory is host memory; cuBLAS is OpenBLAS (emu.cpp).
 *
 * What it cannot check: speed, the memory model beyond barriers (a race
 * between threads that never meet at a barrier is run in one fixed order),
 * warp-synchronous code without __syncwarp, and anything of the hardware.
 * It is a test of indexing, bounds, barriers and arithmetic, no more.
 */
#ifndef NNLAB_CUDA_EMU_H
#define NNLAB_CUDA_EMU_H

/* Defined before the CUDA headers, which then leave them alone. */
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __launch_bounds__(...)
#define NNLAB_CUDA_EMU 1

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <tuple>
#include <utility>


extern dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {

struct launch_config {
    dim3 grid, block;
    launch_config(dim3 g, dim3 b, size_t shared = 0, cudaStream_t stream = 0)
        : grid(g), block(b)
    {
        (void)shared;
        (void)stream;
    }
};

/* Run body() as every thread of every block of the launch (emu.cpp). */
void run(const launch_config &cfg, void (*body)(void *), void *arg);

/* Barriers: the whole block, or the calling thread's warp. */
void sync_block();
void sync_warp();
/* The shuffle slot of the calling lane, and of lane `lane` of its warp. */
uint64_t *warp_slot(int lane);
int lane_id();

template <class F, class Tuple>
struct call {
    F fn;
    Tuple args;
    static void body(void *p)
    {
        call *c = static_cast<call *>(p);
        Tuple copy = c->args; /* each thread gets its own parameters */
        std::apply(c->fn, copy);
    }
};

template <class... P>
struct bound {
    void (*fn)(P...);
    launch_config cfg;
};

template <class... P>
bound<P...> operator%(void (*fn)(P...), const launch_config &cfg)
{
    return bound<P...>{fn, cfg};
}

template <class... P, class... A>
void operator%(const bound<P...> &b, std::tuple<A...> args)
{
    call<void (*)(P...), std::tuple<A...>> c{b.fn, std::move(args)};
    run(b.cfg, &call<void (*)(P...), std::tuple<A...>>::body, &c);
}

} // namespace emu

inline void __syncthreads()
{
    emu::sync_block();
}

inline void __syncwarp(unsigned mask = 0xffffffffu)
{
    (void)mask;
    emu::sync_warp();
}

/* Every lane writes its value, the warp meets, every lane reads its
 * partner's, the warp meets again (so no slot is overwritten early). */
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask)
{
    static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of a large type");
    (void)mask;
    uint64_t bits = 0;
    __builtin_memcpy(&bits, &v, sizeof v);
    *emu::warp_slot(emu::lane_id()) = bits;
    emu::sync_warp();
    bits = *emu::warp_slot(emu::lane_id() ^ lane_mask);
    emu::sync_warp();
    T out;
    __builtin_memcpy(&out, &bits, sizeof out);
    return out;
}

template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta)
{
    (void)mask;
    uint64_t bits = 0;
    __builtin_memcpy(&bits, &v, sizeof v);
    *emu::warp_slot(emu::lane_id()) = bits;
    emu::sync_warp();
    int src = emu::lane_id() + (int)delta;
    if (src < 32)
        bits = *emu::warp_slot(src);
    emu::sync_warp();
    T out;
    __builtin_memcpy(&out, &bits, sizeof out);
    return out;
}

/* One OS thread runs every CUDA thread: read-modify-write is atomic. */
template <class T>
T atomicAdd(T *p, T v)
{
    T old = *p;
    *p = old + v;
    return old;
}

#endif
