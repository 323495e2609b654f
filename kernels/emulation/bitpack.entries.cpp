// bitpack.entries.cpp: launch entries of bitpack.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../bitpack.cu"

SPIKE_EMU_ENTRY(bitpack_pack_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(bitpack_unpack_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
