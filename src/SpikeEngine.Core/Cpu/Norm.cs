using System.Buffers;
using System.Numerics.Tensors;

namespace SpikeEngine.Cpu;

public sealed partial class CpuBackend
{
    public void BatchNormTrain(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor y,
        Tensor mean,
        Tensor invStd,
        Tensor? runningMean,
        Tensor? runningVar,
        int n,
        int channels,
        int inner,
        float momentum,
        float eps
    )
    {
        using var profile = OpProfile.Time(OpKind.BatchNorm);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        var g = gamma.Span().ToArray();
        var b = beta.Span().ToArray();
        var mu = new float[channels];
        var istd = new float[channels];
        var varUnbiased = new float[channels];
        long count = (long)n * inner;
        Parallel.For(
            0,
            channels,
            (int c) =>
            {
                // Two-pass in double: exact enough for large T·N·H·W.
                double s = 0;
                for (var i = 0; i < n; i++)
                    s += TensorPrimitives.Sum(
                        new ReadOnlySpan<float>(xa, xo + (i * channels + c) * inner, inner)
                    );
                var m = s / count;
                // Σ (x - m)² row by row: the deviations in float (the row stays in cache), their
                // squares summed by TensorPrimitives, the rows accumulated in double.
                double v = 0;
                var mf = (float)m;
                var dev = ArrayPool<float>.Shared.Rent(inner);
                for (var i = 0; i < n; i++)
                {
                    var d = dev.AsSpan(0, inner);
                    TensorPrimitives.Subtract(
                        new ReadOnlySpan<float>(xa, xo + (i * channels + c) * inner, inner),
                        mf,
                        d
                    );
                    v += TensorPrimitives.SumOfSquares(d);
                }
                ArrayPool<float>.Shared.Return(dev);
                var variance = v / count;
                mu[c] = (float)m;
                istd[c] = (float)(1.0 / Math.Sqrt(variance + eps));
                varUnbiased[c] = (float)(count > 1 ? v / (count - 1) : variance);
                ApplyChannel(xa, xo, ya, yo, g[c], b[c], mu[c], istd[c], n, channels, inner, c);
            }
        );
        mu.CopyTo(mean.Span());
        istd.CopyTo(invStd.Span());
        if (runningMean is not null && runningVar is not null)
        {
            var rm = runningMean.Span();
            var rv = runningVar.Span();
            for (var c = 0; c < channels; c++)
            {
                rm[c] = (1 - momentum) * rm[c] + momentum * mu[c];
                rv[c] = (1 - momentum) * rv[c] + momentum * varUnbiased[c];
            }
        }
    }

    public void BatchNormApply(
        Tensor x,
        Tensor gamma,
        Tensor beta,
        Tensor mean,
        Tensor invStd,
        Tensor y,
        int n,
        int channels,
        int inner
    )
    {
        using var profile = OpProfile.Time(OpKind.BatchNorm);
        var xa = ArrayOf(x);
        var ya = ArrayOf(y);
        int xo = (int)x.Offset,
            yo = (int)y.Offset;
        var g = gamma.Span().ToArray();
        var b = beta.Span().ToArray();
        var mu = mean.Span().ToArray();
        var istd = invStd.Span().ToArray();
        Parallel.For(
            0,
            channels,
            (int c) =>
                ApplyChannel(xa, xo, ya, yo, g[c], b[c], mu[c], istd[c], n, channels, inner, c)
        );
    }

    // y = x·scale + shift over one channel, scale = γ·invStd, shift = β − μ·scale.
    private static void ApplyChannel(
        float[] xa,
        int xo,
        float[] ya,
        int yo,
        float gamma,
        float beta,
        float mean,
        float invStd,
        int n,
        int channels,
        int inner,
        int c
    )
    {
        var scale = gamma * invStd;
        var shift = beta - mean * scale;
        for (var i = 0; i < n; i++)
        {
            var off = (i * channels + c) * inner;
            var yr = new Span<float>(ya, yo + off, inner);
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(xa, xo + off, inner), scale, yr);
            TensorPrimitives.Add(yr, shift, yr);
        }
    }

    public void BatchNormBackward(
        Tensor x,
        Tensor gy,
        Tensor gamma,
        Tensor mean,
        Tensor invStd,
        Tensor gx,
        Tensor gGamma,
        Tensor gBeta,
        int n,
        int channels,
        int inner
    )
    {
        using var profile = OpProfile.Time(OpKind.BatchNorm);
        var xa = ArrayOf(x);
        var ga = ArrayOf(gy);
        var oa = ArrayOf(gx);
        int xo = (int)x.Offset,
            go = (int)gy.Offset,
            oo = (int)gx.Offset;
        var g = gamma.Span().ToArray();
        var mu = mean.Span().ToArray();
        var istd = invStd.Span().ToArray();
        var dg = new float[channels];
        var db = new float[channels];
        long count = (long)n * inner;
        Parallel.For(
            0,
            channels,
            (int c) =>
            {
                // dβ = Σ gy; dγ = Σ gy·x̂; gx = γ·istd·(gy - dβ/M - x̂·dγ/M).
                double sg = 0,
                    sgx = 0;
                for (var i = 0; i < n; i++)
                {
                    var off = (i * channels + c) * inner;
                    var gr = new ReadOnlySpan<float>(ga, go + off, inner);
                    var xr = new ReadOnlySpan<float>(xa, xo + off, inner);
                    sg += TensorPrimitives.Sum(gr);
                    sgx += TensorPrimitives.Dot(gr, xr);
                }
                var dBeta = sg;
                var dGamma = (sgx - mu[c] * sg) * istd[c];
                db[c] = (float)dBeta;
                dg[c] = (float)dGamma;
                var k = g[c] * istd[c];
                var a = (float)(k);
                var mg = (float)(dBeta / count);
                var mx = (float)(dGamma / count * istd[c]);
                // gx = k·(gy - mg - (x - μ)·istd·dγ/M), in vectorised passes over a row that
                // stays in cache; x - μ goes to a scratch row, so gx may be gy itself (each
                // element of gy is read once, before the same element of gx is written).
                var row = ArrayPool<float>.Shared.Rent(inner);
                var t = row.AsSpan(0, inner);
                for (var i = 0; i < n; i++)
                {
                    var off = (i * channels + c) * inner;
                    var o = new Span<float>(oa, oo + off, inner);
                    TensorPrimitives.Subtract(
                        new ReadOnlySpan<float>(xa, xo + off, inner),
                        mu[c],
                        t
                    );
                    TensorPrimitives.MultiplyAdd(
                        t,
                        -mx,
                        new ReadOnlySpan<float>(ga, go + off, inner),
                        o
                    );
                    TensorPrimitives.Add(o, -mg, o);
                    TensorPrimitives.Multiply(o, a, o);
                }
                ArrayPool<float>.Shared.Return(row);
            }
        );
        dg.CopyTo(gGamma.Span());
        db.CopyTo(gBeta.Span());
    }
}
