using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// A narrow pre-activation DANet for 28×28 inputs (MNIST, Fashion-MNIST): a CIFAR-style 3×3
/// stem (conv–BN, the encoder), then densely additive stages (<see cref="DaStage"/>) of
/// pre-activation basic blocks (<see cref="DaBlock"/>, <see cref="Activation.Pre"/>)
/// <c>x + BN(conv(SN(BN(conv(SN(x))))))</c> — the shortcut is pure addition, never a neuron —
/// joined by spiking stride-2 downsamples <c>BN(conv₃ₓ₃,s2(SN(x)))</c>, then a neuron, global
/// average pooling and a linear classifier applied at every time step.
/// Input <c>[T, N, C, H, W]</c>, output <c>[T, N, classes]</c>.
/// </summary>
/// <remarks>
/// Parameter names: <c>stem.weight</c> (conv), <c>stem.bn.weight</c> (its BN),
/// <c>down1.weight</c>, <c>stage2.0.conv1.weight</c>, <c>stage2.0.bn2.weight</c>,
/// <c>fc.weight</c>. The memory options of <see cref="ModelOptions.Memory"/> are applied at the
/// end of the constructor, as for <see cref="ResNet"/>.
/// </remarks>
public sealed class DanetMnist : Layer
{
    private readonly ClassifierHead _head;
    private readonly List<ModuleChain> _units = []; // stem, downsamples and stages, head neuron

    /// <param name="options">classes, input channels, neuron factory, memory layout, seed.</param>
    /// <param name="widths">channels of each stage (the stem has the first stage's width).</param>
    /// <param name="blocks">blocks of each stage.</param>
    public DanetMnist(ModelOptions options, int[] widths, int[] blocks)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(widths);
        ArgumentNullException.ThrowIfNull(blocks);
        if (widths.Length == 0 || widths.Length != blocks.Length)
            throw new ArgumentException(
                $"DanetMnist: widths and blocks must be non-empty and of one length, got {widths.Length} and {blocks.Length}",
                nameof(widths)
            );
        if (widths.Any(w => w <= 0) || blocks.Any(b => b < 0))
            throw new ArgumentException(
                $"DanetMnist: widths must be positive and block counts non-negative, got [{string.Join(", ", widths)}] and [{string.Join(", ", blocks)}]",
                nameof(widths)
            );
        if (options.NumClasses <= 0 || options.InChannels <= 0)
            throw new ArgumentException(
                $"DanetMnist: numClasses and inChannels must be positive, got {options.NumClasses} and {options.InChannels}",
                nameof(options)
            );
        var neuron =
            options.Neuron
            ?? throw new ArgumentException(
                "DanetMnist: options.Neuron (the neuron factory) is required",
                nameof(options)
            );
        Options = options;
        var seed = options.Seed * 7919 + 17;
        ulong NextSeed() => seed++;

        // Each unit is a chain of its own (stem, downsample, stage, head neuron), so fusion never
        // spans two units. Names are those of the model's earlier checkpoints where the layer
        // kept its place: stem.weight, stem.bn.weight, down1.weight, down1.bn.bias, down1_lif.
        var c = widths[0];
        _units.Add(Chain(ConvBn("stem", options.InChannels, c, 1, NextSeed())));
        for (var s = 0; s < widths.Length; s++)
        {
            if (s > 0)
            {
                var id = "down" + s.ToString(CultureInfo.InvariantCulture);
                _units.Add(
                    Chain([
                        Child(id + "_lif", neuron()),
                        .. ConvBn(id, c, widths[s], 2, NextSeed()),
                    ])
                );
                c = widths[s];
            }
            if (blocks[s] == 0)
                continue;
            var width = c;
            var stage = new DaStage([
                .. Enumerable
                    .Range(0, blocks[s])
                    .Select(_ => new DaBlock(
                        BlockKind.Basic,
                        Activation.Pre,
                        width,
                        width,
                        1,
                        neuron,
                        NextSeed
                    )),
            ]);
            _units.Add(
                Chain([Child("stage" + (s + 1).ToString(CultureInfo.InvariantCulture), stage)])
            );
        }
        _units.Add(Chain([Child("head_lif", neuron())]));
        Avgpool = Child("avgpool", new AdaptiveAvgPool2d(1, 1));
        Fc = Child("fc", new Linear(c, options.NumClasses, seed: NextSeed()));
        if (!IsShapeOnly)
            Fc.Bias!.Fill_(0f);
        Features = c;
        _head = new ClassifierHead(Avgpool, Fc, c);
        options.Memory.ApplyTo(this);
    }

    public ModelOptions Options { get; }

    /// <summary>Channels entering the classifier.</summary>
    public int Features { get; }

    public AdaptiveAvgPool2d Avgpool { get; }

    /// <summary>The classifier (bias zero at start).</summary>
    public Linear Fc { get; }

    public override Tensor Forward(Tensor x) // (T, N, C, H, W) → (T, N, classes)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 5 || x.Shape[2] != Options.InChannels)
            throw new ArgumentException(
                $"DanetMnist: input must be [T, N, {Options.InChannels}, H, W] (multi-step images), got {x.Shape}",
                nameof(x)
            );
        var y = x;
        foreach (var unit in _units)
        {
            var next = unit.Forward(y);
            if (!ReferenceEquals(y, x))
                y.Dispose();
            y = next;
        }
        using (y)
            return _head.Forward(y);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length != 5 || shape[2] != Options.InChannels)
            throw new ArgumentException(
                $"DanetMnist: input must be [T, N, {Options.InChannels}, H, W] (multi-step images), got {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        var s = shape;
        foreach (var unit in _units)
            s = unit.InferShape(s, trace);
        return _head.InferShape(s, trace);
    }

    private Module[] ConvBn(string name, int cin, int cout, int stride, ulong seed) =>
        [
            Child(name, new Conv2d(cin, cout, 3, stride, padding: 1, seed: seed)),
            Child(name + ".bn", new BatchNorm2d(cout)),
        ];
}
