// loss.cu: softmax cross-entropy with label smoothing eps over logits (N, K), int32 labels (N).
//   loss_ce_fwd_f32:  probs = softmax(z) per row; row_loss[r] = (1 - eps)(-log p[y]) - eps mean_j log p_j
//   loss_mean_fwd_f32: loss[0] = mean of row_loss (one block: the batch is small)
//   loss_ce_bwd_f32:  g[r, j] = grad_loss / N (p[r, j] - q[r, j]), q = eps / K + (1 - eps) [j == y]
// Row statistics (max, log-sum-exp) are computed in fp32 by one block per row.
#include "common.cuh"

// ----------------------------------------------------------------------------
// helpers

// Max over the block; every thread must call it. The result is valid in every thread.
__device__ inline float block_reduce_max(float v) {
    __shared__ float warp_max[32];
    __shared__ float result;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    if (lane == 0) warp_max[warp] = v;
    __syncthreads();
    const int n_warps = (blockDim.x + 31) >> 5;
    if (warp == 0) {
        v = (lane < n_warps) ? warp_max[lane] : -__int_as_float(0x7f800000);
        for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
        if (lane == 0) result = v;
    }
    __syncthreads();
    return result;
}

// ----------------------------------------------------------------------------
// forward

// Launch: grid (N), block a multiple of 32 (128).
extern "C" __global__ void loss_ce_fwd_f32(const float* __restrict__ logits, const int* __restrict__ labels,
                                           float* __restrict__ probs, float* __restrict__ row_loss, int K,
                                           float smoothing) {
    __shared__ float s_log_sum;
    const int r = blockIdx.x;
    const float* z = logits + (long long)r * K;
    float* p = probs + (long long)r * K;
    float m = -__int_as_float(0x7f800000);
    for (int j = threadIdx.x; j < K; j += blockDim.x) m = fmaxf(m, z[j]);
    const float max = block_reduce_max(m);
    float se = 0.0f, sz = 0.0f;
    for (int j = threadIdx.x; j < K; j += blockDim.x) {
        se += expf(z[j] - max);
        sz += z[j];
    }
    const float sum_exp = block_reduce_sum(se);
    const float sum_z = block_reduce_sum(sz);
    if (threadIdx.x == 0) s_log_sum = max + logf(sum_exp);
    __syncthreads();
    const float log_sum = s_log_sum;
    for (int j = threadIdx.x; j < K; j += blockDim.x) p[j] = expf(z[j] - log_sum);
    if (threadIdx.x == 0) {
        const float nll = log_sum - z[labels[r]];
        const float mean_log_p = sum_z / (float)K - log_sum;
        row_loss[r] = (1.0f - smoothing) * nll - smoothing * mean_log_p;
    }
}

// Launch: grid (1), block a multiple of 32 (256).
extern "C" __global__ void loss_mean_fwd_f32(const float* __restrict__ row_loss, float* __restrict__ loss, int n) {
    float acc = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc += row_loss[i];
    const float total = block_reduce_sum(acc);
    if (threadIdx.x == 0) loss[0] = total / (float)n;
}

// ----------------------------------------------------------------------------
// backward

// Launch: 1-D grid-stride over n = N * K.
extern "C" __global__ void loss_ce_bwd_f32(const float* __restrict__ probs, const int* __restrict__ labels,
                                           float* __restrict__ g_logits, int K, float smoothing, float scale,
                                           long long n) {
    const float off = smoothing / (float)K;
    GRID_STRIDE_LOOP(i, n) {
        const long long r = i / K;
        const int j = (int)(i - r * K);
        const float q = off + (j == labels[r] ? 1.0f - smoothing : 0.0f);
        g_logits[i] = scale * (probs[i] - q);
    }
}
