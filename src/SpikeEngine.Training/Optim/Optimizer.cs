using SpikeEngine.Nn;

namespace SpikeEngine.Training.Optim;

/// <summary>
/// Base of the optimizers: the named parameters of a module, named state tensors per parameter
/// (saved in checkpoints), and a step counter. <see cref="Step"/> applies one update with the
/// learning rate given by the schedule as one fused backend primitive over every parameter that has
/// a gradient (<see cref="IBackend.SgdStep"/>, <see cref="IBackend.AdamWStep"/>), on the device the
/// parameters live on; state tensors are created there too. Nothing is read back to the host.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Dictionary<string, Tensor> _state = new(StringComparer.Ordinal);

    protected Optimizer(IEnumerable<(string Name, Tensor Tensor)> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToList();
        if (Parameters.Count == 0)
            throw new ArgumentException(
                $"{GetType().Name}: the module has no parameters to optimise",
                nameof(parameters)
            );
    }

    /// <summary>The parameters in update order, with their dotted names.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> Parameters { get; }

    /// <summary>Updates applied so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Optimizer name as used by the CLI (<c>sgd</c>, <c>adamw</c>).</summary>
    public abstract string Kind { get; }

    /// <summary>Hyper-parameters, recorded in checkpoints.</summary>
    public abstract IReadOnlyDictionary<string, double> HyperParameters { get; }

    /// <summary>State tensors (<c>PARAM.exp_avg</c>, ...) in a stable order.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedState() =>
        _state.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value));

    /// <summary>Applies one update with learning rate <paramref name="lr"/> to every parameter that has a gradient.</summary>
    public void Step(float lr)
    {
        if (!float.IsFinite(lr) || lr < 0f)
            throw new ArgumentOutOfRangeException(
                nameof(lr),
                lr,
                $"{Kind}: learning rate must be finite and ≥ 0, got {lr}"
            );
        StepCount++;
        using var noGrad = GradMode.NoGrad();
        var active = new List<(string Name, Tensor Tensor)>(Parameters.Count);
        foreach (var (name, p) in Parameters)
        {
            if (p.Grad is null)
                continue;
            if (active.Count > 0 && p.Device != active[0].Tensor.Device)
                throw new InvalidOperationException(
                    $"{Kind}: parameter '{name}' is on {p.Device} but '{active[0].Name}' is on {active[0].Tensor.Device}; move the whole model with Module.To(device)"
                );
            active.Add((name, p));
        }
        if (active.Count > 0)
            Update(Backends.For(active[0].Tensor.Device), active, lr);
    }

    /// <summary>Applies the update rule to the parameters that have a gradient (all on the backend's device).</summary>
    protected abstract void Update(
        IBackend backend,
        IReadOnlyList<(string Name, Tensor Tensor)> active,
        float lr
    );

    /// <summary>The state tensor <c>NAME.SUFFIX</c>, created as zeros of the parameter's shape on its device on first use.</summary>
    protected Tensor State(string name, string suffix, out bool created)
    {
        var key = name + "." + suffix;
        created = false;
        if (!_state.TryGetValue(key, out var t))
        {
            var p = Parameters.First(x => x.Name == name).Tensor;
            t = TensorScope.Unscoped(Tensor.Zeros(p.Shape.ToArray(), p.Device));
            t.Name = key;
            _state[key] = t;
            created = true;
        }
        return t;
    }

    /// <summary>Replaces the state with checkpointed tensors (names and shapes must match the parameters).</summary>
    public void LoadState(
        long stepCount,
        IReadOnlyDictionary<string, (int[] Shape, float[] Data)> state
    )
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var t in _state.Values)
            t.Dispose();
        _state.Clear();
        foreach (var (key, (shape, data)) in state)
        {
            var dot = key.LastIndexOf('.');
            var pname = dot < 0 ? "" : key[..dot];
            var p = Parameters.FirstOrDefault(x => x.Name == pname).Tensor;
            if (p is null)
                throw new ArgumentException(
                    $"{Kind}: checkpoint state '{key}' names no parameter of this model"
                );
            if (!p.Shape.ToArray().SequenceEqual(shape))
                throw new ArgumentException(
                    $"{Kind}: checkpoint state '{key}' has shape [{string.Join(", ", shape)}], parameter '{pname}' is {p.Shape}"
                );
            var t = TensorScope.Unscoped(Tensor.FromArray(data, shape, device: p.Device));
            t.Name = key;
            _state[key] = t;
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var t in _state.Values)
            t.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }

    /// <summary>Builds an optimizer by CLI name.</summary>
    public static Optimizer Create(
        string kind,
        Module model,
        float weightDecay,
        float momentum = 0.9f,
        bool nesterov = false,
        float beta1 = 0.9f,
        float beta2 = 0.999f,
        float eps = 1e-8f
    ) =>
        kind switch
        {
            "sgd" => new Sgd(model.NamedParameters(), momentum, weightDecay, nesterov),
            "adamw" => new AdamW(model.NamedParameters(), beta1, beta2, eps, weightDecay),
            _ => throw new ArgumentException(
                $"optimizer '{kind}' is unknown; expected sgd or adamw",
                nameof(kind)
            ),
        };
}

