namespace SpikeEngine;

/// <summary>
/// The composite twin of the fused scan (candle's <c>rms_norm_slow</c>): the same neuron built step
/// by step from primitive autograd ops — Charge with tensor arithmetic, Fire through a small spike
/// op (Heaviside forward, surrogate backward), Reset with tensor arithmetic, and
/// <c>detach_reset</c> through <see cref="Tensor.Detach"/>. Slow and memory-hungry by design; it is
/// the oracle the fused kernels are tested against. The arithmetic order matches the kernels, so
/// the spikes agree bit for bit.
/// </summary>
public static class NeuronSlow
{
    /// <summary>Same contract as <see cref="NeuronOps.Scan"/>: x (T, M), v0 (M) or null, w (1) for PLIF.</summary>
    public static (Tensor Spikes, Tensor VLast) Scan(
        in NeuronSpec spec,
        Tensor x,
        Tensor? v0 = null,
        Tensor? w = null
    )
    {
        const string op = "neuron_slow";
        NeuronOps.Validate(op, spec);
        Check.Rank(op, "x", x, 2, "[T, M]");
        if (spec.Kind == NeuronKind.Plif && w is null)
            throw new ArgumentException(
                $"{op}: PLIF needs its weight 'w' ([1]), got null",
                nameof(w)
            );
        int steps = x.Shape[0],
            m = x.Shape[1];
        var surrogate = spec.Surrogate;
        using var k = spec.Kind == NeuronKind.Plif ? w!.Reshape(1).Sigmoid() : null; // (1)
        var v = v0 ?? Tensor.Full([m], spec.Rest, x.Device); // (M)
        var spikes = new Tensor[steps];
        var temps = new List<Tensor>();
        Tensor Keep(Tensor t)
        {
            temps.Add(t);
            return t;
        }
        if (v0 is null)
            temps.Add(v);
        for (var t = 0; t < steps; t++)
        {
            var xt = Keep(TimeStep(x, t));
            // Charge
            Tensor h;
            if (spec.Kind == NeuronKind.If)
                h = Keep(v + xt);
            else
            {
                var leak = Keep(v - spec.Rest);
                if (spec.DecayInput)
                {
                    var drive = Keep(xt - leak);
                    h = Keep(v + Keep(Scale(drive, k, spec.K)));
                }
                else
                    h = Keep(Keep(v - Keep(Scale(leak, k, spec.K))) + xt);
            }
            // Fire
            var s = Fire(Keep(h - spec.VThreshold), surrogate);
            spikes[t] = s;
            // Reset
            var sr = spec.DetachReset ? Keep(s.Detach()) : s;
            if (spec.HardReset)
                v = Keep(Keep(h * Keep(1f - sr)) + Keep(sr * spec.Rest));
            else
                v = Keep(h - Keep(sr * spec.VThreshold));
        }
        var result = Stack(spikes);
        var vLast = v.Reshape(m);
        foreach (var s in spikes)
            s.Dispose();
        foreach (var t in temps)
            t.Dispose();
        return (result, vLast);
    }

    // d · k, with k the float 1/tau (LIF) or the tensor sigmoid(w) (PLIF).
    private static Tensor Scale(Tensor d, Tensor? k, float kValue)
    {
        if (k is null)
            return d * kValue;
        using var row = d.Reshape(1, (int)d.Numel);
        using var scaled = Ops.ChannelAffine(row, k, null, axis: 0);
        return scaled.Reshape((int)d.Numel);
    }

    // ---------------------------------------------------------------------------------------------
    // The three small ops the twin needs: fire, one time step of a sequence, stacking steps.

    /// <summary>S = Θ(x) (Θ(0) = 1) forward; dL/dx = dL/dS · ψ(x) backward.</summary>
    public static Tensor Fire(Tensor x, ISurrogate surrogate)
    {
        Check.Float("fire", "x", x);
        var s = Tensor.EmptyLike(x);
        x.Backend.Unary(UnaryOp.Heaviside, x, s);
        if (Autograd.IsNeeded(x))
            Autograd.Record(s, new FireNode(x, surrogate));
        return s;
    }

    private sealed class FireNode : Node
    {
        private readonly Tensor _x;
        private readonly ISurrogate _surrogate;

        public FireNode(Tensor x, ISurrogate surrogate)
            : base("fire", x)
        {
            _x = Save(x);
            _surrogate = surrogate;
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var psi = new float[_x.Numel];
            _surrogate.Gradient(_x.ToArray(), psi);
            using var p = Tensor.FromArray(psi, _x.Shape.ToArray(), device: _x.Device);
            var gx = Tensor.EmptyLike(g);
            g.Backend.Binary(BinaryOp.Mul, g, p, gx);
            return [gx];
        }
    }

    /// <summary>Row <paramref name="t"/> of x (T, M) as a new tensor (M), differentiable.</summary>
    public static Tensor TimeStep(Tensor x, int t)
    {
        Check.Rank("time_step", "x", x, 2, "[T, M]");
        if (t < 0 || t >= x.Shape[0])
            throw new ArgumentOutOfRangeException(
                nameof(t),
                t,
                $"time_step: step {t} is outside x {x.Shape} (T = {x.Shape[0]})"
            );
        var m = x.Shape[1];
        var y = Tensor.Empty(new Shape(m), x.Device);
        using (var row = RowView(x, t))
            x.Backend.Convert(row, y);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new TimeStepNode(x, t));
        return y;
    }

    private sealed class TimeStepNode(Tensor x, int t) : Node("time_step", x)
    {
        private readonly Shape _shape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var gx = Tensor.Zeros(_shape.ToArray(), g.Device);
            using (var row = RowView(gx, t))
                g.Backend.Convert(g, row);
            return [gx];
        }
    }

    /// <summary>Steps (M) each → (T, M), differentiable.</summary>
    public static Tensor Stack(Tensor[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Length == 0 || steps.Any(s => s.Rank != 1 || s.Shape[0] != steps[0].Shape[0]))
            throw new ArgumentException(
                $"stack: expected one or more steps of one shape [M], got {string.Join(", ", steps.Select(s => s.Shape.ToString()))}",
                nameof(steps)
            );
        var m = steps[0].Shape[0];
        var y = Tensor.Empty(new Shape(steps.Length, m), steps[0].Device);
        for (var t = 0; t < steps.Length; t++)
        {
            using var row = RowView(y, t);
            y.Backend.Convert(steps[t], row);
        }
        if (Autograd.IsNeeded(steps))
            Autograd.Record(y, new StackNode(steps));
        return y;
    }

    private sealed class StackNode(Tensor[] steps) : Node("stack", steps)
    {
        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var r = new Tensor?[Inputs.Length];
            for (var t = 0; t < r.Length; t++)
            {
                if (!Inputs[t]!.RequiresGrad)
                    continue;
                using var row = RowView(g, t);
                r[t] = Tensor.EmptyLike(row);
                g.Backend.Convert(row, r[t]!);
            }
            return r;
        }
    }

    // A view of row t of a contiguous (T, M) tensor, outside the graph.
    private static Tensor RowView(Tensor x, int t)
    {
        var m = x.Shape[1];
        x.Storage.Retain();
        return new Tensor(x.Storage, new Shape(m), x.Offset + (long)t * m);
    }
}
