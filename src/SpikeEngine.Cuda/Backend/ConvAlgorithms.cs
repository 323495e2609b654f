using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda;

/// <summary>One cuDNN convolution algorithm as the heuristics rank it, with its workspace.</summary>
/// <param name="Algo">The algorithm id (<c>cudnnConvolution*Algo_t</c>).</param>
/// <param name="Usable">cuDNN reported <c>CUDNN_STATUS_SUCCESS</c> for it.</param>
/// <param name="Deterministic">Bitwise reproducible from run to run.</param>
/// <param name="Math">The math type cuDNN proposes for it.</param>
/// <param name="WorkspaceBytes">Workspace it needs.</param>
public readonly record struct ConvCandidate(
    int Algo,
    bool Usable,
    bool Deterministic,
    cudnnMathType_t Math,
    nuint WorkspaceBytes
);

/// <summary>
/// How a convolution pass picks its cuDNN algorithm: among the heuristics' candidates (fastest
/// first), those usable with the allowed math, deterministic ones first when determinism is asked
/// for, and of those the first whose workspace can be allocated. The math type applied to the
/// descriptor is the candidate's, never TF32 or fp16-conversion math unless TF32 is allowed.
/// </summary>
public static class ConvAlgorithms
{
    /// <summary>
    /// Set to 0 to let convolutions use non-deterministic algorithms when they rank faster; by
    /// default (unset or 1) a deterministic algorithm is preferred, so a training run repeats bit
    /// for bit on the same GPU.
    /// </summary>
    public const string DeterministicVariable = "SPIKEENGINE_CUDA_DETERMINISTIC";

    /// <summary>Determinism as <see cref="DeterministicVariable"/> asks (default on).</summary>
    public static bool DeterministicFromEnvironment =>
        Environment.GetEnvironmentVariable(DeterministicVariable) is not ("0" or "false");

    /// <summary>
    /// The math type to set for a candidate, or null when it is not allowed: FMA always; cuDNN's
    /// default math (which may use TF32 on Ampere and later) as FMA unless TF32 is allowed; tensor
    /// op math only with TF32 allowed; fp16-conversion math never (fp32 training).
    /// </summary>
    public static cudnnMathType_t? AppliedMath(cudnnMathType_t proposed, bool allowTf32) =>
        proposed switch
        {
            cudnnMathType_t.CUDNN_FMA_MATH => cudnnMathType_t.CUDNN_FMA_MATH,
            cudnnMathType_t.CUDNN_DEFAULT_MATH => allowTf32
                ? cudnnMathType_t.CUDNN_DEFAULT_MATH
                : cudnnMathType_t.CUDNN_FMA_MATH,
            cudnnMathType_t.CUDNN_TENSOR_OP_MATH => allowTf32
                ? cudnnMathType_t.CUDNN_TENSOR_OP_MATH
                : null,
            _ => null,
        };

    /// <summary>The candidates in the order they are tried (see the class summary).</summary>
    public static IReadOnlyList<ConvCandidate> Ordered(
        IReadOnlyList<ConvCandidate> ranked,
        bool allowTf32,
        bool deterministic
    )
    {
        var usable = ranked
            .Where(c => c.Usable && AppliedMath(c.Math, allowTf32) is not null)
            .ToList();
        // OrderBy is stable: within each group the heuristics' rank (fastest first) stays.
        return deterministic ? [.. usable.OrderBy(c => c.Deterministic ? 0 : 1)] : usable;
    }

    /// <summary>
    /// The first candidate of <see cref="Ordered"/> whose workspace <paramref name="tryReserve"/>
    /// can allocate (it returns false on out-of-memory), with the math type to apply.
    /// </summary>
    /// <exception cref="InvalidOperationException">No candidate is usable or fits, naming the pass.</exception>
    public static (ConvCandidate Candidate, cudnnMathType_t Math) Pick(
        string pass,
        IReadOnlyList<ConvCandidate> ranked,
        bool allowTf32,
        bool deterministic,
        Func<nuint, bool> tryReserve
    )
    {
        var ordered = Ordered(ranked, allowTf32, deterministic);
        foreach (var c in ordered)
        {
            if (c.WorkspaceBytes == 0 || tryReserve(c.WorkspaceBytes))
                return (c, AppliedMath(c.Math, allowTf32)!.Value);
        }
        throw new InvalidOperationException(
            ordered.Count == 0
                ? $"Conv2d {pass}: cuDNN offered no algorithm usable with the allowed math ({ranked.Count} candidates; TF32 {(allowTf32 ? "allowed" : "not allowed")})"
                : $"Conv2d {pass}: no workspace could be allocated for any of {ordered.Count} usable algorithms (smallest needs {ordered.Min(c => c.WorkspaceBytes)} B)"
        );
    }
}
