// common.cuh: helpers shared by every kernel family.
// NVRTC ships no headers, so this file includes nothing: half and bfloat16 are stored as raw
// 16-bit patterns (unsigned short) and converted by hand, fp32 math everywhere.
#pragma once

// ----------------------------------------------------------------------------
// indexing

__host__ __device__ inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Grid-stride loop over [0, n): every thread of the grid visits i, i + stride, ...
#define GRID_STRIDE_LOOP(i, n)                                                              \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

// ----------------------------------------------------------------------------
// reductions (blockDim.x must be a multiple of 32 and at most 1024)

__device__ inline float warp_reduce_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// Sum over the block; every thread of the block must call it. The result is valid in thread 0.
__device__ inline float block_reduce_sum(float v) {
    __shared__ float warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    v = warp_reduce_sum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    const int n_warps = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < n_warps) ? warp_sums[lane] : 0.0f;
    if (warp == 0) v = warp_reduce_sum(v);
    __syncthreads(); // warp_sums may be reused by a second call
    return v;
}

// ----------------------------------------------------------------------------
// 16-bit float conversions by hand (IEEE binary16 "f16" and bfloat16 "bf16"), round to nearest even

__device__ inline float bf16_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned int)h) << 16);
}

__device__ inline unsigned short f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short)((u >> 16) | 0x0040u); // NaN stays a (quiet) NaN
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

__device__ inline float f16_to_f32(unsigned short h) {
    const unsigned int sign = ((unsigned int)h & 0x8000u) << 16;
    const unsigned int exp = ((unsigned int)h >> 10) & 0x1fu;
    const unsigned int man = (unsigned int)h & 0x3ffu;
    if (exp == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (man << 13)); // inf / NaN
    if (exp == 0) {
        // zero or subnormal: man * 2^-24
        const float mag = (float)man * 5.9604644775390625e-8f;
        return sign ? -mag : mag;
    }
    return __uint_as_float(sign | ((exp + 112u) << 23) | (man << 13));
}

__device__ inline unsigned short f32_to_f16(float f) {
    const unsigned int u = __float_as_uint(f);
    const unsigned int sign = (u >> 16) & 0x8000u;
    const unsigned int abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return (unsigned short)(sign | 0x7e00u); // NaN
    if (abs >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u); // rounds to >= 65520: inf
    if (abs < 0x38800000u) {
        // below the smallest normal half (2^-14): subnormal or zero, value = round(|f| * 2^24)
        if (abs < 0x33000000u) return (unsigned short)sign; // < 2^-25: rounds to zero
        const unsigned int e = abs >> 23;                    // 102 .. 112
        const unsigned int m = (abs & 0x7fffffu) | 0x800000u;
        const unsigned int shift = 126u - e;                 // 14 .. 24
        unsigned int r = m >> shift;
        const unsigned int rem = m & ((1u << shift) - 1u);
        const unsigned int half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r += 1u;
        return (unsigned short)(sign | r);
    }
    unsigned int r = abs - 0x38000000u; // rebias exponent 127 -> 15
    r += 0xfffu + ((r >> 13) & 1u);
    return (unsigned short)(sign | (r >> 13));
}

// Typed load/store so one template serves f32, bf16 and f16 storage with fp32 math.
struct bf16_t { unsigned short bits; };
struct f16_t { unsigned short bits; };

__device__ inline float load_f32(const float* p, long long i) { return p[i]; }
__device__ inline float load_f32(const bf16_t* p, long long i) { return bf16_to_f32(p[i].bits); }
__device__ inline float load_f32(const f16_t* p, long long i) { return f16_to_f32(p[i].bits); }

__device__ inline void store_f32(float* p, long long i, float v) { p[i] = v; }
__device__ inline void store_f32(bf16_t* p, long long i, float v) { p[i].bits = f32_to_bf16(v); }
__device__ inline void store_f32(f16_t* p, long long i, float v) { p[i].bits = f32_to_f16(v); }
