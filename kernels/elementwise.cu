// elementwise.cu: element-wise arithmetic, the n-ary add of densely additive (DA) stages,
// SEW spike logic, and fill. All tensors are contiguous fp32 of n elements; the n-ary add
// reads its inputs through a device array of k pointers.
//   ew_add_fwd_f32:    y = a + b                  ew_sub_fwd_f32: y = a - b
//   ew_mul_fwd_f32:    y = a * b                  ew_affine_fwd_f32: y = alpha x + beta
//   ew_addn_fwd_f32:   y = sum_j xs[j]            (backward of a sum is the identity: no kernel)
//   sew_and_fwd_f32:   y = a AND b = a b          sew_and_bwd_f32:  ga = gy b, gb = gy a
//   sew_iand_fwd_f32:  y = (NOT a) AND b = (1 - a) b
//                      sew_iand_bwd_f32: ga = -gy b, gb = gy (1 - a)
//   ew_fill_f32:       y = value
// Launch: 1-D grid-stride, any grid and block size.
#include "common.cuh"

// ----------------------------------------------------------------------------
// binary and scalar arithmetic

extern "C" __global__ void ew_add_fwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = a[i] + b[i]; }
}

extern "C" __global__ void ew_sub_fwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = a[i] - b[i]; }
}

extern "C" __global__ void ew_mul_fwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = a[i] * b[i]; }
}

// y may alias x (in place).
extern "C" __global__ void ew_affine_fwd_f32(const float* x, float* y, float alpha, float beta, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = alpha * x[i] + beta; }
}

// ----------------------------------------------------------------------------
// n-ary add: the shortcut path of a DA stage, x_L = x_0 + sum F_i(x_i), in one pass

extern "C" __global__ void ew_addn_fwd_f32(const float* const* __restrict__ xs, int k,
                                           float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float acc = 0.0f;
        for (int j = 0; j < k; j++) acc += xs[j][i];
        y[i] = acc;
    }
}

// ----------------------------------------------------------------------------
// SEW connections on spikes (a, b in {0, 1}); the product forms keep them differentiable

extern "C" __global__ void sew_and_fwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                           float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = a[i] * b[i]; }
}

extern "C" __global__ void sew_and_bwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                           const float* __restrict__ gy, float* __restrict__ ga,
                                           float* __restrict__ gb, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const float g = gy[i];
        ga[i] = g * b[i];
        gb[i] = g * a[i];
    }
}

extern "C" __global__ void sew_iand_fwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                            float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (1.0f - a[i]) * b[i]; }
}

extern "C" __global__ void sew_iand_bwd_f32(const float* __restrict__ a, const float* __restrict__ b,
                                            const float* __restrict__ gy, float* __restrict__ ga,
                                            float* __restrict__ gb, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const float g = gy[i];
        ga[i] = -g * b[i];
        gb[i] = g * (1.0f - a[i]);
    }
}

// ----------------------------------------------------------------------------
// fill

extern "C" __global__ void ew_fill_f32(float* __restrict__ y, float value, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = value; }
}
