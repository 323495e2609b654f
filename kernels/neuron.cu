// neuron.cu: multi-step IF / LIF / PLIF neurons, forward and backward fused over time.
// One thread per neuron, the time loop inside, membrane state in registers: one read of X and
// one write of S (and of the saved H) per step. Semantics follow SpikingJelly, as written in
// docs/neurons.md ("Equations"):
//   charge  IF:   H_t = V_{t-1} + X_t
//           LIF (decay_input): H_t = V_{t-1} + (X_t - (V_{t-1} - Vr*)) k        k = 1/tau
//           LIF (no decay_input): H_t = V_{t-1} - (V_{t-1} - Vr*) k + X_t
//           PLIF: LIF with k = sigmoid(w), w one learnable scalar per layer
//   fire    S_t = (H_t >= v_th)
//   reset   hard: V_t = H_t (1 - S_t) + v_reset S_t      soft: V_t = H_t - v_th S_t
// Vr* = v_reset (hard) or 0 (soft); V_0 = v0 if given, else v_reset (hard) or 0 (soft).
//
// Saved state (as src/SpikeEngine.Core/Cpu/NeuronScan.cs): an f32 h_seq holds H_t itself (exact).
// A bf16/f16 h_seq holds D_t = H_t - v_th: backward takes the spike from the sign of D (S = D >= 0)
// and the surrogate from D itself, so the 16 bits keep their precision next to the threshold,
// where both need it, and H = D + v_th elsewhere. Rounding D keeps its sign except where a tiny
// negative D would round to -0 (which compares >= 0): D is first clamped to at most minus the
// storage type's smallest subnormal, so round(D) >= 0 exactly when H >= v_th and the backward's
// spikes are the forward's. In both cases h = H - off, off = 0 (f32) or v_th (16-bit).
//
// Shapes (M = N*C*H*W neurons, time-major):
//   x_seq, s_seq, v_seq, grad_*_seq: (T, M) fp32
//   h_seq: (T, M) H - off in the storage type of the suffix: f32, bf16 or f16 (math stays fp32)
//   v0, v_last, grad_v0, grad_v_last: (M) fp32
//   plif_w, grad_w: (1) fp32;  spike_count: (1) int32, incremented by the number of spikes
// Optional pointers may be null (h_seq, v_seq, v_last, spike_count, v0, plif_w in forward;
// grad_s_seq, grad_v_seq, grad_v_last, v0, grad_v0, grad_w in backward); grad_w is accumulated (atomicAdd): zero it first.
// kind: 0 IF, 1 LIF, 2 PLIF; surrogate: SG_* in surrogate.cuh.
// Launch: 1-D grid, blockDim.x a multiple of 32 and <= 1024, at least ceil(M / blockDim.x) blocks.
#include "common.cuh"
#include "surrogate.cuh"

#define NEURON_IF 0
#define NEURON_LIF 1
#define NEURON_PLIF 2

// ----------------------------------------------------------------------------
// helpers

__device__ inline float neuron_k(int kind, float inv_tau, const float* plif_w) {
    if (kind == NEURON_PLIF) return 1.0f / (1.0f + expf(-plif_w[0]));
    if (kind == NEURON_LIF) return inv_tau;
    return 0.0f;
}

__device__ inline float neuron_charge(int kind, int decay_input, float v, float x, float k, float vr) {
    if (kind == NEURON_IF) return v + x;
    if (decay_input) return v + (x - (v - vr)) * k;
    return v - (v - vr) * k + x;
}

__device__ inline float neuron_reset(int hard_reset, float h, float s, float v_th, float v_reset) {
    return hard_reset ? h * (1.0f - s) + v_reset * s : h - v_th * s;
}

// The smallest positive subnormal of each storage type (bit patterns: 2^-149, 2^-133, 2^-24).
__device__ inline float h_tiny(const float*) { return __int_as_float(0x00000001); }
__device__ inline float h_tiny(const bf16_t*) { return __int_as_float(0x00010000); }
__device__ inline float h_tiny(const f16_t*) { return __int_as_float(0x33800000); }

// off: the stored state is H - off (see the header).
__device__ inline float h_off(const float*, float) { return 0.0f; }
__device__ inline float h_off(const bf16_t*, float v_th) { return v_th; }
__device__ inline float h_off(const f16_t*, float v_th) { return v_th; }

// Stores H - off so that the stored value is >= 0 exactly when H - off >= 0 (see the header).
template <typename HT>
__device__ inline void store_h(HT* h_seq, long long idx, float h, float v_th) {
    const float d = h - h_off(h_seq, v_th);
    store_f32(h_seq, idx, d < 0.0f ? fminf(d, -h_tiny(h_seq)) : d);
}

// ----------------------------------------------------------------------------
// forward

