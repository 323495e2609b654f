using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>Which of the engine's families the peer builds.</summary>
public enum Family
{
    /// <summary>SEW ResNet, ADD: post-activation blocks, spiking downsample conv–BN–LIF.</summary>
    SewAdd,

    /// <summary>DANet-pre: membrane-shortcut pre-activation blocks, additive downsample conv–BN, <c>sn_out</c>.</summary>
    DaNetPre,
}

/// <summary>Shared construction helpers: bias-free convs with Kaiming normal fan-out init, BN γ=1 β=0.</summary>
internal static class Units
{
    public static Conv2d Conv(int cin, int cout, int k, int stride)
    {
        var c = nn.Conv2d(cin, cout, k, stride: stride, padding: k / 2, bias: false);
        using (no_grad())
            nn.init.kaiming_normal_(
                c.weight!,
                mode: nn.init.FanInOut.FanOut,
                nonlinearity: nn.init.NonlinearityType.ReLU
            );
        return c;
    }

    public static BatchNorm2d Bn(int c) => nn.BatchNorm2d(c); // momentum 0.1, eps 1e-5

    /// <summary>
    /// The same 4-d tensor with channels-last strides (PyTorch's <c>channels_last</c> memory
    /// format, which TorchSharp 0.107 does not expose): the data laid out NHWC, the shape still
    /// NCHW. libtorch's convolutions, BN and elementwise ops keep that layout for their outputs.
    /// </summary>
    public static Tensor ChannelsLast(Tensor t) =>
        t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>Every conv weight of <paramref name="model"/> moved to channels-last order.</summary>
    public static void WeightsChannelsLast(nn.Module model)
    {
        using var scope = NewDisposeScope();
        foreach (var c in model.modules().OfType<Conv2d>())
            using (no_grad())
                c.weight = new Parameter(
                    ChannelsLast(c.weight!.detach()).MoveToOuterDisposeScope()
                );
    }
}

