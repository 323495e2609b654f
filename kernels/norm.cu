// norm.cu: batch normalisation in training mode over a (N, C, inner) view, statistics per channel
// over N * inner elements (multi-step BN: N = T * batch, inner = H * W).
//   bn_partial_sums_f32 + bn_finish_sums_f32: the per-channel statistics mean[c] and
//                      inv_std[c] = 1 / sqrt(var[c] + eps) (biased var, two passes: mean first),
//                      the running stats, and backward's g_beta[c] = sum gy,
//                      g_gamma[c] = sum gy (x - mean) inv_std
//   bn_apply_fwd_f32:  y = (x - mean[c]) inv_std[c] gamma[c] + beta[c], as x scale + shift
//   bn_data_bwd_f32:   gx = gamma inv_std (gy - g_beta / count - (x - mean) inv_std g_gamma / count)
// x, y, gy, gx: (N, C, inner) fp32; gamma, beta, mean, inv_std, running_*, g_gamma, g_beta: (C) fp32.
// The sums run on a 2-D grid (several blocks per channel, so a layer of 64 channels still fills
// the GPU); the two-pass variance (mean first) avoids the cancellation of E[x^2] - E[x]^2.
#include "common.cuh"

// ----------------------------------------------------------------------------
// per-channel sums: a 2-D grid of (splits, C) blocks, each summing one contiguous run of rows of
// one channel into a partial, then one thread per channel adding its partials in a fixed order
// (deterministic) in double. Within a block the offset into its run is 32-bit, so no element
// pays a 64-bit division.

// partial[(c * splits + s) * 2 + {0, 1}] = (sum w, sum w d) over block s's rows of channel c, with
// d = x - center[c] (center null: 0) and w = gy (when given) or d:
//   center null, gy null: (sum x, -)          statistics, first pass
//   center mean, gy null: (-, sum (x - m)^2)  statistics, second pass
//   center mean, gy:      (sum gy, sum gy (x - m))  backward
// Launch: grid (splits, C), block a multiple of 32 (512); rows_per_split * inner < 2^31.
extern "C" __global__ void bn_partial_sums_f32(const float* __restrict__ x, const float* __restrict__ gy,
                                               const float* __restrict__ center, float* __restrict__ partial,
                                               int n, int channels, int inner, int rows_per_split) {
    const int c = blockIdx.y;
    const int s = blockIdx.x;
    const int r0 = s * rows_per_split;
    const int rows = min(rows_per_split, n - r0);
    const float m = center ? center[c] : 0.0f;
    float s0 = 0.0f, s1 = 0.0f;
    if (rows > 0) {
        const unsigned int run = (unsigned int)rows * (unsigned int)inner;
        for (unsigned int k = threadIdx.x; k < run; k += blockDim.x) {
            const unsigned int dr = k / (unsigned int)inner;
            const long long j = ((long long)(r0 + (int)dr) * channels + c) * inner + (k - dr * (unsigned int)inner);
            const float d = x[j] - m;
            const float w = gy ? gy[j] : d;
            s0 += w;
            s1 += w * d;
        }
    }
    const float t0 = block_reduce_sum(s0);
    const float t1 = block_reduce_sum(s1);
    if (threadIdx.x == 0) {
        partial[((long long)c * gridDim.x + s) * 2] = t0;
        partial[((long long)c * gridDim.x + s) * 2 + 1] = t1;
    }
}

// One thread per channel adds the channel's `splits` partials (in order, in double), count = N * inner:
//   stage 0: mean[c] = sum x / count
//   stage 1: inv_std[c] = 1 / sqrt(var + eps), var = sum (x - m)^2 / count (biased); running
//            stats when given: running = (1 - momentum) running + momentum batch, with the
//            unbiased variance (count / (count - 1))
//   stage 2: g_beta[c] = sum gy, g_gamma[c] = sum gy (x - m) inv_std[c]
// Launch: 1-D, at least C threads.
extern "C" __global__ void bn_finish_sums_f32(const float* __restrict__ partial, float* __restrict__ mean,
                                              float* __restrict__ inv_std, float* __restrict__ running_mean,
                                              float* __restrict__ running_var, float* __restrict__ g_gamma,
                                              float* __restrict__ g_beta, int splits, int channels,
                                              long long count, float momentum, float eps, int stage) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    double t0 = 0.0, t1 = 0.0;
    for (int s = 0; s < splits; s++) {
        t0 += (double)partial[((long long)c * splits + s) * 2];
        t1 += (double)partial[((long long)c * splits + s) * 2 + 1];
    }
    if (stage == 0) {
        mean[c] = (float)(t0 / (double)count);
    } else if (stage == 1) {
        const double var = t1 / (double)count;
        inv_std[c] = (float)(1.0 / sqrt(var + (double)eps));
        if (running_mean && running_var) {
            const float unbiased = (float)(count > 1 ? t1 / (double)(count - 1) : var);
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
        }
    } else {
        g_beta[c] = (float)t0;
        g_gamma[c] = (float)t1 * inv_std[c];
    }
}

// ----------------------------------------------------------------------------
// forward and backward, element-wise

// Launch: 1-D grid-stride over n = N * C * inner. y may be x (normalised in place): each thread
// reads x[i] before it writes y[i], so neither pointer is __restrict__.
extern "C" __global__ void bn_apply_fwd_f32(const float* x, const float* __restrict__ gamma,
                                            const float* __restrict__ beta, const float* __restrict__ mean,
                                            const float* __restrict__ inv_std, float* y,
                                            int channels, int inner, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)((i / inner) % channels);
        const float scale = gamma[c] * inv_std[c];
        const float shift = beta[c] - mean[c] * scale;
        y[i] = x[i] * scale + shift;
    }
}

// Launch: 1-D grid-stride over n = N * C * inner.
// gx may be gy (written in place): each thread reads gy[i] before it writes gx[i], so neither
// pointer is __restrict__.
extern "C" __global__ void bn_data_bwd_f32(const float* __restrict__ x, const float* gy,
                                           const float* __restrict__ gamma, const float* __restrict__ mean,
                                           const float* __restrict__ inv_std, const float* __restrict__ g_gamma,
                                           const float* __restrict__ g_beta, float* gx, int channels,
                                           int inner, float inv_count, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)((i / inner) % channels);
        const float istd = inv_std[c];
        const float mg = g_beta[c] * inv_count;
        const float mx = g_gamma[c] * inv_count * istd;
        gx[i] = gamma[c] * istd * (gy[i] - mg - (x[i] - mean[c]) * mx);
    }
}
