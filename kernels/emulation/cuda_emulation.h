// cuda_emulation.h: the CUDA builtins that kernels/*.cu use, implemented for the host C++
// compiler, so the kernel files compile unmodified and run on the CPU (the CUDA backend's
// emulated mode, SPIKEENGINE_CUDA_EMULATE=1; docs/gpu.md).
//
// Execution model (runtime.cpp):
//   - a launch runs its blocks one after another; inside a block every CUDA thread is a fiber
//     (its own stack), run in threadIdx order until it finishes or waits;
//   - __syncthreads releases the block when all its threads wait at it; a thread that exits while
//     others wait, or a barrier reached after a thread exited, is an error (CUDA requires every
//     thread of the block to reach it);
//   - warp operations (__shfl_xor_sync, __ballot_sync) complete when every lane named in the mask
//     has arrived; all lanes must be in the same operation with the same mask;
//   - when no thread can run and some have not finished, the launch fails with a deadlock report
//     naming the kernel, the block and where each thread waits (never a hang);
//   - __shared__ variables are per OS thread (blocks of one launch run in turn on one thread);
//   - atomics are plain read-modify-writes (blocks do not run concurrently);
//   - float math is IEEE binary32 on SSE; contraction of a*b+c follows the GPU build's --fmad
//     (-ffp-contract=off for --fmad=false), and __f*_rn never contract.
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __shared__ static thread_local

namespace spike_emu {

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
};

// What a launch entry receives besides the argument array.
struct launch_config {
    unsigned int grid_x, grid_y, grid_z;
    unsigned int block_x, block_y, block_z;
    unsigned int shared_bytes;
};

struct thread_state;

// Per OS thread: the fiber running now and the block being run.
extern thread_local thread_state* t_thread;
extern thread_local uint3 t_block_idx;
extern thread_local dim3 t_block_dim;
extern thread_local dim3 t_grid_dim;

const uint3& thread_idx();

// Runs kernel(args) over the grid in cfg; returns 0, or -1 with the message in last_error().
int launch(const char* kernel, const launch_config* cfg, void (*body)(void**), void** args);

// Warp operations: arrive with a 64-bit value, wait for the warp, return this lane's result.
enum warp_op { WARP_SHFL_XOR = 1, WARP_BALLOT = 2 };
uint64_t warp_exchange(warp_op op, unsigned int mask, uint64_t value, int arg);

void sync_threads();

// An argument that converts to whatever pointer type the kernel's parameter has.
struct pointer_arg {
    void* p;
    template <class T>
    operator T*() const {
        return static_cast<T*>(p);
    }
};

} // namespace spike_emu

#define threadIdx (spike_emu::thread_idx())
#define blockIdx (spike_emu::t_block_idx)
#define blockDim (spike_emu::t_block_dim)
#define gridDim (spike_emu::t_grid_dim)
#define warpSize 32

// ----------------------------------------------------------------------------
// barriers and warp operations

inline void __syncthreads() { spike_emu::sync_threads(); }

template <class T>
inline T __shfl_xor_sync(unsigned int mask, T value, int lane_mask) {
    static_assert(sizeof(T) <= 8, "__shfl_xor_sync: at most 64-bit values");
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(T));
    bits = spike_emu::warp_exchange(spike_emu::WARP_SHFL_XOR, mask, bits, lane_mask);
    T out;
    memcpy(&out, &bits, sizeof(T));
    return out;
}

inline unsigned int __ballot_sync(unsigned int mask, int predicate) {
    return (unsigned int)spike_emu::warp_exchange(spike_emu::WARP_BALLOT, mask, predicate != 0, 0);
}

// ----------------------------------------------------------------------------
// atomics (blocks run one at a time, so a plain read-modify-write is atomic)

template <class T>
inline T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}

template <class T>
inline T atomicMin(T* address, T value) {
    const T old = *address;
    if (value < old) *address = value;
    return old;
}

template <class T>
inline T atomicMax(T* address, T value) {
    const T old = *address;
    if (value > old) *address = value;
    return old;
}

// ----------------------------------------------------------------------------
// integer and float min / max (CUDA's overloads; mixed operands in the usual arithmetic type)

template <class A, class B>
inline decltype(A() + B()) min(A a, B b) {
    typedef decltype(A() + B()) R;
    return (R)b < (R)a ? (R)b : (R)a;
}

template <class A, class B>
inline decltype(A() + B()) max(A a, B b) {
    typedef decltype(A() + B()) R;
    return (R)a < (R)b ? (R)b : (R)a;
}

// ----------------------------------------------------------------------------
// bit casts

inline float __int_as_float(int i) {
    float f;
    memcpy(&f, &i, 4);
    return f;
}

inline float __uint_as_float(unsigned int u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

inline int __float_as_int(float f) {
    int i;
    memcpy(&i, &f, 4);
    return i;
}

inline unsigned int __float_as_uint(float f) {
    unsigned int u;
    memcpy(&u, &f, 4);
    return u;
}

// ----------------------------------------------------------------------------
// round-to-nearest arithmetic that is never contracted into an FMA: the empty asm makes the
// rounded product or sum a value the compiler can't fuse with its neighbours.

inline float __fmul_rn(float a, float b) {
    float r = a * b;
    __asm__("" : "+x"(r));
    return r;
}

inline float __fadd_rn(float a, float b) {
    float r = a + b;
    __asm__("" : "+x"(r));
    return r;
}

inline float __fsub_rn(float a, float b) {
    float r = a - b;
    __asm__("" : "+x"(r));
    return r;
}

// A launch entry with cuLaunchKernel's argument convention: args[i] points at parameter i.
#define SPIKE_EMU_P(i) (spike_emu::pointer_arg{*(void* const*)args[i]})
#define SPIKE_EMU_I(i) (*(const int*)args[i])
#define SPIKE_EMU_L(i) (*(const long long*)args[i])
#define SPIKE_EMU_F(i) (*(const float*)args[i])
#define SPIKE_EMU_ENTRY(name, ...)                                                                  \
    extern "C" __attribute__((visibility("default"))) int spike_emu_##name(                        \
        const spike_emu::launch_config* cfg, void** kernel_args) {                                  \
        return spike_emu::launch(#name, cfg, [](void** args) { name(__VA_ARGS__); }, kernel_args); \
    }
