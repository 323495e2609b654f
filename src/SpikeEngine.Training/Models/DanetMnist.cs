using SpikeEngine.Data;
using SpikeEngine.Nn;

namespace SpikeEngine.Training.Models;

/// <summary>
/// A narrow pre-activation DANet for 28×28 inputs (MNIST, Fashion-MNIST): a CIFAR-style 3×3
/// stem (conv–BN, the encoder), then stages of densely-additive pre-activation basic blocks
/// <c>x + BN(conv(LIF(BN(conv(LIF(x))))))</c> — the shortcut is pure addition, never a neuron —
/// joined by spiking stride-2 downsamples <c>BN(conv₃ₓ₃,s2(LIF(x)))</c>, then LIF, global average
/// pooling and a linear classifier applied at every time step. Time is folded into the batch
/// for every stateless layer.
/// </summary>
internal sealed class DanetMnist : Module
{
    private readonly List<object> _layers = [];
    private readonly List<LifNode> _neurons = [];
    private readonly LifNode _head;
    private readonly Tensor _fcW,
        _fcB;
    private ulong _seed;

    public DanetMnist(int inChannels, int numClasses, int[] widths, int[] blocks, ulong seed)
    {
        _seed = seed * 7919 + 17;
        int c = inChannels;
        Conv("stem", c, widths[0], 1);
        c = widths[0];
        for (int s = 0; s < widths.Length; s++)
        {
            if (s > 0)
            {
                Lif($"down{s}.lif");
                Conv($"down{s}", c, widths[s], 2);
                c = widths[s];
            }
            for (int b = 0; b < blocks[s]; b++)
                _layers.Add(new Block(this, $"stage{s + 1}.{b}", c));
        }
        _head = MakeLif("head.lif");
        _fcW = Parameter(
            "fc.weight",
            Tensor.Uniform([numClasses, c], -1f / MathF.Sqrt(c), 1f / MathF.Sqrt(c), NextSeed())
        );
        _fcB = Parameter("fc.bias", Tensor.Zeros([numClasses]));
    }

    private ulong NextSeed() => _seed++;

    private sealed record ConvBn(
        Tensor W,
        Tensor Gamma,
        Tensor Beta,
        Tensor Mean,
        Tensor Var,
        int Stride
    );

    private sealed record Block(DanetMnist Net, string Name, int Channels)
    {
        public readonly LifNode Lif1 = Net.MakeLif(Name + ".lif1");
        public readonly ConvBn Conv1 = Net.MakeConv(Name + ".conv1", Channels, Channels, 1);
        public readonly LifNode Lif2 = Net.MakeLif(Name + ".lif2");
        public readonly ConvBn Conv2 = Net.MakeConv(Name + ".conv2", Channels, Channels, 1);
    }

    private void Conv(string name, int cin, int cout, int stride) =>
        _layers.Add(MakeConv(name, cin, cout, stride));

    private void Lif(string name) => _layers.Add(MakeLif(name));

    private LifNode MakeLif(string name)
    {
        var n = Child(
            name.Replace('.', '_'),
            new LifNode(tau: 2f, vThreshold: 1f, vReset: 0f, decayInput: true, detachReset: true)
        );
        _neurons.Add(n);
        return n;
    }

    private ConvBn MakeConv(string name, int cin, int cout, int stride) =>
        new(
            Parameter(
                name + ".weight",
                Tensor.KaimingNormalFanOut([cout, cin, 3, 3], NextSeed(), requiresGrad: false)
            ),
            Parameter(name + ".bn.weight", Tensor.Ones([cout])),
            Parameter(name + ".bn.bias", Tensor.Zeros([cout])),
            Buffer(name + ".bn.running_mean", Tensor.Zeros([cout])),
            Buffer(name + ".bn.running_var", Tensor.Ones([cout])),
            stride
        );

    private Tensor ApplyConv(ConvBn cb, Tensor x) // (T·N, C, H, W)
    {
        using var y = Ops.Conv2d(x, cb.W, null, cb.Stride, 1);
        return Ops.BatchNorm(y, cb.Gamma, cb.Beta, cb.Mean, cb.Var, IsTraining);
    }

    private static Tensor Spike(LifNode n, Tensor x, int t) // x (T·N, C, H, W)
    {
        var shape = x.Shape.ToArray();
        using var seq = x.Reshape([t, -1]);
        using var s = n.Forward(seq);
        return s.Reshape(shape);
    }

    /// <summary>x (T, N, C, H, W) → (T, N, K).</summary>
    public Tensor Forward(Tensor x)
    {
        int t = x.Shape[0],
            n = x.Shape[1];
        var h = x.Reshape(t * n, x.Shape[2], x.Shape[3], x.Shape[4]);
        foreach (var layer in _layers)
        {
            Tensor next = layer switch
            {
                ConvBn cb => ApplyConv(cb, h),
                LifNode lif => Spike(lif, h, t),
                Block b => ApplyBlock(b, h, t),
                _ => throw new InvalidOperationException("unknown layer"),
            };
            h.Dispose();
            h = next;
        }
        using var s = Spike(_head, h, t);
        h.Dispose();
        using var pooled = Ops.AdaptiveAvgPool2d(s, 1, 1);
        using var flat = pooled.Flatten(1);
        using var logits = Ops.Linear(flat, _fcW, _fcB);
        return logits.Reshape(t, n, -1);
    }

    private Tensor ApplyBlock(Block b, Tensor x, int t)
    {
        using var s1 = Spike(b.Lif1, x, t);
        using var y1 = ApplyConv(b.Conv1, s1);
        using var s2 = Spike(b.Lif2, y1, t);
        using var y2 = ApplyConv(b.Conv2, s2);
        return x + y2;
    }

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
        return new ClassifierModel(name, net, net.Forward, () => FiringStats.Collect(net));
    }
}
