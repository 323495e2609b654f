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
public sealed class ResNet : Layer
{
    private readonly List<Module> _stem = [];
    private readonly List<Layer> _stages = [];
    private readonly NeuronNode? _snOut;
    private readonly ModuleChain _body; // stem, stages, sn_out
    private readonly ClassifierHead _head;

    public ResNet(Family family, int depth, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(family))
            throw new ArgumentException($"ResNet: unknown family {family}", nameof(family));
        if (options.NumClasses <= 0)
            throw new ArgumentException(
                $"ResNet: numClasses must be positive, got {options.NumClasses}",
                nameof(options)
            );
        if (options.InChannels <= 0)
            throw new ArgumentException(
                $"ResNet: inChannels must be positive, got {options.InChannels}",
                nameof(options)
            );
        if (!Enum.IsDefined(options.Stem))
            throw new ArgumentException($"ResNet: unknown stem {options.Stem}", nameof(options));
        var neuron =
            options.Neuron
            ?? throw new ArgumentException(
                "ResNet: options.Neuron (the neuron factory) is required",
                nameof(options)
            );
        Family = family;
        Layout = ResNetLayout.For(depth);
        Options = options;
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
        Avgpool = Child("avgpool", new AdaptiveAvgPool2d(1, 1));
        Fc = Child("fc", new Linear(inChannels, options.NumClasses, seed: NextSeed()));
        Features = inChannels;
        _body = Chain(Body());
        _head = new ClassifierHead(Avgpool, Fc, Features);
        options.Memory.ApplyTo(this);
    }

    public Family Family { get; }
    public ResNetLayout Layout { get; }
    public ModelOptions Options { get; }

    /// <summary>Channels entering the classifier.</summary>
    public int Features { get; }

    public AdaptiveAvgPool2d Avgpool { get; }
    public Linear Fc { get; }

    /// <summary>The stages <c>layer1</c>, <c>layer2</c>, ... (a <see cref="DaStage"/> or a <see cref="Sequential"/> of blocks).</summary>
    public IReadOnlyList<Layer> Stages => _stages;

    public override Tensor Forward(Tensor x) // (T, N, C, H, W) → (T, N, classes)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 5 || x.Shape[2] != Options.InChannels)
            throw new ArgumentException(
                $"ResNet: input must be [T, N, {Options.InChannels}, H, W] (multi-step images), got {x.Shape}",
                nameof(x)
            );
        using var y = _body.Forward(x);
        return _head.Forward(y);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(trace);
        if (shape.Length != 5 || shape[2] != Options.InChannels)
            throw new ArgumentException(
                $"ResNet: input must be [T, N, {Options.InChannels}, H, W] (multi-step images), got {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        return _head.InferShape(_body.InferShape(shape, trace), trace);
    }

    private IEnumerable<Module> Body()
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
