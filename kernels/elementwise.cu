// elementwise.cu: element-wise arithmetic, the n-ary add of densely additive (DA) stages, and
// fill. All tensors are contiguous fp32 of n elements; the n-ary add reads its inputs through a
// device array of k pointers. (SEW's AND / IAND connections are products of spikes: the binary
// Mul op with its autograd, no kernel of their own.)
//   ew_addn_fwd_f32:   y = sum_j xs[j]            (backward of a sum is the identity: no kernel)
//   ew_fill_f32:       y = value                  ew_fill_i32: y = (int)value
//   ew_unary_fwd_f32:  y = f(x), op = UnaryOp    ew_unary_bwd_f32: gx = gy f'(x) from x and y = f(x)
//   ew_binary_fwd_f32: y = a op b, op = BinaryOp ew_scalar_fwd_f32: y = x op s, op = ScalarOp
//   ew_axpy_fwd_f32:   y += alpha x
//   ew_channel_affine_fwd_f32: y[o,c,i] = x[o,c,i] scale[c] + shift[c] over (outer, C, inner);
//                      scale or shift may be null (1 and 0)
//   ew_cast_<from>_<to>: dtype conversion, as the CPU backend's Convert (bf16/f16 round to
//                      nearest even; f32 -> i32 truncates; f32 -> u8 clamps to [0, 255], truncates)
// op numbers are the C# enums' (UnaryOp, BinaryOp, ScalarOp in SpikeEngine.Core).
// Launch: 1-D grid-stride, any grid and block size.
#include "common.cuh"

// ----------------------------------------------------------------------------
// n-ary add: the shortcut path of a DA stage, x_L = x_0 + sum F_i(x_i), in one pass. Summed in
// input order from xs[0] (k >= 1), as the CPU backend does: starting from 0.0f would turn an all
// -0 sum into +0.

extern "C" __global__ void ew_addn_fwd_f32(const float* const* __restrict__ xs, int k,
                                           float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        float acc = xs[0][i];
        for (int j = 1; j < k; j++) acc += xs[j][i];
        y[i] = acc;
    }
}

// ----------------------------------------------------------------------------
// fill

extern "C" __global__ void ew_fill_f32(float* __restrict__ y, float value, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = value; }
}

extern "C" __global__ void ew_fill_i32(int* __restrict__ y, float value, long long n) {
    const int v = (int)value;
    GRID_STRIDE_LOOP(i, n) { y[i] = v; }
}

// ----------------------------------------------------------------------------
// max / min as the CPU backend's TensorPrimitives.Max/Min: a NaN operand gives NaN (fmaxf/fminf
// would drop it and hide a diverging run from the non-finite check), and +0 > -0.

__device__ inline float ew_max(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return (__float_as_uint(a) & 0x80000000u) ? b : a;
    return a > b ? a : b;
}

__device__ inline float ew_min(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return (__float_as_uint(a) & 0x80000000u) ? a : b;
    return a < b ? a : b;
}

// ----------------------------------------------------------------------------
// unary functions (UnaryOp: Neg, Exp, Log, Relu, Sigmoid, Tanh, Sqrt, Abs, Square, Heaviside)

#define UNARY_NEG 0
#define UNARY_EXP 1
#define UNARY_LOG 2
#define UNARY_RELU 3
#define UNARY_SIGMOID 4
#define UNARY_TANH 5
#define UNARY_SQRT 6
#define UNARY_ABS 7
#define UNARY_SQUARE 8
#define UNARY_HEAVISIDE 9

__device__ inline float unary_fwd(int op, float x) {
    switch (op) {
        case UNARY_NEG: return -x;
        case UNARY_EXP: return expf(x);
        case UNARY_LOG: return logf(x);
        case UNARY_RELU: return ew_max(x, 0.0f);
        case UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case UNARY_TANH: return tanhf(x);
        case UNARY_SQRT: return sqrtf(x);
        case UNARY_ABS: return fabsf(x);
        case UNARY_SQUARE: return x * x;
        default: return x >= 0.0f ? 1.0f : 0.0f; // Heaviside, theta(0) = 1
    }
}

