namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    public void CrossEntropyForward(
        Tensor logits,
        Tensor labels,
        float smoothing,
        Tensor probs,
        Tensor loss
    )
    {
        var k = logits.Size(1);
        var n = logits.Size(0);
        var z = logits.Span();
        var y = labels.Span<int>();
        var p = probs.Span();
        double total = 0;
        for (var i = 0; i < n; i++)
        {
            var row = z.Slice(i * k, k);
            var max = float.NegativeInfinity;
            foreach (var v in row)
                max = MathF.Max(max, v);
            double sum = 0;
            for (var j = 0; j < k; j++)
                sum += Math.Exp(row[j] - max);
            var logSum = max + Math.Log(sum);
            double rowLoss = 0,
                meanLogP = 0;
            for (var j = 0; j < k; j++)
            {
                var logP = row[j] - logSum;
                p[i * k + j] = (float)Math.Exp(logP);
                meanLogP += logP;
                if (j == y[i])
                    rowLoss = -logP;
            }
            meanLogP /= k;
            total += (1 - smoothing) * rowLoss - smoothing * meanLogP;
        }
        loss.Span()[0] = (float)(total / n);
    }

    public void CrossEntropyBackward(
        Tensor probs,
        Tensor labels,
        float smoothing,
        float gradLoss,
        Tensor gLogits
    )
    {
        var k = probs.Size(1);
        var n = probs.Size(0);
        var p = probs.Span();
        var y = labels.Span<int>();
        var g = gLogits.Span();
        var scale = gradLoss / n;
        var off = smoothing / k;
        for (var i = 0; i < n; i++)
        for (var j = 0; j < k; j++)
        {
            var q = off + (j == y[i] ? 1 - smoothing : 0f);
            g[i * k + j] = scale * (p[i * k + j] - q);
        }
    }
}
