// optim.entries.cpp: launch entries of optim.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../optim.cu"

SPIKE_EMU_ENTRY(optim_adamw_step_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_P(4), SPIKE_EMU_F(5), SPIKE_EMU_F(6), SPIKE_EMU_F(7), SPIKE_EMU_F(8), SPIKE_EMU_F(9), SPIKE_EMU_F(10), SPIKE_EMU_F(11))
SPIKE_EMU_ENTRY(optim_nonfinite_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2))
SPIKE_EMU_ENTRY(optim_scale_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_F(2))
SPIKE_EMU_ENTRY(optim_sgd_step_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_F(4), SPIKE_EMU_F(5), SPIKE_EMU_F(6), SPIKE_EMU_I(7), SPIKE_EMU_I(8))
SPIKE_EMU_ENTRY(optim_sum_f64, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2))
SPIKE_EMU_ENTRY(optim_sumsq_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2))
