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

/// <summary>
/// Θ(x) = (x ≥ θ) forward, α·σ(α(x − θ))·(1 − σ(α(x − θ))) backward, α = 4: the spike of a
/// membrane potential x against the threshold θ = <see cref="Threshold"/> (one op for the shift and
/// the step; SpikingJelly's <c>surrogate.Sigmoid</c> applied to x − θ).
/// </summary>
public sealed class SigmoidSpike : autograd.SingleTensorFunction<SigmoidSpike>
{
    public const float Alpha = 4f;
    public const float Threshold = 1f;

    public override string Name => "SigmoidSpike";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var x = (Tensor)vars[0];
        ctx.save_for_backward([x]);
        return x.ge(Threshold).to_type(x.dtype);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        using var x = ctx.get_saved_variables()[0];
        using var s = x.sub(Threshold).mul_(Alpha).sigmoid_(); // σ(α(x − θ))
        var ds = s.addcmul(s, s, -1f); // σ − σ² = σ(1 − σ)
        return [ds.mul_(grad_output).mul_(Alpha)];
    }
}

/// <summary>
/// Multi-step LIF (SpikingJelly <c>LIFNode</c>, step_mode='m'): τ = 2, decay_input, v_th = 1,
/// hard reset to v_reset = 0, reset not detached, sigmoid surrogate α = 4. Input
/// <c>[T·N, ...]</c> with time folded into the batch (time-major); the loop over T runs inside the
/// layer, output spikes in the same layout. Each step is three tensor ops: the charge as one
/// <c>lerp</c>, the spike (<see cref="SigmoidSpike"/>), the reset as one <c>addcmul</c>;
/// <see cref="PlainOps"/> spells them out as SpikingJelly's reference code does (eight ops).
/// </summary>
public sealed class Lif : nn.Module<Tensor, Tensor>
{
    private const float K = 1f / 2f; // 1/τ
    private const float VThreshold = SigmoidSpike.Threshold;
    private readonly int _t;
    private readonly SurrogateMode _mode;

    public Lif(string name, int timeSteps, SurrogateMode mode)
        : base(name)
    {
        _t = timeSteps;
        _mode = mode;
        RegisterComponents();
    }

    /// <summary>
    /// Charge, threshold and reset as separate elementwise ops (<c>v + (x − v)·k</c>,
    /// <c>h − v_th</c>, <c>h·(1 − s)</c>) instead of <c>lerp</c> / <c>addcmul</c> (<c>--lif plain</c>).
    /// </summary>
    public static bool PlainOps { get; set; }

    /// <summary>Spikes emitted in the last forward (counted only when <see cref="CountSpikes"/> is set).</summary>
    public double LastFiringRate { get; private set; }

    public bool CountSpikes { get; set; }

    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        // A channels-last input is contiguous as [T·N, H, W, C]: the scan runs over that order.
        var channelsLast = !input.is_contiguous();
        var flat = channelsLast ? input.permute(0, 2, 3, 1) : input;
        var shape = flat.shape;
        // unbind, not x[t]: the backward of one unbind is one stack, while each x[t] would
        // scatter its gradient into a zero-filled [T, M] tensor of its own.
        var x = flat.view(_t, -1).unbind(0); // T × [M]
        var spikes = new Tensor[_t];
        Tensor? v = null; // V_0 = v_reset = 0
        for (var t = 0; t < _t; t++)
        {
            var xt = x[t];
            // Charge, decay_input with v_reset = 0: H = V + (X − V)/τ.
            var h =
                v is null ? xt.mul(K)
                : PlainOps ? v.add(xt.sub(v).mul(K))
                : v.lerp(xt, K);
            var s = Fire(h);
            spikes[t] = s;
            // Hard reset to 0: V = H·(1 − S) = H − H·S. The last step's V is never read.
            if (t < _t - 1)
                v = PlainOps ? h.mul(s.neg().add_(1f)) : h.addcmul(h, s, -1f);
        }
        var y = stack(spikes, 0).view(shape);
        if (channelsLast)
            y = y.permute(0, 3, 1, 2);
        if (CountSpikes)
            LastFiringRate = y.mean().item<float>();
        return y.MoveToOuterDisposeScope();
    }

    // Θ(h − v_th) with the sigmoid surrogate.
    private Tensor Fire(Tensor h)
    {
        if (_mode == SurrogateMode.Function)
            return SigmoidSpike.apply(h);
        using var x = h.sub(VThreshold);
        using var hard = x.ge(0f).to_type(x.dtype);
        var sg = x.mul(SigmoidSpike.Alpha).sigmoid();
        return hard.add(sg.sub(sg.detach()));
    }
}
