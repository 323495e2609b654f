// optim.cu: fused optimizer steps over a flat list of parameter tensors in one launch: blockIdx.y
// selects the tensor, a grid-stride loop in x covers its elements. The math is the CPU's
// (src/SpikeEngine.Core/Cpu/CpuBackend.Optim.cs), per element:
//   optim_sgd_step_f32:   d = g + wd p; with momentum mu: b = first ? d : mu b + d,
//                         d = nesterov ? d + mu b : b; p -= lr d
//   optim_adamw_step_f32: p *= 1 - lr wd; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//                         p -= (lr / bc1) m / (sqrt(v) / bc2_sqrt + eps)
//                         (bc1 = 1 - b1^t, bc2_sqrt = sqrt(1 - b2^t), computed by the caller)
// params, grads, bufs, m, v: device arrays of `count` pointers to fp32 tensors; sizes: (count) int64.
// Launch: grid (x, count), any block size; bufs may be null when momentum is 0.
#include "common.cuh"

// ----------------------------------------------------------------------------
// SGD with momentum / Nesterov and L2 weight decay

extern "C" __global__ void optim_sgd_step_f32(float* const* __restrict__ params, const float* const* __restrict__ grads,
                                              float* const* __restrict__ bufs, const long long* __restrict__ sizes,
                                              float lr, float momentum, float weight_decay, int nesterov,
                                              int first_step) {
    const int t = blockIdx.y;
    float* p = params[t];
    const float* g = grads[t];
    float* b = bufs ? bufs[t] : 0;
    GRID_STRIDE_LOOP(i, sizes[t]) {
        float d = g[i] + weight_decay * p[i];
        if (momentum != 0.0f) {
            const float bi = first_step ? d : momentum * b[i] + d;
            b[i] = bi;
            d = nesterov ? d + momentum * bi : bi;
        }
        p[i] -= lr * d;
    }
}

// ----------------------------------------------------------------------------
// AdamW (decoupled weight decay)

extern "C" __global__ void optim_adamw_step_f32(float* const* __restrict__ params, const float* const* __restrict__ grads,
                                                float* const* __restrict__ ms, float* const* __restrict__ vs,
                                                const long long* __restrict__ sizes, float lr, float beta1,
                                                float beta2, float eps, float weight_decay, float bc1,
                                                float bc2_sqrt) {
    const int t = blockIdx.y;
    float* p = params[t];
    const float* g = grads[t];
    float* m = ms[t];
    float* v = vs[t];
    const float step_size = lr / bc1;
    const float decay = 1.0f - lr * weight_decay;
    GRID_STRIDE_LOOP(i, sizes[t]) {
        const float gi = g[i];
        const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

// ----------------------------------------------------------------------------
// Gradient reductions over the same pointer tables (clip-by-norm, the non-finite check)
//   optim_sumsq_f32:     partial[t * gridDim.x + blockIdx.x] = sum over this block's share of xs[t] of x^2
//   optim_sum_f64:       out[0] = sum of partial[0, n) (one block, fixed order: deterministic)
//   optim_nonfinite_f32: first[t] = smallest i with xs[t][i] NaN or +-Inf (first preset to all ones)
//   optim_scale_f32:     xs[t][i] *= scale
// Squares accumulate in double, as the CPU's loop does, so the norm does not depend on the tensor size.

__device__ inline double warp_reduce_sum_f64(double v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); valid in thread 0.
__device__ inline double block_reduce_sum_f64(double v) {
    __shared__ double warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    v = warp_reduce_sum_f64(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    const int n_warps = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < n_warps) ? warp_sums[lane] : 0.0;
    if (warp == 0) v = warp_reduce_sum_f64(v);
    __syncthreads();
    return v;
}

// Launch: grid (x, count), block a multiple of 32; partial: (count * x) doubles.
extern "C" __global__ void optim_sumsq_f32(const float* const* __restrict__ xs, const long long* __restrict__ sizes,
                                           double* __restrict__ partial) {
    const int t = blockIdx.y;
    const float* x = xs[t];
    double acc = 0.0;
    GRID_STRIDE_LOOP(i, sizes[t]) {
        const double v = (double)x[i];
        acc += v * v;
    }
    acc = block_reduce_sum_f64(acc);
    if (threadIdx.x == 0) partial[(long long)t * gridDim.x + blockIdx.x] = acc;
}

// Launch: one block, a multiple of 32 threads.
extern "C" __global__ void optim_sum_f64(const double* __restrict__ partial, double* __restrict__ out, int n) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc += partial[i];
    acc = block_reduce_sum_f64(acc);
    if (threadIdx.x == 0) out[0] = acc;
}

// Launch: grid (x, count). Each thread reports only its first hit (its later ones are larger).
extern "C" __global__ void optim_nonfinite_f32(const float* const* __restrict__ xs, const long long* __restrict__ sizes,
                                               unsigned long long* __restrict__ first) {
    const int t = blockIdx.y;
    const float* x = xs[t];
    GRID_STRIDE_LOOP(i, sizes[t]) {
        if ((__float_as_uint(x[i]) & 0x7f800000u) == 0x7f800000u) { // exponent all ones: NaN or +-Inf
            atomicMin(first + t, (unsigned long long)i);
            break;
        }
    }
}

// Launch: grid (x, count).
extern "C" __global__ void optim_scale_f32(float* const* __restrict__ xs, const long long* __restrict__ sizes,
                                           float scale) {
    const int t = blockIdx.y;
    float* x = xs[t];
    GRID_STRIDE_LOOP(i, sizes[t]) { x[i] *= scale; }
}
