namespace SpikeEngine.Nn;

/// <summary>
/// Recomputation (gradient checkpointing) of a segment of modules with exact gradients: the
/// forward pass runs the segment without recording and keeps only its input (when the layout packs
/// spikes: bit-packed when it is spikes, as bytes when it is spike counts, <see cref="CompactDType(Tensor)"/>;
/// float32 otherwise); backward replays the segment's forward
/// with recording on and back-propagates through the replay. The replay sees what the first pass
/// saw, so it computes bit for bit the same tensors: every <see cref="Dropout"/> reuses the call
/// index (hence the mask) it drew, every fused neuron starts from the membrane state it had at the
/// segment's entry, and every <see cref="BatchNorm2d"/> normalises with the batch mean and inverse
/// standard deviation its first pass computed from the same input (<see cref="Statistics"/>: no
/// pass over the data, no running statistics updated; the first pass updated them once). The
/// gradients therefore equal those of the same layout without recomputation, bit for bit
/// (docs/memory.md, "min").
/// </summary>
public static class Recompute
{
    [ThreadStatic]
    private static Context? t_context;

    /// <summary>True while a segment's first pass or its replay runs on this thread.</summary>
    public static bool IsActive => t_context is not null;

    /// <summary>
    /// Runs <paramref name="forward"/> over <paramref name="x"/> as a recomputed segment made of
    /// <paramref name="modules"/> (every parameter, neuron, dropout and BN the forward uses must be
    /// in their trees). Outside training, with recording off, or inside another segment it is a
    /// plain call of <paramref name="forward"/>. <paramref name="packSpikes"/>: keep the input in
    /// <see cref="CompactDType(Tensor)"/> (bits for spikes, bytes for spike counts).
    /// </summary>
    public static Tensor Segment(
        IReadOnlyList<Module> modules,
        Func<Tensor, Tensor> forward,
        Tensor x,
        bool packSpikes
    )
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(x);
        var tree = modules.SelectMany(m => m.NamedModules()).Select(m => m.Module).ToList();
        var parameters = modules.SelectMany(m => m.Parameters()).ToList();
        if (
            t_context is not null
            || !GradMode.IsEnabled
            || !tree.All(m => m.IsTraining)
            || !(x.RequiresGrad || parameters.Any(p => p.RequiresGrad))
        )
            return forward(x);
        var context = new Context(tree);
        Tensor y;
        t_context = context;
        try
        {
            // The segment's intermediates are freed as soon as it has run: only its output leaves.
            using var scope = TensorScope.Begin();
            using (GradMode.NoGrad())
                y = scope.Keep(forward(x));
        }
        catch
        {
            context.Dispose();
            throw;
        }
        finally
        {
            t_context = null;
        }
        var binary = y.IsBinary;
        // The memory report names the segment by its first module (a stage's first block).
        using var owner = GraphRecorder.Enter(modules.Count > 0 ? modules[0] : context);
        Autograd.Record(y, new SegmentNode(x, packSpikes, forward, context, parameters));
        y.IsBinary = binary;
        return y;
    }

    /// <summary>
    /// The type a segment keeps its input in when the layout packs spikes: one bit per element
    /// for spikes (<see cref="Tensor.IsBinary"/>), one byte for spike counts of at most 255
    /// (<see cref="Tensor.CountBound"/>: SEW's ADD stream), float32 otherwise; each is exact.
    /// </summary>
    public static DType CompactDType(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return CompactDType(x.IsBinary, x.CountBound);
    }

    /// <summary>
    /// <see cref="CompactDType(Tensor)"/> for a value that holds spikes (<paramref name="binary"/>)
    /// or counts up to <paramref name="countBound"/> (0: unknown).
    /// </summary>
    public static DType CompactDType(bool binary, int countBound) =>
        binary ? DType.Bit
        : countBound is > 0 and <= byte.MaxValue ? DType.UInt8
        : DType.Float32;

    /// <summary>
    /// The dropout call index to use: the next one of <paramref name="counter"/> outside a replay
    /// (remembered by a segment's first pass), the remembered one during a replay.
    /// </summary>
    internal static ulong DropoutCall(Dropout dropout, ref ulong counter)
    {
        var c = t_context;
        if (c is null)
            return counter++;
        if (c.Replaying)
            return c.Recall(dropout);
        var k = counter++;
        c.Remember(dropout, k);
        return k;
    }

    /// <summary>
    /// Where <paramref name="bn"/> takes its batch statistics in this pass: from the batch outside
    /// a segment (null); from the batch, remembered, in a segment's first pass; the remembered ones,
    /// in call order, during its replay (the same values the kernel would compute again from the
    /// same input, without the two passes over it).
    /// </summary>
    internal static BatchStatistics? Statistics(BatchNorm2d bn)
    {
        var c = t_context;
        if (c is null)
            return null;
        return c.Replaying
            ? new BatchStatistics { Given = c.RecallStatistics(bn) }
            : new BatchStatistics
            {
                Computed = (mean, invStd) => c.RememberStatistics(bn, mean, invStd),
            };
    }

    /// <summary>What a segment's first pass remembers for its replay.</summary>
    private sealed class Context : IDisposable
    {
        private readonly Dictionary<Module, List<ulong>> _calls = new(
            ReferenceEqualityComparer.Instance
        );
        private readonly Dictionary<Module, int> _cursor = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Module, List<(Tensor Mean, Tensor InvStd)>> _statistics = new(
            ReferenceEqualityComparer.Instance
        );
        private readonly Dictionary<Module, int> _statisticsCursor = new(
            ReferenceEqualityComparer.Instance
        );
        private readonly List<(FusedNeuronNode Neuron, Tensor? V)> _entryStates = [];

        public Context(IReadOnlyList<Module> tree)
        {
            foreach (var m in tree)
            {
                switch (m)
                {
                    case BatchNorm2d { Sync: not null }:
                        throw new NotSupportedException(
                            $"Recompute: BatchNorm2d({((BatchNorm2d)m).Channels}) synchronises its statistics across processes; a recomputed segment cannot replay that exchange (use the lean layout with synchronised BN)"
                        );
                    case FusedNeuronNode n:
                        if (n.V is { RequiresGrad: true })
                            throw new NotSupportedException(
                                $"Recompute: a {n.GetType().Name} enters a recomputed segment with a membrane state that carries a graph ({n.V.Describe()}); reset the state between batches (ResetState) or use the lean layout"
                            );
                        _entryStates.Add(
                            (n, n.V is null ? null : TensorScope.Unscoped(n.V.ToDType(n.V.DType)))
                        );
                        break;
                    case NeuronNode { V: not null } other:
                        throw new NotSupportedException(
                            $"Recompute: {other.GetType().Name} carries a membrane state into a recomputed segment and cannot restore it for the replay"
                        );
                }
            }
        }

        public bool Replaying { get; private set; }

        public void Remember(Module m, ulong value)
        {
            if (!_calls.TryGetValue(m, out var list))
                _calls[m] = list = [];
            list.Add(value);
        }

        public ulong Recall(Module m)
        {
            var i = _cursor.GetValueOrDefault(m);
            if (!_calls.TryGetValue(m, out var list) || i >= list.Count)
                throw new InvalidOperationException(
                    $"Recompute: the replay called {m.GetType().Name} more often than the first pass ({i + 1} > {list?.Count ?? 0})"
                );
            _cursor[m] = i + 1;
            return list[i];
        }

        public void RememberStatistics(BatchNorm2d bn, Tensor mean, Tensor invStd)
        {
            if (!_statistics.TryGetValue(bn, out var list))
                _statistics[bn] = list = [];
            // New handles on the op's [C] vectors, which nothing writes after the forward.
            list.Add((TensorScope.Unscoped(mean.Alias()), TensorScope.Unscoped(invStd.Alias())));
        }

        public (Tensor Mean, Tensor InvStd) RecallStatistics(BatchNorm2d bn)
        {
            var i = _statisticsCursor.GetValueOrDefault(bn);
            if (!_statistics.TryGetValue(bn, out var list) || i >= list.Count)
                throw new InvalidOperationException(
                    $"Recompute: the replay ran BatchNorm2d({bn.Channels}) more often than the first pass ({i + 1} > {list?.Count ?? 0})"
                );
            _statisticsCursor[bn] = i + 1;
            return list[i];
        }

        /// <summary>
        /// Runs <paramref name="forward"/> as the replay: neurons start from their entry state (the
        /// rest state when <paramref name="entryStates"/> is false; their state after the first
        /// pass is put back afterwards), dropouts reuse their calls.
        /// </summary>
        public Tensor Replay(Func<Tensor, Tensor> forward, Tensor x, bool entryStates = true)
        {
            var after = new List<(Tensor? V, bool Owned, bool Dropped)>();
            foreach (var (n, v) in _entryStates)
                after.Add(n.ExchangeState(entryStates ? v?.ToDType(v.DType) : null, owned: true));
            _cursor.Clear();
            _statisticsCursor.Clear();
            Replaying = true;
            var outer = t_context;
            t_context = this;
            try
            {
                return forward(x);
            }
            finally
            {
                t_context = outer;
                Replaying = false;
                for (var i = 0; i < _entryStates.Count; i++)
                {
                    var (v, owned, _) = _entryStates[i]
                        .Neuron.ExchangeState(after[i].V, after[i].Owned, after[i].Dropped);
                    if (owned)
                        v?.Dispose();
                }
            }
        }

        public void Dispose()
        {
            foreach (var list in _statistics.Values)
            foreach (var (mean, invStd) in list)
            {
                mean.Dispose();
                invStd.Dispose();
            }
            _statistics.Clear();
            foreach (var (_, v) in _entryStates)
                v?.Dispose();
            _entryStates.Clear();
        }
    }

    /// <summary>The recorded segment: keeps its input; backward replays the forward pass.</summary>
    private sealed class SegmentNode : Node
    {
        private readonly Tensor _x; // the segment input: float32, bit-packed or bytes
        private readonly bool _binary;
        private readonly int _countBound;
        private readonly Func<Tensor, Tensor> _forward;
        private readonly Context _context;
        private readonly IReadOnlyList<Tensor> _parameters;
        private long? _genericBytes;

        public SegmentNode(
            Tensor x,
            bool pack,
            Func<Tensor, Tensor> forward,
            Context context,
            IReadOnlyList<Tensor> parameters
        )
            : base("recompute", x)
        {
            _parameters = parameters;
            _binary = x.IsBinary;
            _countBound = x.CountBound;
            var compact = pack ? CompactDType(x) : DType.Float32;
            if (compact != DType.Float32)
            {
                using var small = x.ToDType(compact);
                _x = Save(small);
            }
            else
                _x = Save(x);
            _forward = forward;
            _context = context;
        }

        /// <summary>
        /// Generic: what the generic layout keeps for the segment's ops, measured on a replay of two
        /// (time step, sample) pairs (every op of a segment keeps bytes proportional to T·N) scaled
        /// to the input's T·N.
        /// </summary>
        protected internal override long GenericBytesIn(StorageLedger ledger)
        {
            if (_genericBytes is { } known)
                return known;
            using var x = Restore();
            if (x.Rank != 5)
                throw new NotSupportedException(
                    $"Recompute: the generic bytes of a segment need multi-step [T, N, C, H, W] input, got {x.Describe()}"
                );
            // Two (step, sample) pairs when there are two, so BN sees more than one value per
            // channel even at 1×1: the first two samples of step 0, or two steps of one sample.
            var (t, n) = (x.Shape[0], x.Shape[1]);
            var (t1, n1) = n >= 2 ? (1, 2) : (Math.Min(t, 2), 1);
            var per = (int)(x.Numel / ((long)t * n));
            var all = x.ToArray();
            var part = new float[t1 * n1 * per];
            for (var i = 0; i < t1; i++)
                Array.Copy(all, (long)i * n * per, part, (long)i * n1 * per, (long)n1 * per);
            var one = TensorScope.Unscoped(
                Tensor.FromArray(
                    part,
                    [t1, n1, x.Shape[2], x.Shape[3], x.Shape[4]],
                    device: x.Device
                )
            );
            (one.IsBinary, one.CountBound) = (_binary, _countBound);
            using (one)
            using (GradMode.Enable())
            using (var recorder = GraphRecorder.Start())
            {
                one.RequiresGrad = true;
                using var y = _context.Replay(_forward, one, entryStates: false);
                var inner = new StorageLedger(_parameters);
                long bytes = 0;
                foreach (var node in recorder.Nodes)
                    bytes += node.GenericBytesIn(inner);
                foreach (var node in recorder.Nodes)
                    node.Release();
                _genericBytes = bytes * t * n / (t1 * n1);
            }
            return _genericBytes.Value;
        }

        private Tensor Restore()
        {
            var x = _x.DType == DType.Float32 ? _x.Alias() : _x.ToDType(DType.Float32);
            (x.IsBinary, x.CountBound) = (_binary, _countBound);
            return x;
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gy = gradOutputs[0];
            if (gy is null)
                return [null];
            // The replay's input is the output of a node that only collects its gradient, not a
            // leaf: it is freed with the replay's other tensors before backward (the nodes that
            // need it keep their own copy, bit-packed or not), and its gradient is accumulated
            // like any intermediate's, in place, without a copy.
            var input = Inputs[0]!.RequiresGrad ? new InputGradient() : null;
            try
            {
                Node? root;
                int index;
                // Every tensor of the replay is freed before its backward runs (the replayed
                // output too: its backward needs only its node); the nodes keep what they saved.
                using (GradMode.Enable())
                using (TensorScope.Begin())
                {
                    var x = Restore();
                    Release(); // the kept input is not needed once restored
                    if (input is not null)
                        Autograd.Record(x, input);
                    var y = _context.Replay(_forward, x);
                    if (y.Shape != gy.Shape)
                        throw new InvalidOperationException(
                            $"Recompute: the replay gave {y.Describe()}, the first pass {gy.Shape}"
                        );
                    (root, index) = (y.GradFn, y.OutputIndex);
                }
                // The incoming gradient is handed to the replay's backward, which frees it once
                // used: the caller's slot is cleared so it does not hold it until this returns.
                gradOutputs[0] = null;
                if (root is not null)
                    Tensor.BackwardFrom(root, index, gy);
                else
                    gy.Dispose();
                return [input?.Take()];
            }
            finally
            {
                _context.Dispose();
            }
        }
    }

    /// <summary>The node of a replay's input: keeps the gradient that reaches it.</summary>
    private sealed class InputGradient : Node
    {
        private Tensor? _grad;

        public InputGradient()
            : base("recompute_input") { }

        public Tensor? Take()
        {
            var g = _grad;
            _grad = null;
            return g;
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            _grad = gradOutputs[0]?.Alias();
            return [];
        }
    }
}
