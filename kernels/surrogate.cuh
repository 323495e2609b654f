// surrogate.cuh: surrogate gradients psi(x) = sigma'(x) of the Heaviside spike, x = H - v_th.
// Each formula exists once per language: here and in SpikeEngine.Nn's Surrogates, same names.
// Kind numbers match the C# enum SurrogateKind (SpikeEngine.Cuda.Kernels.KernelSignatures).
#pragma once

#define SG_PI 3.14159265358979323846f
#define SG_INV_SQRT_PI 0.56418958354775628695f

// Sigmoid (alpha = 4): alpha * s * (1 - s), s = sigmoid(alpha * x)
__device__ inline float sg_sigmoid_grad(float x, float alpha) {
    const float s = 1.0f / (1.0f + expf(-alpha * x));
    return alpha * s * (1.0f - s);
}

// ATan (alpha = 2): (alpha / 2) / (1 + (pi * alpha * x / 2)^2)
__device__ inline float sg_atan_grad(float x, float alpha) {
    const float u = 0.5f * SG_PI * alpha * x;
    return 0.5f * alpha / (1.0f + u * u);
}

// PiecewiseQuadratic (alpha = 1): max(0, alpha - alpha^2 * |x|)
__device__ inline float sg_piecewise_quadratic_grad(float x, float alpha) {
    return fmaxf(0.0f, alpha - alpha * alpha * fabsf(x));
}

// Erf (alpha = 2): (alpha / sqrt(pi)) * exp(-alpha^2 * x^2)
__device__ inline float sg_erf_grad(float x, float alpha) {
    return alpha * SG_INV_SQRT_PI * expf(-alpha * alpha * x * x);
}

// SuperSpike (alpha = 1): alpha / (1 + |x|)^2
__device__ inline float sg_super_spike_grad(float x, float alpha) {
    const float d = 1.0f + fabsf(x);
    return alpha / (d * d);
}

// Rect (alpha = 1): alpha if |x| < 1 / (2 alpha), else 0
__device__ inline float sg_rect_grad(float x, float alpha) {
    return (fabsf(x) < 0.5f / alpha) ? alpha : 0.0f;
}

#define SG_SIGMOID 0
#define SG_ATAN 1
#define SG_PIECEWISE_QUADRATIC 2
#define SG_ERF 3
#define SG_SUPER_SPIKE 4
#define SG_RECT 5

__device__ inline float sg_grad(int kind, float x, float alpha) {
    switch (kind) {
        case SG_SIGMOID: return sg_sigmoid_grad(x, alpha);
        case SG_ATAN: return sg_atan_grad(x, alpha);
        case SG_PIECEWISE_QUADRATIC: return sg_piecewise_quadratic_grad(x, alpha);
        case SG_ERF: return sg_erf_grad(x, alpha);
        case SG_SUPER_SPIKE: return sg_super_spike_grad(x, alpha);
        default: return sg_rect_grad(x, alpha);
    }
}
