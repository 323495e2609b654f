namespace SpikeEngine.Nn;

/// <summary>
/// 2-D convolution (groups 1) over <c>[N, C, H, W]</c> or multi-step <c>[T, N, C, H, W]</c>
/// (time folded into the batch). Weights use Kaiming normal fan-out initialisation,
/// std = sqrt(2 / (K·KH·KW)), as torchvision's and SpikingJelly's ResNets do.
/// </summary>
public sealed class Conv2d : Layer
{
    public Conv2d(
        int inChannels,
        int outChannels,
        int kernel,
        int stride = 1,
        int padding = 0,
        int dilation = 1,
        bool bias = false,
        ulong seed = 0
    )
    {
        Positive("inChannels", inChannels);
        Positive("outChannels", outChannels);
        Positive("kernel", kernel);
        Positive("stride", stride);
        Positive("dilation", dilation);
        if (padding < 0)
            throw new ArgumentException(
                $"Conv2d: padding must be non-negative, got {padding}",
                nameof(padding)
            );
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Weight = NewParameter(
            "weight",
            [outChannels, inChannels, kernel, kernel],
            () => Tensor.KaimingNormalFanOut([outChannels, inChannels, kernel, kernel], seed)
        );
        if (bias)
        {
            // PyTorch's default conv bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            var bound = 1f / MathF.Sqrt(inChannels * kernel * kernel);
            Bias = NewParameter(
                "bias",
                [outChannels],
                () => Tensor.Uniform([outChannels], -bound, bound, seed ^ 0x9E3779B97F4A7C15UL)
            );
        }
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int Dilation { get; }

    /// <summary>(K, C, KH, KW)</summary>
    public Tensor Weight { get; }

    /// <summary>(K), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>
    /// Save a binary input (spikes, <see cref="Tensor.IsBinary"/>) at 1 bit per element for backward
    /// (exact). Set by <see cref="MemoryLayout.Lean"/>.
    /// </summary>
    public bool PackBinaryInput { get; set; }

    public override Tensor Forward(Tensor x) // (N, C, H, W) or (T, N, C, H, W)
    {
        ThrowIfShapeOnly("Conv2d");
        using var owner = GraphRecorder.Enter(this);
        return SeqToBatch.Apply(
            "Conv2d",
            x,
            4,
            f => Ops.Conv2d(f, Weight, Bias, Stride, Padding, Dilation, PackBinaryInput)
        );
    }

    /// <summary>This conv followed by <paramref name="bn"/> as one op (<see cref="Ops.Conv2dBatchNorm"/>).</summary>
    public Tensor ForwardWith(BatchNorm2d bn, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(bn);
        ThrowIfShapeOnly("Conv2d");
        if (Bias is not null || bn.Channels != OutChannels)
            throw new ArgumentException(
                $"Conv2d: fusion with BatchNorm2d({bn.Channels}) needs a bias-free conv with {bn.Channels} outputs, this one has {OutChannels} (bias: {Bias is not null})",
                nameof(bn)
            );
        using var owner = GraphRecorder.Enter(bn);
        var statistics = Recompute.Statistics(bn);
        return SeqToBatch.Apply(
            "Conv2d",
            x,
            4,
            f =>
                Ops.Conv2dBatchNorm(
                    f,
                    Weight,
                    Stride,
                    Padding,
                    Dilation,
                    bn.Weight,
                    bn.Bias,
                    bn.RunningMean,
                    bn.RunningVar,
                    bn.Momentum,
                    bn.Eps,
                    PackBinaryInput,
                    statistics
                )
        );
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "Conv2d",
            shape,
            4,
            s =>
            {
                if (s[1] != InChannels)
                    throw new ArgumentException(
                        $"Conv2d: input has {s[1]} channels ({ShapeTrace.Format(shape)}), the layer expects {InChannels}",
                        nameof(shape)
                    );
                var oh = OutSize(s[2]);
                var ow = OutSize(s[3]);
                if (oh <= 0 || ow <= 0)
                    throw new ArgumentException(
                        $"Conv2d: kernel {Kernel} (padding {Padding}, dilation {Dilation}) does not fit input {ShapeTrace.Format(shape)}",
                        nameof(shape)
                    );
                trace.Kept(shape, packable: true);
                return [s[0], OutChannels, oh, ow];
            }
        );

    private int OutSize(int size) =>
        (size + 2 * Padding - Dilation * (Kernel - 1) - 1) / Stride + 1;

    private static void Positive(string name, int value)
    {
        if (value <= 0)
            throw new ArgumentException($"Conv2d: {name} must be positive, got {value}", name);
    }
}
