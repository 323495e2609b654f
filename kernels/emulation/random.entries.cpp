// random.entries.cpp: launch entries of random.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../random.cu"

SPIKE_EMU_ENTRY(rand_fill_f32, SPIKE_EMU_P(0), SPIKE_EMU_I(1), SPIKE_EMU_F(2), SPIKE_EMU_F(3), SPIKE_EMU_L(4), SPIKE_EMU_L(5))
