namespace SpikeEngine.Nn;

/// <summary>
/// Spiking ResNet block (Zheng et al. 2021; SpikingJelly <c>spiking_resnet</c>): addition before
/// the neuron, <c>O = SN(F(S) + D(S))</c> with F ending in BN and D = identity or conv1×1–BN.
/// Not densely additive: every block's output passes a neuron, which cuts the identity path.
/// </summary>
public sealed class SpikingResNetBlock : ResidualBlock
{
    private readonly NeuronNode _out;

    public SpikingResNetBlock(
        BlockKind kind,
        int inChannels,
        int planes,
        int stride,
        Func<NeuronNode> neuron,
        Func<ulong> seed
    )
        : base(
            kind,
            Activation.Post,
            inChannels,
            planes,
            stride,
            neuron,
            seed,
            lastNeuronInBranch: false
        )
    {
        if (NeedsDownsample)
            Downsample = Child("downsample", NewDownsampleConvBn(seed));
        var (name, sn) = LastNeuronName!.Value;
        _out = Child(name, sn);
    }

    /// <summary>conv1×1–BN on the shortcut, or null for identity.</summary>
    public Sequential? Downsample { get; }

    public override Tensor Forward(Tensor x)
    {
        using var r = Residual(x);
        using var d = Downsample?.Forward(x);
        using var sum = r + (d ?? x);
        return _out.Forward(sum);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        var r = InferResidual(shape, trace);
        var d = Downsample?.InferShape(shape, trace) ?? shape;
        Connect.CheckSame("SpikingResNetBlock", r, d);
        return trace.Neuron(_out, r);
    }
}
