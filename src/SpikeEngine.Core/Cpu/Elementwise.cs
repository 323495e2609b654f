using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    // Spans cannot be captured by the parallel lambdas, so each kernel re-slices the arrays.
    private static void Split(Tensor y, Action<int, int> body) => Par.Elementwise(y.Numel, body);

    public void Fill(Tensor y, float value)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        if (y.DType == DType.Float32)
            y.Span().Fill(value);
        else if (y.DType == DType.Int32)
            y.Span<int>().Fill((int)value);
        else
            throw new NotSupportedException($"fill: dtype {y.DType.Name()}");
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        Split(
            y,
            (s, n) =>
            {
                var xs = new ReadOnlySpan<float>(xa, xo + s, n);
                var ys = new Span<float>(ya, yo + s, n);
                switch (op)
                {
                    case UnaryOp.Neg:
                        TensorPrimitives.Negate(xs, ys);
                        break;
                    case UnaryOp.Exp:
                        TensorPrimitives.Exp(xs, ys);
                        break;
                    case UnaryOp.Log:
                        TensorPrimitives.Log(xs, ys);
                        break;
                    case UnaryOp.Relu:
                        TensorPrimitives.Max(xs, 0f, ys);
                        break;
                    case UnaryOp.Sigmoid:
                        TensorPrimitives.Sigmoid(xs, ys);
                        break;
                    case UnaryOp.Tanh:
                        TensorPrimitives.Tanh(xs, ys);
                        break;
                    case UnaryOp.Sqrt:
                        TensorPrimitives.Sqrt(xs, ys);
                        break;
                    case UnaryOp.Abs:
                        TensorPrimitives.Abs(xs, ys);
                        break;
                    case UnaryOp.Square:
                        TensorPrimitives.Multiply(xs, xs, ys);
                        break;
                    case UnaryOp.Heaviside:
                        for (var i = 0; i < n; i++)
                            ys[i] = xs[i] >= 0f ? 1f : 0f;
                        break;
                    default:
                        throw new NotSupportedException($"unary {op}");
                }
            }
        );
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        var ga = ArrayOf(gy);
        var oa = ArrayOf(gx);
        int xo = (int)x.Offset,
            yo = (int)y.Offset,
            go = (int)gy.Offset,
            oo = (int)gx.Offset;
        Split(
            gx,
            (s, n) =>
            {
                var xs = new ReadOnlySpan<float>(xa, xo + s, n);
                var ys = new ReadOnlySpan<float>(ya, yo + s, n);
                var gs = new ReadOnlySpan<float>(ga, go + s, n);
                var os = new Span<float>(oa, oo + s, n);
                switch (op)
                {
                    case UnaryOp.Neg:
                        TensorPrimitives.Negate(gs, os);
                        break;
                    case UnaryOp.Exp:
                        TensorPrimitives.Multiply(gs, ys, os);
                        break;
                    case UnaryOp.Log:
                        TensorPrimitives.Divide(gs, xs, os);
                        break;
                    case UnaryOp.Relu:
                        for (var i = 0; i < n; i++)
                            os[i] = xs[i] > 0f ? gs[i] : 0f;
                        break;
                    case UnaryOp.Sigmoid:
                        for (var i = 0; i < n; i++)
                            os[i] = gs[i] * ys[i] * (1f - ys[i]);
                        break;
                    case UnaryOp.Tanh:
                        for (var i = 0; i < n; i++)
                            os[i] = gs[i] * (1f - ys[i] * ys[i]);
                        break;
                    case UnaryOp.Sqrt:
                        for (var i = 0; i < n; i++)
                            os[i] = gs[i] * 0.5f / ys[i];
                        break;
                    case UnaryOp.Abs:
                        for (var i = 0; i < n; i++)
                            os[i] = gs[i] * MathF.Sign(xs[i]);
                        break;
                    case UnaryOp.Square:
                        for (var i = 0; i < n; i++)
                            os[i] = 2f * gs[i] * xs[i];
                        break;
                    case UnaryOp.Heaviside:
                        os.Clear();
                        break;
                    default:
                        throw new NotSupportedException($"unary backward {op}");
                }
            }
        );
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var aa = ArrayOf(a);
        var ba = ArrayOf(b);
        var ya = ArrayOf(y);
        int ao = (int)a.Offset,
            bo = (int)b.Offset,
            yo = (int)y.Offset;
        Split(
            y,
            (s, n) =>
            {
                var xs = new ReadOnlySpan<float>(aa, ao + s, n);
                var zs = new ReadOnlySpan<float>(ba, bo + s, n);
                var ys = new Span<float>(ya, yo + s, n);
                switch (op)
                {
                    case BinaryOp.Add:
                        TensorPrimitives.Add(xs, zs, ys);
                        break;
                    case BinaryOp.Sub:
                        TensorPrimitives.Subtract(xs, zs, ys);
                        break;
                    case BinaryOp.Mul:
                        TensorPrimitives.Multiply(xs, zs, ys);
                        break;
                    case BinaryOp.Div:
                        TensorPrimitives.Divide(xs, zs, ys);
                        break;
                    case BinaryOp.Max:
                        TensorPrimitives.Max(xs, zs, ys);
                        break;
                    case BinaryOp.Min:
                        TensorPrimitives.Min(xs, zs, ys);
                        break;
                    default:
                        throw new NotSupportedException($"binary {op}");
                }
            }
        );
    }

    public void Scalar(ScalarOp op, Tensor x, float v, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        Split(
            y,
            (s, n) =>
            {
                var xs = new ReadOnlySpan<float>(xa, xo + s, n);
                var ys = new Span<float>(ya, yo + s, n);
                switch (op)
                {
                    case ScalarOp.Add:
                        TensorPrimitives.Add(xs, v, ys);
                        break;
                    case ScalarOp.Mul:
                        TensorPrimitives.Multiply(xs, v, ys);
                        break;
                    case ScalarOp.Pow:
                        TensorPrimitives.Pow(xs, v, ys);
                        break;
                    case ScalarOp.RSub:
                        TensorPrimitives.Subtract(v, xs, ys);
                        break;
                    case ScalarOp.Max:
                        TensorPrimitives.Max(xs, v, ys);
                        break;
                    case ScalarOp.Min:
                        TensorPrimitives.Min(xs, v, ys);
                        break;
                    default:
                        throw new NotSupportedException($"scalar {op}");
                }
            }
        );
    }

    public void Axpy(float alpha, Tensor x, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        Split(
            y,
            (s, n) =>
            {
                var ys = new Span<float>(ya, yo + s, n);
                var xs = new ReadOnlySpan<float>(xa, xo + s, n);
                if (alpha == 1f)
                    TensorPrimitives.Add(ys, xs, ys);
                else
                    TensorPrimitives.MultiplyAdd(xs, alpha, ys, ys);
            }
        );
    }

    public void AddN(ReadOnlySpan<Tensor> xs, Tensor y)
    {
        using var profile = OpProfile.Time(OpKind.Elementwise);
        var arrays = new float[xs.Length][];
        var offsets = new int[xs.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            arrays[i] = ArrayOf(xs[i]);
            offsets[i] = (int)xs[i].Offset;
        }
        var ya = ArrayOf(y);
        var yo = (int)y.Offset;
        Split(
            y,
            (s, n) =>
            {
                var ys = new Span<float>(ya, yo + s, n);
                if (arrays.Length == 1)
                {
                    new ReadOnlySpan<float>(arrays[0], offsets[0] + s, n).CopyTo(ys);
                    return;
                }
                TensorPrimitives.Add(
                    new ReadOnlySpan<float>(arrays[0], offsets[0] + s, n),
                    new ReadOnlySpan<float>(arrays[1], offsets[1] + s, n),
                    ys
                );
                for (var i = 2; i < arrays.Length; i++)
                    TensorPrimitives.Add(
                        ys,
                        new ReadOnlySpan<float>(arrays[i], offsets[i] + s, n),
                        ys
                    );
            }
        );
    }

    public void ChannelAffine(
        Tensor x,
        Tensor? scale,
        Tensor? shift,
        int outer,
        int channels,
        int inner,
        Tensor y
    )
    {
        using var profile = OpProfile.Time(OpKind.BatchNorm);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        var sc = scale?.Span().ToArray();
        var sh = shift?.Span().ToArray();
        Par.For(
            (long)outer * channels,
            Math.Max(1, Par.SerialThreshold / inner),
            (s, e) =>
            {
                for (var oc = s; oc < e; oc++)
                {
                    var c = (int)(oc % channels);
                    var xs = new ReadOnlySpan<float>(xa, xo + (int)oc * inner, inner);
                    var ys = new Span<float>(ya, yo + (int)oc * inner, inner);
                    var m = sc is null ? 1f : sc[c];
                    var b = sh is null ? 0f : sh[c];
                    if (sc is null)
                        TensorPrimitives.Add(xs, b, ys);
                    else
                    {
                        TensorPrimitives.Multiply(xs, m, ys);
                        if (b != 0f)
                            TensorPrimitives.Add(ys, b, ys);
                    }
                }
            }
        );
    }
}
