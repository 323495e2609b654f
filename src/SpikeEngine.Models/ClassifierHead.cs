using SpikeEngine.Nn;

namespace SpikeEngine.Models;

/// <summary>
/// The head of the zoo's models: global average pooling of <c>[T, N, C, H, W]</c>, then the
/// linear classifier at every time step, <c>[T, N, classes]</c>. Holds the model's own
/// <c>avgpool</c> and <c>fc</c> children (registered by the model under those names).
/// </summary>
internal sealed class ClassifierHead(AdaptiveAvgPool2d avgpool, Linear fc, int features)
{
    public Tensor Forward(Tensor y) // (T, N, C, H, W) → (T, N, classes)
    {
        using var pooled = avgpool.Forward(y);
        using var flat = pooled.Reshape(pooled.Shape[0], pooled.Shape[1], features);
        return fc.Forward(flat);
    }

    public int[] InferShape(int[] shape, ShapeTrace trace)
    {
        var s = avgpool.InferShape(shape, trace);
        return fc.InferShape([s[0], s[1], features], trace);
    }
}
