using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>How the Heaviside spike gets its sigmoid surrogate gradient.</summary>
public enum SurrogateMode
{
    /// <summary>A custom autograd function (SpikingJelly's <c>surrogate.Sigmoid</c>): forward Θ(x), backward α·σ(αx)·(1−σ(αx)).</summary>
    Function,

    /// <summary>Straight-through: <c>Θ(x).detach() + (σ(αx) − σ(αx).detach())</c>, built from stock ops.</summary>
    StraightThrough,
}

/// <summary>Θ(x) = (x ≥ 0) forward, α·σ(αx)·(1−σ(αx)) backward, α = 4.</summary>
public sealed class SigmoidSpike : autograd.SingleTensorFunction<SigmoidSpike>
{
    public const float Alpha = 4f;

    public override string Name => "SigmoidSpike";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        return x.ge(0f).to_type(x.dtype);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        using var x = ctx.get_saved_variables()[0];
        using var s = x.mul(Alpha).sigmoid_(); // σ(αx)
        using var ds = s.neg().add_(1f).mul_(s).mul_(Alpha); // α σ (1 − σ)
        return [ds.mul(grad_output)];
    }
}

/// <summary>
/// Multi-step LIF (SpikingJelly <c>LIFNode</c>, step_mode='m'): τ = 2, decay_input, v_th = 1,
/// hard reset to v_reset = 0, reset not detached, sigmoid surrogate α = 4. Input
/// <c>[T·N, ...]</c> with time folded into the batch (time-major); the loop over T runs inside the
/// layer, output spikes in the same layout.
/// </summary>
public sealed class Lif : nn.Module<Tensor, Tensor>
{
    private const float K = 1f / 2f; // 1/τ
    private const float VThreshold = 1f;
    private readonly int _t;
    private readonly SurrogateMode _mode;

    public Lif(string name, int timeSteps, SurrogateMode mode)
        : base(name)
    {
        _t = timeSteps;
        _mode = mode;
        RegisterComponents();
    }

    /// <summary>Spikes emitted in the last forward (counted only when <see cref="CountSpikes"/> is set).</summary>
    public double LastFiringRate { get; private set; }

    public bool CountSpikes { get; set; }

    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        var shape = input.shape;
        var x = input.view(_t, -1); // [T, M]
        var spikes = new Tensor[_t];
        Tensor? v = null; // V_0 = v_reset = 0
        for (var t = 0; t < _t; t++)
        {
            var xt = x[t];
            // Charge, decay_input with v_reset = 0: H = V + (X − V)/τ.
            var h = v is null ? xt.mul(K) : v.add(xt.sub(v).mul(K));
            var s = Fire(h.sub(VThreshold));
            spikes[t] = s;
            // Hard reset to 0: V = H·(1 − S). The last step's V is never read.
            if (t < _t - 1)
                v = h.mul(s.neg().add_(1f));
        }
        var y = stack(spikes, 0).view(shape);
        if (CountSpikes)
            LastFiringRate = y.mean().item<float>();
        return y.MoveToOuterDisposeScope();
    }

    private Tensor Fire(Tensor x)
    {
        if (_mode == SurrogateMode.Function)
            return SigmoidSpike.apply(x);
        using var hard = x.ge(0f).to_type(x.dtype);
        var sg = x.mul(SigmoidSpike.Alpha).sigmoid();
        return hard.add(sg.sub(sg.detach()));
    }
}