// Derivatives written from the output where that is cheaper (exp, sigmoid, tanh, sqrt).
__device__ inline float unary_bwd(int op, float x, float y, float g) {
    switch (op) {
        case UNARY_NEG: return -g;
        case UNARY_EXP: return g * y;
        case UNARY_LOG: return g / x;
        case UNARY_RELU: return x > 0.0f ? g : 0.0f;
        case UNARY_SIGMOID: return g * y * (1.0f - y);
        case UNARY_TANH: return g * (1.0f - y * y);
        case UNARY_SQRT: return g * 0.5f / y;
        case UNARY_ABS: return x > 0.0f ? g : (x < 0.0f ? -g : 0.0f);
        case UNARY_SQUARE: return 2.0f * g * x;
        default: return 0.0f; // Heaviside: zero almost everywhere (surrogates live in neuron.cu)
    }
}

// In place (y == x) is allowed: no __restrict__.
extern "C" __global__ void ew_unary_fwd_f32(const float* x, float* y, int op, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = unary_fwd(op, x[i]); }
}

// gx may alias gy: no __restrict__.
extern "C" __global__ void ew_unary_bwd_f32(const float* x, const float* y, const float* gy, float* gx, int op,
                                            long long n) {
    GRID_STRIDE_LOOP(i, n) { gx[i] = unary_bwd(op, x[i], y[i], gy[i]); }
}

// ----------------------------------------------------------------------------
// binary (BinaryOp: Add, Sub, Mul, Div, Max, Min) and scalar (ScalarOp: Add, Mul, Pow, RSub, Max, Min)
// Outputs may alias inputs (in place).

extern "C" __global__ void ew_binary_fwd_f32(const float* a, const float* b, float* y, int op, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const float u = a[i], v = b[i];
        float r;
        switch (op) {
            case 0: r = u + v; break;
            case 1: r = u - v; break;
            case 2: r = u * v; break;
            case 3: r = u / v; break;
            case 4: r = ew_max(u, v); break;
            default: r = ew_min(u, v); break;
        }
        y[i] = r;
    }
}

extern "C" __global__ void ew_scalar_fwd_f32(const float* x, float* y, float s, int op, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const float u = x[i];
        float r;
        switch (op) {
            case 0: r = u + s; break;
            case 1: r = u * s; break;
            case 2: r = powf(u, s); break;
            case 3: r = s - u; break;
            case 4: r = ew_max(u, s); break;
            default: r = ew_min(u, s); break;
        }
        y[i] = r;
    }
}

extern "C" __global__ void ew_axpy_fwd_f32(const float* __restrict__ x, float* __restrict__ y, float alpha,
                                           long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] += alpha * x[i]; }
}

// ----------------------------------------------------------------------------
// per-channel affine map over (outer, channels, inner): BN inference, bias add, channel scale

extern "C" __global__ void ew_channel_affine_fwd_f32(const float* x, const float* __restrict__ scale,
                                                     const float* __restrict__ shift, float* y, int channels,
                                                     int inner, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int c = (int)((i / inner) % channels);
        const float m = scale ? scale[c] : 1.0f;
        const float b = shift ? shift[c] : 0.0f;
        y[i] = x[i] * m + b;
    }
}

// ----------------------------------------------------------------------------
// dtype conversions (storage types: bf16/f16 as raw 16-bit patterns, u8, i32)

extern "C" __global__ void ew_cast_f32_bf16(const float* __restrict__ x, unsigned short* __restrict__ y,
                                            long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = f32_to_bf16(x[i]); }
}

extern "C" __global__ void ew_cast_bf16_f32(const unsigned short* __restrict__ x, float* __restrict__ y,
                                            long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = bf16_to_f32(x[i]); }
}

extern "C" __global__ void ew_cast_f32_f16(const float* __restrict__ x, unsigned short* __restrict__ y,
                                           long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = f32_to_f16(x[i]); }
}

extern "C" __global__ void ew_cast_f16_f32(const unsigned short* __restrict__ x, float* __restrict__ y,
                                           long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = f16_to_f32(x[i]); }
}

extern "C" __global__ void ew_cast_f32_i32(const float* __restrict__ x, int* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (int)x[i]; }
}

extern "C" __global__ void ew_cast_i32_f32(const int* __restrict__ x, float* __restrict__ y, long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (float)x[i]; }
}

extern "C" __global__ void ew_cast_f32_u8(const float* __restrict__ x, unsigned char* __restrict__ y,
                                          long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (unsigned char)fminf(fmaxf(x[i], 0.0f), 255.0f); }
}

extern "C" __global__ void ew_cast_u8_f32(const unsigned char* __restrict__ x, float* __restrict__ y,
                                          long long n) {
    GRID_STRIDE_LOOP(i, n) { y[i] = (float)x[i]; }
}
