// pool.entries.cpp: launch entries of pool.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../pool.cu"

SPIKE_EMU_ENTRY(pool_adaptive_avg_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_L(6))
SPIKE_EMU_ENTRY(pool_adaptive_avg_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_L(6))
SPIKE_EMU_ENTRY(pool_avg_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8), SPIKE_EMU_I(9), SPIKE_EMU_I(10), SPIKE_EMU_I(11), SPIKE_EMU_L(12))
SPIKE_EMU_ENTRY(pool_avg_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8), SPIKE_EMU_I(9), SPIKE_EMU_I(10), SPIKE_EMU_I(11), SPIKE_EMU_L(12))
SPIKE_EMU_ENTRY(pool_max_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8), SPIKE_EMU_I(9), SPIKE_EMU_I(10), SPIKE_EMU_I(11), SPIKE_EMU_I(12), SPIKE_EMU_L(13))
SPIKE_EMU_ENTRY(pool_max_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8), SPIKE_EMU_I(9), SPIKE_EMU_I(10), SPIKE_EMU_I(11), SPIKE_EMU_I(12), SPIKE_EMU_L(13))
