// elementwise.entries.cpp: launch entries of elementwise.cu for the CPU emulation library.
// Generated from KernelSignatures (src/SpikeEngine.Cuda/Kernels/KernelSignatures.cs) by
// EmulationEntries: `dotnet pwsh build.ps1 emulation-entries` rewrites it; do not edit.
#include "cuda_emulation.h"
#include "../elementwise.cu"

SPIKE_EMU_ENTRY(ew_addn_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_I(1), SPIKE_EMU_P(2), SPIKE_EMU_L(3))
SPIKE_EMU_ENTRY(ew_axpy_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_F(2), SPIKE_EMU_L(3))
SPIKE_EMU_ENTRY(ew_binary_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_I(3), SPIKE_EMU_L(4))
SPIKE_EMU_ENTRY(ew_cast_bf16_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_f16_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_f32_bf16, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_f32_f16, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_f32_i32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_f32_u8, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_i32_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_cast_u8_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_channel_affine_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_I(4), SPIKE_EMU_I(5), SPIKE_EMU_L(6))
SPIKE_EMU_ENTRY(ew_fill_f32, SPIKE_EMU_P(0), SPIKE_EMU_F(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_fill_i32, SPIKE_EMU_P(0), SPIKE_EMU_F(1), SPIKE_EMU_L(2))
SPIKE_EMU_ENTRY(ew_scalar_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_F(2), SPIKE_EMU_I(3), SPIKE_EMU_L(4))
SPIKE_EMU_ENTRY(ew_unary_bwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_P(2), SPIKE_EMU_P(3), SPIKE_EMU_I(4), SPIKE_EMU_L(5))
SPIKE_EMU_ENTRY(ew_unary_fwd_f32, SPIKE_EMU_P(0), SPIKE_EMU_P(1), SPIKE_EMU_I(2), SPIKE_EMU_L(3))
