namespace SpikeEngine.Nn;

/// <summary>
/// Folds time into the batch for stateless layers: <c>[T, N, ...]</c> → <c>[T·N, ...]</c>, runs
/// the wrapped layers in order, and unfolds the result back to <c>[T, N, ...]</c>. Both reshapes
/// are views (time-major tensors are contiguous), so folding costs nothing.
/// SpikingJelly's <c>SeqToANNContainer</c>; children are named <c>0</c>, <c>1</c>, ...
/// </summary>
public sealed class SeqToBatch : Layer
{
    private readonly Layer[] _layers;

    public SeqToBatch(params Layer[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Length == 0)
            throw new ArgumentException(
                "SeqToBatch: needs at least one layer, got none",
                nameof(layers)
            );
        _layers = layers;
        for (var i = 0; i < layers.Length; i++)
            Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
    }

    public override Tensor Forward(Tensor x) // (T, N, ...) → (T, N, ...)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 3)
            throw new ArgumentException(
                $"SeqToBatch: input must be [T, N, ...] with rank >= 3, got {x.Shape}",
                nameof(x)
            );
        int t = x.Shape[0],
            n = x.Shape[1];
        using var folded = x.Reshape(Fold(x.Shape.ToArray()));
        var y = folded;
        foreach (var layer in _layers)
        {
            var next = layer.Forward(y);
            if (!ReferenceEquals(y, folded))
                y.Dispose();
            y = next;
        }
        using (y)
            return y.Reshape(Unfold(y.Shape.ToArray(), t, n));
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 3)
            throw new ArgumentException(
                $"SeqToBatch: input must be [T, N, ...] with rank >= 3, got {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        var y = Fold(shape);
        foreach (var layer in _layers)
            y = layer.InferShape(y, trace);
        return Unfold(y, shape[0], shape[1]);
    }

    /// <summary>
    /// Applies <paramref name="f"/> (an op over <paramref name="baseRank"/>-d input) to single-step
    /// input of that rank, or to multi-step input of rank + 1 with time folded into the batch.
    /// </summary>
    public static Tensor Apply(string op, Tensor x, int baseRank, Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(f);
        if (x.Rank == baseRank)
            return f(x);
        if (x.Rank != baseRank + 1)
            throw new ArgumentException(
                $"{op}: input must have rank {baseRank} (single step) or {baseRank + 1} ([T, N, ...] multi-step), got {x.Shape}",
                nameof(x)
            );
        int t = x.Shape[0],
            n = x.Shape[1];
        using var folded = x.Reshape(Fold(x.Shape.ToArray()));
        using var y = f(folded);
        return y.Reshape(Unfold(y.Shape.ToArray(), t, n));
    }

    /// <summary>Shape-only twin of <see cref="Apply"/>.</summary>
    public static int[] InferApply(string op, int[] shape, int baseRank, Func<int[], int[]> f)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(f);
        if (shape.Length == baseRank)
            return f(shape);
        if (shape.Length != baseRank + 1)
            throw new ArgumentException(
                $"{op}: input must have rank {baseRank} (single step) or {baseRank + 1} ([T, N, ...] multi-step), got {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        return Unfold(f(Fold(shape)), shape[0], shape[1]);
    }

    /// <summary>[T, N, a, b, ...] → [T·N, a, b, ...].</summary>
    public static int[] Fold(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 2)
            throw new ArgumentException(
                $"SeqToBatch.Fold: shape must be [T, N, ...], got {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        var r = new int[shape.Length - 1];
        r[0] = checked(shape[0] * shape[1]);
        Array.Copy(shape, 2, r, 1, shape.Length - 2);
        return r;
    }

    /// <summary>[T·N, a, b, ...] → [T, N, a, b, ...].</summary>
    public static int[] Unfold(int[] shape, int t, int n)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < 1 || t <= 0 || n <= 0 || shape[0] != t * n)
            throw new ArgumentException(
                $"SeqToBatch.Unfold: leading dimension of {ShapeTrace.Format(shape)} must be T·N = {t}·{n}",
                nameof(shape)
            );
        var r = new int[shape.Length + 1];
        r[0] = t;
        r[1] = n;
        Array.Copy(shape, 1, r, 2, shape.Length - 1);
        return r;
    }
}
