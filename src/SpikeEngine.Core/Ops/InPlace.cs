namespace SpikeEngine;

public sealed partial class Tensor
{
    // In-place updates for optimizers and state: never recorded, refused on graph tensors.

    private void CheckInPlace(string op)
    {
        ThrowIfDisposed(op);
        RequireDType(DType.Float32, op);
        if (GradMode.IsEnabled && (!IsLeaf || RequiresGrad && GradFn is not null))
            throw new InvalidOperationException(
                $"{op}: in-place update of a graph tensor {Describe()}; use GradMode.NoGrad()"
            );
        IsBinary = false; // the values may no longer be 0/1 (other views of the storage keep theirs: see docs/memory.md)
        CountBound = 0;
    }

    /// <summary>this += alpha · x (in place, not recorded).</summary>
    public Tensor AddScaled_(Tensor x, float alpha = 1f)
    {
        CheckInPlace("add_scaled_");
        Check.SameShape("add_scaled_", "this", this, "x", x);
        Backend.Axpy(alpha, x, this);
        return this;
    }

    /// <summary>this *= s (in place, not recorded).</summary>
    public Tensor Mul_(float s)
    {
        CheckInPlace("mul_");
        Backend.Scalar(ScalarOp.Mul, this, s, this);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/> (in place, not recorded).</summary>
    public Tensor Fill_(float value)
    {
        CheckInPlace("fill_");
        Backend.Fill(this, value);
        return this;
    }

    /// <summary>Copies the elements of <paramref name="src"/> (same shape) into this tensor.</summary>
    public Tensor CopyFrom_(Tensor src)
    {
        CheckInPlace("copy_");
        Check.SameShape("copy_", "this", this, "src", src);
        Backend.Convert(src, this);
        return this;
    }
}
