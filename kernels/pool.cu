// pool.cu: 2-D max, average and adaptive average pooling over (planes, H, W), planes = N * C.
//   pool_max_fwd_f32:  y = max over the window; argmax (uint8) = kh * KW + kw of the winner
//                      (first maximum in row-major window order; a NaN wins, as on the CPU)
//   pool_max_bwd_f32:  gx[p] = sum of gy over the outputs whose argmax is p
//   pool_avg_fwd_f32:  y = window sum / (KH KW)   (padding counted: count_include_pad)
//   pool_avg_bwd_f32:  gx[p] = sum of gy / (KH KW) over the windows covering p
//   pool_adaptive_avg_fwd_f32 / _bwd_f32: windows [floor(i H / OH), ceil((i + 1) H / OH))
// x, gx: (planes, H, W) fp32; y, gy, argmax: (planes, OH, OW).
// The backward kernels gather (one thread per input element) instead of scattering with atomics:
// deterministic, and each input reads only the few outputs whose windows can reach it.
#include "common.cuh"

// ----------------------------------------------------------------------------
// helpers

// Range [lo, hi] of output indices whose window (size k, stride s, pad p) covers input index i.
__device__ inline void pool_out_range(int i, int k, int s, int p, int out, int* lo, int* hi) {
    const int a = i + p - k + 1; // smallest o with o*s + k - 1 >= i + p
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    const int b = (i + p) / s;   // largest o with o*s <= i + p
    *hi = b < out - 1 ? b : out - 1;
}

__device__ inline int adaptive_start(int i, int size, int out) { return i * size / out; }
__device__ inline int adaptive_end(int i, int size, int out) { return ((i + 1) * size + out - 1) / out; }

// ----------------------------------------------------------------------------
// max pooling

// Launch: 1-D grid-stride over n = planes * OH * OW.
extern "C" __global__ void pool_max_fwd_f32(const float* __restrict__ x, float* __restrict__ y,
                                            unsigned char* __restrict__ argmax, int H, int W, int OH, int OW,
                                            int KH, int KW, int SH, int SW, int PH, int PW, long long n) {
    GRID_STRIDE_LOOP(o, n) {
        const int ow = (int)(o % OW);
        const int oh = (int)((o / OW) % OH);
        const long long p = o / ((long long)OW * OH);
        const float* xp = x + p * H * W;
        float best = -__int_as_float(0x7f800000); // -inf
        int best_k = 0;
        for (int kh = 0; kh < KH; kh++) {
            const int ih = oh * SH - PH + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                const int iw = ow * SW - PW + kw;
                if (iw < 0 || iw >= W) continue;
                const float v = xp[ih * W + iw];
                if (v > best || v != v) {
                    best = v;
                    best_k = kh * KW + kw;
                }
            }
        }
        y[o] = best;
        argmax[o] = (unsigned char)best_k;
    }
}

// Launch: 1-D grid-stride over n = planes * H * W.
extern "C" __global__ void pool_max_bwd_f32(const float* __restrict__ gy, const unsigned char* __restrict__ argmax,
                                            float* __restrict__ gx, int H, int W, int OH, int OW, int KH, int KW,
                                            int SH, int SW, int PH, int PW, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int iw = (int)(i % W);
        const int ih = (int)((i / W) % H);
        const long long p = i / ((long long)W * H);
        int oh0, oh1, ow0, ow1;
        pool_out_range(ih, KH, SH, PH, OH, &oh0, &oh1);
        pool_out_range(iw, KW, SW, PW, OW, &ow0, &ow1);
        float acc = 0.0f;
        for (int oh = oh0; oh <= oh1; oh++) {
            for (int ow = ow0; ow <= ow1; ow++) {
                const long long o = (p * OH + oh) * OW + ow;
                const int k = argmax[o];
                if (oh * SH - PH + k / KW == ih && ow * SW - PW + k % KW == iw) acc += gy[o];
            }
        }
        gx[i] = acc;
    }
}

// ----------------------------------------------------------------------------
// average pooling

// Launch: 1-D grid-stride over n = planes * OH * OW.
extern "C" __global__ void pool_avg_fwd_f32(const float* __restrict__ x, float* __restrict__ y, int H, int W,
                                            int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW,
                                            long long n) {
    GRID_STRIDE_LOOP(o, n) {
        const int ow = (int)(o % OW);
        const int oh = (int)((o / OW) % OH);
        const long long p = o / ((long long)OW * OH);
        const float* xp = x + p * H * W;
        float sum = 0.0f;
        for (int kh = 0; kh < KH; kh++) {
            const int ih = oh * SH - PH + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
                const int iw = ow * SW - PW + kw;
                if (iw >= 0 && iw < W) sum += xp[ih * W + iw];
            }
        }
        y[o] = sum * (1.0f / (float)(KH * KW));
    }
}

// Launch: 1-D grid-stride over n = planes * H * W.
extern "C" __global__ void pool_avg_bwd_f32(const float* __restrict__ gy, float* __restrict__ gx, int H, int W,
                                            int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW,
                                            long long n) {
    const float inv = 1.0f / (float)(KH * KW);
    GRID_STRIDE_LOOP(i, n) {
        const int iw = (int)(i % W);
        const int ih = (int)((i / W) % H);
        const long long p = i / ((long long)W * H);
        int oh0, oh1, ow0, ow1;
        pool_out_range(ih, KH, SH, PH, OH, &oh0, &oh1);
        pool_out_range(iw, KW, SW, PW, OW, &ow0, &ow1);
        float acc = 0.0f;
        for (int oh = oh0; oh <= oh1; oh++) {
            for (int ow = ow0; ow <= ow1; ow++) acc += gy[(p * OH + oh) * OW + ow] * inv;
        }
        gx[i] = acc;
    }
}

// ----------------------------------------------------------------------------
// adaptive average pooling

// Launch: 1-D grid-stride over n = planes * OH * OW.
extern "C" __global__ void pool_adaptive_avg_fwd_f32(const float* __restrict__ x, float* __restrict__ y, int H,
                                                     int W, int OH, int OW, long long n) {
    GRID_STRIDE_LOOP(o, n) {
        const int ow = (int)(o % OW);
        const int oh = (int)((o / OW) % OH);
        const long long p = o / ((long long)OW * OH);
        const float* xp = x + p * H * W;
        const int h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
        const int w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
        float sum = 0.0f;
        for (int a = h0; a < h1; a++) {
            for (int b = w0; b < w1; b++) sum += xp[a * W + b];
        }
        y[o] = sum / (float)((h1 - h0) * (w1 - w0));
    }
}

// Launch: 1-D grid-stride over n = planes * H * W.
extern "C" __global__ void pool_adaptive_avg_bwd_f32(const float* __restrict__ gy, float* __restrict__ gx, int H,
                                                     int W, int OH, int OW, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        const int iw = (int)(i % W);
        const int ih = (int)((i / W) % H);
        const long long p = i / ((long long)W * H);
        float acc = 0.0f;
        for (int oh = 0; oh < OH; oh++) {
            const int h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
            if (ih < h0 || ih >= h1) continue;
            for (int ow = 0; ow < OW; ow++) {
                const int w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                if (iw >= w0 && iw < w1) acc += gy[(p * OH + oh) * OW + ow] / (float)((h1 - h0) * (w1 - w0));
            }
        }
        gx[i] = acc;
    }
}
