// reduce.cu: sums over the middle axis of a (outer, reduce, inner) view and their adjoint.
//   red_sum_rows_f32:   y[o] = sum_r x[o, r]           inner == 1: one block per row, block reduction
//   red_sum_cols_f32:   y[o, i] = sum_r x[o, r, i]     inner > 1: one thread per output, coalesced over i
//   red_expand_fwd_f32: y[o, r, i] = x[o, i]           the adjoint of the sums
// x: (outer, reduce, inner) fp32, y: (outer, inner) fp32 (expand: the other way round).
// Accumulation is fp32 per thread, then a tree across the block: for the sizes of a training
// step (reductions up to ~10^7) this stays within a few ulps of the CPU's blocked double sum.
#include "common.cuh"

// ----------------------------------------------------------------------------
// sums

// Launch: grid (outer), block a multiple of 32 (256).
extern "C" __global__ void red_sum_rows_f32(const float* __restrict__ x, float* __restrict__ y, int reduce) {
    const float* row = x + (long long)blockIdx.x * reduce;
    float acc = 0.0f;
    for (int r = threadIdx.x; r < reduce; r += blockDim.x) acc += row[r];
    const float total = block_reduce_sum(acc);
    if (threadIdx.x == 0) y[blockIdx.x] = total;
}

// Launch: 1-D grid-stride over outer * inner outputs.
extern "C" __global__ void red_sum_cols_f32(const float* __restrict__ x, float* __restrict__ y, int outer,
                                            int reduce, int inner) {
    GRID_STRIDE_LOOP(j, (long long)outer * inner) {
        const long long o = j / inner;
        const long long i = j - o * inner;
        const float* p = x + o * reduce * (long long)inner + i;
        float acc = 0.0f;
        for (int r = 0; r < reduce; r++) acc += p[(long long)r * inner];
        y[j] = acc;
    }
}

// ----------------------------------------------------------------------------
// expand (broadcast along the middle axis)

// Launch: 1-D grid-stride over n = outer * reduce * inner outputs.
extern "C" __global__ void red_expand_fwd_f32(const float* __restrict__ x, float* __restrict__ y, int reduce,
                                              int inner, long long n) {
    GRID_STRIDE_LOOP(j, n) {
        const long long i = j % inner;
        const long long o = j / ((long long)inner * reduce);
        y[j] = x[o * inner + i];
    }
}
