using System.Globalization;
using SpikeEngine.Nn;

namespace SpikeEngine.Nir;

/// <summary>
/// A NIR graph as an engine module: every node becomes an engine op (parameters are trainable
/// tensors), run in topological order over the whole time window at once — stateless nodes fold
/// time into the batch, neuron nodes run the fused multi-step scan. A node with several incoming
/// edges receives the sum of its inputs. Continuous NIR neurons are discretised with forward
/// Euler at step <see cref="Dt"/> (docs/nir.md):
/// <list type="bullet">
/// <item><c>LIF</c> (<c>τ dv/dt = (v_leak − v) + R I</c>, fire when v exceeds v_threshold, reset
/// to v_reset) is <see cref="LifNode"/> with <c>τ_engine = τ/dt</c>, decay_input, hard reset to
/// v_reset, input scaled by R; it requires v_leak = v_reset (the engine leaks towards its reset
/// potential) and τ/dt &gt; 1.</item>
/// <item><c>IF</c> (<c>dv/dt = R I</c>) is <see cref="IfNode"/> with the input scaled by R·dt.</item>
/// </list>
/// Parameter arrays must hold one value per node (NIR writes them shaped like the layer); a
/// node whose values differ between neurons is refused with its name.
/// </summary>
public sealed class NirModel : Module
{
    private readonly List<NirStep> _steps = [];
    private readonly int _input;
    private readonly int _output;

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
        var order = TopologicalOrder(graph);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var inputs = graph.Nodes.Where(n => n.Value.Type == "Input").Select(n => n.Key).ToList();
        var outputs = graph.Nodes.Where(n => n.Value.Type == "Output").Select(n => n.Key).ToList();
        if (inputs.Count != 1 || outputs.Count != 1)
            throw new NirFormatException(
                $"NIR import: the graph needs exactly one Input and one Output node, it has {inputs.Count} Input ({string.Join(", ", inputs)}) and {outputs.Count} Output ({string.Join(", ", outputs)})"
            );
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in order)
        {
            var node = graph[name];
            var preds = graph
                .Edges.Where(e => e.Target == name)
                .Select(e => index[e.Source])
                .ToArray();
            int[] inShape;
            if (node.Type == "Input")
            {
                if (preds.Length > 0)
                    throw new NirFormatException(
                        $"NIR import: Input node '{name}' has incoming edges"
                    );
                inShape = InputShape(name, node);
            }
            else
            {
                if (preds.Length == 0)
                    throw new NirFormatException(
                        $"NIR import: node '{name}' ({node.Type}) has no incoming edge"
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
            _steps.Add(new NirStep(name, node.Type, preds, op, op.OutShape));
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

    /// <summary>Neuron nodes (LIF, IF) in topological order, with their membrane potential after the last step (shape (N, ...)), null before the first.</summary>
    public IEnumerable<(string Name, Tensor? V)> Membranes() =>
        _steps.Where(s => s.Op is INirStateful).Select(s => (s.Name, ((INirStateful)s.Op).V));

    /// <summary>Neuron nodes (LIF, IF) in topological order with their neuron count.</summary>
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
        var values = new Tensor?[_steps.Count];
        var remaining = new int[_steps.Count];
        foreach (var s in _steps)
        foreach (var p in s.Inputs)
            remaining[p]++;
        try
        {
            for (int i = 0; i < _steps.Count; i++)
            {
                var s = _steps[i];
                Tensor input;
                if (i == _input)
                    input = x.Reshape(x.Shape.ToArray());
                else if (s.Inputs.Length == 1)
                    input = values[s.Inputs[0]]!.Reshape(values[s.Inputs[0]]!.Shape.ToArray());
                else
                    input = Tensor.AddN([.. s.Inputs.Select(p => values[p]!)]);
                using (input)
                    values[i] = s.Op.Forward(input);
                foreach (var p in s.Inputs)
                    if (--remaining[p] == 0 && p != _output)
                    {
                        values[p]!.Dispose();
                        values[p] = null;
                    }
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
            : throw new NirFormatException($"NIR import: Input node '{name}' has no 'shape'");
        var dims = shape.ToInts($"Input node '{name}' shape");
        if (dims.Length == 0 || dims.Any(d => d <= 0))
            throw new NirFormatException(
                $"NIR import: Input node '{name}' has shape ({string.Join(", ", dims)}), expected positive extents"
            );
        return dims;
    }

    /// <summary>Node names in an order where every edge points forward; a cycle is refused naming its nodes.</summary>
    internal static List<string> TopologicalOrder(NirGraph graph)
    {
        var names = graph.Nodes.Select(n => n.Key).ToList();
        var known = names.ToHashSet(StringComparer.Ordinal);
        foreach (var (a, b) in graph.Edges)
            if (!known.Contains(a) || !known.Contains(b))
                throw new NirFormatException(
                    $"NIR import: edge ('{a}', '{b}') names a node that does not exist (nodes: {string.Join(", ", names)})"
                );
        var indegree = names.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        foreach (var (_, b) in graph.Edges)
            indegree[b]++;
        var ready = new Queue<string>(names.Where(n => indegree[n] == 0));
        var order = new List<string>();
        while (ready.Count > 0)
        {
            var n = ready.Dequeue();
            order.Add(n);
            foreach (var (a, b) in graph.Edges)
                if (a == n && --indegree[b] == 0)
                    ready.Enqueue(b);
        }
        if (order.Count != names.Count)
            throw new NirFormatException(
                $"NIR import: the graph has a cycle (recurrent edges) through {string.Join(", ", names.Where(n => indegree[n] > 0))}; recurrent NIR graphs are not supported"
            );
        return order;
    }

    internal static string Fmt(int[] shape) =>
        "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";

    private sealed record NirStep(string Name, string Type, int[] Inputs, NirOp Op, int[] OutShape);
}
