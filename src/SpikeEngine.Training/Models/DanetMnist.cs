using SpikeEngine.Data;
using SpikeEngine.Nn;

namespace SpikeEngine.Training.Models;

/// <summary>
/// A narrow pre-activation DANet for 28×28 inputs (MNIST, Fashion-MNIST): a CIFAR-style 3×3
/// stem (conv–BN, the encoder), then stages of densely-additive pre-activation basic blocks
/// <c>x + BN(conv(LIF(BN(conv(LIF(x))))))</c> — the shortcut is pure addition, never a neuron —
/// joined by spiking stride-2 downsamples <c>BN(conv₃ₓ₃,s2(LIF(x)))</c>, then LIF, global average
/// pooling and a linear classifier applied at every time step. Built from the Nn layers
/// (<see cref="Conv2d"/>, <see cref="BatchNorm2d"/>, <see cref="LifNode"/>) run as chains
/// (<see cref="Layer.RunChain"/>), so <see cref="MemoryOptions.ApplyTo"/> selects the memory layout
/// (bit-packed spikes, float16 H, BN → LIF fusion, conv → BN recomputation) as for the registry's
/// models. Parameter names: <c>stem.weight</c>, <c>stem.bn.weight</c>, <c>stage1.0.conv1.weight</c>, ...
/// </summary>
internal sealed class DanetMnist : Module
{
    private readonly List<Module[]> _units = []; // stem, downsamples and blocks, in order
    private readonly List<bool> _residual = [];
    private readonly LifNode _head;
    private readonly Tensor _fcW,
        _fcB;
    private ulong _seed;

    public DanetMnist(int inChannels, int numClasses, int[] widths, int[] blocks, ulong seed)
    {
        _seed = seed * 7919 + 17;
        int c = inChannels;
        Add([.. ConvBn("stem", c, widths[0], 1)], residual: false);
        c = widths[0];
        for (int s = 0; s < widths.Length; s++)
        {
            if (s > 0)
            {
                var lif = Lif($"down{s}.lif");
                Add([lif, .. ConvBn($"down{s}", c, widths[s], 2)], residual: false);
                c = widths[s];
            }
            for (int b = 0; b < blocks[s]; b++)
            {
                var name = $"stage{s + 1}.{b}";
                var lif1 = Lif(name + ".lif1");
                var conv1 = ConvBn(name + ".conv1", c, c, 1);
                var lif2 = Lif(name + ".lif2");
                var conv2 = ConvBn(name + ".conv2", c, c, 1);
                Add([lif1, .. conv1, lif2, .. conv2], residual: true);
            }
        }
        _head = Lif("head.lif");
        _fcW = Parameter(
            "fc.weight",
            Tensor.Uniform([numClasses, c], -1f / MathF.Sqrt(c), 1f / MathF.Sqrt(c), NextSeed())
        );
        _fcB = Parameter("fc.bias", Tensor.Zeros([numClasses]));
    }

    private ulong NextSeed() => _seed++;

    /// <summary>The stem, downsamples and blocks in order, each with whether it is a residual branch (x + chain(x)); for graph export.</summary>
    internal IEnumerable<(Module[] Chain, bool Residual)> Units => _units.Zip(_residual);

    /// <summary>The neuron before pooling, and the classifier's weight (K, C) and bias (K); for graph export.</summary>
    internal (LifNode Head, Tensor Weight, Tensor Bias) Classifier => (_head, _fcW, _fcB);

    private void Add(Module[] chain, bool residual)
    {
        _units.Add(chain);
        _residual.Add(residual);
    }

    private LifNode Lif(string name) =>
        Child(
            name.Replace('.', '_'),
            new LifNode(tau: 2f, vThreshold: 1f, vReset: 0f, decayInput: true, detachReset: true)
        );

    private Module[] ConvBn(string name, int cin, int cout, int stride) =>
        [
            Child(name, new Conv2d(cin, cout, 3, stride, padding: 1, seed: NextSeed())),
            Child(name + ".bn", new BatchNorm2d(cout)),
        ];

    /// <summary>x (T, N, C, H, W) → (T, N, K).</summary>
    public Tensor Forward(Tensor x)
    {
        int t = x.Shape[0],
            n = x.Shape[1];
        var h = x.Reshape(x.Shape.ToArray());
        for (int i = 0; i < _units.Count; i++)
        {
            Tensor next;
            if (_residual[i])
            {
                using var branch = Layer.RunChain(_units[i], h);
                next = h + branch;
            }
            else
                next = Layer.RunChain(_units[i], h);
            h.Dispose();
            h = next;
        }
        using var s = _head.Forward(h);
        h.Dispose();
        using var folded = s.Reshape(t * n, s.Shape[2], s.Shape[3], s.Shape[4]);
        using var pooled = Ops.AdaptiveAvgPool2d(folded, 1, 1);
        using var flat = pooled.Flatten(1);
        using var logits = Ops.Linear(flat, _fcW, _fcB);
        return logits.Reshape(t, n, -1);
    }

    /// <summary>The model in the lean memory layout (docs/memory.md); <see cref="MemoryOptions.ApplyTo"/> changes it.</summary>
    public static ClassifierModel Create(
        string name,
        int numClasses,
        SampleShape input,
        ulong seed,
        int[] widths,
        int[] blocks
    )
    {
        var net = new DanetMnist(input.Channels, numClasses, widths, blocks, seed);
        MemoryOptions.Lean.ApplyTo(net);
        return new ClassifierModel(name, net, net.Forward, () => FiringStats.Collect(net));
    }
}
