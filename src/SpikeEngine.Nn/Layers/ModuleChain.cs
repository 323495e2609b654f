namespace SpikeEngine.Nn;

/// <summary>How one step of a <see cref="ModuleChain"/> runs.</summary>
public enum Fusion
{
    /// <summary>One module, its own <see cref="Module.Forward"/>.</summary>
    None,

    /// <summary>
    /// A <see cref="BatchNorm2d"/> and the multi-step <see cref="FusedNeuronNode"/> after it as one
    /// op (<see cref="FusedNeuronNode.ForwardAfter"/>, <see cref="BnNeuronOps.Scan"/>): only the
    /// neuron's H is saved, BN's input is rebuilt from it in backward.
    /// </summary>
    BnNeuron,

    /// <summary>
    /// A bias-free <see cref="Conv2d"/> and the <see cref="BatchNorm2d"/> after it as one op
    /// (<see cref="Conv2d.ForwardWith"/>, <see cref="Ops.Conv2dBatchNorm"/>): only the conv input
    /// is saved, backward recomputes the conv output.
    /// </summary>
    ConvBn,
}

/// <summary>One step of a chain's plan: <see cref="Count"/> modules from <see cref="Start"/>.</summary>
public readonly record struct ChainStep(int Start, int Count, Fusion Fusion);

/// <summary>
/// Modules run in order, each output feeding the next, with a fusion plan: which neighbours run
/// as one op. The plan is decided once, by <see cref="Plan"/> (called for every chain of a model by
/// <see cref="MemoryOptions.ApplyTo"/>), from the modules' types and the memory options, never by
/// looking at tensors; until then every module runs on its own. At run time a fused step falls
/// back to its modules one by one where the fused op does not apply: in evaluation mode (nothing
/// is saved for backward then), for a BN with <see cref="BatchNorm2d.Sync"/> (statistics across
/// processes) and, for <see cref="Fusion.BnNeuron"/>, for input that is not multi-step
/// <c>[T, N, C, H, W]</c>. Intermediates are disposed as soon as the next step has run.
/// </summary>
/// <remarks>
/// Declared by the module that owns the modules (<c>Module.Chain</c>), so the plan is part of the
/// model: <see cref="Module.Chains"/> lists every chain and <see cref="Describe"/> prints its plan.
/// </remarks>
public sealed class ModuleChain
{
    private readonly Module[] _modules;
    private ChainStep[] _steps;

    public ModuleChain(IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        _modules = [.. modules];
        for (var i = 0; i < _modules.Length; i++)
        {
            if (_modules[i] is null)
                throw new ArgumentException($"ModuleChain: module {i} is null", nameof(modules));
        }
        _steps = Unfused(_modules.Length);
    }

    /// <summary>The modules in order.</summary>
    public IReadOnlyList<Module> Modules => _modules;

    /// <summary>The plan: consecutive steps covering every module once, in order.</summary>
    public IReadOnlyList<ChainStep> Steps => _steps;

    /// <summary>
    /// Chooses the plan for <paramref name="memory"/>: with <see cref="MemoryOptions.FuseBnNeuron"/>
    /// a BN directly followed by a multi-step fused neuron is one <see cref="Fusion.BnNeuron"/>
    /// step; where <see cref="MemoryOptions.RecomputesConvBn"/> holds, a bias-free conv directly followed by
    /// a BN with as many channels, where that BN is not itself fused with a neuron, is one
    /// <see cref="Fusion.ConvBn"/> step; every other module is a step of its own.
    /// </summary>
    public void Plan(MemoryOptions memory)
    {
        var steps = new List<ChainStep>();
        var m = _modules;
        for (var i = 0; i < m.Length; )
        {
            var fusion = Fusion.None;
            if (memory.FuseBnNeuron && BnThenNeuron(i))
                fusion = Fusion.BnNeuron;
            else if (
                m[i] is Conv2d { Bias: null } conv
                && memory.RecomputesConvBn(conv)
                && i + 1 < m.Length
                && m[i + 1] is BatchNorm2d bn
                && bn.Channels == conv.OutChannels
                && !(memory.FuseBnNeuron && BnThenNeuron(i + 1))
            )
                fusion = Fusion.ConvBn;
            var count = fusion == Fusion.None ? 1 : 2;
            steps.Add(new ChainStep(i, count, fusion));
            i += count;
        }
        _steps = [.. steps];
    }

    private bool BnThenNeuron(int i) =>
        _modules[i] is BatchNorm2d
        && i + 1 < _modules.Length
        && _modules[i + 1] is FusedNeuronNode { StepMode: StepMode.Multi };

    /// <summary>Runs the chain from <paramref name="x"/> (never disposed; an empty chain returns a view of it).</summary>
    public Tensor Forward(Tensor x) => ForwardSteps(x, 0, _steps.Length);

