using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Nir;

/// <summary>
/// A NIR graph as an engine module: every node becomes an engine op (weights are trainable
/// tensors), run in topological order over the whole time window at once — stateless nodes fold
/// time into the batch, neuron nodes run the fused multi-step scan or, with per-neuron
/// parameters, a step-by-step Euler op. A node with several incoming edges receives the sum of
/// its inputs. Nested graphs are flattened (<see cref="NirFlatten"/>); a graph with recurrent
/// edges runs one time step at a time, each recurrent edge carrying its source's output of the
/// previous step. Continuous NIR nodes are discretised with forward Euler at step
/// <see cref="Dt"/>, as docs/nir.md states:
/// <list type="bullet">
/// <item><c>LIF</c> (<c>τ dv/dt = (v_leak − v) + R I</c>, fire when v exceeds v_threshold, reset
/// to v_reset) with one value per layer, v_leak = v_reset and τ/dt &gt; 1 is <see cref="LifNode"/>
/// with <c>τ_engine = τ/dt</c>, decay_input, hard reset to v_reset, input scaled by R.</item>
/// <item><c>IF</c> (<c>dv/dt = R I</c>) with one value per layer is <see cref="IfNode"/> with the
/// input scaled by R·dt.</item>
/// <item>Any other <c>LIF</c>/<c>IF</c>, and <c>LI</c>, <c>I</c>, <c>CubaLIF</c>, <c>CubaLI</c>:
/// <see cref="EulerNeuronOp"/>, one parameter value per neuron.</item>
/// </list>
/// </summary>
public sealed class NirModel : Module
{
    private readonly List<NirStep> _steps = [];
    private readonly int _input;
    private readonly int _output;

    // Recurrent edges (source step, target step): the target adds the source's previous output.
    private readonly List<(int Source, int Target)> _feedback = [];
    private readonly Dictionary<int, Tensor> _previous = [];

