// optim.cu: fused optimizer steps over a flat list of parameter tensors in one launch: blockIdx.y
// selects the tensor, a grid-stride loop in x covers its elements. The math is the CPU's
// (src/SpikeEngine.Training/Optim/OptimizerMath.cs), per element:
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
