using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// The spiking ResNets of the zoo: one class, the residual family chosen by <see cref="Family"/>.
/// Input <c>[T, N, C, H, W]</c> (images repeated over T by the encoder), output
/// <c>[T, N, classes]</c> (the classifier runs per time step; average over T for the prediction).
/// Names follow torchvision/SpikingJelly: <c>conv1</c>, <c>bn1</c>, <c>sn1</c>, <c>maxpool</c>,
/// <c>layer1.0.conv1</c>, ..., <c>layer2.0.downsample.0</c>, <c>avgpool</c>, <c>fc</c>.
/// </summary>
/// <remarks>
/// Post families (Spiking ResNet, SEW, DANet-post): stem conv–BN–neuron, the stages see spikes
/// (or spike counts) and the head pools them. Pre families (MS-ResNet, DANet-pre): stem conv–BN
/// with no neuron (the stream is real-valued and every branch starts with a neuron), and a last
/// neuron <c>sn_out</c> turns the stream into spikes before the head.
/// </remarks>
public sealed class ResNet : SpikingClassifier
{
    private readonly List<Module> _stem = [];
    private readonly List<Layer> _stages = [];
    private readonly NeuronNode? _snOut;
    private readonly ModuleChain _body; // stem, stages, sn_out

    public ResNet(Family family, int depth, ModelOptions options)
        : base(options)
    {
        if (!Enum.IsDefined(family))
            throw new ArgumentException($"ResNet: unknown family {family}", nameof(family));
        if (!Enum.IsDefined(options.Stem))
            throw new ArgumentException($"ResNet: unknown stem {options.Stem}", nameof(options));
        var neuron = Neuron;
        Family = family;
        Layout = ResNetLayout.For(depth);
        ulong counter = 0;
        ulong NextSeed() => SplitMix(options.Seed ^ SplitMix(++counter));
        var pre = family is Family.MsResNet or Family.DaNetPre;

        var w = Layout.StemWidth;
        var conv1 =
            options.Stem == Stem.ImageNet
                ? new Conv2d(options.InChannels, w, 7, 2, 3, seed: NextSeed())
                : new Conv2d(options.InChannels, w, 3, 1, 1, seed: NextSeed());
        _stem.Add(Child("conv1", conv1));
        _stem.Add(Child("bn1", new BatchNorm2d(w)));
        if (!pre)
            _stem.Add(Child("sn1", neuron()));
        if (options.Stem == Stem.ImageNet)
            _stem.Add(Child("maxpool", new MaxPool2d(3, 2, 1)));

        var inChannels = w;
        for (var s = 0; s < Layout.Blocks.Length; s++)
        {
            var blocks = new List<ResidualBlock>();
            for (var b = 0; b < Layout.Blocks[s]; b++)
            {
                var stride = b == 0 ? Layout.Strides[s] : 1;
                ResidualBlock block = family switch
                {
                    Family.SpikingResNet => new SpikingResNetBlock(
                        Layout.Block,
                        inChannels,
                        Layout.Planes[s],
                        stride,
                        neuron,
                        NextSeed
                    ),
                    Family.SewResNet => new SewBlock(
                        Layout.Block,
                        inChannels,
                        Layout.Planes[s],
                        stride,
                        neuron,
                        NextSeed,
                        options.Connect
                    ),
                    Family.MsResNet => new DaBlock(
                        Layout.Block,
                        Activation.Pre,
                        inChannels,
                        Layout.Planes[s],
                        stride,
                        neuron,
                        NextSeed
                    ),
                    Family.DaNetPost => new DaBlock(
                        Layout.Block,
                        Activation.Post,
                        inChannels,
                        Layout.Planes[s],
                        stride,
                        neuron,
                        NextSeed,
                        options.Downsample
                    ),
                    _ => new DaBlock(
                        Layout.Block,
                        Activation.Pre,
                        inChannels,
                        Layout.Planes[s],
                        stride,
                        neuron,
                        NextSeed,
                        options.Downsample
                    ),
                };
                if (options.ZeroInitResidual)
                    block.LastBn.ZeroInitWeight();
                blocks.Add(block);
                inChannels = block.OutChannels;
            }
            Layer stage =
                blocks[0] is DaBlock
                    ? new DaStage([.. blocks.Cast<DaBlock>()])
                    : new Sequential([.. blocks]);
            _stages.Add(Child("layer" + (s + 1).ToString(CultureInfo.InvariantCulture), stage));
        }
        if (pre)
            _snOut = Child("sn_out", neuron());
        _body = Chain(BodyModules());
        AddHead(inChannels, NextSeed());
    }

    public Family Family { get; }
    public ResNetLayout Layout { get; }

    /// <summary>The stages <c>layer1</c>, <c>layer2</c>, ... (a <see cref="DaStage"/> or a <see cref="Sequential"/> of blocks).</summary>
    public IReadOnlyList<Layer> Stages => _stages;

    /// <summary>
    /// True when the first stage runs as recomputed segments (the min layout,
    /// <see cref="MemoryOptions.RecomputeStages"/>): the stem is then recomputed too, so neither
    /// its activations (its pooling indices, its neuron's state) nor its output are kept beyond a
    /// segment's input. When the stem ends in a neuron (the post families) it is a segment of its
    /// own that keeps only the images, and the first stage's first segment keeps its spikes
    /// bit-packed; otherwise (the pre families, whose stem writes the real-valued stream) it joins
    /// the first stage in one segment that keeps only the images (the stage's own segments run
    /// nested in it, as plain calls).
    /// </summary>
    public bool RecomputesStem =>
        _stages[0] switch
        {
            DaStage da => da.SegmentBlocks > 0,
            Sequential seq => seq.SegmentSteps > 0,
            _ => false,
        };

    private bool StemIsOwnSegment => _stem.Any(m => m is NeuronNode);

    private bool PackSegmentInputs =>
        _stages[0] is DaStage da ? da.PackSegmentInput : ((Sequential)_stages[0]).PackSegmentInput;

    // The body steps of the stem's segment: the stem's, or the stem's and the first stage's.
    private int StemSegmentSteps()
    {
        var steps = _body.Steps;
        for (var k = 0; k < steps.Count; k++)
        {
            if (steps[k].Start == _stem.Count)
                return StemIsOwnSegment ? k : k + 1;
        }
        throw new InvalidOperationException("ResNet: the first stage is not a step of the body");
    }

    protected override Tensor ForwardBody(Tensor x)
    {
        if (!RecomputesStem)
            return _body.Forward(x);
        var k = StemSegmentSteps();
        using var head = Recompute.Segment(
            StemIsOwnSegment ? _stem : [.. _stem, _stages[0]],
            s => _body.ForwardSteps(s, 0, k),
            x,
            PackSegmentInputs
        );
        return _body.ForwardSteps(head, k, _body.Steps.Count);
    }

    protected override int[] InferBody(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        if (!RecomputesStem || trace.Layout is null)
            return _body.InferShape(shape, trace);
        var k = StemSegmentSteps();
        trace.KeptSegmentInput(shape, PackSegmentInputs);
        var head = _body.InferSteps(shape, trace.Discarding(), 0, k);
        return _body.InferSteps(head, trace, k, _body.Steps.Count);
    }

    private IEnumerable<Module> BodyModules()
    {
        foreach (var m in _stem)
            yield return m;
        foreach (var stage in _stages)
            yield return stage;
        if (_snOut is not null)
            yield return _snOut;
    }

    private static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
