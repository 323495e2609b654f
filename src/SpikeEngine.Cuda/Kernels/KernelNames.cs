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
    public const string EwAddFwdF32 = "ew_add_fwd_f32";
    public const string EwSubFwdF32 = "ew_sub_fwd_f32";
    public const string EwMulFwdF32 = "ew_mul_fwd_f32";
    public const string EwAffineFwdF32 = "ew_affine_fwd_f32";
    public const string EwAddnFwdF32 = "ew_addn_fwd_f32";
    public const string EwFillF32 = "ew_fill_f32";
    public const string SewAndFwdF32 = "sew_and_fwd_f32";
    public const string SewAndBwdF32 = "sew_and_bwd_f32";
    public const string SewIandFwdF32 = "sew_iand_fwd_f32";
    public const string SewIandBwdF32 = "sew_iand_bwd_f32";

    // bitpack.cu
    public const string BitpackPackF32 = "bitpack_pack_f32";
    public const string BitpackUnpackF32 = "bitpack_unpack_f32";
}