    /// <summary>Builds the engine model of <paramref name="graph"/> for time step <paramref name="dt"/> seconds.</summary>
    public NirModel(NirGraph graph, double dt)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!(dt > 0) || !double.IsFinite(dt))
            throw new ArgumentOutOfRangeException(
                nameof(dt),
                dt,
                $"NIR import: dt must be a positive number of seconds, got {dt}"
            );
        Dt = dt;
        Graph = graph;
        var flat = NirFlatten.Flatten(graph);
        var (order, back) = Schedule(flat);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var inputs = flat.Nodes.Where(n => n.Value.Type == "Input").Select(n => n.Key).ToList();
        var outputs = flat.Nodes.Where(n => n.Value.Type == "Output").Select(n => n.Key).ToList();
        if (inputs.Count != 1 || outputs.Count != 1)
            throw new NirFormatException(
                $"NIR import: the graph needs exactly one Input and one Output node, it has {inputs.Count} Input ({string.Join(", ", inputs)}) and {outputs.Count} Output ({string.Join(", ", outputs)})"
            );
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in order)
        {
            var node = flat[name];
            var preds = flat
                .Edges.Where(e => e.Target == name && !back.Contains(e))
                .Select(e => index[e.Source])
                .ToArray();
            int[] inShape;
            if (node.Type == "Input")
            {
                if (preds.Length > 0 || back.Any(e => e.Target == name))
                    throw new NirFormatException(
                        $"NIR import: Input node '{name}' has incoming edges"
                    );
                inShape = InputShape(name, node);
            }
            else
            {
                if (preds.Length == 0)
                    throw new NirFormatException(
                        $"NIR import: node '{name}' ({node.Type}) has no incoming edge{(back.Any(e => e.Target == name) ? " other than recurrent ones" : "")}"
                    );
                inShape = _steps[preds[0]].OutShape;
                foreach (var p in preds.Skip(1))
                    if (!_steps[p].OutShape.SequenceEqual(inShape))
                        throw new NirFormatException(
                            $"NIR import: node '{name}' sums inputs of different shapes: '{_steps[preds[0]].Name}' ({Fmt(inShape)}) and '{_steps[p].Name}' ({Fmt(_steps[p].OutShape)})"
                        );
            }
            var moduleName = name.Replace('.', '_');
            if (!names.Add(moduleName))
                throw new NirFormatException(
                    $"NIR import: node names '{name}' and another differ only in '.' vs '_'"
                );
            var op = Child(moduleName, NirOp.Create(name, node, inShape, dt));
            index[name] = _steps.Count;
            _steps.Add(new NirStep(name, node.Type, preds, op, op.OutShape, inShape));
        }
        foreach (var (a, b) in back)
        {
            var (src, dst) = (_steps[index[a]], _steps[index[b]]);
            if (!src.OutShape.SequenceEqual(dst.InShape))
                throw new NirFormatException(
                    $"NIR import: recurrent edge ('{a}', '{b}') carries {Fmt(src.OutShape)} into a node that receives {Fmt(dst.InShape)}"
                );
            _feedback.Add((index[a], index[b]));
        }
        _input = index[inputs[0]];
        _output = index[outputs[0]];
        if (!order.Contains(outputs[0]))
            throw new NirFormatException($"NIR import: Output '{outputs[0]}' is not reachable");
    }

    /// <summary>The graph this model was built from.</summary>
    public NirGraph Graph { get; }

    /// <summary>Seconds per time step of the Euler discretisation.</summary>
    public double Dt { get; }

    /// <summary>Per-sample input shape (the Input node's <c>shape</c>).</summary>
    public int[] InputShape() => _steps[_input].OutShape;

    /// <summary>Per-sample output shape.</summary>
    public int[] OutputShape() => _steps[_output].OutShape;

    /// <summary>Neuron nodes (LIF, IF, LI, I, CubaLIF, CubaLI) in topological order, with their membrane potential after the last step (shape (N, ...)), null before the first.</summary>
    public IEnumerable<(string Name, Tensor? V)> Membranes() =>
        _steps.Where(s => s.Op is INirStateful).Select(s => (s.Name, ((INirStateful)s.Op).V));

    /// <summary>Neuron nodes in topological order with their neuron count.</summary>
    public IEnumerable<(string Name, int Size)> NeuronSizes() =>
        _steps.Where(s => s.Op is INirStateful).Select(s => (s.Name, NirOp.Numel(s.OutShape)));

    /// <summary>x (T, N, ...input shape) → (T, N, ...output shape).</summary>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var inShape = InputShape();
        if (x.Rank != inShape.Length + 2 || !x.Shape.ToArray()[2..].SequenceEqual(inShape))
        {
            // An input given as (T, N, numel) is accepted for any per-sample shape.
            if (x.Rank == 3 && x.Shape[2] == inShape.Aggregate(1, (a, b) => a * b))
                x = x.Reshape([x.Shape[0], x.Shape[1], .. inShape]);
            else
                throw new ArgumentException(
                    $"NIR model: input {x.Describe()} does not match (T, N, {string.Join(", ", inShape)}) of Input node '{_steps[_input].Name}'",
                    nameof(x)
                );
        }
        if (_feedback.Count == 0)
            return Window(x);
        // A recurrent graph runs one step at a time: a recurrent edge carries the previous step.
        int t = x.Shape[0],
            n = x.Shape[1];
        using var steps = x.Reshape(t, (int)(x.Numel / t));
        var outs = new Tensor[t];
        try
        {
            for (int k = 0; k < t; k++)
            {
                using var flat = NeuronSlow.TimeStep(steps, k);
                using var xt = flat.Reshape([1, n, .. inShape]);
                using var y = Window(xt);
                outs[k] = y.Reshape((int)y.Numel);
            }
            using var stacked = NeuronSlow.Stack(outs);
            return stacked.Reshape([t, n, .. OutputShape()]);
        }
        finally
        {
            foreach (var o in outs)
                o?.Dispose();
        }
    }

    // Every node over the window of x, in topological order.
    private Tensor Window(Tensor x)
    {
        var values = new Tensor?[_steps.Count];
        var remaining = new int[_steps.Count];
        foreach (var s in _steps)
        foreach (var p in s.Inputs)
            remaining[p]++;
        var keep = _feedback.Select(f => f.Source).ToHashSet();
        try
        {
            for (int i = 0; i < _steps.Count; i++)
            {
                var s = _steps[i];
                var sources = s.Inputs.Select(p => values[p]!).ToList();
                foreach (var (src, dst) in _feedback)
                    if (dst == i && _previous.TryGetValue(src, out var prev))
                        sources.Add(prev);
                Tensor input;
                if (i == _input)
                    input = x.Reshape(x.Shape.ToArray());
                else if (sources.Count == 1)
                    input = sources[0].Reshape(sources[0].Shape.ToArray());
                else
                    input = Tensor.AddN([.. sources]);
                using (input)
                    values[i] = s.Op.Forward(input);
                foreach (var p in s.Inputs)
                    if (--remaining[p] == 0 && p != _output && !keep.Contains(p))
                    {
                        values[p]!.Dispose();
                        values[p] = null;
                    }
            }
            foreach (var src in keep)
            {
                var v = TensorScope.Unscoped(values[src]!.Reshape(values[src]!.Shape.ToArray()));
                if (_previous.Remove(src, out var old))
                    old.Dispose();
                _previous[src] = v;
            }
            var y = values[_output]!;
            values[_output] = null;
            return y;
        }
        finally
        {
            foreach (var v in values)
                v?.Dispose();
        }
    }

    protected override void ResetOwnState()
    {
        foreach (var v in _previous.Values)
            v.Dispose();
        _previous.Clear();
    }

    protected override void DetachOwnState()
    {
        foreach (var k in _previous.Keys.ToList())
        {
            var d = TensorScope.Unscoped(_previous[k].Detach());
            _previous[k].Dispose();
            _previous[k] = d;
        }
    }

    /// <summary>Shape-only twin of <see cref="Forward"/>: (T, N, ...input shape) → (T, N, ...output shape).</summary>
    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(trace);
        var inShape = InputShape();
        if (
            shape.Length < 3
            || !(
                shape[2..].SequenceEqual(inShape)
                || (shape.Length == 3 && shape[2] == NirOp.Numel(inShape))
            )
        )
            throw new ArgumentException(
                $"NIR model: input {ShapeTrace.Format(shape)} does not match (T, N, {string.Join(", ", inShape)}) of Input node '{_steps[_input].Name}'",
                nameof(shape)
            );
        for (int i = 0; i < _steps.Count; i++)
        {
            var s = _steps[i];
            var stepIn = i == _input ? inShape : _steps[s.Inputs[0]].OutShape;
            s.Op.InferShape([shape[0], shape[1], .. stepIn], trace);
        }
        return [shape[0], shape[1], .. OutputShape()];
    }

    private static int[] InputShape(string name, NirNode node)
    {
        var shape =
            node.Arrays.TryGetValue("shape", out var s) ? s
            : node.Arrays.TryGetValue("input_type", out var it) ? it
            : node.Arrays.TryGetValue("output_type", out var ot) ? ot
            : throw new NirFormatException($"NIR import: Input node '{name}' has no 'shape'");
        var dims = shape.ToInts($"Input node '{name}' shape");
        if (dims.Length == 0 || dims.Any(d => d <= 0))
            throw new NirFormatException(
                $"NIR import: Input node '{name}' has shape ({string.Join(", ", dims)}), expected positive extents"
            );
        return dims;
    }

    /// <summary>
    /// Node names in an order where every edge points forward, and the recurrent edges: those
    /// that close a cycle in a depth-first walk from the Input node (then the other nodes in file
    /// order). The graph without them is acyclic.
    /// </summary>
    internal static (List<string> Order, HashSet<(string Source, string Target)> Back) Schedule(
        NirGraph graph
    )
    {
        var names = graph.Nodes.Select(n => n.Key).ToList();
        var known = names.ToHashSet(StringComparer.Ordinal);
        foreach (var (a, b) in graph.Edges)
            if (!known.Contains(a) || !known.Contains(b))
                throw new NirFormatException(
                    $"NIR import: edge ('{a}', '{b}') names a node that does not exist (nodes: {string.Join(", ", names)})"
                );
        var back = new HashSet<(string Source, string Target)>();
        var state = names.ToDictionary(n => n, _ => 0, StringComparer.Ordinal); // 0 new, 1 open, 2 done
        var roots = graph
            .Nodes.Where(n => n.Value.Type == "Input")
            .Select(n => n.Key)
            .Concat(names);
        foreach (var root in roots)
        {
            if (state[root] != 0)
                continue;
            var stack = new Stack<(string Node, int Next)>();
            stack.Push((root, 0));
            state[root] = 1;
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                var outgoing = graph.Edges.Where(e => e.Source == node).ToList();
                if (next < outgoing.Count)
                {
                    stack.Push((node, next + 1));
                    var target = outgoing[next].Target;
                    if (state[target] == 1)
                        back.Add(outgoing[next]);
                    else if (state[target] == 0)
                    {
                        state[target] = 1;
                        stack.Push((target, 0));
                    }
                }
                else
                    state[node] = 2;
            }
        }
        var indegree = names.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        foreach (var e in graph.Edges)
            if (!back.Contains(e))
                indegree[e.Target]++;
        var ready = new Queue<string>(names.Where(n => indegree[n] == 0));
        var order = new List<string>();
        while (ready.Count > 0)
        {
            var n = ready.Dequeue();
            order.Add(n);
            foreach (var e in graph.Edges)
                if (e.Source == n && !back.Contains(e) && --indegree[e.Target] == 0)
                    ready.Enqueue(e.Target);
        }
        return (order, back);
    }

    internal static string Fmt(int[] shape) =>
        "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";

    private sealed record NirStep(
        string Name,
        string Type,
        int[] Inputs,
        NirOp Op,
        int[] OutShape,
        int[] InShape
    );
}
