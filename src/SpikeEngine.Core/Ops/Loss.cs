namespace SpikeEngine;

public static partial class Ops
{
    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> [N, K] against int32 class
    /// <paramref name="labels"/> [N], with label smoothing ε: target q = (1-ε)·onehot + ε/K.
    /// Returns a [1] tensor.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, float labelSmoothing = 0f)
    {
        const string op = "cross_entropy";
        Check.Rank(op, "logits", logits, 2, "[N, classes]");
        Check.Live(op, "labels", labels);
        Check.SameDevice(op, "logits", logits, "labels", labels);
        if (labels.DType != DType.Int32)
            throw new ArgumentException(
                $"{op}: 'labels' must be int32 class indices, got {labels.DType.Name()}",
                nameof(labels)
            );
        if (labels.Rank != 1 || labels.Shape[0] != logits.Shape[0])
            throw new ArgumentException(
                $"{op}: 'labels' must have shape [{logits.Shape[0]}] to match logits {logits.Shape}, got {labels.Shape}",
                nameof(labels)
            );
        if (!(labelSmoothing >= 0f && labelSmoothing < 1f))
            throw new ArgumentException(
                $"{op}: labelSmoothing must be in [0, 1), got {labelSmoothing}",
                nameof(labelSmoothing)
            );
        var k = logits.Shape[1];
        var host = labels.ToInt32Array();
        for (var i = 0; i < host.Length; i++)
        {
            if ((uint)host[i] >= (uint)k)
                throw new ArgumentException(
                    $"{op}: label {host[i]} at index {i} is outside [0, {k})",
                    nameof(labels)
                );
        }
        var probs = Tensor.EmptyLike(logits);
        var loss = Tensor.Empty(new Shape(1), logits.Device);
        logits.Backend.CrossEntropyForward(logits, labels, labelSmoothing, probs, loss);
        if (Autograd.IsNeeded(logits))
            Autograd.Record(loss, new CrossEntropyNode(logits, labels, probs, labelSmoothing));
        probs.Dispose();
        return loss;
    }

    private sealed class CrossEntropyNode : Node
    {
        private readonly Tensor _labels;
        private readonly Tensor _probs;
        private readonly float _smoothing;

        public CrossEntropyNode(Tensor logits, Tensor labels, Tensor probs, float smoothing)
            : base("cross_entropy", logits)
        {
            _labels = Save(labels);
            _probs = Save(probs);
            _smoothing = smoothing;
        }

        protected internal override Tensor?[] Backward(Tensor?[] gradOutputs)
        {
            var gl = gradOutputs[0]!.Item();
            var gx = Tensor.EmptyLike(_probs);
            gx.Backend.CrossEntropyBackward(_probs, _labels, _smoothing, gl, gx);
            return [gx];
        }
    }

    /// <summary>Mean squared error: mean((x - target)²), shape [1].</summary>
    public static Tensor Mse(Tensor x, Tensor target)
    {
        Check.SameShape("mse", "x", x, "target", target);
        using var d = x - target;
        using var sq = d.Square();
        return sq.Mean();
    }
}
