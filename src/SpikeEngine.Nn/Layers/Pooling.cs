namespace SpikeEngine.Nn;

/// <summary>Max pooling over <c>[N, C, H, W]</c> or <c>[T, N, C, H, W]</c> (time folded into the batch).</summary>
public sealed class MaxPool2d(int kernel, int stride, int padding = 0) : Layer
{
    public int Kernel { get; } = kernel;
    public int Stride { get; } = stride;
    public int Padding { get; } = padding;

    public override Tensor Forward(Tensor x)
    {
        using var owner = GraphRecorder.Enter(this);
        return SeqToBatch.Apply("MaxPool2d", x, 4, f => Ops.MaxPool2d(f, Kernel, Stride, Padding));
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "MaxPool2d",
            shape,
            4,
            s =>
            {
                var y = Pool.OutShape("MaxPool2d", s, Kernel, Stride, Padding);
                trace.Saved(ShapeTrace.Numel(y)); // uint8 argmax per output element
                return y;
            }
        );
}

/// <summary>Average pooling (zero padding counted) over <c>[N, C, H, W]</c> or <c>[T, N, C, H, W]</c>.</summary>
public sealed class AvgPool2d(int kernel, int stride, int padding = 0) : Layer
{
    public int Kernel { get; } = kernel;
    public int Stride { get; } = stride;
    public int Padding { get; } = padding;

    public override Tensor Forward(Tensor x)
    {
        using var owner = GraphRecorder.Enter(this);
        return SeqToBatch.Apply("AvgPool2d", x, 4, f => Ops.AvgPool2d(f, Kernel, Stride, Padding));
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "AvgPool2d",
            shape,
            4,
            s => Pool.OutShape("AvgPool2d", s, Kernel, Stride, Padding)
        );
}

/// <summary>Adaptive average pooling to <c>[.., C, outH, outW]</c> (<c>(1, 1)</c>: global average pooling).</summary>
public sealed class AdaptiveAvgPool2d : Layer
{
    public AdaptiveAvgPool2d(int outH = 1, int outW = 1)
    {
        if (outH <= 0 || outW <= 0)
            throw new ArgumentException(
                $"AdaptiveAvgPool2d: output size must be positive, got ({outH}, {outW})",
                nameof(outH)
            );
        OutH = outH;
        OutW = outW;
    }

    public int OutH { get; }
    public int OutW { get; }

    public override Tensor Forward(Tensor x)
    {
        using var owner = GraphRecorder.Enter(this);
        return SeqToBatch.Apply(
            "AdaptiveAvgPool2d",
            x,
            4,
            f => Ops.AdaptiveAvgPool2d(f, OutH, OutW)
        );
    }

    public override int[] InferShape(int[] shape, ShapeTrace trace) =>
        SeqToBatch.InferApply(
            "AdaptiveAvgPool2d",
            shape,
            4,
            s =>
            {
                if (s[2] < OutH || s[3] < OutW)
                    throw new ArgumentException(
                        $"AdaptiveAvgPool2d: input {ShapeTrace.Format(shape)} is smaller than the output ({OutH}, {OutW})",
                        nameof(shape)
                    );
                return [s[0], s[1], OutH, OutW];
            }
        );
}

internal static class Pool
{
    public static int[] OutShape(string op, int[] s, int kernel, int stride, int padding)
    {
        if (kernel <= 0 || stride <= 0 || padding < 0 || 2 * padding > kernel)
            throw new ArgumentException(
                $"{op}: need kernel > 0, stride > 0 and 0 <= padding <= kernel/2, got kernel {kernel}, stride {stride}, padding {padding}"
            );
        var oh = (s[2] + 2 * padding - kernel) / stride + 1;
        var ow = (s[3] + 2 * padding - kernel) / stride + 1;
        if (s[2] + 2 * padding < kernel || s[3] + 2 * padding < kernel)
            throw new ArgumentException(
                $"{op}: kernel {kernel} with padding {padding} does not fit input {ShapeTrace.Format(s)}"
            );
        return [s[0], s[1], oh, ow];
    }
}