/// <summary>
/// SEW basic block with ADD (SpikingJelly <c>sew_resnet.BasicBlock</c>, cnf='ADD'):
/// <c>out = SN(BN(conv(SN(BN(conv(x)))))) + D(x)</c>, <c>D = SN(BN(conv1×1(x)))</c> when the block
/// downsamples, else the identity. Tensors are <c>[T·N, C, H, W]</c>; BN runs over T·N·H·W.
/// </summary>
public sealed class SewBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Lif sn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Lif sn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly Lif? downsample_sn;

    public SewBasicBlock(int cin, int planes, int stride, int t, SurrogateMode mode)
        : base("SewBasicBlock")
    {
        conv1 = Units.Conv(cin, planes, 3, stride);
        bn1 = Units.Bn(planes);
        sn1 = new Lif("sn1", t, mode);
        conv2 = Units.Conv(planes, planes, 3, 1);
        bn2 = Units.Bn(planes);
        sn2 = new Lif("sn2", t, mode);
        if (stride != 1 || cin != planes)
        {
            downsample = nn.Sequential(
                ("0", Units.Conv(cin, planes, 1, stride)),
                ("1", Units.Bn(planes))
            );
            downsample_sn = new Lif("downsample_sn", t, mode);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var a = sn2.forward(bn2.forward(conv2.forward(sn1.forward(bn1.forward(conv1.forward(x))))));
        var d = downsample is null ? x : downsample_sn!.forward(downsample.forward(x));
        return a.add_(d).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// DANet-pre basic block (membrane shortcut): <c>out = D(x) + BN(conv(SN(BN(conv(SN(x))))))</c>,
/// <c>D = BN(conv1×1(x))</c> (additive, no neuron) when the block downsamples, else the identity.
/// A stage of these is the engine's <c>DaStage</c>: x_{i+1} = x_i + F_i(x_i).
/// </summary>
public sealed class DaPreBasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Lif sn1;
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Lif sn2;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    public DaPreBasicBlock(int cin, int planes, int stride, int t, SurrogateMode mode)
        : base("DaPreBasicBlock")
    {
        sn1 = new Lif("sn1", t, mode);
        conv1 = Units.Conv(cin, planes, 3, stride);
        bn1 = Units.Bn(planes);
        sn2 = new Lif("sn2", t, mode);
        conv2 = Units.Conv(planes, planes, 3, 1);
        bn2 = Units.Bn(planes);
        if (stride != 1 || cin != planes)
            downsample = nn.Sequential(
                ("0", Units.Conv(cin, planes, 1, stride)),
                ("1", Units.Bn(planes))
            );
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var r = bn2.forward(conv2.forward(sn2.forward(bn1.forward(conv1.forward(sn1.forward(x))))));
        var d = downsample is null ? x : downsample.forward(x);
        return r.add_(d).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// ResNet-18/34 with the cifar stem (3×3/1 conv, pad 1, BN, [LIF]; no pool), stages of basic
/// blocks at widths 64/128/256/512 and strides 1/2/2/2, global average pooling and one <c>fc</c>
/// applied at every time step. Input <c>[T, N, C, H, W]</c>, output per-step logits
/// <c>[T, N, classes]</c>. Parameter names follow torchvision/SpikingJelly as in the engine.
/// </summary>
public sealed class SpikingResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Lif? sn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly Lif? sn_out;
    private readonly Linear fc;
    private readonly int _t;

    public SpikingResNet(
        Family family,
        int depth,
        int numClasses,
        int inChannels,
        int t,
        SurrogateMode mode
    )
        : base(family == Family.SewAdd ? $"sew-resnet{depth}" : $"danet-pre-resnet{depth}")
    {
        int[] blocks = depth switch
        {
            18 => [2, 2, 2, 2],
            34 => [3, 4, 6, 3],
            _ => throw new ArgumentException(
                $"depth {depth}: the peer builds 18 and 34",
                nameof(depth)
            ),
        };
        _t = t;
        conv1 = Units.Conv(inChannels, 64, 3, 1);
        bn1 = Units.Bn(64);
        if (family == Family.SewAdd)
            sn1 = new Lif("sn1", t, mode);
        var cin = 64;
        Sequential Stage(int planes, int n, int stride)
        {
            var list = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (var b = 0; b < n; b++)
            {
                var s = b == 0 ? stride : 1;
                list.Add(
                    (
                        b.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        family == Family.SewAdd
                            ? new SewBasicBlock(cin, planes, s, t, mode)
                            : new DaPreBasicBlock(cin, planes, s, t, mode)
                    )
                );
                cin = planes;
            }
            return nn.Sequential(list);
        }
        layer1 = Stage(64, blocks[0], 1);
        layer2 = Stage(128, blocks[1], 2);
        layer3 = Stage(256, blocks[2], 2);
        layer4 = Stage(512, blocks[3], 2);
        if (family == Family.DaNetPre)
            sn_out = new Lif("sn_out", t, mode);
        fc = nn.Linear(512, numClasses); // PyTorch default init: uniform ±1/√in
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) // [T, N, C, H, W] → [T, N, classes]
    {
        using var scope = NewDisposeScope();
        var n = x.shape[1];
        var y = x.flatten(0, 1); // fold time into the batch
        if (ChannelsLast)
            y = Units.ChannelsLast(y);
        y = bn1.forward(conv1.forward(y));
        if (sn1 is not null)
            y = sn1.forward(y);
        y = layer4.forward(layer3.forward(layer2.forward(layer1.forward(y))));
        if (sn_out is not null)
            y = sn_out.forward(y);
        var pooled = y.mean([2, 3]); // adaptive average pool to 1×1, flattened: [T·N, C]
        return fc.forward(pooled).view(_t, n, -1).MoveToOuterDisposeScope();
    }

    /// <summary>Feed the stem the input in channels-last order (<see cref="Units.ChannelsLast"/>).</summary>
    public bool ChannelsLast { get; set; }

    /// <summary>All LIF layers, for firing-rate reports.</summary>
    public IEnumerable<Lif> Neurons() => modules().OfType<Lif>();
}