/// <summary>SGD with momentum, optional Nesterov and coupled weight decay (see <see cref="IBackend.SgdStep"/>).</summary>
public sealed class Sgd : Optimizer
{
    public Sgd(
        IEnumerable<(string Name, Tensor Tensor)> parameters,
        float momentum = 0.9f,
        float weightDecay = 0f,
        bool nesterov = false
    )
        : base(parameters)
    {
        if (!(momentum >= 0f && momentum < 1f))
            throw new ArgumentOutOfRangeException(
                nameof(momentum),
                momentum,
                $"sgd: momentum must be in [0, 1), got {momentum}"
            );
        if (!(weightDecay >= 0f))
            throw new ArgumentOutOfRangeException(
                nameof(weightDecay),
                weightDecay,
                $"sgd: weight decay must be ≥ 0, got {weightDecay}"
            );
        if (nesterov && momentum == 0f)
            throw new ArgumentException("sgd: Nesterov needs a momentum > 0", nameof(nesterov));
        (Momentum, WeightDecay, Nesterov) = (momentum, weightDecay, nesterov);
    }

    public float Momentum { get; }
    public float WeightDecay { get; }
    public bool Nesterov { get; }
    public override string Kind => "sgd";

    public override IReadOnlyDictionary<string, double> HyperParameters =>
        new Dictionary<string, double>
        {
            ["momentum"] = Momentum,
            ["weight_decay"] = WeightDecay,
            ["nesterov"] = Nesterov ? 1 : 0,
        };

    protected override void Update(
        IBackend backend,
        IReadOnlyList<(string Name, Tensor Tensor)> active,
        float lr
    )
    {
        if (Momentum == 0f)
        {
            backend.SgdStep(
                [.. active.Select(a => a.Tensor)],
                [.. active.Select(a => a.Tensor.Grad!)],
                null,
                lr,
                0f,
                WeightDecay,
                Nesterov,
                firstStep: true
            );
            return;
        }
        // A buffer created now starts as b = d (its parameter's first step with a gradient);
        // the others continue: two launches at most.
        var groups = active
            .Select(a =>
                (a.Tensor, Buffer: State(a.Name, "momentum_buffer", out var created), created)
            )
            .ToList();
        foreach (var first in new[] { true, false })
        {
            var group = groups.Where(x => x.created == first).ToList();
            if (group.Count == 0)
                continue;
            backend.SgdStep(
                [.. group.Select(x => x.Tensor)],
                [.. group.Select(x => x.Tensor.Grad!)],
                [.. group.Select(x => x.Buffer)],
                lr,
                Momentum,
                WeightDecay,
                Nesterov,
                first
            );
        }
    }
}

/// <summary>AdamW with decoupled weight decay (see <see cref="IBackend.AdamWStep"/>).</summary>
public sealed class AdamW : Optimizer
{
    public AdamW(
        IEnumerable<(string Name, Tensor Tensor)> parameters,
        float beta1 = 0.9f,
        float beta2 = 0.999f,
        float eps = 1e-8f,
        float weightDecay = 1e-2f
    )
        : base(parameters)
    {
        if (!(beta1 >= 0f && beta1 < 1f))
            throw new ArgumentOutOfRangeException(
                nameof(beta1),
                beta1,
                $"adamw: beta1 must be in [0, 1), got {beta1}"
            );
        if (!(beta2 >= 0f && beta2 < 1f))
            throw new ArgumentOutOfRangeException(
                nameof(beta2),
                beta2,
                $"adamw: beta2 must be in [0, 1), got {beta2}"
            );
        if (!(eps > 0f))
            throw new ArgumentOutOfRangeException(
                nameof(eps),
                eps,
                $"adamw: eps must be > 0, got {eps}"
            );
        if (!(weightDecay >= 0f))
            throw new ArgumentOutOfRangeException(
                nameof(weightDecay),
                weightDecay,
                $"adamw: weight decay must be ≥ 0, got {weightDecay}"
            );
        (Beta1, Beta2, Eps, WeightDecay) = (beta1, beta2, eps, weightDecay);
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }
    public override string Kind => "adamw";

    public override IReadOnlyDictionary<string, double> HyperParameters =>
        new Dictionary<string, double>
        {
            ["beta1"] = Beta1,
            ["beta2"] = Beta2,
            ["eps"] = Eps,
            ["weight_decay"] = WeightDecay,
        };

    protected override void Update(
        IBackend backend,
        IReadOnlyList<(string Name, Tensor Tensor)> active,
        float lr
    ) =>
        backend.AdamWStep(
            [.. active.Select(a => a.Tensor)],
            [.. active.Select(a => a.Tensor.Grad!)],
            [.. active.Select(a => State(a.Name, "exp_avg", out _))],
            [.. active.Select(a => State(a.Name, "exp_avg_sq", out _))],
            lr,
            Beta1,
            Beta2,
            Eps,
            WeightDecay,
            StepCount
        );
}
