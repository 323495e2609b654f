namespace SpikeEngine.Nn;

/// <summary>
/// A densely additive (DA) block (Li, Lei, Yang 2023, arXiv 2311.05171): output = D(x) + F(x),
/// with nothing on the sum. <see cref="Activation.Post"/>: F is conv–BN–neuron units and the
/// stream carries spike counts (SEW-ADD). <see cref="Activation.Pre"/>: F is neuron–conv–BN units
/// and the stream carries real-valued membrane inputs (MS-ResNet's membrane shortcut).
/// D is the identity, or when the block changes shape a <see cref="DownsampleKind"/> shortcut.
/// Chain blocks with <see cref="DaStage"/>.
/// </summary>
public sealed class DaBlock : ResidualBlock
{
    private readonly NeuronNode? _downsampleSn;
    private readonly ModuleChain? _spikingShortcut; // post: downsample conv, BN, then the neuron

    public DaBlock(
        BlockKind kind,
        Activation activation,
        int inChannels,
        int planes,
        int stride,
        Func<NeuronNode> neuron,
        Func<ulong> seed,
        DownsampleKind downsample = DownsampleKind.Additive
    )
        : base(kind, activation, inChannels, planes, stride, neuron, seed)
    {
        if (!Enum.IsDefined(downsample))
            throw new ArgumentException(
                $"DaBlock: unknown downsample kind {downsample}",
                nameof(downsample)
            );
        Activation = activation;
        DownsampleKind = downsample;
        if (!NeedsDownsample)
            return;
        // Post: conv–BN then the neuron (SEW's downsample + downsample_sn); pre: the neuron first,
        // so the conv sees spikes and the shortcut emits a membrane input like every branch.
        if (downsample == DownsampleKind.Spiking && activation == Activation.Pre)
            _downsampleSn = Child("downsample_sn", neuron());
        Downsample = Child("downsample", NewDownsampleConvBn(seed));
        if (downsample == DownsampleKind.Spiking && activation == Activation.Post)
        {
            _downsampleSn = Child("downsample_sn", neuron());
            _spikingShortcut = Chain([.. Downsample.Modules, _downsampleSn]);
        }
    }

    public Activation Activation { get; }
    public DownsampleKind DownsampleKind { get; }

    /// <summary>conv1×1–BN of the shortcut, or null for identity.</summary>
    public Sequential? Downsample { get; }

    /// <summary>D(x): the identity (a view of x), or the downsample shortcut.</summary>
    public Tensor Shortcut(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Downsample is null)
            return x.Reshape(x.Shape.ToArray());
        if (_downsampleSn is null)
            return Downsample.Forward(x);
        if (Activation == Activation.Pre)
        {
            using var s = _downsampleSn.Forward(x);
            return Downsample.Forward(s);
        }
        return _spikingShortcut!.Forward(x);
    }

    /// <summary>Shape-only twin of <see cref="Shortcut"/>.</summary>
    public int[] InferShortcut(int[] shape, ShapeTrace trace)
    {
        if (Downsample is null)
            return shape;
        if (_downsampleSn is not null && Activation == Activation.Pre)
            trace.Neuron(_downsampleSn, shape);
        var d = Downsample.InferShape(shape, trace);
        if (_downsampleSn is not null && Activation == Activation.Post)
            trace.Neuron(_downsampleSn, d);
        return d;
    }

    public override Tensor Forward(Tensor x)
    {
        using var d = Shortcut(x);
        using var r = Residual(x);
        return d + r;
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        var d = InferShortcut(shape, trace);
        var r = InferResidual(shape, trace);
        Connect.CheckSame("DaBlock", r, d);
        return (int[])r.Clone(); // the sum is a new tensor
    }
}
