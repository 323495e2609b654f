// reduce.entries.cpp: launch entries of reduce.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../reduce.cu"

SPIKE_EMU_ENTRY(red_expand_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_L(4))
SPIKE_EMU_ENTRY(red_sum_cols_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_I(3), SPIKE_EMU_I(4))
SPIKE_EMU_ENTRY(red_sum_rows_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2))
