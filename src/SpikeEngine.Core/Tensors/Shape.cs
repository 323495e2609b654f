namespace SpikeEngine;

/// <summary>
/// Immutable tensor shape (row-major, contiguous). Every dimension is positive.
/// </summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? _dims;

    /// <summary>Creates a shape; <paramref name="op"/> names the caller in error messages.</summary>
    public Shape(ReadOnlySpan<int> dims, string op = "shape")
    {
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] <= 0)
                throw new ArgumentException(
                    $"{op}: every dimension must be positive, got {Format(dims)} (dimension {i} is {dims[i]})",
                    "shape"
                );
        }
        _dims = dims.ToArray();
        long n = 1;
        foreach (var d in _dims)
            n = checked(n * d);
        Numel = n;
    }

    public Shape(params int[] dims)
        : this((ReadOnlySpan<int>)dims) { }

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<int> Dims => _dims ?? [];

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long Numel { get; } = 1;

    /// <summary>Dimension <paramref name="axis"/>; negative values count from the end.</summary>
    public int this[int axis] => Dims[Axis(axis, "shape")];

    /// <summary>Normalises a possibly negative axis, naming <paramref name="op"/> on error.</summary>
    public int Axis(int axis, string op)
    {
        var a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Math.Max(Rank, 1))
            throw new ArgumentException(
                $"{op}: axis {axis} is out of range for shape {this}",
                nameof(axis)
            );
        return a;
    }

    /// <summary>Product of dimensions in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public long Product(int from, int to)
    {
        long p = 1;
        for (var i = from; i < to; i++)
            p *= Dims[i];
        return p;
    }

    public int[] ToArray() => Dims.ToArray();

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims)
            h.Add(d);
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString() => Format(Dims);

    internal static string Format(ReadOnlySpan<int> dims) =>
        "[" + string.Join(", ", dims.ToArray()) + "]";
}
