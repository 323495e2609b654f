// bitpack.cu: 1 bit per element storage for spike tensors saved for backward (a conv input
// produced by a neuron is binary: 32x less memory than fp32).
//   x: (n) fp32 spikes, an element is 1 when x != 0
//   bits: (ceil(n / 32)) uint32 words, element i in bit (i % 32) of word i / 32
//   bitpack_pack_f32:   bits <- x      (bits past n in the last word are 0)
//   bitpack_unpack_f32: y <- bits as 0.0 / 1.0
// Launch: 1-D grid-stride; pack needs blockDim.x a multiple of 32 (one warp ballot per word).
#include "common.cuh"

// ----------------------------------------------------------------------------

extern "C" __global__ void bitpack_pack_f32(const float* __restrict__ x, unsigned int* __restrict__ bits,
                                            long long n) {
    // The loop bound is rounded up to whole warps so every lane of a warp takes the same trips
    // and the full-mask ballot is legal; lanes past n vote 0.
    const long long n_lanes = (n + 31) / 32 * 32;
    GRID_STRIDE_LOOP(i, n_lanes) {
        const bool one = (i < n) && (x[i] != 0.0f);
        const unsigned int word = __ballot_sync(0xffffffffu, one);
        if ((threadIdx.x & 31) == 0) bits[i >> 5] = word;
    }
}

extern "C" __global__ void bitpack_unpack_f32(const unsigned int* __restrict__ bits, float* __restrict__ y,
                                              long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (float)((bits[i >> 5] >> (i & 31)) & 1u); }
}
