using SpikeEngine.Models;
using SpikeEngine.Nn;

namespace SpikeEngine.Nir;

/// <summary>
/// Engine model → NIR graph, for a stated time step <c>dt</c> (seconds per engine step):
/// <list type="bullet">
/// <item>BatchNorm2d (eval statistics) is folded into the preceding convolution: with
/// <c>s = γ/√(σ² + ε)</c>, <c>W' = W·s</c> per output channel and <c>b' = (b − μ)·s + β</c>.</item>
/// <item>LIF with decay_input, <c>H = V + (X − (V − V_r))/τ</c>, is the forward-Euler step of
/// <c>τ_NIR dv/dt = (v_leak − v) + R I</c> with <c>τ_NIR = τ·dt</c>, <c>R = 1</c>,
/// <c>v_leak = v_reset = V_r</c>; without decay_input, <c>H = V − (V − V_r)/τ + X</c>, <c>R = τ</c>.</item>
/// <item>IF, <c>H = V + X</c>, is the Euler step of <c>dv/dt = R I</c> with <c>R = 1/dt</c>.</item>
/// <item>A densely additive shortcut <c>x + F(x)</c> (each block of a <see cref="DaStage"/>:
/// DANet pre/post, MS-ResNet) and SEW ADD are second edges into the consumer: NIR sums a node's
/// inputs. A Spiking ResNet block's sum feeds its last neuron the same way. Downsample shortcuts
/// (conv–BN, with or without their neuron) are chains of their own.</item>
/// </list>
/// Neuron parameters are written shaped like the layer (e.g. <c>(16, 14, 14)</c>). What NIR cannot
/// express (max pooling, SEW AND/IAND, soft reset, PLIF's learnable τ, a layer this exporter does not know) is
/// refused naming the module, never approximated. The graph's metadata records <c>dt</c>.
/// </summary>
public static class NirExport
{
    /// <summary>
    /// The graph of <paramref name="model"/> for input (C, H, W) <paramref name="input"/>:
    /// <see cref="DanetMnist"/> (its units, then global average pooling and the classifier), a
    /// zoo <see cref="ResNet"/> (its stem, stages and <c>sn_out</c>, then the same head), a
    /// <see cref="Sequential"/> chain, or an imported <see cref="NirModel"/> (written back whole).
    /// </summary>
    public static NirGraph Export(Module model, int[] input, double dt)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(dt > 0) || !double.IsFinite(dt))
            throw new ArgumentOutOfRangeException(
                nameof(dt),
                dt,
                $"NIR export: dt must be a positive number of seconds, got {dt}"
            );
        if (model is NirModel imported)
            return FromImported(imported, dt);
        var w = new Writer(model, dt);
        w.Graph.Add(
            "input",
            new NirNode("Input").With(
                "shape",
                NirArray.Int([.. input.Select(d => (long)d)], input.Length)
            )
        );
        var sources = new List<string> { "input" };
        var shape = input;
        switch (model)
        {
            case DanetMnist net:
                foreach (var unit in net.Units)
                    sources = w.Chain(unit.Modules, sources, ref shape);
                sources = w.GlobalAvgPool("pool", sources, ref shape);
                sources = w.Flatten("flatten", sources, ref shape);
                sources = w.Affine("fc", net.Fc.Weight, net.Fc.Bias, sources, ref shape);
                break;
            case SpikingClassifier net:
                // The zoo's ResNets: the body (stem, stages, sn_out), then the shared head.
                sources = w.Chain(
                    [
                        .. net.Children()
                            .Select(c => c.Module)
                            .Where(m => m != net.Avgpool && m != net.Fc),
                    ],
                    sources,
                    ref shape
                );
                sources = w.GlobalAvgPool("avgpool", sources, ref shape);
                sources = w.Flatten("flatten", sources, ref shape);
                sources = w.Affine("fc", net.Fc.Weight, net.Fc.Bias, sources, ref shape);
                break;
            case Sequential seq:
                sources = w.Chain(seq.Modules, sources, ref shape);
                break;
            default:
                throw new NotSupportedException(
                    $"NIR export: model {model.GetType().Name} has no NIR mapping; exportable: the registry's models (danet-mnist, Spiking/SEW/MS ResNets, DANet pre/post with the CIFAR stem) and Sequential chains of Conv2d, BatchNorm2d, LifNode, IfNode, AvgPool2d, Flatten, Linear, SewBlock, SpikingResNetBlock, DaStage"
                );
        }
        w.Graph.Add(
            "output",
            new NirNode("Output").With(
                "shape",
                NirArray.Int([.. shape.Select(d => (long)d)], shape.Length)
            )
        );
        foreach (var s in sources)
            w.Graph.Connect(s, "output");
        w.Graph.Metadata["dt"] = new NirArray([], [dt], false);
        w.Graph.Version = NirFile.FormatVersion;
        return w.Graph;
    }

    /// <summary>
    /// An imported graph written back: every node, edge and array of the source graph, with the
    /// weights and biases replaced by the model's current (possibly fine-tuned) values.
    /// </summary>
    private static NirGraph FromImported(NirModel model, double dt)
    {
        if (Math.Abs(dt - model.Dt) > 1e-12 * model.Dt)
            throw new ArgumentException(
                $"NIR export: the model was imported for dt = {model.Dt} s; exporting it for dt = {dt} s would change its neurons' time constants"
            );
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        var graph = CopyWithParameters(model.Graph, "", parameters);
        graph.Version = NirFile.FormatVersion;
        graph.Metadata["dt"] = new NirArray([], [dt], false);
        return graph;
    }

    // The graph with each node's arrays replaced by the parameters of its module, if any; a
    // nested graph's node n of g is the module of the flattened name g.n (docs/nir.md).
    private static NirGraph CopyWithParameters(
        NirGraph source,
        string prefix,
        Dictionary<string, Tensor> parameters
    )
    {
        var graph = new NirGraph { Version = source.Version };
        foreach (var (name, node) in source.Nodes)
        {
            var full = prefix + name;
            var copy = new NirNode(node.Type)
            {
                Subgraph = node.Subgraph is { } sub
                    ? CopyWithParameters(sub, full + ".", parameters)
                    : null,
            };
            foreach (var (k, a) in node.Arrays)
                copy.Arrays[k] = parameters.TryGetValue($"{full.Replace('.', '_')}.{k}", out var t)
                    ? new NirArray(a.Shape, [.. t.ToArray().Select(v => (double)v)], false)
                    : a;
            foreach (var (k, v) in node.Strings)
                copy.Strings[k] = v;
            foreach (var (k, v) in node.Metadata)
                copy.Metadata[k] = v;
            graph.Add(name, copy);
        }
        graph.Edges.AddRange(source.Edges);
        foreach (var (k, v) in source.Metadata)
            graph.Metadata[k] = v;
        return graph;
    }

    private sealed class Writer(Module root, double dt)
    {
        private readonly Dictionary<Module, string> _names = Names(root);

        private static Dictionary<Module, string> Names(Module root)
        {
            var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, m) in root.NamedModules())
                names.TryAdd(m, name);
            return names;
        }

        public NirGraph Graph { get; } = new();

        private string Name(Module m) =>
            _names.TryGetValue(m, out var n) && n.Length > 0 ? n : m.GetType().Name;

        private string Emit(string name, NirNode node, List<string> sources)
        {
            Graph.Add(name, node);
            foreach (var s in sources)
                Graph.Connect(s, name);
            return name;
        }

        public List<string> Chain(
            IReadOnlyList<Module> chain,
            List<string> sources,
            ref int[] shape
        )
        {
            for (int i = 0; i < chain.Count; i++)
            {
                var m = chain[i];
                var name = Name(m);
                switch (m)
                {
                    case Conv2d conv:
                    {
                        var bn = i + 1 < chain.Count ? chain[i + 1] as BatchNorm2d : null;
                        if (bn is not null)
                            i++;
                        sources = [Emit(name, ConvNode(conv, bn, shape), sources)];
                        shape = ConvOut(conv, shape);
                        break;
                    }
                    case LifNode or IfNode:
                        sources =
                        [
                            Emit(name, NeuronNode((FusedNeuronNode)m, name, shape), sources),
                        ];
                        break;
                    case AvgPool2d pool:
                    {
                        var node = new NirNode("AvgPool2d")
                            .With("kernel_size", NirArray.Int([pool.Kernel, pool.Kernel], 2))
                            .With("stride", NirArray.Int([pool.Stride, pool.Stride], 2))
                            .With("padding", NirArray.Int([pool.Padding, pool.Padding], 2));
                        sources = [Emit(name, node, sources)];
                        shape =
                        [
                            shape[0],
                            (shape[1] + 2 * pool.Padding - pool.Kernel) / pool.Stride + 1,
                            (shape[2] + 2 * pool.Padding - pool.Kernel) / pool.Stride + 1,
                        ];
                        break;
                    }
                    case AdaptiveAvgPool2d { OutH: 1, OutW: 1 }:
                        sources = GlobalAvgPool(name, sources, ref shape);
                        break;
                    case Flatten f when f.StartAxis == 1:
                        sources = Flatten(name, sources, ref shape);
                        break;
                    case Linear lin:
                        sources = Affine(name, lin.Weight, lin.Bias, sources, ref shape);
                        break;
                    case Dropout:
                        break; // the identity at inference
                    case Sequential seq:
                        sources = Chain(seq.Modules, sources, ref shape);
                        break;
                    case DaStage stage:
                    {
                        // x_0 = shortcut(x), x_{i+1} = x_i + F_i(x_i) (block 0 reads x): the
                        // stream is the list of sources NIR sums, each branch adds its output.
                        var input = sources;
                        var inShape = shape;
                        var stream = Shortcut(stage.Blocks[0], input, ref shape);
                        for (int b = 0; b < stage.Blocks.Count; b++)
                        {
                            var branchShape = b == 0 ? inShape : shape;
                            var outs = Chain(
                                stage.Blocks[b].Branch.Modules,
                                b == 0 ? input : stream,
                                ref branchShape
                            );
                            SameShape(stage.Blocks[b], shape, branchShape);
                            stream = [.. stream, .. outs];
                        }
                        sources = stream;
                        break;
                    }
                    case SewBlock sew:
                    {
                        // SEW ADD: out = F(x) + shortcut(x), a second edge into the consumer.
                        if (sew.ConnectFunction != SewConnect.Add)
                            throw new NotSupportedException(
                                $"NIR export: '{name}' joins its shortcut with SEW {(sew.ConnectFunction == SewConnect.And ? "AND (a·s)" : "IAND ((1 − a)·s)")}, a product of spike trains that NIR cannot express; only SEW ADD exports (as a sum of edges)"
                            );
                        var shortcutShape = shape;
                        var s = sew.Downsample is null
                            ? sources
                            : Chain(
                                [.. sew.Downsample.Modules, ChildNamed(sew, "downsample_sn")],
                                sources,
                                ref shortcutShape
                            );
                        var a = Chain(sew.Branch.Modules, sources, ref shape);
                        SameShape(sew, shape, shortcutShape);
                        sources = [.. a, .. s];
                        break;
                    }
                    case SpikingResNetBlock block:
                    {
                        // out = SN(F(x) + shortcut(x)): both edges into the last neuron.
                        var shortcutShape = shape;
                        var d = block.Downsample is null
                            ? sources
                            : Chain(block.Downsample.Modules, sources, ref shortcutShape);
                        var r = Chain(block.Branch.Modules, sources, ref shape);
                        SameShape(block, shape, shortcutShape);
                        sources = Chain([block.Children().Last().Module], [.. r, .. d], ref shape);
                        break;
                    }
                    case MaxPool2d:
                        throw new NotSupportedException(
                            $"NIR export: '{name}' is max pooling (MaxPool2d), which NIR cannot express (it has SumPool2d and AvgPool2d only)"
                        );
                    case PlifNode:
                        throw new NotSupportedException(
                            $"NIR export: '{name}' is a PLIF neuron; NIR's LIF has a fixed τ, so export it after replacing PLIF by LIF with the learned τ"
                        );
                    case BatchNorm2d:
                        throw new NotSupportedException(
                            $"NIR export: '{name}' is a BatchNorm2d that does not follow a convolution; NIR has no per-channel affine node to hold it"
                        );
                    default:
                        throw new NotSupportedException(
                            $"NIR export: '{name}' ({m.GetType().Name}) has no NIR equivalent"
                        );
                }
            }
            return sources;
        }

        // A DA block's shortcut as a chain: none, conv–BN (additive), or with its neuron
        // before (pre-activation) or after (post-activation) the conv–BN (spiking).
        private List<string> Shortcut(DaBlock block, List<string> sources, ref int[] shape)
        {
            if (block.Downsample is null)
                return sources;
            IReadOnlyList<Module> chain = block.DownsampleKind switch
            {
                DownsampleKind.Spiking when block.Activation == Activation.Pre =>
                [
                    ChildNamed(block, "downsample_sn"),
                    .. block.Downsample.Modules,
                ],
                DownsampleKind.Spiking =>
                [
                    .. block.Downsample.Modules,
                    ChildNamed(block, "downsample_sn"),
                ],
                _ => block.Downsample.Modules,
            };
            return Chain(chain, sources, ref shape);
        }

        private static Module ChildNamed(Module parent, string name) =>
            parent.Children().First(c => c.Name == name).Module;

        private void SameShape(Module block, int[] branch, int[] shortcut)
        {
            if (!branch.SequenceEqual(shortcut))
                throw new NotSupportedException(
                    $"NIR export: '{Name(block)}' adds a branch of shape {NirModel.Fmt(branch)} to a shortcut of shape {NirModel.Fmt(shortcut)}"
                );
        }

        private static int[] ConvOut(Conv2d c, int[] s) =>
            [
                c.OutChannels,
                (s[1] + 2 * c.Padding - c.Dilation * (c.Kernel - 1) - 1) / c.Stride + 1,
                (s[2] + 2 * c.Padding - c.Dilation * (c.Kernel - 1) - 1) / c.Stride + 1,
            ];

        private static NirNode ConvNode(Conv2d conv, BatchNorm2d? bn, int[] inShape)
        {
            var w = conv.Weight.ToArray();
            var b = conv.Bias?.ToArray() ?? new float[conv.OutChannels];
            if (bn is not null)
            {
                var gamma = bn.Weight.ToArray();
                var beta = bn.Bias.ToArray();
                var mean = bn.RunningMean.ToArray();
                var variance = bn.RunningVar.ToArray();
                int per = w.Length / conv.OutChannels;
                for (int k = 0; k < conv.OutChannels; k++)
                {
                    double s = gamma[k] / Math.Sqrt(variance[k] + (double)bn.Eps);
                    for (int j = 0; j < per; j++)
                        w[k * per + j] = (float)(w[k * per + j] * s);
                    b[k] = (float)((b[k] - mean[k]) * s + beta[k]);
                }
            }
            return new NirNode("Conv2d")
                .With("weight", NirArray.Float(w, conv.Weight.Shape.ToArray()))
                .With("bias", NirArray.Float(b, conv.OutChannels))
                .With("stride", NirArray.Int([conv.Stride, conv.Stride], 2))
                .With("padding", NirArray.Int([conv.Padding, conv.Padding], 2))
                .With("dilation", NirArray.Int([conv.Dilation, conv.Dilation], 2))
                .With("groups", NirArray.IntScalar(1))
                .With("input_shape", NirArray.Int([inShape[1], inShape[2]], 2));
        }

        private NirNode NeuronNode(FusedNeuronNode n, string name, int[] shape)
        {
            if (n.VReset is not { } vReset)
                throw new NotSupportedException(
                    $"NIR export: neuron '{name}' uses soft reset (subtract v_th); NIR's LIF and IF reset to v_reset"
                );
            int m = NirOp.Numel(shape);
            NirArray Fill(double v) => new(shape, Enumerable.Repeat(v, m).ToArray(), false);
            if (n is LifNode lif)
                return new NirNode("LIF")
                    .With("tau", Fill(lif.Tau * dt))
                    .With("r", Fill(lif.DecayInput ? 1.0 : lif.Tau))
                    .With("v_leak", Fill(vReset))
                    .With("v_threshold", Fill(lif.VThreshold))
                    .With("v_reset", Fill(vReset));
            return new NirNode("IF")
                .With("r", Fill(1.0 / dt))
                .With("v_threshold", Fill(n.VThreshold))
                .With("v_reset", Fill(vReset));
        }

        public List<string> GlobalAvgPool(string name, List<string> sources, ref int[] shape)
        {
            if (shape[1] != shape[2])
                throw new NotSupportedException(
                    $"NIR export: '{name}' averages a {shape[1]}×{shape[2]} map; NIR's AvgPool2d node written here needs a square map"
                );
            var node = new NirNode("AvgPool2d")
                .With("kernel_size", NirArray.Int([shape[1], shape[2]], 2))
                .With("stride", NirArray.Int([shape[1], shape[2]], 2))
                .With("padding", NirArray.Int([0, 0], 2));
            var outs = new List<string> { Emit(name, node, sources) };
            shape = [shape[0], 1, 1];
            return outs;
        }

        public List<string> Flatten(string name, List<string> sources, ref int[] shape)
        {
            var node = new NirNode("Flatten")
                .With("start_dim", NirArray.IntScalar(0))
                .With("end_dim", NirArray.IntScalar(-1))
                .With("input_type", NirArray.Int([.. shape.Select(d => (long)d)], shape.Length));
            var outs = new List<string> { Emit(name, node, sources) };
            shape = [NirOp.Numel(shape)];
            return outs;
        }

        public List<string> Affine(
            string name,
            Tensor weight,
            Tensor? bias,
            List<string> sources,
            ref int[] shape
        )
        {
            int k = weight.Shape[0];
            var node = new NirNode("Affine")
                .With("weight", NirArray.Float(weight.ToArray(), weight.Shape.ToArray()))
                .With("bias", NirArray.Float(bias?.ToArray() ?? new float[k], k));
            var outs = new List<string> { Emit(name, node, sources) };
            shape = [k];
            return outs;
        }
    }
}
