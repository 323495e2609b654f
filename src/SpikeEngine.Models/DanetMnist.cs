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
public sealed class DanetMnist : SpikingClassifier
{
    private readonly List<ModuleChain> _units = []; // stem, downsamples and stages, head neuron

    /// <param name="options">classes, input channels, neuron factory, memory layout, seed.</param>
    /// <param name="widths">channels of each stage (the stem has the first stage's width).</param>
    /// <param name="blocks">blocks of each stage.</param>
    public DanetMnist(ModelOptions options, int[] widths, int[] blocks)
        : base(options)
    {
        ArgumentNullException.ThrowIfNull(widths);
        ArgumentNullException.ThrowIfNull(blocks);
        if (
            widths.Length == 0
            || widths.Length != blocks.Length
            || widths.Any(w => w <= 0)
            || blocks.Any(b => b < 0)
        )
            throw new ArgumentException(
                $"DanetMnist: one positive width and one non-negative block count per stage, got [{string.Join(", ", widths)}] and [{string.Join(", ", blocks)}]",
                nameof(widths)
            );
        var neuron = Neuron;
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
        AddHead(c, NextSeed());
        if (!IsShapeOnly)
            Fc.Bias!.Fill_(0f); // the classifier's bias starts at zero
    }

    /// <summary>
    /// The body in order, one chain per unit: the stem (conv, BN), each downsample (neuron, conv,
    /// BN), each stage (one <see cref="DaStage"/>), the head neuron; for graph export.
    /// </summary>
    public IReadOnlyList<ModuleChain> Units => _units;

    protected override Tensor ForwardBody(Tensor x)
    {
        var y = _units[0].Forward(x);
        foreach (var unit in _units.Skip(1))
        {
            using var previous = y;
            y = unit.Forward(previous);
        }
        return y;
    }

    protected override int[] InferBody(int[] shape, ShapeTrace trace) =>
        _units.Aggregate(shape, (s, unit) => unit.InferShape(s, trace));

    private Module[] ConvBn(string name, int cin, int cout, int stride, ulong seed) =>
        [
            Child(name, new Conv2d(cin, cout, 3, stride, padding: 1, seed: seed)),
            Child(name + ".bn", new BatchNorm2d(cout)),
        ];
}
