namespace SpikeEngine.Cuda.Kernels;

/// <summary>
/// The one place C# names kernel entry points (<c>family_op_pass_dtype</c>, as in kernels/*.cu).
/// Each name's file and parameter list are in <see cref="KernelSignatures"/>; a CPU-only test
/// checks both against the PTX NVRTC produces.
/// </summary>
public static class KernelNames
{
    // neuron.cu: the suffix is the storage type of the saved H
    public const string NeuronFwdF32 = "neuron_fwd_f32";
    public const string NeuronFwdBf16 = "neuron_fwd_bf16";
    public const string NeuronFwdF16 = "neuron_fwd_f16";
    public const string NeuronBwdF32 = "neuron_bwd_f32";
    public const string NeuronBwdBf16 = "neuron_bwd_bf16";
    public const string NeuronBwdF16 = "neuron_bwd_f16";

    // elementwise.cu
    public const string EwAddnFwdF32 = "ew_addn_fwd_f32";
    public const string EwFillF32 = "ew_fill_f32";
    public const string EwFillI32 = "ew_fill_i32";
    public const string EwUnaryFwdF32 = "ew_unary_fwd_f32";
    public const string EwUnaryBwdF32 = "ew_unary_bwd_f32";
    public const string EwBinaryFwdF32 = "ew_binary_fwd_f32";
    public const string EwScalarFwdF32 = "ew_scalar_fwd_f32";
    public const string EwAxpyFwdF32 = "ew_axpy_fwd_f32";
    public const string EwChannelAffineFwdF32 = "ew_channel_affine_fwd_f32";
    public const string EwCastF32Bf16 = "ew_cast_f32_bf16";
    public const string EwCastBf16F32 = "ew_cast_bf16_f32";
    public const string EwCastF32F16 = "ew_cast_f32_f16";
    public const string EwCastF16F32 = "ew_cast_f16_f32";
    public const string EwCastF32I32 = "ew_cast_f32_i32";
    public const string EwCastI32F32 = "ew_cast_i32_f32";
    public const string EwCastF32U8 = "ew_cast_f32_u8";
    public const string EwCastU8F32 = "ew_cast_u8_f32";

    // bitpack.cu
    public const string BitpackPackF32 = "bitpack_pack_f32";
    public const string BitpackUnpackF32 = "bitpack_unpack_f32";

    // reduce.cu
    public const string RedSumRowsF32 = "red_sum_rows_f32";
    public const string RedSumColsF32 = "red_sum_cols_f32";
    public const string RedExpandFwdF32 = "red_expand_fwd_f32";

    // norm.cu
    public const string BnPartialSumsF32 = "bn_partial_sums_f32";
    public const string BnFinishSumsF32 = "bn_finish_sums_f32";
    public const string BnApplyFwdF32 = "bn_apply_fwd_f32";
    public const string BnDataBwdF32 = "bn_data_bwd_f32";

    // pool.cu
    public const string PoolMaxFwdF32 = "pool_max_fwd_f32";
    public const string PoolMaxBwdF32 = "pool_max_bwd_f32";
    public const string PoolAvgFwdF32 = "pool_avg_fwd_f32";
    public const string PoolAvgBwdF32 = "pool_avg_bwd_f32";
    public const string PoolAdaptiveAvgFwdF32 = "pool_adaptive_avg_fwd_f32";
    public const string PoolAdaptiveAvgBwdF32 = "pool_adaptive_avg_bwd_f32";

    // loss.cu
    public const string LossCeFwdF32 = "loss_ce_fwd_f32";
    public const string LossMeanFwdF32 = "loss_mean_fwd_f32";
    public const string LossCeBwdF32 = "loss_ce_bwd_f32";

    // random.cu
    public const string RandFillF32 = "rand_fill_f32";

    // optim.cu
    public const string OptimSgdStepF32 = "optim_sgd_step_f32";
    public const string OptimAdamwStepF32 = "optim_adamw_step_f32";
    public const string OptimSumsqF32 = "optim_sumsq_f32";
    public const string OptimSumF64 = "optim_sum_f64";
    public const string OptimNonfiniteF32 = "optim_nonfinite_f32";
    public const string OptimScaleF32 = "optim_scale_f32";
}
