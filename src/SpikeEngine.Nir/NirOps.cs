using SpikeEngine.Nn;

namespace SpikeEngine.Nir;

/// <summary>A node with membrane state (LIF, IF): its potential after the last step.</summary>
internal interface INirStateful
{
    /// <summary>(N, ...per-sample shape), null before the first step.</summary>
    Tensor? V { get; }
}

/// <summary>
/// One NIR node as an engine op over the whole window: input (T, N, ...in shape), output
/// (T, N, ...<see cref="OutShape"/>). <see cref="Create"/> maps a node type to its op.
/// </summary>
internal abstract class NirOp : Module
{
    protected NirOp(string node, int[] outShape)
    {
        Node = node;
        OutShape = outShape;
    }

    /// <summary>The NIR node name (for messages).</summary>
    public string Node { get; }

    /// <summary>Per-sample output shape.</summary>
    public int[] OutShape { get; }

    /// <summary>(T, N, ...in shape) → (T, N, ...<see cref="OutShape"/>).</summary>
    public sealed override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply(x, x.Shape[0], x.Shape[1]);
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return [shape[0], shape[1], .. OutShape];
    }

    /// <summary>The op on <paramref name="x"/> (T, N, ...in shape), <paramref name="t"/> = T and <paramref name="n"/> = N.</summary>
    protected abstract Tensor Apply(Tensor x, int t, int n);

    /// <summary>The node types <see cref="Create"/> maps.</summary>
    public const string Supported =
        "Input, Output, Affine, Linear, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, Threshold, Delay, LIF, IF, LI, I, CubaLIF, CubaLI";

    public static NirOp Create(string name, NirNode node, int[] inShape, double dt) =>
        node.Type switch
        {
            "Input" or "Output" or NirFlatten.PassThrough => new Identity(name, inShape),
            "Affine" => new AffineOp(name, node, inShape, bias: true),
            "Linear" => new AffineOp(name, node, inShape, bias: false),
            "Conv1d" => new Conv2dOp(name, node, inShape, oneD: true),
            "Conv2d" => new Conv2dOp(name, node, inShape, oneD: false),
            "SumPool2d" => new PoolOp(name, node, inShape, sum: true),
            "AvgPool2d" => new PoolOp(name, node, inShape, sum: false),
            "Flatten" => new FlattenOp(name, node, inShape),
            "Scale" => new ScaleOp(name, node, inShape),
            "Threshold" => new ThresholdOp(name, node, inShape),
            "Delay" => new DelayOp(name, node, inShape, dt),
            "LIF" when FusedLif(node, dt) => new LifOp(name, node, inShape, dt),
            "IF" when Fused(node, "r", "v_threshold", "v_reset") => new IfOp(
                name,
                node,
                inShape,
                dt
            ),
            "LIF" or "IF" or "LI" or "I" or "CubaLIF" or "CubaLI" => new EulerNeuronOp(
                name,
                node,
                inShape,
                dt
            ),
            _ => throw new NirFormatException(
                $"NIR import: node '{name}' has type '{node.Type}', which this engine does not run (supported: {Supported})"
            ),
        };

    // The fused engine neurons run one value per layer; other parameter sets run step by step.
    private static bool Fused(NirNode node, params string[] keys) =>
        keys.All(k =>
            !node.Arrays.TryGetValue(k, out var a)
                ? k == "v_reset"
                : a.Count > 0 && a.Data.All(v => v == a.Data[0])
        );

    private static bool FusedLif(NirNode node, double dt) =>
        Fused(node, "tau", "r", "v_leak", "v_threshold", "v_reset")
        && node.Arrays["tau"].Data[0] / dt > 1
        && node.Arrays["v_leak"].Data[0]
            == (node.Arrays.TryGetValue("v_reset", out var r) ? r.Data[0] : 0);

    internal static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => checked(a * b));

    /// <summary>The one value of a parameter that <see cref="Fused"/> found uniform.</summary>
    internal static double Uniform(
        string name,
        NirNode node,
        string key,
        int neurons,
        double? fallback = null
    ) => StepOp.PerNeuron(name, node, key, neurons, fallback)[0];

    /// <summary>An (H, W) pair from a scalar or a 2-array.</summary>
    internal static (int H, int W) Pair(string name, NirNode node, string key, int fallback)
    {
        if (!node.Arrays.TryGetValue(key, out var a))
            return (fallback, fallback);
        var v = a.ToInts($"NIR import: node '{name}' '{key}'");
        return v.Length switch
        {
            1 => (v[0], v[0]),
            2 => (v[0], v[1]),
            _ => throw new NirFormatException(
                $"NIR import: node '{name}' '{key}' has {v.Length} values, expected 1 or 2"
            ),
        };
    }

    protected static Tensor Fold(Tensor x, int t, int n, int[] shape) =>
        x.Reshape([t * n, .. shape]);

    protected Tensor Unfold(Tensor y, int t, int n) => y.Reshape([t, n, .. OutShape]);

    private sealed class Identity(string name, int[] shape) : NirOp(name, shape)
    {
        protected override Tensor Apply(Tensor x, int t, int n) => x.Reshape(x.Shape.ToArray());
    }

    private sealed class AffineOp : NirOp
    {
        private readonly Tensor _w;
        private readonly Tensor? _b;

        public AffineOp(string name, NirNode node, int[] inShape, bool bias)
            : base(name, Out(name, node))
        {
            var w = node.Require(name, "weight");
            int features = w.Shape[1];
            if (Numel(inShape) != features)
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) has weight {NirModel.Fmt(w.Shape)} expecting {features} inputs, but receives {NirModel.Fmt(inShape)}"
                );
            _w = Parameter("weight", Tensor.FromArray(w.ToFloats(), w.Shape));
            if (bias)
            {
                var b = node.Require(name, "bias");
                if (b.Count != w.Shape[0])
                    throw new NirFormatException(
                        $"NIR import: node '{name}' bias has {b.Count} values, weight {NirModel.Fmt(w.Shape)} needs {w.Shape[0]}"
                    );
                _b = Parameter("bias", Tensor.FromArray(b.ToFloats(), [w.Shape[0]]));
            }
        }

        private static int[] Out(string name, NirNode node)
        {
            var w = node.Require(name, "weight");
            if (w.Shape.Length != 2)
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) weight has shape {NirModel.Fmt(w.Shape)}, expected (out, in)"
                );
            return [w.Shape[0]];
        }

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            using var flat = x.Reshape(t * n, _w.Shape[1]);
            using var y = Ops.Linear(flat, _w, _b);
            return Unfold(y, t, n);
        }
    }

    private sealed class Conv2dOp : NirOp
    {
        private readonly Tensor _w;
        private readonly Tensor? _b;
        private readonly (int H, int W) _stride,
            _padding,
            _dilation;
        private readonly int[] _inShape;

        /// <summary>A Conv2d node, or with <paramref name="oneD"/> a Conv1d node (input (C, L)) run as a convolution of height 1.</summary>
        public Conv2dOp(string name, NirNode node, int[] inShape, bool oneD)
            : this(name, oneD ? As2d(name, node, inShape) : (node, inShape), oneD) { }

        private Conv2dOp(string name, (NirNode Node, int[] In) c, bool oneD)
            : this(name, c.Node, c.In, oneD, Geometry(name, c.Node, c.In)) { }

        private Conv2dOp(
            string name,
            NirNode node,
            int[] inShape,
            bool oneD,
            ((int H, int W) Stride, (int H, int W) Padding, (int H, int W) Dilation, int[] Out) g
        )
            : base(name, oneD ? [g.Out[0], g.Out[2]] : g.Out)
        {
            var w = node.Require(name, "weight");
            _inShape = inShape;
            _stride = g.Stride;
            _padding = g.Padding;
            _dilation = g.Dilation;
            _w = Parameter("weight", Tensor.FromArray(w.ToFloats(), w.Shape));
            if (node.Arrays.TryGetValue("bias", out var b) && b.Count > 0)
            {
                if (b.Count != w.Shape[0])
                    throw new NirFormatException(
                        $"NIR import: node '{name}' bias has {b.Count} values, weight {NirModel.Fmt(w.Shape)} needs {w.Shape[0]}"
                    );
                _b = Parameter("bias", Tensor.FromArray(b.ToFloats(), [w.Shape[0]]));
            }
        }

        // Conv1d (weight (C_out, C_in, K), scalar stride/padding/dilation) as Conv2d over (C, 1, L).
        private static (NirNode, int[]) As2d(string name, NirNode node, int[] inShape)
        {
            var w = node.Require(name, "weight");
            if (w.Shape.Length != 3)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv1d) weight has shape {NirModel.Fmt(w.Shape)}, expected (C_out, C_in, K)"
                );
            if (inShape.Length != 2)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv1d) receives {NirModel.Fmt(inShape)}, expected (C, L)"
                );
            var g = new NirNode("Conv2d");
            g.Arrays["weight"] = w with { Shape = [w.Shape[0], w.Shape[1], 1, w.Shape[2]] };
            foreach (var (k, a) in node.Arrays)
            {
                if (k is "stride" or "padding" or "dilation")
                {
                    var v = a.ToInts($"NIR import: node '{name}' '{k}'");
                    if (v.Length != 1)
                        throw new NirFormatException(
                            $"NIR import: node '{name}' (Conv1d) '{k}' has {v.Length} values, expected 1"
                        );
                    g.Arrays[k] = NirArray.Int([k == "padding" ? 0 : 1, v[0]], 2);
                }
                else if (k is "bias" or "groups")
                    g.Arrays[k] = a;
            }
            foreach (var (k, v) in node.Strings)
                g.Strings[k] = v;
            return (g, [inShape[0], 1, inShape[1]]);
        }

        private static (
            (int H, int W) Stride,
            (int H, int W) Padding,
            (int H, int W) Dilation,
            int[] Out
        ) Geometry(string name, NirNode node, int[] inShape)
        {
            var w = node.Require(name, "weight");
            if (w.Shape.Length != 4)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv2d) weight has shape {NirModel.Fmt(w.Shape)}, expected (C_out, C_in, KH, KW)"
                );
            if (inShape.Length != 3 || inShape[0] != w.Shape[1])
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv2d) weight {NirModel.Fmt(w.Shape)} expects ({w.Shape[1]}, H, W) input, receives {NirModel.Fmt(inShape)}"
                );
            if (node.Arrays.TryGetValue("groups", out var groups) && groups.Data[0] != 1)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv2d) has groups = {groups.Data[0]}; this engine runs groups = 1"
                );
            var stride = Pair(name, node, "stride", 1);
            var dilation = Pair(name, node, "dilation", 1);
            (int H, int W) padding;
            if (node.Strings.TryGetValue("padding", out var mode))
            {
                padding = mode switch
                {
                    "valid" => (0, 0),
                    "same" when stride == (1, 1) && w.Shape[2] % 2 == 1 && w.Shape[3] % 2 == 1 => (
                        dilation.H * (w.Shape[2] - 1) / 2,
                        dilation.W * (w.Shape[3] - 1) / 2
                    ),
                    _ => throw new NirFormatException(
                        $"NIR import: node '{name}' (Conv2d) padding '{mode}' with stride {stride} and kernel ({w.Shape[2]}, {w.Shape[3]}): expected 'valid', or 'same' with stride 1 and an odd kernel"
                    ),
                };
            }
            else
                padding = Pair(name, node, "padding", 0);
            int oh =
                (inShape[1] + 2 * padding.H - dilation.H * (w.Shape[2] - 1) - 1) / stride.H + 1;
            int ow =
                (inShape[2] + 2 * padding.W - dilation.W * (w.Shape[3] - 1) - 1) / stride.W + 1;
            if (oh <= 0 || ow <= 0)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Conv2d) gives an empty output from input {NirModel.Fmt(inShape)}"
                );
            return (stride, padding, dilation, [w.Shape[0], oh, ow]);
        }

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            using var folded = Fold(x, t, n, _inShape);
            using var y = Ops.Conv2d(folded, _w, _b, _stride, _padding, _dilation);
            return Unfold(y, t, n);
        }
    }

    private sealed class PoolOp : NirOp
    {
        private readonly int _kernel,
            _stride,
            _padding;
        private readonly bool _sum;
        private readonly int[] _inShape;

        public PoolOp(string name, NirNode node, int[] inShape, bool sum)
            : base(name, Out(name, node, inShape))
        {
            _inShape = inShape;
            _sum = sum;
            (_kernel, _stride, _padding) = Square(name, node);
        }

        private static (int K, int S, int P) Square(string name, NirNode node)
        {
            var k = Pair(name, node, "kernel_size", 0);
            var s = node.Arrays.ContainsKey("stride") ? Pair(name, node, "stride", 1) : k;
            var p = Pair(name, node, "padding", 0);
            if (k.H != k.W || s.H != s.W || p.H != p.W || k.H <= 0)
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) has kernel {k}, stride {s}, padding {p}; this engine pools with square windows"
                );
            if (node.Type == "SumPool2d" && p.H != 0)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (SumPool2d) has padding {p.H}; this engine sum-pools without padding"
                );
            return (k.H, s.H, p.H);
        }

        private static int[] Out(string name, NirNode node, int[] inShape)
        {
            var (k, s, p) = Square(name, node);
            if (inShape.Length != 3)
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) receives {NirModel.Fmt(inShape)}, expected (C, H, W)"
                );
            int oh = (inShape[1] + 2 * p - k) / s + 1,
                ow = (inShape[2] + 2 * p - k) / s + 1;
            if (oh <= 0 || ow <= 0)
                throw new NirFormatException(
                    $"NIR import: node '{name}' ({node.Type}) window {k} is larger than its input {NirModel.Fmt(inShape)}"
                );
            return [inShape[0], oh, ow];
        }

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            using var folded = Fold(x, t, n, _inShape);
            using var avg = Ops.AvgPool2d(folded, _kernel, _stride, _padding);
            if (!_sum)
                return Unfold(avg, t, n);
            using var sum = avg * (float)(_kernel * _kernel);
            return Unfold(sum, t, n);
        }
    }

    private sealed class FlattenOp(string name, NirNode node, int[] inShape)
        : NirOp(name, Out(name, node, inShape))
    {
        private static int[] Out(string name, NirNode node, int[] inShape)
        {
            int rank = inShape.Length;
            int start = node.Arrays.TryGetValue("start_dim", out var s) ? (int)s.Data[0] : 0;
            int end = node.Arrays.TryGetValue("end_dim", out var e) ? (int)e.Data[0] : -1;
            if (start < 0)
                start += rank;
            if (end < 0)
                end += rank;
            if (start < 0 || end >= rank || start > end)
                throw new NirFormatException(
                    $"NIR import: node '{name}' (Flatten) start_dim/end_dim ({start}, {end}) do not fit its input {NirModel.Fmt(inShape)}"
                );
            return
            [
                .. inShape[..start],
                inShape[start..(end + 1)].Aggregate(1, (a, b) => a * b),
                .. inShape[(end + 1)..],
            ];
        }

        protected override Tensor Apply(Tensor x, int t, int n) => Unfold(x, t, n);
    }

    /// <summary>NIR <c>Scale</c>: <c>y = x ⊙ scale</c>, one factor per element (or one for all).</summary>
    private sealed class ScaleOp : NirOp
    {
        private readonly Tensor _scale;

        public ScaleOp(string name, NirNode node, int[] inShape)
            : base(name, inShape)
        {
            var s = StepOp.PerNeuron(name, node, "scale", Numel(inShape));
            _scale = Buffer("scale", Tensor.FromArray([.. s.Select(v => (float)v)], [s.Length]));
        }

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            using var flat = x.Reshape(t * n, _scale.Shape[0]);
            using var y = Ops.ChannelAffine(flat, _scale, null, axis: 1);
            return Unfold(y, t, n);
        }
    }

    /// <summary>
    /// NIR <c>Threshold</c>: <c>z = Θ(x − threshold)</c> per element (Θ(0) = 1, like the engine's
    /// neurons), with a sigmoid surrogate gradient.
    /// </summary>
    private sealed class ThresholdOp : NirOp
    {
        private readonly Tensor _negThreshold;
        private readonly Surrogate _surrogate = Surrogate.Sigmoid(4f);

        public ThresholdOp(string name, NirNode node, int[] inShape)
            : base(name, inShape)
        {
            var th = StepOp.PerNeuron(name, node, "threshold", Numel(inShape));
            _negThreshold = Buffer(
                "neg_threshold",
                Tensor.FromArray([.. th.Select(v => -(float)v)], [th.Length])
            );
        }

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            using var flat = x.Reshape(t * n, _negThreshold.Shape[0]);
            using var over = Ops.ChannelAffine(flat, null, _negThreshold, axis: 1);
            using var z = NeuronSlow.Fire(over, _surrogate);
            return Unfold(z, t, n);
        }
    }

    /// <summary>Scales the input by a constant, then runs an engine neuron.</summary>
    private abstract class NeuronOp : NirOp, INirStateful
    {
        private readonly FusedNeuronNode _neuron;
        private readonly float _inputScale;

        protected NeuronOp(string name, int[] shape, FusedNeuronNode neuron, float inputScale)
            : base(name, shape)
        {
            _neuron = Child("neuron", neuron);
            _inputScale = inputScale;
        }

        public Tensor? V => _neuron.V;

        public FusedNeuronNode Neuron => _neuron;

        public override int[] InferShape(int[] shape, ShapeTrace trace) =>
            _neuron.InferShape(shape, trace);

        protected override Tensor Apply(Tensor x, int t, int n)
        {
            if (_inputScale == 1f)
                return _neuron.Forward(x);
            using var scaled = x * _inputScale;
            return _neuron.Forward(scaled);
        }
    }

    private sealed class LifOp(string name, NirNode node, int[] shape, double dt)
        : NeuronOp(
            name,
            shape,
            MakeLif(name, node, shape, dt),
            (float)Uniform(name, node, "r", Numel(shape))
        )
    {
        private static LifNode MakeLif(string name, NirNode node, int[] shape, double dt)
        {
            int m = Numel(shape);
            double tau = Uniform(name, node, "tau", m);
            double vLeak = Uniform(name, node, "v_leak", m);
            double vTh = Uniform(name, node, "v_threshold", m);
            double vReset = Uniform(name, node, "v_reset", m, fallback: 0);
            double ratio = tau / dt; // > 1: checked by FusedLif
            return new LifNode(
                tau: (float)ratio,
                vThreshold: (float)vTh,
                vReset: (float)vReset,
                decayInput: true,
                detachReset: true
            );
        }
    }

    private sealed class IfOp(string name, NirNode node, int[] shape, double dt)
        : NeuronOp(
            name,
            shape,
            new IfNode(
                vThreshold: (float)Uniform(name, node, "v_threshold", Numel(shape)),
                vReset: (float)Uniform(name, node, "v_reset", Numel(shape), fallback: 0),
                detachReset: true
            ),
            (float)(Uniform(name, node, "r", Numel(shape)) * dt)
        );
}
