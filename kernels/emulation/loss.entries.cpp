// loss.entries.cpp: launch entries of loss.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../loss.cu"

SPIKE_EMU_ENTRY(loss_ce_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_I(3), SPIKE_EMU_F(4), SPIKE_EMU_F(5), SPIKE_EMU_L(6))
SPIKE_EMU_ENTRY(loss_ce_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_I(4), SPIKE_EMU_F(5))
SPIKE_EMU_ENTRY(loss_mean_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2))
