namespace SpikeEngine;

/// <summary>
/// Differentiable neural-network ops over NCHW tensors (time folded into the batch).
/// Every op validates its arguments and names itself, the argument and the values on error.
/// </summary>
public static partial class Ops
{
    // ------------------------------------------------------------------------------------------
    // Per-channel affine (bias add, scale)

    /// <summary>
    /// y = x · scale[c] + shift[c] with c the channel axis (<paramref name="axis"/>, default 1) of x.
    /// Either of scale and shift may be null.
    /// </summary>
    public static Tensor ChannelAffine(Tensor x, Tensor? scale, Tensor? shift, int axis = 1)
    {
        const string op = "channel_affine";
        Check.Float(op, "x", x);
        var a = x.Shape.Axis(axis, op);
        var c = x.Shape[a];
        foreach (var (name, t) in new[] { ("scale", scale), ("shift", shift) })
        {
            if (t is null)
                continue;
            Check.Float(op, name, t);
            Check.SameDevice(op, "x", x, name, t);
            if (t.Rank != 1 || t.Shape[0] != c)
                throw new ArgumentException(
                    $"{op}: '{name}' must have shape [{c}] (channels of x {x.Shape} on axis {a}), got {t.Shape}",
                    name
                );
        }
        var outer = (int)x.Shape.Product(0, a);
        var inner = (int)x.Shape.Product(a + 1, x.Rank);
        var y = Tensor.EmptyLike(x);
        x.Backend.ChannelAffine(x, scale, shift, outer, c, inner, y);
        if (Autograd.IsNeeded(x, scale, shift))
            Autograd.Record(y, new ChannelAffineNode(x, scale, shift, outer, c, inner));
        return y;
    }

    private sealed class ChannelAffineNode : Node
    {
        private readonly Tensor? _x;
        private readonly Tensor? _scale;
        private readonly int _outer,
            _c,
            _inner;

        public ChannelAffineNode(
            Tensor x,
            Tensor? scale,
            Tensor? shift,
            int outer,
            int c,
            int inner
        )
            : base("channel_affine", x, scale, shift)
        {
            (_outer, _c, _inner) = (outer, c, inner);
            if (scale is not null)
            {
                _scale = Save(scale);
                if (scale.RequiresGrad)
                    _x = Save(x);
            }
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var be = g.Backend;
            Tensor? gx = null,
                gs = null,
                gb = null;
            if (Inputs[0]!.RequiresGrad)
            {
                gx = Tensor.EmptyLike(g);
                if (_scale is null)
                    be.Convert(g, gx);
                else
                    be.ChannelAffine(g, _scale, null, _outer, _c, _inner, gx);
            }
            if (Inputs[1] is { RequiresGrad: true })
            {
                using var prod = Tensor.EmptyLike(g);
                be.Binary(BinaryOp.Mul, g, _x!, prod);
                gs = ChannelSum(prod, _outer, _c, _inner);
            }
            if (Inputs[2] is { RequiresGrad: true })
                gb = ChannelSum(g, _outer, _c, _inner);
            return [gx, gs, gb];
        }
    }

    /// <summary>Σ over outer and inner of a [outer, C, inner] view → [C].</summary>
    internal static Tensor ChannelSum(Tensor g, int outer, int c, int inner)
    {
        var be = g.Backend;
        using var perOuter = Tensor.Empty(new Shape(outer, c), g.Device);
        be.Sum(g, outer * c, inner, 1, perOuter);
        var r = Tensor.Empty(new Shape(c), g.Device);
        be.Sum(perOuter, 1, outer, c, r);
        return r;
    }

    // ------------------------------------------------------------------------------------------
    // Linear

    /// <summary>y = x · Wᵀ + b with x [N, in], W [out, in], b [out] (optional).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        const string op = "linear";
        Check.Rank(op, "x", x, 2, "[N, in_features]");
        Check.Rank(op, "weight", weight, 2, "[out_features, in_features]");
        Check.SameDevice(op, "x", x, "weight", weight);
        if (x.Shape[1] != weight.Shape[1])
            throw new ArgumentException(
                $"{op}: x has {x.Shape[1]} features ({x.Shape}) but weight expects {weight.Shape[1]} ({weight.Shape})",
                nameof(x)
            );
        int n = x.Shape[0],
            i = x.Shape[1],
            o = weight.Shape[0];
        var y = Tensor.Empty(new Shape(n, o), x.Device);
        x.Backend.Gemm(false, true, n, o, i, 1f, x, weight, 0f, y);
        if (Autograd.IsNeeded(x, weight))
            Autograd.Record(y, new LinearNode(x, weight));
        if (bias is null)
            return y;
        if (bias.Rank != 1 || bias.Shape[0] != o)
            throw new ArgumentException(
                $"{op}: bias must have shape [{o}], got {bias.Shape}",
                nameof(bias)
            );
        using (y)
            return ChannelAffine(y, null, bias, axis: 1);
    }

    private sealed class LinearNode : Node
    {
        private readonly Tensor? _x;
        private readonly Tensor? _w;

        public LinearNode(Tensor x, Tensor w)
            : base("linear", x, w)
        {
            if (x.RequiresGrad)
                _w = Save(w);
            if (w.RequiresGrad)
                _x = Save(x);
        }

        /// <summary>Generic: the input, float32.</summary>
        protected internal override long GenericBytesIn(StorageLedger ledger) =>
            ledger.Float32(Inputs[0]);

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var be = g.Backend;
            int n = g.Shape[0],
                o = g.Shape[1];
            Tensor? gx = null,
                gw = null;
            if (_w is not null)
            {
                var i = _w.Shape[1];
                gx = Tensor.Empty(new Shape(n, i), g.Device);
                be.Gemm(false, false, n, i, o, 1f, g, _w, 0f, gx);
            }
            if (_x is not null)
            {
                var i = _x.Shape[1];
                gw = Tensor.Empty(new Shape(o, i), g.Device);
                be.Gemm(true, false, o, i, n, 1f, g, _x, 0f, gw);
            }
            return [gx, gw];
        }
    }
}
