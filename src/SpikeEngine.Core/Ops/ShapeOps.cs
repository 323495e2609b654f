namespace SpikeEngine;

public sealed partial class Tensor
{
    /// <summary>A view with a new shape and the same elements (one dimension may be -1).</summary>
    public Tensor Reshape(params int[] shape)
    {
        ThrowIfDisposed("reshape");
        ArgumentNullException.ThrowIfNull(shape);
        var dims = (int[])shape.Clone();
        var infer = -1;
        long known = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0)
                    throw new ArgumentException(
                        $"reshape: only one dimension may be -1, got {Shape.Format(shape)}",
                        nameof(shape)
                    );
                infer = i;
            }
            else if (dims[i] <= 0)
                throw new ArgumentException(
                    $"reshape: dimensions must be positive or -1, got {Shape.Format(shape)} for tensor {Describe()}",
                    nameof(shape)
                );
            else
                known *= dims[i];
        }
        if (infer >= 0)
        {
            if (Numel % known != 0)
                throw new ArgumentException(
                    $"reshape: cannot infer -1 in {Shape.Format(shape)} from {Numel} elements ({Describe()})",
                    nameof(shape)
                );
            dims[infer] = (int)(Numel / known);
        }
        var s = new Shape(dims, "reshape");
        if (s.Numel != Numel)
            throw new ArgumentException(
                $"reshape: shape {s} has {s.Numel} elements, tensor {Describe()} has {Numel}",
                nameof(shape)
            );
        Storage.Retain();
        var view = new Tensor(Storage, s, Offset) { IsBinary = IsBinary, CountBound = _countBound };
        if (Autograd.IsNeeded(this))
            Autograd.Record(view, new ReshapeNode(this));
        return view;
    }

    /// <summary>Flattens dimensions from <paramref name="startAxis"/> on: [N, C, H, W] → [N, C·H·W].</summary>
    public Tensor Flatten(int startAxis = 1)
    {
        var a = Shape.Axis(startAxis, "flatten");
        var dims = new int[a + 1];
        for (var i = 0; i < a; i++)
            dims[i] = Shape[i];
        dims[a] = (int)Shape.Product(a, Rank);
        return Reshape(dims);
    }

    private sealed class ReshapeNode(Tensor x) : Node("reshape", x)
    {
        private readonly Shape _shape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            g.Storage.Retain();
            return [new Tensor(g.Storage, _shape, g.Offset)];
        }
    }

    /// <summary>Σ of inputs of one shape (n-ary add: the shortcut sum of a densely additive stage).</summary>
    public static Tensor AddN(params Tensor[] xs)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0)
            throw new ArgumentException("add_n: needs at least one input, got none", nameof(xs));
        for (var i = 1; i < xs.Length; i++)
            Check.SameShape("add_n", "xs[0]", xs[0], $"xs[{i}]", xs[i]);
        Check.Float("add_n", "xs[0]", xs[0]);
        var y = EmptyLike(xs[0]);
        xs[0].Backend.AddN(xs, y);
        if (Autograd.IsNeeded(xs))
            Autograd.Record(y, new AddNNode(xs));
        return y;
    }

    private sealed class AddNNode(Tensor[] xs) : Node("add_n", xs)
    {
        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var r = new Tensor?[Inputs.Length];
            for (var i = 0; i < r.Length; i++)
                r[i] = Inputs[i]!.RequiresGrad ? g.Alias() : null;
            return r;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Reductions

    /// <summary>Sum of all elements, shape [1].</summary>
    public Tensor Sum()
    {
        Check.Float("sum", "x", this);
        using var flat = Reshape((int)Numel);
        return ReduceAxis("sum", flat, 0, keepDims: true);
    }

    /// <summary>Mean of all elements, shape [1].</summary>
    public Tensor Mean()
    {
        using var s = Sum();
        return s.Mul(1f / Numel);
    }

    /// <summary>Sum over <paramref name="axes"/> (negative counts from the end).</summary>
    public Tensor Sum(int[] axes, bool keepDims = false) =>
        ReduceAxes("sum", axes, keepDims, mean: false);

    /// <summary>Mean over <paramref name="axes"/> (negative counts from the end).</summary>
    public Tensor Mean(int[] axes, bool keepDims = false) =>
        ReduceAxes("mean", axes, keepDims, mean: true);

    private Tensor ReduceAxes(string op, int[] axes, bool keepDims, bool mean)
    {
        Check.Float(op, "x", this);
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0)
            throw new ArgumentException(
                $"{op}: axes is empty; use {op}() for all elements",
                nameof(axes)
            );
        var norm = axes.Select(a => Shape.Axis(a, op)).OrderByDescending(a => a).ToArray();
        if (norm.Distinct().Count() != norm.Length)
            throw new ArgumentException(
                $"{op}: axes {Shape.Format(axes)} repeat an axis",
                nameof(axes)
            );
        long count = 1;
        var cur = this;
        var owned = new List<Tensor>();
        foreach (var a in norm)
        {
            count *= Shape[a];
            cur = ReduceAxis(op, cur, a, keepDims: true);
            owned.Add(cur);
        }
        var result = cur;
        if (!keepDims)
        {
            var dims = Enumerable
                .Range(0, Rank)
                .Where(i => !norm.Contains(i))
                .Select(i => Shape[i])
                .ToArray();
            result = cur.Reshape(dims.Length == 0 ? [1] : dims);
            owned.Add(result);
        }
        if (mean)
        {
            result = result.Mul(1f / count);
            owned.Add(result);
        }
        foreach (var t in owned)
            if (!ReferenceEquals(t, result))
                t.Dispose();
        return result;
    }

    // Sum over one axis, keeping it as size 1.
    private static Tensor ReduceAxis(string op, Tensor x, int axis, bool keepDims)
    {
        var outer = (int)x.Shape.Product(0, axis);
        var reduce = x.Shape[axis];
        var inner = (int)x.Shape.Product(axis + 1, x.Rank);
        var dims = x.Shape.ToArray();
        dims[axis] = 1;
        var y = Empty(new Shape(dims), x.Device);
        x.Backend.Sum(x, outer, reduce, inner, y);
        if (Autograd.IsNeeded(x))
            Autograd.Record(y, new SumNode(op, x, outer, reduce, inner));
        _ = keepDims;
        return y;
    }

    private sealed class SumNode(string name, Tensor x, int outer, int reduce, int inner)
        : Node(name, x)
    {
        private readonly Shape _shape = x.Shape;

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var g = gradOutputs[0]!;
            var gx = Empty(_shape, g.Device);
            g.Backend.Expand(g, outer, reduce, inner, gx);
            return [gx];
        }
    }
}
