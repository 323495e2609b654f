// norm.cu: batch normalisation in training mode over a (N, C, inner) view, statistics per channel
// over N * inner elements (multi-step BN: N = T * batch, inner = H * W).
//   bn_stats_fwd_f32:  mean[c], inv_std[c] = 1 / sqrt(var[c] + eps) (biased var); when running
//                      stats are given: running = (1 - momentum) running + momentum batch, with
//                      the unbiased variance (count / (count - 1))
//   bn_apply_fwd_f32:  y = (x - mean[c]) inv_std[c] gamma[c] + beta[c], as x scale + shift
//   bn_reduce_bwd_f32: g_beta[c] = sum gy, g_gamma[c] = sum gy (x - mean) inv_std
//   bn_data_bwd_f32:   gx = gamma inv_std (gy - g_beta / count - (x - mean) inv_std g_gamma / count)
// x, y, gy, gx: (N, C, inner) fp32; gamma, beta, mean, inv_std, running_*, g_gamma, g_beta: (C) fp32.
// The per-channel kernels run one block per channel and read the channel's N rows of `inner`
// contiguous elements; the two-pass variance (mean first) avoids the cancellation of E[x^2] - E[x]^2.
#include "common.cuh"

// ----------------------------------------------------------------------------
// helpers

// The i-th element of channel c, i in [0, N * inner).
__device__ inline long long bn_index(long long i, int c, int channels, int inner) {
    const long long row = i / inner;
    return (row * channels + c) * inner + (i - row * inner);
}

// ----------------------------------------------------------------------------
// forward

// Launch: grid (C), block a multiple of 32 (512).
extern "C" __global__ void bn_stats_fwd_f32(const float* __restrict__ x, float* __restrict__ mean,
                                            float* __restrict__ inv_std, float* __restrict__ running_mean,
                                            float* __restrict__ running_var, int n, int channels, int inner,
                                            float momentum, float eps) {
    __shared__ float s_mean;
    const int c = blockIdx.x;
    const long long count = (long long)n * inner;
    float acc = 0.0f;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) acc += x[bn_index(i, c, channels, inner)];
    const float total = block_reduce_sum(acc);
    if (threadIdx.x == 0) s_mean = (float)((double)total / (double)count);
    __syncthreads();
    const float m = s_mean;
    float sq = 0.0f;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const float d = x[bn_index(i, c, channels, inner)] - m;
        sq += d * d;
    }
    const float ss = block_reduce_sum(sq);
    if (threadIdx.x == 0) {
        const double var = (double)ss / (double)count;
        mean[c] = m;
        inv_std[c] = (float)(1.0 / sqrt(var + (double)eps));
        if (running_mean && running_var) {
            const float unbiased = (float)(count > 1 ? (double)ss / (double)(count - 1) : var);
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * m;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
        }
    }
}

// Launch: 1-D grid-stride over n = N * C * inner.
extern "C" __global__ void bn_apply_fwd_f32(const float* __restrict__ x, const float* __restrict__ gamma,
                                            const float* __restrict__ beta, const float* __restrict__ mean,
                                            const float* __restrict__ inv_std, float* __restrict__ y,
                                            int channels, int inner, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)((i / inner) % channels);
        const float scale = gamma[c] * inv_std[c];
        const float shift = beta[c] - mean[c] * scale;
        y[i] = x[i] * scale + shift;
    }
}

// ----------------------------------------------------------------------------
// backward

// Launch: grid (C), block a multiple of 32 (512).
extern "C" __global__ void bn_reduce_bwd_f32(const float* __restrict__ x, const float* __restrict__ gy,
                                             const float* __restrict__ mean, const float* __restrict__ inv_std,
                                             float* __restrict__ g_gamma, float* __restrict__ g_beta, int n,
                                             int channels, int inner) {
    const int c = blockIdx.x;
    const long long count = (long long)n * inner;
    const float m = mean[c];
    float sg = 0.0f, sgx = 0.0f;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const long long j = bn_index(i, c, channels, inner);
        const float g = gy[j];
        sg += g;
        sgx += g * (x[j] - m);
    }
    const float total_g = block_reduce_sum(sg);
    const float total_gx = block_reduce_sum(sgx);
    if (threadIdx.x == 0) {
        g_beta[c] = total_g;
        g_gamma[c] = total_gx * inv_std[c];
    }
}

// Launch: 1-D grid-stride over n = N * C * inner.
extern "C" __global__ void bn_data_bwd_f32(const float* __restrict__ x, const float* __restrict__ gy,
                                           const float* __restrict__ gamma, const float* __restrict__ mean,
                                           const float* __restrict__ inv_std, const float* __restrict__ g_gamma,
                                           const float* __restrict__ g_beta, float* __restrict__ gx, int channels,
                                           int inner, float inv_count, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)((i / inner) % channels);
        const float istd = inv_std[c];
        const float mg = g_beta[c] * inv_count;
        const float mx = g_gamma[c] * inv_count * istd;
        gx[i] = gamma[c] * istd * (gy[i] - mg - (x[i] - mean[c]) * mx);
    }
}