    /// <summary>
    /// Runs the steps <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) of
    /// the plan from <paramref name="x"/> (never disposed; no step returns a view of it).
    /// </summary>
    public Tensor ForwardSteps(Tensor x, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (from < 0 || to > _steps.Length || from > to)
            throw new ArgumentException(
                $"ModuleChain: steps [{from}, {to}) outside the plan's {_steps.Length} steps",
                nameof(from)
            );
        var y = x;
        for (var k = from; k < to; k++)
        {
            var step = _steps[k];
            // An intermediate that nothing else holds (no saved copy, no other view) is dead once
            // the step has read it, so the step may write over it; it is disposed right after.
            var next = Run(step, y, !ReferenceEquals(y, x) && y.Storage.RefCount == 1);
            if (!ReferenceEquals(y, x))
                y.Dispose();
            y = next;
        }
        return ReferenceEquals(y, x) ? x.Reshape(x.Shape.ToArray()) : y;
    }

    private Tensor Run(ChainStep step, Tensor x, bool inputDead)
    {
        var first = _modules[step.Start];
        switch (step.Fusion)
        {
            case Fusion.BnNeuron:
            {
                var bn = (BatchNorm2d)first;
                var sn = (FusedNeuronNode)_modules[step.Start + 1];
                if (
                    bn.IsTraining
                    && bn.Sync is null
                    && x.Rank == 5
                    && sn.StepMode == StepMode.Multi
                )
                    return sn.ForwardAfter(bn, x, overwriteInput: inputDead);
                break;
            }
            case Fusion.ConvBn:
            {
                var bn = (BatchNorm2d)_modules[step.Start + 1];
                if (bn.IsTraining && bn.Sync is null)
                    return ((Conv2d)first).ForwardWith(bn, x);
                break;
            }
        }
        var y = first.Forward(x);
        for (var i = step.Start + 1; i < step.Start + step.Count; i++)
        {
            var next = _modules[i].Forward(y);
            y.Dispose();
            y = next;
        }
        return y;
    }

    /// <summary>
    /// Shape-only twin of <see cref="Forward"/> (fusion does not change shapes; a layout walk,
    /// <see cref="ShapeTrace.Layout"/>, records what each fused step keeps).
    /// </summary>
    public int[] InferShape(int[] shape, ShapeTrace trace) =>
        InferSteps(shape, trace, 0, _steps.Length);

    /// <summary>Shape-only twin of <see cref="ForwardSteps"/>.</summary>
    public int[] InferSteps(int[] shape, ShapeTrace trace, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var s = shape;
        for (var k = from; k < to; k++)
        {
            var step = _steps[k];
            var first = _modules[step.Start];
            if (trace.Layout is null || step.Fusion == Fusion.None)
            {
                for (var i = step.Start; i < step.Start + step.Count; i++)
                    s = _modules[i].InferShape(s, trace);
                continue;
            }
            if (step.Fusion == Fusion.ConvBn)
            {
                // conv_bn keeps the conv input (bit-packed when spikes) and BN's statistics.
                var bn = (BatchNorm2d)_modules[step.Start + 1];
                var scratch = trace.Discarding();
                var y = bn.InferShape(first.InferShape(s, scratch), scratch);
                trace.Kept(s, packable: true);
                trace.BatchStatistics(bn.Channels);
                s = y;
            }
            else
            {
                // bn_neuron_scan keeps the neuron's H and BN's statistics.
                var bn = (BatchNorm2d)first;
                var y = bn.InferShape(s, trace.Discarding());
                trace.BatchStatistics(bn.Channels);
                s = _modules[step.Start + 1].InferShape(y, trace);
            }
        }
        return s;
    }

    /// <summary>
    /// The plan in words, naming each module by its dotted name under <paramref name="owner"/>
    /// (type name when not found): <c>conv1 → [bn1 + sn1: BnNeuron] → conv2 → ...</c>.
    /// </summary>
    public string Describe(Module? owner = null)
    {
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        if (owner is not null)
        {
            foreach (var (name, m) in owner.NamedModules())
                names.TryAdd(m, name);
        }
        string Name(int i) =>
            names.TryGetValue(_modules[i], out var n) ? n : _modules[i].GetType().Name;
        return string.Join(
            " → ",
            _steps.Select(s =>
                s.Fusion == Fusion.None
                    ? Name(s.Start)
                    : $"[{string.Join(" + ", Enumerable.Range(s.Start, s.Count).Select(Name))}: {s.Fusion}]"
            )
        );
    }

    public override string ToString() => Describe();

    private static ChainStep[] Unfused(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new ChainStep(i, 1, Fusion.None))];
}