// __noinline__: NVRTC 11.8 crashes (unbounded recursion) compiling these templates for sm_90
// when they are inlined into the entry wrappers. Under NVRTC 13 on an H200, inlining them raised
// the registers per thread (forward 32 -> 48, backward 43 -> 51) and slowed the forward scan at
// T = 1 (0.087 -> 0.115..0.163 ms for 16.7 M neurons), so they stay calls everywhere.
template <typename HT>
__device__ __noinline__ void neuron_fwd(const float* __restrict__ x_seq, const float* __restrict__ v0,
                           const float* __restrict__ plif_w, float* __restrict__ s_seq,
                           HT* __restrict__ h_seq, float* __restrict__ v_seq, float* __restrict__ v_last,
                           int* __restrict__ spike_count, int T, int M, int kind, int hard_reset,
                           int decay_input, float inv_tau, float v_th, float v_reset) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    float count = 0.0f; // exact: at most blockDim.x * T spikes per block, far below 2^24
    if (i < M) {
        const float vr = hard_reset ? v_reset : 0.0f;
        const float k = neuron_k(kind, inv_tau, plif_w);
        float v = v0 ? v0[i] : vr;
        // The input of step t + 1 is loaded before step t's arithmetic (one load in flight ahead).
        float x_t = (T > 0) ? x_seq[i] : 0.0f;
        for (int t = 0; t < T; t++) {
            const long long idx = (long long)t * M + i;
            const float x_next = (t + 1 < T) ? x_seq[idx + M] : 0.0f;
            const float h = neuron_charge(kind, decay_input, v, x_t, k, vr);
            x_t = x_next;
            const float s = (h >= v_th) ? 1.0f : 0.0f;
            if (h_seq) store_h(h_seq, idx, h, v_th);
            s_seq[idx] = s;
            count += s;
            v = neuron_reset(hard_reset, h, s, v_th, v_reset);
            if (v_seq) v_seq[idx] = v;
        }
        if (v_last) v_last[i] = v;
    }
    if (spike_count) {
        // every thread of the block takes part, also those past M
        const float block_count = block_reduce_sum(count);
        if (threadIdx.x == 0) atomicAdd(spike_count, (int)block_count);
    }
}

// ----------------------------------------------------------------------------
// backward, reverse time, carrying g = dL/dH_{t+1} (0 at the start):
//   psi_t = surrogate(D_t), S_t = (D_t >= 0), D_t = H_t - v_th (H and D from the saved state)
//   dV/dH = hard: (1 - S) + [!detach] (v_reset - H) psi;  soft: 1 - [!detach] v_th psi
//   gV = dL/dV_t (direct) + beta g,   beta = 1 - k (LIF, PLIF) or 1 (IF)
//   g  = gV dV/dH + dL/dS_t psi;  dL/dX_t = gamma g, gamma = k (decay_input) else 1
//   dL/dV_0 = beta g;  PLIF: dL/dk = sum g dH/dk, dH/dk = (H - V_{t-1}) / k (decay_input)
//   or -(V_{t-1} - Vr*), and dL/dw = k (1 - k) dL/dk (block reduction, one atomicAdd per block).

