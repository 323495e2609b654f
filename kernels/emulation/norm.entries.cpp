// norm.entries.cpp: launch entries of norm.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../norm.cu"

SPIKE_EMU_ENTRY(bn_apply_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_P(4), SPIKE_EMU_P(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7), SPIKE_EMU_L(8))
SPIKE_EMU_ENTRY(bn_data_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_P(4), SPIKE_EMU_P(5), SPIKE_EMU_P(6), SPIKE_EMU_P(7), SPIKE_EMU_I(8), SPIKE_EMU_I(9), SPIKE_EMU_F(10), SPIKE_EMU_L(11))
SPIKE_EMU_ENTRY(bn_finish_sums_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_P(4), SPIKE_EMU_P(5), SPIKE_EMU_P(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8), SPIKE_EMU_L(9), SPIKE_EMU_F(10), SPIKE_EMU_F(11), SPIKE_EMU_I(12))
SPIKE_EMU_ENTRY(bn_partial_sums_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_I(6), SPIKE_EMU_I(7))
