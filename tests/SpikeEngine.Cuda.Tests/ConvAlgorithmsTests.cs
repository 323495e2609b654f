using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Tests;

/// <summary>
/// The convolution algorithm choice, on candidate lists written out here (runs without a GPU):
/// fastest usable first, deterministic ones first when asked, never TF32 or fp16-conversion math
/// unless allowed, the next candidate when a workspace cannot be allocated.
/// </summary>
public sealed class ConvAlgorithmsTests
{
    private const cudnnMathType_t Fma = cudnnMathType_t.CUDNN_FMA_MATH;
    private const cudnnMathType_t Default = cudnnMathType_t.CUDNN_DEFAULT_MATH;
    private const cudnnMathType_t TensorOp = cudnnMathType_t.CUDNN_TENSOR_OP_MATH;
    private const cudnnMathType_t Conversion =
        cudnnMathType_t.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;

    // ranked as cuDNN's heuristics would return them, fastest first
    private static readonly ConvCandidate[] Ranked =
    [
        new(7, true, false, TensorOp, 1 << 20),
        new(6, true, false, Conversion, 0),
        new(5, false, true, Fma, 0),
        new(4, true, false, Fma, 1 << 24),
        new(3, true, true, Default, 1 << 22),
        new(2, true, false, Fma, 0),
        new(1, true, true, Fma, 1 << 10),
    ];

    private static int[] Algos(IEnumerable<ConvCandidate> cs) => [.. cs.Select(c => c.Algo)];

    [Fact]
    public void Without_tf32_only_fma_math_is_tried_deterministic_first_in_rank_order()
    {
        Assert.Equal([3, 1, 4, 2], Algos(ConvAlgorithms.Ordered(Ranked, false, true)));
        Assert.Equal([4, 3, 2, 1], Algos(ConvAlgorithms.Ordered(Ranked, false, false)));
        Assert.Equal([3, 1, 7, 4, 2], Algos(ConvAlgorithms.Ordered(Ranked, true, true)));
    }

    [Fact]
    public void Applied_math_is_never_tf32_or_conversion_unless_allowed()
    {
        Assert.Equal(Fma, ConvAlgorithms.AppliedMath(Default, allowTf32: false));
        Assert.Equal(Fma, ConvAlgorithms.AppliedMath(Fma, allowTf32: false));
        Assert.Null(ConvAlgorithms.AppliedMath(TensorOp, allowTf32: false));
        Assert.Null(ConvAlgorithms.AppliedMath(Conversion, allowTf32: false));
        Assert.Null(ConvAlgorithms.AppliedMath(Conversion, allowTf32: true));
        Assert.Equal(TensorOp, ConvAlgorithms.AppliedMath(TensorOp, allowTf32: true));
        Assert.Equal(Default, ConvAlgorithms.AppliedMath(Default, allowTf32: true));
    }

    [Fact]
    public void A_workspace_that_cannot_be_allocated_moves_to_the_next_candidate()
    {
        var tried = new List<nuint>();
        var (chosen, math) = ConvAlgorithms.Pick(
            "forward",
            Ranked,
            allowTf32: false,
            deterministic: true,
            bytes =>
            {
                tried.Add(bytes);
                return bytes <= 1 << 20;
            }
        );
        Assert.Equal(1, chosen.Algo);
        Assert.Equal(Fma, math);
        Assert.Equal([(nuint)(1 << 22), (nuint)(1 << 10)], tried);

        // nothing fits but the workspace-free candidate
        var (fallback, _) = ConvAlgorithms.Pick("forward", Ranked, false, true, _ => false);
        Assert.Equal(2, fallback.Algo);
    }

    [Fact]
    public void No_usable_candidate_is_an_error_naming_the_pass()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            ConvAlgorithms.Pick("backward filter", [Ranked[0], Ranked[1]], false, true, _ => true)
        );
        Assert.Contains("backward filter", e.Message);
        Assert.Contains("TF32 not allowed", e.Message);
        var full = Assert.Throws<InvalidOperationException>(() =>
            ConvAlgorithms.Pick("forward", [Ranked[3]], false, true, _ => false)
        );
        Assert.Contains("no workspace", full.Message);
    }

    [Fact]
    public void Determinism_is_on_unless_the_variable_says_0()
    {
        var previous = Environment.GetEnvironmentVariable(ConvAlgorithms.DeterministicVariable);
        try
        {
            Environment.SetEnvironmentVariable(ConvAlgorithms.DeterministicVariable, null);
            Assert.True(ConvAlgorithms.DeterministicFromEnvironment);
            Environment.SetEnvironmentVariable(ConvAlgorithms.DeterministicVariable, "0");
            Assert.False(ConvAlgorithms.DeterministicFromEnvironment);
            Environment.SetEnvironmentVariable(ConvAlgorithms.DeterministicVariable, "1");
            Assert.True(ConvAlgorithms.DeterministicFromEnvironment);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ConvAlgorithms.DeterministicVariable, previous);
        }
    }
}