template <typename HT>
__device__ __noinline__ void neuron_bwd(const float* __restrict__ grad_s_seq, const float* __restrict__ grad_v_seq,
                           const float* __restrict__ grad_v_last, const HT* __restrict__ h_seq,
                           const float* __restrict__ v0, const float* __restrict__ plif_w,
                           float* __restrict__ grad_x_seq, float* __restrict__ grad_v0,
                           float* __restrict__ grad_w, int T, int M, int kind, int hard_reset,
                           int detach_reset, int decay_input, int surrogate, float alpha, float inv_tau,
                           float v_th, float v_reset) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const float vr = hard_reset ? v_reset : 0.0f;
    const float k = neuron_k(kind, inv_tau, plif_w);
    const float beta = (kind == NEURON_IF) ? 1.0f : 1.0f - k;
    const float gamma = (kind != NEURON_IF && decay_input) ? k : 1.0f;
    const float off = h_off(h_seq, v_th);   // H = stored + off
    const float d_off = v_th - off;          // D = H - v_th = stored - d_off
    float grad_k = 0.0f;
    if (i < M && T <= 0 && grad_v0) {
        // no step: V_0 is the last membrane, dL/dV_0 = dL/dV_last
        grad_v0[i] = grad_v_last ? grad_v_last[i] : 0.0f;
    }
    if (i < M && T > 0) {
        // Every load of step t is issued one step ahead, before the arithmetic of the step that
        // needs it: the direct gradients sit behind null checks, and loaded inside the branch after
        // the surrogate they would wait for the state's load first (two memory latencies per step).
        float g = 0.0f;
        long long idx = (long long)(T - 1) * M + i;
        float stored = load_f32(h_seq, idx);
        float gs_t = grad_s_seq ? grad_s_seq[idx] : 0.0f;
        float gv_t = grad_v_seq ? grad_v_seq[idx] : 0.0f;
        const float gv_last = grad_v_last ? grad_v_last[i] : 0.0f;
        for (int t = T - 1; t >= 0; t--, idx -= M) {
            // The state of t-1 is read once, ahead: this step's V_{t-1} source and the next step's.
            float stored_prev = 0.0f, gs_prev = 0.0f, gv_prev = 0.0f;
            if (t > 0) {
                stored_prev = load_f32(h_seq, idx - M);
                if (grad_s_seq) gs_prev = grad_s_seq[idx - M];
                if (grad_v_seq) gv_prev = grad_v_seq[idx - M];
            }
            const float h = stored + off;
            const float d = stored - d_off;
            const float psi = sg_grad(surrogate, d, alpha);
            const float s = (d >= 0.0f) ? 1.0f : 0.0f;
            float dv_dh;
            if (hard_reset) {
                dv_dh = (1.0f - s) + (detach_reset ? 0.0f : (v_reset - h) * psi);
            } else {
                dv_dh = 1.0f - (detach_reset ? 0.0f : v_th * psi);
            }
            float gv = beta * g;
            if (grad_v_seq) gv += gv_t;
            if (grad_v_last && t == T - 1) gv += gv_last;
            g = gv * dv_dh + (grad_s_seq ? gs_t * psi : 0.0f);
            grad_x_seq[idx] = gamma * g;
            if (kind == NEURON_PLIF) {
                float v_prev;
                if (t > 0) {
                    const float s_prev = (stored_prev - d_off >= 0.0f) ? 1.0f : 0.0f;
                    v_prev = neuron_reset(hard_reset, stored_prev + off, s_prev, v_th, v_reset);
                } else {
                    v_prev = v0 ? v0[i] : vr;
                }
                const float dh_dk = decay_input ? (h - v_prev) / k : -(v_prev - vr);
                grad_k += g * dh_dk;
            }
            stored = stored_prev;
            gs_t = gs_prev;
            gv_t = gv_prev;
        }
        if (grad_v0) grad_v0[i] = beta * g;
    }
    if (kind == NEURON_PLIF && grad_w) {
        // every thread of the block takes part, also those past M
        const float block_sum = block_reduce_sum(grad_k);
        if (threadIdx.x == 0) atomicAdd(grad_w, k * (1.0f - k) * block_sum);
    }
}

// ----------------------------------------------------------------------------
// entry points: the suffix names the storage type of h_seq

#define NEURON_FWD_ENTRY(NAME, HT)                                                                   \
    extern "C" __global__ void NAME(const float* x_seq, const float* v0, const float* plif_w,        \
                                    float* s_seq, HT* h_seq, float* v_seq, float* v_last,            \
                                    int* spike_count, int T, int M, int kind, int hard_reset,        \
                                    int decay_input, float inv_tau, float v_th, float v_reset) {     \
        neuron_fwd<HT>(x_seq, v0, plif_w, s_seq, h_seq, v_seq, v_last, spike_count, T, M, kind,      \
                       hard_reset, decay_input, inv_tau, v_th, v_reset);                             \
    }

#define NEURON_BWD_ENTRY(NAME, HT)                                                                   \
    extern "C" __global__ void NAME(const float* grad_s_seq, const float* grad_v_seq,                \
                                    const float* grad_v_last, const HT* h_seq, const float* v0,      \
                                    const float* plif_w, float* grad_x_seq, float* grad_v0,          \
                                    float* grad_w, int T, int M, int kind, int hard_reset,           \
                                    int detach_reset, int decay_input, int surrogate, float alpha,   \
                                    float inv_tau, float v_th, float v_reset) {                      \
        neuron_bwd<HT>(grad_s_seq, grad_v_seq, grad_v_last, h_seq, v0, plif_w, grad_x_seq, grad_v0,  \
                       grad_w, T, M, kind, hard_reset, detach_reset, decay_input, surrogate, alpha,  \
                       inv_tau, v_th, v_reset);                                                      \
    }

NEURON_FWD_ENTRY(neuron_fwd_f32, float)
NEURON_FWD_ENTRY(neuron_fwd_bf16, bf16_t)
NEURON_FWD_ENTRY(neuron_fwd_f16, f16_t)
NEURON_BWD_ENTRY(neuron_bwd_f32, float)
NEURON_BWD_ENTRY(neuron_bwd_bf16, bf16_t)
NEURON_BWD_ENTRY(neuron_bwd_f16, f16_t)
