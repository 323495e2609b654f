namespace SpikeEngine.Nn;

/// <summary>
/// Flattens the dimensions from <see cref="StartAxis"/> on (a view). Multi-step models use
/// <c>startAxis = 2</c>: <c>[T, N, C, 1, 1]</c> → <c>[T, N, C]</c>.
/// </summary>
public sealed class Flatten : Layer
{
    public Flatten(int startAxis = 1)
    {
        if (startAxis < 0)
            throw new ArgumentException(
                $"Flatten: startAxis must be non-negative, got {startAxis}",
                nameof(startAxis)
            );
        StartAxis = startAxis;
    }

    public int StartAxis { get; }

    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Reshape(InferShape(x.Shape.ToArray(), new ShapeTrace()));
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (StartAxis >= shape.Length)
            throw new ArgumentException(
                $"Flatten: startAxis {StartAxis} is out of range for input {ShapeTrace.Format(shape)}",
                nameof(shape)
            );
        var r = new int[StartAxis + 1];
        Array.Copy(shape, r, StartAxis);
        r[StartAxis] = (int)ShapeTrace.Numel(shape[StartAxis..]);
        return r;
    }
}
