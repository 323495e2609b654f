// random.cu: counter-based random fills. Element i depends only on (seed, i), through the same
// SplitMix64 finaliser as the CPU backend (src/SpikeEngine.Core/Cpu/CounterRng.cs), so a CPU
// and a CUDA fill with one seed are identical (uniform and Bernoulli bit for bit; normal up to
// the last ulp of the double-precision log/cos).
//   rand_fill_f32: kind 0 uniform on [a, b); 1 normal (mean a, std b), Box-Muller from counters
//                  2i and 2i + 1; 2 Bernoulli: 1 with probability a
// y: (n) fp32. Launch: 1-D grid-stride, any grid and block size.
#include "common.cuh"

// ----------------------------------------------------------------------------
// helpers

__device__ inline unsigned long long rng_mix(unsigned long long seed, unsigned long long counter) {
    unsigned long long z = seed + (counter + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits (exact in fp32).
__device__ inline float rng_uniform(unsigned long long seed, unsigned long long counter) {
    return (float)(rng_mix(seed, counter) >> 40) * (1.0f / 16777216.0f);
}

__device__ inline float rng_normal(unsigned long long seed, unsigned long long i) {
    const double u1 = (double)((rng_mix(seed, 2ull * i) >> 11) + 1ull) * (1.0 / 9007199254740992.0); // (0, 1]
    const double u2 = (double)(rng_mix(seed, 2ull * i + 1ull) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2));
}

// ----------------------------------------------------------------------------
// fill (explicit _rn operations: no fused multiply-add, so the rounding is the CPU's)

extern "C" __global__ void rand_fill_f32(float* __restrict__ y, int kind, float a, float b,
                                         unsigned long long seed, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float v;
        if (kind == 0) {
            v = __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), rng_uniform(seed, (unsigned long long)i)));
        } else if (kind == 1) {
            v = __fadd_rn(a, __fmul_rn(b, rng_normal(seed, (unsigned long long)i)));
        } else {
            v = rng_uniform(seed, (unsigned long long)i) < a ? 1.0f : 0.0f;
        }
        y[i] = v;
    }
}
