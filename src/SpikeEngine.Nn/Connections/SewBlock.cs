namespace SpikeEngine.Nn;

/// <summary>SEW element-wise functions g(A, S) of the residual output A and the identity S.</summary>
public enum SewConnect
{
    /// <summary>A + S: densely additive, the stream carries spike counts.</summary>
    Add,

    /// <summary>A ∧ S = A·S.</summary>
    And,

    /// <summary>(¬A) ∧ S = (1 − A)·S.</summary>
    IAnd,
}

/// <summary>
/// Spike-element-wise block (Fang et al., NeurIPS 2021; SpikingJelly <c>sew_resnet</c>):
/// <c>O = g(SN(F(S)), S')</c>, where F is conv–BN–neuron units and S' = S, or
/// <c>SN(BN(conv1×1(S)))</c> when the block downsamples (<c>downsample</c>, <c>downsample_sn</c>).
/// With <see cref="SewConnect.Add"/> the block is densely additive inside a stage.
/// </summary>
public sealed class SewBlock : ResidualBlock
{
    private readonly NeuronNode? _downsampleSn;
    private readonly ModuleChain? _shortcut; // downsample conv, BN, then the neuron

    public SewBlock(
        BlockKind kind,
        int inChannels,
        int planes,
        int stride,
        Func<NeuronNode> neuron,
        Func<ulong> seed,
        SewConnect connect = SewConnect.Add
    )
        : base(kind, Activation.Post, inChannels, planes, stride, neuron, seed)
    {
        if (!Enum.IsDefined(connect))
            throw new ArgumentException(
                $"SewBlock: unknown connect function {connect}",
                nameof(connect)
            );
        ConnectFunction = connect;
        if (NeedsDownsample)
        {
            Downsample = Child("downsample", NewDownsampleConvBn(seed));
            _downsampleSn = Child("downsample_sn", neuron());
            _shortcut = Chain([.. Downsample.Modules, _downsampleSn]);
        }
    }

    public SewConnect ConnectFunction { get; }

    /// <summary>conv1×1–BN of the spiking shortcut, or null for identity.</summary>
    public Sequential? Downsample { get; }

    public override Tensor Forward(Tensor x)
    {
        using var a = Residual(x);
        if (Downsample is null)
            return Connect.Sew(ConnectFunction, a, x);
        using var s = _shortcut!.Forward(x);
        return Connect.Sew(ConnectFunction, a, s);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        var a = InferResidual(shape, trace);
        var s = shape;
        if (Downsample is not null)
            s = trace.Neuron(_downsampleSn!, Downsample.InferShape(shape, trace));
        Connect.CheckSame("SewBlock", a, s);
        if (ConnectFunction != SewConnect.Add)
            trace.Saved(8 * ShapeTrace.Numel(a)); // the product keeps both operands
        // A new tensor: spike counts, not spikes (Connect.Sew marks ADD's bound the same way).
        var y = (int[])a.Clone();
        if (ConnectFunction == SewConnect.Add && trace.CountBound(a) > 0 && trace.CountBound(s) > 0)
            trace.MarkCounts(y, trace.CountBound(a) + trace.CountBound(s));
        return y;
    }
}
